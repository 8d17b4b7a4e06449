"""What figure separation returns: the Master–Dependent–Inset model of one figure.

A figure has one *master image* per subfigure label. A master that governs
several images is a *parent*, and those images are its *dependents*; an image
printed inside another is an *inset*. Each carries a class and, for
micrographs, the scale bars read from it. ``Separation.to_json`` gives the
shape of ARCHITECTURE.md's ``figlake separate`` contract.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from ingest.figures.geometry import Box


@dataclass
class ScaleBar:
    bbox: Box
    length_px: float
    label_text: str | None = None
    label_bbox: Box | None = None
    value: float | None = None
    unit: str | None = None
    nm_per_px: float | None = None
    source: str | None = None
    """image (label read on the figure) or caption (value the caption states)"""
    confidence: float = 0.0
    in_: int | str = "master"

    def to_json(self) -> dict[str, Any]:
        return {"bbox": list(self.bbox), "length_px": round(self.length_px, 2), "label_text": self.label_text,
                "label_bbox": list(self.label_bbox) if self.label_bbox else None, "value": self.value,
                "unit": self.unit, "nm_per_px": self.nm_per_px, "source": self.source,
                "confidence": round(self.confidence, 3), "in": self.in_}


@dataclass
class Dependent:
    bbox: Box
    kind: str = "image"
    """image or graphics: what the layout analysis saw"""
    cls: str = "unclear"
    class_confidence: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {"bbox": list(self.bbox), "class": self.cls, "class_confidence": round(self.class_confidence, 3)}


@dataclass
class Inset:
    bbox: Box
    in_: int | str = "master"
    cls: str = "unclear"
    class_confidence: float = 0.0
    kind: str = "image"

    def to_json(self) -> dict[str, Any]:
        return {"bbox": list(self.bbox), "class": self.cls, "class_confidence": round(self.class_confidence, 3),
                "in": self.in_}


@dataclass
class MasterImage:
    label: str | None
    label_bbox: Box | None
    bbox: Box
    cls: str = "unclear"
    confidence: float = 0.0
    """how sure we are this master exists with this box (its label's OCR score; ranks masters for AP)"""
    class_confidence: float = 0.0
    dependents: list[Dependent] = field(default_factory=list)
    insets: list[Inset] = field(default_factory=list)
    scale_bars: list[ScaleBar] = field(default_factory=list)
    kind: str = "image"
    """image or graphics: what the layout analysis saw before classification"""

    def to_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "label_bbox": list(self.label_bbox) if self.label_bbox else None,
            "bbox": list(self.bbox),
            "class": self.cls,
            "confidence": round(self.confidence, 3),
            "class_confidence": round(self.class_confidence, 3),
            "dependents": [d.to_json() for d in self.dependents],
            "insets": [i.to_json() for i in self.insets],
            "scale_bars": [b.to_json() for b in self.scale_bars],
        }


@dataclass
class Separation:
    width: int
    height: int
    master_images: list[MasterImage]
    unassigned: list[Box] = field(default_factory=list)
    """content no label governs"""
    caption_labels: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"width": self.width, "height": self.height,
                "master_images": [m.to_json() for m in self.master_images],
                "unassigned": [{"bbox": list(b)} for b in self.unassigned]}

    def scaled(self, f: float) -> Separation:
        """The separation of the same figure ``f`` times larger (run small, report at full size)."""
        def box(b: Box) -> Box:
            return round(b[0] * f), round(b[1] * f), round(b[2] * f), round(b[3] * f)

        def maybe(b: Box | None) -> Box | None:
            return None if b is None else box(b)

        def bar(b: ScaleBar) -> ScaleBar:
            nm_per_px = b.nm_per_px / f if b.nm_per_px is not None else None
            return replace(b, bbox=box(b.bbox), label_bbox=maybe(b.label_bbox), length_px=b.length_px * f,
                           nm_per_px=nm_per_px)

        masters = [replace(m, bbox=box(m.bbox), label_bbox=maybe(m.label_bbox),
                           dependents=[replace(d, bbox=box(d.bbox)) for d in m.dependents],
                           insets=[replace(i, bbox=box(i.bbox)) for i in m.insets],
                           scale_bars=[bar(b) for b in m.scale_bars]) for m in self.master_images]
        return Separation(round(self.width * f), round(self.height * f), masters,
                          [box(b) for b in self.unassigned], self.caption_labels)

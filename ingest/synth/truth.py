"""Ground truth of a synthetic figure: what a perfect figure pipeline would output.

Boxes are integer pixels of the final image, ``[x0, y0, x1, y1]``, origin
top-left, x1/y1 exclusive — the convention of the gold annotations in
``../shared/corpora/exsclaim_nature/gold``. Micrograph, diffraction and photo
boxes are the image rectangle; graph and illustration boxes are tight around
their inked pixels (axis titles, tick labels and legends included), as a human
annotator would draw them.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

Box = tuple[int, int, int, int]


def scale_box(box: Box, s: float) -> Box:
    """A box after resizing the image by ``s``: grown outward so it still covers its pixels."""
    x0, y0, x1, y1 = box
    return (math.floor(x0 * s), math.floor(y0 * s), math.ceil(x1 * s), math.ceil(y1 * s))


def offset_box(box: Box, dx: int, dy: int) -> Box:
    return (box[0] + dx, box[1] + dy, box[2] + dx, box[3] + dy)


@dataclass
class ScaleBarTruth:
    bbox: Box
    length_px: float
    label_text: str | None
    label_bbox: Box | None
    value: float
    unit: str
    """Normalised unit: nm, µm or Å."""
    nm_per_px: float
    source: str
    """``image`` when the label is printed on the figure, ``caption`` when only the caption states it."""
    in_: int | str = "master"
    """``master`` or the index of the dependent image the bar sits in."""

    def scaled(self, s: float) -> ScaleBarTruth:
        return ScaleBarTruth(scale_box(self.bbox, s), self.length_px * s, self.label_text,
                             scale_box(self.label_bbox, s) if self.label_bbox else None, self.value, self.unit,
                             self.nm_per_px / s, self.source, self.in_)


@dataclass
class AxisTruth:
    """One axis of a graph: data range shown and where it lies in the image."""

    min: float
    max: float
    scale: str
    """linear or log"""
    px_min: float
    """image coordinate (x for the x axis, y for the y axis) of the data value ``min``"""
    px_max: float
    label: str
    ticks_labelled: bool

    def to_px(self, v: float) -> float:
        if self.scale == "log":
            f = (math.log10(v) - math.log10(self.min)) / (math.log10(self.max) - math.log10(self.min))
        else:
            f = (v - self.min) / (self.max - self.min)
        return self.px_min + f * (self.px_max - self.px_min)

    def scaled(self, s: float) -> AxisTruth:
        return AxisTruth(self.min, self.max, self.scale, self.px_min * s, self.px_max * s, self.label,
                         self.ticks_labelled)


@dataclass
class SeriesTruth:
    """One plotted curve: its data (in data units, after any plot offset) and style."""

    x: list[float]
    y: list[float]
    label: str | None
    color: str
    style: str
    """solid, dashed, dotted or markers"""


@dataclass
class GraphTruth:
    x_axis: AxisTruth
    y_axis: AxisTruth
    series: list[SeriesTruth]
    plot_box: Box
    """the axes rectangle (plot area), image pixels"""

    def scaled(self, s: float) -> GraphTruth:
        return GraphTruth(self.x_axis.scaled(s), self.y_axis.scaled(s), self.series, scale_box(self.plot_box, s))


@dataclass
class DependentTruth:
    bbox: Box
    cls: str

    def scaled(self, s: float) -> DependentTruth:
        return DependentTruth(scale_box(self.bbox, s), self.cls)


@dataclass
class InsetTruth:
    bbox: Box
    cls: str
    in_: int | str = "master"
    kind: str = "fft"
    """fft or magnified"""

    def scaled(self, s: float) -> InsetTruth:
        return InsetTruth(scale_box(self.bbox, s), self.cls, self.in_, self.kind)


@dataclass
class MasterTruth:
    label: str | None
    label_bbox: Box | None
    bbox: Box
    cls: str
    description: str
    """what the panel shows, e.g. 'HAADF-STEM image of SrTiO3 along [001]'"""
    dependents: list[DependentTruth] = field(default_factory=list)
    insets: list[InsetTruth] = field(default_factory=list)
    scale_bars: list[ScaleBarTruth] = field(default_factory=list)
    graph: GraphTruth | None = None
    structure: dict[str, Any] | None = None
    """for atomic-resolution STEM: prototype, formula, zone axis"""

    def scaled(self, s: float) -> MasterTruth:
        return MasterTruth(
            self.label, scale_box(self.label_bbox, s) if self.label_bbox else None, scale_box(self.bbox, s),
            self.cls, self.description, [d.scaled(s) for d in self.dependents], [i.scaled(s) for i in self.insets],
            [b.scaled(s) for b in self.scale_bars], self.graph.scaled(s) if self.graph else None, self.structure,
        )


@dataclass
class FigureTruth:
    figure: str
    width: int
    height: int
    caption: str
    caption_style: str
    subcaptions: dict[str, str]
    """label → the caption text that describes that label (grouped phrases repeated per label)"""
    shared_caption: list[str]
    """sentences that apply to every panel (title, acquisition notes)"""
    inset_captions: dict[str, str]
    scale_statements: dict[str, str]
    """label → scale the caption states, e.g. {'c': '5 µm'}"""
    layout: str
    jpeg_quality: int | None
    downscale: float
    master_images: list[MasterTruth]
    unassigned: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """JSON in the gold-annotation shape (``class``/``in`` keys; boxes as lists)."""

        def fix(obj: Any) -> Any:
            if isinstance(obj, dict):
                return {_json_key(k): fix(v) for k, v in obj.items() if not (k == "graph" and v is None)
                        and not (k == "structure" and v is None)}
            if isinstance(obj, (list, tuple)):
                return [fix(v) for v in obj]
            if isinstance(obj, float):
                return round(obj, 6)
            return obj

        return fix(asdict(self))


def _json_key(k: str) -> str:
    return {"cls": "class", "in_": "in"}.get(k, k)

"""``separate_figure``: one compound figure in, its Master–Dependent–Inset model out.

The steps, each its own module: find the panels and insets (``panels``,
``insets``), read the labels (``labels``), assemble masters, parents and
dependents (``assemble``), classify every image (``classify``), and read the
scale bars (``scalebars``), falling back to the scale the caption states for
that label. Pure: an RGB array and an optional caption in, records out.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from ingest.captions import Distribution, distribute_caption
from ingest.errors import EmptyFigureError
from ingest.figures.assemble import assemble, complete_labels
from ingest.figures.geometry import Box, as_box, centre_in, grown, reading_order
from ingest.figures.labels import candidate_marks, choose_labels, corner_labels, grid_labels, inner_labels, read_marks
from ingest.figures.panels import find_cells, split_at_labels
from ingest.figures.records import MasterImage, ScaleBar, Separation
from ingest.figures.scalebars import BAR_LIKE, gutter_bar, read_bars, set_length
from ingest.units import Length

Classifier = Callable[[list[np.ndarray]], list[tuple[str, float]]]


MIN_SIDE = 32
"""Smaller images cannot hold a subfigure worth the name (icons, spacer GIFs)."""
MAX_SIDE = 1400
"""Larger figures are separated at this size and the result scaled back. Journal figures are
printed ~700-1200 px wide, which is what the layout analysis's sizes (gutters, label glyphs, bar
thickness) are tuned to; a 6000 px scan is no clearer to it, only slower."""


def separate_figure(rgb: np.ndarray, caption: str | None = None, classify: Classifier | None = None,
                    source: str = "image") -> Separation:
    """Separate a compound figure (H×W×3 uint8) into master images, dependents and insets.

    ``classify`` maps image crops to (class, confidence); without it, images are "unclear" and
    plots "graph". Raises ``EmptyFigureError`` (naming ``source``) for an image too small to hold
    a subfigure or with nothing on it.
    """
    h, w = rgb.shape[:2]
    if min(h, w) < MIN_SIDE:
        raise EmptyFigureError(source, f"{w}×{h} px is too small to hold a subfigure (< {MIN_SIDE} px)")
    if max(h, w) > MAX_SIDE:
        f = MAX_SIDE / max(h, w)
        small = cv2.resize(rgb, (round(w * f), round(h * f)), interpolation=cv2.INTER_AREA)
        return separate_figure(small, caption, classify, source).scaled(1 / f)
    dist = distribute_caption(caption) if caption else None
    expected = [lab for lab in dist.labels if lab] if dist else []
    cells = find_cells(rgb)
    if not cells:
        raise EmptyFigureError(source, "the image is blank (no content darker than the page)")
    gutter_bars = {i: bar for i, c in enumerate(cells) if c.kind != "image" and (bar := gutter_bar(rgb, c.box))}
    cells = [c for i, c in enumerate(cells) if i not in gutter_bars]
    marks = read_marks(rgb, candidate_marks(rgb, cells))
    marks += corner_labels(rgb, cells, marks, expected)
    labels = choose_labels(marks, expected or None)
    if expected and len(labels) < len(expected):
        # The caption names labels we have not seen: look inside the images for them, and split
        # images that turn out to hold several labelled panels.
        marks += inner_labels(rgb, cells, marks, expected)
        labels = choose_labels(marks, expected)
        cells = split_at_labels(rgb, cells, [m.box for m in labels])
        if len(labels) < len(expected):  # the new panels' corners may hold the labels still missing
            marks += corner_labels(rgb, cells, marks, expected)
            labels = choose_labels(marks, expected)
            cells = split_at_labels(rgb, cells, [m.box for m in labels])
    if expected:
        # unread (or read off the figure's grid of labels): where that grid has room for them
        gridded = grid_labels(rgb, labels, expected)
        if gridded is not labels:
            labels = gridded
            cells = split_at_labels(rgb, cells, [m.box for m in labels])
        labels = complete_labels(cells, labels, expected)
    masters, unassigned = assemble(cells, labels, w, h)
    _classify(rgb, masters, classify)
    for m in masters:
        _read_scale_bars(rgb, m, list(gutter_bars.values()), dist)
    return Separation(w, h, masters, [as_box(b) for b in unassigned], expected)


def _images(m: MasterImage) -> list[tuple[int | str, Box, str]]:
    """The images of a master that may carry scale bars, with the ``in`` reference and class of each."""
    if m.dependents:
        return [(k, d.bbox, d.cls) for k, d in enumerate(m.dependents) if d.cls != "graph" and d.kind == "image"]
    # a smooth false-colour map can pass for a drawing in the layout; the classifier knows better
    return [("master", m.bbox, m.cls)] if m.kind == "image" or m.cls in ("microscopy", "diffraction") else []


def _read_scale_bars(rgb: np.ndarray, m: MasterImage, gutter_bars: list[ScaleBar], dist: Distribution | None) -> None:
    stated = _stated(dist, m.label)
    frames = [i.bbox for i in m.insets]
    for ref, box, cls in _images(m):
        for bar in read_bars(rgb, box, thorough=not stated, weak=False):
            if bar.value is None and any(_on_frame(bar.bbox, f) for f in frames):
                continue  # an inset's frame edge, with no label to say it is a bar
            bar.in_ = ref if m.dependents else "master"
            if bar.unit in ("mm", "cm") and cls in ("microscopy", "diffraction"):
                # OCR reads "nm" as "mm" or "cm" far more often than a micrograph has a bar that long
                set_length(bar, Length(bar.value or 0.0, "nm"))
            m.scale_bars.append(bar)
    for bar in gutter_bars:  # a bar printed in the gutter next to the images it measures
        if centre_in(bar.bbox, grown(m.bbox, 0.02)):
            bar.in_ = "master"
            m.scale_bars.append(bar)
    m.scale_bars = reading_order(m.scale_bars, lambda b: b.bbox)
    unread = [b for b in m.scale_bars if b.value is None]
    # The caption's values, in the order it states them, go to the unread bars in reading order
    # (the bar-like ones only, if that makes the counts agree); one stated value serves every bar
    # of the subfigure ("Scale bars, 50 nm").
    for pool in (unread, [b for b in unread if b.confidence >= BAR_LIKE]):
        if stated and (len(stated) == 1 or len(stated) == len(pool)):
            for k, bar in enumerate(pool):
                set_length(bar, stated[min(k, len(stated) - 1)])
                bar.source = "caption"
            break
    m.scale_bars = [b for b in m.scale_bars if b.value is not None or b.confidence >= BAR_LIKE]


def _on_frame(bar: Box, frame: Box) -> bool:
    """Does a bar run along the top or bottom edge of an inset's frame?"""
    along = min(bar[2], frame[2]) - max(bar[0], frame[0]) >= 0.8 * (bar[2] - bar[0])
    return along and min(abs(bar[1] - frame[1]), abs(bar[3] - frame[3])) <= 3


def _stated(dist: Distribution | None, label: str | None) -> list[Length]:
    if dist is None:
        return []
    key = label if label in dist.scales else next((k for k in dist.scales if k.lower() == (label or "").lower()), "")
    statements = dist.scales.get(key) or dist.scales.get("", [])
    out: list[Length] = []
    for s in statements:
        if s.length not in out:
            out.append(s.length)
    return out


def _classify(rgb: np.ndarray, masters: list[MasterImage], classify: Classifier | None) -> None:
    """Give every master, dependent and inset a class (graphics cells are plots until a model says otherwise)."""
    targets: list[tuple[object, Box]] = []
    for m in masters:
        if m.dependents:
            targets += [(d, d.bbox) for d in m.dependents]
        else:
            targets.append((m, m.bbox))
        targets += [(i, i.bbox) for i in m.insets]
    if classify is None:
        for obj, _ in targets:
            kind = getattr(obj, "kind", "image")
            if kind != "parent":
                obj.cls, obj.class_confidence = ("graph", 0.5) if kind == "graphics" else ("unclear", 0.0)  # type: ignore[attr-defined]
        return
    crops = [rgb[b[1]:b[3], b[0]:b[2]] for _, b in targets]
    for (obj, _), (cls, conf) in zip(targets, classify(crops), strict=True):
        obj.cls, obj.class_confidence = cls, conf  # type: ignore[attr-defined]

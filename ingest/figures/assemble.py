"""Label-guided assembly of panels into master images, parents and dependents.

Each panel belongs to the label that *governs* it: of the labels printed
above-left of the panel's top-left corner (within a tolerance, so a label set
just inside or just beside the corner counts), the nearest one. This reads
grids, irregular rows and panels spanning rows alike, without assuming a
layout. A label governing several images (or an image and a plot) is a
parent whose images are its dependents. Without labels the figure is one
master.
"""

from __future__ import annotations

from ingest.figures.geometry import Box, as_box, near, union
from ingest.figures.labels import LabelMark
from ingest.figures.panels import Cell
from ingest.figures.records import Dependent, Inset, MasterImage

TOL = 24  # px a label may sit right of / below its panel's corner


def governing(box: Box, labels: list[LabelMark]) -> int | None:
    """Index of the label governing a panel whose box is ``box``."""
    px, py = box[0], box[1]
    best, best_d = None, float("inf")
    for i, lab in enumerate(labels):
        lx, ly = lab.box[0], lab.box[1]
        if lx <= px + TOL and ly <= py + TOL:
            dx, dy = max(0, px - lab.box[2]), max(0, py - lab.box[3])
            d = dx + 1.5 * dy  # a label usually sits above its panel: vertical distance counts more
            if d < best_d:
                best, best_d = i, d
    return best


def _group(cells: list[Cell]) -> Box | None:
    boxes = [c.box for c in cells]
    if not boxes:
        return None
    out = boxes[0]
    for b in boxes[1:]:
        out = union(out, b)
    return out


def assemble(cells: list[Cell], labels: list[LabelMark], width: int, height: int) -> tuple[
        list[MasterImage], list[Box]]:
    """Master images (in label order) and the panel boxes no label governs."""
    label_boxes = {lab.box for lab in labels}
    panels = [c for c in cells if c.box not in label_boxes]
    figure_area = width * height
    substantial = [c for c in panels if c.kind == "image" or (c.kind == "graphics" and
                                                              c.width * c.height >= 0.004 * figure_area)]
    if not labels:
        return [_master(None, substantial, panels)] if substantial else [], []
    owned: dict[int, list[Cell]] = {i: [] for i in range(len(labels))}
    extras: dict[int, list[Cell]] = {i: [] for i in range(len(labels))}
    unassigned = []
    for c in panels:
        g = governing(c.box, labels)
        if g is None:
            if c in substantial:
                unassigned.append(c.box)
            continue
        (owned if c in substantial else extras)[g].append(c)
    masters = []
    for i, lab in enumerate(labels):
        if owned[i]:
            masters.append(_master(lab, owned[i], owned[i] + extras[i]))
    return masters, unassigned


def _master(label: LabelMark | None, owned: list[Cell], all_cells: list[Cell]) -> MasterImage:
    images = [c for c in owned if c.kind == "image"]
    graphics = [c for c in all_cells if c.kind in ("graphics", "text")]
    graphics_box = _group([c for c in owned if c.kind == "graphics"])
    if graphics_box is not None:
        # Axis titles and legends the XY-cut left apart belong to the plot.
        graphics_box = _group([c for c in graphics if near(c.box, graphics_box, 16)] + [
            c for c in owned if c.kind == "graphics"])
    images.sort(key=lambda c: (c.box[1], c.box[0]))
    parts: list[tuple[Box, str]] = [(c.box, "image") for c in images]
    if graphics_box is not None:
        parts.append((graphics_box, "graphics"))
    bbox = parts[0][0]
    for b, _ in parts[1:]:
        bbox = union(bbox, b)
    text, box = (label.text, as_box(label.box)) if label else (None, None)
    # A master is as certain as its label's reading; an unlabelled figure's single master is a guess.
    confidence = label.score if label else 0.5
    if len(parts) == 1:
        insets = [Inset(as_box(b), "master") for c in images for b in c.insets]
        return MasterImage(text, box, as_box(bbox), confidence=confidence, kind=parts[0][1], insets=insets)
    insets = [Inset(as_box(b), k) for k, c in enumerate(images) for b in c.insets]
    return MasterImage(text, box, as_box(bbox), cls="parent", confidence=confidence, class_confidence=1.0,
                       kind="parent", insets=insets, dependents=[Dependent(as_box(b), k) for b, k in parts])

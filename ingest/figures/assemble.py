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

from ingest.figures.geometry import Box, area, as_box, centre_in, reading_order, union
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


def _beside(a: Box, b: Box, gap: int = 4) -> bool:
    """Same line of text, next to each other."""
    overlap = min(a[3], b[3]) - max(a[1], b[1])
    return overlap >= 0.5 * min(a[3] - a[1], b[3] - b[1]) and max(a[0], b[0]) - min(a[2], b[2]) <= gap and (
        a[2] - a[0]) <= 1.2 * (a[3] - a[1])


def _substantial(part: Box, whole: Box, share: float = 0.15) -> bool:
    """Is a part big enough, within its master, to be a dependent (not an annotation)?"""
    return (part[2] - part[0]) * (part[3] - part[1]) >= share * (whole[2] - whole[0]) * (whole[3] - whole[1])


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
    # Parentheses and brackets cut off from their letter ("b" + ")") are part of the label.
    for c in cells:
        for lab in labels:
            if c.kind == "text" and c.box != lab.box and _beside(c.box, lab.box):
                label_boxes.add(c.box)
                lab.box = union(lab.box, c.box)
    panels = [c for c in cells if c.box not in label_boxes]
    figure_area = width * height
    substantial = [c for c in panels if c.kind == "image" or (c.kind == "graphics" and
                                                              c.width * c.height >= 0.004 * figure_area)]
    if not labels:
        return [_master(None, panels)] if substantial else [], []
    governed: dict[int, list[Cell]] = {i: [] for i in range(len(labels))}
    unassigned = []
    for c in panels:
        g = governing(c.box, labels)
        if g is not None:
            governed[g].append(c)
        elif c in substantial:
            unassigned.append(c.box)
    masters = []
    for i, lab in enumerate(labels):
        if any(c in substantial for c in governed[i]):
            masters.append(_master(lab, _bounded(lab, governed[i], labels)))
    return masters, unassigned


def _bounded(label: LabelMark, cells: list[Cell], labels: list[LabelMark]) -> list[Cell]:
    """The cells of ``label``'s panel kept within its bounds: from just above its label down to the
    next label below it, and left of the next label beside it.

    In a dense layout a plot's cell may take in its neighbour's axis titles or part of the plot
    below it (no white between them): another label inside a panel, or a panel reaching well
    above its own label, means the cell ran on.
    """
    x0, y0, x1, y1 = label.box
    top = y0 - max(16, 3 * (y1 - y0))  # labels inside a corner sit up to ~2 heights in
    bottom = right = 1 << 30
    left_end, right_end = min(c.box[0] for c in cells), max(c.box[2] for c in cells)
    for other in labels:
        ox0, oy0, ox1, oy1 = other.box
        if other is label or other.inferred:  # (an inferred label's place is a guess)
            continue
        if oy0 > y1:  # a row below: bounds the panel where it overlaps it sideways
            if ox0 < right_end and ox1 > left_end:
                bottom = min(bottom, oy0)
        elif ox0 > x1 and min(oy1, y1) > max(oy0, y0):  # beside it in the same row
            right = min(right, ox0)
    out = []
    for c in cells:
        box = (c.box[0], max(c.box[1], top), min(c.box[2], right), min(c.box[3], bottom))
        if box[2] - box[0] < 8 or box[3] - box[1] < 8:
            continue
        if c.kind == "image" and area(box) < 0.5 * area(c.box):
            out.append(c)  # mostly another panel's: of a label not read, not this one's run-on
            continue
        out.append(c if box == c.box else Cell(box, c.kind, c.fill, [i for i in c.insets if centre_in(i, box)]))
    return out or cells


def _one_row(boxes: list[Box]) -> bool:
    """Do the boxes stand side by side, tops level, in one row?"""
    return max(b[1] for b in boxes) - min(b[1] for b in boxes) <= 20 and max(b[3] for b in boxes) - min(
        b[3] for b in boxes) <= 20


def _master(label: LabelMark | None, cells: list[Cell]) -> MasterImage:
    """One master from the cells its label governs: the images, and the drawing or plot around them.

    Its box covers all of them (axis titles, legends and the small marks of a drawing included).
    It is a parent when it holds several images, or images beside a plot or drawing.
    """
    bbox = _group(cells)
    assert bbox is not None
    # An image that is a small part of a drawing (a shaded sphere, an inset photo of a device) is
    # part of the drawing, not a dependent of its own; a row of narrow images that fill the
    # master together (beside a stray axis title) are its dependents.
    images = [c for c in cells if c.kind == "image"]
    together = all(d.kind == "image" for d in cells) or sum(area(c.box) for c in images) >= 0.6 * area(bbox)
    images = sorted((c for c in images if together or _substantial(c.box, bbox, 0.25)),
                    key=lambda c: (c.box[1], c.box[0]))
    graphics_box = _group([c for c in cells if c not in images])
    parts: list[tuple[Box, str]] = [(c.box, "image") for c in images]
    if graphics_box is not None and (not images or _substantial(graphics_box, bbox)):
        parts.append((graphics_box, "graphics"))
    text = label.text if label else None
    box = as_box(label.box) if label and not label.inferred else None
    # A master is as certain as its label's reading; an unlabelled figure's single master is a guess.
    confidence = label.score if label else 0.5
    if len(parts) == 1:
        insets = [Inset(as_box(b), "master") for c in images for b in c.insets]
        return MasterImage(text, box, as_box(bbox), confidence=confidence, kind=parts[0][1], insets=insets)
    insets = [Inset(as_box(b), k) for k, c in enumerate(images) for b in c.insets]
    return MasterImage(text, box, as_box(bbox), cls="parent", confidence=confidence, class_confidence=1.0,
                       kind="parent", insets=insets, dependents=[Dependent(as_box(b), k) for b, k in parts])


WEAK_READ = 0.7
"""A label read with less confidence may give way to the order of the others (``complete_labels``)."""


def complete_labels(cells: list[Cell], labels: list[LabelMark], expected: list[str]) -> list[LabelMark]:
    """The labels read, completed by those the caption names but no reading placed, in caption order.

    Labels run in reading order, so a missing label's panel lies between the panels of the labels
    before and after it. Where the panels in such a stretch that no label of their own governs are
    exactly as many as the labels missing there, they are those labels, in order (a label too small
    or too faint to read, set on a busy image); they come with no box of their own (``inferred``).
    One missing label over a row of free panels is a parent's, set on the first. Where the counts
    differ otherwise — a parent's dependents in the stretch besides a missing label's panel —
    nothing is guessed. A reading that governs no panel (read inside one) counts as missing; a weak
    reading (an "E" half seen as "D") that leaves labels unplaced is dropped when the order then
    places more of them.
    """
    inferred, placed = _infer(cells, labels, expected)
    sure = [lab for lab in labels if lab.score >= WEAK_READ]
    if placed < len(expected) and len(sure) < len(labels):
        retry, placed_retry = _infer(cells, sure, expected)
        if placed_retry > placed:
            labels, inferred = sure, retry
    want = [e.lower() for e in expected]
    replaced = {m.text.lower() for m in inferred}
    return sorted([m for m in labels if m.text.lower() not in replaced] + inferred,
                  key=lambda m: want.index(m.text.lower()) if m.text.lower() in want else len(want))



def _infer(cells: list[Cell], labels: list[LabelMark], expected: list[str]) -> tuple[list[LabelMark], int]:
    """Inferred labels, and how many of the expected labels are then placed on a panel."""
    want = [e.lower() for e in expected]
    if not labels or any(lab.text.lower() not in want for lab in labels):
        return [], 0
    panels = [c for c in cells if c.kind == "image" or c.kind == "graphics" and c.width * c.height >= 900]
    governed = [governing(c.box, labels) for c in panels]
    anchors: dict[str, Cell] = {}
    for k, lab in enumerate(labels):
        mine = [c for c, g in zip(panels, governed, strict=True) if g == k]
        if mine:  # the label's own panel: the one whose corner is nearest the label
            anchors[lab.text.lower()] = min(mine, key=lambda c: abs(c.box[0] - lab.box[0]) + abs(c.box[1] - lab.box[1]))
    # A label read where no panel's corner is (inside a panel, under another label) governs
    # nothing: it is as good as missing.
    found = set(anchors)
    if not found or len(found) == len(want):
        return [], len(found)
    smallest = min(c.width * c.height for c in anchors.values())
    free = [c for c in panels if c not in anchors.values() and c.width * c.height >= 0.25 * smallest]
    tokens: list[tuple[str | None, Cell]] = [(t, c) for t, c in anchors.items()] + [(None, c) for c in free]
    ordered = reading_order(tokens, lambda tok: tok[1].box, row_tolerance=20)
    positions = [want.index(t) for t, _ in ordered if t is not None]
    if positions != sorted(positions):
        return [], len(found)  # the labels read do not run in reading order: no order to infer from
    # Stretches of free panels between the panels of consecutive labels read (and after the last).
    stretches: list[tuple[int, int, list[Cell]]] = []
    last, stretch = -1, []
    for label, cell in ordered:
        if label is None:
            stretch.append(cell)
        else:
            stretches.append((last, want.index(label), stretch))
            last, stretch = want.index(label), []
    stretches.append((last, len(want), stretch))
    inferred: list[LabelMark] = []
    for after, before, panels_between in stretches:
        missing = [e for e in expected[after + 1:before] if e.lower() not in found]
        if len(missing) == 1 and len(panels_between) > 1 and _one_row([c.box for c in panels_between]):
            panels_between = panels_between[:1]  # a parent: its label governs the row from its first panel
        if missing and len(missing) == len(panels_between):
            inferred += [LabelMark((c.box[0], c.box[1], c.box[0], c.box[1]), e, 0.3, True, True)
                         for e, c in zip(missing, panels_between, strict=True)]
    return inferred, len(found) + len(inferred)

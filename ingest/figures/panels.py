"""Panels of a compound figure: where its images, plots and drawings are.

Journal figures are laid out on white, so a recursive XY-cut on the "ink"
(non-white) mask splits them along the white gutters into cells. Each cell is
then read as

- an **image** (micrograph, photo, diffraction pattern): mostly non-white
  pixels filling a rectangle. Images that touch with no gutter are split
  along thin near-white or near-black lines crossing them, and along
  "seams" — columns or rows where the content changes abruptly along the
  whole height or width;
- **graphics** (plots, drawings): sparse ink — lines, text, markers;
- **text**: a cell of glyph-sized marks only (a label, an axis title cut off
  from its plot, a legend).

Graphics cells absorb nearby text cells (axis titles and legends belong to
the plot, as in the gold annotations); text cells that sit at a panel corner
stay apart as label candidates. Boxes are ``(x0, y0, x1, y1)``, x1/y1 exclusive.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import cv2
import numpy as np

from ingest.figures.geometry import Box, area, centre_in, gaps, grey, shrunk, union
from ingest.figures.insets import find_insets

INK = 215  # grey level below which a pixel is ink (JPEG haze around white stays white)


@dataclass
class Cell:
    box: Box
    kind: str
    """image, graphics or text"""
    fill: float
    """fraction of ink pixels in the box"""
    insets: list[Box] = field(default_factory=list)
    """images printed inside this one (image cells only)"""

    @property
    def width(self) -> int:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> int:
        return self.box[3] - self.box[1]


def ink_mask(rgb: np.ndarray) -> np.ndarray:
    return grey(rgb) < INK


def _runs(profile: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) of runs of True."""
    if not profile.any():
        return []
    padded = np.concatenate([[False], profile, [False]])
    d = np.diff(padded.astype(np.int8))
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1), strict=True))


def xy_cut(mask: np.ndarray, box: Box, min_gap: int = 2, depth: int = 0) -> list[Box]:
    """Recursive XY-cut: split ``box`` at every band of empty rows (then columns) ≥ ``min_gap`` wide."""
    tight = shrunk(mask[box[1]:box[3], box[0]:box[2]], box)
    if tight is None:
        return []
    x0, y0, x1, y1 = tight
    sub = mask[y0:y1, x0:x1]
    for axis in (1, 0) if depth % 2 == 0 else (0, 1):
        filled = np.asarray(sub.any(axis=axis))
        bands = [(a, b) for a, b in _runs(~filled) if b - a >= min_gap]
        if bands:
            cuts = [0] + [v for a, b in bands for v in (a, b)] + [len(filled)]
            out = []
            for a, b in zip(cuts[::2], cuts[1::2], strict=True):
                child = (x0, y0 + a, x1, y0 + b) if axis == 1 else (x0 + a, y0, x0 + b, y1)
                out += xy_cut(mask, child, min_gap, depth + 1)
            return out
    return [tight]


def _line_splits(rgb: np.ndarray, box: Box, min_size: int) -> list[Box]:
    """Split an image cell along rows/columns that are near-white or near-black across it (thin gutters)."""
    x0, y0, x1, y1 = box
    g = grey(rgb[y0:y1, x0:x1]).astype(np.int16)
    for axis in (0, 1):  # 0: columns (a vertical line), 1: rows
        length = g.shape[1] if axis == 0 else g.shape[0]
        light, dark = (g > 200).mean(axis=axis), (g < 30).mean(axis=axis)
        means = g.mean(axis=axis)
        line = (light > 0.92) | (dark > 0.97)
        runs = [(a, b) for a, b in _runs(line) if b - a <= 8]
        # A gutter line is a lone, narrow separator with content on both sides. A dark one must
        # also be darker than both sides: the dark background of a diffraction pattern, or between
        # rows of atoms, gives many dark rows and none is a gutter. (White columns are rarer
        # inside an image than white rows, the bright band of a micrograph: a row of touching
        # panels, some with dependents of their own, may have several.)
        if sum(axis == 1 or light[a] <= 0.92 for a, _ in runs) > 3 or len(runs) > 8:
            continue
        cuts = []
        for a, b in runs:
            if a < min_size or length - b < min_size or line[max(0, a - 4):a].any() or line[b:b + 4].any():
                continue
            if light[a] > 0.92 or min(float(means[a - 4:a].mean()), float(means[b:b + 4].mean())) > 70:
                cuts.append((a, b))
        if cuts:
            edges = [0] + [v for a, b in cuts for v in (a, b)] + [length]
            parts = []
            for a, b in zip(edges[::2], edges[1::2], strict=True):
                child = (x0 + a, y0, x0 + b, y1) if axis == 0 else (x0, y0 + a, x1, y0 + b)
                parts += _line_splits(rgb, child, min_size)
            return parts
    return [box]


def _peaks(profile: np.ndarray, level: float, apart: int = 4) -> int:
    """How many separate peaks (more than ``apart`` px from each other) reach ``level``."""
    count, last = 0, -apart - 1
    for i in np.flatnonzero(profile >= level).tolist():
        if i - last > apart:
            count += 1
        last = i
    return count


def _seam_splits(rgb: np.ndarray, box: Box, min_size: int, insets: list[Box]) -> list[Box]:
    """Split touching images at a seam: a column (row) where the content jumps along (nearly) the whole cell."""
    x0, y0, x1, y1 = box
    # in colour: a false-colour map beside a grey lattice can have the lattice's grey level
    blurred = cv2.GaussianBlur(np.ascontiguousarray(rgb[y0:y1, x0:x1, :3]).astype(np.float32), (3, 3), 0)
    insets = [b for b in insets if not _spans(b, box)]
    for axis in (1, 0):  # columns first (side-by-side panels are most common)
        if (blurred.shape[1] if axis == 1 else blurred.shape[0]) < 2 * min_size:
            continue
        # jump between neighbouring columns (axis=1) or rows, in the channel that jumps most
        diff = np.abs(np.diff(blurred, axis=axis)).max(axis=2)
        for ix0, iy0, ix1, iy1 in insets:  # an inset's frame is not a seam between panels
            diff[max(0, iy0 - y0 - 3):max(0, iy1 - y0 + 3), max(0, ix0 - x0 - 3):max(0, ix1 - x0 + 3)] = np.nan
        # A seam: the jump is large in at least 70 % of the rows (columns), far above the typical change.
        along = _nan_percentile(diff, 30, axis=0 if axis == 1 else 1)
        typical = np.median(along) + 1e-3
        score = along / typical
        n = len(score)
        idx = [i for i in np.argsort(-score)[:5] if min_size <= i < n - min_size and score[i] > 6.0 and along[i] > 12]
        # Seams are few: a lattice or a stack of fibres jumps at many rows alike, and has no seam.
        if idx and _peaks(score, 0.67 * score[idx[0]]) <= 3:
            i = int(idx[0]) + 1
            first = (x0, y0, x0 + i, y1) if axis == 1 else (x0, y0, x1, y0 + i)
            second = (x0 + i, y0, x1, y1) if axis == 1 else (x0, y0 + i, x1, y1)
            return _seam_splits(rgb, first, min_size, insets) + _seam_splits(rgb, second, min_size, insets)
    return [box]


def _nan_percentile(a: np.ndarray, q: float, axis: int) -> np.ndarray:
    """``np.nanpercentile`` (linear interpolation) along ``axis``, 0 where all are NaN.

    numpy's own goes through ``apply_along_axis`` one row at a time: a tenth of a second on a
    large panel, where this sorts once.
    """
    s = np.sort(a, axis=axis)  # NaNs sort last
    n = (~np.isnan(a)).sum(axis=axis)
    pos = np.maximum(n - 1, 0) * (q / 100)
    lo = np.floor(pos).astype(np.intp)
    hi = np.minimum(lo + 1, np.maximum(n - 1, 0))
    low = np.take_along_axis(s, np.expand_dims(lo, axis), axis).squeeze(axis)
    high = np.take_along_axis(s, np.expand_dims(hi, axis), axis).squeeze(axis)
    out = low + (high - low) * (pos - lo)
    return np.where(n > 0, out, 0.0)


def _spans(inset: Box, box: Box) -> bool:
    """An "inset" as wide or as tall as the image it was found in is a panel touching it."""
    return inset[2] - inset[0] >= 0.9 * (box[2] - box[0]) or inset[3] - inset[1] >= 0.9 * (box[3] - box[1])


def _flat(rgb: np.ndarray, box: Box) -> bool:
    """A block of one colour, or coloured shapes: part of a drawing, not an image."""
    x0, y0, x1, y1 = box
    crop = rgb[y0:y1, x0:x1]
    g = grey(crop).astype(np.float32)
    if float(g.std()) < 4.0:
        return True
    if crop.ndim < 3 or float((crop.max(axis=2).astype(np.int16) - crop.min(axis=2)).mean()) < 20:
        return False  # grey: a micrograph or pattern, however smooth or dark
    # A colourful block: drawn shapes are textured only along their outlines, a photo or a
    # false-colour map all over (in luminance: the darkest channel of a colour map is often flat).
    lum = crop.astype(np.float32).mean(axis=2)
    mean = cv2.blur(lum, (3, 3))
    local_sd = np.sqrt(np.maximum(cv2.blur(lum * lum, (3, 3)) - mean * mean, 0))
    return float((local_sd > 1.2).mean()) < 0.3


def find_cells(rgb: np.ndarray) -> list[Cell]:
    """The figure's cells: images, graphics and text, in reading order."""
    h, w = rgb.shape[:2]
    mask = ink_mask(rgb)
    min_size = max(24, min(h, w) // 12)
    cells: list[Cell] = []
    for box in xy_cut(mask, (0, 0, w, h)):
        # Only a cell spanning much of the figure can be several panels run together; a single
        # plot or drawing with a dense area inside stays whole.
        big = (box[2] - box[0]) * (box[3] - box[1]) >= 0.3 * w * h
        cells += _read_cell(rgb, mask, box, min_size, "panels" if big else "side")
    return _merge_text_into_graphics(cells)


def _read_cell(rgb: np.ndarray, mask: np.ndarray, box: Box, min_size: int,
               images: Literal["panels", "side", "none"] = "none") -> list[Cell]:
    """One XY-cut cell as image panels, a plot or drawing, or text.

    ``images``: which image rectangles to take out of a mixed cell first — any (a cell spanning
    much of the figure), only one at the cell's side (a smaller cell), none (inside a cell).
    """
    x0, y0, x1, y1 = box
    fill = float(mask[y0:y1, x0:x1].mean())
    bw, bh = x1 - x0, y1 - y0
    if max(bw, bh) <= 48 and min(bw, bh) <= 40:
        return [Cell(box, "text", fill)]
    if images != "none":
        # Images touching plots, drawings or other images with no white between them: take the
        # image rectangles out and read what is left (the plots, their labels) as cells of its own.
        # In a cell too small to hold several panels, only an image filling the cell's height at
        # its left or right side is one (a micrograph a plot's tick label touches); a dense area
        # inside a plot (a map, a filled curve) is framed by the axes and their labels.
        regions = _image_regions(rgb, box, min_size)
        if images == "side":
            regions = [r for r in regions if r[3] - r[1] >= 0.9 * bh and (r[0] - x0 <= 2 or x1 - r[2] <= 2)
                       and r[2] - r[0] <= 0.8 * bw and not _flat(rgb, r)]
        covered = sum((r[2] - r[0]) * (r[3] - r[1]) for r in regions)
        if regions and (len(regions) > 1 or covered < 0.85 * bw * bh):
            rest = mask.copy()
            out = []
            for r in regions:
                rest[r[1]:r[3], r[0]:r[2]] = False
                out += _read_cell(rgb, mask, r, min_size)
            for sub in xy_cut(rest, box):
                out += _read_cell(rgb, rest, sub, min_size)
            return out
    # Light micrographs (SEM on a bright support, TEM of sparse particles) are mostly above the
    # ink level yet not page-white: count them as images by their non-white share.
    solid = fill > 0.6 or float((grey(rgb[y0:y1, x0:x1]) < 245).mean()) > 0.92
    if solid and min(bw, bh) >= min_size and not _flat(rgb, box):
        out = []
        for part in _line_splits(rgb, box, min_size):
            insets = find_insets(rgb, part)
            # Several "insets" covering most of the image are panels touching each other (a 2×2 grid
            # with no gutters): split at the seams first, then look for insets in each panel.
            tiled = len(insets) > 1 and sum(area(b) for b in insets) > 0.5 * area(part)
            for seam_part in _seam_splits(rgb, part, min_size, [] if tiled else insets):
                # a panel split off is looked at on its own: a frame's edges stand out more against
                # the texture of one panel than of several, and its size is judged against the panel
                own = find_insets(rgb, seam_part) if tiled or seam_part != part else insets
                px0, py0, px1, py1 = seam_part
                out.append(Cell(seam_part, "image", float(mask[py0:py1, px0:px1].mean()),
                                [b for b in own if centre_in(b, seam_part) and not _spans(b, seam_part)]))
        return out
    return [Cell(box, "graphics", fill)]


def _rectangles(grid: np.ndarray, x0: int, y0: int, x1: int, y1: int, depth: int = 0,
                seam: Callable[[int, int, np.ndarray], bool] | None = None) -> list[Box]:
    """Split the True cells of a boolean grid into rectangles by guillotine cuts where the filled
    height (width) of its columns (rows) changes most: an image beside a shorter one, a plot beside
    an image, each come out as their own rectangle.

    ``seam(axis, at, where)`` says whether the content jumps along a cut (axis 1: the column
    boundary ``at``; 0: the row boundary) over the grid cells ``where``. A cut that runs between
    solid cells on both sides with no seam goes through an image: a cut where the fill changes
    less is taken first when it does not.
    """
    sub = grid[y0:y1, x0:x1]
    rows, cols = np.flatnonzero(sub.any(axis=1)), np.flatnonzero(sub.any(axis=0))
    if len(rows) == 0:
        return []
    x0, x1, y0, y1 = x0 + int(cols[0]), x0 + int(cols[-1]) + 1, y0 + int(rows[0]), y0 + int(rows[-1]) + 1
    sub = grid[y0:y1, x0:x1]
    if sub.all() or depth > 12:
        return [(x0, y0, x1, y1)]
    dc = np.abs(np.diff(sub.sum(axis=0))) / sub.shape[0]
    dr = np.abs(np.diff(sub.sum(axis=1))) / sub.shape[1]
    if max(dc.max(initial=0), dr.max(initial=0)) < 0.2:
        return [(x0, y0, x1, y1)] if sub.mean() >= 0.75 else []
    # Cuts where the fill changes, most first; the first that does not run through an image.
    cuts = sorted(((axis, start + int(i) + 1, float(d[i])) for axis, start, d in ((1, x0, dc), (0, y0, dr))
                   for i in np.flatnonzero(d > 0)), key=lambda c: -c[2])

    def through_image(axis: int, at: int) -> bool:
        both = np.zeros(grid.shape[1 - axis], bool)  # grid cells solid on both sides of the cut
        if axis == 1:
            both[y0:y1] = sub[:, at - x0 - 1] & sub[:, at - x0]
        else:
            both[x0:x1] = sub[at - y0 - 1] & sub[at - y0]
        return seam is not None and bool(both.any()) and not seam(axis, at, both)

    axis, cut, _ = next((c for c in cuts[:8] if not through_image(*c[:2])), cuts[0])
    if axis == 1:
        return (_rectangles(grid, x0, y0, cut, y1, depth + 1, seam)
                + _rectangles(grid, cut, y0, x1, y1, depth + 1, seam))
    return _rectangles(grid, x0, y0, x1, cut, depth + 1, seam) + _rectangles(grid, x0, cut, x1, y1, depth + 1, seam)


def _image_regions(rgb: np.ndarray, box: Box, min_size: int, block: int = 8) -> list[Box]:
    """Rectangles of solid (non-white) content inside a mixed cell, found on a grid of ``block`` px
    and then moved to the pixel rows and columns where the content starts."""
    x0, y0, x1, y1 = box
    if min(x1 - x0, y1 - y0) < 2 * min_size:
        return []
    g = grey(rgb[y0:y1, x0:x1])
    dense = g < 245
    g = g.astype(np.float32)
    # A 1-2 px white line between touching panels is not a gap between regions (the line splits
    # part them later): on the block grid it would cut a row of panels into holes and stripes.
    dense = cv2.morphologyEx(dense.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8)) > 0
    # White drawn inside an image (a scale bar, its label, an inset's frame: thin strokes, on
    # average under 10 px across) is part of it; white reaching the cell's edge, or as thick as
    # a plot's background between its grid lines, is not.
    n, holes, stats, _ = cv2.connectedComponentsWithStats((~dense).astype(np.uint8), connectivity=4)
    hh, ww = dense.shape
    thin = [k for k, (hx, hy, hw, hhh, size) in enumerate(stats) if k and size <= 10 * max(hw, hhh)
            and hx > 0 and hy > 0 and hx + hw < ww and hy + hhh < hh]
    dense |= np.isin(holes, thin)
    hb, wb = dense.shape[0] // block, dense.shape[1] // block
    grid = dense[:hb * block, :wb * block].reshape(hb, block, wb, block).mean(axis=(1, 3)) > 0.9

    def seam(axis: int, at: int, where: np.ndarray) -> bool:
        # the mean jump across each line within half a block of the cut, over the cells ``where``
        lines = np.repeat(where, block)
        lines = np.pad(lines, (0, g.shape[1 - axis] - len(lines)))
        band = g[lines, at * block - 4:at * block + 5] if axis == 1 else g[at * block - 4:at * block + 5, lines].T
        jumps = np.abs(np.diff(band, axis=1)).mean(axis=0)
        return bool(jumps.max() > 2.0 * np.median(jumps) + 2)

    out = []
    for bx0, by0, bx1, by1 in _rectangles(grid, 0, 0, wb, hb, seam=seam):
        if min(bx1 - bx0, by1 - by0) * block < min_size:
            continue
        px0, py0, px1, py1 = bx0 * block, by0 * block, bx1 * block, by1 * block
        px0, px1 = _solid_edges(dense[py0:py1].mean(axis=0) > 0.8, g[py0:py1], 1, px0, px1, block)
        py0, py1 = _solid_edges(dense[:, px0:px1].mean(axis=1) > 0.8, g[:, px0:px1], 0, py0, py1, block)
        out.append((x0 + px0, y0 + py0, x0 + px1, y0 + py1))
    return out


def _solid_edges(solid: np.ndarray, g: np.ndarray, axis: int, a: int, b: int, block: int) -> tuple[int, int]:
    """A region's block-grid edges ``a`` and ``b`` along ``axis`` (0: rows) moved to where it starts.

    Where the region meets white, its edge is the first (last) ``solid`` line within a block of
    the grid's. Where it meets more solid content, a panel touching it, the edge is the seam
    between the two in the grey ``g`` (the strongest jump within a block), if there is one.
    """
    lo, hi = max(0, a - block), min(len(solid), b + block)
    first = np.flatnonzero(solid[lo:a + block])
    if len(first) and (first[0] > 0 or lo == 0):
        a = lo + int(first[0])
    elif len(first):
        a = _best_seam(g, a, axis, block, typical=True) or a
    last = np.flatnonzero(solid[b - block:hi])
    if len(last) and (b - block + last[-1] < hi - 1 or hi == len(solid)):
        b = b - block + int(last[-1]) + 1
    elif len(last):
        b = _best_seam(g, b, axis, block, typical=True) or b
    return a, b


def _merge_text_into_graphics(cells: list[Cell]) -> list[Cell]:
    """Axis titles, tick labels and legends cut off from their plot go back to it; labels stay apart.

    Repeated until nothing more joins: a plot that took its tick labels is then close enough to
    take its axis title.
    """
    graphics = [c for c in cells if c.kind == "graphics"]
    panels = [c for c in cells if c.kind != "text"]
    texts = [c for c in cells if c.kind == "text"]
    merged = True
    while merged:
        merged = False
        for t in list(texts):
            best = _plot_of(t, graphics)
            # A glyph at the corner of *any* panel is a label candidate, even when it also sits under
            # the plot above it (a label in the gutter between two stacked plots); so is a lone glyph
            # to the right of a plot (plots have no axis there, but the next panel's label may be).
            right_glyph = best is not None and t.box[0] >= best.box[2] and t.width <= 2.6 * t.height + 6
            if best is not None and not right_glyph and not any(_looks_like_label(t, p) for p in panels):
                best.box = union(best.box, t.box)
                texts.remove(t)
                merged = True
    return sorted(panels + texts, key=lambda c: (c.box[1] // 20, c.box[0]))


def _plot_of(t: Cell, graphics: list[Cell], reach: int = 14) -> Cell | None:
    """The plot a text cell sits beside (level with it) or under/over (within its width), if close."""
    best: Cell | None = None
    best_d: float = reach + 1
    for g in graphics:
        dx, dy = gaps(t.box, g.box)
        overlap_x = min(t.box[2], g.box[2]) - max(t.box[0], g.box[0])
        overlap_y = min(t.box[3], g.box[3]) - max(t.box[1], g.box[1])
        aligned = (dy == 0 and overlap_y > 0) or (dx == 0 and overlap_x > 0)
        if aligned and dx + dy < best_d:
            best, best_d = g, dx + dy
    return best


def _looks_like_label(text: Cell, panel: Cell) -> bool:
    """A single glyph just above-left of a panel's top-left corner."""
    tx0, ty0, tx1, ty1 = text.box
    px0, py0, _, _ = panel.box
    return (tx1 - tx0 <= 30 and ty1 - ty0 <= 30 and px0 - 40 <= tx0 <= px0 + 12 and py0 - 40 <= ty0 <= py0 + 12)


def split_at_labels(rgb: np.ndarray, cells: list[Cell], labels: list[Box]) -> list[Cell]:
    """Split image cells that hold several labels: touching panels with no gutter or seam.

    Each label not at its cell's top-left corner marks the corner of a panel of its own; the cut
    runs along the strongest straight seam within a few pixels of where that corner predicts,
    rows first (a guillotine layout), recursively.
    """
    out: list[Cell] = []
    for c in cells:
        inside = [b for b in labels if c.kind == "image" and centre_in(b, c.box)]
        if len(inside) < 2:
            out.append(c)
            continue
        for box in _guillotine(rgb, c.box, inside):
            out.append(Cell(box, "image", c.fill, [i for i in c.insets if centre_in(i, box)]))
    return out


def _guillotine(rgb: np.ndarray, box: Box, labels: list[Box]) -> list[Box]:
    x0, y0, x1, y1 = box
    first = min(labels, key=lambda b: (b[1] - y0) + (b[0] - x0))
    px, py = max(0, first[0] - x0), max(0, first[1] - y0)  # how far labels sit inside their panel's corner
    reach = 2 * (first[3] - first[1])
    g = grey(rgb[y0:y1, x0:x1]).astype(np.float32)
    # Cut along a seam near where a label's corner predicts; failing any (two patterns on the
    # same black, no jump between them), right there, for a label in line with the first one
    # (beside it for a vertical cut, under it for a horizontal one), as a panel corner is.
    for at_seam in (True, False):
        for axis in (0, 1):  # 0: a horizontal cut (rows), 1: a vertical cut (columns)
            length = (y1 - y0) if axis == 0 else (x1 - x0)
            for b in sorted(labels, key=lambda b: b[1 - axis]):
                pos = (b[1] - py - y0) if axis == 0 else (b[0] - px - x0)
                if pos < 24 or pos > length - 24:
                    continue
                if at_seam:
                    cut = _best_seam(g, pos, axis)
                elif abs(b[axis] - first[axis]) <= reach:
                    cut = pos
                else:
                    cut = None
                if cut is None:
                    continue
                a = (x0, y0, x1, y0 + cut) if axis == 0 else (x0, y0, x0 + cut, y1)
                rest = (x0, y0 + cut, x1, y1) if axis == 0 else (x0 + cut, y0, x1, y1)
                la = [lb for lb in labels if centre_in(lb, a)]
                lr = [lb for lb in labels if centre_in(lb, rest)]
                if la and lr:
                    return (_guillotine(rgb, a, la) if len(la) > 1 else [a]) + (
                        _guillotine(rgb, rest, lr) if len(lr) > 1 else [rest])
    return [box]


def _best_seam(g: np.ndarray, pos: int, axis: int, reach: int = 12, typical: bool = False) -> int | None:
    """The row (axis 0) or column (axis 1) near ``pos`` where the content jumps most along the whole cell.

    ``typical``: by the median jump along the line rather than the mean, so that a scale bar or
    a label beside the seam, jumping far more over a part of the line, does not outweigh it.
    """
    diff = np.abs(np.diff(g, axis=axis))  # diff[i] is the jump between i and i + 1
    along = np.median if typical else np.mean
    profile = along(diff, axis=1 - axis)
    lo, hi = max(1, pos - reach), min(len(profile) - 1, pos + reach)
    if hi <= lo:
        return None
    i = lo + int(np.argmax(profile[lo:hi]))
    # a real seam stands out from the jumps around it
    around = np.median(profile[max(0, i - 20):i + 20])
    return i + 1 if profile[i] > 2.0 * around + 2 else None

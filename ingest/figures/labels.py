"""Subfigure labels printed on a figure: "a", "(b)", "C" — where they are and what they say.

Candidates are glyph-sized marks where labels live: small cells in the gutters
(from the XY-cut) and marks in the top-left corner of image panels (white on
dark or black on light). Each candidate crop is *recognised* by rapidocr (a
few ms each, batched) — recognition on small crops is far more reliable than
detection on the whole figure. A label set is then chosen as the most
plausible sequence — a, b, c… in reading order — guided by the labels the
caption names when it is known, which also repairs OCR confusions (c/e, l/I/1).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import cv2
import numpy as np

from ingest import ocr
from ingest.figures.geometry import Box, area, grey, intersection, shrunk
from ingest.figures.panels import Cell
from ingest.images import rgb_array

_LABEL_TEXT = re.compile(r"^[(\[]?([A-Za-z])(\d?)[)\]]?[.:,]?$")
# Only confusions that cannot be a tick label: "|" for l. Others are repaired by the caption's labels.
_CONFUSABLE = {"|": "l"}


@dataclass
class LabelMark:
    box: Box
    text: str
    """the label as read, e.g. 'a', 'B', 'b1'"""
    score: float
    inside: bool
    """printed inside an image panel (rather than in the gutter)"""
    inferred: bool = False
    """not read on the figure: the caption names it and only one panel can be it (``box`` is that
    panel's corner)"""


def _corner_marks(rgb: np.ndarray, cell: Cell) -> list[Box]:
    """Glyph-sized marks in the top-left corner of an image panel, either polarity."""
    x0, y0, x1, y1 = cell.box
    ww, wh = min(64, (x1 - x0) // 3), min(48, (y1 - y0) // 3)
    if ww < 10 or wh < 10:
        return []
    window = grey(rgb[y0:y0 + wh, x0:x0 + ww])
    out = []
    for polarity in (cv2.THRESH_BINARY, cv2.THRESH_BINARY_INV):
        _, binary = cv2.threshold(window, 0, 255, polarity + cv2.THRESH_OTSU)
        # text is the minority class of the window
        if binary.mean() > 127:
            continue
        n, _, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
        boxes = []
        for i in range(1, n):
            x, y, w, h, area = stats[i]
            if 6 <= h <= 40 and 2 <= w <= 40 and area >= 8 and x <= ww * 0.6 and y <= wh * 0.6:
                boxes.append((x, y, x + w, y + h))
        boxes.sort()
        merged: list[list[int]] = []
        for b in boxes:  # "(", "a", ")" side by side make one mark
            if merged and b[0] - merged[-1][2] <= 3 and abs(b[1] - merged[-1][1]) <= 8:
                m = merged[-1]
                merged[-1] = [m[0], min(m[1], b[1]), max(m[2], b[2]), max(m[3], b[3])]
            else:
                merged.append(list(b))
        for m in merged[:2]:
            if m[3] - m[1] >= 6:
                out.append((x0 + m[0], y0 + m[1], x0 + m[2], y0 + m[3]))
    return out


def _crop(rgb: np.ndarray, box: Box, pad: int = 4) -> np.ndarray:
    h, w = rgb.shape[:2]
    x0, y0, x1, y1 = box
    crop = rgb[max(0, y0 - pad):min(h, y1 + pad), max(0, x0 - pad):min(w, x1 + pad)]
    # Upscale tiny glyphs: the recogniser was trained on ~32 px high text lines.
    scale = max(1.0, 32 / max(1, crop.shape[0]))
    return cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC) if scale > 1 else crop


def normalise(text: str) -> str | None:
    """OCR text → a label ('a', 'B', 'b1'), or None if it cannot be one."""
    t = text.strip().replace(" ", "")
    if len(t) == 1 and t in _CONFUSABLE:
        t = _CONFUSABLE[t]
    m = _LABEL_TEXT.match(t)
    return (m.group(1) + m.group(2)) if m else None


def candidate_marks(rgb: np.ndarray, cells: list[Cell]) -> list[tuple[Box, bool]]:
    """Where labels may be: glyph-sized gutter cells at a panel corner, and marks in image corners."""
    marks: list[tuple[Box, bool]] = []
    for c in cells:
        if c.kind == "text" and 5 <= c.height <= 45 and c.width <= 2.6 * c.height + 6:
            marks.append((c.box, False))
        elif c.kind == "image":
            marks += [(b, True) for b in _corner_marks(rgb, c)]
    return marks


def read_marks(rgb: np.ndarray, marks: list[tuple[Box, bool]]) -> list[LabelMark]:
    texts = ocr.recognize([_crop(rgb, b) for b, _ in marks])
    out = []
    for (box, inside), (text, score) in zip(marks, texts, strict=True):
        label = normalise(text)
        if label is not None:
            out.append(LabelMark(box, label, score, inside))
    return out


def _corner_window(cell: Cell) -> Box:
    x0, y0, x1, y1 = cell.box
    return x0, y0, x0 + min(72, (x1 - x0) // 2), y0 + min(48, (y1 - y0) // 3)


def corner_labels(rgb: np.ndarray, cells: list[Cell], found: list[LabelMark], expected: list[str] | None = None,
                  scale: int = 2, max_width: int = 900) -> list[LabelMark]:
    """Labels in the top-left corners of image panels that the glyph heuristics missed.

    A label printed over busy content (touching a particle, on a textured background) is not a
    clean component, so text *detection* is run — but on a mosaic of just the corner windows of
    the panels still without a label, upscaled, in one call (one detection per figure, not per panel).
    """
    windows = [_corner_window(c) for c in cells if c.kind == "image"]
    windows = [w for w in windows if w[2] - w[0] >= 12 and w[3] - w[1] >= 10
               and not any(_centre(m.box, (w[0] - 48, w[1] - 40, w[2], w[3])) and _plausible(m, expected)
                           for m in found)]
    if not windows:
        return []
    # Each window three ways: as printed, and reduced to its near-white or near-black pixels — a
    # label is drawn in pure white or black, which separates it from bright atoms or dark particles.
    variants: list[tuple[Box, np.ndarray, np.ndarray | None]] = []
    for w in windows:
        crop = rgb_array(rgb[w[1]:w[3], w[0]:w[2]])
        variants.append((w, cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC), None))
        variants += [(w, cv2.resize(binary, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST), extreme)
                     for binary, extreme in extremes(crop, 0.01, 0.6)]
    gap = 16
    tiles: list[tuple[Box, np.ndarray | None, int, int, int, int]] = []  # window, ink, tile x, y, w, h
    x = y = row_h = 0
    for w, img, mask in variants:
        th, tw = img.shape[:2]
        if x and x + tw > max_width:
            x, y, row_h = 0, y + row_h + gap, 0
        tiles.append((w, mask, x, y, tw, th))
        x, row_h = x + tw + gap, max(row_h, th)
    mosaic = np.full((y + row_h, max(t[2] + t[4] for t in tiles), 3), 255, np.uint8)
    for (_, img, _), (_, _, tx, ty, tw, th) in zip(variants, tiles, strict=True):
        mosaic[ty:ty + th, tx:tx + tw] = img
    out = []
    for tb in ocr.detect(mosaic):
        label = normalise(tb.text)
        if label is None:
            continue
        cx, cy = (tb.box[0] + tb.box[2]) / 2, (tb.box[1] + tb.box[3]) / 2
        for w, mask, tx, ty, tw, th in tiles:
            if tx <= cx < tx + tw and ty <= cy < ty + th:
                box = (w[0] + max(0, tb.box[0] - tx) // scale, w[1] + max(0, tb.box[1] - ty) // scale,
                       w[0] + min(tb.box[2] - tx, tw) // scale, w[1] + min(tb.box[3] - ty, th) // scale)
                out.append(LabelMark(ink_box(rgb, box) if mask is None else _mask_box(mask, w, box), label,
                                     tb.score, True))
                break
    return out


def extremes(crop: np.ndarray, least: float, most: float) -> list[tuple[np.ndarray, np.ndarray]]:
    """The crop reduced to its near-white, then its near-black pixels (black ink on white, RGB), each
    with its mask, where that share of the crop lies between ``least`` and ``most``: a label is
    drawn in pure white or black, which separates it from bright atoms or dark particles."""
    g = grey(crop)
    return [(rgb_array(np.where(extreme, 0, 255).astype(np.uint8)), extreme)
            for extreme in (g >= 230, g <= 25) if least < extreme.mean() < most]


def _mask_box(ink: np.ndarray, window: Box, box: Box) -> Box:
    """``box`` (figure coordinates) shrunk to the ``ink`` pixels of ``window`` inside it."""
    x0, y0 = box[0] - window[0], box[1] - window[1]
    return shrunk(ink[y0:box[3] - window[1], x0:box[2] - window[0]], box) or box


def inner_labels(rgb: np.ndarray, cells: list[Cell], found: list[LabelMark],
                 expected: list[str] | None = None) -> list[LabelMark]:
    """Labels anywhere inside image panels: for touching panels that the layout read as one image.

    Text detection over the whole image cell (upscaled when small, as labels of a downscaled
    figure may be 7 px high), as printed and reduced to its near-white and near-black pixels (a
    label is pure white or black; the content around it rarely is). Only called when the caption
    names labels we have not found; the reduced versions (a detection each, the slow part of
    separating a figure) are read only while some ``expected`` label is still unread.
    """
    out: list[LabelMark] = []
    want = {e.lower() for e in expected or []}
    cropped = [(c, rgb_array(rgb[c.box[1]:c.box[3], c.box[0]:c.box[2]]), 2 if max(c.width, c.height) <= 700 else 1)
               for c in cells if c.kind == "image" and c.width >= 120 and c.height >= 120]
    jobs: list[tuple[Cell, np.ndarray, np.ndarray | None, int]] = [(c, crop, None, s) for c, crop, s in cropped]
    jobs += [(c, img, mask, s) for c, crop, s in cropped for img, mask in extremes(crop, 0.002, 0.3)]
    # last, small cells as printed at 3×: a 12 px label the detector passes over at 2× (24 px) it
    # finds at 36 px (the limit keeps the detector's input under its 1,600 px side)
    jobs += [(c, crop, None, 3) for c, crop, s in cropped if s == 2 and max(c.width, c.height) <= 530]
    for k, (c, img, mask, scale) in enumerate(jobs):
        if k >= len(cropped) and want and want <= {m.text.lower() for m in [*found, *out]}:
            break
        x0, y0 = c.box[0], c.box[1]
        big = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC) if scale > 1 else img
        for tb in ocr.detect(big):
            label = normalise(tb.text)
            box = (x0 + tb.box[0] // scale, y0 + tb.box[1] // scale, x0 + tb.box[2] // scale,
                   y0 + tb.box[3] // scale)
            if label is None or box[3] - box[1] > 40 or any(
                    _overlaps(box, m.box) and m.text.lower() == label.lower() for m in [*found, *out]):
                continue
            tight = ink_box(rgb, box) if mask is None else _mask_box(mask, c.box, box)
            out.append(LabelMark(tight, label, tb.score, True))
    return out


def ink_box(rgb: np.ndarray, box: Box) -> Box:
    """``box`` shrunk to the glyph pixels in it (the minority of an Otsu split): detection boxes are
    padded, and the panel corner is inferred from where the label's ink starts."""
    x0, y0, x1, y1 = box
    g = grey(rgb[y0:y1, x0:x1])
    if g.size < 4 or int(g.max()) - int(g.min()) < 30:
        return box
    _, binary = cv2.threshold(g, 0, 1, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return shrunk(binary if binary.mean() < 0.5 else 1 - binary, box) or box


def _plausible(mark: LabelMark, expected: list[str] | None) -> bool:
    """Could this reading be one of the figure's labels (any label, when the caption names none)?"""
    return mark.score >= 0.8 and (not expected or mark.text.lower() in {e.lower() for e in expected})


def _overlaps(a: Box, b: Box) -> bool:
    return min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1])


def _centre(box: Box, window: Box) -> bool:
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    return window[0] <= cx < window[2] and window[1] <= cy < window[3]


def _reading_key(box: Box, row_tol: int) -> tuple[int, int]:
    return box[1] // max(1, row_tol), box[0]


def choose_labels(marks: list[LabelMark], expected: list[str] | None = None) -> list[LabelMark]:
    """The label marks that form the figure's label sequence."""
    if not marks:
        return []
    heights = sorted(m.box[3] - m.box[1] for m in marks)
    row_tol = max(8, heights[len(heights) // 2] * 2)
    ordered = sorted(marks, key=lambda m: _reading_key(m.box, row_tol))
    if expected:
        return _match_expected(ordered, expected)
    # Longest chain a, b, c… in reading order (case and digit suffix ignored for ordering).
    best: list[LabelMark] = []
    for start in range(len(ordered)):
        if ordered[start].text.lower()[0] not in "abc":
            continue
        chain = [ordered[start]]
        for m in ordered[start + 1:]:
            prev = chain[-1].text.lower()[0]
            cur = m.text.lower()[0]
            if ord(cur) == ord(prev) + 1 or (cur == prev and m.text[1:] > chain[-1].text[1:]):
                chain.append(m)
        if len(chain) > len(best):
            best = chain
    if len(best) < 2:
        return []
    case = "upper" if sum(m.text[0].isupper() for m in best) > len(best) / 2 else "lower"
    for m in best:
        m.text = (m.text[0].upper() if case == "upper" else m.text[0].lower()) + m.text[1:]
    return best


def _match_expected(ordered: list[LabelMark], expected: list[str]) -> list[LabelMark]:
    """Assign marks to the caption's labels: exact reads first, then misreads that fit the order."""
    want = [e.lower() for e in expected]
    chosen: dict[str, LabelMark] = {}
    used: set[int] = set()
    # A figure places its labels one way — all in the gutters or all inside the panels — so of
    # several exact reads of one label, the one placed like the figure's confident reads wins.
    confident = [m for m in ordered if m.text.lower() in want and m.score >= 0.9]
    inside_style = sum(m.inside for m in confident) > len(confident) / 2
    # Labels stand in columns and rows: a read in line with the one read of another label (the
    # column of "a" and "d") is likelier the label than a letter of a word in a drawing.
    # Lines are taken first from the labels read once, then from the reads that run in order.
    texts = [m.text.lower() for m in confident]
    anchors = [m for m, t in zip(confident, texts, strict=True) if texts.count(t) == 1]
    tol = max(4, int(np.median([m.box[3] - m.box[1] for m in ordered])))

    def merit(i: int) -> float:
        m = ordered[i]
        in_line = any(abs(m.box[0] - o.box[0]) <= tol or abs(m.box[1] - o.box[1]) <= tol
                      for o in anchors if o.text.lower() != m.text.lower())
        return m.score + (0.15 if m.inside == inside_style else 0.0) + (0.1 if in_line else 0.0)

    # Of several reads of one label (an axis title's "a" besides the label "a"), the one that runs
    # in reading order with the others wins; the most meritorious otherwise.
    in_order = _ordered_reads(ordered, want, merit)
    anchors = [ordered[i] for i in in_order]
    in_order = _ordered_reads(ordered, want, merit)
    for i in sorted(range(len(ordered)), key=lambda i: (i not in in_order, -merit(i))):
        t = ordered[i].text.lower()
        if t in want and t not in chosen and not _taken(ordered[i], chosen.values()):
            chosen[t] = ordered[i]
            used.add(i)
    # Fill gaps with unused marks whose reading-order position lies between the neighbours' marks.
    position = {id(m): i for i, m in enumerate(ordered)}
    for k, label in enumerate(want):
        if label in chosen:
            continue
        before = [position[id(chosen[w])] for w in want[:k] if w in chosen]
        after = [position[id(chosen[w])] for w in want[k + 1:] if w in chosen]
        lo = max(before) if before else -1
        hi = min(after) if after else len(ordered)
        options = [i for i in range(lo + 1, hi) if i not in used and not _taken(ordered[i], chosen.values())]
        if len(options) == 1 or (options and hi - lo == 2):
            i = options[0]
            used.add(i)
            chosen[label] = ordered[i]
            chosen[label].text = label
    case_of = {e.lower(): e for e in expected}
    result = []
    for label in want:
        if label in chosen:
            m = chosen[label]
            m.text = case_of[label]
            result.append(m)
    return result


def _taken(mark: LabelMark, chosen: Iterable[LabelMark]) -> bool:
    """Is ``mark`` (mostly) where a chosen label is printed: one glyph read twice from two crops?"""
    return any(intersection(mark.box, o.box) >= 0.5 * min(area(mark.box), area(o.box)) > 0 for o in chosen)


def _ordered_reads(ordered: list[LabelMark], want: list[str], merit: Callable[[int], float]) -> set[int]:
    """Indices of the exact reads that best run a, b, c… in reading order (weighted longest
    increasing run: each read weighs its merit)."""
    reads = [i for i, m in enumerate(ordered) if m.text.lower() in want]
    rank = {i: want.index(ordered[i].text.lower()) for i in reads}
    best: dict[int, tuple[float, list[int]]] = {}
    for i in reads:
        prev = [best[j] for j in reads if j < i and rank[j] < rank[i]]
        score, run = max(prev, default=(0.0, []))
        best[i] = (score + merit(i), run + [i])
    return set(max(best.values(), default=(0.0, []))[1])


def grid_labels(rgb: np.ndarray, labels: list[LabelMark], expected: list[str]) -> list[LabelMark]:
    """The labels read, completed by those the caption names but no reading placed, where the
    figure's grid of labels leaves a free place for them (in caption order).

    Labels of a figure stand on a grid: the columns and rows of the labels read. A missing label
    (white on an atomic lattice, too small for the recogniser) stands on a free place of that grid
    with ink on it, between the places of the labels read before and after it in the caption;
    where such free places are exactly as many as the labels missing there, they are those
    labels, in order. A reading off the grid (alone in its row and its column: a letter of a
    drawing read as "e"), or the weakest reading out of reading order, is taken for missing too.
    Each place is read once more: a reading that agrees gives the label its printed box;
    otherwise it is ``inferred`` and only marks where its panel starts.
    """
    want = [e.lower() for e in expected]
    read = sorted((m for m in labels if m.text.lower() in want), key=lambda m: want.index(m.text.lower()))
    if len(read) < 3:
        return labels
    lw = int(np.median([m.box[2] - m.box[0] for m in read]))
    lh = int(np.median([m.box[3] - m.box[1] for m in read]))
    tol = max(8, 2 * lh)

    def shared(m: LabelMark, axis: int) -> bool:  # another reading in its column (0) or row (1)
        return any(abs(o.box[axis] - m.box[axis]) <= tol for o in read if o is not m)

    if len(read) >= 4:
        read = [m for m in read if shared(m, 0) or shared(m, 1)]
    for _ in range(2):
        cols, rows = _lines([m.box[0] for m in read], tol), _lines([m.box[1] for m in read], tol)
        if len(cols) < 2 or len(rows) < 2:
            return labels
        places = [(min(range(len(rows)), key=lambda r: abs(rows[r] - m.box[1])),
                   min(range(len(cols)), key=lambda c: abs(cols[c] - m.box[0]))) for m in read]
        if places == sorted(places) and len(set(places)) == len(places):
            break
        # set aside the weakest of the readings whose places break the caption's order
        inverted = {k for k in range(len(read)) for j in range(k) if places[j] >= places[k]}
        inverted |= {j for k in inverted for j in range(k) if places[j] >= places[k]}
        weakest = min(inverted, key=lambda k: read[k].score)
        read = read[:weakest] + read[weakest + 1:]
    else:
        return labels
    if len(read) == len(want) or len(read) < 3:
        return labels
    h, w = rgb.shape[:2]
    cols, rows = _continued(cols, w), _continued(rows, h)
    free = [(r, c) for r in range(len(rows)) for c in range(len(cols)) if (r, c) not in places
            and cols[c] + lw <= w and rows[r] + lh <= h
            and (grey(rgb[rows[r]:rows[r] + lh, cols[c]:cols[c] + lw]) < 200).mean() > 0.02]
    bounds = [(-1, (-1, -1))] + [(want.index(m.text.lower()), p) for m, p in zip(read, places, strict=True)]
    bounds.append((len(want), (len(rows), 0)))
    placed: list[LabelMark] = []
    for (ka, pa), (kb, pb) in zip(bounds, bounds[1:], strict=False):
        missing = expected[ka + 1:kb]
        between = [p for p in free if pa < p < pb]
        if missing and len(between) == len(missing):
            placed += [LabelMark((cols[c], rows[r], cols[c] + lw, rows[r] + lh), text, 0.3, True, True)
                       for text, (r, c) in zip(missing, between, strict=True)]
    if not placed:
        return labels
    readings = ocr.recognize([_crop(rgb, m.box, pad=max(4, lh // 2)) for m in placed])
    for m, (text, score) in zip(placed, readings, strict=True):
        if (normalise(text) or "").lower() == m.text.lower():
            m.score, m.inferred = score, False
            # its printed box, unless the glyph does not stand out (white on a lattice of white
            # atoms takes the atoms in): then its grid place
            tight = ink_box(rgb, _padded(m.box, lh // 2, w, h))
            if tight[2] - tight[0] <= 1.5 * lw and tight[3] - tight[1] <= 1.5 * lh:
                m.box = tight
    # readings set aside stay where no placed label replaces them
    new = {m.text.lower() for m in placed}
    kept = [m for m in labels if m.text.lower() not in new]
    return sorted(kept + placed, key=lambda m: want.index(m.text.lower()) if m.text.lower() in want else len(want))


def _continued(lines: list[int], size: int) -> list[int]:
    """Grid lines run on at their spacing while a panel still fits in ``size``: in a grid of equal
    panels, the last column (row) may be one where no label was read."""
    steps = np.diff(lines)
    if len(steps) == 0 or steps.max() > 1.1 * steps.min():
        return lines
    step = int(steps.mean())
    out = list(lines)
    while out[-1] + 1.9 * step <= size:
        out.append(out[-1] + step)
    return out


def _lines(values: list[int], tol: int) -> list[int]:
    """Positions where ``values`` cluster (each within ``tol`` of the cluster's first), each the
    cluster's smallest value."""
    out: list[int] = []
    for v in sorted(values):
        if not out or v - out[-1] > tol:
            out.append(v)
    return out


def _padded(box: Box, pad: int, w: int, h: int) -> Box:
    return max(0, box[0] - pad), max(0, box[1] - pad), min(w, box[2] + pad), min(h, box[3] + pad)

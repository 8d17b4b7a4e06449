"""Insets: images printed inside an image (an FFT, a magnified view, a diagram in a corner).

An inset is set off from its host by a frame — a thin white or black line, or
at least a sharp edge — running straight along each of its sides that lies
inside the host. Regions of interest drawn *on* a micrograph are dashed or
thin-outlined boxes with the host's own texture inside; we keep only
rectangles bounded by *continuous* straight edges (a morphological opening
with a long line element removes dashes and texture) whose inside differs
from the host around it.
"""

from __future__ import annotations

import cv2
import numpy as np

from ingest.figures.geometry import Box, grey, iou

MIN_SIDE = 20
MIN_AREA, MAX_AREA = 0.02, 0.45  # share of the host
BRIDGE = 17  # px: the longest gap between a frame line's end and the host's border bridged


def _steps(g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # uint8 0/1: vertical, horizontal
    """Pixels of sharp vertical and horizontal steps: an edge must stand out from the image's own
    texture, not just pass a fixed level."""
    gx = np.abs(cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3))
    gy = np.abs(cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3))
    tx = max(80.0, float(np.percentile(gx, 97)))
    ty = max(80.0, float(np.percentile(gy, 97)))
    return (gx > tx).astype(np.uint8), (gy > ty).astype(np.uint8)


def _straight_edges(steps: tuple[np.ndarray, np.ndarray], frames: np.ndarray, min_len: int) -> np.ndarray:
    """Pixels on long, continuous horizontal or vertical edges: ``steps`` (``_steps``) or
    ``frames`` (``_frame_lines`` at the same ``min_len``)."""
    # Close short breaks along each line (a bright atom beside the frame, a JPEG block) before
    # requiring the line to be long.
    vertical = steps[0] | frames
    horizontal = steps[1] | frames
    vertical = cv2.morphologyEx(vertical, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (1, 11)))
    horizontal = cv2.morphologyEx(horizontal, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (11, 1)))
    vertical = cv2.morphologyEx(vertical, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, min_len)))
    horizontal = cv2.morphologyEx(horizontal, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (min_len, 1)))
    vertical, horizontal = vertical > 0, horizontal > 0
    return _to_border(vertical, horizontal) | _to_border(horizontal.T, vertical.T).T


def _to_border(lines: np.ndarray, across: np.ndarray) -> np.ndarray:
    """Vertical ``lines`` that stop a few pixels short of the top or bottom border, with no
    ``across`` (horizontal) line in between, carried on to it.

    An inset's frame fades out where the host beside it is as light (a white frame on a bright
    background near the host's edge); the gap would let the inset's area run out into the host.
    """
    out = lines.copy()
    h = out.shape[0]
    _, _, stats, _ = cv2.connectedComponentsWithStats(lines.astype(np.uint8), connectivity=8)
    for x, y, w, hh, _ in stats[1:]:
        end = y + hh
        if y < BRIDGE and not across[:y, x:x + w].any():
            out[:y, x:x + w] = True
        if h - end < BRIDGE and not across[end:, x:x + w].any():
            out[end:, x:x + w] = True
    return out


def _frame_lines(g: np.ndarray, min_len: int) -> np.ndarray:  # uint8 0/1
    """Thin, straight runs of near-white or near-black pixels: an inset's printed frame.

    (On a lattice or a textured image the frame's edge gradient comes and goes; the frame itself
    does not.) Thin means a long run one way and a short one the other, so white *areas* do not count.
    """
    out = np.zeros(g.shape, np.uint8)
    for extreme in (g >= 235, g <= 20):
        m = extreme.astype(np.uint8)
        tall = cv2.morphologyEx(m, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, min_len)))
        wide = cv2.morphologyEx(m, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (min_len, 1)))
        thick_x = cv2.morphologyEx(m, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (7, 1)))
        thick_y = cv2.morphologyEx(m, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, 7)))
        out |= (((tall > 0) & (thick_x == 0)) | ((wide > 0) & (thick_y == 0))).astype(np.uint8)
    return out


def _contrast(g: np.ndarray, box: Box, ring: int = 6) -> float:
    """How much the inside of ``box`` differs from the host just outside it (mean and texture)."""
    x0, y0, x1, y1 = box
    h, w = g.shape
    inside = g[y0 + 3:y1 - 3, x0 + 3:x1 - 3]
    outer = np.zeros(g.shape, bool)
    outer[max(0, y0 - ring):min(h, y1 + ring), max(0, x0 - ring):min(w, x1 + ring)] = True
    outer[max(0, y0 - 1):y1 + 1, max(0, x0 - 1):x1 + 1] = False
    if inside.size == 0 or not outer.any():
        return 0.0
    around = g[outer]
    return abs(float(inside.mean()) - float(around.mean())) + abs(float(inside.std()) - float(around.std()))


def _framed(frames: np.ndarray, box: Box, reach: int = 5, share: float = 0.5) -> bool:
    """Whether a printed frame line runs along ``box``: along at least half of three of its sides.

    (A white frame vanishes where the host beside it is as white; it cannot on three sides.)
    """
    x0, y0, x1, y1 = box
    h, w = frames.shape

    def along(band: np.ndarray) -> float:  # side length × depth across the side
        return float(band.mean(axis=0).max()) if band.size else 0.0

    sides = [frames[y0:y1, max(0, x0 - reach):x0 + reach], frames[y0:y1, x1 - reach:min(w, x1 + reach)],
             frames[max(0, y0 - reach):y0 + reach, x0:x1].T, frames[y1 - reach:min(h, y1 + reach), x0:x1].T]
    return sum(along(s) >= share for s in sides) >= 3


def find_insets(rgb: np.ndarray, host: Box) -> list[Box]:
    """Inset boxes (figure coordinates) inside the image ``host``."""
    x0, y0, x1, y1 = host
    w, h = x1 - x0, y1 - y0
    if min(w, h) < 3 * MIN_SIDE:
        return []
    g = cv2.GaussianBlur(grey(rgb[y0:y1, x0:x1]).astype(np.float32), (3, 3), 0)
    min_len = max(MIN_SIDE, int(0.12 * min(w, h)))
    steps, frames = _steps(g), _frame_lines(g, min_len)
    # Also with only the longer edges: inside a small inset, its content's own straight edges (as
    # long as the host asks a line to be: rods, facets) cut its area into pieces.
    edges = _straight_edges(steps, frames, min_len)
    longer = _straight_edges(steps, _frame_lines(g, 2 * min_len), 2 * min_len)
    out: list[Box] = []
    for lines in (edges, longer):
        for box in _enclosed(lines, w, h):
            # A magnified view set in a corner may look like the image around it; a box drawn in
            # the interior with the image's own texture inside is a region of interest, not an inset.
            in_corner = min(box[1], h - box[3]) <= 8 and min(box[0], w - box[2]) <= 8
            floating = min(box[0], box[1], w - box[2], h - box[3]) > 8
            if floating and not _framed(frames, box):
                continue  # e.g. a box closed by the tangents of a diffraction pattern's rings
            if not in_corner and _contrast(g, box) < 12:
                continue
            found = (x0 + box[0], y0 + box[1], x0 + box[2], y0 + box[3])
            if not any(iou(found, o) > 0.7 for o in out):
                out.append(found)
    return out


def _enclosed(lines: np.ndarray, w: int, h: int) -> list[Box]:
    """Roughly square, inset-sized areas that ``lines`` (thickened by a pixel each side) and the
    host's border close all round, grown back over the frame the thickening ate (the frame
    belongs to the inset)."""
    walls = cv2.dilate(lines.astype(np.uint8), np.ones((3, 3), np.uint8))
    # The host's own border closes an inset that sits in a corner or against a side.
    walls[0, :] = walls[-1, :] = 1
    walls[:, 0] = walls[:, -1] = 1
    n, _, stats, _ = cv2.connectedComponentsWithStats((1 - walls).astype(np.uint8), connectivity=4)
    out: list[Box] = []
    for i in range(1, n):
        bx, by, bw, bh, area = (int(v) for v in stats[i])
        share = bw * bh / (w * h)
        if min(bw, bh) < MIN_SIDE or not MIN_AREA <= share <= MAX_AREA or area < 0.85 * bw * bh:
            continue
        if max(bw, bh) > 2.5 * min(bw, bh):
            continue  # insets are roughly square: long strips are bands of the host's own content
        out.append((max(0, bx - 3), max(0, by - 3), min(w, bx + bw + 3), min(h, by + bh + 3)))
    return out

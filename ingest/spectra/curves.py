"""Curve pixels and curve instances inside a plot frame.

Pixels: everything inked inside the frame that is not text (the OCR boxes:
legend entries, annotations) and not a ruled line (grid or reference lines
crossing the whole frame). Colours: the inks of the strongly coloured pixels,
grouped greedily in CIELAB, a greyish group split again by hue (JPEG greys
thin coloured lines); every inked pixel then joins the ink it is a
blend of with the white page (antialiased edges and JPEG halos are paler
versions of their curve's colour, not new colours), and an ink that only
fringes another, with no core of its own, is folded into it.

Instances — two methods, compared by the benchmark:

- ``track`` (Plot2Spectra's formulation): in each colour, the curve count is
  what most columns show; tracks start at the column where that count is
  seen with the thinnest runs (small gradients, so the curves are apart) and
  follow the runs forward and backward along x. Each step predicts the next
  row from the track's own motion; where a column has as many runs as there
  are tracks they pair off in vertical order (or by distance, when that fits
  clearly better: a sharp peak through the next stacked curve), otherwise each track snaps to
  the nearest run within a window that widens with the slope (so sharp peaks
  are followed) and with the columns missed (so dashes and dots are bridged),
  two tracks may share a run where same-colour curves cross, a track that finds
  nothing where its motion points looks where it is (a peak's apex turns the
  curve back), and a track whose ink is hidden follows the curve drawn over it.
  A point is the ink-weighted centre of its run, except on steep flanks, where
  a column's run is widened by the line width and the flank next door: there
  the curve is read across, row by row (``_steep_columns``).
- ``cluster`` (the baseline): one series per colour, the mean inked row of
  each column. Stacked spectra in one colour come out as one averaged curve.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy.optimize import linear_sum_assignment

INK = 60
"""255 − min(R, G, B) above this is ink (matplotlib's default grid, at 50 % alpha, stays below)"""
CORE = 95
"""ink this strong is a curve's own colour, not an antialiased edge"""
_MAX_GAP = 30
"""columns a track may go unobserved (dashes, dots, crossings) before it is ended"""
_RUN_GAP = 10
"""inked pixels of one column this close are one run: the dots of a dotted line on a steep flank"""
_HIDDEN_DAMPING = 0.5
"""share of its motion a track keeps for each column it reads from the ink drawn over it"""
_BASE_RATE = 0.05
"""how fast a track's level follows the curve: a sharp peak, a few columns wide, barely moves it"""
_BASE_COST = 2.0
"""pixels a run costs extra when it is near the track's level rather than where its motion points"""
_SWAP = 1.0
"""pixels by which pairing runs by cost must beat pairing them in vertical order to be preferred"""
_GREYISH = 25
"""CIELAB chroma (8-bit a, b units) under which an ink cluster may be several inks greyed by JPEG"""
_HUE_BINS = 50
"""chromaticity histogram bins per side (0.02 wide) when a CIELAB cluster is split by hue"""
_NEIGHBOURS = np.ones((3, 3), np.uint8)
_HALO_INNER = 0.1
"""a halo has (almost) no pixel of its own away from the ink it fringes"""
_CLOSE = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (9, 9))
"""closing element joining dashes, dots and JPEG speckle of one ink"""


@dataclass
class Series:
    """One curve in pixel coordinates of the whole image (continuous: column i's centre is i + 0.5)."""

    x: np.ndarray
    y: np.ndarray
    color: str
    style: str
    confidence: float


def ink_strength(rgb: np.ndarray) -> np.ndarray:
    return 255 - rgb.min(axis=2).astype(np.int16)


def curve_pixels(rgb: np.ndarray, text_boxes: list[tuple[int, int, int, int]]) -> np.ndarray:
    """Ink mask of a frame's interior with text boxes and frame-crossing ruled lines removed."""
    ink = ink_strength(rgb) > INK
    h, w = ink.shape
    for x0, y0, x1, y1 in text_boxes:
        if x1 > 0 and y1 > 0 and x0 < w and y0 < h:
            # A legend entry's line sample sits left of its text, about two text heights long.
            sample = int(3.5 * (y1 - y0)) if x0 > 0 and y0 > 0 and x1 < w and y1 < h else 0
            ink[max(0, y0 - 1):max(0, y1 + 1), max(0, x0 - 1 - sample):max(0, x1 + 1)] = False
    for lines in (ink, ink.T):  # rows, then columns (a view: clearing it clears ``ink``)
        lines[_ruled(lines), :] = False
    return ink


def _ruled(ink: np.ndarray) -> np.ndarray:
    """Rows of ``ink`` that are grid or reference lines: unbroken, one or two pixels thick, alone in
    their band, and crossed rather than sprouted from. The flat baseline of a spectrum is as unbroken;
    when it is drawn thicker it has neighbours, and when perfectly flat (a simulated pattern) its peaks
    all rise on one side while curves run through a rule."""
    share = ink.mean(axis=1)
    if share.size <= 20:
        return np.zeros(share.size, bool)
    around = np.maximum(np.roll(share, 3), np.roll(share, -3))
    thick = np.convolve(share > 0.5, np.ones(5), mode="same")
    ruled = (share > 0.95) & (around < 0.2) & (thick <= 2)
    for r in np.flatnonzero(ruled):
        above, below = ink[max(0, r - 4):max(0, r - 2)].any(axis=0), ink[r + 3:r + 5].any(axis=0)
        if not (above & below).any() and max((above & ~below).sum(), (below & ~above).sum()) >= 3:
            ruled[r] = False
    return ruled


def inks(rgb: np.ndarray, mask: np.ndarray, min_pixels: int) -> list[np.ndarray]:
    """The curve colours (RGB float) present under ``mask``, most used first."""
    core = mask & (ink_strength(rgb) > CORE)
    pixels = rgb[core]
    if len(pixels) < min_pixels:
        return []
    lab = cv2.cvtColor(pixels.reshape(-1, 1, 3), cv2.COLOR_RGB2LAB).reshape(-1, 3).astype(np.float32)
    remaining = np.ones(len(lab), bool)
    out: list[np.ndarray] = []
    while remaining.sum() >= min_pixels and len(out) < 10:
        q = (lab[remaining] // 12).astype(np.int32)
        keys, counts = np.unique(q, axis=0, return_counts=True)
        seed = (keys[counts.argmax()] + 0.5) * 12
        near = remaining & (np.linalg.norm(lab - seed, axis=1) < 30)
        if near.sum() < min_pixels:
            break
        # Only a greyish cluster can hold several inks JPEG greyed; a saturated one is one ink and its blends.
        groups = _hues(pixels, near, min_pixels) if np.hypot(*(seed[1:] - 128)) < _GREYISH else [near]
        for g in groups:
            colour = np.median(pixels[g].astype(np.float32), axis=0)
            # a paler copy of an ink already found is that ink's antialiased edge
            if len(groups) > 1 or not any(_blend_residual(255.0 - colour[None], c)[0] < 30 for c in out):
                out.append(colour)
        remaining &= ~near
    return out


def _hues(pixels: np.ndarray, near: np.ndarray, min_pixels: int) -> list[np.ndarray]:
    """``near`` (a mask over ``pixels``) split by hue when it holds several: JPEG's chroma subsampling
    greys thin coloured lines until their inks lie within one CIELAB radius, but each keeps its own
    direction away from white (a blend with white keeps the direction; only the distance changes)."""
    q = 255.0 - pixels[near].astype(np.float32)
    ch = q[:, :2] / np.maximum(q.sum(axis=1, keepdims=True), 1.0)
    hist, xe, ye = np.histogram2d(ch[:, 0], ch[:, 1], bins=_HUE_BINS, range=[[0, 1], [0, 1]])
    smooth = cv2.blur(hist.astype(np.float32), (3, 3)) * 9
    peak = (smooth == cv2.dilate(smooth, np.ones((5, 5), np.uint8))) & (smooth >= min_pixels)
    ij = np.argwhere(peak)
    if len(ij) < 2:
        return [near]
    centres = np.stack([(xe[ij[:, 0]] + xe[ij[:, 0] + 1]) / 2, (ye[ij[:, 1]] + ye[ij[:, 1] + 1]) / 2], axis=1)
    hue = np.full(near.size, -1)
    hue[near] = np.linalg.norm(ch[:, None, :] - centres[None], axis=2).argmin(axis=1)
    out = [g for k in range(len(centres)) if (g := hue == k).sum() >= min_pixels]
    return out if len(out) > 1 else [near]


def _blend_residual(q: np.ndarray, colour: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For pixels at distance ``q`` from white: how far each is from a blend of ``colour`` with white,
    and the blend weight (1: the ink itself, 0: white)."""
    d = 255.0 - colour
    t = (q @ d) / max(float(d @ d), 1.0)
    return np.linalg.norm(q - t[:, None] * d, axis=1), t


def assign(rgb: np.ndarray, mask: np.ndarray, colours: list[np.ndarray]) -> np.ndarray:
    """Per pixel, the index of the ink it is a blend of with white (−1: none, or not inked)."""
    labels = np.full(mask.shape, -1, np.int16)
    if not colours:
        return labels
    q = 255.0 - rgb[mask].astype(np.float32)  # (N, 3) distance from white
    best_res = np.full(len(q), np.inf, np.float32)
    best = np.full(len(q), -1, np.int16)
    for k, c in enumerate(colours):
        res, t = _blend_residual(q, c)
        ok = (t > 0.25) & (res < 45) & (res < best_res)
        best[ok], best_res[ok] = k, res[ok]
    labels[mask] = best
    return labels


def merge_halos(labels: np.ndarray, colours: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
    """Fold inks that only ever appear along another ink's pixels into it.

    JPEG ringing and antialiasing between two curves make off-colours ("dark red" along a red line
    crossing a black one); they are not curves of their own. A colour with most of its pixels beside
    another's is that one's halo — unless a tenth of its pixels have no other ink next to them: a
    fringe is one pixel wide, while a real curve has a core of its own even where several spectra
    share a baseline and their peaks (which puts most of every curve beside another).
    """
    kernel = np.ones((5, 5), np.uint8)
    alive = list(range(len(colours)))
    changed = True
    while changed and len(alive) > 1:
        changed = False
        sizes = {k: int((labels == k).sum()) for k in alive}
        for k in sorted(alive, key=lambda k: sizes[k]):
            mine = labels == k
            if not mine.any():
                alive.remove(k)
                changed = True
                break
            near = {j: float((cv2.dilate((labels == j).astype(np.uint8), kernel).astype(bool) & mine).sum())
                    / sizes[k] for j in alive if j != k}
            j = max(near, key=lambda j: near[j])
            others = [colours[i] for i in alive if i != k]
            if (near[j] > 0.6 and sizes[j] > sizes[k] and (near[j] > 0.85 or _mixture(colours[k], others))
                    and _own_core(mine, labels) < _HALO_INNER):
                labels[mine] = j
                alive.remove(k)
                changed = True
                break
    keep = {k: i for i, k in enumerate(alive)}
    out = np.full(labels.shape, -1, np.int16)
    for k, i in keep.items():
        out[labels == k] = i
    return out, [colours[k] for k in alive]


def _own_core(mine: np.ndarray, labels: np.ndarray) -> float:
    """Share of the pixels of ``mine`` with no pixel of another ink among their eight neighbours."""
    others = cv2.dilate(((labels >= 0) & ~mine).astype(np.uint8), _NEIGHBOURS).astype(bool)
    return float((mine & ~others).sum()) / max(int(mine.sum()), 1)


def _mixture(colour: np.ndarray, others: list[np.ndarray]) -> bool:
    """Is ``colour`` (nearly) a blend of two of ``others``, or of one of them with black or white?"""
    pool = [*others, np.zeros(3, np.float32), np.full(3, 255, np.float32)]
    for i, a in enumerate(pool):
        for b in pool[i + 1:]:
            d = a - b
            t = float(np.clip((colour - b) @ d / max(float(d @ d), 1.0), 0, 1))
            if np.linalg.norm(colour - (b + t * d)) < 30:
                return True
    return False


def _runs(column: np.ndarray) -> list[tuple[int, int]]:
    """Inked runs (first, last row) of one column, gaps up to ``_RUN_GAP`` closed."""
    idx = np.flatnonzero(column)
    if idx.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(idx) > _RUN_GAP)
    starts = np.concatenate([[idx[0]], idx[breaks + 1]])
    ends = np.concatenate([idx[breaks], [idx[-1]]])
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def _count(runs: list[list[tuple[int, int]]]) -> int:
    """How many curves a colour has: the largest count that at least 30 % of the inked columns show."""
    counts = np.array([len(r) for r in runs])
    inked = counts[counts > 0]
    if inked.size == 0:
        return 0
    k = 1
    while (inked >= k + 1).sum() >= 0.3 * inked.size:
        k += 1
    return k


class _Track:
    def __init__(self, y: float) -> None:
        self.y = y
        self.v = 0.0
        self.base = y
        """where the curve has been lately, moving slowly: the level a sharp peak returns to"""
        self.missed = 0
        self.points: dict[int, float] = {}
        self.hidden: set[int] = set()
        """columns read from another ink drawn over this curve"""
        self.runs: dict[int, tuple[int, int]] = {}
        """columns where the track had a run of its own ink to itself: its first and last row"""

    def predict(self) -> float:
        return self.y + self.v

    def window(self) -> float:
        return 4.0 + 1.5 * abs(self.v) + 1.0 * self.missed

    def observe(self, col: int, y: float, run: tuple[int, int] | None = None) -> None:
        if self.points:
            self.v = 0.5 * self.v + 0.5 * (y - self.y)
        self.base += _BASE_RATE * (y - self.base)
        self.y, self.missed = y, 0
        self.points[col] = y
        if run is not None:
            self.runs[col] = run
        else:
            self.runs.pop(col, None)

    def follow(self, col: int, y: float) -> None:
        """Read ``col`` from the ink drawn over this curve. That ink's own motion (a peak of the curve on
        top, rising out of a shared baseline) is not this curve's, so the track's motion dies down."""
        self.points[col] = y
        self.y, self.missed = y, 0
        self.v *= _HIDDEN_DAMPING
        self.hidden.add(col)
        self.runs.pop(col, None)

    def miss(self) -> None:
        self.y += self.v
        self.v *= 0.8
        self.missed += 1


def _off(run: tuple[int, int], y: float) -> float:
    """How far row ``y`` lies outside ``run`` (0 inside it)."""
    return max(run[0] - y, 0.0, y - run[1])


def _step(tracks: list[_Track], runs: list[tuple[int, int]], centres: list[float], cover: list[tuple[int, int]],
          col: int, reach: float) -> None:
    """Snap each track to a run of this column.

    As many runs as tracks: they pair off in vertical order, however far a run has moved (a sharp
    peak, a dotted line's next dot) up to ``reach`` — unless pairing them by distance (to where each
    track's motion points, or a little dearer to the level it has kept lately) is over ``_SWAP`` px
    better in all: a sharp peak of one stacked spectrum that crosses the next curve of its colour
    and drops straight back to its own level. Otherwise each track takes the nearest run within its
    window, unique runs first, then shared ones where curves cross. A track that finds none of its
    own ink but another ink right where it is predicted runs beneath that curve (drawn later, on
    top), and follows it there.
    """
    preds = {id(t): t.predict() for t in tracks}
    if runs and len(runs) == len(tracks):
        def gap(t: _Track, r: int) -> float:
            return min(_off(runs[r], preds[id(t)]), _off(runs[r], t.base) + _BASE_COST)

        order = sorted(tracks, key=lambda t: preds[id(t)])
        paired = list(zip(order, sorted(range(len(runs)), key=lambda r: runs[r]), strict=True))
        if len(tracks) > 1:
            gaps = np.array([[gap(t, r) for r in range(len(runs))] for t in tracks])
            ti, ri = linear_sum_assignment(gaps)
            if gaps[ti, ri].sum() + _SWAP < sum(gap(t, r) for t, r in paired):
                paired = [(tracks[i], int(r)) for i, r in zip(ti, ri, strict=True)]
        if all(gap(t, r) <= reach for t, r in paired):
            for t, r in paired:
                t.observe(col, centres[r], runs[r])
            return
    pairs = []
    for t in tracks:
        for r, run in enumerate(runs):
            cost = _off(run, preds[id(t)])
            if cost <= t.window():
                pairs.append((cost, id(t), r))
    pairs.sort()
    by_id = {id(t): t for t in tracks}
    taken: dict[int, list[int]] = {}
    done: set[int] = set()
    for shared in (False, True):
        for _cost, tid, r in pairs:
            if tid in done or (r in taken and not shared):
                continue
            taken.setdefault(r, []).append(tid)
            done.add(tid)
    for r, tids in taken.items():
        a, b = runs[r]
        for tid in tids:
            if len(tids) == 1:
                by_id[tid].observe(col, centres[r], runs[r])
            else:
                by_id[tid].observe(col, float(np.clip(preds[tid], a, b)))
    for t in tracks:
        if id(t) in done:
            continue
        # At a peak's apex the curve turns back: its run is near where the track is, not where its
        # motion points.
        free = [r for r in range(len(runs)) if r not in taken and _off(runs[r], t.y) <= t.window()]
        if free:
            r = min(free, key=lambda r: _off(runs[r], t.y))
            taken[r] = [id(t)]
            t.observe(col, centres[r], runs[r])
            continue
        p = preds[id(t)]
        under = min(cover, key=lambda r: _off(r, p), default=None)
        if under is not None and _off(under, p) <= 2.0 + abs(t.v):
            t.follow(col, float(np.clip(p, under[0], under[1])) if under[1] - under[0] > 4 else sum(under) / 2)
        else:
            t.miss()


def _across(own: np.ndarray, weight: np.ndarray, rows: np.ndarray, col: int, reach: int
            ) -> tuple[np.ndarray, np.ndarray]:
    """For each row of ``rows``: the width of the horizontal run of ``own`` through ``col`` (0 where
    ``col`` is not inked; ``2·reach + 1`` where it runs past ``reach`` either side) and its ink-weighted
    centre column (continuous coordinates)."""
    lo, hi = max(0, col - reach), min(own.shape[1], col + reach + 1)
    block, wts = own[rows, lo:hi], weight[rows, lo:hi]
    c = col - lo
    left = np.cumprod(block[:, c::-1], axis=1).sum(axis=1)  # inked columns from col leftwards, col included
    right = np.cumprod(block[:, c:], axis=1).sum(axis=1)
    j = np.arange(hi - lo)[None, :]
    inside = (j > c - left[:, None]) & (j < c + right[:, None])
    w = np.where(inside, wts, 0.0)
    centre = lo + (w * (j + 0.5)).sum(axis=1) / np.maximum(w.sum(axis=1), 1e-9)
    width = np.where(block[:, c], left + right - 1, 0)
    touches = (c - left < 0) | (c + right >= hi - lo)
    return np.where(touches & (width > 0), 2 * reach + 1, width), centre


def _steep_columns(t: _Track, own: np.ndarray, weight: np.ndarray) -> dict[int, tuple[float, float]]:
    """Where the curve is steep, (x, y) read across it instead of down it.

    A column's run is the curve's extent there widened by the line width, and on a steep flank also
    by the flank next door: a line ``lw`` wide drawn up a peak inks ``lw`` columns. Its centre is then
    far from where the curve crosses the column's middle, the biggest error of a spectrum with sharp
    peaks. Across a flank the line is only ``lw`` wide, so each row of it gives the flank's position
    to a fraction of a pixel; the row where the flank crosses the column's middle is the curve's value
    there. The top (bottom) of a peak (valley) is its narrowest row: the point is placed there, at
    that row's centre, half a line width in from the run's end.
    """
    if len(t.runs) < 5:
        return {}
    lw = float(np.median([b - a + 1 for a, b in t.runs.values()]))
    narrow = lw + 2
    out: dict[int, tuple[float, float]] = {}
    for c, (a, b) in t.runs.items():
        if b - a + 1 <= narrow:
            continue
        rows = np.arange(a, b + 1)
        width, centre = _across(own, weight, rows, c, int(narrow) + 2)
        flank = (width > 0) & (width <= narrow)
        prev, nxt = t.runs.get(c - 1), t.runs.get(c + 1)
        for end, row, sign in ((0, a, 1), (1, b, -1)):
            beyond = [r[end] for r in (prev, nxt) if r is not None]
            if all(sign * (row - v) <= 0 for v in beyond) and flank[0 if end == 0 else -1]:
                k = int(min(lw // 2, rows.size - 1))
                tip = k if end == 0 else rows.size - 1 - k
                if c <= centre[tip] < c + 1:
                    out[c] = (float(centre[tip]), row + sign * (lw - 1) / 2)
                    break
        if c in out:
            continue
        near = flank & (np.abs(centre - (c + 0.5)) < 1.5)
        if near.sum() >= 3 and (y := _crossing(rows[near].astype(float), centre[near], c + 0.5)) is not None:
            out[c] = (c + 0.5, y)
        elif (shallow := ~flank & (width > 0)).any():
            out[c] = (c + 0.5, _centre(np.where(shallow, weight[rows, c], 0.0), a))
    return out


def _crossing(rows: np.ndarray, x: np.ndarray, mid: float) -> float | None:
    """The row where a flank (its ink-weighted centre ``x`` on each of ``rows``) crosses column ``mid``;
    None when it passes beside it: a spike narrower than the line is a bar a line-width wide, whose
    side columns are inked from top to bottom while the curve there is still at its foot."""
    if np.ptp(x) <= 0.2:
        return float(rows.mean()) if abs(float(np.median(x)) - mid) <= 0.5 else None
    slope, icpt = np.polyfit(x, rows, 1)
    y = slope * mid + icpt
    if not rows.min() - 1 <= y <= rows.max() + 1:
        return None
    return float(np.clip(y, rows.min(), rows.max()))


def _style(own: int, span: int) -> str:
    share = own / max(span, 1)
    return "solid" if share > 0.85 else "dashed" if share > 0.5 else "dotted"


def _finish(points: dict[int, float], x0: int, y0: int, colour: str, width: int, own: int | None = None,
            across: dict[int, tuple[float, float]] | None = None) -> Series | None:
    """Observed columns, gaps up to ``_MAX_GAP`` filled linearly, in whole-image pixel coordinates;
    ``across`` replaces a column's point by one read across a steep flank (x, y; x continuous)."""
    if len(points) < 2:
        return None
    across = across or {}
    points = points | {c: y for c, (_, y) in across.items()}
    cols = np.array(sorted(points))
    ys = np.array([points[c] for c in cols])
    full = np.arange(cols[0], cols[-1] + 1)
    gaps = np.diff(cols)
    keep = np.ones(full.size, bool)
    for c, g in zip(cols[:-1], gaps, strict=True):
        if g > _MAX_GAP:
            keep[c - cols[0] + 1:c - cols[0] + g] = False
    yi = np.interp(full, cols, ys)
    xi = full + 0.5
    for c, (x, _) in across.items():
        xi[c - cols[0]] = x
    span = int(cols[-1] - cols[0] + 1)
    own = len(points) if own is None else own  # columns read from the curve's own ink
    return Series(xi[keep] + x0, yi[keep] + y0 + 0.5, colour, _style(own, span),
                  round(min(1.0, own / max(span, 1)) * min(1.0, span / max(width, 1)), 3))


def _hex(c: np.ndarray) -> str:
    r, g, b = (int(round(float(v))) for v in c)
    return f"#{r:02x}{g:02x}{b:02x}"


def colour_mask(labels: np.ndarray, k: int) -> np.ndarray:
    """Pixels of ink ``k`` with the gaps of dashes, dots and JPEG speckle closed (a few pixels, any direction)."""
    return cv2.morphologyEx((labels == k).astype(np.uint8), cv2.MORPH_CLOSE, _CLOSE).astype(bool)


def _centre(weights: np.ndarray, top: int) -> float:
    total = float(weights.sum())
    if total <= 0:
        return top + (weights.size - 1) / 2
    return top + float((np.arange(weights.size) * weights).sum()) / total


def track(labels: np.ndarray, colours: list[np.ndarray], strength: np.ndarray, x0: int, y0: int) -> list[Series]:
    """Curve instances by tracking each colour's runs along x (see the module docstring)."""
    out: list[Series] = []
    h, w = labels.shape
    inked = cv2.morphologyEx((labels >= 0).astype(np.uint8), cv2.MORPH_CLOSE, _CLOSE).astype(bool)
    cover = [_runs(inked[:, c]) for c in range(w)]
    for k, colour in enumerate(colours):
        mask = colour_mask(labels, k)
        runs = [_runs(mask[:, c]) for c in range(w)]
        n = _count(runs)
        if n == 0:
            continue
        # A run's row is the ink-weighted mean of its own pixels (antialiasing gives it sub-pixel
        # precision); the closed mask only decides which pixels belong together.
        own = labels == k
        weight = np.where(own, strength, 0).astype(np.float32)
        centres = [[_centre(weight[a:b + 1, c], a) for a, b in col_runs] for c, col_runs in enumerate(runs)]
        starts = [c for c in range(w) if len(runs[c]) == n]
        if not starts:
            continue
        start = min(starts, key=lambda c: (max(b - a for a, b in runs[c]), abs(c - w / 2)))
        tracks = [_Track(y) for y in centres[start]]
        for t in tracks:
            t.points[start] = t.y
        for direction in (range(start + 1, w), range(start - 1, -1, -1)):
            for t in tracks:
                t.y, t.v, t.missed, t.base = t.points[start], 0.0, 0, t.points[start]
            for c in direction:
                _step(tracks, runs[c], centres[c], cover[c], c, reach=max(8.0, 0.2 * h))
        found = [s for t in tracks if (s := _finish(t.points, x0, y0, _hex(colour), w,
                                                    own=len(t.points) - len(t.hidden),
                                                    across=_steep_columns(t, own, weight)))]
        out += found
    # One curve followed twice — by two tracks of an ink, or by a second ink that JPEG greyed or
    # antialiasing tinted along it — is kept once.
    return [s for s in _distinct(out) if s.x.size >= 0.2 * w]


def _distinct(series: list[Series]) -> list[Series]:
    """Two tracks that followed the same curve: keep the better observed one."""
    kept: list[Series] = []
    for s in sorted(series, key=lambda s: -s.confidence):
        same = False
        for k in kept:
            common, i, j = np.intersect1d(s.x, k.x, return_indices=True)
            if common.size > 0.5 * s.x.size and np.median(np.abs(s.y[i] - k.y[j])) < 1.5:
                same = True
                break
        if not same:
            kept.append(s)
    return kept


def cluster(labels: np.ndarray, colours: list[np.ndarray], strength: np.ndarray, x0: int, y0: int) -> list[Series]:
    """The baseline: one series per colour, the mean inked row of every column (``strength`` is not
    used: the baseline reads plain rows; the signature is ``track``'s so the two are interchangeable)."""
    out = []
    h, w = labels.shape
    rows = np.arange(h, dtype=float)[:, None]
    for k, colour in enumerate(colours):
        mask = colour_mask(labels, k)
        n = mask.sum(axis=0)
        cols = np.flatnonzero(n)
        if cols.size < 0.2 * w:
            continue
        ys = (rows * mask).sum(axis=0)[cols] / n[cols]
        points = dict(zip(cols.tolist(), ys.tolist(), strict=True))
        if s := _finish(points, x0, y0, _hex(colour), w):
            out.append(s)
    return out

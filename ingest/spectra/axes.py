"""Axis alignment: the plot frame, its ticks and tick labels, and the pixel → data fit.

The frame is found from the long straight dark lines of the plot (projections
of the dark-pixel mask; matplotlib, Origin and Igor all draw an L or a box).
Tick marks are the short dark runs just outside an axis line; a crisp one
(or a crisp spine) was snapped to the pixel grid and stands half a pixel after
where the data put it (``tick_positions``). Tick labels are
the numbers the OCR reads next to an axis; each is tied to its nearest tick
and the mapping is fitted robustly (RANSAC over pairs of labelled ticks, then
least squares on the inliers), so one misread label cannot bend the axis. Log
axes are recognised from labels printed as powers of ten ("10-1", "10°",
"10²", "3×10⁻¹"), and the length of their decade is checked against the
minor ticks, which a misread exponent cannot move. An axis with no readable
numbers ("Intensity (a.u.)") is left
uncalibrated: its values are fractions of the axis length, 0 at the origin.

Pixel coordinates are continuous: column i covers [i, i+1).
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass
from typing import NamedTuple

import cv2
import numpy as np

from ingest import ocr
from ingest.ocr import TextBox

DARK = 140
"""grey level below which a pixel can belong to an axis line"""
_SNAPPED = 0.85
"""share of a line's ink in its darkest column (row) above which it was snapped to the pixel grid"""
_LINE_SHARE = 0.45
"""an axis line spans at least this share of the image side"""
_SUPERSCRIPT = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻°", "0123456789-0")
_NUMBER = re.compile(r"^[-−–]?(?:\d+(?:[.,]\d*)?|[.,]\d+)$")
_POWER = re.compile(r"^(?:([1-9](?:\.\d+)?)[×x·*])?10\^?([-−–⁻]?[0-9⁰¹²³⁴⁵⁶⁷⁸⁹°]{1,2})$")
"""a power of ten as tick labels print it, with its exponent raised; on a log axis spanning about a
decade, matplotlib labels the minor ticks too ("3×10⁻¹")"""
_DECADE_TICKS = np.log10(np.arange(1, 11))
"""where a log axis's major (1, 10) and minor (2–9) ticks fall within a decade, in decades"""
_UNIT = re.compile(r"(?:^|\s)[(\[]\s*([^()\[\]]{1,15})\s*[)\]]\s*$")  # "Energy (eV)", not "μ(E)"


@dataclass(frozen=True)
class Frame:
    """The plot area between the axis lines, in continuous pixel coordinates."""

    left: float
    top: float
    right: float
    bottom: float
    lines: tuple[bool, bool, bool, bool]
    """which of left, top, right, bottom were drawn as lines (False: the image edge)"""
    snapped: tuple[bool, bool, bool, bool] = (False, False, False, False)
    """which lines were snapped to the pixel grid: drawn half a pixel after the position above"""

    @property
    def drawn(self) -> Frame:
        """The lines where their ink is (the pixels to look at), not where the data put them."""
        left, top, right, bottom = (v + 0.5 * s for v, s in zip((self.left, self.top, self.right, self.bottom),
                                                                self.snapped, strict=True))
        return Frame(left, top, right, bottom, self.lines)

    @property
    def interior(self) -> tuple[int, int, int, int]:
        """Whole pixels strictly inside the axis lines as drawn: x0, y0, x1, y1 (exclusive). A side with
        no line is an image edge, where a crop may keep a sliver of the axis it was cut at: 3 px stay out."""
        m = [1 if line else 3 for line in self.lines]
        d = self.drawn
        return (int(math.ceil(d.left + m[0])), int(math.ceil(d.top + m[1])),
                int(math.floor(d.right - m[2])), int(math.floor(d.bottom - m[3])))


@dataclass
class Axis:
    """pixel → data along one axis: value = a·px + b (log: log10(value) = a·px + b)."""

    scale: str
    """linear, log, or none (uncalibrated: values are fractions of the axis, 0 at the origin)"""
    a: float
    b: float
    px_min: float
    px_max: float
    label: str = ""
    unit: str = ""
    ticks: int = 0
    """labelled ticks the fit rests on"""
    residual: float = 0.0
    """RMS fit residual as a fraction of the axis range"""

    @property
    def calibrated(self) -> bool:
        return self.scale != "none"

    def value(self, px: np.ndarray | float) -> np.ndarray:
        v = self.a * np.asarray(px, dtype=float) + self.b
        return np.power(10.0, v) if self.scale == "log" else v

    @property
    def range(self) -> tuple[float, float]:
        lo, hi = self.value(self.px_min), self.value(self.px_max)
        return float(lo), float(hi)

    def to_json(self) -> dict[str, object]:
        lo, hi = self.range
        return {"min": lo, "max": hi, "scale": self.scale, "px_min": self.px_min, "px_max": self.px_max,
                "label": self.label, "unit": self.unit, "ticks": self.ticks, "residual": round(self.residual, 5)}


def uncalibrated(px_min: float, px_max: float, label: str = "") -> Axis:
    span = (px_max - px_min) or 1.0
    return Axis("none", 1.0 / span, -px_min / span, px_min, px_max, label, _unit(label))


def _lines(profile: np.ndarray, length: int) -> list[tuple[int, int]]:
    """Runs of consecutive indices whose dark count reaches the axis-line share: (first, last)."""
    idx = np.flatnonzero(profile >= _LINE_SHARE * length)
    runs: list[tuple[int, int]] = []
    for i in idx:
        if runs and i - runs[-1][1] <= 1:
            runs[-1] = (runs[-1][0], int(i))
        else:
            runs.append((int(i), int(i)))
    return [r for r in runs if r[1] - r[0] <= 5]  # a line, not a filled block


def _longest_run(mask_1d: np.ndarray) -> int:
    if not mask_1d.any():
        return 0
    d = np.diff(np.concatenate([[0], mask_1d.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
    return int((ends - starts).max())


def find_frame(grey: np.ndarray) -> Frame:
    """The plot frame of a grey image; missing sides fall back to the image edges.

    Lines are found in the dark-pixel mask; each is then placed at the darkness-weighted centre of
    its rows (or columns) and their neighbours, so an antialiased 1.1 px spine lands within a tenth
    of a pixel of where it was drawn.
    """
    dark = grey < DARK
    ink = 255.0 - grey.astype(np.float32)
    h, w = dark.shape
    rows = np.array([_longest_run(dark[r]) for r in range(h)])
    cols = np.array([_longest_run(dark[:, c]) for c in range(w)])
    hlines, vlines = _lines(rows, w), _lines(cols, h)
    bottom = next((r for r in reversed(hlines) if r[0] > h * 0.4), None)
    top = next((r for r in hlines if r[1] < h * 0.4), None)
    left = next((c for c in vlines if c[1] < w * 0.4), None)
    right = next((c for c in reversed(vlines) if c[0] > w * 0.6), None)
    row_ink, col_ink = ink.sum(axis=1), ink.sum(axis=0)

    def centre(run: tuple[int, int] | None, along: np.ndarray, edge: float) -> tuple[float, bool]:
        if run is None:
            return edge, False
        i = np.arange(max(0, run[0] - 1), min(along.size, run[1] + 2))
        # The page's own ink level along a line is not the line.
        return _placed(i, np.clip(along[i] - np.median(along) + 1e-9, 1e-9, None))

    (x0, s0), (y0, s1) = centre(left, col_ink, 0.0), centre(top, row_ink, 0.0)
    (x1, s2), (y1, s3) = centre(right, col_ink, float(w)), centre(bottom, row_ink, float(h))
    return Frame(x0, y0, x1, y1, (left is not None, top is not None, right is not None, bottom is not None),
                 (s0, s1, s2, s3))


def _placed(i: np.ndarray, weights: np.ndarray) -> tuple[float, bool]:
    """Where a line or tick drawn across indices ``i`` with ink ``weights`` stands (continuous
    coordinates), and whether it was snapped to the pixel grid: then it stands half a pixel before
    the centre of its ink (see ``tick_positions``)."""
    total = max(float(weights.sum()), 1e-9)
    snapped = float(weights.max()) / total > _SNAPPED
    return float((i * weights).sum()) / total + (0.0 if snapped else 0.5), snapped


def tick_positions(grey: np.ndarray, frame: Frame, axis: str) -> list[float]:
    """Where the data put the tick marks just outside an axis line (pixel coordinates along the axis).

    A tick is found in the dark mask and placed at the ink-weighted centre of its columns (rows) and
    their neighbours: an antialiased tick 0.8 px wide darkens two columns, and half a pixel of tick
    error is a sharp peak's whole flank. A crisp tick, all its ink in one column, was snapped to the
    pixel grid as matplotlib does (``floor(x + 0.5) + 0.5``, while the curves are drawn where the
    data put them): its data position is anywhere in the pixel-wide interval ending at its centre,
    whose middle is half a pixel before it. On the synthetic benchmark that bias is +0.52 px (x) and
    +0.50 px (y) on average."""
    frame = frame.drawn
    if axis == "x":
        if not frame.lines[3]:
            return []
        r = int(frame.bottom)
        band = grey[r + 2:r + 4, int(frame.left) + 1:int(math.ceil(frame.right))].T  # one row per column
        offset = int(frame.left) + 1
    else:
        if not frame.lines[0]:
            return []
        c = int(frame.left)
        band = grey[int(frame.top) + 1:int(math.ceil(frame.bottom)), max(0, c - 3):max(0, c - 1)]
        offset = int(frame.top) + 1
    hits = (band < DARK).any(axis=1) if band.size else np.zeros(0, bool)
    weight = (255.0 - band.astype(np.float32)).sum(axis=1)
    ticks = []
    for k, grp in itertools.groupby(enumerate(np.asarray(hits, bool).tolist()), key=lambda t: t[1]):
        if k:
            idx = [i for i, _ in grp]
            if len(idx) <= 4:  # a tick is a thin mark; a long run is a curve or text touching the axis
                i = np.arange(max(0, idx[0] - 1), min(weight.size, idx[-1] + 2))
                ticks.append(offset + _placed(i, weight[i])[0])
    return ticks


def tick_value(text: str) -> tuple[float | None, float | None] | None:
    """A tick label read both ways: as a plain number, and as a power of ten printed with its exponent
    raised ("10⁻¹", which the OCR gives as "10-1", "10⁻1", "10°" for 10⁰ or "102" for 10²). Either may be
    None; None for both is not a tick label. The axis fit decides which reading the labels agree on."""
    t = text.strip().replace(" ", "").rstrip(".")
    power = None
    if m := _POWER.match(t):
        exp = m.group(2).translate(_SUPERSCRIPT).replace("−", "-").replace("–", "-")
        if re.fullmatch(r"-?\d{1,2}", exp) and (len(exp) == 1 or not exp.isdigit() or exp[0] != "0"):
            power = float(f"{m.group(1) or 1}e{int(exp)}")
    value = None
    if _NUMBER.match(t):
        t = t.replace("−", "-").replace("–", "-")
        t = t.replace(",", "") if re.fullmatch(r"-?\d{1,3}(?:,\d{3})+", t) else t.replace(",", ".")
        try:
            value = float(t)
        except ValueError:
            value = None
    return None if value is None and power is None else (value, power)


def fit_axis(pairs: list[tuple[float, float]], log: bool, px_min: float, px_max: float) -> Axis | None:
    """RANSAC over pairs of (pixel, value), then least squares on the inliers; None if under two agree."""
    pts = [(p, math.log10(v) if log else v) for p, v in pairs if not log or v > 0]
    if len(pts) < 2:
        return None
    best: list[tuple[float, float]] = []
    span = abs(px_max - px_min) or 1.0
    for (p1, v1), (p2, v2) in itertools.combinations(pts, 2):
        if abs(p2 - p1) < 3 or v1 == v2:
            continue
        a = (v2 - v1) / (p2 - p1)
        b = v1 - a * p1
        tol = abs(a) * 0.012 * span  # a label within ~1 % of the axis of its tick
        inliers = [(p, v) for p, v in pts if abs(a * p + b - v) <= tol]
        if len(inliers) > len(best):
            best = inliers
    if len(best) < 2:
        return None
    p_arr, v_arr = np.array([p for p, _ in best]), np.array([v for _, v in best])
    a, b = np.polyfit(p_arr, v_arr, 1)
    value_span = abs(a) * span or 1.0
    residual = float(np.sqrt(np.mean((a * p_arr + b - v_arr) ** 2)) / value_span)
    return Axis("log" if log else "linear", float(a), float(b), px_min, px_max, ticks=len(best), residual=residual)


def _unit(title: str) -> str:
    m = _UNIT.search(title)
    return m.group(1).strip() if m else ""


class TickLabel(NamedTuple):
    px: float
    """where along the axis: its nearest tick when one is close, else the label's centre"""
    value: float | None
    power: float | None
    """the label read as a power of ten"""
    score: float
    """the OCR's confidence"""


def _labelled(texts: list[TextBox], ticks: list[float], along: str, tick_gap: float) -> list[TickLabel]:
    """Each numeric label read both ways (``tick_value``), at its nearest tick when one is close."""
    out = []
    for t, c in _split_numbers(texts, along):
        parsed = tick_value(t.text)
        if parsed is None:
            continue
        near = min(ticks, key=lambda p: abs(p - c), default=None)
        if near is not None and abs(near - c) <= max(4.0, 0.35 * tick_gap):
            c = near
        out.append(TickLabel(c, parsed[0], parsed[1], t.score))
    return out


def _split_numbers(texts: list[TextBox], along: str) -> list[tuple[TextBox, float]]:
    """Each label with its centre along the axis; the OCR reads a row of close x labels as one line
    ("400 600 800 1000"), which is cut at its spaces, each number centred where its characters are."""
    out = []
    for t in texts:
        x0, y0, x1, y1 = t.box
        words = t.text.split()
        if along == "x" and len(words) > 1 and all(tick_value(w) for w in words):
            pos = 0
            for word in words:
                start = t.text.index(word, pos)
                pos = start + len(word)
                mid = (start + pos) / 2 / len(t.text)
                out.append((TextBox(t.box, word, t.score), x0 + mid * (x1 - x0)))
        else:
            out.append((t, (x0 + x1) / 2 if along == "x" else (y0 + y1) / 2))
    return out


def _calibrate(labels: list[TickLabel], px_min: float, px_max: float) -> Axis | None:
    """The better of the linear fit (plain readings) and the log fit (power-of-ten readings): more
    labels agreeing, then the smaller residual; a tie between "100, 101, 102" read both ways is log."""
    fits = []
    for log in (False, True):
        readings = [(t.px, r) for t in labels if (r := t.power if log else t.value) is not None]
        axis = fit_axis(readings, log, px_min, px_max)
        # Values grow away from the origin (rightwards, upwards); a fit that says otherwise rests on misreads.
        if axis is not None and axis.a * (px_max - px_min) > 0:
            fits.append((axis.ticks, log, -axis.residual, axis))
    return max(fits, key=lambda f: f[:3])[3] if fits else None


def _log_grid(ticks: np.ndarray, anchor: float, decade: float) -> float:
    """How well ticks (sorted pixels) fit a log axis's grid — majors and minors 2–9 — with a power of
    ten at pixel ``anchor`` and ``decade`` pixels (signed) per decade: the share of ticks on the grid
    times the share of the grid's places between the first and last tick that hold one."""
    v = (ticks - anchor) / decade
    on = np.abs((v - np.floor(v))[:, None] - _DECADE_TICKS[None, :]).min(axis=1) * abs(decade) <= 1.5
    lo, hi = np.floor(v.min()), np.ceil(v.max())
    grid = anchor + decade * (np.arange(lo, hi)[:, None] + _DECADE_TICKS[None, :-1]).ravel()
    grid = grid[(grid >= ticks[0] - 0.5) & (grid <= ticks[-1] + 0.5)]
    held = np.abs(grid[:, None] - ticks[None, :]).min(axis=1) <= 1.5 if grid.size else np.zeros(0, bool)
    return float(on.mean() * held.mean()) if grid.size else 0.0


def _decades(axis: Axis | None, ticks: list[float], labels: list[TickLabel]) -> Axis | None:
    """A log axis checked against its minor ticks. Eight minor ticks between powers of ten fix the
    decade's length, whatever the labels say; a misread exponent ("10⁻2" for "10⁻1") makes the
    labels' fit two decades long where the ticks show one. The length comes from the ticks when they
    fit it clearly better, and the decades are placed where most labels put them."""
    if axis is None or axis.scale != "log" or len(ticks) < 6:
        return axis
    at = np.array(sorted(ticks))
    sign = 1.0 if axis.px_max > axis.px_min else -1.0  # values grow towards px_max
    best = (0.0, 0.0, 0.0)
    for i, j in itertools.combinations(range(at.size), 2):
        decade = sign * (at[j] - at[i])
        if abs(decade) >= 20:
            best = max(best, (_log_grid(at, at[i], decade), decade, at[i]))
    fit, decade, anchor = best
    if fit < 0.8 or abs(decade * axis.a - 1) < 0.03:
        return axis
    # Each labelled tick says which power of ten the anchor is; a label read twice (a re-read strip
    # overlapping a detected label) counts once, at its best reading, and the surest readings win.
    read: dict[float, tuple[float, float]] = {}
    for t in labels:
        if t.power and (t.px not in read or t.score > read[t.px][1]):
            read[t.px] = (t.power, t.score)
    exponent = {px: round(math.log10(power) - (px - anchor) / decade) for px, (power, _) in read.items()}
    if not exponent:
        return axis
    e0 = max(dict.fromkeys(exponent.values()), key=lambda e: sum(read[p][1] for p, x in exponent.items() if x == e))
    a = 1.0 / decade
    return Axis("log", a, e0 - a * anchor, axis.px_min, axis.px_max,
                ticks=sum(e == e0 for e in exponent.values()), residual=0.0)


def calibrate(image: np.ndarray, grey: np.ndarray, frame: Frame, texts: list[TextBox]) -> tuple[Axis, Axis]:
    """Both axes of ``frame``, from the tick labels among ``texts`` (OCR boxes of the whole image);
    ``grey`` is the image's darkest channel."""
    xt, yt = tick_positions(grey, frame, "x"), tick_positions(grey, frame, "y")
    below = [t for t in texts if t.box[1] >= frame.bottom - 2 and t.box[0] >= frame.left - 40
             and t.box[2] <= frame.right + 40]
    left_of = [t for t in texts if t.box[2] <= frame.left + 2 and t.box[1] >= frame.top - 15
               and t.box[3] <= frame.bottom + 15]
    # Tick labels sit in the first text row below the axis; the axis title is the row after it.
    numeric_below = [t for t in below if tick_value(t.text)]
    label_row = min((t.box[3] for t in numeric_below), default=frame.bottom)
    x_title = " ".join(t.text for t in sorted(below, key=lambda t: t.box[0])
                       if t.box[1] >= label_row - 3 and not tick_value(t.text))
    gap_x = float(np.median(np.diff(xt))) if len(xt) > 1 else frame.right - frame.left
    gap_y = float(np.median(np.diff(yt))) if len(yt) > 1 else frame.bottom - frame.top
    if sum(1 for t in left_of if tick_value(t.text)) < 2:
        left_of = left_of + _reread_y_labels(image, grey < DARK, frame, yt, left_of)
    x_labels, y_labels = _labelled(below, xt, "x", gap_x), _labelled(left_of, yt, "y", gap_y)
    x_axis = _decades(_calibrate(x_labels, frame.left, frame.right), xt, x_labels)
    y_axis = _decades(_calibrate(y_labels, frame.bottom, frame.top), yt, y_labels)
    y_title = _rotated_title(image, frame, left_of)
    x_axis = x_axis or uncalibrated(frame.left, frame.right)
    y_axis = y_axis or uncalibrated(frame.bottom, frame.top)
    x_axis.label, x_axis.unit = x_title, _unit(x_title)
    y_axis.label, y_axis.unit = y_title, _unit(y_title)
    return x_axis, y_axis


def _reread_y_labels(image: np.ndarray, dark: np.ndarray, frame: Frame, ticks: list[float],
                     seen: list[TextBox]) -> list[TextBox]:
    """Text detection misses short labels ("10⁻¹" beside a tall title); read the strip left of each
    y tick directly, as one text line per tick, when fewer than two labels were found."""
    frame = frame.drawn
    known = [t for t in seen if tick_value(t.text)]
    height = float(np.median([t.box[3] - t.box[1] for t in known])) if known else 16.0
    right = int(frame.left) - 3
    left = max(0, min((t.box[0] for t in known), default=int(right - 4 * height)) - 2)
    crops, boxes = [], []
    for y in ticks:
        if any(t.box[1] <= y <= t.box[3] for t in known):
            continue
        y0, y1 = max(0, int(y - 0.75 * height)), int(y + 0.75 * height) + 1
        ink = np.argwhere(dark[y0:y1, left:right])
        if right - left < 4 or ink.size == 0:
            continue
        (r0, c0), (r1, c1) = ink.min(axis=0), ink.max(axis=0)
        box = (left + int(c0), y0 + int(r0), left + int(c1) + 1, y0 + int(r1) + 1)
        crop = image[max(0, box[1] - 3):box[3] + 3, max(0, box[0] - 3):box[2] + 3]
        crops.append(cv2.resize(crop, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC))
        boxes.append(box)
    # The strip can reach the tick mark itself, read as a trailing dash ("4-").
    return [TextBox(box, text.rstrip("-–—_ "), score)
            for box, (text, score) in zip(boxes, ocr.recognize(crops), strict=True) if score > 0.5]


def _rotated_title(image: np.ndarray, frame: Frame, left_of: list[TextBox]) -> str:
    """The y-axis title, printed bottom-to-top left of the tick labels: turned upright and read."""
    frame = frame.drawn
    numeric = [t for t in left_of if tick_value(t.text)]
    right = min((t.box[0] for t in numeric), default=int(frame.left) - 2) - 1
    if right < 6:
        return ""
    strip = image[max(0, int(frame.top)):int(frame.bottom), :right]
    dark = strip.min(axis=2) < 160 if strip.ndim == 3 else strip < 160
    cols = np.flatnonzero(dark.any(axis=0))
    rows = np.flatnonzero(dark.any(axis=1))
    if cols.size == 0 or rows.size < 10:
        return ""
    crop = strip[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    upright = cv2.rotate(np.ascontiguousarray(crop), cv2.ROTATE_90_CLOCKWISE)
    text, score = ocr.recognize([upright])[0]
    return text.strip() if score > 0.5 else ""

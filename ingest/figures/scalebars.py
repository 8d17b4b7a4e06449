"""Scale bars: find the bars on a micrograph, read their labels, and turn them into nm per pixel.

A scale bar is a solid white or black rectangle, several times longer than
thick, often with end ticks, set on the image near a corner, with its value
("200 nm", "0.5 µm", "5 Å", "2 nm⁻¹") printed just above, below or beside it.
Bars are found as near-saturated components that fill their bounding box
(ticks removed by a horizontal opening); the label is the text line of the
same polarity nearest the bar, read by rapidocr and parsed by ``ingest.units``.
When the image prints no value, the value the caption states for that
subfigure is used (``source="caption"``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import cv2
import numpy as np

from ingest import ocr
from ingest.figures.geometry import Box, as_box, grey, shrunk
from ingest.figures.records import ScaleBar
from ingest.images import rgb_array
from ingest.units import Length, parse_length

# OCR confusions inside a scale label, repaired only where a unit or number is expected.
_UNIT_FIXES = [
    (re.compile(r"(?<=\d)\s*(?:nrn|rn|run|rim|rm|mn|nn|n m)(?![a-z])", re.I), " nm"),
    (re.compile(r"(?<=\d)(?:\s*hm|\s+0m)(?![a-z])"), " nm"),  # "n" with a speck on it; "n" read "0" ("1 0m")
    (re.compile(r"(?<=\d)\s*(?:µm|μm|um|uM|jm|jum|pum|lim|ym|Hm)(?![a-z])"), " µm"),
    (re.compile(r"(?<=\d)\s*[Åå]"), " Å"),
]
_DIGIT_FIXES = str.maketrans({"O": "0", "o": "0", "l": "1", "I": "1", "|": "1", "S": "5", ",": "."})


def parse_label(text: str) -> Length | None:
    """A scale label as OCR read it → a length, or None when it is not one ("x 5,000", "HAADF", "")."""
    t = text.strip().replace("\u2009", " ")
    # specks beside the text read as punctuation: ":1-nm.", "'200 nm,"
    t = re.sub(r"^[^\w(]+|[^\w)Åµ⁻¹]+$", "", t)
    t = re.sub(r"(?<=\d)\s*[-–—~_:;'\".]+\s*(?=[a-zA-Zµμ])", " ", t)  # also "1.nm": no digit after the point
    t = re.sub(r"^0\s*[-–—~]\s*(?=\d)", "0.", t)  # the point of "0.5 µm" read as a dash: no bar spans "0-5"
    # a lone "1" read as a letter before the unit: "Inm", "Lnm", "Thm", "l µm"
    t = re.sub(r"^[IlLT|]\s*(?=(?:nm|hm|µm|μm|um|Å)(?!\w))", "1 ", t)
    # digits misread as letters, only in the numeric head of the label ("1O0 nm", "l µm")
    m = re.match(r"^([0-9OolI|S.,]+)\s*(.*)$", t)
    if m and any(ch.isdigit() for ch in m.group(1)):
        t = m.group(1).translate(_DIGIT_FIXES) + " " + m.group(2)
    t = re.sub(r"(?<=\d)\s*(NM|UM|MM|CM)\b", lambda u: " " + u.group(1).lower(), t)  # "200NM"
    # reciprocal units with the "1" or the slash dropped: "5.2/nm", "2 1 nm"
    if not re.search(r"\d\s+1\s*/", t):  # "5 1/nm" is already right
        t = re.sub(r"(?<=\d)\s*/\s*(nm|Å)", r" 1/\1", t)
    t = re.sub(r"(?<=\d)\s+1\s*(nm|Å)(?![-⁻^\w])", r" 1/\1", t)
    for pattern, repl in _UNIT_FIXES:
        t = pattern.sub(repl, t)
    length = parse_length(t)
    if length is None or length.value <= 0:
        return None
    return length


def _variants(crop: np.ndarray) -> list[np.ndarray]:
    """The crop as printed, upscaled (the recogniser wants ~32 px high text), and upscaled inverted."""
    h = crop.shape[0]
    scale = max(1.0, 40 / max(1, h))
    big = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC) if scale > 1 else crop
    pad = cv2.copyMakeBorder(big, 6, 6, 6, 6, cv2.BORDER_REPLICATE)
    return [crop, pad, 255 - pad]


def _reconcile(reads: list[tuple[Length, str, float]]) -> tuple[Length, str, float] | None:
    """One reading from the variants' readings.

    The most confident wins, except for two confusions that go one way only: a decimal point is
    lost far more often than invented ("1.0 µm" read "10 µm"), and "nm" is misread "mm" (a
    millimetre scale bar on a micrograph is rare).
    """
    if not reads:
        return None
    best = max(reads, key=lambda r: r[2])
    best_digits = re.sub(r"\D", "", best[1])
    for read in reads:
        if "." in read[1] and re.sub(r"\D", "", read[1]) == best_digits and read[0].unit == best[0].unit:
            return read
    if best[0].unit == "mm":
        nm = [r for r in reads if r[0].unit == "nm" and r[0].value == best[0].value]
        if nm:
            return nm[0]
        if best[2] < 0.98:  # "nm" read as "mm" with no variant disagreeing; mm bars are ~1 % of labels
            return Length(best[0].value, "nm"), best[1], best[2]
    return best


LABEL_WIDTH = 160
"""Recogniser width for scale labels ("200 nm" is 3-5 times as wide as high): half the default
width halves the cost (the slowest real figure reads 27 label crops: 1.55 -> 1.33 s) and reads the
same 122 of 126 label crops; on four dev journals 4 of 930 bars lost their value, none gained.
Subfigure labels keep the default: one letter read narrower missed one real label."""


def read_label_crops(crops: list[np.ndarray]) -> list[tuple[Length, str, float] | None]:
    """Read scale-label crops (RGB or grey) in one batch: (length, text as read, confidence) or None each."""
    crops = [rgb_array(c) for c in crops]
    variants = [_variants(c) if min(c.shape[:2]) >= 4 else [] for c in crops]
    texts = iter(ocr.recognize([v for vs in variants for v in vs], LABEL_WIDTH))
    out = []
    for vs in variants:
        reads = []
        for text, score in (next(texts) for _ in vs):
            length = parse_label(text)
            if length is not None:
                reads.append((length, text, score))
        out.append(_reconcile(reads))
    return out


def read_label_crop(crop: np.ndarray) -> tuple[Length, str, float] | None:
    """Read one scale-label crop (RGB or grey): (length, text as read, confidence), or None."""
    return read_label_crops([crop])[0]


CONFIDENT_READ = 0.75
"""OCR score at which one band reading is believed on its own."""
AGREED_READ = 0.6
"""OCR score at which a band reading counts towards a value several readings agree on."""
MIN_CONFIDENCE = 0.25
BAR_LIKE = 0.5
"""Confidence above which a line is worth reading bands for, and kept as a bar with no value read."""


@dataclass
class Bar:
    box: Box
    polarity: str
    """white or black"""
    confidence: float
    extremeness: float = 0.0
    """how far the bar's mean grey is from pure white (black): bars are drawn saturated"""


def find_bars(rgb: np.ndarray, host: Box) -> list[Bar]:
    """Scale bars on the image ``host`` (figure coordinates), most bar-like first.

    A morphological top-hat with a vertical line taller than any bar keeps what is thin
    vertically and removes what is tall: a bar stays, a bright particle or background region
    touching it goes. Bars are then the solid, elongated components of the thresholded top-hat;
    end ticks (taller than the bar) are added back column by column.
    """
    x0, y0, x1, y1 = host
    w, h = x1 - x0, y1 - y0
    if min(w, h) < 24:
        return []
    g = cv2.cvtColor(np.ascontiguousarray(rgb[y0:y1, x0:x1]), cv2.COLOR_RGB2GRAY)
    max_thick = max(10, h // 14)
    line = cv2.getStructuringElement(cv2.MORPH_RECT, (1, max_thick + 2))
    bars = []
    pad = max_thick + 2
    for polarity, op, level in (("white", cv2.MORPH_TOPHAT, g >= 200), ("black", cv2.MORPH_BLACKHAT, g <= 70)):
        # Pad with the opposite colour: a bar along the image's edge must not look like part of the outside.
        padded = cv2.copyMakeBorder(g, pad, pad, 0, 0, cv2.BORDER_CONSTANT, value=0 if polarity == "white" else 255)
        thin = (cv2.morphologyEx(padded, op, line)[pad:-pad] >= 50) & level
        n, _, stats, _ = cv2.connectedComponentsWithStats(thin.astype(np.uint8), connectivity=4)
        for i in range(1, n):
            bx, by, bw, bh, _ = (int(v) for v in stats[i])
            if bw < 10 or bw > 0.7 * w or bh > 6 * max_thick:
                continue
            body = _body(thin[by:by + bh, bx:bx + bw], max_thick)
            if body is None:
                continue
            top, bottom, bx0, bx1 = by + body[0], by + body[1], bx + body[2], bx + body[3]
            # edge rows the top-hat half-missed (anti-aliased, or beside a halo) but in the bar's colour
            while top > 0 and bottom - top < max_thick and level[top - 1, bx0:bx1].mean() >= 0.85:
                top -= 1
            while bottom < h and bottom - top < max_thick and level[bottom, bx0:bx1].mean() >= 0.85:
                bottom += 1
            bh = bottom - top
            if top == 0 or bottom >= h or bx0 == 0 or bx1 >= w:
                continue  # a bar is printed on the image, with image all round it; an edge strip is a border
            bx0, bx1 = _trim(g, top, bottom, bx0, bx1)
            # end ticks: columns in the bar's own colour that cover its rows and reach a little
            # above or below (not a bright background the bar ends on)
            shade = float(g[top:bottom, bx0:bx1].mean())
            bx0 = _end(g, level, top, bottom, bx0, -1, bx1 - bx0, shade)
            bx1 = _end(g, level, top, bottom, bx1 - 1, 1, bx1 - bx0, shade) + 1
            inside, contrast = _core(g, top, bottom, bx0, bx1)
            conf = min(1.0, contrast / 120) * min(1.0, (bx1 - bx0) / 20) * max(0.0, 1 - float(inside.std()) / 40)
            if conf < MIN_CONFIDENCE:
                continue
            extreme = 255 - float(inside.mean()) if polarity == "white" else float(inside.mean())
            bars.append(Bar((x0 + bx0, y0 + top, x0 + bx1, y0 + bottom), polarity, conf, extreme))
    return _drop_outlines(sorted(bars, key=lambda b: -b.confidence))


def _trim(g: np.ndarray, top: int, bottom: int, x0: int, x1: int) -> tuple[int, int]:
    """The bar without end columns whose shade is not the bar's: where a bar runs into a particle
    or a fibre near its colour, the top-hat keeps the blend (darker or lighter than the bar) too."""
    means = g[top:bottom, x0:x1].mean(axis=0)
    shade = float(np.median(means))
    off = np.abs(means - shade) > 20
    a, b = 0, len(means)
    while b - a > 10 and off[a]:
        a += 1
    while b - a > 10 and off[b - 1]:
        b -= 1
    # one off column is the bar's own anti-aliased end (it covers part of that pixel): keep it
    return x0 + (a if a >= 2 else 0), x0 + (b if len(means) - b >= 2 else len(means))


def _core(g: np.ndarray, top: int, bottom: int, x0: int, x1: int) -> tuple[np.ndarray, float]:
    """The bar's solid rows (not its anti-aliased edge rows, half bar and half background) and their
    contrast with the image just outside, one or two rows off each side (past any edge row)."""
    rows = g[top:bottom, x0:x1].astype(np.float32)
    means = rows.mean(axis=1)
    extreme = means.max() if means.mean() >= 128 else means.min()
    core = rows[np.abs(means - extreme) <= 40]
    level = float(core.mean())
    sides = [[float(g[r, x0:x1].mean()) for r in rs if 0 <= r < g.shape[0]]
             for rs in ((top - 1, top - 2), (bottom, bottom + 1))]
    contrast = min((max(abs(level - v) for v in side) for side in sides if side), default=0.0)
    return core, contrast


def _body(mask: np.ndarray, max_thick: int) -> tuple[int, int, int, int] | None:
    """The bar inside a component: the thickest band of rows whose longest runs start and end together.

    A label touching the bar from above, below or the side adds rows (or a few columns) that do
    not line up with the bar's own rows, so the bar's extent is the median of the aligned rows.
    """
    spans = []
    for row in mask:
        padded = np.concatenate([[0], row.astype(np.int8), [0]])
        d = np.diff(padded)
        starts, ends = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
        k = int(np.argmax(ends - starts))
        spans.append((int(starts[k]), int(ends[k])) if len(starts) else (0, 0))
    longest = max(b - a for a, b in spans)
    if longest < 10:
        return None
    best: tuple[int, int, int, int] | None = None
    r = 0
    while r < len(spans):
        if spans[r][1] - spans[r][0] < 0.6 * longest:
            r += 1
            continue
        band = [spans[r]]
        while r + len(band) < len(spans):
            a, b = spans[r + len(band)]
            a0, b0 = np.median([s[0] for s in band]), np.median([s[1] for s in band])
            # the row continues the bar if it spans it (a touching glyph may lengthen it a little)
            if a > a0 + 2 or b < b0 - 2 or b - a > 1.5 * (b0 - a0):
                break
            band.append((a, b))
        a, b = int(np.median([s[0] for s in band])), int(np.median([s[1] for s in band]))
        if 2 <= len(band) <= max_thick and b - a >= 3 * len(band) and (best is None or len(band) > best[1] - best[0]):
            best = (r, r + len(band), a, b)
        r += len(band)
    return best


def _drop_outlines(bars: list[Bar]) -> list[Bar]:
    """A bar drawn with a dark outline (or a shadow) is found twice, once per polarity: keep the bar."""
    kept: list[Bar] = []
    for b in bars:
        twin = next((k for k in kept if k.polarity != b.polarity and _twins(k.box, b.box)), None)
        if twin is None:
            kept.append(b)
        elif b.extremeness < twin.extremeness:  # the bar is the more saturated of the two
            kept[kept.index(twin)] = b
    return kept


def _twins(a: Box, b: Box) -> bool:
    overlap = min(a[2], b[2]) - max(a[0], b[0])
    vgap = max(a[1], b[1]) - min(a[3], b[3])
    return overlap >= 0.7 * max(a[2] - a[0], b[2] - b[0]) and vgap <= 3


def _end(g: np.ndarray, level: np.ndarray, top: int, bottom: int, x: int, step: int, reach: int, shade: float) -> int:
    """The bar's last column from ``x`` on, going ``step``: over end ticks, and across a particle of
    the bar's colour it crosses when the bar goes on beyond it (the top-hat cuts the bar there)."""
    end, k, crossed, run = x, x + step, False, 0
    while 0 <= k < g.shape[1] and abs(k - x) <= reach and level[top:bottom, k].all():
        if not _tick(g, level, top, bottom, k, shade):
            crossed, run = True, 0
        else:
            run += 1
            # beyond a particle, only a stretch of bar (not the particle's tapering edge) counts
            if not crossed or run >= 6:
                end = k
        k += step
    return end


def _tick(g: np.ndarray, level: np.ndarray, top: int, bottom: int, x: int, shade: float) -> bool:
    """Is column ``x`` an end tick of the bar in rows ``top:bottom`` — in its colour, covering its
    rows, reaching a little above or below it?"""
    return bool(level[top:bottom, x].all()) and abs(float(g[top:bottom, x].mean()) - shade) <= 20 \
        and _run_len(level[:, x], top) <= 4 * (bottom - top) + 6


def _run_len(column: np.ndarray, row: int) -> int:
    """Length of the run of True through ``row`` in a column."""
    above, below = column[:row][::-1], column[row:]
    up = int(np.argmin(above)) if not above.all() else len(above)
    down = int(np.argmin(below)) if not below.all() else len(below)
    return up + down


def _label_boxes(rgb: np.ndarray, bar: Bar, host: Box) -> list[Box]:
    """Text lines printed next to ``bar``, nearest first: in the bar's colour, then the other.

    Labels are usually the bar's colour, but black text beside a white bar (or the reverse, on a
    mid-grey image) is common enough to look for both.
    """
    bx0, by0, bx1, by1 = bar.box
    hx0, hy0, hx1, hy1 = host
    length = bx1 - bx0
    # search window: a bar's width either side, ~3 text heights above and below
    wx0, wx1 = max(hx0, bx0 - length - 10), min(hx1, bx1 + length + 10)
    wy0, wy1 = max(hy0, by0 - 40), min(hy1, by1 + 40)
    g = cv2.cvtColor(np.ascontiguousarray(rgb[wy0:wy1, wx0:wx1]), cv2.COLOR_RGB2GRAY).astype(np.int16)
    if g.size == 0:
        return []
    median = float(np.median(g))
    masks = {"white": g >= max(180.0, median + 50), "black": g <= min(80.0, median - 50)}
    order = [bar.polarity, "black" if bar.polarity == "white" else "white"]

    def distance(b: Box) -> int:
        return max(0, b[1] - by1, by0 - b[3]) + max(0, b[0] - bx1, bx0 - b[2])

    def lines(mask: np.ndarray) -> list[Box]:
        mask[max(0, by0 - wy0 - 1):by1 - wy0 + 1, max(0, bx0 - wx0):bx1 - wx0] = False  # not the bar itself
        return [(wx0 + x0, wy0 + y0, wx0 + x1, wy0 + y1) for x0, y0, x1, y1 in _text_lines(mask)]

    boxes = sorted((b for polarity in order for b in lines(masks[polarity])), key=distance)[:3]
    if median >= 150:
        # Thin black text on a light image is antialiased to mid-grey (a 10 px "2 µm" has few
        # pixels under 80): failing the lines above, those of anything well darker than the image.
        # (Only then: dark particles beside a label join its line at this level.)
        boxes += [b for b in sorted(lines(g <= min(150.0, median - 70)), key=distance)[:2] if b not in boxes]
    return boxes


def _text_lines(mask: np.ndarray) -> list[Box]:
    """Runs of at least two glyph-sized components sharing a baseline with letter-sized gaps."""
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    glyphs = sorted((int(s[0]), int(s[1]), int(s[0] + s[2]), int(s[1] + s[3])) for s in stats[1:n]
                    if 4 <= s[3] <= 36 and s[2] <= 40 and s[4] >= 6)
    lines: list[list[tuple[int, int, int, int]]] = []
    for g in glyphs:  # left to right: join the line whose last glyph is level and close
        for line in lines:
            last = line[-1]
            h = max(g[3] - g[1], last[3] - last[1])  # an x-height glyph ("nm") after a digit
            level = abs((g[1] + g[3]) / 2 - (last[1] + last[3]) / 2) <= max(4, 0.6 * h)
            if level and 0 <= g[0] - last[2] + 2 <= max(8, int(1.2 * h)):
                line.append(g)
                break
        else:
            lines.append([g])
    return [(min(b[0] for b in run), min(b[1] for b in run), max(b[2] for b in run), max(b[3] for b in run))
            for run in lines if len(run) >= 2]


def read_bars(rgb: np.ndarray, host: Box, max_bars: int = 3, thorough: bool = True,
              weak: bool = True) -> list[ScaleBar]:
    """The scale bars on one image, with their printed labels read where there is one.

    ``thorough=False`` skips the slower band reading for labels the glyph segmentation cannot
    isolate (worth it only when no other source, such as the caption, states the scale).
    ``weak=False`` reads no label for lines that look less like bars (confidence below
    ``BAR_LIKE``): in a compound figure they are mostly frame edges, axes and fibres, and
    reading them cost 8-14 % of the recognised crops for no right value on two synthetic
    journals and the real figures (one bar of 238 on a third journal).
    """
    return [_read(rgb, bar, host, thorough) if weak or bar.confidence >= BAR_LIKE else _unread(bar)
            for bar in find_bars(rgb, host)[:max_bars]]


def gutter_bar(rgb: np.ndarray, box: Box) -> ScaleBar | None:
    """A bar printed on the white gutter (its own layout cell), with its label read."""
    g = cv2.cvtColor(np.ascontiguousarray(rgb[box[1]:box[3], box[0]:box[2]]), cv2.COLOR_RGB2GRAY)
    # the cell as the ink mask cut it, less its antialiased edge rows
    dark = shrunk(g <= 90, box)
    if dark is None:
        return None
    x0, y0, x1, y1 = dark
    g = g[y0 - box[1]:y1 - box[1], x0 - box[0]:x1 - box[0]]
    if (x1 - x0) < max(10, 3 * (y1 - y0)) or not 2 <= y1 - y0 <= 12 or float((g <= 90).mean()) < 0.85:
        return None
    h, w = rgb.shape[:2]
    around = (max(0, x0 - (x1 - x0) - 10), max(0, y0 - 40), min(w, x1 + (x1 - x0) + 10), min(h, y1 + 40))
    return _read(rgb, Bar(dark, "black", 1.0), around)


def _unread(bar: Bar) -> ScaleBar:
    return ScaleBar(as_box(bar.box), float(bar.box[2] - bar.box[0]), confidence=round(bar.confidence, 3))


def _read(rgb: np.ndarray, bar: Bar, host: Box, thorough: bool = True) -> ScaleBar:
    sb = _unread(bar)
    h, w = rgb.shape[:2]
    for x0, y0, x1, y1 in _label_boxes(rgb, bar, host):
        # generous sideways: the last glyph of a unit is often too faint to make the line
        pad, side = 3, max(3, int(0.8 * (y1 - y0)))
        read = read_label_crop(rgb[max(0, y0 - pad):min(h, y1 + pad), max(0, x0 - side):min(w, x1 + side)])
        if read is not None:
            _take(sb, read, (x0, y0, x1, y1))
            return sb
    # (windows and bands cost ~0.1-0.4 s of OCR a bar: only for lines that look like bars)
    found = None
    if thorough and bar.confidence >= BAR_LIKE:
        found = _read_centred(rgb, bar, host) or _read_bands(rgb, bar, host)
    if found is not None:
        _take(sb, found[0], found[1])
    return sb


def _take(sb: ScaleBar, read: tuple[Length, str, float], box: Box) -> None:
    length, text, score = read
    sb.label_text, sb.label_bbox, sb.source = text, as_box(box), "image"
    if length.unit == "pm" and length.value * 1e-3 / max(sb.length_px, 1.0) < 1e-3:
        # under a picometre per pixel no microscope resolves: "µm" read as "pm"
        length = Length(length.value, "µm")
    set_length(sb, length)
    sb.confidence = min(sb.confidence, score)


def _read_centred(rgb: np.ndarray, bar: Bar, host: Box) -> tuple[tuple[Length, str, float], Box] | None:
    """Read a label printed centred just above or below the bar, where most labels sit, without
    finding its glyphs first: windows a short label wide, of three text heights (the likeliest
    first, stopping at a confident reading).

    For the labels a lattice of bright atoms hides from the glyph segmentation (the atoms join the
    glyphs' lines) and that a band as wide as the bar drowns in atoms read as letters.
    """
    bx0, by0, bx1, by1 = bar.box
    hx0, hy0, hx1, hy1 = host
    centre = (bx0 + bx1) // 2
    reads: list[tuple[tuple[Length, str, float], Box]] = []
    for height in (8, 11, 15):
        windows = [(max(hx0, centre - half), y0, min(hx1, centre + half), y1)
                   for half in (int(1.25 * height) + 2, 2 * height + 2)  # "1 nm" and "0.5 µm" wide
                   for y0, y1 in ((by0 - height - 3, by0 - 1), (by1 + 1, by1 + height + 3))
                   if y0 >= hy0 and y1 <= hy1]
        found = read_label_crops([rgb[y0:y1, x0:x1] for x0, y0, x1, y1 in windows])
        reads += [(read, window) for read, window in zip(found, windows, strict=True) if read is not None]
        best = _believed(reads, final=height == 15)
        if best is not None:
            return best
    return None


def _believed(reads: list[tuple[tuple[Length, str, float], Box]],
              final: bool) -> tuple[tuple[Length, str, float], Box] | None:
    """The most confident reading when one is confident; at the ``final`` try, a value that several
    less confident readings agree on (noise rarely misreads the same way twice)."""
    reads = [r for r in reads if r[0][2] >= AGREED_READ]
    confident = [r for r in reads if r[0][2] >= CONFIDENT_READ]
    if confident:
        return max(confident, key=lambda r: r[0][2])
    agreed = [r for r in reads if sum(o[0][0] == r[0][0] for o in reads) >= 2]
    return max(agreed, key=lambda r: r[0][2]) if agreed and final else None


def _read_bands(rgb: np.ndarray, bar: Bar, host: Box) -> tuple[tuple[Length, str, float], Box] | None:
    """Read the bands just above and below a bar as text lines, without segmenting glyphs.

    For labels the glyph heuristics cannot isolate: touching a particle, over a lattice, a few
    pixels high. Bands of three heights each side (the likeliest first, stopping at a confident
    reading), as printed and reduced to the bar's colour.
    """
    bx0, by0, bx1, by1 = bar.box
    hx0, hy0, hx1, hy1 = host
    half = (bx1 - bx0) // 2 + 6
    x0, x1 = max(hx0, bx0 - half), min(hx1, bx1 + half)
    reads: list[tuple[tuple[Length, str, float], Box]] = []
    for height in (15, 10, 22):
        bands: list[Box] = []
        if by0 - height - 2 >= hy0:
            bands.append((x0, by0 - height - 2, x1, by0 - 1))
        if by1 + height + 2 <= hy1:
            bands.append((x0, by1 + 1, x1, by1 + height + 2))
        crops = [c for band in bands for c in _band_variants(rgb, band, bar.polarity)]
        owners = [band for band in bands for _ in range(2)]
        for (text, score), band in zip(ocr.recognize(crops, LABEL_WIDTH), owners, strict=True):
            length = parse_label(text)
            if length is not None:
                reads.append(((length, text, score), band))
        best = _believed(reads, final=height == 22)
        if best is not None:
            return best
    return None


def _band_variants(rgb: np.ndarray, band: Box, polarity: str) -> list[np.ndarray]:
    """A band as printed and reduced to the bar's colour, each upscaled for the recogniser."""
    crop = np.ascontiguousarray(rgb[band[1]:band[3], band[0]:band[2], :3])
    g = grey(crop)
    ink = _despeckle(g >= 200 if polarity == "white" else g <= 60)
    binary = rgb_array(np.where(ink, 0, 255).astype(np.uint8))
    scale = max(1.0, 40 / crop.shape[0])
    return [cv2.resize(c, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC) for c in (crop, binary)]


def _despeckle(ink: np.ndarray) -> np.ndarray:
    """Ink without the specks a lattice or texture leaves around a label: components much shorter
    than the glyphs, unless they sit on the text's baseline (a decimal point)."""
    n, labels, stats, _ = cv2.connectedComponentsWithStats(ink.astype(np.uint8), connectivity=8)
    if n <= 2:
        return ink
    heights = stats[1:, cv2.CC_STAT_HEIGHT]
    bottoms = stats[1:, cv2.CC_STAT_TOP] + heights
    baseline = float(np.median(bottoms[heights >= 0.6 * heights.max()]))
    keep = (heights >= 0.45 * heights.max()) | (np.abs(bottoms - baseline) <= 1.5)
    return np.concatenate([[False], keep])[labels]


def set_length(bar: ScaleBar, length: Length) -> None:
    bar.value, bar.unit = length.value, length.unit
    nm = length.nm
    # reciprocal-space bars (diffraction) keep their unit per pixel; nm_per_px is for real space
    bar.nm_per_px = round(nm / bar.length_px, 6) if nm is not None and bar.length_px > 0 else None

"""``digitize(image)``: a plot image in, calibrated data series out (pure; the CLI and the stage call it).

Steps: OCR the whole plot once (tick labels, axis titles, legend text), find
the frame, calibrate both axes, mask text and ruled lines inside the frame,
separate the inks, and cut each ink into curves (``method``: ``track`` or the
``cluster`` baseline). A crop with no frame lines (a plot area cut at the
axes) is read in pixel space: both axes uncalibrated.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ingest import ocr
from ingest.images import rgb_array
from ingest.ocr import TextBox
from ingest.spectra import curves
from ingest.spectra.axes import Axis, Frame, calibrate, find_frame, uncalibrated

METHODS = ("track", "cluster")


@dataclass
class DataSeries:
    x: list[float]
    y: list[float]
    color: str
    style: str
    confidence: float
    x_px: list[float] = field(repr=False, default_factory=list)
    y_px: list[float] = field(repr=False, default_factory=list)

    def to_json(self, pixels: bool = False) -> dict[str, object]:
        out: dict[str, object] = {"x": self.x, "y": self.y, "color": self.color, "style": self.style,
                                  "confidence": self.confidence}
        if pixels:
            out |= {"x_px": self.x_px, "y_px": self.y_px}
        return out


@dataclass
class Digitized:
    width: int
    height: int
    frame: Frame
    x_axis: Axis
    y_axis: Axis
    series: list[DataSeries]
    method: str

    def to_json(self, pixels: bool = False) -> dict[str, object]:
        return {"width": self.width, "height": self.height, "method": self.method,
                "frame": [self.frame.left, self.frame.top, self.frame.right, self.frame.bottom],
                "axes": {"x": self.x_axis.to_json(), "y": self.y_axis.to_json()},
                "series": [s.to_json(pixels) for s in self.series]}


def _round(v: np.ndarray) -> list[float]:
    return [float(f"{x:.6g}") for x in v]


def _curve_glyph(box: TextBox, interior: tuple[int, int, int, int]) -> bool:
    """Is an OCR box inside the frame's ``interior`` a piece of curve the text detector took for writing
    ("μ" on a sharp peak, "n:;" on a dotted one, "=====" on stacked baselines)? Legend entries and
    annotations are words, read with confidence; these have no letters or digits, or a couple read
    doubtfully."""
    x0, y0, x1, y1 = interior
    inside = box.box[0] >= x0 and box.box[1] >= y0 and box.box[2] <= x1 and box.box[3] <= y1
    alnum = sum(ch.isalnum() for ch in box.text)
    return inside and (alnum == 0 or (alnum <= 2 and box.score < 0.8))


def digitize(image: np.ndarray, method: str = "track", texts: list[TextBox] | None = None) -> Digitized:
    """Data series of a plot image (h×w×3 or h×w); ``texts`` skips the OCR when already known."""
    if method not in METHODS:
        raise ValueError(f"unknown digitizing method {method!r}; use one of {', '.join(METHODS)}")
    rgb = rgb_array(image)
    h, w = rgb.shape[:2]
    texts = ocr.detect(rgb) if texts is None else texts
    grey = rgb.min(axis=2)
    frame = find_frame(grey)
    if any(frame.lines):
        x_axis, y_axis = calibrate(rgb, grey, frame, texts)
    else:
        x_axis, y_axis = uncalibrated(0.0, float(w)), uncalibrated(float(h), 0.0)
    x0, y0, x1, y1 = frame.interior
    series: list[DataSeries] = []
    if x1 - x0 >= 10 and y1 - y0 >= 10:
        inside = rgb[y0:y1, x0:x1]
        # Text inside the frame is a line or two of legend or annotation; a "text line" taller than
        # that is the detector mistaking curves for writing.
        tall = max(12.0, 0.12 * h)
        boxes = [(b.box[0] - x0, b.box[1] - y0, b.box[2] - x0, b.box[3] - y0) for b in texts
                 if b.box[3] - b.box[1] <= tall and not _curve_glyph(b, (x0, y0, x1, y1))]
        mask = curves.curve_pixels(inside, boxes)
        colours = curves.inks(inside, mask, min_pixels=max(20, int(0.15 * (x1 - x0))))
        labels, colours = curves.merge_halos(curves.assign(inside, mask, colours), colours)
        instances = curves.track if method == "track" else curves.cluster
        found = instances(labels, colours, curves.ink_strength(inside), x0, y0)
        for s in found:
            series.append(DataSeries(_round(x_axis.value(s.x)), _round(y_axis.value(s.y)), s.color, s.style,
                                     s.confidence, _round(s.x), _round(s.y)))
    series.sort(key=lambda s: -float(np.mean(s.y_px)))  # bottom curve first, as stacked spectra are read
    return Digitized(w, h, frame, x_axis, y_axis, series, method)

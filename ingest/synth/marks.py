"""What authors draw on top of panels: subfigure labels and scale bars.

Each mark is drawn through its own mask and its box is the bounding box of the
pixels actually inked (anti-aliased edges included), never a font metric, so
the truth holds against the pixels. Fonts are the DejaVu and STIX faces that
ship inside matplotlib: the same bytes on every machine, so the same seed
gives the same image everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import matplotlib
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ingest.synth.truth import Box

FONT_FILES = {
    "sans-bold": "DejaVuSans-Bold.ttf",
    "sans": "DejaVuSans.ttf",
    "serif-bold": "DejaVuSerif-Bold.ttf",
    "serif": "DejaVuSerif.ttf",
    "times-bold": "STIXGeneralBol.ttf",
    "times": "STIXGeneral.ttf",
}


@cache
def font(name: str, size: int) -> ImageFont.FreeTypeFont:
    path = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / FONT_FILES[name]
    return ImageFont.truetype(str(path), size)


@dataclass(frozen=True)
class LabelStyle:
    """How a journal prints subfigure labels."""

    template: str
    """'{}' → 'a', '({})' → '(a)', '{})' → 'a)'"""
    upper: bool
    font: str
    size: int
    placement: str
    """inside (on the panel corner) or outside (in the margin above-left of the panel)"""

    def text(self, letter: str) -> str:
        return self.template.format(letter.upper() if self.upper else letter)


LABEL_TEMPLATES = ("{}", "({})", "{})", "{}", "({})")


def luminance(region: np.ndarray) -> float:
    return float(region.mean()) if region.size else 255.0


def draw_text(canvas: np.ndarray, xy: tuple[int, int], text: str, fnt: ImageFont.FreeTypeFont,
              color: tuple[int, int, int] | None = None) -> Box | None:
    """Draw ``text`` with its top-left ink near ``xy``; return the box of its inked pixels.

    ``color=None`` picks white or black against the pixels underneath.
    """
    h, w = canvas.shape[:2]
    left, top, right, bottom = fnt.getbbox(text)
    x, y = xy[0] - left, xy[1] - top  # so the ink starts at xy
    x0, y0 = max(0, xy[0] - 2), max(0, xy[1] - 2)
    x1, y1 = min(w, xy[0] + (right - left) + 3), min(h, xy[1] + (bottom - top) + 3)
    if x1 <= x0 or y1 <= y0:
        return None
    mask_img = Image.new("L", (x1 - x0, y1 - y0), 0)
    ImageDraw.Draw(mask_img).text((x - x0, y - y0), text, font=fnt, fill=255)
    mask = np.asarray(mask_img, dtype=np.float32) / 255.0
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return None
    region = canvas[y0:y1, x0:x1]
    if color is None:
        color = (255, 255, 255) if luminance(region) < 120 else (0, 0, 0)
    blended = region * (1 - mask[..., None]) + np.array(color, np.float32) * mask[..., None]
    canvas[y0:y1, x0:x1] = np.round(blended).astype(np.uint8)
    return (x0 + int(xs.min()), y0 + int(ys.min()), x0 + int(xs.max()) + 1, y0 + int(ys.max()) + 1)


def text_size(text: str, fnt: ImageFont.FreeTypeFont) -> tuple[int, int]:
    left, top, right, bottom = fnt.getbbox(text)
    return int(right - left), int(bottom - top)


# -- scale bars ------------------------------------------------------------------

NICE_VALUES = (1, 2, 5, 10, 20, 50, 100, 200, 500)
UNIT_NM = {"Å": 0.1, "nm": 1.0, "µm": 1000.0}


def nice_scale(nm_per_px: float, panel_width: int, rng: np.random.Generator) -> tuple[float, str, int]:
    """A round value and unit whose bar is 12–35 % of the panel width: (value, unit, length px)."""
    options = []
    for unit, nm in UNIT_NM.items():
        for v in (*NICE_VALUES, 0.5):
            length = v * nm / nm_per_px
            if 0.12 * panel_width <= length <= 0.35 * panel_width and length >= 12:
                # Prefer the unit a microscopist would use: 1-500 of it, Å only below 1 nm.
                natural = (unit != "Å" or v * nm < 1.0) and (v >= 1 or unit == "µm")
                options.append((natural, v, unit, length))
    if not options:
        raise ValueError(f"no round scale bar fits {panel_width} px at {nm_per_px} nm/px")
    preferred = [o for o in options if o[0]] or options
    _, v, unit, length = preferred[int(rng.integers(len(preferred)))]
    return float(v), unit, int(round(length))


def format_scale(value: float, unit: str, rng: np.random.Generator) -> str:
    """'200 nm', '0.5 µm', sometimes '0.5 um' or '5 A' as authors type them."""
    number = f"{value:g}"
    shown = unit
    if unit == "µm" and rng.random() < 0.2:
        shown = "um"
    sep = " " if rng.random() < 0.85 else ""
    return f"{number}{sep}{shown}"


def draw_scale_bar(canvas: np.ndarray, panel: Box, length: int, thickness: int, corner: str, text: str | None,
                   fnt: ImageFont.FreeTypeFont) -> tuple[Box, Box | None]:
    """Draw a bar (and its label above it) in a bottom corner of ``panel``. Returns (bar box, label box)."""
    px0, py0, px1, py1 = panel
    margin = max(4, (px1 - px0) // 25)
    text_h = text_size(text, fnt)[1] + 3 if text else 0
    by1 = py1 - margin
    by0 = by1 - thickness
    bx0 = px0 + margin if corner == "left" else px1 - margin - length
    bx1 = bx0 + length
    under = canvas[max(py0, by0 - text_h):by1, bx0:bx1]
    color = (255, 255, 255) if luminance(under) < 120 else (0, 0, 0)
    canvas[by0:by1, bx0:bx1] = color
    label_box = None
    if text:
        tw, th = text_size(text, fnt)
        # Centred over the bar, but kept inside the panel.
        tx = min(max(px0 + 1, bx0 + (length - tw) // 2), px1 - tw - 2)
        label_box = draw_text(canvas, (tx, by0 - 3 - th), text, fnt, color)
    return (bx0, by0, bx1, by1), label_box

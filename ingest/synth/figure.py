"""Compound figures: a layout plan, then rendering with exact truth.

``plan_figure(rng)`` makes every layout decision (canvas, slots, classes,
label style, which panels get insets and scale bars, a content seed per
panel). ``render_figure(plan)`` draws it and returns the image with its
``FigureTruth``. Rendering is a pure function of the plan, and the marks can
be switched off (``labels=False``, ``scale_bars=False``, ``hide_series``) to
produce the same figure without them: the tests diff the two to check that
every truth box covers exactly the pixels it claims.

Layouts: regular grids, irregular rows, a large panel spanning two rows beside
a grid, and single unlabelled panels; gutters from 0 (touching panels) to
20 px. Some figures are rendered larger and downscaled (area interpolation),
some saved as JPEG at quality 55–92; truth is in final-image pixels.
"""

from __future__ import annotations

import io
import string
from dataclasses import dataclass, field

import cv2
import numpy as np
from PIL import Image

from ingest.synth import diffraction, drawings, micrographs, plots
from ingest.synth.captions import MATERIALS, PanelText, compose_caption
from ingest.synth.marks import (
    LABEL_TEMPLATES,
    UNIT_NM,
    LabelStyle,
    draw_scale_bar,
    draw_text,
    font,
    format_scale,
    nice_scale,
    text_size,
)
from ingest.synth.truth import (
    Box,
    DependentTruth,
    FigureTruth,
    InsetTruth,
    MasterTruth,
    ScaleBarTruth,
    offset_box,
)

CONTENT_KINDS = ("stem", "sem_tem", "diffraction", "graph", "illustration", "photo", "parent")
CONTENT_WEIGHTS = (0.16, 0.22, 0.1, 0.3, 0.08, 0.05, 0.09)
CLASS_OF = {"stem": "microscopy", "sem_tem": "microscopy", "diffraction": "diffraction", "graph": "graph",
            "illustration": "illustration", "photo": "photo", "parent": "parent"}
DOWNSCALES = (0.5, 0.75, 0.8)


@dataclass
class PanelPlan:
    slot: Box
    """the panel's cell in render pixels (label strip included for outside labels)"""
    kind: str
    seed: int
    label: str | None
    n_dependents: int = 0
    inset: str | None = None
    """fft or magnified"""
    scale_bar: str | None = None
    """image (value printed) or caption (value only in the caption)"""
    bar_corner: str = "left"


@dataclass
class FigurePlan:
    name: str
    width: int
    height: int
    """render size, px (a multiple of 20 so every downscale gives whole pixels)"""
    downscale: float
    jpeg_quality: int | None
    layout: str
    label_style: LabelStyle
    material: str
    morphology: str
    caption_seed: int
    panels: list[PanelPlan] = field(default_factory=list)

    @property
    def final_size(self) -> tuple[int, int]:
        return round(self.width * self.downscale), round(self.height * self.downscale)


def _cells_grid(rng: np.random.Generator, width: int, margin: int, gutter: int) -> tuple[list[Box], int]:
    rows, cols = int(rng.integers(1, 4)), int(rng.integers(2, 5))
    cw = (width - 2 * margin - (cols - 1) * gutter) // cols
    cells, y = [], margin
    for _ in range(rows):
        ch = int(cw * rng.uniform(0.65, 1.0))
        cells += [(margin + c * (cw + gutter), y, margin + c * (cw + gutter) + cw, y + ch) for c in range(cols)]
        y += ch + gutter
    return cells, y - gutter + margin


def _cells_rows(rng: np.random.Generator, width: int, margin: int, gutter: int) -> tuple[list[Box], int]:
    cells, y = [], margin
    for _ in range(int(rng.integers(2, 4))):
        n = int(rng.integers(1, 4))
        weights = rng.uniform(0.6, 1.4, n)
        avail = width - 2 * margin - (n - 1) * gutter
        widths = np.floor(avail * weights / weights.sum()).astype(int)
        ch = int(avail / n * rng.uniform(0.55, 0.85))
        ch = min(ch, int(width * 0.45))
        x = margin
        for cw in widths:
            cells.append((x, y, x + int(cw), y + ch))
            x += int(cw) + gutter
        y += ch + gutter
    return cells, y - gutter + margin


def _cells_span(rng: np.random.Generator, width: int, margin: int, gutter: int) -> tuple[list[Box], int]:
    big_w = int((width - 2 * margin - gutter) * rng.uniform(0.4, 0.55))
    right_cols = int(rng.integers(1, 3))
    rw = (width - 2 * margin - gutter - big_w - (right_cols - 1) * gutter) // right_cols
    rh = int(rw * rng.uniform(0.7, 0.95))
    height = 2 * rh + gutter
    cells = [(margin, margin, margin + big_w, margin + height)]
    x0 = margin + big_w + gutter
    for r in range(2):
        for c in range(right_cols):
            x = x0 + c * (rw + gutter)
            y = margin + r * (rh + gutter)
            cells.append((x, y, x + rw, y + rh))
    return cells, height + 2 * margin


def plan_figure(rng: np.random.Generator, name: str, material: str | None = None,
                morphology: str | None = None) -> FigurePlan:
    """Every decision about one compound figure, drawn from ``rng`` (the subject may be given)."""
    final_w = int(rng.integers(500, 1201))
    downscale = float(rng.choice(DOWNSCALES)) if rng.random() < 0.3 else 1.0
    width = int(round(final_w / downscale / 20) * 20)
    layout = str(rng.choice(["grid", "rows", "span", "single"], p=[0.4, 0.25, 0.2, 0.15]))
    gutter = int(rng.choice([0, 2, 6, 12, 20]))
    margin = int(rng.choice([0, 4, 10]))
    style = LabelStyle(
        template=LABEL_TEMPLATES[int(rng.integers(len(LABEL_TEMPLATES)))],
        upper=bool(rng.random() < 0.2),
        font=str(rng.choice(["sans-bold", "sans-bold", "serif-bold", "times-bold", "sans"])),
        size=int(rng.integers(13, 27)),
        placement="inside" if gutter < 6 or rng.random() < 0.5 else "outside",
    )
    if layout == "single":
        h = int(width * rng.uniform(0.55, 0.9))
        cells, height = [(margin, margin, width - margin, margin + h)], h + 2 * margin
    else:
        cells, height = {"grid": _cells_grid, "rows": _cells_rows, "span": _cells_span}[layout](
            rng, width, margin, gutter)
    height = int(np.ceil(height / 20) * 20)
    panels = []
    for i, cell in enumerate(cells):
        cw, ch = cell[2] - cell[0], cell[3] - cell[1]
        kind = str(rng.choice(CONTENT_KINDS, p=CONTENT_WEIGHTS))
        if kind == "graph" and (cw < 200 or ch < 150):
            kind = "sem_tem"  # plots need room for their axes
        if kind == "parent" and (max(cw, ch) < 240 or layout == "single"):
            kind = "stem"
        label = None if layout == "single" else string.ascii_lowercase[i]
        panel = PanelPlan(cell, kind, int(rng.integers(2**31)), label)
        if kind == "parent":
            panel.n_dependents = int(rng.integers(2, 5)) if max(cw, ch) >= 360 else 2
        if kind in ("stem", "sem_tem") and min(cw, ch) >= 150 and rng.random() < 0.3:
            panel.inset = "fft" if kind == "stem" and rng.random() < 0.6 else "magnified"
        if kind in ("stem", "sem_tem", "parent") and min(cw, ch) >= 90:
            panel.scale_bar = "image" if rng.random() < 0.7 else "caption"
            panel.bar_corner = "left" if panel.inset or rng.random() < 0.5 else "right"
        panels.append(panel)
    return FigurePlan(
        name=name, width=width, height=height, downscale=downscale,
        jpeg_quality=int(rng.integers(55, 93)) if rng.random() < 0.4 else None,
        layout=layout, label_style=style,
        material=material or MATERIALS[int(rng.integers(len(MATERIALS)))],
        morphology=morphology or str(rng.choice(micrographs.MORPHOLOGIES)), caption_seed=int(rng.integers(2**31)),
        panels=panels,
    )


# -- rendering -------------------------------------------------------------------


@dataclass
class _Drawn:
    """A panel after rendering: truth in render pixels, text for the caption."""

    truth: MasterTruth
    text: PanelText


def _grey_to_rgb(img: np.ndarray) -> np.ndarray:
    return np.repeat(img[..., None], 3, axis=2)


_COLOURMAPS = (cv2.COLORMAP_JET, cv2.COLORMAP_INFERNO, cv2.COLORMAP_HOT, cv2.COLORMAP_VIRIDIS)
_MAP_HUES = ((70, 140, 255), (255, 60, 60), (60, 220, 90), (255, 200, 40), (200, 80, 255))


def _as_printed(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A grey micrograph as journals print it: mostly grey, sometimes false-coloured (STEM
    intensity maps) or in one hue (EDS elemental maps)."""
    r = rng.random()
    if r < 0.12:
        bgr = cv2.applyColorMap(img, _COLOURMAPS[int(rng.integers(len(_COLOURMAPS)))])
        return np.ascontiguousarray(bgr[..., ::-1])
    if r < 0.2:
        hue = np.array(_MAP_HUES[int(rng.integers(len(_MAP_HUES)))], np.float32)
        return (img[..., None].astype(np.float32) / 255 * hue).astype(np.uint8)
    return _grey_to_rgb(img)


def _micrograph(kind: str, shape: tuple[int, int], rng: np.random.Generator, material: str, morphology: str,
                technique: str | None = None) -> micrographs.Micrograph:
    if kind == "stem":
        return micrographs.haadf_stem(shape, rng)
    return micrographs.particle_micrograph(shape, rng, material, morphology, technique)


def _describe(m: micrographs.Micrograph) -> str:
    return f"{m.technique} image of {m.subject}"


def _inset(canvas: np.ndarray, box: Box, m: micrographs.Micrograph, kind: str, rng: np.random.Generator) -> Box:
    """Draw an FFT or magnified-view inset in the top-right corner of ``box``; return its box."""
    x0, y0, x1, y1 = box
    size = int(min(x1 - x0, y1 - y0) * rng.uniform(0.28, 0.36))
    border = 2
    ix1, iy0 = x1 - 3, y0 + 3
    ix0, iy1 = ix1 - size, iy0 + size
    if kind == "fft":
        content = diffraction.fft_pattern(m.image)
    else:
        h, w = m.image.shape
        c = int(min(h, w) * 0.25)
        cy, cx = int(rng.uniform(c, h - c)), int(rng.uniform(c, w - c))
        content = m.image[cy - c // 2: cy + c // 2, cx - c // 2: cx + c // 2]
    inner = cv2.resize(content, (size - 2 * border, size - 2 * border), interpolation=cv2.INTER_AREA)
    canvas[iy0:iy1, ix0:ix1] = 255
    canvas[iy0 + border:iy1 - border, ix0 + border:ix1 - border] = _grey_to_rgb(inner)
    return (ix0, iy0, ix1, iy1)


def _scale_bar(canvas: np.ndarray, box: Box, nm_per_px: float, panel: PanelPlan, rng: np.random.Generator,
               fsize: int, draw: bool, where: int | str, downscale: float) -> tuple[ScaleBarTruth, str | None]:
    """Draw a scale bar; returns its truth and the text the caption must state (None if printed)."""
    value, unit, length = nice_scale(nm_per_px, box[2] - box[0], rng)
    text = format_scale(value, unit, rng)
    thickness = max(2, int(rng.integers(2, 7)) * (box[2] - box[0]) // 300 + 2)
    thickness = max(thickness, int(np.ceil(2 / downscale)) + 1)  # ≥ 2 whole rows survive a downscale
    while fsize > 7 and text_size(text, font("sans", fsize))[0] > 0.8 * (box[2] - box[0]):
        fsize -= 1  # narrow panels get smaller scale labels
    printed = panel.scale_bar == "image" and text_size(text, font("sans", fsize))[0] <= 0.8 * (box[2] - box[0])
    target = canvas if draw else canvas.copy()
    bar_box, label_box = draw_scale_bar(target, box, length, thickness, panel.bar_corner,
                                        text if printed else None, font("sans", fsize))
    truth = ScaleBarTruth(bar_box, float(length), text if printed else None, label_box, value, unit,
                          value * UNIT_NM[unit] / length, "image" if printed else "caption", where)
    return truth, (None if printed else f"{value:g}\u2009{unit}")  # as a caption states it: "5 µm"


def _render_panel(canvas: np.ndarray, p: PanelPlan, plan: FigurePlan, content_box: Box, draw_bars: bool,
                  hide: frozenset[int]) -> _Drawn:
    rng = np.random.default_rng(p.seed)
    x0, y0, x1, y1 = content_box
    shape = (y1 - y0, x1 - x0)
    fsize = max(9, min(18, (x1 - x0) // 16))
    cls = CLASS_OF[p.kind]
    bars: list[ScaleBarTruth] = []
    insets: list[InsetTruth] = []
    dependents: list[DependentTruth] = []
    structure = None
    scale_text = None
    inset_text = None
    graph_truth = None
    bbox: Box = content_box
    if p.kind in ("stem", "sem_tem"):
        m = _micrograph(p.kind, shape, rng, plan.material, plan.morphology)
        canvas[y0:y1, x0:x1] = _as_printed(m.image, rng)
        description, structure = _describe(m), m.structure
        if p.inset:
            ibox = _inset(canvas, content_box, m, p.inset, rng)
            insets.append(InsetTruth(ibox, "diffraction" if p.inset == "fft" else "microscopy", "master", p.inset))
            inset_text = "FFT of the image" if p.inset == "fft" else "magnified view of a region of the image"
        if p.scale_bar:
            bar, scale_text = _scale_bar(canvas, content_box, m.nm_per_px, p, rng, fsize, draw_bars, "master",
                                        plan.downscale)
            bars.append(bar)
    elif p.kind == "parent":
        n = p.n_dependents
        gap = int(rng.integers(2, 6))
        horizontal = (x1 - x0) >= (y1 - y0)
        span = (x1 - x0) if horizontal else (y1 - y0)
        step = (span - (n - 1) * gap) // n
        technique = "SEM" if rng.random() < 0.5 else "TEM"
        sub_kind = "stem" if rng.random() < 0.4 else "sem_tem"
        descriptions = []
        for k in range(n):
            if horizontal:
                dbox = (x0 + k * (step + gap), y0, x0 + k * (step + gap) + step, y1)
            else:
                dbox = (x0, y0 + k * (step + gap), x1, y0 + k * (step + gap) + step)
            m = _micrograph(sub_kind, (dbox[3] - dbox[1], dbox[2] - dbox[0]), rng, plan.material, plan.morphology,
                            technique)
            canvas[dbox[1]:dbox[3], dbox[0]:dbox[2]] = _as_printed(m.image, rng)
            dependents.append(DependentTruth(dbox, "microscopy"))
            descriptions.append(_describe(m))
            bar_here = p.scale_bar and (k == n - 1 or rng.random() < 0.3) and min(step, y1 - y0) >= 80
            if bar_here:
                bar, stated = _scale_bar(canvas, dbox, m.nm_per_px, p, rng, max(9, fsize - 2), draw_bars, k,
                                           plan.downscale)
                bars.append(bar)
                scale_text = stated or scale_text
        bbox = (dependents[0].bbox[0], dependents[0].bbox[1], dependents[-1].bbox[2], dependents[-1].bbox[3])
        description = descriptions[0].replace(" image of", " images of", 1) if n > 1 else descriptions[0]
        description = f"{description} at {n} positions" if sub_kind == "sem_tem" else \
            f"{descriptions[0].split(' image')[0]} images of {n} regions"
    elif p.kind == "graph":
        gplan = plots.plan_plot(rng, plan.material)
        g = plots.render_plot(gplan, shape, hide)
        canvas[y0:y1, x0:x1] = g.image
        bbox = offset_box(g.ink_box, x0, y0)
        graph_truth = g.truth
        gt = graph_truth
        graph_truth = type(gt)(
            type(gt.x_axis)(gt.x_axis.min, gt.x_axis.max, gt.x_axis.scale, gt.x_axis.px_min + x0,
                            gt.x_axis.px_max + x0, gt.x_axis.label, gt.x_axis.ticks_labelled),
            type(gt.y_axis)(gt.y_axis.min, gt.y_axis.max, gt.y_axis.scale, gt.y_axis.px_min + y0,
                            gt.y_axis.px_max + y0, gt.y_axis.label, gt.y_axis.ticks_labelled),
            gt.series, offset_box(gt.plot_box, x0, y0))
        description = g.description
    elif p.kind == "diffraction":
        sub = str(rng.choice(["spots", "rings", "fft"]))
        if sub == "spots":
            img, description = diffraction.spot_pattern(shape, rng), f"SAED pattern of a single {plan.material} grain"
        elif sub == "rings":
            img, description = diffraction.ring_pattern(shape, rng), f"SAED pattern of polycrystalline {plan.material}"
        else:
            m = micrographs.haadf_stem(shape, rng)
            img, description = diffraction.fft_pattern(m.image), f"FFT of a HAADF-STEM image of {m.subject}"
        canvas[y0:y1, x0:x1] = _grey_to_rgb(img)
    elif p.kind == "illustration":
        img = drawings.illustration(shape, rng)
        canvas[y0:y1, x0:x1] = img
        ink = np.argwhere(img.min(axis=2) < 230)
        bbox = (x0 + int(ink[:, 1].min()), y0 + int(ink[:, 0].min()), x0 + int(ink[:, 1].max()) + 1,
                y0 + int(ink[:, 0].max()) + 1)
        description = f"schematic of the synthesis of {plan.material} {plan.morphology}"
    else:
        canvas[y0:y1, x0:x1] = drawings.photo(shape, rng)
        description = f"photograph of the {plan.material} dispersion"
    truth = MasterTruth(p.label, None, bbox, cls, description, dependents, insets, bars, graph_truth, structure)
    return _Drawn(truth, PanelText(p.label, description, scale_text, inset_text))


def _label_strip(style: LabelStyle) -> int:
    return text_size("(Ag)", font(style.font, style.size))[1] + 6


@dataclass
class RenderedFigure:
    image: np.ndarray
    """final RGB image (after any downscale, before encoding)"""
    truth: FigureTruth
    caption_title: str
    caption_body_jats: str


def render_figure(plan: FigurePlan, labels: bool = True, scale_bars: bool = True,
                  hide_series: dict[int, frozenset[int]] | None = None) -> RenderedFigure:
    """Draw ``plan`` with its truth; marks can be left out (see the module docstring)."""
    hide_series = hide_series or {}
    canvas = np.full((plan.height, plan.width, 3), 255, np.uint8)
    style = plan.label_style
    fnt = font(style.font, style.size)
    strip = _label_strip(style)
    drawn: list[_Drawn] = []
    label_jobs = []
    for i, p in enumerate(plan.panels):
        x0, y0, x1, y1 = p.slot
        outside = p.label is not None and (style.placement == "outside" or p.kind == "graph")
        content = (x0, y0 + strip, x1, y1) if outside else p.slot
        d = _render_panel(canvas, p, plan, content, scale_bars, hide_series.get(i, frozenset()))
        drawn.append(d)
        if p.label:
            pad = 2 if outside else max(3, style.size // 4)
            anchor = (x0 + 1, y0 + 2) if outside else (x0 + pad, y0 + pad)
            label_jobs.append((d, style.text(p.label), anchor))
    # Labels last, so they sit on top of the content they annotate.
    for d, text, anchor in label_jobs:
        target = canvas if labels else canvas.copy()
        d.truth.label_bbox = draw_text(target, anchor, text, fnt)
    rng = np.random.default_rng(plan.caption_seed)
    caption = compose_caption([d.text for d in drawn], plan.material, plan.morphology, rng)
    s = plan.downscale
    fw, fh = plan.final_size
    image = cv2.resize(canvas, (fw, fh), interpolation=cv2.INTER_AREA) if s != 1.0 else canvas
    masters = [d.truth.scaled(s) if s != 1.0 else d.truth for d in drawn]
    truth = FigureTruth(
        figure=plan.name, width=fw, height=fh, caption=caption.text, caption_style=caption.style,
        subcaptions=caption.subcaptions, shared_caption=caption.shared, inset_captions=caption.inset_captions,
        scale_statements=caption.scale_statements, layout=plan.layout, jpeg_quality=plan.jpeg_quality,
        downscale=s, master_images=masters,
    )
    return RenderedFigure(image, truth, caption.title, caption.body_jats)


def encode(image: np.ndarray, jpeg_quality: int | None) -> tuple[bytes, str]:
    """PNG, or JPEG at the given quality (with its block artefacts). Deterministic bytes."""
    buf = io.BytesIO()
    if jpeg_quality:
        Image.fromarray(image).save(buf, "JPEG", quality=jpeg_quality, optimize=False)
        return buf.getvalue(), "jpg"
    Image.fromarray(image).save(buf, "PNG", optimize=False)
    return buf.getvalue(), "png"

"""The synthetic journal as PDF: born-digital articles with exact figure boxes.

``write_pdf(article, path, seed)`` lays a synthetic article out the way
journals print it — title block and abstract, body text in one or two
columns, running headers, figures as embedded raster images or as vector
plots drawn with paths and text, captions below or beside them, figures
spanning both columns, captions continued in the next column — and returns
where every figure landed: page, box in PDF points (origin top-left, the
``parse-article`` contract) and caption. That truth scores the PDF reader
(``ingest.sources.pdf``) in the ``evaluate_pdfs`` stage.

Layout is done here, not by Platypus frames, because the benchmark needs the
exact box of everything drawn. The module lives beside the reader rather
than in ``ingest/synth/``: that folder is part of the panel classifier's
training fingerprint, and laying articles out as PDFs teaches it nothing. Fonts are matplotlib's DejaVu TTFs (embedded,
with a Unicode map, so µ, Å and ⁻¹ survive text extraction).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import matplotlib
import numpy as np
from PIL import Image
from reportlab.lib.pagesizes import A4, LETTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph

from ingest.synth.journal import JOURNAL, LICENSE_URL, SynthArticle, article_rng

LABEL_STYLES = ("Figure {n}.", "Fig. {n} |", "FIG. {n}.", "Figure {n}:")
MARGIN = 54.0
GUTTER = 18.0
FIGURE_GAP = 8.0  # between a figure and its caption
BLOCK_GAP = 12.0  # around a figure block in the text flow


def _register_fonts() -> None:
    ttf = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    for name, file in (("Serif", "DejaVuSerif"), ("Serif-Bold", "DejaVuSerif-Bold"),
                       ("Sans", "DejaVuSans"), ("Sans-Bold", "DejaVuSans-Bold")):
        if name not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(TTFont(name, str(ttf / f"{file}.ttf")))
    for fam in ("Serif", "Sans"):  # so <b> in a paragraph picks the bold face
        pdfmetrics.registerFontFamily(fam, normal=fam, bold=f"{fam}-Bold", italic=fam, boldItalic=f"{fam}-Bold")


@dataclass(frozen=True)
class PdfStyle:
    columns: int
    label: str
    family: str  # "Serif" or "Sans"
    page: tuple[float, float]
    info: bool
    """write title, authors, journal and DOI into the document info as well as on the page"""


@dataclass
class PdfFigureTruth:
    number: int
    page: int
    """1-based"""
    bbox: list[float]
    """[x0, top, x1, bottom] in PDF points, origin top-left"""
    caption: str
    """the caption after its label ('Figure 3.'), as printed"""
    kind: str
    """raster or vector"""
    placement: str
    """below, beside, wide (spans both columns) or split (caption continues in the next column)"""


@dataclass
class PdfTruth:
    key: str
    doi: str
    title: str
    journal: str
    year: int
    license_url: str
    style: PdfStyle
    pages: int = 0
    figures: list[PdfFigureTruth] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def pdf_style(rng: np.random.Generator) -> PdfStyle:
    return PdfStyle(columns=int(rng.choice([1, 2], p=[0.4, 0.6])), label=str(rng.choice(LABEL_STYLES)),
                    family=str(rng.choice(["Serif", "Sans"])), page=LETTER if rng.random() < 0.5 else A4,
                    info=bool(rng.random() < 0.7))


# -- text ---------------------------------------------------------------------

_SENTENCES = (
    "The {m} samples were prepared by a wet-chemical route and washed three times before characterization.",
    "Electron microscopy shows that the {morph} keep their shape after annealing at {t} °C.",
    "We attribute the shift of the main peak to strain at the interface between the core and the shell.",
    "The particle size distribution narrows as the reaction time increases from 2 to {h} h.",
    "Lattice fringes with a spacing of 0.{d} nm are resolved in the high-resolution images.",
    "Spectra were recorded at room temperature and normalised to the edge jump.",
    "No secondary phase is detected within the sensitivity of the measurement.",
    "The same trend holds for all {n} batches that we synthesised, which rules out a preparation artefact.",
    "These observations agree with density functional calculations reported for {m}.",
    "Figure {f} shows the evolution of the {morph} during the growth.",
)


def _paragraph(rng: np.random.Generator, material: str, morphology: str, figure: int | None) -> str:
    n = int(rng.integers(3, 8))
    out = []
    for _ in range(n):
        s = _SENTENCES[int(rng.integers(len(_SENTENCES) - (figure is None)))]
        out.append(s.format(m=material, morph=morphology, t=int(rng.integers(2, 9)) * 100, h=int(rng.integers(3, 25)),
                            d=int(rng.integers(18, 35)), n=int(rng.integers(3, 9)), f=figure or 1))
    if figure is not None and rng.random() < 0.5:
        # An in-text reference at the start of a line is a trap for caption detection.
        out.insert(0, f"Fig. {figure} summarises the results.")
    return " ".join(out)


# -- figures --------------------------------------------------------------------


Draw = Callable[[Canvas, float, float], tuple[float, float, float, float]]
"""draws a figure with its top-left corner at (x, top) in top-left page coordinates; returns its drawn box"""


@dataclass
class _Figure:
    number: int
    caption: str
    kind: str
    width: float
    height: float
    draw: Draw


def _raster(image: bytes, width: float, page_h: float) -> tuple[float, Draw]:
    with Image.open(io.BytesIO(image)) as im:
        w_px, h_px = im.size
    height = width * h_px / w_px

    def draw(c: Canvas, x: float, top: float) -> tuple[float, float, float, float]:
        c.drawImage(ImageReader(io.BytesIO(image)), x, page_h - top - height, width, height)
        return x, top, x + width, top + height

    return height, draw


_VECTOR_CAPTIONS = (
    "Raman spectra of the {m} {morph} annealed at {t1}, {t2} and {t3} °C. The spectra are offset for clarity.",
    "XRD patterns of {m} {morph} collected with Cu Kα radiation; the reference pattern is shown for comparison.",
    "UV-vis absorption spectra of {m} dispersions with increasing concentration (0.1–1.0 mM).",
)


def _vector(rng: np.random.Generator, width: float, page_h: float, family: str
            ) -> tuple[float, Draw]:
    """A line plot drawn as paths and text: axes, ticks, tick labels, axis titles, curves, legend."""
    height = width * float(rng.uniform(0.55, 0.8))
    n_curves = int(rng.integers(1, 4))
    xs = np.linspace(0, 1, 120)
    curves = []
    for i in range(n_curves):
        centre = rng.uniform(0.2, 0.8)
        y = 0.15 + 0.6 * np.exp(-((xs - centre) / rng.uniform(0.03, 0.12)) ** 2) + 0.05 * np.sin(8 * xs + i)
        curves.append(np.clip(y + 0.1 * i, 0.02, 0.98))
    colors = [(0.12, 0.47, 0.71), (0.84, 0.15, 0.16), (0.17, 0.63, 0.17)]
    font, size = family, 7.0
    ascent = pdfmetrics.getAscent(font, size)
    descent = -pdfmetrics.getDescent(font, size)

    def draw(c: Canvas, x: float, top: float) -> tuple[float, float, float, float]:
        def Y(t: float) -> float:  # top-left → reportlab's bottom-left
            return page_h - t

        ax0, ax1 = x + 30, x + width - 4
        ay0, ay1 = top + 4, top + height - 24  # axes top and bottom (top-left coordinates)
        c.setLineWidth(0.8)
        c.setStrokeColorRGB(0, 0, 0)
        c.rect(ax0, Y(ay1), ax1 - ax0, ay1 - ay0, stroke=1, fill=0)
        c.setFont(font, size)
        box = [ax0, ay0, ax1, ay1]
        for i in range(5):  # x ticks and labels
            tx = ax0 + (ax1 - ax0) * i / 4
            c.line(tx, Y(ay1), tx, Y(ay1 - 3))
            label = f"{200 + 200 * i}"
            c.drawCentredString(tx, Y(ay1 + 4 + ascent), label)
            half = pdfmetrics.stringWidth(label, font, size) / 2
            box = [min(box[0], tx - half), box[1], max(box[2], tx + half), max(box[3], ay1 + 4 + ascent + descent)]
        for i in range(4):  # y ticks and labels
            ty = ay1 - (ay1 - ay0) * i / 3
            c.line(ax0, Y(ty), ax0 + 3, Y(ty))
            label = f"{i}"
            c.drawRightString(ax0 - 3, Y(ty + ascent / 2), label)  # centred on the tick
            box = [min(box[0], ax0 - 3 - pdfmetrics.stringWidth(label, font, size)), min(box[1], ty - ascent / 2),
                   box[2], max(box[3], ty + ascent / 2 + descent)]
        title = "Raman shift (cm⁻¹)"
        c.drawCentredString((ax0 + ax1) / 2, Y(ay1 + 14 + ascent), title)
        box[3] = max(box[3], ay1 + 14 + ascent + descent)
        c.saveState()  # the y title, rotated, left of the tick labels
        c.translate(x + 2 + ascent, Y((ay0 + ay1) / 2))
        c.rotate(90)
        c.drawCentredString(0, 0, "Intensity (a.u.)")
        c.restoreState()
        half = pdfmetrics.stringWidth("Intensity (a.u.)", font, size) / 2
        box = [min(box[0], x + 2 - descent), min(box[1], (ay0 + ay1) / 2 - half), box[2],
               max(box[3], (ay0 + ay1) / 2 + half)]
        for i, y in enumerate(curves):
            c.setStrokeColorRGB(*colors[i])
            c.setDash([3, 2] if i == 2 else [])
            p = c.beginPath()
            px = ax0 + xs * (ax1 - ax0)
            py = ay1 - y * (ay1 - ay0)
            p.moveTo(px[0], Y(py[0]))
            for u, v in zip(px[1:], py[1:], strict=True):
                p.lineTo(u, Y(v))
            c.drawPath(p, stroke=1, fill=0)
            # legend entries, top right inside the axes
            ly = ay0 + 8 + 10 * i
            c.line(ax1 - 60, Y(ly), ax1 - 48, Y(ly))
            c.setFillColorRGB(0, 0, 0)
            c.drawString(ax1 - 44, Y(ly + ascent / 2), f"sample {i + 1}")
        c.setDash([])
        c.setStrokeColorRGB(0, 0, 0)
        return box[0], box[1], box[2], box[3]

    return height, draw


# -- layout --------------------------------------------------------------------


class _Layout:
    """Fills columns top to bottom, page after page; figures float to the next column that holds them."""

    def __init__(self, c: Canvas, style: PdfStyle, header: str, body: ParagraphStyle, caption: ParagraphStyle):
        self.c, self.style, self.header = c, style, header
        self.body_style, self.caption_style = body, caption
        self.page_w, self.page_h = style.page
        self.text_w = self.page_w - 2 * MARGIN
        self.col_w = (self.text_w - GUTTER * (style.columns - 1)) / style.columns
        self.top, self.bottom = MARGIN + 14, self.page_h - MARGIN
        self.page, self.col = 1, 0
        self.col_top = self.y = self.top
        self.pending_wide: list[_Figure] = []
        self.truth: list[PdfFigureTruth] = []
        self._furniture()

    @property
    def x(self) -> float:
        return MARGIN + self.col * (self.col_w + GUTTER)

    @property
    def room(self) -> float:
        return self.bottom - self.y

    def _furniture(self) -> None:
        """Running header and page number: text that sits above figures at a column's top."""
        self.c.setFont(f"{self.style.family}", 7.5)
        self.c.drawString(MARGIN, self.page_h - MARGIN + 2, self.header)
        self.c.drawRightString(self.page_w - MARGIN, self.page_h - MARGIN + 2, str(self.page))
        self.c.drawCentredString(self.page_w / 2, MARGIN / 2, f"— {self.page} —")

    def next_column(self) -> None:
        self.col += 1
        if self.col < self.style.columns:
            self.y = self.col_top
            return
        self.c.showPage()
        self.page, self.col = self.page + 1, 0
        self.col_top = self.y = self.top
        self._furniture()
        while self.pending_wide:  # as many waiting wide figures as fit; the rest wait for the next page
            fig = self.pending_wide[0]
            _, cap_h = self.caption_paragraph(fig).wrap(self.text_w, self.page_h)
            if self.y > self.top and fig.height + FIGURE_GAP + cap_h > self.room:
                break
            self.y = self.place_figure_at(self.pending_wide.pop(0), MARGIN, self.y, self.text_w, "wide") + BLOCK_GAP
        self.col_top = self.y

    def make_room(self, height: float) -> None:
        for _ in range(4):  # a column may start below wide figures and still be too short
            if height <= self.room:
                return
            self.next_column()

    def draw_paragraph(self, p: Paragraph, x: float, top: float, width: float) -> float:
        _, h = p.wrap(width, self.page_h)
        p.drawOn(self.c, x, self.page_h - top - h)
        return top + h

    def flow(self, p: Paragraph, gap: float = 6.0) -> Paragraph | None:
        """Set a paragraph into the columns, splitting it across them; returns None when done."""
        rest: Paragraph | None = p
        while rest is not None:
            _, h = rest.wrap(self.col_w, self.page_h)
            if h <= self.room:
                self.y = self.draw_paragraph(rest, self.x, self.y, self.col_w) + gap
                return None
            parts = rest.split(self.col_w, self.room)
            if len(parts) >= 2:
                self.y = self.draw_paragraph(parts[0], self.x, self.y, self.col_w)
                rest = parts[1]
            self.next_column()
        return None

    def caption_paragraph(self, fig: _Figure) -> Paragraph:
        label = self.style.label.format(n=fig.number)
        return Paragraph(f"<b>{escape(label)}</b> {escape(fig.caption)}", self.caption_style)

    def place_figure_at(self, fig: _Figure, x: float, top: float, width: float, placement: str) -> float:
        """Figure centred in ``width`` with its caption below; returns the bottom of the block."""
        fx = x + (width - fig.width) / 2
        box = fig.draw(self.c, fx, top)
        bottom = self.draw_paragraph(self.caption_paragraph(fig), x, top + fig.height + FIGURE_GAP, width)
        self._record(fig, box, placement)
        return bottom

    def _record(self, fig: _Figure, box: tuple[float, ...], placement: str) -> None:
        self.truth.append(PdfFigureTruth(fig.number, self.page, [round(v, 2) for v in box], fig.caption,
                                         fig.kind, placement))

    def figure(self, fig: _Figure, placement: str) -> None:
        if placement == "wide":
            self.pending_wide.append(fig)
            return
        caption = self.caption_paragraph(fig)
        if placement == "beside":  # one column: figure left, caption right, tops aligned
            cap_w = self.col_w - fig.width - 14
            _, cap_h = caption.wrap(cap_w, self.page_h)
            self.make_room(max(fig.height, cap_h))
            box = fig.draw(self.c, self.x, self.y)
            self.draw_paragraph(caption, self.x + fig.width + 14, self.y, cap_w)
            self._record(fig, box, placement)
            self.y += max(fig.height, cap_h) + BLOCK_GAP
            return
        _, cap_h = caption.wrap(self.col_w, self.page_h)
        needed = fig.height + FIGURE_GAP + (2 * self.caption_style.leading if placement == "split" else cap_h)
        self.make_room(needed)
        fx = self.x + (self.col_w - fig.width) / 2
        box = fig.draw(self.c, fx, self.y)
        self._record(fig, box, placement)
        self.y += fig.height + FIGURE_GAP
        if placement == "split":  # the caption starts here and continues at the next column's top
            self.flow(caption, gap=BLOCK_GAP)
        else:
            self.y = self.draw_paragraph(caption, self.x, self.y, self.col_w) + BLOCK_GAP


def write_pdf(article: SynthArticle, out: Path | io.BytesIO, seed: int, index: int) -> PdfTruth:
    """Lay ``article`` out as a PDF (seeded by ``seed``/``index``) and return where its figures are."""
    _register_fonts()
    rng = np.random.default_rng(article_rng(seed, index).integers(2**32) + 1)
    style = pdf_style(rng)
    y, m, d = article.date
    truth = PdfTruth(article.key, article.doi, article.title, JOURNAL, y, LICENSE_URL, style)
    c = Canvas(out if isinstance(out, io.BytesIO) else str(out), pagesize=style.page, invariant=1)
    if style.info:
        c.setTitle(article.title)
        c.setAuthor(", ".join(f"{g} {f}" for g, f in article.authors))
        c.setSubject(f"{JOURNAL}, {y}, doi:{article.doi}")
        c.setKeywords(", ".join(article.keywords))
    fam = style.family
    body = ParagraphStyle("body", fontName=fam, fontSize=9.5, leading=12, alignment=4)
    caption = ParagraphStyle("caption", fontName=fam, fontSize=8, leading=10, alignment=4)
    title = ParagraphStyle("title", fontName=f"{fam}-Bold", fontSize=16, leading=19)
    small = ParagraphStyle("small", fontName=fam, fontSize=8.5, leading=11)
    layout = _Layout(c, style, f"{JOURNAL} · {y}", body, caption)

    # Title block, full width, on page 1.
    x, w = MARGIN, layout.text_w
    top = layout.draw_paragraph(Paragraph(escape(article.title), title), x, layout.top, w) + 6
    top = layout.draw_paragraph(Paragraph(escape(", ".join(f"{g} {f}" for g, f in article.authors)), small),
                                x, top, w) + 3
    top = layout.draw_paragraph(Paragraph(
        f"<i>{escape(JOURNAL)}</i> ({y}) · Published {y}-{m:02d}-{d:02d} · https://doi.org/{article.doi}",
        small), x, top, w) + 3
    top = layout.draw_paragraph(Paragraph(
        f"Open access. This article is distributed under CC0 1.0 ({LICENSE_URL}).", small), x, top, w) + 10
    top = layout.draw_paragraph(Paragraph(f"<b>Abstract.</b> {escape(article.abstract)}", body), x, top, w) + 14
    layout.col_top = layout.y = top

    material = article.keywords[0]
    morphology = article.keywords[1]
    for f in article.figures:
        layout.flow(Paragraph(escape(_paragraph(rng, material, morphology, f.number)), body))
        wide_ok = style.columns == 2
        placement = str(rng.choice(["below", "wide", "split"], p=[0.6, 0.25, 0.15]) if wide_ok
                        else rng.choice(["below", "beside", "split"], p=[0.7, 0.15, 0.15]))
        room_w = layout.text_w if placement == "wide" else layout.col_w
        if rng.random() < 0.3:
            fw = room_w * float(rng.uniform(0.6, 0.95)) if placement != "beside" else room_w * 0.55
            height, draw = _vector(rng, fw, layout.page_h, fam)
            cap = str(rng.choice(_VECTOR_CAPTIONS)).format(m=material, morph=morphology, t1=300, t2=500, t3=700)
            fig = _Figure(f.number, cap, "vector", fw, height, draw)
        else:
            fw = room_w * (float(rng.uniform(0.7, 1.0)) if placement != "beside" else 0.55)
            height, draw = _raster(f.image, fw, layout.page_h)
            if height > layout.bottom - layout.top - 120:  # a tall figure: shrink it to fit a page
                fw *= (layout.bottom - layout.top - 120) / height
                height, draw = _raster(f.image, fw, layout.page_h)
            fig = _Figure(f.number, f.truth.caption, "raster", fw, height, draw)
        layout.figure(fig, placement)
    layout.flow(Paragraph(escape(_paragraph(rng, material, morphology, None)), body))
    while layout.pending_wide:  # wide figures still waiting for a page top: start pages for them
        layout.col = style.columns - 1
        layout.next_column()
    c.showPage()
    c.save()
    truth.pages = layout.page
    truth.figures = sorted(layout.truth, key=lambda t: t.number)
    return truth

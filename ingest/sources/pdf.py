"""The ``pdf`` source: metadata, abstract and figures from born-digital PDFs.

No vision model and no LLM: a figure is found from its caption. A caption is
a text block that starts with a figure label ("Figure 1.", "Fig. 1 |",
"FIG. 1.", a bold "Figure 1") — an in-text "Fig. 1 shows…" does not count —
and the figure is the run of graphics (embedded images, vector paths) and
non-body text (tick labels, axis titles, panel letters) that sits directly
above the caption, or beside it, up to the nearest line of body text. Body
text is recognised by its font size and its column-wide, evenly spaced
lines; running headers and footers by repeating on most pages. The figure's
box is then rendered at ``dpi`` (default 300).

Libraries (README › Local PDFs): pdfplumber (MIT; pdfminer.six underneath)
for characters, words, images and vector objects with their positions, and
pypdfium2 (Apache-2.0/BSD; PDFium) to render the figure regions — both
permissive, unlike PyMuPDF (AGPL), and pdfium renders what viewers show.

``read_pdf(data, source)`` is pure (bytes in, records out). Scanned PDFs —
pages without a text layer — are refused with ``ScannedPdfError``: figlake
does not guess figure boundaries without captions to anchor them.
"""

from __future__ import annotations

import hashlib
import io
import re
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ingest.errors import InputError, UnreadablePageError
from ingest.sources.article import Article, FigureRef, iso_date, normalise_doi
from ingest.sources.licenses import canonical_license_url, is_open, license_spdx, license_url_in


class EncryptedPdfError(InputError):
    """The PDF needs a password to open."""


class ScannedPdfError(InputError):
    """The PDF has no text layer (a scan): no captions to find figures by."""


class PdfTooLargeError(InputError):
    """More pages than ``max_pages``, or slower than ``max_seconds`` to read."""


@dataclass(frozen=True)
class PdfSettings:
    dpi: int = 300
    max_pages: int = 300
    """a thesis or a book is not an article: refuse rather than spend minutes on it"""
    max_seconds: float = 120.0
    max_pixels: int = 40_000_000
    """a figure rendered larger than this is rendered at a lower DPI"""


@dataclass
class PdfFigure:
    ref: FigureRef
    page: int
    """1-based"""
    bbox: tuple[float, float, float, float]
    """x0, top, x1, bottom in PDF points, origin top-left of the page"""
    image: bytes
    """PNG of the region"""


@dataclass
class PdfArticle:
    article: Article
    figures: list[PdfFigure]
    pages: int


# -- layout primitives ------------------------------------------------------------


@dataclass
class Box:
    x0: float
    top: float
    x1: float
    bottom: float

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    def union(self, other: Box) -> Box:
        return Box(min(self.x0, other.x0), min(self.top, other.top), max(self.x1, other.x1),
                   max(self.bottom, other.bottom))

    def h_overlap(self, other: Box) -> float:
        return min(self.x1, other.x1) - max(self.x0, other.x0)

    def v_overlap(self, other: Box) -> float:
        return min(self.bottom, other.bottom) - max(self.top, other.top)

    def as_tuple(self) -> tuple[float, float, float, float]:
        return (round(self.x0, 2), round(self.top, 2), round(self.x1, 2), round(self.bottom, 2))


@dataclass
class Line(Box):
    """Words on one baseline within one column."""

    text: str = ""
    size: float = 0.0
    bold: bool = False
    page: int = 0
    kind: str = "other"
    """body, caption, furniture (running header/footer) or other (text inside figures)"""


@dataclass
class Caption:
    number: int
    kind: str
    label: str
    lines: list[Line] = field(default_factory=list)

    @property
    def box(self) -> Box:
        """The caption's first column: a continuation in the next column or page bounds no figure."""
        first = self.lines[0]
        b: Box = first
        for ln in self.lines[1:]:
            if ln.page == first.page and ln.h_overlap(first) > 0 and ln.top >= first.top:
                b = b.union(ln)
        return Box(b.x0, b.top, b.x1, b.bottom)

    @property
    def text(self) -> str:
        return _join_lines([ln.text for ln in self.lines])[len(self.label):].lstrip(" .:|—–-").strip()


CAPTION_RE = re.compile(r"^(?P<label>(?P<word>Fig(?:ure)?|FIG(?:URE)?|Scheme|SCHEME)\.?\s*(?P<num>\d{1,3}))"
                        r"(?P<sep>\s*[.:|—–]|\s*$)?")


# Glyphs of a font without a Unicode map come out as "(cid:N)"; in TeX's own encodings (OT1 and T1,
# common in arXiv-era PDFs with Type 3 bitmap fonts) those codes are the f-ligatures and dashes.
_WORD = re.compile(r"[^\W\d_]{3,}")
_CID = re.compile(r"\(cid:(\d+)\)")
TEX_LIGATURES = {11: "ff", 12: "fi", 13: "fl", 14: "ffi", 15: "ffl",  # OT1
                 21: "–", 22: "—", 27: "ff", 28: "fi", 29: "fl", 30: "ffi", 31: "ffl"}  # T1


def _join_lines(texts: list[str]) -> str:
    """Lines → running text, joining words hyphenated across a line break ('nano-' 'rods' → 'nanorods')."""
    out = ""
    for t in texts:
        t = t.strip()
        if out.endswith("-") and len(out) > 1 and out[-2].isalpha() and t[:1].islower():
            out = out[:-1] + t
        else:
            out = f"{out} {t}" if out else t
    return out


Row = list[dict[str, Any]]
"""pdfplumber words sharing a baseline, left to right"""


def _rows(words: list[dict[str, Any]]) -> list[Row]:
    """Group a page's upright words into rows by baseline, scripts joined to their row."""
    # Rows share a baseline to within a point: two columns set with different leading interleave.
    rows: list[Row] = []
    for w in sorted((w for w in words if w["upright"]), key=lambda w: (w["bottom"], w["x0"])):
        if rows and w["bottom"] - rows[-1][0]["bottom"] < 1.0:
            rows[-1].append(w)
        else:
            rows.append([w])
    rows = _attach_scripts(rows)
    for row in rows:
        row.sort(key=lambda w: w["x0"])
    return rows


def _gap_profile(rows: list[Row], width: float) -> np.ndarray:
    """Per x (1 pt bins): how many rows reach across it, and how many of those have a space there."""
    profile = np.zeros((2, int(width) + 2))
    for row in rows:
        profile[0, int(row[0]["x0"]):int(row[-1]["x1"]) + 1] += 1
        for a, b in zip(row, row[1:], strict=False):
            profile[1, int(a["x1"]) + 1:int(b["x0"])] += 1
    return profile


def _gutters(profile: np.ndarray, share: float) -> list[tuple[int, int]]:
    """Column gutters: strips at least 4 pt wide where ``share`` of the rows reaching across have a
    space (justified text stretches its spaces at random places, so a wide space inside a column is
    no gutter)."""
    span, gap = profile
    mask = (gap >= 6) & (gap >= share * span)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    return [(a, b) for a, b in zip(edges[::2], edges[1::2], strict=True) if b - a >= 4]


def _split_rows(rows: list[Row], gutters: list[tuple[int, int]], page: int) -> list[Line]:
    """Cut rows into lines at column gutters and wide gaps. A space splits a line only when it holds a
    whole gutter (a full-width caption's spaces do not)."""
    lines = []
    for row in rows:
        seg = [row[0]]
        for w in row[1:]:
            g0, g1 = int(seg[-1]["x1"]) + 1, int(w["x0"]) + 1
            space = w["x0"] - seg[-1]["x1"]
            # Two blocks side by side whose baselines happen to align: a gutter between them, a
            # change of type size across a space, or a gap no justified line would stretch to.
            if space > 3 * w["size"] or any(g0 <= a and b <= g1 for a, b in gutters) or (
                    space > 0.5 * w["size"] and abs(w["size"] - seg[-1]["size"]) > 0.6):
                lines.append(_line(seg, page))
                seg = []
            seg.append(w)
        lines.append(_line(seg, page))
    return lines


def _set_lines(pages: list[_Page]) -> None:
    """Lines of every page, cut at the gutters of the page and of the document: pages share their
    columns, and a page with few rows side by side (a title page, captions at the foot of both
    columns) cannot show its gutter alone."""
    profiles = {p.number: _gap_profile(p.rows, p.width) for p in pages}
    document: dict[int, np.ndarray] = {}
    for p in pages:
        w = int(p.width)
        document[w] = document[w] + profiles[p.number] if w in document else profiles[p.number].copy()
    for p in pages:
        # Over a whole document, full-width rows (title block, abstract) weigh less against a gutter.
        gutters = _gutters(profiles[p.number], 0.6) + _gutters(document[int(p.width)], 0.45)
        p.lines = _split_rows(p.rows, gutters, p.number) if p.rows else []


def _attach_scripts(rows: list[list[dict[str, Any]]]) -> list[list[dict[str, Any]]]:
    """Move small raised or lowered words (superscripts, subscripts) into the row they belong to: the
    full-size row just below (a superscript's baseline is higher) or just above (a subscript's) whose
    words they touch, directly or through another script ("s" "−" "1")."""
    medians = [statistics.median(w["size"] for w in row) for row in rows]
    out = [list(row) for row in rows]
    for i, row in enumerate(rows):
        for w in sorted(row, key=lambda w: w["x0"]):
            for j in (*range(i - 1, max(-1, i - 4), -1), *range(i + 1, min(len(rows), i + 4))):
                host = out[j]
                if (host and w["size"] < 0.85 * medians[j] and medians[j] > medians[i] - 0.1
                        and min(h["top"] for h in host) - 0.6 * w["size"] <= w["top"]
                        and w["bottom"] <= max(h["bottom"] for h in host) + 0.5 * w["size"]
                        and _touches(w, host)):
                    out[i].remove(w)
                    host.append(w)
                    break
    return [row for row in out if row]


def _touches(word: dict[str, Any], row: list[dict[str, Any]]) -> bool:
    """A script sits against a word of its host line (a unit's exponent, a formula's index)."""
    return any(max(h["x0"] - word["x1"], word["x0"] - h["x1"]) <= 0.5 * h["size"] for h in row)


def _line(words: list[dict[str, Any]], page: int) -> Line:
    return Line(min(w["x0"] for w in words), min(w["top"] for w in words), max(w["x1"] for w in words),
                max(w["bottom"] for w in words), text=_line_text(words),
                size=statistics.median(w["size"] for w in words), bold="bold" in words[0]["fontname"].lower(),
                page=page)


_SUPERSCRIPT = str.maketrans("0123456789+-−=()n", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁻⁼⁽⁾ⁿ")


def _line_text(words: list[dict[str, Any]]) -> str:
    """A line's words as text. Scripts are glued to the word they touch ("O" "2" → "O2"); raised digits
    and signs become superscript characters, as in the text they were typeset from ("cm⁻¹")."""
    size = statistics.median(w["size"] for w in words)
    full = [w for w in words if w["size"] >= 0.85 * size] or words
    baseline = statistics.median(w["bottom"] for w in full)
    text, prev = "", None
    for w in words:
        t = w["text"]
        script = w["size"] < 0.85 * size
        if script and w["bottom"] < baseline - 0.25 * size and not set(t) - set("0123456789+-−=()n"):
            t = t.translate(_SUPERSCRIPT)
        glued = prev is not None and (script or prev["size"] < 0.85 * size) and w["x0"] - prev["x1"] < 0.15 * size
        text = text + t if glued or not text else f"{text} {t}"
        prev = w
    return text


# -- reading ----------------------------------------------------------------------------


def _open(data: bytes, source: str) -> Any:
    import pdfplumber
    from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect
    from pdfminer.pdfparser import PDFSyntaxError
    from pdfminer.psparser import PSException

    if not data.lstrip()[:5].startswith(b"%PDF"):
        raise UnreadablePageError(source, "not a PDF (no %PDF header)")
    from pdfplumber.utils.exceptions import PdfminerException

    try:
        try:
            pdf = pdfplumber.open(io.BytesIO(data))
            n = len(pdf.pages)
        except PdfminerException as wrapped:  # pdfplumber wraps what pdfminer raised
            raise (wrapped.args[0] if wrapped.args and isinstance(wrapped.args[0], Exception) else wrapped) \
                from None
    except (PDFPasswordIncorrect, PDFEncryptionError) as e:
        raise EncryptedPdfError(source, f"encrypted PDF: a password is needed to read it ({type(e).__name__})") from e
    except (PDFSyntaxError, PSException, PdfminerException, ValueError, KeyError, TypeError, AttributeError) as e:
        # pdfminer raises whatever its parser trips over on a truncated or corrupt file.
        raise UnreadablePageError(source, f"corrupt or truncated PDF ({type(e).__name__}: {e})") from e
    if n == 0:
        raise UnreadablePageError(source, "the PDF has no pages")
    return pdf


def read_pdf(data: bytes, source: str, settings: PdfSettings = PdfSettings()) -> PdfArticle:
    """One PDF's bytes → its article (metadata, abstract, figures with captions) and figure images.

    Raises an ``InputError`` subclass naming ``source`` for an encrypted, corrupt,
    truncated, empty, scanned or oversized PDF.
    """
    started = time.monotonic()
    pdf = _open(data, source)
    try:
        n_pages = len(pdf.pages)
        if n_pages > settings.max_pages:
            raise PdfTooLargeError(source, f"{n_pages} pages, more than sources.pdf.max_pages = "
                                           f"{settings.max_pages} (a book or thesis, not an article?)")
        pages: list[_Page] = []
        for i, page in enumerate(pdf.pages, start=1):
            if time.monotonic() - started > settings.max_seconds:
                raise PdfTooLargeError(source, f"reading took more than sources.pdf.max_seconds = "
                                               f"{settings.max_seconds:g} s (stopped at page {i} of {n_pages})")
            try:
                pages.append(_read_page(page, i))
            except (ValueError, KeyError, TypeError, AttributeError, AssertionError) as e:
                raise UnreadablePageError(source, f"page {i} cannot be read ({type(e).__name__}: {e})") from e
            finally:
                page.close()  # drop the page's parsed objects: memory stays one page deep
        _set_lines(pages)
        if not any(p.lines for p in pages):
            what = "images but no text" if any(p.images for p in pages) else "no text"
            raise ScannedPdfError(source, f"{what} on any of its {n_pages} pages: a scanned PDF? figlake reads "
                                          "born-digital PDFs only (OCR the file first)")
        info = {k: _info_str(v) for k, v in (pdf.metadata or {}).items()}
        xmp = _xmp(pdf)
    finally:
        pdf.close()
    body_size = _classify_lines(pages)
    captions = _captions(pages, body_size)
    article = _article(pages, info, xmp, data)
    figures = _figures(pages, captions, data, source, settings)
    article.figures = [f.ref for f in figures]
    return PdfArticle(article, figures, n_pages)


@dataclass
class _Page:
    number: int
    width: float
    height: float
    rows: list[Row]
    graphics: list[Box]
    """embedded images and vector paths (rects, lines, curves)"""
    images: int
    other_text: list[Box]
    """rotated words (axis titles) — figure content, never body text"""
    lines: list[Line] = field(default_factory=list)
    """set from ``rows`` once every page is read (``_set_lines``)"""


def _read_page(page: Any, number: int) -> _Page:
    # TeX writes no space characters: a word ends where the gap to the next glyph exceeds a fraction
    # of the type size (a fixed 3 pt glues the tight interword spaces of small, justified captions).
    words = page.extract_words(extra_attrs=["fontname", "size"], use_text_flow=False, x_tolerance_ratio=0.15)
    for w in words:
        w["text"] = _CID.sub(lambda m: TEX_LIGATURES.get(int(m.group(1)), m.group(0)), w["text"])
    area = page.width * page.height
    graphics = []
    for obj in [*page.images, *page.rects, *page.lines, *page.curves]:
        b = Box(max(0.0, obj["x0"]), max(0.0, obj["top"]), min(page.width, obj["x1"]),
                min(page.height, obj["bottom"]))
        # Page-sized backgrounds and off-page objects bound nothing.
        if b.x1 > b.x0 - 0.01 and b.bottom > b.top - 0.01 and b.width * (b.bottom - b.top) < 0.8 * area:
            graphics.append(b)
    rotated = [Box(w["x0"], w["top"], w["x1"], w["bottom"]) for w in words if not w["upright"]]
    return _Page(number, float(page.width), float(page.height), _rows(words), graphics, len(page.images), rotated)


def _info_str(v: Any) -> str | None:
    if isinstance(v, bytes):
        for enc in ("utf-16", "latin-1"):
            try:
                return v.decode(enc).strip() or None
            except UnicodeDecodeError:
                continue
    return str(v).strip() or None if v is not None else None


def _xmp(pdf: Any) -> dict[str, str]:
    """Dublin Core and PRISM fields from the XMP packet publishers embed (DOI, journal, date, rights)."""
    from lxml import etree
    from pdfminer.pdftypes import resolve1

    try:
        stream = resolve1(pdf.doc.catalog.get("Metadata"))
        if stream is None:
            return {}
        root = etree.fromstring(stream.get_data(), etree.XMLParser(resolve_entities=False, no_network=True,
                                                                   huge_tree=False))
    except Exception:  # noqa: BLE001 — a broken XMP packet is no reason to lose the article
        return {}
    out: dict[str, str] = {}
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        local = etree.QName(el).localname
        text = " ".join(t.strip() for t in el.itertext() if t.strip())
        if local in {"doi", "publicationName", "coverDate", "publicationDate", "title", "rights", "creator"} \
                and text and local not in out:
            out[local] = text
    return out


# -- line classes ------------------------------------------------------------------------


def _classify_lines(pages: list[_Page]) -> float:
    """Mark body text and running headers/footers; what is left is captions and figure text. Returns the
    body text's type size."""
    lines = [ln for p in pages for ln in p.lines]
    sizes: Counter[float] = Counter()
    for ln in lines:
        sizes[round(ln.size * 2) / 2] += len(ln.text)
    body_size = sizes.most_common(1)[0][0]
    widths = Counter(round(ln.width / 3) * 3 for ln in lines
                     if abs(ln.size - body_size) <= 0.6 and len(ln.text.split()) >= 6)
    column = widths.most_common(1)[0][0] if widths else max((ln.width for ln in lines), default=0.0)

    # Furniture: the same words (numbers aside) at the same place in the top or bottom margin of
    # most pages: journal name, running title, page numbers.
    if len(pages) >= 2:
        height = {p.number: p.height for p in pages}

        def spot(ln: Line) -> tuple[int, int, str] | None:
            if 0.1 * height[ln.page] < ln.top and ln.bottom < 0.9 * height[ln.page]:
                return None
            return round(ln.top), round(ln.x0 / 20), re.sub(r"\d+", "#", ln.text)

        spots = Counter(spot(ln) for ln in lines)
        for ln in lines:
            if (key := spot(ln)) is not None and spots[key] >= max(2, len(pages) // 2 + 1):
                ln.kind = "furniture"

    for page in pages:
        prev: Line | None = None
        for ln in sorted(page.lines, key=lambda ln: (round(ln.x0), ln.top)):
            if ln.kind == "furniture" or abs(ln.size - body_size) > 0.6:
                continue
            wide = ln.width >= 0.55 * column and len(_WORD.findall(ln.text)) >= 3  # not a row of ticks
            # A paragraph's short last line: right under a body line, same left edge, one leading down.
            follows = (prev is not None and prev.kind == "body" and abs(prev.x0 - ln.x0) < 2
                       and 0 <= ln.top - prev.bottom < 0.8 * ln.size)
            if wide or follows:
                ln.kind = "body"
            prev = ln
        # Prose in another size (references, footnotes, a small-type abstract) bounds figures as body
        # text does; a figure's own words (tick labels, legends, axis titles) are never five words wide.
        for ln in page.lines:
            if ln.kind == "other" and ln.width >= 0.55 * column and len(_WORD.findall(ln.text)) >= 5:
                ln.kind = "body"
    return body_size


def _caption_start(ln: Line) -> tuple[str, int, str] | None:
    m = CAPTION_RE.match(ln.text)
    if not m:
        return None
    # "Fig. 2 shows…" in running text is a reference, not a caption: a caption's label ends with a
    # separator, or is set in bold.
    if not (m.group("sep") and m.group("sep").strip()) and not ln.bold:
        return None
    kind = "scheme" if m.group("word").lower().startswith("scheme") else "figure"
    return kind, int(m.group("num")), m.group("label")


def _captions(pages: list[_Page], body_size: float) -> list[Caption]:
    out = []
    for page in pages:
        for ln in sorted(page.lines, key=lambda ln: (ln.top, ln.x0)):
            if ln.kind == "furniture" or not (start := _caption_start(ln)):
                continue
            cap = Caption(start[1], start[0], start[2], [ln])
            ln.kind = "caption"
            _extend_block(cap.lines, page.lines)
            for c in cap.lines:
                c.kind = "caption"
            out.append(cap)
    # A caption that fills its column to the bottom may go on at the top of the next column (or
    # page). Sure when its last sentence is unfinished; when it ends with a full stop, only for a
    # caption set in its own type size whose next column starts, in that size, a new sentence or panel
    # ("(b) SEM image…") that no unfinished caption has taken.
    def ends_open(cap: Caption) -> bool:
        return not cap.lines[-1].text.rstrip().endswith(".")

    for cap in sorted(out, key=lambda cap: not ends_open(cap)):
        last = cap.lines[-1]
        page = pages[last.page - 1]
        if not _ends_at_column_bottom(last, page):
            continue
        if not ends_open(cap) and abs(last.size - body_size) <= 0.6:
            continue
        cont = _continuation(last, page, pages[page.number] if page.number < len(pages) else None)
        if cont is None or (not ends_open(cap) and not re.match(r"[A-Z(]", cont.text)):
            continue
        cap.lines.append(cont)
        _extend_block(cap.lines, pages[cont.page - 1].lines)
        for c in cap.lines:
            c.kind = "caption"
    return out


def _extend_block(block: list[Line], lines: list[Line]) -> None:
    """Append the lines that continue ``block`` downwards: same size, same column, one leading apart."""
    while True:
        last = block[-1]
        # the block's first line in this column, which may be indented
        first = next(b for b in block if b.page == last.page and b.h_overlap(last) > 0)
        nxt = [ln for ln in lines if ln is not last and ln not in block and ln.kind != "furniture"
               and abs(ln.size - last.size) <= 0.6 and 0 <= ln.top - last.bottom < 0.8 * last.size
               and ln.h_overlap(last) > 0.5 * min(ln.width, last.width) and ln.x0 >= first.x0 - 2 * last.size]
        if not nxt:
            return
        block.append(min(nxt, key=lambda ln: ln.top))


def _ends_at_column_bottom(ln: Line, page: _Page) -> bool:
    lowest = max((x.bottom for x in page.lines if x.kind != "furniture"), default=ln.bottom)
    return ln.bottom >= lowest - 2


def _continuation(last: Line, page: _Page, next_page: _Page | None) -> Line | None:
    """The first line of the next column (or the next page), when a caption runs on into it."""
    def first_in(lines: list[Line], x_min: float) -> Line | None:
        cands = [ln for ln in lines if ln.kind not in ("furniture", "caption") and ln.x0 >= x_min
                 and abs(ln.size - last.size) <= 0.6 and _caption_start(ln) is None
                 and len(_WORD.findall(ln.text)) >= 3]  # prose, not a figure's tick labels
        return min(cands, key=lambda ln: (ln.top, ln.x0)) if cands else None

    right = first_in(page.lines, last.x1 + 4)
    if right is not None and right.top < last.top:
        return right
    if any(ln.kind == "body" and ln.x0 >= last.x1 + 4 for ln in page.lines):
        return None  # a column to the right that does not go on with the caption: it ends here
    if next_page is not None:
        return first_in(next_page.lines, 0.0)
    return None


# -- figure regions ------------------------------------------------------------------------


def _figures(pages: list[_Page], captions: list[Caption], data: bytes, source: str,
             settings: PdfSettings) -> list[PdfFigure]:
    import pypdfium2 as pdfium

    found: dict[tuple[str, int], tuple[Caption, int, Box]] = {}
    for cap in captions:
        page = pages[cap.lines[0].page - 1]
        region = _region(cap, page, [c.box for c in captions if c is not cap and c.lines[0].page == page.number])
        if region is not None and (cap.kind, cap.number) not in found:
            found[(cap.kind, cap.number)] = (cap, page.number, region)
    if not found:
        return []
    try:
        doc = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as e:
        raise UnreadablePageError(source, f"PDFium cannot open it for rendering ({e})") from e
    out = []
    try:
        for (kind, number), (cap, page_no, region) in sorted(found.items(), key=lambda kv: (kv[0][0] != "figure",
                                                                                             kv[0][1])):
            page = pages[page_no - 1]
            image = _render(doc[page_no - 1], page, region, settings)
            ref = FigureRef(kind=kind, number=number, figure_label=cap.label, title=None, caption=cap.text,
                            image_url=None)
            out.append(PdfFigure(ref, page_no, region.as_tuple(), image))
    finally:
        doc.close()
    return out


def _region(cap: Caption, page: _Page, others: list[Box]) -> Box | None:
    """The figure a caption belongs to: above it, else beside it (left, then right), else below."""
    c = cap.box
    gap = 2.2 * max(ln.size for ln in cap.lines)
    content = [(b, True) for b in page.graphics] + [(b, False) for b in page.other_text] + \
              [(ln, False) for ln in page.lines if ln.kind == "other"]
    barriers: list[Box] = [ln for ln in page.lines if ln.kind in ("body", "caption") and ln not in cap.lines]
    for direction in ("above", "left", "right", "below"):
        # A caption set beside its figure keeps a wider margin than one set under it.
        reach = gap * (1.6 if direction in ("left", "right") else 1.0)
        if (region := _grow(c, direction, content, barriers, reach, others)) is not None:
            return region
    return None


def _grow(c: Box, direction: str, content: list[tuple[Box, bool]], barriers: list[Box], gap: float,
          others: list[Box]) -> Box | None:
    """Collect the content contiguous with the caption on one side, stopping at body text and leaving
    out what belongs to another caption: content off this caption's column with another caption
    under it (above it, for captions set above their figures) and nothing but figure between — two
    column-wide figures side by side at the top of a page."""
    def theirs(b: Box) -> bool:
        if direction not in ("above", "below") or b.h_overlap(c) > 0:
            return False
        for o in others:
            if b.h_overlap(o) <= 0:
                continue
            lo, hi = (b.bottom, o.top) if direction == "above" else (o.bottom, b.top)
            if hi >= lo - 1 and not any(x.h_overlap(b) > 0 and x.top >= lo - 1 and x.bottom <= hi + 1
                                        for x in barriers):
                return True
        return False

    def side(b: Box) -> bool:
        if direction == "above":
            return b.bottom <= c.top + 1 and b.h_overlap(c) > 0
        if direction == "below":
            return b.top >= c.bottom - 1 and b.h_overlap(c) > 0
        if direction == "left":
            return b.x1 <= c.x0 + 1 and b.v_overlap(c) > 0
        return b.x0 >= c.x1 - 1 and b.v_overlap(c) > 0

    seeds = [(b, g) for b, g in content if side(b) and _distance(b, c) <= gap]
    if not seeds:
        return None
    region: Box = seeds[0][0]
    for b, _ in seeds[1:]:
        region = region.union(b)
    taken = {id(b) for b, _ in seeds}
    has_graphics = any(g for _, g in seeds)
    grew = True
    while grew:
        grew = False
        for b, g in content:
            if id(b) in taken or _distance(b, region) > gap or _crosses_caption(b, c, direction) or theirs(b):
                continue
            candidate = region.union(b)
            if any(candidate.v_overlap(x) > 0.5 * (x.bottom - x.top) and candidate.h_overlap(x) > 0.5 * x.width
                   for x in barriers):
                continue
            region, grew = candidate, True
            taken.add(id(b))
            has_graphics |= g
    return region if has_graphics and region.width > 10 and region.bottom - region.top > 10 else None


def _crosses_caption(b: Box, c: Box, direction: str) -> bool:
    if direction == "above":
        return b.bottom > c.top + 1
    if direction == "below":
        return b.top < c.bottom - 1
    if direction == "left":
        return b.x1 > c.x0 + 1
    return b.x0 < c.x1 - 1


def _distance(a: Box, b: Box) -> float:
    dx = max(0.0, max(a.x0, b.x0) - min(a.x1, b.x1))
    dy = max(0.0, max(a.top, b.top) - min(a.bottom, b.bottom))
    return max(dx, dy)


def _render(pdf_page: Any, page: _Page, region: Box, settings: PdfSettings) -> bytes:
    """The region as PNG at ``settings.dpi`` (lower when that would exceed ``max_pixels``)."""
    w, h = region.width, region.bottom - region.top
    scale = settings.dpi / 72
    if w * h * scale * scale > settings.max_pixels:
        scale = (settings.max_pixels / (w * h)) ** 0.5
    # pdfium crops in points from each edge (left, bottom, right, top) of its bottom-left page space.
    crop = (max(0.0, region.x0), max(0.0, page.height - region.bottom), max(0.0, page.width - region.x1),
            max(0.0, region.top))
    image = pdf_page.render(scale=scale, crop=crop).to_pil()
    buf = io.BytesIO()
    image.convert("RGB").save(buf, format="PNG", optimize=False)
    return buf.getvalue()


# -- metadata ------------------------------------------------------------------------------------

_YEAR = r"((?:19|20)\d{2})"
# A masthead or running head: "Journal of X (2021)", "Nano Letters, 2019, 19, 1234", "Phys. Rev. Materials 8,
# 064402 (2024)", "J. Synth. Mater. Lett. 12 (2025) 101–105".
_MASTHEAD = re.compile(r"^(?P<journal>(?:[\w&.'-]+\s+){0,8}?(?:Journal|Letters|Reviews?|Materials|Chemistry|Physics"
                       r"|Nano|Communications|Science|Advances|Reports|Research|Today)\b[\w&.' -]{0,60}?)"
                       r"\s*(?:[(,]\s*|\s+\d+(?:[\s,:–-]+\d+)?\s*[(,]\s*)(?P<year>(?:19|20)\d{2})\b")


def _article(pages: list[_Page], info: dict[str, str | None], xmp: dict[str, str], data: bytes) -> Article:
    first = [ln for ln in pages[0].lines if ln.kind != "furniture"]
    first_text = "\n".join(ln.text for ln in sorted(first, key=lambda ln: (ln.top, ln.x0)))
    doi = next((d for d in (normalise_doi(xmp.get("doi")), normalise_doi(info.get("doi")),
                            _doi_in(info.get("Subject")), _doi_in(first_text)) if d), None)
    title = xmp.get("title") or info.get("Title")
    if not title or _junk_title(title):
        title = _title_from_layout(first)
    subject = info.get("Subject") or ""
    journal = xmp.get("publicationName")
    if not journal and (m := re.match(r"\s*([^,;]{4,}?),\s*(?:vol\.?\s*\d+,\s*)?" + _YEAR, subject)):
        journal = m.group(1).strip()
    # A masthead line on page 1, running heads included (they carry the journal on most pages).
    masthead = next((m for ln in sorted(pages[0].lines, key=lambda ln: (ln.top, ln.x0))
                     if (m := _MASTHEAD.match(ln.text))), None)
    if not journal and masthead:
        journal = masthead.group("journal").strip()
    year_src = " ".join(filter(None, (xmp.get("coverDate"), xmp.get("publicationDate"), subject)))
    m = re.search(_YEAR, year_src) or re.search(r"(?:Published|©|\(c\)|Copyright)[^\n]{0,40}?" + _YEAR,
                                                first_text, re.I)
    year = int(m.group(1)) if m else int(masthead.group("year")) if masthead else None
    published = iso_date(pm.group(1)) if (pm := re.search(r"Published:?\s*(\d{4}-\d{2}-\d{2})", first_text)) \
        else None
    license_text = xmp.get("rights") or next(
        (ln for ln in first_text.split("\n") if re.search(r"licen[sc]|creative commons|\bCC[ -]?(?:BY|0)\b",
                                                          ln, re.I)), None)
    url = license_url_in(license_text) or license_url_in(first_text)
    spdx = license_spdx(url, license_text)
    authors = [a.strip() for a in re.split(r"[,;]|\band\b", info.get("Author") or "") if a.strip()]
    return Article(
        doi=doi, alt_id=None if doi else f"pdf:{hashlib.sha256(data).hexdigest()[:16]}",
        title=title, journal=journal, publisher=None, year=year, published=published, authors=authors,
        abstract=_abstract(first), keywords=[k.strip() for k in re.split(r"[,;]", info.get("Keywords") or "")
                                             if k.strip()],
        license_spdx=spdx, license_url=canonical_license_url(url), is_open_access=is_open(spdx), url=None,
        pdf_url=None, page_format="pdf")


def _doi_in(text: str | None) -> str | None:
    m = re.search(r"\b10\.\d{4,9}/[^\s\"<>]+", text or "")
    return normalise_doi(m.group(0)) if m else None


def _junk_title(title: str) -> bool:
    """Document-info titles that are file names or tool defaults, not the article's title."""
    t = title.strip().lower()
    return len(t) < 8 or t.endswith((".dvi", ".tex", ".doc", ".docx", ".pdf")) or t.startswith(
        ("microsoft word", "untitled", "title"))


def _title_from_layout(first: list[Line]) -> str | None:
    """The largest text in the top half of page 1: its first line and the lines set right under it."""
    top_half = [ln for ln in first if ln.top < 0.5 * max((x.bottom for x in first), default=1.0)]
    if not top_half:
        return None
    size = max(ln.size for ln in top_half)
    lines = sorted((ln for ln in top_half if ln.size >= size - 0.5), key=lambda ln: ln.top)
    block = lines[:1]
    for ln in lines[1:]:  # a section heading of the same size further down is not the title
        if ln.top - block[-1].bottom > 0.8 * size:
            break
        block.append(ln)
    return _join_lines([ln.text for ln in block]) or None


def _abstract(first: list[Line]) -> str | None:
    """The paragraph after an "Abstract" heading; without one (Physical Review sets none), the first
    paragraph of page 1 that is prose of at least 40 words."""
    ordered = sorted(first, key=lambda ln: (ln.top, ln.x0))
    for i, ln in enumerate(ordered):
        m = re.match(r"^\s*(abstract|summary)\b[.:—–-]?\s*", ln.text, re.I)
        if not m:
            continue
        block = [ln]
        _extend_block(block, first)
        text = _join_lines([b.text for b in block])[m.end():].strip()
        if not text and i + 1 < len(ordered):  # a heading on its own line: the next paragraph
            block = [ordered[i + 1]]
            _extend_block(block, first)
            text = _join_lines([b.text for b in block])
        return text or None
    seen: set[int] = set()
    for ln in ordered:
        if ln.kind != "body" or id(ln) in seen:
            continue
        block = [ln]
        _extend_block(block, first)
        seen.update(id(b) for b in block)
        text = _join_lines([b.text for b in block])
        if len(text.split()) >= 40:
            return text
    return None

"""The shared article-page reader. Publishers are declared on top of it.

Parsing logic lives here once. A publisher is a small subclass whose body is
CSS selectors (``figure_css``, ``figure_caption_css``, ...) and a ``detect``
that recognises its pages (see ``nature.py``). Metadata comes first from the
Highwire ``citation_*`` / Dublin Core meta tags most publishers emit; a
publisher overrides only what differs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import ClassVar
from urllib.parse import urljoin

import lxml.html
from lxml import etree

from ingest.errors import NotAnArticleError, TruncatedPageError, UnreadablePageError
from ingest.sources.article import Article, FigureRef, iso_date, normalise_doi, parse_figure_label
from ingest.sources.licenses import is_open, license_spdx

_ASCII_SPACE = re.compile(r"[ \t\n\r\f\v]+")


def clean_text(s: str | None) -> str:
    """Collapse runs of ASCII whitespace; keep typographic spaces (thin space in '50 nm')."""
    return _ASCII_SPACE.sub(" ", s or "").strip()


def text_of(el: etree._Element | None) -> str:
    """All text inside an element, inline markup dropped: '(<b>a</b>)' → '(a)'."""
    if el is None:
        return ""
    return clean_text("".join(el.itertext()))


class HtmlReader:
    """Reads one publisher's article HTML. Subclasses set the selectors below."""

    page_format: ClassVar[str] = "html"
    publisher: ClassVar[str | None] = None

    # Containers, one per figure, and parts inside a container. CSS selectors.
    figure_css: ClassVar[str] = "figure"
    figure_label_css: ClassVar[str] = "figcaption"
    figure_caption_css: ClassVar[str] = "figcaption"
    figure_image_css: ClassVar[str] = "img"
    figure_image_attrs: ClassVar[tuple[str, ...]] = ("src", "data-src")
    figure_title_attr: ClassVar[str | None] = None
    """Container attribute that holds the caption title, when the page has one."""

    title_css: ClassVar[str | None] = None
    abstract_css: ClassVar[str | None] = None
    license_css: ClassVar[str] = 'a[rel~="license"]'

    @classmethod
    def detect(cls, doc: lxml.html.HtmlElement, meta: dict[str, list[str]]) -> bool:
        """Is this page one of ours? Subclasses decide from meta tags or markup."""
        raise NotImplementedError

    # -- entry point -------------------------------------------------------

    def read(self, data: bytes, source: str, doc: lxml.html.HtmlElement | None = None) -> Article:
        """Parse a page into an ``Article``. Raises ``InputError`` subclasses naming ``source``."""
        doc = doc if doc is not None else parse_html(data, source)
        meta = meta_tags(doc)
        doi = normalise_doi(first(meta, "citation_doi", "dc.identifier", "prism.doi", "doi"))
        if not doi:
            raise NotAnArticleError(source, "no DOI in the page (citation_doi / dc.identifier)")
        title = self.title(doc, meta)
        if not title:
            raise UnreadablePageError(source, "article page without a title")
        base = first(meta, "citation_fulltext_html_url", "og:url", "prism.url") or canonical_url(doc)
        lic_url = self.license_url(doc)
        lic_id = license_spdx(lic_url)
        published = iso_date(
            first(meta, "citation_publication_date", "citation_date", "citation_online_date",
                  "prism.publicationdate", "dc.date")
        )
        return Article(
            doi=doi,
            title=title,
            journal=first(meta, "citation_journal_title", "prism.publicationname"),
            publisher=first(meta, "citation_publisher", "dc.publisher") or self.publisher,
            year=int(published[:4]) if published else None,
            published=published,
            authors=meta.get("citation_author", []) or meta.get("dc.creator", []),
            abstract=self.abstract(doc, meta),
            keywords=self.keywords(meta),
            license_spdx=lic_id,
            license_url=lic_url,
            is_open_access=is_open(lic_id),
            url=base,
            pdf_url=first(meta, "citation_pdf_url"),
            page_format=self.page_format,
            figures=list(self.figures(doc, base)),
        )

    # -- parts a publisher may override --------------------------------------

    def title(self, doc: lxml.html.HtmlElement, meta: dict[str, list[str]]) -> str | None:
        if self.title_css and (els := doc.cssselect(self.title_css)):
            return text_of(els[0])
        return first(meta, "citation_title", "dc.title", "og:title")

    def abstract(self, doc: lxml.html.HtmlElement, meta: dict[str, list[str]]) -> str | None:
        if self.abstract_css and (els := doc.cssselect(self.abstract_css)):
            return text_of(els[0]) or None
        return first(meta, "citation_abstract", "dc.description", "description")

    def keywords(self, meta: dict[str, list[str]]) -> list[str]:
        words = []
        for v in meta.get("citation_keywords", []):
            words += [w.strip() for w in re.split(r"[;,]", v) if w.strip()]
        return words or meta.get("dc.subject", [])

    def license_url(self, doc: lxml.html.HtmlElement) -> str | None:
        for a in doc.cssselect(self.license_css):
            if href := a.get("href"):
                return href.strip()
        return None

    def figures(self, doc: lxml.html.HtmlElement, base_url: str | None) -> Iterator[FigureRef]:
        seen: set[tuple[str, int]] = set()
        for i, box in enumerate(doc.cssselect(self.figure_css), start=1):
            label_text = text_of(_first(box, self.figure_label_css)).replace("\xa0", " ")
            label, title = split_label(label_text)
            kind, number = parse_figure_label(label or "") or ("figure", i)
            if (kind, number) in seen:  # pages repeat figures (lightbox copies)
                continue
            seen.add((kind, number))
            caption = text_of(_first(box, self.figure_caption_css))
            if not title and self.figure_title_attr:
                title = clean_text(box.get(self.figure_title_attr)) or None
                if title and re.fullmatch(r"(?i)(fig(ure)?|scheme|chart)\.?\s*\d+", title):
                    title = None
            yield FigureRef(
                kind=kind,
                number=number,
                figure_label=label,
                title=title,
                caption=caption or title or "",
                image_url=self.image_url(box, base_url),
            )

    def image_url(self, box: etree._Element, base_url: str | None) -> str | None:
        img = _first(box, self.figure_image_css)
        if img is None:
            return None
        for attr in self.figure_image_attrs:
            if src := img.get(attr):
                return absolute_url(src.strip(), base_url)
        return None


# -- helpers shared by readers ------------------------------------------------


def parse_html(data: bytes, source: str) -> lxml.html.HtmlElement:
    """Parse HTML bytes; refuse empty and truncated pages with a clear error."""
    if not data.strip():
        raise UnreadablePageError(source, "empty file")
    # A saved page always closes </html>; a download cut short does not, and
    # lxml would silently "repair" it into a page missing its later figures.
    if b"</html" not in data[-65536:].lower():
        raise TruncatedPageError(source, "page ends before </html> (interrupted download?)")
    try:
        return lxml.html.document_fromstring(decode_html(data))
    except (etree.ParserError, ValueError) as e:
        raise UnreadablePageError(source, f"not parseable as HTML ({e})") from e


_CHARSET = re.compile(rb"""<meta[^>]+charset=["']?([\w-]+)""", re.IGNORECASE)


def decode_html(data: bytes) -> str:
    """Bytes → text by BOM, then the page's declared charset, then UTF-8.

    lxml's own guess is Latin-1 when a saved page lacks a charset declaration,
    which turns 'Ag–Pd' into 'Agâ\x80\x93Pd'; saved pages are nearly always UTF-8.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    declared = _CHARSET.search(data[:8192])
    for encoding in ([declared.group(1).decode("ascii")] if declared else []) + ["utf-8"]:
        try:
            return data.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
    return data.decode("cp1252", errors="replace")


def meta_tags(doc: lxml.html.HtmlElement) -> dict[str, list[str]]:
    """``<meta name|property=... content=...>`` → {lower-cased name: [contents in page order]}."""
    out: dict[str, list[str]] = {}
    for m in doc.iter("meta"):
        name = m.get("name") or m.get("property")
        content = m.get("content")
        if name and content is not None and content.strip():
            out.setdefault(name.strip().lower(), []).append(clean_text(content))
    return out


def first(meta: dict[str, list[str]], *names: str) -> str | None:
    for n in names:
        if vals := meta.get(n.lower()):
            return vals[0]
    return None


def canonical_url(doc: lxml.html.HtmlElement) -> str | None:
    for link in doc.iter("link"):
        if (link.get("rel") or "").lower() == "canonical" and link.get("href"):
            return link.get("href")
    return None


def absolute_url(src: str, base: str | None) -> str:
    if src.startswith("//"):
        return "https:" + src
    return urljoin(base, src) if base else src


def split_label(text: str) -> tuple[str | None, str | None]:
    """``'Figure 1: Title.'`` → ``('Figure 1', 'Title.')``; ``'Fig. 2'`` → ``('Fig. 2', None)``."""
    m = re.match(r"\s*((?:fig(?:ure)?|scheme|chart|plate)\.?\s*\d+[a-z]?)\s*[:.|]?\s*(.*)$", text, re.I | re.S)
    if not m:
        return (text or None), None
    return m.group(1), (m.group(2).strip() or None)


def _first(box: etree._Element, css: str) -> etree._Element | None:
    found = box.cssselect(css)
    return found[0] if found else None

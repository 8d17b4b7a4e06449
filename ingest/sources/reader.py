"""The shared article-page reader. Publishers are declared on top of it.

Parsing logic lives here once. A publisher is a small subclass whose body is
CSS selectors (``figure_css``, ``figure_caption_css``, ...) and a ``detect``
that recognises its pages (see ``nature.py``). Metadata comes first from the
Highwire ``citation_*`` / Dublin Core meta tags most publishers emit; a
publisher overrides only what differs.

Figures. ``figure_css`` selects one container per figure. Its label ("Fig. 3",
"Figure 2: Title", "Scheme 1") comes from ``figure_label_css`` or, when the
publisher prints it inside the caption ("FIG. 1. Optical images…"), from the
start of the caption text, which is then stripped from the caption. Containers
without a figure label (graphical abstracts, TOC art, icons) are not figures.
The image is the high-resolution link (``figure_hires_css``) when the page has
one, else the ``<img>``.
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
from ingest.sources.licenses import canonical_license_url, is_open, license_spdx

_ASCII_SPACE = re.compile(r"[ \t\n\r\f\v]+")
_LABEL = re.compile(r"\s*((?:fig(?:ure)?|scheme|chart|plate)s?\.?\s*(\d+)[a-z]?)\s*[:.|]?\s*", re.IGNORECASE)


def clean_text(s: str | None) -> str:
    """Collapse runs of ASCII whitespace; keep typographic spaces (thin space in '50 nm')."""
    return _ASCII_SPACE.sub(" ", s or "").strip()


def text_of(el: etree._Element | None) -> str:
    """All text inside an element, inline markup dropped: '(<b>a</b>)' → '(a)'."""
    if el is None:
        return ""
    return clean_text("".join(el.itertext()))


def split_label(text: str) -> tuple[str | None, str]:
    """``'Figure 1: Title.'`` → ``('Figure 1', 'Title.')``; text without a leading label → ``(None, text)``."""
    m = _LABEL.match(text)
    if not m:
        return None, text
    return clean_text(m.group(1)).replace("\xa0", " "), text[m.end():].strip()


class HtmlReader:
    """Reads one publisher's article HTML. Subclasses set the selectors below."""

    page_format: ClassVar[str] = "html"
    publisher: ClassVar[str | None] = None
    base_url: ClassVar[str | None] = None
    """where relative links point when the page does not say (saved pages lose their address)"""

    # Containers, one per figure, and parts inside a container. CSS selectors.
    figure_css: ClassVar[str] = "figure"
    figure_label_css: ClassVar[str | None] = None
    figure_caption_css: ClassVar[str] = "figcaption"
    figure_image_css: ClassVar[str] = "img"
    figure_image_attrs: ClassVar[tuple[str, ...]] = ("src", "data-src")
    figure_hires_css: ClassVar[str | None] = None
    figure_title_attr: ClassVar[str | None] = None
    """Container attribute that holds the caption title, when the page has one."""

    title_css: ClassVar[str | None] = None
    abstract_css: ClassVar[str | None] = None
    license_css: ClassVar[str] = 'a[rel~="license"]'
    license_text_css: ClassVar[str | None] = None
    """element whose text states the licence, when no link does"""

    @classmethod
    def detect(cls, doc: lxml.html.HtmlElement, meta: dict[str, list[str]]) -> bool:
        """Is this page one of ours? Subclasses decide from meta tags or markup."""
        raise NotImplementedError

    # -- entry point -------------------------------------------------------

    def read(self, data: bytes, source: str, doc: lxml.html.HtmlElement | None = None) -> Article:
        """Parse a page into an ``Article``. Raises ``InputError`` subclasses naming ``source``."""
        doc = doc if doc is not None else parse_html(data, source)
        meta = meta_tags(doc)
        doi = self.doi(doc, meta)
        alt_id = None if doi else self.alternative_id(doc, meta)
        if not doi and not alt_id:
            raise NotAnArticleError(source, "no DOI in the page (citation_doi / dc.identifier)")
        title = self.title(doc, meta)
        if not title:
            raise UnreadablePageError(source, "article page without a title")
        page_url = first(meta, "citation_fulltext_html_url", "og:url", "prism.url") or canonical_url(doc)
        lic_url, lic_text = self.license(doc)
        lic_id = license_spdx(lic_url, lic_text)
        published = iso_date(
            first(meta, "citation_publication_date", "citation_date", "citation_online_date",
                  "prism.publicationdate", "dc.date", "prism.coverdate")
        )
        return Article(
            doi=doi,
            alt_id=alt_id,
            title=title,
            journal=self.journal(doc, meta),
            publisher=first(meta, "citation_publisher", "dc.publisher") or self.publisher,
            year=int(published[:4]) if published else None,
            published=published,
            authors=self.authors(doc, meta),
            abstract=self.abstract(doc, meta),
            keywords=self.keywords(meta),
            license_spdx=lic_id,
            license_url=canonical_license_url(lic_url),
            is_open_access=self.open_access(doc, lic_id),
            url=page_url or (f"https://doi.org/{doi}" if doi else None),
            pdf_url=first(meta, "citation_pdf_url"),
            page_format=self.page_format,
            # Relative image links resolve against the page's own address, else the publisher's site.
            figures=list(self.figures(doc, page_url or self.base_url)),
        )

    # -- parts a publisher may override --------------------------------------

    def doi(self, doc: lxml.html.HtmlElement, meta: dict[str, list[str]]) -> str | None:
        return normalise_doi(first(meta, "citation_doi", "dc.identifier", "prism.doi", "doi"))

    def alternative_id(self, doc: lxml.html.HtmlElement, meta: dict[str, list[str]]) -> str | None:
        """An id for pages that carry no DOI ('pii:S0143…', 'arxiv:2101.00001')."""
        return None

    def title(self, doc: lxml.html.HtmlElement, meta: dict[str, list[str]]) -> str | None:
        if self.title_css and (els := doc.cssselect(self.title_css)):
            return text_of(els[0]) or None
        return first(meta, "citation_title", "dc.title", "og:title")

    def journal(self, doc: lxml.html.HtmlElement, meta: dict[str, list[str]]) -> str | None:
        return first(meta, "citation_journal_title", "prism.publicationname")

    def authors(self, doc: lxml.html.HtmlElement, meta: dict[str, list[str]]) -> list[str]:
        return meta.get("citation_author", []) or meta.get("dc.creator", [])

    def abstract(self, doc: lxml.html.HtmlElement, meta: dict[str, list[str]]) -> str | None:
        if self.abstract_css and (els := doc.cssselect(self.abstract_css)):
            return " ".join(t for t in map(text_of, outermost(els)) if t) or None
        return first(meta, "citation_abstract", "dc.description", "description")

    def keywords(self, meta: dict[str, list[str]]) -> list[str]:
        words = []
        for v in meta.get("citation_keywords", []):
            words += [w.strip() for w in re.split(r"[;,]", v) if w.strip()]
        return words or meta.get("dc.subject", [])

    def license(self, doc: lxml.html.HtmlElement) -> tuple[str | None, str | None]:
        """(licence URL, licence statement) as the page gives them."""
        url = next((a.get("href").strip() for a in doc.cssselect(self.license_css) if a.get("href")), None)
        text = None
        if self.license_text_css and (els := doc.cssselect(self.license_text_css)):
            text = text_of(els[0])
        return url, text

    def open_access(self, doc: lxml.html.HtmlElement, spdx: str | None) -> bool | None:
        return is_open(spdx)

    def figures(self, doc: lxml.html.HtmlElement, base_url: str | None) -> Iterator[FigureRef]:
        seen: set[tuple[str, int]] = set()
        for box in doc.cssselect(self.figure_css):
            parts = (text_of(el) for el in outermost(box.cssselect(self.figure_caption_css)))
            label_text = text_of(_first(box, self.figure_label_css)) if self.figure_label_css else ""
            label, title = split_label(label_text.replace("\xa0", " "))
            caption_label, caption = split_label(" ".join(t for t in parts if t))
            label = label or caption_label
            parsed = parse_figure_label(label or "")
            if parsed is None:
                continue  # graphical abstract, TOC art: not a numbered figure
            kind, number = parsed
            if (kind, number) in seen:  # pages repeat figures (carousels, lightboxes)
                continue
            seen.add((kind, number))
            fig_title: str | None = title or None
            if not fig_title and self.figure_title_attr:
                fig_title = clean_text(box.get(self.figure_title_attr)) or None
                if fig_title and parse_figure_label(fig_title) and split_label(fig_title)[1] == "":
                    fig_title = None
            yield FigureRef(kind=kind, number=number, figure_label=label, title=fig_title,
                            caption=caption or fig_title or "", image_url=self.image_url(box, base_url))

    def image_url(self, box: etree._Element, base_url: str | None) -> str | None:
        if self.figure_hires_css:
            for a in box.cssselect(self.figure_hires_css):
                if href := (a.get("href") or a.get("data-lg-src")):
                    return absolute_url(href.strip(), base_url)
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
    # A saved page that opens <html> closes it; a download cut short does not, and
    # lxml would silently "repair" it into a page missing its later figures.
    # (Saved body fragments, with no <html> at all, are read as they are.)
    if b"<html" in data[:4096].lower() and b"</html" not in data[-65536:].lower():
        raise TruncatedPageError(source, "page ends before </html> (interrupted download?)")
    text = re.sub(r"^\s*<\?xml[^>]*\?>", "", decode_html(data))  # lxml refuses str with an XML declaration
    try:
        return lxml.html.document_fromstring(text)
    except (etree.ParserError, ValueError) as e:
        raise UnreadablePageError(source, f"not parseable as HTML ({e})") from e


_CHARSET = re.compile(rb"""<meta[^>]+charset=["']?([\w-]+)""", re.IGNORECASE)


def decode_html(data: bytes) -> str:
    """Bytes → text by BOM, then the page's declared charset, then UTF-8.

    lxml's own guess is Latin-1 when a saved page lacks a charset declaration,
    which turns 'Ag–Pd' into 'Agâ\\x80\\x93Pd'; saved pages are nearly always UTF-8.
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


def doi_in_links(doc: lxml.html.HtmlElement, css: str, prefix: str = "10.") -> str | None:
    """The DOI in the first link matching ``css`` (share, citation-export or figure-download links)."""
    for a in doc.cssselect(css):
        href = a.get("href") or ""
        m = re.search(r"(10\.\d{4,9}(?:/|%2F)[^&#?\"'\s]+)", href)
        if m and m.group(1).startswith(prefix):
            return normalise_doi(m.group(1).replace("%2F", "/"))
    return None


def outermost(elements: list[etree._Element]) -> list[etree._Element]:
    """Drop elements nested in another of the list (a caption ``div`` and its own ``p``), keeping order."""
    chosen = set(elements)
    return [el for el in elements if not any(a in chosen for a in el.iterancestors())]


def _first(box: etree._Element, css: str) -> etree._Element | None:
    found = box.cssselect(css)
    return found[0] if found else None

"""Sources of articles and the readers that parse their pages.

``read_article`` picks the reader for a page: by root element for XML (JATS,
Elsevier's full-text API), otherwise the first HTML reader whose ``detect``
recognises it. Adding a publisher is adding a declarative reader module and
listing it in ``HTML_READERS``.
"""

from __future__ import annotations

from ingest.errors import NotAnArticleError
from ingest.sources.acs import AcsReader
from ingest.sources.aip import AipReader
from ingest.sources.article import Article, FigureRef
from ingest.sources.arxiv import ArxivHtmlReader
from ingest.sources.elsevier import ElsevierHtmlReader, ElsevierXmlReader
from ingest.sources.jats import JatsReader, looks_like_xml, parse_xml
from ingest.sources.nature import NatureReader
from ingest.sources.nature_legacy import NatureLegacyReader
from ingest.sources.reader import HtmlReader, meta_tags, parse_html
from ingest.sources.rsc import RscReader
from ingest.sources.springer import SpringerReader
from ingest.sources.wiley import WileyReader

# Order matters: the first reader whose detect() accepts a page reads it.
HTML_READERS: tuple[type[HtmlReader], ...] = (
    NatureReader, NatureLegacyReader, SpringerReader, AcsReader, RscReader, WileyReader, AipReader,
    ElsevierHtmlReader, ArxivHtmlReader,
)

__all__ = ["Article", "FigureRef", "read_article", "HTML_READERS"]


def read_article(data: bytes, source: str) -> Article:
    """Parse one article page (HTML or XML) with the reader that recognises it.

    Raises an ``InputError`` subclass naming ``source`` when the page is
    empty, truncated, malformed or not an article a reader recognises.
    """
    if looks_like_xml(data):
        root = parse_xml(data, source)
        if ElsevierXmlReader.detect(root):
            return ElsevierXmlReader().read(data, source, root)
        return JatsReader().read(data, source, root)
    doc = parse_html(data, source)
    meta = meta_tags(doc)
    for reader in HTML_READERS:
        if reader.detect(doc, meta):
            return reader().read(data, source, doc)
    known = ", ".join(r.page_format for r in HTML_READERS) + ", jats, elsevier-xml"
    raise NotAnArticleError(source, f"no reader recognises this page (readers: {known})")

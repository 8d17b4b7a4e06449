"""Sources of articles and the readers that parse their pages.

``read_article`` picks the reader for a page: JATS for XML, otherwise the
first HTML reader whose ``detect`` recognises it. Adding a publisher is
adding a declarative reader module and listing it in ``HTML_READERS``.
"""

from __future__ import annotations

from ingest.errors import NotAnArticleError
from ingest.sources.article import Article, FigureRef
from ingest.sources.jats import JatsReader, looks_like_xml, parse_xml
from ingest.sources.nature import NatureReader
from ingest.sources.reader import HtmlReader, meta_tags, parse_html

HTML_READERS: tuple[type[HtmlReader], ...] = (NatureReader,)

__all__ = ["Article", "FigureRef", "read_article", "HTML_READERS"]


def read_article(data: bytes, source: str) -> Article:
    """Parse one saved article page (HTML or JATS XML).

    Raises an ``InputError`` subclass naming ``source`` when the page is
    empty, truncated, malformed or not an article a reader recognises.
    """
    if looks_like_xml(data):
        return JatsReader().read(data, source, parse_xml(data, source))
    doc = parse_html(data, source)
    meta = meta_tags(doc)
    for reader in HTML_READERS:
        if reader.detect(doc, meta):
            return reader().read(data, source, doc)
    known = ", ".join(r.page_format for r in HTML_READERS) + ", jats"
    raise NotAnArticleError(source, f"no reader recognises this page (readers: {known})")

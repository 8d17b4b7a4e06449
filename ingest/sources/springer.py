"""Springer (link.springer.com) article HTML. Springer's API XML is JATS (``jats.py``)."""

from __future__ import annotations

import lxml.html

from ingest.sources.query import Query
from ingest.sources.reader import HtmlReader, first
from ingest.sources.search import Search


class SpringerReader(HtmlReader):
    page_format = "springer-html"
    publisher = "Springer"
    base_url = "https://link.springer.com"

    figure_css = "figure"
    figure_label_css = "span.CaptionNumber, figcaption b"
    figure_caption_css = "div.CaptionContent p, figcaption p"
    figure_hires_css = 'div.MediaObject a[href*="/original/"], a[href*="/full/"]'
    abstract_css = "section.Abstract, section#Abs1"

    @classmethod
    def detect(cls, doc: lxml.html.HtmlElement, meta: dict[str, list[str]]) -> bool:
        springer = "springer" in (first(meta, "citation_publisher", "dc.publisher") or "").lower() or bool(
            first(meta, "citation_springer_api_url"))
        return springer and not bool(
            doc.cssselect("[class*='c-article']"))  # current Springer Nature markup is NatureReader's


class SpringerSearch(Search):
    family = "springer"
    base_url = "https://link.springer.com"
    result_css = "li.app-card-open, ol.content-item-list > li"
    link_css = "h3 a, a.title"
    open_css = "[data-test='open-access'], .c-meta__item--open-access, span.open-access"
    next_css = "a[data-test='next-page'], a.next, a[rel='next']"

    def url(self, terms: tuple[str, ...], query: Query, page: int) -> str:
        sort = "newestFirst" if query.sortby == "recent" else "relevance"
        url = f"{self.base_url}/search?query={self.quoted(terms)}&content-type=Article&sortBy={sort}&page={page}"
        if query.open_only:
            url += "&openAccess=true"
        if query.year_from or query.year_to:
            url += f"&date=custom&dateFrom={query.year_from or ''}&dateTo={query.year_to or ''}"
        return url

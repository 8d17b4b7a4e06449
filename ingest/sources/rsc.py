"""Royal Society of Chemistry (pubs.rsc.org) article HTML."""

from __future__ import annotations

import lxml.html

from ingest.sources.query import Query
from ingest.sources.reader import HtmlReader, first
from ingest.sources.search import Search


class RscReader(HtmlReader):
    page_format = "rsc-html"
    publisher = "Royal Society of Chemistry"
    base_url = "https://pubs.rsc.org"

    figure_css = "div.image_table"
    figure_label_css = "td.image_title b"
    figure_caption_css = "span.graphic_title"
    abstract_css = "div.abstract p, p.abstract"
    license_css = 'a[rel~="license"], a[href*="creativecommons.org/licenses"]'

    @classmethod
    def detect(cls, doc: lxml.html.HtmlElement, meta: dict[str, list[str]]) -> bool:
        return (first(meta, "citation_doi", "dc.identifier") or "").startswith("10.1039/") or bool(
            doc.cssselect("div.image_table span.graphic_title"))


class RscSearch(Search):
    family = "rsc"
    base_url = "https://pubs.rsc.org"
    result_css = "div.capsule--article"
    link_css = "a.capsule__action"
    open_css = ".capsule__context .open-access, img[alt='Open Access']"
    next_css = "a.paging__btn--next, a[title='Next page']"
    doi_css = "a[href*='doi.org/10.']"

    def url(self, terms: tuple[str, ...], query: Query, page: int) -> str:
        sort = "Latest%20to%20oldest" if query.sortby == "recent" else "Relevance"
        url = (f"{self.base_url}/en/results?searchtext={self.quoted(terms)}&SortBy={sort}&PageSize=50"
               f"&PageNumber={page}&tab=all&fcategory=all&filter=all")
        if query.open_only:
            url += "&Article%20Access=Open+Access"
        if query.year_from or query.year_to:
            url += f"&DateFrom={query.year_from or ''}&DateTo={query.year_to or ''}"
        return url

    def article_url(self, url: str) -> str:
        # Results link the landing page; the full text (with figures) is "articlehtml".
        return url.replace("/articlelanding/", "/articlehtml/").split("?")[0]

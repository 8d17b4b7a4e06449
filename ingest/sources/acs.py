"""ACS Publications (pubs.acs.org) article HTML (Atypon Literatum). ACS full-text XML is JATS (``jats.py``)."""

from __future__ import annotations

import lxml.html

from ingest.sources.query import Query
from ingest.sources.reader import HtmlReader, first
from ingest.sources.search import Search


class AcsReader(HtmlReader):
    page_format = "acs-html"
    publisher = "American Chemical Society"
    base_url = "https://pubs.acs.org"

    figure_css = "div.figure"
    figure_caption_css = "div.caption"  # "Figure 1. Key data for…": the label leads the caption
    abstract_css = "p.articleBody_abstractText, div.hlFld-Abstract"
    license_css = 'a[rel~="license"], a[href*="creativecommons.org/licenses"]'

    @classmethod
    def detect(cls, doc: lxml.html.HtmlElement, meta: dict[str, list[str]]) -> bool:
        doi = first(meta, "citation_doi", "dc.identifier") or ""
        return doi.startswith("10.1021/") or "american chemical society" in (first(meta, "dc.publisher") or "").lower()

    def journal(self, doc: lxml.html.HtmlElement, meta: dict[str, list[str]]) -> str | None:
        if j := super().journal(doc, meta):
            return j
        el = doc.cssselect("#citation cite, .citation cite")
        return el[0].text_content().strip() if el else None


class AtyponSearch(Search):
    """Atypon Literatum search (pubs.acs.org, onlinelibrary.wiley.com)."""

    result_css = "div.issue-item, li.search__item"
    link_css = ".issue-item_title a, h2 a.publication_title, a.publication_title, h5 a"
    open_css = ".icon-open-access, .open-access, .access-type--open"
    next_css = "a.pagination__btn--next"
    doi_css = "a[href*='/doi/10.']"

    def url(self, terms: tuple[str, ...], query: Query, page: int) -> str:
        sort = "Earliest" if query.sortby == "recent" else "relevancy"
        url = (f"{self.base_url}/action/doSearch?AllField={self.quoted(terms)}&sortBy={sort}"
               f"&startPage={page - 1}&pageSize=20")
        if query.year_from:
            url += f"&AfterYear={query.year_from}"
        if query.year_to:
            url += f"&BeforeYear={query.year_to}"
        return url


class AcsSearch(AtyponSearch):
    family = "acs"
    base_url = "https://pubs.acs.org"

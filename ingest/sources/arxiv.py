"""arXiv: the HTML rendering of a paper (arxiv.org/html/<id>, LaTeXML markup) and its Atom API entries.

arXiv has no DOI for most preprints; the arXiv id identifies them
('arxiv:2401.01234'). The licence is per paper (the API's ``arxiv:license``
link, or the HTML page's licence link).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import quote_plus

import lxml.html
from lxml import etree

from ingest.errors import UnreadablePageError
from ingest.sources.article import FigureRef
from ingest.sources.query import Query
from ingest.sources.reader import HtmlReader, clean_text, first, text_of
from ingest.sources.search import Hit, Search, SearchPage

ARXIV_ID = re.compile(r"(\d{4}\.\d{4,5}|[a-z-]+(?:\.[A-Z]{2})?/\d{7})(v\d+)?")


class ArxivHtmlReader(HtmlReader):
    page_format = "arxiv-html"
    publisher = "arXiv"
    base_url = "https://arxiv.org/html/"

    figure_css = "figure.ltx_figure"
    figure_caption_css = "figcaption"  # "Figure 1: …"
    figure_image_css = "img.ltx_graphics"
    title_css = "h1.ltx_title_document"
    abstract_css = "div.ltx_abstract p"
    license_css = 'a[rel~="license"], a[href*="creativecommons.org/licenses"], a[href*="arxiv.org/licenses"]'

    @classmethod
    def detect(cls, doc: lxml.html.HtmlElement, meta: dict[str, list[str]]) -> bool:
        return bool(doc.cssselect("article.ltx_document, div.ltx_page_main"))

    def alternative_id(self, doc: lxml.html.HtmlElement, meta: dict[str, list[str]]) -> str | None:
        for candidate in (first(meta, "citation_arxiv_id", "og:url"), _canonical(doc)):
            if candidate and (m := ARXIV_ID.search(candidate)):
                return f"arxiv:{m.group(1)}"
        return None

    def authors(self, doc: lxml.html.HtmlElement, meta: dict[str, list[str]]) -> list[str]:
        return super().authors(doc, meta) or [text_of(a) for a in doc.cssselect("span.ltx_personname")]

    def figures(self, doc: lxml.html.HtmlElement, base_url: str | None) -> Iterator[FigureRef]:
        # The page is served as <id>/ (a folder): its images are relative to it.
        return super().figures(doc, base_url.rstrip("/") + "/" if base_url else base_url)


def _canonical(doc: lxml.html.HtmlElement) -> str | None:
    for link in doc.iter("link"):
        if (link.get("rel") or "") == "canonical":
            return link.get("href")
    return None


ATOM = "{http://www.w3.org/2005/Atom}"
ARXIV_NS = "{http://arxiv.org/schemas/atom}"
OPENSEARCH = "{http://a9.com/-/spec/opensearch/1.1/}"
PAGE_SIZE = 20


class ArxivSearch(Search):
    """The arXiv API (Atom). Full text: the paper's HTML rendering (arxiv.org/html/<id>)."""

    family = "arxiv"
    base_url = "https://export.arxiv.org/api/query"
    expect = ("application/atom+xml", "application/xml", "text/xml")

    def url(self, terms: tuple[str, ...], query: Query, page: int) -> str:
        q = "+AND+".join(f"all:%22{quote_plus(t)}%22" for t in terms)
        sort = "submittedDate" if query.sortby == "recent" else "relevance"
        return (f"{self.base_url}?search_query={q}&start={(page - 1) * PAGE_SIZE}&max_results={PAGE_SIZE}"
                f"&sortBy={sort}&sortOrder=descending")

    def parse(self, body: bytes, url: str) -> SearchPage:
        try:
            feed = etree.fromstring(body, etree.XMLParser(resolve_entities=False, no_network=True))
        except etree.XMLSyntaxError as e:
            raise UnreadablePageError(url, f"not an arXiv Atom feed ({e})") from e
        hits = []
        for entry in feed.iter(f"{ATOM}entry"):
            abs_url = (entry.findtext(f"{ATOM}id") or "").strip()
            m = ARXIV_ID.search(abs_url)
            if not m:
                continue
            doi = entry.findtext(f"{ARXIV_NS}doi")
            hits.append(Hit(f"https://arxiv.org/html/{m.group(1)}{m.group(2) or ''}", doi.strip() if doi else None,
                            None, clean_text(entry.findtext(f"{ATOM}title"))))
        total = int(feed.findtext(f"{OPENSEARCH}totalResults") or 0)
        start = int(feed.findtext(f"{OPENSEARCH}startIndex") or 0)
        next_url = None
        if hits and start + len(hits) < total:
            next_url = url.replace(f"start={start}", f"start={start + len(hits)}")
        return SearchPage(hits, next_url)

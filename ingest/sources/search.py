"""Publisher search: from keyword terms to article URLs, page by page.

A publisher's search is declared like its reader: a URL template and CSS
selectors for result items, their article link, an open-access badge and the
next-page link; JSON/Atom APIs (PMC E-utilities, arXiv, Elsevier) override
``parse``. ``Search.url`` builds the real query URL of the publisher; tests
point the crawler at a replay server through the HTTP client's URL rewrites,
not by changing these URLs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar
from urllib.parse import quote_plus, urljoin

from ingest.sources.article import normalise_doi
from ingest.sources.query import Query
from ingest.sources.reader import doi_in_links, parse_html, text_of


@dataclass(frozen=True)
class Hit:
    """One search result: where its full text is, and what the result page already says."""

    url: str
    doi: str | None = None
    open_access: bool | None = None
    title: str | None = None


@dataclass
class SearchPage:
    hits: list[Hit] = field(default_factory=list)
    next_url: str | None = None


class Search:
    """A publisher's search page. Subclasses declare the URL and the result selectors."""

    family: ClassVar[str]
    base_url: ClassVar[str]
    expect: ClassVar[tuple[str, ...]] = ("text/html",)
    article_expect: ClassVar[tuple[str, ...]] = ("text/html", "application/xhtml")
    result_css: ClassVar[str] = ""
    link_css: ClassVar[str] = "a"
    open_css: ClassVar[str | None] = None
    next_css: ClassVar[str | None] = None
    doi_css: ClassVar[str | None] = None

    def __init__(self, api_key: str | None = None) -> None:
        self.api_key = api_key

    def url(self, terms: tuple[str, ...], query: Query, page: int) -> str:
        raise NotImplementedError

    @staticmethod
    def quoted(terms: tuple[str, ...]) -> str:
        """'"Ag nanoparticle" "HAADF-STEM"' URL-encoded: every phrase must appear."""
        return quote_plus(" ".join(f'"{t}"' for t in terms))

    def parse(self, body: bytes, url: str) -> SearchPage:
        doc = parse_html(body, url)
        hits = []
        for item in doc.cssselect(self.result_css):
            links = [a for a in item.cssselect(self.link_css) if a.get("href")]
            if not links:
                continue
            open_flag = bool(item.cssselect(self.open_css)) if self.open_css else None
            doi = doi_in_links(item, self.doi_css) if self.doi_css else None
            hits.append(Hit(self.article_url(urljoin(url, links[0].get("href"))), doi, open_flag, text_of(links[0])))
        nxt = doc.cssselect(self.next_css) if self.next_css else []
        next_url = urljoin(url, nxt[0].get("href")) if nxt and nxt[0].get("href") else None
        return SearchPage(hits, next_url)

    def article_url(self, url: str) -> str:
        """The URL of the full-text page for a result link (publishers link abstracts)."""
        return url


def doi_from_url(url: str) -> str | None:
    return normalise_doi(url) if "/10." in url else None

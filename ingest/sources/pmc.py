"""PubMed Central Open Access: E-utilities search, full text as JATS from efetch.

Search: ``esearch.fcgi?db=pmc`` (JSON) restricted to the open-access subset;
each hit's full text is ``efetch.fcgi?db=pmc&id=…`` — a ``pmc-articleset``
holding one JATS ``<article>``, which ``jats.py`` reads. NCBI asks for at
most 3 requests a second without an API key (10 with one): keep
``rate_limit_s`` ≥ 0.34 for eutils.ncbi.nlm.nih.gov.
"""

from __future__ import annotations

import json
from urllib.parse import quote_plus

from ingest.errors import UnreadablePageError
from ingest.sources.query import Query
from ingest.sources.search import Hit, Search, SearchPage

EUTILS = "https://eutils.ncbi.nlm.nih.gov/entrez/eutils"
PAGE_SIZE = 20


class PmcSearch(Search):
    family = "pmc"
    base_url = EUTILS
    expect = ("application/json", "text/plain")
    article_expect = ("text/xml", "application/xml")

    def url(self, terms: tuple[str, ...], query: Query, page: int) -> str:
        term = " AND ".join(f'"{t}"' for t in terms) + " AND open access[filter]"
        sort = "pub+date" if query.sortby == "recent" else "relevance"
        url = (f"{EUTILS}/esearch.fcgi?db=pmc&retmode=json&retmax={PAGE_SIZE}&retstart={(page - 1) * PAGE_SIZE}"
               f"&sort={sort}&term={quote_plus(term)}")
        if query.year_from or query.year_to:
            url += f"&datetype=pdat&mindate={query.year_from or 1800}&maxdate={query.year_to or 3000}"
        if self.api_key:
            url += f"&api_key={self.api_key}"
        return url

    def parse(self, body: bytes, url: str) -> SearchPage:
        try:
            result = json.loads(body)["esearchresult"]
            ids, count, start = result["idlist"], int(result["count"]), int(result["retstart"])
        except (ValueError, KeyError) as e:
            raise UnreadablePageError(url, f"not an E-utilities search result ({e})") from e
        hits = [Hit(f"{EUTILS}/efetch.fcgi?db=pmc&id={i}" + (f"&api_key={self.api_key}" if self.api_key else ""),
                    open_access=True) for i in ids]
        next_url = None
        if start + len(ids) < count and ids:
            next_url = url.replace(f"retstart={start}", f"retstart={start + len(ids)}")
        return SearchPage(hits, next_url)

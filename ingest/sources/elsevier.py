"""Elsevier: ScienceDirect article HTML, and the full-text API's XML (``ce:`` schema).

Saved ScienceDirect pages may carry no DOI at all; their PII (in every figure
link) identifies the article instead ('pii:S0143720816310816'). The API XML
gives the DOI, open-access flags and licence in ``coredata`` and each figure as
``ce:figure`` (``ce:label``, ``ce:caption``, ``ce:link locator``), whose image
URL is the matching ``objects/object`` of category "standard".
"""

from __future__ import annotations

import json
import re
from urllib.parse import quote_plus

import lxml.html
from lxml import etree

from ingest.errors import NotAnArticleError, UnreadablePageError
from ingest.sources.article import Article, FigureRef, iso_date, normalise_doi, parse_figure_label
from ingest.sources.licenses import canonical_license_url, license_spdx
from ingest.sources.query import Query
from ingest.sources.reader import HtmlReader, first, text_of
from ingest.sources.search import Hit, Search, SearchPage

SVAPI = "{http://www.elsevier.com/xml/svapi/article/dtd}"
CE = "{http://www.elsevier.com/xml/common/dtd}"
NS = {"sv": SVAPI[1:-1], "ce": CE[1:-1], "dc": "http://purl.org/dc/elements/1.1/",
      "prism": "http://prismstandard.org/namespaces/basic/2.0/", "xlink": "http://www.w3.org/1999/xlink",
      "dcterms": "http://purl.org/dc/terms/"}


class ElsevierHtmlReader(HtmlReader):
    page_format = "sciencedirect-html"
    publisher = "Elsevier"
    base_url = "https://www.sciencedirect.com"

    figure_css = "dl.figure"
    figure_caption_css = "div.caption"  # "Fig. 1. <p>Shapes and sizes…</p>"
    abstract_css = "div.abstract.svAbstract:not(.abstractHighlights) p"
    license_css = 'a[rel~="license"], div.OpenAccessLabel a[href*="creativecommons.org"]'

    @classmethod
    def detect(cls, doc: lxml.html.HtmlElement, meta: dict[str, list[str]]) -> bool:
        return bool(doc.cssselect('dl.figure, img[src*="els-cdn.com"]')) or "sciencedirect" in (
            first(meta, "og:site_name") or "").lower()

    def journal(self, doc: lxml.html.HtmlElement, meta: dict[str, list[str]]) -> str | None:
        # Old ScienceDirect pages put the journal in dc.publisher.
        return super().journal(doc, meta) or first(meta, "dc.publisher")

    def authors(self, doc: lxml.html.HtmlElement, meta: dict[str, list[str]]) -> list[str]:
        names = super().authors(doc, meta)
        if len(names) == 1 and ", ," in names[0]:  # "S. Foletti, , S. Beretta, , M.G. Tarantino,"
            names = [n.strip(" ,") for n in names[0].split(", ,") if n.strip(" ,")]
        return names

    def alternative_id(self, doc: lxml.html.HtmlElement, meta: dict[str, list[str]]) -> str | None:
        # Figure links carry the article's PII; the journal cover image carries an issue PII.
        for el in doc.cssselect("a[data-format]") + doc.cssselect("dl.figure img[src*='els-cdn.com']"):
            value = el.get("data-format") or el.get("src") or ""
            if m := re.search(r"(S[\dX]{16})", value):
                return f"pii:{m.group(1)}"
        return None


class ElsevierXmlReader:
    page_format = "elsevier-xml"

    @staticmethod
    def detect(root: etree._Element) -> bool:
        return root.tag == f"{SVAPI}full-text-retrieval-response"

    def read(self, data: bytes, source: str, root: etree._Element) -> Article:
        core = root.find(f"{SVAPI}coredata")
        if core is None:
            raise NotAnArticleError(source, "Elsevier API response without coredata")

        def c(path: str) -> str | None:
            el = core.find(path, NS)
            return text_of(el) or None if el is not None else None

        doi = normalise_doi(c("prism:doi"))
        pii = c("sv:pii")
        if not doi and not pii:
            raise NotAnArticleError(source, "Elsevier API response without DOI or PII")
        lic = c("sv:openaccessUserLicense")
        spdx = license_spdx(lic, lic)
        published = iso_date(c("prism:coverDate"))
        open_flag = (c("sv:openaccessArticle") or c("sv:openaccess") or "").lower() in ("true", "1")
        return Article(
            doi=doi, alt_id=None if doi else f"pii:{pii}", title=c("dc:title"), journal=c("prism:publicationName"),
            publisher=c("prism:publisher") or "Elsevier", year=int(published[:4]) if published else None,
            published=published, authors=[text_of(a) for a in core.findall("dc:creator", NS)],
            abstract=c("dc:description"), keywords=[text_of(k) for k in core.findall("dcterms:subject", NS)],
            license_spdx=spdx, license_url=canonical_license_url(lic), is_open_access=open_flag,
            url=f"https://doi.org/{doi}" if doi else None, pdf_url=None, page_format=self.page_format,
            figures=self._figures(root),
        )

    @staticmethod
    def _figures(root: etree._Element) -> list[FigureRef]:
        images = {o.get("ref"): (o.text or "").strip() for o in root.iter(f"{SVAPI}object")
                  if o.get("category") == "standard"}
        out, seen = [], set()
        for fig in root.iter(f"{CE}figure"):
            label = text_of(fig.find(f"{CE}label")) or None
            parsed = parse_figure_label(label or "")
            if parsed is None or parsed in seen:
                continue
            seen.add(parsed)
            caption = " ".join(text_of(p) for p in fig.iterfind(f"{CE}caption/{CE}simple-para"))
            link = fig.find(f"{CE}link")
            locator = link.get("locator") if link is not None else None
            url = images.get(locator) if locator else None
            out.append(FigureRef(kind=parsed[0], number=parsed[1], figure_label=label, title=None,
                                 caption=caption or text_of(fig.find(f"{CE}caption")), image_url=url,
                                 image_href=locator))
        return out


class ElsevierSearch(Search):
    """ScienceDirect through Elsevier's APIs (an API key is required; the HTML search needs a browser).

    Search: ``/content/search/sciencedirect`` (JSON); full text: ``/content/article/doi/<doi>``
    as XML (``ElsevierXmlReader``).
    """

    family = "elsevier"
    base_url = "https://api.elsevier.com/content"
    expect = ("application/json",)
    article_expect = ("text/xml", "application/xml")
    page_size = 25

    def url(self, terms: tuple[str, ...], query: Query, page: int) -> str:
        if not self.api_key:
            raise ValueError("the elsevier journal family needs an API key: set sources.web.api_keys.elsevier "
                             "(or $ELSEVIER_API_KEY); see https://dev.elsevier.com")
        q = quote_plus(" AND ".join(f'"{t}"' for t in terms))
        url = f"{self.base_url}/search/sciencedirect?query={q}&start={(page - 1) * self.page_size}" \
              f"&count={self.page_size}&apiKey={self.api_key}"
        if query.open_only:
            url += "&openaccess=1"
        if query.year_from or query.year_to:
            url += f"&date={query.year_from or 1800}-{query.year_to or 3000}"
        return url

    def parse(self, body: bytes, url: str) -> SearchPage:
        try:
            results = json.loads(body)["search-results"]
        except (ValueError, KeyError) as e:
            raise UnreadablePageError(url, f"not an Elsevier search result ({e})") from e
        hits = []
        for entry in results.get("entry", []):
            doi = normalise_doi(entry.get("prism:doi"))
            if doi:
                hits.append(Hit(f"{self.base_url}/article/doi/{doi}?httpAccept=text/xml&apiKey={self.api_key}", doi,
                                str(entry.get("openaccess", "")).lower() in ("1", "true"), entry.get("dc:title")))
        next_url = next((link["@href"] for link in results.get("link", []) if link.get("@ref") == "next"), None)
        return SearchPage(hits, next_url)

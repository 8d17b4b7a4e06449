"""AIP Publishing (pubs.aip.org / scitation) article HTML, including saved body-only pages without meta tags."""

from __future__ import annotations

import lxml.html

from ingest.sources.reader import HtmlReader, doi_in_links, text_of


class AipReader(HtmlReader):
    page_format = "aip-html"
    publisher = "AIP Publishing"
    base_url = "https://pubs.aip.org"

    figure_css = "div.figure"
    figure_caption_css = "div.caption"  # "FIG. 1. Optical (a, c)…"
    figure_hires_css = "a.highRes"
    abstract_css = "div.abstractSection, div.hlFld-Abstract"
    license_css = 'a[rel~="license"], license a[href*="creativecommons.org"], a.ref[href*="creativecommons.org"]'
    license_text_css = "license"

    @classmethod
    def detect(cls, doc: lxml.html.HtmlElement, meta: dict[str, list[str]]) -> bool:
        return bool(doc.cssselect('a[href*="downloadFigures?doi=10.1063"], a[href*="/doi/10.1063/"]'))

    def doi(self, doc: lxml.html.HtmlElement, meta: dict[str, list[str]]) -> str | None:
        return super().doi(doc, meta) or doi_in_links(doc, 'a[href*="downloadFigures?doi="], '
                                                            'a[href*="mendeley.com/import"]', "10.1063/")

    def title(self, doc: lxml.html.HtmlElement, meta: dict[str, list[str]]) -> str | None:
        if t := super().title(doc, meta):
            return t
        for css in ("div.publicationContentTitle h3", "h1.citation__title", "div.now-reading h6"):
            if (els := doc.cssselect(css)) and text_of(els[0]):
                return text_of(els[0])
        return None

"""Older nature.com article markup (2003–2016 pages: ``span.legend``, ``div.figure-table``)."""

from __future__ import annotations

import lxml.html

from ingest.sources.reader import HtmlReader, first


class NatureLegacyReader(HtmlReader):
    page_format = "nature-legacy-html"
    publisher = "Nature Publishing Group"
    base_url = "https://www.nature.com"

    # Three generations: div.figure > figure (2012), figure with span.legend (2014), div.figure-table (2003).
    figure_css = "div.figure, figure, div.figure-table"
    figure_label_css = "span.legend, h3"
    figure_caption_css = "div.description, div.text > p"
    abstract_css = "#abstract p, #abs p, div.abstract p"

    @classmethod
    def detect(cls, doc: lxml.html.HtmlElement, meta: dict[str, list[str]]) -> bool:
        doi = first(meta, "citation_doi", "dc.identifier") or ""
        return "10.1038/" in doi and not doc.cssselect("[class*='c-article']")

"""Wiley Online Library (onlinelibrary.wiley.com) article HTML."""

from __future__ import annotations

import lxml.html

from ingest.sources.acs import AtyponSearch
from ingest.sources.reader import HtmlReader, first


class WileyReader(HtmlReader):
    page_format = "wiley-html"
    publisher = "Wiley"
    base_url = "https://onlinelibrary.wiley.com"

    # Two generations: figure.figure (current) and figure.inline-figure (2014-2017).
    figure_css = "figure.figure, figure.inline-figure"
    figure_label_css = "strong.figure-title, h4.inline-figure__title"
    figure_caption_css = "figcaption > div:not(.figure__caption__header), figcaption p"
    figure_image_attrs = ("data-lg-src", "data-original", "src")
    figure_hires_css = "a[target=_blank][href*='/cms/asset/'], a.inline-figure__image-link"
    abstract_css = "section.article-section__abstract div.article-section__content, div.mainAbstract, section#abstract"
    license_css = 'a[rel~="license"], div.article-section__content a[href*="creativecommons.org/licenses"]'

    @classmethod
    def detect(cls, doc: lxml.html.HtmlElement, meta: dict[str, list[str]]) -> bool:
        return (first(meta, "citation_doi") or "").startswith("10.1002/") or "wiley" in (
            first(meta, "citation_publisher", "dc.publisher") or "").lower()


class WileySearch(AtyponSearch):
    family = "wiley"
    base_url = "https://onlinelibrary.wiley.com"

    def article_url(self, url: str) -> str:
        return url.replace("/doi/abs/", "/doi/full/").replace("/doi/10.", "/doi/full/10.")

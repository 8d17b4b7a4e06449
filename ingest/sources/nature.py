"""Nature Portfolio article pages (nature.com, current markup: 2014 articles re-rendered, 2018-2025).

Figures sit in ``div[data-test="figure"]`` containers; the bold figcaption
holds "Figure 1: Title" (older articles) or just "Fig. 1" (newer, whose title
is the description's first sentence and the container's ``data-title``); the
description below the image is the caption. The licence is the Rights
section's ``rel="license"`` link.
"""

from __future__ import annotations

from typing import ClassVar

import lxml.html

from ingest.sources.reader import HtmlReader, first


class NatureReader(HtmlReader):
    page_format: ClassVar[str] = "nature-html"
    publisher: ClassVar[str | None] = "Springer Nature"

    figure_css = 'div[data-test="figure"], div.c-article-section__figure'
    figure_label_css = 'figcaption [data-test="figure-caption-text"], figcaption'
    figure_caption_css = 'div[data-test="bottom-caption"], div.c-article-section__figure-description'
    figure_image_css = "img"
    figure_title_attr = "data-title"
    abstract_css = "#Abs1-content, section[data-title='Abstract'] div.c-article-section__content"

    @classmethod
    def detect(cls, doc: lxml.html.HtmlElement, meta: dict[str, list[str]]) -> bool:
        doi = first(meta, "citation_doi", "dc.identifier") or ""
        return ("10.1038/" in doi or "nature" in (first(meta, "og:site_name") or "").lower()) and bool(
            doc.cssselect("[class*='c-article']")
        )

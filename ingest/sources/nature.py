"""Nature Portfolio article pages (nature.com, current markup: 2014 articles re-rendered, 2018-2025).

Figures sit in ``div[data-test="figure"]`` containers; the bold figcaption
holds "Figure 1: Title" (older articles) or just "Fig. 1" (newer, whose title
is the description's first sentence and the container's ``data-title``); the
description below the image is the caption. The licence is the Rights
section's ``rel="license"`` link.
"""

from __future__ import annotations

import re
from typing import ClassVar

import lxml.html

from ingest.sources.query import Query
from ingest.sources.reader import HtmlReader, first
from ingest.sources.search import Search

_OPEN_FLAG = re.compile(r'"copyright"\s*:\s*\{\s*"open"\s*:\s*(true|false)')


class NatureReader(HtmlReader):
    page_format: ClassVar[str] = "nature-html"
    publisher: ClassVar[str | None] = "Springer Nature"
    base_url: ClassVar[str | None] = "https://www.nature.com"

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

    def open_access(self, doc: lxml.html.HtmlElement, spdx: str | None) -> bool | None:
        # The page's data layer states it: "copyright":{"open":true|false,...}.
        for script in doc.iter("script"):
            if script.text and (m := _OPEN_FLAG.search(script.text)):
                return m.group(1) == "true"
        return super().open_access(doc, spdx)


class NatureSearch(Search):
    family = "nature"
    base_url = "https://www.nature.com"
    result_css = "li.app-article-list-row__item"
    link_css = "a.c-card__link"
    open_css = '[data-test="open-access"]'
    next_css = '[data-test="page-next"] a'

    def url(self, terms: tuple[str, ...], query: Query, page: int) -> str:
        order = "date_desc" if query.sortby == "recent" else "relevance"
        url = f"{self.base_url}/search?q={self.quoted(terms)}&order={order}&page={page}"
        if query.year_from or query.year_to:
            url += f"&date_range={query.year_from or ''}-{query.year_to or ''}"
        return url

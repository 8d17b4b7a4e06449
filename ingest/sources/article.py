"""What a reader gets out of an article page: typed records, before any stage.

Field names match the columns of ``catalog.schema`` (ARTICLES, FIGURES), so
rows are built by name and ``conform`` catches any drift.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

FIGURE_KINDS = ("figure", "scheme", "chart", "plate")

_LABEL_RE = re.compile(r"\b(fig(?:ure)?|scheme|chart|plate)s?\.?\s*(\d+)", re.IGNORECASE)


def parse_figure_label(label: str) -> tuple[str, int] | None:
    """``'Fig. 3'`` → ``('figure', 3)``; ``'Scheme 1'`` → ``('scheme', 1)``; else None."""
    m = _LABEL_RE.search(label or "")
    if not m:
        return None
    kind = m.group(1).lower()
    return ("figure" if kind.startswith("fig") else kind), int(m.group(2))


@dataclass
class FigureRef:
    """A figure as the page lists it: number, caption and where its image is."""

    kind: str
    number: int
    figure_label: str | None
    title: str | None
    caption: str
    image_url: str | None
    image_href: str | None = None
    """Image reference as written in the page (JATS graphic href); helps find a local copy."""

    def figure_id(self, article_id: str) -> str:
        prefix = "fig" if self.kind == "figure" else self.kind
        return f"{article_id}/{prefix}{self.number}"


@dataclass
class Article:
    """An article's metadata and its figures, as parsed from one page."""

    doi: str | None
    alt_id: str | None
    """id for pages without a DOI: 'pii:S0143720816310816', 'arxiv:2101.00001'"""
    title: str | None
    journal: str | None
    publisher: str | None
    year: int | None
    published: str | None
    authors: list[str]
    abstract: str | None
    keywords: list[str]
    license_spdx: str | None
    license_url: str | None
    is_open_access: bool | None
    url: str | None
    pdf_url: str | None
    page_format: str
    figures: list[FigureRef] = field(default_factory=list)

    @property
    def article_id(self) -> str:
        """The DOI, lower-cased; or the alternative id of a page without one."""
        if self.doi:
            return self.doi.lower()
        assert self.alt_id, "an article has a DOI or an alternative id"
        return self.alt_id

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["article_id"] = self.article_id
        return d


def normalise_doi(raw: str | None) -> str | None:
    """Strip 'doi:' and resolver prefixes: ``'https://doi.org/10.1/x'`` → ``'10.1/x'``."""
    if not raw:
        return None
    m = re.search(r"10\.\d{4,9}/\S+", raw.strip())
    return m.group(0).rstrip(".,;") if m else None


def iso_date(raw: str | None) -> str | None:
    """``'2014/09/11'``, ``'2014-9-1'``, ``'2014'`` → ISO ``YYYY[-MM[-DD]]``; None if no year."""
    if not raw:
        return None
    m = re.search(r"(\d{4})(?:[-/.](\d{1,2}))?(?:[-/.](\d{1,2}))?", raw)
    if not m:
        return None
    y, mo, d = m.groups()
    out = y
    if mo:
        out += f"-{int(mo):02d}"
        if d:
            out += f"-{int(d):02d}"
    return out

"""Search queries: EXSCLAIM!'s query JSON, and more.

EXSCLAIM! users can reuse their files unchanged::

    {"name": "nature-test", "journal_family": "nature", "maximum_scraped": 2, "sortby": "relevant",
     "query": {"search_field_1": {"term": "Ag nanoparticle", "synonyms": ["silver nanoparticle"]}},
     "open": false}

Additions: ``journal_family`` may be a list (several publishers in one query),
``date_range`` (``{"from": 2015, "to": 2020}``, years or ISO dates), and
``licenses`` (SPDX prefixes to keep, e.g. ``["CC-BY", "CC0"]``). Keys figlake
does not use (``save_format``, ``results_dirs``, ...) are kept and ignored, so
one file can drive both tools.

Each ``search_field`` is a family of words (the term and its synonyms): an
article must match one word of every family. ``search_terms()`` expands the
families into the keyword combinations searched, as EXSCLAIM! does.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

JOURNAL_FAMILIES = ("nature", "acs", "rsc", "springer", "elsevier", "wiley", "pmc", "arxiv")


class QueryError(ValueError):
    """The query file is malformed; the message names the file and the field."""


@dataclass(frozen=True)
class KeywordFamily:
    term: str
    synonyms: tuple[str, ...] = ()

    @property
    def words(self) -> tuple[str, ...]:
        return (self.term, *self.synonyms)


@dataclass(frozen=True)
class Query:
    name: str
    journal_families: tuple[str, ...]
    families: tuple[KeywordFamily, ...]
    maximum_scraped: int = 100
    sortby: str = "relevant"
    """relevant or recent"""
    open_only: bool = False
    year_from: int | None = None
    year_to: int | None = None
    licenses: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def search_terms(self, limit: int = 50) -> list[tuple[str, ...]]:
        """Keyword combinations to search: one word from each family, the terms' combination first."""
        combos = list(itertools.product(*(f.words for f in self.families)))
        return combos[:limit]

    def keywords(self) -> list[str]:
        return [w for f in self.families for w in f.words]


def _year(value: Any, where: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(str(value)[:4])
    except ValueError as e:
        raise QueryError(f"{where}: not a year or date: {value!r}") from e


def parse_query(data: dict[str, Any], source: str = "query") -> Query:
    """Validate a query dict (EXSCLAIM! format, or figlake's superset)."""
    def need(key: str) -> Any:
        if key not in data:
            raise QueryError(f"{source}: missing field '{key}'")
        return data[key]

    families_raw = need("query")
    if not isinstance(families_raw, dict) or not families_raw:
        raise QueryError(f"{source}: 'query' must be a non-empty object of search fields")
    families = []
    for key in sorted(families_raw, key=lambda k: (len(k), k)):  # search_field_2 before search_field_10
        f = families_raw[key]
        if not isinstance(f, dict) or not str(f.get("term", "")).strip():
            raise QueryError(f"{source}: query.{key} needs a non-empty 'term'")
        synonyms = tuple(str(s).strip() for s in f.get("synonyms") or [] if str(s).strip())
        families.append(KeywordFamily(str(f["term"]).strip(), synonyms))
    raw_families = need("journal_family")
    jf = tuple(s.lower() for s in ([raw_families] if isinstance(raw_families, str) else raw_families))
    unknown = [j for j in jf if j not in JOURNAL_FAMILIES]
    if unknown or not jf:
        raise QueryError(f"{source}: unknown journal_family {unknown or jf}; known: {', '.join(JOURNAL_FAMILIES)}")
    sortby = str(data.get("sortby", "relevant")).lower()
    if sortby not in ("relevant", "recent"):
        raise QueryError(f"{source}: sortby must be 'relevant' or 'recent', not {sortby!r}")
    maximum = data.get("maximum_scraped", 100)
    if not isinstance(maximum, int) or maximum < 1:
        raise QueryError(f"{source}: maximum_scraped must be a positive integer")
    dates = data.get("date_range") or {}
    known = {"name", "journal_family", "maximum_scraped", "sortby", "query", "open", "date_range", "licenses"}
    return Query(
        name=str(data.get("name") or "query"),
        journal_families=jf,
        families=tuple(families),
        maximum_scraped=maximum,
        sortby=sortby,
        open_only=bool(data.get("open", False)),
        year_from=_year(dates.get("from"), f"{source}: date_range.from"),
        year_to=_year(dates.get("to"), f"{source}: date_range.to"),
        licenses=tuple(data.get("licenses") or ()),
        extra={k: v for k, v in data.items() if k not in known},
    )


def load_query(path: Path | str) -> Query:
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise QueryError(f"{path}: no such query file") from e
    except json.JSONDecodeError as e:
        raise QueryError(f"{path}: not valid JSON ({e.msg}, line {e.lineno})") from e
    if not isinstance(data, dict):
        raise QueryError(f"{path}: expected a JSON object")
    return parse_query(data, str(path))

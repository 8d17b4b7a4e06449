"""The crawler: a query → search pages → article pages and figure images on disk.

What it writes is a folder of saved pages that the ``local`` reader reads, so
one parsing path serves saved pages and crawled ones::

    <out>/<family>/<article>.html|xml          the page as served
    <out>/<family>/<article>.meta.json         where and when it came from (url, family, query, retrieved_at)
    <out>/<family>/figures/<article>_fig<N>.*  figure images (only for licences in ``image_licenses``)

State lives in SQLite (``state``): every search page and article URL with its
status, so a killed crawl resumes where it stopped, never fetches an article
twice (URLs and DOIs are unique), and a rerun with the same query costs no
requests (the HTTP client's cache answers). Files are written atomically
before the state records them. Failures (HTTP errors after retries, robots.txt
refusals, pages no reader understands, bad images) are recorded with the
reason; the crawl goes on.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tqdm import tqdm

from ingest.errors import InputError
from ingest.images import inspect_image
from ingest.sources import read_article
from ingest.sources.acs import AcsSearch
from ingest.sources.article import Article
from ingest.sources.arxiv import ArxivSearch
from ingest.sources.elsevier import ElsevierSearch
from ingest.sources.http import PoliteClient
from ingest.sources.nature import NatureSearch
from ingest.sources.pmc import PmcSearch
from ingest.sources.query import Query
from ingest.sources.rsc import RscSearch
from ingest.sources.search import Hit, Search
from ingest.sources.springer import SpringerSearch
from ingest.sources.wiley import WileySearch

log = logging.getLogger(__name__)

SEARCHES: dict[str, type[Search]] = {s.family: s for s in (
    NatureSearch, AcsSearch, RscSearch, SpringerSearch, ElsevierSearch, WileySearch, PmcSearch, ArxivSearch)}
REDISTRIBUTABLE = ("CC-BY", "CC-BY-SA", "CC0", "LicenseRef-Public-Domain", "LicenseRef-Public-Domain-Mark")
IMAGE_TYPES = ("image/",)


def license_allowed(spdx: str | None, allowed: tuple[str, ...]) -> bool:
    """``CC-BY-4.0`` matches ``CC-BY``; ``CC-BY-NC-4.0`` does not (the family must match exactly)."""
    if not allowed:
        return True
    if not spdx:
        return False
    family = re.sub(r"-\d+(\.\d+)*$", "", spdx)
    return any(spdx == a or family == a for a in allowed)


def safe_name(article_id: str) -> str:
    return re.sub(r"[^\w.-]+", "_", article_id).strip("_")


@dataclass
class CrawlReport:
    searched_pages: int = 0
    fetched: int = 0
    failed: int = 0
    duplicates: int = 0
    skipped: int = 0
    images: int = 0
    images_withheld: int = 0
    requests: int = 0
    by_family: dict[str, int] = field(default_factory=dict)


class CrawlState:
    """Search pages and articles seen, in SQLite: the crawl's memory across kills and reruns."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, isolation_level=None)  # autocommit; explicit transactions below
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript("""
            CREATE TABLE IF NOT EXISTS searches (
                url TEXT PRIMARY KEY, family TEXT, terms TEXT, next_url TEXT, hits INTEGER, at TEXT);
            CREATE TABLE IF NOT EXISTS articles (
                url TEXT PRIMARY KEY, family TEXT, seq INTEGER, doi TEXT, article_id TEXT,
                status TEXT, error_type TEXT, error TEXT, path TEXT, at TEXT);
            CREATE UNIQUE INDEX IF NOT EXISTS articles_id ON articles(article_id) WHERE status = 'fetched';
            CREATE TABLE IF NOT EXISTS problems (item TEXT PRIMARY KEY, error_type TEXT, error TEXT, at TEXT);
        """)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    def search(self, url: str) -> tuple[str | None] | None:
        return self.db.execute("SELECT next_url FROM searches WHERE url = ?", (url,)).fetchone()

    def record_search(self, url: str, family: str, terms: tuple[str, ...], hits: list[Hit], next_url: str | None,
                      failed: str | None = None) -> None:
        now = datetime.now(UTC).isoformat()
        with self.transaction() as db:
            start = db.execute("SELECT coalesce(max(seq), 0) FROM articles").fetchone()[0]
            for i, h in enumerate(hits, start=1):
                db.execute("INSERT OR IGNORE INTO articles(url, family, seq, doi, status, at) "
                           "VALUES (?, ?, ?, ?, 'pending', ?)", (h.url, family, start + i, h.doi, now))
            db.execute("INSERT OR REPLACE INTO searches VALUES (?, ?, ?, ?, ?, ?)",
                       (url, family, json.dumps(terms), None if failed else next_url, len(hits), now))

    def pending(self, family: str) -> list[tuple[str, str | None]]:
        return self.db.execute("SELECT url, doi FROM articles WHERE family = ? AND status = 'pending' ORDER BY seq",
                               (family,)).fetchall()

    def fetched(self, family: str) -> int:
        return self.db.execute("SELECT count(*) FROM articles WHERE family = ? AND status = 'fetched'",
                               (family,)).fetchone()[0]

    def has_article(self, article_id: str) -> bool:
        return self.db.execute("SELECT 1 FROM articles WHERE article_id = ? AND status = 'fetched'",
                               (article_id,)).fetchone() is not None

    def finish(self, url: str, status: str, article_id: str | None = None, path: str | None = None,
               error: InputError | str | None = None) -> None:
        error_type = type(error).__name__ if isinstance(error, InputError) else ("Note" if error else None)
        with self.transaction() as db:
            db.execute("UPDATE articles SET status = ?, article_id = ?, path = ?, error_type = ?, error = ?, at = ? "
                       "WHERE url = ?", (status, article_id, path, error_type, str(error) if error else None,
                                         datetime.now(UTC).isoformat(), url))

    def record_problem(self, error: InputError) -> None:
        """A failure that is not an article's own (a search page, a figure image)."""
        self.db.execute("INSERT OR REPLACE INTO problems VALUES (?, ?, ?, ?)",
                        (error.item, type(error).__name__, str(error), datetime.now(UTC).isoformat()))

    def failures(self) -> list[dict[str, Any]]:
        """Everything that went wrong or was left out, with the reason: the crawl's quarantine."""
        rows = self.db.execute("SELECT url, error_type, error, at FROM articles WHERE status IN ('failed', 'skipped') "
                               "UNION ALL SELECT item, error_type, error, at FROM problems ORDER BY 1").fetchall()
        return [{"item": u, "error_type": t, "error": e, "at": a} for u, t, e, a in rows]

    def counts(self) -> dict[str, int]:
        return dict(self.db.execute("SELECT status, count(*) FROM articles GROUP BY status").fetchall())


@dataclass
class Crawler:
    query: Query
    client: PoliteClient
    out: Path
    state: CrawlState
    image_licenses: tuple[str, ...] = REDISTRIBUTABLE
    api_keys: dict[str, str] = field(default_factory=dict)
    max_search_pages: int = 50

    def run(self, progress: bool = True) -> CrawlReport:
        report = CrawlReport()
        allowed = self.query.licenses or self.image_licenses
        bar = tqdm(total=self.query.maximum_scraped * len(self.query.journal_families), desc=f"crawl {self.query.name}",
                   unit="article", disable=not progress)
        for family in self.query.journal_families:
            search = SEARCHES[family](self.api_keys.get(family))
            bar.update(self.state.fetched(family))
            for terms in self.query.search_terms():
                url: str | None = search.url(terms, self.query, 1)
                seen: set[str] = set()
                while url and url not in seen and len(seen) < self.max_search_pages:
                    if self.state.fetched(family) >= self.query.maximum_scraped:
                        break
                    seen.add(url)
                    url = self._search_page(search, family, terms, url, report)
                    self._fetch_pending(search, family, allowed, report, bar)
            report.by_family[family] = self.state.fetched(family)
        bar.close()
        counts = self.state.counts()
        report.fetched, report.failed = counts.get("fetched", 0), counts.get("failed", 0)
        report.duplicates, report.skipped = counts.get("duplicate", 0), counts.get("skipped", 0)
        report.requests = self.client.requests_made
        return report

    def _search_page(self, search: Search, family: str, terms: tuple[str, ...], url: str,
                     report: CrawlReport) -> str | None:
        done = self.state.search(url)
        if done is not None:
            return done[0]  # searched before this crawl was interrupted; its hits are in the state
        try:
            page = search.parse(self.client.get(url, search.expect).body, url)
        except InputError as e:
            log.warning("search page failed: %s", e)
            self.state.record_search(url, family, terms, [], None, failed=str(e))
            self.state.record_problem(e)
            return None
        report.searched_pages += 1
        hits = [h for h in page.hits if h.open_access is not False] if self.query.open_only else page.hits
        self.state.record_search(url, family, terms, hits, page.next_url)
        return page.next_url

    def _fetch_pending(self, search: Search, family: str, allowed: tuple[str, ...], report: CrawlReport,
                       bar: tqdm) -> None:
        for url, doi in self.state.pending(family):
            if self.state.fetched(family) >= self.query.maximum_scraped:
                return
            if doi and self.state.has_article(doi.lower()):  # the search already told us; no request needed
                self.state.finish(url, "duplicate", doi.lower(), error=f"same article as an earlier URL ({doi})")
                continue
            status = self._fetch_article(search, family, url, allowed, report)
            if status == "fetched":
                bar.update()

    def _fetch_article(self, search: Search, family: str, url: str, allowed: tuple[str, ...],
                       report: CrawlReport) -> str:
        try:
            resp = self.client.get(url, search.article_expect)
            article = read_article(resp.body, url)
        except InputError as e:
            log.warning("article failed: %s", e)
            self.state.finish(url, "failed", error=e)
            return "failed"
        if self.state.has_article(article.article_id):
            self.state.finish(url, "duplicate", article.article_id, error=f"same article as an earlier URL "
                                                                          f"({article.article_id})")
            return "duplicate"
        if self.query.open_only and article.is_open_access is False:
            self.state.finish(url, "skipped", article.article_id, error="not open access (query has open: true)")
            return "skipped"
        folder = self.out / family
        stem = safe_name(article.article_id)
        suffix = ".xml" if resp.body.lstrip()[:1] == b"<" and b"<html" not in resp.body[:4096].lower() else ".html"
        if license_allowed(article.license_spdx, allowed):
            report.images += self._save_images(article, folder, stem)
        else:
            report.images_withheld += len(article.figures)
        _atomic_write(folder / f"{stem}{suffix}", resp.body)
        meta = {"url": url, "final_url": resp.final_url, "source": family, "query": self.query.name,
                "retrieved_at": datetime.now(UTC).isoformat(), "license_spdx": article.license_spdx}
        _atomic_write(folder / f"{stem}.meta.json", json.dumps(meta, indent=1).encode())
        self.state.finish(url, "fetched", article.article_id, str(folder / f"{stem}{suffix}"))
        return "fetched"

    def _save_images(self, article: Article, folder: Path, stem: str) -> int:
        saved = 0
        for fig in article.figures:
            if not fig.image_url:
                continue
            prefix = "fig" if fig.kind == "figure" else fig.kind
            try:
                resp = self.client.get(fig.image_url, IMAGE_TYPES)
                blob = inspect_image(resp.body, fig.image_url)
            except InputError as e:
                self.state.record_problem(e)
                continue
            ext = {"JPEG": "jpg", "PNG": "png", "GIF": "gif", "TIFF": "tif", "WEBP": "webp"}.get(blob.format, "img")
            _atomic_write(folder / "figures" / f"{stem}_{prefix}{fig.number}.{ext}", resp.body)
            saved += 1
        return saved


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def crawl_metrics(report: CrawlReport, seconds: float) -> dict[str, Any]:
    return {**report.__dict__, "seconds": round(seconds, 1), "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S")}

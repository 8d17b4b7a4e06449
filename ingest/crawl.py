"""The ``crawl`` stage: run the query in ``sources.web.query`` against the publishers.

    python -m ingest.crawl [--params params.yaml] [--query FILE] [--max N]

Pages and images go to ``sources.web.out`` (which ``collect`` reads); the
crawl's state and the HTTP cache live under ``lake.work_root``, so a killed
crawl resumes and a rerun is free. With no query configured (the offline
default) the stage records that and does nothing. Failures are written to
``quarantine/crawl.parquet``; counts to ``metrics/crawl.json``.
"""

from __future__ import annotations

import argparse
import logging
import os
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from catalog.schema import QUARANTINE, conform
from catalog.storage import open_lake
from ingest.config import load_params, section
from ingest.sources.crawl import REDISTRIBUTABLE, Crawler, CrawlState, crawl_metrics
from ingest.sources.http import HttpSettings, PoliteClient
from ingest.sources.query import load_query
from ingest.stage import write_metrics

STAGE = "crawl"
log = logging.getLogger(__name__)
API_KEY_ENV = {"elsevier": "ELSEVIER_API_KEY", "pmc": "NCBI_API_KEY"}


def http_client(params: dict[str, Any]) -> PoliteClient:
    """The polite client configured from ``sources.web.http``, caching under ``lake.work_root``."""
    web = params.get("sources", {}).get("web", {})
    cache = Path(section(params, "lake.work_root")) / "http-cache"
    settings = HttpSettings.from_params(web.get("http", {}), cache)
    if not settings.contact:
        log.warning("sources.web.http.contact is empty: publishers prefer crawlers they can reach")
    return PoliteClient(settings)


def api_keys(web: dict[str, Any]) -> dict[str, str]:
    keys = {k: v for k, v in (web.get("api_keys") or {}).items() if v}
    for family, env in API_KEY_ENV.items():
        if os.environ.get(env) and family not in keys:
            keys[family] = os.environ[env]
    return keys


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--query", help="query JSON (overrides sources.web.query)")
    ap.add_argument("--max", type=int, help="override the query's maximum_scraped")
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    params = load_params(args.params)
    web = section(params, "sources.web")
    lake = open_lake(section(params, "lake.root"))
    out = Path(web["out"])
    out.mkdir(parents=True, exist_ok=True)
    query_file = args.query or web.get("query")
    start = time.monotonic()
    if not query_file:
        print("crawl: no query configured (sources.web.query); nothing to crawl")
        lake.write_quarantine(STAGE, QUARANTINE.empty())
        write_metrics(Path("metrics") / f"{STAGE}.json", {"query": None, "fetched": 0})
        return
    query = load_query(query_file)
    if args.max:
        query = replace(query, maximum_scraped=args.max)
    state = CrawlState(Path(section(params, "lake.work_root")) / "crawl" / f"{query.name}.sqlite")
    crawler = Crawler(query, http_client(params), out, state,
                      tuple(web.get("image_licenses") or REDISTRIBUTABLE), api_keys(web))
    report = crawler.run(progress=not args.no_progress)
    rows = [{"stage": STAGE, **f, "at": datetime.fromisoformat(f["at"])} for f in state.failures()]
    lake.write_quarantine(STAGE, conform(rows, QUARANTINE))
    metrics = {"query": query.name, **crawl_metrics(report, time.monotonic() - start)}
    write_metrics(Path("metrics") / f"{STAGE}.json", metrics)
    print("crawl:", metrics)


if __name__ == "__main__":
    main()

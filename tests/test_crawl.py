"""Crawling over real HTTP: a replay server on 127.0.0.1 serves recorded pages and injected faults."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from conftest import CORPUS, REPO, png_bytes, run_module, write_params
from replay import ReplayServer, Reply, nature_article_page, nature_search_page

from catalog.tables import Lake
from ingest.sources import read_article
from ingest.sources.crawl import Crawler, CrawlState, license_allowed
from ingest.sources.http import (
    FetchError,
    HttpSettings,
    PoliteClient,
    RedirectLoopError,
    ResponseTooLargeError,
    RobotsDisallowedError,
    TruncatedResponseError,
    WrongContentTypeError,
)
from ingest.sources.query import parse_query

FAST = {"rate_limit_s": 0.01, "backoff_s": 0.05, "backoff_max_s": 0.2, "read_timeout_s": 0.5,
        "connect_timeout_s": 1.0, "max_retries": 3}


def settings(server: ReplayServer, cache: Path | None = None, **kw: object) -> HttpSettings:
    rewrites = {"https://www.nature.com": server.url, "https://media.springernature.com": server.url + "/media"}
    return HttpSettings(**{**FAST, **kw}, cache_dir=cache, url_rewrites=rewrites, contact="tests@figlake.invalid")


def serve_article(server: ReplayServer, path: str, page: bytes) -> None:
    """Serve an article page and every figure image it links (the committed JPEGs for real pages)."""
    server.routes[path] = Reply(body=page)
    article = read_article(page, path)
    stem = article.doi.split("/")[1] if article.doi else ""
    for fig in article.figures:
        local = CORPUS / "nature" / "figures" / f"{stem}_fig{fig.number}.jpg"
        body, ctype = (local.read_bytes(), "image/jpeg") if local.exists() else (png_bytes(12, 9), "image/png")
        server.routes["/media" + urlsplit(fig.image_url).path] = Reply(body=body, headers={"Content-Type": ctype})


def fault_server(server: ReplayServer) -> None:
    """Search pages listing real, synthetic and faulty articles; robots.txt; the faults themselves."""
    server.routes["/robots.txt"] = Reply(body=b"User-agent: *\nDisallow: /articles/private\n",
                                         headers={"Content-Type": "text/plain"})
    page1 = ["s41467-018-06211-3", "ncomms5946", "private", "loop-a", "pdf", "flaky", "always-500", "slow"]
    page2 = ["rate-limited", "cut-once", "cut-always", "copy-of-s41467", "t-9"]
    server.routes["/search"] = Reply(body=nature_search_page(page1, "/search?q=Ag&page=2"))
    server.routes["/search?q=Ag&page=2"] = Reply(body=nature_search_page(page2, None))
    for page in ("s41467-018-06211-3", "ncomms5946"):
        serve_article(server, f"/articles/{page}", (CORPUS / "nature" / f"{page}.html").read_bytes())
    synthetic = {s: nature_article_page(f"10.1038/test-{s}", f"Test {s}", 2) for s in
                 ("flaky", "slow", "rate-limited", "cut-once", "t-9")}
    for slug, page in synthetic.items():
        serve_article(server, f"/articles/{slug}", page)
    # Faults, each answered by the behaviour the crawler should show.
    server.routes["/articles/private"] = Reply(body=synthetic["t-9"])  # never fetched: robots.txt
    server.routes["/articles/loop-a"] = Reply(302, headers={"Location": "/articles/loop-b"})
    server.routes["/articles/loop-b"] = Reply(302, headers={"Location": "/articles/loop-a"})
    server.routes["/articles/pdf"] = Reply(body=b"%PDF-1.4", headers={"Content-Type": "application/pdf"})
    server.routes["/articles/flaky"] = lambda n, h: Reply(500) if n <= 2 else Reply(body=synthetic["flaky"])
    server.routes["/articles/always-500"] = Reply(503)
    server.routes["/articles/slow"] = lambda n, h: Reply(body=synthetic["slow"], delay_s=1.0 if n == 1 else 0)
    server.routes["/articles/rate-limited"] = lambda n, h: (
        Reply(429, headers={"Retry-After": "1"}) if n == 1 else Reply(body=synthetic["rate-limited"]))
    cut = synthetic["cut-once"]
    server.routes["/articles/cut-once"] = lambda n, h: (
        Reply(body=cut[:500], declared_length=len(cut)) if n == 1 else Reply(body=cut))
    server.routes["/articles/cut-always"] = Reply(body=cut[:300], declared_length=len(cut))
    server.routes["/articles/copy-of-s41467"] = Reply(
        body=(CORPUS / "nature" / "s41467-018-06211-3.html").read_bytes())


QUERY = {"name": "ag-test", "journal_family": "nature", "maximum_scraped": 50, "sortby": "relevant",
         "query": {"search_field_1": {"term": "Ag"}}, "open": False}


def test_query_accepts_exsclaim_files_and_extends_them() -> None:
    exsclaim = {"name": "nature-test", "journal_family": "nature", "maximum_scraped": 2, "sortby": "relevant",
                "query": {"search_field_1": {"term": "Ag nanoparticle"}}, "save_format": ["boxes"], "open": False}
    q = parse_query(exsclaim)
    assert (q.journal_families, q.maximum_scraped, q.open_only) == (("nature",), 2, False)
    assert q.extra == {"save_format": ["boxes"]}
    q = parse_query({**exsclaim, "journal_family": ["nature", "pmc"], "date_range": {"from": "2015-01-01", "to": 2020},
                     "query": {"search_field_1": {"term": "TEM", "synonyms": ["HRTEM"]},
                               "search_field_2": {"term": "Ag", "synonyms": ["silver"]}}})
    assert q.search_terms() == [("TEM", "Ag"), ("TEM", "silver"), ("HRTEM", "Ag"), ("HRTEM", "silver")]
    assert (q.year_from, q.year_to) == (2015, 2020)
    with pytest.raises(ValueError, match="unknown journal_family"):
        parse_query({**exsclaim, "journal_family": "myspace"})
    with pytest.raises(ValueError, match="search_field_1 needs a non-empty 'term'"):
        parse_query({**exsclaim, "query": {"search_field_1": {"term": ""}}})


def test_crawl_search_to_figures_with_every_fault(tmp_path: Path) -> None:
    with ReplayServer() as server:
        fault_server(server)
        client = PoliteClient(settings(server, tmp_path / "cache"))
        state = CrawlState(tmp_path / "state.sqlite")
        crawler = Crawler(parse_query(QUERY), client, tmp_path / "out", state)
        report = crawler.run(progress=False)

        statuses = {u.rsplit("/", 1)[1]: s for u, s in state.db.execute("SELECT url, status FROM articles")}
        assert statuses == {
            "s41467-018-06211-3": "fetched", "ncomms5946": "fetched", "flaky": "fetched", "slow": "fetched",
            "rate-limited": "fetched", "cut-once": "fetched", "t-9": "fetched",
            "private": "failed", "loop-a": "failed", "pdf": "failed", "always-500": "failed", "cut-always": "failed",
            "copy-of-s41467": "duplicate",
        }
        errors = {f["item"].rsplit("/", 1)[1]: f["error_type"] for f in state.failures()}
        assert errors == {"private": "RobotsDisallowedError", "loop-a": "RedirectLoopError",
                          "pdf": "WrongContentTypeError", "always-500": "FetchError",
                          "cut-always": "TruncatedResponseError"}
        assert server.requests_to("/articles/private") == [], "robots.txt disallowed it: never requested"
        rl = server.requests_to("/articles/rate-limited")
        assert len(rl) == 2 and rl[1].at - rl[0].at >= 1.0, "Retry-After: 1 honoured"
        assert len(server.requests_to("/articles/flaky")) == 3 and len(server.requests_to("/articles/always-500")) == 4
        assert "figlake" in server.log[0].headers["User-Agent"] and "tests@figlake.invalid" in \
            server.log[0].headers["User-Agent"]
        # Licence filter: CC BY images are saved, the unlicensed article's are withheld.
        figs = sorted(p.name for p in (tmp_path / "out" / "nature" / "figures").iterdir())
        # (Named by the bytes' real format: these "jpg" files of EXSCLAIM's are PNG data.)
        assert [f for f in figs if f.startswith("10.1038_s41467")] == [
            f"10.1038_s41467-018-06211-3_fig{n}.png" for n in range(1, 6)]
        assert not [f for f in figs if "ncomms5946" in f] and report.images_withheld == 9
        assert report.fetched == 7 and report.failed == 5 and report.duplicates == 1

        # A rerun: the state and the HTTP cache answer; not one request goes out.
        before = len(server.log)
        again = Crawler(parse_query(QUERY), PoliteClient(settings(server, tmp_path / "cache")), tmp_path / "out",
                        CrawlState(tmp_path / "state.sqlite")).run(progress=False)
        assert len(server.log) == before and again.requests == 0 and again.fetched == 7

    # collect reads the crawl like any saved pages, with the sidecar's provenance.
    params = write_params(tmp_path, [])
    p = yaml.safe_load(params.read_text())
    p["sources"]["web"]["out"] = str(tmp_path / "out")
    params.write_text(yaml.safe_dump(p))
    run_module("ingest.collect", tmp_path, "--params", str(params))
    lake = Lake(tmp_path / "lake")
    articles = {a["article_id"]: a for a in lake.read("articles").to_pylist()}
    assert len(articles) == 7 and {a["source"] for a in articles.values()} == {"nature"}
    real = articles["10.1038/s41467-018-06211-3"]
    assert real["query"] == "ag-test" and real["retrieved_at"] is not None and real["license_spdx"] == "CC-BY-4.0"
    assert real["source_path"] == "https://www.nature.com/articles/s41467-018-06211-3"
    figures = lake.read("figures").to_pylist()
    assert sum(1 for f in figures if f["image_sha256"]) == 5 + 2 * 5  # CC-BY only: s41467 and the test pages


def test_client_faults_directly(tmp_path: Path) -> None:
    with ReplayServer() as server:
        server.routes["/robots.txt"] = Reply(500)  # RFC 9309: unreachable robots → disallow all
        client = PoliteClient(settings(server))
        with pytest.raises(RobotsDisallowedError):
            client.get(server.url + "/x")
    with ReplayServer() as server:
        server.routes["/robots.txt"] = Reply(404)  # unavailable robots → allow all
        server.routes["/big"] = Reply(body=b"x" * 5000)
        server.routes["/etag"] = lambda n, h: Reply(304) if h.get("If-None-Match") == '"v1"' else Reply(
            body=b"<html>v1</html>", headers={"ETag": '"v1"'})
        server.routes["/timeout"] = Reply(body=b"late", delay_s=1.0)
        client = PoliteClient(settings(server, tmp_path / "cache", max_bytes=1000, cache_ttl_s=0))
        with pytest.raises(ResponseTooLargeError, match="1000-byte limit"):
            client.get(server.url + "/big")
        first = client.get(server.url + "/etag")
        second = client.get(server.url + "/etag")  # ttl 0: revalidated with If-None-Match, 304, served from cache
        assert first.body == second.body == b"<html>v1</html>" and second.from_cache
        assert server.log[-1].headers.get("If-None-Match") == '"v1"'
        with pytest.raises(FetchError, match="timed out after 4 attempts"):
            client.get(server.url + "/timeout")
        with pytest.raises(WrongContentTypeError, match="text/html"):
            client.get(server.url + "/etag", expect=("application/pdf",))
    assert issubclass(TruncatedResponseError, FetchError) and issubclass(RedirectLoopError, FetchError)


def test_license_filter_matches_families_exactly() -> None:
    allowed = ("CC-BY", "CC0")
    assert license_allowed("CC-BY-4.0", allowed) and license_allowed("CC0-1.0", allowed)
    assert not license_allowed("CC-BY-NC-4.0", allowed) and not license_allowed("CC-BY-NC-ND-4.0", allowed)
    assert not license_allowed(None, allowed) and license_allowed(None, ())


def test_sigkilled_crawl_resumes_without_loss_or_duplicates(tmp_path: Path) -> None:
    slugs = [f"k-{i}" for i in range(12)]
    with ReplayServer() as server:
        server.routes["/robots.txt"] = Reply(404)
        server.routes["/search"] = Reply(body=nature_search_page(slugs[:6], "/search?q=Ag&page=2"))
        server.routes["/search?q=Ag&page=2"] = Reply(body=nature_search_page(slugs[6:], None))
        for s in slugs:
            serve_article(server, f"/articles/{s}", nature_article_page(f"10.1038/{s}", f"Kill {s}", 1))
            route = server.routes[f"/articles/{s}"]
            server.routes[f"/articles/{s}"] = Reply(body=route.body, delay_s=0.25)  # type: ignore[union-attr]
        params = write_params(tmp_path, [])
        p = yaml.safe_load(params.read_text())
        p["sources"]["web"].update(query=str(tmp_path / "q.json"), out=str(tmp_path / "out"))
        p["sources"]["web"]["http"].update({**FAST, "url_rewrites": {
            "https://www.nature.com": server.url, "https://media.springernature.com": server.url + "/media"}})
        params.write_text(yaml.safe_dump(p))
        (tmp_path / "q.json").write_text(json.dumps({**QUERY, "name": "kill"}))
        cmd = [sys.executable, "-m", "ingest.crawl", "--params", str(params), "--no-progress"]
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        pages = tmp_path / "out" / "nature"
        deadline = time.monotonic() + 60
        while len(list(pages.glob("*.html"))) < 4 if pages.exists() else True:
            assert proc.poll() is None and time.monotonic() < deadline, "crawl ended before it could be killed"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        done_before = len(list(pages.glob("*.html")))
        assert 4 <= done_before < 12
        subprocess.run(cmd, cwd=tmp_path, env=env, check=True, capture_output=True)
        assert sorted(p.name for p in pages.glob("*.html")) == sorted(f"10.1038_{s}.html" for s in slugs)
        assert not list(pages.glob(".*tmp*")), "no temporary files left behind"
        per_article = [sum(1 for r in server.log if r.path == f"/articles/{s}") for s in slugs]
        # Articles committed before the kill were not fetched again; at most the one in flight was.
        assert sum(per_article) <= len(slugs) + 1, per_article
    metrics = json.loads((tmp_path / "metrics" / "crawl.json").read_text())
    assert metrics["fetched"] == 12 and metrics["duplicates"] == 0


def test_parse_article_by_url_detects_the_publisher(tmp_path: Path) -> None:
    from conftest import figlake

    with ReplayServer() as server:
        server.routes["/robots.txt"] = Reply(404)
        serve_article(server, "/articles/s41467-018-06211-3",
                      (CORPUS / "nature" / "s41467-018-06211-3.html").read_bytes())
        params = write_params(tmp_path, [])
        p = yaml.safe_load(params.read_text())
        p["sources"]["web"]["http"].update({**FAST, "url_rewrites": {"https://www.nature.com": server.url}})
        params.write_text(yaml.safe_dump(p))
        r = figlake("parse-article", "https://www.nature.com/articles/s41467-018-06211-3", "--json", cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        a = json.loads(r.stdout)
        assert a["doi"] == "10.1038/s41467-018-06211-3" and a["page_format"] == "nature-html"
        assert len(a["figures"]) == 5 and a["license_url"] == "https://creativecommons.org/licenses/by/4.0/"
        r = figlake("parse-article", "https://www.nature.com/articles/missing", "--json", cwd=tmp_path)
        assert r.returncode == 1 and "HTTP 404" in json.loads(r.stdout)["error"]

"""A replay server on 127.0.0.1: recorded pages, and faults injected on purpose.

Routes map a path (with its query string) to a fixed response or to a
function of the request count, so a route can fail twice and then answer.
Every request is logged with its time and headers for the tests to inspect.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    declared_length: int | None = None
    """send this Content-Length instead of the body's (a truncated download)"""


Route = Reply | Callable[[int, dict[str, str]], Reply]


@dataclass
class Logged:
    at: float
    path: str
    headers: dict[str, str]


class ReplayServer:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.log: list[Logged] = []
        self.counts: dict[str, int] = {}
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                with server._lock:
                    server.counts[self.path] = server.counts.get(self.path, 0) + 1
                    n = server.counts[self.path]
                    server.log.append(Logged(time.monotonic(), self.path, dict(self.headers)))
                route = server.routes.get(self.path) or server.routes.get(self.path.split("?")[0])
                reply = Reply(404, b"not found") if route is None else (
                    route(n, dict(self.headers)) if callable(route) else route)
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                try:
                    self.send_response(reply.status)
                    headers = {"Content-Type": "text/html; charset=utf-8", **reply.headers}
                    for k, v in headers.items():
                        self.send_header(k, v)
                    length = reply.declared_length if reply.declared_length is not None else len(reply.body)
                    self.send_header("Content-Length", str(length))
                    if reply.declared_length is not None:
                        self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.write(reply.body)
                    if reply.declared_length is not None:
                        self.close_connection = True
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout): expected in the slow-response tests

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> ReplayServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def requests_to(self, prefix: str) -> list[Logged]:
        return [r for r in self.log if r.path.startswith(prefix)]


def html(body: str) -> bytes:
    return f"<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>{body}</body></html>".encode()


def nature_search_page(slugs: list[str], next_page: str | None, open_slugs: frozenset[str] = frozenset()) -> bytes:
    """A search result page in nature.com's markup (app-article-list-row items, page-next link)."""
    items = "".join(
        f'<li class="app-article-list-row__item"><article><h3 class="c-card__title">'
        f'<a href="/articles/{s}" class="c-card__link">Article {s}</a></h3>'
        + ('<span data-test="open-access">Open Access</span>' if s in open_slugs else "")
        + "</article></li>" for s in slugs)
    nxt = f'<li data-test="page-next"><a class="c-pagination__link" href="{next_page}">Next</a></li>' if next_page \
        else ""
    return html(f'<ul class="app-article-list-row">{items}</ul><ul class="c-pagination">{nxt}</ul>')


CC_BY = "http://creativecommons.org/licenses/by/4.0/"


def nature_article_page(doi: str, title: str, n_figures: int, license_url: str | None = CC_BY) -> bytes:
    """A minimal article page in nature.com's current markup (written for the tests; CC0)."""
    slug = doi.split("/", 1)[1]
    figs = "".join(
        f'<div class="c-article-section__figure" data-test="figure" id="figure-{n}"><figure><figcaption>'
        f'<b class="c-article-section__figure-caption" data-test="figure-caption-text">Fig. {n}</b></figcaption>'
        f'<div class="c-article-section__figure-content">'
        f'<img src="//media.springernature.com/lw685/test/{slug}_Fig{n}_HTML.png">'
        f'<div class="c-article-section__figure-description" data-test="bottom-caption"><p>Caption {n} of {title}.</p>'
        "</div></div></figure></div>" for n in range(1, n_figures + 1))
    lic = f'<a rel="license" href="{license_url}">licence</a>' if license_url else ""
    return (f'<!DOCTYPE html><html><head><meta charset="utf-8"><meta name="citation_doi" content="{doi}">'
            f'<meta name="citation_title" content="{title}"><meta name="citation_journal_title" content="Test Journal">'
            f'<meta name="citation_publication_date" content="2024/01/02"></head><body><div class="c-article-body">'
            f"{figs}</div>{lic}</body></html>").encode()

"""The polite HTTP client every web source uses.

A crawl may run for days against publishers who can ban it, so every request:

- asks ``robots.txt`` first (RFC 9309: a 4xx robots file allows all, a 5xx or
  unreachable one disallows all for now) and honours its ``Crawl-delay``;
- waits out a per-host minimum interval (``rate_limit_s``);
- identifies itself: a descriptive User-Agent with a contact address;
- retries timeouts, dropped connections, truncated bodies, 429 and 5xx with
  exponential backoff and jitter, honouring ``Retry-After``;
- follows redirects itself (each hop robots-checked; loops refused);
- refuses bodies over ``max_bytes`` and content types the caller did not ask for;
- goes through an on-disk cache: within ``cache_ttl_s`` a response is served
  without any request, after it the cache revalidates with a conditional GET
  (``If-None-Match`` / ``If-Modified-Since``), so a rerun costs nothing.

``url_rewrites`` maps URL prefixes to others (a mirror, or the replay server
the tests run on 127.0.0.1); robots, rate limits and the cache apply to the
rewritten URL, the one actually fetched.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import logging
import os
import random
import time
import urllib.robotparser
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

from ingest.errors import InputError

log = logging.getLogger(__name__)


class FetchError(InputError):
    """A URL could not be fetched (after retries, where retrying makes sense)."""


class RobotsDisallowedError(FetchError):
    """robots.txt forbids fetching the URL; we do not."""


class HttpStatusError(FetchError):
    def __init__(self, item: str, status: int, reason: str) -> None:
        super().__init__(item, reason)
        self.status = status


class ResponseTooLargeError(FetchError):
    """The body exceeds ``max_bytes``."""


class WrongContentTypeError(FetchError):
    """The server sent a content type the caller did not expect (an error page instead of a PDF...)."""


class RedirectLoopError(FetchError):
    """Redirects loop or go on longer than ``max_redirects``."""


class TruncatedResponseError(FetchError):
    """The body ended before its Content-Length (after retries)."""


@dataclass(frozen=True)
class HttpSettings:
    user_agent: str = "figlake/0.1 (materials-science figure data lake)"
    contact: str = ""
    """an e-mail or URL publishers can reach the operator at; sent in the User-Agent and From headers"""
    rate_limit_s: float = 2.0
    """minimum seconds between two requests to one host"""
    per_host_rate_limit_s: dict[str, float] = field(default_factory=dict)
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 30.0
    max_retries: int = 4
    backoff_s: float = 2.0
    backoff_max_s: float = 120.0
    max_retry_after_s: float = 600.0
    """a Retry-After longer than this fails the request instead of stalling the crawl"""
    max_bytes: int = 64 * 1024 * 1024
    max_redirects: int = 5
    cache_dir: Path | None = None
    cache_ttl_s: float = 30 * 24 * 3600
    respect_robots: bool = True
    url_rewrites: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_params(cls, p: dict[str, Any], cache_dir: Path | None) -> HttpSettings:
        # None in params.yaml means "not set": keep the default.
        known = {k: v for k, v in p.items() if k in cls.__dataclass_fields__ and k != "cache_dir" and v is not None}
        return cls(**known, cache_dir=cache_dir)

    def header_user_agent(self) -> str:
        return f"{self.user_agent} (+{self.contact})" if self.contact else self.user_agent


@dataclass
class Response:
    url: str
    """the URL asked for (before rewrites and redirects)"""
    final_url: str
    status: int
    headers: dict[str, str]
    body: bytes
    from_cache: bool = False

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()


RETRY_STATUSES = {429, 500, 502, 503, 504}


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        when = email.utils.parsedate_to_datetime(value)
        return max(0.0, when.timestamp() - time.time()) if when else None


class PoliteClient:
    """GET with robots.txt, rate limits, retries, size/type guards and a revalidating cache."""

    def __init__(self, settings: HttpSettings, session: requests.Session | None = None) -> None:
        self.settings = settings
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = settings.header_user_agent()
        if "@" in settings.contact:
            self.session.headers["From"] = settings.contact
        self._last_request: dict[str, float] = {}
        self._robots: dict[str, urllib.robotparser.RobotFileParser | None] = {}
        self._allow_all: dict[str, bool] = {}
        self._robots_note: dict[str, str] = {}
        self.requests_made = 0

    # -- public ------------------------------------------------------------------

    def get(self, url: str, expect: tuple[str, ...] = ()) -> Response:
        """Fetch ``url``; ``expect`` lists acceptable content-type prefixes (e.g. ``("text/html",)``)."""
        target = self.rewrite(url)
        cached = self._cache_read(target)
        if cached and time.time() - cached["fetched_at"] < self.settings.cache_ttl_s:
            resp = self._cached_response(url, cached)
            self._check_type(resp, expect)
            return resp
        resp = self._fetch(url, target, cached)
        self._check_type(resp, expect)
        return resp

    def rewrite(self, url: str) -> str:
        for prefix, replacement in self.settings.url_rewrites.items():
            if url.startswith(prefix):
                return replacement + url[len(prefix):]
        return url

    # -- robots and rate limit ----------------------------------------------------

    def _host(self, url: str) -> str:
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.netloc}"

    def _robots_for(self, host: str) -> urllib.robotparser.RobotFileParser | None:
        if host not in self._robots:
            parser = urllib.robotparser.RobotFileParser()
            allow_all = False
            try:
                r = self._request(host + "/robots.txt")
                if r.status_code == 200:
                    parser.parse(r.content.decode("utf-8", errors="replace").splitlines())
                elif 400 <= r.status_code < 500:
                    allow_all = True  # RFC 9309 §2.3.1.3: robots file "unavailable"
                else:
                    parser.disallow_all = True  # type: ignore[attr-defined]  # §2.3.1.4: "unreachable"
                    self._robots_note[host] = f"robots.txt answered HTTP {r.status_code}"
            except requests.RequestException as e:
                parser.disallow_all = True  # type: ignore[attr-defined]
                self._robots_note[host] = f"robots.txt unreachable ({type(e).__name__})"
            self._robots[host] = parser
            self._allow_all[host] = allow_all
        return self._robots[host]

    def _check_robots(self, original: str, target: str) -> None:
        if not self.settings.respect_robots:
            return
        host = self._host(target)
        robots = self._robots_for(host)
        if self._allow_all.get(host):
            return
        if robots is not None and not robots.can_fetch(self.settings.user_agent, target):
            if note := self._robots_note.get(host):  # RFC 9309: an unreachable robots.txt means "disallow all"
                raise RobotsDisallowedError(original, f"{note} at {host}: treated as disallowing everything")
            raise RobotsDisallowedError(original, f"robots.txt of {host} disallows {urlsplit(target).path}")

    def _wait_turn(self, target: str) -> None:
        host = self._host(target)
        interval = self.settings.per_host_rate_limit_s.get(urlsplit(target).netloc, self.settings.rate_limit_s)
        robots = self._robots.get(host)
        if robots is not None and (delay := robots.crawl_delay(self.settings.user_agent)):
            interval = max(interval, float(delay))
        last = self._last_request.get(host)
        if last is not None:
            wait = last + interval - time.monotonic()
            if wait > 0:
                time.sleep(wait)
        self._last_request[host] = time.monotonic()

    def _request(self, target: str, headers: dict[str, str] | None = None) -> requests.Response:
        self._wait_turn(target)
        self.requests_made += 1
        return self.session.get(target, headers=headers or {}, stream=True, allow_redirects=False,
                                timeout=(self.settings.connect_timeout_s, self.settings.read_timeout_s))

    # -- fetching ------------------------------------------------------------------

    def _fetch(self, url: str, target: str, cached: dict[str, Any] | None) -> Response:
        seen: list[str] = []
        current = target
        while True:
            if current in seen or len(seen) > self.settings.max_redirects:
                raise RedirectLoopError(url, f"redirects loop or exceed {self.settings.max_redirects}: "
                                             f"{' → '.join(seen + [current])}")
            seen.append(current)
            self._check_robots(url, current)
            status, headers, body = self._get_with_retries(url, current, cached if current == target else None)
            if status in (301, 302, 303, 307, 308) and "location" in headers:
                current = urljoin(current, headers["location"])
                continue
            break
        if status == 304 and cached:
            self._cache_touch(target, cached)
            return self._cached_response(url, cached)
        if status >= 400:
            raise HttpStatusError(url, status, f"HTTP {status} from {current}")
        resp = Response(url, current, status, headers, body)
        self._cache_write(target, resp)
        return resp

    def _get_with_retries(self, url: str, target: str, cached: dict[str, Any] | None
                          ) -> tuple[int, dict[str, str], bytes]:
        conditional = {}
        if cached:
            if etag := cached["headers"].get("etag"):
                conditional["If-None-Match"] = etag
            if modified := cached["headers"].get("last-modified"):
                conditional["If-Modified-Since"] = modified
        attempt = 0
        while True:
            problem: str
            retry_after: float | None = None
            try:
                r = self._request(target, conditional)
                headers = {k.lower(): v for k, v in r.headers.items()}
                if r.status_code not in RETRY_STATUSES:
                    return r.status_code, headers, self._read_body(url, r, headers)
                problem = f"HTTP {r.status_code}"
                retry_after = _retry_after(headers.get("retry-after"))
                r.close()
            except requests.Timeout:
                problem = "timed out"
            except requests.exceptions.ChunkedEncodingError:
                # urllib3's IncompleteRead: the server closed before sending Content-Length bytes.
                problem = "truncated body (connection closed early)"
            except requests.ConnectionError as e:
                problem = f"connection broken ({type(e).__name__})"
            except TruncatedResponseError as e:
                problem = e.reason
            attempt += 1
            if attempt > self.settings.max_retries:
                cls = TruncatedResponseError if "truncated" in problem else FetchError
                raise cls(url, f"{problem} after {attempt} attempts")
            delay = min(self.settings.backoff_max_s, self.settings.backoff_s * 2 ** (attempt - 1))
            delay *= random.uniform(0.5, 1.5)  # jitter: many crawlers must not retry in lockstep
            if retry_after is not None:
                if retry_after > self.settings.max_retry_after_s:
                    raise FetchError(url, f"{problem}: server asks to retry after {retry_after:.0f} s "
                                          f"(limit {self.settings.max_retry_after_s:.0f} s)")
                delay = max(delay, retry_after)
            log.info("%s: %s; retry %d/%d in %.1f s", url, problem, attempt, self.settings.max_retries, delay)
            time.sleep(delay)

    def _read_body(self, url: str, r: requests.Response, headers: dict[str, str]) -> bytes:
        limit = self.settings.max_bytes
        declared = headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            r.close()
            raise ResponseTooLargeError(url, f"Content-Length {declared} exceeds the {limit}-byte limit")
        chunks, size = [], 0
        for chunk in r.iter_content(65536):
            size += len(chunk)
            if size > limit:
                r.close()
                raise ResponseTooLargeError(url, f"body exceeds the {limit}-byte limit")
            chunks.append(chunk)
        body = b"".join(chunks)
        if declared and declared.isdigit() and len(body) < int(declared) and "content-encoding" not in headers:
            raise TruncatedResponseError(url, f"truncated body: {len(body)} of {declared} bytes")
        return body

    @staticmethod
    def _check_type(resp: Response, expect: tuple[str, ...]) -> None:
        if expect and not any(resp.content_type.startswith(e) for e in expect):
            raise WrongContentTypeError(resp.url, f"content type {resp.content_type or 'missing'}, "
                                                  f"expected {' or '.join(expect)}")

    # -- cache -----------------------------------------------------------------------

    def _cache_paths(self, target: str) -> tuple[Path, Path] | None:
        if self.settings.cache_dir is None:
            return None
        key = hashlib.sha256(target.encode()).hexdigest()
        folder = self.settings.cache_dir / key[:2]
        return folder / f"{key}.json", folder / f"{key}.body"

    def _cache_read(self, target: str) -> dict[str, Any] | None:
        paths = self._cache_paths(target)
        if not paths or not paths[0].exists() or not paths[1].exists():
            return None
        meta = json.loads(paths[0].read_text())
        meta["body_path"] = str(paths[1])
        return meta

    def _cache_write(self, target: str, resp: Response) -> None:
        paths = self._cache_paths(target)
        if not paths:
            return
        paths[0].parent.mkdir(parents=True, exist_ok=True)
        tmp = paths[1].with_suffix(".tmp")
        tmp.write_bytes(resp.body)
        os.replace(tmp, paths[1])  # body first: metadata without a body is never read
        meta = {"final_url": resp.final_url, "status": resp.status, "headers": resp.headers, "fetched_at": time.time()}
        tmp = paths[0].with_suffix(".jtmp")
        tmp.write_text(json.dumps(meta))
        os.replace(tmp, paths[0])

    def _cache_touch(self, target: str, cached: dict[str, Any]) -> None:
        paths = self._cache_paths(target)
        if paths:
            meta = {k: v for k, v in cached.items() if k != "body_path"}
            meta["fetched_at"] = time.time()
            paths[0].write_text(json.dumps(meta))

    @staticmethod
    def _cached_response(url: str, cached: dict[str, Any]) -> Response:
        return Response(url, cached["final_url"], cached["status"], cached["headers"],
                        Path(cached["body_path"]).read_bytes(), from_cache=True)

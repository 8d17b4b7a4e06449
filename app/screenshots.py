"""Drive the explorer in a real browser: serve it, wait until a page has settled, take screenshots.

    python -m app.screenshots [--lake data/lake] [--out docs]

writes the README's screenshots of the explorer on the lake (search, figure page, browse). The
browser is Debian's ``chromium`` (``apt-get install chromium``; the Makefile does it) driven by
Playwright — Playwright's own browser download is not needed. The browser test uses the same helpers.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(lake: Path, cwd: Path, port: int | None = None, timeout: float = 90) -> Iterator[str]:
    """Run ``figlake app`` on 127.0.0.1 for the lake (models from ``cwd``'s params.yaml); yield its URL."""
    port = port or free_port()
    exe = Path(sys.executable).parent / "figlake"
    proc = subprocess.Popen([str(exe), "app", "--lake", str(lake), "--port", str(port)], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=os.environ | {"PYTHONPATH": str(ROOT)})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                out = proc.stdout.read() if proc.stdout and proc.poll() is not None else ""
                raise RuntimeError(f"the explorer did not start on {url}: {out[-2000:]}")
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextmanager
def browser() -> Iterator[Any]:
    """A headless Chromium page (Debian's chromium, found on PATH)."""
    from playwright.sync_api import sync_playwright

    exe = shutil.which("chromium")
    if exe is None:
        raise RuntimeError("no `chromium` on PATH: install it with `apt-get install chromium` (make test does)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=["--no-sandbox", "--disable-gpu"])
        try:
            page = b.new_page(viewport={"width": 1400, "height": 1000})
            yield page
        finally:
            b.close()


def settle(page: Any, text: str | None = None, timeout_ms: int = 120_000, quiet_ms: int = 1500) -> None:
    """Wait until the app has finished running: ``text`` shown, Streamlit's running indicator gone for
    ``quiet_ms`` (it shows up a moment after a run starts), every image loaded."""
    page.wait_for_selector("[data-testid='stApp']", timeout=timeout_ms)
    if text:
        page.get_by_text(text).first.wait_for(timeout=timeout_ms)
    deadline = time.monotonic() + timeout_ms / 1000
    quiet_since = time.monotonic()
    while time.monotonic() - quiet_since < quiet_ms / 1000:
        if page.locator("[data-testid='stStatusWidget']").count():
            quiet_since = time.monotonic()
        if time.monotonic() > deadline:
            raise TimeoutError(f"{page.url}: the app was still running after {timeout_ms} ms")
        page.wait_for_timeout(100)
    page.wait_for_function("() => Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)",
                           timeout=timeout_ms)


def shoot(lake: Path, out: Path, query: str, figure_id: str | None = None) -> list[Path]:
    """Screenshots of the search page (``query``), a figure page and the browse page."""
    out.mkdir(parents=True, exist_ok=True)
    shots = []
    with serve(lake, ROOT) as url, browser() as page:
        page.goto(f"{url}/?mode=text&q={urllib.parse.quote(query)}")
        settle(page, "results")
        shots.append(out / "explorer-search.png")
        page.screenshot(path=str(shots[-1]))
        if figure_id is None:
            page.get_by_text("Figure page").first.click()
        else:
            page.goto(f"{url}/figure?id={urllib.parse.quote(figure_id)}")
        settle(page, "Subfigures")
        shots.append(out / "explorer-figure.png")
        page.set_viewport_size({"width": 1400, "height": 1500})  # the overlay, caption and subfigure table
        page.screenshot(path=str(shots[-1]))
        page.set_viewport_size({"width": 1400, "height": 1000})
        page.goto(f"{url}/browse?class=diffraction")
        settle(page, "subfigures")
        shots.append(out / "explorer-browse.png")
        page.screenshot(path=str(shots[-1]))
    return shots


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lake", default="data/lake")
    ap.add_argument("--out", default="docs")
    ap.add_argument("--query", default="HAADF-STEM image of Pt nanoparticles")
    ap.add_argument("--figure", help="figure id for the figure page (default: the first search result's)")
    ns = ap.parse_args(argv)
    for path in shoot(Path(ns.lake).resolve(), Path(ns.out), ns.query, ns.figure):
        print(path)


if __name__ == "__main__":
    main()

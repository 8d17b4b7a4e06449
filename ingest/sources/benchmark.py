"""Parser benchmark: every Nature page and JATS file in the shared corpora.

    python -m ingest.sources.benchmark [--params params.yaml] [--corpora DIR]

For each page: title, DOI, licence, figures parsed, figures with a non-empty
caption *and* an image URL, and the number of figures the raw page declares,
counted independently of the parser (Nature figure containers by their
``id="figure-N"`` / ``id="scheme-N"``; JATS ``<fig>`` elements), so "yields all
of them" is checked against the page, not against the parser itself.

Writes ``metrics/parsers.json`` (the summary numbers), ``reports/parsers.json``
(per page) and ``reports/parsers.md`` (the table). The corpora live outside the repository
(``benchmarks.shared_corpora`` in params.yaml); when absent the stage says so
and records ``available: false``.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

from ingest.config import load_params, section
from ingest.errors import InputError
from ingest.sources import read_article
from ingest.stage import write_metrics

GROUPS = {
    "nature": ("publisher_pages/nature", ("*.html",)),
    "jats": ("jats", ("**/*.nxml", "**/*.xml")),
}


def declared_figures(data: bytes, group: str) -> int:
    """Figures the raw page declares, counted without the parser."""
    if group == "nature":
        containers = re.findall(rb'<div[^>]*data-test="figure"[^>]*>', data)
        return len({m.group(1) for d in containers if (m := re.search(rb'id="([^"]+)"', d))})
    return len(re.findall(rb"<fig[\s>]", data))


def benchmark_page(path: Path, group: str, name: str) -> dict[str, Any]:
    data = path.read_bytes()
    row: dict[str, Any] = {"page": name, "declared_figures": declared_figures(data, group)}
    try:
        a = read_article(data, str(path))
    except InputError as e:
        row.update(error=f"{type(e).__name__}: {e.reason}", figures=0, complete_figures=0)
        return row
    complete = sum(1 for f in a.figures if f.caption.strip() and f.image_url)
    row.update(title=a.title, doi=a.doi, license=a.license_spdx, year=a.year, journal=a.journal,
               figures=len(a.figures), complete_figures=complete)
    return row


def run(corpora: Path) -> dict[str, Any]:
    rows = []
    for group, (sub, patterns) in GROUPS.items():
        files = sorted({p for pat in patterns for p in (corpora / sub).glob(pat) if p.is_file()})
        rows += [benchmark_page(p, group, f"{sub}/{p.relative_to(corpora / sub)}") for p in files]
    articles = [r for r in rows if "error" not in r]
    with_figs = [r for r in rows if r["declared_figures"] > 0]
    summary = {
        "available": True,
        "pages": len(rows),
        "articles_parsed": len(articles),
        "not_articles": sum(1 for r in rows if "error" in r),
        "pages_with_figures": len(with_figs),
        "pages_yielding_all_figures": sum(
            1 for r in with_figs if r["figures"] == r["declared_figures"] == r["complete_figures"]
        ),
        "figures_declared": sum(r["declared_figures"] for r in rows),
        "figures_complete": sum(r["complete_figures"] for r in rows),
        "with_doi": sum(1 for r in articles if r.get("doi")),
        "with_title": sum(1 for r in articles if r.get("title")),
        "with_license": sum(1 for r in articles if r.get("license")),
    }
    return {"summary": summary, "pages": rows}


def markdown(result: dict[str, Any]) -> str:
    s = result["summary"]
    out = [
        "# Parser benchmark",
        "",
        f"{s['pages']} pages; {s['articles_parsed']} parsed as articles; "
        f"{s['pages_yielding_all_figures']}/{s['pages_with_figures']} pages with figures yield all of them "
        f"({s['figures_complete']}/{s['figures_declared']} figures with caption and image URL).",
        "",
        "| page | title | DOI | licence | figures (complete / declared) |",
        "|---|---|---|---|---|",
    ]
    for r in result["pages"]:
        if "error" in r:
            out.append(f"| {r['page']} | — ({r['error']}) | | | 0 / {r['declared_figures']} |")
        else:
            title = (r["title"] or "")[:60].replace("|", "/")
            out.append(f"| {r['page']} | {title} | {r['doi']} | {r['license'] or 'none stated'} | "
                       f"{r['complete_figures']} / {r['declared_figures']} |")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--corpora", help="override benchmarks.shared_corpora")
    args = ap.parse_args(argv)
    corpora = Path(args.corpora or section(load_params(args.params), "benchmarks.shared_corpora"))
    report = Path("reports") / "parsers.md"
    report.parent.mkdir(exist_ok=True)
    if not (corpora / "publisher_pages").is_dir():
        msg = f"{corpora}: shared corpora not found; parser benchmark skipped (set benchmarks.shared_corpora)"
        print(msg)
        write_metrics(Path("metrics") / "parsers.json", {"available": False})
        write_metrics(Path("reports") / "parsers.json", {"summary": {"available": False, "reason": msg}})
        report.write_text(f"# Parser benchmark\n\n{msg}\n")
        return
    result = run(corpora)
    write_metrics(Path("metrics") / "parsers.json", result["summary"])
    write_metrics(Path("reports") / "parsers.json", result)
    report.write_text(markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()

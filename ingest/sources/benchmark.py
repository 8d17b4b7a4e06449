"""Parser benchmark: every saved publisher page and JATS file in the shared corpora.

    python -m ingest.sources.benchmark [--params params.yaml] [--corpora DIR]

For each page: title, DOI (or alternative id), licence, abstract present,
figures parsed, figures with a non-empty caption *and* an image URL, and the
number of numbered figures the raw page declares — counted independently of
the readers (a per-format pattern or XPath over the raw page), so "yields all
of them" is checked against the page, not against the parser itself.

Writes ``metrics/parsers.json`` (the summary numbers), ``reports/parsers.json``
(per page) and ``reports/parsers.md`` (the table). The corpora live outside the
repository (``benchmarks.shared_corpora`` in params.yaml); when absent the
stage says so and records ``available: false``.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

from lxml import etree

from ingest.config import load_params, section
from ingest.errors import InputError
from ingest.sources import read_article
from ingest.sources.jats import looks_like_xml
from ingest.stage import write_metrics

PAGE_SUFFIXES = (".html", ".htm", ".xml", ".nxml")
# "Figure 3", "Fig. 3:", "Scheme 1" — or a bare "3" (ACS XML labels only the number).
_NUMBERED = re.compile(r"^\s*((fig(?:ure)?|scheme|chart|plate)\.?\s*)?\d+\.?\s*$"
                       r"|^\s*(fig(?:ure)?|scheme)\.?\s*\d+", re.I)


def _distinct(pattern: bytes, data: bytes) -> int:
    return len(set(re.findall(pattern, data, re.I | re.S)))


def _xml_numbered(data: bytes, fig_xpath: str, label_xpath: str, ns: dict[str, str] | None = None) -> int:
    parser = etree.XMLParser(recover=True, resolve_entities=False, no_network=True, load_dtd=False)
    root = etree.fromstring(data, parser)
    labels = set()
    for fig in root.xpath(fig_xpath, namespaces=ns or {}):
        text = " ".join(fig.xpath(label_xpath, namespaces=ns or {})).replace("\xa0", " ")
        if _NUMBERED.match(text):
            labels.add(re.sub(r"\s+", " ", text.strip().lower()))
    return len(labels)


def declared_figures(data: bytes, name: str) -> int:
    """Numbered figures (and schemes) the raw page shows, counted without figlake's readers."""
    if b"full-text-retrieval-response" in data[:4096]:
        ce = {"ce": "http://www.elsevier.com/xml/common/dtd"}
        return _xml_numbered(data, "//ce:figure", "ce:label//text()", ce)
    if looks_like_xml(data):
        return _xml_numbered(data, "//fig[not(ancestor::abstract)]", "label//text()")
    if b'data-test="figure"' in data:  # nature.com, current markup
        return _distinct(rb'<div[^>]*data-test="figure"[^>]*\bid="([^"]+)"', data) or _distinct(
            rb'<div[^>]*\bid="((?:figure|scheme)-\d+)"[^>]*data-test="figure"', data)
    sp = rb"(?:\s|&nbsp;|\xc2\xa0)*"  # spaces as saved pages write them
    checks = [
        rb'<div class="figure" id="((?:fig|sch)\d+)"',  # ACS Literatum
        rb'id="extrafiglink-(f\d+)"',  # AIP
        rb'class="image_title"[^>]*>\s*<b>\s*((?:fig\.?|scheme)' + sp + rb'\d+)',  # RSC
        rb'<figure class="Figure" id="((?:Fig|Sch)\d+)"',  # Springer
        rb'<figure class="figure" id="([^"]*-(?:fig|sch)-\d+)"',  # Wiley
        rb'<h4 class="inline-figure__title">\s*((?:figure|scheme)' + sp + rb'\d+)',  # Wiley 2014-2017
        rb'<div class="caption">\s*((?:fig\.|scheme)' + sp + rb'\d+)',  # ScienceDirect
        rb'class="legend[^"]*">\s*(Figure \d+)',  # nature.com 2012-2016
        rb'<h3 class="norm"><a[^>]*>\s*(Figure \d+)',  # nature.com 2003
        rb'<figure class="ltx_figure"[^>]*id="([^"]+)"',  # arXiv HTML
    ]
    return max((_distinct(p, data) for p in checks), default=0)


def benchmark_page(path: Path, name: str) -> dict[str, Any]:
    data = path.read_bytes()
    row: dict[str, Any] = {"page": name, "declared_figures": declared_figures(data, name)}
    try:
        a = read_article(data, str(path))
    except InputError as e:
        row.update(error=f"{type(e).__name__}: {e.reason}", figures=0, complete_figures=0, captions=0)
        return row
    row.update(
        title=a.title, doi=a.doi or a.alt_id, license=a.license_spdx, open=a.is_open_access, year=a.year,
        journal=a.journal, reader=a.page_format, abstract=bool(a.abstract and len(a.abstract) > 50),
        figures=len(a.figures), captions=sum(1 for f in a.figures if f.caption.strip()),
        complete_figures=sum(1 for f in a.figures if f.caption.strip() and f.image_url),
    )
    return row


def exsclaim_parity(corpora: Path) -> dict[str, Any]:
    """Our scraping fields vs EXSCLAIM! v1's on the same two Nature pages (caption, image URL, licence, open)."""
    folder = corpora / "exsclaim_nature"
    reference = json.loads((folder / "exsclaim_v1_output.json").read_text())
    articles: dict[str, Any] = {}
    mismatches, checked = [], 0
    for name, theirs in sorted(reference.items()):
        stem, number = name.rsplit("_fig", 1)
        if stem not in articles:
            articles[stem] = read_article((folder / "html" / f"{stem}.html").read_bytes(), stem)
        ours = articles[stem]
        fig = next(f for f in ours.figures if f.number == int(number.split(".")[0]))
        pairs = {"caption": (fig.caption, theirs["full_caption"]), "image_url": (fig.image_url, theirs["image_url"]),
                 "license": (ours.license_url, theirs["license"]),
                 "open": (bool(ours.is_open_access), str(theirs["open"]) == "True")}
        for field_name, (a, b) in pairs.items():
            checked += 1
            if a != b:
                mismatches.append({"figure": name, "field": field_name, "ours": a, "exsclaim": b})
    return {"figures": len(reference), "fields_checked": checked, "fields_equal": checked - len(mismatches),
            "mismatches": mismatches}


def run(corpora: Path) -> dict[str, Any]:
    rows = []
    for group in ("publisher_pages", "jats"):
        base = corpora / group
        files = sorted(p for p in base.rglob("*") if p.is_file() and p.suffix.lower() in PAGE_SUFFIXES)
        rows += [benchmark_page(p, f"{group}/{p.relative_to(base)}") for p in files]
    articles = [r for r in rows if "error" not in r]
    with_figs = [r for r in rows if r["declared_figures"] > 0]
    summary = {
        "available": True,
        "pages": len(rows),
        "articles_parsed": len(articles),
        "not_articles": sum(1 for r in rows if "error" in r),
        "pages_with_figures": len(with_figs),
        "pages_yielding_all_figures": sum(
            1 for r in with_figs if r["figures"] == r["declared_figures"] == r["complete_figures"]),
        "figures_declared": sum(r["declared_figures"] for r in rows),
        "figures_found": sum(r["figures"] for r in rows),
        "figures_complete": sum(r["complete_figures"] for r in rows),
        "with_doi": sum(1 for r in articles if r.get("doi")),
        "with_title": sum(1 for r in articles if r.get("title")),
        "with_license": sum(1 for r in articles if r.get("license")),
        "with_abstract": sum(1 for r in articles if r.get("abstract")),
    }
    parity = exsclaim_parity(corpora) if (corpora / "exsclaim_nature").is_dir() else None
    if parity:
        summary["exsclaim_parity_fields_equal"] = parity["fields_equal"]
        summary["exsclaim_parity_fields_checked"] = parity["fields_checked"]
    return {"summary": summary, "pages": rows, "exsclaim_parity": parity}


def markdown(result: dict[str, Any]) -> str:
    s = result["summary"]
    out = [
        "# Parser benchmark",
        "",
        f"{s['pages']} pages; {s['articles_parsed']} parsed as articles ({s['not_articles']} are not articles: "
        f"search pages, a PubMed citation record); {s['pages_yielding_all_figures']}/{s['pages_with_figures']} "
        f"pages with figures yield all of them with caption and image URL "
        f"({s['figures_complete']}/{s['figures_declared']} figures).",
        "",
        f"Parity with EXSCLAIM! v1 on the two Nature pages (caption, image URL, licence, open flag of 14 "
        f"figures): {s.get('exsclaim_parity_fields_equal', '—')}/{s.get('exsclaim_parity_fields_checked', '—')} "
        "fields equal.",
        "",
        "| page | reader | title | DOI / id | licence | open | abstract | figures (found / declared) | captions |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in result["pages"]:
        if "error" in r:
            out.append(f"| {r['page']} | — | ({r['error']}) | | | | | 0 / {r['declared_figures']} | |")
            continue
        title = (r["title"] or "")[:50].replace("|", "/")
        out.append(
            f"| {r['page']} | {r['reader']} | {title} | {r['doi']} | {r['license'] or 'none stated'} | "
            f"{'yes' if r['open'] else ('no' if r['open'] is False else '?')} | {'yes' if r['abstract'] else 'no'} | "
            f"{r['figures']} / {r['declared_figures']} | {r['captions']} |")
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

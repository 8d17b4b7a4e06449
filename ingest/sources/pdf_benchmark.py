"""PDF benchmark (the ``evaluate_pdfs`` stage): figures, captions and metadata read from PDFs.

The synthetic journal's articles are laid out as PDFs (``ingest.sources.pdf_synth``:
one and two columns, raster and vector figures, captions below, beside, across
columns and continued in the next column); the PDF reader
(``ingest.sources.pdf``) reads them back and is scored against where each
figure was drawn. The LaTeX-made articles in ``data/papers`` (journal
styles, matplotlib vector plots; made by ``tests/data/pdf/build.py``) are scored the same way.

A figure is found when the reader returns the same figure number on the same
page with box IoU ≥ 0.5; IoU and caption similarity (normalised Levenshtein)
are averaged over found figures.

    python -m ingest.sources.pdf_benchmark [--params params.yaml]
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path
from typing import Any

from rapidfuzz.distance import Levenshtein

from ingest.config import section
from ingest.errors import InputError
from ingest.sources.pdf import PdfSettings, read_pdf
from ingest.stage import report_metrics, stage_params

LATEX_DIR = Path("data/papers")
METADATA = ("doi", "title", "journal", "year", "license_url")


def iou(a: list[float] | tuple[float, ...], b: list[float] | tuple[float, ...]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def score_pdf(data: bytes, truth: dict[str, Any], name: str, settings: PdfSettings = PdfSettings()
              ) -> dict[str, Any]:
    """Read one PDF and compare it with its truth (figures: number, page, bbox, caption; metadata)."""
    started = time.perf_counter()
    try:
        result = read_pdf(data, name, settings)
    except InputError as e:
        return {"name": name, "error": str(e), "figures": [
            {"number": f["number"], "found": False, **_tags(f)} for f in truth["figures"]], "extra": 0,
            "metadata": dict.fromkeys(METADATA, False), "seconds": time.perf_counter() - started}
    seconds = time.perf_counter() - started
    predicted = {f.ref.number: f for f in result.figures if f.ref.kind == "figure"}
    rows = []
    for f in truth["figures"]:
        p = predicted.pop(f["number"], None)
        overlap = iou(p.bbox, f["bbox"]) if p is not None and p.page == f["page"] else 0.0
        rows.append({"number": f["number"], "found": overlap >= 0.5, "iou": overlap,
                     "caption_similarity": Levenshtein.normalized_similarity(p.ref.caption, f["caption"])
                     if p is not None else 0.0, **_tags(f)})
    a = result.article
    got = {"doi": a.doi, "title": a.title, "journal": a.journal, "year": a.year, "license_url": a.license_url}
    metadata = {k: got[k] == truth.get(k) for k in METADATA if k in truth}
    return {"name": name, "pages": result.pages, "figures": rows, "extra": len(predicted), "metadata": metadata,
            "seconds": seconds}


def _tags(f: dict[str, Any]) -> dict[str, Any]:
    return {"kind": f.get("kind"), "placement": f.get("placement")}


def summarise(scores: list[dict[str, Any]]) -> dict[str, Any]:
    figures = [f for s in scores for f in s["figures"]]
    found = [f for f in figures if f["found"]]
    predicted = len(found) + sum(s["extra"] for s in scores)
    meta_keys = sorted({k for s in scores for k in s["metadata"]})
    out: dict[str, Any] = {
        "pdfs": len(scores),
        "errors": sum("error" in s for s in scores),
        "figures": len(figures),
        "figure_recall": round(len(found) / len(figures), 4) if figures else None,
        "figure_precision": round(len(found) / predicted, 4) if predicted else None,
        "iou_mean": round(statistics.fmean(f["iou"] for f in found), 4) if found else None,
        "iou_ge_0_9_share": round(sum(f["iou"] >= 0.9 for f in found) / len(found), 4) if found else None,
        "caption_similarity_mean": round(statistics.fmean(f["caption_similarity"] for f in found), 4)
        if found else None,
        "metadata_exact": {k: round(statistics.fmean(s["metadata"][k] for s in scores if k in s["metadata"]), 4)
                           for k in meta_keys},
        "seconds_per_pdf_median": round(statistics.median(s["seconds"] for s in scores), 3) if scores else None,
        "seconds_per_pdf_max": round(max(s["seconds"] for s in scores), 3) if scores else None,
    }
    by: dict[str, dict[str, Any]] = {}
    for tag in ("kind", "placement"):
        for value in sorted({str(f[tag]) for f in figures}):
            group = [f for f in figures if str(f[tag]) == value]
            hit = [f for f in group if f["found"]]
            by[f"{tag}={value}"] = {
                "figures": len(group), "recall": round(len(hit) / len(group), 4),
                "iou_mean": round(statistics.fmean(f["iou"] for f in hit), 4) if hit else None,
                "caption_similarity_mean": round(statistics.fmean(f["caption_similarity"] for f in hit), 4)
                if hit else None}
    out["by_case"] = by
    return out


def synthetic_scores(seed: int, articles: int, settings: PdfSettings) -> list[dict[str, Any]]:
    import io

    from ingest.sources.pdf_synth import write_pdf
    from ingest.synth.journal import generate_article

    scores = []
    for index in range(articles):
        article = generate_article(seed, index)
        buf = io.BytesIO()
        truth = write_pdf(article, buf, seed, index).to_json()
        scores.append(score_pdf(buf.getvalue(), truth, f"{article.key}.pdf", settings))
    return scores


def latex_scores(folder: Path, settings: PdfSettings) -> list[dict[str, Any]]:
    return [score_pdf(pdf.read_bytes(), json.loads(pdf.with_suffix(".json").read_text()), pdf.name, settings)
            for pdf in sorted(folder.glob("*.pdf")) if pdf.with_suffix(".json").exists()]


def markdown(result: dict[str, Any]) -> str:
    out = ["# PDF benchmark", "", "Figures, captions and metadata read back from PDFs whose layout is known "
           "(`python -m ingest.sources.pdf_benchmark`).", ""]
    for name, s in (("Synthetic journal", result["synthetic"]), ("LaTeX articles (data/papers)", result["latex"])):
        out += [f"## {name}", "", f"{s['pdfs']} PDFs, {s['figures']} figures, {s['errors']} unreadable.", "",
                "| metric | value |", "|---|---|"]
        for k in ("figure_recall", "figure_precision", "iou_mean", "iou_ge_0_9_share", "caption_similarity_mean",
                  "seconds_per_pdf_median", "seconds_per_pdf_max"):
            out.append(f"| {k} | {s[k]} |")
        for k, v in s["metadata_exact"].items():
            out.append(f"| metadata {k} exact | {v} |")
        out += ["", "| case | figures | recall | IoU | caption similarity |", "|---|---|---|---|---|"]
        out += [f"| {case} | {v['figures']} | {v['recall']} | {v['iou_mean']} | {v['caption_similarity_mean']} |"
                for case, v in s["by_case"].items()]
        out.append("")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    params = stage_params(__doc__, argv)
    bench = section(params, "benchmarks.pdf")
    settings = PdfSettings(**section(params, "sources.pdf"))
    synthetic = synthetic_scores(int(bench["seed"]), int(bench["articles"]), settings)
    latex = latex_scores(LATEX_DIR, settings)
    result: dict[str, Any] = {"synthetic": summarise(synthetic), "latex": summarise(latex)}
    misses = [{"pdf": s["name"], **f} for s in synthetic + latex for f in s["figures"]
              if not f["found"] or f["iou"] < 0.9 or f["caption_similarity"] < 0.95]
    result["misses"] = misses[:50]
    report_metrics("pdf_eval", result)
    report = Path("reports") / "pdfs.md"
    report.parent.mkdir(exist_ok=True)
    report.write_text(markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()

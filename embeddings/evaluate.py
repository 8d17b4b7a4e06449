"""The ``evaluate_search`` stage: search quality over the synthetic journal, measured.

    python -m embeddings.evaluate [--params params.yaml]

Searches run as ``figlake search`` does (parent frames — the lake's own class —
left out of results: their dependents are the images), restricted by an SQL
prefilter to the synthetic journal, whose
every subfigure has a true class (lake boxes matched to the truth boxes at
IoU ≥ 0.5; an unmatched lake subfigure has no true class and never counts as
relevant).

- text → subfigure: ``text_queries`` true subcaptions; relevant = that
  label's images (its master, or the dependents of a parent frame); recall@10
  (a master the separation stage missed is a miss);
- class queries ("TEM image of nanoparticles" → microscopy, …): precision@10
  of the true class, per query and mean;
- image → image: every synthetic subfigure (not parents) queries with its own
  image vector; precision@10 of its true class among the others;
- spectrum → spectrum: ``spectrum_plots`` plots of the journal's graph
  generator drawn and digitized (the gallery), then drawn again at another
  size and line width and digitized (the queries); each digitized series is
  matched to the true series it traces. A query succeeds when a gallery
  series of the same true data is among its top 5 (the generator draws from
  a small library of reference spectra, so the same data can sit in two
  plots; ``top5_this_plot_only`` counts only the query's own plot). Reported
  over queries whose source is known (the acceptance measure) and over all
  true series (digitizing misses count as failures).

Writes ``metrics/search_eval.json`` and ``reports/search.md``.
"""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment
from tqdm import tqdm

from catalog.schema import VECTORS
from catalog.storage import AnyLake, open_lake
from embeddings.index import open_table
from embeddings.search import Searcher, SearchSettings
from embeddings.spectra import spectrum_vector
from ingest.config import section
from ingest.spectra.digitize import digitize
from ingest.spectra.evaluate import MATCH_COVERAGE, MATCH_ERROR, _compare_space, pair_scores
from ingest.stage import stage_params, write_metrics
from ingest.synth.plots import plan_plot, render_plot

SYNTH_WHERE = "journal = 'figlake Synthetic Journal of Materials'"
TARGETS = {"text_recall_at_10": 0.8, "class_precision_at_10": 0.9, "image_precision_at_10": 0.9,
           "spectrum_top5": 0.9}


def _iou(a: dict[str, int], b: list[int]) -> float:
    ix = max(0, min(a["x1"], b[2]) - max(a["x0"], b[0]))
    iy = max(0, min(a["y1"], b[3]) - max(a["y0"], b[1]))
    inter = ix * iy
    union = (a["x1"] - a["x0"]) * (a["y1"] - a["y0"]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union else 0.0


def true_classes(lake: AnyLake, synth: Path) -> tuple[dict[str, str], list[tuple[str, str, str]]]:
    """(lake subfigure_id → true class, [(figure_id, label, true subcaption)]) for the synthetic journal."""
    figures = {Path(f["image_source"] or "").stem: f["figure_id"]
               for f in lake.read("figures", ["figure_id", "image_source"]).to_pylist()}
    subs: dict[str, list[dict[str, Any]]] = {}
    for s in lake.read("subfigures", ["subfigure_id", "figure_id", "bbox"]).to_pylist():
        subs.setdefault(s["figure_id"], []).append(s)
    classes, captions = {}, []
    for path in sorted((synth / "truth").glob("*.json")):
        figure_id = figures.get(path.stem)
        if figure_id is None:
            continue
        t = json.loads(path.read_text())
        boxes = []
        for m in t["master_images"]:
            boxes.append((m["bbox"], m["class"]))
            boxes += [(d["bbox"], d["class"]) for d in m["dependents"]]
            boxes += [(i["bbox"], i["class"]) for i in m["insets"]]
        for s in subs.get(figure_id, []):
            if s["bbox"]:
                best = max(boxes, key=lambda b: _iou(s["bbox"], b[0]), default=None)
                if best and _iou(s["bbox"], best[0]) >= 0.5:
                    classes[s["subfigure_id"]] = best[1]
        captions += [(figure_id, label, text) for label, text in sorted(t["subcaptions"].items()) if text]
    return classes, captions


def text_recall(searcher: Searcher, captions: list[tuple[str, str, str]], n: int, seed: int) -> dict[str, Any]:
    """Recall@10 of the label's images (its master; for a parent frame, which search leaves out, its dependents)
    for true subcaptions as queries."""
    children: dict[str, set[str]] = {}
    for s in searcher.lake.read("subfigures", ["subfigure_id", "parent_id", "role"]).to_pylist():
        if s["role"] == "dependent" and s["parent_id"]:
            children.setdefault(s["parent_id"], set()).add(s["subfigure_id"])
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(captions), size=min(n, len(captions)), replace=False)
    hits, ranks = 0, []
    for i in tqdm(pick, desc="text queries", unit="query"):
        figure_id, label, text = captions[int(i)]
        ids = [h["subfigure_id"] for h in searcher.text(text, SYNTH_WHERE, 10)]
        master = f"{figure_id}/{label}"
        want = {master} | children.get(master, set())
        found = [r for r, sid in enumerate(ids, 1) if sid in want]
        if found:
            hits += 1
            ranks.append(found[0])
    return {"queries": len(pick), "recall_at_10": round(hits / max(len(pick), 1), 4),
            "mean_rank_when_found": round(float(np.mean(ranks)), 2) if ranks else None}


def class_precision(searcher: Searcher, queries: dict[str, str], classes: dict[str, str]) -> dict[str, Any]:
    per: dict[str, dict[str, Any]] = {}
    for q, want in queries.items():
        hits = searcher.text(q, SYNTH_WHERE, 10)
        per[q] = {"class": want, "precision_at_10": round(sum(classes.get(h["subfigure_id"]) == want
                                                              for h in hits) / 10, 2),
                  "top_classes": [classes.get(h["subfigure_id"]) for h in hits]}
    values = [float(p["precision_at_10"]) for p in per.values()]
    return {"mean": round(float(np.mean(values)), 4), "min": min(values), "per_query": per}


def image_precision(lake: AnyLake, searcher: Searcher, classes: dict[str, str]) -> dict[str, Any]:
    tbl = open_table(lake.root, VECTORS)
    assert tbl is not None, "evaluate_search runs after embed"
    t = tbl.to_lance().to_table(columns=["subfigure_id", "image_vector"], filter=SYNTH_WHERE).to_pylist()
    per_class: dict[str, list[float]] = {}
    for row in tqdm(t, desc="image queries", unit="query"):
        cls = classes.get(row["subfigure_id"])
        vec = np.asarray(row["image_vector"], np.float32)
        if cls is None or cls == "parent" or not vec.any():
            continue
        hits = searcher.image_vector(vec, SYNTH_WHERE, 10, exclude=row["subfigure_id"])
        per_class.setdefault(cls, []).append(sum(classes.get(h["subfigure_id"]) == cls for h in hits) / 10)
    allv = [v for vs in per_class.values() for v in vs]
    return {"queries": len(allv), "precision_at_10": round(float(np.mean(allv)), 4) if allv else None,
            "by_class": {c: {"queries": len(v), "precision_at_10": round(float(np.mean(v)), 4)}
                         for c, v in sorted(per_class.items())}}


def _matched_series(image: np.ndarray, truth: Any) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """true series index → the digitized (x, y) that traces it (Hungarian on mean |Δy|, as evaluate_spectra)."""
    d = digitize(image)
    preds, trues = _compare_space(d, truth)
    if not preds or not trues:
        return {}
    err = np.full((len(preds), len(trues)), np.inf)
    for i, p in enumerate(preds):
        for j, t in enumerate(trues):
            e, cov, _, _ = pair_scores(p, t)
            if e < MATCH_ERROR and cov >= MATCH_COVERAGE:
                err[i, j] = e
    rows, cols = linear_sum_assignment(np.where(np.isfinite(err), err, 1e6))
    return {int(j): (np.asarray(d.series[i].x), np.asarray(d.series[i].y))
            for i, j in zip(rows, cols, strict=True) if np.isfinite(err[i, j])}


def _same_data(a: tuple[np.ndarray, float, float], b: tuple[np.ndarray, float, float]) -> bool:
    """Two true series hold the same data: the same shape (cosine > 0.999) over the same x range (±0.5 %)."""
    span = max(abs(a[2] - a[1]), 1e-12)
    return float(a[0] @ b[0]) > 0.999 and abs(a[1] - b[1]) < 0.005 * span and abs(a[2] - b[2]) < 0.005 * span


def _plot_pair(job: tuple[Any, tuple[int, int], Any, tuple[int, int]]) -> tuple[list[tuple[np.ndarray, float, float]],
                                                                               dict[int, np.ndarray],
                                                                               dict[int, np.ndarray]]:
    """One benchmark plot: (its true series as (vector, x min, x max), gallery vectors, query vectors) — the
    gallery digitized from the first drawing, the queries from the second; keyed by true series index."""
    plan, shape, again, shape2 = job
    graph = render_plot(plan, shape)
    truth = [(spectrum_vector(s.x, s.y), float(np.min(s.x)), float(np.max(s.x))) for s in graph.truth.series]
    gallery = {j: spectrum_vector(x, y) for j, (x, y) in _matched_series(graph.image, graph.truth).items()}
    redrawn = render_plot(again, shape2)
    queries = {j: spectrum_vector(x, y) for j, (x, y) in _matched_series(redrawn.image, redrawn.truth).items()}
    return truth, gallery, queries


def spectrum_retrieval(n_plots: int, seed: int, workers: int = 2) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    materials = ("TiO2", "ZnO", "LiFePO4", "CeO2", "MoS2", "Fe3O4", "graphene", "BaTiO3")
    jobs = []
    for i in range(n_plots):  # every random choice made here, in order: results do not depend on workers
        plan = plan_plot(rng, materials[i % len(materials)])
        shape = (int(rng.integers(220, 440)), int(rng.integers(280, 600)))
        again = dataclasses.replace(plan, linewidth=plan.linewidth * float(rng.uniform(0.7, 1.4)))
        jobs.append((plan, shape, again, (int(rng.integers(220, 440)), int(rng.integers(280, 600)))))
    gallery: list[tuple[tuple[int, int], np.ndarray]] = []
    queries: list[tuple[tuple[int, int], np.ndarray]] = []
    truth: dict[tuple[int, int], tuple[np.ndarray, float, float]] = {}
    with ProcessPoolExecutor(max_workers=max(1, workers), mp_context=multiprocessing.get_context("spawn")) as pool:
        for i, (t, g, q) in enumerate(tqdm(pool.map(_plot_pair, jobs), total=len(jobs), desc="spectrum plots",
                                           unit="plot")):
            truth.update({(i, j): v for j, v in enumerate(t)})
            gallery += [((i, j), v) for j, v in g.items()]
            queries += [((i, j), v) for j, v in q.items()]
    keys = [g[0] for g in gallery]
    mat = np.stack([g[1] for g in gallery]) if gallery else np.zeros((0, 1))
    found = strict = 0
    for key, vec in queries:
        top = [keys[t] for t in np.argsort(-(mat @ vec))[:5]]
        strict += key in top
        found += any(t == key or _same_data(truth[t], truth[key]) for t in top)
    duplicated = sum(any(k != o and _same_data(truth[k], truth[o]) for o in truth) for k in truth)
    return {"plots": n_plots, "true_series": len(truth), "true_series_shared_with_another": duplicated,
            "gallery_series": len(gallery), "queries": len(queries),
            "top5": round(found / max(len(queries), 1), 4),
            "top5_this_plot_only": round(strict / max(len(queries), 1), 4),
            "top5_over_all_true_series": round(found / max(len(truth), 1), 4)}


def report(m: dict[str, Any]) -> str:
    c, i, s, t = m["class_queries"], m["image_to_image"], m["spectrum_to_spectrum"], m["text_to_subfigure"]
    lines = ["# Search benchmark (synthetic journal)", "",
             f"Image model: `{m['image_model']}`; lake vectors: {m['vectors']} subfigures, "
             f"{m['spectrum_vectors']} series.", "",
             "| measure | value | target |", "|---|---|---|",
             f"| text → subfigure recall@10 ({t['queries']} true subcaptions) | {t['recall_at_10']} | ≥ 0.8 |",
             f"| class-query precision@10, mean ({len(c['per_query'])} queries; min {c['min']}) | {c['mean']} "
             "| ≥ 0.9 |",
             f"| image → image same-class precision@10 ({i['queries']} queries) | {i['precision_at_10']} | ≥ 0.9 |",
             f"| spectrum → spectrum source in top 5 ({s['queries']} queries) | {s['top5']} | ≥ 0.9 |",
             f"| … counting only the query's own plot | {s['top5_this_plot_only']} | |",
             f"| … over all {s['true_series']} true series (digitizing misses count) | "
             f"{s['top5_over_all_true_series']} | |",
             f"| text query latency, median / p95 (ms) | {m['text_query_ms']['median']} / {m['text_query_ms']['p95']} "
             "| |", "",
             "## Class queries", "", "| query | class | precision@10 |", "|---|---|---|"]
    lines += [f"| {q} | {v['class']} | {v['precision_at_10']} |" for q, v in c["per_query"].items()]
    lines += ["", "## Image → image by class", "", "| class | queries | precision@10 |", "|---|---|---|"]
    lines += [f"| {k} | {v['queries']} | {v['precision_at_10']} |" for k, v in i["by_class"].items()]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    params = stage_params(__doc__, argv)
    ep = section(params, "embed")
    ev = ep["evaluate"]
    lake = open_lake(section(params, "lake.root"))
    searcher = Searcher(lake.root, clip_model=ep["clip"]["model"], clip_pretrained=ep["clip"]["pretrained"],
                        settings=SearchSettings.from_params(ep["search"]))
    classes, captions = true_classes(lake, Path(section(params, "sources.synth.path")))
    searcher.text("warm up", SYNTH_WHERE)
    timings = []
    for q in list(ev["class_queries"]) * 3:
        start = time.perf_counter()
        searcher.text(q, SYNTH_WHERE)
        timings.append(1000 * (time.perf_counter() - start))
    m: dict[str, Any] = {
        "image_model": ep["clip"]["model"],
        "vectors": lake.count("vectors"), "spectrum_vectors": lake.count("spectrum_vectors"),
        "subfigures_with_true_class": len(classes),
        "text_to_subfigure": text_recall(searcher, captions, int(ev["text_queries"]), int(ev["seed"])),
        "class_queries": class_precision(searcher, dict(ev["class_queries"]), classes),
        "image_to_image": image_precision(lake, searcher, classes),
        "spectrum_to_spectrum": spectrum_retrieval(int(ev["spectrum_plots"]), int(ev["seed"]), int(ev["workers"])),
        "text_query_ms": {"median": round(float(np.median(timings)), 1),
                          "p95": round(float(np.percentile(timings, 95)), 1)},
    }
    m["meets_targets"] = {
        "text_recall_at_10": m["text_to_subfigure"]["recall_at_10"] >= TARGETS["text_recall_at_10"],
        "class_precision_at_10": m["class_queries"]["mean"] >= TARGETS["class_precision_at_10"],
        "image_precision_at_10": (m["image_to_image"]["precision_at_10"] or 0) >= TARGETS["image_precision_at_10"],
        "spectrum_top5": m["spectrum_to_spectrum"]["top5"] >= TARGETS["spectrum_top5"],
    }
    write_metrics(Path("metrics/search_eval.json"), m)
    Path("reports").mkdir(exist_ok=True)
    Path("reports/search.md").write_text(report(m))
    print(report(m))


if __name__ == "__main__":
    main()

"""The ``evaluate_stem`` stage: structure retrieval on prototypes the encoder never saw.

    python -m ingest.stem.evaluate [--params params.yaml]

Queries are the library's *test* images (the held-out prototypes, every zone
axis, noise level and variant); each ranks all the other test images, itself
excluded. Scores: mAP and top-1 with relevance = same prototype (another zone
axis of the same structure counts: a microscopist wants the structure, not
the view), and with relevance = same space group. Beside the encoder, the
baselines: random vectors, raw-pixel cosine, a rotation-invariant Fourier
descriptor (``ingest.stem.retrieval``) and SSIM on ``ssim_queries`` queries
(its cost per query measured; the encoder's scores on the same queries are
given beside it). Speed: one query (a 256² image at 0.02 nm/px, resampled,
embedded, searched) timed end to end.

End to end, on the synthetic journal in the lake: each HAADF panel the truth
records (structure and zone axis) is found among the lake's subfigures (box
IoU ≥ 0.5); scored are how many reached ``stem_matches`` (classed microscopy,
scale read, fine enough) and how often the true structure is the first match
or among the top k. The journal draws its structures from all prototypes, so
this measures the pipeline (separation → scale → resampling → matching), not
held-out generalisation.

Writes ``metrics/stem_eval.json``, ``reports/stem.md`` and the contact sheet
``docs/stem_contact_sheet.png`` (five test queries with their top-5 library
structures; simulated images, ours to publish).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from catalog.schema import FIGURES, STEM_LIBRARY, STEM_MATCHES, SUBFIGURES
from catalog.storage import AnyLake, open_lake
from ingest.config import section
from ingest.stage import stage_params, write_metrics
from ingest.stem.library import LibrarySpec, library_structures, render_entry, views_of
from ingest.stem.match import StemMatcher
from ingest.stem.model import library_images
from ingest.stem.retrieval import cosine, fourier_descriptor, mean_average_precision, raw_pixels, ssim_scores

STAGE = "evaluate_stem"
SHEET = Path("docs/stem_contact_sheet.png")


def _scores(sim: np.ndarray, protos: np.ndarray, groups: np.ndarray,
            queries: np.ndarray | None = None) -> dict[str, float]:
    m, t = mean_average_precision(sim, protos, queries)
    gm, gt = mean_average_precision(sim, groups, queries)
    return {"map": round(m, 4), "top1": round(t, 4), "space_group_map": round(gm, 4),
            "space_group_top1": round(gt, 4)}


def retrieval_table(test: pa.Table, images: np.ndarray, ssim_queries: int, seed: int) -> dict[str, Any]:
    protos = np.array(test["prototype"].to_pylist())
    groups = np.array(test["space_group_number"].to_pylist())
    vectors = np.array(test["embedding"].to_pylist(), dtype=np.float32)
    rng = np.random.default_rng(seed)
    out: dict[str, Any] = {
        "encoder": _scores(vectors @ vectors.T, protos, groups),
        "random": _scores(cosine(rng.normal(size=(len(images), 64))), protos, groups),
        "raw_pixels": _scores(cosine(raw_pixels(images)), protos, groups),
        "fourier": _scores(cosine(fourier_descriptor(images)), protos, groups),
    }
    queries = np.sort(rng.choice(len(images), size=min(ssim_queries, len(images)), replace=False))
    sim, seconds = ssim_scores(images, queries)
    out["ssim_subset"] = _scores(sim, protos, groups, queries) | {
        "queries": len(queries), "seconds_per_query": round(seconds, 3)}
    out["encoder_on_ssim_subset"] = _scores((vectors @ vectors.T)[queries], protos, groups, queries)
    return out


def query_speed(matcher: StemMatcher, spec: LibrarySpec, n: int = 60) -> dict[str, float]:
    """End-to-end ms per query: a 256² image at 0.02 nm/px → resample, embed, search."""
    views = [v for s in library_structures()[:60] for v in views_of(s, spec)][:n]
    big = LibrarySpec(size_px=256, nm_per_px=0.02, seed=spec.seed)
    matcher.match(render_entry(views[0], 0.5, 0, big), 0.02, 5, "warm-up query")  # first call: torch start-up
    times = []
    for i, v in enumerate(views):
        img = render_entry(v, 0.5, i, big)
        start = time.perf_counter()
        matcher.match(img, 0.02, 5, f"speed query {i}")
        times.append(1000 * (time.perf_counter() - start))
    return {"query_ms_median": round(float(np.median(times)), 1),
            "query_ms_p95": round(float(np.percentile(times, 95)), 1), "query_ms_max": round(float(np.max(times)), 1)}


def contact_sheet(test: pa.Table, images: np.ndarray, path: Path, seed: int, n: int = 5, k: int = 5) -> None:
    """n test queries, each beside its top-k distinct prototypes (a green frame = the true one)."""
    vectors = np.array(test["embedding"].to_pylist(), dtype=np.float32)
    protos, zones = test["prototype"].to_pylist(), test["zone_axis"].to_pylist()
    formulas = test["formula"].to_pylist()
    rng = np.random.default_rng(seed)
    picks = rng.choice(sorted(set(protos)), size=min(n, len(set(protos))), replace=False)
    tile, pad, text_h = 128, 6, 34
    rows = []
    for proto in picks:
        q = int(rng.choice([i for i, p in enumerate(protos) if p == proto]))
        order = np.argsort(-(vectors @ vectors[q]))
        hits, seen = [], set()
        for i in order:
            if i != q and protos[i] not in seen:
                seen.add(protos[i])
                hits.append(int(i))
            if len(hits) == k:
                break
        cells = []
        for j, i in enumerate([q, *hits]):
            cell = np.full((tile + text_h + 2 * pad, tile + 2 * pad, 3), 255, np.uint8)
            colour = (40, 40, 40) if j == 0 else ((40, 160, 40) if protos[i] == proto else (60, 60, 200))
            cell[:tile + 2 * pad] = colour
            cell[pad:pad + tile, pad:pad + tile] = cv2.cvtColor(cv2.resize(images[i], (tile, tile)),
                                                                  cv2.COLOR_GRAY2BGR)
            head = "query" if j == 0 else f"#{j} {float(vectors[i] @ vectors[q]):.2f}"
            for line, (txt, y) in enumerate(((f"{head} {formulas[i]}", 14), (f"{zones[i]} {protos[i]}"[:24], 28))):
                cv2.putText(cell, txt[:22] if line == 0 else txt, (2, tile + 2 * pad + y - 2),
                            cv2.FONT_HERSHEY_SIMPLEX, 0.36, (0, 0, 0), 1, cv2.LINE_AA)
            cells.append(cell)
        rows.append(np.hstack(cells))
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.vstack(rows))


def _iou(a: list[int], b: dict[str, int]) -> float:
    ix = max(0, min(a[2], b["x1"]) - max(a[0], b["x0"]))
    iy = max(0, min(a[3], b["y1"]) - max(a[1], b["y0"]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b["x1"] - b["x0"]) * (b["y1"] - b["y0"]) - inter
    return inter / union if union else 0.0


def journal_matches(lake: AnyLake, synth: Path) -> dict[str, Any]:
    """The lake's stem_matches for the synthetic journal's HAADF panels, against their truth."""
    truth_dir = synth / "truth"
    if not truth_dir.is_dir() or not lake.exists(STEM_MATCHES.name):
        return {"available": False}
    figure_of = {Path(f["image_url"] or "").stem: f["figure_id"]
                 for f in lake.read(FIGURES.name, ["figure_id", "image_url"]).to_pylist()}
    subs: dict[str, list[dict[str, Any]]] = {}
    for sub in lake.read(SUBFIGURES.name, ["subfigure_id", "figure_id", "bbox"]).to_pylist():
        if sub["bbox"]:
            subs.setdefault(sub["figure_id"], []).append(sub)
    ranked: dict[str, list[str]] = {}
    for m in sorted(lake.read(STEM_MATCHES.name, ["subfigure_id", "rank", "prototype"]).to_pylist(),
                    key=lambda m: m["rank"]):
        ranked.setdefault(m["subfigure_id"], []).append(m["prototype"])
    panels = found = matched = top1 = topk = 0
    for path in sorted(truth_dir.glob("*.json")):
        truth = json.loads(path.read_text())
        for master in truth["master_images"]:
            structure = master.get("structure")
            if not structure:
                continue
            panels += 1
            names = {structure["prototype"], f"{structure['prototype']}-{structure['formula']}"}
            cands = [s for s in subs.get(figure_of.get(truth["figure"], ""), [])
                     if _iou(master["bbox"], s["bbox"]) >= 0.5]
            if not cands:
                continue
            found += 1
            got = ranked.get(cands[0]["subfigure_id"])
            if got:
                matched += 1
                top1 += got[0] in names
                topk += bool(names & set(got))
    return {"available": True, "haadf_panels": panels, "found_as_subfigures": found, "matched": matched,
            "top1": round(top1 / matched, 4) if matched else None,
            "topk": round(topk / matched, 4) if matched else None}


def report(metrics: dict[str, Any]) -> str:
    r = metrics["retrieval"]
    lines = [
        "# STEM2Sim: structure retrieval on held-out prototypes",
        "",
        f"{metrics['test_images']} test images of {metrics['test_prototypes']} prototypes the encoder never saw; "
        "each image queries all the others (itself excluded). Relevant = same prototype (any zone axis) "
        "or same space group.",
        "",
        "| method | mAP | top-1 | space-group mAP | space-group top-1 |",
        "|---|---|---|---|---|",
    ]
    names = {"encoder": "encoder (ResNet-18, NT-Xent + classification)", "random": "random vectors",
             "raw_pixels": "raw-pixel cosine", "fourier": "rotation-invariant Fourier descriptor",
             "ssim_subset": f"SSIM ({r['ssim_subset']['queries']} queries, "
                            f"{r['ssim_subset']['seconds_per_query']} s each)",
             "encoder_on_ssim_subset": "encoder on the same queries"}
    for key, name in names.items():
        s = r[key]
        lines.append(f"| {name} | {s['map']:.3f} | {s['top1']:.3f} | {s['space_group_map']:.3f} | "
                     f"{s['space_group_top1']:.3f} |")
    j = metrics["journal"]
    if j.get("available"):
        lines += ["", f"End to end on the synthetic journal's {j['haadf_panels']} HAADF panels: "
                      f"{j['found_as_subfigures']} found as subfigures, {j['matched']} matched (microscopy, scale "
                      f"read, fine enough); the true structure first for {j['top1']}, in the top 5 for {j['topk']} "
                      "(structures the encoder may have trained on: a pipeline check, not a held-out score)."]
    lines += ["", f"One query (256² px at 0.02 nm/px, resampled, embedded, searched): median "
                  f"{metrics['query_ms_median']} ms, 95th percentile {metrics['query_ms_p95']} ms, max "
                  f"{metrics['query_ms_max']} ms.", "",
              f"![contact sheet](../{SHEET})", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    params = stage_params(__doc__, argv)
    p = section(params, "stem.evaluate")
    spec = LibrarySpec.from_params(section(params, "stem.library"))
    lake = open_lake(section(params, "lake.root"))
    library = lake.read(STEM_LIBRARY.name)
    test = library.filter(pc.equal(library["split"], "test"))
    images = library_images(test)
    metrics: dict[str, Any] = {
        "test_images": len(test), "test_prototypes": len(set(test["prototype"].to_pylist())),
        "retrieval": retrieval_table(test, images, int(p["ssim_queries"]), spec.seed),
    }
    matcher = StemMatcher(Path(section(params, "stem.model.path")), lake,
                          int(section(params, "stem.match.windows")))
    metrics |= query_speed(matcher, spec)
    metrics["journal"] = journal_matches(lake, Path(section(params, "sources.synth.path")))
    contact_sheet(test, images, SHEET, spec.seed)
    write_metrics(Path("metrics/stem_eval.json"), metrics)
    Path("reports").mkdir(exist_ok=True)
    Path("reports/stem.md").write_text(report(metrics))


if __name__ == "__main__":
    main()

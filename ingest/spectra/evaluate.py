"""The ``evaluate_spectra`` stage: plot digitizing measured against exact truth.

    python -m ingest.spectra.evaluate [--params params.yaml]

Synthetic benchmark: ``spectra.evaluate.plots`` plots from the synthetic
journal's graph generator (``ingest.synth.plots``: XANES from the XAS Data
Library, model Raman, XRD and UV-vis; stacked, crossing, dashed/dotted, log,
legend, grid and marker cases, a share re-encoded as JPEG, a share of the
multi-curve plots drawn all in black as papers often do), each digitized by
both methods from one OCR pass.

Scores, in the plotted coordinates (log10 of y on a log axis; fractions of
the axis where y is uncalibrated, the truth mapped the same way):

- series recall / precision: a predicted series matches a true one when its
  mean |Δy| over their x-overlap, divided by the true series' own y-range, is
  under 0.02 and it covers at least 80 % of the true x-range (Hungarian
  matching on mean |Δy|);
- nRMSE: RMS Δy over the overlap / the true y-range, mean over matched series;
- axis-range relative error of every calibrated axis: the larger of the
  errors at both ends over the true range; share within 1 %;
- CHART-Info 6b-style F1: a pair scores coverage × mean point score, a point
  scoring 1 − |Δy|/(0.1·range) (floored at 0); precision and recall are the
  summed best-pair scores over the predicted and true series counts;
- speed: seconds per plot for the tracking method, OCR included, one thread.

Real crops (``benchmarks.shared_corpora``/spectra/plot2spec_real_crops, plot
areas cut at the axes): every crop digitized, failures counted, and a contact
sheet of 24 random crops with their curves drawn over them written to
``reports/spectra_real_crops.png`` (publisher images: a local report, never
committed).

Writes ``metrics/spectra_eval.json`` and ``reports/spectra.md``.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from scipy.optimize import linear_sum_assignment

from ingest.config import section
from ingest.spectra.digitize import METHODS, Digitized, digitize
from ingest.stage import stage_params, write_metrics
from ingest.synth.plots import PlotPlan, plan_plot, render_plot
from ingest.synth.truth import AxisTruth, GraphTruth

MATCH_ERROR = 0.02
MATCH_COVERAGE = 0.8
_OVERLAY = ((0, 170, 0), (200, 0, 200), (200, 60, 0), (0, 120, 255), (200, 200, 0), (0, 0, 220))
CASES = ("stacked", "crossing", "dashed", "log", "legend", "jpeg", "uncalibrated_y", "same_colour")


@dataclass
class BenchPlot:
    image: np.ndarray
    truth: GraphTruth
    cases: set[str]


def bench_plots(n: int, seed: int, jpeg_share: float, same_colour_share: float = 0.0) -> list[BenchPlot]:
    """``n`` plots from the synthetic journal's graph generator, deterministic in ``seed``.

    The journal gives every curve of a plot its own colour; papers often draw stacked spectra all in
    black, so a share of the multi-curve plots is redrawn in one colour (chosen by a second generator,
    so the other plots are the same whatever the share)."""
    rng = np.random.default_rng(seed)
    recolour = np.random.default_rng(seed + 1)
    out = []
    materials = ("TiO2", "ZnO", "LiFePO4", "CeO2", "MoS2", "Fe3O4", "graphene", "BaTiO3")
    for i in range(n):
        plan = plan_plot(rng, materials[i % len(materials)])
        shape = (int(rng.integers(220, 440)), int(rng.integers(280, 600)))
        one_colour = len(plan.ys) > 1 and recolour.random() < same_colour_share
        if one_colour:
            plan.colors = ["#000000"] * len(plan.ys)
        graph = render_plot(plan, shape)
        image = graph.image
        # A series drawn exactly under another (the same spectrum twice) has no pixels to read.
        hidden = [k for k in range(len(plan.ys))
                  if (render_plot(plan, shape, frozenset({k})).image != image).any(axis=2).sum() < 10]
        graph.truth.series = [s for k, s in enumerate(graph.truth.series) if k not in hidden]
        cases = _cases(plan, graph.truth) | ({"same_colour"} if one_colour else set())
        if rng.random() < jpeg_share:
            _, buf = cv2.imencode(".jpg", image[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(60, 92))])
            image = np.asarray(cv2.imdecode(buf, cv2.IMREAD_COLOR))[..., ::-1].copy()
            cases.add("jpeg")
        out.append(BenchPlot(image, graph.truth, cases))
    return out


def _cases(plan: PlotPlan, truth: GraphTruth) -> set[str]:
    cases = set()
    if plan.stacked:
        cases.add("stacked")
    if any(s != "solid" for s in plan.styles):
        cases.add("dashed")
    if plan.log_y:
        cases.add("log")
    if plan.legend:
        cases.add("legend")
    if not plan.ticks_labelled:
        cases.add("uncalibrated_y")
    if len(plan.ys) > 1 and not plan.stacked:
        grid = np.linspace(max(float(x.min()) for x in plan.xs), min(float(x.max()) for x in plan.xs), 200)
        ys = [np.interp(grid, x, y) for x, y in zip(plan.xs, plan.ys, strict=True)]
        if any(np.any(np.diff(np.sign(a - b)) != 0) for i, a in enumerate(ys) for b in ys[i + 1:]):
            cases.add("crossing")
    return cases


def _plotted(values: np.ndarray, axis: AxisTruth) -> np.ndarray:
    return np.log10(np.clip(values, 1e-12, None)) if axis.scale == "log" else values


def _fraction(values: np.ndarray, axis: AxisTruth) -> np.ndarray:
    lo, hi = _plotted(np.array([axis.min, axis.max]), axis)
    return (_plotted(values, axis) - lo) / (hi - lo)


def _compare_space(d: Digitized, truth: GraphTruth) -> tuple[list[tuple[np.ndarray, np.ndarray]],
                                                              list[tuple[np.ndarray, np.ndarray]]]:
    """Predicted and true series as (x, y) in one space per axis (see the module docstring)."""
    def conv(xs: np.ndarray, ys: np.ndarray, pred: bool) -> tuple[np.ndarray, np.ndarray]:
        x = xs if d.x_axis.calibrated or pred else _fraction(xs, truth.x_axis)
        if d.y_axis.calibrated:
            return x, _plotted(ys, truth.y_axis)
        return x, ys if pred else _fraction(ys, truth.y_axis)

    preds = [conv(np.array(s.x), np.array(s.y), True) for s in d.series]
    trues = [conv(np.array(s.x), np.array(s.y), False) for s in truth.series]
    return preds, trues


def pair_scores(p: tuple[np.ndarray, np.ndarray], t: tuple[np.ndarray, np.ndarray]) -> tuple[float, float, float,
                                                                                                float]:
    """(mean |Δy| / range, coverage, RMS Δy / range, 6b-style score) of a predicted series against a true one."""
    px, py = p
    tx, ty = t
    order = np.argsort(tx)
    tx, ty = tx[order], ty[order]
    lo, hi = max(px.min(), tx.min()), min(px.max(), tx.max())
    t_span = float(tx.max() - tx.min()) or 1.0
    inside = (px >= lo) & (px <= hi)
    if hi <= lo or inside.sum() < 2:
        return np.inf, 0.0, np.inf, 0.0
    rng = float(ty.max() - ty.min()) or 1.0
    dy = np.abs(py[inside] - np.interp(px[inside], tx, ty)) / rng
    coverage = float(hi - lo) / t_span
    return (float(dy.mean()), coverage, float(np.sqrt(np.mean(dy ** 2))),
            coverage * float(np.clip(1 - dy / 0.1, 0, 1).mean()))


def score_plot(d: Digitized, truth: GraphTruth) -> dict[str, Any]:
    preds, trues = _compare_space(d, truth)
    n_p, n_t = len(preds), len(trues)
    err = np.full((n_p, n_t), np.inf)
    rmse = np.full((n_p, n_t), np.inf)
    chart = np.zeros((n_p, n_t))
    for i, p in enumerate(preds):
        for j, t in enumerate(trues):
            e, cov, r, c = pair_scores(p, t)
            chart[i, j] = c
            if e < MATCH_ERROR and cov >= MATCH_COVERAGE:
                err[i, j], rmse[i, j] = e, r
    matched: list[float] = []
    if n_p and n_t:
        rows, cols = linear_sum_assignment(np.where(np.isfinite(err), err, 1e6))
        matched = [float(rmse[i, j]) for i, j in zip(rows, cols, strict=True) if np.isfinite(err[i, j])]
    c_rows, c_cols = linear_sum_assignment(-chart) if n_p and n_t else ([], [])
    chart_sum = float(sum(chart[i, j] for i, j in zip(c_rows, c_cols, strict=True)))
    return {"true": n_t, "pred": n_p, "matched": len(matched), "rmse": matched, "chart": chart_sum,
            "axes": _axis_errors(d, truth)}


def _axis_errors(d: Digitized, truth: GraphTruth) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for name, pred, true in (("x", d.x_axis, truth.x_axis), ("y", d.y_axis, truth.y_axis)):
        if not true.ticks_labelled:
            out[name] = None
            continue
        if not pred.calibrated:
            out[name] = 1.0
            continue
        lo, hi = _plotted(np.array([true.min, true.max]), true)
        p_lo, p_hi = _plotted(np.array(pred.range), true)
        out[name] = float(max(abs(p_lo - lo), abs(p_hi - hi)) / abs(hi - lo))
    return out


def summarise(scores: list[dict[str, Any]]) -> dict[str, Any]:
    t = sum(s["true"] for s in scores)
    p = sum(s["pred"] for s in scores)
    m = sum(s["matched"] for s in scores)
    rmses = [r for s in scores for r in s["rmse"]]
    chart = sum(s["chart"] for s in scores)
    c_prec, c_rec = chart / max(p, 1), chart / max(t, 1)
    axis = [e for s in scores for e in s["axes"].values() if e is not None]
    return {
        "plots": len(scores), "true_series": t, "predicted_series": p,
        "series_recall": round(m / max(t, 1), 4), "series_precision": round(m / max(p, 1), 4),
        "nrmse_matched": round(float(np.mean(rmses)), 5) if rmses else None,
        "chart_info_6b_f1": round(2 * c_prec * c_rec / max(c_prec + c_rec, 1e-9), 4),
        "axis_range_error_mean": round(float(np.mean(axis)), 5) if axis else None,
        "axes_within_1pct": round(float(np.mean([e <= 0.01 for e in axis])), 4) if axis else None,
        "calibrated_axes": len(axis),
    }


def run_synthetic(plots: list[BenchPlot]) -> tuple[dict[str, Any], list[float]]:
    from ingest import ocr

    per_method: dict[str, list[dict[str, Any]]] = {m: [] for m in METHODS}
    seconds: list[float] = []
    if plots:
        ocr.detect(plots[0].image)  # the OCR models load once per process; that is not per-plot time
    for plot in plots:
        start = time.perf_counter()
        texts = ocr.detect(plot.image)
        d = digitize(plot.image, "track", texts)
        seconds.append(time.perf_counter() - start)
        per_method["track"].append(score_plot(d, plot.truth) | {"cases": plot.cases})
        for m in METHODS[1:]:
            per_method[m].append(score_plot(digitize(plot.image, m, texts), plot.truth) | {"cases": plot.cases})
    out: dict[str, Any] = {}
    for m, scores in per_method.items():
        out[m] = summarise(scores)
        out[m]["by_case"] = {c: summarise([s for s in scores if c in s["cases"]]) for c in CASES}
        # The journal's own plots only (every curve its own colour), as the acceptance cases list them.
        out[m]["distinct_colours"] = summarise([s for s in scores if "same_colour" not in s["cases"]])
    return out, seconds


def run_real(folder: Path, sheet: Path, seed: int) -> dict[str, Any]:
    paths = sorted(folder.glob("*.jpg")) + sorted(folder.glob("*.png"))
    failures, series, seconds = [], 0, []
    results: dict[Path, Digitized] = {}
    for path in paths:
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            failures.append(f"{path.name}: not a readable image")
            continue
        start = time.perf_counter()
        try:
            d = digitize(image[..., ::-1].copy())
        except Exception as exc:  # noqa: BLE001 — the benchmark counts every failure, of any kind
            failures.append(f"{path.name}: {type(exc).__name__}: {exc}")
            continue
        seconds.append(time.perf_counter() - start)
        series += len(d.series)
        results[path] = d
    picks = [paths[i] for i in np.random.default_rng(seed).choice(len(paths), min(24, len(paths)), replace=False)]
    contact_sheet([(p, results[p]) for p in picks if p in results], sheet)
    return {"crops": len(paths), "failures": len(failures), "failed": failures[:20],
            "with_series": sum(1 for d in results.values() if d.series), "series": series,
            "seconds_median": round(float(np.median(seconds)), 3) if seconds else None,
            "seconds_max": round(float(np.max(seconds)), 3) if seconds else None}


def contact_sheet(items: list[tuple[Path, Digitized]], out: Path, cell: int = 240) -> None:
    """Crops in a 6-wide grid, faded, each digitized series drawn over its crop in a colour of its own
    (a fixed high-contrast cycle: BGR green, magenta, blue, orange, cyan, red), the count in the caption."""
    tiles = []
    for path, d in items:
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            continue
        faded = (0.45 * image + 0.55 * 255).astype(np.uint8)
        for k, s in enumerate(d.series):
            pts = np.stack([np.array(s.x_px), np.array(s.y_px)], axis=1).astype(np.int32)
            cv2.polylines(faded, [pts], False, _OVERLAY[k % len(_OVERLAY)], 2, cv2.LINE_AA)
        scale = cell / max(faded.shape[:2])
        small = cv2.resize(faded, (max(1, int(faded.shape[1] * scale)), max(1, int(faded.shape[0] * scale))))
        tile = np.full((cell + 16, cell, 3), 255, np.uint8)
        tile[:small.shape[0], :small.shape[1]] = small
        cv2.putText(tile, f"{path.stem[:28]} ({len(d.series)})", (2, cell + 12), cv2.FONT_HERSHEY_SIMPLEX, 0.35,
                    (0, 0, 0), 1, cv2.LINE_AA)
        tiles.append(tile)
    if not tiles:
        return
    while len(tiles) % 6:
        tiles.append(np.full_like(tiles[0], 255))
    rows = [np.hstack(tiles[i:i + 6]) for i in range(0, len(tiles), 6)]
    out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(out), np.vstack(rows))


def main(argv: list[str] | None = None) -> None:
    params = stage_params(__doc__, argv)
    p = section(params, "spectra.evaluate")
    os.environ.setdefault("FIGLAKE_OCR_THREADS", "1")  # "per plot on one core"
    cv2.setNumThreads(1)
    plots = bench_plots(int(p["plots"]), int(p["seed"]), float(p["jpeg_share"]), float(p["same_colour_share"]))
    metrics: dict[str, Any] = {}
    metrics["synthetic"], seconds = run_synthetic(plots)
    metrics["seconds_per_plot"] = {"median": round(float(np.median(seconds)), 3),
                                   "p95": round(float(np.percentile(seconds, 95)), 3),
                                   "max": round(float(np.max(seconds)), 3)}
    real = Path(section(params, "benchmarks.shared_corpora")) / "spectra" / "plot2spec_real_crops" / "regions"
    sheet = Path("reports") / "spectra_real_crops.png"
    metrics["real_crops"] = run_real(real, sheet, int(p["seed"])) if real.is_dir() else {"available": False}
    write_metrics(Path("metrics") / "spectra_eval.json", metrics)
    report = Path("reports") / "spectra.md"
    report.write_text(render_report(metrics))
    print(report.read_text())


def render_report(metrics: dict[str, Any]) -> str:
    syn = metrics["synthetic"]
    keys = ("series_recall", "series_precision", "nrmse_matched", "chart_info_6b_f1", "axes_within_1pct",
            "axis_range_error_mean")
    lines = ["# Plot digitizing", "", f"Synthetic benchmark: {syn['track']['plots']} plots, "
             f"{syn['track']['true_series']} true series.", "",
             "| method | " + " | ".join(keys) + " |", "|---|" + "---|" * len(keys)]
    for m in METHODS:
        lines.append(f"| {m} | " + " | ".join(str(syn[m][k]) for k in keys) + " |")
    for m in METHODS:
        lines.append(f"| {m}, distinct-colour plots only | "
                     + " | ".join(str(syn[m]["distinct_colours"][k]) for k in keys) + " |")
    lines += ["", "Series recall by case (plots in the case):", "", "| case | plots | " + " | ".join(METHODS) + " |",
              "|---|---|" + "---|" * len(METHODS)]
    for c in CASES:
        lines.append(f"| {c} | {syn['track']['by_case'][c]['plots']} | "
                     + " | ".join(str(syn[m]['by_case'][c]['series_recall']) for m in METHODS) + " |")
    s = metrics["seconds_per_plot"]
    lines += ["", f"Speed (tracking, OCR included, one thread): median {s['median']} s, p95 {s['p95']} s, "
              f"max {s['max']} s per plot."]
    real = metrics["real_crops"]
    if real.get("available") is not False:
        lines += ["", f"Real crops: {real['crops']} digitized, {real['failures']} failures, "
                  f"{real['with_series']} with at least one series ({real['series']} series); median "
                  f"{real['seconds_median']} s, max {real['seconds_max']} s. Contact sheet: "
                  "reports/spectra_real_crops.png (not committed: publisher images)."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()

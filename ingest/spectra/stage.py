"""The ``spectra`` stage: every graph subfigure digitized into calibrated series → ``spectra``.

    python -m ingest.spectra.stage [--params params.yaml]

Items are figures with at least one subfigure classed ``graph`` (each image
is decoded once); each such subfigure is cut from the figure and handed to
``digitize``. One row per series, keyed ``'<subfigure_id>/s<n>'``, bottom
curve first. A figure whose image cannot be read is quarantined, naming it;
a graph with no curve found yields no rows and is counted in the metrics.
Resumable like every stage.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from catalog.schema import SPECTRA, SUBFIGURES
from catalog.storage import open_lake
from ingest.config import section
from ingest.executor import executor_from_params
from ingest.images import figure_image_reader
from ingest.provenance import extractor, params_hash
from ingest.spectra.digitize import Digitized, digitize
from ingest.stage import ItemResult, Stage, report_metrics, stage_params

STAGE = "spectra"
MIN_SIDE = 16  # px: a smaller plot crop holds no readable axes


def spectrum_rows(subfigure_id: str, d: Digitized, phash: str) -> list[dict[str, Any]]:
    """Rows of the spectra table for one digitized graph."""
    fit = [a.residual for a in (d.x_axis, d.y_axis) if a.calibrated]
    return [{
        "spectrum_id": f"{subfigure_id}/s{i}",
        "subfigure_id": subfigure_id,
        "series_index": i,
        "x": s.x,
        "y": s.y,
        "x_label": d.x_axis.label or None,
        "y_label": d.y_axis.label or None,
        "x_unit": d.x_axis.unit or None,
        "y_unit": d.y_axis.unit or ("a.u." if not d.y_axis.calibrated else None),
        "x_scale": d.x_axis.scale if d.x_axis.calibrated else "linear",
        "y_scale": d.y_axis.scale if d.y_axis.calibrated else "linear",
        "y_calibrated": d.y_axis.calibrated,
        "calibration_error": max(fit) if fit else None,
        "color": s.color,
        "style": s.style,
        "confidence": s.confidence,
        "extractor": extractor("ingest.spectra"),
        "params_hash": phash,
    } for i, s in enumerate(d.series)]


def _digitizable(b: dict[str, int]) -> bool:
    return b["y1"] - b["y0"] >= MIN_SIDE and b["x1"] - b["x0"] >= MIN_SIDE


def main(argv: list[str] | None = None) -> None:
    params = stage_params(__doc__, argv)
    p = section(params, "spectra")
    lake = open_lake(section(params, "lake.root"))
    method = str(p["method"])
    phash = params_hash(p)
    max_pixels = int(section(params, "images.max_pixels"))
    graphs: dict[str, list[dict[str, Any]]] = {}
    for sub in lake.read(SUBFIGURES.name, ["subfigure_id", "figure_id", "class", "bbox"]).to_pylist():
        if sub["class"] == "graph" and sub["bbox"]:
            graphs.setdefault(sub["figure_id"], []).append(sub)
    figure_rgb = figure_image_reader(lake, max_pixels)
    stage = Stage(STAGE, lake, [SPECTRA], {"spectra": p}, Path(section(params, "lake.work_root")),
                  checkpoint_every=int(section(params, "stage.checkpoint_every")),
                  executor=executor_from_params(section(params, "stage")))

    def process(figure_id: str) -> ItemResult:
        result = ItemResult()
        rgb = figure_rgb(figure_id)
        for sub in sorted(graphs[figure_id], key=lambda s: s["subfigure_id"]):
            b = sub["bbox"]
            if not _digitizable(b):
                continue
            crop = rgb[b["y0"]:b["y1"], b["x0"]:b["x1"]]
            if crop.shape[0] < MIN_SIDE or crop.shape[1] < MIN_SIDE:  # a box reaching past the image
                continue
            rows = spectrum_rows(sub["subfigure_id"], digitize(crop, method), phash)
            for row in rows:
                result.add(SPECTRA.name, row)
        return result

    report = stage.run([(f, f) for f in sorted(graphs)], process)
    # Counted from what was written, not in ``process``: it runs in other processes (stage.executor: processes, ray).
    found = {"graphs": sum(_digitizable(s["bbox"]) for subs in graphs.values() for s in subs),
             "graphs_with_series": len(set(lake.read(SPECTRA.name, ["subfigure_id"])["subfigure_id"].to_pylist()))}
    report_metrics(STAGE, report.as_metrics() | found)


if __name__ == "__main__":
    main()

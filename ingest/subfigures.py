"""The ``figures`` stage: every figure image separated into its MDI model → ``subfigures``,
``scale_bars`` and ``thumbnails``.

    python -m ingest.subfigures [--params params.yaml]

Per figure: decode the image (a bad one is quarantined, naming it), run
``separate_figure`` with the figure's caption and the trained classifier, and
turn the result into rows — one per master, dependent, inset and unassigned
region, one per scale bar, and a JPEG thumbnail per subfigure for the explorer.
Resumable: a killed run picks up at its last committed batch.
"""

from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from catalog.schema import FIGURES, SCALE_BARS, SUBFIGURES, THUMBNAILS
from catalog.storage import open_lake
from ingest.caption_segments import keyword_families
from ingest.captions import distribute_caption
from ingest.captions.keywords import query_keywords
from ingest.config import section
from ingest.errors import CorruptImageError
from ingest.executor import executor_from_params
from ingest.figures.classify import PanelClassifier
from ingest.figures.geometry import Box
from ingest.figures.records import ScaleBar, Separation
from ingest.figures.separate import separate_figure
from ingest.images import decode_rgb
from ingest.labels import subfigure_id
from ingest.provenance import extractor, params_hash
from ingest.stage import ItemResult, Stage, report_metrics, stage_params

STAGE = "figures"
log = logging.getLogger(__name__)


def _bbox(b: Box | None) -> dict[str, int] | None:
    return None if b is None else {"x0": int(b[0]), "y0": int(b[1]), "x1": int(b[2]), "y1": int(b[3])}


def thumbnail(rgb: np.ndarray, box: Box, size: int) -> dict[str, Any] | None:
    x0, y0, x1, y1 = box
    crop = rgb[y0:y1, x0:x1]
    if crop.size == 0:
        return None
    im = Image.fromarray(crop)
    im.thumbnail((size, size))
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=85)
    return {"width": im.width, "height": im.height, "bytes": buf.getvalue()}


def figure_rows(figure: dict[str, Any], sep: Separation, rgb: np.ndarray, families: list[tuple[str, ...]],
                thumb_px: int, phash: str) -> dict[str, list[dict[str, Any]]]:
    """The ``subfigures``, ``scale_bars`` and ``thumbnails`` rows of one separated figure."""
    fid = figure["figure_id"]
    dist = distribute_caption(figure.get("caption") or "")
    common = {"figure_id": fid, "article_id": figure.get("article_id"),
              "license_spdx": figure.get("license_spdx"), "license_url": figure.get("license_url"),
              "extractor": extractor("ingest.figures"), "params_hash": phash}
    subs: list[dict[str, Any]] = []
    bars: list[dict[str, Any]] = []
    thumbs: list[dict[str, Any]] = []

    def add(sid: str, role: str, parent: str | None, label: str | None, box: Box, cls: str, conf: float,
            text: str | None, own_bars: list[ScaleBar], **extra: Any) -> None:
        real = [b.nm_per_px for b in own_bars if b.nm_per_px]
        subs.append({**common, "subfigure_id": sid, "role": role, "parent_id": parent, "label": label,
                     "bbox": _bbox(box), "class": cls, "confidence": conf, "caption_text": text,
                     "keywords": query_keywords(text or "", families) if text else [],
                     "nm_per_px": real[0] if real else None, **extra})
        for n, b in enumerate(own_bars):
            bars.append({"scale_bar_id": f"{sid}/bar{n}", "subfigure_id": sid, "figure_id": fid,
                         "bar_bbox": _bbox(b.bbox), "length_px": b.length_px, "label_text": b.label_text,
                         "label_bbox": _bbox(b.label_bbox), "value": b.value, "unit": b.unit,
                         "nm_per_px": b.nm_per_px, "source": b.source, "confidence": b.confidence,
                         "extractor": common["extractor"], "params_hash": phash})
        t = thumbnail(rgb, box, thumb_px)
        if t:
            thumbs.append({"subfigure_id": sid, "figure_id": fid, **t})

    seen: set[str] = set()
    for m in sep.master_images:
        sid = subfigure_id(fid, m.label or "")
        while sid in seen:  # the same label printed twice: keep both, distinctly
            sid += "'"
        seen.add(sid)
        label = m.label or ""
        text = dist.subcaption(label) if label in dist.labels or not label else dist.subcaption(
            next((lab for lab in dist.labels if lab.lower() == label.lower()), label))
        add(sid, "master", None, m.label, m.bbox, m.cls, m.class_confidence, text,
            [b for b in m.scale_bars if b.in_ == "master"], label_bbox=_bbox(m.label_bbox),
            detection_confidence=m.confidence)
        for k, d in enumerate(m.dependents):
            add(f"{sid}/d{k}", "dependent", sid, m.label, d.bbox, d.cls, d.class_confidence, None,
                [b for b in m.scale_bars if b.in_ == k])
        for k, ins in enumerate(m.insets):
            parent = sid if ins.in_ == "master" else f"{sid}/d{ins.in_}"
            add(f"{sid}/i{k}", "inset", parent, m.label, ins.bbox, ins.cls, ins.class_confidence,
                dist.insets.get(label), [])
    for k, box in enumerate(sep.unassigned):
        add(f"{fid}/unassigned{k}", "unassigned", None, None, box, "unclear", 0.0, None, [])
    return {SUBFIGURES.name: subs, SCALE_BARS.name: bars, THUMBNAILS.name: thumbs}


def main(argv: list[str] | None = None) -> None:
    params = stage_params(__doc__, argv)
    p = section(params, "figures")
    lake = open_lake(section(params, "lake.root"))
    classify = PanelClassifier.load(Path(p["classifier"]["model"]))
    families = keyword_families(section(params, "captions").get("query"))
    # figures.evaluate only configures the benchmark: changing it must not rebuild the lake.
    p = {k: v for k, v in p.items() if k != "evaluate"}
    phash = params_hash({"figures": p, "captions": section(params, "captions")})
    max_pixels = int(section(params, "images.max_pixels"))
    figures = lake.read(FIGURES.name, ["figure_id", "article_id", "caption", "image_sha256", "license_spdx",
                                       "license_url"]).to_pylist()
    read_image = lake.image_reader()
    stage = Stage(STAGE, lake, [SUBFIGURES, SCALE_BARS, THUMBNAILS], {"figures": p}, Path(
        section(params, "lake.work_root")), checkpoint_every=int(section(params, "stage.checkpoint_every")),
        executor=executor_from_params(section(params, "stage")))

    def process(fig: dict[str, Any]) -> ItemResult:
        result = ItemResult()
        source = f"{fig['figure_id']} image"
        if not fig["image_sha256"]:
            return result  # collect recorded why the figure has no image
        data = read_image(fig["image_sha256"])
        if data is None:
            raise CorruptImageError(source, f"image {fig['image_sha256'][:12]}… is not in the images table")
        rgb = decode_rgb(data, source, max_pixels=max_pixels)
        sep = separate_figure(rgb, fig["caption"], classify, source)
        for table, rows in figure_rows(fig, sep, rgb, families, int(p["thumbnail_px"]), phash).items():
            for row in rows:
                result.add(table, row)
        return result

    report_metrics(STAGE, stage.run([(f["figure_id"], f) for f in figures], process).as_metrics())


if __name__ == "__main__":
    main()

"""Structure matches for atomic-resolution images: embed, then search the simulated library.

``StemMatcher.match`` is the per-item function (grey image and its nm/px in,
ranked structures out) that ``figlake stem-match`` and the ``stem_matches``
stage call. A query is first resampled to the library's pixel size — the
encoder has learnt what column spacings *in pixels* mean — then cut into up to
five library-sized windows (centre and quadrants) whose embeddings are
averaged. The library (a few thousand vectors) is searched exactly, by one
matrix product: faster than any index at this size. The top matches are
distinct prototypes, each with its best-matching zone axis.

    python -m ingest.stem.match [--params params.yaml]

is the ``stem_matches`` stage: every subfigure classed microscopy whose
nm_per_px is at most ``stem.match.max_nm_per_px`` gets its top-k structures.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from catalog.schema import STEM_LIBRARY, STEM_MATCHES, SUBFIGURES
from catalog.storage import AnyLake, open_lake
from embeddings.stem import embed_images
from ingest.config import section
from ingest.errors import InputError
from ingest.images import figure_image_reader
from ingest.provenance import extractor, params_hash
from ingest.stage import ItemResult, Stage, report_metrics, stage_params
from ingest.stem.model import load_encoder
from ingest.stem.render import to_uint8

STAGE = "stem_matches"


@dataclass(frozen=True)
class Match:
    entry_id: str
    prototype: str
    formula: str
    space_group: str
    zone_axis: str
    score: float

    def as_json(self) -> dict[str, Any]:
        return self.__dict__.copy()


def to_gray(image: np.ndarray) -> np.ndarray:
    return image if image.ndim == 2 else cv2.cvtColor(np.ascontiguousarray(image[..., :3]), cv2.COLOR_RGB2GRAY)


def library_windows(gray: np.ndarray, nm_per_px: float | None, lib_nm_per_px: float, size_px: int,
                    source: str, windows: int = 1) -> np.ndarray:
    """Library-pixel-size windows of a query (n×size×size uint8): the centre, then (``windows`` > 1)
    the four quadrants' centres when the resampled image holds them. ``nm_per_px`` None: already
    at the library's pixel size."""
    if nm_per_px is not None:
        if not np.isfinite(nm_per_px) or nm_per_px <= 0:
            raise InputError(source, f"nm per pixel must be a positive number, not {nm_per_px}")
        f = nm_per_px / lib_nm_per_px
        h, w = gray.shape
        nh, nw = max(1, round(h * f)), max(1, round(w * f))
        if max(nh, nw) > 8192:
            raise InputError(source, f"at {nm_per_px} nm/px the image would be {nw}×{nh} px at the library's "
                                     f"{lib_nm_per_px} nm/px: is the scale right?")
        gray = cv2.resize(gray, (nw, nh), interpolation=cv2.INTER_AREA if f < 1 else cv2.INTER_CUBIC)
    h, w = gray.shape
    if min(h, w) < size_px // 2:
        raise InputError(source, f"{w}×{h} px at the library's pixel size is too small to match "
                                 f"(needs at least {size_px // 2} px a side)")
    if min(h, w) < size_px:  # reflect-pad small images up to one window
        gray = cv2.copyMakeBorder(gray, 0, max(0, size_px - h), 0, max(0, size_px - w), cv2.BORDER_REFLECT)
        h, w = gray.shape
    centres = [(h // 2, w // 2)]
    if windows > 1 and min(h, w) >= 2 * size_px:
        centres += [(h // 4 * a, w // 4 * b) for a in (1, 3) for b in (1, 3)]
    half = size_px // 2
    return np.stack([to_uint8(gray[max(0, y - half):max(0, y - half) + size_px,
                                   max(0, x - half):max(0, x - half) + size_px].astype(np.float64))
                     for y, x in centres])


class StemMatcher:
    """The encoder and the library's vectors, loaded once."""

    def __init__(self, model_path: Path, lake: AnyLake, windows: int = 1) -> None:
        """The encoder at ``model_path`` and the ``stem_library`` table of ``lake`` (local or published)."""
        self.model, self.size_px, self.nm_per_px = load_encoder(model_path)
        self.windows = windows
        # One query is a few small convolutions: a second thread only adds synchronisation, and its
        # wake-ups stall one query in ten by ~80 ms (measured: 1 thread 9.5 ms median, 13 ms max;
        # 2 threads 16 ms median, 96 ms max).
        torch.set_num_threads(1)
        if not lake.exists(STEM_LIBRARY.name):
            raise FileNotFoundError(f"{lake.root}: no STEM library (stem_library.lance); run `dvc repro stem_model`")
        table = lake.read(STEM_LIBRARY.name,
                          ["entry_id", "prototype", "formula", "space_group", "zone_axis", "embedding"])
        self.entries = table.drop(["embedding"]).to_pylist()
        self.vectors = np.array(table["embedding"].to_pylist(), dtype=np.float32)

    def embed(self, gray: np.ndarray, nm_per_px: float | None, source: str) -> np.ndarray:
        crops = library_windows(to_gray(gray), nm_per_px, self.nm_per_px, self.size_px, source, self.windows)
        v = embed_images(self.model, crops).mean(axis=0)
        return v / max(float(np.linalg.norm(v)), 1e-12)

    def search(self, vector: np.ndarray, k: int) -> list[Match]:
        """The ``k`` best distinct prototypes, each at its best-scoring entry."""
        scores = self.vectors @ vector
        out: list[Match] = []
        seen: set[str] = set()
        for i in np.argsort(-scores):
            e = self.entries[i]
            if e["prototype"] in seen:
                continue
            seen.add(e["prototype"])
            out.append(Match(e["entry_id"], e["prototype"], e["formula"], e["space_group"], e["zone_axis"],
                             round(float(scores[i]), 4)))
            if len(out) == k:
                break
        return out

    def match(self, gray: np.ndarray, nm_per_px: float | None, k: int, source: str) -> list[Match]:
        return self.search(self.embed(gray, nm_per_px, source), k)


def main(argv: list[str] | None = None) -> None:
    params = stage_params(__doc__, argv)
    p = section(params, "stem.match")
    lake = open_lake(section(params, "lake.root"))
    matcher = StemMatcher(Path(section(params, "stem.model.path")), lake, int(p["windows"]))
    k, limit = int(p["k"]), float(p["max_nm_per_px"])
    phash = params_hash({"match": p, "model": section(params, "stem.model")})
    max_pixels = int(section(params, "images.max_pixels"))
    targets: dict[str, list[dict[str, Any]]] = {}
    for sub in lake.read(SUBFIGURES.name, ["subfigure_id", "figure_id", "class", "bbox", "nm_per_px"]).to_pylist():
        if sub["class"] == "microscopy" and sub["bbox"] and sub["nm_per_px"] and sub["nm_per_px"] <= limit:
            targets.setdefault(sub["figure_id"], []).append(sub)
    figure_rgb = figure_image_reader(lake, max_pixels)
    stage = Stage(STAGE, lake, [STEM_MATCHES], {"stem_matches": p}, Path(section(params, "lake.work_root")),
                  checkpoint_every=int(section(params, "stage.checkpoint_every")))

    def process(figure_id: str) -> ItemResult:
        result = ItemResult()
        gray = to_gray(figure_rgb(figure_id))
        for sub in sorted(targets[figure_id], key=lambda s: s["subfigure_id"]):
            b = sub["bbox"]
            try:
                matches = matcher.match(gray[b["y0"]:b["y1"], b["x0"]:b["x1"]], sub["nm_per_px"], k,
                                        sub["subfigure_id"])
            except InputError as e:
                result.problems.append(e)
                continue
            for rank, m in enumerate(matches, 1):
                result.add(STEM_MATCHES.name, {
                    "subfigure_id": sub["subfigure_id"], "rank": rank, "entry_id": m.entry_id,
                    "prototype": m.prototype, "formula": m.formula, "zone_axis": m.zone_axis, "score": m.score,
                    "extractor": extractor("ingest.stem"), "params_hash": phash})
        return result

    report = stage.run([(f, f) for f in sorted(targets)], process)
    at_atomic_resolution = sum(len(v) for v in targets.values())
    report_metrics(STAGE, report.as_metrics() | {"subfigures_at_atomic_resolution": at_atomic_resolution})


if __name__ == "__main__":
    main()

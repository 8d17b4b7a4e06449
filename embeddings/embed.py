"""The ``embed`` stage: every subfigure and every digitized series into the lake's vector tables.

    python -m embeddings.embed [--params params.yaml]

``vectors``: per subfigure, the open_clip image vector of its thumbnail
(``embed.clip``), the MiniLM vector of its description, the text full-text
search reads, and the filter columns (``embeddings.documents``).
``spectrum_vectors``: per spectra row, its shape vector
(``embeddings.spectra``) and its plot's filter columns.

Incremental and resumable: a row is embedded only when its content hash
(what is embedded, plus the models' identity) differs from the stored one;
rows are upserted in committed batches, rows whose subfigure or series left
the lake are deleted, then the indexes are created or brought up to date
(``embeddings.index``). A killed run reruns from the last committed batch. A
thumbnail that will not decode or a series that cannot be embedded is
quarantined by name; the subfigure keeps its text vector (zero image vector,
which vector search never returns).

Batches of subfigures are embedded by the stage's executor (``stage.executor``:
worker processes on this machine, this process, or a Ray actor pool; each worker
loads the models once — ``SubfigureEmbedder`` — and reads the thumbnails it
needs from the lake by row position, so the driver only streams them once to
hash them). The driver upserts each batch as it comes back; on Ray the actors
upsert their own batches, so no vector passes through the driver either.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from catalog.schema import QUARANTINE, SPECTRUM_VECTORS, VECTORS, conform
from catalog.storage import AnyLake, ObjectLake, open_lake
from embeddings.clip import LOCAL_DIR, WEIGHTS_FILE, ClipEncoder, load_clip
from embeddings.documents import SubfigureDoc, subfigure_docs, thumbnail_digests, thumbnails_at
from embeddings.index import (
    IndexSettings,
    delete_missing,
    ensure_indexes,
    existing_hashes,
    open_table,
    upsert,
    vector_schema,
)
from embeddings.spectra import GRID, SPECTRUM_DIM, SpectrumError, spectrum_vector
from embeddings.text import TEXT_DIM, embed_texts
from ingest.config import section
from ingest.errors import CorruptImageError, InputError
from ingest.executor import RayExecutor, executor_from_params
from ingest.images import decode_rgb
from ingest.provenance import extractor, params_hash
from ingest.stage import ItemResult, quarantine_row, report_metrics, stage_params

STAGE = "embed"
log = logging.getLogger(__name__)


def model_identity(model: str, pretrained: str | None) -> str:
    """A short hash naming the image model's weights (a retrained model re-embeds every image)."""
    h = hashlib.sha256(f"{model}|{pretrained}".encode())
    files = [Path(model[len(LOCAL_DIR):]) / WEIGHTS_FILE] if model.startswith(LOCAL_DIR) else (
        [Path(pretrained)] if pretrained and Path(pretrained).is_file() else [])
    for f in files:
        if f.exists():
            h.update(hashlib.sha256(f.read_bytes()).digest())
    return h.hexdigest()[:16]


def _hash(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:20]


def embed_subfigures(docs: list[SubfigureDoc], thumbs: Callable[[str], bytes | None], clip: ClipEncoder,
                     ) -> tuple[list[dict[str, Any]], list[InputError]]:
    """Rows of the vectors table for ``docs`` (without provenance), and the problems met."""
    problems: list[InputError] = []
    images: list[np.ndarray | None] = []
    for d in docs:
        data = thumbs(d.subfigure_id)
        try:
            if data is None:
                raise CorruptImageError(f"{d.subfigure_id} thumbnail", "no thumbnail in the lake")
            images.append(decode_rgb(data, f"{d.subfigure_id} thumbnail"))
        except InputError as e:
            problems.append(e)
            images.append(None)
    ok = [i for i, im in enumerate(images) if im is not None]
    image_vecs = np.zeros((len(docs), clip.dim), np.float32)
    if ok:
        image_vecs[ok] = clip.embed_images([images[i] for i in ok])  # type: ignore[misc]
    text_vecs = embed_texts([d.describe for d in docs])
    rows = [d.filters() | {"image_vector": image_vecs[i].tolist(), "text_vector": text_vecs[i].tolist()}
            for i, d in enumerate(docs)]
    return rows, problems


@cache
def clip_model(model: str, pretrained: str | None) -> ClipEncoder:
    """The image model, loaded once per process (the driver's, each worker's or each Ray actor's)."""
    return load_clip(model, pretrained)


@dataclass(frozen=True)
class SubfigureEmbedder:
    """The per-batch function an executor maps: (docs, their thumbnails' row positions, their content
    hashes) → vectors rows. It names its model and lake rather than holding them, so shipping it to a
    Ray actor costs nothing; each worker loads the model once and reads the thumbnails it needs itself.
    With ``upsert`` (on Ray) it also writes its rows into the lake's vectors table — concurrent keyed
    upserts, which Lance commits safely — and returns only its problems."""

    model: str
    pretrained: str | None
    lake_root: str
    thumbnails_version: int | None
    provenance: dict[str, str]
    upsert: bool = False
    batch_rows: int = 256

    def __call__(self, batch: tuple[list[SubfigureDoc], list[int | None], list[str]]) -> ItemResult:
        docs, positions, hashes = batch
        thumbs = thumbnails_at(self.lake_root, self.thumbnails_version, positions)
        by_id = {d.subfigure_id: t for d, t in zip(docs, thumbs, strict=True)}
        clip = clip_model(self.model, self.pretrained)
        rows, problems = embed_subfigures(docs, by_id.get, clip)
        for row, content_hash in zip(rows, hashes, strict=True):
            row.update(self.provenance, content_hash=content_hash)
        if self.upsert:
            upsert(self.lake_root, VECTORS, vector_schema(VECTORS, {"image_vector": clip.dim, "text_vector": TEXT_DIM}),
                   rows, self.batch_rows)
            return ItemResult(problems=problems)
        return ItemResult(rows={VECTORS.name: rows}, problems=problems)


def spectrum_rows(lake: AnyLake, docs: list[SubfigureDoc]) -> tuple[list[dict[str, Any]], list[InputError]]:
    """Rows of the spectrum_vectors table (without provenance), with their subfigures' filter columns."""
    spectra = lake.read("spectra", ["spectrum_id", "subfigure_id", "series_index", "x", "y", "x_unit", "color"])
    by_id = {d.subfigure_id: d for d in docs}
    rows: list[dict[str, Any]] = []
    problems: list[InputError] = []
    for s in spectra.to_pylist():
        try:
            vec = spectrum_vector(s["x"] or [], s["y"] or [], s["spectrum_id"])
        except SpectrumError as e:
            problems.append(e)
            continue
        doc = by_id.get(s["subfigure_id"])
        rows.append({"spectrum_id": s["spectrum_id"], "subfigure_id": s["subfigure_id"],
                     "figure_id": doc.figure_id if doc else None, "article_id": doc.article_id if doc else None,
                     "series_index": s["series_index"], "x_unit": s["x_unit"], "x_min": float(np.nanmin(s["x"])),
                     "x_max": float(np.nanmax(s["x"])), "color": s["color"],
                     "techniques": doc.techniques if doc else [], "journal": doc.journal if doc else None,
                     "year": doc.year if doc else None, "license_spdx": doc.license_spdx if doc else None,
                     "vector": vec.tolist()})
    return rows, problems


def main(argv: list[str] | None = None) -> None:
    params = stage_params(__doc__, argv)
    ep = section(params, "embed")
    lake = open_lake(section(params, "lake.root"))
    settings = IndexSettings.from_params(ep["index"])
    start = time.perf_counter()
    clip = clip_model(ep["clip"]["model"], ep["clip"]["pretrained"])
    model_id = model_identity(ep["clip"]["model"], ep["clip"]["pretrained"])
    digests, thumbnails_version = thumbnail_digests(lake)
    phash = params_hash({"clip": ep["clip"]["model"], "pretrained": ep["clip"]["pretrained"], "model": model_id})
    provenance = {"extractor": extractor("embeddings"), "params_hash": phash}
    quarantined: list[dict[str, Any]] = []

    # Subfigures: embed what is new or changed, batch by batch.
    docs = subfigure_docs(lake)
    no_thumbnail = (None, hashlib.sha256(b"").hexdigest())
    hashes = {d.subfigure_id: _hash(model_id, d.filters(), d.describe, digests.get(d.subfigure_id, no_thumbnail)[1])
              for d in docs}
    old = existing_hashes(lake.root, VECTORS)
    todo = [d for d in docs if old.get(d.subfigure_id) != hashes[d.subfigure_id]]
    schema = vector_schema(VECTORS, {"image_vector": clip.dim, "text_vector": TEXT_DIM})
    bar = tqdm(total=len(docs), initial=len(docs) - len(todo), desc="embed subfigures", unit="subfigure")
    batches = [todo[i:i + settings.batch_rows] for i in range(0, len(todo), settings.batch_rows)]
    work = [(str(i), (b, [digests.get(d.subfigure_id, no_thumbnail)[0] for d in b],
                      [hashes[d.subfigure_id] for d in b])) for i, b in enumerate(batches)]
    executor = executor_from_params(section(params, "stage"))
    # The table first (created, or rebuilt for another vector size), so that Ray actors only upsert.
    tbl = upsert(lake.root, VECTORS, schema, [], settings.batch_rows)
    # By its importable name: run as ``python -m embeddings.embed`` this module is ``__main__``, which a
    # Ray worker cannot import.
    from embeddings.embed import SubfigureEmbedder as Embedder

    root = lake.root if isinstance(lake, ObjectLake) else str(lake.root.resolve())  # the actors' cwd may differ
    embedder = Embedder(ep["clip"]["model"], ep["clip"]["pretrained"], root, thumbnails_version, provenance,
                        upsert=isinstance(executor, RayExecutor), batch_rows=settings.batch_rows)
    for keys, result in executor.map(embedder, work):
        quarantined += [quarantine_row(STAGE, p) for p in result.problems]
        if rows := result.rows.get(VECTORS.name):
            upsert(lake.root, VECTORS, schema, rows, settings.batch_rows)
        bar.update(sum(len(batches[int(key)]) for key in keys))
    bar.close()
    tbl = open_table(lake.root, VECTORS)
    removed = delete_missing(tbl, "subfigure_id", set(hashes))
    sub_index = ensure_indexes(tbl, settings)
    subfigure_seconds = time.perf_counter() - start

    # Spectra: cheap to embed, so all are computed and only changed rows written.
    rows, problems = spectrum_rows(lake, docs)
    quarantined += [quarantine_row(STAGE, p) for p in problems]
    spec_hash = _hash(GRID, SPECTRUM_DIM)
    old_spec = existing_hashes(lake.root, SPECTRUM_VECTORS)
    for r in rows:
        r.update(provenance, content_hash=_hash(spec_hash, r))
    changed = [r for r in rows if old_spec.get(r["spectrum_id"]) != r["content_hash"]]
    stbl = upsert(lake.root, SPECTRUM_VECTORS, vector_schema(SPECTRUM_VECTORS, {"vector": SPECTRUM_DIM}), changed,
                  settings.batch_rows)
    spec_removed = delete_missing(stbl, "spectrum_id", {r["spectrum_id"] for r in rows})
    spec_index = ensure_indexes(stbl, settings)

    lake.write_quarantine(STAGE, conform(quarantined, QUARANTINE))
    report_metrics(STAGE, {
        "subfigures": len(docs), "embedded": len(todo), "unchanged": len(docs) - len(todo), "removed": removed,
        "image_dim": clip.dim, "text_dim": TEXT_DIM, "image_model": ep["clip"]["model"],
        "ms_per_subfigure": round(1000 * subfigure_seconds / len(todo), 1) if todo else None,
        "spectra": len(rows), "spectra_written": len(changed), "spectra_removed": spec_removed,
        "quarantined": len(quarantined), "indexes": {"vectors": sub_index, "spectrum_vectors": spec_index},
    })


if __name__ == "__main__":
    main()

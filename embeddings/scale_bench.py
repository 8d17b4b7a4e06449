"""Search at scale, on generated vectors (outside CI): ANN recall, latency with a filter, build time.

    python -m embeddings.scale_bench [--rows 1000000] [--dim 512] [--queries 200] [--out DIR]

Vectors are drawn around 1,000 random centres (real embeddings cluster; uniform
random vectors would make every index look worse and every neighbour list
arbitrary), with filter columns like the vectors table's (class, year).
Builds the configured ANN index (``embed.index.ann_type``), then for each
query — a perturbed stored vector, filtered on ``class = 'microscopy'`` —
compares the index's top 10 with the exact top 10 (numpy over the filtered
rows) and times the LanceDB query. Writes ``metrics/search_scale.json``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import lancedb
import numpy as np
import pyarrow as pa
from lancedb.index import IvfHnswSq, IvfPq

CLASSES = np.array(["microscopy", "graph", "diffraction", "illustration", "photo"])


def _vectors(rng: np.random.Generator, n: int, dim: int, centres: np.ndarray) -> np.ndarray:
    v = centres[rng.integers(0, len(centres), n)] + 0.35 * rng.standard_normal((n, dim)).astype(np.float32)
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--dim", type=int, default=512)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--index", default="IVF_HNSW_SQ", choices=("IVF_HNSW_SQ", "IVF_PQ"))
    ap.add_argument("--nprobes", type=int, help="partitions probed per query (default: 5 %% of them, at least 20)")
    ap.add_argument("--refine", type=int, default=2, help="re-rank refine×10 candidates with full vectors")
    ap.add_argument("--out", help="folder for the table (default: a temp folder, removed after)")
    ap.add_argument("--metrics", default="metrics/search_scale.json")
    a = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((1000, a.dim)).astype(np.float32)
    folder = Path(a.out) if a.out else Path(tempfile.mkdtemp(prefix="figlake-scale-"))
    db = lancedb.connect(str(folder))
    chunk = 100_000
    cls_all = CLASSES[rng.choice(len(CLASSES), a.rows, p=[0.5, 0.25, 0.1, 0.1, 0.05])]
    start = time.perf_counter()
    tbl = None
    vectors = np.empty((a.rows, a.dim), np.float32)
    for i in range(0, a.rows, chunk):
        v = _vectors(rng, min(chunk, a.rows - i), a.dim, centres)
        vectors[i:i + len(v)] = v
        t = pa.table({"id": pa.array(np.arange(i, i + len(v)).astype(str)), "class": cls_all[i:i + len(v)],
                      "year": rng.integers(2000, 2026, len(v)).astype(np.int16),
                      "vector": pa.FixedSizeListArray.from_arrays(pa.array(v.ravel()), a.dim)})
        tbl = db.create_table("vectors", t, mode="overwrite") if tbl is None else tbl
        if i:
            tbl.add(t)
    assert tbl is not None
    write_s = time.perf_counter() - start
    partitions = int(np.sqrt(a.rows))
    config = (IvfHnswSq(distance_type="cosine", num_partitions=partitions) if a.index == "IVF_HNSW_SQ"
              else IvfPq(distance_type="cosine", num_partitions=partitions, num_sub_vectors=a.dim // 16))
    nprobes = a.nprobes or max(20, partitions // 20)
    start = time.perf_counter()
    tbl.create_index("vector", config=config)
    build_s = time.perf_counter() - start
    where = "class = 'microscopy'"
    mask = cls_all == "microscopy"
    allowed = np.flatnonzero(mask)
    recalls, latencies = [], []
    picks = rng.choice(allowed, a.queries, replace=False)
    for q in picks:
        vec = vectors[q] + 0.1 * rng.standard_normal(a.dim).astype(np.float32)
        vec /= np.linalg.norm(vec)
        exact = set(allowed[np.argsort(-(vectors[allowed] @ vec))[:10]].astype(str))
        t0 = time.perf_counter()
        query: Any = tbl.search(vec, vector_column_name="vector")
        got = (query.distance_type("cosine").where(where, prefilter=True)
               .nprobes(nprobes).refine_factor(a.refine).limit(10).select(["id", "_distance"]).to_arrow())
        latencies.append(1000 * (time.perf_counter() - t0))
        recalls.append(len(exact & set(got.column("id").to_pylist())) / 10)
    index_bytes = sum(f.stat().st_size for f in (folder / "vectors.lance" / "_indices").rglob("*") if f.is_file())
    data_bytes = sum(f.stat().st_size for f in (folder / "vectors.lance" / "data").rglob("*") if f.is_file())
    m = {"rows": a.rows, "dim": a.dim, "index": a.index, "partitions": partitions, "nprobes": nprobes,
         "refine_factor": a.refine,
         "queries": a.queries, "filter": where, "filtered_share": round(float(mask.mean()), 3),
         "recall_at_10": round(float(np.mean(recalls)), 4),
         "latency_ms": {"p50": round(float(np.percentile(latencies, 50)), 1),
                        "p95": round(float(np.percentile(latencies, 95)), 1)},
         "write_seconds": round(write_s, 1), "index_build_seconds": round(build_s, 1),
         "data_bytes": data_bytes, "index_bytes": index_bytes,
         "targets": {"recall_at_10": 0.95, "p50_ms": 20, "p95_ms": 50}}
    Path(a.metrics).parent.mkdir(parents=True, exist_ok=True)
    Path(a.metrics).write_text(json.dumps(m, indent=2) + "\n")
    print(json.dumps(m, indent=2))
    if not a.out:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()

"""The lake's vector tables in LanceDB: incremental upserts, and the indexes search needs.

Tables live in the lake root as ``<name>.lance`` (LanceDB's layout), so the
lake's own reader sees them too. Writes are keyed upserts (``merge_insert``),
one Lance commit per batch: a killed embed stage has committed whole batches
only, and its rerun embeds just the rows still missing or changed
(``content_hash``) — no loss, no duplicates.

Indexes:
- a full-text (BM25) index on ``text`` whenever the table has one;
- an ANN index on each vector column (IVF_HNSW_SQ or IVF_PQ, cosine) only
  once the table holds ``ann_min_rows`` rows; below that a flat scan is
  exact and fast (≈ 5 ms per 10k rows here), and an index over a few hundred
  rows is only a worse answer;
- BITMAP/BTREE indexes on the filter columns from the same threshold;
- after rows are added, ``optimize()`` folds them into the existing indexes
  (new rows are searchable by flat scan until then, so results never miss
  them).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lancedb
import numpy as np
import pyarrow as pa
from lancedb.index import FTS, Bitmap, BTree, IvfHnswSq, IvfPq

from catalog.schema import TableSpec

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IndexSettings:
    """``embed.index`` in params.yaml."""

    ann_min_rows: int = 100_000
    ann_type: str = "IVF_HNSW_SQ"
    num_partitions: int | None = None
    batch_rows: int = 256

    @classmethod
    def from_params(cls, p: dict[str, Any]) -> IndexSettings:
        return cls(int(p.get("ann_min_rows", 100_000)), str(p.get("ann_type", "IVF_HNSW_SQ")).upper(),
                   p.get("num_partitions"), int(p.get("batch_rows", 256)))


def vector_schema(spec: TableSpec, dims: dict[str, int]) -> pa.Schema:
    """The spec's schema with each vector column a fixed-size list of its dimension (what LanceDB searches)."""
    fields = []
    for f in spec.schema:
        if f.name in dims:
            f = pa.field(f.name, pa.list_(pa.float32(), dims[f.name]), f.nullable, f.metadata)
        fields.append(f)
    return pa.schema(fields)


def vector_columns(schema: pa.Schema) -> list[str]:
    return [f.name for f in schema if pa.types.is_fixed_size_list(f.type)]


def connect(root: Path | str) -> Any:
    """The LanceDB database of a lake root: a folder, or a lake published to s3:// (credentials and
    endpoint from the AWS_* environment, as ``catalog.storage`` reads them)."""
    from catalog.storage import ObjectStore, is_uri

    if is_uri(root):
        return lancedb.connect(str(root), storage_options=ObjectStore.from_uri(str(root)).lance_options)
    return lancedb.connect(str(root))


def open_table(root: Path | str, spec: TableSpec) -> Any | None:
    db = connect(root)
    return db.open_table(spec.name) if spec.name in db.list_tables().tables else None


def existing_hashes(root: Path | str, spec: TableSpec) -> dict[str, str]:
    """key → content_hash of the rows already embedded (empty when the table does not exist)."""
    tbl = open_table(root, spec)
    if tbl is None:
        return {}
    key = spec.key[0]
    t = tbl.to_lance().to_table(columns=[key, "content_hash"])
    return dict(zip(t.column(key).to_pylist(), t.column("content_hash").to_pylist(), strict=True))


def _batches(rows: list[dict[str, Any]], n: int) -> Iterator[list[dict[str, Any]]]:
    for i in range(0, len(rows), n):
        yield rows[i:i + n]


def _shape(schema: pa.Schema) -> list[tuple[str, pa.DataType]]:
    return [(f.name, f.type) for f in schema]


def upsert(root: Path | str, spec: TableSpec, schema: pa.Schema, rows: list[dict[str, Any]],
           batch_rows: int = 256) -> Any:
    """Insert or replace ``rows`` by key, one commit per ``batch_rows``; returns the table."""
    db = connect(root)
    key = spec.key[0]
    tbl = open_table(root, spec)
    if tbl is not None and _shape(tbl.schema) != _shape(schema):
        # A different model (another embedding size) or schema: the old vectors cannot be mixed in.
        log.warning("%s: schema or vector size changed; rebuilding the table", spec.name)
        db.drop_table(spec.name)
        tbl = None
    for batch in _batches(rows, batch_rows):
        data = pa.Table.from_pylist(batch, schema=schema)
        if tbl is None:
            tbl = db.create_table(spec.name, data, schema=schema)
        else:
            tbl.merge_insert(key).when_matched_update_all().when_not_matched_insert_all().execute(data)
    if tbl is None:
        tbl = db.create_table(spec.name, schema=schema)
    return tbl


def key_in(key: str, values: list[str]) -> str:
    """A Lance/DataFusion filter ``key IN ('a', 'b')`` with the values quoted."""
    return f"{key} IN ({', '.join(repr_sql(v) for v in values)})"


def repr_sql(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def delete_missing(tbl: Any, key: str, keep: set[str]) -> int:
    """Delete rows whose key is no longer in the lake; returns how many."""
    have = set(tbl.to_lance().to_table(columns=[key]).column(key).to_pylist())
    gone = sorted(have - keep)
    for i in range(0, len(gone), 500):
        tbl.delete(key_in(key, gone[i:i + 500]))
    return len(gone)


def _ann_config(settings: IndexSettings, rows: int) -> IvfHnswSq | IvfPq:
    partitions = settings.num_partitions or max(1, int(math.sqrt(rows)))
    if settings.ann_type == "IVF_PQ":
        return IvfPq(distance_type="cosine", num_partitions=partitions)
    if settings.ann_type == "IVF_HNSW_SQ":
        return IvfHnswSq(distance_type="cosine", num_partitions=partitions)
    raise ValueError(f"embed.index.ann_type: {settings.ann_type!r}; use IVF_HNSW_SQ or IVF_PQ")


# Scalar indexes on the filter columns, built with the ANN indexes: a prefilter then reads a bitmap
# instead of scanning the column (at 1M rows, 48 → 10 ms a filtered query; embeddings.scale_bench).
FILTER_INDEXES = {"class": "BITMAP", "role": "BITMAP", "journal": "BITMAP", "year": "BITMAP",
                  "license_spdx": "BITMAP", "x_unit": "BITMAP", "nm_per_px": "BTREE"}


def ensure_indexes(tbl: Any, settings: IndexSettings) -> dict[str, Any]:
    """Create the indexes the table lacks, fold new rows into those it has; returns what it did."""
    rows = tbl.count_rows()
    have = {i.columns[0]: i for i in tbl.list_indices()}
    done: dict[str, Any] = {"rows": rows, "created": [], "ann": []}
    if "text" in tbl.schema.names and "text" not in have and rows:
        tbl.create_index("text", config=FTS())
        done["created"].append("text:FTS")
    if rows >= settings.ann_min_rows:
        for column, kind in FILTER_INDEXES.items():
            if column in tbl.schema.names and column not in have:
                tbl.create_index(column, config=Bitmap() if kind == "BITMAP" else BTree())
                done["created"].append(f"{column}:{kind}")
    for column in vector_columns(tbl.schema):
        if column in have:
            done["ann"].append(column)
        elif rows >= settings.ann_min_rows:
            tbl.create_index(column, config=_ann_config(settings, rows))
            done["created"].append(f"{column}:{settings.ann_type}")
            done["ann"].append(column)
    if have:
        tbl.optimize()  # folds rows added since into the existing indexes (and compacts small commits)
    return done


def unit_rows(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=1, keepdims=True)
    return (v / np.where(n > 0, n, 1)).astype(np.float32)

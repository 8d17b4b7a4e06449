"""Where the lake's tables live, and writing them atomically.

A killed stage must never leave a half-written table where readers look.
Parquet tables are written to a temporary file beside the target and moved
into place with ``os.replace`` (atomic on POSIX within one filesystem).
Lance datasets are new directories written the same way; an existing one is
overwritten by a Lance commit, which readers see all at once or not at all.
Temporary names never end in ``.parquet``/``.lance``, so globs and readers
ignore the leftovers of a crash; the next write to the same table removes them.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import lance
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq

from catalog.schema import QUARANTINE, TABLES, TableSpec

TMP_MARK = ".tmp-"


@dataclass(frozen=True)
class Lake:
    """A lake root directory and the paths of its tables."""

    root: Path

    def __post_init__(self) -> None:
        # Path("s3://bucket/x") is the folder "s3:/bucket/x": refuse it rather than write there.
        if re.match(r"[a-z][a-z0-9+.-]*:/", str(self.root)):
            raise ValueError(f"{self.root}: a URI is not a lake folder (open it with catalog.storage.open_lake; "
                             "this stage writes a local lake root only)")

    def path(self, table: str | TableSpec) -> Path:
        spec = TABLES[table] if isinstance(table, str) else table
        if spec.name == QUARANTINE.name:
            return self.root / "quarantine"
        return self.root / spec.file_name()

    def quarantine_path(self, stage: str) -> Path:
        return self.root / "quarantine" / f"{stage}.parquet"

    def quarantine_files(self) -> list[Path]:
        return sorted(self.path(QUARANTINE).glob("*.parquet"))

    def exists(self, table: str) -> bool:
        if table == QUARANTINE.name:
            return bool(self.quarantine_files())
        return self.path(table).exists()

    def read(self, table: str, columns: list[str] | None = None) -> pa.Table:
        """Read a whole table (empty table of the right schema if absent)."""
        spec = TABLES[table]
        if not self.exists(table):
            return spec.empty() if columns is None else spec.empty().select(columns)
        if spec.name == QUARANTINE.name:
            parts = [pq.read_table(p, columns=columns, schema=spec.schema) for p in self.quarantine_files()]
            return pa.concat_tables(parts)
        if spec.storage == "lance":
            return self.lance(spec.name).to_table(columns=columns)
        return pq.read_table(self.path(spec), columns=columns, schema=spec.schema)

    def lance(self, table: str) -> lance.LanceDataset:
        return lance.dataset(str(self.path(table)))

    def dataset(self, table: str) -> pads.Dataset:
        """An Arrow dataset over a Parquet table (lazy: filters skip row groups by their statistics)."""
        spec = TABLES[table]
        paths = [str(p) for p in self.quarantine_files()] if spec.name == QUARANTINE.name else [str(self.path(spec))]
        return pads.dataset(paths, schema=spec.schema, format="parquet")

    def image_reader(self) -> Callable[[str], bytes | None]:
        """A function from an image's sha256 to its bytes, by random access into ``images.lance``."""
        return image_reader(self.lance("images") if self.exists("images") else None)

    def write(self, spec: TableSpec, data: pa.Table | Iterable[pa.RecordBatch]) -> int:
        """Replace a table with ``data``, atomically; returns the rows written."""
        return write_table(self, spec, data)

    def write_quarantine(self, stage: str, data: pa.Table | Iterable[pa.RecordBatch]) -> int:
        return write_parquet_atomic(self.quarantine_path(stage), data, QUARANTINE.schema)

    def count(self, table: str) -> int:
        spec = TABLES[table]
        if not self.exists(table):
            return 0
        if spec.storage == "lance":
            return self.lance(spec.name).count_rows()
        if spec.name == QUARANTINE.name:
            return sum(pq.ParquetFile(p).metadata.num_rows for p in self.quarantine_files())
        return pq.ParquetFile(self.path(spec)).metadata.num_rows


def image_reader(images: lance.LanceDataset | None) -> Callable[[str], bytes | None]:
    """sha256 → image bytes by random access into an images table (a local or a published lake's)."""
    if images is None:
        return lambda _sha: None
    row_of = {sha: i for i, sha in enumerate(images.to_table(columns=["sha256"]).column("sha256").to_pylist())}

    def read(sha: str) -> bytes | None:
        i = row_of.get(sha)
        return None if i is None else images.take([i], columns=["bytes"]).column("bytes")[0].as_py()

    return read


def _tmp_sibling(path: Path) -> Path:
    return path.with_name(f"{path.name}{TMP_MARK}{os.getpid()}-{uuid.uuid4().hex[:8]}")


def _remove_stale_tmp(path: Path) -> None:
    for stale in path.parent.glob(f"{path.name}{TMP_MARK}*"):
        if stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)
        else:
            stale.unlink(missing_ok=True)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def as_batches(data: pa.Table | Iterable[pa.RecordBatch], schema: pa.Schema) -> Iterable[pa.RecordBatch]:
    if isinstance(data, pa.Table):
        yield from data.cast(schema).to_batches()
        return
    for batch in data:
        yield batch.cast(schema)


def write_parquet_atomic(path: Path, data: pa.Table | Iterable[pa.RecordBatch], schema: pa.Schema) -> int:
    """Write ``data`` to ``path`` so readers only ever see the old or the whole new file.

    ``data`` may be a table or a stream of record batches (for tables larger
    than memory). Returns the number of rows written.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_tmp(path)
    tmp = _tmp_sibling(path)
    rows = 0
    try:
        with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
            for batch in as_batches(data, schema):
                if batch.num_rows:
                    writer.write_batch(batch)
                    rows += batch.num_rows
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
        fsync_dir(path.parent)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return rows


def write_lance_atomic(path: Path, data: pa.Table | Iterable[pa.RecordBatch], schema: pa.Schema) -> int:
    """Write a Lance dataset at ``path`` atomically (new: temp dir + rename; existing: one commit)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_tmp(path)
    reader = pa.RecordBatchReader.from_batches(schema, as_batches(data, schema))
    if path.exists():
        ds = lance.write_dataset(reader, str(path), schema=schema, mode="overwrite")
        # Earlier versions are unreachable after an overwrite; reclaim their space.
        ds.cleanup_old_versions(older_than=timedelta(0), delete_unverified=True)
        return ds.count_rows()
    tmp = _tmp_sibling(path)
    try:
        ds = lance.write_dataset(reader, str(tmp), schema=schema, mode="create")
        rows = ds.count_rows()
        os.replace(tmp, path)
        fsync_dir(path.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return rows


def write_table(
    lake: Lake, spec: TableSpec, data: pa.Table | Iterable[pa.RecordBatch], path: Path | None = None
) -> int:
    """Write a lake table in its storage format, atomically."""
    target = path or lake.path(spec)
    if spec.storage == "lance":
        return write_lance_atomic(target, data, spec.schema)
    return write_parquet_atomic(target, data, spec.schema)

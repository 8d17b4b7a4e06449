"""Lance tables written where the work runs: workers write fragments, the stage commits them once.

On Ray (``stage.executor: ray``) a stage's Lance outputs — the figures stage's thumbnails, the bulk of
its bytes — would otherwise travel from every worker through the object store to the driver, which
writes them again. Instead each worker writes its batch's rows as a Lance fragment into a staging
dataset in the stage's work directory and hands back only the fragment's metadata, a few hundred bytes
of JSON (Lance's distributed-write API: ``write_fragments`` on the workers, one commit on the driver).
The work directory must therefore be a file system the workers share: the machine itself with a
local Ray, a shared mount on a cluster (``lake.work_root``). A lake on object storage keeps its
staging on the store instead (``<root>/_staging/<stage>/``), and the server copies the files.

The stage loop checkpoints that metadata with the batch's items, so a killed stage resumes with the
fragments it had committed; the files of uncommitted ones are orphans in the work directory and go
with it. At the end ``commit_fragments`` links (or copies) the committed data files into the table's directory
and commits them in one Lance Overwrite, so readers see the old table or the whole new one; repeated
keys are deleted (first occurrence wins, as in the Parquet path) and the small fragments compacted.
Row order follows the committed batches rather than the key: nothing reads these tables by position.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
import lance
import pyarrow as pa
import pyarrow.fs as pafs
from lance.fragment import FragmentMetadata, write_fragments

from catalog.schema import TableSpec, conform
from catalog.storage import AnyLake, ObjectLake, ObjectStore, is_uri
from catalog.tables import fsync_dir


def _options(uri: str) -> dict[str, str] | None:
    """Lance's storage options for an s3:// URI (from this process's AWS environment), else none."""
    return ObjectStore.from_uri(uri).lance_options if is_uri(uri) else None


@dataclass(frozen=True)
class FragmentSink:
    """Where workers write the rows of a stage's Lance tables: ``<root>/<table>.lance`` (staging), on
    a shared file system or, for a lake on object storage, on the store."""

    root: str
    specs: tuple[TableSpec, ...]

    def uri(self, table: str) -> str:
        return f"{self.root}/{table}.lance"

    def prepare(self) -> None:
        """On the driver, before the workers start: the empty staging datasets they append to."""
        for spec in self.specs:
            try:
                lance.dataset(self.uri(spec.name), storage_options=_options(self.root))
            except ValueError:  # not there yet
                lance.write_dataset(spec.empty(), self.uri(spec.name), schema=spec.schema,
                                    storage_options=_options(self.root))

    def write(self, rows: dict[str, list[dict[str, Any]]]) -> dict[str, list[str]]:
        """On a worker: take the sink's tables out of ``rows``, write each as fragments, and return
        their metadata (JSON) by table; the other tables' rows stay in ``rows`` for the driver."""
        written: dict[str, list[str]] = {}
        for spec in self.specs:
            table_rows = rows.pop(spec.name, None)
            if table_rows:
                fragments = write_fragments(conform(table_rows, spec), self.uri(spec.name), schema=spec.schema,
                                            storage_options=_options(self.root))
                written[spec.name] = [json.dumps(f.to_json()) for f in fragments]
        return written

    def clear(self) -> None:
        """Remove the staging datasets (those on object storage; a local root goes with the work directory)."""
        if is_uri(self.root):
            store = ObjectStore.from_uri(self.root)
            store.fs.delete_dir_contents(store.base, missing_dir_ok=True)


def commit_fragments(lake: AnyLake, spec: TableSpec, staging: str, fragments: list[str],
                     extra: Iterable[pa.RecordBatch] = ()) -> tuple[int, list[tuple[str, int]]]:
    """Make ``lake``'s table ``spec`` the committed ``fragments`` (JSON metadata of fragments written
    into the ``staging`` dataset) plus the ``extra`` rows (a part written through the driver, as by a
    run that another executor began). Returns the row count and the keys that occurred more than once
    (with counts); all but their first occurrence are deleted.

    Safe to repeat after a kill at any point, and after DVC has deleted the target: the data files are
    hard-linked (copied across file systems; copied by the server on object storage), so the staging
    dataset keeps them until the stage has finished, and a new local table is assembled under one fixed
    name beside the target."""
    metas = [FragmentMetadata.from_json(f) for f in fragments]
    extra_rows = pa.Table.from_batches(list(extra), schema=spec.schema)
    if extra_rows.num_rows:
        metas += write_fragments(extra_rows, staging, schema=spec.schema, storage_options=_options(staging))
    files = [data_file.path for meta in metas for data_file in meta.files]
    target: Path | None = None
    if isinstance(lake, ObjectLake):
        # On the store a Lance table without a manifest reads as absent, so the files go straight into
        # the target; CopyObject copies them on the server, no bytes through this machine.
        dest, options, fs = lake.lance_uri(spec.name), lake.store.lance_options, lake.store.fs
        source = ObjectStore.from_uri(staging)
        for name in files:
            dst = lake.store.path(f"{spec.file_name()}/data/{name}")
            if fs.get_file_info(dst).type != pafs.FileType.File:
                fs.copy_file(source.path(f"data/{name}"), dst)
    else:
        # An existing table takes the files and one Overwrite commit; a new one is built beside it and
        # renamed into place, so a reader never finds a table directory without a manifest.
        target = lake.path(spec)
        local = target if target.exists() else target.with_name(target.name + ".tmp-fragments")
        (local / "data").mkdir(parents=True, exist_ok=True)
        for name in files:
            if not (local / "data" / name).exists():
                _link_or_copy(Path(staging) / "data" / name, local / "data" / name)
        dest, options = str(local), None
    ds = lance.LanceDataset.commit(dest, lance.LanceOperation.Overwrite(spec.schema, metas), storage_options=options)
    repeats = _delete_repeats(ds, spec.key)
    if len(ds.get_fragments()) > 1:
        ds.optimize.compact_files()
    if target is not None and dest != str(target):
        os.replace(dest, target)
        fsync_dir(target.parent)
        dest = str(target)
    ds = lance.dataset(dest, storage_options=options)
    # The replaced table's files and the pre-compaction fragments are unreachable now.
    ds.cleanup_old_versions(older_than=timedelta(0), delete_unverified=True)
    return ds.count_rows(), repeats


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:  # another file system (a work directory on a shared mount)
        shutil.copy2(src, dst)


def _delete_repeats(ds: lance.LanceDataset, key: tuple[str, ...]) -> list[tuple[str, int]]:
    """Delete every occurrence of a key after its first (in row-id order, i.e. commit order)."""
    cols = ", ".join(f'"{k}"' for k in key)
    con = duckdb.connect()
    con.register("rows", ds.to_table(columns=list(key), with_row_id=True))
    repeats = con.execute(f"SELECT concat_ws(' / ', {cols}) AS k, count(*) AS n FROM rows "
                          "GROUP BY ALL HAVING n > 1 ORDER BY k").fetchall()
    if repeats:
        later = [r for (r,) in con.execute(
            f"SELECT _rowid FROM (SELECT _rowid, row_number() OVER (PARTITION BY {cols} ORDER BY _rowid) AS nth "
            "FROM rows) WHERE nth > 1").fetchall()]
        for i in range(0, len(later), 10_000):
            ds.delete(f"_rowid IN ({', '.join(map(str, later[i:i + 10_000]))})")
    return [(k, n) for k, n in repeats]

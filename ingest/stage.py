"""The stage loop: map a per-item function over inputs, durably.

Every stage is the same thin loop around a pure per-item function
(``process(item) -> ItemResult``): it adds progress, checkpoints, resume,
quarantine and the final atomic write of the output tables.

Resume. Results are committed to a work directory every
``checkpoint_every`` items: one Parquet part per output table, then a
``.done`` marker listing the items in that batch (written last, atomically,
so a part without its marker is ignored and deleted). A stage killed at any
point reruns from its last committed batch, with no item lost or repeated.
The work directory is outside DVC's outputs (DVC deletes outputs before a
run) and is keyed by the stage's parameter hash, so changed parameters start
afresh. On success the parts are compacted into the lake tables (deduplicated
on each table's key, sorted by key, so reruns produce identical tables) and
the work directory is removed. On Ray the rows of Lance tables come back as
fragments the actors wrote (``catalog.fragments``): their metadata is
committed with the batch instead of a part, and the fragments become the
table in one Lance commit.

Quarantine. ``InputError`` raised by ``process`` (or returned in
``ItemResult.problems`` for a part of an item, e.g. one bad image of an
article) becomes a quarantine row naming the item; the run goes on. Any
other exception is a bug and stops the stage; the rerun resumes.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import pyarrow as pa
from tqdm import tqdm

from catalog.fragments import FragmentSink, commit_fragments
from catalog.schema import QUARANTINE, TableSpec, conform
from catalog.storage import AnyLake, ObjectLake
from catalog.tables import write_parquet_atomic
from ingest.config import load_params
from ingest.errors import InputError
from ingest.executor import Executor, LocalExecutor
from ingest.provenance import params_hash

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass
class ItemResult:
    """What processing one item (or a batch of items) produced: rows per output table, problems, and
    the fragments a worker wrote of a Lance table instead of returning its rows (``catalog.fragments``)."""

    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    problems: list[InputError] = field(default_factory=list)
    fragments: dict[str, list[str]] = field(default_factory=dict)

    def add(self, table: str, row: dict[str, Any]) -> None:
        self.rows.setdefault(table, []).append(row)

    @classmethod
    def merged(cls, results: Iterable[ItemResult]) -> ItemResult:
        out = cls()
        for r in results:
            for table, rows in r.rows.items():
                out.rows.setdefault(table, []).extend(rows)
            out.problems += r.problems
            for table, fragments in r.fragments.items():
                out.fragments.setdefault(table, []).extend(fragments)
        return out


@dataclass
class StageReport:
    stage: str
    items: int
    resumed_items: int
    rows: dict[str, int]
    quarantined: int
    seconds: float

    def as_metrics(self) -> dict[str, Any]:
        return {
            "items": self.items,
            "resumed_items": self.resumed_items,
            "rows": self.rows,
            "quarantined": self.quarantined,
            "seconds": round(self.seconds, 2),
        }


def quarantine_row(stage: str, error: InputError | str, item: str | None = None) -> dict[str, Any]:
    """A quarantine row for an input error (or a plain message about ``item``)."""
    if isinstance(error, InputError):
        return {
            "stage": stage,
            "item": item or error.item,
            "error_type": type(error).__name__,
            "error": str(error),
            "at": datetime.now(UTC),
        }
    return {"stage": stage, "item": item, "error_type": "Note", "error": error, "at": datetime.now(UTC)}


class Checkpoint:
    """Committed batches of a stage's results in a work directory."""

    def __init__(self, directory: Path, params_digest: str) -> None:
        self.dir = directory
        stamp = directory / "params_hash"
        if directory.exists() and (not stamp.exists() or stamp.read_text() != params_digest):
            log.info("%s: parameters changed since the interrupted run; starting afresh", directory)
            shutil.rmtree(directory)
        directory.mkdir(parents=True, exist_ok=True)
        stamp.write_text(params_digest)
        self._drop_uncommitted()

    def _markers(self) -> list[Path]:
        return sorted(self.dir.glob("part-*.done"))

    def _drop_uncommitted(self) -> None:
        committed = {m.name.removesuffix(".done") for m in self._markers()}
        for part in [*self.dir.glob("part-*.parquet"), *self.dir.glob("part-*.fragments.json")]:
            if part.name.split(".")[0] not in committed:
                part.unlink()

    def done_items(self) -> set[str]:
        done: set[str] = set()
        for marker in self._markers():
            done.update(json.loads(marker.read_text()))
        return done

    def commit(self, rows: dict[str, pa.Table], items: list[str],
               fragments: dict[str, list[str]] | None = None) -> None:
        batch = f"part-{len(self._markers()) + 1:06d}"
        for table, data in rows.items():
            write_parquet_atomic(self.dir / f"{batch}.{table}.parquet", data, data.schema)
        for table, metas in (fragments or {}).items():
            _write_text_atomic(self.dir / f"{batch}.{table}.fragments.json", json.dumps(metas))
        _write_text_atomic(self.dir / f"{batch}.done", json.dumps(items))

    def parts(self, table: str) -> list[Path]:
        return sorted(self.dir.glob(f"part-*.{table}.parquet"))

    def fragments(self, table: str) -> list[str]:
        """The committed Lance fragments (metadata JSON) workers wrote of ``table``, in commit order."""
        return [f for p in sorted(self.dir.glob(f"part-*.{table}.fragments.json")) for f in json.loads(p.read_text())]

    def clear(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def _write_text_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _compact(spec: TableSpec, parts: list[Path]) -> tuple[Iterable[pa.RecordBatch], list[tuple[str, int]]]:
    """Parts → one stream, deduplicated on the key (first occurrence wins), sorted by key.

    Returns the batches and the keys that occurred more than once (with counts).
    DuckDB does the sort and dedup so tables larger than memory spill to disk.
    """
    if not parts:
        return iter(spec.empty().to_batches()), []
    con = duckdb.connect()
    files = [str(p) for p in parts]
    key = ", ".join(f'"{k}"' for k in spec.key)
    src = "read_parquet($files, filename=true, file_row_number=true)"
    dups = con.execute(
        f"SELECT concat_ws(' / ', {key}) AS k, count(*) AS n FROM {src} GROUP BY ALL HAVING n > 1 ORDER BY k",
        {"files": files},
    ).fetchall()
    columns = ", ".join(f'"{c}"' for c in spec.schema.names)
    reader = con.sql(
        f"SELECT {columns} FROM (SELECT *, row_number() OVER (PARTITION BY {key} "
        f"ORDER BY filename, file_row_number) AS _nth FROM {src}) WHERE _nth = 1 ORDER BY {key}",
        params={"files": files},
    ).to_arrow_reader(4096)
    return reader, [(k, n) for k, n in dups]


class Stage:
    """A named stage writing ``outputs`` into ``lake`` (a folder, or an s3:// root written in place),
    resumable via ``work_root`` (a local or shared folder: checkpoints stay on a file system)."""

    def __init__(
        self,
        name: str,
        lake: AnyLake,
        outputs: Sequence[TableSpec],
        params: dict[str, Any],
        work_root: Path,
        checkpoint_every: int = 25,
        content_addressed: Sequence[str] = (),
        executor: Executor | None = None,
    ) -> None:
        self.name = name
        self.lake = lake
        self.outputs = list(outputs)
        self.params_hash = params_hash(params)
        self.work_dir = work_root / name
        self.checkpoint_every = max(1, checkpoint_every)
        # Tables whose key is a content hash: a repeated key is the same content,
        # expected (one image in two figures) and not worth a quarantine note.
        self.content_addressed = set(content_addressed)
        self.executor = executor or LocalExecutor()

    def run(
        self,
        items: Sequence[tuple[str, T]],
        process: Callable[[T], ItemResult],
        progress: bool = True,
    ) -> StageReport:
        start = time.monotonic()
        keys = [k for k, _ in items]
        if len(set(keys)) != len(keys):
            raise ValueError(f"stage {self.name}: item keys must be unique")
        checkpoint = Checkpoint(self.work_dir, self.params_hash)
        done = checkpoint.done_items()
        todo = [(k, x) for k, x in items if k not in done]
        if done:
            log.info("%s: resuming; %d of %d items already committed", self.name, len(items) - len(todo), len(items))

        pending: dict[str, list[dict[str, Any]]] = {}
        pending_fragments: dict[str, list[str]] = {}
        pending_items: list[str] = []

        def flush() -> None:
            if not pending_items:
                return
            tables = {name: conform(rows, self._spec(name)) for name, rows in pending.items() if rows}
            checkpoint.commit(tables, pending_items, pending_fragments)
            pending.clear()
            pending_fragments.clear()
            pending_items.clear()

        bar = tqdm(total=len(items), initial=len(items) - len(todo), desc=self.name, unit="item",
                   disable=not progress, mininterval=1.0)
        for keys, result in self.executor.map(process, todo, self._sink()):
            for table, rows in result.rows.items():
                pending.setdefault(table, []).extend(rows)
            for table, fragments in result.fragments.items():
                pending_fragments.setdefault(table, []).extend(fragments)
            for problem in result.problems:
                log.warning("%s: quarantined %s", self.name, problem)
                pending.setdefault(QUARANTINE.name, []).append(quarantine_row(self.name, problem))
            pending_items.extend(keys)
            bar.update(len(keys))
            if len(pending_items) >= self.checkpoint_every:
                flush()
        flush()
        bar.close()
        return self._finish(checkpoint, len(items), len(items) - len(todo), start)

    def _sink(self) -> FragmentSink | None:
        """Where remote workers write the stage's Lance tables: the work directory (absolute, as they may
        run elsewhere), or beside the tables when the lake is on object storage."""
        lance_specs = tuple(spec for spec in self.outputs if spec.storage == "lance")
        if not lance_specs:
            return None
        root = f"{self.lake.root}/_staging/{self.name}" if isinstance(self.lake, ObjectLake) else str(
            (self.work_dir / "fragments").resolve())
        return FragmentSink(root, lance_specs)

    def _spec(self, table: str) -> TableSpec:
        for spec in [*self.outputs, QUARANTINE]:
            if spec.name == table:
                return spec
        raise KeyError(f"stage {self.name} does not write table {table!r}")

    def _finish(self, checkpoint: Checkpoint, n_items: int, resumed: int, start: float) -> StageReport:
        rows: dict[str, int] = {}
        notes: list[dict[str, Any]] = []
        sink = self._sink()
        for spec in self.outputs:
            batches, dups = _compact(spec, checkpoint.parts(spec.name))
            fragments = checkpoint.fragments(spec.name)
            if fragments and sink is not None:
                rows[spec.name], dups = commit_fragments(self.lake, spec, sink.uri(spec.name), fragments,
                                                         extra=batches)
            else:
                rows[spec.name] = self.lake.write(spec, batches)
            if spec.name not in self.content_addressed:
                notes += [
                    quarantine_row(
                        self.name,
                        f"{spec.name}: key {k!r} produced {n} times; kept the first occurrence",
                        item=f"{spec.name}:{k}",
                    )
                    for k, n in dups
                ]
        quarantine_parts = checkpoint.parts(QUARANTINE.name)
        batches, _ = _compact(QUARANTINE, quarantine_parts)
        extra = conform(notes, QUARANTINE).to_batches() if notes else []
        quarantined = self.lake.write_quarantine(self.name, _chain(batches, extra))
        checkpoint.clear()
        if sink is not None:
            sink.clear()  # after the checkpoint: a kill between the two leaves garbage, never a lost file
        return StageReport(self.name, n_items, resumed, rows, quarantined, time.monotonic() - start)


def _chain(*streams: Iterable[pa.RecordBatch]) -> Iterable[pa.RecordBatch]:
    for stream in streams:
        yield from stream


def write_metrics(path: Path, metrics: dict[str, Any]) -> None:
    """Write a metrics JSON file (``dvc metrics show`` reads these)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_text_atomic(path, json.dumps(metrics, indent=2, sort_keys=True) + "\n")


def stage_params(doc: str | None, argv: list[str] | None = None) -> dict[str, Any]:
    """The command line every stage module shares (``--params FILE``, default params.yaml):
    parse it, set up logging, and return the parameters."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--params", default="params.yaml")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    return load_params(args.params)


def report_metrics(stage: str, metrics: dict[str, Any]) -> None:
    """Write ``metrics/<stage>.json`` (``dvc metrics show`` reads it) and log it."""
    write_metrics(Path("metrics") / f"{stage}.json", metrics)
    log.info("%s: %s", stage, metrics)

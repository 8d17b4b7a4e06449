"""Atomic table writes on real Parquet and Lance files, under simulated and real crashes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import lance
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import REPO

from catalog.schema import FIGURES, IMAGES, QUARANTINE, TABLES, conform
from catalog.tables import Lake, write_lance_atomic, write_parquet_atomic, write_table

SCHEMA = pa.schema([pa.field("id", pa.int64()), pa.field("payload", pa.string())])


def batches(n: int, start: int = 0, fail_after: int | None = None):
    for i in range(n):
        if fail_after is not None and i == fail_after:
            raise RuntimeError("source failed mid-stream")
        yield pa.record_batch({"id": [start + i], "payload": ["x" * 100]}, schema=SCHEMA)


def leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if ".tmp-" in p.name]


@pytest.mark.parametrize("writer", [write_parquet_atomic, write_lance_atomic])
def test_failure_mid_write_keeps_the_old_table_and_leaves_no_temp(tmp_path: Path, writer) -> None:
    target = tmp_path / ("t.parquet" if writer is write_parquet_atomic else "t.lance")
    assert writer(target, batches(3), SCHEMA) == 3
    with pytest.raises((RuntimeError, OSError), match="mid-stream"):  # Lance wraps it in OSError
        writer(target, batches(10, start=100, fail_after=5), SCHEMA)
    table = pq.read_table(target) if target.suffix == ".parquet" else lance.dataset(str(target)).to_table()
    assert table.column("id").to_pylist() == [0, 1, 2]
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("fmt", ["parquet", "lance"])
def test_sigkill_mid_write_never_exposes_a_partial_table(tmp_path: Path, fmt: str) -> None:
    """A real crash: a writer process killed while streaming rows into the table."""
    target = tmp_path / f"t.{fmt}"
    writer = write_parquet_atomic if fmt == "parquet" else write_lance_atomic
    writer(target, batches(3), SCHEMA)
    script = f"""
import sys, time, pyarrow as pa
sys.path.insert(0, {str(REPO)!r})
from catalog.tables import write_{fmt}_atomic
schema = pa.schema([pa.field("id", pa.int64()), pa.field("payload", pa.string())])
def slow():
    for i in range(10_000):
        if i == 2:
            print("writing", flush=True)
        time.sleep(0.01)
        yield pa.record_batch({{"id": [1000 + i], "payload": ["y" * 100]}}, schema=schema)
write_{fmt}_atomic(__import__("pathlib").Path({str(target)!r}), slow(), schema)
"""
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "writing"
    time.sleep(0.3)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    table = pq.read_table(target) if fmt == "parquet" else lance.dataset(str(target)).to_table()
    assert table.column("id").to_pylist() == [0, 1, 2]  # the old table, whole
    if fmt == "parquet":
        assert leftovers(tmp_path), "the killed writer should have left its temp file behind"
    writer(target, batches(2, start=50), SCHEMA)  # the next write cleans up and succeeds
    table = pq.read_table(target) if fmt == "parquet" else lance.dataset(str(target)).to_table()
    assert table.column("id").to_pylist() == [50, 51]
    assert leftovers(tmp_path) == []


def test_lake_reads_absent_tables_as_empty_with_schema(tmp_path: Path) -> None:
    lake = Lake(tmp_path)
    for name, spec in TABLES.items():
        assert lake.read(name).schema.names == spec.schema.names
        assert lake.count(name) == 0


def test_lake_roundtrip_parquet_and_lance(tmp_path: Path) -> None:
    lake = Lake(tmp_path)
    fig = conform([{"figure_id": "10.1/x/fig1", "article_id": "10.1/x", "number": 1, "caption": "c"}], FIGURES)
    img = conform([{"sha256": "ab", "format": "PNG", "width": 1, "height": 1, "bytes": b"\x89PNG"}], IMAGES)
    write_table(lake, FIGURES, fig)
    write_table(lake, IMAGES, img)
    assert lake.read("figures").column("caption").to_pylist() == ["c"]
    assert lake.path("images").name == "images.lance"
    assert lake.read("images").column("bytes").to_pylist() == [b"\x89PNG"]
    assert lake.count("images") == 1


def test_conform_rejects_unknown_columns() -> None:
    with pytest.raises(KeyError, match="captoin"):
        conform([{"figure_id": "x", "article_id": "y", "captoin": "typo"}], FIGURES)


def test_every_column_is_documented() -> None:
    from catalog.schema import column_doc

    expected = {"articles", "figures", "caption_segments", "subfigures", "scale_bars", "labels", "spectra",
                "stem_library", "stem_matches", "quarantine"}
    assert expected <= set(TABLES)
    for spec in TABLES.values():
        assert spec.description
        assert set(spec.key) <= set(spec.schema.names)
        for f in spec.schema:
            assert column_doc(f), f"{spec.name}.{f.name} has no description"
    assert QUARANTINE.schema.names == ["stage", "item", "error_type", "error", "at"]

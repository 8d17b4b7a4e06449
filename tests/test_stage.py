"""The stage loop: quarantine, deduplication, and resume after a real SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from conftest import REPO

from catalog.schema import FIGURES
from catalog.tables import Lake
from ingest.errors import CorruptImageError, InputError
from ingest.stage import ItemResult, Stage

WORKER = f"""
import json, sys, time
sys.path.insert(0, {str(REPO)!r})
from pathlib import Path
from catalog.schema import FIGURES
from catalog.tables import Lake
from ingest.errors import InputError
from ingest.stage import ItemResult, Stage

root, delay = Path(sys.argv[1]), float(sys.argv[2])

def process(i):
    time.sleep(delay)
    if i % 17 == 0:
        raise InputError(f"item-{{i}}", "unreadable")
    r = ItemResult()
    r.add("figures", {{"figure_id": f"10.1/x/fig{{i:03d}}", "article_id": "10.1/x", "number": i}})
    return r

stage = Stage("demo", Lake(root / "lake"), [FIGURES], {{"p": 1}}, root / "work", checkpoint_every=5)
report = stage.run([(f"item-{{i}}", i) for i in range(60)], process, progress=False)
print(json.dumps(report.as_metrics()))
"""


def run_worker(root: Path, delay: float) -> dict:
    out = subprocess.run([sys.executable, "-c", WORKER, str(root), str(delay)], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_sigkilled_stage_resumes_without_loss_or_duplicates(tmp_path: Path) -> None:
    killed, clean = tmp_path / "killed", tmp_path / "clean"
    proc = subprocess.Popen([sys.executable, "-c", WORKER, str(killed), "0.03"], stdout=subprocess.DEVNULL)
    work = killed / "work" / "demo"
    deadline = time.monotonic() + 60
    while len(list(work.glob("*.done"))) < 3:
        assert time.monotonic() < deadline and proc.poll() is None, "worker finished or hung before the kill"
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (killed / "lake" / "figures.parquet").exists()

    resumed = run_worker(killed, 0.0)
    assert resumed["resumed_items"] >= 15
    assert resumed["items"] == 60
    uninterrupted = run_worker(clean, 0.0)
    assert uninterrupted["resumed_items"] == 0

    ids = pq.read_table(killed / "lake" / "figures.parquet").column("figure_id").to_pylist()
    assert len(ids) == len(set(ids)) == 60 - 4  # items 0, 17, 34, 51 are quarantined
    for table in ("figures.parquet", "quarantine/demo.parquet"):
        a, b = pq.read_table(killed / "lake" / table), pq.read_table(clean / "lake" / table)
        assert a.drop_columns(["at"]) == b.drop_columns(["at"]) if "at" in a.schema.names else a == b
    q = pq.read_table(killed / "lake" / "quarantine" / "demo.parquet").to_pylist()
    assert [r["item"] for r in q] == ["item-0", "item-17", "item-34", "item-51"]
    assert not work.exists(), "checkpoints are removed after a successful run"


def test_changed_params_discard_old_checkpoints(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    calls: list[int] = []

    def process(i: int) -> ItemResult:
        calls.append(i)
        if i == 3:
            raise KeyboardInterrupt  # a crash after items 0-2 were committed
        r = ItemResult()
        r.add("figures", {"figure_id": f"f{i}", "article_id": "a"})
        return r

    items = [(str(i), i) for i in range(5)]
    with pytest.raises(KeyboardInterrupt):
        Stage("s", lake, [FIGURES], {"v": 1}, tmp_path / "work", checkpoint_every=1).run(items, process, False)
    calls.clear()
    Stage("s", lake, [FIGURES], {"v": 2}, tmp_path / "work", checkpoint_every=1).run(
        items, lambda i: process(i) if i != 3 else ItemResult(), False)
    assert calls == [0, 1, 2, 4], "new parameters must redo every item"


def test_problems_and_duplicates_are_quarantined_not_dropped(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")

    def process(name: str) -> ItemResult:
        if name == "bad":
            raise InputError("bad.html", "cannot parse")
        r = ItemResult(problems=[CorruptImageError(f"{name}/img.jpg", "truncated")] if name == "b" else [])
        r.add("figures", {"figure_id": "same-id" if name in ("a", "b") else name, "article_id": name})
        return r

    report = Stage("s", lake, [FIGURES], {}, tmp_path / "work").run(
        [(n, n) for n in ("a", "b", "bad", "c")], process, False)
    assert report.rows == {"figures": 2}
    rows = lake.read("figures").to_pylist()
    assert [(r["figure_id"], r["article_id"]) for r in rows] == [("c", "c"), ("same-id", "a")]  # first kept
    q = {r["item"]: r for r in lake.read("quarantine").to_pylist()}
    assert q["bad.html"]["error_type"] == "InputError" and "cannot parse" in q["bad.html"]["error"]
    assert q["b/img.jpg"]["error_type"] == "CorruptImageError"
    assert "produced 2 times" in q["figures:same-id"]["error"]
    assert report.quarantined == 3


def test_bugs_are_not_swallowed(tmp_path: Path) -> None:
    def process(_: int) -> ItemResult:
        raise ZeroDivisionError("a bug")

    with pytest.raises(ZeroDivisionError):
        Stage("s", Lake(tmp_path), [FIGURES], {}, tmp_path / "w").run([("1", 1)], process, False)

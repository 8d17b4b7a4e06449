"""Crash safety of the real stages: SIGKILL collect, figures, spectra and embed mid-run, rerun, and the
lake holds exactly what an uninterrupted run writes — no row lost, none duplicated.

Each test first runs the stage uninterrupted and keeps its tables, then deletes the stage's
outputs and checkpoints, starts it again as the pipeline does (``python -m …`` in a subprocess),
SIGKILLs it once it has committed part of its work, reruns it, and compares.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import lance
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from conftest import REPO, clip_params, comparable, run_module, synthetic_journal

from catalog.tables import Lake

pytestmark = pytest.mark.timeout(900)


def snapshot(lake: Path, tables: list[str]) -> dict[str, pa.Table]:
    out = {}
    for name in tables:
        path = lake / name
        out[name] = comparable(lance.dataset(path).to_table() if name.endswith(".lance") else
                               pq.read_table(path))
    return out


def remove(paths: list[Path]) -> None:
    for p in paths:
        shutil.rmtree(p) if p.is_dir() else p.unlink(missing_ok=True)


def kill_when(module: str, cwd: Path, params: Path, ready: Callable[[], bool], timeout: float = 300) -> None:
    """Start ``python -m module`` and SIGKILL it, with every process it started (its workers, a local
    Ray), as soon as ``ready()`` (polled every 5 ms)."""
    proc = subprocess.Popen([sys.executable, "-m", module, "--params", str(params)], cwd=cwd,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    deadline = time.monotonic() + timeout
    while not ready():
        assert proc.poll() is None, f"{module} finished before it could be killed mid-run"
        assert time.monotonic() < deadline, f"{module} made no progress in {timeout} s"
        time.sleep(0.005)
    os.killpg(proc.pid, signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL


def committed_batches(work: Path) -> int:
    return len(list(work.glob("part-*.done")))


def resumed_items(root: Path, stage: str) -> int:
    return json.loads((root / "metrics" / f"{stage}.json").read_text())["resumed_items"]


@pytest.fixture(scope="module")
def journal(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synthetic journal (4 articles), with the committed panel classifier (so graphs are classed as
    graphs, for the spectra stage)."""
    root = tmp_path_factory.mktemp("crash")
    params = synthetic_journal(root, articles=4, checkpoint_every=2)
    p = yaml.safe_load(params.read_text())
    p["figures"]["classifier"]["model"] = str(REPO / "models" / "panels" / "classifier.pt")
    params.write_text(yaml.safe_dump(p))
    return root


def kill_and_resume(journal: Path, module: str, stage: str, outputs: list[str], tally: Counter[str],
                    before: Sequence[str] = (), kill_after: int = 2, min_resumed: int = 4,
                    params_file: str = "params.yaml") -> dict[str, pa.Table]:
    """Run ``module`` uninterrupted (after the ``before`` modules, where their output is missing), keep
    its ``outputs``; delete them and the stage's checkpoints, SIGKILL a rerun once it has committed
    ``kill_after`` batches, rerun, and assert the tables are equal. Returns the resumed tables."""
    params, lake = journal / params_file, journal / "lake"
    for earlier, out in zip(before, ["figures.parquet", "subfigures.parquet"], strict=False):
        if not (lake / out).exists():
            run_module(earlier, journal, "--params", str(params))
    run_module(module, journal, "--params", str(params))
    clean = snapshot(lake, outputs)
    work = journal / "work" / stage
    remove([lake / t for t in outputs] + [work])
    kill_when(module, journal, params, lambda: committed_batches(work) >= kill_after)
    tally["stages SIGKILLed mid-run"] += 1
    assert not (lake / outputs[0]).exists()
    run_module(module, journal, "--params", str(params))
    assert resumed_items(journal, stage) >= min_resumed
    resumed = snapshot(lake, outputs)
    for name in outputs:
        assert resumed[name] == clean[name], name
    tally["rows compared after a kill"] += sum(t.num_rows for t in clean.values())
    tally["rows lost or duplicated after a kill"] += sum(
        abs(resumed[n].num_rows - clean[n].num_rows) for n in outputs)
    return resumed


def test_sigkilled_collect_resumes_to_the_same_tables(journal: Path, tally: Counter[str]) -> None:
    tables = ["articles.parquet", "figures.parquet", "images.lance", "quarantine/collect.parquet"]
    kill_and_resume(journal, "ingest.collect", "collect", tables, tally, kill_after=1, min_resumed=2)


def test_sigkilled_figures_stage_resumes_to_the_same_tables(journal: Path, tally: Counter[str]) -> None:
    outputs = ["subfigures.parquet", "scale_bars.parquet", "thumbnails.lance", "quarantine/figures.parquet"]
    resumed = kill_and_resume(journal, "ingest.subfigures", "figures", outputs, tally, before=["ingest.collect"])
    assert resumed["subfigures.parquet"].num_rows > 10
    figures = Lake(journal / "lake").read("figures").column("figure_id").to_pylist()
    assert set(resumed["subfigures.parquet"].column("figure_id").to_pylist()) <= set(figures)


def test_sigkilled_figures_stage_on_ray_resumes_to_the_same_tables(journal: Path, tally: Counter[str]) -> None:
    """On a local Ray the actors write the thumbnails as Lance fragments; the stage, its actors and its
    Ray are killed together, and the rerun commits the fragments the killed run had checkpointed."""
    p = yaml.safe_load((journal / "params.yaml").read_text())
    p["stage"] |= {"executor": "ray", "ray": {"actors": 2, "cpus_per_actor": 1, "batch_size": 2}}
    (journal / "params-ray.yaml").write_text(yaml.safe_dump(p))
    outputs = ["subfigures.parquet", "scale_bars.parquet", "thumbnails.lance", "quarantine/figures.parquet"]
    resumed = kill_and_resume(journal, "ingest.subfigures", "figures", outputs, tally, before=["ingest.collect"],
                              params_file="params-ray.yaml")
    assert resumed["thumbnails.lance"].num_rows > 10


def test_sigkilled_spectra_stage_resumes_to_the_same_tables(journal: Path, tally: Counter[str]) -> None:
    outputs = ["spectra.parquet", "quarantine/spectra.parquet"]
    resumed = kill_and_resume(journal, "ingest.spectra.stage", "spectra", outputs, tally,
                              before=["ingest.collect", "ingest.subfigures"])
    items = json.loads((journal / "metrics" / "spectra.json").read_text())["items"]
    assert items >= 6 and resumed["spectra.parquet"].num_rows > 6  # graphs, two per committed batch


def test_sigkilled_embed_resumes_to_the_same_vectors(tmp_path: Path, tiny_clip: Path, tally: Counter[str]) -> None:
    import numpy as np
    from small_lake import PANELS, write_lake

    # 24 subfigures in batches of 2: twelve commits to kill between
    panels = [(key, label, *PANELS[i % len(PANELS)][2:]) for key in "AB" for i, label in enumerate("abcdefghijkl")]
    write_lake(tmp_path / "lake", panels)
    params = clip_params(tmp_path, tiny_clip)
    vectors = tmp_path / "lake" / "vectors.lance"
    run_module("embeddings.embed", tmp_path, "--params", str(params))
    clean = lance.dataset(vectors).to_table().sort_by("subfigure_id")
    assert clean.num_rows == 24
    shutil.rmtree(vectors)

    def some_rows() -> bool:
        try:
            return lance.dataset(vectors).count_rows() >= 2
        except (ValueError, OSError):  # not created yet
            return False

    kill_when("embeddings.embed", tmp_path, params, some_rows)
    tally["stages SIGKILLed mid-run"] += 1
    assert lance.dataset(vectors).count_rows() < 24, "the kill came after the last batch"
    run_module("embeddings.embed", tmp_path, "--params", str(params))
    resumed = lance.dataset(vectors).to_table().sort_by("subfigure_id")
    assert resumed.num_rows == 24
    for col in ("subfigure_id", "content_hash", "text"):
        assert resumed.column(col).to_pylist() == clean.column(col).to_pylist()
    assert np.allclose(np.array(resumed.column("image_vector").to_pylist()),
                       np.array(clean.column("image_vector").to_pylist()), atol=1e-5)
    tally["rows compared after a kill"] += clean.num_rows
    tally["rows lost or duplicated after a kill"] += abs(resumed.num_rows - clean.num_rows)

"""The Ray executor (stage.executor: ray) writes the same lake as the local one, on a local Ray."""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from conftest import run_module, synthetic_journal

from catalog.schema import FIGURES
from catalog.tables import Lake
from ingest.errors import CorruptImageError, InputError
from ingest.executor import LocalExecutor, RayExecutor, executor_from_params
from ingest.stage import ItemResult, Stage

pytestmark = pytest.mark.timeout(900)


def test_input_errors_survive_pickling() -> None:
    e = pickle.loads(pickle.dumps(CorruptImageError("fig.png", "truncated")))
    assert type(e) is CorruptImageError and (e.item, e.reason) == ("fig.png", "truncated")
    assert str(e) == "fig.png: truncated" and isinstance(e, InputError)


def test_executor_setting() -> None:
    assert isinstance(executor_from_params({}), LocalExecutor)
    ray = executor_from_params({"executor": "ray", "ray": {"actors": 3, "gpus_per_actor": 1}})
    assert isinstance(ray, RayExecutor) and (ray.actors, ray.gpus_per_actor) == (3, 1)
    with pytest.raises(ValueError, match="spark"):
        executor_from_params({"executor": "spark"})


def test_ray_stage_equals_local_stage(tmp_path: Path) -> None:
    def process(i: int) -> ItemResult:  # a closure, as the stages' are: Ray ships it by value
        if i % 17 == 0:
            raise CorruptImageError(f"item-{i}", "unreadable")
        r = ItemResult()
        r.add("figures", {"figure_id": f"10.1/x/fig{i:03d}", "article_id": "10.1/x", "number": i})
        return r

    items = [(f"item-{i}", i) for i in range(60)]
    for name, ex in (("local", LocalExecutor()), ("ray", RayExecutor(actors=2, batch_size=4))):
        stage = Stage("demo", Lake(tmp_path / name / "lake"), [FIGURES], {"p": 1}, tmp_path / name / "work",
                      checkpoint_every=5, executor=ex)
        report = stage.run(items, process, progress=False)
        assert (report.items, report.quarantined, report.rows["figures"]) == (60, 4, 56)
    for table in ("figures.parquet", "quarantine/demo.parquet"):
        a, b = (pq.read_table(tmp_path / n / "lake" / table) for n in ("local", "ray"))
        assert a.drop_columns(["at"]) == b.drop_columns(["at"]) if "at" in a.schema.names else a == b


def test_figures_stage_on_ray_writes_the_same_tables(tmp_path: Path) -> None:
    params = synthetic_journal(tmp_path, articles=1)
    p = yaml.safe_load(params.read_text())
    run_module("ingest.collect", tmp_path, "--params", str(params))
    outputs = ["subfigures.parquet", "scale_bars.parquet", "quarantine/figures.parquet"]
    run_module("ingest.subfigures", tmp_path, "--params", str(params))
    local = {t: pq.read_table(tmp_path / "lake" / t) for t in outputs}
    assert local["subfigures.parquet"].num_rows > 5
    for t in outputs:
        (tmp_path / "lake" / t).unlink()
    shutil.rmtree(tmp_path / "lake" / "thumbnails.lance")
    p["stage"] |= {"executor": "ray", "ray": {"actors": 2, "cpus_per_actor": 1, "batch_size": 2}}
    params.write_text(yaml.safe_dump(p))
    run_module("ingest.subfigures", tmp_path, "--params", str(params))
    for t in outputs:
        ray = pq.read_table(tmp_path / "lake" / t)
        if "at" in ray.schema.names:
            assert ray.drop_columns(["at"]) == local[t].drop_columns(["at"]), t
        else:
            assert ray == local[t], t

"""The executors (stage.executor: processes, ray) write the same lake as the local one (Ray: a local Ray)."""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from conftest import clip_params, run_module, synthetic_journal

from catalog.schema import FIGURES
from catalog.tables import Lake
from ingest.errors import CorruptImageError, InputError
from ingest.executor import LocalExecutor, ProcessExecutor, RayExecutor, executor_from_params
from ingest.stage import ItemResult, Stage

pytestmark = pytest.mark.timeout(900)


def test_input_errors_survive_pickling() -> None:
    e = pickle.loads(pickle.dumps(CorruptImageError("fig.png", "truncated")))
    assert type(e) is CorruptImageError and (e.item, e.reason) == ("fig.png", "truncated")
    assert str(e) == "fig.png: truncated" and isinstance(e, InputError)


def test_executor_setting() -> None:
    assert isinstance(executor_from_params({}), LocalExecutor)
    assert executor_from_params({"executor": "processes", "workers": 3}) == ProcessExecutor(workers=3)
    ray = executor_from_params({"executor": "ray", "ray": {"actors": 3, "gpus_per_actor": 1}})
    assert isinstance(ray, RayExecutor) and (ray.actors, ray.gpus_per_actor) == (3, 1)
    with pytest.raises(ValueError, match="spark"):
        executor_from_params({"executor": "spark"})


def test_process_and_ray_stages_equal_the_local_stage(tmp_path: Path) -> None:
    def process(i: int) -> ItemResult:  # a closure, as the stages' are: Ray ships it by value
        if i % 17 == 0:
            raise CorruptImageError(f"item-{i}", "unreadable")
        r = ItemResult()
        r.add("figures", {"figure_id": f"10.1/x/fig{i:03d}", "article_id": "10.1/x", "number": i})
        return r

    items = [(f"item-{i}", i) for i in range(60)]
    for name, ex in (("local", LocalExecutor()), ("processes", ProcessExecutor(workers=2)),
                     ("ray", RayExecutor(actors=2, batch_size=4))):
        stage = Stage("demo", Lake(tmp_path / name / "lake"), [FIGURES], {"p": 1}, tmp_path / name / "work",
                      checkpoint_every=5, executor=ex)
        report = stage.run(items, process, progress=False)
        assert (report.items, report.quarantined, report.rows["figures"]) == (60, 4, 56)
    for table in ("figures.parquet", "quarantine/demo.parquet"):
        a = pq.read_table(tmp_path / "local" / "lake" / table)
        for other in ("processes", "ray"):
            b = pq.read_table(tmp_path / other / "lake" / table)
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


def test_embed_stage_on_ray_writes_the_same_vectors(tmp_path: Path, tiny_clip: Path) -> None:
    """The embed stage's batches on a Ray actor pool (each actor loads the models once): the same rows
    and vectors as in-process, a bad thumbnail quarantined the same way."""
    import lance
    import numpy as np
    from small_lake import PANELS, write_lake

    panels = [(key, label, *PANELS[i % len(PANELS)][2:]) for key in "AB" for i, label in enumerate("abcdef")]
    tables = {}
    for name in ("local", "ray"):
        root = tmp_path / name
        write_lake(root / "lake", panels)
        thumbs = lance.dataset(root / "lake" / "thumbnails.lance")
        first = thumbs.to_table(limit=1)["subfigure_id"][0].as_py()
        thumbs.delete(f"subfigure_id = '{first}'")  # one subfigure without its thumbnail
        params = clip_params(root, tiny_clip, batch_rows=3)
        p = yaml.safe_load(params.read_text())
        if name == "ray":
            p["stage"] |= {"executor": "ray", "ray": {"actors": 2, "cpus_per_actor": 1, "batch_size": 1}}
        params.write_text(yaml.safe_dump(p))
        run_module("embeddings.embed", root, "--params", str(params))
        tables[name] = lance.dataset(root / "lake" / "vectors.lance").to_table().sort_by("subfigure_id")
        quarantine = pq.read_table(root / "lake" / "quarantine" / "embed.parquet")
        assert quarantine.column("item").to_pylist() == [f"{first} thumbnail"], name
    local, ray = tables["local"], tables["ray"]
    assert local.num_rows == ray.num_rows == 12
    for col in ("subfigure_id", "content_hash", "text"):
        assert ray.column(col).to_pylist() == local.column(col).to_pylist()
    for col in ("image_vector", "text_vector"):
        assert np.allclose(np.array(ray.column(col).to_pylist()), np.array(local.column(col).to_pylist()),
                           atol=1e-5)

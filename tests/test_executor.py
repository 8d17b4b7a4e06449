"""The executors (stage.executor: processes, ray) write the same lake as the local one (Ray: a local Ray)."""

from __future__ import annotations

import json
import pickle
import shutil
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from conftest import clip_params, run_module, synthetic_journal

from catalog.schema import FIGURES, THUMBNAILS
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


def _items_with_thumbnails() -> Callable[[int], ItemResult]:
    """A per-item function writing a Parquet row and two Lance rows; every 17th item is bad input.
    Made in a function so that Ray ships it by value, as it does the stages' closures."""

    def process(i: int) -> ItemResult:
        if i % 17 == 0:
            raise CorruptImageError(f"item-{i}", "unreadable")
        r = ItemResult()
        r.add("figures", {"figure_id": f"10.1/x/fig{i:03d}", "article_id": "10.1/x", "number": i})
        for label in "ab":
            r.add("thumbnails", {"subfigure_id": f"10.1/x/fig{i:03d}/{label}", "figure_id": f"10.1/x/fig{i:03d}",
                                 "width": i, "height": 2, "bytes": bytes([i]) * 3000})
        return r

    return process


_figure_with_thumbnails = _items_with_thumbnails()


def _thumbnails(lake: Path) -> list[dict]:
    import lance

    return sorted(lance.dataset(lake / "thumbnails.lance").to_table().to_pylist(), key=lambda r: r["subfigure_id"])


def test_ray_workers_write_lance_tables_as_fragments(tmp_path: Path) -> None:
    """On Ray the actors write a stage's Lance rows as fragments; only their metadata reaches the driver,
    and the committed table equals the one the local stage writes through the driver."""
    from catalog.fragments import FragmentSink

    items = [(f"item-{i}", i) for i in range(40)]
    sink = FragmentSink(str(tmp_path / "sink"), (THUMBNAILS,))
    out = list(RayExecutor(actors=2, batch_size=4).map(_figure_with_thumbnails, items, sink))
    assert sorted(k for keys, _ in out for k in keys) == sorted(k for k, _ in items)
    assert len(out) < len(items) and all(1 <= len(keys) <= 4 for keys, _ in out)  # a batch at a time
    assert all("thumbnails" not in r.rows for _, r in out)
    assert all(len(r.fragments.get("thumbnails", [])) == (1 if r.rows.get("figures") else 0) for _, r in out)
    assert sum(len(r.rows.get("figures", [])) for _, r in out) == 37

    for name, ex in (("local", LocalExecutor()), ("ray", RayExecutor(actors=2, batch_size=3))):
        stage = Stage("demo", Lake(tmp_path / name / "lake"), [FIGURES, THUMBNAILS], {"p": 1},
                      tmp_path / name / "work", checkpoint_every=5, executor=ex)
        report = stage.run(items, _figure_with_thumbnails, progress=False)
        assert (report.quarantined, report.rows["figures"], report.rows["thumbnails"]) == (3, 37, 74)
        assert not (tmp_path / name / "work" / "demo").exists()
    assert _thumbnails(tmp_path / "ray" / "lake") == _thumbnails(tmp_path / "local" / "lake")
    import lance

    ds = lance.dataset(tmp_path / "ray" / "lake" / "thumbnails.lance")
    assert len(ds.get_fragments()) == 1  # compacted; the small fragments cleaned up:
    assert len(list((tmp_path / "ray" / "lake" / "thumbnails.lance" / "data").iterdir())) == 1


def test_ray_fragments_resume_after_a_crash_and_replace_the_table(tmp_path: Path) -> None:
    """A stage stopped by a bug mid-run resumes with the fragments it committed (no row lost or
    repeated); a repeated key keeps its first row with a quarantine note; a rerun replaces the table."""
    import lance

    def crashing(i: int) -> ItemResult:
        if i == 31:
            raise RuntimeError("a bug")
        return _figure_with_thumbnails(i)

    def repeating(i: int) -> ItemResult:
        r = _figure_with_thumbnails(i)
        if i == 33:  # the row of item 32's "a" again, different content
            r.rows["thumbnails"][0] |= {"subfigure_id": "10.1/x/fig032/a", "width": -1}
        return r

    items = [(f"item-{i}", i) for i in range(40)]
    lake, work = Lake(tmp_path / "lake"), tmp_path / "work"

    def stage() -> Stage:
        return Stage("demo", lake, [FIGURES, THUMBNAILS], {"p": 1}, work, checkpoint_every=4,
                     executor=RayExecutor(actors=2, batch_size=2))

    with pytest.raises(Exception, match="a bug"):
        stage().run(items, crashing, progress=False)
    committed = json.loads((work / "demo" / "part-000001.done").read_text())
    assert len(committed) >= 4 and list((work / "demo").glob("part-*.thumbnails.fragments.json"))
    report = stage().run(items, repeating, progress=False)
    assert report.resumed_items >= 4 and report.rows["thumbnails"] == 73
    rows = _thumbnails(tmp_path / "lake")
    assert len({r["subfigure_id"] for r in rows}) == 73
    assert next(r for r in rows if r["subfigure_id"] == "10.1/x/fig032/a")["width"] == 32  # the first kept
    notes = pq.read_table(tmp_path / "lake" / "quarantine" / "demo.parquet").column("item").to_pylist()
    assert "thumbnails:10.1/x/fig032/a" in notes

    report = stage().run(items[:10], _figure_with_thumbnails, progress=False)  # into the existing table
    assert report.rows["thumbnails"] == 18 and [r["subfigure_id"] for r in _thumbnails(tmp_path / "lake")][-1] == (
        "10.1/x/fig009/b")
    files = list((tmp_path / "lake" / "thumbnails.lance" / "data").iterdir())
    assert len(files) == len(lance.dataset(tmp_path / "lake" / "thumbnails.lance").get_fragments()) == 1


def test_figures_stage_on_ray_writes_the_same_tables(tmp_path: Path) -> None:
    params = synthetic_journal(tmp_path, articles=1)
    p = yaml.safe_load(params.read_text())
    run_module("ingest.collect", tmp_path, "--params", str(params))
    outputs = ["subfigures.parquet", "scale_bars.parquet", "quarantine/figures.parquet"]
    run_module("ingest.subfigures", tmp_path, "--params", str(params))
    local = {t: pq.read_table(tmp_path / "lake" / t) for t in outputs}
    assert local["subfigures.parquet"].num_rows > 5
    local_thumbnails = _thumbnails(tmp_path / "lake")
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
    # Written by the actors as fragments: the same rows, in another order.
    assert _thumbnails(tmp_path / "lake") == local_thumbnails and len(local_thumbnails) > 5


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

    # What a Ray actor does with a batch: read its thumbnails by position, upsert its vectors itself,
    # and send back no rows.
    from embeddings.clip import LOCAL_DIR
    from embeddings.documents import subfigure_docs, thumbnail_digests
    from embeddings.embed import SubfigureEmbedder

    lake = Lake(tmp_path / "ray" / "lake")
    digests, version = thumbnail_digests(lake)
    docs = [d for d in subfigure_docs(lake) if d.subfigure_id in digests][:2]
    embedder = SubfigureEmbedder(LOCAL_DIR + str(tiny_clip), None, str(lake.root), version,
                                 {"extractor": "test", "params_hash": "test"}, upsert=True)
    result = embedder((docs, [digests[d.subfigure_id][0] for d in docs], ["new-1", "new-2"]))
    assert result.rows == {} and result.problems == []
    stored = lance.dataset(lake.root / "vectors.lance").to_table(columns=["subfigure_id", "content_hash"]).to_pylist()
    assert {r["subfigure_id"]: r["content_hash"] for r in stored if r["content_hash"].startswith("new")} == {
        docs[0].subfigure_id: "new-1", docs[1].subfigure_id: "new-2"}
    assert len(stored) == 12

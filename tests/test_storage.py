"""The lake on object storage, against a real S3-compatible server on 127.0.0.1 (moto in server mode)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml
from conftest import REPO, clip_params, comparable, figlake, run_module, synthetic_journal

from catalog.build import lake_summary
from catalog.duck import ReadOnlySqlError, query
from catalog.storage import ObjectLake, StorageError, local_files, open_lake, publish
from catalog.tables import Lake
from embeddings.clip import LOCAL_DIR


def test_publish_then_query_the_lake_in_object_storage(built_lake: Path, aws: dict[str, str], tmp_path: Path) -> None:
    local = Lake(built_lake)
    uri = "s3://lake/published"
    first = publish(local, uri)
    files = local_files(local)
    assert first.uploaded == len(files) > 5 and first.unchanged == first.deleted == 0
    assert any(rel.startswith("images.lance/_versions/") for rel in files)
    again = publish(local, uri)
    assert (again.uploaded, again.unchanged, again.deleted) == (0, len(files), 0)

    remote = ObjectLake.from_uri(uri)
    assert lake_summary(remote) == lake_summary(local)
    sql = "SELECT f.figure_id, a.doi FROM figures f JOIN articles a USING (article_id) ORDER BY 1"
    assert query(remote, sql) == query(local, sql)
    assert remote.read("images").num_rows == local.read("images").num_rows > 0  # Lance, from the object store
    with pytest.raises(ReadOnlySqlError):
        query(remote, "SELECT * FROM read_text('/etc/hostname')")

    # the real CLI, in a subprocess with only the environment to find the server
    env = {**os.environ, **aws}
    r = figlake("sql", "SELECT count(*) AS n FROM figures", "--lake", uri, "--format", "json", env=env)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)[0]["n"] == local.count("figures")
    r = figlake("summary", "--lake", uri, "--json", env=env)
    assert r.returncode == 0 and json.loads(r.stdout) == lake_summary(local)


def test_republishing_sends_only_changes_and_removes_what_is_gone(built_lake: Path, aws: dict[str, str],
                                                                  tmp_path: Path) -> None:
    import shutil

    lake = Lake(tmp_path / "lake")
    shutil.copytree(built_lake, lake.root)
    uri = "s3://lake/changing"
    publish(lake, uri)
    lake.quarantine_path("collect").unlink()
    (lake.root / "figures.parquet").write_bytes((lake.root / "articles.parquet").read_bytes())  # a changed table
    report = publish(lake, uri)
    assert (report.uploaded, report.deleted) == (1, 1)
    remote = ObjectLake.from_uri(uri)
    assert not remote.exists("quarantine") and remote.count("quarantine") == 0
    assert query(remote, "SELECT count(*) AS n FROM quarantine").column("n")[0].as_py() == 0


def test_object_storage_errors_are_clear(built_lake: Path, aws: dict[str, str]) -> None:
    with pytest.raises(StorageError, match="not an s3://bucket/prefix"):
        ObjectLake.from_uri("gs://elsewhere/lake")
    r = figlake("sql", "SELECT 1", "--lake", "s3://", env={**os.environ, **aws})
    assert r.returncode == 2 and "s3://bucket/prefix" in r.stderr
    r = figlake("publish", "s3://no-such-bucket/x", "--lake", str(built_lake), env={**os.environ, **aws})
    assert r.returncode == 2 and "no-such-bucket" in r.stderr


def test_search_a_published_lake_in_place(aws: dict[str, str], tiny_clip: Path, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """LanceDB vector, BM25 and hybrid search on the lake's s3:// copy give the local lake's results,
    provenance read from the Parquet tables there; the CLI too."""
    import numpy as np
    from small_lake import PANELS, write_lake

    from embeddings.embed import main as embed_main
    from embeddings.search import Searcher

    monkeypatch.chdir(tmp_path)  # the embed stage writes metrics/ here
    write_lake(tmp_path / "lake")
    params = clip_params(tmp_path, tiny_clip)
    embed_main(["--params", str(params)])
    uri = "s3://lake/searchable"
    publish(Lake(tmp_path / "lake"), uri)
    model = LOCAL_DIR + str(tiny_clip)
    local, remote = Searcher(tmp_path / "lake", clip_model=model), Searcher(uri, clip_model=model)

    def same(a: list[dict], b: list[dict], key: str = "subfigure_id") -> None:
        assert [h[key] for h in a] == [h[key] for h in b] and a
        assert [h["doi"] for h in a] == [h["doi"] for h in b] and b[0]["doi"]
        assert np.allclose([h["score"] for h in a], [h["score"] for h in b], atol=1e-4)

    same(local.text("transmission electron micrograph of gold particles"),
         remote.text("transmission electron micrograph of gold particles"))
    same(local.text("spectrum", where="class = 'graph'"), remote.text("spectrum", where="class = 'graph'"))
    same(local.image(PANELS[3][4], k=3), remote.image(PANELS[3][4], k=3))
    x = np.linspace(200, 800, 300)
    y = np.exp(-((x - 450) / 20) ** 2)
    same(local.spectrum(x, y, k=2), remote.spectrum(x, y, k=2), key="spectrum_id")

    env = {**os.environ, **aws}
    r = figlake("search", "gold nanoparticles", "--lake", uri, "--json", "--k", "3", cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stderr
    assert [h["subfigure_id"] for h in json.loads(r.stdout)] == [
        h["subfigure_id"] for h in local.text("gold nanoparticles", k=3)]
    r = figlake("search", "gold", "--lake", "s3://no-such-bucket/x", cwd=tmp_path, env=env)
    assert r.returncode == 2 and "no-such-bucket" in r.stderr


def test_stages_write_a_lake_root_on_object_storage(aws: dict[str, str], tiny_clip: Path, tmp_path: Path) -> None:
    """The stages run against an s3:// lake root write, in place on the store, the tables a local run
    writes: collect, caption segments, labels, figures (on a local Ray, whose actors stage the
    thumbnails' fragments on the store; the server copies them into the table and the staging is
    removed), spectra, embed (LanceDB upserts on the store) and the catalog's subfigure index."""
    import numpy as np

    params = synthetic_journal(tmp_path, articles=1)
    p = yaml.safe_load(params.read_text())
    p["figures"]["classifier"]["model"] = str(REPO / "models" / "panels" / "classifier.pt")  # graphs, for spectra
    p["embed"]["clip"] |= {"model": LOCAL_DIR + str(tiny_clip)}
    p["embed"]["clip"]["train"]["out"] = str(tiny_clip)
    params.write_text(yaml.safe_dump(p))
    modules = ("ingest.collect", "ingest.caption_segments", "ingest.labels", "ingest.subfigures",
               "ingest.spectra.stage", "embeddings.embed", "catalog.build")
    for module in modules:
        run_module(module, tmp_path, "--params", str(params))
    uri = "s3://lake/stages"
    p["lake"] |= {"root": uri, "work_root": str(tmp_path / "work-s3")}
    p["stage"] |= {"executor": "ray", "ray": {"actors": 2, "cpus_per_actor": 1, "batch_size": 1}}
    (tmp_path / "params-s3.yaml").write_text(yaml.safe_dump(p))
    for module in modules:
        run_module(module, tmp_path, "--params", str(tmp_path / "params-s3.yaml"))

    local, remote = Lake(tmp_path / "lake"), ObjectLake.from_uri(uri)
    for table in ("articles", "figures", "images", "caption_segments", "labels", "subfigures", "scale_bars",
                  "thumbnails", "spectra", "subfigure_index", "quarantine"):
        assert comparable(remote.read(table)) == comparable(local.read(table)), table
    assert remote.count("thumbnails") == local.count("thumbnails") > 5 and remote.count("spectra") > 0
    # Committed from the actors' fragments and then compacted; written through the driver it would be version 1.
    assert remote.lance("thumbnails").version > 1
    objects = remote.store.files()
    assert not any(rel.startswith("_staging/") for rel in objects)
    assert sum(rel.startswith("thumbnails.lance/data/") for rel in objects) == 1  # compacted, old files reclaimed
    assert not (tmp_path / "work-s3" / "figures").exists()
    vectors = [comparable(lake.read("vectors")) for lake in (local, remote)]
    assert vectors[0].num_rows == vectors[1].num_rows == local.count("subfigures")
    assert vectors[1].column("content_hash") == vectors[0].column("content_hash")
    assert np.allclose(np.array(vectors[1].column("image_vector").to_pylist()),
                       np.array(vectors[0].column("image_vector").to_pylist()), atol=1e-5)


def test_a_uri_is_not_taken_for_a_lake_folder() -> None:
    """Path("s3://bucket/x") is the folder "s3:/bucket/x": a stage that writes only local lakes refuses it."""
    with pytest.raises(ValueError, match="not a lake folder"):
        Lake(Path("s3://lake/stages"))
    assert isinstance(open_lake("s3://lake/stages"), ObjectLake) and open_lake("data/lake") == Lake(Path("data/lake"))

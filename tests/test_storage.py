"""The lake on object storage, against a real S3-compatible server on 127.0.0.1 (moto in server mode)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from conftest import figlake
from moto.server import ThreadedMotoServer

from catalog.build import lake_summary
from catalog.duck import ReadOnlySqlError, query
from catalog.storage import ObjectLake, StorageError, local_files, publish
from catalog.tables import Lake

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "figlake", "AWS_SECRET_ACCESS_KEY": "figlake-secret", "AWS_REGION": "us-east-1"}


@pytest.fixture(scope="module")
def s3() -> Iterator[dict[str, str]]:
    """A moto S3 server on a free port of 127.0.0.1 with a bucket ``lake``; the AWS environment for it."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    env = CREDENTIALS | {"AWS_ENDPOINT_URL": f"http://{host}:{port}"}
    client = boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"], aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                          aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"], region_name="us-east-1")
    client.create_bucket(Bucket="lake")
    yield env
    server.stop()


@pytest.fixture
def aws(s3: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for k, v in s3.items():
        monkeypatch.setenv(k, v)
    return s3


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

"""Shared fixtures: the committed corpus, bad inputs, and lakes built in temp dirs."""

from __future__ import annotations

import io
import json
import os
import shutil
import struct
import subprocess
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest
import yaml
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "data" / "corpus"
TEST_DATA = Path(__file__).parent / "data"
NATURE_PAGES = ("ncomms5946", "s41467-018-06211-3")


@pytest.fixture(scope="session")
def expected_nature() -> dict:
    return json.loads((TEST_DATA / "nature_expected.json").read_text())["articles"]


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width``×``height`` pixels (a decompression bomb's header)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def png_bytes(width: int = 8, height: int = 6) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buf, "PNG")
    return buf.getvalue()


def copy_nature_corpus(dest: Path) -> Path:
    """The committed Nature pages and figures, copied to ``dest/nature``."""
    shutil.copytree(CORPUS / "nature", dest / "nature")
    return dest / "nature"


def write_params(root: Path, corpus_paths: list[Path], checkpoint_every: int = 25, synth: Path | None = None,
                 synth_articles: int = 2) -> Path:
    """params.yaml for a lake under ``root``: the given page folders, and a synthetic journal if ``synth``."""
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["lake"] = {"root": str(root / "lake"), "work_root": str(root / "work")}
    params["sources"]["local"]["paths"] = [str(p) for p in corpus_paths]
    if synth is None:
        params["sources"].pop("synth")
    else:
        params["sources"]["synth"].update(path=str(synth), articles=synth_articles)
    params["stage"]["checkpoint_every"] = checkpoint_every
    if params["captions"].get("query"):
        params["captions"]["query"] = str(REPO / params["captions"]["query"])
    params["benchmarks"]["shared_corpora"] = str(root / "no-shared-corpora")
    path = root / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    return path


def synthetic_journal(root: Path, articles: int, checkpoint_every: int = 25) -> Path:
    """params.yaml for a synthetic journal of ``articles`` generated under ``root``, with a panel
    classifier trained for a few steps (so the figures stage can run); returns the params path."""
    from ingest.train_classifier import build_dataset, train

    params = write_params(root, [], checkpoint_every=checkpoint_every, synth=root / "synth", synth_articles=articles)
    x, f, y, groups = build_dataset(seed=3, figures=8, jitters=1, extras=2, workers=1)
    model, _ = train(x, f, y, groups, epochs=2, seed=3, holdout=0.25)
    model.save(root / "panels.pt")
    p = yaml.safe_load(params.read_text())
    p["figures"]["classifier"]["model"] = str(root / "panels.pt")
    params.write_text(yaml.safe_dump(p))
    run_module("ingest.synthesize", root, "--params", str(params))
    return params


def clip_params(root: Path, tiny_clip: Path, batch_rows: int = 2) -> Path:
    """params.yaml for the lake under ``root`` with the tiny domain CLIP and small embed batches."""
    from embeddings.clip import LOCAL_DIR

    path = write_params(root, [])
    params = yaml.safe_load(path.read_text())
    params["embed"]["clip"]["model"] = LOCAL_DIR + str(tiny_clip)
    params["embed"]["clip"]["train"]["out"] = str(tiny_clip)
    params["embed"]["index"]["batch_rows"] = batch_rows
    path.write_text(yaml.safe_dump(params))
    return path


def comparable(table: pa.Table) -> pa.Table:
    """A table without its wall-clock columns, rows in key order: equal for equal content."""
    table = table.drop_columns([f.name for f in table.schema if pa.types.is_timestamp(f.type)])
    return table.sort_by([(table.schema.names[0], "ascending")])


def run_module(module: str, cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run ``python -m module`` as the pipeline does, in ``cwd``."""
    proc = subprocess.run([sys.executable, "-m", module, *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    if check and proc.returncode != 0:
        raise AssertionError(f"{module} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def figlake(*args: str, cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    """The real console script, in a subprocess."""
    exe = Path(sys.executable).parent / "figlake"
    return subprocess.run([str(exe), *args], cwd=cwd or REPO, capture_output=True, text=True,
                          env={**os.environ, **(env or {})})


@pytest.fixture(scope="session")
def built_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default corpus collected and catalogued into a temp lake (via the stage modules)."""
    root = tmp_path_factory.mktemp("built")
    params = write_params(root, [CORPUS])
    run_module("ingest.collect", root, "--params", str(params))
    run_module("catalog.build", root, "--params", str(params))
    return root / "lake"


@pytest.fixture(scope="session")
def tiny_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A domain CLIP trained for a few steps on the small lake's panels (open_clip local-dir folder)."""
    from small_lake import train_tiny_clip

    return train_tiny_clip(tmp_path_factory.mktemp("clip") / "model")


CREDENTIALS = {"AWS_ACCESS_KEY_ID": "figlake", "AWS_SECRET_ACCESS_KEY": "figlake-secret", "AWS_REGION": "us-east-1"}


@pytest.fixture(scope="session")
def s3() -> Iterator[dict[str, str]]:
    """A moto S3 server on a free port of 127.0.0.1 with a bucket ``lake``; the AWS environment for it."""
    import boto3
    from moto.server import ThreadedMotoServer

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
    """The AWS_* environment of the ``s3`` server, for this test."""
    for k, v in s3.items():
        monkeypatch.setenv(k, v)
    return s3

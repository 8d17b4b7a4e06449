"""The lake on object storage: publish a built lake to an ``s3://`` prefix and read it there.

    figlake publish s3://bucket/figlake [--lake data/lake]
    figlake sql "SELECT …" --lake s3://bucket/figlake
    figlake summary --lake s3://bucket/figlake

Connection settings are the standard AWS environment variables, so any
S3-compatible server works (AWS, MinIO, Ceph, moto): ``AWS_ENDPOINT_URL``
(omit for AWS itself), ``AWS_REGION``/``AWS_DEFAULT_REGION``,
``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``.

Publishing is incremental and safe for readers of the remote copy. A Lance
table is a folder of immutable data files plus one manifest per version, so
its new files are uploaded data first and manifests last: a reader never sees
a version whose data is missing. A Parquet table is one PUT, which S3 makes
visible whole. Files the remote copy has and the local lake no longer has are
deleted after everything else is in place. Unchanged files (same sha256 as
recorded by the last publish) are not sent again.

Reading: Parquet tables through pyarrow's S3 filesystem (DuckDB scans them as
Arrow datasets: DuckDB's own httpfs extension would have to be downloaded,
and this runs offline), Lance tables through Lance's object store.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import lance
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from catalog.schema import QUARANTINE, TABLES, TableSpec
from catalog.tables import TMP_MARK, Lake, as_batches, image_reader, write_parquet_atomic


class StorageError(Exception):
    """An object-storage URI or server that cannot be used (named in the message)."""


def is_uri(root: str | Path) -> bool:
    return "://" in str(root)


@dataclass(frozen=True)
class ObjectStore:
    """An ``s3://bucket/prefix`` with a pyarrow filesystem and Lance storage options for it."""

    uri: str
    fs: pafs.FileSystem = field(repr=False)
    base: str
    """bucket/prefix, the filesystem path of the root"""
    lance_options: dict[str, str] = field(repr=False)

    @classmethod
    def from_uri(cls, uri: str) -> ObjectStore:
        u = urlparse(uri)
        if u.scheme != "s3" or not u.netloc:
            raise StorageError(f"{uri}: not an s3://bucket/prefix URI (the lake's object storage is S3-compatible)")
        env = os.environ
        region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1"
        endpoint = env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL")
        kwargs: dict[str, Any] = {"region": region}
        options = {"aws_region": region}
        if env.get("AWS_ACCESS_KEY_ID"):
            kwargs |= {"access_key": env["AWS_ACCESS_KEY_ID"], "secret_key": env.get("AWS_SECRET_ACCESS_KEY", ""),
                       "session_token": env.get("AWS_SESSION_TOKEN")}
        if endpoint:
            e = urlparse(endpoint)
            kwargs |= {"endpoint_override": e.netloc, "scheme": e.scheme or "https"}
            options |= {"aws_endpoint": endpoint, "allow_http": str(e.scheme == "http").lower()}
        base = (u.netloc + "/" + u.path.strip("/")).rstrip("/")
        return cls(uri.rstrip("/"), pafs.S3FileSystem(**kwargs), base, options)

    def path(self, rel: str) -> str:
        return f"{self.base}/{rel}"

    def upload(self, local: Path, rel: str) -> None:
        """One file to one object (visible once the upload completes)."""
        try:
            with local.open("rb") as src, self.fs.open_output_stream(self.path(rel)) as dst:
                while chunk := src.read(8 << 20):
                    dst.write(chunk)
        except OSError as e:
            raise StorageError(f"{self.uri}/{rel}: upload failed ({e})") from e

    def files(self) -> dict[str, pafs.FileInfo]:
        """Every object under the root: relative path → info (empty when there is none)."""
        try:
            infos = self.fs.get_file_info(pafs.FileSelector(self.base, recursive=True, allow_not_found=True))
        except OSError as e:
            raise StorageError(f"{self.uri}: cannot list ({e})") from e
        return {i.path[len(self.base) + 1:]: i for i in infos if i.type == pafs.FileType.File}


# -- publishing --------------------------------------------------------------------------


MANIFEST = "_figlake_publish.json"


def _upload_order(rel: str) -> int:
    """Data before manifests: a Lance version becomes visible only once its files are there."""
    return 1 if "/_versions/" in rel or rel.endswith(".manifest") or "/_latest" in rel else 0


def local_files(lake: Lake) -> dict[str, Path]:
    """The lake's files to publish: tables and quarantine, not temporaries or the local catalog file."""
    out = {}
    for p in sorted(lake.root.rglob("*")):
        rel = p.relative_to(lake.root).as_posix()
        if p.is_file() and TMP_MARK not in rel and not rel.startswith(".") and rel != "catalog.duckdb":
            out[rel] = p
    return out


@dataclass
class PublishReport:
    uri: str
    uploaded: int = 0
    unchanged: int = 0
    deleted: int = 0
    bytes_uploaded: int = 0

    def as_json(self) -> dict[str, Any]:
        return self.__dict__.copy()


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(8 << 20):
            h.update(chunk)
    return h.hexdigest()


def publish(lake: Lake, uri: str, progress: Callable[[int, int], None] | None = None) -> PublishReport:
    """Copy ``lake`` to ``uri`` (incremental; see the module docstring for the order).

    What was sent is recorded in ``MANIFEST`` under the prefix (path → size and sha256), written
    last: a file is sent again when its content differs from that record or the object is gone.
    """
    if not lake.root.is_dir():
        raise FileNotFoundError(f"{lake.root}: no lake here (build it with `make demo` or `dvc repro`)")
    store = ObjectStore.from_uri(uri)
    remote = store.files()
    sent: dict[str, list[Any]] = {}
    if MANIFEST in remote:
        with store.fs.open_input_stream(store.path(MANIFEST)) as f:
            sent = json.loads(f.read())
    local = {rel: (p, p.stat().st_size, _sha256(p)) for rel, p in local_files(lake).items()}
    report = PublishReport(store.uri)
    todo = sorted((rel for rel, (_, size, sha) in local.items()
                   if rel not in remote or sent.get(rel) != [size, sha]), key=lambda rel: (_upload_order(rel), rel))
    report.unchanged = len(local) - len(todo)
    for i, rel in enumerate(todo):
        path, size, _ = local[rel]
        store.upload(path, rel)
        report.uploaded += 1
        report.bytes_uploaded += size
        if progress:
            progress(i + 1, len(todo))
    for rel in sorted(set(remote) - set(local) - {MANIFEST}):
        store.fs.delete_file(store.path(rel))
        report.deleted += 1
    with store.fs.open_output_stream(store.path(MANIFEST)) as f:
        f.write(json.dumps({rel: [size, sha] for rel, (_, size, sha) in local.items()}, indent=0).encode())
    return report


# -- reading ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ObjectLake:
    """A published lake, read in place: the read side of ``catalog.tables.Lake`` for an s3:// root."""

    store: ObjectStore

    @classmethod
    def from_uri(cls, uri: str) -> ObjectLake:
        return cls(ObjectStore.from_uri(uri))

    @property
    def root(self) -> str:
        return self.store.uri

    def _rel(self, table: str) -> str:
        return TABLES[table].file_name()

    def quarantine_files(self) -> list[str]:
        return sorted(rel for rel in self.store.files() if rel.startswith("quarantine/") and rel.endswith(".parquet"))

    def exists(self, table: str) -> bool:
        if table == QUARANTINE.name:
            return bool(self.quarantine_files())
        rel = self._rel(table)
        if TABLES[table].storage == "lance":
            rel += "/_versions"
            return self.store.fs.get_file_info(self.store.path(rel)).type == pafs.FileType.Directory
        return self.store.fs.get_file_info(self.store.path(rel)).type == pafs.FileType.File

    def dataset(self, table: str) -> pads.Dataset:
        """An Arrow dataset over a Parquet table (lazy: DuckDB scans it with filters pushed down)."""
        spec = TABLES[table]
        paths = [self.store.path(r) for r in self.quarantine_files()] if table == QUARANTINE.name else \
            [self.store.path(self._rel(table))]
        return pads.dataset(paths, schema=spec.schema, format="parquet", filesystem=self.store.fs)

    def lance(self, table: str) -> lance.LanceDataset:
        return lance.dataset(self.lance_uri(table), storage_options=self.store.lance_options)

    def image_reader(self) -> Callable[[str], bytes | None]:
        return image_reader(self.lance("images") if self.exists("images") else None)

    def read(self, table: str, columns: list[str] | None = None) -> pa.Table:
        spec = TABLES[table]
        if not self.exists(table):
            return spec.empty() if columns is None else spec.empty().select(columns)
        if spec.storage == "lance":
            return self.lance(table).to_table(columns=columns)
        return self.dataset(table).to_table(columns=columns)

    def lance_uri(self, table: str) -> str:
        return f"{self.store.uri}/{self._rel(table)}"

    def write(self, spec: TableSpec, data: pa.Table | Iterable[pa.RecordBatch]) -> int:
        """Replace a table with ``data`` in place on the store (what a stage run against an s3:// lake
        root does). Lance: a new version, committed atomically by Lance's object-store protocol, the
        old versions' files reclaimed. Parquet: see ``_put_parquet``."""
        if spec.storage == "lance":
            reader = pa.RecordBatchReader.from_batches(spec.schema, as_batches(data, spec.schema))
            ds = lance.write_dataset(reader, self.lance_uri(spec.name), schema=spec.schema,
                                     mode="overwrite" if self.exists(spec.name) else "create",
                                     storage_options=self.store.lance_options)
            ds.cleanup_old_versions(older_than=timedelta(0), delete_unverified=True)
            return ds.count_rows()
        return self._put_parquet(self._rel(spec.name), data, spec.schema)

    def write_quarantine(self, stage: str, data: pa.Table | Iterable[pa.RecordBatch]) -> int:
        return self._put_parquet(f"quarantine/{stage}.parquet", data, QUARANTINE.schema)

    def _put_parquet(self, rel: str, data: pa.Table | Iterable[pa.RecordBatch], schema: pa.Schema) -> int:
        """Written whole to a local temporary file first, then uploaded as one object: S3 shows an
        object only once its upload completes, so readers see the old table or the whole new one, and
        an upload cut short (a killed stage) leaves the old one."""
        with tempfile.TemporaryDirectory(prefix="figlake-put-") as tmp:
            local = Path(tmp) / "table.parquet"
            rows = write_parquet_atomic(local, data, schema)
            self.store.upload(local, rel)
        return rows

    def count(self, table: str) -> int:
        if not self.exists(table):
            return 0
        if TABLES[table].storage == "lance":
            return self.lance(table).count_rows()
        if table == QUARANTINE.name:
            return self.dataset(table).count_rows()
        with self.store.fs.open_input_file(self.store.path(self._rel(table))) as f:
            return pq.ParquetFile(f).metadata.num_rows


AnyLake = Lake | ObjectLake
"""What the reading side takes: a local lake, or a published one read in place."""


def open_lake(root: str | Path) -> AnyLake:
    """A local lake folder, or a published lake at an s3:// URI."""
    return ObjectLake.from_uri(str(root)) if is_uri(root) else Lake(Path(root))

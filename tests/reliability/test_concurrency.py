"""Concurrency on the lake's Lance tables: several processes upserting into one table lose nothing,
and a reader (as the explorer reads) sees a consistent, growing table while they write."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pyarrow as pa

from catalog.schema import TableSpec
from embeddings.index import open_table, upsert

REPO = Path(__file__).resolve().parents[2]
SPEC = TableSpec("concurrent", pa.schema([("item_id", pa.string()), ("content_hash", pa.string()),
                                          ("vector", pa.list_(pa.float32(), 8))]), ("item_id",), "lance",
                 "a test table")

WRITER = """
import sys
sys.path.insert(0, sys.argv[4])
from tests.reliability.test_concurrency import SPEC
from embeddings.index import upsert
root, writer, batches = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for b in range(batches):
    rows = [{"item_id": f"w{writer}-b{b}-{i}", "content_hash": f"{writer}/{b}", "vector": [float(writer)] * 8}
            for i in range(5)]
    upsert(root, SPEC, SPEC.schema, rows, batch_rows=5)
"""

READER = """
import json, sys, time
sys.path.insert(0, sys.argv[2])
from tests.reliability.test_concurrency import SPEC
from embeddings.index import open_table
root, seen, errors = sys.argv[1], [], []
deadline = time.monotonic() + 120
while time.monotonic() < deadline:
    try:
        t = open_table(root, SPEC).to_arrow()
        ids = t.column("item_id").to_pylist()
        assert len(ids) == len(set(ids)), "duplicate keys seen"
        assert t.num_rows % 5 == 0, f"a batch seen half-written ({t.num_rows} rows)"
        seen.append(t.num_rows)
    except Exception as e:  # every failure is reported, none hidden
        errors.append(repr(e))
    if seen and seen[-1] >= int(sys.argv[3]):
        break
print(json.dumps({"seen": seen, "errors": errors}))
"""


def test_concurrent_writers_lose_nothing_and_readers_see_whole_batches(tmp_path: Path, tally: Counter[str]) -> None:
    writers, batches = 4, 8
    upsert(tmp_path, SPEC, SPEC.schema, [])  # the table exists before the writers start, as the stage leaves it
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    total = writers * batches * 5
    reader = subprocess.Popen([sys.executable, "-c", READER, str(tmp_path), str(REPO), str(total)],
                              stdout=subprocess.PIPE, text=True, env=env)
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), str(w), str(batches), str(REPO)],
                              stderr=subprocess.PIPE, text=True, env=env) for w in range(writers)]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    out, _ = reader.communicate(timeout=300)
    report = json.loads(out)

    table = open_table(tmp_path, SPEC).to_arrow()
    ids = table.column("item_id").to_pylist()
    assert len(ids) == len(set(ids)) == total
    assert report["errors"] == []
    assert len(report["seen"]) > 1 and report["seen"] == sorted(report["seen"]) and report["seen"][-1] == total
    tally["concurrent writer processes"] += writers
    tally["rows written concurrently"] += total
    tally["reads during writes"] += len(report["seen"])
    tally["rows lost under concurrency"] += total - len(set(ids))

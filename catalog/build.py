"""The ``catalog`` stage: DuckDB views over the lake and the lake's summary metrics.

    python -m catalog.build [--params params.yaml]

Writes ``<lake>/subfigure_index.parquet`` (the vectors table's filter columns, for SQL),
``<lake>/catalog.duckdb`` and ``metrics/catalog.json`` (rows per
table, quarantined items per stage), which ``dvc metrics show`` prints.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from catalog.duck import build_catalog_file, connect_read_only
from catalog.schema import QUARANTINE, SUBFIGURE_INDEX, TABLES, VECTORS
from catalog.storage import AnyLake, ObjectLake, open_lake
from ingest.config import section
from ingest.stage import stage_params, write_metrics


def lake_summary(lake: AnyLake) -> dict[str, Any]:
    """Rows per table and quarantined items per stage."""
    summary: dict[str, Any] = {"tables": {name: lake.count(name) for name in TABLES}}
    per_stage: dict[str, int] = {}
    if lake.exists(QUARANTINE.name):
        con = connect_read_only(lake)
        per_stage = dict(con.execute("SELECT stage, count(*) FROM quarantine GROUP BY ALL ORDER BY 1").fetchall())
        con.close()
    summary["quarantine"] = {"total": summary["tables"][QUARANTINE.name], "by_stage": per_stage}
    return summary


def write_subfigure_index(lake: AnyLake) -> int:
    """``subfigure_index.parquet``: the vectors table's filter columns, for SQL."""
    columns = SUBFIGURE_INDEX.schema.names
    table = lake.read(VECTORS.name, columns) if lake.exists(VECTORS.name) else SUBFIGURE_INDEX.empty()
    return lake.write(SUBFIGURE_INDEX, table)


def main(argv: list[str] | None = None) -> None:
    params = stage_params(__doc__, argv)
    lake = open_lake(section(params, "lake.root"))
    write_subfigure_index(lake)
    # catalog.duckdb names local files; a lake on object storage is queried with `figlake sql --lake s3://…`.
    where = lake.root if isinstance(lake, ObjectLake) else build_catalog_file(lake)
    summary = lake_summary(lake)
    write_metrics(Path("metrics") / "catalog.json", summary)
    print(f"catalog: {where} — " + ", ".join(f"{k} {v}" for k, v in summary["tables"].items() if v))


if __name__ == "__main__":
    main()

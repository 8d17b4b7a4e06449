"""The DuckDB catalog and read-only SQL, on a real lake."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from conftest import figlake

from catalog.duck import CATALOG_FILE, ReadOnlySqlError, query
from catalog.schema import SQL_TABLES, TABLES
from catalog.tables import Lake

REFUSED = [
    ("INSERT INTO figures SELECT * FROM figures", "INSERT"),
    ("CREATE TABLE t AS SELECT 1", "CREATE"),
    ("DROP VIEW figures", "DROP"),
    ("UPDATE figures SET caption = ''", "UPDATE"),
    ("DELETE FROM figures", "DELETE"),
    ("ATTACH '/tmp/other.duckdb' AS other", "ATTACH"),
    ("COPY figures TO '/tmp/out.csv'", "COPY"),
    ("INSTALL httpfs", "LOAD"),  # DuckDB classifies INSTALL as a LOAD statement
    ("LOAD httpfs", "LOAD"),
    ("SET enable_external_access = true", "SET"),
    ("PRAGMA version", "PRAGMA"),
    ("SELECT * FROM read_csv('/etc/passwd')", "read_csv"),
    ("SELECT * FROM read_parquet('/tmp/x.parquet')", "read_parquet"),
    ("SELECT * FROM read_text('/etc/hostname')", "read_text"),
    ("SELECT * FROM glob('/*')", "glob"),
    ("SELECT * FROM '/etc/passwd'", "not a lake table"),
    ("SELECT getenv('HOME')", "getenv"),
    ("SELECT 1; DROP VIEW figures", "DROP"),
    ("WITH x AS (SELECT * FROM read_json('/tmp/a.json')) SELECT * FROM x", "read_json"),
    ("SELECT * FROM figures WHERE figure_id IN (SELECT * FROM read_csv('/etc/passwd'))", "read_csv"),
]


@pytest.mark.parametrize(("sql", "why"), REFUSED)
def test_writes_and_file_access_are_refused(built_lake: Path, sql: str, why: str) -> None:
    with pytest.raises(ReadOnlySqlError, match=why):
        query(Lake(built_lake), sql)


def test_engine_lockdown_backs_up_the_parser_check(built_lake: Path) -> None:
    """Even a query that slipped past the statement check cannot read outside the lake."""
    from catalog.duck import connect_read_only

    con = connect_read_only(Lake(built_lake))
    with pytest.raises(duckdb.PermissionException):
        con.execute("SELECT * FROM read_csv('/etc/passwd')").fetchall()
    with pytest.raises(duckdb.Error):
        con.execute("SET enable_external_access = true")
    assert con.execute("SELECT count(*) FROM figures").fetchall() == [(14,)]


def test_reads_work(built_lake: Path) -> None:
    lake = Lake(built_lake)
    assert query(lake, "SELECT count(*) AS n FROM figures").to_pylist() == [{"n": 14}]
    rows = query(lake, "SELECT a.year, count(*) AS n FROM figures JOIN articles a USING (article_id) "
                       "GROUP BY ALL ORDER BY 1").to_pylist()
    assert rows == [{"year": 2014, "n": 9}, {"year": 2018, "n": 5}]
    assert query(lake, "SELECT sum(range) AS s FROM range(4)").to_pylist() == [{"s": 6}]
    assert query(lake, "DESCRIBE figures").num_rows == len(TABLES["figures"].schema)


def test_every_sql_table_has_a_typed_view_even_when_empty(built_lake: Path) -> None:
    lake = Lake(built_lake)
    for name in SQL_TABLES:
        cols = query(lake, f"DESCRIBE {name}").column("column_name").to_pylist()
        assert cols == TABLES[name].schema.names
    assert query(lake, "SELECT count(*) AS n FROM subfigures WHERE bbox.x0 > 0").to_pylist() == [{"n": 0}]


def test_catalog_file_is_relocatable(built_lake: Path, tmp_path: Path, monkeypatch) -> None:
    """catalog.duckdb names files relative to the lake root, so the lake folder can move."""
    import shutil

    moved = tmp_path / "moved-lake"
    shutil.copytree(built_lake, moved)
    monkeypatch.chdir(moved)
    con = duckdb.connect(CATALOG_FILE, read_only=True)
    assert con.execute("SELECT count(*) FROM figures").fetchall() == [(14,)]
    views = {r[0] for r in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()}
    assert views == set(SQL_TABLES)


def test_cli_sql_formats_and_errors(built_lake: Path) -> None:
    r = figlake("sql", "SELECT count(*) AS n FROM figures", "--format", "json", "--lake", str(built_lake))
    assert r.returncode == 0 and json.loads(r.stdout) == [{"n": 14}]
    r = figlake("sql", "SELECT figure_id FROM figures ORDER BY 1 LIMIT 2", "--format", "csv",
                "--lake", str(built_lake))
    assert r.stdout.splitlines() == ['"figure_id"', '"10.1038/ncomms5946/fig1"', '"10.1038/ncomms5946/fig2"']
    r = figlake("sql", "SELECT count(*) AS n FROM figures", "--lake", str(built_lake))
    assert "14" in r.stdout and "(1 row)" in r.stdout
    r = figlake("sql", "DELETE FROM figures", "--lake", str(built_lake))
    assert r.returncode == 2 and "read-only" in r.stderr
    r = figlake("sql", "SELECT nope FROM figures", "--lake", str(built_lake))
    assert r.returncode == 1 and "nope" in r.stderr
    r = figlake("sql", "SELECT 1", "--lake", str(built_lake / "missing"))
    assert r.returncode == 2 and "no lake here" in r.stderr

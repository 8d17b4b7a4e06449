"""The DuckDB catalog: a view per lake table, and read-only SQL over it.

Views are defined once (``view_definitions``) and materialised two ways:
``catalog.duckdb`` in the lake root for outside tools (paths relative to the
lake root, so the folder can move: ``cd data/lake && duckdb catalog.duckdb``),
and in memory for ``figlake sql`` and the explorer with absolute paths.

Read-only SQL is enforced twice. Before running, the statement is parsed by
DuckDB itself: only SELECT statements pass, and their syntax tree may not call
table functions that read files (read_csv, read_parquet, glob, ...) or name a
file as a table. Then the connection runs with external access disabled
except for the lake folder, and its configuration locked, so even a query the
first check missed cannot read or write anything else.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from catalog.schema import QUARANTINE, SQL_TABLES, SUBFIGURE_INDEX, TABLES
from catalog.storage import ObjectLake
from catalog.tables import Lake

CATALOG_FILE = "catalog.duckdb"
INDEX_VIEW = SUBFIGURE_INDEX.name

# Table functions that only generate data or describe the catalog.
SAFE_TABLE_FUNCTIONS = frozenset(
    {"range", "generate_series", "unnest", "duckdb_tables", "duckdb_views", "duckdb_columns",
     "duckdb_types", "duckdb_functions", "duckdb_keywords", "pragma_table_info", "repeat"}
)
UNSAFE_FUNCTIONS = frozenset({"getenv", "read_text", "read_blob", "sniff_csv"})


class ReadOnlySqlError(Exception):
    """A statement figlake sql refuses to run (it would write, attach, load or read files)."""


def _sql_string(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _empty_select(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """A typed, empty relation with the table's columns (for tables no stage has written yet)."""
    rel = con.from_arrow(TABLES[table].empty())
    cols = ", ".join(f'CAST(NULL AS {t}) AS "{c}"' for c, t in zip(rel.columns, rel.types, strict=True))
    return f"SELECT {cols} WHERE false"


def view_definitions(con: duckdb.DuckDBPyConnection, lake: Lake, relative: bool) -> dict[str, str]:
    """``{table: SELECT ...}`` for every SQL table of the lake."""
    def where(p: Path) -> str:
        return str(p.relative_to(lake.root)) if relative else str(p.resolve())

    views = {}
    for name in SQL_TABLES:
        if not lake.exists(name):
            views[name] = _empty_select(con, name)
        elif name == QUARANTINE.name:
            glob = where(lake.path(QUARANTINE) / "*.parquet") if relative else str(
                lake.path(QUARANTINE).resolve() / "*.parquet")
            views[name] = f"SELECT * FROM read_parquet({_sql_string(glob)}, union_by_name = true)"
        else:
            views[name] = f"SELECT * FROM read_parquet({_sql_string(where(lake.path(name)))})"
    return views


def build_catalog_file(lake: Lake) -> Path:
    """Write ``catalog.duckdb`` (views only) into the lake root, replacing any old one atomically."""
    target = lake.root / CATALOG_FILE
    tmp = lake.root / f".{CATALOG_FILE}.tmp"
    tmp.unlink(missing_ok=True)
    con = duckdb.connect(str(tmp))
    try:
        # Views name files relative to the lake root; DuckDB checks they exist.
        con.execute(f"SET file_search_path = {_sql_string(str(lake.root.resolve()))}")
        for name, select in view_definitions(con, lake, relative=True).items():
            con.execute(f'CREATE VIEW "{name}" AS {select}')
    finally:
        con.close()
    tmp.replace(target)
    return target


def _register_object_lake(con: duckdb.DuckDBPyConnection, lake: ObjectLake) -> None:
    """Views over a published lake: its Parquet tables as Arrow datasets on the object store."""
    for name in SQL_TABLES:
        if lake.exists(name):
            con.register(f"_arrow_{name}", lake.dataset(name))
            con.execute(f'CREATE VIEW "{name}" AS SELECT * FROM "_arrow_{name}"')
        else:
            con.execute(f'CREATE VIEW "{name}" AS {_empty_select(con, name)}')


def connect_read_only(lake: Lake | ObjectLake) -> duckdb.DuckDBPyConnection:
    """An in-memory connection with a view per lake table, locked to reading the lake."""
    con = duckdb.connect(":memory:")
    if isinstance(lake, ObjectLake):
        _register_object_lake(con, lake)
        root = None
    else:
        if not lake.root.is_dir():
            raise FileNotFoundError(f"{lake.root}: no lake here (build it with `dvc repro`)")
        for name, select in view_definitions(con, lake, relative=False).items():
            con.execute(f'CREATE VIEW "{name}" AS {select}')
        root = str(lake.root.resolve()) + "/"
    con.execute("SET autoinstall_known_extensions = false")
    con.execute("SET autoload_known_extensions = false")
    # A published lake is read through registered Arrow datasets: DuckDB itself may open no file.
    con.execute(f"SET allowed_directories = [{_sql_string(root)}]" if root else "SET allowed_directories = []")
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    return con


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for v in node.values():
            yield from _walk(v)
    elif isinstance(node, list):
        for v in node:
            yield from _walk(v)


def check_read_only(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    """Raise ``ReadOnlySqlError`` unless every statement in ``sql`` is a plain, file-free SELECT."""
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.ParserException as e:
        raise ReadOnlySqlError(f"SQL syntax error: {e}") from e
    if not statements:
        raise ReadOnlySqlError("no SQL statement given")
    for st in statements:
        kind = st.type.name
        if kind != "SELECT":
            raise ReadOnlySqlError(
                f"{kind} statements are refused: figlake sql is read-only and runs SELECT queries only"
            )
        tree = json.loads(con.execute("SELECT json_serialize_sql(?)", [st.query]).fetchall()[0][0])
        if tree.get("error"):
            raise ReadOnlySqlError(f"cannot analyse the query: {tree.get('error_message')}")
        for node in _walk(tree):
            if node.get("type") == "TABLE_FUNCTION":
                fn = (node.get("function") or {}).get("function_name", "").lower()
                if fn not in SAFE_TABLE_FUNCTIONS:
                    raise ReadOnlySqlError(
                        f"table function {fn}() is refused: figlake sql reads only the lake's tables "
                        f"({', '.join(SQL_TABLES)}), not files"
                    )
            elif node.get("class") == "FUNCTION" and node.get("function_name", "").lower() in UNSAFE_FUNCTIONS:
                raise ReadOnlySqlError(f"function {node['function_name']}() is refused in figlake sql")
            elif node.get("type") == "BASE_TABLE":
                name = node.get("table_name", "")
                if any(ch in name for ch in "/\\.:") or node.get("catalog_name"):
                    raise ReadOnlySqlError(
                        f"'{name}' is not a lake table: figlake sql reads only {', '.join(SQL_TABLES)}"
                    )


def query(lake: Lake | ObjectLake, sql: str) -> pa.Table:
    """Run read-only SQL over the lake and return the result as Arrow."""
    con = connect_read_only(lake)
    try:
        check_read_only(con, sql)
        return con.sql(sql).to_arrow_table()
    finally:
        con.close()

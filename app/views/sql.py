"""SQL console: read-only DuckDB over the lake's tables; results as a table, CSV/Parquet download.

URL: ?sql=SELECT…
"""

from __future__ import annotations

import io

import duckdb
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import streamlit as st

from app import ui
from catalog.duck import ReadOnlySqlError, check_read_only
from catalog.examples import EXAMPLE_QUERIES
from catalog.schema import SQL_TABLES

MAX_ROWS_SHOWN = 10_000

ui.require_lake()
st.title("SQL console")
st.caption("Read-only DuckDB over the lake: " + ", ".join(f"`{t}`" for t in SQL_TABLES)
           + ". Writes, ATTACH, COPY, extensions and file-reading functions are refused.")

examples = {title: sql for title, sql in EXAMPLE_QUERIES}
example = st.selectbox("Example queries", list(examples), index=None, placeholder="choose an example…",
                       key="example")
default = examples[example] if example else ui.query_param("sql", EXAMPLE_QUERIES[0][1])
sql = st.text_area("SQL", value=default, height=140, key=f"sql-{example or ''}")
run = st.button("Run", type="primary", key="run") or bool(ui.query_param("sql"))

if run and sql.strip():
    ui.set_query_params(sql=sql)
    con = ui.catalog()
    try:
        check_read_only(con, sql)
        with st.spinner("Running…"):
            table = con.sql(sql).to_arrow_table()
    except ReadOnlySqlError as e:
        st.error(f"Refused: {e}")
        st.stop()
    except duckdb.Error as e:
        st.error(f"{type(e).__name__}: {e}")
        st.stop()
    st.caption(f"{table.num_rows} rows" + (f" (showing the first {MAX_ROWS_SHOWN})"
                                           if table.num_rows > MAX_ROWS_SHOWN else ""))
    shown = table.slice(0, MAX_ROWS_SHOWN)
    # Binary columns (images, vectors' bytes) are shown by size, not dumped into the page.
    st.dataframe(shown.drop_columns([f.name for f in shown.schema if str(f.type).endswith("binary")]),
                 width="stretch")
    csv, parquet = io.BytesIO(), io.BytesIO()
    pacsv.write_csv(table.drop_columns([f.name for f in table.schema
                                        if str(f.type).startswith(("list", "struct", "large_list"))
                                        or str(f.type).endswith("binary")]), csv)
    pq.write_table(table, parquet)
    a, b = st.columns(2)
    a.download_button("Download CSV", csv.getvalue(), "figlake_query.csv", "text/csv", key="csv")
    b.download_button("Download Parquet", parquet.getvalue(), "figlake_query.parquet",
                      "application/vnd.apache.parquet", key="parquet")

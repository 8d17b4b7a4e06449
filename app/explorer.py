"""The figlake explorer (Streamlit): ``figlake app``, or ``streamlit run app/explorer.py``.

Pages live in app/views/ (not ``pages/``: st.navigation chooses and orders them here). Every view
keeps its state in the URL (st.query_params), so a link reproduces it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `streamlit run app/explorer.py` from a checkout without an install
    sys.path.insert(0, str(ROOT))

from app.ui import VIEWS  # noqa: E402

st.set_page_config(page_title="figlake explorer", page_icon=":material/biotech:", layout="wide")

PAGES = [
    st.Page(VIEWS / "search.py", title="Search", icon=":material/search:", default=True),  # at /
    st.Page(VIEWS / "browse.py", title="Browse", icon=":material/filter_list:", url_path="browse"),
    st.Page(VIEWS / "figure.py", title="Figure", icon=":material/image:", url_path="figure"),
    st.Page(VIEWS / "sql.py", title="SQL console", icon=":material/terminal:", url_path="sql"),
    st.Page(VIEWS / "export.py", title="Export", icon=":material/download:", url_path="export"),
]

st.navigation(PAGES).run()

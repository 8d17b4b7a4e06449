"""Streamlit pieces the explorer's pages share: cached resources (the lake, its read-only catalog,
the search models), upload checks, and the result grid.

Nothing heavy happens at import: models load on first use, once per server (``st.cache_resource``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import streamlit as st

from catalog.storage import AnyLake, ObjectLake, open_lake
from catalog.tables import Lake

PAGE_SIZE = 12
GRID_COLUMNS = 4
MAX_UPLOAD_PIXELS = 40_000_000  # a bigger upload is refused with a message, not decoded
VIEWS = Path(__file__).with_name("views")


@st.cache_resource(show_spinner=False)
def lake() -> AnyLake:
    """The lake the explorer shows: a local folder, or a published lake read in place on object storage."""
    from app.cli import default_lake

    root = default_lake()
    return open_lake(root.resolve() if isinstance(root, Path) else root)


@st.cache_resource(show_spinner="Opening the catalog…")
def _catalog(root: str) -> duckdb.DuckDBPyConnection:
    from catalog.duck import connect_read_only

    return connect_read_only(Lake(Path(root)))


def catalog() -> duckdb.DuckDBPyConnection:
    """The read-only catalog for one script run. A local lake: a cursor on the shared connection (cursors
    are cheap and private). A published lake: a connection of its own — its tables are Arrow datasets
    registered with a connection, which DuckDB keeps private to it, so a cursor would not see them."""
    from catalog.duck import connect_read_only

    here = lake()
    return connect_read_only(here) if isinstance(here, ObjectLake) else _catalog(str(here.root)).cursor()


@st.cache_resource(show_spinner="Loading the search models…")
def searcher() -> Any:
    from app.cli import searcher as make_searcher

    return make_searcher(lake().root)


@st.cache_resource(show_spinner="Loading the STEM encoder and library…")
def stem_matcher() -> Any:
    from app.cli import stem_matcher as make_matcher

    return make_matcher(lake=lake().root)


def require_lake() -> bool:
    """Say clearly when there is no lake yet (and stop the page)."""
    if not lake().exists("subfigures"):
        st.error(f"No lake at `{lake().root}` yet. Build it with `make demo` (or `dvc repro catalog`), "
                 "or point `FIGLAKE_LAKE` at one.")
        st.stop()
    return True


def uploaded_image(upload: Any) -> np.ndarray | None:
    """An uploaded file decoded to RGB, or None after showing why it cannot be used."""
    from ingest.errors import InputError
    from ingest.images import decode_rgb

    try:
        return decode_rgb(upload.getvalue(), upload.name, max_pixels=MAX_UPLOAD_PIXELS)
    except InputError as e:
        st.error(f"Cannot use this upload as an image: {e}")
        return None


def uploaded_spectrum(upload: Any) -> tuple[np.ndarray, np.ndarray] | None:
    from embeddings.spectra import SpectrumError, read_spectrum_csv

    try:
        return read_spectrum_csv(upload.getvalue(), source=upload.name)
    except SpectrumError as e:
        st.error(f"Cannot read this spectrum: {e}")
        return None


def query_param(name: str, default: str = "") -> str:
    return st.query_params.get(name, default)


def set_query_params(**params: Any) -> None:
    """Make the URL reproduce the current view (empty values are dropped)."""
    st.query_params.from_dict({k: v for k, v in params.items() if v not in (None, "", [], False)})


def page_of(items: list[Any], key: str) -> tuple[list[Any], int]:
    """The items on the current page (``?page=`` in the URL) and the page number, with pager buttons."""
    pages = max(1, -(-len(items) // PAGE_SIZE))
    page = current_page(pages)
    pager(page, pages, key)
    return items[(page - 1) * PAGE_SIZE: page * PAGE_SIZE], page


def current_page(pages: int) -> int:
    """``?page=`` from the URL, within 1…pages."""
    raw = query_param("page", "1")
    return min(max(1, int(raw) if raw.isdigit() else 1), pages)


def pager(page: int, pages: int, key: str) -> None:
    if pages <= 1:
        return
    left, mid, right = st.columns([1, 2, 1])
    if left.button("← previous", key=f"{key}-prev", disabled=page <= 1):
        st.query_params["page"] = str(page - 1)
        st.rerun()
    mid.caption(f"page {page} of {pages}")
    if right.button("next →", key=f"{key}-next", disabled=page >= pages):
        st.query_params["page"] = str(page + 1)
        st.rerun()


def result_grid(hits: list[dict[str, Any]], key: str, more_like_this: bool = True) -> None:
    """Results as a grid of thumbnails with class, label, scale, caption snippet and source."""
    from app.lakeview import thumbnails

    thumbs = thumbnails(lake(), [h["subfigure_id"] for h in hits])
    for start in range(0, len(hits), GRID_COLUMNS):
        for col, h in zip(st.columns(GRID_COLUMNS), hits[start:start + GRID_COLUMNS], strict=False):
            with col.container(border=True):
                sid = h["subfigure_id"]
                if sid in thumbs:
                    st.image(thumbs[sid], width="stretch")
                scale = f" · {h['nm_per_px']:.3g} nm/px" if h.get("nm_per_px") else ""
                series = f" · series {h['series_index']}" if h.get("spectrum_id") else ""
                st.markdown(f"**{h.get('class') or 'unclassified'}** · label {h.get('label') or '–'}{scale}{series}")
                text = h.get("text") or ""
                if text:
                    st.caption(text[:140] + ("…" if len(text) > 140 else ""))
                source = " · ".join(str(x) for x in (h.get("journal"), h.get("year")) if x)
                if "score" in h:
                    source += f" · score {h['score']:.3f}"
                st.caption(source)
                st.page_link(str(VIEWS / "figure.py"), label="Figure page", icon=":material/image:",
                             query_params={"id": h["figure_id"], "sub": sid})
                if more_like_this and st.button("More like this", key=f"{key}-like-{sid}-{h.get('spectrum_id', '')}"):
                    if h.get("spectrum_id"):
                        st.switch_page(str(VIEWS / "search.py"), query_params={"mode": "spectrum",
                                                                               "like": h["spectrum_id"]})
                    st.switch_page(str(VIEWS / "search.py"), query_params={"mode": "image", "like": sid})

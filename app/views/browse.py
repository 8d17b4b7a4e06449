"""Browse with facets: class, technique, keyword, journal, year, licence, scale range, has spectra.

URL: ?class=microscopy&technique=TEM&technique=SEM&nm_max=1&spectra=1&page=N
"""

from __future__ import annotations

import streamlit as st

from app import ui
from app.lakeview import LIST_FACETS, VALUE_FACETS, Filters, browse, count, facet_counts, nm_range

ui.require_lake()
st.title("Browse the lake")

con = ui.catalog()
url = Filters.from_query_params({k: st.query_params.get_all(k) for k in st.query_params})
counts = facet_counts(con, None)

with st.sidebar:
    st.header("Facets")
    st.caption("Values in one facet are alternatives; facets combine. Counts are over the whole lake.")
    values = {}
    for facet in (*VALUE_FACETS, *LIST_FACETS):
        options = [v for v, _ in counts[facet]]
        n = dict(counts[facet])
        chosen = [v for v in url.values.get(facet, []) if v in n]
        values[facet] = st.multiselect(facet, options, default=chosen, key=f"facet-{facet}",
                                       format_func=lambda v, n=n: f"{v} ({n[v]})")  # type: ignore[misc]
    span = nm_range(con)
    nm_min = nm_max = None
    if span:
        st.markdown("**scale (nm/px)**")
        lo, hi = st.columns(2)
        nm_min = lo.number_input("from", min_value=0.0, value=url.nm_min, format="%.4g", key="nm-min",
                                 placeholder=f"{span[0]:.3g}")
        nm_max = hi.number_input("to", min_value=0.0, value=url.nm_max, format="%.4g", key="nm-max",
                                 placeholder=f"{span[1]:.3g}")
    has_spectra = st.checkbox(f"has digitized spectra ({counts['has spectra'][0][1]})", value=url.has_spectra,
                              key="facet-spectra")

filters = Filters({k: v for k, v in values.items() if v}, nm_min, nm_max, has_spectra)
if filters.query_params() != url.query_params():  # the widgets changed: the URL follows, from page 1
    ui.set_query_params(**filters.query_params())
where = filters.where()
total = count(con, where)
st.caption(f"{total} subfigures" + (f" where `{where}`" if where else ""))
if total == 0:
    st.info("Nothing matches these facets. Remove one to see more.")
    st.stop()
pages = max(1, -(-total // ui.PAGE_SIZE))
page = ui.current_page(pages)
ui.pager(page, pages, "browse")
shown = browse(con, where, ui.PAGE_SIZE, (page - 1) * ui.PAGE_SIZE)
ui.result_grid(shown, "browse")
st.page_link(str(ui.VIEWS / "export.py"), label="Export this selection as a dataset", icon=":material/download:",
             query_params={"where": where or ""})

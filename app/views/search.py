"""Search: text (hybrid semantic + keyword), image ("more like this"), spectrum, STEM structure.

URL: ?mode=text&q=…&where=…&page=N · ?mode=image&like=SUBFIGURE_ID · ?mode=spectrum&like=SPECTRUM_ID
"""

from __future__ import annotations

import streamlit as st

from app import ui
from app.lakeview import library_images, series_of, subfigure_vector
from embeddings.search import SearchError
from ingest.errors import InputError

MODES = {"text": "Text", "image": "Image", "spectrum": "Spectrum", "stem": "STEM structure"}
RESULTS = 60  # results fetched per query, shown PAGE_SIZE at a time

ui.require_lake()
st.title("Search the lake")

mode = ui.query_param("mode", "text")
mode = mode if mode in MODES else "text"
chosen = st.segmented_control("Search by", list(MODES), format_func=lambda m: MODES[m], default=mode, key="mode")
if chosen and chosen != mode:
    ui.set_query_params(mode=chosen)
    st.rerun()
where = st.text_input("Filter (SQL over subfigure_index, optional)", value=ui.query_param("where"), key="where",
                      placeholder="class = 'microscopy' AND year >= 2018",
                      help="Columns: class, keywords, techniques, materials, journal, year, license_spdx, "
                           "nm_per_px, has_spectra, role, label. Lists: array_has(techniques, 'TEM').")
hits = None
like = ui.query_param("like")
# A changed query or filter starts again at page 1.
page = ui.query_param("page") if where == ui.query_param("where") else None

try:
    if mode == "text":
        q = st.text_input("Describe what you are looking for", value=ui.query_param("q"), key="q",
                          placeholder="HAADF-STEM image of Pt nanoparticles")
        if q.strip():
            ui.set_query_params(mode="text", q=q, where=where, page=page if q == ui.query_param("q") else None)
            with st.spinner("Searching…"):
                hits = ui.searcher().text(q, where or None, RESULTS)
    elif mode == "image":
        upload = st.file_uploader("An image to find look-alikes of", type=["png", "jpg", "jpeg", "tif", "tiff",
                                                                           "bmp", "gif", "webp"], key="image")
        if upload is not None:
            rgb = ui.uploaded_image(upload)
            if rgb is not None:
                st.image(rgb, caption=upload.name, width=240)
                with st.spinner("Embedding the image and searching…"):
                    hits = ui.searcher().image(rgb, where or None, RESULTS)
        elif like:
            vec = subfigure_vector(ui.lake(), like)
            if vec is None:
                st.warning(f"No subfigure {like!r} in the lake.")
            else:
                st.caption(f"More like subfigure `{like}`")
                ui.set_query_params(mode="image", like=like, where=where, page=page)
                hits = ui.searcher().image_vector(vec, where or None, RESULTS, exclude=like)
    elif mode == "spectrum":
        upload = st.file_uploader("A spectrum: CSV whose first two numeric columns are x, y", type=["csv", "txt"],
                                  key="spectrum")
        xy = ui.uploaded_spectrum(upload) if upload is not None else None
        if xy is None and upload is None and like:
            xy = series_of(ui.catalog(), like)
            if xy is None:
                st.warning(f"No digitized series {like!r} in the lake.")
            else:
                st.caption(f"Series shaped like `{like}`")
                ui.set_query_params(mode="spectrum", like=like, where=where, page=page)
        if xy is not None:
            st.line_chart({"x": xy[0], "y": xy[1]}, x="x", y="y", height=180)
            with st.spinner("Searching the digitized spectra…"):
                hits = ui.searcher().spectrum(xy[0], xy[1], where or None, RESULTS, source=upload.name if upload
                                              else like)
                if like and not upload:
                    hits = [h for h in hits if h["spectrum_id"] != like]
    else:
        left, right = st.columns([3, 1])
        upload = left.file_uploader("An atomic-resolution HAADF-STEM image", type=["png", "jpg", "jpeg", "tif",
                                                                                     "tiff"], key="stem")
        nm = right.number_input("nm per pixel", min_value=0.001, max_value=10.0, value=0.02, step=0.005,
                                format="%.4f", key="nm_per_px")
        if upload is not None:
            rgb = ui.uploaded_image(upload)
            if rgb is not None:
                st.image(rgb, caption=upload.name, width=240)
                with st.spinner("Embedding and matching against the simulated library…"):
                    matches = ui.stem_matcher().match(rgb, nm, 5, upload.name)
                images = library_images(ui.lake(), [m.entry_id for m in matches])
                for col, m in zip(st.columns(len(matches)), matches, strict=True):
                    with col.container(border=True):
                        if m.entry_id in images:
                            st.image(images[m.entry_id], width="stretch")
                        st.markdown(f"**{m.formula}** · {m.space_group}")
                        st.caption(f"{m.prototype} · zone {m.zone_axis} · score {m.score:.3f}")
except (SearchError, InputError, FileNotFoundError) as e:  # FileNotFoundError: a model not built yet
    st.error(str(e))
    hits = None
except Exception as e:  # a filter LanceDB cannot parse comes back as its own error types
    st.error(f"Search failed: {type(e).__name__}: {e}")
    hits = None

if hits is not None:
    if not hits:
        st.info("No results. Loosen the filter or try other words.")
    else:
        shown, _ = ui.page_of(hits, "search")
        st.caption(f"{len(hits)} results")
        ui.result_grid(shown, "search")

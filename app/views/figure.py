"""One figure: the image with its Master–Dependent–Inset boxes, labels and scale bars drawn on; the
caption with each label's part highlighted; every subfigure's class, confidence, scale and labels;
digitized spectra over their plots (CSV download); STEM structure matches; the article link.

URL: ?id=FIGURE_ID[&sub=SUBFIGURE_ID]
"""

from __future__ import annotations

from typing import Any

import numpy as np
import streamlit as st
from PIL import Image, ImageDraw

from app import ui
from app.lakeview import LAYERS, caption_html, figure_view, library_images, overlay, series_csv
from catalog.export import crop
from ingest.errors import InputError

ui.require_lake()


@st.cache_resource(show_spinner=False)
def _reader(root: str) -> Any:
    """figure_id → RGB, for the lake at ``root`` (one per lake: it indexes the figures once)."""
    from catalog.storage import open_lake
    from ingest.images import figure_image_reader

    return figure_image_reader(open_lake(root))


@st.cache_data(show_spinner="Tracing the curves…", max_entries=64)
def traced(figure_id: str, bbox: tuple[int, int, int, int]) -> np.ndarray:
    """The plot with the curves the digitizer follows drawn on it (pixels of each series)."""
    from ingest.spectra.digitize import digitize

    plot = crop(_reader(str(ui.lake().root))(figure_id), dict(zip(("x0", "y0", "x1", "y1"), bbox, strict=True)))
    im = Image.fromarray(plot).convert("RGB")
    draw = ImageDraw.Draw(im)
    for s in digitize(plot).series:
        points = list(zip(s.x_px, s.y_px, strict=True))
        if len(points) > 1:
            draw.line(points, fill=(255, 0, 255), width=2)
    return np.asarray(im)


con = ui.catalog()
figure_id = ui.query_param("id")
if not figure_id:
    st.title("Figure")
    ids = [r[0] for r in con.execute("SELECT figure_id FROM figures ORDER BY figure_id").fetchall()]
    picked = st.selectbox("Choose a figure", ids, index=None, placeholder="figure id…")
    if picked:
        ui.set_query_params(id=picked)
        st.rerun()
    st.info("Open a figure from a search or browse result, or choose one here.")
    st.stop()

view = figure_view(con, figure_id)
if view is None:
    st.error(f"No figure {figure_id!r} in the lake.")
    st.stop()
fig, art = view.figure, view.article
st.title(f"{fig.get('figure_label') or 'Figure'} · {art.get('title') or fig['article_id']}")
meta = [x for x in (art.get("journal"), str(art.get("year") or ""), fig.get("license_spdx")) if x]
st.caption(" · ".join(meta))
if view.doi_url:
    st.link_button("Open the article", view.doi_url, icon=":material/open_in_new:")

try:
    rgb = _reader(str(ui.lake().root))(figure_id)
except InputError as e:
    st.error(f"The figure image cannot be shown: {e}")
    rgb = None

left, right = st.columns([3, 2])
with left:
    layers = st.pills("Layers", LAYERS, selection_mode="multi", default=list(LAYERS), key="layers")
    if rgb is not None:
        st.image(overlay(rgb, view, tuple(layers or ())), width="stretch",
                 caption="masters blue · dependents green · insets orange · labels red · scale bars purple")
with right:
    st.subheader("Caption")
    st.html(caption_html(fig.get("caption") or "", view.segments))
    st.caption("Each highlighted part is the text the caption gives that label.")

st.subheader("Subfigures")
selected = ui.query_param("sub")
table = []
for s in view.subfigures:
    lab = view.labels.get(s["subfigure_id"], {})
    table.append({"subfigure": s["subfigure_id"].removeprefix(figure_id + "/"), "label": s["label"],
                  "role": s["role"], "class": s["class"], "confidence": s["confidence"], "nm/px": s["nm_per_px"],
                  "caption labels": ", ".join(lab.get("caption_labels") or []),
                  "abstract labels": ", ".join(lab.get("abstract_labels") or []), "topic": lab.get("topic"),
                  "selected": s["subfigure_id"] == selected})
st.dataframe(table, hide_index=True, width="stretch")

if view.spectra:
    st.subheader("Digitized spectra")
    by_sub: dict[str, list[dict[str, Any]]] = {}
    for row in view.spectra:
        by_sub.setdefault(row["subfigure_id"], []).append(row)
    subs = {s["subfigure_id"]: s for s in view.subfigures}
    for sid, series in by_sub.items():
        sub = subs[sid]
        first = series[0]
        x_axis = ("uncalibrated" if first["x_scale"] == "none"
                  else " ".join(x for x in (first["x_label"], first["x_unit"] and f"[{first['x_unit']}]") if x)
                  or first["x_scale"])
        st.markdown(f"**{sub['label'] or sid}** — {len(series)} series (x: {x_axis})")
        a, b = st.columns(2)
        if rgb is not None and sub["bbox"]:
            box = tuple(sub["bbox"][k] for k in ("x0", "y0", "x1", "y1"))
            a.image(traced(figure_id, box), caption="the plot, with the traced curves in magenta", width="stretch")
        chart = {f"series {r['series_index']}": dict(zip(r["x"], r["y"], strict=True)) for r in series}
        b.line_chart(chart, height=260)
        b.download_button("Download CSV", series_csv(series), file_name=f"{sid.replace('/', '_')}.csv",
                          mime="text/csv", key=f"csv-{sid}")
        for r in series:
            b.page_link(str(ui.VIEWS / "search.py"), label=f"Spectra shaped like series {r['series_index']}",
                        icon=":material/timeline:", query_params={"mode": "spectrum", "like": r["spectrum_id"]})

if view.stem_matches:
    st.subheader("STEM structure matches")
    images = library_images(ui.lake(), [m["entry_id"] for m in view.stem_matches])
    by_sub = {}
    for m in view.stem_matches:
        by_sub.setdefault(m["subfigure_id"], []).append(m)
    for sid, matches in by_sub.items():
        st.markdown(f"**{sid.removeprefix(figure_id + '/')}**")
        for col, m in zip(st.columns(len(matches)), matches, strict=True):
            if m["entry_id"] in images:
                col.image(images[m["entry_id"]], width="stretch")
            col.caption(f"{m['rank']}. {m['formula']} · {m['prototype']} · {m['zone_axis']} · {m['score']:.3f}")

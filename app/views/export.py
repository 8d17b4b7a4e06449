"""Export the current selection as a dataset: Parquet + crops, COCO JSON, or a Hugging Face folder.

URL: ?where=…&format=coco   (the browse page links here with its selection)
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path

import streamlit as st

from app import ui
from catalog.export import FORMATS, ExportError, export, select

LABELS = {"parquet": "Parquet + image crops", "coco": "COCO JSON (boxes) + figures",
          "hf": "Hugging Face datasets folder + dataset card"}

ui.require_lake()
st.title("Export a dataset")
where = st.text_input("Selection (SQL over subfigure_index; empty: everything)", value=ui.query_param("where"),
                      key="where", placeholder="class = 'microscopy' AND nm_per_px IS NOT NULL")
fmt = ui.query_param("format", "parquet")
fmt = st.radio("Format", FORMATS, index=FORMATS.index(fmt) if fmt in FORMATS else 0, format_func=LABELS.get,
               horizontal=True, key="format")
ui.set_query_params(where=where, format=fmt)
try:
    rows = select(ui.lake(), where or None)
except ExportError as e:
    st.error(str(e))
    st.stop()
st.caption(f"{len(rows)} subfigures from {len({r['figure_id'] for r in rows})} figures; licences: "
           + ", ".join(sorted({r['license_spdx'] or 'unknown' for r in rows})))
if not rows:
    st.info("The selection is empty.")
    st.stop()
if st.button("Build the export", type="primary", key="build"):
    bar = st.progress(0.0, text="Cropping subfigures…")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "figlake_export"

        def progress(done: int, total: int) -> None:
            bar.progress(done / max(total, 1), text=f"{done}/{total} subfigures")

        report = export(ui.lake(), where or None, fmt, out, progress)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for path in sorted(out.rglob("*")):
                if path.is_file():
                    z.write(path, path.relative_to(out.parent))
    bar.empty()
    st.success(f"{report.subfigures} subfigures of {report.figures} figures"
               + (f"; {len(report.skipped)} skipped (see export.json)" if report.skipped else ""))
    st.download_button("Download the export (.zip)", buf.getvalue(), f"figlake_{fmt}.zip", "application/zip",
                       key="download")
st.caption("The same from a shell: `figlake export --where \"…\" --format " + fmt + " --out DIR`")

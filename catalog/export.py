"""Export a selection of subfigures as a dataset someone else can load.

    figlake export --where "class = 'microscopy' AND nm_per_px IS NOT NULL" --format hf --out DIR

The selection is a SQL condition over ``subfigure_index`` (the columns search filters on), so a
result set seen in the explorer or found by ``figlake search --where`` exports as it was filtered.
Three shapes:

- ``parquet``: ``subfigures.parquet`` (one row per subfigure: ids, class, bbox, scale, caption text,
  labels, article DOI/title, licence) and ``images/<n>.png``, the crop of each subfigure;
- ``coco``: ``annotations.json`` in COCO detection format (an image per figure, an annotation per
  subfigure box, a category per class, the figure's licence) and ``figures/<n>.png``;
- ``hf``: a Hugging Face ``datasets`` folder (``data/train-00000-of-00001.parquet`` whose ``image``
  column is the Image feature) with a dataset card (``README.md``) listing the licences and sources.

Every row keeps its licence; the card says which licences the export mixes. A subfigure whose
figure image cannot be read is listed in ``skipped`` with the reason, never dropped silently.
"""

from __future__ import annotations

import io
import json
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image

from catalog.duck import INDEX_VIEW, ReadOnlySqlError, check_read_only, connect_read_only
from catalog.storage import AnyLake
from ingest.figures.classify import CLASSES

FORMATS = ("parquet", "coco", "hf")
CATEGORIES = (*CLASSES, "unclear", "parent")  # COCO category ids 1.. in this order


class ExportError(ValueError):
    """The export cannot start (bad format, bad filter, output folder not empty)."""


@dataclass
class ExportReport:
    format: str
    out: str
    subfigures: int = 0
    figures: int = 0
    licences: dict[str, int] = field(default_factory=dict)
    skipped: list[dict[str, str]] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return self.__dict__.copy()


def selection_sql(where: str | None, limit: int | None = None) -> str:
    """The subfigures a filter selects, with what an export row carries."""
    cond = f"WHERE {where}" if where and where.strip() else ""
    lim = f"LIMIT {int(limit)}" if limit else ""
    return f"""
        SELECT i.subfigure_id, i.figure_id, i.article_id, i.label, i.role, i.class, i.confidence,
               i.nm_per_px, i.keywords, i.techniques, i.materials, i.journal, i.year, i.has_spectra,
               s.parent_id, s.bbox, s.caption_text,
               coalesce(i.license_spdx, f.license_spdx) AS license_spdx, f.license_url,
               f.figure_label, f.image_url, a.doi, a.title AS article_title, a.url AS article_url
        FROM (SELECT * FROM {INDEX_VIEW} {cond}) i
        JOIN subfigures s USING (subfigure_id)
        LEFT JOIN figures f ON f.figure_id = i.figure_id
        LEFT JOIN articles a ON a.article_id = i.article_id
        ORDER BY i.figure_id, i.subfigure_id {lim}"""


def select(lake: AnyLake, where: str | None, limit: int | None = None) -> list[dict[str, Any]]:
    """Rows of the selection (``where``: SQL over subfigure_index; read-only, checked)."""
    sql = selection_sql(where, limit)
    con = connect_read_only(lake)
    try:
        check_read_only(con, sql)
        return con.sql(sql).to_arrow_table().to_pylist()
    except (ReadOnlySqlError, duckdb.Error) as e:  # they name what is wrong with the filter
        raise ExportError(f"bad filter {where!r}: {e}") from None
    finally:
        con.close()


def _png(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG")
    return buf.getvalue()


def crop(rgb: np.ndarray, bbox: dict[str, int] | None) -> np.ndarray:
    """The part of a figure inside a lake bbox (``{x0, y0, x1, y1}``), clipped to the image; all of it
    for no bbox."""
    if not bbox:
        return rgb
    h, w = rgb.shape[:2]
    x0, y0 = max(0, bbox["x0"]), max(0, bbox["y0"])
    x1, y1 = min(w, bbox["x1"]), min(h, bbox["y1"])
    return rgb[y0:y1, x0:x1]


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_")[:150]


def _check_out(out: Path) -> None:
    if out.exists() and any(out.iterdir()):
        raise ExportError(f"{out}: output folder is not empty (choose a new one)")
    out.mkdir(parents=True, exist_ok=True)


def export(lake: AnyLake, where: str | None, fmt: str, out: Path,
           progress: Callable[[int, int], None] | None = None) -> ExportReport:
    """Write the selection as a ``fmt`` dataset into the (new or empty) folder ``out``."""
    from ingest.errors import InputError
    from ingest.images import figure_image_reader

    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r} (one of {', '.join(FORMATS)})")
    rows = select(lake, where)
    _check_out(out)
    report = ExportReport(fmt, str(out))
    read = figure_image_reader(lake)
    figures: dict[str, np.ndarray | str] = {}  # figure_id → its image, or why it cannot be read
    kept: list[tuple[dict[str, Any], np.ndarray]] = []
    for n, row in enumerate(rows):
        fid = row["figure_id"]
        if fid not in figures:
            try:
                figures[fid] = read(fid)
            except InputError as e:
                figures[fid] = str(e)
        rgb = figures[fid]
        if isinstance(rgb, str):
            report.skipped.append({"subfigure_id": row["subfigure_id"], "reason": rgb})
        else:
            kept.append((row, rgb))
        if progress:
            progress(n + 1, len(rows))
    writer = {"parquet": _write_parquet, "coco": _write_coco, "hf": _write_hf}[fmt]
    report.files = writer(kept, out)
    report.subfigures = len(kept)
    report.figures = len({r["figure_id"] for r, _ in kept})
    report.licences = dict(Counter(r["license_spdx"] or "unknown" for r, _ in kept).most_common())
    (out / "export.json").write_text(json.dumps(report.as_json() | {"where": where}, indent=2, default=str))
    return report


def _row_out(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "bbox"} | {"bbox": [row["bbox"][k] for k in ("x0", "y0", "x1", "y1")]
                                                             if row["bbox"] else None}


def _write_parquet(kept: list[tuple[dict[str, Any], np.ndarray]], out: Path) -> list[str]:
    (out / "images").mkdir()
    rows = []
    for n, (row, rgb) in enumerate(kept):
        name = f"images/{n:06d}_{_safe(row['subfigure_id'])}.png"
        (out / name).write_bytes(_png(crop(rgb, row["bbox"])))
        rows.append(_row_out(row) | {"image_path": name})
    pq.write_table(pa.Table.from_pylist(rows) if rows else pa.table({"subfigure_id": pa.array([], pa.string())}),
                   out / "subfigures.parquet")
    return ["subfigures.parquet", "images/"]


def _write_coco(kept: list[tuple[dict[str, Any], np.ndarray]], out: Path) -> list[str]:
    (out / "figures").mkdir()
    licences: dict[str, int] = {}
    images: dict[str, dict[str, Any]] = {}
    annotations: list[dict[str, Any]] = []
    categories = {c: i for i, c in enumerate(CATEGORIES, 1)}
    for row, rgb in kept:
        fid = row["figure_id"]
        if fid not in images:
            lic = row["license_spdx"] or "unknown"
            licences.setdefault(lic, len(licences) + 1)
            name = f"figures/{len(images):06d}_{_safe(fid)}.png"
            (out / name).write_bytes(_png(rgb))
            images[fid] = {"id": len(images) + 1, "file_name": name, "width": int(rgb.shape[1]),
                           "height": int(rgb.shape[0]), "license": licences[lic], "figure_id": fid,
                           "doi": row["doi"], "coco_url": row["image_url"]}
        b = row["bbox"]
        if not b:
            continue
        w, h = b["x1"] - b["x0"], b["y1"] - b["y0"]
        annotations.append({"id": len(annotations) + 1, "image_id": images[fid]["id"],
                            "category_id": categories.get(row["class"] or "unclear", categories["unclear"]),
                            "bbox": [b["x0"], b["y0"], w, h], "area": w * h, "iscrowd": 0,
                            "subfigure_id": row["subfigure_id"], "label": row["label"], "role": row["role"],
                            "parent_id": row["parent_id"], "nm_per_px": row["nm_per_px"],
                            "caption": row["caption_text"]})
    coco = {"info": {"description": "figlake export: subfigures of journal figures", "version": "1.0"},
            "licenses": [{"id": i, "name": name} for name, i in licences.items()],
            "images": list(images.values()), "annotations": annotations,
            "categories": [{"id": i, "name": c, "supercategory": "subfigure"} for c, i in categories.items()]}
    (out / "annotations.json").write_text(json.dumps(coco, indent=1, default=str))
    return ["annotations.json", "figures/"]


def _write_hf(kept: list[tuple[dict[str, Any], np.ndarray]], out: Path) -> list[str]:
    (out / "data").mkdir()
    rows = [_row_out(row) | {"image": {"bytes": _png(crop(rgb, row["bbox"])),
                                       "path": f"{_safe(row['subfigure_id'])}.png"}} for row, rgb in kept]
    table = pa.Table.from_pylist(rows) if rows else pa.table({"subfigure_id": pa.array([], pa.string())})
    # The `huggingface` schema metadata tells `datasets` that `image` is an Image feature.
    meta = {"info": {"features": {"image": {"_type": "Image"}}}} if rows else {}
    table = table.replace_schema_metadata({b"huggingface": json.dumps(meta).encode()})
    name = "data/train-00000-of-00001.parquet"
    pq.write_table(table, out / name)
    (out / "README.md").write_text(dataset_card([r for r, _ in kept]))
    return [name, "README.md"]


def dataset_card(rows: list[dict[str, Any]]) -> str:
    """A Hugging Face dataset card: YAML header (licence, configs), what the rows are, licences, sources."""
    lic = Counter((r["license_spdx"] or "unknown") for r in rows)
    spdx = {k.lower() for k in lic}
    header_licence = next(iter(spdx)) if len(spdx) == 1 and "unknown" not in spdx else "other"
    classes = Counter(r["class"] or "unclassified" for r in rows)
    sources = sorted({(r["doi"] or r["article_id"] or "", r["article_title"] or "", r["license_spdx"] or "unknown")
                      for r in rows})
    lines = ["---", f"license: {header_licence}", "task_categories:", "- image-classification",
             "- object-detection", "tags:", "- materials-science", "- microscopy", "- figlake",
             "configs:", "- config_name: default", "  data_files:", "  - split: train",
             "    path: data/train-*.parquet", "---", "", "# figlake subfigure export", "",
             f"{len(rows)} subfigures from {len({r['figure_id'] for r in rows})} journal figures, cut by figlake "
             "(Master–Dependent–Inset separation), each with its class, bounding box in the figure, physical "
             "scale (`nm_per_px`, null when unknown), its part of the caption and keywords.", "",
             "## Licences", "",
             "Each row carries its own licence (`license_spdx`, `license_url`); respect it when you reuse an "
             "image. This export mixes:", "", "| licence | rows |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in lic.most_common()]
    lines += ["", "## Classes", "", "| class | rows |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in classes.most_common()]
    lines += ["", "## Sources", "", "| article | title | licence |", "|---|---|---|"]
    lines += [f"| {d} | {t.replace('|', '/')} | {lc} |" for d, t, lc in sources]
    return "\n".join(lines) + "\n"

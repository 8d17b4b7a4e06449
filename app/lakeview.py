"""What the explorer shows, as plain functions over the lake (no Streamlit here, so they are tested
directly and the pages stay thin).

- ``Filters``: the browse facets (class, technique, keyword, journal, year, licence, scale range,
  has spectra) ⇄ a SQL condition over ``subfigure_index`` — the same condition filters search
  (LanceDB prefilter), browse and export (DuckDB) — ⇄ URL query parameters (deep links).
- ``facet_counts`` / ``browse``: counts per facet value and a page of subfigures.
- ``FigureView``: everything the figure page shows for one figure; ``overlay`` draws its boxes;
  ``caption_html`` marks each label's part of the caption.
"""

from __future__ import annotations

import html
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
from PIL import Image, ImageDraw

from catalog.duck import INDEX_VIEW
from catalog.storage import AnyLake

# facet → (column of subfigure_index, whether the column is a list)
LIST_FACETS = {"technique": "techniques", "keyword": "keywords"}
VALUE_FACETS = {"class": "class", "journal": "journal", "year": "year", "licence": "license_spdx"}
RESULT_COLUMNS = ("subfigure_id", "figure_id", "label", "role", "class", "confidence", "nm_per_px", "journal",
                  "year", "license_spdx", "text", "has_spectra")


def sql_literal(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    return "'" + str(v).replace("'", "''") + "'"


@dataclass
class Filters:
    """Facet selections: values within a facet are alternatives (OR), facets combine with AND."""
    values: dict[str, list[Any]] = field(default_factory=dict)  # facet → chosen values
    nm_min: float | None = None
    nm_max: float | None = None
    has_spectra: bool = False
    include_parents: bool = False

    def where(self) -> str | None:
        parts = []
        for facet, column in VALUE_FACETS.items():
            if chosen := self.values.get(facet):
                parts.append(f"{column} IN ({', '.join(sql_literal(v) for v in chosen)})")
        for facet, column in LIST_FACETS.items():
            if chosen := self.values.get(facet):
                parts.append("(" + " OR ".join(f"array_has({column}, {sql_literal(v)})" for v in chosen) + ")")
        if self.nm_min is not None:
            parts.append(f"nm_per_px >= {float(self.nm_min)!r}")
        if self.nm_max is not None:
            parts.append(f"nm_per_px <= {float(self.nm_max)!r}")
        if self.has_spectra:
            parts.append("has_spectra")
        if not self.include_parents and not self.values.get("class"):
            parts.append("(class IS NULL OR class <> 'parent')")
        return " AND ".join(parts) or None

    def query_params(self) -> dict[str, list[str] | str]:
        out: dict[str, list[str] | str] = {k: [str(v) for v in vs] for k, vs in self.values.items() if vs}
        if self.nm_min is not None:
            out["nm_min"] = str(self.nm_min)
        if self.nm_max is not None:
            out["nm_max"] = str(self.nm_max)
        if self.has_spectra:
            out["spectra"] = "1"
        return out

    @classmethod
    def from_query_params(cls, qp: Mapping[str, list[str]]) -> Filters:
        """From URL parameters (``{name: [values]}``); unknown names and unreadable numbers are ignored."""
        values: dict[str, list[Any]] = {}
        for facet in (*VALUE_FACETS, *LIST_FACETS):
            if got := [v for v in qp.get(facet, []) if v]:
                values[facet] = [int(v) for v in got if v.isdigit()] if facet == "year" else got
        return cls(values, _number(qp.get("nm_min")), _number(qp.get("nm_max")),
                   (qp.get("spectra") or [""])[0] in ("1", "true"))


def _number(v: list[str] | None) -> float | None:
    try:
        return float(v[0]) if v else None
    except ValueError:
        return None


def _scalar(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    return int(con.execute(sql).fetchall()[0][0])


def facet_counts(con: duckdb.DuckDBPyConnection, where: str | None) -> dict[str, list[tuple[Any, int]]]:
    """For each facet, its values with the number of subfigures (under ``where``) that have them."""
    cond = f"WHERE {where}" if where else ""
    out: dict[str, list[tuple[Any, int]]] = {}
    for facet, column in VALUE_FACETS.items():
        out[facet] = [(v, n) for v, n in con.execute(
            f"SELECT {column}, count(*) AS n FROM {INDEX_VIEW} {cond} GROUP BY 1 HAVING {column} IS NOT NULL "
            f"ORDER BY n DESC, 1").fetchall()]
    for facet, column in LIST_FACETS.items():
        out[facet] = [(v, n) for v, n in con.execute(
            f"SELECT v, count(*) AS n FROM (SELECT unnest({column}) AS v FROM {INDEX_VIEW} {cond}) "
            "GROUP BY 1 ORDER BY n DESC, 1").fetchall()]
    out["has spectra"] = [(True, _scalar(con, f"SELECT count(*) FROM {INDEX_VIEW} {cond} "
                                              f"{'AND' if cond else 'WHERE'} has_spectra"))]
    return out


def nm_range(con: duckdb.DuckDBPyConnection) -> tuple[float, float] | None:
    lo, hi = con.execute(f"SELECT min(nm_per_px), max(nm_per_px) FROM {INDEX_VIEW}").fetchall()[0]
    return (float(lo), float(hi)) if lo is not None else None


def count(con: duckdb.DuckDBPyConnection, where: str | None) -> int:
    """Subfigures under ``where``."""
    return _scalar(con, f"SELECT count(*) FROM {INDEX_VIEW} {'WHERE ' + where if where else ''}")


def browse(con: duckdb.DuckDBPyConnection, where: str | None, limit: int, offset: int = 0) -> list[dict[str, Any]]:
    """One page of the subfigures under ``where``, in figure order."""
    cond = f"WHERE {where}" if where else ""
    rows = con.sql(f"SELECT {', '.join(RESULT_COLUMNS)} FROM {INDEX_VIEW} {cond} "
                   f"ORDER BY figure_id, subfigure_id LIMIT {int(limit)} OFFSET {int(offset)}").to_arrow_table()
    return rows.to_pylist()


def thumbnails(lake: AnyLake, ids: list[str]) -> dict[str, bytes]:
    """subfigure_id → thumbnail image bytes (the figures stage's thumbnails table)."""
    return {r["subfigure_id"]: r["bytes"] for r in _lance_rows(lake, "thumbnails", "subfigure_id", ids,
                                                               ["subfigure_id", "bytes"])}


def _lance_rows(lake: AnyLake, table: str, key: str, ids: list[str], columns: list[str]) -> list[dict[str, Any]]:
    from embeddings.index import key_in

    if not ids or not lake.exists(table):
        return []
    return lake.lance(table).to_table(columns=columns, filter=key_in(key, ids)).to_pylist()


def subfigure_vector(lake: AnyLake, subfigure_id: str) -> np.ndarray | None:
    """A subfigure's image vector (for "more like this"), or None when it has none."""
    rows = _lance_rows(lake, "vectors", "subfigure_id", [subfigure_id], ["image_vector"])
    return np.asarray(rows[0]["image_vector"], np.float32) if rows and rows[0]["image_vector"] else None


def library_images(lake: AnyLake, entry_ids: list[str]) -> dict[str, bytes]:
    """STEM library entry → its simulated image (PNG)."""
    return {r["entry_id"]: r["image"] for r in _lance_rows(lake, "stem_library", "entry_id", entry_ids,
                                                           ["entry_id", "image"])}


def series_of(con: duckdb.DuckDBPyConnection, spectrum_id: str) -> tuple[np.ndarray, np.ndarray] | None:
    """A digitized series' (x, y), or None."""
    rows = con.execute("SELECT x, y FROM spectra WHERE spectrum_id = ?", [spectrum_id]).fetchall()
    return (np.asarray(rows[0][0], float), np.asarray(rows[0][1], float)) if rows else None


# -- the figure page -----------------------------------------------------------------

@dataclass
class FigureView:
    figure: dict[str, Any]
    article: dict[str, Any]
    subfigures: list[dict[str, Any]]
    scale_bars: list[dict[str, Any]]
    segments: list[dict[str, Any]]
    spectra: list[dict[str, Any]]
    stem_matches: list[dict[str, Any]]
    labels: dict[str, dict[str, Any]]

    @property
    def doi_url(self) -> str | None:
        doi = self.article.get("doi")
        return f"https://doi.org/{doi}" if doi else self.article.get("url")


def figure_view(con: duckdb.DuckDBPyConnection, figure_id: str) -> FigureView | None:
    """Everything about one figure, or None when the lake has no such figure."""
    fid = sql_literal(figure_id)

    def rows(sql: str) -> list[dict[str, Any]]:
        return con.sql(sql).to_arrow_table().to_pylist()

    figs = rows(f"SELECT * FROM figures WHERE figure_id = {fid}")
    if not figs:
        return None
    fig = figs[0]
    arts = rows(f"SELECT * FROM articles WHERE article_id = {sql_literal(fig['article_id'] or '')}")
    subs = rows(f"SELECT * FROM subfigures WHERE figure_id = {fid} ORDER BY subfigure_id")
    sub_ids = "SELECT subfigure_id FROM subfigures WHERE figure_id = " + fid
    return FigureView(
        fig, arts[0] if arts else {}, subs,
        rows(f"SELECT * FROM scale_bars WHERE figure_id = {fid}"),
        rows(f"SELECT * FROM caption_segments WHERE figure_id = {fid} ORDER BY label NULLS FIRST"),
        rows(f"SELECT * FROM spectra WHERE subfigure_id IN ({sub_ids}) ORDER BY subfigure_id, series_index"),
        rows(f"SELECT * FROM stem_matches WHERE subfigure_id IN ({sub_ids}) ORDER BY subfigure_id, rank"),
        {r["subfigure_id"]: r for r in rows(f"SELECT * FROM labels WHERE figure_id = {fid}")},
    )


LAYER_COLOURS = {"master": (31, 119, 180), "dependent": (44, 160, 44), "inset": (255, 127, 14),
                 "label": (214, 39, 40), "scale bar": (148, 103, 189)}
LAYERS = tuple(LAYER_COLOURS)


def _box(b: dict[str, int] | None) -> tuple[int, int, int, int] | None:
    return (b["x0"], b["y0"], b["x1"], b["y1"]) if b else None


def overlay(rgb: np.ndarray, view: FigureView, layers: tuple[str, ...] = LAYERS) -> np.ndarray:
    """The figure with its subfigure boxes (by role), label boxes and scale bars drawn on."""
    im = Image.fromarray(rgb).convert("RGB")
    draw = ImageDraw.Draw(im)
    width = max(2, round(max(im.size) / 400))
    for s in view.subfigures:
        role = s["role"] if s["role"] in ("master", "dependent", "inset") else "master"
        if role in layers and (b := _box(s["bbox"])):
            draw.rectangle(b, outline=LAYER_COLOURS[role], width=width)
            tag = f"{s['label'] or ''} {s['class'] or ''}".strip()
            if tag and role == "master":
                draw.text((b[0] + width + 2, b[3] - 14 - width), tag, fill=LAYER_COLOURS[role])
        if "label" in layers and (b := _box(s.get("label_bbox"))):
            draw.rectangle(b, outline=LAYER_COLOURS["label"], width=width)
    if "scale bar" in layers:
        for bar in view.scale_bars:
            for b in (_box(bar["bar_bbox"]), _box(bar.get("label_bbox"))):
                if b:
                    draw.rectangle(b, outline=LAYER_COLOURS["scale bar"], width=width)
    return np.asarray(im)


SEGMENT_COLOURS = ("#fde68a", "#bbf7d0", "#bfdbfe", "#fbcfe8", "#ddd6fe", "#fed7aa", "#a5f3fc", "#e9d5ff")


def caption_spans(caption: str, segments: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    """The caption cut into ``(text, label)`` pieces: each label's own text where it occurs in the caption
    (label None between them)."""
    found: list[tuple[int, int, str]] = []
    for seg in segments:
        own = (seg.get("own_text") or "").strip()
        if not own or not seg.get("label"):
            continue
        # The same words may serve two labels ("b Raman spectra of Pt. … d Raman spectra of Pt."):
        # each label takes the first occurrence no other label has taken.
        at = caption.find(own)
        while at >= 0 and any(s < at + len(own) and at < e for s, e, _ in found):
            at = caption.find(own, at + 1)
        if at >= 0:
            found.append((at, at + len(own), seg["label"]))
    spans: list[tuple[str, str | None]] = []
    pos = 0
    for start, end, label in sorted(found):
        if start > pos:
            spans.append((caption[pos:start], None))
        spans.append((caption[start:end], label))
        pos = end
    if pos < len(caption):
        spans.append((caption[pos:], None))
    return spans


def caption_html(caption: str, segments: list[dict[str, Any]]) -> str:
    """The caption as HTML with each label's part highlighted in its own colour (and tagged with the label)."""
    colours: dict[str, str] = {}
    out = []
    for text, label in caption_spans(caption, segments):
        if label is None:
            out.append(html.escape(text))
            continue
        colour = colours.setdefault(label, SEGMENT_COLOURS[len(colours) % len(SEGMENT_COLOURS)])
        out.append(f'<mark class="segment" data-label="{html.escape(label)}" style="background:{colour}" '
                   f'title="({html.escape(label)})">{html.escape(text)}</mark>')
    return '<div class="figlake-caption">' + "".join(out) + "</div>"


def series_csv(series: list[dict[str, Any]]) -> bytes:
    """Digitized series as one long CSV: series, x, y (with units in the header when known)."""
    buf = io.StringIO()
    xu = next((s.get("x_unit") for s in series if s.get("x_unit")), None)
    yu = next((s.get("y_unit") for s in series if s.get("y_unit")), None)
    buf.write(f"spectrum_id,series,x{f' ({xu})' if xu else ''},y{f' ({yu})' if yu else ''}\n")
    for s in series:
        for x, y in zip(s["x"], s["y"], strict=True):
            buf.write(f"{s['spectrum_id']},{s['series_index']},{x:.6g},{y:.6g}\n")
    return buf.getvalue().encode()


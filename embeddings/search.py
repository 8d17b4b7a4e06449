"""Search the lake: text (hybrid), image and spectrum queries over the vector tables.

Text queries fuse three ranked lists with weighted reciprocal-rank fusion
(RRF, score = Σ w/(rrf_k + rank)): the MiniLM vector of the query against caption
text vectors, BM25 over the ``text`` column (LanceDB's full-text index), and
the image tower's text embedding against image vectors — so a subfigure with
no caption of its own (a dependent, an inset) is still found by what it
looks like (the image list weighs half: a caption says what a panel shows
more surely than a small image model does). Image queries search image vectors; spectrum queries search
``spectrum_vectors``. Every query takes an SQL ``where`` over the table's
columns, applied before ranking (prefilter), and returns provenance: the
subfigure, its figure and article, licence.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.compute as pc

from catalog.schema import SPECTRUM_VECTORS, VECTORS
from catalog.storage import open_lake
from embeddings.clip import ClipEncoder, load_clip
from embeddings.index import key_in, open_table
from embeddings.spectra import spectrum_vector
from embeddings.text import embed_texts

RESULT_COLUMNS = ["subfigure_id", "figure_id", "article_id", "label", "role", "class", "nm_per_px", "license_spdx",
                  "journal", "year", "text"]
SPECTRUM_COLUMNS = ["spectrum_id", "subfigure_id", "figure_id", "article_id", "series_index", "x_unit", "x_min",
                    "x_max", "license_spdx"]


class SearchError(ValueError):
    """A query that cannot run: no vector tables yet, or a bad ``where``."""


@dataclass
class SearchSettings:
    k: int = 10
    candidates: int = 100
    rrf_k: int = 60
    weights: dict[str, float] = field(default_factory=lambda: {"text": 1.0, "bm25": 1.0, "image": 0.5})
    include_parents: bool = False
    nprobes: int = 20          # ANN partitions probed (ignored by a flat scan)
    refine_factor: int = 5     # re-rank refine × k ANN candidates with the full vectors (SQ is lossy)

    @classmethod
    def from_params(cls, p: dict[str, Any]) -> SearchSettings:
        d = cls()
        return cls(int(p.get("k", d.k)), int(p.get("candidates", d.candidates)), int(p.get("rrf_k", d.rrf_k)),
                   {k: float(v) for k, v in (p.get("weights") or d.weights).items()},
                   bool(p.get("include_parents", d.include_parents)), int(p.get("nprobes", d.nprobes)),
                   int(p.get("refine_factor", d.refine_factor)))


def rrf(rankings: dict[str, list[str]], k: int, weights: dict[str, float] | None = None,
        ) -> list[tuple[str, float, dict[str, int]]]:
    """Weighted reciprocal-rank fusion, score = Σ w/(k + rank): (id, score, {list name: 1-based rank})
    best first; ties keep first-seen order."""
    score: dict[str, float] = {}
    ranks: dict[str, dict[str, int]] = {}
    for name, ids in rankings.items():
        w = (weights or {}).get(name, 1.0)
        for r, i in enumerate(ids, 1):
            score[i] = score.get(i, 0.0) + w / (k + r)
            ranks.setdefault(i, {})[name] = r
    order = sorted(score, key=lambda i: -score[i])
    return [(i, score[i], ranks[i]) for i in order]


class Searcher:
    """Queries over one lake; encoders load on first use (a spectrum query needs no model)."""

    def __init__(self, lake_root: Path | str, clip_model: str = "local-dir:data/models/clip",
                 clip_pretrained: str | None = None, settings: SearchSettings | None = None) -> None:
        self.lake = open_lake(lake_root)  # a folder, or a published lake (s3://…) searched in place
        self.settings = settings or SearchSettings()
        self._clip: ClipEncoder | None = None
        self._clip_args = (clip_model, clip_pretrained)

    @property
    def clip(self) -> ClipEncoder:
        if self._clip is None:
            self._clip = load_clip(*self._clip_args)
        return self._clip

    def _table(self, spec: Any) -> Any:
        try:
            tbl = open_table(self.lake.root, spec)
        except Exception as e:  # noqa: BLE001 - LanceDB reports an unreachable store or bucket as a generic error
            raise SearchError(f"{self.lake.root}: cannot open the lake ({str(e).splitlines()[0][:300]})") from e
        if tbl is None:
            raise SearchError(f"{self.lake.root}/{spec.file_name()}: no vector table yet; run `dvc repro embed`")
        return tbl

    def _vector_ids(self, tbl: Any, column: str, vec: np.ndarray, where: str | None, n: int, key: str,
                    ) -> tuple[list[str], dict[str, float]]:
        q = (tbl.search(vec.astype(np.float32), vector_column_name=column).distance_type("cosine")
             .nprobes(self.settings.nprobes).refine_factor(self.settings.refine_factor))
        if where:
            q = q.where(where, prefilter=True)
        try:
            t = q.limit(n).select([key, "_distance"]).to_arrow()
        except Exception as e:  # noqa: BLE001 - LanceDB reports a bad filter as a generic error
            raise SearchError(f"where {where!r}: {e}") from e
        ids = t.column(key).to_pylist()
        return ids, {i: 1.0 - float(d) for i, d in zip(ids, t.column("_distance").to_pylist(), strict=True)}

    def _fts_ids(self, tbl: Any, text: str, where: str | None, n: int) -> list[str]:
        q = tbl.search(text, query_type="fts", fts_columns="text")
        if where:
            q = q.where(where, prefilter=True)
        try:
            return q.limit(n).select(["subfigure_id", "_score"]).to_arrow().column("subfigure_id").to_pylist()
        except Exception as e:  # noqa: BLE001
            if "where" in str(e).lower() or "filter" in str(e).lower():
                raise SearchError(f"where {where!r}: {e}") from e
            return []  # e.g. a query of stop words only: BM25 has nothing to rank

    def _rows(self, tbl: Any, key: str, ids: list[str], columns: list[str]) -> dict[str, dict[str, Any]]:
        if not ids:
            return {}
        t = tbl.to_lance().to_table(columns=columns, filter=key_in(key, ids))
        return {r[key]: r for r in t.to_pylist()}

    def _lookup(self, table: str, key: str, ids: set[str], columns: list[str]) -> dict[str, dict[str, Any]]:
        """Rows of a Parquet lake table for these keys only (row-group statistics skip the rest)."""
        if not ids or not self.lake.exists(table):
            return {}
        t = self.lake.dataset(table).to_table(columns=columns, filter=pc.field(key).isin(sorted(ids)))
        return {r[key]: r for r in t.to_pylist()}

    def _provenance(self, hits: list[dict[str, Any]]) -> list[dict[str, Any]]:
        arts = self._lookup("articles", "article_id", {h["article_id"] for h in hits if h.get("article_id")},
                            ["article_id", "doi", "title", "url"])
        figs = self._lookup("figures", "figure_id", {h["figure_id"] for h in hits if h.get("figure_id")},
                            ["figure_id", "figure_label", "image_url"])
        for h in hits:
            a, f = arts.get(h.get("article_id") or "", {}), figs.get(h.get("figure_id") or "", {})
            h["doi"], h["article_title"], h["article_url"] = a.get("doi"), a.get("title"), a.get("url")
            h["figure_label"], h["figure_url"] = f.get("figure_label"), f.get("image_url")
        return hits

    def _subfigure_where(self, where: str | None) -> str | None:
        """The user's filter, and (unless ``include_parents``) no parent frames: a parent is the frame
        around its dependents, which carry the same text and are the images a reader wants."""
        if self.settings.include_parents:
            return where
        leaves = "(class IS NULL OR class <> 'parent')"
        return f"({where}) AND {leaves}" if where else leaves

    def text(self, query: str, where: str | None = None, k: int | None = None) -> list[dict[str, Any]]:
        """Hybrid text search: caption-text vectors + BM25 + image vectors, fused by RRF."""
        if not query.strip():
            raise SearchError("empty text query")
        where = self._subfigure_where(where)
        k, n = k or self.settings.k, max(self.settings.candidates, k or self.settings.k)
        tbl = self._table(VECTORS)
        text_ids, text_sim = self._vector_ids(tbl, "text_vector", embed_texts([query])[0], where, n, "subfigure_id")
        image_ids, image_sim = self._vector_ids(tbl, "image_vector", self.clip.embed_texts([query])[0], where, n,
                                                "subfigure_id")
        fused = rrf({"text": text_ids, "bm25": self._fts_ids(tbl, query, where, n), "image": image_ids},
                    self.settings.rrf_k, self.settings.weights)[:k]
        rows = self._rows(tbl, "subfigure_id", [i for i, _, _ in fused], RESULT_COLUMNS)
        return self._provenance([rows[i] | {"score": round(s, 5), "ranks": r, "text_similarity": text_sim.get(i),
                                            "image_similarity": image_sim.get(i)} for i, s, r in fused])

    def image_vector(self, vec: np.ndarray, where: str | None = None, k: int | None = None,
                     exclude: str | None = None) -> list[dict[str, Any]]:
        """Subfigures whose image vector is nearest ``vec`` (``exclude``: drop that id, e.g. the query itself)."""
        k = k or self.settings.k
        tbl = self._table(VECTORS)
        where = self._subfigure_where(where)
        ids, sim = self._vector_ids(tbl, "image_vector", vec, where, k + (exclude is not None), "subfigure_id")
        ids = [i for i in ids if i != exclude][:k]
        rows = self._rows(tbl, "subfigure_id", ids, RESULT_COLUMNS)
        return self._provenance([rows[i] | {"score": round(sim[i], 5)} for i in ids])

    def image(self, rgb: np.ndarray, where: str | None = None, k: int | None = None) -> list[dict[str, Any]]:
        return self.image_vector(self.clip.embed_images([rgb])[0], where, k)

    def spectrum(self, x: np.ndarray, y: np.ndarray, where: str | None = None, k: int | None = None,
                 source: str = "spectrum") -> list[dict[str, Any]]:
        """Digitized series whose shape is nearest the (x, y) curve, with their subfigures."""
        k = k or self.settings.k
        tbl = self._table(SPECTRUM_VECTORS)
        ids, sim = self._vector_ids(tbl, "vector", spectrum_vector(x, y, source), where, k, "spectrum_id")
        rows = self._rows(tbl, "spectrum_id", ids, SPECTRUM_COLUMNS)
        return self._provenance([rows[i] | {"score": round(sim[i], 5)} for i in ids])

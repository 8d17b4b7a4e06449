"""What the lake says about each subfigure and series, gathered for embedding and filtering.

One row per subfigure: the text that describes it (for the domain CLIP's
training pairs and for text vectors), the text full-text search reads, and
the filter columns the vectors table carries (class, keywords, techniques,
materials, journal, year, licence, nm/px, has spectra). Dependents and insets
have no caption segment of their own: a dependent is described by its
master's text, an inset by its label's "Inset: …" text when the caption has
one, else by its parent's.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import lance

from catalog.storage import AnyLake, open_lake
from ingest.captions.keywords import TECHNIQUE_NAMES
from ingest.captions.keywords import techniques as techniques_in


@dataclass
class SubfigureDoc:
    subfigure_id: str
    figure_id: str
    article_id: str | None
    label: str | None
    role: str | None
    cls: str | None
    confidence: float | None
    nm_per_px: float | None
    keywords: list[str] = field(default_factory=list)
    techniques: list[str] = field(default_factory=list)
    materials: list[str] = field(default_factory=list)
    journal: str | None = None
    year: int | None = None
    license_spdx: str | None = None
    has_spectra: bool = False
    describe: str = ""          # the subfigure's own description: CLIP pairs and the text vector
    search_text: str = ""       # description + caption labels + techniques + materials: what BM25 reads

    def filters(self) -> dict[str, Any]:
        return {"subfigure_id": self.subfigure_id, "figure_id": self.figure_id, "article_id": self.article_id,
                "label": self.label, "role": self.role, "class": self.cls, "confidence": self.confidence,
                "keywords": self.keywords, "techniques": self.techniques, "materials": self.materials,
                "journal": self.journal, "year": self.year, "license_spdx": self.license_spdx,
                "nm_per_px": self.nm_per_px, "has_spectra": self.has_spectra, "text": self.search_text}


def _unique(*lists: list[str] | None) -> list[str]:
    return list(dict.fromkeys(x for lst in lists for x in (lst or []) if x))


def thumbnail_bytes(lake: AnyLake) -> dict[str, bytes]:
    """subfigure_id → its thumbnail JPEG, as the figures stage wrote it."""
    t = lake.read("thumbnails", ["subfigure_id", "bytes"])
    return dict(zip(t.column("subfigure_id").to_pylist(), t.column("bytes").to_pylist(), strict=True))


def thumbnail_digests(lake: AnyLake) -> tuple[dict[str, tuple[int, str]], int | None]:
    """subfigure_id → (row position in the thumbnails table, sha256 of its JPEG), and the version read.
    Streamed, so the embed stage's driver never holds the images (100 GB at 10M subfigures): its workers
    read them by position (``thumbnails_at``)."""
    if not lake.exists("thumbnails"):
        return {}, None
    ds = lake.lance("thumbnails")
    out: dict[str, tuple[int, str]] = {}
    position = 0
    for batch in ds.to_batches(columns=["subfigure_id", "bytes"], batch_size=512):
        for sid, data in zip(batch.column("subfigure_id").to_pylist(), batch.column("bytes").to_pylist(), strict=True):
            out.setdefault(sid, (position, hashlib.sha256(data or b"").hexdigest()))
            position += 1
    return out, ds.version


@cache
def _thumbnails(root: str, version: int) -> lance.LanceDataset:
    return open_lake(root).lance("thumbnails").checkout_version(version)


def thumbnails_at(root: str, version: int | None, positions: list[int | None]) -> list[bytes | None]:
    """The thumbnails at these row positions of the lake's thumbnails table as of ``version`` (None: none)."""
    found = [p for p in positions if p is not None]
    if version is None or not found:
        return [None] * len(positions)
    data = _thumbnails(root, version).take(found, columns=["bytes"]).column("bytes").to_pylist()
    by_position = dict(zip(found, data, strict=True))
    return [None if p is None else by_position[p] for p in positions]


def expand_acronyms(text: str) -> str:
    """``text`` followed by what the techniques it names are, in words ("SAED pattern of Au" →
    "SAED pattern of Au (selected-area electron diffraction pattern)"): MiniLM knows the words far
    better than the acronyms."""
    names = [TECHNIQUE_NAMES[t] for t in techniques_in(text) if t in TECHNIQUE_NAMES]
    return f"{text} ({'; '.join(names)})" if names else text


def subfigure_docs(lake: AnyLake) -> list[SubfigureDoc]:
    """Every subfigure of the lake, with its texts and filter columns."""
    subs = lake.read("subfigures").to_pylist()
    segments = {(s["figure_id"], s["label"]): s for s in lake.read("caption_segments").to_pylist()}
    labels = {r["subfigure_id"]: r for r in lake.read("labels").to_pylist()}
    articles = {a["article_id"]: a for a in lake.read(
        "articles", ["article_id", "journal", "year", "license_spdx"]).to_pylist()}
    with_spectra = set(lake.read("spectra", ["subfigure_id"]).column("subfigure_id").to_pylist())
    by_id = {s["subfigure_id"]: s for s in subs}
    docs = []
    for s in subs:
        master = by_id.get(s["parent_id"] or "") if s["role"] in ("dependent", "inset") else s
        master = master or s
        seg = segments.get((s["figure_id"], master["label"] or "")) or {}
        own = seg.get("own_text") or master.get("caption_text") or seg.get("text") or ""
        if s["role"] == "inset" and seg.get("inset_text"):
            own = seg["inset_text"]
        own = expand_acronyms(own)
        lab = labels.get(master["subfigure_id"]) or {}
        art = articles.get(s["article_id"] or "") or {}
        techniques = _unique(seg.get("techniques"), lab.get("techniques"))
        materials = _unique(seg.get("materials"), lab.get("materials"))
        keywords = _unique(s.get("keywords"), seg.get("keywords"))
        caption = expand_acronyms(master.get("caption_text") or seg.get("text") or "")
        words = caption if s["role"] != "inset" else own
        search = " ".join(x for x in (words, " ".join(lab.get("caption_labels") or []),
                                      " ".join(techniques), " ".join(materials)) if x)
        docs.append(SubfigureDoc(
            s["subfigure_id"], s["figure_id"], s["article_id"], s["label"], s["role"], s["class"], s["confidence"],
            s["nm_per_px"], keywords, techniques, materials, art.get("journal"), art.get("year"),
            s.get("license_spdx") or art.get("license_spdx"), s["subfigure_id"] in with_spectra, own, search))
    return docs

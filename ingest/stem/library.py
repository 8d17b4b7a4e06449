"""The simulated library: every prototype seen down its distinct low-index zone axes.

A *view* is one structure down one zone axis. Views are kept when the
microscope could resolve them — closest columns at least ``min_column_spacing``
Å apart, projected cell at most ``max_cell`` Å so the field of view holds a
cell — and only once per distinct projection (in a cubic crystal [100], [010]
and [001] look the same; listing them thrice would flatter retrieval). Each
view is rendered ``variants_per_level`` times at each noise level, each time
with its own rotation, shift, probe and thickness. The split holds out whole
prototypes (seeded), so the evaluation asks about structures the encoder never
saw.

``render_entry`` is the per-item function: (view, noise level, seed) in, a
uint8 image out, normalised as any micrograph a reader brings.

    python -m ingest.stem.library [--params params.yaml]

is the ``stem_library`` stage: renders every entry (``stem.library`` in
params.yaml) into ``stem.library.out`` (the STEM_LIBRARY schema, embeddings
still null; ``stem_model`` fills them into the lake table). CIF files named in
``stem.library.cifs`` join the prototypes unless StructureMatcher finds them
among them; duplicates and unreadable files are quarantined, naming the file.
"""

from __future__ import annotations

import hashlib
import math
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pyarrow as pa
from tqdm import tqdm

from catalog.schema import QUARANTINE, STEM_LIBRARY, conform
from catalog.tables import Lake, write_parquet_atomic
from ingest.config import section
from ingest.provenance import extractor, params_hash
from ingest.stage import quarantine_row, report_metrics, stage_params
from ingest.stem.render import render, to_uint8
from ingest.stem.structures import (
    LOW_INDEX_ZONES,
    Projection,
    Prototype,
    Zone,
    conventional,
    load_prototypes,
    project_columns,
    read_cifs,
    space_group_symbol,
    zone_label,
)

STAGE = "stem_library"


@dataclass(frozen=True)
class LibrarySpec:
    size_px: int = 64
    nm_per_px: float = 0.035
    zones: tuple[Zone, ...] = LOW_INDEX_ZONES
    min_column_spacing: float = 0.8
    max_cell: float = 20.0
    noise_levels: tuple[float, ...] = (0.0, 0.35, 0.7, 1.0)
    variants_per_level: int = 2
    heldout_share: float = 0.2
    seed: int = 5
    prototypes: tuple[str, ...] = ()
    """only these structures (names); empty: all"""

    @classmethod
    def from_params(cls, p: dict[str, Any]) -> LibrarySpec:
        return cls(size_px=int(p["size_px"]), nm_per_px=float(p["nm_per_px"]),
                   zones=tuple(tuple(int(i) for i in z) for z in p["zones"]),  # type: ignore[misc]
                   min_column_spacing=float(p["min_column_spacing"]), max_cell=float(p["max_cell"]),
                   noise_levels=tuple(float(v) for v in p["noise_levels"]),
                   variants_per_level=int(p["variants_per_level"]), heldout_share=float(p["heldout_share"]),
                   seed=int(p["seed"]), prototypes=tuple(p.get("prototypes") or ()))


@dataclass(frozen=True)
class View:
    proto: Prototype
    zone: Zone
    proj: Projection

    @property
    def zone_axis(self) -> str:
        return zone_label(self.zone)


def _projection_key(p: Projection) -> tuple:
    """Equal for projections that image alike: cell lengths, cell angle, relative column weights."""
    la, lb = sorted((float(np.linalg.norm(p.a)), float(np.linalg.norm(p.b))))
    cos = abs(float(p.a @ p.b)) / (la * lb)
    return (round(la, 1), round(lb, 1), round(math.degrees(math.acos(min(cos, 1.0)))),
            tuple(np.round(np.sort(p.weights / p.weights.max()), 2)))


def views_of(proto: Prototype, spec: LibrarySpec) -> list[View]:
    """The distinct, resolvable zone-axis views of one (conventional-cell) structure."""
    out: list[View] = []
    seen: set[tuple] = set()
    for zone in spec.zones:
        proj = project_columns(proto, zone)
        too_big = max(np.linalg.norm(proj.a), np.linalg.norm(proj.b)) > spec.max_cell
        if proj.min_spacing < spec.min_column_spacing or too_big:
            continue
        key = _projection_key(proj)
        if key not in seen:
            seen.add(key)
            out.append(View(proto, zone, proj))
    return out


def library_structures(extra: tuple[Prototype, ...] = ()) -> list[Prototype]:
    """The AFLOW prototypes in their conventional cells, then ``extra`` (CIF structures keep their file's cell)."""
    return [conventional(p) for p in load_prototypes()] + list(extra)


def heldout_prototypes(names: list[str], share: float, seed: int) -> set[str]:
    """A seeded ``share`` of the prototypes, held out of training for evaluation."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(sorted(names))
    return {str(n) for n in order[: round(share * len(names))]}


def entry_seed(seed: int, aflow: str, zone: Zone, level: int, variant: int) -> int:
    """Stable per-entry seed: an entry renders the same whatever else the library holds."""
    key = f"{seed}/{aflow}/{zone_label(zone)}/{level}/{variant}".encode()
    return int.from_bytes(hashlib.sha256(key).digest()[:8], "little")


def render_entry(view: View, noise_level: float, seed: int, spec: LibrarySpec) -> np.ndarray:
    """One library image (uint8, ``size_px``²) of ``view`` at ``noise_level``."""
    rng = np.random.default_rng(seed)
    return to_uint8(render(view.proj, rng, noise_level, spec.size_px, spec.nm_per_px))


def entry_rows(view: View, spec: LibrarySpec, split: str, phash: str) -> list[dict[str, Any]]:
    """All library rows of one view (every noise level and variant), image as PNG, no embedding."""
    rows = []
    p = view.proto
    for li, level in enumerate(spec.noise_levels):
        for k in range(spec.variants_per_level):
            img = render_entry(view, level, entry_seed(spec.seed, p.name, view.zone, li, k), spec)
            ok, png = cv2.imencode(".png", img)
            assert ok, "PNG encoding of a uint8 array cannot fail"
            rows.append({
                "entry_id": f"{p.name}/{view.zone_axis}/n{li}/{k}", "prototype": p.name,
                "strukturbericht": p.strukturbericht, "pearson": p.pearson or None, "mineral": p.mineral,
                "formula": p.formula, "space_group": space_group_symbol(p.space_group_number),
                "space_group_number": p.space_group_number, "zone_axis": view.zone_axis,
                "nm_per_px": spec.nm_per_px, "noise_level": level, "split": split, "image": png.tobytes(),
                "embedding": None, "extractor": extractor("ingest.stem"), "params_hash": phash,
            })
    return rows


def _rows_of(args: tuple[list[View], LibrarySpec, set[str], str]) -> list[dict[str, Any]]:
    views, spec, heldout, phash = args
    return [r for v in views for r in entry_rows(v, spec, "test" if v.proto.name in heldout else "train", phash)]


def structures_for(spec: LibrarySpec, cif_paths: list[Path]
                   ) -> tuple[list[Prototype], int, list[tuple[Path, str]]]:
    """The library's structures: (structures, how many came from CIFs, skipped CIF files)."""
    extra, skipped = read_cifs(cif_paths, load_prototypes()) if cif_paths else ([], [])
    structures = [s for s in library_structures(tuple(extra)) if not spec.prototypes or s.name in spec.prototypes]
    return structures, len(extra), skipped


def build(spec: LibrarySpec, cif_paths: list[Path], workers: int, phash: str
          ) -> tuple[pa.Table, dict[str, Any], list[tuple[Path, str]]]:
    """Render the whole library: (table of STEM_LIBRARY rows, counts, skipped CIF files)."""
    structures, n_extra, skipped = structures_for(spec, cif_paths)
    views = [v for s in structures for v in views_of(s, spec)]
    names = sorted({v.proto.name for v in views})
    heldout = heldout_prototypes(names, spec.heldout_share, spec.seed)
    chunks = [views[i:i + 16] for i in range(0, len(views), 16)]
    start = time.perf_counter()
    rows: list[dict[str, Any]] = []
    with ProcessPoolExecutor(max_workers=max(1, workers), mp_context=multiprocessing.get_context("spawn")) as pool:
        for part in tqdm(pool.map(_rows_of, [(c, spec, heldout, phash) for c in chunks]), total=len(chunks),
                         desc="stem_library", unit="chunk"):
            rows.extend(part)
    seconds = time.perf_counter() - start
    table = conform(rows, STEM_LIBRARY).sort_by("entry_id")
    counts = {
        "structures": len(structures), "structures_from_cifs": n_extra, "cifs_skipped": len(skipped),
        "structures_with_views": len(names), "structures_without_resolvable_view": len(structures) - len(names),
        "views": len(views), "images": len(rows), "test_prototypes": len(heldout),
        "render_seconds": round(seconds, 2), "images_per_second": round(len(rows) / max(seconds, 1e-9), 1),
    }
    return table, counts, skipped


def cif_files(paths: list[str]) -> list[Path]:
    """CIF files named directly or found in the named folders, sorted."""
    out: list[Path] = []
    for p in map(Path, paths):
        out += sorted(p.rglob("*.cif")) if p.is_dir() else [p]
    return out


def main(argv: list[str] | None = None) -> None:
    params = stage_params(__doc__, argv)
    p = section(params, "stem.library")
    spec = LibrarySpec.from_params(p)
    table, counts, skipped = build(spec, cif_files(list(p.get("cifs") or [])), int(p["workers"]),
                                   params_hash(p))
    out = Path(p["out"])
    write_parquet_atomic(out, table, STEM_LIBRARY.schema)
    quarantine = [quarantine_row(STAGE, f"{why}", str(path)) for path, why in skipped]
    lake = Lake(Path(section(params, "lake.root")))
    write_parquet_atomic(lake.quarantine_path(STAGE), conform(quarantine, QUARANTINE), QUARANTINE.schema)
    report_metrics(STAGE, counts)


if __name__ == "__main__":
    main()

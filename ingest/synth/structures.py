"""Crystal structures for atomic-resolution images: pymatgen's 288 AFLOW prototypes.

The prototypes are read straight from the JSON file pymatgen ships
(``pymatgen/analysis/prototypes/aflow_prototypes.json.gz``), which costs 15 ms
instead of the seconds importing pymatgen's structure machinery takes.
``project_columns`` views a structure down one of its lattice vectors (the
[100], [010] or [001] zone axis): every atom projects onto the plane normal to
that vector, and the projected positions repeat on the 2-D lattice spanned by
the other two vectors' projections — the atom columns a HAADF-STEM image shows.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import math
from dataclasses import dataclass
from functools import cache, reduce
from pathlib import Path

import numpy as np

ZONE_AXES = ("[100]", "[010]", "[001]")


@dataclass(frozen=True)
class Prototype:
    aflow: str
    pearson: str
    strukturbericht: str | None
    mineral: str | None
    formula: str
    space_group_number: int
    lattice: np.ndarray
    """3×3, rows are lattice vectors, Å"""
    cart: np.ndarray
    """n×3 cartesian site positions, Å"""
    z: np.ndarray
    """atomic number per site"""


@dataclass(frozen=True)
class Projection:
    """Atom columns of a structure seen down a zone axis, in Å."""

    a: np.ndarray
    b: np.ndarray
    """2-D lattice vectors of the projected pattern"""
    columns: np.ndarray
    """m×2 column positions within one projected cell"""
    weights: np.ndarray
    """Σ Z^n of the atoms in each column (HAADF contrast)"""
    min_spacing: float
    """closest distance between distinct columns, Å"""


def _prototype_file() -> Path:
    spec = importlib.util.find_spec("pymatgen")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("pymatgen is required for its bundled AFLOW prototypes")
    return Path(next(iter(spec.submodule_search_locations))) / "analysis" / "prototypes" / "aflow_prototypes.json.gz"


@cache
def _atomic_numbers() -> dict[str, int]:
    from pymatgen.core.periodic_table import Element

    return {e.symbol: e.Z for e in Element}


def reduced_formula(symbols: list[str]) -> str:
    counts: dict[str, int] = {}
    for s in symbols:
        counts[s] = counts.get(s, 0) + 1
    g = reduce(math.gcd, counts.values())
    return "".join(f"{el}{n // g if n // g > 1 else ''}" for el, n in counts.items())


@cache
def load_prototypes() -> tuple[Prototype, ...]:
    with gzip.open(_prototype_file()) as f:
        entries = json.loads(f.read())
    z_of = _atomic_numbers()
    out = []
    for e in entries:
        snl, tags = e["snl"], e["tags"]
        symbols = [max(s["species"], key=lambda sp: sp["occu"])["element"] for s in snl["sites"]]
        out.append(Prototype(
            aflow=tags["aflow"],
            pearson=tags.get("pearson", ""),
            strukturbericht=tags.get("strukturbericht") or None,
            mineral=tags.get("mineral") or None,
            formula=reduced_formula(symbols),
            space_group_number=int(tags["aflow"].split("_")[2]),
            lattice=np.array(snl["lattice"]["matrix"], dtype=np.float64),
            cart=np.array([s["xyz"] for s in snl["sites"]], dtype=np.float64),
            z=np.array([z_of[s] for s in symbols], dtype=np.float64),
        ))
    return tuple(out)


def project_columns(proto: Prototype, zone: int, z_exponent: float = 1.7) -> Projection:
    """Atom columns of ``proto`` seen down lattice vector ``zone`` (0, 1, 2 → [100], [010], [001])."""
    c = proto.lattice[zone]
    n = c / np.linalg.norm(c)
    a3, b3 = (proto.lattice[i] for i in range(3) if i != zone)
    e1 = a3 - (a3 @ n) * n
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(n, e1)
    basis = np.stack([e1, e2], axis=1)  # 3×2
    a, b = a3 @ basis, b3 @ basis
    pts = proto.cart @ basis
    # Reduce into the projected cell and merge atoms that share a column.
    inv = np.linalg.inv(np.stack([a, b], axis=1))
    frac = (pts @ inv.T) % 1.0
    key = np.round(frac * 200).astype(int) % 200
    merged: dict[tuple[int, int], list[float]] = {}
    for k, f, zz in zip(map(tuple, key), frac, proto.z, strict=True):
        slot = merged.setdefault(k, [f[0], f[1], 0.0])
        slot[2] += zz**z_exponent
    cols_frac = np.array([[v[0], v[1]] for v in merged.values()])
    weights = np.array([v[2] for v in merged.values()])
    columns = cols_frac @ np.stack([a, b])
    # Closest distinct columns, periodic images included.
    shifts = np.array([i * a + j * b for i in (-1, 0, 1) for j in (-1, 0, 1)])
    d = columns[:, None, None, :] - columns[None, :, None, :] - shifts[None, None, :, :]
    dist = np.linalg.norm(d, axis=-1)
    dist[dist < 1e-6] = np.inf
    return Projection(a, b, columns, weights, float(dist.min()))

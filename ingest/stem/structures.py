"""Crystal structures for atomic-resolution images: pymatgen's 288 AFLOW prototypes.

The prototypes are read straight from the JSON file pymatgen ships
(``pymatgen/analysis/prototypes/aflow_prototypes.json.gz``), which costs 15 ms
instead of the seconds importing pymatgen's structure machinery takes. The
file stores primitive cells for centred lattices; ``conventional`` gives the
conventional standard cell (spglib through pymatgen), in whose basis zone axes
are written in papers. Further structures come from CIF files
(``read_cifs``), deduplicated against the prototypes with StructureMatcher.

``project_columns`` views a structure down a zone axis [uvw] (a lattice
vector): every atom projects onto the plane normal to it, and the projected
positions repeat on the 2-D lattice that the whole 3-D lattice projects to —
the atom columns a HAADF-STEM image shows.
"""

from __future__ import annotations

import gzip
import importlib.util
import itertools
import json
import math
from dataclasses import dataclass, replace
from functools import cache, reduce
from pathlib import Path
from typing import Any

import numpy as np

ZONE_AXES = ("[100]", "[010]", "[001]")
"""The zone axes the synthetic journal draws (index 0, 1, 2)."""
Zone = tuple[int, int, int]
LOW_INDEX_ZONES: tuple[Zone, ...] = ((0, 0, 1), (1, 0, 0), (0, 1, 0), (1, 1, 0), (1, 0, 1), (0, 1, 1), (1, 1, 1))


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
    name: str = ""
    """unique id: the AFLOW label, '<label>-<formula>' where several structures share a label"""


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


def _tag(tags: dict[str, str], key: str) -> str | None:
    value = tags.get(key)
    return None if value in (None, "", "None") else value  # the file writes a missing tag as "None"


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
            strukturbericht=_tag(tags, "strukturbericht"),
            mineral=_tag(tags, "mineral"),
            formula=reduced_formula(symbols),
            space_group_number=int(tags["aflow"].split("_")[2]),
            lattice=np.array(snl["lattice"]["matrix"], dtype=np.float64),
            cart=np.array([s["xyz"] for s in snl["sites"]], dtype=np.float64),
            z=np.array([z_of[s] for s in symbols], dtype=np.float64),
        ))
    shared = {p.aflow for p in out if sum(q.aflow == p.aflow for q in out) > 1}
    return tuple(replace(p, name=f"{p.aflow}-{p.formula}" if p.aflow in shared else p.aflow) for p in out)


def zone_label(uvw: Zone) -> str:
    """[uvw] as crystallographers write it, negative indices with a minus: [1-10]."""
    return "[" + "".join(str(i) for i in uvw) + "]"


def _in_plane_pair(lattice: np.ndarray, uvw: Zone) -> tuple[np.ndarray, np.ndarray]:
    """Two lattice vectors completing [uvw] to a basis of the lattice, shortest once projected.

    Any unimodular completion projects onto the same 2-D lattice; short vectors keep the
    projected cell compact. A search over indices -2..2 finds one for every low-index axis.
    """
    axis = np.asarray(uvw)
    if sorted(np.abs(axis)) == [0, 0, 1]:  # a cell vector: the other two, as the synthetic journal has them
        return tuple(lattice[i] for i in range(3) if axis[i] == 0)  # type: ignore[return-value]
    grid = np.array([v for v in itertools.product(range(-2, 3), repeat=3) if any(v)])
    det = grid @ np.cross(grid, axis).T  # det[i, j] = det([g_i; g_j; uvw])
    t = axis @ lattice
    n = t / np.linalg.norm(t)
    cart = grid @ lattice
    proj_len = np.linalg.norm(cart - np.outer(cart @ n, n), axis=1)
    cost = np.where(np.abs(det) == 1, proj_len[:, None] + proj_len[None, :], np.inf)
    i, j = np.unravel_index(np.argmin(cost), cost.shape)
    if not np.isfinite(cost[i, j]):
        raise ValueError(f"zone axis {zone_label(uvw)} has no small basis completion")
    return cart[i], cart[j]


def _gauss_reduce(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lagrange-Gauss reduction: the shortest, most nearly orthogonal basis of a 2-D lattice."""
    while True:
        if a @ a > b @ b:
            a, b = b, a
        k = round(float(a @ b) / float(a @ a))
        if k == 0:
            return a, b
        b = b - k * a


def project_columns(proto: Prototype, zone: int | Zone, z_exponent: float = 1.7) -> Projection:
    """Atom columns of ``proto`` seen down ``zone``: a [uvw] of its cell, or 0, 1, 2 for [100], [010], [001]."""
    uvw: Zone = zone if isinstance(zone, tuple) else (int(zone == 0), int(zone == 1), int(zone == 2))
    c = np.asarray(uvw) @ proto.lattice
    n = c / np.linalg.norm(c)
    a3, b3 = _in_plane_pair(proto.lattice, uvw)
    e1 = a3 - (a3 @ n) * n
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(n, e1)
    basis = np.stack([e1, e2], axis=1)  # 3×2
    a, b = a3 @ basis, b3 @ basis
    if isinstance(zone, tuple):  # (the journal's three axes keep their cell's own pair)
        a, b = _gauss_reduce(a, b)
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


def _pmg_structure(proto: Prototype):  # noqa: ANN202 - pymatgen imported lazily (seconds)
    from pymatgen.core import Lattice, Structure

    species: list[Any] = [int(z) for z in proto.z]  # atomic numbers
    return Structure(Lattice(proto.lattice), species, proto.cart, coords_are_cartesian=True)


@cache
def space_group_symbol(number: int) -> str:
    from pymatgen.symmetry.groups import SpaceGroup

    return SpaceGroup.from_int_number(number).symbol


def conventional(proto: Prototype) -> Prototype:
    """``proto`` in its conventional standard cell (zone axes as papers index them)."""
    from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

    conv = SpacegroupAnalyzer(_pmg_structure(proto), symprec=0.01).get_conventional_standard_structure()
    return replace(proto, lattice=np.array(conv.lattice.matrix), cart=np.array(conv.cart_coords),
                   z=np.array([site.specie.Z for site in conv], dtype=np.float64))


def read_cifs(paths: list[Path], known: tuple[Prototype, ...]) -> tuple[list[Prototype], list[tuple[Path, str]]]:
    """Structures from CIF files, minus those StructureMatcher finds among ``known`` or each other.

    Returns (new prototypes, [(file, why skipped)]): unreadable files and duplicates are named,
    never dropped silently.
    """
    from pymatgen.analysis.structure_matcher import StructureMatcher
    from pymatgen.core import Structure
    from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

    matcher = StructureMatcher()
    seen = [(p.name, _pmg_structure(p)) for p in known]
    new: list[Prototype] = []
    skipped: list[tuple[Path, str]] = []
    for path in paths:
        try:
            s = Structure.from_file(path)
        except Exception as e:  # noqa: BLE001 - any parse failure is reported with the file
            skipped.append((path, f"unreadable CIF: {e}"))
            continue
        s.remove_oxidation_states()
        twin = next((name for name, other in seen if matcher.fit(s, other)), None)
        if twin is not None:
            skipped.append((path, f"same structure as {twin}"))
            continue
        sga = SpacegroupAnalyzer(s, symprec=0.01)
        symbols = [max(site.species.items(), key=lambda kv: kv[1])[0].symbol for site in s]
        proto = Prototype(aflow=path.stem, name=path.stem, pearson="", strukturbericht=None, mineral=None,
                          formula=reduced_formula(symbols), space_group_number=sga.get_space_group_number(),
                          lattice=np.array(s.lattice.matrix), cart=np.array(s.cart_coords),
                          z=np.array([max(site.species.items(), key=lambda kv: kv[1])[0].Z for site in s],
                                     dtype=np.float64))
        seen.append((proto.name, s))
        new.append(proto)
    return new, skipped

"""Micrographs from simple physical models.

- ``haadf_stem``: atomic-resolution HAADF-STEM in the incoherent-imaging
  approximation — atom columns of a real prototype structure (``structures``),
  Z^1.7 contrast, a Gaussian probe, Poisson counting noise, scan-line jitter
  and a slowly varying background.
- ``particle_micrograph``: SEM/TEM images of nanoparticles, rods, wires and
  sheets. TEM: dark objects (mass-thickness contrast) on a bright film; SEM:
  bright objects with brighter edges (edge effect) on a dark substrate.

All functions are pure: size and a numpy Generator in, an image array out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
from scipy import ndimage

from ingest.stem.render import add_haadf_noise, column_image, to_uint8
from ingest.stem.structures import ZONE_AXES, Prototype, load_prototypes, project_columns


@dataclass
class Micrograph:
    image: np.ndarray
    """h×w uint8, grey"""
    nm_per_px: float
    technique: str
    subject: str
    structure: dict[str, Any] | None = field(default=None)


def pick_stem_structure(rng: np.random.Generator, min_spacing: float = 1.3) -> tuple[Prototype, int]:
    """A prototype and zone axis whose columns are resolvable (≥ ``min_spacing`` Å apart)."""
    protos = load_prototypes()
    while True:
        p = protos[int(rng.integers(len(protos)))]
        zone = int(rng.integers(3))
        if project_columns(p, zone).min_spacing >= min_spacing and len(p.cart) <= 24:
            return p, zone


def haadf_stem(shape: tuple[int, int], rng: np.random.Generator, proto: Prototype | None = None,
               zone: int | None = None) -> Micrograph:
    """Atomic-resolution HAADF-STEM image of a prototype structure, with realistic noise."""
    if proto is None or zone is None:
        proto, zone = pick_stem_structure(rng)
    proj = project_columns(proto, zone)
    spacing_px = rng.uniform(5.0, 9.0)  # closest columns this many px apart
    nm_per_px = proj.min_spacing / 10 / spacing_px
    clean = column_image(proj, shape, nm_per_px, rotation=rng.uniform(0, np.pi),
                         shift=rng.uniform(0, 20, 2), probe_sigma_px=spacing_px * rng.uniform(0.16, 0.24))
    clean /= clean.max() or 1.0
    img = add_haadf_noise(clean, rng, (40, 250))
    structure = {"prototype": proto.aflow, "formula": proto.formula, "zone_axis": ZONE_AXES[zone],
                 "strukturbericht": proto.strukturbericht, "space_group_number": proto.space_group_number}
    return Micrograph(to_uint8(img), nm_per_px, "HAADF-STEM", f"{proto.formula} along {ZONE_AXES[zone]}",
                      structure)


MORPHOLOGIES = ("nanoparticles", "nanorods", "nanowires", "nanosheets")


def particle_micrograph(shape: tuple[int, int], rng: np.random.Generator, material: str,
                        morphology: str | None = None, technique: str | None = None) -> Micrograph:
    """SEM or TEM image of nano-objects of one morphology."""
    h, w = shape
    morphology = morphology or MORPHOLOGIES[int(rng.integers(len(MORPHOLOGIES)))]
    technique = technique or ("SEM" if rng.random() < 0.5 else "TEM")
    size_px = rng.uniform(8, 40)  # typical object size in px
    size_nm = {"nanoparticles": rng.uniform(5, 120), "nanorods": rng.uniform(10, 60),
               "nanowires": rng.uniform(20, 150), "nanosheets": rng.uniform(100, 2000)}[morphology]
    nm_per_px = size_nm / size_px
    density = np.zeros((h, w), np.float32)
    n_objects = int(rng.uniform(0.3, 1.0) * h * w / (size_px**2 * 3)) + 2
    for _ in range(n_objects):
        layer = np.zeros((h, w), np.uint8)
        cx, cy = int(rng.uniform(0, w)), int(rng.uniform(0, h))
        r = max(2, int(size_px / 2 * rng.uniform(0.6, 1.4)))
        if morphology == "nanoparticles":
            cv2.circle(layer, (cx, cy), r, 255, -1, cv2.LINE_AA)
        elif morphology in ("nanorods", "nanowires"):
            length = r * (rng.uniform(3, 6) if morphology == "nanorods" else rng.uniform(10, 25))
            ang = rng.uniform(0, np.pi)
            dx, dy = np.cos(ang) * length / 2, np.sin(ang) * length / 2
            thick = max(2, int(r * (0.8 if morphology == "nanorods" else 0.4)))
            p0, p1 = (int(cx - dx), int(cy - dy)), (int(cx + dx), int(cy + dy))
            cv2.line(layer, p0, p1, 255, thick, cv2.LINE_AA)
            for p in (p0, p1):
                cv2.circle(layer, p, thick // 2, 255, -1, cv2.LINE_AA)
        else:
            k = int(rng.integers(4, 8))
            angles = np.sort(rng.uniform(0, 2 * np.pi, k))
            rad = r * rng.uniform(2, 5) * rng.uniform(0.7, 1.0, k)
            poly = np.stack([cx + rad * np.cos(angles), cy + rad * np.sin(angles)], 1).astype(np.int32)
            cv2.fillPoly(layer, [poly], 255, cv2.LINE_AA)
        density += layer.astype(np.float32) / 255 * (0.35 if morphology == "nanosheets" else 1.0)
    density = np.clip(density, 0, 2.0)
    if technique == "TEM":
        img = 0.85 - 0.45 * density
    else:
        edges = np.abs(ndimage.gaussian_laplace(density, 1.5))
        img = 0.15 + 0.45 * np.clip(density, 0, 1) + 1.2 * edges
    # Support film or liquid: a smooth, uneven background; low-magnification and liquid-cell images are soft.
    background = ndimage.gaussian_filter(rng.random((h, w)), max(2.0, min(h, w) / 8))
    background = (background - background.mean()) / (background.std() or 1)
    img = img + rng.uniform(0, 0.12) * background
    img = ndimage.gaussian_filter(img, rng.uniform(0.6, 1.4) if rng.random() < 0.7 else rng.uniform(2.0, 4.0))
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    img = img + 0.05 * (rng.uniform(-1, 1) * xx + rng.uniform(-1, 1) * yy)
    img = img + rng.normal(0, rng.uniform(0.02, 0.06), img.shape)
    out = to_uint8(img)
    if rng.random() < 0.4:  # printed with a compressed grey range (low contrast)
        lo, hi = rng.uniform(20, 80), rng.uniform(170, 235)
        out = (lo + out.astype(np.float32) * (hi - lo) / 255).astype(np.uint8)
    return Micrograph(out, nm_per_px, technique, f"{material} {morphology}")

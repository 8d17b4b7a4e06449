"""HAADF-STEM images of crystal structures in the incoherent-imaging approximation.

A HAADF detector collects electrons scattered to high angles, where the
cross-section grows roughly as Z^n (n ≈ 1.7): the image is, to first order,
the probe intensity convolved with the projected atom columns, each weighted
by Σ Z^n along it. Thick crystals channel the probe down heavy columns and
their contrast saturates, modelled as ``1 - exp(-w / w_sat)``. The noise of an
experimental image: a slowly varying background (amorphous surface layers),
Poisson counting noise at the detector's dose, scan-line jitter (each line
shifted by a fraction of a pixel: sample drift, stage instability) and the
detector's blur.

``render`` is the library's renderer: one structure and zone axis, imaging
conditions drawn from a Generator, a float image out. The synthetic journal
draws its HAADF panels with the same two pieces (``column_image``,
``add_haadf_noise``).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ingest.stem.structures import Projection


def column_image(proj: Projection, shape: tuple[int, int], nm_per_px: float, rotation: float,
                 shift: np.ndarray, probe_sigma_px: float, weights: np.ndarray | None = None) -> np.ndarray:
    """Noise-free HAADF intensity: Gaussian probe over the projected columns, px grid ``shape``.

    ``weights`` replaces the projection's Σ Z^n per column (e.g. saturated by thickness).
    """
    h, w = shape
    a_px, b_px = proj.a / (nm_per_px * 10), proj.b / (nm_per_px * 10)
    cols_px = proj.columns / (nm_per_px * 10)
    rot = np.array([[np.cos(rotation), -np.sin(rotation)], [np.sin(rotation), np.cos(rotation)]])
    # Enough cells to cover the image diagonal after rotation.
    reach = np.hypot(h, w)
    n = int(np.ceil(reach / min(np.linalg.norm(a_px), np.linalg.norm(b_px)))) + 2
    i, j = np.meshgrid(np.arange(-n, n + 1), np.arange(-n, n + 1), indexing="ij")
    origins = i.reshape(-1, 1) * a_px + j.reshape(-1, 1) * b_px
    pts = (origins[:, None, :] + cols_px[None, :, :]).reshape(-1, 2) @ rot.T + shift
    wts = np.tile(proj.weights if weights is None else weights, len(origins))
    keep = (pts[:, 0] > -4) & (pts[:, 0] < w + 4) & (pts[:, 1] > -4) & (pts[:, 1] < h + 4)
    pts, wts = pts[keep], wts[keep]
    # Bilinear splat of each column's weight, then the probe as one Gaussian filter.
    grid = np.zeros((h + 2, w + 2))
    x, y = pts[:, 0] + 1, pts[:, 1] + 1
    x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
    fx, fy = x - x0, y - y0
    for dx, dy, f in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)), (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):
        xi, yi = x0 + dx, y0 + dy
        ok = (xi >= 0) & (xi < w + 2) & (yi >= 0) & (yi < h + 2)
        np.add.at(grid, (yi[ok], xi[ok]), wts[ok] * f[ok])
    return ndimage.gaussian_filter(grid, probe_sigma_px)[1:-1, 1:-1]


def add_haadf_noise(clean: np.ndarray, rng: np.random.Generator, counts_range: tuple[float, float],
                    jitter_px: float = 0.35) -> np.ndarray:
    """``clean`` (max 1) with background, Poisson counts (mean ``counts_range`` at the brightest
    column), scan-line jitter and detector blur."""
    h, w = clean.shape
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    background = 0.08 + 0.06 * (rng.uniform(-1, 1) * xx + rng.uniform(-1, 1) * yy)
    counts = rng.uniform(*counts_range)
    img = rng.poisson(np.clip(clean + background, 0, None) * counts).astype(np.float64) / counts
    jitter = ndimage.gaussian_filter1d(rng.normal(0, jitter_px, h), 2)
    img = np.stack([ndimage.shift(row, s, order=1, mode="nearest") for row, s in zip(img, jitter, strict=True)])
    return ndimage.gaussian_filter(img, 0.6)


def to_uint8(img: np.ndarray, lo_pct: float = 0.5, hi_pct: float = 99.7) -> np.ndarray:
    """Percentile-stretch to 0-255, as a micrograph is displayed and published."""
    lo, hi = np.percentile(img, [lo_pct, hi_pct])
    return np.clip((img - lo) / max(hi - lo, 1e-9) * 255, 0, 255).astype(np.uint8)


def counts_for(noise_level: float) -> tuple[float, float]:
    """Detector counts at the brightest column for a noise level 0 (≈ 1000, clean) … 1 (≈ 12, very noisy)."""
    centre = 10 ** (3.0 - 1.9 * noise_level)
    return centre * 0.8, centre * 1.25


def render(proj: Projection, rng: np.random.Generator, noise_level: float, size_px: int,
           nm_per_px: float) -> np.ndarray:
    """One library image of ``proj``: float, h×w = ``size_px``², roughly 0-1.

    Drawn per image: in-plane rotation and shift, probe size (FWHM 0.7-1.1 Å, an aberration-
    corrected probe), thickness (how far heavy columns saturate) and the noise at ``noise_level``.
    """
    rotation = rng.uniform(0, 2 * np.pi)
    shift = rng.uniform(0, size_px, 2)
    probe_sigma_px = rng.uniform(0.7, 1.1) / 2.355 / (nm_per_px * 10)
    saturation = rng.uniform(0.3, 3.0)  # thin (linear in Σ Z^n) … thick (heavy columns saturated)
    weights = 1 - np.exp(-saturation * proj.weights / proj.weights.max())
    clean = column_image(proj, (size_px, size_px), nm_per_px, rotation, shift, probe_sigma_px, weights)
    clean /= clean.max() or 1.0
    return add_haadf_noise(clean, rng, counts_for(noise_level), jitter_px=0.15 + 0.4 * noise_level)

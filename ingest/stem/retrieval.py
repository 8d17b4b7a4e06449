"""Retrieval scores and the baselines the encoder is measured against.

``mean_average_precision``: every item queries all the others (itself
excluded); AP averages the precision at each relevant hit; items with no
relevant partner are not queries. The baselines are descriptors a scientist
could use without training: raw pixels (cosine), a rotation-invariant Fourier
descriptor (the radial and angular power spectrum: invariant to shift, and to
rotation up to the angular binning), and SSIM.
"""

from __future__ import annotations

import time

import numpy as np
from skimage.metrics import structural_similarity


def mean_average_precision(sim: np.ndarray, labels: np.ndarray,
                           queries: np.ndarray | None = None) -> tuple[float, float]:
    """(mAP, top-1 accuracy) of ranking all items by ``sim``, relevant = same label.

    ``sim`` is queries×items (higher = closer); ``queries`` the item index of each row
    (default: every item queries).
    """
    queries = np.arange(len(sim)) if queries is None else np.asarray(queries)
    sim = sim.astype(np.float64).copy()
    sim[np.arange(len(sim)), queries] = -np.inf
    order = np.argsort(-sim, axis=1)[:, :-1]  # the last one is the query itself
    rel = labels[order] == labels[queries][:, None]
    n_rel = rel.sum(axis=1)
    ok = n_rel > 0
    ranks = np.arange(1, rel.shape[1] + 1)
    ap = (rel * np.cumsum(rel, axis=1) / ranks).sum(axis=1)[ok] / n_rel[ok]
    return float(ap.mean()), float(rel[ok, 0].mean())


def cosine(a: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
    a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    b = a if b is None else b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    return a @ b.T


def raw_pixels(images: np.ndarray) -> np.ndarray:
    x = images.reshape(len(images), -1).astype(np.float32)
    return (x - x.mean(axis=1, keepdims=True)) / np.maximum(x.std(axis=1, keepdims=True), 1e-6)


def fourier_descriptor(images: np.ndarray, radial_bins: int = 32, angular_bins: int = 36) -> np.ndarray:
    """Rotation- and shift-invariant: log power spectrum summed over rings, and the magnitude of the
    angular Fourier transform of the power in each of a few rings (a rotation shifts it circularly)."""
    n, h, w = images.shape
    win = np.outer(np.hanning(h), np.hanning(w))
    yy, xx = np.mgrid[0:h, 0:w]
    r = np.hypot(yy - h / 2, xx - w / 2) / (min(h, w) / 2)
    theta = np.arctan2(yy - h / 2, xx - w / 2) % np.pi  # the power spectrum is centro-symmetric
    rb = np.minimum((r * radial_bins).astype(int), radial_bins)
    ab = np.minimum((theta / np.pi * angular_bins).astype(int), angular_bins - 1)
    ring = np.minimum(rb * 4 // radial_bins, 4)  # four rings inside the Nyquist circle
    out = []
    for img in images.astype(np.float64):
        x = (img - img.mean()) * win
        p = np.abs(np.fft.fftshift(np.fft.fft2(x))) ** 2
        radial = np.bincount(rb.ravel(), p.ravel(), radial_bins + 1)[:radial_bins]
        polar = np.zeros((4, angular_bins))
        np.add.at(polar, (ring[ring < 4], ab[ring < 4]), p[ring < 4])
        angular = np.abs(np.fft.rfft(polar, axis=1))[:, 1:]
        out.append(np.concatenate([np.log1p(radial), np.log1p(angular).ravel()]))
    d = np.array(out)
    return (d - d.mean(axis=0)) / np.maximum(d.std(axis=0), 1e-9)


def ssim_scores(images: np.ndarray, queries: np.ndarray) -> tuple[np.ndarray, float]:
    """SSIM of each query index against every image (n_q×n), and seconds per query."""
    start = time.perf_counter()
    sim = np.array([[structural_similarity(images[q], g, data_range=255) for g in images] for q in queries])
    return sim, (time.perf_counter() - start) / max(len(queries), 1)

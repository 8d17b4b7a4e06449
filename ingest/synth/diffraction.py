"""Diffraction patterns: single-crystal spots, polycrystalline rings, and the FFT of an atomic image."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ingest.stem.render import to_uint8


def spot_pattern(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """SAED-like spots on a 2-D reciprocal lattice, intensity falling with |g|, optional beam stop."""
    h, w = shape
    g1 = rng.uniform(0.07, 0.16) * min(h, w)
    angle = rng.uniform(np.pi / 3, np.pi / 2)
    ratio = rng.uniform(0.8, 1.25)
    rot = rng.uniform(0, np.pi)
    a = g1 * np.array([np.cos(rot), np.sin(rot)])
    b = g1 * ratio * np.array([np.cos(rot + angle), np.sin(rot + angle)])
    img = np.zeros((h, w))
    c = np.array([w / 2, h / 2]) + rng.uniform(-0.05, 0.05, 2) * min(h, w)
    n = int(max(h, w) / g1) + 2
    falloff = rng.uniform(0.25, 0.5) * min(h, w)
    for i in range(-n, n + 1):
        for j in range(-n, n + 1):
            p = c + i * a + j * b
            if 0 <= p[0] < w and 0 <= p[1] < h:
                r = np.hypot(*(p - c))
                img[int(p[1]), int(p[0])] += (5.0 if i == j == 0 else 1.0) * np.exp(-r / falloff) * rng.uniform(0.5, 1)
    img = ndimage.gaussian_filter(img, rng.uniform(1.0, 2.2)) * 40
    img += 0.02 * np.exp(-np.hypot(*np.mgrid[0:h, 0:w][::-1] - c[:, None, None]) / (0.3 * min(h, w)))
    img = np.log1p(img * 30 + rng.normal(0, 0.01, img.shape).clip(0))
    if rng.random() < 0.4:  # beam stop shadow from the centre to an edge
        y0 = int(c[1])
        img[max(0, y0 - 4):y0 + 4, int(c[0]):] *= 0.1
    return to_uint8(img, 1, 99.9)


def ring_pattern(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Polycrystalline rings at the d-spacings of a cubic lattice, speckled by finite grain counts."""
    h, w = shape
    c = np.array([w / 2, h / 2])
    yy, xx = np.mgrid[0:h, 0:w]
    r = np.hypot(xx - c[0], yy - c[1])
    base = rng.uniform(0.08, 0.14) * min(h, w)  # radius of the first ring
    allowed = [3, 4, 8, 11, 12, 16, 19, 20, 24] if rng.random() < 0.5 else [2, 4, 6, 8, 10, 12, 14, 16]
    img = np.zeros((h, w))
    for k, s in enumerate(allowed):
        radius = base * np.sqrt(s / allowed[0])
        if radius > 0.7 * max(h, w):
            break
        width = rng.uniform(0.8, 2.0)
        speckle = ndimage.gaussian_filter(rng.random((h, w)), 1.2) ** 3 * 6
        img += np.exp(-((r - radius) ** 2) / (2 * width**2)) * (1.0 / (1 + 0.3 * k)) * (0.5 + speckle)
    img += 3 * np.exp(-r / (0.04 * min(h, w)))
    img += rng.normal(0, 0.02, img.shape)
    return to_uint8(np.log1p(np.clip(img, 0, None) * 5), 1, 99.8)


def fft_pattern(image: np.ndarray) -> np.ndarray:
    """Log-magnitude FFT of an image (what a 'FFT inset' shows), windowed to suppress edge streaks."""
    img = image.astype(np.float64)
    win = np.outer(np.hanning(img.shape[0]), np.hanning(img.shape[1]))
    f = np.fft.fftshift(np.abs(np.fft.fft2((img - img.mean()) * win)))
    return to_uint8(np.log1p(f), 5, 99.95)

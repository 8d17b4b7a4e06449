"""Illustrations (schematics: shapes, atoms, arrows, text) and photo-like panels."""

from __future__ import annotations

import cv2
import numpy as np
from scipy import ndimage

from ingest.synth.marks import draw_text, font

PALETTE = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75),
           (127, 127, 127), (188, 189, 34), (23, 190, 207), (230, 171, 2)]
WORDS = ("Ag", "Pd", "Au", "Pt", "TiO2", "e⁻", "h⁺", "Li⁺", "O2", "H2O", "heat", "anneal", "growth", "etch",
         "substrate", "seed", "shell", "core", "hv", "reduction")


def illustration(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A schematic: coloured blocks and spheres, arrows between stages, short text labels, on white."""
    h, w = shape
    img = np.full((h, w, 3), 255, np.uint8)
    stages = int(rng.integers(2, 4))
    step = w / stages
    fsize = max(9, int(min(h, w) / 14))
    fnt = font("sans", fsize)
    for s in range(stages):
        cx, cy = int(step * (s + 0.5)), int(h * rng.uniform(0.4, 0.6))
        size = int(min(step, h) * rng.uniform(0.2, 0.32))
        color = PALETTE[int(rng.integers(len(PALETTE)))]
        if rng.random() < 0.5:
            cv2.rectangle(img, (cx - size, cy - size // 2), (cx + size, cy + size // 2), color, -1, cv2.LINE_AA)
        else:
            cv2.circle(img, (cx, cy), size, color, -1, cv2.LINE_AA)
            shell = PALETTE[int(rng.integers(len(PALETTE)))]
            cv2.circle(img, (cx, cy), size, shell, max(2, size // 6), cv2.LINE_AA)
        for _ in range(int(rng.integers(2, 7))):  # small "atoms" around it
            ang, dist = rng.uniform(0, 2 * np.pi), size * rng.uniform(1.1, 1.5)
            p = (int(cx + dist * np.cos(ang)), int(cy + dist * np.sin(ang)))
            cv2.circle(img, p, max(2, size // 6), PALETTE[int(rng.integers(len(PALETTE)))], -1, cv2.LINE_AA)
        word = WORDS[int(rng.integers(len(WORDS)))]
        draw_text(img, (max(0, cx - size), min(h - fsize - 2, cy + size + 6)), word, fnt, (0, 0, 0))
        if s < stages - 1:
            x0, x1 = int(cx + size * 1.6), int(step * (s + 1.5) - size * 1.6)
            if x1 - x0 > 10:
                cv2.arrowedLine(img, (x0, cy), (x1, cy), (40, 40, 40), max(1, fsize // 6), cv2.LINE_AA,
                                tipLength=0.25)
    return img


def photo(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A photograph-like panel: smooth lit background and a shaded object (a vial, wafer or film)."""
    h, w = shape
    base = np.array(PALETTE[int(rng.integers(len(PALETTE)))], np.float64)
    field = ndimage.gaussian_filter(rng.random((h, w)), min(h, w) / 6)
    field = (field - field.min()) / (np.ptp(field) or 1)
    yy, xx = np.mgrid[0:h, 0:w]
    light = 1 - 0.5 * np.hypot(xx / w - rng.uniform(0.2, 0.8), yy / h - rng.uniform(0.2, 0.8))
    img = (0.35 + 0.5 * field[..., None]) * light[..., None] * (base * 0.6 + 90)
    obj = np.zeros((h, w), np.float32)
    cx, cy = int(w * rng.uniform(0.35, 0.65)), int(h * rng.uniform(0.35, 0.65))
    if rng.random() < 0.5:
        cv2.ellipse(obj, (cx, cy), (int(w * 0.25), int(h * 0.25)), 0, 0, 360, 1.0, -1, cv2.LINE_AA)
    else:
        cv2.rectangle(obj, (cx - int(w * 0.12), cy - int(h * 0.3)), (cx + int(w * 0.12), cy + int(h * 0.3)),
                      1.0, -1, cv2.LINE_AA)
    obj = ndimage.gaussian_filter(obj, 1.5)
    tint = np.array(PALETTE[int(rng.integers(len(PALETTE)))], np.float64)
    shade = (0.6 + 0.4 * (1 - yy / h))[..., None]
    img = img * (1 - obj[..., None]) + tint * shade * obj[..., None]
    img += rng.normal(0, 4, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)

"""A small lake written directly (no pipeline run): two articles, two figures whose panels are drawn
here with known boxes, classes, captions, scale bars, thumbnails and spectra. The search tests embed
it; the explorer tests also catalogue it."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from catalog.schema import (
    ARTICLES,
    CAPTION_SEGMENTS,
    FIGURES,
    IMAGES,
    SCALE_BARS,
    SPECTRA,
    SUBFIGURES,
    THUMBNAILS,
    conform,
)
from catalog.tables import Lake, write_table
from embeddings.clip import DomainSettings, train_domain


def _particles(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = np.full((96, 96), 60, np.uint8)
    for _ in range(12):
        cv2.circle(img, (int(rng.integers(8, 88)), int(rng.integers(8, 88))), int(rng.integers(4, 9)), 220, -1)
    return np.dstack([img] * 3)


def _plot(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = np.full((96, 96, 3), 255, np.uint8)
    cv2.line(img, (10, 86), (90, 86), (0, 0, 0), 1)
    cv2.line(img, (10, 86), (10, 6), (0, 0, 0), 1)
    x = np.arange(12, 90)
    y = 80 - 60 * np.exp(-((x - rng.integers(30, 70)) / 5.0) ** 2)
    cv2.polylines(img, [np.stack([x, y], 1).astype(np.int32)], False, (200, 0, 0), 2)
    return img


def _rings(seed: int) -> np.ndarray:
    img = np.zeros((96, 96), np.uint8)
    for r in (12 + seed % 3, 24, 35):
        cv2.circle(img, (48, 48), r, 200, 1)
    cv2.circle(img, (48, 48), 3, 255, -1)
    return np.dstack([img] * 3)


def _jpeg(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=90)
    return buf.getvalue()


# (figure, label, class, own text, image)
PANELS = [
    ("A", "a", "microscopy", "TEM image of Au nanoparticles", _particles(1)),
    ("A", "b", "graph", "Raman spectrum of graphene", _plot(2)),
    ("B", "a", "microscopy", "SEM image of ZnO nanowires", _particles(3)),
    ("B", "b", "diffraction", "SAED pattern of polycrystalline Au", _rings(4)),
    ("B", "c", "graph", "XRD patterns of TiO2 films", _plot(5)),
]
ARTICLE = {"A": ("10.1/a", "J. Test", 2020, "CC-BY-4.0"), "B": ("10.1/b", "J. Other", 2022, "CC0-1.0")}
PEAK_X = np.linspace(100, 900, 300)


def _peak(x: np.ndarray, x0: float, w: float) -> np.ndarray:
    return 1 / (1 + ((x - x0) / w) ** 2)


def _png(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "PNG")
    return buf.getvalue()


GUTTER = 8


def figure_image(panels: list[np.ndarray]) -> tuple[np.ndarray, list[tuple[int, int, int, int]]]:
    """Panels side by side on white, with their boxes."""
    h = max(p.shape[0] for p in panels)
    w = sum(p.shape[1] for p in panels) + GUTTER * (len(panels) + 1)
    canvas = np.full((h + 2 * GUTTER, w, 3), 255, np.uint8)
    boxes, x = [], GUTTER
    for p in panels:
        canvas[GUTTER:GUTTER + p.shape[0], x:x + p.shape[1]] = p
        boxes.append((x, GUTTER, x + p.shape[1], GUTTER + p.shape[0]))
        x += p.shape[1] + GUTTER
    return canvas, boxes


def write_lake(root: Path, panels: list[tuple[str, str, str, str, np.ndarray]] = PANELS) -> Lake:
    lake = Lake(root)
    arts = [{"article_id": a, "doi": a, "title": f"Article {k}", "journal": j, "year": y, "license_spdx": lic,
             "source": "local"} for k, (a, j, y, lic) in ARTICLE.items()]
    figs, images, subs, segs, thumbs, bars = [], [], [], [], [], []
    for key, (article_id, *_rest) in ARTICLE.items():
        mine = [p for p in panels if p[0] == key]
        if not mine:
            continue
        fid = f"{article_id}/fig1"
        rgb, boxes = figure_image([p[4] for p in mine])
        data = _png(rgb)
        sha = hashlib.sha256(data).hexdigest()
        caption = "Characterisation. " + " ".join(f"({label}) {text}." for _, label, _, text, _ in mine)
        figs.append({"figure_id": fid, "article_id": article_id, "figure_label": "Figure 1", "caption": caption,
                     "image_url": f"https://example.org/{key}.png", "image_sha256": sha, "image_format": "png",
                     "width": rgb.shape[1], "height": rgb.shape[0], "license_spdx": ARTICLE[key][3]})
        images.append({"sha256": sha, "format": "png", "width": rgb.shape[1], "height": rgb.shape[0],
                       "bytes": data, "source": "test"})
        for (_, label, cls, text, img), (x0, y0, x1, y1) in zip(mine, boxes, strict=True):
            sid = f"{fid}/{label}"
            bbox = {"x0": x0, "y0": y0, "x1": x1, "y1": y1}
            subs.append({"subfigure_id": sid, "figure_id": fid, "article_id": article_id, "role": "master",
                         "label": label, "class": cls, "confidence": 0.9, "caption_text": text, "bbox": bbox,
                         "label_bbox": {"x0": x0 + 2, "y0": y0 + 2, "x1": x0 + 12, "y1": y0 + 14},
                         "nm_per_px": 0.5 if cls == "microscopy" else None, "license_spdx": ARTICLE[key][3]})
            segs.append({"figure_id": fid, "label": label, "text": text, "own_text": text, "techniques": [],
                         "materials": [], "keywords": []})
            thumbs.append({"subfigure_id": sid, "figure_id": fid, "width": 96, "height": 96, "bytes": _jpeg(img)})
            if cls == "microscopy":
                bars.append({"scale_bar_id": f"{sid}/bar0", "subfigure_id": sid, "figure_id": fid,
                             "bar_bbox": {"x0": x0 + 60, "y0": y1 - 10, "x1": x0 + 90, "y1": y1 - 6},
                             "length_px": 30.0, "value": 15.0, "unit": "nm", "nm_per_px": 0.5, "source": "image"})
    spectra = [{"spectrum_id": f"10.1/a/fig1/b/s{i}", "subfigure_id": "10.1/a/fig1/b", "series_index": i,
                "x": PEAK_X.tolist(), "y": _peak(PEAK_X, x0, w).tolist(), "x_unit": "cm⁻¹", "color": "#c80000"}
               for i, (x0, w) in enumerate(((300, 20), (650, 120)))]
    for spec, rows in ((ARTICLES, arts), (FIGURES, figs), (IMAGES, images), (SUBFIGURES, subs),
                       (CAPTION_SEGMENTS, segs), (THUMBNAILS, thumbs), (SCALE_BARS, bars), (SPECTRA, spectra)):
        write_table(lake, spec, conform(rows, spec))
    return lake


def train_tiny_clip(out: Path) -> Path:
    """A domain CLIP trained for a few steps on the test panels (open_clip local-dir folder)."""
    images = [Image.fromarray(p[4]) for p in PANELS] * 4
    texts = [p[3] for p in PANELS] * 4
    train_domain(images, texts, DomainSettings(image_size=32, width=8, steps=25, batch_size=5, lr=3e-3, seed=1),
                 out)
    return out

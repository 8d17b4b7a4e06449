"""Image classes of subfigures: microscopy, diffraction, graph, illustration, photo (or unclear).

A small CNN, trained by figlake itself on synthetic-journal panels (the
``train_classifier`` stage; nothing downloaded). Its input is the crop
squeezed to 64×64 RGB plus four features the squeeze hides: aspect ratio,
ink fraction, colourfulness, and whether it has plot axes. Below ``UNCLEAR_BELOW`` confidence the
answer is "unclear". Parents are not classified: a master with dependents is a
parent by construction.

The model file holds the weights, the class list and the input size, so a
retrained model with other classes loads without code changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from torch import nn

from ingest.images import rgb_array

CLASSES = ("microscopy", "diffraction", "graph", "illustration", "photo")
SIZE = 64
UNCLEAR_BELOW = 0.45
N_FEATURES = 4


def has_axes(crop: np.ndarray, tol: int = 8) -> bool:
    """Does the panel have plot axes: a long dark horizontal line in its lower half meeting a
    long dark vertical line at one of its ends (an L, or a frame)? Arrows in a schematic are long
    lines too, but they do not meet at a corner."""
    h, w = crop.shape[:2]
    if h < 20 or w < 20:
        return False
    dark = (crop.min(axis=2) < 170).astype(np.uint8)
    if dark.mean() >= 0.5:  # a micrograph's dark background: axes are thin lines on a light page
        return False
    rows = cv2.morphologyEx(dark, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (int(0.4 * w), 1)))
    # 0.3 of the height: an axis with a break ("//") is two shorter segments
    cols = cv2.morphologyEx(dark, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, int(0.3 * h))))
    for y in np.flatnonzero(rows[h // 2:].any(axis=1)) + h // 2:
        xs = np.flatnonzero(rows[y])
        for x in (xs[0], xs[-1]):  # either end of the x axis
            near = cols[max(0, y - tol):y + tol + 1, max(0, x - tol):x + tol + 1]
            if near.any():
                return True
    return False


def features(crop: np.ndarray) -> np.ndarray:
    """Aspect ratio (log), share of ink pixels, colourfulness, plot axes: what a 64×64 squeeze hides."""
    h, w = crop.shape[:2]
    rgb = crop.astype(np.float32)
    ink = float((rgb.min(axis=2) < 215).mean())
    colour = float((rgb.max(axis=2) - rgb.min(axis=2)).mean() / 255)
    return np.array([np.log(max(w, 1) / max(h, 1)), ink, colour, float(has_axes(crop))], np.float32)


def preprocess(crop: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(3×SIZE×SIZE image in [0, 1], features) for one RGB crop."""
    crop = rgb_array(crop)
    if min(crop.shape[:2]) < 2:
        crop = np.full((SIZE, SIZE, 3), 255, np.uint8)
    small = cv2.resize(crop, (SIZE, SIZE), interpolation=cv2.INTER_AREA)
    return small.transpose(2, 0, 1).astype(np.float32) / 255.0, features(crop)


def apply_priors(p: np.ndarray, classes: tuple[str, ...], f: np.ndarray) -> np.ndarray:
    """Two facts of journal figures the network (trained on synthetic panels) does not always
    respect: a graph has axes, and a photograph of a sample is in colour. Classes that break them
    are ruled out, unless nothing else is left."""
    q = p.copy()
    if "graph" in classes and f[3] < 0.5:
        q[classes.index("graph")] = 0.0
    if "photo" in classes and f[2] < 0.02:
        q[classes.index("photo")] = 0.0
    return q / q.sum() if q.sum() > 1e-6 else p


class PanelNet(nn.Module):
    """Four conv blocks, global average+max pooling, features joined before the head (~70 k weights)."""

    def __init__(self, n_classes: int, n_features: int = N_FEATURES) -> None:
        super().__init__()

        def block(i: int, o: int) -> nn.Sequential:
            return nn.Sequential(nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU(), nn.MaxPool2d(2))

        self.body = nn.Sequential(block(3, 16), block(16, 32), block(32, 64), block(64, 64))
        self.head = nn.Sequential(nn.Linear(128 + n_features, 64), nn.ReLU(), nn.Dropout(0.2),
                                  nn.Linear(64, n_classes))

    def forward(self, x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
        z = self.body(x)
        z = torch.cat([z.mean(dim=(2, 3)), z.amax(dim=(2, 3)), f], dim=1)
        return self.head(z)


@dataclass
class PanelClassifier:
    net: PanelNet
    classes: tuple[str, ...]
    unclear_below: float = UNCLEAR_BELOW

    @classmethod
    def load(cls, path: Path) -> PanelClassifier:
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no panel classifier; build it with `dvc repro train_classifier`")
        blob: dict[str, Any] = torch.load(path, map_location="cpu", weights_only=True)
        classes = tuple(blob["classes"])
        net = PanelNet(len(classes), int(blob.get("n_features", N_FEATURES)))
        net.load_state_dict(blob["state_dict"])
        net.eval()
        return cls(net, classes, float(blob.get("unclear_below", UNCLEAR_BELOW)))

    def save(self, path: Path, provenance: dict[str, Any] | None = None) -> None:
        """Write the model; ``provenance`` (the training stage's fingerprint and metrics) goes with it."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        torch.save({"classes": list(self.classes), "state_dict": self.net.state_dict(), "size": SIZE,
                    "n_features": N_FEATURES, "unclear_below": self.unclear_below, **(provenance or {})}, tmp)
        tmp.replace(path)

    @staticmethod
    def training_metrics(path: Path) -> dict[str, Any]:
        """The metrics its training stage stored in a model file ({} for a file without them)."""
        blob = torch.load(path, map_location="cpu", weights_only=True)
        return dict(blob.get("metrics") or {})

    def probabilities(self, crops: list[np.ndarray]) -> np.ndarray:
        if not crops:
            return np.zeros((0, len(self.classes)), np.float32)
        pre = [preprocess(c) for c in crops]
        x = torch.from_numpy(np.stack([p[0] for p in pre]))
        f = torch.from_numpy(np.stack([p[1] for p in pre]))
        with torch.inference_mode():
            return torch.softmax(self.net(x, f), dim=1).numpy()

    def __call__(self, crops: list[np.ndarray]) -> list[tuple[str, float]]:
        out = []
        for crop, p in zip(crops, self.probabilities(crops), strict=True):
            p = apply_priors(p, self.classes, features(rgb_array(crop)))
            k = int(np.argmax(p))
            conf = float(p[k])
            out.append((self.classes[k] if conf >= self.unclear_below else "unclear", round(conf, 3)))
        return out

"""Boxes on a figure: ``(x0, y0, x1, y1)`` in pixels, x1/y1 exclusive, origin top-left."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

import numpy as np

T = TypeVar("T")

Box = tuple[int, int, int, int]
AnyBox = Sequence[float]


def grey(rgb: np.ndarray) -> np.ndarray:
    """Darkness-preserving grey: the darkest channel, so coloured ink counts as ink."""
    return rgb.min(axis=2) if rgb.ndim == 3 else rgb


def shrunk(ink: np.ndarray, box: Box) -> Box | None:
    """``box`` shrunk to the True (non-zero) pixels of ``ink`` (the pixels of ``box``, same origin);
    None when there are none."""
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    if len(rows) == 0:
        return None
    return box[0] + int(cols[0]), box[1] + int(rows[0]), box[0] + int(cols[-1]) + 1, box[1] + int(rows[-1]) + 1


def union(a: Box, b: Box) -> Box:
    return min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])


def gaps(a: AnyBox, b: AnyBox) -> tuple[float, float]:
    """Horizontal and vertical gaps between two boxes (0 where they overlap)."""
    return max(0, max(a[0], b[0]) - min(a[2], b[2])), max(0, max(a[1], b[1]) - min(a[3], b[3]))


def near(a: AnyBox, b: AnyBox, gap: float) -> bool:
    dx, dy = gaps(a, b)
    return dx <= gap and dy <= gap


def area(box: AnyBox) -> float:
    return max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1])


def intersection(a: AnyBox, b: AnyBox) -> float:
    return max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))


def iou(a: AnyBox, b: AnyBox) -> float:
    inter = intersection(a, b)
    total = area(a) + area(b) - inter
    return inter / total if total > 0 else 0.0


def grown(box: AnyBox, f: float) -> tuple[float, float, float, float]:
    """``box`` grown by ``f`` of its width and height on each side."""
    w, h = box[2] - box[0], box[3] - box[1]
    return box[0] - f * w, box[1] - f * h, box[2] + f * w, box[3] + f * h


def centre_in(inner: AnyBox, outer: AnyBox) -> bool:
    cx, cy = (inner[0] + inner[2]) / 2, (inner[1] + inner[3]) / 2
    return outer[0] <= cx <= outer[2] and outer[1] <= cy <= outer[3]


def as_box(box: AnyBox) -> Box:
    """Plain-int box (numpy integers do not serialise to JSON)."""
    return int(box[0]), int(box[1]), int(box[2]), int(box[3])


def reading_order(items: list[T], box_of: Callable[[T], AnyBox], row_tolerance: float = 15) -> list[T]:
    """Rows top to bottom (items whose tops lie within ``row_tolerance`` share a row), left to right in each."""
    rows: list[list[T]] = []
    for item in sorted(items, key=lambda i: box_of(i)[1]):
        if rows and box_of(item)[1] - box_of(rows[-1][0])[1] <= row_tolerance:
            rows[-1].append(item)
        else:
            rows.append([item])
    return [i for row in rows for i in sorted(row, key=lambda i: box_of(i)[0])]

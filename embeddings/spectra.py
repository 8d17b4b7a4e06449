"""Spectrum embeddings: a digitized series as a fixed-length, shape-only vector.

Papers plot the same spectrum at any size, offset and y scale (counts, a.u.,
normalised, stacked with an offset), so the vector keeps only the curve's
shape over its own x range: the series is sorted by x, resampled onto
``GRID`` evenly spaced points by linear interpolation, min–max normalised,
centred and scaled to unit length; cosine similarity then compares shapes.
Measured on the search benchmark (``embeddings.evaluate``), appending the
first derivative, smoothing, a finer grid or x-range features did not find
the source series more often, so the vector stays this simple.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from ingest.errors import InputError

GRID = 256
SPECTRUM_DIM = GRID
MIN_POINTS = 5


class SpectrumError(InputError):
    """A spectrum that cannot be embedded: too few points, no x range, not numbers."""


def _unit(v: np.ndarray) -> np.ndarray:
    v = v - v.mean()
    n = float(np.linalg.norm(v))
    return v / n if n > 0 else v


def spectrum_vector(x: list[float] | np.ndarray, y: list[float] | np.ndarray, source: str = "spectrum") -> np.ndarray:
    """The ``SPECTRUM_DIM`` float32 unit vector of one series; ``SpectrumError`` naming ``source`` when it has
    fewer than ``MIN_POINTS`` finite points or no x extent."""
    xs, ys = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if xs.shape != ys.shape or xs.ndim != 1:
        raise SpectrumError(source, f"x and y differ in shape ({xs.shape} vs {ys.shape})")
    ok = np.isfinite(xs) & np.isfinite(ys)
    xs, ys = xs[ok], ys[ok]
    if len(xs) < MIN_POINTS:
        raise SpectrumError(source, f"{len(xs)} finite points; at least {MIN_POINTS} needed")
    order = np.argsort(xs, kind="stable")
    xs, ys = xs[order], ys[order]
    if xs[-1] <= xs[0]:
        raise SpectrumError(source, "all points have the same x")
    grid = np.linspace(xs[0], xs[-1], GRID)
    curve = np.interp(grid, xs, ys)
    span = curve.max() - curve.min()
    curve = (curve - curve.min()) / span if span > 0 else np.zeros_like(curve)
    return _unit(curve).astype(np.float32)


def read_spectrum_csv(data: bytes | str | Path, source: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) from a two-column CSV (a header row, ``#`` comments, comma/tab/semicolon/space separated);
    the first two numeric columns are x and y. ``SpectrumError`` naming the file when it is not that."""
    if isinstance(data, Path | str) and not isinstance(data, bytes):
        path = Path(data)
        source = source or str(path)
        try:
            raw = path.read_bytes()
        except OSError as e:
            raise SpectrumError(source, f"cannot read: {e.strerror or e}") from e
    else:
        raw, source = data, source or "uploaded spectrum"
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise SpectrumError(source, "not a text (UTF-8) CSV file") from e
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        raise SpectrumError(source, "no data rows")
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(lines[0] if len(lines) == 1 else lines[1],
                                                                       delimiters=",;\t ")
    except csv.Error:
        dialect = csv.excel
    xs, ys = [], []
    for row in csv.reader(io.StringIO("\n".join(lines)), dialect):
        values = []
        for cell in row:
            try:
                values.append(float(cell))
            except ValueError:
                continue
        if len(values) >= 2 and np.isfinite(values[:2]).all():  # "nan"/"inf" parse as floats: not data
            xs.append(values[0])
            ys.append(values[1])
    if len(xs) < MIN_POINTS:
        raise SpectrumError(source, f"{len(xs)} rows with two finite numbers; need at least {MIN_POINTS} (x, y) rows")
    return np.asarray(xs), np.asarray(ys)

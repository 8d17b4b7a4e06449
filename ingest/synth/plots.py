"""Spectra plots with exact truth: real XANES (XAS Data Library) and model Raman, XRD and UV-vis.

Plots are drawn by matplotlib (Agg) at the panel's pixel size, so the truth of
every axis and series comes from matplotlib's own data→pixel transform, not
from a re-implementation. Limits are fixed before drawing and every random
choice is made before any series is hidden, so a plot rendered with
``hide={k}`` differs from the full plot exactly by series k's pixels — which is
how the tests check the truth against the pixels.

Pixel coordinates are continuous image coordinates: pixel column i covers
[i, i+1), row 0 is the top.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ingest.synth.truth import AxisTruth, Box, GraphTruth, SeriesTruth

XAS_DIR = Path(__file__).parent / "xas"
COLORS = ["#000000", "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2"]
STYLES = {"solid": "-", "dashed": "--", "dotted": ":"}
MARKERS = ("o", "s", "^", "D")


@dataclass(frozen=True)
class XasSpectrum:
    element: str
    edge: str
    sample: str
    energy: np.ndarray
    mu: np.ndarray


def read_xdi(path: Path) -> XasSpectrum:
    """μ(E) from an XDI file: ln(i0/itrans) for transmission, or the file's own mutrans."""
    columns: list[str] = []
    meta: dict[str, str] = {}
    rows = []
    for line in path.read_text(errors="replace").splitlines():
        if line.startswith("#"):
            if ":" in line:
                k, v = line[1:].split(":", 1)
                meta[k.strip().lower()] = v.strip()
                if k.strip().lower().startswith("column."):
                    columns.append(v.split()[0].lower())
            continue
        if line.strip():
            rows.append([float(x) for x in line.split()[: len(columns)]])
    data = np.array(rows)
    col = {c: data[:, i] for i, c in enumerate(columns)}
    mu = col["mutrans"] if "mutrans" in col else np.log(col["i0"] / col["itrans"])
    order = np.argsort(col["energy"])
    return XasSpectrum(meta.get("element.symbol", path.name.split("__")[0]), meta.get("element.edge", "K"),
                       meta.get("sample.formula") or meta.get("sample.name", path.stem).split()[0],
                       col["energy"][order], mu[order])


@cache
def xas_library() -> dict[str, list[XasSpectrum]]:
    lib: dict[str, list[XasSpectrum]] = {}
    for p in sorted(XAS_DIR.glob("*.xdi")):
        s = read_xdi(p)
        lib.setdefault(s.element, []).append(s)
    return lib


def normalised_xanes(s: XasSpectrum) -> tuple[np.ndarray, np.ndarray]:
    """Edge-step-normalised μ(E) from 30 eV below to 80 eV above the edge (max slope)."""
    e, mu = s.energy, s.mu
    e0 = e[np.argmax(np.gradient(mu, e))]
    pre = (e > e0 - 150) & (e < e0 - 20)
    post = (e > e0 + 60) & (e < e0 + 250)
    if pre.sum() >= 2:
        mu = mu - np.polyval(np.polyfit(e[pre], mu[pre], 1), e)
    step = mu[post].mean() if post.sum() else mu.max()
    keep = (e > e0 - 30) & (e < e0 + 80)
    return e[keep], mu[keep] / (step or 1.0)


def _variant(spectrum: tuple[np.ndarray, np.ndarray], k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k``-th repeat of a spectrum as a variant: edge shifted 2.5·k eV, white line 12 % weaker per step."""
    e, mu = spectrum
    if k == 0:
        return e, mu
    return e + 2.5 * k, 1 + (mu - 1) * (1 - 0.12 * k)


def lorentzian(x: np.ndarray, x0: float, gamma: float) -> np.ndarray:
    return 1.0 / (1.0 + ((x - x0) / gamma) ** 2)


def _raman(rng: np.random.Generator, n: int) -> tuple[np.ndarray, list[np.ndarray], str, str]:
    x = np.linspace(100, rng.choice([800, 1200, 1800]), 400)
    centres = np.sort(rng.uniform(x[0] + 50, x[-1] - 50, int(rng.integers(2, 6))))
    ys = []
    for _ in range(n):
        y = sum(rng.uniform(0.3, 1) * lorentzian(x, c + rng.normal(0, 4), rng.uniform(5, 25)) for c in centres)
        ys.append(y + 0.05 * (x - x[0]) / np.ptp(x) + rng.normal(0, 0.01, x.size))
    return x, ys, "Raman shift (cm⁻¹)", "Raman spectra"


def _xrd(rng: np.random.Generator, n: int) -> tuple[np.ndarray, list[np.ndarray], str, str]:
    x = np.linspace(10, 80, 700)
    ys = []
    for _ in range(n):
        a = rng.uniform(3.5, 6.0)
        y = np.zeros_like(x)
        for s in (3, 4, 8, 11, 12, 16, 19, 20, 24, 27):
            d = a / math.sqrt(s)
            if 1.5406 / (2 * d) < 1:
                two_theta = 2 * math.degrees(math.asin(1.5406 / (2 * d)))
                y += rng.uniform(0.1, 1.0) * lorentzian(x, two_theta, rng.uniform(0.08, 0.3))
        ys.append(y + 0.03 + rng.normal(0, 0.005, x.size).clip(-0.02))
    return x, ys, "2θ (degree)", "XRD patterns"


def _uvvis(rng: np.random.Generator, n: int) -> tuple[np.ndarray, list[np.ndarray], str, str]:
    x = np.linspace(300, 800, 300)
    ys = []
    for _ in range(n):
        peak = rng.uniform(380, 650)
        y = rng.uniform(0.3, 1.0) * np.exp(-((x - peak) ** 2) / (2 * rng.uniform(20, 60) ** 2))
        ys.append(y + 0.4 * np.exp(-(x - 300) / rng.uniform(60, 200)) + rng.normal(0, 0.004, x.size))
    return x, ys, "Wavelength (nm)", "UV-vis absorption spectra"


@dataclass
class Graph:
    image: np.ndarray
    """h×w×3 uint8"""
    truth: GraphTruth
    ink_box: Box
    """tight box of every pixel darker than min(RGB) < 230"""
    kind: str
    description: str


@dataclass
class PlotPlan:
    kind: str
    xs: list[np.ndarray]
    ys: list[np.ndarray]
    x_label: str
    y_label: str
    names: list[str | None]
    styles: list[str]
    colors: list[str]
    markers: list[str | None]
    log_y: bool
    stacked: bool
    ticks_labelled: bool
    legend: bool
    grid: bool
    fontsize: float
    linewidth: float
    description: str


def plan_plot(rng: np.random.Generator, material: str) -> PlotPlan:
    """Every random choice of a plot, made up front."""
    kind = str(rng.choice(["xanes", "raman", "xrd", "uvvis"], p=[0.35, 0.25, 0.25, 0.15]))
    n = int(rng.integers(1, 6))
    names: list[str | None]
    if kind == "xanes":
        lib = xas_library()
        element = sorted(lib)[int(rng.integers(len(lib)))]
        spectra = [lib[element][int(rng.integers(len(lib[element])))] for _ in range(min(n, 4))]
        # One edge per plot, and no spectrum drawn exactly over another: the library holds one or two
        # spectra per element, so a repeat becomes a chemically shifted variant (a few eV up the edge,
        # a weaker white line), made without further random draws so the journal's other choices stay.
        spectra = [s if s.edge == spectra[0].edge else spectra[0] for s in spectra]
        repeat = [sum(t is s for t in spectra[:i]) for i, s in enumerate(spectra)]
        pairs = [_variant(normalised_xanes(s), r) for s, r in zip(spectra, repeat, strict=True)]
        xs, ys = [p[0] for p in pairs], [p[1] for p in pairs]
        names = [s.sample + "′" * r for s, r in zip(spectra, repeat, strict=True)]
        x_label, what = "Energy (eV)", f"{element} {spectra[0].edge}-edge XANES spectra"
        y_label = "Normalized μ(E)"
    else:
        x, ys, x_label, what = {"raman": _raman, "xrd": _xrd, "uvvis": _uvvis}[kind](rng, n)
        xs = [x] * len(ys)
        names = [f"{material}-{i + 1}" for i in range(len(ys))]
        y_label = {"raman": "Intensity (a.u.)", "xrd": "Intensity (a.u.)", "uvvis": "Absorbance (a.u.)"}[kind]
    stacked = len(ys) > 1 and rng.random() < 0.5
    if stacked:
        gap = rng.uniform(0.3, 0.8) * max(float(np.ptp(y)) for y in ys)
        ys = [y + i * gap for i, y in enumerate(ys)]
    log_y = kind == "xrd" and not stacked and rng.random() < 0.25
    if log_y:
        ys = [np.clip(y, 1e-3, None) for y in ys]
    ticks_labelled = kind in ("xanes", "uvvis") or log_y or rng.random() < 0.3
    k = len(ys)
    styles = [str(rng.choice(["solid", "solid", "dashed", "dotted"])) for _ in range(k)]
    markers = [str(rng.choice(MARKERS)) if rng.random() < 0.15 else None for _ in range(k)]
    colors = [COLORS[i] for i in rng.permutation(len(COLORS))[:k]]
    return PlotPlan(
        kind, xs, ys, x_label, y_label, names if k > 1 else [None], styles, colors, markers, log_y, stacked,
        ticks_labelled,
        legend=k > 1 and rng.random() < 0.7, grid=rng.random() < 0.2, fontsize=float(rng.uniform(6.5, 10)),
        linewidth=float(rng.uniform(0.9, 1.8)), description=f"{what} of {material}" if kind != "xanes" else what,
    )


def tight_layout(fig: Figure) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tight_layout may warn on very small panels
        fig.tight_layout(pad=0.3)


def pixels(canvas: FigureCanvasAgg, shape: tuple[int, int]) -> tuple[np.ndarray, int]:
    """The drawn canvas at exactly ``shape`` (h, w) px, cropped or padded with white, and the height
    matplotlib drew (its data→pixel transform counts from that bottom edge)."""
    canvas.draw()
    buf = np.asarray(canvas.buffer_rgba())[..., :3]
    h, w = shape
    img = np.full((h, w, 3), 255, np.uint8)
    img[:min(h, buf.shape[0]), :min(w, buf.shape[1])] = buf[:h, :w]
    return img, buf.shape[0]


def render_plot(plan: PlotPlan, shape: tuple[int, int], hide: frozenset[int] = frozenset()) -> Graph:
    """Draw ``plan`` at ``shape`` (h, w) px; series in ``hide`` are left out (legend unchanged)."""
    h, w = shape
    fig = Figure(figsize=(w / 100, h / 100), dpi=100)
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    lines = []
    for i, (x, y) in enumerate(zip(plan.xs, plan.ys, strict=True)):
        (line,) = ax.plot(x, y, STYLES[plan.styles[i]], color=plan.colors[i], lw=plan.linewidth,
                          marker=plan.markers[i], markevery=max(1, len(x) // 12), ms=3.5, label=plan.names[i])
        lines.append(line)
    x_min, x_max = min(float(x.min()) for x in plan.xs), max(float(x.max()) for x in plan.xs)
    y_min, y_max = min(float(y.min()) for y in plan.ys), max(float(y.max()) for y in plan.ys)
    if plan.log_y:
        ax.set_yscale("log")
        y_lo, y_hi = y_min / 1.5, y_max * 1.5
    else:
        pad = 0.06 * (y_max - y_min or 1.0)
        y_lo, y_hi = y_min - pad, y_max + pad
    ax.set_xlim(x_min, x_max)
    ax.set_ylim(y_lo, y_hi)
    ax.set_xlabel(plan.x_label, fontsize=plan.fontsize)
    ax.set_ylabel(plan.y_label, fontsize=plan.fontsize)
    ax.tick_params(labelsize=plan.fontsize * 0.9)
    if not plan.ticks_labelled:
        ax.set_yticks([])
    if plan.grid:
        ax.grid(True, lw=0.4, alpha=0.5)
    if plan.legend:
        ax.legend(fontsize=plan.fontsize * 0.8, frameon=False, loc="best")
    tight_layout(fig)
    for i in hide:  # after the legend exists, so its entries stay
        lines[i].set_visible(False)
    img, height = pixels(canvas, shape)

    def px(xv: float, yv: float) -> tuple[float, float]:
        dx, dy = ax.transData.transform((xv, yv))
        return float(dx), float(height - dy)

    x_axis = AxisTruth(x_min, x_max, "linear", px(x_min, y_lo)[0], px(x_max, y_lo)[0], plan.x_label, True)
    y_axis = AxisTruth(y_lo, y_hi, "log" if plan.log_y else "linear", px(x_min, y_lo)[1], px(x_min, y_hi)[1],
                       plan.y_label, plan.ticks_labelled)
    ext = ax.get_window_extent()
    plot_box = (math.floor(ext.x0), math.floor(height - ext.y1), math.ceil(ext.x1), math.ceil(height - ext.y0))
    fig.clear()
    series = [
        SeriesTruth([float(v) for v in x], [float(v) for v in y], plan.names[i], plan.colors[i],
                    "markers" if plan.markers[i] and plan.styles[i] == "solid" else plan.styles[i])
        for i, (x, y) in enumerate(zip(plan.xs, plan.ys, strict=True))
    ]
    ink = np.argwhere(img.min(axis=2) < 230)
    ink_box = (int(ink[:, 1].min()), int(ink[:, 0].min()), int(ink[:, 1].max()) + 1, int(ink[:, 0].max()) + 1)
    return Graph(img, GraphTruth(x_axis, y_axis, series, plot_box), ink_box, plan.kind, plan.description)

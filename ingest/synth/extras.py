"""Extra panels for training the subfigure classifier: kinds the synthetic journal's figures lack.

The journal's figures are built for exact truth in every stage (plots are line spectra whose
series the digitizer must recover), so some common kinds of journal panel are not in them. The
classifier still has to know them:

- **bar charts and scatter plots** (class graph);
- **annotated micrographs** — coloured boxes, arrows and labels drawn over the image (microscopy);
- **3D schematics** — shaded spheres in clusters and slabs, arrows, text, sometimes on a
  light-grey panel; and schematics that are mostly words: bullet points and arrows (illustration).

Each function takes a shape and a random generator and returns an RGB array.
"""

from __future__ import annotations

import cv2
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ingest.synth.drawings import PALETTE, WORDS
from ingest.synth.marks import draw_text, font
from ingest.synth.micrographs import haadf_stem, particle_micrograph
from ingest.synth.plots import pixels, tight_layout

MATERIALS = ("Ag", "Au", "TiO2", "MnO2", "ZnO", "Pt", "Pd", "CeO2")


def _render(fig: Figure, shape: tuple[int, int]) -> np.ndarray:
    canvas = FigureCanvasAgg(fig)
    tight_layout(fig)
    return pixels(canvas, shape)[0]


def bar_chart(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Bars (grouped or not, values printed on some), with axis titles."""
    h, w = shape
    fig = Figure(figsize=(w / 100, h / 100), dpi=100)
    ax = fig.add_subplot(1, 1, 1)
    n, groups = int(rng.integers(2, 8)), int(rng.integers(1, 4))
    x = np.arange(n)
    width = 0.8 / groups
    for g in range(groups):
        values = rng.uniform(0.2, 1.0, n) * 10 ** rng.integers(0, 4)
        color = np.array(PALETTE[int(rng.integers(len(PALETTE)))]) / 255
        bars = ax.bar(x + g * width, values, width, color=color, edgecolor="black", lw=0.5)
        if rng.random() < 0.4:
            ax.bar_label(bars, fmt="%.0f", fontsize=7)
    ax.set_xticks(x + width * (groups - 1) / 2, [str(rng.choice(MATERIALS)) for _ in range(n)],
                  rotation=45 if rng.random() < 0.4 else 0, fontsize=7)
    ax.set_ylabel(str(rng.choice(["Capacity (mAh g$^{-1}$)", "Energy density (Wh kg$^{-1}$)", "Yield (%)",
                                  "Conversion (%)", "Rate (s$^{-1}$)"])), fontsize=8)
    ax.tick_params(labelsize=7)
    return _render(fig, shape)


def scatter_plot(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Markers (with error bars or a fitted line, sometimes)."""
    h, w = shape
    fig = Figure(figsize=(w / 100, h / 100), dpi=100)
    ax = fig.add_subplot(1, 1, 1)
    for _ in range(int(rng.integers(1, 4))):
        x = np.sort(rng.uniform(0, 10, int(rng.integers(5, 25))))
        y = rng.uniform(-1, 1) * x + rng.normal(0, 1, len(x)) + rng.uniform(0, 5)
        color = np.array(PALETTE[int(rng.integers(len(PALETTE)))]) / 255
        marker = str(rng.choice(["o", "s", "^", "D", "v"]))
        if rng.random() < 0.4:
            ax.errorbar(x, y, yerr=rng.uniform(0.1, 0.6, len(x)), fmt=marker, color=color, ms=4, capsize=2)
        else:
            ax.plot(x, y, marker, color=color, ms=4)
        if rng.random() < 0.5:
            ax.plot(x, np.poly1d(np.polyfit(x, y, 1))(x), "--", color=color, lw=1)
    ax.set_xlabel(str(rng.choice(["Temperature (K)", "Size (nm)", "Time (h)", "Loading (wt%)"])), fontsize=8)
    ax.set_ylabel(str(rng.choice(["Activity (a.u.)", "Current (mA)", "Strain (%)", "Band gap (eV)"])), fontsize=8)
    ax.tick_params(labelsize=7)
    return _render(fig, shape)


def annotated_micrograph(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A micrograph with what authors draw on it: coloured boxes, arrows, site labels."""
    h, w = shape
    if rng.random() < 0.5:
        grey = haadf_stem((h, w), rng).image
    else:
        grey = particle_micrograph((h, w), rng, str(rng.choice(MATERIALS)), None,
                                   str(rng.choice(["SEM", "TEM"]))).image
    img = np.repeat(grey[..., None], 3, axis=2).copy()
    fnt = font("sans", max(9, min(h, w) // 18))
    for k in range(int(rng.integers(1, 5))):
        r, g, b = PALETTE[int(rng.integers(len(PALETTE)))]
        color = (int(r), int(g), int(b))
        x, y = int(rng.uniform(0.1, 0.75) * w), int(rng.uniform(0.1, 0.75) * h)
        size = int(min(h, w) * rng.uniform(0.05, 0.2))
        kind = rng.random()
        if kind < 0.4:
            cv2.rectangle(img, (x, y), (x + size, y + size), color, max(1, size // 15), cv2.LINE_AA)
            draw_text(img, (x + size + 4, y), f"Site {'ABCDE'[k]}", fnt, color)
        elif kind < 0.7:
            cv2.arrowedLine(img, (x, y), (x + size, y - size), (255, 255, 255), 2, cv2.LINE_AA, tipLength=0.3)
            draw_text(img, (max(0, x - size), min(h - 20, y + 4)), str(rng.choice(WORDS)), fnt, (255, 255, 255))
        else:
            cv2.circle(img, (x, y), size // 2, color, 2, cv2.LINE_AA)
    return img


def _sphere(img: np.ndarray, centre: tuple[int, int], r: int, color: tuple[int, int, int]) -> None:
    """A shaded sphere: diffuse light from the upper left and a specular highlight."""
    cx, cy = centre
    h, w = img.shape[:2]
    x0, x1, y0, y1 = max(0, cx - r), min(w, cx + r + 1), max(0, cy - r), min(h, cy + r + 1)
    if x1 <= x0 or y1 <= y0:
        return
    yy, xx = np.mgrid[y0:y1, x0:x1]
    dx, dy = (xx - cx) / max(r, 1), (yy - cy) / max(r, 1)
    inside = dx * dx + dy * dy <= 1
    dz = np.sqrt(np.clip(1 - dx * dx - dy * dy, 0, 1))
    light = np.clip(-0.5 * dx - 0.5 * dy + 0.7 * dz, 0, 1)
    shade = 0.35 + 0.65 * light
    spec = np.clip(light, 0, 1) ** 20
    col = np.array(color, np.float32)
    rgb = col[None, None, :] * shade[..., None] + 255 * spec[..., None]
    region = img[y0:y1, x0:x1]
    region[inside] = np.clip(rgb[inside], 0, 255).astype(np.uint8)


def schematic_3d(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A 3D-rendered schematic: shaded-sphere clusters and slabs, arrows and captions."""
    h, w = shape
    bg = 255 if rng.random() < 0.6 else int(rng.integers(225, 245))
    img = np.full((h, w, 3), bg, np.uint8)
    fnt = font("sans", max(9, min(h, w) // 16))
    stages = int(rng.integers(1, 4))
    step = w / stages
    for s in range(stages):
        cx, cy = int(step * (s + 0.5)), int(h * rng.uniform(0.35, 0.6))
        r = max(3, int(min(step, h) * rng.uniform(0.025, 0.1)))
        color = PALETTE[int(rng.integers(len(PALETTE)))]
        cluster = rng.random() < 0.5
        n = int(rng.integers(6, 30))
        for i in range(n):  # a pyramid-ish cluster or a slab of spheres, drawn back to front
            if cluster:
                p = (int(cx + rng.normal(0, 2.5 * r)), int(cy + rng.normal(0, 2.5 * r)))
            else:
                p = (int(cx - 4 * r * 2 + (i % 8) * 2 * r + (i // 8) * r), int(cy - (i // 8) * r))
            _sphere(img, p, r, color)
        if rng.random() < 0.5:
            draw_text(img, (max(0, cx - int(step / 3)), min(h - 20, cy + 6 * r)), str(rng.choice(WORDS)), fnt,
                      (20, 20, 20))
        if s < stages - 1:
            cv2.arrowedLine(img, (int(cx + step * 0.3), cy), (int(cx + step * 0.7), cy), (30, 30, 30), 2,
                            cv2.LINE_AA, tipLength=0.2)
    if rng.random() < 0.5:
        draw_text(img, (int(w * 0.05), int(h * 0.05)), "- " + str(rng.choice(["High activity", "High stability",
                                                                               "Fast ion transport"])), fnt, (0, 0, 0))
    return img


PHRASES = ("High catalytic activity", "High stability", "Enhanced ion transport", "Silver nanoparticle cluster",
           "Striped structure", "Reducing agent", "No additive", "Growth of shell", "Electron transfer",
           "Oxygen vacancy", "Active site", "Charge separation", "Li-ion diffusion", "Surface reconstruction")


def text_schematic(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A schematic that is mostly words: titled boxes, bullet points and arrows between them,
    with a few shaded spheres or blocks."""
    h, w = shape
    img = np.full((h, w, 3), 255 if rng.random() < 0.6 else int(rng.integers(228, 245)), np.uint8)
    fnt = font("sans", max(8, min(h, w) // int(rng.integers(14, 22))))
    line_h = int(fnt.size * 1.4)
    y = int(h * 0.05)
    x = int(w * rng.uniform(0.03, 0.3))
    for _ in range(int(rng.integers(2, 6))):
        if y + line_h >= h:
            break
        prefix = "- " if rng.random() < 0.6 else ""
        draw_text(img, (x, y), prefix + str(rng.choice(PHRASES)), fnt, (0, 0, 0))
        y += line_h
        if rng.random() < 0.3 and y + 3 * line_h < h:  # an arrow down to the next statement
            cv2.arrowedLine(img, (x + 10, y), (x + 10, y + 2 * line_h), (0, 0, 0), 2, cv2.LINE_AA, tipLength=0.3)
            y += 2 * line_h
    for _ in range(int(rng.integers(0, 8))):
        p = (int(rng.uniform(0.4, 0.95) * w), int(rng.uniform(0.3, 0.95) * h))
        r = max(3, int(min(h, w) * rng.uniform(0.02, 0.06)))
        _sphere(img, p, r, PALETTE[int(rng.integers(len(PALETTE)))])
    return img


KINDS = ((bar_chart, "graph"), (scatter_plot, "graph"), (annotated_micrograph, "microscopy"),
         (schematic_3d, "illustration"), (text_schematic, "illustration"))


def extra_panel(rng: np.random.Generator) -> tuple[np.ndarray, str]:
    """One panel of a kind the journal's figures lack, at a journal-like size, with its class."""
    make, cls = KINDS[int(rng.integers(len(KINDS)))]
    shape = (int(rng.integers(120, 360)), int(rng.integers(140, 460)))
    return make(shape, rng), cls

"""Build the LaTeX test articles: figures, PDFs and their truth (needs pdflatex; run from the repo root).

    python tests/data/pdf/build.py

The articles in ``src/*.tex`` are set the way journals set them (two columns with ``Figure 1:``
captions and a figure spanning both columns; a Physical-Review-like two-column layout with
``FIG. 1.``; a one-column preprint with ``Fig. 1.``). Their figures are made here: raster compound
figures from the synthetic journal and matplotlib plots saved as vector PDF (paths and text, no
pixels). The PDFs and their truth go to ``data/papers/`` (the default lake reads them as a folder of
papers); sources, figures and PDFs are committed, so neither tests nor the demo need TeX.

Truth per article (``data/papers/<name>.json``): every figure's page and box in PDF points (origin top-left,
``parse-article``'s contract) recorded by TeX itself (``src/figtruth.tex``: ``\\pdfsavepos`` at each
``\\includegraphics``), its caption taken from the ``\\caption{…}`` in the source with the little
markup these articles use turned into text, and the metadata the article states.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

HERE = Path(__file__).resolve().parent
SRC = HERE / "src"
OUT = HERE.parents[2] / "data" / "papers"  # the default lake's folder of papers
FIGURES = SRC / "figures"
SP_TO_BP = 72.0 / 72.27 / 65536.0  # TeX scaled points → PDF points
SEED = 20261205
NO_DATE = {"CreationDate": None}  # reproducible files: rebuilding changes nothing

# What each article states about itself (its title page, masthead and licence line).
METADATA = {
    "two-column": {"doi": "10.5555/figlake.latex.0001", "journal": "Journal of Synthetic Materials Letters",
                   "year": 2025, "license_url": "https://creativecommons.org/licenses/by/4.0/",
                   "title": "Facet-dependent growth of ceria nanorods resolved by HAADF-STEM and X-ray diffraction"},
    "aps-style": {"doi": "10.5555/figlake.latex.0002", "journal": "Synthetic Physical Review Materials",
                  "year": 2024, "license_url": "https://creativecommons.org/licenses/by/4.0/",
                  "title": "Strain relaxation in epitaxial perovskite oxide thin films"},
    "one-column": {"doi": "10.5555/figlake.latex.0003", "journal": "Synthetic Materials Today",
                   "year": 2026, "license_url": "https://creativecommons.org/publicdomain/zero/1.0/",
                   "title": "Porous carbon supported platinum nanoparticles for oxygen reduction"},
}

# The markup the captions use, as text (pdfTeX's T1/textcomp glyphs map back to these).
TEX_TEXT = [(r"\textmu{}", "µ"), (r"\textmu ", "µ"), (r"\AA{}", "Å"), (r"\AA", "Å"), ("---", "—"), ("--", "–"),
            (r"$^{-1}$", "⁻¹"), (r"$^{\circ}$", "°"), (r"\textdegree{}", "°"), (r"$\times$", "×"), ("~", " "),
            (r"\%", "%"), (r"\{", "{"), (r"\}", "}"), ("``", "“"), ("''", "”")]


def plots() -> None:
    """Vector figures: matplotlib → PDF (TrueType text, so the words stay extractable)."""
    rng = np.random.default_rng(SEED)
    plt.rcParams.update({"pdf.fonttype": 42, "font.size": 8, "axes.linewidth": 0.6})
    two_theta = np.linspace(20, 80, 1200)
    peaks = [(28.5, 1.0), (33.1, 0.3), (47.5, 0.55), (56.3, 0.42), (59.1, 0.08), (69.4, 0.07), (76.7, 0.12)]

    def xrd(width: float) -> np.ndarray:
        y = sum(h / (1 + ((two_theta - p) / width) ** 2) for p, h in peaks)
        return y + 0.02 * rng.random(two_theta.size)

    fig, ax = plt.subplots(figsize=(3.3, 2.4))
    for k, (w, label) in enumerate(((0.45, "400 °C"), (0.3, "600 °C"), (0.18, "800 °C"))):
        ax.plot(two_theta, xrd(w) + 1.2 * k, lw=0.8, label=label)
    for p, _ in peaks[:4]:
        ax.axvline(p, color="0.6", lw=0.4, ls=":")
    ax.set(xlabel="2θ (degrees)", ylabel="Intensity (a.u.)", yticks=[], xlim=(20, 80))
    ax.legend(frameon=False, fontsize=7, loc="upper right")
    fig.savefig(FIGURES / "ceria-xrd.pdf", bbox_inches="tight", pad_inches=0.02, metadata=NO_DATE)
    plt.close(fig)

    # A two-panel vector figure for a figure* spanning both columns.
    fig, (a, b) = plt.subplots(1, 2, figsize=(7.0, 2.4))
    omega = np.linspace(44, 48, 600)
    for k, (center, label) in enumerate(((46.47, "5 nm"), (46.38, "20 nm"), (46.30, "60 nm"))):
        a.semilogy(omega, 10 ** (3 - k * 0.3) / (1 + ((omega - center) / (0.05 + 0.03 * k)) ** 2) + 1, lw=0.8,
                   label=label)
    a.set(xlabel="2θ (degrees)", ylabel="Intensity (counts)")
    a.legend(frameon=False, fontsize=7, title="thickness", title_fontsize=7)
    t = np.array([5, 10, 20, 40, 60, 80, 120])
    strain = 1.1 * np.exp(-t / 35) + 0.02 * rng.standard_normal(t.size)
    b.errorbar(t, strain, yerr=0.05, fmt="o-", ms=3, lw=0.8, capsize=2)
    b.set(xlabel="Film thickness (nm)", ylabel="Out-of-plane strain (%)")
    for ax, letter in ((a, "a"), (b, "b")):
        ax.text(-0.2, 1.02, letter, transform=ax.transAxes, fontweight="bold", fontsize=10)
    fig.tight_layout()
    fig.savefig(FIGURES / "film-strain.pdf", bbox_inches="tight", pad_inches=0.02, metadata=NO_DATE)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(3.3, 2.2))
    e = np.linspace(0.2, 1.05, 300)
    for e_half, label in ((0.86, "Pt/PC-900"), (0.82, "Pt/PC-700"), (0.79, "Pt/C")):
        ax.plot(e, -5.6 / (1 + np.exp((e - e_half) / 0.03)), lw=0.9, label=label)
    ax.set(xlabel="E (V vs. RHE)", ylabel="j (mA cm$^{-2}$)")
    ax.legend(frameon=False, fontsize=7)
    fig.savefig(FIGURES / "orr-polarisation.pdf", bbox_inches="tight", pad_inches=0.02, metadata=NO_DATE)
    plt.close(fig)


def rasters() -> None:
    """Raster compound figures: micrographs from the synthetic journal (CC0, ours)."""
    sys.path.insert(0, str(HERE.parents[2]))
    from ingest.synth.journal import generate_article

    picks = {"ceria-stem": (3, 0), "ceria-sem": (7, 1), "film-haadf": (11, 0), "pt-tem": (19, 0)}
    for name, (index, k) in picks.items():
        article = generate_article(SEED, index)
        figure = article.figures[min(k, len(article.figures) - 1)]
        for old in FIGURES.glob(f"{name}.*"):
            old.unlink()
        # JPEG, as journals ship micrographs, and a tenth of the PNG's size in the repository
        Image.open(io.BytesIO(figure.image)).convert("RGB").save(FIGURES / f"{name}.jpg", quality=88)


def captions(tex: str) -> list[str]:
    """The text of each ``\\caption{…}`` in source order (braces matched)."""
    out = []
    for m in re.finditer(r"\\caption\{", tex):
        depth, i = 1, m.end()
        while depth:
            depth += {"{": 1, "}": -1}.get(tex[i], 0)
            i += 1
        text = tex[m.end():i - 1]
        for markup, plain in TEX_TEXT:
            text = text.replace(markup, plain)
        text = re.sub(r"\\(?:textbf|textit|emph|mathrm)\{([^{}]*)\}", r"\1", text)
        text = re.sub(r"\$_\{?(\w+)\}?\$", r"\1", text)  # O$_2$ → O2
        text = re.sub(r"\$([^$]*)\$", r"\1", text)
        out.append(re.sub(r"\s+", " ", text).strip())
    return out


def truth(name: str, pos: str, tex: str, page_height: float) -> dict[str, object]:
    boxes: dict[int, tuple[int, list[float]]] = {}
    for line in pos.splitlines():
        kind, number, page, x, y, w, h = line.split()
        if kind != "graphic":
            continue
        x0, y0 = int(x) * SP_TO_BP, int(y) * SP_TO_BP
        x1 = x0 + float(w.removesuffix("pt")) * 72 / 72.27
        top = page_height - (y0 + float(h.removesuffix("pt")) * 72 / 72.27)
        box = [x0, top, x1, page_height - y0]
        n = int(number)
        if n in boxes:
            p, b = boxes[n]
            assert p == int(page), f"{name}: figure {n} spans pages"
            box = [min(b[0], box[0]), min(b[1], box[1]), max(b[2], box[2]), max(b[3], box[3])]
        boxes[n] = (int(page), box)
    texts = captions(tex)
    assert len(texts) == len(boxes), f"{name}: {len(texts)} captions, {len(boxes)} figures"
    figures = [{"number": n, "page": p, "bbox": [round(v, 2) for v in b], "caption": texts[n - 1],
                "kind": "vector" if n in _vector_figures(tex) else "raster"} for n, (p, b) in sorted(boxes.items())]
    return {"key": name, **METADATA[name], "figures": figures}


def _vector_figures(tex: str) -> set[int]:
    floats = re.findall(r"\\begin\{figure\*?\}(.*?)\\end\{figure\*?\}", tex, re.S)
    return {i + 1 for i, body in enumerate(floats) if re.search(r"\\includegraphics(?:\[[^]]*\])?\{[^}]*\.pdf\}",
                                                                  body)}


def build(tex_path: Path) -> None:
    import pdfplumber

    name = tex_path.stem
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        shutil.copytree(SRC, work, dirs_exist_ok=True)
        for _ in range(2):  # twice: references and the page count settle on the second pass
            subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", tex_path.name], cwd=work,
                           check=True, stdout=subprocess.DEVNULL,
                           env={**os.environ, "SOURCE_DATE_EPOCH": "1764892800", "FORCE_SOURCE_DATE": "1"})
        pdf = work / f"{name}.pdf"
        with pdfplumber.open(pdf) as doc:
            height = float(doc.pages[0].height)
        record = truth(name, (work / f"{name}.pos").read_text(), tex_path.read_text(), height)
        shutil.copy(pdf, OUT / pdf.name)
    (OUT / f"{name}.json").write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n")
    print(f"{name}.pdf: {len(record['figures'])} figures")


def main() -> None:
    FIGURES.mkdir(exist_ok=True)
    plots()
    rasters()
    for tex in sorted(SRC.glob("*.tex")):
        if tex.name != "figtruth.tex":
            build(tex)


if __name__ == "__main__":
    main()

"""The synthetic journal: whole articles (JATS XML + figure images + truth JSON).

``generate_article(seed, index)`` is pure: the same seed and index give the
same article, byte for byte, on any machine (seeds are spawned per article, so
articles can be generated in any order or in parallel). ``write_article``
writes the article the way the ``local`` source reads saved pages:

    <out>/synth-0007.nxml                  JATS, CC0-1.0
    <out>/figures/synth-0007_fig1.png      the figure images (PNG or JPEG)
    <out>/truth/synth-0007_fig1.json       ground truth per figure (README › Synthetic journal)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np

from ingest.synth.captions import MATERIALS
from ingest.synth.figure import encode, plan_figure, render_figure
from ingest.synth.micrographs import MORPHOLOGIES
from ingest.synth.truth import FigureTruth

JOURNAL = "figlake Synthetic Journal of Materials"
DOI_PREFIX = "10.5555/figlake.synth"
LICENSE_URL = "https://creativecommons.org/publicdomain/zero/1.0/"
GIVEN = ("Ada", "Wei", "Priya", "Lars", "Sofia", "Kenji", "Amara", "Mateo", "Ines", "Yusuf", "Hana", "Olga")
FAMILY = ("Okafor", "Lindqvist", "Tanaka", "Moreau", "Haddad", "Kowalski", "Chen", "Ivanova", "Silva", "Novak")
TECHNIQUES = ("HAADF-STEM", "HRTEM", "SEM", "TEM", "SAED", "XRD", "Raman spectroscopy", "XANES", "UV-vis")


@dataclass
class SynthFigure:
    number: int
    image: bytes
    ext: str
    truth: FigureTruth
    caption_title: str
    caption_body_jats: str


@dataclass
class SynthArticle:
    key: str
    doi: str
    title: str
    abstract: str
    keywords: list[str]
    authors: list[tuple[str, str]]
    date: tuple[int, int, int]
    figures: list[SynthFigure]


def article_rng(seed: int, index: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(index,)))


def generate_article(seed: int, index: int, figures_range: tuple[int, int] = (2, 6)) -> SynthArticle:
    rng = article_rng(seed, index)
    key = f"synth-{index:04d}"
    n_figures = int(rng.integers(figures_range[0], figures_range[1] + 1))
    material = MATERIALS[int(rng.integers(len(MATERIALS)))]
    morphology = MORPHOLOGIES[int(rng.integers(len(MORPHOLOGIES)))]
    figures = []
    for n in range(1, n_figures + 1):
        plan = plan_figure(rng, f"{key}_fig{n}", material, morphology)
        rendered = render_figure(plan)
        data, ext = encode(rendered.image, plan.jpeg_quality)
        figures.append(SynthFigure(n, data, ext, rendered.truth, rendered.caption_title, rendered.caption_body_jats))
    techniques = sorted({str(t) for t in rng.choice(TECHNIQUES, size=3, replace=False)})
    subject = f"{material[0].upper()}{material[1:]} {morphology}"
    title = f"{subject}: insights from {', '.join(techniques[:-1])} and {techniques[-1]}"
    abstract = (
        f"We report the synthesis of {material} {morphology} and its characterization by {', '.join(techniques)}. "
        f"Electron microscopy resolves the morphology and atomic structure, while spectroscopy tracks the "
        f"local chemical state. The results link structure to function in {material}. "
        f"All figures of this article are synthetic and come with exact ground truth."
    )
    authors = [(str(rng.choice(GIVEN)), str(rng.choice(FAMILY))) for _ in range(int(rng.integers(2, 6)))]
    date = (int(rng.integers(2015, 2026)), int(rng.integers(1, 13)), int(rng.integers(1, 29)))
    return SynthArticle(key, f"{DOI_PREFIX}.{index:04d}", title, abstract, [material, morphology, *techniques],
                        authors, date, figures)


def jats(article: SynthArticle) -> str:
    """The article as JATS XML (the archival format PMC uses)."""
    y, m, d = article.date
    authors = "".join(
        f'<contrib contrib-type="author"><name><surname>{escape(f)}</surname>'
        f"<given-names>{escape(g)}</given-names></name></contrib>" for g, f in article.authors)
    keywords = "".join(f"<kwd>{escape(k)}</kwd>" for k in article.keywords)
    figs = []
    paragraphs = []
    for f in article.figures:
        href = f"figures/{article.key}_fig{f.number}.{f.ext}"
        figs.append(
            f'<fig id="f{f.number}"><label>Figure {f.number}</label><caption><title>{escape(f.caption_title)}'
            f"</title><p>{f.caption_body_jats}</p></caption>"
            f'<graphic xlink:href="{href}"/></fig>')
        paragraphs.append(f'<p>The results are summarised in <xref ref-type="fig" rid="f{f.number}">'
                          f"Fig. {f.number}</xref>.</p>")
    body = "".join(p + fig for p, fig in zip(paragraphs, figs, strict=True))
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<!DOCTYPE article PUBLIC "-//NLM//DTD JATS (Z39.96) Journal Archiving and Interchange DTD v1.2 '
        '20190208//EN" "JATS-archivearticle1.dtd">\n'
        '<article xmlns:xlink="http://www.w3.org/1999/xlink" article-type="research-article">'
        f"<front><journal-meta><journal-title-group><journal-title>{JOURNAL}</journal-title>"
        "</journal-title-group><publisher><publisher-name>figlake</publisher-name></publisher></journal-meta>"
        f'<article-meta><article-id pub-id-type="doi">{article.doi}</article-id>'
        f"<title-group><article-title>{escape(article.title)}</article-title></title-group>"
        f"<contrib-group>{authors}</contrib-group>"
        f'<pub-date pub-type="epub"><day>{d}</day><month>{m}</month><year>{y}</year></pub-date>'
        f'<permissions><license license-type="open-access" xlink:href="{LICENSE_URL}"><license-p>'
        "CC0 1.0: no rights reserved. Synthetic article generated by figlake.</license-p></license></permissions>"
        f"<abstract><p>{escape(article.abstract)}</p></abstract><kwd-group>{keywords}</kwd-group>"
        "</article-meta></front>"
        f"<body><sec><title>Results</title>{body}</sec></body></article>\n"
    )


def write_article(article: SynthArticle, out: Path) -> None:
    (out / "figures").mkdir(parents=True, exist_ok=True)
    (out / "truth").mkdir(parents=True, exist_ok=True)
    for f in article.figures:
        (out / "figures" / f"{article.key}_fig{f.number}.{f.ext}").write_bytes(f.image)
        (out / "truth" / f"{article.key}_fig{f.number}.json").write_text(
            json.dumps(f.truth.to_json(), ensure_ascii=False, indent=1))
    (out / f"{article.key}.nxml").write_text(jats(article), encoding="utf-8")

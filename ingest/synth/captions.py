"""Captions in the syntax journals use, with the truth of which text belongs to which label.

Styles: ``paren`` — "(a) … (b,c) … (d–f) …"; ``nature`` — "a … b, c … d–f …"
(bold letters in the JATS); both with a title sentence, shared sentences, an
"Inset: …" sentence and the Nature-style scale sentence "Scale bars, 5 µm (c),
500 nm (d)." for bars whose value is not printed on the image.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape

import numpy as np

MATERIALS = ("Ag", "Au", "Pt", "Pd", "Cu2O", "TiO2", "ZnO", "CeO2", "MoS2", "graphene oxide", "SrTiO3",
             "LiFePO4", "CsPbBr3 perovskite", "BaTiO3", "Fe3O4", "Co3O4", "NiO", "MnO2", "Ag–Pd", "Au@SiO2")
SHARED_SENTENCES = (
    "All images were acquired at 200 kV.",
    "Data were recorded at room temperature.",
    "Samples were prepared by drop-casting onto lacey carbon grids.",
    "Representative data from three independent syntheses are shown.",
    "Spectra are offset vertically for clarity.",
)
TITLES = (
    "Structural characterization of {m} {morph}.",
    "Morphology and crystal structure of the {m} {morph}.",
    "Synthesis and spectroscopic analysis of {m} {morph}.",
    "Atomic-scale structure of {m}.",
    "Evolution of {m} {morph} during annealing.",
)


@dataclass
class PanelText:
    """What one labelled panel shows, for the caption."""

    label: str | None
    description: str
    scale_text: str | None = None
    """value stated in the caption (e.g. '5 µm') when the bar carries no printed label"""
    inset: str | None = None


@dataclass
class Caption:
    style: str
    """nature or paren"""
    title: str
    text: str
    """the whole caption as a reader extracts it: title, then the body"""
    body_jats: str
    """the caption after its title, as JATS inline markup (labels in <bold> for the nature style)"""
    subcaptions: dict[str, str]
    shared: list[str]
    inset_captions: dict[str, str]
    scale_statements: dict[str, str]


def _label_run(labels: list[str], style: str) -> tuple[str, str]:
    """('(b,c)' / 'b, c' / '(d–f)'), and its JATS form."""
    if len(labels) >= 3:
        inner, inner_j = f"{labels[0]}–{labels[-1]}", f"<bold>{labels[0]}</bold>–<bold>{labels[-1]}</bold>"
    else:
        sep = "," if style == "paren" else ", "
        inner = sep.join(labels)
        inner_j = sep.join(f"<bold>{lab}</bold>" for lab in labels)
    if style == "paren":
        return f"({inner})", f"({inner_j})"
    return inner, inner_j


def _plural(description: str, n: int) -> str:
    if n < 2:
        return description
    for word in ("image", "pattern", "spectrum", "micrograph", "schematic", "photograph", "map"):
        if f" {word} " in f" {description} ":
            return description.replace(word, {"spectrum": "spectra"}.get(word, word + "s"), 1)
    return description


def _join_labels(labels: list[str]) -> str:
    return ",".join(labels)


def compose_caption(panels: list[PanelText], material: str, morphology: str, rng: np.random.Generator) -> Caption:
    """Caption text (plain and JATS) and its per-label truth for the panels of one figure."""
    style = "nature" if rng.random() < 0.5 else "paren"
    title = TITLES[int(rng.integers(len(TITLES)))].format(m=material, morph=morphology)
    parts, parts_j = [title], [escape(title)]
    subcaptions: dict[str, str] = {}
    labelled = [p for p in panels if p.label]
    # Consecutive panels with the same description share one phrase: "(b,c) SEM images of …".
    groups: list[list[PanelText]] = []
    for p in labelled:
        if groups and groups[-1][0].description == p.description and len(groups[-1]) < 4:
            groups[-1].append(p)
        else:
            groups.append([p])
    for g in groups:
        labels = [p.label for p in g if p.label]
        run, run_j = _label_run(labels, style)
        phrase = _plural(g[0].description, len(g))
        phrase = phrase[0].upper() + phrase[1:]
        parts.append(f"{run} {phrase}.")
        parts_j.append(f"{run_j} {escape(phrase)}.")
        for lab in labels:
            subcaptions[lab] = phrase
    if not labelled and panels:
        subcaptions[""] = panels[0].description
        parts.append(panels[0].description[0].upper() + panels[0].description[1:] + ".")
        parts_j.append(escape(parts[-1]))
    inset_captions = {}
    for p in labelled:
        if p.inset and p.label:
            parts.append(f"Inset in {p.label}: {p.inset}.")
            parts_j.append(f"Inset in <bold>{p.label}</bold>: {escape(p.inset)}.")
            inset_captions[p.label] = p.inset
    shared = [title]
    if rng.random() < 0.5:
        extra = SHARED_SENTENCES[int(rng.integers(len(SHARED_SENTENCES)))]
        parts.append(extra)
        parts_j.append(extra)
        shared.append(extra)
    stated = [(p.label or "", p.scale_text) for p in panels if p.scale_text]
    scale_statements = {}
    if stated:
        by_value: dict[str, list[str]] = {}
        for lab, text in stated:
            by_value.setdefault(text, []).append(lab)
            scale_statements[lab] = text
        if len(stated) == 1 and (len(panels) == 1 or rng.random() < 0.5):
            sentence = f"Scale bar, {stated[0][1]}."
            sentence_j = sentence
            if len(panels) > 1:
                sentence = f"Scale bar, {stated[0][1]} ({stated[0][0]})."
                sentence_j = f"Scale bar, {stated[0][1]} (<bold>{stated[0][0]}</bold>)."
        else:
            items = [f"{v} ({_join_labels(labs)})" for v, labs in by_value.items()]
            items_j = [f"{v} ({','.join(f'<bold>{lab}</bold>' for lab in labs)})" for v, labs in by_value.items()]
            sentence = "Scale bars, " + ", ".join(items) + "."
            sentence_j = "Scale bars, " + ", ".join(items_j) + "."
        parts.append(sentence)
        parts_j.append(sentence_j)
    body_jats = " ".join(parts_j[1:])
    if style == "paren":
        body_jats = body_jats.replace("<bold>", "").replace("</bold>", "")
    return Caption(style, title, " ".join(parts), body_jats, subcaptions, shared, inset_captions, scale_statements)

"""Scale statements in captions: "Scale bars, 5 µm (c), 500 nm (d), and 1 nm (h, i)" → per-label lengths.

Forms: "scale bar, 50 nm", "Scale bar: 200 nm", "(scale bar = 2 µm)", "scale bars are 10 nm",
"Scale bars equal 5 mm", "scale bar 20 nm", and typos like "(scale bar. 20 nm)". A length
names its labels in parentheses after it; otherwise it applies to the label whose text
holds the statement, or — in the shared title or notes — to every label. "identical in a,d,
(scale bar, 100 nm)" names its labels just before the statement.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ingest.captions.identifiers import Identifier, expand_spec
from ingest.units import LENGTH_RE, Length, canonical_unit

if TYPE_CHECKING:
    from ingest.captions.distribute import Distribution

_LABEL_LIST = r"[A-Za-z]\d?(?:\s*(?:,|and|&|–|-)\s*[A-Za-z]\d?)*"
_STATEMENT = re.compile(
    r"scale\s*bars?\s*(?:[,:=.]|\bare\b|\bis\b|\brepresents?\b|\bequals?\b|\bindicates?\b|\bcorresponds? to\b|"
    r"\bdenotes?\b|\bin all (?:panels|images) (?:are|is)\b)?\s*", re.I)
_ITEM = re.compile(rf"({LENGTH_RE.pattern})(?:\s*\(\s*({_LABEL_LIST})\s*\))?")
_ITEM_SEP = re.compile(r"\s*(?:,\s*and\b|;\s*and\b|,|;|\band\b)\s*")
# "identical in a,d, (scale bar, 100 nm)": labels named just before a parenthesised statement.
_BEFORE = re.compile(rf"\b(?:in|of|for)\s+({_LABEL_LIST})\s*[,;]?\s*\($")


@dataclass(frozen=True)
class ScaleStatement:
    length: Length
    text: str
    """the statement as written, e.g. 'Scale bars, 5 μm (c)'"""
    explicit: bool
    """the caption names the labels (rather than the statement's position implying them)"""


def scale_statements(caption: str, dist: Distribution) -> dict[str, list[ScaleStatement]]:
    """label → scale statements that apply to it, in caption order."""
    out: dict[str, list[ScaleStatement]] = {}
    all_labels = dist.labels
    suffix_start = dist.suffix_start if dist.suffix_start is not None else len(caption)
    for m in _STATEMENT.finditer(caption):
        pos = m.end()
        implied = all_labels if m.start() >= suffix_start else _labels_at(caption, m.start(), dist.mentions,
                                                                          all_labels)
        look = _BEFORE.search(caption[max(0, m.start() - 30):m.start()])
        if look:
            implied = [lab for lab in expand_spec(look.group(1), "paren") if _known(lab, all_labels)] or implied
        while item := _ITEM.match(caption, pos):
            unit = canonical_unit(item.group("unit"))
            if unit is None:
                break
            length = Length(float(item.group("value").replace(",", ".")), unit)
            named = item.group(item.re.groups) if item.lastindex and item.group(item.re.groups) else None
            labels = [lab for lab in expand_spec(named, "paren") if _known(lab, all_labels)] if named else implied
            statement = ScaleStatement(length, caption[m.start():item.end()].strip(), bool(named))
            for lab in labels:
                out.setdefault(_canonical(lab, all_labels), []).append(statement)
            pos = item.end()
            sep = _ITEM_SEP.match(caption, pos)
            if not sep or not _ITEM.match(caption, sep.end()):
                break
            pos = sep.end()
    return out


def statement_spans(caption: str) -> list[tuple[int, int]]:
    """Where scale statements are, lengths and their label lists included: "(b)" in "500 nm (b)" is not a
    subfigure mention to distribute text by."""
    spans = []
    for m in _STATEMENT.finditer(caption):
        end = m.end()
        while item := _ITEM.match(caption, end):
            end = item.end()
            sep = _ITEM_SEP.match(caption, end)
            if not sep or not _ITEM.match(caption, sep.end()):
                break
            end = sep.end()
        if end > m.end():
            spans.append((m.start(), end))
    return spans


def _known(label: str, labels: list[str]) -> bool:
    return any(label.lower() == lab.lower() for lab in labels)


def _canonical(label: str, labels: list[str]) -> str:
    return next((lab for lab in labels if lab.lower() == label.lower()), label)


def _labels_at(caption: str, position: int, mentions: list[Identifier], all_labels: list[str]) -> list[str]:
    """Labels whose text holds ``position``: the opener before it, or the closer that ends its phrase."""
    from ingest.captions.distribute import _is_closer

    before = [t for t in mentions if t.end <= position]
    after = [t for t in mentions if t.start >= position]
    if after and _is_closer(caption, after[0]) and (not before or _is_closer(caption, before[-1])):
        return list(after[0].labels)
    return list(before[-1].labels) if before else list(all_labels)

"""Sentence boundaries in figure captions.

Captions break general-purpose sentence splitters: "Fig. 5b", "et al.",
"ca. 5 nm", "e.g.", "vs.", decimal numbers, parentheses that span periods.
A boundary is end punctuation outside parentheses, followed by space and a
capital or bracket, and not closing a known abbreviation or an initial.
"""

from __future__ import annotations

import re

ABBREVIATIONS = {"fig", "figs", "ca", "e.g", "i.e", "al", "vs", "approx", "resp", "no", "nos", "ref", "refs", "eq",
                 "eqs", "cf", "dr", "prof", "st", "inc", "ltd", "etc", "sect", "suppl", "supp", "vol", "ext", "mag",
                 "temp", "conc", "max", "min", "avg", "std", "exp", "wt", "at", "ed", "eds"}
# Not before a digit: "scale bar. 20 nm" (a typo) and "ca. 5 nm" go on; captions rarely open with a number.
# "… by Q-PCR (B). mRNA levels …": a word capitalised inside ("mRNA", "siRNA", "pH") may open one too
_BOUNDARY = re.compile(r"[.!?](?=\s+(?:[A-Z(\[\"“*#†‡§]|[a-z]{1,3}[A-Z]))")  # "*P < 0.05 …" opens one too


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text`` (stripped, in order, covering all of it)."""
    out, start, depth = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth = max(0, depth - 1)
        elif ch in ".!?" and depth == 0 and _BOUNDARY.match(text, i):
            word = re.search(r"([A-Za-z.]+)$", text[start:i])
            w = word.group(1).lower().rstrip(".") if word else ""
            # Abbreviations, and single capitals: initials ("J. Chem.", "A. B. Smith") or labels ("A.").
            initial = word and re.fullmatch(r"(?:[A-Z]\.)*[A-Z]", word.group(1))
            # … but "synapsin I. Phosphorylation …", "complex I. The …": a numeral after a lower-case word ends
            # one, and nothing an initial abbreviates starts with "*" ("… lamin B. *P < 0.05")
            if initial and (re.search(r"[a-z]{2,} [IVX]$", text[start:i]) or re.match(r"\.\s+[*#†‡§]", text[i:])):
                initial = None
            if w in ABBREVIATIONS or initial:
                continue
            out.append(text[start:i + 1].strip())
            start = i + 1
    if text[start:].strip():
        out.append(text[start:].strip())
    return out

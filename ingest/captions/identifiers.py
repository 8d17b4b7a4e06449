"""Subfigure identifiers in caption text: "(a)", "a,b", "(b–d)", "A)", "A and C:", "B.", "(i)", "(top)", "2A".

``find_identifiers(caption)`` finds every candidate token of every style, then
keeps the style whose tokens form the most plausible label sequence (a, b,
c… in reading order) and, within it, the tokens that introduce labels — not
later references to them ("identical to that in a", "… (d)." repeating a
label already introduced). Chemistry and units are not labels: "(Ag)",
Miller indices "(001)", "(a.u.)", enumerations "(i)" inside a lettered caption.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ROMAN = ("i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix", "x", "xi", "xii")
POSITIONS = ("top", "bottom", "left", "right", "middle", "center", "centre", "upper", "lower", "inset")

_LETTER = r"[A-Za-z](?:\d{1,2}|'|′)?"
_SEP = r"\s*(?:,\s*and\b|,\s*&|,|;|&|\band\b|\bor\b)\s*"
_RANGE = r"\s*(?:–|-|—|\bto\b|\bthrough\b)\s*"
LETTERS = rf"{_LETTER}(?:(?:{_SEP}|{_RANGE}){_LETTER})*"
_LETTER_RANGE = rf"{_LETTER}(?:{_RANGE}{_LETTER})?"
_DIGITS = r"[1-9]\d?(?:(?:" + _SEP + "|" + _RANGE + r")[1-9]\d?)*"
_ROMANS = r"(?:" + "|".join(sorted(ROMAN, key=len, reverse=True)) + r")"
_ROMAN_SPEC = rf"{_ROMANS}(?:(?:{_SEP}|{_RANGE}){_ROMANS})*"
_POSITION = r"(?:" + "|".join(POSITIONS) + r")(?:[\s-]+(?:left|right|row|panel|panels|image|images))?"

# Each style: (name, pattern with one group holding the label spec). Lookbehinds keep
# words like "Fig. 5b)" or "vitamin A)" from matching where a label cannot start.
STYLES: list[tuple[str, re.Pattern[str]]] = [
    # "(a)", "(a–c)", "(a, left)": a label with a position word, not "(C, n = 14)", a group size; and
    # "(anti-CD34, E–H)": labels after what they show
    ("paren", re.compile(rf"\(\s*({LETTERS})\s*(?:,\s*[a-z][^()=<>≤≥]{{0,40}})?\)"
                         rf"|\([^()]{{1,40}}?,\s*({LETTERS})\s*\)")),
    ("rparen", re.compile(rf"(?:^|(?<=[\s.;:,—]))({LETTERS})\)")),
    ("bare", re.compile(rf"(?:^|(?<=[.;:]\s)|(?<=[,;]\s)|(?<=\)\s)|(?<=\()|(?<=[a-z0-9)\]][.;:]))({LETTERS})"
                        rf"(?=\s+[^\s,;.:)])(?!\s+(?:and|or|&)\s+{_LETTER}\b)")),  # not "A" of "A and C:"
    ("colon", re.compile(rf"(?:^|(?<=[.;]\s)|(?<=\)\s)|(?<=\()|(?<=[a-z]\s))({LETTERS})\s*:(?=\s)")),
    ("period", re.compile(rf"(?:^|(?<=[.;]\s)|(?<=[a-z)][.])|(?<=[a-z]\s))(?:({LETTERS})\.(?=\s+[A-Z(])"
                          rf"|({LETTERS})\.,(?=\s+[a-z]{{3}}))")),  # "B., scatter plot of …" too, not "s. d., n=3"
    # "… for A, TARS, B, VEGF, C, SARS and D, YARS": a letter and its comma, then what it shows — not a list of
    # letters ("samples A, B, C and D")
    ("comma", re.compile(rf"(?:^|(?<=[.;:]\s)|(?<=[a-z)][.;:])|(?<=[;,]\sand\s)|(?<=[A-Za-z0-9],\s)|(?<=\sand\s)"
                         rf"|(?<=\sfor\s))({_LETTER_RANGE}(?:,{_LETTER_RANGE})*),(?=\s+[^\s,;.:)])"  # "A,C, The …"
                         rf"(?!\s+{_LETTER}(?:,|\s+(?:and|or)\b|$))")),
    ("numbered", re.compile(r"(?:^|(?<=[.;:]\s)|(?<=[a-z])|(?<=[a-z]\s))([1-9]\d?)\.(?=\s*[A-Z][a-z])")),
    # "Allotype 2A Body, dorsal 2B Body, ventral …": letters behind the figure's number, not "Fig. 3E"
    ("fignum", re.compile(r"(?:^|(?<=[\s.;:(]))(?<!fig\.\s)(?<!figure\s)(?<!figs\.\s)[1-9]\d?"
                          rf"({_LETTER_RANGE})(?=[\s,.;:)])", re.I)),
    ("digit", re.compile(rf"\(\s*({_DIGITS})\s*\)")),
    ("roman", re.compile(rf"\(\s*({_ROMAN_SPEC})\s*\)")),
    ("position", re.compile(rf"\(\s*({_POSITION})\s*\)|(?:^|(?<=[.;]\s))({_POSITION})\s*:", re.I)),
]
# Styles whose tokens are plain words too ("a", "A"): they must come in order to count.
STRICT = {"bare", "colon", "period", "comma", "numbered", "rparen", "fignum"}
PRIORITY = {"paren": 0, "bare": 1, "rparen": 2, "colon": 3, "period": 4, "comma": 5, "digit": 6, "numbered": 7,
            "roman": 8, "position": 9, "fignum": 10}


@dataclass(frozen=True)
class Identifier:
    """A label token in the caption: its span (parentheses included) and the labels it names."""

    start: int
    end: int
    labels: tuple[str, ...]
    style: str
    text: str


def expand_spec(spec: str, style: str) -> tuple[str, ...]:
    """'a–c and e' → ('a', 'b', 'c', 'e'); 'B1, B2' → ('B1', 'B2'); 'ii–iv' → ('ii', 'iii', 'iv')."""
    parts = re.split(rf"({_RANGE})", spec)
    items: list[str] = []
    pending_range = False
    for part in parts:
        if not part.strip():
            continue
        if re.fullmatch(_RANGE, part):
            pending_range = True
            continue
        for item in (i for i in re.split(_SEP, part) if i.strip()):
            item = item.strip()
            if pending_range and items:
                items += _between(items[-1], item, style)
            items.append(item)
            pending_range = False
    return tuple(dict.fromkeys(items))


def _between(a: str, b: str, style: str) -> list[str]:
    if style == "roman" and a.lower() in ROMAN and b.lower() in ROMAN:
        i, j = ROMAN.index(a.lower()), ROMAN.index(b.lower())
        return list(ROMAN[i + 1:j])
    if a.isdigit() and b.isdigit():
        return [str(n) for n in range(int(a) + 1, int(b))]
    if len(a) == len(b) == 1 and a.isalpha() and b.isalpha():
        return [chr(c) for c in range(ord(a) + 1, ord(b))]
    return []


def rank(label: str) -> tuple[int, int]:
    """Order of a label in its sequence: a < b < B1 < B2 < c; 1 < 2; i < ii."""
    low = label.lower().rstrip("'′")
    if low in ROMAN and len(low) > 1:
        return ROMAN.index(low) + 1, 0
    if low.isdigit():
        return int(low), 0
    if low[:1].isalpha():
        return ord(low[0]) - ord("a") + 1, int(low[1:]) if low[1:].isdigit() else 0
    return 0, 0


def _is_successor(prev: str | None, label: str, slack: int = 2) -> bool:
    """Is ``label`` the next label after ``prev`` (gaps up to ``slack`` tolerated)?"""
    r = rank(label)
    if prev is None:
        return r[0] <= 1 + slack  # sequences start at a / 1 / i (a caption may begin at b or c)
    p = rank(prev)
    if r[0] == p[0]:
        return r[1] == p[1] + 1  # B1 → B2
    return 0 < r[0] - p[0] <= slack + 1


# "Abbreviations: f, frontal; A and B, muscle scars …": a glossary's letters are not panel labels.
_GLOSSARY = re.compile(r"\b(?:[A-Z][a-z]+\s+)?abbreviations?\s*(?:used)?\s*[:.,]", re.I)


def _glossaries(caption: str) -> list[tuple[int, int]]:
    """Spans of the caption's abbreviation glossaries: from the heading to the end of its sentence."""
    spans = []
    for m in _GLOSSARY.finditer(caption):
        end = re.search(r"\.(?=\s+[A-Z(]|\s*$)", caption[m.end():])
        spans.append((m.start(), m.end() + end.end() if end else len(caption)))
    return spans


def _inside_word(caption: str, start: int, end: int) -> bool:
    """"Hs832(c)T": a letter in parentheses inside a name, not a label."""
    return caption[start - 1:start].isalnum() and caption[end:end + 1].isalnum()


def _inside_parentheses(caption: str, at: int) -> bool:
    """"hK11 (Panel a) and …": the ")" after a closes a parenthesis opened just before, so "a)" is no label."""
    before = re.search(r"[()][^()]{0,30}$", caption[max(0, at - 31):at])
    return before is not None and before.group(0)[0] == "("


def candidates(caption: str) -> dict[str, list[Identifier]]:
    """Every token of every style, adjacent ones of a style merged: '(a) and (b)' → one token (a, b)."""
    out: dict[str, list[Identifier]] = {}
    glossaries = _glossaries(caption)
    for style, pattern in STYLES:
        found = []
        for m in pattern.finditer(caption):
            if any(a <= m.start() < b for a, b in glossaries) or _inside_word(caption, m.start(), m.end()) or (
                    style == "rparen" and _inside_parentheses(caption, m.start())):
                continue
            spec = next(g for g in m.groups() if g)
            labels = expand_spec(spec, style)
            if style == "position":
                labels = (spec.lower().strip(),)
            found.append(Identifier(m.start(), m.end(), labels, style, m.group(0)))
        merged: list[Identifier] = []
        for tok in found:
            if merged and re.fullmatch(rf"(?:{_SEP}|{_RANGE})", caption[merged[-1].end:tok.start]):
                prev = merged[-1]
                glue = caption[prev.end:tok.start]
                labels = prev.labels + (tuple(_between(prev.labels[-1], tok.labels[0], style)) if re.fullmatch(
                    _RANGE, glue) else ()) + tok.labels
                merged[-1] = Identifier(prev.start, tok.end, tuple(dict.fromkeys(labels)), style,
                                        caption[prev.start:tok.end])
            else:
                merged.append(tok)
        out[style] = merged
    return out


def opens_sentence(caption: str, tok: Identifier) -> bool:
    """Does ``tok`` stand at the start of the caption or of a sentence?"""
    return caption[:tok.start].rstrip()[-1:] in ("", ".")


def _without_subpanels(caption: str, tokens: list[Identifier]) -> list[Identifier]:
    """"(A) … nuclei with low (a, b) and high (c, d) levels. (B) …": letters of the other case than the
    labels that open sentences, which the caption also prints in that case, name sub-panels."""
    openers = [lab.isupper() for tok in tokens if opens_sentence(caption, tok) for lab in tok.labels if lab.isalpha()]
    if not openers or openers.count(True) == openers.count(False):
        return tokens
    upper = openers.count(True) > openers.count(False)
    printed = {lab for tok in tokens for lab in tok.labels if lab.isalpha() and lab.isupper() == upper}
    return [tok for tok in tokens if not all(
        lab.isalpha() and lab.isupper() != upper and lab.swapcase() in printed for lab in tok.labels)]


def _chain(tokens: list[Identifier], strict: bool) -> list[Identifier]:
    """Tokens that introduce labels, in order; references to labels already introduced are dropped.

    A token is kept when its first new label follows the last one (gaps tolerated), or — outside the
    strict styles — when it fills a gap left earlier: "(a,b) … (d,e) … (c)" introduces c late.
    """
    kept: list[Identifier] = []
    seen: set[str] = set()
    last: str | None = None
    for tok in tokens:
        new = [lab for lab in tok.labels if lab.lower() not in seen]
        if not new:
            continue  # a reference to labels already introduced
        fills_gap = last is not None and rank(new[0]) < rank(last)  # "A and C: … B and D: …" too
        if not (_is_successor(last, new[0]) or fills_gap):
            continue
        kept.append(tok)
        seen.update(lab.lower() for lab in tok.labels)
        if last is None or rank(max(tok.labels, key=rank)) > rank(last):
            last = max(tok.labels, key=rank)
    return kept


_TRAILING_ITEM = re.compile(rf"^(?:{_SEP})(?:\(\s*({_LETTER})\s*\)|({_LETTER})\))")


def _absorb_mixed_lists(caption: str, tokens: list[Identifier]) -> list[Identifier]:
    """'(B) and C)': a list that switches style mid-way is one token."""
    out = []
    for tok in tokens:
        while m := _TRAILING_ITEM.match(caption[tok.end:]):
            label = m.group(1) or m.group(2)
            end = tok.end + m.end()
            tok = Identifier(tok.start, end, tuple(dict.fromkeys(tok.labels + (label,))), tok.style,
                             caption[tok.start:end])
        out.append(tok)
    return out


_LETTER_STYLES = ("paren", "rparen", "bare", "colon", "period", "comma")


def _fill_gaps(chain: list[Identifier], found: dict[str, list[Identifier]]) -> list[Identifier]:
    """Labels the sequence lacks, printed in another style where they belong: "(a). b Adenocarcinoma …",
    "A and C: 200X. B and D. A higher …", "… (A and B) … (C and D) … E–G) cortex; H–J) …". A token of
    another lettered style, in the chain's case, naming new labels in order (not "H&E"), is taken when its
    labels fit between those of the tokens around it, or continue the sequence after the last one."""
    if not chain or chain[0].style not in _LETTER_STYLES:
        return chain
    labels = [lab for t in chain for lab in t.labels]
    if not all(len(lab) == 1 and lab.isalpha() for lab in labels) or len({lab.isupper() for lab in labels}) > 1:
        return chain
    upper = labels[0].isupper()
    have = {lab.lower() for lab in labels}
    out = list(chain)
    others = sorted((t for style in _LETTER_STYLES if style != chain[0].style for t in found.get(style, [])),
                    key=lambda t: t.start)
    for tok in others:
        if any(len(lab) != 1 or not lab.isalpha() or lab.lower() in have for lab in tok.labels) or (
                tok.style == "bare" and tok.labels[0].lower() == "a"):
            continue  # "A 65-year-old woman …": an article
        names = [ord(lab.lower()) for lab in tok.labels]
        lo = max((ord(lab.lower()) for t in out if t.start < tok.start for lab in t.labels), default=ord("a") - 1)
        hi = min((ord(lab.lower()) for t in out if t.start > tok.start for lab in t.labels), default=None)
        if any(lab.isupper() != upper for lab in tok.labels) and not (
                tok.style == "period" and names == [lo + 1] and hi in (None, lo + 2)):
            continue  # the other case only for "(c) … D. Effect of …": the very next label opening a sentence
        fits = lo < names[0] and (names[-1] < hi if hi is not None else names[0] == lo + 1)
        # "A and C: 200X. B and D. A higher (500X) …": a list of the labels left out, after the others
        completes = hi is None and len(names) > 1 and names[-1] <= lo + 1
        if names == sorted(names) and (fits or completes):
            out = sorted(out + [tok], key=lambda t: t.start)
            have |= {lab.lower() for lab in tok.labels}
    return out


def find_identifiers(caption: str, found: dict[str, list[Identifier]] | None = None) -> tuple[str, list[Identifier]]:
    """The caption's label style and the tokens that introduce its labels (``('none', [])`` if unlabelled).
    ``found``: the caption's ``candidates``, when the caller has them already."""
    found = found if found is not None else candidates(caption)
    style, chain = _best_chain(caption, found)
    return style, _run_on(caption, style, _fill_gaps(chain, found))


def _run_on(caption: str, style: str, chain: list[Identifier]) -> list[Identifier]:
    """Bare capitals run into the text before them in taxonomy captions: "A segments IX–X, lateral
    B segments VII–VIII, lateral C segments IX–X, dorsal D …". After a bare chain, the next letter
    standing alone between lower-case words, within a sentence's reach, continues it."""
    if style != "bare" or len(chain) < 2 or not all(len(t.labels) == 1 and re.fullmatch("[A-Z]", t.labels[0])
                                                    for t in chain):
        return chain
    while (nxt := chr(ord(chain[-1].labels[0]) + 1)) <= "Z":
        m = re.compile(rf"(?<=[a-z,)] )({nxt})(?= [a-z(])").search(caption, chain[-1].end, chain[-1].end + 200)
        if m is None:
            break
        chain = chain + [Identifier(m.start(1), m.end(1), (nxt,), style, nxt)]
    return chain


def _best_chain(caption: str, found: dict[str, list[Identifier]]) -> tuple[str, list[Identifier]]:
    best: tuple[int, int, int, int, str, list[Identifier]] = (0, 0, 0, 0, "none", [])
    lettered = False  # "(a) … in three steps (1) … (2) …": numbers inside a lettered caption enumerate
    for style, tokens in found.items():
        if lettered and style in ("digit", "roman", "numbered"):
            continue
        tokens = _absorb_mixed_lists(caption, tokens) if style in ("paren", "rparen") else tokens
        tokens = _without_subpanels(caption, tokens)
        chain = _chain(tokens, style in STRICT)
        n = len({lab.lower() for t in chain for lab in t.labels})
        if style in STRICT and n < 2:
            continue  # a lone "a" or "A." is a word, not a label
        if style in STRICT and len(chain) == 1 and caption[:chain[0].start].rstrip()[-1:] not in ("", ".", ":", ";"):
            continue  # "XRD of samples A, B, C and D after annealing": a list of letters inside a sentence
        if style == "roman" and n < 2:
            continue
        # Most labels; then most tokens (per-label "A: … B: …" beats a grouping "(A–C)"); then most tokens
        # opening a sentence ("A. Evaluation … B. Soluble …" beats "in three (A) or two (B) assays"); then style.
        lettered = lettered or (style == "paren" and n >= 2)
        opening = sum(opens_sentence(caption, t) for t in chain)
        score = (n, len(chain), opening, -PRIORITY[style])
        if score > best[:4]:
            best = (*score, style, chain)
    return best[4], best[5]

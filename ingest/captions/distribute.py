"""Caption distribution: each subfigure label gets its part of the caption.

``distribute_caption(text)`` is deterministic and pure. It walks the label
*mentions* in reading order (the identifiers ``identifiers.find_identifiers``
keeps, plus parenthesised mentions of the same labels) and reads each as one
of two kinds:

- an *opener* starts the text it names: "(a) TEM image of …", Nature's "a TEM
  image of …", "A: …", "B. …". Its text runs to the next mention.
- a *closer* ends the phrase it names: "Stereopair (A) and line drawing (B).",
  "… indistinct in F-F specimens (a) and clearly identified in FFPE (b)",
  "Right kidney (A–C) and prostate (D–F).". Its phrase starts where the
  previous mention ended.

A list of closers in one sentence shares what plainly belongs to all its items:
the words before the first item when the items are parallel ("skull in left
lateral (a) and right lateral (b) views"), and a predicate or modifier after the
last one ("X (A) and Y (B) were infected …", "… (C) of late-stage mice").

Text before the first mention is the shared title; a closer's phrase that
spans several sentences gives its first sentence to the title. Text after the
last mention is shared when it follows a closer; after an opener, its first
sentence is the last label's own and the sentences after it are shared only if
they all read as notes on the whole figure ("Scale bars, …", "Data are mean ±
s.d.", "… staining."). "Inset: …" sentences go to the inset of the label they
name or follow. A caption without identifiers is one shared title sentence and
the rest; with ``expected_labels`` (from figure separation) each label gets it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ingest.captions.identifiers import (
    LETTERS,
    Identifier,
    candidates,
    expand_spec,
    find_identifiers,
    opens_sentence,
    rank,
)
from ingest.captions.scale import ScaleStatement, scale_statements, statement_spans
from ingest.captions.sentences import split_sentences

_IMAGES = r"(?:images|panels|micrographs|photos|photographs|pictures|sections|figures|data|results|graphs|plots)"
_COLOURS = r"(?:red|green|blue|yellow|cyan|magenta|white|black|gr[ae]y|orange|purple)"
# Sentences that are notes on the whole figure, not on the last label (the caption's trailing notes)
_GENERAL = re.compile("|".join((
    r"^\W*(?:scale bars?\b|lanes? \d|all (?:images|panels|data|scale|values|samples|experiments|micrographs)",
    r"data (?:are|were|represent|show)|values (?:are|were|represent)|error bars|results (?:\w+ )?(?:are|were)|n ?= ?\d",
    r"\*+ ?p",
    r"p ?[<>=≤]|abbreviations?|arrows?\b|arrowheads?\b|asterisks?\b|original magnification|magnifications?\b",
    rf"(?:(?:dashed|dotted|solid|broken|dash-dotted|hatched|shaded|{_COLOURS}) (?:lines?|curves?|boxes|box|"
    r"circles?|patterns?|areas?|regions?)|hatching|shading) (?:in [^.;]{1,15} )?"
    r"(?:represents?|indicates?|shows?|marks?|denotes?)",
    r"bars? (?:=|indicate|represent)|bars?\s*[,:=]|spectra (?:are|were) (?:offset|shifted)|curves (?:are|were) offset",
    r"samples were prepared|images were (?:taken|acquired|recorded)|representative (?:data|images|results)",
    rf"statistic(?:s|al)\b|these {_IMAGES}\b|{_IMAGES} (?:shown )?(?:are|were) representative",
    r"(?:reproduced|adapted|reprinted) (?:from|with))",
    # "Hematoxylin-eosin staining.", not "Cells were judged positive or negative for Mist1 staining."
    r"^\W*(?:\S+\s+){0,5}(?:staining|stained)\.?$",
    rf"\b(?:is|are) (?:shown|stained|labell?ed|depicted) in {_COLOURS}\b",
    r"^\W*(?:[A-Z][\w/+-]{0,10}[,:=] [^;.]{2,60}; ){2,}",  # a glossary: "COAD, colon adenocarcinoma; LUAD, …"
    r"^\W*(?:[A-Z][\w/+-]{0,10}: [^;.:]{2,60}, ){2,}",  # "PVC: premature ventricular complex, VF: …"
    r"(?:are|were) (?:displayed|expressed|presented|shown|given) as means?\b|"
    r"\bsame magnification\b|\bin all (?:panels|images)\b|\bcolou?r (?:scheme|code|coding)\b|\bused throughout\b",
    rf"^\W*all {_IMAGES}\b|^\W*scale(?: lines?)? (?:(?:equals?|is|are)\b|=)")), re.I)
_INSET = re.compile(r"^\W*insets?\b(?:\s+(?:in|of)\s+\(?([A-Za-z]\d?)\)?)?\s*[:,]?\s*", re.I)
_LEADING_JUNK = re.compile(r"^(?:[\s,;:.—–-]+|(?:and|or)\b\s*)", re.I)
# "… lateral (B) views." closes B's phrase; "(C) View from the left …" opens C's
_CLOSER_FOLLOW = re.compile(r"\s*(?:[.;,:)\]]|(?:and|or|respectively)\b|views?\b(?!\s+(?:from|of|at|along|into)\b)|$)",
                            re.I)
_NOT_NOUN = {"at", "in", "of", "on", "with", "from", "for", "by", "after", "before", "under", "showing", "shows",
             "show", "was", "were", "is", "are", "and", "or", "which", "that", "where", "when", "as", "to",
             "demonstrating"}
_REFERENCE = re.compile(r"\w\s+(?:in|between|from|to|as|see|cf\.|vs\.?|versus|than)\s*$")
_NAMES = re.compile(rf"\b(figures?|figs?\.|panels?|in|for)\s+\(?({LETTERS})\)?(?=[\s,.;:)]|$)", re.I)
# "Panels E–M illustrate …" opening a sentence: that sentence is about those panels, wherever it stands
_LEADING_NAMES = re.compile(rf"^\W*(?:(?:in\s+)?(?:panels?|figures?|figs?\.)\s+\(?({LETTERS})\)?(?=[\s,.;:)])"
                            rf"|in\s+\(?({LETTERS})\)?\s*,)", re.I)  # "In b and d, the error bars …" too
_GROUP_STYLES = ("comma", "colon", "period", "rparen")
OPENER_STYLES = {"bare", "colon", "period", "comma", "numbered", "rparen", "position", "fignum"}


@dataclass
class Distribution:
    """The caption cut into per-label pieces."""

    delimiter: str
    """identifier style: paren, bare, rparen, colon, period, comma, numbered, digit, roman, position, fignum,
    none"""
    labels: list[str]
    shared_prefix: str
    shared_suffix: str
    own: dict[str, str]
    """label → the text that describes only that label (and groups it belongs to)"""
    insets: dict[str, str] = field(default_factory=dict)
    scales: dict[str, list[ScaleStatement]] = field(default_factory=dict)
    suffix_start: int | None = None
    """caption offset where the shared notes begin"""
    mentions: list[Identifier] = field(default_factory=list)

    def subcaption(self, label: str) -> str:
        """Everything a reader of panel ``label`` needs: shared title, its own text, shared notes."""
        return " ".join(p for p in (self.shared_prefix, self.own.get(label, ""), self.shared_suffix) if p)

    @property
    def subcaptions(self) -> dict[str, str]:
        return {lab: self.subcaption(lab) for lab in self.labels}

    def scale_text(self) -> dict[str, str]:
        return {lab: str(s[0].length) for lab, s in self.scales.items() if s}

    def to_json(self) -> dict[str, object]:
        return {
            "delimiter": self.delimiter,
            "labels": self.labels,
            "subcaptions": self.subcaptions,
            "own": self.own,
            "shared": [p for p in (self.shared_prefix, self.shared_suffix) if p],
            "insets": self.insets,
            "scale_statements": self.scale_text(),
        }


def _clean(text: str) -> str:
    """A piece of the caption without the list glue before it (", and", ";"); the glue after it stays."""
    text = text.strip()
    while (new := _LEADING_JUNK.sub("", text, count=1)) != text:
        text = new.strip()
    return text


def _mentions(caption: str, chain: list[Identifier], found: dict[str, list[Identifier]]) -> list[Identifier]:
    """The chain, plus parenthesised mentions of its labels elsewhere ("specimens (a) and … (b)"), plus
    groups of them opening a sentence in another style ("… views. D–E, BP/1/5525, skull roof in dorsal (D)
    and ventral (E) views.")."""
    universe = {lab.lower() for t in chain for lab in t.labels}
    cases = {lab.isupper() for t in chain for lab in t.labels if lab.isalpha()}

    def names_chain_labels(t: Identifier) -> bool:
        # "(B) … Examples of low (a, b) and high (c, d) levels": other-case letters name something else
        return {lab.lower() for lab in t.labels} <= universe and (
            len(cases) != 1 or all(lab.isupper() in cases for lab in t.labels if lab.isalpha()))

    extra = [t for t in found["paren"] if names_chain_labels(t)]
    extra += [t for style in _GROUP_STYLES if chain and style != chain[0].style for t in found.get(style, [])
              if len(t.labels) > 1 and names_chain_labels(t) and opens_sentence(caption, t)]
    # "D–E, Clidastes sp. D, broken trabeculae. E, cortex …": a sentence opening with some labels of a group
    groups = [{lab.lower() for lab in t.labels} for t in chain if len(t.labels) > 1]
    extra += [t for t in found.get(chain[0].style, []) if chain[0].style in OPENER_STYLES and t not in chain
              and opens_sentence(caption, t) and any({lab.lower() for lab in t.labels} < g for g in groups)]
    extra = [t for t in extra if not _abbreviates(caption, t)]
    chosen = sorted({(t.start, t.end): t for t in chain + extra}.values(), key=lambda t: t.start)
    out: list[Identifier] = []
    for t in chosen:  # drop overlaps (a paren token inside a chosen one)
        if out and t.start < out[-1].end:
            continue
        out.append(t)
    # "Corresponding H&E is seen in (b).", "the identical area between (a) and (b)": references to
    # labels introduced elsewhere stay in the text they occur in.
    named = [{lab.lower() for lab in t.labels} for t in out]
    return [t for i, t in enumerate(out) if not (
        _REFERENCE.search(caption, 0, t.start) and t.style == "paren"
        and named[i] <= set().union(*(n for j, n in enumerate(named) if j != i)))]


def _abbreviates(caption: str, tok: Identifier) -> bool:
    """"Hematoxylin and eosin (H and E)": capitals that spell the initials of the words just before them."""
    if len(tok.labels) < 2 or not all(lab[:1].isupper() for lab in tok.labels):
        return False
    word = r"([A-Za-z])[\w-]*\s+(?:(?:and|of|the|or)\s+)?"
    m = re.search(word * len(tok.labels) + r"$", caption[:tok.start])
    if m is None:
        return False
    return [c.lower() for c in m.groups()] == [lab[0].lower() for lab in tok.labels]


def _is_closer(caption: str, tok: Identifier) -> bool:
    if tok.style in OPENER_STYLES or _dotted_opener(caption, tok):
        return False
    return bool(_CLOSER_FOLLOW.match(caption, tok.end))


def _dotted_opener(caption: str, tok: Identifier) -> bool:
    """"… cell lines. (B). Western blot of …", "(A), Immunohistochemistry …": a label that opens its sentence
    and is followed by a full stop, comma or colon has no phrase before it to close; it opens the text after it."""
    return opens_sentence(caption, tok) and re.match(r"[.,:]\s+[A-Z]", caption[tok.end:]) is not None


def distribute_caption(caption: str, expected_labels: list[str] | None = None) -> Distribution:
    """Cut ``caption`` into shared text and per-label text; see the module docstring."""
    caption = re.sub(r"[ \t\n\r\f\v]+", " ", caption).strip()  # typographic spaces (thin, nbsp) stay
    found = candidates(caption)  # every style's tokens, once: the style's chain and the mentions read them
    style, chain = find_identifiers(caption, found)
    if not chain:
        dist = _unlabelled(caption, expected_labels)
    else:
        spans = statement_spans(caption)
        # "Scale bar, 5 µm (b)." names b's scale, not b's text; "… = 100 microns (b) High power …" opens b.
        mentions = [t for t in _mentions(caption, chain, found)
                    if not any(a <= t.start < b for a, b in spans) or not _is_closer(caption, t)] or chain
        # "(d) immunostaining … (arrows) (d).": a label repeated at the end of its own text goes
        closers = _closers(caption, mentions)
        echoes = [t for i, t in enumerate(mentions) if i and closers[i] and not closers[i - 1]
                  and set(t.labels) == set(mentions[i - 1].labels)]
        text = caption
        for t in echoes:
            text = text[:t.start] + " " * (t.end - t.start) + text[t.end:]
        dist = _walk(text, style, [t for t in mentions if t not in echoes])
        for lab in expected_labels or []:  # labels the image has and the caption never names
            if lab.lower() not in {x.lower() for x in dist.labels}:
                dist.labels.append(lab)
                dist.own[lab] = ""
    dist.scales = scale_statements(caption, dist)
    return dist


def _unlabelled(caption: str, expected_labels: list[str] | None) -> Distribution:
    """No identifiers: the title sentence, the description, and trailing notes."""
    sentences = split_sentences(caption)
    prefix = sentences[0] if len(sentences) > 1 else ""
    rest = " ".join(sentences[1:]) if len(sentences) > 1 else caption
    mine, suffix = _split_last(rest)
    labels = list(expected_labels or [""])
    return Distribution("none", labels, prefix, suffix, {lab: mine for lab in labels},
                        suffix_start=caption.rfind(suffix) if suffix else len(caption))


def _closers(caption: str, mentions: list[Identifier]) -> list[bool]:
    """Which mentions close their phrase. In "X (A) and Y (B) amongst boys" (B) closes too: it continues
    a list of closers in the same clause even though words follow it."""
    flags = [_is_closer(caption, t) for t in mentions]
    if any(_dotted_opener(caption, t) for t in mentions):
        # "… clinical specimens (A). Western blot of … (B). Western blot …": in a caption of dotted openers,
        # a label that ends its title's sentence opens the next one too
        flags = [f and not re.match(r"\.\s+[A-Z]", caption[t.end:]) for f, t in zip(flags, mentions, strict=True)]
    for i in range(1, len(mentions) - 1):  # "… lymphocytes (C) hyperplastic acini showing mitosis (D).": a comma lost
        if flags[i - 1] and flags[i + 1] and mentions[i].style == "paren" and _same_sentence(
                caption, mentions[i - 1].end, mentions[i + 1].start):
            flags[i] = True
    for i in range(1, len(mentions)):
        between = caption[mentions[i - 1].end:mentions[i].start]
        if flags[i - 1] and not flags[i] and mentions[i].style not in OPENER_STYLES and re.fullmatch(
                r"\s*(?:,|;|and|or)?\s*(?:[^.;:()]|\([^()]{1,40}\)){1,100}", between):
            flags[i] = True
    return flags


# Words that open what a list of closers says of all its items: a predicate ("X (A) and Y (B) were infected …")
# or a modifier ("Survival (A), temperature (B) and parasitaemia (C) of late-stage ECM mice …")
_VERBS = r"(?:reveal|show|demonstrate|display|illustrate|depict|confirm|exhibit|indicate|represent)(?:s|e?d)?"
_SAID_OF_ALL = re.compile(r"\s*(?:\([^()]*\)\s*)*(?:of|in|from|for|at|on|with|after|during|under|"
                          rf"was|were|is|are|has|have|had|can|could|may|did|do|does|received|underwent|{_VERBS})\b",
                          re.I)


def _tail_owners(caption: str, mentions: list[Identifier], closers: list[bool], j: int) -> tuple[str, ...]:
    """Whom the words after closer ``j`` describe: its labels, or every label of its list of closers
    when those words say something of all of them."""
    k = j
    while k > 0 and closers[k - 1] and _same_sentence(caption, mentions[k - 1].end, mentions[k].start):
        k -= 1
    # "Strong (A) and weak (B) XIAP expression in melanoma …": items of a word or two go on into the noun
    # they qualify
    starts = [caption.rfind(". ", 0, mentions[k].start) + 1] + [t.end for t in mentions[k:j]]
    short = k < j and all(len(_clean(caption[a:t.start]).split()) <= 2 for a, t in zip(starts, mentions[k:j + 1],
                                                                                         strict=True))
    if not (short and re.match(r"\s+\w", caption[mentions[j].end:]) or _SAID_OF_ALL.match(caption, mentions[j].end)):
        return mentions[j].labels
    return tuple(dict.fromkeys(lab for t in mentions[k:j + 1] for lab in t.labels))


def _same_sentence(caption: str, a: int, b: int) -> bool:
    return not re.search(r"[.!?]\s+(?:[A-Z(]|[a-z]{1,3}[A-Z])", caption[a:b])  # "… (B). mRNA levels …" too


def _walk(caption: str, style: str, mentions: list[Identifier]) -> Distribution:
    own: dict[str, list[str]] = {}
    insets: dict[str, str] = {}
    prefix = ""
    pos = 0  # start of text not yet given to anyone
    open_labels: tuple[str, ...] | None = None
    open_index = 0
    open_start = 0
    closers = _closers(caption, mentions)
    lead, lead_end = "", -1  # a lead-in shared by a run of mentions in one sentence
    run_open: tuple[tuple[str, ...], int] | None = None  # openers of short items in one sentence, item length
    # Sentence starts, and labels that open a sentence of their own ("… nanorods. a HAADF-STEM image …")
    scales = statement_spans(caption)
    starts = sorted(set(_sentence_starts(caption)) | {t.start for t in mentions if caption[:t.start].rstrip()[-1:]
                                                       in (".", "!", "?")})

    canonical = _first_printed(mentions)

    def give(labels: tuple[str, ...], text: str) -> None:
        for sentence in split_sentences(text) if text else []:
            if m := _INSET.match(sentence):
                insets[m.group(1) or labels[-1]] = sentence[m.end():].rstrip(". ")
            else:
                for lab in _led_by(sentence, canonical) or labels:
                    own.setdefault(lab.lower(), []).append(sentence)  # "A" and "a" are one panel

    for i, tok in enumerate(mentions):
        if lead and tok.start < lead_end:
            give(tok.labels, lead)
        if closers[i]:
            if open_labels is not None:
                if set(tok.labels) == set(open_labels):
                    continue  # "(d) immunostaining … (arrows) (d)": a reference inside d's own text
                if set(tok.labels) < set(open_labels):
                    # "D–F: … obscure (D), … zone (D and E), whereas … (F)": phrases of a group's text. Whole
                    # sentences before the phrase are the group's; a list of closers shares its lead ("B and D:
                    # Bar diagrams for UM-SCC-74A (B) or CAL27-CisR (D) at IC50 doses")
                    items = [mentions[j] for j in range(i + 1, len(mentions)) if closers[j]
                             and set(mentions[j].labels) < set(open_labels) and _same_sentence(
                                 caption, tok.end, mentions[j].start)]
                    if not items and not closers[i - 1]:
                        continue  # "(D–F) While …, they contain many false branch points (F).": the group's
                    sentences = split_sentences(_clean(caption[max(open_start, pos):tok.start])) or [""]
                    give(open_labels, " ".join(sentences[:-1]))
                    words = sentences[-1].split()
                    n = _plain_item(words, _clean(caption[tok.end:items[0].start]).split()) if items else None
                    if n is not None and len(sentences) == 1 and not closers[i - 1]:
                        give(tuple(lab for t in [tok] + items for lab in t.labels), " ".join(words[:-n]))
                        words = words[-n:]
                    give(tok.labels, " ".join(words) + ("." if words and caption[tok.end:tok.end + 1] == "." else ""))
                    pos = tok.end
                    open_start = tok.end
                    continue
                # A closer naming other labels inside an opener's text ends that text here: at the start
                # of the closer's sentence when that is a later one ("(A) Soft agar assay …. When … were
                # grafted, the latter developed larger tumors in size (B) and weight (C).").
                begins = max(s for s in starts if s <= tok.start)
                pos = begins if begins > open_start else _phrase_start(caption, open_start, tok.start)
                give(open_labels, _clean(caption[open_start:pos]))
                open_labels = None
            phrase = caption[pos:tok.start]
            if i and closers[i - 1]:  # "… medial (F) views; and the dorsal process in lateral (G) …": F's list ends
                phrase = _LIST_END.sub("", phrase, count=1)
            if i and closers[i - 1] and len(sentences := split_sentences(_clean(phrase))) > 1:
                # "… tumors (a, c). The mean is shown as a line. Scatter plots … (b, d).": sentences
                # after a closer's sentence go on describing its labels.
                give(_tail_owners(caption, mentions, closers, i - 1), " ".join(sentences[:-1]))
                phrase = sentences[-1]
            if i == 0 or not prefix and not own:
                head, phrase = _split_title(phrase, caption, mentions, tok)
                prefix = head
            # "… in rostral (A) and medial (B) views; and the dorsal process in lateral (C) …": a clause after a
            # semicolon and a conjunction starts a list of its own ("against CK8 (a); COX-1 (b)" does not)
            run = [j for j in range(i + 1, len(mentions)) if closers[j] and _same_sentence(
                caption, tok.end, mentions[j].start) and not _NEW_CLAUSE.search(caption, tok.end, mentions[j].start)]
            if run and not (lead and tok.start < lead_end):
                # "… skull in left lateral (a) and right lateral (b) views": the words before the
                # first item are a lead shared by the whole list; the item is as long as the next one.
                nxt = mentions[run[0]]
                words = _clean(phrase).split()
                n = _plain_item(words, _clean(caption[tok.end:nxt.start]).split())
                if n is not None:
                    lead, lead_end = " ".join(words[:-n]), mentions[run[-1]].end + 1
                    give(tok.labels, lead)
                    phrase = " ".join(words[-n:])
            # "… metastasis (a, c). The mean …": the phrase keeps the full stop that followed the label
            phrase = _clean(phrase)
            if _REFERENCE.search(caption, 0, tok.start):
                phrase = f"{phrase} {tok.text}"  # "… the procured cells are shown in (d)": part of the phrase
            give(tok.labels, phrase + "." if phrase and caption[tok.end:tok.end + 1] == "." else phrase)
            pos = tok.end
        else:
            run_open = run_open if run_open and not closers[i - 1] else None
            start = max(s for s in starts if s <= tok.start)
            before = open_start if open_labels is not None else pos
            # not "… (arrows). Scale bar = 100 microns (b) High power view …": a statement, no lead
            words_before = re.sub(r"\([^()]*\)", "", caption[start:tok.start]).split()  # a parenthesis is one aside
            # "1. Positioning of the loop 2. After placement …": a sentence that starts where the previous
            # label's text does is that text, not this label's lead
            inline = start >= before and (start > 0 or i > 0) and 0 < len(words_before) <= 15 \
                and (i == 0 or closers[i - 1] or caption[before:start].strip() != "") \
                and not (lead and tok.start < lead_end) and not any(start <= a < tok.start for a, _ in scales) \
                and not caption[tok.start - 1:tok.start].isalnum()  # "… incision2. Cyst …": the words are 1's
            cut = start if inline else tok.start  # "… cells. Sections of (b) …": the words before b are its lead
            if open_labels is not None:
                text = _clean(caption[open_start:cut])
                item = caption[open_start:tok.start]
                words = _clean(item).split()
                if not inline and len(words) <= 2 + (words[-1:] in (["and"], ["or"])) and re.search(
                        r"(?:,|\band|\bor)\s*$", item):
                    # "(a) Sagittal and (b) oblique axial images …": a list of short items in one sentence
                    n = len(words) - (words[-1] in ("and", "or"))
                    run_open = (run_open[0] + open_labels, min(run_open[1], n)) if run_open else (open_labels, n)
                    give(open_labels, text)
                elif not inline and len(words) <= 3 and item.rstrip().endswith(";"):
                    # "E–G) cortex; H–J) hippocampus; K–M) cerebellum. Microvascular …": items that end at their
                    # ";" are whole; the sentences after the last one describe the list (item length 0)
                    run_open = (run_open[0] + open_labels, 0) if run_open else (open_labels, 0)
                    give(open_labels, text)
                else:
                    # "(H) seventh, (I)—(O) left lateral view of the thoracic vertebrae, (I) first, …": a group's
                    # heading ends the list before it and is all the group's
                    heading = set(tok.labels) < set(open_labels)
                    text, tail, predicate = _end_run(text, None if heading else run_open)
                    give(open_labels, text)
                    give(_openers_of_sentence(caption, mentions, closers, open_index) if predicate
                         else run_open[0] + open_labels if run_open else (), tail)
                    run_open = None
            elif not own and not prefix:
                prefix = caption[:cut].strip()
                if caption[tok.end:tok.end + 1] == "." and prefix[-1:].isalnum():
                    prefix += "."  # "… specimens (A). Western blot …": the title keeps its full stop
            elif pos < cut:
                give(_tail_owners(caption, mentions, closers, i - 1), _clean(caption[pos:cut]))  # a closer's tail
            if inline:
                lead = _clean(caption[start:tok.start])
                lead_end = min([s for s in starts if s > tok.start] + [len(caption)])
                give(tok.labels, lead)
            open_labels, open_start, open_index = tok.labels, tok.end, i
            pos = tok.end
    labels = sorted({lab for t in mentions for lab in t.labels}, key=lambda lab: (rank(lab), lab))
    labels = list(dict.fromkeys(canonical[lab.lower()] for lab in labels))

    def labels_named(sentence: str) -> list[str]:
        return _led_by(sentence, canonical) or _names_labels(sentence, labels)

    suffix_start = len(caption)
    suffix = ""
    if open_labels is not None:
        text = _clean(caption[open_start:])
        mine, suffix = _split_last(text)
        # "(D) … tissue. When comparing figures C and D, …": a later sentence naming labels is theirs
        first, *more = split_sentences(mine) or [""]
        named = [(sentence, names if set(names := labels_named(sentence)) - set(open_labels) else [])
                 for sentence in more]
        mine, tail, predicate = _end_run(" ".join([first] + [sentence for sentence, names in named if not names]),
                                         run_open)
        give(open_labels, mine)
        give(_openers_of_sentence(caption, mentions, closers, open_index) if predicate
             else run_open[0] + open_labels if run_open else (), tail)
        for sentence, names in named:
            give(tuple(names), sentence)
        if suffix:
            suffix_start = caption.rfind(suffix)
    else:
        suffix = _clean(caption[pos:])
        suffix_start = pos
        if suffix and _SAID_OF_ALL.match(caption, pos):
            # "… with gadolinium (i and k) demonstrate fat graft …": the last list's predicate is its own
            first, *more = split_sentences(suffix)
            give(_tail_owners(caption, mentions, closers, len(mentions) - 1), first)
            suffix = " ".join(more)
            suffix_start = caption.find(more[0], pos) if more else len(caption)
    rest = []
    for sentence in split_sentences(suffix) if suffix else []:
        if m := _INSET.match(sentence):
            insets[m.group(1) or mentions[-1].labels[-1]] = sentence[m.end():].rstrip(". ")
        elif names := labels_named(sentence):
            give(tuple(names), sentence)  # "Scale bars in b–e correspond to …": a note on b–e only
        else:
            rest.append(sentence)
    return Distribution(style, labels, _tidy(prefix), " ".join(rest),
                        {lab: _tidy(" ".join(own.get(lab.lower(), []))) for lab in labels}, insets,
                        suffix_start=suffix_start, mentions=mentions)


def _led_by(sentence: str, canonical: dict[str, str]) -> list[str]:
    """The labels a sentence opens with ("Panels E–M illustrate …"), when the caption has them all."""
    m = _LEADING_NAMES.match(sentence)
    spec = expand_spec(m.group(1) or m.group(2), "paren") if m else ()
    return [canonical[lab.lower()] for lab in spec] if all(lab.lower() in canonical for lab in spec) else []


def _tidy(text: str) -> str:
    """"((a) and (b)) Microphotograph …" leaves "( )" behind once the labels are out, "(arrows) (d)." "  "."""
    text = re.sub(r" {2,}(?=[.,;:])", "", re.sub(r"[(\[] ?[)\]]", "", text))  # where a label was taken out
    return re.sub(r" {2,}", " ", text).strip()  # thin spaces ("50 nm") stay


def _names_labels(sentence: str, labels: list[str]) -> list[str]:
    """The labels a note names ("figures C and D", "in b–e", "panels A and B"), when not all of them."""
    canonical = {lab.lower(): lab for lab in labels}
    named: list[str] = []
    for m in _NAMES.finditer(sentence):
        spec = expand_spec(m.group(2), "paren")
        if (m.group(1).lower().startswith(("fig", "panel")) or len(spec) > 1) and all(
                lab.lower() in canonical for lab in spec):
            named += [canonical[lab.lower()] for lab in spec]
    named = list(dict.fromkeys(named))
    return named if len(named) < len(labels) else []


def _sentence_starts(caption: str) -> list[int]:
    starts, at = [], 0
    for sentence in split_sentences(caption):
        at = caption.index(sentence, at)
        starts.append(at)
        at += len(sentence)
    return starts or [0]


_LIST_END = re.compile(r"^\s*(?:views?|images?|sections?|panels?|respectively)\s*[;,]\s*", re.I)
_VERB = re.compile(_VERBS, re.I)
_NEW_CLAUSE = re.compile(r";\s+(?:and|or|but|while|whereas)\b")
_PARALLEL = {"in", "of", "at", "from", "with", "for", "on", "after", "before", "by", "during", "under", "within"}
_PREPOSITIONS = _PARALLEL | {"against", "between", "to", "into", "through", "versus", "vs."}


def _plain_item(words: list[str], following: list[str]) -> int | None:
    """How many of ``words`` (a phrase ending in a closer) are the item, given the next item's words, when
    that is plain; the words before it are a lead the list shares.

    Items in a list are parallel: in "… levels in primary oligodendrocytes of mice (B) and in the white
    matter of controls (C)" an item that opens with a preposition found in this phrase begins there too. A
    next item of up to three words after a preposition ("skull roof in dorsal (D) and ventral (E)") gives the
    item's length. Otherwise ("In prostate, cells infiltrate (D, E) and nerves (F)") nothing is plain.
    """
    head = following[0].lower() if following else ""
    # "located the neck (A) and the left main bronchus (B)": an article too, when the item is short
    if (head in _PARALLEL or head == "the" and len(following) <= 5) and head in (
            low := [w.lower() for w in words[1:]]):
        return len(low) - max(i for i, w in enumerate(low) if w == head)
    n = max(1, len(following))
    return n if n <= 3 and len(words) > n and words[-n - 1].lower() in _PREPOSITIONS else None


def _end_run(text: str, run: tuple[tuple[str, ...], int] | None) -> tuple[str, str, bool]:
    """The last item of a list of short ones: "(A) ANG-1 and (B) ANG-2 levels of women …". B's item is
    as long as the others ("ANG-2"); the rest of its text ("levels of women …") describes the whole list.
    When a verb follows the item ("(A) axial MR image and (B) scanogram obtained using MRS reveal a cystic
    tumor"), the item ends there and the rest is said of every item of the sentence.
    Returns (the last label's own text, the list's shared text, whether that text is such a predicate)."""
    sentences = split_sentences(text)
    if run is None or not sentences:
        return text, "", False
    words, n = sentences[0].split(), run[1]
    if n == 0:  # items ended by ";"
        return sentences[0], " ".join(sentences[1:]), False
    if verb := next((v for v in range(1, len(words)) if _VERB.fullmatch(words[v])), None):
        return " ".join(words[:verb]), " ".join(words[verb:] + sentences[1:]), True
    if len(words) <= n and len(sentences) < 2:
        return text, "", False
    if len(words) > n and (words[n].lower() in _NOT_NOUN or words[0].lower() in ("the", "a", "an")):
        return text, "", False  # "(B) anti-IL-4 and (C) anti-IL-4 at higher magnification": C's own words
    while n < len(words) and " ".join(words[:n]).count("(") > " ".join(words[:n]).count(")"):
        n += 1  # "B) dorsal (with anterior to the right) views": the parenthesis is B's
    return " ".join(words[:n]), " ".join(words[n:] + sentences[1:]), False


def _openers_of_sentence(caption: str, mentions: list[Identifier], closers: list[bool], j: int) -> tuple[str, ...]:
    """The labels of the openers in the sentence of opener ``j`` up to it ("(a) Sagittal and (b) oblique
    T2-weighted images, (c) axial T1- and (d) fat-suppressed images show …")."""
    k = j
    while k > 0 and not closers[k - 1] and _same_sentence(caption, mentions[k - 1].end, mentions[k].start):
        k -= 1
    return tuple(dict.fromkeys(lab for t in mentions[k:j + 1] for lab in t.labels))


def _first_printed(mentions: list[Identifier]) -> dict[str, str]:
    """One spelling per label ('A' and 'a' in one caption are the same panel): the first printed."""
    first: dict[str, str] = {}
    for t in mentions:
        for lab in t.labels:
            first.setdefault(lab.lower(), lab)
    return first


def _phrase_start(caption: str, lo: int, hi: int) -> int:
    """Where a closer's phrase begins inside an opener's text: after the last clause break before it."""
    cut = max(caption.rfind(", ", lo, hi), caption.rfind("; ", lo, hi), caption.rfind(". ", lo, hi))
    return cut + 1 if cut >= lo else hi


def _split_title(phrase: str, caption: str, mentions: list[Identifier], tok: Identifier) -> tuple[str, str]:
    """The first closer's phrase: its leading sentences are the shared title.

    When the closer's sentence lists several labels ("Stereopair (A) and line drawing (B).")
    every sentence before it is shared; otherwise only the first one is.
    """
    sentences = split_sentences(phrase)
    if len(sentences) < 2:
        return "", phrase
    sentence_start = caption.find(sentences[-1])
    sentence_end = caption.find(". ", tok.end)
    inline_list = sum(1 for t in mentions
                      if sentence_start <= t.start and (sentence_end < 0 or t.start < sentence_end)) > 1
    head = sentences[:-1] if inline_list else sentences[:1]
    return " ".join(head), " ".join(sentences[len(head):])


def _split_last(text: str) -> tuple[str, str]:
    """The last label's own text, and the trailing sentences that are notes on the whole figure."""
    sentences = split_sentences(text)
    if len(sentences) < 2:
        return text, ""
    k = len(sentences)  # the longest run of notes at the end ("… Scale bar, 5 cm. Abbreviations: …")
    while k > 1 and (_GENERAL.search(sentences[k - 1]) or _INSET.match(sentences[k - 1])):
        k -= 1
    return " ".join(sentences[:k]), " ".join(sentences[k:])

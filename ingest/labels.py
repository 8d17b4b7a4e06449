"""The ``labels`` stage: hierarchical labels for every caption segment → ``labels``.

    python -m ingest.labels [--params params.yaml]

Trains word2vec (abstracts + captions) and LDA (abstracts) on the lake's own
corpus — the models are DVC outputs in ``labels.models_dir`` — then labels
each segment: caption labels (iterative centroid dropout), abstract labels,
techniques, materials, and the article's topic when LDA is confident enough
(``labels.topic_threshold``). Rows are keyed by the master subfigure id
``'<figure_id>/<label>'`` (``'<figure_id>/main'`` for an unlabelled figure).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from catalog.schema import ARTICLES, CAPTION_SEGMENTS, FIGURES, LABELS, conform
from catalog.storage import open_lake
from ingest.captions.nlp import content_words
from ingest.captions.topics import abstract_labels, caption_labels, topic, train
from ingest.config import section
from ingest.provenance import extractor, params_hash
from ingest.stage import report_metrics, stage_params

STAGE = "labels"
log = logging.getLogger(__name__)


def subfigure_id(figure_id: str, label: str) -> str:
    return f"{figure_id}/{label or 'main'}"


def main(argv: list[str] | None = None) -> None:
    params = stage_params(__doc__, argv)
    p = section(params, "labels")
    lake = open_lake(section(params, "lake.root"))
    segments = lake.read(CAPTION_SEGMENTS.name).to_pylist()
    figures = lake.read(FIGURES.name, ["figure_id", "article_id"]).to_pylist()
    article_of = {f["figure_id"]: f["article_id"] for f in figures}
    articles = lake.read(ARTICLES.name, ["article_id", "abstract"]).to_pylist()
    abstracts = {a["article_id"]: a["abstract"] or "" for a in articles}

    article_ids = sorted(abstracts)
    abstract_words = dict(zip(article_ids, content_words(abstracts[a] for a in article_ids), strict=True))
    segment_words = content_words(s["own_text"] or s["text"] or "" for s in segments)
    models = train([*abstract_words.values(), *segment_words], [abstract_words[a] for a in article_ids],
                   seed=int(p["seed"]), vector_size=int(p["vector_size"]), epochs=int(p["epochs"]),
                   num_topics=int(p["num_topics"]), passes=int(p["passes"]))
    models.save(Path(p["models_dir"]))

    phash = params_hash(p)
    topics = {a: topic(abstract_words[a], models, float(p["topic_threshold"])) for a in article_ids}
    rows: list[dict[str, Any]] = []
    for seg, words in zip(segments, segment_words, strict=True):
        article = article_of.get(seg["figure_id"], "")
        name, prob = topics.get(article, (None, 0.0))
        rows.append({
            "subfigure_id": subfigure_id(seg["figure_id"], seg["label"]),
            "figure_id": seg["figure_id"],
            "label": seg["label"],
            "caption_labels": caption_labels(words, models.w2v, int(p["caption_label_count"])),
            "abstract_labels": abstract_labels(abstract_words.get(article, []), words, models.w2v,
                                               int(p["abstract_label_count"])),
            "techniques": seg["techniques"],
            "materials": seg["materials"],
            "topic": name,
            "topic_confidence": prob,
            "extractor": extractor("ingest.captions.topics"),
            "params_hash": phash,
        })
    rows.sort(key=lambda r: r["subfigure_id"])
    n = lake.write(LABELS, conform(rows, LABELS))
    metrics = {"rows": n, "articles": len(article_ids), "vocabulary": len(models.w2v.wv),
               "articles_with_topic": sum(1 for t in topics.values() if t[0]),
               "topic_threshold": float(p["topic_threshold"])}
    report_metrics(STAGE, metrics)


if __name__ == "__main__":
    main()

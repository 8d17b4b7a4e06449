"""The ``captions`` stage: every figure's caption distributed to its labels → ``caption_segments``.

    python -m ingest.caption_segments [--params params.yaml]

Per figure: ``distribute_caption`` (labels, shared and own text, insets, scale
statements), then keyword labels on each label's text: the query's word
families (``captions.query``), techniques and materials.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from catalog.schema import CAPTION_SEGMENTS, FIGURES
from catalog.storage import open_lake
from ingest.captions import distribute_caption
from ingest.captions.keywords import materials, query_keywords, techniques
from ingest.config import section
from ingest.provenance import extractor, params_hash
from ingest.sources.query import load_query
from ingest.stage import ItemResult, Stage, report_metrics, stage_params

STAGE = "captions"
log = logging.getLogger(__name__)


def keyword_families(query_file: str | None) -> list[tuple[str, ...]]:
    """The query's keyword families (term + synonyms); none without a query."""
    if not query_file:
        return []
    return [f.words for f in load_query(query_file).families]


def segment_rows(figure_id: str, caption: str, families: list[tuple[str, ...]], phash: str) -> list[dict[str, Any]]:
    """One ``caption_segments`` row per label of the figure's caption."""
    dist = distribute_caption(caption or "")
    rows = []
    for label in dist.labels:
        text = dist.subcaption(label)
        own = dist.own.get(label, "")
        scales = dist.scales.get(label, [])
        rows.append({
            "figure_id": figure_id,
            "label": label,
            "text": text,
            "own_text": own,
            "inset_text": dist.insets.get(label),
            "delimiter": dist.delimiter,
            "keywords": query_keywords(text, families),
            "techniques": techniques(own or text),
            "materials": materials(own or text),
            "scale_text": str(scales[0].length) if scales else None,
            "scale_value": scales[0].length.value if scales else None,
            "scale_unit": scales[0].length.unit if scales else None,
            "extractor": extractor("ingest.captions"),
            "params_hash": phash,
        })
    return rows


def main(argv: list[str] | None = None) -> None:
    params = stage_params(__doc__, argv)
    lake = open_lake(section(params, "lake.root"))
    p = section(params, "captions")
    phash = params_hash(p)
    families = keyword_families(p.get("query"))
    figures = lake.read(FIGURES.name, columns=["figure_id", "caption"]).to_pylist()
    stage = Stage(STAGE, lake, [CAPTION_SEGMENTS], p, Path(section(params, "lake.work_root")),
                  checkpoint_every=int(section(params, "stage.checkpoint_every")) * 20)

    def process(fig: dict[str, Any]) -> ItemResult:
        result = ItemResult()
        for row in segment_rows(fig["figure_id"], fig["caption"], families, phash):
            result.add(CAPTION_SEGMENTS.name, row)
        return result

    report_metrics(STAGE, stage.run([(f["figure_id"], f) for f in figures], process).as_metrics())


if __name__ == "__main__":
    main()

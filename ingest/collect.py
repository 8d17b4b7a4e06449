"""The ``collect`` stage: sources → articles, figures and figure images.

``collect_local_page`` is the per-item function (one saved page in, rows
out); ``main`` is the DVC stage that maps it over the configured folders.

    python -m ingest.collect [--params params.yaml]
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from catalog.schema import ARTICLES, FIGURES, IMAGES
from catalog.storage import open_lake
from ingest.config import section
from ingest.errors import InputError
from ingest.images import ImageBlob, inspect_image
from ingest.provenance import extractor, params_hash
from ingest.sources import Article, FigureRef
from ingest.sources.local import find_pages, read_local_page
from ingest.sources.pdf import PdfSettings
from ingest.stage import ItemResult, Stage, report_metrics, stage_params

STAGE = "collect"
log = logging.getLogger(__name__)


def article_row(article: Article, source: str, source_path: str, phash: str) -> dict[str, Any]:
    row = asdict(article)
    row.pop("figures")
    row.pop("alt_id")  # article_id carries it when there is no DOI
    row.update(
        article_id=article.article_id,
        source=source,
        source_path=source_path,
        retrieved_at=None,
        query=None,
        figure_count=len(article.figures),
        extractor=extractor(f"ingest.sources.{article.page_format}"),
        params_hash=phash,
    )
    return row


def figure_row(article: Article, fig: FigureRef, blob: ImageBlob | None, image_source: str | None,
               phash: str) -> dict[str, Any]:
    return {
        "figure_id": fig.figure_id(article.article_id),
        "article_id": article.article_id,
        "kind": fig.kind,
        "number": fig.number,
        "figure_label": fig.figure_label,
        "title": fig.title,
        "caption": fig.caption,
        "image_url": fig.image_url,
        "image_sha256": blob.sha256 if blob else None,
        "image_format": blob.format if blob else None,
        "width": blob.width if blob else None,
        "height": blob.height if blob else None,
        "image_source": image_source,
        "license_spdx": article.license_spdx,
        "license_url": article.license_url,
        "extractor": extractor(f"ingest.sources.{article.page_format}"),
        "params_hash": phash,
    }


def image_row(blob: ImageBlob) -> dict[str, Any]:
    return {"sha256": blob.sha256, "format": blob.format, "width": blob.width, "height": blob.height,
            "bytes": blob.bytes, "source": blob.source}


def collect_local_page(path: Path, image_limits: dict[str, int], phash: str, source: str = "local",
                       pdf: PdfSettings = PdfSettings()) -> ItemResult:
    """One saved page or PDF → its article row, figure rows and image rows.

    A page that cannot be read raises (the stage quarantines it). A figure
    whose image is corrupt or too large keeps its row (caption, URL) without
    image columns, and the image goes to quarantine as a problem.
    """
    page = read_local_page(path, pdf)
    result = ItemResult()
    row = article_row(page.article, source, str(path), phash)
    sidecar = path.with_suffix(".meta.json")
    if sidecar.exists():  # a crawled page: where and when it was fetched, and for which query
        meta = json.loads(sidecar.read_text())
        row.update(source=meta["source"], source_path=meta["url"], query=meta.get("query"),
                   retrieved_at=datetime.fromisoformat(meta["retrieved_at"]))
        row["url"] = row["url"] or meta.get("final_url")
    result.add(ARTICLES.name, row)
    for i, fig in enumerate(page.article.figures):
        image = page.image(i)
        blob = None
        if image is not None:
            try:
                blob = inspect_image(image[1], image[0], **image_limits)
                result.add(IMAGES.name, image_row(blob))
            except InputError as e:
                result.problems.append(e)
        result.add(FIGURES.name, figure_row(page.article, fig, blob, image[0] if image else None, phash))
    return result


def main(argv: list[str] | None = None) -> None:
    params = stage_params(__doc__, argv)
    lake = open_lake(section(params, "lake.root"))
    local = section(params, "sources.local")
    limits = {"max_pixels": int(section(params, "images.max_pixels")),
              "max_bytes": int(section(params, "images.max_bytes"))}
    pdf = PdfSettings(max_pixels=limits["max_pixels"], **params["sources"].get("pdf", {}))
    settings = {"sources": params["sources"], "images": params["images"]}
    phash = params_hash(settings)

    # Saved pages, then the synthetic journal: both are folders of pages the local reader parses.
    items = [(p, "local") for p in find_pages(local["paths"])]
    if synth := params["sources"].get("synth"):
        if not Path(synth["path"]).is_dir():
            raise SystemExit(f"sources.synth.path {synth['path']}: no synthetic journal there; "
                             "run `dvc repro synthesize` (or `python -m ingest.synthesize`) first")
        items += [(p, "synth") for p in find_pages([synth["path"]])]
    web = params["sources"].get("web")
    if web and Path(web["out"]).is_dir():  # crawled pages; their sidecars name the publisher
        items += [(p, "web") for p in find_pages([web["out"]])]
    stage = Stage(STAGE, lake, [ARTICLES, FIGURES, IMAGES], settings,
                  work_root=Path(section(params, "lake.work_root")),
                  checkpoint_every=int(section(params, "stage.checkpoint_every")),
                  content_addressed=[IMAGES.name])
    report = stage.run([(str(p), (p, source)) for p, source in items],
                       lambda item: collect_local_page(item[0], limits, phash, item[1], pdf))

    figures = lake.read(FIGURES.name, columns=["image_sha256"])
    metrics = report.as_metrics()
    metrics["figures_without_image"] = figures.column("image_sha256").null_count
    report_metrics(STAGE, metrics)


if __name__ == "__main__":
    main()

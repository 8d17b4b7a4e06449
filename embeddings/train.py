"""The ``clip_model`` stage: train the domain CLIP on the lake's subfigure–caption pairs.

    python -m embeddings.train [--params params.yaml]

Pairs: every subfigure whose caption gives it a description (its label's own
text; dependents their master's; insets their "Inset: …" text), with its
thumbnail; plus, since a lake's own pairs can be few, the panels of
``synthetic_figures`` freshly rendered synthetic-journal figures (a seed of
their own, so ``data/synth`` stays a held-out benchmark) with their true
descriptions. The text tower (MiniLM) is locked; only the image tower learns
(``embeddings.clip``). Writes the model folder (``embed.clip.train.out``, a
DVC output, open_clip ``local-dir`` format) and ``metrics/clip_model.json``.
Skipped with a note when ``embed.clip.model`` names another model.
"""

from __future__ import annotations

import io
import logging
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from tqdm import tqdm

from catalog.storage import AnyLake, open_lake
from embeddings.clip import LOCAL_DIR, DomainSettings, train_domain
from embeddings.documents import expand_acronyms, subfigure_docs, thumbnail_bytes
from ingest.config import section
from ingest.stage import report_metrics, stage_params

STAGE = "clip_model"
log = logging.getLogger(__name__)


def domain_settings(p: dict) -> DomainSettings:
    return DomainSettings(image_size=int(p["image_size"]), width=int(p["width"]),
                          layers=tuple(int(x) for x in p.get("layers", (1, 1, 1, 1))),  # type: ignore[arg-type]
                          steps=int(p["steps"]), batch_size=int(p["batch_size"]), lr=float(p["lr"]),
                          seed=int(p["seed"]), threads=int(p["threads"]))


def thumbnails(lake: AnyLake) -> dict[str, Image.Image]:
    """subfigure_id → its thumbnail, decoded (thumbnails are JPEGs the figures stage wrote: trusted)."""
    return {sid: Image.open(io.BytesIO(b)).convert("RGB") for sid, b in thumbnail_bytes(lake).items()}


def figure_pairs(job: tuple[int, int, int]) -> list[tuple[bytes, str]]:
    """(thumbnail PNG, description) of every master, dependent and inset of one rendered figure."""
    from ingest.images import decode_rgb
    from ingest.synth.figure import encode, plan_figure, render_figure
    from ingest.synth.journal import article_rng

    seed, index, thumb_px = job
    plan = plan_figure(article_rng(seed, index), f"clip-{index}")
    rendered = render_figure(plan)
    data, ext = encode(rendered.image, plan.jpeg_quality)
    rgb = decode_rgb(data, f"clip-{index}.{ext}")  # with the JPEG artefacts a reader sees
    t = rendered.truth
    out = []
    for m in t.master_images:
        boxes = [(m.bbox, m.description)] + [(d.bbox, m.description) for d in m.dependents]
        boxes += [(i.bbox, t.inset_captions.get(m.label or "", m.description)) for i in m.insets]
        for (x0, y0, x1, y1), text in boxes:
            if x1 - x0 < 8 or y1 - y0 < 8 or not text:
                continue
            im = Image.fromarray(rgb[y0:y1, x0:x1])
            im.thumbnail((thumb_px, thumb_px))
            buf = io.BytesIO()
            im.save(buf, "PNG")
            out.append((buf.getvalue(), expand_acronyms(text)))
    return out


def synthetic_pairs(seed: int, figures: int, thumb_px: int, workers: int) -> list[tuple[Image.Image, str]]:
    jobs = [(seed, i, thumb_px) for i in range(figures)]
    pairs: list[tuple[Image.Image, str]] = []
    with ProcessPoolExecutor(max_workers=max(1, workers), mp_context=multiprocessing.get_context("spawn")) as pool:
        for found in tqdm(pool.map(figure_pairs, jobs, chunksize=4), total=len(jobs), desc="render pairs",
                          unit="figure"):
            pairs += [(Image.open(io.BytesIO(png)).convert("RGB"), text) for png, text in found]
    return pairs


def main(argv: list[str] | None = None) -> None:
    params = stage_params(__doc__, argv)
    cp = section(params, "embed.clip")
    out = Path(cp["train"]["out"])
    lake = open_lake(section(params, "lake.root"))
    settings = domain_settings(cp["train"])
    thumbs = thumbnails(lake)
    pairs = [(thumbs[d.subfigure_id], d.describe) for d in subfigure_docs(lake)
             if d.describe.strip() and d.subfigure_id in thumbs]
    lake_pairs = len(pairs)
    tp: dict[str, Any] = cp["train"]
    if int(tp.get("synthetic_figures", 0)) > 0:
        pairs += synthetic_pairs(int(tp["synthetic_seed"]), int(tp["synthetic_figures"]),
                                 int(section(params, "figures.thumbnail_px")), int(tp.get("workers", 2)))
    if not pairs:
        raise SystemExit(f"{STAGE}: the lake has no subfigure with both a thumbnail and caption text to train on")
    start = time.perf_counter()
    bar = tqdm(total=settings.steps, desc=STAGE, unit="step")
    losses: list[float] = []

    def progress(step: int, loss: float) -> None:
        losses.append(loss)
        bar.update(1)
        bar.set_postfix(loss=f"{np.mean(losses[-20:]):.3f}")

    images, texts = [p[0] for p in pairs], [p[1] for p in pairs]
    train_domain(images, texts, settings, out, progress)
    bar.close()
    report_metrics(STAGE, {"pairs": len(pairs), "lake_pairs": lake_pairs, "distinct_texts": len(set(texts)),
                           "steps": settings.steps,
                           "train_seconds": round(time.perf_counter() - start, 1),
                           "final_loss": round(float(np.mean(losses[-20:])), 4),
                           "model": LOCAL_DIR + str(out), "default_model": cp["model"] == LOCAL_DIR + str(out)})


if __name__ == "__main__":
    main()

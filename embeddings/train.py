"""The ``clip_model`` stage: train the domain CLIP on the lake's subfigure–caption pairs.

    python -m embeddings.train [--params params.yaml]

Pairs: every subfigure whose caption gives it a description (its label's own
text; dependents their master's; insets their "Inset: …" text), with its
thumbnail. The text tower (MiniLM) is locked; only the image tower learns
(``embeddings.clip``). Writes the model folder (``embed.clip.train.out``, a
DVC output, open_clip ``local-dir`` format) and ``metrics/clip_model.json``.
Skipped with a note when ``embed.clip.model`` names another model.
"""

from __future__ import annotations

import io
import logging
import time
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from catalog.tables import Lake
from embeddings.clip import LOCAL_DIR, DomainSettings, train_domain
from embeddings.documents import subfigure_docs
from ingest.config import section
from ingest.stage import report_metrics, stage_params

STAGE = "clip_model"
log = logging.getLogger(__name__)


def domain_settings(p: dict) -> DomainSettings:
    return DomainSettings(image_size=int(p["image_size"]), width=int(p["width"]),
                          layers=tuple(int(x) for x in p.get("layers", (1, 1, 1, 1))),  # type: ignore[arg-type]
                          steps=int(p["steps"]), batch_size=int(p["batch_size"]), lr=float(p["lr"]),
                          seed=int(p["seed"]), threads=int(p["threads"]))


def thumbnails(lake: Lake) -> dict[str, Image.Image]:
    """subfigure_id → its thumbnail, decoded (thumbnails are JPEGs the figures stage wrote: trusted)."""
    t = lake.read("thumbnails", ["subfigure_id", "bytes"])
    return {sid: Image.open(io.BytesIO(b)).convert("RGB")
            for sid, b in zip(t.column("subfigure_id").to_pylist(), t.column("bytes").to_pylist(), strict=True)}


def main(argv: list[str] | None = None) -> None:
    params = stage_params(__doc__, argv)
    cp = section(params, "embed.clip")
    out = Path(cp["train"]["out"])
    lake = Lake(Path(section(params, "lake.root")))
    settings = domain_settings(cp["train"])
    thumbs = thumbnails(lake)
    pairs = [(thumbs[d.subfigure_id], d.describe) for d in subfigure_docs(lake)
             if d.describe.strip() and d.subfigure_id in thumbs]
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
    report_metrics(STAGE, {"pairs": len(pairs), "distinct_texts": len(set(texts)), "steps": settings.steps,
                           "train_seconds": round(time.perf_counter() - start, 1),
                           "final_loss": round(float(np.mean(losses[-20:])), 4),
                           "model": LOCAL_DIR + str(out), "default_model": cp["model"] == LOCAL_DIR + str(out)})


if __name__ == "__main__":
    main()

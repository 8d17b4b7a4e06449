"""The ``stem_model`` stage: train the STEM encoder, embed the library into the lake.

    python -m ingest.stem.model [--params params.yaml]

Trains ``embeddings.stem.StemEncoder`` on images rendered afresh at every
step from the *train* prototypes' views (the library's settings: pixel size,
zone axes, noise range; a random pixel-size error of ± ``scale_jitter`` as a
query's scale bar may carry), so the encoder never sees a test prototype and
never sees the same image twice. Writes the checkpoint (``stem.model.path``, a
DVC output: weights, the library geometry a query must be resampled to, the
training settings) and the lake's ``stem_library`` Lance table: every library
entry with its embedding.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import torch
from tqdm import tqdm

from catalog.schema import STEM_LIBRARY
from catalog.tables import Lake, write_table
from embeddings.stem import StemEncoder, TrainSettings, embed_images, train
from ingest.config import section
from ingest.stage import report_metrics, stage_params
from ingest.stem.library import LibrarySpec, View, cif_files, structures_for, views_of
from ingest.stem.render import render, to_uint8
from ingest.stem.structures import Prototype

STAGE = "stem_model"
log = logging.getLogger(__name__)


def training_views(library: pa.Table, structures: list[Prototype], spec: LibrarySpec) -> dict[str, list[View]]:
    """prototype → its library views, for the library's train split only."""
    train_names = set(library.filter(pc.equal(library["split"], "train"))["prototype"].to_pylist())
    return {s.name: views_of(s, spec) for s in structures if s.name in train_names}


def save_encoder(path: Path, model: StemEncoder, spec: LibrarySpec, settings: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save({"state_dict": model.state_dict(), "width": model.width, "n_classes": model.classifier.out_features,
                "size_px": spec.size_px, "nm_per_px": spec.nm_per_px, "settings": settings}, tmp)
    tmp.replace(path)


def load_encoder(path: Path) -> tuple[StemEncoder, int, float]:
    """(encoder, library image size px, library nm/px) from a checkpoint ``save_encoder`` wrote."""
    if not path.exists():
        raise FileNotFoundError(f"{path}: no STEM encoder; run `dvc repro stem_model`")
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    model = StemEncoder(int(ckpt["n_classes"]), int(ckpt["width"]))
    model.load_state_dict(ckpt["state_dict"])
    model.eval()
    return model, int(ckpt["size_px"]), float(ckpt["nm_per_px"])


def library_images(library: pa.Table) -> np.ndarray:
    """The library's PNGs (written by ``stem_library``, so trusted) as an n×h×w uint8 array."""
    images = [cv2.imdecode(np.frombuffer(b, np.uint8), cv2.IMREAD_GRAYSCALE) for b in library["image"].to_pylist()]
    assert all(i is not None for i in images), "the stem_library stage writes valid PNGs"
    return np.stack(images)  # type: ignore[arg-type]


def main(argv: list[str] | None = None) -> None:
    params = stage_params(__doc__, argv)
    lp, mp = section(params, "stem.library"), section(params, "stem.model")
    spec = LibrarySpec.from_params(lp)
    library = pq.read_table(lp["out"])
    structures, _, _ = structures_for(spec, cif_files(list(lp.get("cifs") or [])))
    views = training_views(library, structures, spec)
    settings = TrainSettings(steps=int(mp["steps"]), prototypes_per_batch=int(mp["prototypes_per_batch"]),
                             images_per_prototype=int(mp["images_per_prototype"]), lr=float(mp["lr"]),
                             tau=float(mp["tau"]), class_weight=float(mp["class_weight"]), width=int(mp["width"]),
                             seed=int(mp["seed"]), threads=int(mp["threads"]))
    jitter = float(mp["scale_jitter"])

    def render_view(view: View, rng: np.random.Generator) -> np.ndarray:
        nm_per_px = spec.nm_per_px * rng.uniform(1 - jitter, 1 + jitter)
        return to_uint8(render(view.proj, rng, rng.uniform(0, 1), spec.size_px, nm_per_px))

    start = time.perf_counter()
    bar = tqdm(total=settings.steps, desc="stem_model", unit="step")
    losses: list[float] = []

    def progress(step: int, loss: float) -> None:
        losses.append(loss)
        bar.update(1)
        bar.set_postfix(loss=f"{np.mean(losses[-20:]):.3f}")

    model = train(views, render_view, settings, progress)
    bar.close()
    train_seconds = time.perf_counter() - start
    save_encoder(Path(mp["path"]), model, spec, settings.__dict__)
    start = time.perf_counter()
    vectors = embed_images(model, library_images(library))
    embed_seconds = time.perf_counter() - start
    library = library.set_column(library.schema.get_field_index("embedding"), STEM_LIBRARY.schema.field("embedding"),
                                 pa.array(list(vectors), type=STEM_LIBRARY.schema.field("embedding").type))
    lake = Lake(Path(section(params, "lake.root")))
    write_table(lake, STEM_LIBRARY, library)
    report_metrics(STAGE, {
        "train_prototypes": len(views), "steps": settings.steps,
        "images_seen": settings.steps * settings.prototypes_per_batch * settings.images_per_prototype,
        "train_seconds": round(train_seconds, 1), "final_loss": round(float(np.mean(losses[-20:])), 4),
        "library_images": len(library), "embed_ms_per_image": round(1000 * embed_seconds / max(len(library), 1), 2),
        "embedding_dim": model.dim,
    })


if __name__ == "__main__":
    main()

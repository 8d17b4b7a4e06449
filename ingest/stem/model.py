"""The ``stem_model`` stage: train the STEM encoder, embed the library into the lake.

    python -m ingest.stem.model [--params params.yaml]

Trains ``embeddings.stem.StemEncoder`` on images rendered afresh at every
step from the *train* prototypes' views (the library's settings: pixel size,
zone axes, noise range; a random pixel-size error of ± ``scale_jitter`` as a
query's scale bar may carry), so the encoder never sees a test prototype and
never sees the same image twice. Writes the checkpoint (``stem.model.path``, a
DVC output: weights, the library geometry a query must be resampled to, the
training settings, the library's embeddings) and the lake's ``stem_library``
Lance table: every library entry with its embedding.

Nothing of the lake enters the encoder, so the stage takes the committed copy
(``stem.model.checkpoint``) when that was trained on this very code and these
settings (``ingest.checkpoints``), with the library embeddings stored in it for
every library image whose digest matches (the rest are embedded afresh).
"""

from __future__ import annotations

import hashlib
import logging
import shutil
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
from ingest.checkpoints import MODELS, reusable
from ingest.config import section
from ingest.stage import report_metrics, stage_params
from ingest.stem.library import LibrarySpec, View, cif_files, structures_for, views_of
from ingest.stem.render import render, to_uint8
from ingest.stem.structures import Prototype

STAGE = "stem_model"
ENCODER = next(m for m in MODELS if m.stage == STAGE)
log = logging.getLogger(__name__)


def training_views(library: pa.Table, structures: list[Prototype], spec: LibrarySpec) -> dict[str, list[View]]:
    """prototype → its library views, for the library's train split only."""
    train_names = set(library.filter(pc.equal(library["split"], "train"))["prototype"].to_pylist())
    return {s.name: views_of(s, spec) for s in structures if s.name in train_names}


def save_encoder(path: Path, model: StemEncoder, spec: LibrarySpec, settings: dict[str, Any],
                 provenance: dict[str, Any] | None = None) -> None:
    """Write the checkpoint; ``provenance`` (fingerprint, training metrics, library embeddings) goes with it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save({"state_dict": model.state_dict(), "width": model.width, "n_classes": model.classifier.out_features,
                "size_px": spec.size_px, "nm_per_px": spec.nm_per_px, "settings": settings, **(provenance or {})}, tmp)
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


def embed_library(model: StemEncoder, images: np.ndarray) -> tuple[np.ndarray, float]:
    """(embeddings, ms per image) of the library images."""
    start = time.perf_counter()
    vectors = embed_images(model, images)
    return vectors, 1000 * (time.perf_counter() - start) / max(len(images), 1)


def image_digests(images: np.ndarray) -> np.ndarray:
    """The first 8 bytes of each image's sha256 (n×8 uint8): which image a stored embedding is of."""
    return np.array([np.frombuffer(hashlib.sha256(im.tobytes()).digest()[:8], np.uint8) for im in images],
                    np.uint8).reshape(len(images), 8)


def library_provenance(vectors: np.ndarray, images: np.ndarray) -> dict[str, torch.Tensor]:
    """What a checkpoint stores so a later run can take its library embeddings: each with its image's digest."""
    return {"library_embeddings": torch.from_numpy(np.ascontiguousarray(vectors, np.float32)),
            "library_digests": torch.from_numpy(image_digests(images))}


def from_checkpoint(path: Path, images: np.ndarray, sample: int = 64) -> tuple[np.ndarray, dict[str, Any]]:
    """(library embeddings, metrics) from a committed checkpoint: the embedding stored for each image with
    the same digest, the rest embedded afresh (a renderer whose floating-point results differ on another
    CPU changes a few images' pixels). ``embed_ms_per_image`` is measured on ``sample`` images either way."""
    model, _, _ = load_encoder(path)
    blob = torch.load(path, map_location="cpu", weights_only=True)
    metrics = dict(blob.get("metrics") or {})
    _, ms = embed_library(model, images[:sample])
    stored, digests = blob.get("library_embeddings"), blob.get("library_digests")
    vectors = np.zeros((len(images), model.dim), np.float32)
    taken = np.zeros(len(images), bool)
    if stored is not None and digests is not None:
        row_of = {d.tobytes(): i for i, d in enumerate(digests.numpy())}
        for i, d in enumerate(image_digests(images)):
            if (j := row_of.get(d.tobytes())) is not None:
                vectors[i], taken[i] = stored[j].numpy(), True
    todo = np.flatnonzero(~taken)
    if len(todo):
        log.info("%s: %d of %d library images have no stored embedding; embedding them", path, len(todo), len(images))
        vectors[todo] = embed_library(model, images[todo])[0]
    return vectors, {**metrics, "embed_ms_per_image": round(ms, 2), "library_embeddings_taken": int(taken.sum()),
                     "library_embeddings_computed": len(todo)}


def main(argv: list[str] | None = None) -> None:
    params = stage_params(__doc__, argv)
    lp, mp = section(params, "stem.library"), section(params, "stem.model")
    spec = LibrarySpec.from_params(lp)
    library = pq.read_table(lp["out"])
    images = library_images(library)
    out = Path(mp["path"])
    committed, fingerprint = reusable(ENCODER, params)
    if committed:
        vectors, metrics = from_checkpoint(committed, images)
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(committed, out)
        metrics["checkpoint"] = str(committed)
    else:
        model, metrics = train_encoder(library, spec, lp, mp)
        vectors, ms = embed_library(model, images)
        metrics.update(library_images=len(library), embed_ms_per_image=round(ms, 2), embedding_dim=model.dim)
        save_encoder(out, model, spec, metrics.pop("settings"),
                     {"fingerprint": fingerprint, "metrics": metrics, **library_provenance(vectors, images)})
        metrics["checkpoint"] = None
    library = library.set_column(library.schema.get_field_index("embedding"), STEM_LIBRARY.schema.field("embedding"),
                                 pa.array(list(vectors), type=STEM_LIBRARY.schema.field("embedding").type))
    write_table(Lake(Path(section(params, "lake.root"))), STEM_LIBRARY, library)
    report_metrics(STAGE, metrics)


def train_encoder(library: pa.Table, spec: LibrarySpec, lp: dict[str, Any],
                  mp: dict[str, Any]) -> tuple[StemEncoder, dict[str, Any]]:
    """Train the encoder on the library's train prototypes (rendered afresh at every step)."""
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
    return model, {
        "train_prototypes": len(views), "steps": settings.steps,
        "images_seen": settings.steps * settings.prototypes_per_batch * settings.images_per_prototype,
        "train_seconds": round(time.perf_counter() - start, 1), "final_loss": round(float(np.mean(losses[-20:])), 4),
        "settings": settings.__dict__,
    }


if __name__ == "__main__":
    main()

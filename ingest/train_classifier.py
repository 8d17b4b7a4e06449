"""The ``train_classifier`` stage: train the subfigure classifier on synthetic-journal panels.

    python -m ingest.train_classifier [--params params.yaml]

Renders ``figures.classifier.train_figures`` synthetic figures with a seed of
their own (so the synthetic journal in ``data/synth`` stays a held-out
benchmark), crops every master, dependent and inset with its true class —
jittering each box a little, as a detector's boxes are never exact — and
trains ``ingest.figures.classify.PanelNet`` on CPU. Writes the model
(``figures.classifier.model``, a DVC output) and ``metrics/train_classifier.json``
(held-out accuracy on a split of the rendered panels). Nothing of the lake
enters it, so it takes the committed copy (``figures.classifier.checkpoint``)
when that was trained on this very code and these settings
(``ingest.checkpoints``).
"""

from __future__ import annotations

import logging
import multiprocessing
import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from ingest.checkpoints import MODELS, reusable
from ingest.config import section
from ingest.figures.classify import CLASSES, PanelClassifier, PanelNet, preprocess
from ingest.images import decode_rgb
from ingest.stage import report_metrics, stage_params
from ingest.synth.extras import extra_panel
from ingest.synth.figure import encode, plan_figure, render_figure
from ingest.synth.journal import article_rng

STAGE = "train_classifier"
CLASSIFIER = next(m for m in MODELS if m.stage == STAGE)
log = logging.getLogger(__name__)


def _jitter(box: tuple[int, int, int, int], w: int, h: int, rng: np.random.Generator) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = box
    dx, dy = 0.04 * (x1 - x0), 0.04 * (y1 - y0)
    j = rng.uniform(-1, 1, 4) * [dx, dy, dx, dy]
    nx0, ny0 = int(np.clip(x0 + j[0], 0, w - 2)), int(np.clip(y0 + j[1], 0, h - 2))
    return nx0, ny0, int(np.clip(x1 + j[2], nx0 + 2, w)), int(np.clip(y1 + j[3], ny0 + 2, h))


def figure_panels(args: tuple[int, int, int, int]) -> tuple[list[np.ndarray], list[np.ndarray], list[int]]:
    """Render one training figure; its panels (and ``extras`` panels of kinds the journal's figures
    lack, see ``ingest.synth.extras``) as (preprocessed image, features, class index)."""
    seed, index, jitters, extras = args
    rng = article_rng(seed, index)
    plan = plan_figure(rng, f"train-{index}")
    rendered = render_figure(plan)
    data, ext = encode(rendered.image, plan.jpeg_quality)
    rgb = decode_rgb(data, f"train-{index}.{ext}")  # with the JPEG artefacts a reader sees
    h, w = rgb.shape[:2]
    images, feats, ys = [], [], []
    for m in rendered.truth.master_images:
        parts = [(d.bbox, d.cls) for d in m.dependents] or [(m.bbox, m.cls)]
        parts += [(i.bbox, i.cls) for i in m.insets]
        for box, cls in parts:
            if cls not in CLASSES:
                continue
            for k in range(jitters):
                x0, y0, x1, y1 = _jitter(box, w, h, rng) if k else box
                img, f = preprocess(rgb[y0:y1, x0:x1])
                images.append(img)
                feats.append(f)
                ys.append(CLASSES.index(cls))
    for _ in range(extras):
        panel, cls = extra_panel(rng)
        if rng.random() < 0.5:  # printed as JPEG, like most journal figures
            data, _ = encode(panel, int(rng.integers(60, 95)))
            panel = decode_rgb(data, f"train-{index}-extra.jpg")
        img, f = preprocess(panel)
        images.append(img)
        feats.append(f)
        ys.append(CLASSES.index(cls))
    return images, feats, ys


def build_dataset(seed: int, figures: int, jitters: int, extras: int, workers: int) -> tuple[np.ndarray, ...]:
    """(images, features, classes, figure index) of every rendered panel crop."""
    jobs = [(seed, i, jitters, extras) for i in range(figures)]
    images: list[np.ndarray] = []
    feats: list[np.ndarray] = []
    ys: list[int] = []
    groups: list[int] = []
    with ProcessPoolExecutor(max_workers=max(1, workers), mp_context=multiprocessing.get_context("spawn")) as pool:
        for i, (im, f, y) in enumerate(tqdm(pool.map(figure_panels, jobs, chunksize=4), total=len(jobs),
                                            desc="render panels", unit="figure")):
            images += im
            feats += f
            ys += y
            groups += [i] * len(y)
    return np.stack(images), np.stack(feats), np.array(ys, np.int64), np.array(groups)


def train(x: np.ndarray, f: np.ndarray, y: np.ndarray, groups: np.ndarray, epochs: int, seed: int,
          holdout: float = 0.15) -> tuple[PanelClassifier, dict[str, Any]]:
    """Train on the panels of all but a ``holdout`` share of the figures; report accuracy on the rest.

    The split is by figure: jittered copies of one panel, and panels of one figure, never fall on
    both sides.
    """
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    figures = np.unique(groups)
    held = set(rng.choice(figures, int(holdout * len(figures)), replace=False).tolist())
    is_val = np.isin(groups, list(held))
    val, tr = np.flatnonzero(is_val), np.flatnonzero(~is_val)
    n_val = len(val)
    net = PanelNet(len(CLASSES))
    counts = np.bincount(y[tr], minlength=len(CLASSES)).astype(np.float32)
    # classes are unbalanced (graphs and micrographs dominate journals): weight the loss inversely
    weights = torch.tensor(counts.sum() / np.maximum(counts, 1) / len(CLASSES))
    loss_fn = nn.CrossEntropyLoss(weight=weights)
    opt = torch.optim.AdamW(net.parameters(), lr=3e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=epochs * (len(tr) // 64 + 1))
    xt, ft, yt = torch.from_numpy(x), torch.from_numpy(f), torch.from_numpy(y)
    for _ in tqdm(range(epochs), desc="train classifier", unit="epoch"):
        net.train()
        for b in np.array_split(rng.permutation(tr), len(tr) // 64 + 1):
            xb = xt[b]
            if rng.random() < 0.5:  # mirror images: no class depends on handedness
                xb = xb.flip(3)
            opt.zero_grad()
            loss = loss_fn(net(xb, ft[b]), yt[b])
            loss.backward()
            opt.step()
            sched.step()
    net.eval()
    model = PanelClassifier(net, CLASSES)
    with torch.inference_mode():
        pred = net(xt[val], ft[val]).argmax(dim=1).numpy() if n_val else np.array([], np.int64)
    per_class = {c: round(float((pred[y[val] == k] == k).mean()), 4) for k, c in enumerate(CLASSES)
                 if (y[val] == k).any()}
    metrics = {"panels": int(len(y)), "train_panels": int(len(tr)), "holdout_panels": int(n_val),
               "holdout_figures": len(held),
               "holdout_accuracy": round(float((pred == y[val]).mean()), 4) if n_val else None,
               "holdout_per_class": per_class,
               "class_counts": dict(zip(CLASSES, np.bincount(y, minlength=len(CLASSES)).tolist(), strict=True))}
    return model, metrics


def main(argv: list[str] | None = None) -> None:
    params = stage_params(__doc__, argv)
    p = section(params, "figures.classifier")
    out = Path(p["model"])
    committed, fingerprint = reusable(CLASSIFIER, params)
    if committed:
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(committed, out)
        report_metrics(STAGE, {**PanelClassifier.training_metrics(out), "checkpoint": str(committed)})
        return
    torch.set_num_threads(max(1, int(p.get("threads", 2))))
    start = time.monotonic()
    x, f, y, groups = build_dataset(int(p["seed"]), int(p["train_figures"]), int(p["jitters"]),
                                    int(p["extras_per_figure"]), int(p["workers"]))
    model, metrics = train(x, f, y, groups, int(p["epochs"]), int(p["seed"]))
    metrics["seconds"] = round(time.monotonic() - start, 1)
    model.save(out, {"fingerprint": fingerprint, "metrics": metrics})
    report_metrics(STAGE, {**metrics, "checkpoint": None})


if __name__ == "__main__":
    main()

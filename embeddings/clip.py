"""Image embeddings with open_clip: the domain model figlake trains, or any open_clip model.

No CLIP-like weights can be downloaded here, so the default is a *domain*
CLIP the ``clip_model`` stage trains on the lake's own subfigure–caption
pairs. It is an ordinary open_clip model in open_clip's own local format
(``local-dir:``: ``open_clip_config.json`` + ``open_clip_model.safetensors``
+ tokenizer files), built from

- a text tower that is sentence-transformers all-MiniLM-L6-v2 (open_clip's
  Hugging Face tower, mean pooling, no projection) and stays **locked**: its
  output is exactly the MiniLM sentence embedding, so the image tower learns
  to land in the space the caption-text vectors already live in, and one
  query vector searches both;
- a small ModifiedResNet image tower (open_clip's CLIP ResNet with attention
  pooling, ``width`` channels) trained with open_clip's ``ClipLoss``.

Any other open_clip model is a params setting (``embed.clip.model`` an
architecture name with ``pretrained`` a tag or a checkpoint file, or
``local-dir:PATH``); that path is the same ``create_model_and_transforms``
call and is tested with checkpoints the pipeline saved.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from embeddings.text import TEXT_DIM, minilm_path, quiet_transformers

log = logging.getLogger(__name__)

LOCAL_DIR = "local-dir:"
CONFIG_FILE = "open_clip_config.json"
WEIGHTS_FILE = "open_clip_model.safetensors"
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json")
# Figures are drawn on white: letterbox panels on white rather than crop them (a centre crop cuts
# off a plot's axes or a micrograph's scale bar).
PREPROCESS = {"mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25], "resize_mode": "longest", "fill_color": 255,
              "interpolation": "bilinear"}


def _open_clip() -> Any:
    quiet_transformers()
    import open_clip

    return open_clip


@dataclass
class ClipEncoder:
    """An open_clip model with its image preprocessing and tokenizer, embedding on CPU."""

    name: str
    model: Any  # an open_clip CLIP / CustomTextCLIP
    preprocess: Callable[[Image.Image], torch.Tensor]
    tokenizer: Callable[[list[str]], torch.Tensor]
    dim: int

    def embed_images(self, images: Sequence[np.ndarray | Image.Image], batch_size: int = 64) -> np.ndarray:
        """n × dim float32 unit rows for RGB images (arrays h×w×3 uint8 or PIL)."""
        out = np.zeros((len(images), self.dim), np.float32)
        self.model.eval()
        with torch.inference_mode():
            for i in range(0, len(images), batch_size):
                batch = [im if isinstance(im, Image.Image) else Image.fromarray(im) for im in images[i:i + batch_size]]
                x = torch.stack([self.preprocess(im.convert("RGB")) for im in batch]).contiguous(
                    memory_format=torch.channels_last)
                out[i:i + len(batch)] = self.model.encode_image(x, normalize=True).numpy()
        return out

    def embed_texts(self, texts: list[str]) -> np.ndarray:
        """n × dim float32 unit rows: the text tower's embedding of each text (for text → image search)."""
        self.model.eval()
        with torch.inference_mode():
            return self.model.encode_text(self.tokenizer(texts), normalize=True).numpy().astype(np.float32)


def load_clip(model: str, pretrained: str | None = None) -> ClipEncoder:
    """Any open_clip model: an architecture name with ``pretrained`` (a tag, or a local checkpoint file)
    or ``local-dir:PATH`` (open_clip's folder format, as the ``clip_model`` stage writes)."""
    open_clip = _open_clip()
    if model.startswith(LOCAL_DIR):
        folder = Path(model[len(LOCAL_DIR):])
        if not (folder / CONFIG_FILE).exists():
            raise FileNotFoundError(f"{folder}: no open_clip model ({CONFIG_FILE}); run `dvc repro clip_model`")
        pretrained = None
    elif pretrained and not Path(pretrained).exists() and os.environ.get("HF_HUB_OFFLINE") == "1":
        log.warning("pretrained=%r is neither a file nor reachable offline; open_clip will try the hub", pretrained)
    root = logging.getLogger()
    level = root.level
    root.setLevel(max(level, logging.WARNING))  # open_clip narrates every load on the root logger at INFO
    try:
        net, _, preprocess = open_clip.create_model_and_transforms(model, pretrained=pretrained)
        tokenizer = open_clip.get_tokenizer(model)
    finally:
        root.setLevel(level)
    net.eval()
    with torch.inference_mode():
        dim = int(net.encode_text(tokenizer(["x"])).shape[-1])
    return ClipEncoder(model, net, preprocess, tokenizer, dim)


@dataclass(frozen=True)
class DomainSettings:
    """Shape and training of the domain CLIP (``embed.clip.train`` in params.yaml)."""

    image_size: int = 96
    width: int = 32
    layers: tuple[int, int, int, int] = (1, 1, 1, 1)
    steps: int = 300
    batch_size: int = 64
    lr: float = 1e-3
    seed: int = 0
    threads: int = 2


def domain_config(s: DomainSettings) -> dict[str, Any]:
    """open_clip's config for the domain model: MiniLM text tower (no projection), ModifiedResNet image tower."""
    minilm = str(minilm_path())
    return {
        "model_cfg": {
            "embed_dim": TEXT_DIM,
            "vision_cfg": {"image_size": s.image_size, "layers": list(s.layers), "width": s.width, "head_width": 32},
            "text_cfg": {"hf_model_name": minilm, "hf_tokenizer_name": minilm, "hf_proj_type": None,
                         "hf_pooler_type": "mean_pooler", "context_length": 128},
        },
        "preprocess_cfg": PREPROCESS,
    }


def _write_folder(folder: Path, s: DomainSettings) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / CONFIG_FILE).write_text(json.dumps(domain_config(s), indent=1))
    for name in TOKENIZER_FILES:  # get_tokenizer('local-dir:…') reads the tokenizer from the folder itself
        shutil.copy(minilm_path() / name, folder / name)


def train_domain(images: list[Image.Image], texts: list[str], s: DomainSettings, out: Path,
                 progress: Callable[[int, float], None] | None = None) -> ClipEncoder:
    """Train the domain CLIP's image tower on (image, caption text) pairs and save it to ``out``
    (open_clip ``local-dir`` format; written beside and renamed into place, so a killed run leaves no
    half model). Batches hold distinct texts, so no caption is its own negative."""
    open_clip = _open_clip()
    torch.manual_seed(s.seed)
    torch.set_num_threads(s.threads)
    rng = np.random.default_rng(s.seed)
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    _write_folder(tmp, s)
    enc = load_clip(LOCAL_DIR + str(tmp))
    net: Any = enc.model
    net.lock_text_tower()
    by_text: dict[str, list[int]] = {}
    for i, t in enumerate(texts):
        by_text.setdefault(t, []).append(i)
    unique = list(by_text)
    text_vecs = torch.from_numpy(enc.embed_texts(unique))  # locked tower: its features never change
    cfg = json.loads((tmp / CONFIG_FILE).read_text())["preprocess_cfg"]
    augment = open_clip.image_transform(s.image_size, is_train=True, mean=cfg["mean"], std=cfg["std"],
                                        resize_mode=cfg["resize_mode"], fill_color=cfg["fill_color"],
                                        aug_cfg={"scale": (0.6, 1.0)})
    params = [p for p in net.visual.parameters()] + [net.logit_scale]
    opt = torch.optim.AdamW(params, lr=s.lr, weight_decay=0.05)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=s.lr, total_steps=s.steps, pct_start=0.1)
    loss_fn = open_clip.ClipLoss()
    net.visual.to(memory_format=torch.channels_last).train()  # oneDNN's faster layout on CPUs without AVX-512
    for step in range(s.steps):
        pick = rng.choice(len(unique), size=min(s.batch_size, len(unique)), replace=False)
        idx = [int(rng.choice(by_text[unique[j]])) for j in pick]
        x = torch.stack([augment(images[i].convert("RGB")) for i in idx]).contiguous(memory_format=torch.channels_last)
        feats = torch.nn.functional.normalize(net.visual(x), dim=-1)
        loss = loss_fn(feats, text_vecs[pick], net.logit_scale.exp().clamp(max=100))
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if progress:
            progress(step, float(loss))
    net.eval()
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(tmp / WEIGHTS_FILE))
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    return load_clip(LOCAL_DIR + str(out))

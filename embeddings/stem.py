"""The STEM encoder: a ResNet-18 trained to map HAADF images of one structure close together.

Architecture: ResNet-18 (four stages of two basic blocks) with the CIFAR-style
stem — one 3×3 stride-1 convolution, no max-pool — since the signal is in
column spacings of a few pixels that a 7×7 stride-2 stem and pooling would
blur away. ``width`` scales the channels (64 is torchvision's ResNet-18; 32
costs a quarter of the compute, which is what a 2-core CPU can train in
minutes). The embedding is the pooled feature, L2-normalised: the identity
projection head the thesis found best. A linear prototype classifier on the
same feature is the second training branch.

Loss: NT-Xent (τ = 0.1) with every other image of the same prototype in the
batch as a positive (other zone axes, other noise and imaging conditions) —
the supervised form of SimCLR's loss — plus cross-entropy of the prototype
classifier.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

# Embedding only: oneDNN's convolutions run ~25 % faster on this layout on CPUs without AVX-512
# (measured: 42 → 32 ms per library image on 2 cores). Not in training: torch 2.14's backward pass
# on it corrupts the heap for 8-channel convolutions ("double free or corruption", width 8).
CHANNELS_LAST = torch.channels_last


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = (nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
                     if stride != 1 or cin != cout else nn.Identity())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(y)) + self.down(x))


class StemEncoder(nn.Module):
    """ResNet-18, CIFAR-style stem, one grey input channel; ``forward`` → (embedding, class logits)."""

    def __init__(self, n_classes: int, width: int = 64) -> None:
        super().__init__()
        self.width = width
        self.stem = nn.Sequential(nn.Conv2d(1, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU())
        layers, cin = [], width
        for i, cout in enumerate((width, 2 * width, 4 * width, 8 * width)):
            layers += [BasicBlock(cin, cout, 1 if i == 0 else 2), BasicBlock(cout, cout, 1)]
            cin = cout
        self.layers = nn.Sequential(*layers)
        self.dim = cin
        self.classifier = nn.Linear(cin, max(n_classes, 1))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        h = self.layers(self.stem(x))
        return F.normalize(h.mean(dim=(2, 3)), dim=1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.embed(x)
        return z, self.classifier(z)


def nt_xent(z: torch.Tensor, labels: torch.Tensor, tau: float = 0.1) -> torch.Tensor:
    """NT-Xent over a batch of L2-normalised embeddings; positives = other rows with the same label."""
    sim = z @ z.T / tau
    self_mask = torch.eye(len(z), dtype=torch.bool, device=z.device)
    sim = sim.masked_fill(self_mask, float("-inf"))
    pos = (labels[:, None] == labels[None, :]) & ~self_mask
    log_prob = sim - torch.logsumexp(sim, dim=1, keepdim=True)
    has_pos = pos.any(dim=1)
    per_anchor = -(log_prob.masked_fill(~pos, 0).sum(dim=1) / pos.sum(dim=1).clamp(min=1))
    return per_anchor[has_pos].mean()


def to_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 images (n×h×w) → per-image standardised float tensor n×1×h×w.

    Standardising each image makes the encoder indifferent to the brightness and
    contrast a figure was printed with.
    """
    x = torch.from_numpy(np.ascontiguousarray(images)).float()
    mean = x.mean(dim=(1, 2), keepdim=True)
    std = x.std(dim=(1, 2), keepdim=True).clamp(min=1.0)
    return ((x - mean) / std).unsqueeze(1)


@torch.no_grad()
def embed_images(model: StemEncoder, images: np.ndarray, batch: int = 256) -> np.ndarray:
    """L2-normalised embeddings (n×d float32) of uint8 images, averaged over the four 90° turns
    (the structure has no preferred in-plane direction)."""
    model.eval().to(memory_format=CHANNELS_LAST)
    out = []
    for i in range(0, len(images), batch):
        x = to_tensor(images[i:i + batch])
        turns = torch.cat([torch.rot90(x, k, dims=(2, 3)) for k in range(4)]).contiguous(memory_format=CHANNELS_LAST)
        z = model.embed(turns).reshape(4, len(x), -1).sum(dim=0)
        out.append(F.normalize(z, dim=1).numpy())
    return np.concatenate(out).astype(np.float32) if out else np.zeros((0, model.dim), np.float32)


@dataclass(frozen=True)
class TrainSettings:
    steps: int = 300
    prototypes_per_batch: int = 32
    images_per_prototype: int = 2
    lr: float = 2e-3
    weight_decay: float = 5e-4
    tau: float = 0.1
    class_weight: float = 0.5
    width: int = 32
    seed: int = 0
    threads: int = 2


def train(views: dict[str, list[Any]], render_view: Callable[[Any, np.random.Generator], np.ndarray],
          s: TrainSettings, progress: Callable[[int, float], None] | None = None) -> StemEncoder:
    """Train on freshly rendered images of ``views`` (prototype → its views), never the same image twice.

    Each step draws ``prototypes_per_batch`` prototypes and ``images_per_prototype`` renders of
    each (a random view, noise level and imaging conditions per render, by ``render_view``).
    """
    torch.manual_seed(s.seed)
    torch.set_num_threads(s.threads)
    rng = np.random.default_rng(s.seed)
    names = sorted(views)
    model = StemEncoder(len(names), s.width)
    opt = torch.optim.AdamW(model.parameters(), lr=s.lr, weight_decay=s.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=s.lr, total_steps=max(s.steps, 1), pct_start=0.1)
    model.train()
    for step in range(s.steps):
        picked = rng.choice(len(names), size=min(s.prototypes_per_batch, len(names)), replace=False)
        labels = np.repeat(picked, s.images_per_prototype)
        batch = np.stack([render_view(views[names[c]][rng.integers(len(views[names[c]]))], rng) for c in labels])
        x = torch.rot90(to_tensor(batch), int(rng.integers(4)), dims=(2, 3))
        y = torch.from_numpy(labels)
        z, logits = model(x)
        loss = nt_xent(z, y, s.tau) + s.class_weight * F.cross_entropy(logits, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if progress:
            progress(step, float(loss.detach()))
    model.eval()
    return model

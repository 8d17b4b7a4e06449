"""Committed checkpoints of the models that depend on nothing but code and params.

The panel classifier (``train_classifier``) and the STEM encoder (``stem_model``)
learn from images the pipeline renders from seeds — synthetic figures, a
simulated HAADF library — so nothing about a lake's contents enters them. On a
2-core CPU their training is most of the demo build, so a copy of each, trained
by its own stage, is committed under ``models/`` carrying a *fingerprint*: a
hash of the stage's code dependencies and params as ``dvc.yaml`` lists them.
A stage whose fingerprint matches its committed checkpoint's takes the
checkpoint instead of training; any change to the renderer, the model, the
training code or a training setting changes the fingerprint, and the stage
trains again (saying that the committed copy is stale). The domain CLIP is not
among them: it learns from the lake's own figures.

    python -m ingest.checkpoints check     # exit 1 when a committed checkpoint is stale
    python -m ingest.checkpoints refresh   # retrain the stale ones by their stages, commit the copies

``tests/test_checkpoints.py`` runs ``check``, so a change that makes a
committed copy stale cannot land without retraining it (``make checkpoints``).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import logging
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ingest.config import load_params, section

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[1]
DVC_FILE = REPO / "dvc.yaml"   # the code's own pipeline, wherever a stage runs
COMMITTED = "models"          # where the committed copies live (dvc.yaml lists them as dependencies)
# Settings that name files or set parallelism: they do not change what is learnt.
NOT_LEARNT = frozenset({"model", "path", "out", "checkpoint", "workers", "threads"})


@dataclass(frozen=True)
class CommittedModel:
    """A stage whose model is committed: where the stage writes it, where its params name the copy."""

    stage: str
    module: str                 # ``python -m`` module of the stage
    output_key: str             # params key of the model file the stage writes
    checkpoint_key: str         # params key of the committed copy (null: always train)


MODELS = (
    CommittedModel("train_classifier", "ingest.train_classifier", "figures.classifier.model",
                   "figures.classifier.checkpoint"),
    CommittedModel("stem_model", "ingest.stem.model", "stem.model.path", "stem.model.checkpoint"),
)


def _hash_path(h: Any, path: Path, root: Path) -> None:
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for f in files:
        if "__pycache__" in f.parts or f.suffix == ".pyc":
            continue
        h.update(f.relative_to(root).as_posix().encode() + b"\0" + f.read_bytes() + b"\0")


def _learnt(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _learnt(v) for k, v in sorted(node.items()) if k not in NOT_LEARNT}
    return node


def fingerprint(stage: str, params: dict[str, Any], dvc_file: Path = DVC_FILE) -> str:
    """sha256 of a stage's code dependencies (files and folders; data produced by other stages, written
    ``${…}`` in dvc.yaml, and the committed copies under ``models/`` are left out — the data's own code and
    params are among these) and of its params
    sections, less the settings that do not change what is learnt (``NOT_LEARNT``)."""
    spec = yaml.safe_load(dvc_file.read_text(encoding="utf-8"))["stages"][stage]
    h = hashlib.sha256()
    for dep in sorted(spec.get("deps", [])):
        if "${" in dep or dep.startswith(COMMITTED + "/"):  # a committed copy is a dependency, not an input
            continue
        path = dvc_file.parent / dep
        if not path.exists():
            raise FileNotFoundError(f"{dvc_file}: {stage} depends on {dep}, which does not exist")
        _hash_path(h, path, dvc_file.parent)
    for key in sorted(spec.get("params", [])):
        h.update(key.encode() + b"=" + json.dumps(_learnt(section(params, key)), sort_keys=True).encode() + b"\0")
    return h.hexdigest()


def committed_copy(model: CommittedModel, params: dict[str, Any]) -> Path | None:
    """The committed checkpoint's path, or None when the params ask to always train."""
    path = section(params, model.checkpoint_key)
    return Path(path) if path else None


def stored_fingerprint(path: Path) -> str | None:
    """The fingerprint a stage stored in a model file, or None (no file, or a file without one)."""
    import torch

    if not path.is_file():
        return None
    blob = torch.load(path, map_location="cpu", weights_only=True)
    return blob.get("fingerprint") if isinstance(blob, dict) else None


def reusable(model: CommittedModel, params: dict[str, Any]) -> tuple[Path | None, str]:
    """(the committed checkpoint when it was trained on exactly this code and these params, else None;
    the current fingerprint, which a stage that trains stores in its model)."""
    if not DVC_FILE.exists():  # the package installed without its repository: nothing to compare with
        return None, ""
    current = fingerprint(model.stage, params)
    path = committed_copy(model, params)
    if path is None:
        return None, current
    if (problem := _problem(path, current)) is None:
        return path, current
    log.warning("%s: %s; training instead (then `make checkpoints` to commit a current copy)", model.stage, problem)
    return None, current


def _problem(path: Path, current: str) -> str | None:
    """Why the model file at ``path`` does not fit the ``current`` fingerprint, or None when it does."""
    stored = stored_fingerprint(path)
    if stored == current:
        return None
    return f"{path} is stale: trained on other code or settings" if stored else f"no checkpoint at {path}"


def _run_stage(model: CommittedModel, params_file: Path) -> None:
    importlib.import_module(model.module).main(["--params", str(params_file)])


def refresh(params_file: Path, models: tuple[CommittedModel, ...] = MODELS) -> list[str]:
    """Retrain every model whose committed copy is stale (by its own stage, checkpoint disabled) and copy
    the result over the committed one. Returns the stages retrained."""
    params = load_params(params_file)
    done = []
    for m in models:
        path, current = committed_copy(m, params), fingerprint(m.stage, params)
        if path is None or _problem(path, current) is None:
            continue
        trained = Path(section(params, m.output_key))
        if _problem(trained, current):  # the stage's last output is stale too
            forced = yaml.safe_load(params_file.read_text(encoding="utf-8"))
            node = forced
            *parents, leaf = m.checkpoint_key.split(".")
            for part in parents:
                node = node[part]
            node[leaf] = None
            with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
                yaml.safe_dump(forced, f)
            try:
                _run_stage(m, Path(f.name))
            finally:
                Path(f.name).unlink()
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(trained, path)
        done.append(m.stage)
    return done


def stale(params: dict[str, Any], models: tuple[CommittedModel, ...] = MODELS) -> list[str]:
    """``stage: reason`` for every committed checkpoint that its stage would not take."""
    problems = ((m.stage, _problem(path, fingerprint(m.stage, params)))
                for m in models if (path := committed_copy(m, params)) is not None)
    return [f"{stage}: {problem}" for stage, problem in problems if problem]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("action", choices=["check", "refresh"])
    ap.add_argument("--params", default="params.yaml", type=Path)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if args.action == "refresh":
        print("retrained:", ", ".join(refresh(args.params)) or "nothing (every committed checkpoint is current)")
        return 0
    problems = stale(load_params(args.params))
    for p in problems:
        print(p, "— run `make checkpoints`", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

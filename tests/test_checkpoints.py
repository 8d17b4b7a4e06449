"""Committed checkpoints (ingest/checkpoints.py): current for the code, and sensitive to what is learnt."""

from __future__ import annotations

import copy
from pathlib import Path

from conftest import REPO

from ingest.checkpoints import MODELS, committed_copy, fingerprint, stale
from ingest.config import load_params


def test_every_committed_checkpoint_was_trained_on_this_code_and_these_settings() -> None:
    """A change to a renderer, a model or a training setting makes its committed copy stale: the demo
    build would then train it (minutes on 2 cores). Retrain and commit with `make checkpoints`."""
    params = load_params(REPO / "params.yaml")
    copies = [committed_copy(m, params) for m in MODELS]
    assert all(c is not None and (REPO / c).is_file() for c in copies), copies
    assert stale(params) == []


def test_the_fingerprint_follows_training_settings_and_code_not_paths_or_threads(tmp_path: Path) -> None:
    params = load_params(REPO / "params.yaml")
    base = {m.stage: fingerprint(m.stage, params) for m in MODELS}
    moved = copy.deepcopy(params)
    moved["figures"]["classifier"].update(model="elsewhere.pt", threads=8, workers=1, checkpoint=None)
    moved["stem"]["model"].update(path="x.pt", threads=1)
    assert {m.stage: fingerprint(m.stage, moved) for m in MODELS} == base
    changed = copy.deepcopy(params)
    changed["figures"]["classifier"]["epochs"] += 1
    changed["stem"]["library"]["noise_levels"] = [0.0]
    assert all(fingerprint(m.stage, changed) != base[m.stage] for m in MODELS)
    # the code: a copy of the pipeline whose renderer differs by one byte
    dvc = tmp_path / "dvc.yaml"
    dvc.write_text((REPO / "dvc.yaml").read_text())
    for dep in ("ingest", "embeddings"):
        (tmp_path / dep).symlink_to(REPO / dep)
    assert fingerprint("stem_model", params, dvc) == base["stem_model"]
    (tmp_path / "ingest").unlink()
    (tmp_path / "ingest").mkdir()
    for child in (REPO / "ingest").iterdir():
        if child.name != "stem":
            (tmp_path / "ingest" / child.name).symlink_to(child)
    (tmp_path / "ingest" / "stem").mkdir()
    for child in (REPO / "ingest" / "stem").iterdir():
        (tmp_path / "ingest" / "stem" / child.name).symlink_to(child)
    render = tmp_path / "ingest" / "stem" / "render.py"
    text = render.read_text()
    render.unlink()
    render.write_text(text + "\n")
    assert fingerprint("stem_model", params, dvc) != base["stem_model"]

"""STEM2Sim: structures, the HAADF renderer, the library, the encoder, matching and its CLI."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import lance
import numpy as np
import pyarrow.parquet as pq
import pytest
import torch
import yaml
from conftest import REPO, figlake, run_module

from embeddings.stem import StemEncoder, nt_xent
from ingest.errors import InputError
from ingest.stem.library import LibrarySpec, heldout_prototypes, render_entry, views_of
from ingest.stem.match import library_windows
from ingest.stem.model import load_encoder
from ingest.stem.render import column_image
from ingest.stem.retrieval import fourier_descriptor, mean_average_precision
from ingest.stem.structures import conventional, load_prototypes, project_columns, read_cifs, zone_label

SMALL = ("A_cF4_225_a", "AB_cF8_225_a_b", "A_cI2_229_a", "AB3C_cP5_221_a_c_b", "A_hP2_194_c", "AB2_cF12_225_a_c")


def proto(name: str):  # noqa: ANN201
    return next(p for p in load_prototypes() if p.name == name)


def test_prototype_names_are_unique_and_missing_tags_are_null() -> None:
    protos = load_prototypes()
    assert len(protos) == 288 and len({p.name for p in protos}) == 288
    assert all(p.strukturbericht != "None" and p.mineral != "None" for p in protos)
    assert proto("AB_cF8_225_a_b").strukturbericht == "B1" and proto("AB_cF8_225_a_b").formula == "ClNa"


def test_rock_salt_columns_down_low_index_zones() -> None:
    nacl = conventional(proto("AB_cF8_225_a_b"))
    a = float(np.linalg.norm(nacl.lattice[0]))
    assert len(nacl.cart) == 8 and 5.0 < a < 6.0  # conventional cell, not the 2-atom primitive one
    down_001 = project_columns(nacl, (0, 0, 1))
    # [001]: Na and Cl columns alternate on a square grid a/2 apart.
    assert down_001.min_spacing == pytest.approx(a / 2, rel=1e-6)
    # [110]: pure Na and pure Cl columns alternate a·√2/4 apart along [1-10] (the 2 Å "dumbbell-free" rows).
    down_110 = project_columns(nacl, (1, 1, 0))
    assert down_110.min_spacing == pytest.approx(a * np.sqrt(2) / 4, rel=1e-6)
    cells = sorted([float(np.linalg.norm(down_110.a)), float(np.linalg.norm(down_110.b))])
    assert cells == pytest.approx([a / np.sqrt(2), a], rel=1e-6)
    assert zone_label((1, -1, 0)) == "[1-10]"


def test_a_cubic_crystal_shows_one_view_down_its_three_cube_axes() -> None:
    spec = LibrarySpec()
    zones = [v.zone_axis for v in views_of(conventional(proto("A_cF4_225_a")), spec)]
    assert zones[0] == "[001]" and "[100]" not in zones and "[010]" not in zones
    assert "[110]" in zones and "[111]" in zones


def test_haadf_contrast_grows_with_atomic_number() -> None:
    # Rock salt down [110]: pure Cl (Z=17) and pure Na (Z=11) columns; Z^1.7 contrast → Cl brighter by ≈ 2.1×.
    # (Down [001] every column holds Na and Cl alternately: all equally bright.)
    nacl = conventional(proto("AB_cF8_225_a_b"))
    proj = project_columns(nacl, (1, 1, 0))
    img = column_image(proj, (64, 64), 0.02, rotation=0.0, shift=np.array([30.0, 30.0]), probe_sigma_px=1.2)
    peaks = [img[int(round(30 + y / 0.2)) - 1:int(round(30 + y / 0.2)) + 2,
                 int(round(30 + x / 0.2)) - 1:int(round(30 + x / 0.2)) + 2].max() for x, y in proj.columns]
    ratio = max(peaks) / min(peaks)
    assert ratio == pytest.approx((17 / 11) ** 1.7, rel=0.1)


def test_the_image_repeats_with_the_lattice_spacing() -> None:
    # Simple cubic polonium-like W bcc down [001]: columns on a square of side a/2 ... measured by the FFT.
    w = conventional(proto("A_cI2_229_a"))
    spec = LibrarySpec(size_px=128, nm_per_px=0.02)
    view = next(v for v in views_of(w, spec) if v.zone_axis == "[001]")
    img = render_entry(view, 0.0, 1, spec).astype(float)
    spectrum = np.abs(np.fft.fftshift(np.fft.fft2(img - img.mean())))
    spectrum[60:69, 60:69] = 0  # the background's low frequencies
    y, x = np.unravel_index(np.argmax(spectrum), spectrum.shape)
    period_px = 128 / np.hypot(y - 64, x - 64)
    spacing_px = np.linalg.norm(view.proj.a) / 0.2  # strongest reflection: the projected cell side
    assert period_px == pytest.approx(spacing_px / np.sqrt(2), rel=0.12) or period_px == pytest.approx(
        spacing_px, rel=0.12)


def test_library_entries_render_the_same_every_time_and_noise_grows_with_level() -> None:
    spec = LibrarySpec()
    view = views_of(conventional(proto("AB_cF8_225_a_b")), spec)[0]
    assert np.array_equal(render_entry(view, 0.5, 42, spec), render_entry(view, 0.5, 42, spec))

    # One seed: the same rotation, shift, probe and thickness at every level; only the counts differ.
    clean = render_entry(view, 0.0, 7, spec).ravel().astype(float)
    likeness = [np.corrcoef(clean, render_entry(view, level, 7, spec).ravel())[0, 1] for level in (0.35, 0.7, 1.0)]
    assert likeness[0] > likeness[1] > likeness[2] > 0.2, likeness


def test_the_split_holds_out_whole_prototypes_deterministically() -> None:
    names = [p.name for p in load_prototypes()]
    held = heldout_prototypes(names, 0.2, 5)
    assert held == heldout_prototypes(list(reversed(names)), 0.2, 5)
    assert len(held) == round(0.2 * 288) and held != heldout_prototypes(names, 0.2, 6)


def test_cifs_are_deduplicated_against_the_prototypes(tmp_path: Path) -> None:
    from pymatgen.core import Lattice, Structure

    known = (proto("AB_cF8_225_a_b"),)
    Structure.from_spacegroup("Fm-3m", Lattice.cubic(5.64), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]]).to(
        filename=str(tmp_path / "halite.cif"))
    Structure.from_spacegroup("Pm-3m", Lattice.cubic(4.1), ["Cs", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]]).to(
        filename=str(tmp_path / "cscl.cif"))
    (tmp_path / "broken.cif").write_text("data_x\n_cell_length_a oops\n")
    new, skipped = read_cifs(sorted(tmp_path.glob("*.cif")), known)
    assert [p.name for p in new] == ["cscl"] and new[0].space_group_number == 221 and new[0].formula == "CsCl"
    why = {p.name: reason for p, reason in skipped}
    assert why["halite.cif"] == "same structure as AB_cF8_225_a_b" and why["broken.cif"].startswith("unreadable")


def test_mean_average_precision_by_hand() -> None:
    labels = np.array([0, 0, 1, 1])
    perfect = np.array([[1, .9, .1, .1], [.9, 1, .1, .1], [.1, .1, 1, .9], [.1, .1, .9, 1]])
    assert mean_average_precision(perfect, labels) == (1.0, 1.0)
    # Item 0 finds its partner third: AP 1/3; the others rank theirs first.
    worse = perfect.copy()
    worse[0] = [1, .0, .5, .4]
    m, top1 = mean_average_precision(worse, labels)
    assert m == pytest.approx((1 / 3 + 3) / 4) and top1 == 0.75


def test_the_fourier_descriptor_ignores_rotation_and_shift() -> None:
    spec = LibrarySpec(size_px=96)
    view = views_of(conventional(proto("AB3C_cP5_221_a_c_b")), spec)[0]
    other = views_of(conventional(proto("A_hP2_194_c")), spec)[0]
    imgs = np.stack([render_entry(view, 0.2, s, spec) for s in (1, 2)] + [render_entry(other, 0.2, 3, spec)])
    d = fourier_descriptor(imgs)
    assert np.linalg.norm(d[0] - d[1]) < np.linalg.norm(d[0] - d[2])


def test_nt_xent_prefers_embeddings_that_group_by_label() -> None:
    labels = torch.tensor([0, 0, 1, 1])
    grouped = torch.nn.functional.normalize(torch.tensor([[1.0, 0], [0.9, 0.1], [0, 1.0], [0.1, 0.9]]), dim=1)
    mixed = grouped[[0, 2, 1, 3]]
    assert nt_xent(grouped, labels) < nt_xent(mixed, labels)


def test_queries_are_resampled_to_the_library_pixel_size() -> None:
    img = np.random.default_rng(0).integers(0, 255, (256, 256)).astype(np.uint8)
    windows = library_windows(img, 0.02, 0.035, 64, "q.png", windows=5)  # 256 px → 146 px: centre, 4 quadrants
    assert windows.shape == (5, 64, 64) and windows.dtype == np.uint8
    assert library_windows(img, 0.02, 0.035, 64, "q.png").shape == (1, 64, 64)
    assert library_windows(img[:80, :80], 0.035, 0.035, 64, "q.png").shape == (1, 64, 64)
    with pytest.raises(InputError, match="too small"):
        library_windows(img[:40, :40], 0.02, 0.035, 64, "tiny.png")
    with pytest.raises(InputError, match="positive"):
        library_windows(img, -1.0, 0.035, 64, "q.png")


# -- the stages and the CLI, on a six-structure library -------------------------------------


@pytest.fixture(scope="module")
def stem_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """stem_library + stem_model run as the pipeline runs them, on six structures and a tiny encoder."""
    root = tmp_path_factory.mktemp("stem")
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["lake"] = {"root": str(root / "lake"), "work_root": str(root / "work")}
    params["stem"]["library"].update(out=str(root / "library.parquet"), prototypes=list(SMALL),
                                     noise_levels=[0.0, 0.8], variants_per_level=2, heldout_share=0.34)
    params["stem"]["model"].update(path=str(root / "encoder.pt"), width=8, steps=6, prototypes_per_batch=4)
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    run_module("ingest.stem.library", root, "--params", "params.yaml")
    run_module("ingest.stem.model", root, "--params", "params.yaml")
    return root


def test_the_library_stage_writes_every_view_at_every_noise_level(stem_root: Path) -> None:
    table = pq.read_table(stem_root / "library.parquet")
    assert set(table["prototype"].to_pylist()) == set(SMALL)
    assert table["split"].to_pylist().count("test") == sum(
        1 for p, s in zip(table["prototype"].to_pylist(), table["split"].to_pylist(), strict=True) if s == "test")
    test_protos = {p for p, s in zip(table["prototype"].to_pylist(), table["split"].to_pylist(), strict=True)
                   if s == "test"}
    assert len(test_protos) == 2  # 34 % of six, whole prototypes
    assert len(table) % 4 == 0 and len(set(table["entry_id"].to_pylist())) == len(table)  # 2 levels × 2 variants
    rocksalt = [z for p, z in zip(table["prototype"].to_pylist(), table["zone_axis"].to_pylist(), strict=True)
                if p == "AB_cF8_225_a_b"]
    assert {"[001]", "[110]", "[111]"} <= set(rocksalt)
    metrics = json.loads((stem_root / "metrics" / "stem_library.json").read_text())
    assert metrics["images"] == len(table) and metrics["structures"] == 6


def test_the_model_stage_embeds_the_whole_library_into_the_lake(stem_root: Path) -> None:
    table = lance.dataset(str(stem_root / "lake" / "stem_library.lance")).to_table()
    vectors = np.array(table["embedding"].to_pylist())
    assert vectors.shape == (len(table), 64)  # width 8 → 8·8 channels
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    model, size_px, nm_per_px = load_encoder(stem_root / "encoder.pt")
    assert isinstance(model, StemEncoder) and (size_px, nm_per_px) == (64, 0.035)


def test_the_model_stage_takes_a_current_committed_checkpoint_and_trains_past_a_stale_one(
        stem_root: Path, tmp_path: Path) -> None:
    """The committed-checkpoint path of ``ingest.checkpoints``, run as DVC runs the stage: a copy of the
    encoder trained here is taken (same weights, same library vectors, no training); once a training
    setting differs from the one it was trained with, the stage trains instead."""
    trained = torch.load(stem_root / "encoder.pt", map_location="cpu", weights_only=True)
    assert len(trained["fingerprint"]) == 64 and trained["library_embeddings"].shape[1] == 64
    before = lance.dataset(str(stem_root / "lake" / "stem_library.lance")).to_table()["embedding"].to_pylist()
    params = yaml.safe_load((stem_root / "params.yaml").read_text())
    root = tmp_path / "run"
    root.mkdir()
    (root / "committed.pt").write_bytes((stem_root / "encoder.pt").read_bytes())
    params["lake"] = {"root": str(root / "lake"), "work_root": str(root / "work")}
    params["stem"]["model"].update(path=str(root / "encoder.pt"), checkpoint="committed.pt")
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    run_module("ingest.stem.model", root, "--params", "params.yaml")
    metrics = json.loads((root / "metrics" / "stem_model.json").read_text())
    assert metrics["checkpoint"] == "committed.pt" and metrics["steps"] == 6
    assert (metrics["library_embeddings_taken"], metrics["library_embeddings_computed"]) == (len(before), 0)
    assert (root / "encoder.pt").read_bytes() == (stem_root / "encoder.pt").read_bytes()
    after = lance.dataset(str(root / "lake" / "stem_library.lance")).to_table()["embedding"].to_pylist()
    assert np.allclose(np.array(after), np.array(before), atol=1e-6)

    params["stem"]["model"]["lr"] = 0.001  # another training setting: the committed copy no longer fits
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    r = run_module("ingest.stem.model", root, "--params", "params.yaml")
    assert "committed.pt is stale" in r.stderr
    metrics = json.loads((root / "metrics" / "stem_model.json").read_text())
    assert metrics["checkpoint"] is None and metrics["train_seconds"] > 0
    retrained = torch.load(root / "encoder.pt", map_location="cpu", weights_only=True)
    assert retrained["fingerprint"] != trained["fingerprint"]


def test_a_checkpoint_embeds_only_the_library_images_it_has_no_embedding_for(stem_root: Path) -> None:
    """Stored library embeddings are keyed by image digest: an image rendered differently (another CPU's
    rounding) is embedded afresh, the others are taken as stored."""
    from ingest.stem.model import embed_library, from_checkpoint, library_images

    images = library_images(lance.dataset(str(stem_root / "lake" / "stem_library.lance")).to_table())
    stored, metrics = from_checkpoint(stem_root / "encoder.pt", images, sample=4)
    assert metrics["library_embeddings_computed"] == 0 and metrics["embed_ms_per_image"] > 0
    changed = images.copy()
    changed[3, 10, 10] ^= 1
    vectors, metrics = from_checkpoint(stem_root / "encoder.pt", changed, sample=4)
    assert (metrics["library_embeddings_taken"], metrics["library_embeddings_computed"]) == (len(images) - 1, 1)
    model = load_encoder(stem_root / "encoder.pt")[0]
    assert np.allclose(vectors[3], embed_library(model, changed[3:4])[0][0], atol=1e-5)
    assert np.array_equal(np.delete(vectors, 3, 0), np.delete(stored, 3, 0))


def test_stem_match_names_distinct_structures_for_an_image(stem_root: Path, tmp_path: Path) -> None:
    spec = LibrarySpec(size_px=200, nm_per_px=0.02)
    view = views_of(conventional(proto("AB_cF8_225_a_b")), spec)[0]
    path = tmp_path / "nacl.png"
    cv2.imwrite(str(path), render_entry(view, 0.3, 9, spec))
    lake = ["--lake", str(stem_root / "lake"), "--model", str(stem_root / "encoder.pt")]
    r = figlake("stem-match", str(path), "--nm-per-px", "0.02", "--k", "3", "--json", *lake)
    assert r.returncode == 0, r.stderr
    matches = json.loads(r.stdout)
    assert len(matches) == 3 and len({m["prototype"] for m in matches}) == 3
    assert set(matches[0]) == {"prototype", "formula", "space_group", "zone_axis", "score"}
    assert all(a["score"] >= b["score"] for a, b in zip(matches, matches[1:], strict=False))
    assert {m["prototype"] for m in matches} <= set(SMALL)


def test_stem_match_and_embed_take_batches_and_name_bad_items(stem_root: Path, tmp_path: Path) -> None:
    img = tmp_path / "a.png"
    cv2.imwrite(str(img), np.random.default_rng(1).integers(0, 255, (90, 90)).astype(np.uint8))
    (tmp_path / "not-an-image.png").write_text("hello")
    batch = tmp_path / "b.jsonl"
    batch.write_text("\n".join(json.dumps(o) for o in [
        {"image": str(img), "nm_per_px": 0.035}, {"image": str(tmp_path / "not-an-image.png"), "nm_per_px": 0.03},
        {"image": str(img)}]) + "\n")
    lake = ["--lake", str(stem_root / "lake"), "--model", str(stem_root / "encoder.pt")]
    r = figlake("stem-match", "--batch", str(batch), "--json", *lake)
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    assert r.returncode == 1 and len(lines) == 3 and isinstance(lines[0], list)
    assert "not-an-image.png" in lines[1]["error"] and "nm per pixel" in lines[2]["error"]
    r = figlake("stem-embed", str(img), str(img), "--json", *lake)
    vecs = [json.loads(line)["embedding"] for line in r.stdout.splitlines()]
    assert r.returncode == 0 and len(vecs) == 2 and len(vecs[0]) == 64 and vecs[0] == vecs[1]


def test_stem_match_without_a_model_says_how_to_build_it(tmp_path: Path) -> None:
    img = tmp_path / "a.png"
    cv2.imwrite(str(img), np.zeros((64, 64), np.uint8))
    r = figlake("stem-match", str(img), "--nm-per-px", "0.03", "--model", str(tmp_path / "none.pt"),
                "--lake", str(tmp_path))
    assert r.returncode != 0 and "dvc repro stem_model" in r.stderr

"""Vectors and search: MiniLM text vectors, spectrum shape vectors, the domain CLIP (trained, saved,
reloaded through open_clip), the embed stage's incremental LanceDB tables, and `figlake search`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import clip_params, figlake
from PIL import Image
from small_lake import ARTICLE, PANELS, _peak, write_lake

from catalog.schema import VECTORS
from catalog.tables import Lake
from embeddings.clip import LOCAL_DIR, load_clip
from embeddings.documents import expand_acronyms
from embeddings.embed import main as embed_main
from embeddings.index import open_table
from embeddings.search import Searcher, SearchError, rrf
from embeddings.spectra import SPECTRUM_DIM, SpectrumError, read_spectrum_csv, spectrum_vector
from embeddings.text import embed_texts


@pytest.fixture
def lake_params(tmp_path: Path, tiny_clip: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A small lake and its params.yaml under tmp_path, which becomes the working directory (stages write
    metrics/ there)."""
    monkeypatch.chdir(tmp_path)
    write_lake(tmp_path / "lake")
    return clip_params(tmp_path, tiny_clip)


def _metrics(tmp_path: Path) -> dict:
    return json.loads((tmp_path / "metrics" / "embed.json").read_text())


def test_text_vectors_are_minilm_offline() -> None:
    v = embed_texts(["TEM image of gold nanoparticles", "transmission electron micrograph of Au particles",
                     "Raman spectrum of graphene", ""])
    assert v.shape == (4, 384) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v[:3], axis=1), 1, atol=1e-5) and not v[3].any()
    assert v[0] @ v[1] > v[0] @ v[2] + 0.2


def test_acronyms_are_expanded_for_search() -> None:
    assert expand_acronyms("SAED pattern of Au") == "SAED pattern of Au (selected-area electron diffraction pattern)"
    assert expand_acronyms("Photograph of the cell") == "Photograph of the cell"


def test_spectrum_vectors_compare_shapes() -> None:
    x = np.linspace(200, 800, 400)
    ref = spectrum_vector(x, _peak(x, 400, 15))
    assert ref.shape == (SPECTRUM_DIM,) and abs(np.linalg.norm(ref) - 1) < 1e-5
    # the same spectrum at another scale, offset, sampling and order
    x2 = np.sort(np.random.default_rng(1).uniform(200, 800, 150))[::-1]
    same = spectrum_vector(x2, 1000 * _peak(x2, 400, 15) + 37)
    shifted = spectrum_vector(x, _peak(x, 600, 15))
    broad = spectrum_vector(x, _peak(x, 400, 90))
    assert ref @ same > 0.99
    assert ref @ same > ref @ broad + 0.1 and ref @ same > ref @ shifted + 0.3
    with pytest.raises(SpectrumError, match="q.csv: 3 finite points"):
        spectrum_vector([1, 2, 3, np.nan], [1, 2, 3, 4], "q.csv")
    with pytest.raises(SpectrumError, match="same x"):
        spectrum_vector([5] * 6, range(6))


def test_spectrum_csv(tmp_path: Path) -> None:
    good = tmp_path / "s.csv"
    good.write_text("# Raman\nshift (cm-1);intensity\n" + "".join(f"{i};{i * i}\n" for i in range(10)))
    x, y = read_spectrum_csv(good)
    assert x.tolist() == list(range(10)) and y[3] == 9
    (tmp_path / "bad.csv").write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    with pytest.raises(SpectrumError, match="bad.csv: not a text"):
        read_spectrum_csv(tmp_path / "bad.csv")
    (tmp_path / "short.csv").write_text("x,y\n1,2\n")
    with pytest.raises(SpectrumError, match="short.csv: 1 rows"):
        read_spectrum_csv(tmp_path / "short.csv")
    with pytest.raises(SpectrumError, match="cannot read"):
        read_spectrum_csv(tmp_path / "missing.csv")


def test_rrf_fuses_rankings() -> None:
    fused = rrf({"a": ["x", "y", "z"], "b": ["y", "x"], "c": ["y"]}, 60)
    assert [i for i, _, _ in fused] == ["y", "x", "z"]
    assert fused[0][2] == {"a": 2, "b": 1, "c": 1}


def test_domain_clip_saves_in_open_clip_format_and_reloads(tiny_clip: Path, tmp_path: Path) -> None:
    import open_clip
    import torch

    enc = load_clip(LOCAL_DIR + str(tiny_clip))
    imgs = [p[4] for p in PANELS]
    v = enc.embed_images(imgs)
    assert v.shape == (5, 384) and np.allclose(np.linalg.norm(v, axis=1), 1, atol=1e-5)
    # the locked text tower is MiniLM: its text vectors are the caption-text vectors
    texts = [p[3] for p in PANELS]
    assert np.allclose(enc.embed_texts(texts), embed_texts(texts), atol=1e-4)
    # the architecture + local checkpoint path (how a hub model would load): same weights, same vectors
    cfg = json.loads((tiny_clip / "open_clip_config.json").read_text())["model_cfg"]
    (tmp_path / "figlake-tiny-test.json").write_text(json.dumps(cfg))
    open_clip.add_model_config(tmp_path / "figlake-tiny-test.json")
    ckpt = tmp_path / "tiny.pt"
    torch.save(enc.model.state_dict(), ckpt)
    other = load_clip("figlake-tiny-test", pretrained=str(ckpt))
    assert np.allclose(other.embed_texts(texts), enc.embed_texts(texts), atol=1e-5)
    # (preprocessing differs: a config name has open_clip's default resize, so compare the towers directly)
    x = torch.rand(2, 3, 32, 32)
    with torch.inference_mode():
        assert torch.allclose(other.model.encode_image(x), enc.model.encode_image(x), atol=1e-5)
    with pytest.raises(FileNotFoundError, match="run `dvc repro clip_model`"):
        load_clip(LOCAL_DIR + str(tmp_path / "nothing"))


def test_embed_stage_and_search(lake_params: Path, tmp_path: Path) -> None:
    root = tmp_path
    embed_main(["--params", str(lake_params)])
    m = _metrics(root)
    assert (m["subfigures"], m["embedded"], m["spectra"], m["quarantined"]) == (5, 5, 2, 0)
    assert m["indexes"]["vectors"]["created"] == ["text:FTS"] and m["indexes"]["vectors"]["ann"] == []
    params = yaml.safe_load(lake_params.read_text())
    s = Searcher(root / "lake", clip_model=params["embed"]["clip"]["model"])

    hits = s.text("transmission electron micrograph of gold particles")
    assert hits[0]["subfigure_id"] == "10.1/a/fig1/a"
    assert hits[0]["doi"] == "10.1/a" and hits[0]["figure_url"] == "https://example.org/A.png"
    assert hits[0]["ranks"]["text"] == 1 and hits[0]["license_spdx"] == "CC-BY-4.0"
    # acronyms in captions are found by the words for them
    assert s.text("selected-area electron diffraction")[0]["subfigure_id"] == "10.1/b/fig1/b"
    # SQL prefilters
    assert {h["year"] for h in s.text("image", where="year >= 2022")} == {2022}
    assert [h["subfigure_id"] for h in s.text("spectrum", where="class = 'graph' AND journal = 'J. Test'")] == [
        "10.1/a/fig1/b"]
    with pytest.raises(SearchError, match="where"):
        s.text("image", where="no_such_column = 1")
    # image → image: a panel finds itself first
    top = s.image(PANELS[3][4], k=3)
    assert top[0]["subfigure_id"] == "10.1/b/fig1/b" and top[0]["score"] > 0.95
    # spectrum → spectrum: the same broad peak, resampled and rescaled, finds series 1
    x = np.linspace(100, 900, 77)
    found = s.spectrum(x, 5 * _peak(x, 650, 120) + 2)
    assert [h["spectrum_id"] for h in found] == ["10.1/a/fig1/b/s1", "10.1/a/fig1/b/s0"]
    assert found[0]["subfigure_id"] == "10.1/a/fig1/b" and found[0]["doi"] == "10.1/a"


def test_embed_is_incremental_and_resumes_without_duplicates(lake_params: Path, tmp_path: Path) -> None:
    root = tmp_path
    embed_main(["--params", str(lake_params)])
    first = Lake(root / "lake").read("vectors").sort_by("subfigure_id")
    embed_main(["--params", str(lake_params)])
    assert (_metrics(root)["embedded"], _metrics(root)["unchanged"]) == (0, 5)
    # a changed caption re-embeds that subfigure only; a subfigure gone from the lake leaves the index
    panels = [p if p[:2] != ("B", "c") else ("B", "c", "graph", "UV-vis absorption spectra", p[4]) for p in PANELS]
    write_lake(root / "lake", panels[:4] + panels[4:])
    write_lake(root / "lake", [p for p in panels if p[:2] != ("A", "a")])
    embed_main(["--params", str(lake_params)])
    m = _metrics(root)
    assert (m["embedded"], m["unchanged"], m["removed"]) == (1, 3, 1)
    t = Lake(root / "lake").read("vectors")
    assert sorted(t.column("subfigure_id").to_pylist()) == sorted(
        f"{ARTICLE[f][0]}/fig1/{lab}" for f, lab, *_ in PANELS if (f, lab) != ("A", "a"))
    # a run killed after its first committed batch: the rerun completes it, no duplicates
    write_lake(root / "lake")
    tbl = open_table(root / "lake", VECTORS)
    tbl.delete("subfigure_id >= '10.1/b'")
    embed_main(["--params", str(lake_params)])
    again = Lake(root / "lake").read("vectors").sort_by("subfigure_id")
    assert again.num_rows == 5 and len(set(again.column("subfigure_id").to_pylist())) == 5
    for col in ("subfigure_id", "content_hash", "text"):
        assert again.column(col).to_pylist() == first.column(col).to_pylist()
    assert np.allclose(np.array(again.column("image_vector").to_pylist()),
                       np.array(first.column("image_vector").to_pylist()), atol=1e-5)


def test_ann_index_above_the_row_threshold(lake_params: Path, tmp_path: Path) -> None:
    params = yaml.safe_load(lake_params.read_text())
    params["embed"]["index"].update(ann_min_rows=4, num_partitions=1)
    lake_params.write_text(yaml.safe_dump(params))
    embed_main(["--params", str(lake_params)])
    m = _metrics(tmp_path)
    assert set(m["indexes"]["vectors"]["created"]) == {
        "text:FTS", "image_vector:IVF_HNSW_SQ", "text_vector:IVF_HNSW_SQ", "class:BITMAP", "role:BITMAP",
        "journal:BITMAP", "year:BITMAP", "license_spdx:BITMAP", "nm_per_px:BTREE"}
    assert m["indexes"]["spectrum_vectors"]["ann"] == []  # 2 rows: flat
    tbl = open_table(tmp_path / "lake", VECTORS)
    assert {i.index_type for i in tbl.list_indices()} == {"FTS", "IvfHnswSq", "Bitmap", "BTree"}
    s = Searcher(tmp_path / "lake", clip_model=params["embed"]["clip"]["model"])
    assert s.text("transmission electron micrograph of gold particles")[0]["subfigure_id"] == "10.1/a/fig1/a"


def test_search_cli(lake_params: Path, tmp_path: Path) -> None:
    embed_main(["--params", str(lake_params)])
    (tmp_path / "params.yaml").write_text(lake_params.read_text())
    lake = str(tmp_path / "lake")
    r = figlake("search", "Raman spectrum", "--lake", lake, "--k", "2", "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    hits = json.loads(r.stdout)
    assert len(hits) == 2 and hits[0]["subfigure_id"] == "10.1/a/fig1/b" and hits[0]["article_title"] == "Article A"
    csv = tmp_path / "q.csv"
    csv.write_text("x,y\n" + "".join(f"{x},{_peak(x, 300, 20)}\n" for x in np.linspace(100, 900, 50)))
    r = figlake("search", "--spectrum", str(csv), "--lake", lake, "--k", "1", cwd=tmp_path)
    assert r.returncode == 0 and "10.1/a/fig1/b/s0" in r.stdout
    r = figlake("search", "--lake", lake, cwd=tmp_path)
    assert r.returncode == 2 and "exactly one of" in r.stderr
    (tmp_path / "bad.csv").write_text("just words\n")
    r = figlake("search", "--spectrum", str(tmp_path / "bad.csv"), "--lake", lake, cwd=tmp_path)
    assert r.returncode == 2 and "bad.csv" in r.stderr
    r = figlake("search", "--image", str(tmp_path / "bad.csv"), "--lake", lake, cwd=tmp_path)
    assert r.returncode == 2 and "bad.csv" in r.stderr
    img = tmp_path / "q.png"
    Image.fromarray(PANELS[3][4]).save(img)
    r = figlake("search", "--image", str(img), "--lake", lake, "--k", "1", "--json", cwd=tmp_path)
    assert r.returncode == 0 and json.loads(r.stdout)[0]["subfigure_id"] == "10.1/b/fig1/b"
    r = figlake("search", "x", "--where", "DROP TABLE vectors", "--lake", lake, cwd=tmp_path)
    assert r.returncode == 2 and "where" in r.stderr
    assert Lake(tmp_path / "lake").count("vectors") == 5
    r = figlake("search", "x", "--lake", str(tmp_path / "empty"), cwd=tmp_path)
    assert r.returncode == 2 and "dvc repro embed" in r.stderr

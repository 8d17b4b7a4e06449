"""The collect stage on real pages, with bad inputs mixed in: clear errors, quarantine, the run goes on."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
from conftest import CORPUS, png_claiming, run_module, write_params

from catalog.tables import Lake

PAGE = "s41467-018-06211-3"


def make_bad_corpus(root: Path) -> Path:
    corpus = root / "corpus"
    (corpus / "figures").mkdir(parents=True)
    shutil.copy(CORPUS / "nature" / f"{PAGE}.html", corpus)
    figs = CORPUS / "nature" / "figures"
    good = (figs / f"{PAGE}_fig1.jpg").read_bytes()
    (corpus / "figures" / f"{PAGE}_fig1.jpg").write_bytes(good[: len(good) // 3])  # corrupt JPEG
    (corpus / "figures" / f"{PAGE}_fig2.png").write_bytes(png_claiming(30000, 30000))  # bomb header
    # fig3: no image saved at all
    for n in (4, 5):
        shutil.copy(figs / f"{PAGE}_fig{n}.jpg", corpus / "figures")
    html = (CORPUS / "nature" / "ncomms5946.html").read_bytes()
    (corpus / "truncated.html").write_bytes(html[: len(html) // 2])
    (corpus / "broken.xml").write_bytes(b"<?xml version='1.0'?><article><front><article-meta>")
    return corpus


def test_collect_quarantines_bad_input_and_keeps_the_rest(tmp_path: Path) -> None:
    corpus = make_bad_corpus(tmp_path)
    params = write_params(tmp_path, [corpus])
    run_module("ingest.collect", tmp_path, "--params", str(params))
    lake = Lake(tmp_path / "lake")

    articles = lake.read("articles").to_pylist()
    assert [a["article_id"] for a in articles] == ["10.1038/s41467-018-06211-3"]
    assert articles[0]["license_spdx"] == "CC-BY-4.0" and articles[0]["figure_count"] == 5

    figures = {f["number"]: f for f in lake.read("figures").to_pylist()}
    assert sorted(figures) == [1, 2, 3, 4, 5], "a figure with a bad image keeps its row and caption"
    assert [n for n, f in figures.items() if f["image_sha256"]] == [4, 5]
    assert figures[1]["caption"].startswith("Formation of the stripe pattern")
    assert figures[3]["image_source"] is None
    assert lake.count("images") == 2

    q = {Path(r["item"]).name: r for r in lake.read("quarantine").to_pylist()}
    assert set(q) == {"truncated.html", "broken.xml", f"{PAGE}_fig1.jpg", f"{PAGE}_fig2.png"}
    assert q["truncated.html"]["error_type"] == "TruncatedPageError"
    assert q["broken.xml"]["error_type"] == "TruncatedPageError"
    assert q[f"{PAGE}_fig1.jpg"]["error_type"] == "CorruptImageError"
    assert q[f"{PAGE}_fig2.png"]["error_type"] == "ImageTooLargeError"
    assert "30000×30000" in q[f"{PAGE}_fig2.png"]["error"] or "900000000" in q[f"{PAGE}_fig2.png"]["error"]
    assert all(r["stage"] == "collect" and r["at"] is not None for r in q.values())

    metrics = json.loads((tmp_path / "metrics" / "collect.json").read_text())
    assert metrics["quarantined"] == 4 and metrics["figures_without_image"] == 3


def test_collect_is_deterministic_and_rerunnable(built_lake: Path, tmp_path: Path) -> None:
    params = write_params(tmp_path, [CORPUS])
    run_module("ingest.collect", tmp_path, "--params", str(params))
    for table in ("articles.parquet", "figures.parquet"):
        assert pq.read_table(tmp_path / "lake" / table) == pq.read_table(built_lake / table)
    lake = Lake(built_lake)
    assert lake.count("articles") == 2 and lake.count("figures") == 14 and lake.count("images") == 14
    images = {r["sha256"]: r for r in lake.read("images").to_pylist()}
    for f in lake.read("figures").to_pylist():
        img = images[f["image_sha256"]]
        assert (img["width"], img["height"]) == (f["width"], f["height"])
        assert Path(f["image_source"]).read_bytes() == img["bytes"]
        assert f["extractor"].startswith("ingest.sources.nature-html@") and f["params_hash"]

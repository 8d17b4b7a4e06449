"""The explorer: each page through streamlit's AppTest on a small real lake (Parquet, Lance, LanceDB
index, DuckDB catalog), the pure view functions behind it, and `figlake export`."""

from __future__ import annotations

import io
import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import yaml
from conftest import REPO, figlake, png_claiming, write_params
from PIL import Image
from small_lake import ARTICLE, PANELS, write_lake
from streamlit.testing.v1 import AppTest

from app.lakeview import Filters, caption_spans, facet_counts, figure_view, overlay
from catalog.build import main as catalog_main
from catalog.duck import connect_read_only
from catalog.export import ExportError, export
from catalog.tables import Lake
from embeddings.clip import LOCAL_DIR
from embeddings.embed import main as embed_main

EXPLORER = str(REPO / "app" / "explorer.py")
FIG_A = f"{ARTICLE['A'][0]}/fig1"


@pytest.fixture(scope="module")
def lake_dir(tmp_path_factory: pytest.TempPathFactory, tiny_clip: Path) -> Iterator[Path]:
    """The small lake, embedded and catalogued by the real stage code; the working directory (its
    params.yaml names the tiny CLIP) and FIGLAKE_LAKE point the app at it."""
    root = tmp_path_factory.mktemp("explorer")
    write_lake(root / "lake")
    path = write_params(root, [])
    params = yaml.safe_load(path.read_text())
    params["embed"]["clip"]["model"] = LOCAL_DIR + str(tiny_clip)
    path.write_text(yaml.safe_dump(params))
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        mp.setenv("FIGLAKE_LAKE", str(root / "lake"))
        embed_main(["--params", str(path)])
        catalog_main(["--params", str(path)])
        yield root


def app(view: str, **params: str | list[str]) -> AppTest:
    at = AppTest.from_file(EXPLORER, default_timeout=120)
    for k, v in params.items():
        at.query_params[k] = v
    at.switch_page(f"views/{view}.py")
    return at.run()


def texts(at: AppTest) -> str:
    return "\n".join([m.value for m in at.markdown] + [c.value for c in at.caption])


def test_the_catalog_has_the_subfigure_index(lake_dir: Path) -> None:
    con = connect_read_only(Lake(lake_dir / "lake"))
    rows = con.sql("SELECT subfigure_id, class, journal, has_spectra FROM subfigure_index ORDER BY 1").fetchall()
    assert len(rows) == len(PANELS)
    assert (f"{FIG_A}/b", "graph", "J. Test", True) in rows


def test_filters_round_trip_through_the_url_and_filter_like_search(lake_dir: Path) -> None:
    f = Filters({"class": ["microscopy", "graph"], "journal": ["J. O'Hara"], "year": [2020]}, 0.1, 2.0, True)
    assert Filters.from_query_params({k: v if isinstance(v, list) else [v]
                                      for k, v in f.query_params().items()}) == f
    con = connect_read_only(Lake(lake_dir / "lake"))
    where = Filters({"class": ["microscopy"]}).where()
    assert con.sql(f"SELECT count(*) FROM subfigure_index WHERE {where}").fetchall()[0][0] == 2
    counts = facet_counts(con, Filters({"journal": ["J. Other"]}).where())
    assert dict(counts["class"]) == {"microscopy": 1, "diffraction": 1, "graph": 1}
    assert counts["has spectra"] == [(True, 0)]


def test_caption_segments_and_overlay(lake_dir: Path) -> None:
    con = connect_read_only(Lake(lake_dir / "lake"))
    view = figure_view(con, FIG_A)
    assert view is not None and [s["label"] for s in view.subfigures] == ["a", "b"]
    spans = caption_spans(view.figure["caption"], view.segments)
    assert "".join(t for t, _ in spans) == view.figure["caption"]
    twice = caption_spans("x. a Raman spectra. b TEM. c Raman spectra.", [
        {"label": "a", "own_text": "Raman spectra."}, {"label": "c", "own_text": "Raman spectra."}])
    assert [(t, lab) for t, lab in twice if lab] == [("Raman spectra.", "a"), ("Raman spectra.", "c")]
    assert [(t, lab) for t, lab in spans if lab] == [("TEM image of Au nanoparticles", "a"),
                                                     ("Raman spectrum of graphene", "b")]
    rgb = np.full((view.figure["height"], view.figure["width"], 3), 255, np.uint8)
    drawn = overlay(rgb, view)
    box = view.subfigures[0]["bbox"]
    assert tuple(drawn[box["y0"] + 20, box["x0"]]) == (31, 119, 180)  # the master's outline, in its colour
    assert (overlay(rgb, view, ()) == 255).all()  # no layers: nothing drawn
    assert figure_view(con, "no/such/figure") is None


def test_search_page_text_query_from_a_deep_link(lake_dir: Path) -> None:
    at = app("search", mode="text", q="Raman spectrum of graphene")
    assert not at.exception
    assert at.text_input(key="q").value == "Raman spectrum of graphene"
    assert "graph" in texts(at) and "results" in texts(at)
    links = [p for p in at.get("page_link")]
    assert links, "each result links to its figure page"
    at = app("search", mode="text", q="Raman spectrum of graphene", page="2")
    assert at.query_params["page"] == "2"  # (the URL keeps it; 5 results are shown as page 1 of 1)
    at.text_input(key="q").set_value("TEM image").run()
    assert "page" not in at.query_params and at.query_params["q"] == "TEM image"


def test_search_page_more_like_this_and_spectrum_and_bad_uploads(lake_dir: Path) -> None:
    at = app("search", mode="image", like=f"{FIG_A}/a")
    assert not at.exception and "More like subfigure" in texts(at)
    at = app("search", mode="spectrum", like=f"{FIG_A}/b/s0")
    assert not at.exception and "series" in texts(at)

    at = app("search", mode="image")
    at.file_uploader(key="image").set_value(("notes.png", b"this is not an image", "image/png")).run()
    assert not at.exception and "Cannot use this upload as an image" in at.error[0].value
    at.file_uploader(key="image").set_value(("bomb.png", png_claiming(60_000, 60_000), "image/png")).run()
    assert "Cannot use this upload as an image" in at.error[0].value and "bomb.png" in at.error[0].value

    buf = io.BytesIO()
    Image.fromarray(PANELS[3][4]).save(buf, "PNG")
    at.file_uploader(key="image").set_value(("rings.png", buf.getvalue(), "image/png")).run()
    assert not at.exception and not at.error and "results" in texts(at)

    at = app("search", mode="spectrum")
    at.file_uploader(key="spectrum").set_value(("s.csv", b"x,y\n1,oops\n", "text/csv")).run()
    assert "Cannot read this spectrum" in at.error[0].value and "s.csv" in at.error[0].value


def test_stem_search_without_a_library_says_what_to_build(lake_dir: Path) -> None:
    at = app("search", mode="stem")
    assert at.number_input(key="nm_per_px").value == 0.02
    buf = io.BytesIO()
    Image.fromarray(PANELS[0][4]).save(buf, "PNG")
    at.file_uploader(key="stem").set_value(("haadf.png", buf.getvalue(), "image/png")).run()
    assert not at.exception and "dvc repro stem_model" in at.error[0].value


def test_search_page_reports_a_bad_filter(lake_dir: Path) -> None:
    at = app("search", mode="text", q="TEM", where="no_such_column = 1")
    assert not at.exception and at.error and "no_such_column" in at.error[0].value


def test_browse_page_facets_from_a_deep_link(lake_dir: Path) -> None:
    at = app("browse", **{"class": "microscopy"})
    assert not at.exception
    assert at.multiselect(key="facet-class").value == ["microscopy"]
    assert "2 subfigures" in texts(at)
    at = app("browse", journal="J. Other", **{"class": "graph"})
    assert "1 subfigures" in texts(at)
    at = app("browse", journal="Nobody")  # an unknown value is dropped, not an error
    assert not at.exception and f"{len(PANELS) } subfigures" in texts(at)


def test_figure_page_shows_overlay_caption_spectra(lake_dir: Path) -> None:
    at = app("figure", id=FIG_A)
    assert not at.exception
    assert at.title[0].value.startswith("Figure 1 · Article A")
    html = "".join(h.value for h in at.get("html"))
    assert 'data-label="a"' in html and 'data-label="b"' in html
    assert len(at.get("image")) == 2, "the overlay and the traced plot are shown"
    assert any(b.label == "Download CSV" for b in at.get("download_button"))
    assert sum("Spectra shaped like series" in p.proto.label for p in at.get("page_link")) == 2
    at = app("figure", id="no/such/figure")
    assert at.error and "No figure" in at.error[0].value


def test_sql_page_runs_read_only_queries_and_refuses_writes(lake_dir: Path) -> None:
    at = app("sql", sql="SELECT class, count(*) AS n FROM subfigure_index GROUP BY 1 ORDER BY 1")
    assert not at.exception and not at.error
    df = at.dataframe[0].value
    assert dict(zip(df["class"], df["n"], strict=True)) == {"diffraction": 1, "graph": 2, "microscopy": 2}
    at = app("sql", sql="COPY subfigures TO '/tmp/x.csv'")
    assert at.error and "Refused" in at.error[0].value
    at = app("sql", sql="SELECT * FROM read_text('/etc/passwd')")
    assert at.error and "Refused" in at.error[0].value


def test_export_page_builds_a_download(lake_dir: Path) -> None:
    at = app("export", where="class = 'graph'", format="coco")
    assert not at.exception and "2 subfigures from 2 figures" in texts(at)
    at.button(key="build").click().run()
    assert not at.exception and at.success and "2 subfigures of 2 figures" in at.success[0].value
    assert any(b.label.startswith("Download the export") for b in at.get("download_button"))
    at = app("export", where="class = ")
    assert at.error and "bad filter" in at.error[0].value


@pytest.mark.parametrize("fmt", ["parquet", "coco", "hf"])
def test_export_formats(lake_dir: Path, tmp_path: Path, fmt: str) -> None:
    lake = Lake(lake_dir / "lake")
    report = export(lake, "class IN ('microscopy', 'graph')", fmt, tmp_path / "out")
    assert (report.subfigures, report.figures, report.skipped) == (4, 2, [])
    assert report.licences == {"CC-BY-4.0": 2, "CC0-1.0": 2}
    out = tmp_path / "out"
    if fmt == "parquet":
        t = pq.read_table(out / "subfigures.parquet").to_pylist()
        crop = Image.open(out / t[0]["image_path"])
        b = t[0]["bbox"]
        assert crop.size == (b[2] - b[0], b[3] - b[1]) and {r["license_spdx"] for r in t} == {"CC-BY-4.0", "CC0-1.0"}
    elif fmt == "coco":
        coco = json.loads((out / "annotations.json").read_text())
        assert len(coco["images"]) == 2 and len(coco["annotations"]) == 4
        names = {c["id"]: c["name"] for c in coco["categories"]}
        assert sorted(names[a["category_id"]] for a in coco["annotations"]) == ["graph", "graph", "microscopy",
                                                                               "microscopy"]
        for img in coco["images"]:
            assert Image.open(out / img["file_name"]).size == (img["width"], img["height"])
    else:
        t = pq.read_table(out / "data" / "train-00000-of-00001.parquet")
        meta = json.loads(t.schema.metadata[b"huggingface"])
        assert meta["info"]["features"]["image"] == {"_type": "Image"}
        Image.open(io.BytesIO(t.column("image")[0].as_py()["bytes"])).verify()
        card = (out / "README.md").read_text()
        assert card.startswith("---\nlicense: other\n") and "| CC-BY-4.0 | 2 |" in card
    with pytest.raises(ExportError, match="not empty"):
        export(lake, None, fmt, out)


def test_figlake_export_cli(lake_dir: Path, tmp_path: Path) -> None:
    env = {"FIGLAKE_LAKE": str(lake_dir / "lake")}
    done = figlake("export", "--where", "class = 'diffraction'", "--format", "parquet", "--out",
                   str(tmp_path / "d"), "--json", env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["subfigures"] == 1
    bad = figlake("export", "--where", "1=1; DROP TABLE figures", "--out", str(tmp_path / "e"), env=env)
    assert bad.returncode != 0 and "bad filter" in bad.stderr


def test_the_explorer_reads_a_published_lake_in_place(lake_dir: Path, aws: dict[str, str], tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """FIGLAKE_LAKE=s3://…: the pages and export read the lake's published copy (moto's S3 server on
    127.0.0.1) and show what they show for the local lake — with the local folder moved away meanwhile."""
    import streamlit as st

    from catalog.storage import publish

    uri = "s3://lake/explorer"
    publish(Lake(lake_dir / "lake"), uri)
    away = lake_dir / "lake-away"
    (lake_dir / "lake").rename(away)
    monkeypatch.setenv("FIGLAKE_LAKE", uri)
    st.cache_resource.clear()  # the pages' lake, catalog and searcher are per server: start afresh
    try:
        at = app("browse", **{"class": "microscopy"})
        assert not at.exception and "2 subfigures" in texts(at)
        at = app("search", mode="text", q="Raman spectrum of graphene")
        assert not at.exception and not at.error and "graph" in texts(at) and at.get("page_link")
        at = app("search", mode="image", like=f"{FIG_A}/a")
        assert not at.exception and "More like subfigure" in texts(at)
        at = app("figure", id=FIG_A)
        assert not at.exception and at.title[0].value.startswith("Figure 1 · Article A")
        assert len(at.get("image")) == 2, "the overlay (the figure image from images.lance) and the traced plot"
        at = app("sql", sql="SELECT class, count(*) AS n FROM subfigure_index GROUP BY 1 ORDER BY 1")
        df = at.dataframe[0].value
        assert dict(zip(df["class"], df["n"], strict=True)) == {"diffraction": 1, "graph": 2, "microscopy": 2}
        at = app("sql", sql="SELECT * FROM read_text('/etc/passwd')")
        assert at.error and "Refused" in at.error[0].value
        done = figlake("export", "--where", "class = 'graph'", "--format", "coco", "--out", str(tmp_path / "d"),
                       "--json", env={"FIGLAKE_LAKE": uri, **aws})
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["subfigures"] == 2
        assert len(json.loads((tmp_path / "d" / "annotations.json").read_text())["images"]) == 2
    finally:
        away.rename(lake_dir / "lake")
        st.cache_resource.clear()


def test_a_real_browser_searches_and_opens_a_figure_page(lake_dir: Path) -> None:
    """Debian's chromium through Playwright against `figlake app` on 127.0.0.1; screenshots in test-artifacts/."""
    from app.screenshots import browser, serve, settle

    shots = REPO / "test-artifacts"
    shots.mkdir(exist_ok=True)
    with serve(lake_dir / "lake", lake_dir) as url, browser() as page:
        page.goto(f"{url}/browse?class=microscopy")  # a deep link reproduces the view
        settle(page, "2 subfigures")
        assert page.locator("[data-testid='stImage'] img").count() == 2
        page.screenshot(path=str(shots / "browse.png"))

        page.goto(url)  # the search page is the default page, at /
        settle(page, "Describe what you are looking for")
        box = page.locator("input[aria-label='Describe what you are looking for']")
        box.fill("Raman spectrum of graphene")
        box.press("Enter")
        settle(page, "results")
        assert "q=Raman" in page.url  # the URL follows the search
        page.screenshot(path=str(shots / "search.png"))

        page.get_by_text("Figure page").first.click()
        settle(page, "Subfigures")
        assert "/figure?id=" in page.url
        overlay = page.locator("[data-testid='stImage'] img").first
        assert overlay.evaluate("i => i.naturalWidth") > 0
        marks = page.locator("mark.segment")
        assert marks.count() >= 2 and {marks.nth(i).get_attribute("data-label") for i in range(marks.count())} >= {
            "a", "b"}
        page.screenshot(path=str(shots / "figure.png"), full_page=True)
    assert all((shots / f"{name}.png").stat().st_size > 10_000 for name in ("browse", "search", "figure"))
    # stopping `figlake app` stops the server itself (it becomes the server: no orphan left running)
    with pytest.raises(OSError):
        urllib.request.urlopen(f"{url}/_stcore/health", timeout=2)

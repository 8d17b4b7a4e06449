"""Local PDFs: figures, captions and metadata read from born-digital PDFs, bad PDFs refused clearly.

Three kinds of PDF: the synthetic journal laid out by reportlab (truth from the layout), articles
typeset by pdflatex in journal styles (data/papers, truth recorded by TeX: tests/data/pdf/build.py),
and broken ones made here (encrypted, truncated, empty, scanned, 2,000 pages, not a PDF).
"""

from __future__ import annotations

import functools
import io
import json
from pathlib import Path

import pytest
from conftest import REPO, figlake, run_module, write_params
from PIL import Image
from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas

from catalog.tables import Lake
from ingest.errors import UnreadablePageError
from ingest.sources.pdf import EncryptedPdfError, PdfSettings, PdfTooLargeError, ScannedPdfError, read_pdf
from ingest.sources.pdf_benchmark import score_pdf

LATEX = REPO / "data" / "papers"
LATEX_PDFS = sorted(p.stem for p in LATEX.glob("*.pdf"))


def synthetic_pdf(seed: int, index: int) -> tuple[bytes, dict]:
    from ingest.sources.pdf_synth import write_pdf
    from ingest.synth.journal import generate_article

    buf = io.BytesIO()
    truth = write_pdf(generate_article(seed, index), buf, seed, index).to_json()
    return buf.getvalue(), truth


def test_synthetic_journal_pdfs_read_back_to_their_layout() -> None:
    # seed 7: article 0 has a figure across both columns and a caption continued in the next column,
    # 2 a split caption in FIG. style, 3 is one column with document information; raster and vector.
    scores, cases = [], set()
    for index in (0, 2, 3):
        data, truth = synthetic_pdf(7, index)
        cases |= {(f["kind"], f["placement"]) for f in truth["figures"]} | {("columns", truth["style"]["columns"])}
        scores.append(score_pdf(data, truth, f"synth-{index}.pdf"))
    assert {("vector", "wide"), ("raster", "split"), ("columns", 1), ("columns", 2)} <= cases
    figures = [f for s in scores for f in s["figures"]]
    assert len(figures) == 10
    assert all(f["found"] for f in figures), [f for f in figures if not f["found"]]
    assert min(f["iou"] for f in figures) >= 0.9
    assert min(f["caption_similarity"] for f in figures) >= 0.95
    assert sum(s["extra"] for s in scores) == 0, "no figure the layout did not draw"
    assert all(all(s["metadata"].values()) for s in scores), [s["metadata"] for s in scores]


@pytest.mark.parametrize("name", LATEX_PDFS)
def test_latex_articles(name: str) -> None:
    truth = json.loads((LATEX / f"{name}.json").read_text())
    score = score_pdf((LATEX / f"{name}.pdf").read_bytes(), truth, f"{name}.pdf")
    assert "error" not in score
    assert [f["number"] for f in score["figures"] if f["found"]] == [f["number"] for f in truth["figures"]]
    assert min(f["iou"] for f in score["figures"]) >= 0.95
    assert min(f["caption_similarity"] for f in score["figures"]) >= 0.97
    assert score["extra"] == 0
    assert score["metadata"] == dict.fromkeys(("doi", "title", "journal", "year", "license_url"), True)


def test_latex_articles_cover_the_common_journal_styles() -> None:
    assert LATEX_PDFS == ["aps-style", "one-column", "two-column"]
    labels = set()
    for name in LATEX_PDFS:
        result = read_pdf((LATEX / f"{name}.pdf").read_bytes(), name)
        labels |= {f.ref.figure_label for f in result.figures}
        assert result.article.abstract and len(result.article.abstract.split()) > 50, name
        assert "(cid:" not in result.article.abstract and all("(cid:" not in f.ref.caption for f in result.figures)
    assert {"Figure 1", "FIG. 1", "Fig. 1"} <= labels


def test_latex_caption_text_keeps_words_scripts_and_ligatures() -> None:
    # pdfTeX writes no spaces (words are cut by gap), T1 bitmap fonts have no Unicode map for
    # ligatures, and subscripts/superscripts sit on their own baselines.
    aps = read_pdf((LATEX / "aps-style.pdf").read_bytes(), "aps-style.pdf")
    assert aps.figures[0].ref.caption.startswith("Thickness dependence of the film strain. (a) Symmetric X-ray "
                                                 "diffraction scans")
    one = read_pdf((LATEX / "one-column.pdf").read_bytes(), "one-column.pdf")
    assert "in O2-saturated 0.1 M HClO4 at 1600 rpm and 10 mV s⁻¹ for platinum" in one.figures[1].ref.caption


def test_figure_image_is_rendered_at_the_asked_resolution() -> None:
    data = (LATEX / "two-column.pdf").read_bytes()
    for dpi in (72, 150):
        fig = read_pdf(data, "two-column.pdf", PdfSettings(dpi=dpi)).figures[1]
        width, height = Image.open(io.BytesIO(fig.image)).size
        x0, top, x1, bottom = fig.bbox
        assert abs(width - (x1 - x0) * dpi / 72) <= 2 and abs(height - (bottom - top) * dpi / 72) <= 2
    capped = read_pdf(data, "two-column.pdf", PdfSettings(dpi=600, max_pixels=200_000)).figures[1]
    width, height = Image.open(io.BytesIO(capped.image)).size
    assert width * height <= 200_000


# -- bad PDFs ---------------------------------------------------------------------------------


def _canvas_pdf(pages: int = 1, draw=None, **kwargs) -> bytes:
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, **kwargs)
    for i in range(pages):
        if draw:
            draw(c, i)
        c.showPage()
    c.save()
    return buf.getvalue()


def _text(c: canvas.Canvas, i: int) -> None:
    c.drawString(72, 720, f"Page {i + 1} of a long document about oxide thin films.")


def _scan(c: canvas.Canvas, i: int) -> None:
    page = Image.new("L", (400, 560), 255)
    page.paste(0, (40, 40, 360, 60))  # a "line of text" that is pixels only
    c.drawImage(ImageReader(page), 0, 0, *A4)


def zero_page_pdf() -> bytes:
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (n, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


@functools.cache
def bad_pdfs() -> dict[str, tuple[bytes, type[Exception], str]]:
    good = (LATEX / "one-column.pdf").read_bytes()
    return {
        "encrypted.pdf": (_canvas_pdf(draw=_text, encrypt="secret"), EncryptedPdfError, "password"),
        "truncated.pdf": (good[: len(good) // 3], UnreadablePageError, "truncated"),
        "empty.pdf": (zero_page_pdf(), UnreadablePageError, "no pages"),
        "scanned.pdf": (_canvas_pdf(2, draw=_scan), ScannedPdfError, "scanned"),
        "book.pdf": (_canvas_pdf(2000, draw=_text), PdfTooLargeError, "2000 pages"),
        "notes.pdf": (b"These are my notes, saved with the wrong extension.\n", UnreadablePageError, "not a PDF"),
    }


@pytest.mark.parametrize("name", ["encrypted.pdf", "truncated.pdf", "empty.pdf", "scanned.pdf", "book.pdf",
                                  "notes.pdf"])
def test_bad_pdf_is_refused_with_a_clear_error(name: str) -> None:
    data, error, words = bad_pdfs()[name]
    with pytest.raises(error) as e:
        read_pdf(data, f"papers/{name}")
    assert f"papers/{name}" in str(e.value) and words in str(e.value)


def test_slow_pdf_is_stopped_at_max_seconds() -> None:
    data = _canvas_pdf(40, draw=_text)
    with pytest.raises(PdfTooLargeError, match="max_seconds"):
        read_pdf(data, "slow.pdf", PdfSettings(max_seconds=0.0))
    assert read_pdf(data, "slow.pdf").pages == 40  # no figures, but readable


def test_collect_reads_a_folder_of_pdfs_and_quarantines_the_bad_ones(tmp_path: Path) -> None:
    folder = tmp_path / "papers"
    folder.mkdir()
    for name in LATEX_PDFS:
        (folder / f"{name}.pdf").write_bytes((LATEX / f"{name}.pdf").read_bytes())
    for name, (data, _, _) in bad_pdfs().items():
        (folder / name).write_bytes(data)
    params = write_params(tmp_path, [folder])
    run_module("ingest.collect", tmp_path, "--params", str(params))
    lake = Lake(tmp_path / "lake")

    articles = {a["article_id"]: a for a in lake.read("articles").to_pylist()}
    assert set(articles) == {f"10.5555/figlake.latex.000{i}" for i in (1, 2, 3)}
    assert articles["10.5555/figlake.latex.0001"]["figure_count"] == 3
    assert articles["10.5555/figlake.latex.0001"]["license_spdx"] == "CC-BY-4.0"
    figures = lake.read("figures").to_pylist()
    assert len(figures) == 7 and all(f["image_sha256"] for f in figures)
    sources = {f["image_source"] for f in figures}
    assert any(s.endswith("two-column.pdf#page=2&bbox=302.62,351.7,544.25,460.02") for s in sources), sources
    assert lake.count("images") == 7

    q = {Path(r["item"]).name: r["error_type"] for r in lake.read("quarantine").to_pylist()}
    assert q == {"encrypted.pdf": "EncryptedPdfError", "truncated.pdf": "UnreadablePageError",
                 "empty.pdf": "UnreadablePageError", "scanned.pdf": "ScannedPdfError",
                 "book.pdf": "PdfTooLargeError", "notes.pdf": "UnreadablePageError"}


def test_cli_parse_article_pdf(tmp_path: Path) -> None:
    r = figlake("parse-article", str(LATEX / "aps-style.pdf"), "--json", "--images", str(tmp_path), "--dpi", "100")
    assert r.returncode == 0, r.stderr
    a = json.loads(r.stdout)
    assert a["doi"] == "10.5555/figlake.latex.0002" and a["journal"] == "Synthetic Physical Review Materials"
    f2 = a["figures"][1]
    assert f2["number"] == 2 and f2["page"] == 2 and f2["figure_id"] == "10.5555/figlake.latex.0002/fig2"
    assert f2["caption"].startswith("Cross-sectional HAADF-STEM of a 60 nm film.")
    x0, top, x1, bottom = f2["bbox"]
    assert Path(f2["image"]) == tmp_path / "aps-style_fig2.png"
    assert Image.open(f2["image"]).size == pytest.approx(((x1 - x0) * 100 / 72, (bottom - top) * 100 / 72), abs=2)

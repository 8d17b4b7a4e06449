"""Readers on real pages: the committed Nature articles and a PMC JATS file."""

from __future__ import annotations

import pytest
from conftest import CORPUS, NATURE_PAGES, TEST_DATA

from ingest.errors import NotAnArticleError, TruncatedPageError, UnreadablePageError
from ingest.sources import read_article
from ingest.sources.article import iso_date, normalise_doi, parse_figure_label
from ingest.sources.licenses import license_spdx
from ingest.sources.local import find_local_image, find_pages, read_local_page


@pytest.mark.parametrize("page", NATURE_PAGES)
def test_nature_page_metadata(page: str, expected_nature: dict) -> None:
    exp = expected_nature[page]
    a = read_article((CORPUS / "nature" / f"{page}.html").read_bytes(), page)
    assert a.doi == exp["doi"]
    assert a.title == exp["title"]
    assert a.journal == exp["journal"]
    assert a.year == exp["year"]
    assert a.authors[0] == exp["first_author"]
    assert a.license_spdx == exp["license_spdx"]
    assert a.page_format == "nature-html"
    assert a.abstract and len(a.abstract) > 500


@pytest.mark.parametrize("page", NATURE_PAGES)
def test_nature_page_yields_every_figure_with_exact_caption_and_image(page: str, expected_nature: dict) -> None:
    exp = expected_nature[page]["figures"]
    p = read_local_page(CORPUS / "nature" / f"{page}.html")
    assert [f.number for f in p.article.figures] == [e["number"] for e in exp]
    for i, (fig, e) in enumerate(zip(p.article.figures, exp, strict=True)):
        assert fig.kind == "figure"
        assert fig.caption == e["caption"], f"figure {fig.number}"
        assert fig.image_url.startswith("https://media.springernature.com/")
        assert p.images[i] is not None and p.images[i].name == e["image"]


def test_nature_old_markup_separates_caption_title() -> None:
    a = read_article((CORPUS / "nature" / "ncomms5946.html").read_bytes(), "ncomms5946")
    fig1 = a.figures[0]
    assert fig1.figure_label == "Figure 1"
    assert fig1.title == "Galvanic replacement of Ag particles in Pd-salt solution without electron irradiation."
    assert not fig1.caption.startswith("Galvanic")


def test_jats_pmc_file() -> None:
    a = read_article((TEST_DATA / "PMC7417471.nxml").read_bytes(), "PMC7417471.nxml")
    assert a.doi == "10.1186/s40580-020-00237-4"
    assert a.title.startswith("Graphene impregnated electrospun nanofiber sensing materials")
    assert a.journal == "Nano Convergence"
    assert (a.year, a.published) == (2020, "2020-08-10")
    assert a.authors[0] == "Adel Mohammed Al-Dhahebi"
    assert a.license_spdx == "CC-BY-4.0" and a.is_open_access
    assert a.page_format == "jats"
    assert [f.number for f in a.figures] == [1, 2, 3, 4, 5, 6]
    fig2 = a.figures[1]
    assert fig2.figure_label == "Fig. 2"
    assert "GO-SnO2 NTs preparation" in fig2.caption
    assert "Copyright 2019 Elsevier" in fig2.caption  # second caption paragraph kept, space-separated
    assert fig2.image_url == "https://www.ncbi.nlm.nih.gov/pmc/articles/PMC7417471/bin/40580_2020_237_Fig2_HTML.jpg"
    assert all(f.caption for f in a.figures)


JATS_MIN = """<?xml version="1.0"?>
<article xmlns:xlink="http://www.w3.org/1999/xlink"><front><journal-meta><journal-title>J Test</journal-title>
<publisher><publisher-name>Springer</publisher-name></publisher></journal-meta>
<article-meta><article-id pub-id-type="doi">10.1000/XYZ.1</article-id>
<title-group><article-title>A <italic>test</italic> article</article-title></title-group>
<pub-date pub-type="ppub"><year>2019</year></pub-date>
<permissions><copyright-statement>This is an open-access article distributed under the terms of the
Creative Commons Attribution License.</copyright-statement></permissions></article-meta></front>
<body><fig id="f1"><label>Figure 1</label><caption><title>Title one.</title><p>(a) TEM. (b) SAED.</p></caption>
<graphic xlink:href="MediaObjects/f1.png"/></fig>
<fig id="s1"><label>Scheme 1</label><caption><p>Synthesis.</p></caption><graphic xlink:href="s1.gif"/></fig></body>
</article>"""


def test_jats_minimal_variants() -> None:
    a = read_article(JATS_MIN.encode(), "min.xml")
    assert a.article_id == "10.1000/xyz.1" and a.doi == "10.1000/XYZ.1"
    assert a.title == "A test article"
    assert a.license_spdx == "CC-BY"  # licence stated only in prose, unversioned
    assert [(f.kind, f.number) for f in a.figures] == [("figure", 1), ("scheme", 1)]
    assert a.figures[0].title == "Title one."
    assert a.figures[0].caption == "Title one. (a) TEM. (b) SAED."
    assert a.figures[0].image_url == "https://static-content.springer.com/image/art%3A10.1000%2FXYZ.1/MediaObjects/f1.png"
    assert a.figures[0].figure_id(a.article_id) == "10.1000/xyz.1/fig1"
    assert a.figures[1].figure_id(a.article_id) == "10.1000/xyz.1/scheme1"


def test_truncated_html_is_refused_with_the_input_named() -> None:
    data = (CORPUS / "nature" / "ncomms5946.html").read_bytes()
    with pytest.raises(TruncatedPageError, match="cut.html"):
        read_article(data[: len(data) // 2], "cut.html")


def test_truncated_xml_is_refused() -> None:
    data = (TEST_DATA / "PMC7417471.nxml").read_bytes()
    with pytest.raises(TruncatedPageError, match="cut.nxml"):
        read_article(data[: len(data) // 3], "cut.nxml")


def test_non_article_pages_are_refused() -> None:
    with pytest.raises(NotAnArticleError):
        read_article(b"<html><head><title>Search</title></head><body></body></html>", "search.html")
    with pytest.raises(NotAnArticleError):
        read_article(b"<?xml version='1.0'?><PubmedArticleSet/>", "pubmed.xml")
    with pytest.raises(UnreadablePageError, match="empty"):
        read_article(b"  \n", "empty.html")
    with pytest.raises(UnreadablePageError, match="malformed XML"):
        read_article(b"<?xml version='1.0'?><article><front></article>", "bad.xml")


def test_utf8_page_without_charset_declaration_keeps_dashes() -> None:
    html = ('<html><head><meta name="citation_doi" content="10.1038/x1"><meta name="citation_title" '
            'content="Ag–Pd"></head><body><div class="c-article-body"></div></body></html>')
    assert read_article(html.encode(), "x.html").title == "Ag–Pd"


@pytest.mark.parametrize(
    ("url", "text", "spdx"),
    [
        ("http://creativecommons.org/licenses/by/4.0/", None, "CC-BY-4.0"),
        ("https://creativecommons.org/licenses/by-nc-nd/3.0", None, "CC-BY-NC-ND-3.0"),
        ("http://creativecommons.org/publicdomain/zero/1.0/", None, "CC0-1.0"),
        ("http://creativecommons.org/publicdomain/mark/1.0/", None, "LicenseRef-Public-Domain-Mark"),
        (None, "licensed under a Creative Commons Attribution 4.0 International License", "CC-BY-4.0"),
        (None, "Creative Commons Attribution-NonCommercial-NoDerivs License", "CC-BY-NC-ND"),
        (None, "© 2010 Cancer Research UK. All rights reserved.", None),
        (None, None, None),
    ],
)
def test_license_spdx(url: str | None, text: str | None, spdx: str | None) -> None:
    assert license_spdx(url, text) == spdx


def test_small_helpers() -> None:
    assert normalise_doi("doi:10.1038/ncomms5946") == "10.1038/ncomms5946"
    assert normalise_doi("https://doi.org/10.1000/abc.") == "10.1000/abc"
    assert normalise_doi("no doi") is None
    assert iso_date("2014/09/11") == "2014-09-11" and iso_date("2020-8") == "2020-08" and iso_date("n/a") is None
    assert parse_figure_label("Fig. 3") == ("figure", 3)
    assert parse_figure_label("Scheme 12") == ("scheme", 12)
    assert parse_figure_label("Table 1") is None


def test_local_source_finds_pages_and_images(tmp_path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "p.html").write_text("x")
    (tmp_path / "a" / "notes.txt").write_text("x")
    (tmp_path / "b.nxml").write_text("x")
    assert find_pages([tmp_path]) == [tmp_path / "a" / "p.html", tmp_path / "b.nxml"]
    with pytest.raises(FileNotFoundError, match="nowhere"):
        find_pages([tmp_path / "nowhere"])
    a = read_article(JATS_MIN.encode(), "min.xml")
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "s1.gif").write_bytes(b"GIF")
    assert find_local_image(tmp_path / "min.xml", a.figures[1]) == tmp_path / "figures" / "s1.gif"
    assert find_local_image(tmp_path / "min.xml", a.figures[0]) is None


ARXIV_HTML = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>x</title>
<link rel="canonical" href="https://arxiv.org/html/2401.01234v2"></head><body><div class="ltx_page_main">
<article class="ltx_document"><h1 class="ltx_title ltx_title_document">Atoms in STEM</h1>
<div class="ltx_authors"><span class="ltx_personname">A. Author</span></div>
<div class="ltx_abstract"><p class="ltx_p">We image atoms with a scanning transmission electron microscope and
identify their lattice by retrieval against simulated images.</p></div>
<figure class="ltx_figure" id="S1.F1"><img class="ltx_graphics" src="x1.png">
<figcaption class="ltx_caption"><span class="ltx_tag">Figure 1: </span>HAADF-STEM image of SrTiO3.</figcaption>
</figure></article><a rel="license" href="http://creativecommons.org/licenses/by/4.0/">CC BY 4.0</a>
</div></body></html>"""


def test_arxiv_html_page() -> None:
    a = read_article(ARXIV_HTML.encode(), "https://arxiv.org/html/2401.01234v2")
    assert a.doi is None and a.article_id == "arxiv:2401.01234" and a.page_format == "arxiv-html"
    assert a.title == "Atoms in STEM" and a.authors == ["A. Author"] and a.license_spdx == "CC-BY-4.0"
    assert [(f.number, f.caption) for f in a.figures] == [(1, "HAADF-STEM image of SrTiO3.")]
    assert a.figures[0].image_url == "https://arxiv.org/html/2401.01234v2/x1.png"

"""Hostile input, fuzzed with hypothesis: every input is either read or refused with a clear error
(an ``InputError`` naming it, a ``SpectrumError``, a ``ReadOnlySqlError``), fast, and nothing is
read outside the lake or written anywhere.

Covered: the article parsers (HTML and XML; mutated real pages, deep nesting, entity expansion,
external entities, huge attributes, wrong encodings), the caption distributor (random unicode),
image decoding (random bytes, truncations, decompression bombs, wrong extensions), the explorer's
uploads (spectrum CSVs, images) and the SQL console (writes, ATTACH, COPY, file-reading functions
and extensions, hidden in CTEs, subqueries, unions, comments and odd case).
"""

from __future__ import annotations

import io
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from conftest import CORPUS, png_claiming
from hypothesis import example, given
from hypothesis import strategies as st
from PIL import Image

from catalog.duck import ReadOnlySqlError, query
from catalog.tables import Lake
from embeddings.spectra import SpectrumError, read_spectrum_csv
from ingest.captions import distribute_caption
from ingest.errors import InputError
from ingest.images import decode_rgb
from ingest.sources import Article, read_article

NATURE = sorted((CORPUS / "nature").glob("*.html"))
SECRET = "figlake-secret-7f3a"  # the content of a file outside the lake that no input may reach


@pytest.fixture(scope="module")
def secret_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("outside") / "secret.txt"
    path.write_text(SECRET + "\n")
    return path


def read_or_refuse(data: bytes, source: str, seconds: float = 10.0) -> Article | None:
    """read_article's contract: an Article or an InputError naming the source, within ``seconds``."""
    start = time.perf_counter()
    try:
        article = read_article(data, source)
    except InputError as e:
        assert source in str(e), f"the error does not name its input: {e}"
        article = None
    assert time.perf_counter() - start < seconds, f"{len(data)}-byte input took too long"
    return article


def _fields(article: Article | None) -> str:
    return "" if article is None else repr(article.to_json())


# -- article parsers -------------------------------------------------------------

SNIPPETS = [
    b"<div>" * 20000 + b"x",                                    # deep nesting
    b"<meta name=\"citation_title\" content=\"" + b"A" * 3_000_000 + b"\">",  # huge attribute
    b"<figure><img src=\"" + b"x" * 100_000 + b"\"><figcaption>" + b"(a)" * 50_000 + b"</figcaption></figure>",
    b"\x00\xff\xfe\x80\xc3(",                                   # invalid UTF-8
    b"<meta charset=\"x-no-such-charset\">",                    # unknown encoding
    b"<meta charset=\"utf-16\">",                               # declared encoding that is wrong
    b"</html>", b"<html>", b"<![CDATA[", b"<!--", b"&#xFFFFFFFF;", b"&amp;" * 10000,
]


@st.composite
def mutated_pages(draw: st.DrawFn) -> bytes:
    """A real Nature page, cut, spliced with hostile snippets and random bytes."""
    page = NATURE[draw(st.integers(0, len(NATURE) - 1))].read_bytes()
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(page)))
        what = draw(st.one_of(st.sampled_from(SNIPPETS), st.binary(max_size=64), st.just(b"")))
        cut = draw(st.integers(0, 2000))
        page = page[:at] + what + page[at + cut:]
    if draw(st.booleans()):
        page = page[: draw(st.integers(0, len(page)))]
    return page


@given(mutated_pages())
def test_mutated_article_pages_are_read_or_refused(tally: Counter[str], page: bytes) -> None:
    tally["article pages (mutated real pages)"] += 1
    tally["article pages (mutated real pages): read as articles"] += read_or_refuse(page, "mutated.html") is not None


@given(st.binary(max_size=4096))
@example(b"")
@example(b"\xef\xbb\xbf")
@example("<html><body>Ağ–Pd</body></html>".encode("utf-16"))
def test_random_bytes_are_refused(tally: Counter[str], data: bytes) -> None:
    tally["article pages (random bytes)"] += 1
    read_or_refuse(data, "random.html")


JATS = """<?xml version="1.0"?>
<!DOCTYPE article [{dtd}]>
<article><front><article-meta><article-id pub-id-type="doi">10.1/x</article-id>
<title-group><article-title>{title}</article-title></title-group></article-meta></front>
<body><fig id="f1"><label>Figure 1</label><caption><p>{caption}</p></caption><graphic href="f1.jpg"/></fig></body>
</article>"""


@pytest.mark.parametrize("depth", [10, 50])
def test_xml_entity_expansion_is_not_expanded(tally: Counter[str], depth: int) -> None:
    """A 'billion laughs' document: entities are left unexpanded (parser: resolve_entities=False)."""
    tally["XML entity bombs"] += 1
    dtd = '<!ENTITY e0 "lol">' + "".join(f'<!ENTITY e{i} "{f"&e{i - 1};" * 10}">' for i in range(1, depth))
    article = read_or_refuse(JATS.format(dtd=dtd, title=f"&e{depth - 1};", caption="x").encode(), "bomb.xml", 5)
    assert len(_fields(article)) < 10_000


def test_xml_external_entities_are_not_read(tally: Counter[str], secret_file: Path) -> None:
    """XXE: a SYSTEM entity naming a local file is not resolved; no DTD is loaded from anywhere."""
    tally["XML external entities"] += 2
    dtd = f'<!ENTITY xxe SYSTEM "file://{secret_file}">'
    article = read_or_refuse(JATS.format(dtd=dtd, title="&xxe;", caption="&xxe;").encode(), "xxe.xml")
    assert SECRET not in _fields(article)
    param = f'<!ENTITY % p SYSTEM "file://{secret_file}"> %p;'
    assert SECRET not in _fields(read_or_refuse(JATS.format(dtd=param, title="t", caption="c").encode(), "p.xml"))


@given(depth=st.integers(100, 30000), tag=st.sampled_from(["div", "sec", "p", "b"]))
def test_deep_nesting_is_bounded(tally: Counter[str], depth: int, tag: str) -> None:
    tally["deeply nested documents"] += 1
    html = (f"<html><head><meta name='citation_doi' content='10.1/x'></head><body>{f'<{tag}>' * depth}"
            f"x{f'</{tag}>' * depth}</body></html>").encode()
    read_or_refuse(html, "deep.html", 10)
    xml = JATS.format(dtd="", title="t", caption=f"<{tag}>" * depth + "x" + f"</{tag}>" * depth).encode()
    read_or_refuse(xml, "deep.xml", 10)


@given(st.sampled_from(["utf-8", "utf-16", "latin-1", "cp1252", "shift_jis", "utf-32"]),
       st.sampled_from(["utf-8", "utf-16", "latin-1", "bogus-charset", ""]),
       st.text(max_size=200))
def test_wrong_encodings_are_read_or_refused(tally: Counter[str], actual: str, declared: str, text: str) -> None:
    tally["pages in wrong encodings"] += 1
    page = NATURE[0].read_text(encoding="utf-8")
    if declared:
        page = page.replace("<head>", f'<head><meta charset="{declared}">', 1)
    page = page.replace("</title>", text.replace("<", "") + "</title>", 1)
    tally["pages in wrong encodings: read as articles"] += read_or_refuse(
        page.encode(actual, errors="replace"), "encoded.html") is not None


# -- captions --------------------------------------------------------------------

@given(st.text(max_size=600))
@example("(a) (b) (a–z) (A–Z) (i–xx) (001) (Ag) (a.u.) a, b, c")
@example("Scale bars, 5 µm (c), 500 nm (d), 1 nm⁻¹ (h, i). " * 50)
def test_captions_of_random_unicode_distribute_deterministically(tally: Counter[str], caption: str) -> None:
    tally["captions (random unicode)"] += 1
    first, second = distribute_caption(caption), distribute_caption(caption)
    assert first == second
    for label, text in first.subcaptions.items():
        assert isinstance(label, str) and isinstance(text, str)


# -- images ----------------------------------------------------------------------

def encoded(fmt: str, size: tuple[int, int] = (40, 30)) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (*size[::-1], 3), np.uint8)).save(buf, fmt)
    return buf.getvalue()


IMAGES = {fmt: encoded(fmt) for fmt in ("PNG", "JPEG", "GIF", "TIFF", "WEBP", "BMP")}


def decode_or_refuse(data: bytes, source: str) -> np.ndarray | None:
    try:
        rgb = decode_rgb(data, source, max_pixels=50_000_000)
    except InputError as e:
        assert source in str(e)
        return None
    assert rgb.ndim == 3 and rgb.shape[2] == 3 and rgb.dtype == np.uint8
    return rgb


@given(st.sampled_from(sorted(IMAGES)), st.integers(0, 4000), st.binary(max_size=32),
       st.sampled_from([".png", ".jpg", ".tif", ".txt", ""]))
def test_truncated_and_corrupted_images_are_decoded_or_refused(
        tally: Counter[str], fmt: str, cut: int, noise: bytes, ext: str) -> None:
    tally["images (truncated, corrupted, wrong extension)"] += 1
    data = IMAGES[fmt]
    data = data[: max(0, len(data) - cut)]
    at = len(data) // 2
    decode_or_refuse(data[:at] + noise + data[at + len(noise):], f"figure{ext}")


@given(st.integers(8_000, 1_000_000), st.integers(8_000, 1_000_000))
def test_decompression_bombs_are_refused_before_decoding(tally: Counter[str], w: int, h: int) -> None:
    tally["decompression-bomb headers"] += 1
    start = time.perf_counter()
    with pytest.raises(InputError, match="bomb.png"):
        decode_rgb(png_claiming(w, h), "bomb.png", max_pixels=50_000_000)
    assert time.perf_counter() - start < 1


@given(st.binary(max_size=2048))
def test_random_bytes_as_images_are_refused(tally: Counter[str], data: bytes) -> None:
    tally["images (random bytes)"] += 1
    decode_or_refuse(data, "upload.png")


# -- explorer uploads: spectrum CSVs ----------------------------------------------

@given(st.one_of(st.binary(max_size=2048), st.text(max_size=2048).map(str.encode),
                 st.lists(st.tuples(st.floats(allow_nan=True), st.floats(allow_nan=True)), max_size=200).map(
                     lambda rows: "x,y\n".join(f"{a},{b}\n" for a, b in rows).encode())))
def test_spectrum_uploads_are_read_or_refused(tally: Counter[str], data: bytes) -> None:
    tally["spectrum CSV uploads"] += 1
    try:
        x, y = read_spectrum_csv(data, source="upload.csv")
    except SpectrumError as e:
        assert "upload.csv" in str(e)
        return
    assert len(x) == len(y) >= 2 and np.isfinite(x).all() and np.isfinite(y).all()


# -- the SQL console -------------------------------------------------------------

FILE_FUNCTIONS = ["read_text", "read_blob", "read_csv", "read_csv_auto", "read_parquet", "parquet_scan",
                  "read_json", "read_json_auto", "read_ndjson", "glob", "sniff_csv", "parquet_metadata",
                  "parquet_schema", "read_xlsx", "delta_scan", "iceberg_scan", "sqlite_scan"]
STATEMENTS = ["COPY figures TO '{path}.csv'", "COPY (SELECT 1) TO '{path}.parquet' (FORMAT parquet)",
              "ATTACH '{path}.duckdb' AS x", "INSTALL httpfs", "LOAD httpfs", "FORCE INSTALL '{path}'",
              "EXPORT DATABASE '{path}'", "IMPORT DATABASE '{path}'", "CREATE TABLE t AS SELECT 1",
              "CREATE OR REPLACE VIEW figures AS SELECT 1", "INSERT INTO figures DEFAULT VALUES",
              "DELETE FROM subfigures", "DROP VIEW figures", "SET enable_external_access = true",
              "RESET lock_configuration", "PRAGMA enable_profiling", "CHECKPOINT", "DETACH memory",
              "CALL pragma_version()", "VACUUM", "SET allowed_directories = ['/']",
              "CREATE SECRET s (TYPE s3, KEY_ID 'k', SECRET 's')", "USE system"]


@st.composite
def hostile_sql(draw: st.DrawFn, path: str) -> str:
    if draw(st.booleans()):
        stmt = draw(st.sampled_from(STATEMENTS)).format(path=path)
        before = draw(st.sampled_from(["", "SELECT 1; ", "/* c */ ", "-- x\n"]))
        return before + stmt
    fn = draw(st.sampled_from(FILE_FUNCTIONS))
    fn = "".join(c.upper() if draw(st.booleans()) else c for c in fn) if draw(st.booleans()) else fn
    src = draw(st.sampled_from([f"{fn}('{path}')", f"{fn}(['{path}'])", f"'{path}'", f'"{path}"',
                                f"{fn}('{path}', header = false)"]))
    shape = draw(st.sampled_from([
        "SELECT * FROM {s}", "WITH x AS (SELECT * FROM {s}) SELECT * FROM x",
        "SELECT * FROM figures WHERE caption IN (SELECT * FROM {s})",
        "SELECT (SELECT count(*) FROM {s}) AS n", "SELECT 1 UNION ALL SELECT * FROM {s}",
        "SELECT * FROM figures, LATERAL (SELECT * FROM {s}) t", "SELECT * FROM /* hi */ {s} -- end",
        "SELECT * FROM (SELECT * FROM (SELECT * FROM {s}))",
    ]))
    return shape.format(s=src)


@given(data=st.data())
def test_sql_console_refuses_writes_and_outside_reads(tally: Counter[str], built_lake: Path, secret_file: Path,
                                                      data: st.DataObject) -> None:
    tally["SQL console statements"] += 1
    target = str(secret_file) if data.draw(st.booleans()) else str(secret_file.parent / "written")
    sql = data.draw(hostile_sql(target))
    before = sorted(p.name for p in secret_file.parent.iterdir()), sorted(p.name for p in built_lake.rglob("*"))
    with pytest.raises(ReadOnlySqlError):
        query(Lake(built_lake), sql)
    after = sorted(p.name for p in secret_file.parent.iterdir()), sorted(p.name for p in built_lake.rglob("*"))
    assert before == after, f"{sql!r} wrote a file"

"""The lake's tables: one Arrow schema per table, the single source of truth.

Every other module imports its columns from here; nothing restates them.
Each column carries a one-line description (Arrow field metadata ``doc``),
which the README's table reference and ``figlake schema`` are generated from.

Storage: tables queried with SQL are Parquet files under the lake root
(``<name>.parquet``; quarantine is one Parquet file per stage under
``quarantine/``); tables that hold image bytes or vectors are Lance datasets
(``<name>.lance``), which give random access by row without reading a whole
row group.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pyarrow as pa

Storage = Literal["parquet", "lance"]


def col(name: str, type_: pa.DataType, doc: str, nullable: bool = True) -> pa.Field:
    """A column with its description stored in the field metadata."""
    return pa.field(name, type_, nullable=nullable, metadata={"doc": doc})


def column_doc(field: pa.Field) -> str:
    return (field.metadata or {}).get(b"doc", b"").decode()


BBOX = pa.struct(
    [
        pa.field("x0", pa.int32()),
        pa.field("y0", pa.int32()),
        pa.field("x1", pa.int32()),
        pa.field("y1", pa.int32()),
    ]
)
"""A box in image pixels, origin top-left, x1/y1 exclusive."""

STRINGS = pa.list_(pa.string())


def _provenance() -> list[pa.Field]:
    """Columns every derived row carries: who made it, under which parameters."""
    return [
        col("extractor", pa.string(), "module@version that produced the row"),
        col("params_hash", pa.string(), "hash of the parameters the producing stage ran with"),
    ]


def _license() -> list[pa.Field]:
    return [
        col("license_spdx", pa.string(), "SPDX id of the licence (e.g. CC-BY-4.0); null if unknown"),
        col("license_url", pa.string(), "licence URL as the publisher states it"),
    ]


@dataclass(frozen=True)
class TableSpec:
    """A lake table: its name, schema, primary key and storage format."""

    name: str
    schema: pa.Schema
    key: tuple[str, ...]
    storage: Storage
    description: str

    def empty(self) -> pa.Table:
        return self.schema.empty_table()

    def file_name(self) -> str:
        return f"{self.name}.{self.storage}"


def _spec(
    name: str, key: tuple[str, ...], description: str, fields: list[pa.Field], storage: Storage = "parquet"
) -> TableSpec:
    return TableSpec(name, pa.schema(fields), key, storage, description)


ARTICLES = _spec(
    "articles",
    ("article_id",),
    "One row per article: bibliographic metadata, licence and where it came from.",
    [
        col("article_id", pa.string(), "the article's DOI, lower-cased", nullable=False),
        col("doi", pa.string(), "DOI as printed by the publisher"),
        col("title", pa.string(), "article title"),
        col("journal", pa.string(), "journal name"),
        col("publisher", pa.string(), "publisher name"),
        col("year", pa.int16(), "year of publication"),
        col("published", pa.string(), "publication date, ISO 8601 (YYYY, YYYY-MM or YYYY-MM-DD)"),
        col("authors", STRINGS, "author names in byline order"),
        col("abstract", pa.string(), "abstract text"),
        col("keywords", STRINGS, "author or publisher keywords / subjects"),
        *_license(),
        col("is_open_access", pa.bool_(), "the page declares the article open access"),
        col("url", pa.string(), "landing page URL"),
        col("pdf_url", pa.string(), "PDF URL when the page gives one"),
        col("source", pa.string(), "figlake source that yielded it (local, synth, nature, ...)"),
        col("source_path", pa.string(), "file or URL the article was read from"),
        col("page_format", pa.string(), "reader that parsed the page (nature-html, jats, ...)"),
        col("retrieved_at", pa.timestamp("us", tz="UTC"), "when it was downloaded; null for local files"),
        col("query", pa.string(), "name of the query that found it, if any"),
        col("figure_count", pa.int16(), "number of figures the page lists"),
        *_provenance(),
    ],
)

FIGURES = _spec(
    "figures",
    ("figure_id",),
    "One row per figure of an article: caption, image identity and licence.",
    [
        col("figure_id", pa.string(), "'<article_id>/<kind><number>', e.g. 10.1038/ncomms5946/fig1", nullable=False),
        col("article_id", pa.string(), "article this figure belongs to", nullable=False),
        col("kind", pa.string(), "figure, scheme, chart or plate"),
        col("number", pa.int16(), "figure number within its kind"),
        col("figure_label", pa.string(), "label as printed, e.g. 'Fig. 1', 'Scheme 2'"),
        col("title", pa.string(), "caption title (first, bold sentence) when the page separates it"),
        col("caption", pa.string(), "caption text as displayed under the figure"),
        col("image_url", pa.string(), "URL of the figure image on the publisher's site"),
        col("image_sha256", pa.string(), "sha256 of the image bytes (key into images); null if unavailable"),
        col("image_format", pa.string(), "JPEG, PNG, GIF, TIFF, ..."),
        col("width", pa.int32(), "image width, px"),
        col("height", pa.int32(), "image height, px"),
        col("image_source", pa.string(), "file or URL the image bytes were read from"),
        *_license(),
        *_provenance(),
    ],
)

IMAGES = _spec(
    "images",
    ("sha256",),
    "Image bytes, content-addressed (Lance). Join figures.image_sha256 = images.sha256.",
    [
        col("sha256", pa.string(), "sha256 of the bytes", nullable=False),
        col("format", pa.string(), "JPEG, PNG, ..."),
        col("width", pa.int32(), "px"),
        col("height", pa.int32(), "px"),
        col("bytes", pa.large_binary(), "the encoded image exactly as published"),
        col("source", pa.string(), "file or URL the bytes were read from"),
    ],
    storage="lance",
)

CAPTION_SEGMENTS = _spec(
    "caption_segments",
    ("figure_id", "label"),
    "Each subfigure label's part of its figure caption.",
    [
        col("figure_id", pa.string(), "figure the caption belongs to", nullable=False),
        col("label", pa.string(), "subfigure label ('a', 'b', ...); '' when the caption names none", nullable=False),
        col("text", pa.string(), "everything a reader of this panel needs: shared title, its own text, shared notes"),
        col("own_text", pa.string(), "the text that describes only this label"),
        col("inset_text", pa.string(), "caption text about this label's inset ('Inset: FFT of …')"),
        col("delimiter", pa.string(),
            "identifier style: paren '(a)', bare 'a', rparen 'a)', colon 'A:', period 'A.', comma 'A,', digit, "
            "roman, position, none"),
        col("keywords", STRINGS, "query keyword families mentioned (named by their term)"),
        col("techniques", STRINGS, "characterization techniques mentioned (TEM, HAADF-STEM, XRD, Raman, ...)"),
        col("materials", STRINGS, "materials mentioned (formulas, elements, material nouns)"),
        col("scale_text", pa.string(), "scale the caption states for this label, e.g. '5 µm'"),
        col("scale_value", pa.float64(), "stated scale value"),
        col("scale_unit", pa.string(), "stated scale unit, normalised (nm, µm, Å, mm, nm⁻¹)"),
        *_provenance(),
    ],
)

SUBFIGURES = _spec(
    "subfigures",
    ("subfigure_id",),
    "Master, dependent and inset images cut from each figure (MDI model).",
    [
        col("subfigure_id", pa.string(), "'<figure_id>/<label>' for masters; suffixed for dependents/insets",
            nullable=False),
        col("figure_id", pa.string(), "figure it was cut from", nullable=False),
        col("article_id", pa.string(), "article of the figure"),
        col("role", pa.string(), "master, dependent, inset, or unassigned (content no label governs)"),
        col("parent_id", pa.string(), "for dependents and insets: the subfigure that contains them"),
        col("label", pa.string(), "subfigure label ('a', 'b', ...); null when unlabelled"),
        col("bbox", BBOX, "box in figure pixels"),
        col("label_bbox", BBOX, "box of the printed label, figure pixels"),
        col("class", pa.string(), "microscopy, diffraction, graph, illustration, photo, unclear or parent"),
        col("confidence", pa.float32(), "classifier confidence, 0-1"),
        col("detection_confidence", pa.float32(), "masters: how sure the separation is (its label's OCR score)"),
        col("caption_text", pa.string(), "this subfigure's part of the caption"),
        col("keywords", STRINGS, "query keywords in its caption text"),
        col("nm_per_px", pa.float64(), "physical scale, nm per pixel; null when unknown"),
        *_license(),
        *_provenance(),
    ],
)

SCALE_BARS = _spec(
    "scale_bars",
    ("scale_bar_id",),
    "Scale bars found in subfigures and the scale they imply.",
    [
        col("scale_bar_id", pa.string(), "'<subfigure_id>/bar<n>'", nullable=False),
        col("subfigure_id", pa.string(), "subfigure the bar belongs to", nullable=False),
        col("figure_id", pa.string(), "figure of the subfigure"),
        col("bar_bbox", BBOX, "box of the bar, figure pixels"),
        col("length_px", pa.float32(), "bar length, px"),
        col("label_text", pa.string(), "scale label as read, e.g. '200 nm'"),
        col("label_bbox", BBOX, "box of the label, figure pixels"),
        col("value", pa.float64(), "numeric value of the label"),
        col("unit", pa.string(), "normalised unit (nm, µm, Å, mm, nm⁻¹)"),
        col("nm_per_px", pa.float64(), "value in nm divided by length_px"),
        col("source", pa.string(), "image (label read in the figure) or caption (value stated in the caption)"),
        col("confidence", pa.float32(), "0-1"),
        *_provenance(),
    ],
)

THUMBNAILS = _spec(
    "thumbnails",
    ("subfigure_id",),
    "A small JPEG of every subfigure for browsing (Lance); full crops come from images by bbox.",
    [
        col("subfigure_id", pa.string(), "subfigure shown", nullable=False),
        col("figure_id", pa.string(), "figure of the subfigure"),
        col("width", pa.int32(), "thumbnail width, px"),
        col("height", pa.int32(), "thumbnail height, px"),
        col("bytes", pa.large_binary(), "JPEG bytes"),
    ],
    storage="lance",
)

LABELS = _spec(
    "labels",
    ("subfigure_id",),
    "Hierarchical labels for each subfigure from its caption and abstract.",
    [
        col("subfigure_id", pa.string(), "subfigure labelled ('<figure_id>/<label>': the master of that label)",
            nullable=False),
        col("figure_id", pa.string(), "figure of the subfigure"),
        col("label", pa.string(), "subfigure label"),
        col("caption_labels", STRINGS, "labels from the subfigure's caption text"),
        col("abstract_labels", STRINGS, "labels from the article abstract"),
        col("techniques", STRINGS, "characterisation techniques mentioned (TEM, XRD, Raman, ...)"),
        col("materials", STRINGS, "materials mentioned"),
        col("topic", pa.string(), "topic (LDA) of the article text"),
        col("topic_confidence", pa.float32(), "topic probability, 0-1"),
        *_provenance(),
    ],
)

SPECTRA = _spec(
    "spectra",
    ("spectrum_id",),
    "Data series digitized from graph subfigures.",
    [
        col("spectrum_id", pa.string(), "'<subfigure_id>/s<series_index>'", nullable=False),
        col("subfigure_id", pa.string(), "graph subfigure it was read from", nullable=False),
        col("series_index", pa.int16(), "curve number within the plot"),
        col("x", pa.list_(pa.float64()), "x values, data units"),
        col("y", pa.list_(pa.float64()), "y values, data units (normalised 0-1 if y is uncalibrated)"),
        col("x_label", pa.string(), "x axis title as read"),
        col("y_label", pa.string(), "y axis title as read"),
        col("x_unit", pa.string(), "x unit, e.g. eV, cm⁻¹, 2θ (deg)"),
        col("y_unit", pa.string(), "y unit; 'a.u.' for arbitrary"),
        col("x_scale", pa.string(), "linear or log"),
        col("y_scale", pa.string(), "linear or log"),
        col("y_calibrated", pa.bool_(), "y tick labels were read and fitted"),
        col("calibration_error", pa.float32(), "RMS tick-fit residual as a fraction of the axis range"),
        col("color", pa.string(), "curve colour, #rrggbb"),
        col("style", pa.string(), "solid, dashed, dotted or markers"),
        col("confidence", pa.float32(), "0-1"),
        *_provenance(),
    ],
)

STEM_LIBRARY = _spec(
    "stem_library",
    ("entry_id",),
    "Simulated HAADF-STEM images of known structures, with their embeddings (Lance).",
    [
        col("entry_id", pa.string(), "'<prototype>/<zone axis>/n<noise level index>/<variant>'", nullable=False),
        col("prototype", pa.string(), "AFLOW prototype label ('<label>-<formula>' where structures share a label)"),
        col("strukturbericht", pa.string(), "Strukturbericht designation, if any"),
        col("pearson", pa.string(), "Pearson symbol"),
        col("mineral", pa.string(), "mineral or common name, if any"),
        col("formula", pa.string(), "reduced formula"),
        col("space_group", pa.string(), "space group symbol"),
        col("space_group_number", pa.int16(), "International Tables number"),
        col("zone_axis", pa.string(), "viewing direction [uvw] in the conventional cell"),
        col("nm_per_px", pa.float64(), "simulated pixel size, nm"),
        col("noise_level", pa.float32(), "noise preset, 0 (clean) - 1 (very noisy)"),
        col("split", pa.string(), "train or test (split by prototype: test prototypes are never trained on)"),
        col("image", pa.large_binary(), "PNG of the simulated image"),
        col("embedding", pa.list_(pa.float32()), "encoder embedding (L2-normalised); null before stem_model"),
        *_provenance(),
    ],
    storage="lance",
)

STEM_MATCHES = _spec(
    "stem_matches",
    ("subfigure_id", "rank"),
    "Nearest simulated structures for each atomic-resolution STEM subfigure.",
    [
        col("subfigure_id", pa.string(), "STEM subfigure", nullable=False),
        col("rank", pa.int16(), "1 = best match", nullable=False),
        col("entry_id", pa.string(), "stem_library entry"),
        col("prototype", pa.string(), "prototype of the entry"),
        col("formula", pa.string(), "formula of the entry"),
        col("zone_axis", pa.string(), "zone axis of the entry"),
        col("score", pa.float32(), "cosine similarity"),
        *_provenance(),
    ],
)

VECTORS = _spec(
    "vectors",
    ("subfigure_id",),
    "Every subfigure's image and caption-text embeddings with the columns search filters on (Lance; "
    "vector, full-text and hybrid search through LanceDB).",
    [
        col("subfigure_id", pa.string(), "subfigure embedded", nullable=False),
        col("figure_id", pa.string(), "figure of the subfigure"),
        col("article_id", pa.string(), "article of the figure"),
        col("label", pa.string(), "subfigure label"),
        col("role", pa.string(), "master, dependent, inset or unassigned"),
        col("class", pa.string(), "subfigure class (microscopy, diffraction, graph, ...)"),
        col("confidence", pa.float32(), "classifier confidence"),
        col("keywords", STRINGS, "query keywords in its caption text"),
        col("techniques", STRINGS, "characterisation techniques its caption names"),
        col("materials", STRINGS, "materials its caption names"),
        col("journal", pa.string(), "journal of the article"),
        col("year", pa.int16(), "publication year"),
        col("license_spdx", pa.string(), "SPDX id of the licence; null if unknown"),
        col("nm_per_px", pa.float64(), "physical scale, nm per pixel; null when unknown"),
        col("has_spectra", pa.bool_(), "digitized series exist for it (spectra table)"),
        col("text", pa.string(), "what full-text search reads: its caption text, labels, techniques, materials"),
        col("image_vector", pa.list_(pa.float32()), "open_clip image embedding (unit length)"),
        col("text_vector", pa.list_(pa.float32()),
            "MiniLM embedding of its caption text (unit; zeros when it has none)"),
        col("content_hash", pa.string(),
            "hash of what was embedded and by which models: unchanged rows are not re-embedded"),
        *_provenance(),
    ],
    storage="lance",
)

SPECTRUM_VECTORS = _spec(
    "spectrum_vectors",
    ("spectrum_id",),
    "Every digitized series as a shape vector, with its plot's filter columns (Lance).",
    [
        col("spectrum_id", pa.string(), "spectra row embedded", nullable=False),
        col("subfigure_id", pa.string(), "graph subfigure of the series"),
        col("figure_id", pa.string(), "figure of the subfigure"),
        col("article_id", pa.string(), "article of the figure"),
        col("series_index", pa.int16(), "curve number within the plot"),
        col("x_unit", pa.string(), "x unit of the series"),
        col("x_min", pa.float64(), "smallest x, data units"),
        col("x_max", pa.float64(), "largest x, data units"),
        col("color", pa.string(), "curve colour"),
        col("techniques", STRINGS, "techniques its subfigure's caption names"),
        col("journal", pa.string(), "journal of the article"),
        col("year", pa.int16(), "publication year"),
        col("license_spdx", pa.string(), "SPDX id of the licence; null if unknown"),
        col("vector", pa.list_(pa.float32()), "resampled, normalised shape + slope (embeddings.spectra)"),
        col("content_hash", pa.string(), "hash of the series and the embedding settings"),
        *_provenance(),
    ],
    storage="lance",
)

QUARANTINE = _spec(
    "quarantine",
    ("stage", "item"),
    "Items a stage could not process: what, why, when. Nothing bad is dropped silently.",
    [
        col("stage", pa.string(), "stage that failed on the item", nullable=False),
        col("item", pa.string(), "the input: file, URL or id (with the part, e.g. '#fig3 image')", nullable=False),
        col("error_type", pa.string(), "exception class, e.g. CorruptImageError"),
        col("error", pa.string(), "what went wrong, naming the input"),
        col("at", pa.timestamp("us", tz="UTC"), "when it happened"),
    ],
)

INDEX_HIDDEN = ("image_vector", "text_vector", "content_hash")
SUBFIGURE_INDEX = _spec(
    "subfigure_index",
    ("subfigure_id",),
    "The vectors table without its vectors, for SQL (written by the catalog stage): one row per subfigure "
    "with the columns search filters on, so a `--where` written for `figlake search` selects the same rows "
    "in `figlake sql`, `figlake export` and the explorer.",
    [f for f in VECTORS.schema if f.name not in INDEX_HIDDEN],
)

TABLES: dict[str, TableSpec] = {
    t.name: t
    for t in (
        ARTICLES,
        FIGURES,
        IMAGES,
        CAPTION_SEGMENTS,
        SUBFIGURES,
        SCALE_BARS,
        THUMBNAILS,
        LABELS,
        SPECTRA,
        STEM_LIBRARY,
        STEM_MATCHES,
        VECTORS,
        SPECTRUM_VECTORS,
        SUBFIGURE_INDEX,
        QUARANTINE,
    )
}

SQL_TABLES = tuple(name for name, t in TABLES.items() if t.storage == "parquet")
"""Tables DuckDB exposes as views (Lance tables are read through lance/LanceDB)."""


def conform(rows: list[dict], spec: TableSpec) -> pa.Table:
    """Rows (dicts) to an Arrow table of ``spec``'s schema; missing columns become null.

    Raises ``KeyError`` naming the column if a row has a column the schema lacks,
    so a typo cannot silently drop data.
    """
    names = set(spec.schema.names)
    for row in rows:
        extra = set(row) - names
        if extra:
            raise KeyError(f"{spec.name}: unknown column(s) {sorted(extra)}")
    return pa.Table.from_pylist(rows, schema=spec.schema)


def _type_name(t: pa.DataType) -> str:
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return f"list<{_type_name(t.value_type)}>"
    if pa.types.is_struct(t):
        return "struct<" + ", ".join(f"{f.name}: {_type_name(f.type)}" for f in t) + ">"
    return str(t)


README_BEGIN = "<!-- schema:begin"
README_END = "<!-- schema:end -->"


def with_reference(readme: str) -> str:
    """``readme`` with the text between the schema markers replaced by ``markdown_reference()``."""
    begin = readme.index("-->", readme.index(README_BEGIN)) + 3
    end = readme.index(README_END)
    return readme[:begin] + "\n\n" + markdown_reference() + "\n" + readme[end:]


def markdown_reference() -> str:
    """The table reference for the README, generated from the schemas."""
    out = []
    for t in TABLES.values():
        where = f"`{t.file_name()}`" if t.name != "quarantine" else "`quarantine/<stage>.parquet`"
        out.append(f"### `{t.name}` ({t.storage}, {where}; key: {', '.join(t.key)})\n\n{t.description}\n")
        out.append("| column | type | meaning |\n|---|---|---|")
        for f in t.schema:
            out.append(f"| `{f.name}` | `{_type_name(f.type)}` | {column_doc(f)} |")
        out.append("")
    return "\n".join(out)

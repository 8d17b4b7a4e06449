"""figlake — the command line.

Every command that returns data has ``--json``. Per-item commands take many
inputs in one call (several paths, or ``--batch FILE.jsonl`` with one JSON
object of arguments per line) and then print JSON Lines, one result per input
in input order; a failed item prints ``{"error": ..., "input": ...}`` and the
rest go on (exit status 1 if any failed).
"""

from __future__ import annotations

import argparse
import functools
import io
import json
import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ingest.sources.pdf import PdfSettings

EXIT_OK, EXIT_ITEM_FAILED, EXIT_USAGE = 0, 1, 2
LAKE_HELP = ("lake root: a folder (default: $FIGLAKE_LAKE, else params.yaml lake.root), or a lake published to "
             "s3://bucket/prefix, read in place (endpoint and credentials from the AWS_* variables)")


# -- helpers -----------------------------------------------------------------


def lake_location(root: str | Path) -> str | Path:
    """A lake root as given: an s3:// URI of a published lake stays a string, anything else is a folder."""
    from catalog.storage import is_uri

    return str(root) if is_uri(root) else Path(root)


def default_lake() -> str | Path:
    """The lake root: $FIGLAKE_LAKE, else params.yaml's lake.root in this folder, else data/lake (a
    local folder, or the s3:// URI of a published lake, which the reading commands and the explorer
    read in place)."""
    if env := os.environ.get("FIGLAKE_LAKE"):
        return lake_location(env)
    if Path("params.yaml").exists():
        from ingest.config import load_params

        root = load_params("params.yaml").get("lake", {}).get("root")
        if root:
            return Path(root)
    return Path("data/lake")


def _dumps(obj: Any, pretty: bool = False) -> str:
    return json.dumps(obj, ensure_ascii=False, default=str, indent=2 if pretty else None)


def read_batch(path: str, key: str) -> list[dict[str, Any]]:
    """``--batch FILE.jsonl``: one JSON object per line; ``key`` names the main argument."""
    items = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise SystemExit(f"{path}:{n}: not JSON ({e.msg})") from e
            if not isinstance(obj, dict) or key not in obj:
                raise SystemExit(f"{path}:{n}: expected an object with a {key!r} field")
            items.append(obj)
    return items


def run_per_item(
    inputs: list[dict[str, Any]],
    process: Callable[[dict[str, Any]], Any],
    as_json: bool,
    render: Callable[[Any], str],
    input_key: str,
    expected: tuple[type[BaseException], ...],
) -> int:
    """Run ``process`` on each input; JSON (Lines when several) or human output.

    Only ``expected`` exceptions (bad input) become error lines; others are bugs and propagate.
    """
    many = len(inputs) > 1
    status = EXIT_OK
    for args in inputs:
        try:
            result = process(args)
        except expected as e:
            status = EXIT_ITEM_FAILED
            if as_json:
                print(_dumps({"error": str(e), "input": args.get(input_key)}))
            else:
                print(f"error: {e}", file=sys.stderr)
            continue
        if as_json:
            print(_dumps(result, pretty=not many))
        else:
            print(render(result))
    return status


# -- parse-article -------------------------------------------------------------


def _fetch_article(url: str) -> dict[str, Any]:
    """Fetch an article URL politely (params.yaml's sources.web.http when present) and parse it."""
    from ingest.crawl import http_client
    from ingest.sources import read_article
    from ingest.sources.http import HttpSettings, PoliteClient

    if Path("params.yaml").exists():
        from ingest.config import load_params

        client = http_client(load_params("params.yaml"))
    else:
        client = PoliteClient(HttpSettings())
    resp = client.get(url, ("text/html", "application/xhtml", "text/xml", "application/xml"))
    article = read_article(resp.body, url)
    out = article.to_json()
    for fig, ref in zip(out["figures"], article.figures, strict=True):
        fig.pop("image_href", None)
        fig["figure_id"] = ref.figure_id(article.article_id)
        fig["image"] = None
    return out


def _parse_article(args: dict[str, Any]) -> dict[str, Any]:
    from ingest.sources.local import read_local_page

    if str(args["path"]).startswith(("http://", "https://")):
        return _fetch_article(str(args["path"]))
    path = Path(args["path"])
    if not path.is_file():
        from ingest.errors import UnreadablePageError

        raise UnreadablePageError(str(path), "no such file")
    page = read_local_page(path, _pdf_settings(args))
    out = page.article.to_json()
    for i, fig in enumerate(out["figures"]):
        fig.pop("image_href", None)
        fig["figure_id"] = page.article.figures[i].figure_id(page.article.article_id)
        fig["image"] = str(page.images[i]) if page.images[i] else None
        if page.pdf is not None:  # where the figure is on its page, and its rendering when asked for
            cut = page.pdf.figures[i]
            fig.update(page=cut.page, bbox=list(cut.bbox))
            if args.get("images"):
                folder = Path(args["images"])
                folder.mkdir(parents=True, exist_ok=True)
                kind = "fig" if cut.ref.kind == "figure" else cut.ref.kind
                image = folder / f"{path.stem}_{kind}{cut.ref.number}.png"
                image.write_bytes(cut.image)
                fig["image"] = str(image)
    return out


def _pdf_settings(args: dict[str, Any]) -> PdfSettings:
    """params.yaml's sources.pdf when present, ``--dpi`` over it."""
    from ingest.sources.pdf import PdfSettings

    settings = dict(_pdf_params())
    if args.get("dpi"):
        settings["dpi"] = int(args["dpi"])
    return PdfSettings(**settings)


@functools.cache
def _pdf_params() -> dict[str, Any]:
    """sources.pdf of ./params.yaml, read once for a whole batch."""
    if not Path("params.yaml").exists():
        return {}
    from ingest.config import load_params

    return dict(load_params("params.yaml").get("sources", {}).get("pdf") or {})


def _render_article(a: dict[str, Any]) -> str:
    lines = [
        f"{a['title']}",
        f"  doi {a['doi']} · {a['journal']} {a['year']} · licence {a['license_spdx'] or 'unknown'}",
        f"  {len(a['authors'])} authors · {len(a['figures'])} figures",
    ]
    for f in a["figures"]:
        where = f["image"] or f["image_url"] or "no image"
        lines.append(f"  {f['figure_label'] or f['number']}: {f['caption'][:70]}… [{where}]")
    return "\n".join(lines)


def cmd_parse_article(ns: argparse.Namespace) -> int:
    from ingest.errors import InputError

    inputs = [{"path": p} for p in ns.paths] + (read_batch(ns.batch, "path") if ns.batch else [])
    for item in inputs:
        item.setdefault("images", ns.images)
        item.setdefault("dpi", ns.dpi)
    if not inputs:
        print("parse-article: give one or more PATHs or --batch FILE.jsonl", file=sys.stderr)
        return EXIT_USAGE
    return run_per_item(inputs, _parse_article, ns.json, _render_article, "path", (InputError,))


# -- captions ------------------------------------------------------------------


def _captions(args: dict[str, Any], families: list[tuple[str, ...]]) -> dict[str, Any]:
    from ingest.captions import distribute_caption
    from ingest.captions.keywords import materials, query_keywords, techniques

    labels = args.get("labels")
    if isinstance(labels, str):
        labels = [x for x in labels.split(",") if x]
    dist = distribute_caption(str(args["caption"]), labels or None)
    out = dist.to_json()
    out["scales"] = {lab: [{"value": s.length.value, "unit": s.length.unit, "nm": s.length.nm, "text": s.text}
                           for s in ss] for lab, ss in dist.scales.items()}
    out["keywords"] = {lab: query_keywords(dist.subcaption(lab), families) for lab in dist.labels}
    out["techniques"] = {lab: techniques(dist.own.get(lab) or dist.subcaption(lab)) for lab in dist.labels}
    out["materials"] = {lab: materials(dist.own.get(lab) or dist.subcaption(lab)) for lab in dist.labels}
    return out


def _render_captions(c: dict[str, Any]) -> str:
    lines = [f"delimiter: {c['delimiter']}"]
    for lab in c["labels"]:
        scale = c["scale_statements"].get(lab)
        lines.append(f"  [{lab or '-'}] {c['own'].get(lab, '')}" + (f"   (scale {scale})" if scale else ""))
    if c["shared"]:
        lines.append("  shared: " + " | ".join(c["shared"]))
    return "\n".join(lines)


def cmd_captions(ns: argparse.Namespace) -> int:
    from ingest.caption_segments import keyword_families

    inputs = [{"caption": c, "labels": ns.labels} for c in ns.captions] + (
        read_batch(ns.batch, "caption") if ns.batch else [])
    if not inputs:
        print("captions: give one or more CAPTIONs or --batch FILE.jsonl", file=sys.stderr)
        return EXIT_USAGE
    families = keyword_families(ns.query)
    return run_per_item(inputs, lambda a: _captions(a, families), ns.json, _render_captions, "caption", (ValueError,))


# -- separate, read-scale --------------------------------------------------------


def image_inputs(ns: argparse.Namespace, command: str, **shared: Any) -> list[dict[str, Any]]:
    """The IMAGE arguments (each with ``shared`` arguments) then the --batch lines; says so when none."""
    inputs = [{"image": p, **shared} for p in ns.images] + (read_batch(ns.batch, "image") if ns.batch else [])
    if not inputs:
        print(f"{command}: give one or more IMAGEs or --batch FILE.jsonl", file=sys.stderr)
    return inputs


def _read_image(path: str) -> Any:
    from ingest.errors import CorruptImageError
    from ingest.images import decode_rgb

    p = Path(path)
    if not p.is_file():
        raise CorruptImageError(path, "no such file")
    return decode_rgb(p.read_bytes(), path)


def _classifier(model: str | None) -> Any:
    """The trained panel classifier, or None (with a note) when it has not been built yet."""
    from ingest.figures.classify import PanelClassifier

    path = Path(model) if model else None
    if path is None and Path("params.yaml").exists():
        from ingest.config import load_params

        path = Path(load_params("params.yaml").get("figures", {}).get("classifier", {}).get("model", ""))
    path = path or Path("data/models/panels/classifier.pt")
    if not path.is_file():
        print(f"note: no panel classifier at {path} (build it with `dvc repro train_classifier`); "
              "image classes are reported as 'unclear'", file=sys.stderr)
        return None
    return PanelClassifier.load(path)


def _render_separation(r: dict[str, Any]) -> str:
    lines = [f"{r['width']}×{r['height']} px, {len(r['master_images'])} master images"]
    for m in r["master_images"]:
        bars = ", ".join(f"{b['value']:g} {b['unit']} = {b['nm_per_px']:.4g} nm/px ({b['source']})"
                         for b in m["scale_bars"] if b["value"] is not None and b["nm_per_px"])
        lines.append(f"  [{m['label'] or '-'}] {m['class']:<12} {m['bbox']}  dependents {len(m['dependents'])}, "
                     f"insets {len(m['insets'])}" + (f"; scale {bars}" if bars else ""))
    return "\n".join(lines)


def cmd_separate(ns: argparse.Namespace) -> int:
    from ingest.errors import InputError
    from ingest.figures.separate import separate_figure

    inputs = image_inputs(ns, "separate", caption=ns.caption)
    if not inputs:
        return EXIT_USAGE
    classify = _classifier(ns.model)

    def one(args: dict[str, Any]) -> dict[str, Any]:
        return separate_figure(_read_image(args["image"]), args.get("caption"), classify, args["image"]).to_json()

    return run_per_item(inputs, one, ns.json, _render_separation, "image", (InputError,))


def cmd_read_scale(ns: argparse.Namespace) -> int:
    from ingest.errors import InputError
    from ingest.figures.scalebars import read_bars

    inputs = image_inputs(ns, "read-scale")
    if not inputs:
        return EXIT_USAGE

    def one(args: dict[str, Any]) -> list[dict[str, Any]]:
        rgb = _read_image(args["image"])
        h, w = rgb.shape[:2]
        bars = read_bars(rgb, (0, 0, w, h), max_bars=ns.max_bars)
        return [{k: v for k, v in b.to_json().items() if k not in ("in", "source")} for b in bars]

    def render(bars: list[dict[str, Any]]) -> str:
        if not bars:
            return "no scale bar found"
        return "\n".join(f"bar {b['bbox']} {b['length_px']} px: {b['label_text'] or '(no label read)'}"
                         + (f" = {b['nm_per_px']:.4g} nm/px" if b["nm_per_px"] else "") for b in bars)

    return run_per_item(inputs, one, ns.json, render, "image", (InputError,))


def cmd_digitize(ns: argparse.Namespace) -> int:
    from ingest.errors import InputError
    from ingest.spectra import digitize

    inputs = image_inputs(ns, "digitize")
    if not inputs:
        return EXIT_USAGE

    def one(args: dict[str, Any]) -> dict[str, Any]:
        return digitize(_read_image(args["image"]), args.get("method", ns.method)).to_json(pixels=ns.pixels)

    def render(r: dict[str, Any]) -> str:
        axes = r["axes"]

        def axis(a: dict[str, Any]) -> str:
            if a["scale"] == "none":
                return "uncalibrated (fractions of the axis)" + (f", titled {a['label']!r}" if a["label"] else "")
            return f"{a['min']:.6g} … {a['max']:.6g} {a['unit']} ({a['scale']}, {a['ticks']} ticks)"

        lines = [f"x: {axis(axes['x'])}", f"y: {axis(axes['y'])}", f"{len(r['series'])} series"]
        lines += [f"  {i}: {s['color']} {s['style']}, {len(s['x'])} points, confidence {s['confidence']}"
                  for i, s in enumerate(r["series"])]
        return "\n".join(lines)

    return run_per_item(inputs, one, ns.json, render, "image", (InputError,))


# -- stem-embed, stem-match --------------------------------------------------------


def stem_matcher(model: str | None = None, lake: Path | str | None = None) -> Any:
    """The STEM encoder and library vectors (given paths, else params.yaml's, else the defaults)."""
    from ingest.stem.match import StemMatcher

    if model is None and Path("params.yaml").exists():
        from ingest.config import load_params

        model = load_params("params.yaml").get("stem", {}).get("model", {}).get("path")
    from catalog.storage import open_lake

    return StemMatcher(Path(model or "data/models/stem/encoder.pt"), open_lake(lake or default_lake()))


def _nm_per_px(args: dict[str, Any], command: str) -> float:
    from ingest.errors import InputError

    value = args.get("nm_per_px")
    if value is None:
        raise InputError(args["image"], f"{command} needs the image's nm per pixel (--nm-per-px F)")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InputError(args["image"], f"nm per pixel must be a number, not {value!r}") from None


def cmd_stem_embed(ns: argparse.Namespace) -> int:
    from ingest.errors import InputError

    inputs = image_inputs(ns, "stem-embed", nm_per_px=ns.nm_per_px)
    if not inputs:
        return EXIT_USAGE
    matcher = stem_matcher(ns.model, ns.lake)

    def one(args: dict[str, Any]) -> dict[str, Any]:
        nm = None if args.get("nm_per_px") is None else _nm_per_px(args, "stem-embed")
        vector = matcher.embed(_read_image(args["image"]), nm, args["image"])
        return {"path": args["image"], "embedding": [round(float(v), 6) for v in vector]}

    def render(r: dict[str, Any]) -> str:
        return f"{r['path']}: {len(r['embedding'])}-d embedding"

    return run_per_item(inputs, one, ns.json, render, "image", (InputError,))


def cmd_stem_match(ns: argparse.Namespace) -> int:
    from ingest.errors import InputError

    inputs = image_inputs(ns, "stem-match", nm_per_px=ns.nm_per_px)
    if not inputs:
        return EXIT_USAGE
    matcher = stem_matcher(ns.model, ns.lake)

    def one(args: dict[str, Any]) -> list[dict[str, Any]]:
        k = int(args.get("k", ns.k))
        matches = matcher.match(_read_image(args["image"]), _nm_per_px(args, "stem-match"), k, args["image"])
        return [{k: v for k, v in m.as_json().items() if k != "entry_id"} for m in matches]

    def render(matches: list[dict[str, Any]]) -> str:
        return "\n".join(f"{i}. {m['formula']:<12} {m['prototype']:<28} {m['space_group']:<10} "
                         f"{m['zone_axis']:<6} {m['score']:.3f}" for i, m in enumerate(matches, 1))

    return run_per_item(inputs, one, ns.json, render, "image", (InputError,))


# -- search ------------------------------------------------------------------------


def searcher(lake: Path | str | None = None, params_path: str = "params.yaml") -> Any:
    """A Searcher over the lake with params.yaml's image model and search settings (defaults without it)."""
    from embeddings.search import Searcher, SearchSettings

    p: dict[str, Any] = {}
    if Path(params_path).exists():
        from ingest.config import load_params

        p = load_params(params_path).get("embed", {})
    clip = p.get("clip", {})
    return Searcher(lake or default_lake(), clip_model=clip.get("model", "local-dir:data/models/clip"),
                    clip_pretrained=clip.get("pretrained"), settings=SearchSettings.from_params(p.get("search", {})))


def cmd_search(ns: argparse.Namespace) -> int:
    from catalog.storage import StorageError
    from embeddings.search import SearchError
    from ingest.errors import InputError

    given = [x for x in (ns.text, ns.image, ns.spectrum) if x]
    if len(given) != 1:
        print("figlake search: give exactly one of TEXT, --image PATH, --spectrum CSV", file=sys.stderr)
        return EXIT_USAGE
    s = searcher(ns.lake)
    try:
        if ns.text:
            hits = s.text(ns.text, ns.where, ns.k)
        elif ns.image:
            hits = s.image(_read_image(ns.image), ns.where, ns.k)
        else:
            from embeddings.spectra import read_spectrum_csv

            x, y = read_spectrum_csv(Path(ns.spectrum))
            hits = s.spectrum(x, y, ns.where, ns.k, source=ns.spectrum)
    except (SearchError, InputError, FileNotFoundError, StorageError) as e:
        print(f"figlake search: {e}", file=sys.stderr)
        return EXIT_USAGE
    if ns.json:
        print(_dumps(hits, pretty=True))
        return EXIT_OK
    if not hits:
        print("no results")
    for i, h in enumerate(hits, 1):
        what = h.get("spectrum_id") or h["subfigure_id"]
        scale = f", {h['nm_per_px']:.3g} nm/px" if h.get("nm_per_px") else ""
        kind = f" [{h['class']}{scale}]" if h.get("class") else ""
        print(f"{i:>3}. {h['score']:.4f}  {what}{kind}")
        if h.get("text"):
            print(f"       {h['text'][:110]}")
    return EXIT_OK


# -- sql -----------------------------------------------------------------------


def format_table(table: Any, fmt: str) -> str:
    import pyarrow.csv as pacsv

    if fmt == "json":
        return _dumps(table.to_pylist(), pretty=True)
    if fmt == "csv":
        buf = io.BytesIO()
        pacsv.write_csv(table, buf)
        return buf.getvalue().decode()
    import pyarrow as pa

    rows = [[("" if v is None else str(v)) for v in row.values()] for row in table.to_pylist()]
    head = table.column_names
    widths = [min(60, max([len(h)] + [len(r[i]) for r in rows])) for i, h in enumerate(head)]
    numeric = [pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)
               for t in table.schema.types]

    def line(cells: Iterable[str]) -> str:
        return " │ ".join(c[:w].rjust(w) if num else c[:w].ljust(w)
                          for c, w, num in zip(cells, widths, numeric, strict=True)).rstrip()

    out = [line(head), "─┼─".join("─" * w for w in widths)] + [line(r) for r in rows]
    out.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(out)


def cmd_sql(ns: argparse.Namespace) -> int:
    import duckdb

    from catalog.duck import ReadOnlySqlError, query
    from catalog.storage import StorageError, open_lake

    try:
        table = query(open_lake(ns.lake or default_lake()), ns.query)
    except (ReadOnlySqlError, FileNotFoundError, StorageError) as e:
        print(f"figlake sql: {e}", file=sys.stderr)
        return EXIT_USAGE
    except duckdb.Error as e:
        print(f"figlake sql: {type(e).__name__}: {e}", file=sys.stderr)
        return EXIT_ITEM_FAILED
    text = format_table(table, ns.format)
    print(text, end="" if text.endswith("\n") else "\n")
    return EXIT_OK


# -- export / app ------------------------------------------------------------------


def cmd_export(ns: argparse.Namespace) -> int:
    from tqdm import tqdm

    from catalog.export import ExportError, export
    from catalog.storage import StorageError, open_lake

    lake = open_lake(ns.lake or default_lake())
    with tqdm(desc="export", unit="subfigure", disable=ns.json) as bar:
        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        try:
            report = export(lake, ns.where, ns.format, Path(ns.out), progress)
        except (ExportError, FileNotFoundError, StorageError) as e:
            print(f"figlake export: {e}", file=sys.stderr)
            return EXIT_USAGE
    if ns.json:
        print(_dumps(report.as_json(), pretty=True))
        return EXIT_OK
    print(f"{report.subfigures} subfigures of {report.figures} figures → {report.out} ({report.format}); "
          f"licences: " + ", ".join(f"{k} {v}" for k, v in report.licences.items()))
    for s in report.skipped:
        print(f"  skipped {s['subfigure_id']}: {s['reason']}", file=sys.stderr)
    return EXIT_OK


def cmd_app(ns: argparse.Namespace) -> int:
    script = Path(__file__).with_name("explorer.py")
    root = lake_location(ns.lake) if ns.lake else None
    env = os.environ | ({"FIGLAKE_LAKE": str(root.resolve() if isinstance(root, Path) else root)} if root else {})
    cmd = [sys.executable, "-m", "streamlit", "run", str(script), "--server.address", ns.address,
           "--server.port", str(ns.port), "--server.headless", "true", "--browser.gatherUsageStats", "false",
           "--client.toolbarMode", "viewer"]
    print(f"figlake explorer on http://{ns.address}:{ns.port}  (Ctrl-C stops it)", flush=True)
    # Become the server (no child left behind when whoever started us stops us).
    os.execve(sys.executable, cmd, env)


def cmd_publish(ns: argparse.Namespace) -> int:
    from tqdm import tqdm

    from catalog.storage import StorageError, publish
    from catalog.tables import Lake

    with tqdm(desc="publish", unit="file", disable=ns.json) as bar:
        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        try:
            source = lake_location(ns.lake or default_lake())
            if not isinstance(source, Path):
                raise StorageError(f"{source}: publish copies a local lake folder (this is already a published one)")
            report = publish(Lake(source), ns.uri, progress)
        except (StorageError, FileNotFoundError) as e:
            print(f"figlake publish: {e}", file=sys.stderr)
            return EXIT_USAGE
    if ns.json:
        print(_dumps(report.as_json(), pretty=True))
    else:
        print(f"{report.uri}: {report.uploaded} files uploaded ({report.bytes_uploaded / 1e6:.1f} MB), "
              f"{report.unchanged} unchanged, {report.deleted} deleted")
    return EXIT_OK


# -- crawl ---------------------------------------------------------------------------


def cmd_crawl(ns: argparse.Namespace) -> int:
    from ingest.crawl import main as crawl_main
    from ingest.sources.query import QueryError

    try:
        crawl_main(["--params", ns.params, "--query", ns.query] + (["--max", str(ns.max)] if ns.max else []))
    except QueryError as e:
        print(f"figlake crawl: {e}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


# -- summary / schema --------------------------------------------------------------


def cmd_summary(ns: argparse.Namespace) -> int:
    from catalog.build import lake_summary
    from catalog.duck import query
    from catalog.examples import EXAMPLE_QUERIES
    from catalog.storage import ObjectLake, StorageError, open_lake
    from catalog.tables import Lake

    try:
        lake = open_lake(ns.lake or default_lake())
        if isinstance(lake, Lake) and not lake.root.is_dir() or isinstance(lake, ObjectLake) and not lake.store.files():
            print(f"figlake summary: {lake.root}: no lake here (build it with `make demo` or `dvc repro`)",
                  file=sys.stderr)
            return EXIT_USAGE
        summary = lake_summary(lake)
    except StorageError as e:
        print(f"figlake summary: {e}", file=sys.stderr)
        return EXIT_USAGE
    if ns.json:
        print(_dumps(summary, pretty=True))
        return EXIT_OK
    print(f"The lake at {lake.root} holds:")
    for name, n in summary["tables"].items():
        print(f"  {name:<17} {n:>7} rows")
    print("\nQuery it with SQL (read-only), e.g.:")
    for title, sql in EXAMPLE_QUERIES:
        print(f"\n  # {title}\n  figlake sql \"{sql}\"\n")
        print("  " + format_table(query(lake, sql), "table").replace("\n", "\n  "))
    print("\nMore: `figlake sql --help`, `figlake schema`, README.md › The lake.")
    return EXIT_OK


def cmd_schema(ns: argparse.Namespace) -> int:
    from catalog.schema import TABLES, column_doc, markdown_reference, with_reference

    if ns.markdown:
        print(markdown_reference())
        return EXIT_OK
    if ns.readme:
        path = Path(ns.readme)
        path.write_text(with_reference(path.read_text(encoding="utf-8")), encoding="utf-8")
        print(f"{path}: table reference regenerated")
        return EXIT_OK
    if ns.json:
        print(_dumps({t.name: {"storage": t.storage, "key": list(t.key), "description": t.description,
                               "columns": {f.name: {"type": str(f.type), "doc": column_doc(f)}
                                           for f in t.schema}} for t in TABLES.values()}, pretty=True))
        return EXIT_OK
    for t in TABLES.values():
        print(f"{t.name} ({t.storage}; key {', '.join(t.key)}): {t.description}")
        for f in t.schema:
            print(f"    {f.name:<20} {str(f.type):<28} {column_doc(f)}")
    return EXIT_OK


# -- main ----------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="figlake",
        description="figlake: figures from the materials-science literature as a queryable data lake.",
    )
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("parse-article", help="parse article pages, saved or by URL (any supported publisher)",
                       description="Parse article pages or PDFs: metadata, licence and every figure with its caption, "
                                   "image URL and local image file (for a PDF: page, box in points, origin top-left, "
                                   "and with --images the rendered figure). The publisher is detected from the page "
                                   "(Nature, ACS, RSC, Springer, Elsevier, Wiley, AIP, PMC/JATS, arXiv HTML). "
                                   "URLs are fetched politely (robots.txt, rate limit, cache; sources.web.http).")
    p.add_argument("paths", nargs="*", metavar="PATH|URL",
                   help="saved page (.html, .xml, .nxml), PDF (.pdf) or article URL")
    p.add_argument("--batch", metavar="FILE.jsonl", help='one {"path": ...} object per line')
    p.add_argument("--images", metavar="DIR", help="PDF input: write each figure, rendered, as DIR/<pdf>_fig<N>.png")
    p.add_argument("--dpi", type=int,
                   help="PDF input: rendering resolution (default: params.yaml sources.pdf.dpi, 300)")
    p.add_argument("--json", action="store_true", help="JSON output (JSON Lines for several inputs)")
    p.set_defaults(func=cmd_parse_article)

    p = sub.add_parser("sql", help="read-only SQL over the lake's tables",
                       description="Run a read-only SQL query (DuckDB dialect) over the lake's tables. "
                                   "Writes, ATTACH, COPY, INSTALL/LOAD and file-reading functions are refused.")
    p.add_argument("query", help='e.g. "SELECT count(*) FROM figures"')
    p.add_argument("--format", choices=["table", "csv", "json"], default="table")
    p.add_argument("--lake", help=LAKE_HELP)
    p.set_defaults(func=cmd_sql)

    p = sub.add_parser("captions", help="distribute captions to subfigure labels; scales, keywords",
                       description="Cut a figure caption into the text of each subfigure label (shared title, "
                                   "own text, shared notes, insets), with the scale each label is stated to have "
                                   "and its keywords, techniques and materials.")
    p.add_argument("captions", nargs="*", metavar="CAPTION")
    p.add_argument("--labels", help="labels the figure has (e.g. from figure separation): a,b,c")
    p.add_argument("--query", help="query JSON whose keyword families to report")
    p.add_argument("--batch", metavar="FILE.jsonl", help='one {"caption": ..., "labels": [...]} object per line')
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_captions)

    p = sub.add_parser("separate", help="cut compound figures into master images, dependents and insets",
                       description="Separate compound figures by the Master-Dependent-Inset model: subfigure "
                                   "labels, the master image each governs, its dependents and insets, the class "
                                   "of each, and the scale bars read into nm/px (the caption's stated scale when "
                                   "the image prints none). Models load once per call: pass many images.")
    p.add_argument("images", nargs="*", metavar="IMAGE")
    p.add_argument("--caption", help="the figure's caption (guides labels; supplies stated scales)")
    p.add_argument("--batch", metavar="FILE.jsonl", help='one {"image": ..., "caption": ...} object per line')
    p.add_argument("--model", help="panel classifier (default: params.yaml figures.classifier.model)")
    p.add_argument("--json", action="store_true", help="JSON output (JSON Lines for several inputs)")
    p.set_defaults(func=cmd_separate)

    p = sub.add_parser("read-scale", help="find scale bars in an image and read them into nm/px",
                       description="Find the scale bars in one micrograph (or any image): the bar, its printed "
                                   "label read by OCR, the value and unit, and nm per pixel.")
    p.add_argument("images", nargs="*", metavar="IMAGE")
    p.add_argument("--batch", metavar="FILE.jsonl", help='one {"image": ...} object per line')
    p.add_argument("--max-bars", type=int, default=3, help="report at most this many bars per image (default 3)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_read_scale)

    p = sub.add_parser("digitize", help="turn a plot image into calibrated data series",
                       description="Digitize a spectrum plot (or any line plot): find the axes, read the tick "
                                   "labels into a pixel→data calibration (linear or log; an axis without numbers "
                                   "is reported uncalibrated, as fractions of its length), and extract every "
                                   "curve as x/y data with its colour and line style.")
    p.add_argument("images", nargs="*", metavar="IMAGE")
    p.add_argument("--batch", metavar="FILE.jsonl", help='one {"image": ..., "method": ...} object per line')
    p.add_argument("--method", choices=("track", "cluster"), default="track",
                   help="curve instances by tracking (default) or one series per colour (the baseline)")
    p.add_argument("--pixels", action="store_true", help="also give each series' pixel coordinates")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_digitize)

    stem_help = ("The encoder and library come from `dvc repro stem_model` (params.yaml stem.*); the image is "
                 "resampled to the library's pixel size first, so its nm/px matters.")
    p = sub.add_parser("stem-embed", help="embed atomic-resolution STEM images with the structure encoder",
                       description="Embed HAADF-STEM images with the STEM2Sim encoder (L2-normalised vectors). "
                                   + stem_help)
    p.add_argument("images", nargs="*", metavar="IMAGE")
    p.add_argument("--nm-per-px", type=float, help="the images' pixel size (default: already the library's)")
    p.add_argument("--batch", metavar="FILE.jsonl", help='one {"image": ..., "nm_per_px": ...} object per line')
    p.add_argument("--model", help="encoder checkpoint (default: params.yaml stem.model.path)")
    p.add_argument("--lake", help=LAKE_HELP)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_stem_embed)

    p = sub.add_parser("stem-match", help="which known crystal structures an atomic-resolution image resembles",
                       description="Match a HAADF-STEM image against the simulated library of known structures "
                                   "(pymatgen's AFLOW prototypes, several zone axes): the k most similar distinct "
                                   "prototypes with formula, space group, best zone axis and cosine score. "
                                   + stem_help)
    p.add_argument("images", nargs="*", metavar="IMAGE")
    p.add_argument("--nm-per-px", type=float, help="the image's pixel size in nm (required, here or per batch line)")
    p.add_argument("--k", type=int, default=5, help="number of structures (default 5)")
    p.add_argument("--batch", metavar="FILE.jsonl", help='one {"image": ..., "nm_per_px": ...} object per line')
    p.add_argument("--model", help="encoder checkpoint (default: params.yaml stem.model.path)")
    p.add_argument("--lake", help=LAKE_HELP)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_stem_match)

    p = sub.add_parser("search", help="semantic search: subfigures by text or image, series by spectrum",
                       description="Search the lake's vector tables (`dvc repro embed`). TEXT: hybrid search "
                                   "(caption-text vectors + BM25 + the image model's text vectors, fused by "
                                   "reciprocal rank) over subfigures. --image PATH: subfigures that look like it. "
                                   "--spectrum CSV (two columns x,y): digitized series of the same shape. "
                                   "--where filters first with SQL over the table's columns, e.g. "
                                   "\"class = 'microscopy' AND year >= 2018\", \"array_has(techniques, 'TEM')\", "
                                   "\"nm_per_px < 0.1\" (spectra: x_unit, x_min, x_max, techniques, journal, year).")
    p.add_argument("text", nargs="?", metavar="TEXT")
    p.add_argument("--image", metavar="PATH", help="query image (PNG/JPEG/TIFF…)")
    p.add_argument("--spectrum", metavar="CSV", help="query spectrum: a CSV whose first two numeric columns are x, y")
    p.add_argument("--where", metavar="SQL", help="filter applied before ranking")
    p.add_argument("--k", type=int, default=10, help="number of results (default 10)")
    p.add_argument("--lake", help=LAKE_HELP)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("export", help="export a selection of subfigures as a dataset (Parquet, COCO, HF)",
                       description="Export the subfigures a filter selects (SQL over subfigure_index, the columns "
                                   "search filters on: class, keywords, techniques, journal, year, license_spdx, "
                                   "nm_per_px, has_spectra, ...) as a dataset: parquet (rows + image crops), coco "
                                   "(annotations.json + figures) or hf (a Hugging Face datasets folder with a "
                                   "dataset card). Every row keeps its licence.")
    p.add_argument("--where", metavar="SQL",
                   help="e.g. \"class = 'microscopy' AND nm_per_px IS NOT NULL\" (default: everything)")
    p.add_argument("--format", choices=("parquet", "coco", "hf"), default="parquet")
    p.add_argument("--out", required=True, metavar="DIR", help="new or empty output folder")
    p.add_argument("--lake", help=LAKE_HELP)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("app", help="the explorer: browse and search the lake in a browser (Streamlit)",
                       description="Start the Streamlit explorer on the lake: search (text, image, spectrum, STEM), "
                                   "browse with facets, figure pages with overlays, a read-only SQL console and "
                                   "dataset export.")
    p.add_argument("--lake", help=LAKE_HELP)
    p.add_argument("--address", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8501)
    p.set_defaults(func=cmd_app)

    p = sub.add_parser("crawl", help="run a publisher query (EXSCLAIM!-style JSON) politely and resumably",
                       description="Search the publishers for a query and save article pages and figure images "
                                   "to sources.web.out (collect then reads them). Resumes after a kill; a rerun "
                                   "is free. See README › Crawling the publishers.")
    p.add_argument("--query", required=True, help="query JSON file")
    p.add_argument("--max", type=int, help="override the query's maximum_scraped (per journal family)")
    p.add_argument("--params", default="params.yaml")
    p.set_defaults(func=cmd_crawl)

    p = sub.add_parser("publish", help="copy the lake to object storage (s3://bucket/prefix), incrementally",
                       description="Copy a built lake to an S3-compatible object store, incrementally (unchanged "
                                   "files are not sent again; Lance data before its manifests, so readers of the "
                                   "remote copy never see a half-published version). Then `figlake sql` and "
                                   "`figlake summary` read it there with --lake s3://…. Settings: AWS_ENDPOINT_URL "
                                   "(for MinIO, Ceph, …), AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY.")
    p.add_argument("uri", help="s3://bucket/prefix")
    p.add_argument("--lake", help="local lake root (default: params.yaml lake.root)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_publish)

    p = sub.add_parser("summary", help="what the lake holds, and example queries")
    p.add_argument("--lake", help=LAKE_HELP)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_summary)

    p = sub.add_parser("schema", help="the lake's tables and columns")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--markdown", action="store_true", help="as the README's reference section")
    g.add_argument("--json", action="store_true")
    g.add_argument("--readme", metavar="FILE", help="rewrite FILE's generated table reference in place")
    p.set_defaults(func=cmd_schema)
    return ap


def main(argv: list[str] | None = None) -> None:
    ns = build_parser().parse_args(argv)
    try:
        sys.exit(ns.func(ns))
    except BrokenPipeError:  # `figlake ... | head`
        sys.exit(EXIT_OK)


if __name__ == "__main__":
    main()

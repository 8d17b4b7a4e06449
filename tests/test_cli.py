"""The figlake command line, through the installed console script."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import CORPUS, TEST_DATA, figlake


def test_help_lists_commands() -> None:
    r = figlake("--help")
    assert r.returncode == 0
    for cmd in ("parse-article", "sql", "summary", "schema"):
        assert cmd in r.stdout
    assert figlake("sql", "--help").stdout.count("read-only") >= 1


def test_parse_article_json() -> None:
    r = figlake("parse-article", str(CORPUS / "nature" / "ncomms5946.html"), "--json")
    assert r.returncode == 0, r.stderr
    a = json.loads(r.stdout)
    assert a["doi"] == "10.1038/ncomms5946" and a["article_id"] == "10.1038/ncomms5946"
    assert len(a["figures"]) == 9
    f1 = a["figures"][0]
    assert f1["number"] == 1 and f1["figure_id"] == "10.1038/ncomms5946/fig1"
    assert f1["caption"].startswith("(a) TEM image of the initial Ag nanoparticles")
    assert f1["image_url"].endswith("41467_2014_Article_BFncomms5946_Fig1_HTML.jpg")
    assert Path(f1["image"]).name == "ncomms5946_fig1.jpg"


def test_parse_article_many_inputs_give_json_lines_in_order(tmp_path: Path) -> None:
    bad = tmp_path / "cut.html"
    bad.write_bytes((CORPUS / "nature" / "ncomms5946.html").read_bytes()[:5000])
    batch = tmp_path / "batch.jsonl"
    batch.write_text(json.dumps({"path": str(TEST_DATA / "PMC7417471.nxml")}) + "\n")
    r = figlake("parse-article", str(CORPUS / "nature" / "s41467-018-06211-3.html"), str(bad),
                str(tmp_path / "missing.html"), "--batch", str(batch), "--json")
    assert r.returncode == 1  # some inputs failed
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(lines) == 4
    assert lines[0]["doi"] == "10.1038/s41467-018-06211-3" and len(lines[0]["figures"]) == 5
    assert lines[1]["input"] == str(bad) and "before </html>" in lines[1]["error"]
    assert lines[2]["input"].endswith("missing.html") and "no such file" in lines[2]["error"]
    assert lines[3]["doi"] == "10.1186/s40580-020-00237-4"


def test_parse_article_human_output() -> None:
    r = figlake("parse-article", str(CORPUS / "nature" / "s41467-018-06211-3.html"))
    assert r.returncode == 0
    assert "10.1038/s41467-018-06211-3" in r.stdout and "CC-BY-4.0" in r.stdout and "Fig. 5" in r.stdout


def test_summary_and_schema(built_lake: Path) -> None:
    r = figlake("summary", "--lake", str(built_lake), "--json")
    s = json.loads(r.stdout)
    assert s["tables"]["figures"] == 14 and s["tables"]["articles"] == 2 and s["quarantine"]["total"] == 0
    r = figlake("summary", "--lake", str(built_lake))
    assert "figlake sql" in r.stdout and "Nature Communications" in r.stdout
    r = figlake("schema", "--json")
    assert "nm_per_px" in json.loads(r.stdout)["subfigures"]["columns"]
    r = figlake("summary", "--lake", str(built_lake / "nope"))
    assert r.returncode == 2 and "no lake here" in r.stderr

"""The README stays true: its table reference, its example queries, its two commands."""

from __future__ import annotations

from pathlib import Path

from conftest import REPO

from catalog.duck import query
from catalog.examples import EXAMPLE_QUERIES
from catalog.schema import with_reference
from catalog.tables import Lake

README = (REPO / "README.md").read_text(encoding="utf-8")


def test_table_reference_matches_the_schema_module() -> None:
    assert with_reference(README) == README, "run `figlake schema --readme README.md`"


def test_two_commands_come_first_and_ci_runs_the_test_command() -> None:
    head = README[:600]
    assert "make demo" in head and "make test" in head
    ci = (REPO / ".ci" / "run").read_text()
    assert ci.strip().splitlines()[-1] == "make test"  # the README line, verbatim


def test_example_queries_are_in_the_readme_and_return_rows(built_lake: Path) -> None:
    for _, sql in EXAMPLE_QUERIES:
        assert sql in README
        assert query(Lake(built_lake), sql).num_rows > 0, sql

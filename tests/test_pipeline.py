"""`dvc repro` on a fresh clone: the demo's pipeline, end to end, with real DVC and git."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import REPO, figlake


@dataclass(frozen=True)
class Clone:
    path: Path
    env: dict[str, str]
    bin_dir: str

    def dvc(self, *args: str) -> None:
        r = subprocess.run([f"{self.bin_dir}/dvc", *args], cwd=self.path, env=self.env, capture_output=True,
                           text=True)
        assert r.returncode == 0, r.stdout + r.stderr

    def sql(self, sql: str) -> list[dict]:
        r = figlake("sql", sql, "--format", "json", cwd=self.path)
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)

    def metrics(self, name: str) -> dict:
        return json.loads((self.path / "metrics" / f"{name}.json").read_text())


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Clone:
    """A fresh clone of the tree under test with the demo lake built as the README's demo does
    (`dvc repro catalog`); the time is left beside the clone."""
    tmp_path = tmp_path_factory.mktemp("pipeline")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(REPO), str(clone)], check=True)
    # Include uncommitted work so the test checks the tree under test, not the last commit.
    tracked = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO, capture_output=True,
                             text=True, check=True).stdout.splitlines()
    for rel in tracked:
        src = REPO / rel
        if src.is_file():
            (clone / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, clone / rel)
    bin_dir = str(Path(sys.executable).parent)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path), "GIT_CONFIG_NOSYSTEM": "1"}
    c = Clone(clone, env, bin_dir)
    start = time.monotonic()
    c.dvc("repro", "catalog")
    (tmp_path / "timings.json").write_text(json.dumps({"lake_s": round(time.monotonic() - start)}))
    return c


# The whole demo build (the committed classifier and STEM encoder taken, the domain CLIP trained):
# about 7 min on 2 cores here, 15 on the slower machines; the timeout leaves room for a loaded CI machine.
@pytest.mark.timeout(3600)
def test_dvc_repro_on_a_fresh_clone_builds_the_default_lake(demo: Clone) -> None:
    synth = json.loads((demo.path / "data" / "synth" / "manifest.json").read_text())
    # 14 figures of the saved Nature pages, 7 cut from the PDFs in data/papers, the synthetic journal's
    assert demo.sql("select source, count(*) AS n from figures join articles using (article_id) group by all "
                    "order by 1") == [{"source": "local", "n": 21}, {"source": "synth", "n": synth["figures"]}]
    assert synth["subfigures"] >= 300  # the default lake's synthetic share, with truth
    metrics = demo.metrics("catalog")
    assert metrics["tables"]["figures"] == 21 + synth["figures"] and metrics["quarantine"]["total"] == 0
    # Figures cut from PDFs go through the same stages: separated, captioned, digitized.
    pdf = demo.sql("with f as (select figure_id from figures where image_source like '%.pdf#page=%') select "
                   "(select count(*) from f) AS figures, "
                   "(select count(distinct figure_id) from subfigures join f using (figure_id)) AS separated, "
                   "(select count(distinct figure_id) from caption_segments join f using (figure_id)) AS captioned")[0]
    assert pdf == {"figures": 7, "separated": 7, "captioned": 7}
    # The committed models were current for this tree, so the build took them (README › Committed models).
    assert demo.metrics("train_classifier")["checkpoint"] == "models/panels/classifier.pt"
    assert demo.metrics("stem_model")["checkpoint"] == "models/stem/encoder.pt"
    # Every graph subfigure of the lake was digitized; each series is a calibrated (x, y) list pair.
    spectra = demo.sql("select count(*) AS series, count(distinct subfigure_id) AS graphs, "
                       "bool_and(len(x) = len(y) and len(x) > 10) AS paired from spectra")[0]
    assert spectra["series"] >= spectra["graphs"] >= 20 and spectra["paired"]
    # Every atomic-resolution microscopy subfigure has its five distinct nearest structures.
    stem = demo.sql("select count(distinct subfigure_id) AS subfigures, count(*) AS rows, "
                    "count(distinct subfigure_id || prototype) AS distinct_pairs from stem_matches")[0]
    assert stem["subfigures"] >= 20 and stem["rows"] == stem["distinct_pairs"] == 5 * stem["subfigures"]
    # Every subfigure and series is in the vector tables, and search finds them with provenance.
    assert metrics["tables"]["vectors"] == metrics["tables"]["subfigures"]
    assert metrics["tables"]["spectrum_vectors"] == metrics["tables"]["spectra"]
    r = figlake("search", "Raman spectrum", "--where", "class = 'graph'", "--k", "5", "--json", cwd=demo.path)
    hits = json.loads(r.stdout)
    assert len(hits) == 5 and all(h["class"] == "graph" and h["doi"] and h["figure_id"] for h in hits)


@pytest.mark.slow  # the evaluate_* stages on top of the demo lake (`make benchmarks`): ~15 min on 2 cores
@pytest.mark.timeout(5400)
def test_benchmarks_run_on_the_fresh_lake(demo: Clone) -> None:
    demo.dvc("repro")
    bench = demo.metrics("spectra_eval")
    assert bench["synthetic"]["track"]["plots"] >= 200 and bench["real_crops"] == {"available": False}
    stem_eval = demo.metrics("stem_eval")
    retrieval = stem_eval["retrieval"]
    assert stem_eval["test_prototypes"] >= 40 and retrieval["encoder"]["map"] > retrieval["raw_pixels"]["map"]
    assert (demo.path / "docs" / "stem_contact_sheet.png").stat().st_size > 10_000
    search = demo.metrics("search_eval")
    assert search["text_to_subfigure"]["recall_at_10"] > 0.5 and search["image_to_image"]["queries"] >= 200
    assert "available" in demo.metrics("parsers")  # the benchmark ran, or said plainly that its corpora are absent
    r = subprocess.run([f"{demo.bin_dir}/dvc", "metrics", "show"], cwd=demo.path, env=demo.env, capture_output=True,
                       text=True)
    assert "metrics/catalog.json" in r.stdout

"""`dvc repro` on a fresh clone: the demo's pipeline, end to end, with real DVC and git."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO, figlake


@pytest.mark.timeout(1800)  # the whole demo `dvc repro` (≈ 17 min on 2 cores, STEM and CLIP training included)
def test_dvc_repro_on_a_fresh_clone_builds_the_default_lake(tmp_path: Path) -> None:
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
    # As the README's demo does (the lake), then the benchmarks; the times are left beside the clone.
    start = time.monotonic()
    r = subprocess.run([f"{bin_dir}/dvc", "repro", "catalog"], cwd=clone, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    lake_s = time.monotonic() - start
    r = subprocess.run([f"{bin_dir}/dvc", "repro"], cwd=clone, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    (tmp_path / "timings.json").write_text(json.dumps({"lake_s": round(lake_s), "benchmarks_s": round(
        time.monotonic() - start - lake_s)}))
    synth = json.loads((clone / "data" / "synth" / "manifest.json").read_text())
    r = figlake("sql", "select source, count(*) AS n from figures join articles using (article_id) group by all "
                "order by 1", "--format", "json", cwd=clone)
    assert json.loads(r.stdout) == [{"source": "local", "n": 14}, {"source": "synth", "n": synth["figures"]}]
    assert synth["subfigures"] >= 300  # the default lake's synthetic share, with truth
    metrics = json.loads((clone / "metrics" / "catalog.json").read_text())
    assert metrics["tables"]["figures"] == 14 + synth["figures"] and metrics["quarantine"]["total"] == 0
    # Every graph subfigure of the lake was digitized; each series is a calibrated (x, y) list pair.
    r = figlake("sql", "select count(*) AS series, count(distinct subfigure_id) AS graphs, "
                "bool_and(len(x) = len(y) and len(x) > 10) AS paired from spectra", "--format", "json", cwd=clone)
    spectra = json.loads(r.stdout)[0]
    assert spectra["series"] >= spectra["graphs"] >= 20 and spectra["paired"]
    bench = json.loads((clone / "metrics" / "spectra_eval.json").read_text())
    assert bench["synthetic"]["track"]["plots"] >= 200 and bench["real_crops"] == {"available": False}
    # Every atomic-resolution microscopy subfigure has its five distinct nearest structures.
    r = figlake("sql", "select count(distinct subfigure_id) AS subfigures, count(*) AS rows, "
                "count(distinct subfigure_id || prototype) AS distinct_pairs from stem_matches", "--format", "json",
                cwd=clone)
    stem = json.loads(r.stdout)[0]
    assert stem["subfigures"] >= 20 and stem["rows"] == stem["distinct_pairs"] == 5 * stem["subfigures"]
    stem_eval = json.loads((clone / "metrics" / "stem_eval.json").read_text())
    retrieval = stem_eval["retrieval"]
    assert stem_eval["test_prototypes"] >= 40 and retrieval["encoder"]["map"] > retrieval["raw_pixels"]["map"]
    assert (clone / "docs" / "stem_contact_sheet.png").stat().st_size > 10_000
    # Every subfigure and series is in the vector tables, and search finds them with provenance.
    assert metrics["tables"]["vectors"] == metrics["tables"]["subfigures"]
    assert metrics["tables"]["spectrum_vectors"] == metrics["tables"]["spectra"]
    r = figlake("search", "Raman spectrum", "--where", "class = 'graph'", "--k", "5", "--json", cwd=clone)
    hits = json.loads(r.stdout)
    assert len(hits) == 5 and all(h["class"] == "graph" and h["doi"] and h["figure_id"] for h in hits)
    search = json.loads((clone / "metrics" / "search_eval.json").read_text())
    assert search["text_to_subfigure"]["recall_at_10"] > 0.5 and search["image_to_image"]["queries"] >= 200
    parsers = json.loads((clone / "metrics" / "parsers.json").read_text())
    assert "available" in parsers  # the benchmark ran, or said plainly that its corpora are absent
    r = subprocess.run([f"{bin_dir}/dvc", "metrics", "show"], cwd=clone, env=env, capture_output=True, text=True)
    assert "metrics/catalog.json" in r.stdout

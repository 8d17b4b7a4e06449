"""The ``synthesize`` stage: write the synthetic journal into ``synth.out``.

    python -m ingest.synthesize [--params params.yaml]

Articles are generated in parallel (``synth.workers`` processes), each from
its own seed, into a temporary folder that replaces ``synth.out`` only when
complete: a killed run leaves no partial journal, and a rerun gives the same
bytes. Writes ``metrics/synth.json`` (counts and seconds).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from tqdm import tqdm

from ingest.config import section
from ingest.stage import stage_params, write_metrics
from ingest.synth.journal import generate_article, write_article


def _one(args: tuple[int, int, tuple[int, int], str]) -> dict[str, int]:
    seed, index, figures_range, out = args
    article = generate_article(seed, index, figures_range)
    write_article(article, Path(out))
    counts = {"figures": len(article.figures), "masters": 0, "dependents": 0, "insets": 0, "scale_bars": 0,
              "graphs": 0, "series": 0}
    for f in article.figures:
        for m in f.truth.master_images:
            counts["masters"] += 1
            counts["dependents"] += len(m.dependents)
            counts["insets"] += len(m.insets)
            counts["scale_bars"] += len(m.scale_bars)
            if m.graph:
                counts["graphs"] += 1
                counts["series"] += len(m.graph.series)
    return counts


def synthesize(out: Path, seed: int, articles: int, figures_range: tuple[int, int], workers: int) -> dict[str, Any]:
    """Generate ``articles`` articles into ``out`` atomically; return counts."""
    start = time.monotonic()
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    jobs = [(seed, i, figures_range, str(tmp)) for i in range(1, articles + 1)]
    totals: dict[str, Any] = {"articles": articles}
    # spawn, not fork: the parent may have imported libraries that are not fork-safe (Lance).
    with ProcessPoolExecutor(max_workers=max(1, workers), mp_context=multiprocessing.get_context("spawn")) as pool:
        for counts in tqdm(pool.map(_one, jobs), total=len(jobs), desc="synthesize", unit="article"):
            for k, v in counts.items():
                totals[k] = totals.get(k, 0) + v
    totals["subfigures"] = totals["masters"] + totals["dependents"] + totals["insets"]
    (tmp / "manifest.json").write_text(json.dumps({"seed": seed, **totals}, indent=1, sort_keys=True))
    if out.exists():
        shutil.rmtree(out)
    os.replace(tmp, out)
    totals["seconds"] = round(time.monotonic() - start, 1)
    return totals


def synthesize_journal(synth: dict[str, Any], out: Path | None = None, seed: int | None = None,
                       articles: int | None = None) -> dict[str, Any]:
    """``synthesize`` with the ``sources.synth`` parameters; ``out``, ``seed`` and ``articles``
    override theirs (a held-out journal from another seed)."""
    lo, hi = synth["figures_per_article"]
    return synthesize(out or Path(synth["path"]), int(synth["seed"] if seed is None else seed),
                      int(synth["articles"] if articles is None else articles), (int(lo), int(hi)),
                      int(synth.get("workers") or os.cpu_count() or 1))


def main(argv: list[str] | None = None) -> None:
    totals = synthesize_journal(section(stage_params(__doc__, argv), "sources.synth"))
    write_metrics(Path("metrics") / "synth.json", totals)
    print("synthesize:", totals)


if __name__ == "__main__":
    main()

"""The ``evaluate_captions`` stage: caption distribution measured against ground truth.

    python -m ingest.captions.evaluate [--params params.yaml]

- Real hand-split captions (``benchmarks.shared_corpora``/captions, two dev
  sets scored separately): mean normalised Levenshtein similarity of each
  ground-truth label's text to ours, and label-set F1. Labels are read from
  the caption text alone; a second score gives the distributor the figure's
  labels (as figure separation does in the pipeline), which only matters for
  captions that name no labels.
- The synthetic journal: each label's own text against the truth, and every
  caption-stated scale (value and unit exact).
- Speed: captions a second on one core.

Writes ``metrics/caption_eval.json`` and ``reports/captions.md``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from rapidfuzz.distance import Levenshtein

from ingest.captions import distribute_caption
from ingest.config import section
from ingest.stage import stage_params, write_metrics
from ingest.units import parse_length

REAL_SETS = ("compfigsep_prostate_dev.json", "zou_eval_dev.json")


def similarity(a: str, b: str) -> float:
    return Levenshtein.normalized_similarity(" ".join(a.split()), " ".join(b.split()))


def score_real(items: dict[str, Any]) -> dict[str, Any]:
    sims_text, sims_given, tp, fp, fn = [], [], 0, 0, 0
    named_sims, named_tp, named_fp, named_fn = [], 0, 0, 0
    for item in items.values():
        gt = {s["label"]["text"].lower(): s["caption"] for s in item["gt_subfigures"]
              if (s.get("label") or {}).get("text")}
        if not gt:
            continue
        text_only = distribute_caption(item["caption"])
        given = distribute_caption(item["caption"], sorted(gt))
        pred = {lab.lower(): lab for lab in text_only.labels if lab}
        names_labels = bool(pred)
        t, p, n = len(set(pred) & set(gt)), len(set(pred) - set(gt)), len(set(gt) - set(pred))
        tp, fp, fn = tp + t, fp + p, fn + n
        for lab, truth in gt.items():
            s = similarity(text_only.subcaption(pred[lab]), truth) if lab in pred else 0.0
            sims_text.append(s)
            g = {x.lower(): x for x in given.labels}
            sims_given.append(similarity(given.subcaption(g[lab]), truth) if lab in g else 0.0)
            if names_labels:
                named_sims.append(s)
        if names_labels:
            named_tp, named_fp, named_fn = named_tp + t, named_fp + p, named_fn + n

    def f1(a: int, b: int, c: int) -> float:
        return round(2 * a / (2 * a + b + c), 4) if a else 0.0

    def mean(xs: list[float]) -> float:
        return round(sum(xs) / len(xs), 4) if xs else 0.0

    return {
        "labels": len(sims_text), "similarity": mean(sims_text), "label_f1": f1(tp, fp, fn),
        "similarity_with_figure_labels": mean(sims_given),
        "similarity_captions_naming_labels": mean(named_sims), "label_f1_captions_naming_labels": f1(
            named_tp, named_fp, named_fn),
    }


def score_synthetic(truth_dir: Path) -> dict[str, Any]:
    sims, scale_ok, scale_n = [], 0, 0
    for path in sorted(truth_dir.glob("*.json")):
        t = json.loads(path.read_text())
        d = distribute_caption(t["caption"])
        pred = {lab.lower(): lab for lab in d.labels}
        for lab, text in t["subcaptions"].items():
            ours = d.own.get(pred.get(lab.lower(), "\0"), "")
            sims.append(similarity(ours.rstrip(". "), text.rstrip(". ")))
        for lab, stated in t["scale_statements"].items():
            scale_n += 1
            want = parse_length(stated)
            got = d.scales.get(pred.get(lab.lower(), lab), [])
            scale_ok += bool(got and want and got[0].length == want)
    return {"labels": len(sims), "similarity": round(sum(sims) / max(1, len(sims)), 4),
            "scale_statements": scale_n, "scale_exact": scale_ok,
            "scale_exact_share": round(scale_ok / max(1, scale_n), 4)}


def speed(captions: list[str]) -> float:
    start = time.perf_counter()
    for c in captions:
        distribute_caption(c)
    return round(len(captions) / (time.perf_counter() - start), 1)


def main(argv: list[str] | None = None) -> None:
    params = stage_params(__doc__, argv)
    corpora = Path(section(params, "benchmarks.shared_corpora")) / "captions"
    synth = Path(section(params, "sources.synth.path")) / "truth"
    metrics: dict[str, Any] = {}
    captions: list[str] = []
    for name in REAL_SETS:
        key = name.split("_")[0]
        if (corpora / name).exists():
            items = json.loads((corpora / name).read_text())
            metrics[key] = score_real(items)
            captions += [i["caption"] for i in items.values()]
        else:
            metrics[key] = {"available": False}
    if synth.is_dir():
        metrics["synthetic"] = score_synthetic(synth)
        captions += [json.loads(p.read_text())["caption"] for p in sorted(synth.glob("*.json"))]
    metrics["captions_per_second"] = speed(captions) if captions else None
    write_metrics(Path("metrics") / "caption_eval.json", metrics)
    report = Path("reports") / "captions.md"
    report.parent.mkdir(exist_ok=True)
    lines = ["# Caption distribution", "", "| set | labels | similarity | label F1 | with figure labels | "
             "captions naming labels: similarity / F1 |", "|---|---|---|---|---|---|"]
    for key in ("compfigsep", "zou"):
        m = metrics[key]
        if m.get("available") is False:
            lines.append(f"| {key} | — | (corpus absent) | | | |")
        else:
            lines.append(f"| {key} | {m['labels']} | {m['similarity']} | {m['label_f1']} | "
                         f"{m['similarity_with_figure_labels']} | {m['similarity_captions_naming_labels']} / "
                         f"{m['label_f1_captions_naming_labels']} |")
    if "synthetic" in metrics:
        s = metrics["synthetic"]
        lines.append(f"| synthetic | {s['labels']} | {s['similarity']} | | | scale statements exact: "
                     f"{s['scale_exact']} of {s['scale_statements']} |")
    lines += ["", f"Speed: {metrics['captions_per_second']} captions/s on one core."]
    report.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

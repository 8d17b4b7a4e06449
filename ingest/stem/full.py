"""The STEM encoder's ``full`` profile, measured beside the demo lake.

    python -m ingest.stem.full [--steps 3000] [--params params.yaml]     (or: make stem-full)

The demo lake trains the encoder for ``stem.model.steps`` (a few minutes);
the acceptance numbers need the full profile (~20 minutes on 2 cores). This
runs the same ``stem_model`` and ``evaluate_stem`` code on the same library
with only the step count raised, in its own folder (``data/stem_full/``: its
own lake, checkpoint, metrics), then copies the results next to the demo's:
``metrics/stem_model_full.json``, ``metrics/stem_eval_full.json``,
``reports/stem_full.md`` and ``docs/stem_contact_sheet_full.png``
(``dvc metrics show`` lists the metrics: dvc.yaml names them).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from ingest.config import load_params

OUT = Path("data/stem_full")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=3000, help="training steps (default 3000, the full profile)")
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--evaluate-only", action="store_true", help="re-evaluate the last full-profile encoder")
    args = ap.parse_args(argv)
    params = load_params(args.params)
    library = Path(params["stem"]["library"]["out"]).resolve()
    if not library.exists():
        raise SystemExit(f"{library}: no STEM library yet; run `dvc repro stem_library` first")
    OUT.mkdir(parents=True, exist_ok=True)
    params["lake"] = {"root": str((OUT / "lake").resolve()), "work_root": str((OUT / "work").resolve())}
    params["stem"]["library"]["out"] = str(library)
    params["stem"]["model"].update(path=str((OUT / "encoder.pt").resolve()), steps=args.steps)
    params["sources"]["synth"]["path"] = str((OUT / "no-journal").resolve())  # no lake of figures here
    (OUT / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    if args.evaluate_only and not (OUT / "encoder.pt").exists():
        raise SystemExit(f"{OUT / 'encoder.pt'}: no full-profile encoder yet; run without --evaluate-only")
    for module in ("ingest.stem.evaluate",) if args.evaluate_only else ("ingest.stem.model", "ingest.stem.evaluate"):
        subprocess.run([sys.executable, "-m", module, "--params", "params.yaml"], cwd=OUT, check=True)
    if not args.evaluate_only:
        shutil.copy(OUT / "metrics" / "stem_model.json", "metrics/stem_model_full.json")
    shutil.copy(OUT / "metrics" / "stem_eval.json", "metrics/stem_eval_full.json")
    shutil.copy(OUT / "docs" / "stem_contact_sheet.png", "docs/stem_contact_sheet_full.png")
    report = (OUT / "reports" / "stem.md").read_text()
    Path("reports/stem_full.md").write_text(
        report.replace("# STEM2Sim:", f"# STEM2Sim, full profile ({params['stem']['model']['steps']} steps):", 1)
        .replace("docs/stem_contact_sheet.png", "docs/stem_contact_sheet_full.png"))


if __name__ == "__main__":
    main()

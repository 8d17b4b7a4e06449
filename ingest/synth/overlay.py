"""Draw a figure's truth on it: how a person checks that the truth is right."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from ingest.synth.truth import Box, FigureTruth

COLOURS = {  # RGB
    "master": (0, 90, 255),
    "label": (230, 0, 0),
    "dependent": (0, 170, 0),
    "inset": (255, 140, 0),
    "scale_bar": (220, 0, 220),
    "series": (0, 200, 220),
}


def _rect(img: np.ndarray, box: Box | None, colour: tuple[int, int, int], k: int) -> None:
    if box:
        x0, y0, x1, y1 = (v * k for v in box)
        cv2.rectangle(img, (x0, y0), (x1 - 1, y1 - 1), colour, 1)


def draw_truth(image: np.ndarray, truth: FigureTruth, zoom: int = 2) -> np.ndarray:
    """``image`` enlarged ``zoom``× with every truth box and plotted series drawn on it."""
    out = cv2.resize(np.ascontiguousarray(image[..., :3]), None, fx=zoom, fy=zoom, interpolation=cv2.INTER_NEAREST)
    for m in truth.master_images:
        _rect(out, m.bbox, COLOURS["master"], zoom)
        _rect(out, m.label_bbox, COLOURS["label"], zoom)
        for d in m.dependents:
            _rect(out, d.bbox, COLOURS["dependent"], zoom)
        for i in m.insets:
            _rect(out, i.bbox, COLOURS["inset"], zoom)
        for b in m.scale_bars:
            _rect(out, b.bbox, COLOURS["scale_bar"], zoom)
            _rect(out, b.label_bbox, COLOURS["scale_bar"], zoom)
        if m.graph:
            g = m.graph
            for s in g.series:
                pts = np.array([(g.x_axis.to_px(x), g.y_axis.to_px(y)) for x, y in zip(s.x, s.y, strict=True)])
                for x, y in pts[:: max(1, len(pts) // 40)]:
                    cv2.circle(out, (int(x * zoom), int(y * zoom)), 2, COLOURS["series"], -1)
        x0, y1 = m.bbox[0] * zoom, m.bbox[3] * zoom
        cv2.putText(out, f"{m.label or '-'}: {m.cls}", (x0 + 3, y1 - 4), cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                    COLOURS["master"], 1, cv2.LINE_AA)
    return out


def _load_truth(path: Path) -> FigureTruth:
    """Truth JSON back into a FigureTruth (for drawing)."""
    from ingest.synth.truth import (
        AxisTruth,
        DependentTruth,
        GraphTruth,
        InsetTruth,
        MasterTruth,
        ScaleBarTruth,
        SeriesTruth,
    )

    def box(v: list[int] | None) -> Box | None:
        return tuple(v) if v else None  # type: ignore[return-value]

    j = json.loads(path.read_text())
    masters = []
    for m in j["master_images"]:
        graph = None
        if g := m.get("graph"):
            graph = GraphTruth(AxisTruth(**g["x_axis"]), AxisTruth(**g["y_axis"]),
                               [SeriesTruth(**s) for s in g["series"]], box(g["plot_box"]))  # type: ignore[arg-type]
        masters.append(MasterTruth(
            m["label"], box(m["label_bbox"]), box(m["bbox"]), m["class"], m["description"],  # type: ignore[arg-type]
            [DependentTruth(box(d["bbox"]), d["class"]) for d in m["dependents"]],  # type: ignore[arg-type]
            [InsetTruth(box(i["bbox"]), i["class"], i["in"], i["kind"]) for i in m["insets"]],  # type: ignore[arg-type]
            [ScaleBarTruth(box(b["bbox"]), b["length_px"], b["label_text"], box(b["label_bbox"]),  # type: ignore[arg-type]
                           b["value"], b["unit"], b["nm_per_px"], b["source"], b["in"]) for b in m["scale_bars"]],
            graph, m.get("structure"),
        ))
    keys = ("figure", "width", "height", "caption", "caption_style", "subcaptions", "shared_caption",
            "inset_captions", "scale_statements", "layout", "jpeg_quality", "downscale")
    return FigureTruth(**{k: j[k] for k in keys}, master_images=masters)


def main(argv: list[str] | None = None) -> None:
    """Write overlays of varied synthetic figures: python -m ingest.synth.overlay SYNTH_DIR OUT_DIR [N]."""
    args = argv if argv is not None else sys.argv[1:]
    synth, out = Path(args[0]), Path(args[1])
    count = int(args[2]) if len(args) > 2 else 6
    out.mkdir(parents=True, exist_ok=True)
    # Rich figures first (many classes, parents, insets, bars), then one per new kind of layout.
    truths = [(p, _load_truth(p)) for p in sorted((synth / "truth").glob("*.json"))]

    def richness(t: FigureTruth) -> int:
        return (len({m.cls for m in t.master_images}) + sum(len(m.dependents) + 2 * len(m.insets)
                + len(m.scale_bars) for m in t.master_images))

    truths.sort(key=lambda pt: -richness(pt[1]))
    chosen, seen = [], set()
    for truth_path, t in truths:
        feature = (t.layout, t.caption_style)
        if feature in seen:
            continue
        seen.add(feature)
        chosen.append((truth_path, t))
        if len(chosen) == count:
            break
    for truth_path, t in chosen:
        image_path = next((synth / "figures").glob(truth_path.stem + ".*"))
        image = np.asarray(Image.open(image_path).convert("RGB"))
        overlay = Image.fromarray(draw_truth(image, t, zoom=1 if t.width > 700 else 2))
        # 256 colours keep the committed PNGs small; the truth colours survive quantisation.
        overlay.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(out / f"{truth_path.stem}_truth.png",
                                                                          optimize=True)
        print(out / f"{truth_path.stem}_truth.png")


if __name__ == "__main__":
    main()

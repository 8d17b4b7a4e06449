"""Scoring figure separation against gold MDI annotations (and EXSCLAIM!'s output with the same code).

Definitions (from the issue):

- **AP@0.5 / AP@0.75**: COCO-style average precision over master boxes, pooled
  over figures and ranked by confidence (101-point interpolation).
- **ImageCLEF**: a predicted master matches a true one when their
  intersection covers ≥ 2/3 of the predicted box (one-to-one); a figure
  scores matches / max(#true, #predicted); averaged over figures.
- **Label F1**: a predicted label matches when its text equals a true label's
  (case-insensitive) and its box centre lies inside the true label box grown
  by 50 % on each side.
- **Dependents + insets recall**: true dependents and insets matched by a
  predicted dependent or inset with IoU ≥ 0.5.
- **Scale values**: a true scale bar counts when a predicted bar overlaps it
  (centre inside the true bar box grown by 50 %) with the same value and unit.
- **Scale-bar precision**: the share of predicted bars that overlap a true bar
  that way (whatever their value): how many lines we call bars are bars.
- **Class accuracy**: of matched masters (IoU ≥ 0.5), the share with the true class.

Figures are given as plain dicts in the gold JSON shape (``master_images`` with
``label``, ``label_bbox``, ``bbox``, ``class``, ``confidence``, ``dependents``,
``insets``, ``scale_bars``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ingest.figures.geometry import AnyBox as Box
from ingest.figures.geometry import area, centre_in, grown, intersection, iou
from ingest.units import Length, canonical_unit


def average_precision(preds: list[tuple[str, float, Box]], truths: dict[str, list[Box]], threshold: float) -> float:
    """COCO-style AP. ``preds``: (figure, confidence, box); ``truths``: figure → true boxes."""
    n_true = sum(len(v) for v in truths.values())
    if n_true == 0:
        return 0.0
    used = {k: [False] * len(v) for k, v in truths.items()}
    tp = []
    for fig, _, box in sorted(preds, key=lambda p: -p[1]):
        best, best_iou = -1, threshold
        for j, t in enumerate(truths.get(fig, [])):
            v = iou(box, t)
            if v >= best_iou and not used[fig][j]:
                best, best_iou = j, v
        if best >= 0:
            used[fig][best] = True
        tp.append(best >= 0)
    if not tp:
        return 0.0
    tps = np.cumsum(tp)
    precision = tps / np.arange(1, len(tp) + 1)
    recall = tps / n_true
    # interpolated precision at 101 recall points
    precision = np.maximum.accumulate(precision[::-1])[::-1]
    points = np.linspace(0, 1, 101)
    ap = 0.0
    for r in points:
        idx = np.searchsorted(recall, r, side="left")
        ap += precision[idx] if idx < len(precision) else 0.0
    return float(ap / len(points))


def imageclef(pred: list[Box], true: list[Box]) -> float:
    if not pred and not true:
        return 1.0
    used = [False] * len(true)
    matches = 0
    for p in pred:
        for j, t in enumerate(true):
            if not used[j] and area(p) > 0 and intersection(p, t) >= 2 / 3 * area(p):
                used[j] = True
                matches += 1
                break
    return matches / max(len(true), len(pred))


def _length(value: Any, unit: Any) -> Length | None:
    if value is None or unit is None:
        return None
    u = canonical_unit(str(unit))
    return Length(float(value), u) if u else None


def score(predictions: dict[str, dict[str, Any]], gold: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """All metrics for ``predictions`` (figure → prediction dict) against ``gold`` (figure → gold dict)."""
    ap_preds, ap_truth, clef, label_tp, label_fp, label_fn = [], {}, [], 0, 0, 0
    dep_total = dep_found = bars_total = bars_right = bars_found = bars_predicted = cls_total = cls_right = 0
    for fig, g in gold.items():
        p = predictions.get(fig, {"master_images": []})
        gm, pm = g["master_images"], p["master_images"]
        ap_truth[fig] = [m["bbox"] for m in gm]
        ap_preds += [(fig, float(m.get("confidence", 1.0)), m["bbox"]) for m in pm]
        clef.append(imageclef([m["bbox"] for m in pm], [m["bbox"] for m in gm]))
        # labels
        true_labels = [(m["label"], m["label_bbox"]) for m in gm if m.get("label") and m.get("label_bbox")]
        pred_labels = [(m["label"], m["label_bbox"]) for m in pm if m.get("label") and m.get("label_bbox")]
        matched = [False] * len(true_labels)
        for text, box in pred_labels:
            hit = next((j for j, (t, tb) in enumerate(true_labels) if not matched[j] and t.lower() == text.lower()
                        and centre_in(box, grown(tb, 0.5))), None)
            if hit is None:
                label_fp += 1
            else:
                matched[hit] = True
                label_tp += 1
        label_fn += matched.count(False)
        # dependents and insets
        true_parts = [d["bbox"] for m in gm for d in m.get("dependents", [])] + [
            i["bbox"] for m in gm for i in m.get("insets", [])]
        pred_parts = [d["bbox"] for m in pm for d in m.get("dependents", [])] + [
            i["bbox"] for m in pm for i in m.get("insets", [])]
        dep_total += len(true_parts)
        dep_found += sum(1 for t in true_parts if any(iou(t, q) >= 0.5 for q in pred_parts))
        # scale bars
        pred_bars = [b for m in pm for b in m.get("scale_bars", [])]
        true_bars = [b["bbox"] for m in gm for b in m.get("scale_bars", [])]
        bars_predicted += len(pred_bars)
        bars_found += sum(any(centre_in(q["bbox"], grown(t, 0.5)) for t in true_bars) for q in pred_bars)
        for m in gm:
            for b in m.get("scale_bars", []):
                bars_total += 1
                want = _length(b.get("value"), b.get("unit"))
                bars_right += any(centre_in(q["bbox"], grown(b["bbox"], 0.5)) and want is not None
                                  and _length(q.get("value"), q.get("unit")) == want for q in pred_bars)
        # classes
        for m in gm:
            best = max(pm, key=lambda q: iou(q["bbox"], m["bbox"]), default=None)
            if best is not None and iou(best["bbox"], m["bbox"]) >= 0.5:
                cls_total += 1
                cls_right += best.get("class") == m["class"]
    return {
        "figures": len(gold),
        "master_ap50": round(average_precision(ap_preds, ap_truth, 0.5), 4),
        "master_ap75": round(average_precision(ap_preds, ap_truth, 0.75), 4),
        "imageclef": round(float(np.mean(clef)) if clef else 0.0, 4),
        "label_f1": round(2 * label_tp / (2 * label_tp + label_fp + label_fn), 4) if label_tp else 0.0,
        "dependents_insets_found": dep_found, "dependents_insets_total": dep_total,
        "dependents_insets_recall": round(dep_found / dep_total, 4) if dep_total else None,
        "scale_values_right": bars_right, "scale_bars_total": bars_total,
        "scale_values_share": round(bars_right / bars_total, 4) if bars_total else None,
        "scale_bars_predicted": bars_predicted,
        "scale_bar_precision": round(bars_found / bars_predicted, 4) if bars_predicted else None,
        "class_accuracy": round(cls_right / cls_total, 4) if cls_total else None,
    }


def exsclaim_to_gold_shape(entry: dict[str, Any]) -> dict[str, Any]:
    """EXSCLAIM! v1 output (geometry point lists) → the gold shape, so one scorer serves both."""
    def box(geometry: list[dict[str, float]]) -> list[float]:
        xs, ys = [g["x"] for g in geometry], [g["y"] for g in geometry]
        return [min(xs), min(ys), max(xs), max(ys)]

    masters = []
    for m in entry.get("master_images", []):
        label = m.get("subfigure_label") or {}
        masters.append({
            "label": label.get("text"), "label_bbox": box(label["geometry"]) if label.get("geometry") else None,
            "bbox": box(m["geometry"]), "class": m.get("classification"), "confidence": m.get("confidence", 1.0),
            "dependents": [], "insets": [],
            "scale_bars": [{"bbox": box(b["geometry"]), "value": None, "unit": None} for b in m.get("scale_bars", [])],
        })
    return {"master_images": masters}

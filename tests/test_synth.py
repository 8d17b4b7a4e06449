"""The synthetic journal's truth, checked against its own pixels.

Each mark can be left out of a render; the difference between the two renders
is exactly the mark's pixels, so the truth boxes must cover that difference —
and be covered by it (a box around nothing is wrong too).
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import run_module, write_params

from catalog.tables import Lake
from ingest.sources.local import read_local_page
from ingest.synth.figure import FigurePlan, plan_figure, render_figure
from ingest.synth.journal import generate_article, jats, write_article
from ingest.synth.marks import UNIT_NM
from ingest.synth.truth import Box, FigureTruth


def sample_plans() -> list[FigurePlan]:
    """Figures covering every content kind, layout, label placement and downscale."""
    plans, seen = [], set()
    for seed in range(200):
        plan = plan_figure(np.random.default_rng(seed), f"t{seed}")
        features = {p.kind for p in plan.panels} | {plan.layout, plan.label_style.placement,
                                                    f"s{plan.downscale}"} | {f"inset-{p.inset}" for p in plan.panels}
        if features - seen:
            plans.append(plan)
            seen |= features
        if len(plans) >= 14:
            break
    return plans


PLANS = sample_plans()


def boxes_mask(shape: tuple[int, int], boxes: list[Box]) -> np.ndarray:
    mask = np.zeros(shape, bool)
    for x0, y0, x1, y1 in boxes:
        mask[y0:y1, x0:x1] = True
    return mask


def changed(a: np.ndarray, b: np.ndarray, threshold: int = 0) -> np.ndarray:
    return np.abs(a.astype(int) - b.astype(int)).max(axis=2) > threshold


def test_sample_covers_every_kind() -> None:
    kinds = {p.kind for plan in PLANS for p in plan.panels}
    assert kinds == {"stem", "sem_tem", "diffraction", "graph", "illustration", "photo", "parent"}
    assert {plan.layout for plan in PLANS} == {"grid", "rows", "span", "single"}
    assert any(plan.downscale != 1 for plan in PLANS) and any(plan.jpeg_quality for plan in PLANS)


def check_boxes(t: FigureTruth) -> None:
    """Every box inside the canvas, dependents/insets/bars inside their hosts, scales consistent."""

    def inside(box: Box | None, outer: Box) -> bool:
        return box is None or (outer[0] <= box[0] < box[2] <= outer[2] and outer[1] <= box[1] < box[3] <= outer[3])

    canvas = (0, 0, t.width, t.height)
    for m in t.master_images:
        assert inside(m.bbox, canvas) and inside(m.label_bbox, canvas)
        for d in m.dependents:
            assert inside(d.bbox, m.bbox)
        for i in m.insets:
            assert inside(i.bbox, m.bbox)
        for b in m.scale_bars:
            host = m.bbox if b.in_ == "master" else m.dependents[int(b.in_)].bbox
            assert inside(b.bbox, host) and inside(b.label_bbox, host), (t.figure, b)
            assert b.nm_per_px == pytest.approx(b.value * UNIT_NM[b.unit] / b.length_px)
    labels = [m.label for m in t.master_images if m.label]
    assert labels == [chr(ord("a") + i) for i in range(len(labels))]
    assert set(t.subcaptions) == set(labels or [""])


@pytest.mark.parametrize("plan", PLANS, ids=lambda p: p.name)
def test_boxes_are_inside_the_canvas_and_nested(plan: FigurePlan) -> None:
    t = render_figure(plan).truth
    assert (t.width, t.height) == plan.final_size
    check_boxes(t)


@pytest.mark.parametrize("index", [1, 2, 3])
def test_whole_articles_have_consistent_truth(index: int) -> None:
    for f in generate_article(11, index).figures:
        check_boxes(f.truth)


@pytest.mark.parametrize("plan", PLANS, ids=lambda p: p.name)
def test_label_pixels_are_exactly_in_label_boxes(plan: FigurePlan) -> None:
    full = render_figure(plan)
    bare = render_figure(plan, labels=False).image
    boxes = [m.label_bbox for m in full.truth.master_images if m.label_bbox]
    assert len(boxes) == sum(1 for p in plan.panels if p.label)
    diff = changed(full.image, bare)
    assert not (diff & ~boxes_mask(diff.shape, boxes)).any(), "label ink outside its box"
    for x0, y0, x1, y1 in boxes:
        assert diff[y0:y1, x0:x1].any(), "a label box with no label in it"


@pytest.mark.parametrize("plan", [p for p in PLANS if any(x.scale_bar for x in p.panels)], ids=lambda p: p.name)
def test_scale_bar_pixels_and_length(plan: FigurePlan) -> None:
    full = render_figure(plan)
    bare = render_figure(plan, scale_bars=False).image
    bars = [b for m in full.truth.master_images for b in m.scale_bars]
    assert bars
    diff = changed(full.image, bare)
    allowed = boxes_mask(diff.shape, [b.bbox for b in bars] + [b.label_bbox for b in bars if b.label_bbox])
    assert not (diff & ~allowed).any(), "scale-bar ink outside its boxes"
    for b in bars:
        x0, y0, x1, y1 = b.bbox
        # The bar's length measured on its middle row. A pixel the bar only partly covers (its ends,
        # after a downscale) counts by how far it moved from the background toward the bar colour;
        # where the background already had the bar's colour, a pixel counts if it has it.
        yc = (y0 + y1) // 2
        on, off = full.image[yc, x0:x1].astype(float).mean(axis=1), bare[yc, x0:x1].astype(float).mean(axis=1)
        colour = on[len(on) // 2]
        span = colour - off
        ok = np.abs(span) >= 30
        fraction = np.where(ok, (on - off) / np.where(ok, span, 1.0), np.abs(on - colour) < 8)
        measured = float(np.clip(fraction, 0, 1).sum())
        assert abs(measured - b.length_px) <= 1, (measured, b.length_px)
        if b.source == "image":
            assert b.label_text and b.label_bbox and diff[b.label_bbox[1]:b.label_bbox[3],
                                                         b.label_bbox[0]:b.label_bbox[2]].any()
        else:
            assert b.label_text is None


def _graphs(plan: FigurePlan) -> list[int]:
    return [i for i, p in enumerate(plan.panels) if p.kind == "graph"]


@pytest.mark.parametrize("plan", [p for p in PLANS if _graphs(p)][:4], ids=lambda p: p.name)
def test_each_series_is_drawn_where_its_data_and_axes_say(plan: FigurePlan) -> None:
    full = render_figure(plan)
    for i in _graphs(plan):
        g = full.truth.master_images[i].graph
        assert g is not None
        # Axes truth agrees with the plot frame: data limits sit on the frame's edges.
        assert abs(g.x_axis.px_min - g.plot_box[0]) <= 1.5 and abs(g.x_axis.px_max - g.plot_box[2]) <= 1.5
        assert abs(g.y_axis.px_min - g.plot_box[3]) <= 1.5 and abs(g.y_axis.px_max - g.plot_box[1]) <= 1.5
        for k, s in enumerate(g.series):
            hidden = render_figure(plan, hide_series={i: frozenset({k})}).image
            diff = changed(full.image, hidden, threshold=20)
            assert diff.any(), f"series {k} left no pixels"
            line = np.zeros(diff.shape, np.uint8)
            pts = np.array([(g.x_axis.to_px(x), g.y_axis.to_px(y)) for x, y in zip(s.x, s.y, strict=True)])
            cv2.polylines(line, [np.round(pts - 0.5).astype(np.int32)], False, 1, 1)
            distance = cv2.distanceTransform((1 - line).astype(np.uint8), cv2.DIST_L2, 5)
            worst = distance[diff].max()
            assert worst <= 4.0, f"series {k} pixels {worst:.1f} px from where its data say"


def test_same_seed_same_bytes_and_captions_round_trip(tmp_path: Path) -> None:
    a, b = generate_article(5, 3), generate_article(5, 3)
    assert [f.image for f in a.figures] == [f.image for f in b.figures]
    assert jats(a) == jats(b)
    assert [f.truth.to_json() for f in a.figures] == [f.truth.to_json() for f in b.figures]
    assert [f.image for f in generate_article(5, 4).figures] != [f.image for f in a.figures]
    write_article(a, tmp_path)
    page = read_local_page(tmp_path / f"{a.key}.nxml")
    assert page.article.doi == a.doi and page.article.license_spdx == "CC0-1.0"
    for ref, f, img in zip(page.article.figures, a.figures, page.images.values(), strict=True):
        assert ref.caption == f.truth.caption
        assert img is not None and img.read_bytes() == f.image
        truth = json.loads((tmp_path / "truth" / f"{a.key}_fig{f.number}.json").read_text())
        assert truth["caption"] == ref.caption and truth["master_images"]
        for label, stated in f.truth.scale_statements.items():
            assert stated in ref.caption and (not label or f"({label}" in ref.caption or label in ref.caption)


def test_truth_json_uses_the_gold_shape() -> None:
    t: FigureTruth = generate_article(5, 1).figures[0].truth
    j = t.to_json()
    m = j["master_images"][0]
    assert {"label", "label_bbox", "bbox", "class", "dependents", "insets", "scale_bars"} <= set(m)
    assert isinstance(m["bbox"], list) and len(m["bbox"]) == 4


def test_synthesize_stage_feeds_collect(tmp_path: Path) -> None:
    params = write_params(tmp_path, [], synth=tmp_path / "synth", synth_articles=3)
    run_module("ingest.synthesize", tmp_path, "--params", str(params))
    manifest = json.loads((tmp_path / "synth" / "manifest.json").read_text())
    assert manifest["articles"] == 3 and manifest["subfigures"] >= manifest["masters"] > 0
    run_module("ingest.collect", tmp_path, "--params", str(params))
    lake = Lake(tmp_path / "lake")
    articles = lake.read("articles").to_pylist()
    assert len(articles) == 3 and {a["source"] for a in articles} == {"synth"}
    assert lake.count("figures") == manifest["figures"] == lake.count("images")
    assert lake.count("quarantine") == 0

"""Plot digitizing: tick labels, robust calibration, curves, the CLI and the spectra stage.

Plots are drawn by the synthetic journal's own generator (matplotlib), so every
axis and series has exact truth; the OCR is the real rapidocr.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import figlake
from PIL import Image

from ingest import ocr
from ingest.ocr import TextBox
from ingest.spectra import digitize
from ingest.spectra.axes import find_frame, fit_axis, tick_positions, tick_value
from ingest.spectra.curves import INK, assign, curve_pixels, ink_strength, inks
from ingest.spectra.evaluate import bench_plots, score_plot, summarise
from ingest.synth.plots import PlotPlan, render_plot
from ingest.synth.truth import GraphTruth


def plan(ys: list[np.ndarray], x: np.ndarray, colors: list[str], *, styles: list[str] | None = None,
         log_y: bool = False, ticks_labelled: bool = True, legend: bool = False) -> PlotPlan:
    n = len(ys)
    return PlotPlan("raman", [x] * n, ys, "Raman shift (cm⁻¹)", "Intensity (a.u.)", [f"s{i}" for i in range(n)],
                    styles or ["solid"] * n, colors, [None] * n, log_y, False, ticks_labelled, legend, False, 9.0,
                    1.4, "test plot")


def peaks(x: np.ndarray, centres: list[float], width: float = 30.0) -> np.ndarray:
    return sum(1.0 / (1 + ((x - c) / width) ** 2) for c in centres)


X = np.linspace(100, 1200, 400)


def matched(p: PlotPlan, shape: tuple[int, int] = (320, 440), method: str = "track") -> tuple[dict, GraphTruth]:
    g = render_plot(p, shape)
    return score_plot(digitize(g.image, method), g.truth), g.truth


@pytest.mark.parametrize(("text", "value", "power"), [
    ("400", 400.0, None), ("−0.5", -0.5, None), ("1,000", 1000.0, None), ("0,25", 0.25, None),
    ("10-1", None, 0.1), ("10⁻1", None, 0.1), ("10°", None, 1.0), ("10²", None, 100.0), ("10^3", None, 1000.0),
    ("102", 102.0, 100.0),  # 10² as the OCR flattens it, or the number: the axis fit decides
    ("3×10⁻1", None, 0.3), ("2x10^-2", None, 0.02),  # minor ticks of a log axis spanning about a decade
])
def test_tick_labels_parse_as_plots_print_them(text: str, value: float | None, power: float | None) -> None:
    assert tick_value(text) == (value, power)


@pytest.mark.parametrize("text", ["Intensity", "(a.u.)", "", "1.2.3", "TiO2"])
def test_words_are_not_tick_labels(text: str) -> None:
    assert tick_value(text) is None


def test_one_misread_tick_label_does_not_bend_the_axis() -> None:
    pairs = [(50.0, 200.0), (100.0, 400.0), (150.0, 600.0), (200.0, 300.0), (250.0, 1000.0)]  # "800" read "300"
    axis = fit_axis(pairs, log=False, px_min=25.0, px_max=275.0)
    assert axis is not None and axis.ticks == 4
    assert axis.range == (pytest.approx(100.0), pytest.approx(1100.0))


def test_a_crisp_tick_is_placed_where_the_data_put_it_before_snapping() -> None:
    """matplotlib snaps ticks and spines to pixel centres (``floor(x + 0.5) + 0.5``) and not the curves:
    a crisp one-column tick stands for the pixel-wide interval ending at its centre."""
    grey = np.full((60, 100), 255, np.uint8)
    grey[10:41, 10] = grey[40, 10:91] = 0  # left and bottom spines, one pixel each
    grey[41:45, 30] = 0  # a crisp tick in column 30
    grey[41:45, 60:62] = 128  # an antialiased one, half in column 60 and half in 61
    frame = find_frame(grey)
    assert frame.snapped[0] and frame.snapped[3] and frame.left == pytest.approx(10.0)
    assert frame.interior[0] == 12  # the pixels looked at are where the spine's ink is
    assert tick_positions(grey, frame, "x") == [pytest.approx(30.0), pytest.approx(61.0)]


def test_sharp_peaks_keep_their_height() -> None:
    """XRD peaks a few pixels wide: a column's run on a flank is widened by the flank next door, so its
    centre misses the apex by half the peak; read across the flank the apex keeps its height."""
    x = np.linspace(10, 80, 1400)
    y = peaks(x, [25, 43, 61], width=0.12) + 0.02
    g = render_plot(plan([y], x, ["#d62728"]), (300, 440))
    d = digitize(g.image)
    top = np.sort(np.asarray(d.series[0].y))[-3:]
    assert np.all(top > 0.85 * y.max())  # the three apexes, each within 15 % of its height
    assert score_plot(d, g.truth)["matched"] == 1


def test_crossing_curves_with_a_legend_are_read_in_data_units() -> None:
    p = plan([peaks(X, [300, 900]), peaks(X, [500, 700]) * 0.8 + 0.1], X, ["#1f77b4", "#d62728"],
             styles=["solid", "dashed"], legend=True)
    score, truth = matched(p)
    assert score["matched"] == 2 and score["pred"] == 2
    assert score["axes"]["x"] < 0.01 and score["axes"]["y"] < 0.01


def test_a_log_axis_is_recognised_from_powers_of_ten() -> None:
    y = np.clip(peaks(X, [400, 800], 10) + 0.01, 1e-3, None)
    g = render_plot(plan([y], X, ["#000000"], log_y=True), (320, 440))
    d = digitize(g.image)
    assert d.y_axis.scale == "log"
    assert score_plot(d, g.truth)["axes"]["y"] < 0.01


def test_a_misread_exponent_is_set_right_by_the_minor_ticks() -> None:
    """Two labels, 10⁰ and 10⁻¹, the second misread "10⁻2": the labels alone make a decade twice as
    long as the eight minor ticks between them show."""
    y = np.clip(peaks(X, [400, 800], 10) * 0.9 + 0.03, 1e-3, None)
    g = render_plot(plan([y], X, ["#000000"], log_y=True), (320, 440))
    texts = [TextBox(t.box, "10⁻2", 0.8) if (tick_value(t.text) or (0, 0))[1] == 0.1 else t
             for t in ocr.detect(g.image)]
    assert any(t.text == "10⁻2" for t in texts)
    d = digitize(g.image, texts=texts)
    assert d.y_axis.scale == "log"
    assert score_plot(d, g.truth)["axes"]["y"] < 0.01


def test_a_letter_the_ocr_sees_in_a_peak_does_not_cut_the_peak() -> None:
    """A sharp peak read as a low-confidence "μ": taken for a legend entry, it and the line sample left
    of it would be erased, and the peak with them."""
    x = np.linspace(10, 80, 1400)
    y = peaks(x, [45], width=0.12) + 0.02
    g = render_plot(plan([y], x, ["#d62728"]), (300, 440))
    px, py = g.truth.x_axis.to_px(45.0), g.truth.y_axis.to_px(0.5)
    glyph = TextBox((int(px) + 3, int(py) - 8, int(px) + 13, int(py) + 8), "μ", 0.6)
    d = digitize(g.image, texts=[*ocr.detect(g.image), glyph])
    assert max(d.series[0].y) > 0.85 * y.max()
    assert score_plot(d, g.truth)["matched"] == 1


def test_a_spike_narrower_than_the_line_is_read_in_its_own_column() -> None:
    """Drawn with a line three pixels wide, a one-pixel spike inks its neighbours from foot to apex;
    their middles are still at the foot."""
    x = np.linspace(10, 80, 1400)
    y = peaks(x, [45.2], width=0.02) + 0.05 + 0.01 * np.random.default_rng(0).random(x.size)
    g = render_plot(plan([y], x, ["#d62728"]), (300, 440))
    score = score_plot(digitize(g.image), g.truth)
    assert score["matched"] == 1 and score["rmse"][0] < 0.02


def test_a_flat_baseline_is_a_curve_and_a_thin_rule_is_not() -> None:
    rgb = np.full((160, 200, 3), 255, np.uint8)
    rgb[30, :] = 0  # a reference line, one pixel
    rgb[20:41, 50:52] = (31, 119, 180)  # crossed by a curve
    rgb[80:83, :] = (255, 127, 14)  # the flat stretch of a spectrum, three pixels thick
    rgb[60:80, 100:103] = (255, 127, 14)  # and its peak
    rgb[140, :] = 0  # a simulated pattern's baseline, perfectly flat and one pixel thick
    for c in (40, 90, 150):
        rgb[110:140, c:c + 2] = 0  # and its peaks, all rising from it
    mask = curve_pixels(rgb, [])
    assert not mask[30, :50].any() and not mask[30, 52:].any()
    assert mask[80:83].all()
    assert mask[140].all()


def test_a_pattern_with_a_perfectly_flat_baseline_is_read() -> None:
    """A computed diffraction pattern: one narrow peak on a flat line, which spans the frame unbroken
    as a reference line would."""
    x = np.linspace(10, 80, 1400)
    g = render_plot(plan([peaks(x, [45.2], width=0.05) + 0.05], x, ["#d62728"]), (300, 440))
    assert score_plot(digitize(g.image), g.truth)["matched"] == 1


def test_inks_greyed_by_jpeg_are_told_apart_by_hue() -> None:
    """JPEG's chroma subsampling greys thin coloured lines until their inks lie within one CIELAB
    cluster; their hues still differ."""
    rgb = np.full((150, 300, 3), 255, np.uint8)
    greyed = [(143, 112, 112), (111, 126, 137), (113, 134, 113)]  # red, blue and green, 82 % grey
    cols = np.arange(300)
    for k, colour in enumerate(greyed):
        rows = (30 + 40 * k + 8 * np.sin(cols / 20 + k)).astype(int)
        for dy in (0, 1):
            rgb[rows + dy, cols] = colour
    mask = ink_strength(rgb) > INK
    found = inks(rgb, mask, min_pixels=50)
    assert len(found) == 3
    labels = assign(rgb, mask, found)
    assert len({int(labels[30 + 40 * k + int(8 * np.sin(k)), 0]) for k in range(3)}) == 3


def test_an_axis_without_numbers_is_uncalibrated_not_guessed() -> None:
    g = render_plot(plan([peaks(X, [600])], X, ["#2ca02c"], ticks_labelled=False), (300, 420))
    d = digitize(g.image)
    assert not d.y_axis.calibrated and d.x_axis.calibrated
    assert d.to_json()["axes"]["y"]["scale"] == "none"
    assert score_plot(d, g.truth)["matched"] == 1


def test_tracking_separates_stacked_spectra_of_one_colour_and_the_baseline_cannot() -> None:
    ys = [peaks(X, [300, 800]), peaks(X, [450, 1000]) + 1.3, peaks(X, [600]) + 2.6]
    p = plan(ys, X, ["#000000"] * 3)
    tracked, _ = matched(p, (360, 460), "track")
    clustered, _ = matched(p, (360, 460), "cluster")
    assert tracked["matched"] == 3
    assert clustered["matched"] < 3  # one averaged curve per colour


def test_a_sharp_peak_crossing_the_next_stacked_spectrum_stays_with_its_own() -> None:
    """XRD patterns stacked in one colour: a tall narrow peak of the lower pattern rises through the
    one above and drops straight back; the tracks must not swap there."""
    x = np.linspace(10, 80, 1400)
    ys = [peaks(x, [30, 55], width=0.3) * 1.6 + 0.05, peaks(x, [40, 65], width=0.3) * 0.5 + 1.0,
          peaks(x, [47], width=0.3) * 0.5 + 2.0]
    tracked, _ = matched(plan(ys, x, ["#000000"] * 3), (360, 460), "track")
    assert tracked["matched"] == 3


def test_a_crop_without_axes_is_read_in_pixel_space() -> None:
    g = render_plot(plan([peaks(X, [500])], X, ["#d62728"]), (300, 420))
    x0, y0, x1, y1 = g.truth.plot_box
    crop = g.image[y0 + 3:y1 - 3, x0 + 3:x1 - 3]  # a plot area cut inside the axes, as Plot2Spec's crops are
    d = digitize(crop)
    assert not d.x_axis.calibrated and not d.y_axis.calibrated
    assert len(d.series) == 1 and min(d.series[0].x) < 0.05 and max(d.series[0].x) > 0.95


def test_the_benchmark_scores_a_perfect_reading_as_perfect() -> None:
    plots = bench_plots(3, seed=5, jpeg_share=0.0)
    truth_as_prediction = []
    for p in plots:
        d = digitize(p.image)
        d.series = [type(d.series[0])(s.x, s.y, s.color, s.style, 1.0) for s in p.truth.series] if d.series else []
        if d.series:
            d.x_axis.scale, d.y_axis.scale = "linear", p.truth.y_axis.scale  # calibrated, as the truth is
            truth_as_prediction.append(score_plot(d, p.truth))
    summary = summarise(truth_as_prediction)
    assert summary["series_recall"] == 1.0 and summary["nrmse_matched"] == 0.0


def test_the_cli_digitizes_in_the_contract_shape_and_reports_bad_items(tmp_path: Path) -> None:
    g = render_plot(plan([peaks(X, [300, 900])], X, ["#1f77b4"]), (300, 420))
    path = tmp_path / "plot.png"
    buf = io.BytesIO()
    Image.fromarray(g.image).save(buf, "PNG")
    path.write_bytes(buf.getvalue())
    r = figlake("digitize", str(path), "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert {"min", "max", "scale", "px_min", "px_max", "label"} <= set(out["axes"]["x"])
    assert out["axes"]["x"]["min"] == pytest.approx(100, abs=11) and out["axes"]["x"]["max"] == pytest.approx(
        1200, abs=11)
    assert len(out["series"]) == 1 and {"x", "y", "color"} <= set(out["series"][0])
    batch = tmp_path / "batch.jsonl"
    batch.write_text(json.dumps({"image": str(path)}) + "\n" + json.dumps({"image": str(tmp_path / "gone.png")}))
    r = figlake("digitize", "--batch", str(batch), "--json")
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    assert r.returncode == 1 and len(lines) == 2
    assert lines[0]["series"] and "gone.png" in lines[1]["error"]


def test_the_benchmark_can_draw_every_curve_in_one_colour_without_changing_the_other_plots() -> None:
    plain = bench_plots(4, seed=9, jpeg_share=0.0)
    black = bench_plots(4, seed=9, jpeg_share=0.0, same_colour_share=1.0)
    for a, b in zip(plain, black, strict=True):
        assert [s.x for s in a.truth.series] == [s.x for s in b.truth.series]  # same plans, same order
        if len(b.truth.series) > 1:
            assert "same_colour" in b.cases and {s.color for s in b.truth.series} == {"#000000"}
        else:
            assert (a.image == b.image).all()

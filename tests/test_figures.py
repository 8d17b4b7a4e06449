"""Figure separation on figures drawn here with known truth: layouts, labels, insets, scale bars, bad input."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import figlake
from PIL import Image

from ingest.errors import EmptyFigureError
from ingest.figures.assemble import assemble, complete_labels
from ingest.figures.classify import CLASSES, PanelClassifier, apply_priors, has_axes
from ingest.figures.evaluate import iou
from ingest.figures.geometry import centre_in
from ingest.figures.labels import LabelMark, choose_labels, grid_labels, inner_labels
from ingest.figures.panels import Cell, find_cells
from ingest.figures.scalebars import parse_label, read_bars, read_label_crop
from ingest.figures.separate import separate_figure
from ingest.synth.diffraction import ring_pattern
from ingest.synth.drawings import illustration
from ingest.synth.extras import bar_chart, scatter_plot, text_schematic
from ingest.synth.marks import draw_scale_bar, draw_text, font
from ingest.synth.micrographs import haadf_stem, particle_micrograph
from ingest.train_classifier import build_dataset, train
from ingest.units import Length


def micrograph(h: int, w: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = particle_micrograph((h, w), rng, "Ag", "nanoparticles", "TEM").image
    return np.repeat(img[..., None], 3, axis=2)


def grid_figure(labels_outside: bool = True, gutter: int = 24, printed: str = "abcd") -> tuple[
        np.ndarray, list[tuple[str, tuple]]]:
    """Four micrographs in a 2×2 grid with labels a-d (those in ``printed``) above-left (or on) each panel."""
    canvas = np.full((2 * 220 + gutter + 30, 2 * 300 + gutter + 20, 3), 255, np.uint8)
    truth = []
    for k, letter in enumerate("abcd"):
        r, c = divmod(k, 2)
        x0 = 20 + c * (300 + gutter)
        y0 = 30 + r * (220 + gutter)
        canvas[y0:y0 + 220, x0:x0 + 300] = micrograph(220, 300, k)
        at = (x0 - 16, y0 - 18) if labels_outside else (x0 + 5, y0 + 5)
        if letter in printed:
            draw_text(canvas, at, letter, font("sans-bold", 18))
        truth.append((letter, (x0, y0, x0 + 300, y0 + 220)))
    return canvas, truth


def test_a_grid_of_labelled_micrographs_gives_one_master_per_label() -> None:
    rgb, truth = grid_figure()
    sep = separate_figure(rgb, "(a-d) TEM images of Ag nanoparticles.")
    got = {m.label: m.bbox for m in sep.master_images}
    assert sorted(got) == ["a", "b", "c", "d"]
    for letter, box in truth:
        assert iou(got[letter], box) > 0.95, (letter, got[letter], box)
    assert all(not m.dependents for m in sep.master_images)


def test_a_micrograph_a_plot_touches_is_its_own_panel() -> None:
    # A row of three panels where the plot's last tick label runs into the micrograph beside it:
    # no white separates them, and the cell is too small to be read as several panels run together.
    rgb = np.full((560, 1000, 3), 255, np.uint8)
    rgb[10:240, 10:330] = micrograph(230, 320, 1)
    plot = scatter_plot((230, 300), np.random.default_rng(3))
    rgb[10:240, 345:645] = plot[..., :3]
    rgb[10:240, 647:977] = micrograph(230, 330, 2)
    rgb[226:236, 640:650] = 0  # the tick label crossing the 2 px gutter
    rgb[300:550, 10:977] = micrograph(250, 967, 4)
    cells = find_cells(rgb)
    assert any(c.kind == "image" and iou(c.box, (647, 10, 977, 240)) > 0.9 for c in cells), cells
    assert any(c.kind == "graphics" and iou(c.box, (345, 10, 645, 240)) > 0.8 for c in cells), cells


def test_small_labels_inside_touching_panels_are_found_at_a_larger_scale() -> None:
    # Four touching micrographs (TEM and HAADF-STEM) with white 9- and 11-pt labels in their corners:
    # text detection over the cell at 2× passes over "(d)"; at 3× it finds it.
    for size in (9, 11):
        rng = np.random.default_rng(0)
        rgb = np.full((244, 304, 3), 255, np.uint8)
        for k, letter in enumerate("abcd"):
            y0, x0 = 4 + 118 * (k // 2), 4 + 148 * (k % 2)
            img = (haadf_stem((118, 148), rng) if k % 2 else
                   particle_micrograph((118, 148), rng, "Ag", "nanoparticles", "TEM")).image
            rgb[y0:y0 + 118, x0:x0 + 148] = img[..., None]
            draw_text(rgb, (x0 + 4, y0 + 3), f"({letter})", font("sans", size), (255, 255, 255))
        cells = [c for c in find_cells(rgb) if c.kind == "image"]
        found = {m.text: m.box for m in inner_labels(rgb, cells, [], list("abcd"))}
        assert "d" in found and centre_in(found["d"], (152, 122, 200, 150)), (size, found)


@pytest.mark.parametrize("seed", [0, 1, 3])
def test_a_false_colour_map_touching_a_lattice_of_its_grey_level_is_split_at_the_seam(seed: int) -> None:
    # Red with greenish particles beside a HAADF lattice: in grey the two sides have the same level,
    # so the seam shows only in colour.
    rng = np.random.default_rng(seed)
    rgb = np.full((208, 368, 3), 255, np.uint8)
    lattice = haadf_stem((200, 180), rng).image
    rgb[4:204, 184:364] = lattice[..., None]
    false_colour = np.zeros((200, 180, 3), np.float32)
    false_colour[..., 0] = min(255.0, float(lattice.mean()) / 0.299)  # the lattice's grey level
    yy, xx = np.mgrid[:200, :180]
    for cy, cx in rng.uniform(0, 180, (12, 2)):
        false_colour[..., 1] += 200 * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * 8.0 ** 2))
    rgb[4:204, 4:184] = np.clip(false_colour, 0, 255).astype(np.uint8)
    assert [c.box for c in find_cells(rgb) if c.kind == "image"] == [(4, 4, 184, 204), (184, 4, 364, 204)]


def test_touching_panels_are_split_at_the_labels_the_caption_names() -> None:
    rgb, truth = grid_figure(labels_outside=False, gutter=0)
    sep = separate_figure(rgb, "(a) TEM. (b) TEM. (c) TEM. (d) TEM image of Ag.")
    got = {m.label: m.bbox for m in sep.master_images}
    assert sorted(got) == ["a", "b", "c", "d"]
    for letter, box in truth:
        assert iou(got[letter], box) > 0.85, (letter, got[letter], box)


def _panels(*boxes: tuple[int, int, int, int]) -> list[Cell]:
    return [Cell(b, "image", 1.0) for b in boxes]


def _mark(text: str, x: int, y: int, score: float = 0.99) -> LabelMark:
    return LabelMark((x, y, x + 12, y + 14), text, score, False)


GRID = _panels((20, 30, 320, 250), (344, 30, 644, 250), (20, 274, 320, 494), (344, 274, 644, 494))


@pytest.mark.parametrize("c_read", [None, _mark("c", 60, 330)])  # c unread, or read where no corner is
def test_a_label_the_caption_names_but_the_figure_hides_goes_to_the_one_panel_it_can_be(
        c_read: LabelMark | None) -> None:
    found = [_mark("a", 4, 12), _mark("b", 328, 12), _mark("d", 328, 256)] + ([c_read] if c_read else [])
    labels = complete_labels(GRID, found, ["a", "b", "c", "d"])
    assert [m.text for m in labels] == ["a", "b", "c", "d"]
    c = labels[2]
    assert (c.inferred, c.box[:2]) == (True, (20, 274))
    got = {m.label: m for m in assemble(GRID, labels, 700, 520)[0]}
    assert got["c"].bbox == (20, 274, 320, 494) and got["c"].label_bbox is None
    assert got["c"].confidence < min(got[k].confidence for k in "abd")  # a guess ranks below a reading


def test_a_weak_reading_out_of_order_gives_way_to_the_order() -> None:
    # "e" printed on the last panel, half seen as "d"; the real "d" unread
    found = [_mark("a", 4, 12), _mark("b", 328, 12), _mark("c", 4, 256), _mark("d", 4, 500, score=0.56)]
    labels = complete_labels(GRID + _panels((20, 518, 320, 700)), found, ["a", "b", "c", "d", "e"])
    assert [(m.text, m.box[:2]) for m in labels[3:]] == [("d", (344, 274)), ("e", (20, 518))]


def test_a_missing_label_over_a_row_of_free_panels_is_a_parents() -> None:
    cells = _panels((20, 30, 320, 250), (344, 30, 494, 250), (494, 30, 644, 250), (20, 274, 644, 494))
    found = [_mark("a", 4, 12), _mark("c", 4, 256)]  # b, over the two right-hand images, unread
    labels = complete_labels(cells, found, ["a", "b", "c"])
    got = {m.label: m for m in assemble(cells, labels, 700, 520)[0]}
    assert got["b"].bbox == (344, 30, 644, 250) and len(got["b"].dependents) == 2


def test_no_label_is_guessed_where_a_parents_images_share_the_stretch() -> None:
    # a governs two images side by side; b (missing) is the row below: two free panels, one label
    cells = _panels((20, 30, 320, 250), (344, 30, 644, 250), (20, 274, 644, 494), (20, 518, 644, 700))
    found = [_mark("a", 4, 12), _mark("c", 4, 500)]
    assert complete_labels(cells, found, ["a", "b", "c"]) == found


def test_a_plot_whose_cell_runs_into_the_row_below_ends_at_the_next_label() -> None:
    # No white between plot a's tick labels and plot c below: its cell reaches down to y 400.
    cells = [Cell((20, 30, 300, 400), "graphics", 0.1), Cell((340, 30, 620, 200), "graphics", 0.1),
             Cell((20, 240, 300, 400), "graphics", 0.1), Cell((340, 240, 620, 400), "graphics", 0.1)]
    labels = [_mark("a", 24, 12), _mark("b", 344, 12), _mark("c", 24, 222), _mark("d", 344, 222)]
    masters, _ = assemble(cells, labels, 640, 420)
    assert [m.label for m in masters] == ["a", "b", "c", "d"]
    assert masters[0].bbox == (20, 30, 300, 222)  # up to label c, no further
    assert masters[2].bbox == (20, 240, 300, 400)


def _three_by_two() -> np.ndarray:
    """Six grey panels, 3 columns × 2 rows, with room for a label at each top-left corner."""
    rgb = np.full((420, 640, 3), 255, np.uint8)
    for x in (10, 220, 430):
        for y in (10, 215):
            rgb[y:y + 195, x:x + 200] = 120
    return rgb


def _read_but_e() -> list[LabelMark]:
    """Readings at the corners of ``_three_by_two`` but the fifth ("e")."""
    return [_mark("a", 14, 14), _mark("b", 224, 14), _mark("c", 434, 14), _mark("d", 14, 219), _mark("f", 434, 219)]


def test_a_label_no_reading_found_stands_on_the_free_place_of_the_labels_grid() -> None:
    labels = grid_labels(_three_by_two(), _read_but_e(), ["a", "b", "c", "d", "e", "f"])
    assert [m.text for m in labels] == ["a", "b", "c", "d", "e", "f"]
    e = labels[4]
    assert e.inferred and e.box[:2] == (224, 219)


def test_a_reading_off_the_labels_grid_is_taken_for_the_label_missing_there() -> None:
    # "e" read on a letter of a drawing inside panel b: alone in its row and column
    found = _read_but_e()
    found.insert(4, _mark("e", 300, 120))
    labels = grid_labels(_three_by_two(), found, ["a", "b", "c", "d", "e", "f"])
    assert [m.text for m in labels] == ["a", "b", "c", "d", "e", "f"]
    assert labels[4].box[:2] == (224, 219)


def test_the_labels_grid_runs_on_to_a_column_where_no_label_was_read() -> None:
    # c and f unread: the third column is where the first two columns' spacing puts it
    found = [_mark("a", 14, 14), _mark("b", 224, 14), _mark("d", 14, 219), _mark("e", 224, 219)]
    labels = grid_labels(_three_by_two(), found, ["a", "b", "c", "d", "e", "f"])
    assert [m.text for m in labels] == ["a", "b", "c", "d", "e", "f"]
    assert labels[2].box[:2] == (434, 14) and labels[5].box[:2] == (434, 219)


def test_of_two_reads_of_a_label_the_one_in_line_with_the_other_labels_wins() -> None:
    # g and h in the gutter on the columns of a/d and b/e, and a "g" and an "h" read more
    # confidently in the words of a drawing below them
    rows = [_mark("a", 14, 14), _mark("b", 224, 14), _mark("c", 434, 14),
            _mark("d", 14, 219), _mark("e", 224, 219), _mark("f", 434, 219)]
    gutter = [_mark("g", 14, 424, 0.95), _mark("h", 224, 424, 0.95)]
    drawing = [_mark("g", 300, 600, 1.0), _mark("h", 380, 600, 1.0)]
    labels = choose_labels(rows + gutter + drawing, list("abcdefgh"))
    assert [m.box[:2] for m in labels[6:]] == [(14, 424), (224, 424)]


def test_the_labels_grid_places_nothing_where_the_count_is_ambiguous_or_the_page_is_blank() -> None:
    rgb = _three_by_two()
    # one label missing, two free places between its neighbours: no guess
    two_free = [_mark("a", 14, 14), _mark("b", 224, 14), _mark("c", 434, 14), _mark("f", 434, 219)]
    assert grid_labels(rgb, two_free, ["a", "b", "c", "d", "f"]) is two_free
    # the free place lies on blank page: no panel there, no label
    rgb[215:, 220:430] = 255
    found = _read_but_e()
    assert grid_labels(rgb, found, ["a", "b", "c", "d", "e", "f"]) is found


def test_two_patterns_touching_on_the_same_black_split_at_the_second_label() -> None:
    # No seam: both diffraction patterns fade to the same black where they meet.
    rgb = np.full((300, 620, 3), 255, np.uint8)
    for k, x in enumerate((10, 310)):
        rgb[10:290, x:x + 300] = np.repeat(ring_pattern((280, 300), np.random.default_rng(k))[..., None], 3, axis=2)
    for text, x in (("a", 16), ("b", 316)):
        draw_text(rgb, (x, 16), text, font("sans", 18), (255, 255, 255))
    masters = separate_figure(rgb, "Two patterns. (a) SAED of A. (b) SAED of B.").master_images
    assert [m.label for m in masters] == ["a", "b"]
    assert iou(masters[0].bbox, (10, 10, 310, 290)) > 0.9 and iou(masters[1].bbox, (310, 10, 610, 290)) > 0.9


def test_a_row_of_panels_a_white_pixel_apart_is_split_at_every_line() -> None:
    # Five strips of one texture (no seam), one white column between each: four lines in one cell.
    rgb = np.full((260, 640, 3), 255, np.uint8)
    for k in range(5):
        rgb[20:240, 20 + k * 120:139 + k * 120] = micrograph(220, 119, 3)
    (master,) = separate_figure(rgb).master_images
    assert [d.bbox[0] for d in master.dependents] == [20, 140, 260, 380, 500]


def test_an_unlabelled_figure_is_one_master() -> None:
    rgb = np.full((300, 400, 3), 255, np.uint8)
    rgb[20:280, 30:370] = micrograph(260, 340, 3)
    sep = separate_figure(rgb)
    assert len(sep.master_images) == 1
    m = sep.master_images[0]
    assert m.label is None and iou(m.bbox, (30, 20, 370, 280)) > 0.95


def _print_inset(rgb: np.ndarray, box: tuple[int, int, int, int], frame: int, inner: np.ndarray) -> None:
    """Print ``inner`` (grey or RGB) at ``box`` inside a 2 px frame of grey level ``frame``."""
    x0, y0, x1, y1 = box
    rgb[y0:y1, x0:x1] = frame
    rgb[y0 + 2:y1 - 2, x0 + 2:x1 - 2] = inner if inner.ndim == 3 else inner[..., None]


def test_a_framed_inset_is_found_inside_its_master() -> None:
    rng = np.random.default_rng(5)
    rgb = np.full((340, 420, 3), 255, np.uint8)
    rgb[20:320, 20:400] = np.repeat(haadf_stem((300, 380), rng).image[..., None], 3, axis=2)
    inset = (280, 26, 394, 140)  # top-right corner, 2 px white frame
    _print_inset(rgb, inset, 255, micrograph(110, 110, 9))
    sep = separate_figure(rgb)
    assert len(sep.master_images) == 1
    insets = sep.master_images[0].insets
    assert len(insets) == 1 and iou(insets[0].bbox, inset) > 0.8


def test_a_framed_inset_floating_inside_its_master_is_found() -> None:
    rgb = np.full((340, 420, 3), 255, np.uint8)
    rgb[20:320, 20:400] = micrograph(300, 380, 4)
    inset = (150, 110, 270, 230)  # away from every side, 2 px white frame
    _print_inset(rgb, inset, 255, micrograph(116, 116, 9))
    insets = separate_figure(rgb).master_images[0].insets
    assert len(insets) == 1 and iou(insets[0].bbox, inset) > 0.8


def test_an_inset_whose_white_frame_fades_into_a_light_host_near_its_edge_is_found() -> None:
    # A TEM image whose background turns near-white at the top right: the inset's white frame is
    # lost there along its top and the first rows of its side, which stops short of the host's edge.
    rng = np.random.default_rng(2)
    rgb = np.full((340, 420, 3), 255, np.uint8)
    yy, xx = np.mgrid[0:300, 0:380]
    host = 170 + 70 * (xx / 380) * (1 - yy / 300) + rng.normal(0, 3, (300, 380))
    for cx, cy in rng.uniform((0, 0), (380, 300), (40, 2)):
        host[(xx - cx) ** 2 + (yy - cy) ** 2 < 12 ** 2] = 90
    rgb[20:320, 20:400] = np.clip(host, 0, 255).astype(np.uint8)[..., None]
    inset = (286, 23, 397, 134)  # 3 px below the host's top, 3 px left of its right side
    _print_inset(rgb, inset, 252, np.clip(205 + rng.normal(0, 4, (107, 107)), 0, 255).astype(np.uint8))
    rgb[inset[1]:inset[1] + 2, inset[0]:inset[2]] = 238  # the frame fades into the host
    rgb[inset[1]:inset[1] + 8, inset[0]:inset[0] + 2] = 238
    insets = separate_figure(rgb).master_images[0].insets
    assert len(insets) == 1 and iou(insets[0].bbox, inset) > 0.8


def test_a_small_inset_cut_up_by_its_own_rods_is_found() -> None:
    # Its content's straight edges are as long as the host asks an edge to be: they cut the
    # inset's area into pieces unless only the longer edges are looked at.
    rng = np.random.default_rng(2)
    rgb = np.full((240, 340, 3), 255, np.uint8)
    rgb[20:220, 20:320] = np.repeat(haadf_stem((200, 300), rng).image[..., None], 3, axis=2)
    inset = (253, 23, 317, 87)  # 64 px, in the top-right corner, with a dark grey frame
    inner = np.clip(190 + rng.normal(0, 4, (60, 60)), 0, 255).astype(np.uint8)
    inner[28:33, 8:48] = 40  # a rod across
    inner[8:48, 30:35] = 40  # and one down
    _print_inset(rgb, inset, 70, inner)
    insets = separate_figure(rgb).master_images[0].insets
    assert len(insets) == 1 and iou(insets[0].bbox, inset) > 0.8


@pytest.mark.parametrize("seed", range(6))
def test_the_rings_of_a_diffraction_pattern_close_no_inset(seed: int) -> None:
    # Where the rings turn parallel to the rows and columns they leave straight edges that can
    # close a box around the centre; with no frame printed along it, it is no inset.
    rgb = np.full((340, 360, 3), 255, np.uint8)
    rgb[4:327, 4:354] = np.repeat(ring_pattern((323, 350), np.random.default_rng(seed))[..., None], 3, axis=2)
    masters = separate_figure(rgb).master_images
    assert len(masters) == 1 and masters[0].insets == []


def bar_image(text: str | None, length: int = 80, seed: int = 2) -> tuple[np.ndarray, tuple]:
    rgb = np.full((260, 360, 3), 255, np.uint8)
    rgb[10:250, 10:350] = micrograph(240, 340, seed)
    bar, _ = draw_scale_bar(rgb, (10, 10, 350, 250), length, 5, "right", text, font("sans", 16))
    return rgb, bar


def test_a_printed_scale_bar_is_read_into_nm_per_px() -> None:
    rgb, bar = bar_image("200 nm")
    bars = read_bars(rgb, (10, 10, 350, 250))
    found = [b for b in bars if iou(b.bbox, bar) > 0.7]
    assert found, bars
    b = found[0]
    assert (b.value, b.unit, b.source) == (200.0, "nm", "image")
    assert b.nm_per_px == pytest.approx(200 / 80, rel=0.05)


def test_an_impossible_picometre_reading_is_micrometres() -> None:
    rgb, bar = bar_image("1 pm")  # what OCR makes of "1 µm" now and then: 0.0125 pm/px resolves nothing
    (b,) = [b for b in read_bars(rgb, (10, 10, 350, 250)) if iou(b.bbox, bar) > 0.7]
    assert (b.value, b.unit) == (1.0, "µm") and b.nm_per_px == pytest.approx(1000 / 80, rel=0.05)


def test_a_thin_grey_label_over_a_black_bar_on_a_light_image_is_read() -> None:
    # A small dark-grey label, antialiased: few of its pixels are as dark as the bar.
    rng = np.random.default_rng(4)
    rgb = np.full((260, 360, 3), 255, np.uint8)
    rgb[10:250, 10:350] = np.clip(210 + rng.normal(0, 6, (240, 340, 1)), 0, 255).astype(np.uint8)
    rgb[226:231, 200:320] = 0
    draw_text(rgb, (244, 213), "2 µm", font("sans", 10), (60, 60, 60))
    # (thorough=False: no band reading, as when the caption states a scale for other panels)
    bars = read_bars(rgb, (10, 10, 350, 250), thorough=False)
    (b,) = [b for b in bars if iou(b.bbox, (200, 226, 320, 231)) > 0.7]
    assert (b.value, b.unit) == (2.0, "µm") and b.nm_per_px == pytest.approx(2000 / 120, rel=0.05)


def test_small_white_labels_over_a_lattice_of_white_atoms_are_read() -> None:
    # A 9-pt "1 nm" over a HAADF lattice: the atoms join the glyphs' text lines, so only the
    # windows centred over the bar read it (1 of these 12 before them).
    values = []
    for seed in range(12):
        lattice = haadf_stem((200, 240), np.random.default_rng(seed)).image
        rgb = np.ascontiguousarray(np.repeat(lattice[..., None], 3, 2))
        bar, _ = draw_scale_bar(rgb, (0, 0, 240, 200), 40, 4, "right", "1 nm", font("sans", 9))
        (b,) = [b for b in read_bars(rgb, (0, 0, 240, 200)) if iou(b.bbox, bar) > 0.7]
        values.append((b.value, b.unit))
    assert values.count((1.0, "nm")) >= 9, values
    assert set(values) <= {(1.0, "nm"), (None, None)}, values


def test_a_bar_running_into_a_particle_of_its_colour_keeps_its_length() -> None:
    # A blurred dark particle over the bar's end: the top-hat keeps the blend of the two, which is
    # not the bar's shade and must not lengthen it.
    rgb, bar = bar_image("50 nm", length=60)
    x1, yc = bar[2], (bar[1] + bar[3]) // 2
    yy, xx = np.mgrid[:rgb.shape[0], :rgb.shape[1]]
    particle = np.exp(-(((xx - x1 - 2) ** 2 + (yy - yc) ** 2) / (2 * 5.0 ** 2)))
    rgb = (rgb * (1 - 0.8 * particle[..., None])).astype(np.uint8)
    (b,) = [b for b in read_bars(rgb, (10, 10, 350, 250)) if iou(b.bbox, bar) > 0.7]
    assert b.length_px == pytest.approx(60, rel=0.05), b


def test_a_bar_without_text_takes_the_caption_stated_scale() -> None:
    rgb, bar = bar_image(None, length=60)
    sep = separate_figure(rgb, "TEM image of Ag nanoparticles. Scale bar, 50 nm.")
    bars = [b for m in sep.master_images for b in m.scale_bars if iou(b.bbox, bar) > 0.7]
    assert bars and (bars[0].value, bars[0].unit, bars[0].source) == (50.0, "nm", "caption")
    assert bars[0].nm_per_px == pytest.approx(50 / 60, rel=0.05)


@pytest.mark.parametrize("text, value, unit", [
    ("200 nm", 200, "nm"), ("0.5 um", 0.5, "µm"), ("20.0 µm", 20, "µm"), ("5 Å", 5, "Å"), ("5 A", 5, "Å"),
    ("2 nm-1", 2, "nm⁻¹"), ("5 1/nm", 5, "nm⁻¹"), ("1O0 nm", 100, "nm"), ("200NM", 200, "nm"),
    ("1 cm", 1, "cm"), ("2 1 nm", 2, "nm⁻¹"), (":1-nm.", 1, "nm"),
    # over a lattice: a speck after the digit, the "1" read as a letter, the "n" read as "h", "r" or "0"
    ("1.nm:", 1, "nm"), ("Lnm", 1, "nm"), ("Thm.", 1, "nm"), ("1 hm", 1, "nm"), ("2 rm.", 2, "nm"),
    ("1 0m.", 1, "nm"), ("2Hm", 2, "µm"), ("1.5nm", 1.5, "nm"), ("0-5μm", 0.5, "µm"),
])
def test_scale_labels_parse_as_authors_and_ocr_write_them(text: str, value: float, unit: str) -> None:
    assert parse_label(text) == Length(value, unit)


@pytest.mark.parametrize("noise", ["HAADF", "Ag", "DF", "x 5,000", "", "comp", "In", "Ti", "i um"])
def test_label_noise_is_rejected(noise: str) -> None:
    assert parse_label(noise) is None


def test_a_rendered_label_crop_reads_exactly() -> None:
    canvas = np.full((40, 140, 3), 30, np.uint8)
    draw_text(canvas, (8, 10), "20.0 µm", font("sans", 20), (255, 255, 255))
    got = read_label_crop(canvas)
    assert got is not None and got[0] == Length(20.0, "µm")


def test_blank_and_tiny_images_are_clear_errors_naming_the_input() -> None:
    with pytest.raises(EmptyFigureError, match="blank.png.*blank"):
        separate_figure(np.full((200, 300, 3), 255, np.uint8), source="blank.png")
    with pytest.raises(EmptyFigureError, match="tiny.png.*10×10"):
        separate_figure(np.zeros((10, 10, 3), np.uint8), source="tiny.png")


def test_a_huge_figure_is_separated_at_working_size_and_reported_at_full_size() -> None:
    rgb, truth = grid_figure()
    big = np.asarray(Image.fromarray(rgb).resize((rgb.shape[1] * 5, rgb.shape[0] * 5), Image.NEAREST))
    sep = separate_figure(big, "(a-d) TEM images.")
    assert (sep.width, sep.height) == (big.shape[1], big.shape[0])
    got = {m.label: m.bbox for m in sep.master_images}
    for letter, (x0, y0, x1, y1) in truth:
        assert iou(got[letter], (5 * x0, 5 * y0, 5 * x1, 5 * y1)) > 0.9


def _save(im: Image.Image, path: Path, **kw: object) -> Path:
    im.save(path, **kw)
    return path


def test_the_cli_separates_any_image_mode_and_reports_bad_ones_per_item(tmp_path: Path) -> None:
    rgb, _ = grid_figure()
    im = Image.fromarray(rgb)
    frames = [im, Image.fromarray(255 - rgb)]
    inputs = [
        _save(im.convert("L"), tmp_path / "grey.png"),
        _save(im.convert("CMYK"), tmp_path / "cmyk.jpg"),
        _save(Image.fromarray(np.asarray(im.convert("L")).astype(np.uint16) * 257), tmp_path / "deep.png"),
        _save(frames[0], tmp_path / "anim.gif", save_all=True, append_images=frames[1:]),
        _save(Image.new("RGB", (300, 200), "white"), tmp_path / "blank.png"),
        _save(Image.new("RGB", (10, 10), "black"), tmp_path / "tiny.png"),
    ]
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    inputs.append(tmp_path / "broken.jpg")
    r = figlake("separate", *map(str, inputs), "--caption", "(a-d) TEM images.", "--json")
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(lines) == len(inputs) and r.returncode == 1
    for line in lines[:4]:  # every readable mode gives the four panels
        assert sorted(m["label"] for m in line["master_images"]) == ["a", "b", "c", "d"], line
    assert "blank.png" in lines[4]["error"] and "blank" in lines[4]["error"]
    assert "tiny.png" in lines[5]["error"] and "too small" in lines[5]["error"]
    assert "broken.jpg" in lines[6]["error"] and "not a decodable image" in lines[6]["error"]


def test_read_scale_cli_reports_bars_as_the_contract_says(tmp_path: Path) -> None:
    rgb, _ = bar_image("500 nm", length=100)
    path = tmp_path / "bar.png"
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "PNG")
    path.write_bytes(buf.getvalue())
    r = figlake("read-scale", str(path), "--json")
    bars = json.loads(r.stdout)
    read = [b for b in bars if b["value"] == 500.0]
    assert read and read[0]["unit"] == "nm" and read[0]["nm_per_px"] == pytest.approx(5.0, rel=0.05)
    assert set(read[0]) == {"bbox", "length_px", "label_text", "label_bbox", "value", "unit", "nm_per_px",
                            "confidence"}


def test_an_illustration_with_flat_shapes_is_not_cut_into_images() -> None:
    rng = np.random.default_rng(4)
    rgb = np.full((320, 480, 3), 255, np.uint8)
    rgb[10:310, 10:470] = illustration((300, 460), rng)
    sep = separate_figure(rgb)
    assert len(sep.master_images) == 1 and not sep.master_images[0].dependents


def test_plot_axes_are_told_from_schematic_arrows() -> None:
    rng = np.random.default_rng(0)
    assert has_axes(scatter_plot((240, 320), rng)) and has_axes(bar_chart((240, 320), rng))
    assert not has_axes(text_schematic((240, 320), rng))
    assert not has_axes(micrograph(240, 320, 1))


def test_priors_rule_out_a_graph_without_axes_and_a_grey_photo() -> None:
    classes = ("microscopy", "graph", "illustration", "photo")
    p = np.array([0.05, 0.8, 0.1, 0.05])
    no_axes_grey = np.array([0.0, 0.2, 0.0, 0.0])
    q = apply_priors(p, classes, no_axes_grey)
    assert q[1] == 0 and q[3] == 0 and q.argmax() == 2 and q.sum() == pytest.approx(1)
    with_axes_colour = np.array([0.0, 0.2, 0.3, 1.0])
    assert apply_priors(p, classes, with_axes_colour).argmax() == 1


def test_the_classifier_trains_saves_and_classifies(tmp_path: Path) -> None:
    x, f, y, groups = build_dataset(seed=3, figures=8, jitters=1, extras=2, workers=1)
    assert len(x) == len(f) == len(y) == len(groups) > 16 and set(y.tolist()) >= {0, 2}
    model, metrics = train(x, f, y, groups, epochs=2, seed=3, holdout=0.25)
    assert metrics["holdout_panels"] > 0 and 0.0 <= metrics["holdout_accuracy"] <= 1.0
    path = tmp_path / "panels.pt"
    model.save(path)
    loaded = PanelClassifier.load(path)
    out = loaded([micrograph(100, 120, 2), scatter_plot((200, 260), np.random.default_rng(1))])
    assert len(out) == 2 and all(c in (*CLASSES, "unclear") and 0 <= p <= 1 for c, p in out)
    with pytest.raises(FileNotFoundError, match="train_classifier"):
        PanelClassifier.load(tmp_path / "missing.pt")

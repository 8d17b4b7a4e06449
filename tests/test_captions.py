"""Caption distribution, scale statements, keywords and hierarchical labels."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import CORPUS, figlake, run_module, write_params

from catalog.tables import Lake
from ingest.captions import distribute_caption
from ingest.captions.identifiers import find_identifiers
from ingest.captions.keywords import materials, query_keywords, techniques
from ingest.captions.sentences import split_sentences
from ingest.units import Length, parse_length


@pytest.mark.parametrize(("caption", "style", "labels"), [
    ("(a) TEM. (b) SEM. (c–e) XRD of (001) films.", "paren", "abcde"),
    ("Title. a, b Schematic. c–e SEM images of BM (c), PM (d) and SMNp (e). f STEM.", "bare", "abcdef"),
    ("Title. A. Photographs. B. Average mass. C. H&E staining.", "period", "ABC"),
    ("Title. A and C: 100X. B and D: a higher magnification of A and C, respectively.", "colon", "ABCD"),
    ("Title. A) PCA of samples. B) PCA of LFS-50. C) Heat-map.", "rparen", "ABC"),
    ("Tissues.A, normal breast. B, carcinoma. C, normal prostate.", "comma", "ABC"),
    ("(A) Carcinoid tumor, (B) and C) adenocarcinoma. Staining.", "paren", "ABC"),
    ("Stereopair (A) and line drawing (B). Scale bars equal 5 mm.", "paren", "AB"),
    ("Staining of PTEN (magnification*200).A, PTEN in PCa; B, PTEN in benign cells; C, control.", "comma", "ABC"),
    ("Assay. (a) Cells fixed in two steps (1) wash (2) dry (3) stain. (b) Counts. (c) Mean.", "paren", "abc"),
    # labels the chosen style lacks, printed in another one where they belong
    ("Whole section with foci (a). b Infiltration of the seminal vesicles (200*)", "paren", "ab"),
    ("Loss of p63 in basal cells (arrows). A and C: 200X. B and D. A higher (500X) of A and C.", "colon", "ABCD"),
    ("Mice (A and B) and rats (C and D) after H&E staining. E–G) cortex; H–J) hippocampus.", "paren", "ABCDEFGHIJ"),
    ("Specimens. (A-D) Areas of BPH. Immunostaining for CD34 (anti-CD34, E-H) shows vessels.", "paren", "ABCDEFGH"),
    # glossaries, names and group sizes are not labels
    ("Skull. A–B, ventral view. C–D, posterior view. Abbreviations: bo, basioccipital; f, frontal; A and B, scars.",
     "comma", "ABCD"),
    ("Expression. A. Cell lines and cyst cell line Hs832(c)T. B. Knockdown. C. Migration.", "period", "ABC"),
    # letters behind the figure's number (ZooKeys), not references to another figure
    ("Brasiella, female. Allotype 2A Body, dorsal 2B Body, ventral 2C Head (see Fig. 3D).", "fignum", "ABC"),
    ("Real time PCR. A. TaqMan copy numbers. B., scatter plot of loads. C., scatter plot of FA patients (mean ± "
     "s. d., n=3).", "period", "ABC"),
    # a letter, its comma and what it shows, inside a sentence
    ("TARS mRNA levels. Shown are profiles for A, TARS, B, VEGF, C, SARS and D, YARS.", "comma", "ABCD"),
    ("Viral disease networks. A,C, Neighborhoods of viral targets of EBV (A) or HPV16 (C). B,D, Random targets of "
     "EBV (B) or HPV16 (D). E, Benchmarks.", "comma", "ABCDE"),
    # labels that open sentences beat references to them at the end
    ("Binding of HA. A. Evaluation of binding. B. Cross-inhibition of binding. Data are from three (A) or two (B) "
     "assays.", "period", "AB"),
    # the very next label, opening a sentence in the other case
    ("Antioxidants. (a) Malondialdehyde. (b) Total capacity. (c) Superoxide dismutase. D. Glutathione.", "paren",
     "Dabc"),
])
def test_identifier_styles(caption: str, style: str, labels: str) -> None:
    found_style, tokens = find_identifiers(caption)
    assert found_style == style
    assert "".join(sorted(lab for t in tokens for lab in t.labels)) == labels


@pytest.mark.parametrize("caption", [
    "XPS of (Ag) on (001) Au with intensity in (a.u.) and steps (i) wash and (ii) dry.",
    "XRD patterns of samples A, B, C and D after annealing at 500 °C.",
    "Compounds A, B, and C were tested against strains B, C and D.",
    "A representative example of the (110) surface. In this work, the a-axis grows.",
    "Photograph of the device under UV light.",
    "hK11 (Panel a) and hK13 (Panel b) levels by ELISA in sera.",
])
def test_chemistry_and_words_are_not_labels(caption: str) -> None:
    assert find_identifiers(caption) == ("none", [])


def test_prefix_distribution_shares_title_and_trailing_notes() -> None:
    d = distribute_caption("Growth of Ag. (a) TEM image of seeds. (b) HRTEM of a rod. "
                           "Data are mean ± s.d. Scale bars, 50 nm (a) and 2 nm (b).")
    assert d.labels == ["a", "b"]
    assert d.own == {"a": "TEM image of seeds.", "b": "HRTEM of a rod."}
    assert d.shared_prefix == "Growth of Ag."
    assert d.subcaption("a").startswith("Growth of Ag. TEM image of seeds. Data are mean")
    assert {lab: str(s[0].length) for lab, s in d.scales.items()} == {"a": "50\u2009nm", "b": "2\u2009nm"}


def test_postfix_and_grouped_distribution() -> None:
    d = distribute_caption("Premaxilla of Echinodon. Left premaxilla in view. Stereopair (A) and line drawing (B). "
                           "Hatching indicates broken bone.")
    assert d.own == {"A": "Stereopair", "B": "line drawing."}  # the full stop after "(B)" ends B's sentence
    assert d.shared_prefix == "Premaxilla of Echinodon. Left premaxilla in view."
    assert d.shared_suffix.startswith("Hatching")
    g = distribute_caption("Right kidney (A-C) and prostate (D-F). A: White lesions. B: A focal lesion. "
                           "C: Infiltrates. D-F: In prostate, cells infiltrate (D, E) and nerves (F).")
    assert g.own["A"] == "Right kidney White lesions." and g.own["F"].endswith("nerves.")


def test_inset_sentences_go_to_the_inset() -> None:
    d = distribute_caption("Title. (a) HAADF image. (b) SEM image. Inset in a: FFT of the image. Scale bar, 2 nm.")
    assert d.insets == {"a": "FFT of the image"}
    assert "FFT" not in d.own["a"] + d.own["b"] and d.shared_suffix == "Scale bar, 2 nm."


def test_unlabelled_caption_and_expected_labels() -> None:
    d = distribute_caption("Preliminary and final impression of the maxillary arch.")
    assert d.labels == [""] and d.own[""].startswith("Preliminary")
    d = distribute_caption("Preliminary and final impression of the maxillary arch.", ["a", "b"])
    assert d.labels == ["a", "b"] and d.subcaption("b") == "Preliminary and final impression of the maxillary arch."


@pytest.mark.parametrize(("text", "value", "unit"), [
    ("Scale bar: 200 nm", 200, "nm"), ("(scale bar = 2 µm)", 2, "µm"), ("scale bars are 10 nm", 10, "nm"),
    ("Scale bar 0.5 um", 0.5, "µm"), ("Scale bar, 5 Å", 5, "Å"), ("scale bar 5 A", 5, "Å"),
    ("Scale bars, 2 microns", 2, "µm"), ("Scale bar, 5 nm−1", 5, "nm⁻¹"), ("scale bar. 20 nm", 20, "nm"),
    ("Scale bars equal 5 mm.", 5, "mm"), ("Scale bar, 5 μm", 5, "µm"),
])
def test_scale_statement_forms(text: str, value: float, unit: str) -> None:
    d = distribute_caption(f"(a) TEM. (b) SEM. {text[0].upper()}{text[1:]}")  # a note on the whole figure
    assert [s.length for s in d.scales["a"]] == [Length(value, unit)] == [s.length for s in d.scales["b"]]


def test_units() -> None:
    assert parse_length("5 μm").nm == 5000 and parse_length("2 Å").nm == pytest.approx(0.2)
    assert parse_length("3 1/nm").unit == "nm⁻¹" and parse_length("3 1/nm").nm is None
    assert parse_length("no length here") is None


# Every scale statement in the 14 real Nature figures' captions, as read by a person.
NATURE_SCALES = {
    ("ncomms5946", 1): {"a": "50 nm", "b": "20 nm", "c": "50 nm"},
    ("ncomms5946", 2): {"a": "100 nm", "d": "100 nm", "b": "20 nm", "e": "20 nm"},
    ("ncomms5946", 3): {},
    ("ncomms5946", 4): {"a": "100 nm", "b": "100 nm", "c": "20 nm"},
    ("ncomms5946", 5): {"a": "20 nm", "b": "20 nm", "c": "20 nm"},
    ("ncomms5946", 6): {"a": "5 nm", "b": "5 nm", "c": "5 nm"},
    ("ncomms5946", 7): {lab: "100 nm" for lab in "abcdefghijkl"},
    ("ncomms5946", 8): {lab: "50 nm" for lab in "abcdef"},
    ("ncomms5946", 9): {lab: "100 nm" for lab in "abcdefghij"},
    ("s41467-018-06211-3", 1): {"c": "5 µm", "d": "500 nm", "e": "200 nm", "f": "100 nm", "g": "4 nm", "h": "1 nm",
                                "i": "1 nm"},
    ("s41467-018-06211-3", 2): {"a": "1 nm", "c": "0.2 nm", "d": "0.2 nm", "f": "50 nm"},
    ("s41467-018-06211-3", 3): {}, ("s41467-018-06211-3", 4): {}, ("s41467-018-06211-3", 5): {},
}


def test_every_scale_statement_of_the_14_nature_figures(expected_nature: dict) -> None:
    for (page, number), want in NATURE_SCALES.items():
        caption = next(f["caption"] for f in expected_nature[page]["figures"] if f["number"] == number)
        got = {lab: s[0].length for lab, s in distribute_caption(caption).scales.items()}
        assert got == {lab: parse_length(v) for lab, v in want.items()}, (page, number)
    # ncomms5946 fig 4 states a second bar for the right of panels a and b (20 nm): kept, in order.
    fig4 = next(f["caption"] for f in expected_nature["ncomms5946"]["figures"] if f["number"] == 4)
    assert [str(s.length) for s in distribute_caption(fig4).scales["a"]] == ["100\u2009nm", "20\u2009nm"]


def test_sentences_survive_abbreviations() -> None:
    text = "HAADF image (inset: FFT, Fig. 5b). Particles of ca. 5 nm, e.g. Ag. Data from Smith et al. J. Chem."
    assert split_sentences(text) == ["HAADF image (inset: FFT, Fig. 5b).", "Particles of ca. 5 nm, e.g. Ag.",
                                     "Data from Smith et al. J. Chem."]


def test_keywords_techniques_materials() -> None:
    text = "HAADF–STEM and EDX maps of Ag2MnO4 and Ag–Pd nanocages; UV–vis and XRD of TiO2. In situ TEM."
    assert techniques(text) == ["HAADF-STEM", "TEM", "EDS", "XRD", "UV-vis"]
    assert materials(text)[:4] == ["Ag2MnO4", "Ag–Pd", "TiO2", "nanocage"]
    assert "In" not in materials(text) and "UV" not in materials(text)
    assert query_keywords("Silver nanoparticles on carbon", [("Ag nanoparticle", "silver nanoparticle"),
                                                             ("TEM",)]) == ["Ag nanoparticle"]


def test_cli_captions_batch(tmp_path: Path) -> None:
    batch = tmp_path / "b.jsonl"
    batch.write_text(json.dumps({"caption": "(a) TEM. (b) SEM. Scale bar, 5 nm."}) + "\n"
                     + json.dumps({"caption": "One panel only.", "labels": ["a", "b"]}) + "\n")
    r = figlake("captions", "--batch", str(batch), "--json")
    lines = [json.loads(x) for x in r.stdout.splitlines()]
    assert r.returncode == 0 and len(lines) == 2
    assert lines[0]["scale_statements"] == {"a": "5\u2009nm", "b": "5\u2009nm"}
    assert lines[0]["techniques"] == {"a": ["TEM"], "b": ["SEM"]}
    assert lines[1]["labels"] == ["a", "b"]


def test_caption_and_label_stages_on_a_lake(tmp_path: Path) -> None:
    params = write_params(tmp_path, [CORPUS])
    for module in ("ingest.collect", "ingest.caption_segments", "ingest.labels"):
        run_module(module, tmp_path, "--params", str(params))
    lake = Lake(tmp_path / "lake")
    segments = {(r["figure_id"], r["label"]): r for r in lake.read("caption_segments").to_pylist()}
    a = segments[("10.1038/ncomms5946/fig1", "a")]
    assert a["own_text"] == "TEM image of the initial Ag nanoparticles; scale bar, 50\u2009nm."
    assert (a["scale_value"], a["scale_unit"], a["techniques"]) == (50.0, "nm", ["TEM"])
    assert a["keywords"] == ["Ag nanoparticle", "HAADF-STEM"]  # the example query's families
    labels = {r["subfigure_id"]: r for r in lake.read("labels").to_pylist()}
    assert len(labels) == len(segments)
    row = labels["10.1038/ncomms5946/fig1/a"]
    assert 0 < len(row["caption_labels"]) <= 5 and len(row["abstract_labels"]) <= 3
    assert all(w in a["own_text"].lower() + a["text"].lower() for w in row["caption_labels"])
    first = [r["caption_labels"] for r in lake.read("labels").to_pylist()]
    run_module("ingest.labels", tmp_path, "--params", str(params))
    assert [r["caption_labels"] for r in lake.read("labels").to_pylist()] == first, "deterministic"


def test_abbreviations_and_run_on_notes() -> None:
    d = distribute_caption("Hematoxylin and eosin (H and E) staining of the tumor. (a) Teratoma. (b) Seminoma. "
                           "(e) Carcinoma. (h) Positive reaction. Mitoses were numerous. Abbreviations: PE, "
                           "pleural effusion. All photos were taken at 40x.")
    assert d.shared_prefix == "Hematoxylin and eosin (H and E) staining of the tumor."
    assert d.own["e"] == "Carcinoma." and d.own["h"] == "Positive reaction. Mitoses were numerous."
    assert d.shared_suffix == "Abbreviations: PE, pleural effusion. All photos were taken at 40x."


def test_sentences_after_a_closer_describe_its_labels() -> None:
    d = distribute_caption("Correlation of markers. Expression in tumors (a, c). The mean is given as a line. "
                           "Scatter plots of expression (b, d). Red dots are metastases.")
    assert d.own["a"] == d.own["c"] == "Expression in tumors. The mean is given as a line."
    assert d.own["b"] == "Scatter plots of expression."


def test_lists_of_openers_share_their_lead_and_tail() -> None:
    d = distribute_caption("Compound c26 attenuated inflammation. Compound c26 reduced the number of (A) neutrophils "
                           "and (B) monocytes in BALF. (C) Histology of lung tissue.")
    assert d.shared_prefix == "Compound c26 attenuated inflammation."
    assert d.own["A"].startswith("Compound c26 reduced the number of neutrophils")
    assert d.own["C"] == "Histology of lung tissue."
    d = distribute_caption("Angiopoietin levels. Paired plasma (A) ANG-1 and (B) ANG-2 levels of women at visits.")
    assert d.own["B"] == "Paired plasma ANG-2 levels of women at visits."
    assert d.own["A"].endswith("levels of women at visits.") and "ANG-2" not in d.own["A"]
    d = distribute_caption("Stains. (A) H & E, (B) anti-IL-4 and (C) anti-IL-4 at higher magnification of a cancer.")
    assert d.own["C"].startswith("anti-IL-4 at higher magnification") and "magnification" not in d.own["A"]


def test_references_stay_in_the_text_they_occur_in() -> None:
    d = distribute_caption("Stain for PSA. (a) PSA stain; corresponding H&E is seen in (b). (b) H&E stain.")
    assert d.own["a"] == "PSA stain; corresponding H&E is seen in (b)." and d.own["b"] == "H&E stain."
    g = distribute_caption("Cells. (C, n = 14) tumours are shown. (A) Proteasome. (B) Novel proteins. (C) Markers.")
    assert [t.text for t in g.mentions] == ["(A)", "(B)", "(C)"]


def test_a_note_naming_some_labels_goes_to_them() -> None:
    d = distribute_caption("Heat maps. (A) Top genes. (B) Enrichment. (C) Core genes in ALL. (D) Core genes in tissue. "
                           "When comparing figures C and D, the similarity is clear. Scale bar, 5 µm.")
    assert d.own["C"].endswith("When comparing figures C and D, the similarity is clear.")
    assert d.own["D"] == "Core genes in tissue. When comparing figures C and D, the similarity is clear."
    assert "comparing" not in d.subcaption("A") and d.shared_suffix == "Scale bar, 5 µm."


def test_a_list_of_closers_shares_its_predicate() -> None:
    # the words after the last closer say something of every subject in the list
    d = distribute_caption("Curcumin decreases phosphorylation of synapsin I. Phosphorylation of ERK1/2 (A) and "
                           "synapsin I at MAPK-specific sites 4, 5 (P-SYN I site 4, 5) (B) was detected in lysates. "
                           "Purified synaptosomes were incubated for 2 min. Data are a percentage of controls.")
    assert d.shared_prefix == "Curcumin decreases phosphorylation of synapsin I."
    assert d.own["A"].startswith("Phosphorylation of ERK1/2 was detected in lysates.")
    assert d.own["B"].startswith("synapsin I at MAPK-specific sites 4, 5 (P-SYN I site 4, 5) was detected")
    d = distribute_caption("Treatment prevents impairment. C57BL/6 (A and B) and SW mice (C and D) (n = 12/group) were "
                           "infected with PbA. As a control, one group was inoculated with RBC. (E) Histology.")
    assert all(d.own[lab].startswith(("C57BL/6 (n = 12/group) were infected", "SW mice (n = 12/group) were infected"))
               for lab in "ABCD"), d.own
    assert "inoculated" in d.own["A"] and "inoculated" in d.own["D"]


def test_a_sentence_opening_with_panels_goes_to_them() -> None:
    d = distribute_caption("Brain histology. (A) Crossings. (B) Rearings; data are mean ± SEM. Panels C–E illustrate "
                           "sections of brain regions. C) cortex; D) hippocampus; E) cerebellum.")
    assert "Panels C–E illustrate" not in d.own["B"]
    assert all(d.own[lab].startswith("Panels C–E illustrate sections of brain regions.") for lab in "CDE")


def test_view_from_opens_a_label() -> None:
    d = distribute_caption("Models. (A) Front. (B) Back. (C) View from the left, (D) view from the right "
                           "(nonamer arm), (E) view from above.")
    assert d.own["C"] == "View from the left," and d.own["D"] == "view from the right (nonamer arm),"
    assert d.own["E"] == "view from above."


def test_trailing_notes_on_lines_and_roman_numerals_ending_sentences() -> None:
    d = distribute_caption("Varanus komodoensis. A. Skull in dorsal view. B. Maxilla in lateral view. "
                           "Abbreviations: mcrst, dorsal maxillary crest. Dashed line represents broken edge of "
                           "maxilla. Scale bar = 5 cm.")
    assert d.own["B"] == "Maxilla in lateral view."
    assert d.shared_suffix.startswith("Abbreviations:")
    d = distribute_caption("Sacral vertebrae. A–B, dorsal view. C–D, lateral view. Hatched pattern represents broken "
                           "surfaces. Gray areas represent the iliac attachment. Scale bar represents 10 mm.")
    assert d.own["C"] == "lateral view." and d.shared_suffix.startswith("Hatched pattern")
    assert split_sentences("Binding of synapsin I. Phosphorylation of complex I was low.") == [
        "Binding of synapsin I.", "Phosphorylation of complex I was low."]
    assert len(split_sentences("Drawn by J. Smith. Grown by A. B. Jones.")) == 2
    assert split_sentences("Relative to lamin B. *P<0.05 vs control.") == [
        "Relative to lamin B.", "*P<0.05 vs control."]
    d = distribute_caption("Mist1 in prostates. (a) H&E staining of prostates. (b) Quantitation of Mist1. Cells were "
                           "judged positive or negative for Mist1 staining. Hematoxylin-eosin staining.")
    assert d.own["b"] == "Quantitation of Mist1. Cells were judged positive or negative for Mist1 staining."
    assert d.shared_suffix == "Hematoxylin-eosin staining."


def test_numbered_labels_glued_to_the_previous_item() -> None:
    d = distribute_caption("Enucleation of an ovarian cyst. 1. Capsular incision2. Cyst resection3. Ovarian suture")
    assert d.own == {"1": "Capsular incision", "2": "Cyst resection", "3": "Ovarian suture"}
    d = distribute_caption("Oophorectomy in three steps. 1. Positioning of the loop 2. After placement of 3 loops "
                           "resection 3. Endocoagulation of the stump")
    assert d.own["2"] == "After placement of 3 loops resection" and d.own["3"] == "Endocoagulation of the stump"


def test_colon_labels_after_a_title_without_full_stop() -> None:
    d = distribute_caption("Tomography of femora from mutant mice a: Images of the distal femur. b: Trabecular bone. "
                           "c: Left femurs. d: Bone lengths. In b and d, the error bars represent s.d.")
    assert d.labels == ["a", "b", "c", "d"] and d.own["a"] == "Images of the distal femur."
    assert d.own["b"] == "Trabecular bone. In b and d, the error bars represent s.d."


def test_a_sentence_may_open_with_a_lower_case_word_and_notes_on_one_label() -> None:
    d = distribute_caption("ERα regulates HYAL1. Expression was analysed by immunoblotting (A) and Q-PCR (B). mRNA "
                           "levels of HYAL1 (C) and TFF1 (D) were also analysed. In A, anti-ERα antibody was used.")
    assert d.own["C"] == "mRNA levels of HYAL1 were also analysed." and "immunoblotting" not in d.own["D"]
    assert d.own["A"].startswith("Expression was analysed by immunoblotting")
    assert d.own["A"].endswith("In A, anti-ERα antibody was used.")
    assert "anti-ERα" not in d.subcaption("B")



def test_other_case_letters_name_sub_panels() -> None:
    d = distribute_caption("ASPM levels. (A) Nuclear ASPM. Examples of nuclei with low (a, b) and high (c, d) levels "
                           "are shown. (B) Cytoplasmic ASPM. Examples of low (a, b) and high (c, d) levels. "
                           "(C) Spindle poles. (D) Tumour grade.")
    assert d.labels == ["A", "B", "C", "D"]
    assert d.own["A"] == "Nuclear ASPM. Examples of nuclei with low (a, b) and high (c, d) levels are shown."
    # … but an abbreviation in capitals does not make the panels' letters sub-panels
    d = distribute_caption("Hematoxylin and eosin (H and E) staining. (a-c) Teratoma. (d) Seminoma. (e) Carcinoma.")
    assert d.labels == ["a", "b", "c", "d", "e"]


def test_glossaries_of_one_letter_and_colour_schemes_are_trailing_notes() -> None:
    d = distribute_caption("Gating movements. (a) Superposition of helices. (b) Tilting of helices. The closed (grey) "
                           "and open (red) colour scheme is used throughout. Membrane, grey bars; E, extracellular; "
                           "I, intracellular.")
    assert d.own["b"] == "Tilting of helices."
    assert d.shared_suffix.startswith("The closed (grey)") and d.shared_suffix.endswith("I, intracellular.")


def test_parallel_items_of_a_closer_list_share_the_lead() -> None:
    d = distribute_caption("GSH in Plp1 mice. We observed elevated GSH levels in primary oligodendrocytes of "
                           "transgenic mice (A) and in the white matter of transgenic controls (B).")
    assert d.own["A"] == "We observed elevated GSH levels in primary oligodendrocytes of transgenic mice"
    assert d.own["B"] == "We observed elevated GSH levels in the white matter of transgenic controls."


def test_results_displayed_as_means_are_a_trailing_note() -> None:
    d = distribute_caption("G9a expression. A. Protein expression. B. Anoikis assays. Results indicated are mean "
                           "values of three experiments and are displayed as mean ± SD.")
    assert d.own["B"] == "Anoikis assays." and d.shared_suffix.startswith("Results indicated")


def test_bare_capitals_run_into_the_text_before_them() -> None:
    d = distribute_caption("Leucotrichia interrupta. Male genitalia: A segments IX–X, lateral (base of phallus "
                           "crosshatched) B segments VII–VIII, lateral C segments IX–X, dorsal D phallus, dorsal.")
    assert d.labels == ["A", "B", "C", "D"]
    assert d.own["B"] == "Male genitalia: segments VII–VIII, lateral"
    assert d.own["C"] == "Male genitalia: segments IX–X, dorsal"


def test_scale_lines_in_brackets_are_a_trailing_note() -> None:
    d = distribute_caption("Brasiella, female. 2A Body, dorsal 2B Head, anterior. [Scale lines = 1 mm].")
    assert d.own["B"] == "Head, anterior." and d.shared_suffix == "[Scale lines = 1 mm]."


def test_dotted_openers() -> None:
    d = distribute_caption("Increased Rab3D in cancer specimens (A). Western blot in HMEC cells. (B). Western blot in "
                           "melanoma lines. (C) Staining of tissues. Scale bar, 100 μm.")
    assert d.shared_prefix == "Increased Rab3D in cancer specimens."
    assert d.own["A"] == "Western blot in HMEC cells." and d.own["B"] == "Western blot in melanoma lines."


def test_a_clause_after_semicolon_and_conjunction_starts_a_new_list() -> None:
    d = distribute_caption("Quadratojugal of Euhelopus in rostral (A) and medial (B) views; and the dorsal process of "
                           "the quadratojugal in lateral (C) and medial (D) views.")
    assert d.own["C"] == "the dorsal process of the quadratojugal in lateral"
    assert "Euhelopus" not in d.own["C"] and d.own["A"] == "Quadratojugal of Euhelopus in rostral"
    d = distribute_caption("Ovarian tumours. Staining with antibodies against CK8 (a); COX-1 (b); COX-2 (c).")
    assert d.own["b"] == "Staining with antibodies against COX-1"


def test_a_lead_is_counted_without_its_parentheses() -> None:
    d = distribute_caption("Caudal vertebrae. Penultimate caudal of ROM 1930 in A) right lateral and B) anterior "
                           "views. Transitional caudal vertebra (last free caudal vertebra before first handle "
                           "vertebra of the tail club) of ROM 1930 in C) right lateral and D) anterior views.")
    assert d.own["C"].startswith("Transitional caudal vertebra (last free") and "Transitional" not in d.own["B"]
    d = distribute_caption("Sacrum. Partial sacrum in A) left lateral and B) dorsal (with anterior to the right) "
                           "views.")
    assert d.own["B"].startswith("Partial sacrum in dorsal (with anterior to the right)")


def test_a_group_shares_the_lead_of_its_list_of_closers() -> None:
    d = distribute_caption("Cranial elements. A–C, BP/1/6226a, prefrontal in dorsal (A), ventral (B) and lateral (C) "
                           "views. D–E, BP/1/5525, skull roof in dorsal (D) and ventral (E) views. F, jugal.")
    assert d.own["E"] == "BP/1/5525, skull roof in ventral views."
    assert d.own["D"] == "BP/1/5525, skull roof in dorsal views."
    d = distribute_caption("Effects of H-4073. A and C: Bar diagrams for UM-SCC-74A (A) or CAL27-CisR (C) at IC50 "
                           "doses. B and D: Bar diagrams for cisplatin (B) or H-4073 (D) at IC50 doses.")
    assert d.own["C"] == "Bar diagrams for CAL27-CisR at IC50 doses."
    # long items: where one ends is not plain, so the first keeps the words before it
    d = distribute_caption("Basal cells. (a-c) Staining of prostates showing slight hyperplasia at 1 month (a), "
                           "low-grade PIN at 3 months after induction (b), and high-grade PIN at 6 months (c).")
    assert d.own["b"] == "low-grade PIN at 3 months after induction"


def test_a_verb_after_a_list_of_openers_is_said_of_all_of_them() -> None:
    d = distribute_caption("Ovarian dermoid. (a) Sagittal and (b) oblique T2-weighted images through the cervix, (c) "
                           "axial T1- and (d) fat-suppressed T1-weighted images shows cervical cancer. Incidental "
                           "dermoid can be seen.")
    assert d.own["d"].startswith("fat-suppressed T1-weighted images shows cervical cancer.")
    assert all("shows cervical cancer" in d.own[lab] for lab in "abc"), d.own


def test_openers_followed_by_a_comma_and_lane_notes() -> None:
    d = distribute_caption("Effects of curcumin on metastasis. (A), Immunohistochemistry of MMPs in tumors. (B), "
                           "Expression of MMP-2 by Western blot. Lane 1, ladder; lane 2, blank.")
    assert d.own == {"A": "Immunohistochemistry of MMPs in tumors.", "B": "Expression of MMP-2 by Western blot."}
    assert d.shared_suffix == "Lane 1, ladder; lane 2, blank."


def test_a_glossary_with_colons_is_a_trailing_note() -> None:
    d = distribute_caption("ECG of PVCs. A: Standard 12-lead ECG. B: Rhythm recording. PVC: premature ventricular "
                           "complex, VF: ventricular fibrillation, ECG: electrocardiogram.")
    assert d.own["B"] == "Rhythm recording." and d.shared_suffix.startswith("PVC: premature")


def test_a_list_of_long_clauses_has_no_lead() -> None:
    # each item is a clause of its own: cutting a "lead" by the next item's length would give garbage
    d = distribute_caption("Rat prostates. Normal rats ventral prostate (A), APH in the ventral rat prostate (B), "
                           "treated rats showed a persistent hyperplastic acini that were lined by tall columnar "
                           "epithelium (C), DPP suspension showing decreased number of acini (D).")
    assert d.own["D"] == "DPP suspension showing decreased number of acini."
    assert d.own["C"].startswith("treated rats showed a persistent") and d.own["C"].endswith("columnar epithelium")
    d = distribute_caption("CT thorax showing a fistula between the anastomosis located the neck (A) and the left "
                           "main bronchus (B).")
    assert d.own["B"] == "CT thorax showing a fistula between the anastomosis located the left main bronchus."
    d = distribute_caption("A worm. The cyst is shown by computed tomography scan (A) and magnetic resonance imaging "
                           "(B).")
    assert d.own["B"] == "The cyst is shown by magnetic resonance imaging."


def test_a_modifier_after_a_list_of_closers_describes_all_of_them() -> None:
    d = distribute_caption("Nimodipine improves survival. Cumulative survival (A), rectal temperature (B), and "
                           "parasitaemia (C) of late-stage ECM mice treated with artesunate. Results were pooled.")
    assert all(d.own[lab].endswith("of late-stage ECM mice treated with artesunate.") for lab in "ABC"), d.own


def test_closers_of_a_word_or_two_qualify_the_noun_after_them() -> None:
    d = distribute_caption("Strong (A) and weak (B) XIAP expression in melanoma at ×10. Strong (C) and weak (D) XIAP "
                           "expression at ×60.")
    assert d.own["A"] == "Strong XIAP expression in melanoma at ×10." and d.own["B"] == "weak XIAP expression in " \
        "melanoma at ×10."
    d = distribute_caption("A meningioma. Axial T2-weighted (a) and postcontrast T1-weighted (b) images demonstrate a "
                           "large mass. The lesion shows restricted diffusion (c).")
    assert d.own["a"] == "Axial T2-weighted images demonstrate a large mass."


def test_a_lone_closer_inside_a_group_leaves_the_sentence_to_the_group() -> None:
    d = distribute_caption("Traces of axons. (A–C) Traces capture the geometry. (D–F) While the traces capture the "
                           "geometry well, they contain many false branch points (F). These errors come from mergers.")
    assert all(d.own[lab].startswith("While the traces capture the geometry well") for lab in "DEF"), d.own


def test_a_sentence_opening_with_labels_of_a_group_is_theirs() -> None:
    d = distribute_caption("Mosasaurine humeri. A–B, Prognathodon sp. Spongiosa of the network. C–D, Clidastes sp., "
                           "UCMP 34536. C, broken inner trabeculae. D, cortex with primary osteons. E, Mosasaurinae.")
    assert d.own["C"] == "Clidastes sp., UCMP 34536. broken inner trabeculae."
    assert d.own["D"] == "Clidastes sp., UCMP 34536. cortex with primary osteons."


def test_a_group_heading_ends_the_list_before_it() -> None:
    d = distribute_caption("Vertebrae. (A)—(C) left lateral view of the cervical vertebrae, (A) third, (B) fourth, (C) "
                           "fifth, (D)—(E) left lateral view of the thoracic vertebrae, (D) first, (E) second.")
    assert d.own["A"] == "left lateral view of the cervical vertebrae, third,"
    assert d.own["D"] == "left lateral view of the thoracic vertebrae, first,"


def test_items_ended_by_semicolons_are_whole_and_share_the_sentences_after_them() -> None:
    d = distribute_caption("Brain histology. (A) Crossings. Panels B–G illustrate sections. B–C) cortex; D–E) "
                           "hippocampus; F–G) cerebellum. Congestion was seen in all regions. Scale bar, 100 µm.")
    assert d.own["B"].endswith("cortex; Congestion was seen in all regions.")
    assert d.own["F"].endswith("cerebellum. Congestion was seen in all regions.")
    d = distribute_caption("Chemical structures. (A) gambogic acid; (B) curcumin; (C) ginsenoside Rg3.")
    assert d.own["C"] == "ginsenoside Rg3." and "Rg3" not in d.own["A"]

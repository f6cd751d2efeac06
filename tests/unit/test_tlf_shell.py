"""The TLF shell read back from the RTF: running header, numbering, widths from the content (no word
broken), alignment, repeated headers, listings of 25-30 rows a page, footnotes in words."""

from __future__ import annotations

import re

import pytest
from test_tlf_data import CUT, adae, adsl, build_ard, study

from hepatrial.tlf.render import (
    CELL_PAD,
    TABLE_W,
    _longest_word,
    column_widths,
    numeric_column,
    write_rtf,
)
from hepatrial.tlf.sap import method_words, mmrm_words, model_words
from hepatrial.tlf.shell import DUMMY_STAMP, Shell, assign_numbers, numbering
from hepatrial.tlf.tables import ARD, build_table, listing_sae


@pytest.fixture(scope="module")
def ard(tmp_path_factory):
    st = study(tmp_path_factory.mktemp("s"))
    return ARD(build_ard(st), st, CUT)


def header_group(text: str) -> str:
    i = text.index("{\\header")
    depth = 0
    for j in range(i, len(text)):
        if text[j] == "\\":
            continue
        depth += {"{": 1, "}": -1}.get(text[j], 0)
        if depth == 0:
            return text[i : j + 1]
    raise AssertionError("unbalanced header")


def header_rows(text: str) -> list[tuple[list[int], list[str]]]:
    """(cell right edges in twips, cell texts) of each \\trhdr row."""
    out = []
    for chunk in text.split("\\trowd\\trhdr")[1:]:
        row = chunk.split("\\row")[0]
        edges = [int(x) for x in re.findall(r"\\cellx(\d+)", row)]
        out.append((edges, re.findall(r"\{\\f\d+ (.*?)\}\\cell", row)))
    return out


def test_running_header_names_protocol_title_cut_classification_and_page_x_of_y(ard, tmp_path):
    t = build_table("baseline", ard, "tlf_tables")
    path = tmp_path / "t.rtf"
    write_rtf(t, path)
    head = header_group(path.read_text(encoding="utf-8"))
    assert "Protocol: LIT" in head and "Data cut: 2024-06-30" in head and "CONFIDENTIAL" in head
    # "Page 1 of 2": fields, a space on both sides of "of" ("\chpgn of" ate the space)
    assert (
        "Page {\\field{\\*\\fldinst PAGE }" in head
        and "} of {\\field{\\*\\fldinst NUMPAGES }" in head
    )
    assert "\\chpgn" not in head and "\\tqr\\tx" in head  # right-aligned at the table's edge
    assert DUMMY_STAMP.split()[0] not in head


def test_dummy_stamp_in_header_and_title(ard, tmp_path):
    t = build_table("baseline", ard, "tlf_tables")
    t.shell = Shell.of(ard.study, ard.cut, dummy=True)
    path = tmp_path / "t.rtf"
    write_rtf(t, path)
    text = path.read_text(encoding="utf-8")
    assert "DUMMY RANDOMISATION \\u8212? NOT REAL TREATMENT" in header_group(text)
    assert text.count("NOT REAL TREATMENT") >= 2  # the header and under the title of every page


def test_numbering_defaults_prefixes_and_study_overrides(ard):
    names = ["disposition", "mmrm_MELD", "mmrm_CTPSCORE", "desc_MELD", "unknown"]
    got = assign_numbers(names, ard.study, "tables")
    assert got == {
        "disposition": "14.1.1",
        "mmrm_MELD": "14.2.1.1",
        "mmrm_CTPSCORE": "14.2.1.2",
        "desc_MELD": "14.2.2.1",
        "unknown": "",
    }
    st = ard.study.replace(
        tlf={"numbering": {"tables": {"disposition": "14.1.9", "mmrm_MELD": "14.2.0"}}}
    )
    got = assign_numbers(names, st, "tables")
    assert (
        got["disposition"] == "14.1.9"
        and got["mmrm_MELD"] == "14.2.0"
        and got["mmrm_CTPSCORE"] == "14.2.1.1"
    )
    assert numbering(st)["tables"]["baseline"] == "14.1.2"  # the rest of the default stays
    assert assign_numbers(["l_sae", "l_deaths"], ard.study, "listings") == {
        "l_sae": "14.3.2.3",
        "l_deaths": "14.3.2.2",
    }


def test_numbered_title(ard, tmp_path):
    t = build_table("disposition", ard, "tlf_tables")
    t.number = "14.1.1"
    path = tmp_path / "t.rtf"
    write_rtf(t, path)
    assert "Table 14.1.1}\\line" in path.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", ["ae_grade", "lab_shift", "subgroup", "km", "l_sae"])
def test_no_header_word_is_broken_and_widths_fill_the_page(name, ard, tmp_path):
    t = (
        listing_sae(adae(), adsl(), ard.study, CUT)
        if name == "l_sae"
        else build_table(name, ard, "r")
    )
    path = tmp_path / "t.rtf"
    write_rtf(t, path)
    text = path.read_text(encoding="utf-8")
    rows = header_rows(text)
    assert rows, "the column header is a \\trhdr row"
    edges, cells = rows[0]
    widths = [(b - a) / 1440 for a, b in zip([0, *edges], edges)]
    assert abs(sum(widths) - TABLE_W) < 0.01
    pt = 8 if name == "l_sae" else 9
    for w, h in zip(widths, cells):
        assert _longest_word(h, pt) + CELL_PAD <= w + 0.005, (h, w)


def test_widths_keep_short_columns_whole_and_wrap_long_text():
    header = ["Subject", "Term", "Date", "Grade"]
    cols = [["S-001"], ["a very long preferred term " * 8], ["2024-01-01 (12)"], ["3"]]
    w = column_widths(header, cols, total=6.0)
    assert abs(sum(w) - 6.0) < 1e-6
    assert w[1] == max(w)  # the long text takes the room and wraps
    assert w[2] >= _longest_word("2024-01-01") + CELL_PAD  # the date is never cut


def test_text_columns_left_numbers_centred(ard, tmp_path):
    assert numeric_column(["12 (50.0)", "NE", "(1.2, 3.4)", "<0.001"])
    assert not numeric_column(["RECOVERED/RESOLVED", "FATAL"])
    t = listing_sae(adae(), adsl(), ard.study, CUT)
    path = tmp_path / "l.rtf"
    write_rtf(t, path)
    text = path.read_text(encoding="utf-8")
    outcome = t.rows[0].cells[-1]
    assert re.search(r"\\ql\\fs16\{\\f0 " + re.escape(outcome) + r"\}\\cell", text)


def test_footnotes_say_the_model_in_words():
    words = mmrm_words(
        "UN REML Satterthwaite; CHG ~ BASE + CTPSTRAT + ARM + AVISIT + ARM*AVISIT", "MELD"
    )
    assert "~" not in words and "unstructured covariance matrix" in words
    assert "the treatment arm-by-analysis visit interaction" in words
    assert "Child-Turcotte-Pugh stratum at randomisation" in words and "Satterthwaite" in words
    assert model_words("CHG ~ BASE + ARM * subgroup").endswith(
        "the baseline value, treatment arm, the subgroup and the treatment arm-by-subgroup "
        "interaction"
    )
    assert method_words("UN REML Satterthwaite") == ""  # said once, by the model's footnote
    assert method_words("log-rank stratified by CTPSTRAT").startswith(
        "Log-rank test stratified by the Child"
    )
    assert method_words("some new method") == "Some new method"  # unknown: as recorded


def test_methods_note_is_one_sentence_a_family_and_leaves_roles_to_the_rows():
    from hepatrial.tlf.sap import methods_note

    assert (
        methods_note(
            [
                "UN REML Satterthwaite; KEY SECONDARY ENDPOINT",
                "UN REML Satterthwaite; PRIMARY ENDPOINT",
                "UN REML Satterthwaite",
            ]
        )
        == ""
    )
    ae = [
        "subjects with serious TEAE; % of SAFETY in arm",
        "subjects with TEAE with fatal outcome; % of SAFETY in arm",
        "not collected (no AEACN in the data)",
        "subjects with any TEAE; % of SAFETY in arm",
    ]
    note = methods_note(ae)
    assert note == methods_note(list(reversed(ae)))
    assert note.startswith("Methods: Subjects with at least one treatment-emergent")
    assert note.count(". ") == 0
    shift = [
        f"baseline vs worst post-baseline ({c}) reference-range category; % of subjects with the "
        "lab in arm"
        for c in ("LOW", "HIGH", "most extreme")
    ]
    assert methods_note(shift) == (
        "Methods: Shift from the baseline to the worst post-baseline reference-range category "
        "(high, low and most extreme); percentages of the arm's subjects with the laboratory "
        "parameter."
    )


def test_estimand_methods_note_says_each_thing_once_in_table_order_without_roles():
    from hepatrial.tlf.sap import estimand_methods_note

    model = "model CHG ~ ARM*AVISIT + BASE*AVISIT, UN REML"
    cm, by = "conditional mean imputation, jackknife", "Bayesian MI, M=100, seed 1"
    texts = {
        "PRIMARY": [
            f"estimand PRIMARY (primary); {by}; ICE strategy: MAR; {model}; Rubin's rules; "
            "10 subjects; 0 post-event values set missing",
            f"estimand PRIMARY (primary); {cm}; ICE strategy: MAR; {model}; jackknife SE; "
            "10 subjects; 0 post-event values set missing",
        ],
        "J2R": [
            f"estimand J2R (sensitivity); {cm}; ICE strategy: J2R (n=4); {model}; jackknife SE; "
            "10 subjects; 0 post-event values set missing",
        ],
    }
    note = estimand_methods_note(texts)
    assert note.startswith("Methods: Imputation model: the change from baseline, with fixed")
    assert "~" not in note and "(primary)" not in note and "(sensitivity)" not in note
    assert note.count("10 subjects") == 1 and note.count("Rubin's rules") == 1
    assert note.index("PRIMARY: ICE strategy: MAR") < note.index("J2R: ICE strategy: J2R (n=4)")
    assert "an unstructured covariance matrix, estimated by restricted maximum likelihood" in note
    assert estimand_methods_note({"A": texts["J2R"]}).count("Conditional mean imputation") == 1

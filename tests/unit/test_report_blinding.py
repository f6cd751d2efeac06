"""The blinding gate (open inputs) and arm coding of the closed report."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from studies import make_study

from hepatrial.ard import ARDError, ard_rows, finalise
from hepatrial.report import blinding

RAW = {
    "study": {"id": "ZOO"},
    "masked_dsmb": True,
    "arms": [
        {"label": "ZEBRAFISH-ACTIVE", "arm": "ZEBRAFISH-ACTIVE", "colour": "#123456"},
        {
            "label": "QUOKKA-CONTROL",
            "arm": "QUOKKA-CONTROL",
            "colour": "#654321",
            "reference": True,
        },
    ],
}
STUDY = make_study(**RAW)


def _ard():
    rows = []
    for analysis, paramcd, stat in [
        ("DISPOSITION", "ITT", "n"),
        ("AE_OVERVIEW", "ANYTEAE", "n_subjects"),
        ("DESC", "MELD", "mean"),
        ("KM", "OS", "surv"),
        ("MMRM_LSMEAN", "MELD", "lsmean"),
    ]:
        for arm in ("ZEBRAFISH-ACTIVE", "QUOKKA-CONTROL", "ALL"):
            rows.append(
                {
                    "analysis": analysis,
                    "paramcd": paramcd,
                    "population": "ITT",
                    "arm": arm,
                    "stat": stat,
                    "value": 1.0,
                    "method": "m",
                }
            )
    rows.append(
        {
            "analysis": "LOGRANK",
            "paramcd": "OS",
            "population": "ITT",
            "arm": "ALL",
            "stat": "p",
            "value": 0.5,
            "method": "log-rank, 3 arms",
        }
    )
    return finalise(ard_rows(rows))


def _listings():
    saes = pl.DataFrame(
        {
            "USUBJID": ["S-2", "S-1"],
            "SITEID": ["01", "02"],
            "arm": ["QUOKKA-CONTROL", "ZEBRAFISH-ACTIVE"],
            "AEDECOD": ["Hepatic failure", "Sepsis"],
            "AEBODSYS": ["Hepatobiliary", "Infections"],
            "ASTDT": [None, None],
            "ASTDY": [3, 4],
            "ATOXGR": [5, 3],
            "AREL": ["N", "Y"],
            "AEOUT": ["FATAL", "RECOVERED"],
            "TRTEMFL": ["Y", "Y"],
        },
        schema_overrides={"ASTDT": pl.Date},
    )
    deaths = pl.DataFrame(
        {
            "USUBJID": ["S-2"],
            "SITEID": ["01"],
            "arm": ["QUOKKA-CONTROL"],
            "DTHDT": [None],
            "DTHDY": [10],
            "CAUSE": ["Hepatic failure"],
            "LTXDT": [None],
        },
        schema_overrides={"DTHDT": pl.Date, "LTXDT": pl.Date},
    )
    return saes, deaths


def test_pooled_ard_keeps_pooled_rows_of_allowed_analyses_without_arm_columns():
    out = blinding.pooled_ard(_ard())
    assert out.columns == list(blinding.OPEN_ARD_COLUMNS)
    assert sorted(out["analysis"].to_list()) == [
        "AE_OVERVIEW",
        "DISPOSITION",
    ]  # no DESC, KM, MMRM, LOGRANK


def test_open_inputs_have_no_arm_column_no_label_and_subject_order():
    saes, deaths = _listings()
    frames, findings = blinding.build_open_inputs(_ard(), saes, deaths, STUDY)
    assert findings.height == 0
    assert set(frames) == {"pooled_ard", "saes", "deaths"}
    assert "AREL" not in frames["saes"].columns  # no per-subject relatedness in the open listing
    assert "arm" not in frames["saes"].columns and "arm" not in frames["deaths"].columns
    assert frames["saes"]["USUBJID"].to_list() == ["S-1", "S-2"]  # by subject, not by arm
    assert blinding.find_arm_information(frames, blinding.arm_terms(STUDY)) == []


def test_gate_redacts_an_arm_label_in_free_text_and_reports_where():
    saes, deaths = _listings()
    deaths = deaths.with_columns(pl.lit("withdrawn from zebrafish-active infusion").alias("CAUSE"))
    frames, findings = blinding.build_open_inputs(_ard(), saes, deaths, STUDY)
    assert frames["deaths"]["CAUSE"].to_list() == [f"withdrawn from {blinding.REDACTED} infusion"]
    assert findings.to_dicts() == [
        {"file": "deaths", "row": 1, "column": "CAUSE", "term": "ZEBRAFISH-ACTIVE"}
    ]
    dq = frames["pooled_ard"].filter(pl.col("analysis") == "DQ_FINDINGS")
    assert dq.filter(pl.col("stat") == "n")["value"].to_list() == [1.0]


RCT = make_study(
    study={"id": "UCMSC-DC-RCT"},
    masked_dsmb=True,
    arms=[
        {"label": "UC-MSC", "dose": "6x10^7 cells x 3"},
        {"label": "Placebo", "reference": True, "dose": "saline with 1% albumin x 3"},
    ],
)


@pytest.mark.parametrize(
    "text",
    [
        "UCMSC CELL INFUSION REACTION",
        "Reaction to UC MSC cells",
        "Death after UC\u2011MSC",
        "death after uc\u2013msc infusion",
        "ＵＣ－ＭＳＣ reaction",
        "given PLACEBO.",
        "Infusion of 6x10^7 cells x 3",
        # spelled letter by letter: a window of the term's words + 3 tokens missed these
        "P L A C E B O given",
        "u-c-m-s-c reaction",
        # a Cyrillic Es, a Cyrillic Er, a Greek omicron: drawn as the Latin letters
        "UC-MS\u0421 reaction",
        "\u0420lacebo giv\u03bfn",
    ],
)
def test_near_miss_treatment_terms_are_redacted(text):
    saes, deaths = _listings()
    saes = saes.with_columns(pl.lit(text).alias("AEDECOD"))
    frames, findings = blinding.build_open_inputs(
        _ard(), saes, deaths, RCT, extra_terms=["UCMSC", "PLACEBO"]
    )
    assert findings.height == 2 and set(findings["column"]) == {"AEDECOD"}
    assert all(blinding.REDACTED in v for v in frames["saes"]["AEDECOD"].to_list())
    assert (
        blinding.find_arm_information(frames, blinding.arm_terms(RCT, ["UCMSC", "PLACEBO"])) == []
    )


@pytest.mark.parametrize(
    "text", ["Mucositis", "UC-001 hepatic failure", "Placebos", "msc", "Pyrexia"]
)
def test_words_that_only_contain_a_term_are_left_alone(text):
    m = blinding.TermMatcher(blinding.arm_terms(RCT, ["UCMSC", "PLACEBO"]))
    assert m.find(text) == []


def test_an_identifier_equal_to_an_arm_term_still_stops_the_open_report():
    saes, deaths = _listings()
    saes = saes.with_columns(pl.lit("Placebo").alias("SITEID"))
    with pytest.raises(blinding.BlindingError, match="SITEID"):
        blinding.build_open_inputs(_ard(), saes, deaths, RCT)


def test_arm_columns_are_recognised_but_not_other_trt_variables():
    assert all(
        blinding.is_arm_column(c)
        for c in ("ARM", "ACTARMCD", "TRT01P", "TRT01AN", "TRTA", "EXDOSE", "arm")
    )
    assert not any(blinding.is_arm_column(c) for c in ("TRTEMFL", "TRTSDT", "AEDECOD", "USUBJID"))
    found = blinding.find_arm_information(
        {"x": pl.DataFrame({"TRT01P": ["a"]})}, ["QUOKKA-CONTROL"]
    )
    assert found == ["x: column TRT01P is an arm/treatment variable"]


def test_masked_codes_are_stable_neutral_and_not_tied_to_config_order():
    codes = blinding.arm_codes(STUDY)
    assert [c["display"] for c in codes] == ["Arm A", "Arm B"]
    assert {c["colour"] for c in codes}.isdisjoint({"#123456", "#654321"})
    swapped = make_study(**dict(RAW, arms=list(reversed(RAW["arms"]))))
    assert blinding.arm_codes(swapped) == codes  # config order does not decide who is A
    unmasked = blinding.arm_codes(make_study(**dict(RAW, masked_dsmb=False)))
    assert [(c["display"], c["colour"]) for c in unmasked] == [
        ("ZEBRAFISH-ACTIVE", "#123456"),
        ("QUOKKA-CONTROL", "#654321"),
    ]


def _comparison_rows(test, ref):
    rows = [
        {
            "analysis": "COX",
            "paramcd": "OS",
            "population": "ITT",
            "arm": test,
            "comparator": ref,
            "stat": s,
            "value": v,
            "method": "Cox Efron",
        }
        for s, v in (("hr", 2.0), ("lower", 1.25), ("upper", 4.0), ("p", 0.03))
    ]
    rows += [
        {
            "analysis": "MMRM_DIFF",
            "paramcd": "MELD",
            "population": "ITT",
            "arm": test,
            "comparator": ref,
            "avisit": "WEEK 24",
            "stat": s,
            "value": v,
            "method": "UN",
        }
        for s, v in (("estimate", -1.5), ("lower", -2.5), ("upper", -0.5), ("se", 0.5))
    ]
    return finalise(ard_rows(rows))


def test_masked_comparisons_are_reoriented_to_code_order():
    codes = {c["label"]: c["display"] for c in blinding.arm_codes(STUDY)}
    a, b = "ZEBRAFISH-ACTIVE", "QUOKKA-CONTROL"
    first = min(codes.values())
    # one orientation is already in code order, the other is reversed: both must come out "A vs B"
    (kept_test, kept_ref), (rev_test, rev_ref) = sorted(
        [(a, b), (b, a)], key=lambda p: codes[p[0]] != first
    )
    kept = {
        (r["analysis"], r["stat"]): (r["arm"], r["comparator"], r["value"])
        for r in blinding.code_ard(_comparison_rows(kept_test, kept_ref), STUDY).to_dicts()
    }
    rev = {
        (r["analysis"], r["stat"]): (r["arm"], r["comparator"], r["value"])
        for r in blinding.code_ard(_comparison_rows(rev_test, rev_ref), STUDY).to_dicts()
    }
    assert {x[:2] for x in kept.values()} == {x[:2] for x in rev.values()} == {("Arm A", "Arm B")}
    assert kept[("COX", "hr")][2] == 2.0 and kept[("MMRM_DIFF", "estimate")][2] == -1.5
    assert rev[("COX", "hr")][2] == 0.5
    assert rev[("COX", "lower")][2] == 0.25 and rev[("COX", "upper")][2] == 0.8
    assert rev[("COX", "p")][2] == 0.03
    assert rev[("MMRM_DIFF", "estimate")][2] == 1.5
    assert rev[("MMRM_DIFF", "lower")][2] == 0.5 and rev[("MMRM_DIFF", "upper")][2] == 2.5
    assert rev[("MMRM_DIFF", "se")][2] == 0.5


def test_masked_closed_inputs_with_a_label_left_are_refused():
    df = pl.DataFrame({"arm": ["Arm A"], "method": ["vs QUOKKA-CONTROL"]})
    with pytest.raises(blinding.BlindingError):
        blinding.assert_masked({"ard": df}, STUDY)


# --- masking by construction: every comparative analysis, both orientations ------------------------
# A comparison as each analysis writes it, (stat, value) for a true effect of size e > 0 favouring
# ZEBRAFISH-ACTIVE over QUOKKA-CONTROL, written "test vs reference". A reference of the other arm
# (the twin study) writes the same comparison the other way round: these are written out here by
# hand (negated differences, inverted ratios, limits swapped), not by the code under test.
def _as_written(
    analysis: str, e: float, half: float, active_is_test: bool
) -> list[tuple[str, float]]:
    s = (
        -1.0 if active_is_test else 1.0
    )  # MELD change: active lowers it; the difference is test - reference
    if analysis in ("COX", "COX_UNSTRAT"):
        hr = 2.0 ** (-e) if active_is_test else 2.0**e
        return [("hr", hr), ("lower", hr * 2.0**-half), ("upper", hr * 2.0**half), ("p", 0.04)]
    if analysis in ("LOGRANK", "GRAY"):
        return [("chisq", 4.2), ("df", 1.0), ("p", 0.04)]
    est = s * e
    rows = [
        ("estimate", est),
        ("lower", est - half),
        ("upper", est + half),
        ("se", half / 1.96),
        ("p", 0.01),
    ]
    if analysis in ("MMRM_DIFF", "SUBGROUP"):
        rows.append(("df", 120.0))
    if analysis == "SUBGROUP":
        rows.append(("n", 88.0))
    return rows


COMPARATIVE = ("MMRM_DIFF", "LMM_DIFF", "SUBGROUP", "COX", "COX_UNSTRAT", "LOGRANK", "GRAY")


def _comparative_ard(active_is_test: bool, e: float, half: float):
    test, ref = (
        ("ZEBRAFISH-ACTIVE", "QUOKKA-CONTROL")
        if active_is_test
        else ("QUOKKA-CONTROL", "ZEBRAFISH-ACTIVE")
    )
    rows = []
    for an in COMPARATIVE:
        for stat, value in _as_written(an, e, half, active_is_test):
            rows.append(
                {
                    "analysis": an,
                    "paramcd": "MELD|SEX=F" if an == "SUBGROUP" else "MELD",
                    "population": "ITT",
                    "arm": test,
                    "comparator": ref,
                    "avisit": "WEEK 24",
                    "stat": stat,
                    "value": value,
                    "method": f"{test} vs {ref}",
                }
            )
    return finalise(ard_rows(rows))


def _twin(raw):
    return make_study(
        **dict(raw, arms=[dict(a, reference=not a.get("reference", False)) for a in raw["arms"]])
    )


@settings(max_examples=40, deadline=None)
@given(e=st.floats(0.05, 5.0), half=st.floats(0.01, 3.0))
def test_masking_keeps_estimates_inside_their_ci_and_one_direction_in_every_analysis(e, half):
    coded = blinding.code_ard(_comparative_ard(True, e, half), STUDY)
    twin = blinding.code_ard(_comparative_ard(False, e, half), _twin(RAW))
    # the twin study (the other arm as reference) gives the same masked report data
    assert coded.drop("value").equals(twin.drop("value"))
    assert coded["value"].to_list() == pytest.approx(twin["value"].to_list(), rel=1e-12)
    assert set(coded["arm"]) == {"Arm A"} and set(coded["comparator"]) == {"Arm B"}
    point = {"estimate", "hr"}
    signs = set()
    for (an, _p), g in coded.group_by(["analysis", "paramcd"], maintain_order=True):
        d = dict(zip(g["stat"], g["value"]))
        est = next((d[s] for s in point if s in d), None)
        if est is None:
            continue
        assert d["lower"] <= est <= d["upper"], (an, d)
        signs.add(
            (est < 0) if "estimate" in d else (est < 1)
        )  # Arm A better: lower MELD, fewer events
    assert len(signs) == 1  # every analysis agrees on which arm does better
    codes = {c["label"]: c["display"] for c in blinding.arm_codes(STUDY)}
    mmrm = coded.filter((pl.col("analysis") == "MMRM_DIFF") & (pl.col("stat") == "estimate"))[
        "value"
    ][0]
    # Arm A is the active arm exactly when the active arm's lower MELD shows as a negative difference
    assert (mmrm < 0) == (codes["ZEBRAFISH-ACTIVE"] == "Arm A")


def test_an_undeclared_comparison_statistic_is_refused_not_left_unturned():
    rows = finalise(
        ard_rows(
            [
                {
                    "analysis": "NEW_DIFF",
                    "paramcd": "MELD",
                    "population": "ITT",
                    "arm": "QUOKKA-CONTROL",
                    "comparator": "ZEBRAFISH-ACTIVE",
                    "stat": "odds",
                    "value": 2.0,
                    "method": "",
                }
            ]
        )
    )
    codes = {c["label"]: c["display"] for c in blinding.arm_codes(STUDY)}
    if codes["QUOKKA-CONTROL"] == "Arm B":
        with pytest.raises(ARDError, match="odds"):
            blinding.code_ard(rows, STUDY)
    else:
        with pytest.raises(ARDError, match="odds"):
            blinding.code_ard(rows, _twin(RAW))


@pytest.mark.parametrize("active_is_test", [True, False])
def test_masked_estimand_summary_names_the_difference_in_the_direction_shown(active_is_test):
    """The estimand's population-level summary ("UC-MSC minus Placebo" in the config) is masked
    with the comparison it describes: when the closed report turns a comparison round to code
    order ("Arm A vs Arm B"), the text says "Arm A minus Arm B" and the difference shown is that
    one (the arm key may make it "Placebo minus UC-MSC": the text follows the numbers)."""
    active, control = "ZEBRAFISH-ACTIVE", "QUOKKA-CONTROL"
    test, ref = (active, control) if active_is_test else (control, active)
    truth = {(active, control): -1.5, (control, active): 1.5}  # active minus control = -1.5
    rows = [
        {
            "analysis": "ESTIMAND",
            "paramcd": "MELD|PRIMARY",
            "population": "ITT",
            "arm": test,
            "comparator": ref,
            "avisit": "WEEK 24",
            "stat": "attr_summary",
            "value": None,
            "method": f"difference in mean change from baseline ({test} minus {ref})",
        },
        {
            "analysis": "MI_DIFF",
            "paramcd": "MELD|PRIMARY|condmean",
            "population": "ITT",
            "arm": test,
            "comparator": ref,
            "avisit": "WEEK 24",
            "stat": "estimate",
            "value": truth[(test, ref)],
            "method": "estimand PRIMARY (primary); conditional mean imputation",
        },
    ]
    coded = blinding.code_ard(finalise(ard_rows(rows)), STUDY)
    label = {c["display"]: c["label"] for c in blinding.arm_codes(STUDY)}
    summary = coded.filter(pl.col("stat") == "attr_summary").row(0, named=True)
    diff = coded.filter(pl.col("stat") == "estimate").row(0, named=True)
    x, y = summary["method"].split("(", 1)[1].rstrip(")").split(" minus ")
    assert (summary["arm"], summary["comparator"]) == (diff["arm"], diff["comparator"])
    assert (x, y) == (diff["arm"], diff["comparator"]) == ("Arm A", "Arm B")
    assert diff["value"] == truth[(label[x], label[y])]


def test_redactions_are_one_warning_per_file_and_column_naming_the_listing():
    """A study whose arm codes are common words (LOW, HIGH) can have hundreds of cells redacted:
    the console gets one line per file and column (how many rows, the first five, where every
    one is listed), not one line per row."""
    import warnings

    from hepatrial.errors import HepatrialWarning
    from hepatrial.report.run import _warn_redactions

    findings = pl.DataFrame(
        {
            "file": ["pooled_ard"] * 12 + ["saes"],
            "row": [*range(838, 845), *range(900, 905), 3],
            "column": ["paramcd"] * 7 + ["method"] * 5 + ["AETERM"],
            "term": ["HIGH"] * 13,
        }
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _warn_redactions(findings, "dsmb/open_redactions.csv")
    lines = [str(w.message) for w in caught if issubclass(w.category, HepatrialWarning)]
    assert len(lines) == 3
    assert lines[0].startswith("open report input pooled_ard, column paramcd:")
    assert "in 7 row(s) (838, 839, 840, 841, 842, ...)" in lines[0]
    assert "every one in dsmb/open_redactions.csv" in lines[0]
    assert "in 5 row(s) (900, 901, 902, 903, 904)" in lines[1] and "..." not in lines[1]
    assert (
        lines[2].startswith("open report input saes, column AETERM:")
        and "in 1 row(s) (3)" in lines[2]
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _warn_redactions(findings.clear(), "x.csv")
    assert not caught


def _method_ard(*rows: tuple[str, str, str]) -> pl.DataFrame:
    """Pooled ARD rows (analysis, paramcd, method)."""
    return finalise(
        ard_rows(
            [
                {
                    "analysis": analysis,
                    "paramcd": paramcd,
                    "population": "SAFETY",
                    "arm": "ALL",
                    "stat": "n",
                    "value": 2.0,
                    "method": method,
                }
                for analysis, paramcd, method in rows
            ]
        )
    )


def _shift_ard(*paramcds: tuple[str, str]) -> pl.DataFrame:
    return _method_ard(*((a, p, "worst post-baseline category") for a, p in paramcds))


def test_lab_shift_categories_are_not_taken_for_arm_codes_low_and_high():
    """A dose escalation coded LOW / HIGH (DM ARMCD): the pooled lab shift keys ALT|HIGH|ALL
    are the pipeline's reference-range categories, not free text: kept, so the open report's
    shift table keeps its Low and High columns (it showed NE there). An arm word anywhere else
    is still redacted, in a free-text key component too, and the strict check stays strict."""
    saes, deaths = _listings()
    ard = _shift_ard(
        ("LAB_SHIFT", "ALT|HIGH|ALL"),
        ("LAB_SHIFT", "ALT|LOW|Missing"),
        ("LAB_SHIFT", "ALT|NORMAL|HIGH"),
        ("LAB_SHIFT", "ALT|HIGH dose|ALL"),  # not a category: free text
        ("DISPOSITION", "DISCONTINUED: HIGH"),
    )
    frames, findings = blinding.build_open_inputs(
        ard, saes, deaths, STUDY, extra_terms=["LOW", "HIGH"]
    )
    keys = frames["pooled_ard"].filter(pl.col("stat") == "n")["paramcd"].to_list()
    assert {"ALT|HIGH|ALL", "ALT|LOW|Missing", "ALT|NORMAL|HIGH"} <= set(keys)
    assert f"ALT|{blinding.REDACTED} dose|ALL" in keys
    assert f"DISCONTINUED: {blinding.REDACTED}" in keys
    assert sorted(findings.filter(pl.col("column") == "paramcd")["term"].to_list()) == [
        "HIGH",
        "HIGH",
    ]
    terms = ["LOW", "HIGH", *blinding.arm_terms(STUDY)]
    assert blinding.find_arm_information({"pooled_ard": frames["pooled_ard"]}, terms) == []
    # the same words in a key of an analysis without a closed vocabulary are findings
    other = _shift_ard(("AE_OVERVIEW", "ALT|HIGH|ALL"))
    assert blinding.find_arm_information({"x": other}, terms)
    # the lab component is matched like any text
    lab = _shift_ard(("LAB_SHIFT", "HIGH|NORMAL|ALL"))
    assert blinding.find_arm_information({"x": lab}, terms)


def test_the_key_vocabulary_is_the_lab_shift_categories():
    from hepatrial.analysis.baseline import CATEGORIES

    assert blinding.KEY_VOCABULARY["LAB_SHIFT"] == frozenset([*CATEGORIES, "ALL"])


def test_lab_shift_methods_are_not_taken_for_arm_codes_low_and_high():
    """The dose escalation coded LOW / HIGH: its open report's lab shift footnote read "worst
    post-baseline reference-range category ([treatment term redacted] and most extreme)". The
    lab shift methods are texts the pipeline composes (hepatrial.ard.lab_shift_method), kept
    whole; the same words in any other method, or a lab shift method with anything added, are
    redacted and found as before."""
    from hepatrial.ard import lab_shift_method

    saes, deaths = _listings()
    high, low, extreme = (lab_shift_method(d) for d in ("HIGH", "LOW", "most extreme"))
    ard = _method_ard(
        ("LAB_SHIFT", "ALT|HIGH|ALL", high),
        ("LAB_SHIFT", "ALB|LOW|ALL", low),
        ("LAB_SHIFT", "NA|LOW|ALL", extreme),
        ("LAB_SHIFT", "AST|HIGH|ALL", high + " (HIGH dose)"),  # not the composed text: free
        ("AE_OVERVIEW", "ANY", high),  # another analysis: free text
    )
    frames, findings = blinding.build_open_inputs(
        ard, saes, deaths, STUDY, extra_terms=["LOW", "HIGH"]
    )
    pooled = frames["pooled_ard"].filter(pl.col("analysis") != "DQ_FINDINGS")
    methods = dict(zip(pooled["paramcd"].to_list(), pooled["method"].to_list()))
    assert methods["ALT|HIGH|ALL"] == high and methods["ALB|LOW|ALL"] == low
    assert methods["NA|LOW|ALL"] == extreme
    assert methods["AST|HIGH|ALL"] == high.replace("(HIGH)", f"({blinding.REDACTED})") + (
        f" ({blinding.REDACTED} dose)"
    )
    assert methods["ANY"] == high.replace("(HIGH)", f"({blinding.REDACTED})")
    assert sorted(findings.filter(pl.col("column") == "method")["row"].to_list()) == [1, 4]
    terms = ["LOW", "HIGH", *blinding.arm_terms(STUDY)]
    assert blinding.find_arm_information({"pooled_ard": frames["pooled_ard"]}, terms) == []
    # found by the strict check where the text is not a lab shift's composed method
    assert blinding.find_arm_information({"x": _method_ard(("AE_OVERVIEW", "ANY", high))}, terms)
    assert blinding.find_arm_information(
        {"x": _method_ard(("LAB_SHIFT", "ALT|HIGH|ALL", high + "."))}, terms
    )


def test_the_method_vocabulary_covers_every_worst_direction():
    """Every lab's worst direction composes a method the gate knows."""
    from hepatrial.analysis.baseline import WORST_DIRECTION
    from hepatrial.ard import LAB_SHIFT_DIRECTIONS, lab_shift_method

    assert set(WORST_DIRECTION.values()) | {"most extreme"} == set(LAB_SHIFT_DIRECTIONS)
    known = blinding.METHOD_VOCABULARY["LAB_SHIFT"]
    assert {lab_shift_method(d) for d in LAB_SHIFT_DIRECTIONS} == known
    with pytest.raises(ValueError):
        lab_shift_method("HIGH dose")


def test_the_redaction_note_counts_in_the_findings_table():
    """The open report's validation findings table showed the gate's note "OPEN REPORT INFO
    treatment term redacted NE NE": its row had no population, the table reads ALL RECORDS.
    Now the count of redacted cells is in the Findings column."""
    from hepatrial.report import content
    from hepatrial.tlf.tables import ARD

    saes, deaths = _listings()
    ard = _method_ard(("DISPOSITION", "DISCONTINUED: HIGH", "n"), ("AE_OVERVIEW", "HIGH", "n"))
    frames, findings = blinding.build_open_inputs(
        ard, saes, deaths, STUDY, extra_terms=["LOW", "HIGH"]
    )
    assert findings.height == 2
    note = frames["pooled_ard"].filter(pl.col("analysis") == "DQ_FINDINGS")
    assert note["paramcd"].unique().to_list() == ["OPEN REPORT|INFO|TREATMENT_TERM_REDACTED"]
    assert note["population"].unique().to_list() == [content.ALL_RECORDS]
    a = ARD(content.with_arm_columns(frames["pooled_ard"]), STUDY, "2025-06-30")  # as the report
    p = "OPEN REPORT|INFO|TREATMENT_TERM_REDACTED"
    assert a.get("DQ_FINDINGS", p, content.TOTAL, "n", content.ALL_RECORDS) == 2


def test_masked_free_text_is_one_warning_per_file_and_column():
    """A masked closed report whose SAE verbatim terms name the treatment: one warning per file
    and column (how many distinct values, the first three, the terms), not a line per value."""
    import warnings

    from hepatrial.errors import HepatrialWarning
    from hepatrial.report.run import _warn_masked_text

    label = STUDY.arms[0].label
    saes = pl.DataFrame(
        {
            "USUBJID": [f"S-{i}" for i in range(6)],
            "arm": ["A"] * 6,
            "AETERM": [f"reaction {i} after {label}" for i in range(5)] + ["Sepsis"],
            "AEOUT": ["RECOVERED"] * 6,
        }
    )
    hits = blinding.masked_free_text({"saes": saes}, STUDY)
    assert len(hits) == 5 and {h[:2] for h in hits} == {("saes", "AETERM")}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _warn_masked_text(hits)
    lines = [str(w.message) for w in caught if issubclass(w.category, HepatrialWarning)]
    assert len(lines) == 1
    assert lines[0].startswith(
        "masked closed report input saes, column AETERM: 5 distinct value(s)"
    )
    assert f"'reaction 0 after {label}'; 'reaction 1 after {label}'; " in lines[0]
    assert "; ...)" in lines[0] and f"({label!r})" in lines[0]
    unmasked = make_study(**dict(RAW, masked_dsmb=False))
    assert blinding.masked_free_text({"saes": saes}, unmasked) == []

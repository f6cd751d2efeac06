"""The blinding gate (open inputs) and arm coding of the closed report."""

from __future__ import annotations

import polars as pl
import pytest

from hepatrial.ard import ard_rows, finalise
from hepatrial.report import blinding

STUDY = {"study": {"id": "ZOO"}, "masked_dsmb": True,
         "arms": [{"label": "ZEBRAFISH-ACTIVE", "arm": "ZEBRAFISH-ACTIVE", "colour": "#123456"},
                  {"label": "QUOKKA-CONTROL", "arm": "QUOKKA-CONTROL", "colour": "#654321", "reference": True}]}


def _ard():
    rows = []
    for analysis, paramcd, stat in [("DISPOSITION", "ITT", "n"), ("AE_OVERVIEW", "ANYTEAE", "n_subjects"),
                                    ("DESC", "MELD", "mean"), ("KM", "OS", "surv"), ("MMRM_LSMEAN", "MELD", "lsmean")]:
        for arm in ("ZEBRAFISH-ACTIVE", "QUOKKA-CONTROL", "ALL"):
            rows.append({"analysis": analysis, "paramcd": paramcd, "population": "ITT", "arm": arm, "stat": stat,
                         "value": 1.0, "method": "m"})
    rows.append({"analysis": "LOGRANK", "paramcd": "OS", "population": "ITT", "arm": "ALL", "stat": "p",
                 "value": 0.5, "method": "log-rank, 3 arms"})
    return finalise(ard_rows(rows))


def _listings():
    saes = pl.DataFrame({"USUBJID": ["S-2", "S-1"], "SITEID": ["01", "02"], "arm": ["QUOKKA-CONTROL", "ZEBRAFISH-ACTIVE"],
                         "AEDECOD": ["Hepatic failure", "Sepsis"], "AEBODSYS": ["Hepatobiliary", "Infections"],
                         "ASTDT": [None, None], "ASTDY": [3, 4], "ATOXGR": [5, 3], "AREL": ["N", "Y"],
                         "AEOUT": ["FATAL", "RECOVERED"], "TRTEMFL": ["Y", "Y"]},
                        schema_overrides={"ASTDT": pl.Date})
    deaths = pl.DataFrame({"USUBJID": ["S-2"], "SITEID": ["01"], "arm": ["QUOKKA-CONTROL"], "DTHDT": [None],
                           "DTHDY": [10], "CAUSE": ["Hepatic failure"], "LTXDT": [None]},
                          schema_overrides={"DTHDT": pl.Date, "LTXDT": pl.Date})
    return saes, deaths


def test_pooled_ard_keeps_pooled_rows_of_allowed_analyses_without_arm_columns():
    out = blinding.pooled_ard(_ard())
    assert out.columns == list(blinding.OPEN_ARD_COLUMNS)
    assert sorted(out["analysis"].to_list()) == ["AE_OVERVIEW", "DISPOSITION"]  # no DESC, KM, MMRM, LOGRANK


def test_open_inputs_have_no_arm_column_no_label_and_subject_order():
    saes, deaths = _listings()
    frames = blinding.build_open_inputs(_ard(), saes, deaths, STUDY)
    assert set(frames) == {"pooled_ard", "saes", "deaths"}
    assert "arm" not in frames["saes"].columns and "arm" not in frames["deaths"].columns
    assert frames["saes"]["USUBJID"].to_list() == ["S-1", "S-2"]  # by subject, not by arm
    assert blinding.find_arm_information(frames, blinding.arm_terms(STUDY)) == []


def test_gate_fails_closed_when_an_arm_label_reaches_an_open_listing():
    saes, deaths = _listings()
    deaths = deaths.with_columns(pl.lit("withdrawn from zebrafish-active infusion").alias("CAUSE"))
    with pytest.raises(blinding.BlindingError, match="ZEBRAFISH-ACTIVE"):
        blinding.build_open_inputs(_ard(), saes, deaths, STUDY)


def test_arm_columns_are_recognised_but_not_other_trt_variables():
    assert all(blinding.is_arm_column(c) for c in ("ARM", "ACTARMCD", "TRT01P", "TRT01AN", "TRTA", "EXDOSE", "arm"))
    assert not any(blinding.is_arm_column(c) for c in ("TRTEMFL", "TRTSDT", "AEDECOD", "USUBJID"))
    found = blinding.find_arm_information({"x": pl.DataFrame({"TRT01P": ["a"]})}, ["QUOKKA-CONTROL"])
    assert found == ["x: column TRT01P is an arm/treatment variable"]


def test_masked_codes_are_stable_neutral_and_not_tied_to_config_order():
    codes = blinding.arm_codes(STUDY)
    assert [c["display"] for c in codes] == ["Arm A", "Arm B"]
    assert {c["colour"] for c in codes}.isdisjoint({"#123456", "#654321"})
    swapped = dict(STUDY, arms=list(reversed(STUDY["arms"])))
    assert blinding.arm_codes(swapped) == codes  # config order does not decide who is A
    unmasked = blinding.arm_codes(dict(STUDY, masked_dsmb=False))
    assert [(c["display"], c["colour"]) for c in unmasked] == [("ZEBRAFISH-ACTIVE", "#123456"),
                                                               ("QUOKKA-CONTROL", "#654321")]


def _comparison_rows(test, ref):
    rows = [{"analysis": "COX", "paramcd": "OS", "population": "ITT", "arm": test, "comparator": ref, "stat": s,
             "value": v, "method": "Cox Efron"} for s, v in (("hr", 2.0), ("lower", 1.25), ("upper", 4.0), ("p", 0.03))]
    rows += [{"analysis": "MMRM_DIFF", "paramcd": "MELD", "population": "ITT", "arm": test, "comparator": ref,
              "avisit": "WEEK 24", "stat": s, "value": v, "method": "UN"}
             for s, v in (("estimate", -1.5), ("lower", -2.5), ("upper", -0.5), ("se", 0.5))]
    return finalise(ard_rows(rows))


def test_masked_comparisons_are_reoriented_to_code_order():
    codes = {c["label"]: c["display"] for c in blinding.arm_codes(STUDY)}
    a, b = "ZEBRAFISH-ACTIVE", "QUOKKA-CONTROL"
    first = min(codes.values())
    # one orientation is already in code order, the other is reversed: both must come out "A vs B"
    (kept_test, kept_ref), (rev_test, rev_ref) = sorted([(a, b), (b, a)], key=lambda p: codes[p[0]] != first)
    kept = {(r["analysis"], r["stat"]): (r["arm"], r["comparator"], r["value"])
            for r in blinding.code_ard(_comparison_rows(kept_test, kept_ref), STUDY).to_dicts()}
    rev = {(r["analysis"], r["stat"]): (r["arm"], r["comparator"], r["value"])
           for r in blinding.code_ard(_comparison_rows(rev_test, rev_ref), STUDY).to_dicts()}
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

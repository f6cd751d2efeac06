"""Endpoints as the protocols define them (issue 16): the RCT's integer MELD, the safety period,
censored laboratory results, per-arm infusion schedules. Hand calculations written out."""

from __future__ import annotations

import datetime as dt
import math

import polars as pl
import pytest
from studies import make_study

from hepatrial import scores
from hepatrial.adam.adae import create_adae
from hepatrial.adam.adsl import derive_vars_populations
from hepatrial.analysis.safety import ae_summaries
from hepatrial.ingest.findings import Findings
from hepatrial.ingest.units import harmonise_lab_units

D = dt.date


def _one(expr):
    return pl.select(expr.alias("x"))["x"][0]


def test_protocol_meld_rounded_to_an_integer_by_hand():
    # creatinine 1.2 mg/dL (106.08 umol/L), bilirubin 2.0 mg/dL (34.2 umol/L), INR 1.5, viral (1):
    # 9.6 ln 1.2 + 3.8 ln 2 + 11.2 ln 1.5 + 6.4 = 1.750287 + 2.633959 + 4.541209 + 6.4 = 15.325455 -> 15
    args = (pl.lit(34.2), pl.lit(1.5), pl.lit(106.08), pl.lit(1))
    exact = _one(scores.compute_meld_kamath(*args, coefficients="protocol_rounded"))
    assert exact == pytest.approx(
        9.6 * math.log(1.2) + 3.8 * math.log(2) + 11.2 * math.log(1.5) + 6.4, abs=1e-9
    )
    assert exact == pytest.approx(15.325455, abs=1e-6)
    assert (
        _one(scores.compute_meld_kamath(*args, coefficients="protocol_rounded", integer="round"))
        == 15.0
    )
    # Kamath 2001: 9.57 ln 1.2 + 3.78 ln 2 + 11.2 ln 1.5 + 6.43 = 1.744818 + 2.620096 + 4.541209 + 6.43 = 15.336123
    assert _one(scores.compute_meld_kamath(*args)) == pytest.approx(15.336123, abs=1e-6)
    # bilirubin 0.5, creatinine 0.6, INR 1.0, alcoholic (0): 9.6 ln .6 + 3.8 ln .5 = -4.903926 - 2.633959
    # = -7.537885: round -> -8 (half away from zero), truncate -> -7
    low = (pl.lit(8.55), pl.lit(1.0), pl.lit(53.04), pl.lit(0))
    assert _one(scores.compute_meld_kamath(*low, coefficients="protocol_rounded")) == pytest.approx(
        -7.537885, abs=1e-6
    )
    assert (
        _one(scores.compute_meld_kamath(*low, coefficients="protocol_rounded", integer="round"))
        == -8.0
    )
    assert (
        _one(scores.compute_meld_kamath(*low, coefficients="protocol_rounded", integer="truncate"))
        == -7.0
    )


@pytest.mark.parametrize(
    "x, want", [(2.5, 3.0), (-2.5, -3.0), (12.4999, 12.0), (-0.4, 0.0), (0.5, 1.0), (14.5, 15.0)]
)
def test_round_half_away_from_zero(x, want):
    got = _one(scores.round_half_up(pl.lit(x)))
    assert got == want and math.copysign(1, got) == math.copysign(1, want)


def test_formula_text_names_the_protocol_coefficients():
    text = scores.meld_kamath_formula("protocol_rounded", "round")
    assert (
        "9.6 x ln(creatinine" in text
        and "3.8 x ln(bilirubin" in text
        and "rounded to an integer" in text
    )


def _lb(values, test="HBVDNA", unit="IU/mL"):
    n = len(values)
    return pl.DataFrame(
        {
            "USUBJID": [f"S{i}" for i in range(n)],
            "LBTESTCD": [test] * n,
            "LBORRES": values,
            "LBORRESU": [unit] * n,
            "LBORNRLO": [None] * n,
            "LBORNRHI": [None] * n,
            "SRCROW": list(range(1, n + 1)),
        },
        schema_overrides={"LBORNRLO": pl.Utf8, "LBORNRHI": pl.Utf8},
    )


@pytest.mark.parametrize("rule, below", [("half_lloq", 10.0), ("lloq", 20.0), ("missing", None)])
def test_censored_results_are_read_not_dropped(rule, below):
    f = Findings()
    cfg = make_study(labs={"below_lloq": rule, "lloq": {"HBVDNA": 20}})
    out = harmonise_lab_units(
        _lb(["<20", "TND", ">1e8", "59", "\u226420", "not detected"]), "lb.csv", cfg, f
    )
    assert out["LBSTRESN"].to_list() == [below, below, 1e8, 59.0, below, below]
    assert out["LBCENS"].to_list() == ["<LLOQ", "<LLOQ", ">ULOQ", None, "<LLOQ", "<LLOQ"]
    assert out["LBLLOQ"].to_list() == [20.0, 20.0, None, None, 20.0, 20.0]
    assert out["LBULOQ"].to_list() == [None, None, 1e8, None, None, None]
    assert out["LBSTRESC"].to_list()[0] == "<20"
    fr = f.frame()
    assert fr.filter(pl.col("rule") == "LB_CENSORED").height == 5
    assert fr.filter(pl.col("rule") == "LB_RESULT_NOT_NUMERIC").height == 0


def test_not_detected_without_a_configured_lloq_is_flagged_not_guessed():
    f = Findings()
    out = harmonise_lab_units(_lb(["TND", "<50"]), "lb.csv", make_study(), f)
    assert out["LBSTRESN"].to_list() == [None, 25.0] and out["LBCENS"].to_list() == [
        "<LLOQ",
        "<LLOQ",
    ]
    assert f.frame().filter(pl.col("rule") == "LB_LLOQ_UNKNOWN")["row"].to_list() == [1]


def test_censored_limit_is_converted_with_the_value():
    f = Findings()
    out = harmonise_lab_units(_lb(["<0.3"], test="BILI", unit="mg/dL"), "lb.csv", make_study(), f)
    assert out["LBLLOQ"][0] == pytest.approx(0.3 * 17.1) and out["LBSTRESN"][0] == pytest.approx(
        0.15 * 17.1
    )


def test_per_protocol_uses_each_arm_s_own_planned_infusions():
    study = make_study(
        planned_infusions=4,
        arms=[
            {"label": "MSC 4 weeks", "planned_infusions": 4},
            {"label": "MSC 8 weeks", "planned_infusions": 8},
            {"label": "SMT", "reference": True},
        ],
    )
    adsl = pl.DataFrame(
        {
            "USUBJID": ["a", "b", "c", "d", "e"],
            "TRT01P": ["MSC 4 weeks", "MSC 8 weeks", "MSC 8 weeks", "SMT", "MSC 4 weeks"],
            "TRT01A": ["MSC 4 weeks", "MSC 8 weeks", "MSC 8 weeks", "SMT", "MSC 4 weeks"],
            "RANDDT": [D(2024, 1, 1)] * 5,
            "TRTSDT": [D(2024, 1, 1)] * 5,
            "NINFUS": [4, 8, 7, 4, 3],
            "EOSSTT": ["ONGOING"] * 5,
        }
    )
    pp = derive_vars_populations(adsl, study)["PPFL"].to_list()
    assert pp == ["Y", "Y", "N", "Y", "N"]  # 8 of 8; 7 of 8 is not per protocol; SMT: the study's 4


def _adae_inputs():
    adsl = pl.DataFrame(
        {
            "USUBJID": ["S1"],
            "TRTSDT": [D(2024, 1, 1)],
            "TRTEDT": [D(2024, 2, 1)],
            "TRT01A": ["A"],
            "TRT01P": ["A"],
            "SAFFL": ["Y"],
            "ITTFL": ["Y"],
        }
    )
    ae = pl.DataFrame(
        {
            "USUBJID": ["S1"] * 3,
            "AETERM": ["a", "b", "c"],
            "AEDECOD": ["Pyrexia", "Sepsis", "Rash"],
            "AEBODSYS": ["Gen", "Inf", "Skin"],
            "AESTDTC": ["2023-12-20", "2024-02-20", "2024-06-30"],
            "AEENDTC": [None] * 3,
            "AESER": ["N", "Y", "N"],
            "AETOXGR": ["1", "3", "1"],
            "AEREL": [None] * 3,
            "AEOUT": [None] * 3,
            "SRCROW": [1, 2, 3],
        },
        schema_overrides={"AEENDTC": pl.Utf8, "AEREL": pl.Utf8, "AEOUT": pl.Utf8},
    )
    return ae, adsl


def test_on_study_counts_every_ae_from_first_dose_treatment_window_only_28_days_after_the_last():
    ae, adsl = _adae_inputs()
    on = create_adae(ae, adsl, make_study(ae={"period": "on_study", "followup_days": 28}))
    win = create_adae(ae, adsl, make_study(ae={"period": "treatment_window", "followup_days": 28}))
    assert on["TRTEMFL"].to_list() == ["N", "Y", "Y"]  # before the first dose: no
    assert win["TRTEMFL"].to_list() == ["N", "Y", "N"]  # 2024-06-30 is 150 days after the last dose


def test_a_flag_without_its_source_column_is_not_collected_never_zero():
    ae, adsl = _adae_inputs()
    adae = create_adae(ae, adsl, make_study(ae={"period": "on_study", "followup_days": 28}))
    assert "AEACN" not in adae.columns
    study = make_study(
        study={"design": "single_arm"}, arms=[{"label": "A"}], populations={"SAFETY": "SAFFL"}
    )

    ard = ae_summaries(adae, adsl, study)
    wd = ard.filter((pl.col("analysis") == "AE_OVERVIEW") & (pl.col("paramcd") == "WDTEAE"))
    assert (
        wd.height > 0
        and wd["value"].is_null().all()
        and wd["method"][0].startswith("not collected")
    )
    ser = ard.filter(
        (pl.col("analysis") == "AE_OVERVIEW")
        & (pl.col("paramcd") == "SERTEAE")
        & (pl.col("stat") == "n_subjects")
        & (pl.col("arm") == "A")
    )
    assert ser["value"].to_list() == [1.0]

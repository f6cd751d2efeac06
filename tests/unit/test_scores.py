"""Hand-worked checks of hepatrial.scores (definitions: docs/scoring.md).

Lab inputs are in the pipeline's SI units; the comments give the conventional value
(bilirubin umol/L / 17.1 = mg/dL, creatinine umol/L / 88.4 = mg/dL, albumin g/L / 10 = g/dL)
and the arithmetic done by hand. ln values: ln 2 = 0.693147, ln 3 = 1.098612, ln 4 = 1.386294,
ln 5 = 1.609438, ln 1.5 = 0.405465, ln 1.8 = 0.587787, ln 2.5 = 0.916291.
"""

from __future__ import annotations

import math

import polars as pl
import pytest
from polars.testing import assert_frame_equal, assert_series_equal

from hepatrial import scores
from hepatrial.errors import ConfigError, DataContractError

# conventional -> SI
BILI = 17.1  # umol/L per mg/dL
CREAT = 88.4  # umol/L per mg/dL


def ev(frame: dict, expr: pl.Expr) -> list:
    """Evaluate one expression on a small literal frame and return the values."""
    return pl.DataFrame(frame).select(expr.alias("out"))["out"].to_list()


def one(expr: pl.Expr, **cols) -> object:
    """Evaluate an expression on a one-row frame built from keyword columns."""
    return ev({k: [v] for k, v in cols.items()}, expr)[0]


def unos(**cols):
    return one(scores.compute_meld_unos("BILI", "INR", "CREAT", "DIAL"), **cols)


# ------------------------------------------------------------------------------------------
# rounding rule
# ------------------------------------------------------------------------------------------
def test_round_half_up_rounds_ties_away_from_zero_not_to_even():
    # half-even would give 1.8, 0.2, 0.12, 2, 0; half-up (SAS ROUND, by hand) gives:
    got = ev({"x": [1.85, 0.25, 1.84]}, scores.round_half_up("x", 1))
    assert got == [1.9, 0.3, 1.8]  # 1.84 is not a tie
    assert ev({"x": [0.125]}, scores.round_half_up("x", 2)) == [0.13]
    assert ev({"x": [2.5, 0.5, 1.49]}, scores.round_half_up("x", 0)) == [3.0, 1.0, 1.0]
    # negative ties go away from zero, as SAS ROUND (hepatrial.rounding; MELDKAM can be negative)
    assert ev({"x": [-2.5, -2.6]}, scores.round_half_up("x", 0)) == [-3.0, -3.0]


def test_round_half_up_is_robust_to_binary_representation():
    # 1.85 computed by float arithmetic may land one ulp below; it must still round to 1.9,
    # while a genuinely smaller value (1.8499) rounds down.
    below = math.nextafter(1.85, 0.0)  # 1.8499999999999999
    assert ev({"x": [below, 1.8499, None]}, scores.round_half_up("x", 1)) == [1.9, 1.8, None]
    # 18.499999999999996 (one ulp below 18.5) -> 19; without the epsilon floor(18.999...) = 18
    assert ev({"x": [math.nextafter(18.5, 0.0), 18.4999]}, scores.round_half_up("x", 0)) == [
        19.0,
        18.0,
    ]
    # the classic: 1.005 is held as 1.00499999999999989..., x 100 = 100.49999999999999 -> 1.01
    assert ev({"x": [1.005]}, scores.round_half_up("x", 2)) == [1.01]


# ------------------------------------------------------------------------------------------
# MELD (UNOS, pre-2016)
# ------------------------------------------------------------------------------------------
def test_meld_unos_full_worked_example():
    # bili 85.5 umol/L = 5.0 mg/dL, INR 1.8, creat 176.8 umol/L = 2.0 mg/dL, no dialysis
    # bracket = 0.957 ln 2 + 0.378 ln 5 + 1.120 ln 1.8 + 0.643
    #         = 0.663342 + 0.608368 + 0.658321 + 0.643 = 2.573031 -> 2.6 -> x10 = 26
    assert unos(BILI=85.5, INR=1.8, CREAT=176.8, DIAL=False) == 26.0
    # unrounded: 10 x 2.573030 = 25.730304
    raw = one(
        scores.compute_meld_unos("BILI", "INR", "CREAT", "DIAL", rounded=False),
        BILI=85.5,
        INR=1.8,
        CREAT=176.8,
        DIAL=False,
    )
    assert raw == pytest.approx(25.730304, abs=1e-6)


def test_meld_unos_values_below_one_are_set_to_one():
    # bili 8.55 umol/L = 0.5, INR 0.9, creat 44.2 umol/L = 0.5 -> all set to 1.0:
    # bracket = 0 + 0 + 0 + 0.643 -> 0.6 -> 6 (the minimum MELD)
    assert unos(BILI=8.55, INR=0.9, CREAT=44.2, DIAL=False) == 6.0


def test_meld_unos_creatinine_capped_at_4():
    # creat 707.2 umol/L = 8.0 mg/dL -> capped at 4.0; bili 17.1 (1.0), INR 1.0:
    # bracket = 0.957 ln 4 + 0.643 = 1.326683 + 0.643 = 1.969683 -> 2.0 -> 20
    assert unos(BILI=17.1, INR=1.0, CREAT=707.2, DIAL=False) == 20.0
    # without the cap it would be 0.957 ln 8 + 0.643 = 2.633 -> 26: the cap matters
    assert unos(BILI=17.1, INR=1.0, CREAT=353.6, DIAL=False) == 20.0  # exactly 4.0 mg/dL


def test_meld_unos_dialysis_sets_creatinine_to_4():
    # creat 88.4 umol/L = 1.0 but dialysed -> 4.0: same bracket as above, 1.969683 -> 20
    assert unos(BILI=17.1, INR=1.0, CREAT=88.4, DIAL=True) == 20.0
    assert unos(BILI=17.1, INR=1.0, CREAT=88.4, DIAL=False) == 6.0  # 0.643 -> 6


def test_meld_unos_capped_at_40():
    # bili 855 umol/L = 50 mg/dL, INR 6, creat 4.0 (dialysis):
    # bracket = 0.957 ln 4 + 0.378 ln 50 + 1.12 ln 6 + 0.643
    #         = 1.326683 + 1.478764 + 2.006757 + 0.643 = 5.455204 -> 5.5 -> 55 -> capped 40
    assert unos(BILI=855.0, INR=6.0, CREAT=88.4, DIAL=True) == 40.0
    uncapped = one(
        scores.compute_meld_unos("BILI", "INR", "CREAT", "DIAL", capped=False),
        BILI=855.0,
        INR=6.0,
        CREAT=88.4,
        DIAL=True,
    )
    assert uncapped == 55.0


def test_meld_unos_tenth_rounding_tie_goes_up():
    # bili chosen so that bracket = 0.378 ln(bili) + 0.643 = 1.85 exactly (creat, INR 1.0):
    # ln(bili mg/dL) = 1.207 / 0.378 -> bili = 24.364367 mg/dL = 416.630674 umol/L.
    # 1.85 -> 1.9 (half up) -> 19; half-even would give 1.8 -> 18.
    assert unos(BILI=416.6306744721446, INR=1.0, CREAT=88.4, DIAL=False) == 19.0
    # just below the tie: 416.6 umol/L -> bracket 1.849972 -> 1.8 -> 18
    assert unos(BILI=416.6, INR=1.0, CREAT=88.4, DIAL=False) == 18.0


@pytest.mark.parametrize("missing", ["BILI", "INR", "CREAT", "DIAL"])
def test_meld_unos_missing_input_gives_missing(missing):
    cols = {"BILI": [85.5], "INR": [1.8], "CREAT": [176.8], "DIAL": [False]}
    cols[missing] = [None]
    frame = pl.DataFrame(
        cols,
        schema={"BILI": pl.Float64, "INR": pl.Float64, "CREAT": pl.Float64, "DIAL": pl.Boolean},
    )
    assert frame.select(
        scores.compute_meld_unos("BILI", "INR", "CREAT", "DIAL")
    ).to_series().to_list() == [None]


def test_meld_unos_dialysis_does_not_rescue_missing_creatinine():
    frame = pl.DataFrame({"CREAT": [None]}, schema={"CREAT": pl.Float64})
    assert frame.select(scores.compute_meld_unos(17.1, 1.0, "CREAT", True)).item() is None


def test_meld_non_positive_or_nan_lab_is_missing_not_bounded():
    # 0 and NaN are not measurements: null, not "below 1 -> 1"
    assert ev(
        {"B": [0.0, float("nan"), -3.0]}, scores.compute_meld_unos("B", 1.0, 88.4, False)
    ) == [None, None, None]


# ------------------------------------------------------------------------------------------
# MELD-Na (OPTN 2016)
# ------------------------------------------------------------------------------------------
def meldna(meld_i, na):
    return one(scores.compute_meld_na("M", "NA"), M=meld_i, NA=na)


def test_meld_na_worked_example():
    # MELD(i) 26 (worked example above), Na 130: d = 137 - 130 = 7
    # 26 + 1.32 x 7 - 0.033 x 26 x 7 = 26 + 9.24 - 6.006 = 29.234 -> 29
    assert meldna(26.0, 130.0) == 29.0
    chained = scores.compute_meld_na(
        scores.compute_meld_unos("BILI", "INR", "CREAT", "DIAL", capped=False), "NA"
    )
    assert one(chained, BILI=85.5, INR=1.8, CREAT=176.8, DIAL=False, NA=130.0) == 29.0


def test_meld_na_applies_only_above_11():
    # MELD(i) 11 -> unchanged even with Na 125 (would be 11 + 15.84 - 4.356 = 22.484 otherwise)
    assert meldna(11.0, 125.0) == 11.0
    # MELD(i) 12, Na 125: d = 12 -> 12 + 15.84 - 0.033 x 12 x 12 = 12 + 15.84 - 4.752 = 23.088 -> 23
    assert meldna(12.0, 125.0) == 23.0


def test_meld_na_sodium_bounded_125_137():
    # Na 110 -> 125 (d = 12): MELD(i) 20 -> 20 + 15.84 - 7.92 = 27.92 -> 28
    assert meldna(20.0, 110.0) == 28.0
    assert meldna(20.0, 125.0) == 28.0
    # Na 145 -> 137 (d = 0): 20
    assert meldna(20.0, 145.0) == 20.0
    # Na 136, d = 1: 20 + 1.32 - 0.66 = 20.66 -> 21
    assert meldna(20.0, 136.0) == 21.0


def test_meld_na_capped_at_40_and_cap_order_does_not_matter():
    # MELD(i) 38, Na 125: 38 + 15.84 - 0.033 x 38 x 12 = 38 + 15.84 - 15.048 = 38.792 -> 39
    assert meldna(38.0, 125.0) == 39.0
    # MELD(i) 39, Na 125: 39 + 15.84 - 15.444 = 39.396 -> 39; Na 130: 39 + 9.24 - 9.009 -> 39
    assert meldna(39.0, 125.0) == 39.0
    # MELD(i) 55 (uncapped), Na 125: 55 + 15.84 - 21.78 = 49.06 -> 40; capped MELD(i) 40:
    # 40 + 15.84 - 15.84 = 40 -> 40. Same result either way.
    assert meldna(55.0, 125.0) == 40.0
    assert meldna(40.0, 125.0) == 40.0
    # MELD(i) 45, Na 137 -> 45 -> capped 40
    assert meldna(45.0, 137.0) == 40.0


def test_meld_na_missing_sodium_is_missing_even_when_meld_i_at_most_11():
    frame = pl.DataFrame(
        {"M": [8.0, 20.0, None], "NA": [None, None, 130.0]},
        schema={"M": pl.Float64, "NA": pl.Float64},
    )
    assert frame.select(scores.compute_meld_na("M", "NA")).to_series().to_list() == [
        None,
        None,
        None,
    ]


# ------------------------------------------------------------------------------------------
# MELD 3.0 (Kim 2021)
# ------------------------------------------------------------------------------------------
def meld3(**cols):
    return one(scores.compute_meld3("BILI", "INR", "CREAT", "NA", "ALB", "F", "DIAL"), **cols)


def test_meld3_worked_example():
    # Hand calculation (no worked example is printed in Kim 2021): female, bili 85.5 umol/L = 5.0,
    # INR 1.8, creat 176.8 umol/L = 2.0, Na 130 (d = 7), albumin 30 g/L = 3.0 (3.5 - 3.0 = 0.5)
    #   1.33                                 = 1.330000
    # + 4.56 ln 5           = 4.56 x 1.609438 = 7.339036
    # + 0.82 x 7                              = 5.740000
    # - 0.24 x 7 x ln 5     = 1.68 x 1.609438 = -2.703856
    # + 9.09 ln 1.8         = 9.09 x 0.587787 = 5.342984
    # + 11.14 ln 2          = 11.14 x 0.693147 = 7.721662
    # + 1.85 x 0.5                            = 0.925000
    # - 1.83 x 0.5 x ln 2   = 0.915 x 0.693147 = -0.634230
    # + 6                                     = 6.000000
    # total 31.060596 -> 31
    assert meld3(BILI=85.5, INR=1.8, CREAT=176.8, NA=130.0, ALB=30.0, F=True, DIAL=False) == 31.0
    raw = one(
        scores.compute_meld3("BILI", "INR", "CREAT", "NA", "ALB", "F", "DIAL", rounded=False),
        BILI=85.5,
        INR=1.8,
        CREAT=176.8,
        NA=130.0,
        ALB=30.0,
        F=True,
        DIAL=False,
    )
    assert raw == pytest.approx(31.060592, abs=1e-5)
    # male: 31.060592 - 1.33 = 29.730592 -> 30
    assert meld3(BILI=85.5, INR=1.8, CREAT=176.8, NA=130.0, ALB=30.0, F=False, DIAL=False) == 30.0


def test_meld3_lower_bounds_give_minimum_6():
    # bili 0.5, INR 0.9, creat 0.5 -> 1.0 (ln = 0); Na 140 -> 137 (d = 0); albumin 45 g/L -> 3.5
    # -> 0 + ... + 6 = 6 (male), 7.33 -> 7 (female)
    kw = dict(BILI=8.55, INR=0.9, CREAT=44.2, NA=140.0, ALB=45.0, DIAL=False)
    assert meld3(F=False, **kw) == 6.0
    assert meld3(F=True, **kw) == 7.0


def test_meld3_creatinine_capped_at_3_and_dialysis_sets_3():
    # bili 1, INR 1, Na 137, albumin 3.5 g/dL, male; creat 5.0 mg/dL (442 umol/L) -> 3.0:
    # 11.14 ln 3 + 6 = 12.238538 + 6 = 18.238538 -> 18
    kw = dict(BILI=17.1, INR=1.0, NA=137.0, ALB=35.0, F=False)
    assert meld3(CREAT=442.0, DIAL=False, **kw) == 18.0
    # creat 4.0 would give 11.14 ln 4 + 6 = 21.44 -> 21: the UNOS cap of 4 is not used
    assert meld3(CREAT=353.6, DIAL=False, **kw) == 18.0
    # creat 1.0 with dialysis -> 3.0 -> 18
    assert meld3(CREAT=88.4, DIAL=True, **kw) == 18.0
    assert meld3(CREAT=88.4, DIAL=False, **kw) == 6.0


def test_meld3_sodium_and_albumin_bounds():
    # bili 1 (ln 0), INR 1, creat 1 (ln 0), male; Na 120 -> 125 (d = 12): 0.82 x 12 = 9.84;
    # albumin 10 g/L = 1.0 -> 1.5 (3.5 - 1.5 = 2): 1.85 x 2 = 3.70
    # 9.84 + 3.70 + 6 = 19.54 -> 20
    kw = dict(BILI=17.1, INR=1.0, CREAT=88.4, F=False, DIAL=False)
    assert meld3(NA=120.0, ALB=10.0, **kw) == 20.0
    assert meld3(NA=125.0, ALB=15.0, **kw) == 20.0
    # Na 126 (d = 11): 9.02 + 3.70 + 6 = 18.72 -> 19
    assert meld3(NA=126.0, ALB=15.0, **kw) == 19.0


def test_meld3_capped_at_40():
    # bili 30 mg/dL (513 umol/L), INR 4, creat 3, Na 125, albumin 2.0 g/dL, female:
    # 1.33 + 4.56 x 3.401197 + 9.84 - 0.24 x 12 x 3.401197 + 9.09 x 1.386294 + 11.14 x 1.098612
    # + 1.85 x 1.5 - 1.83 x 1.5 x 1.098612 + 6
    # = 1.33 + 15.509 + 9.84 - 9.795 + 12.601 + 12.239 + 2.775 - 3.016 + 6 = 47.48 -> 40
    assert meld3(BILI=513.0, INR=4.0, CREAT=265.2, NA=125.0, ALB=20.0, F=True, DIAL=False) == 40.0


@pytest.mark.parametrize("missing", ["BILI", "INR", "CREAT", "NA", "ALB", "F", "DIAL"])
def test_meld3_missing_input_gives_missing(missing):
    cols = {
        "BILI": 85.5,
        "INR": 1.8,
        "CREAT": 176.8,
        "NA": 130.0,
        "ALB": 30.0,
        "F": True,
        "DIAL": False,
    }
    schema = {k: (pl.Boolean if k in ("F", "DIAL") else pl.Float64) for k in cols}
    cols[missing] = None
    frame = pl.DataFrame({k: [v] for k, v in cols.items()}, schema=schema)
    expr = scores.compute_meld3("BILI", "INR", "CREAT", "NA", "ALB", "F", "DIAL")
    assert frame.select(expr).item() is None


# ------------------------------------------------------------------------------------------
# MELD Kamath (original)
# ------------------------------------------------------------------------------------------
def test_meld_kamath_worked_example_and_etiology():
    # bili 5.0, INR 1.8, creat 2.0, viral (1):
    # 3.78 ln 5 + 11.2 ln 1.8 + 9.57 ln 2 + 6.43 = 6.083676 + 6.583214 + 6.633417 + 6.43
    # = 25.730307 (= 10 x the unrounded UNOS bracket, by construction)
    expr = scores.compute_meld_kamath("BILI", "INR", "CREAT", "ETIO")
    got = ev(
        {"BILI": [85.5, 85.5], "INR": [1.8, 1.8], "CREAT": [176.8, 176.8], "ETIO": [1, 0]}, expr
    )
    assert got[0] == pytest.approx(25.730304, abs=1e-5)
    # alcoholic (0): 25.730304 - 6.43 = 19.300304
    assert got[1] == pytest.approx(19.300304, abs=1e-5)


def test_meld_kamath_has_no_bounds():
    # bili 0.5 mg/dL (8.55), INR 1.0, creat 0.5 (44.2), etiology 0:
    # 3.78 ln 0.5 + 0 + 9.57 ln 0.5 = (3.78 + 9.57) x -0.693147 = -9.253513 (negative allowed)
    got = one(scores.compute_meld_kamath("B", 1.0, "C", False), B=8.55, C=44.2)
    assert got == pytest.approx(-9.253513, abs=1e-5)
    # creat 8 mg/dL is not capped at 4: 9.57 ln 8 = 19.900 (+ 0 + 0 + 6.43) = 26.33
    got = one(scores.compute_meld_kamath(17.1, 1.0, "C", True), C=707.2)
    assert got == pytest.approx(9.57 * math.log(8) + 6.43, abs=1e-9)


def test_meld_kamath_non_positive_missing_or_invalid_etiology_is_missing():
    expr = scores.compute_meld_kamath("B", 1.0, 88.4, "E")
    frame = pl.DataFrame(
        {"B": [0.0, None, 17.1, 17.1], "E": [1, 1, None, 2]},
        schema={"B": pl.Float64, "E": pl.Int64},
    )
    assert frame.select(expr).to_series().to_list() == [None, None, None, None]


# ------------------------------------------------------------------------------------------
# Child-Turcotte-Pugh
# ------------------------------------------------------------------------------------------
def test_ctp_bilirubin_boundaries_si_input():
    # 34.1 (<2) 34.2 (=2.0) 51.3 (=3.0; 51.3/17.1 = 2.9999999999999996) 51.4 (>3)
    got = ev({"B": [34.1, 34.2, 51.3, 51.4]}, scores.compute_ctp_points_bili("B"))
    assert got == [1, 2, 2, 3]


def test_ctp_bilirubin_boundaries_converted_from_mg_dl():
    # values entered in mg/dL and converted upstream: 2.0 x 17.1 = 34.2,
    # 3.0 x 17.1 = 51.300000000000004 (would be > 3 without the robust comparison)
    mgdl = pl.Series("mg", [1.99, 2.0, 3.0, 3.01])
    frame = pl.DataFrame({"B": (mgdl * BILI)})
    assert frame.select(scores.compute_ctp_points_bili("B")).to_series().to_list() == [1, 2, 2, 3]


def test_ctp_bilirubin_cholestatic_boundaries():
    # cut-offs 4 and 10 mg/dL = 68.4 and 171 umol/L; 3.0 x 17.1 etc. from mg/dL as well
    frame = pl.DataFrame({"B": [68.3, 68.4, 4.0 * BILI, 171.0, 10.0 * BILI, 171.1, 51.4]})
    got = frame.select(scores.compute_ctp_points_bili("B", cholestatic=True)).to_series()
    assert got.to_list() == [1, 2, 2, 2, 2, 3, 1]
    # the flag may be a column: same bili 51.4 (3.006 mg/dL) is 3 points if not cholestatic
    assert ev(
        {"B": [51.4, 51.4], "C": [False, True]}, scores.compute_ctp_points_bili("B", "C")
    ) == [3, 1]


def test_ctp_albumin_boundaries():
    # g/L: 35.1 (>3.5) 35 (=3.5) 28 (=2.8) 27.9 (<2.8); and g/dL x 10 upstream
    assert ev({"A": [35.1, 35.0, 28.0, 27.9]}, scores.compute_ctp_points_alb("A")) == [1, 2, 2, 3]
    frame = pl.DataFrame({"A": pl.Series([3.51, 3.5, 2.8, 2.79]) * 10.0})
    assert frame.select(scores.compute_ctp_points_alb("A")).to_series().to_list() == [1, 2, 2, 3]


def test_ctp_inr_boundaries():
    assert ev({"I": [1.69, 1.7, 2.3, 2.31]}, scores.compute_ctp_points_inr("I")) == [1, 2, 2, 3]


def test_ctp_pt_prolongation_boundaries():
    # PT - control: 15.9 - 12 = 3.9 (1), 16 - 12 = 4 (2), 18 - 12 = 6 (2), 18.1 - 12 = 6.1 (3);
    # in float64 16.4 - 12.4 = 3.9999999999999982 and 16.1 - 10.1 = 6.000000000000002: both are
    # exactly 4 and 6 s to a person and must score 2 points
    frame = pl.DataFrame(
        {"PT": [15.9, 16.0, 18.0, 18.1, 16.4, 16.1], "PTCONT": [12.0, 12.0, 12.0, 12.0, 12.4, 10.1]}
    )
    prolong = scores.compute_pt_prolongation("PT", "PTCONT")
    got = frame.select(scores.compute_ctp_points_ptprolong(prolong)).to_series().to_list()
    assert got == [1, 2, 2, 3, 2, 2]


def test_ascites_and_he_mapping_from_rs():
    asc = [" none", "Mild ", "moderate-severe", "1", "2", "3", "", None, "SEVERE"]
    assert ev({"R": asc}, scores.ascites_points_from_rs("R")) == [
        1,
        2,
        3,
        1,
        2,
        3,
        None,
        None,
        None,
    ]
    assert ev({"R": asc}, scores.flag_unmapped_ascites("R")) == [False] * 8 + [True]
    he = ["0", "1", " 2", "3", "4", "grade 3", "5", None]
    assert ev({"R": he}, scores.he_points_from_rs("R")) == [1, 2, 2, 3, 3, 3, None, None]
    assert ev({"R": he}, scores.flag_unmapped_he("R")) == [False] * 6 + [True, False]
    # numeric columns (integer and float) map the same way
    assert ev({"R": [0, 2, 4]}, scores.he_points_from_rs("R")) == [1, 2, 3]
    assert ev({"R": [1.0, 3.0]}, scores.ascites_points_from_rs("R")) == [1, 3]


def test_assert_ctp_rs_codes_names_unknown_values():
    rs = pl.DataFrame(
        {
            "RSTESTCD": ["ASCITES", "HEGRADE", "ECOG", "HEGRADE"],
            "RSORRES": ["MILD", "2", "9", "grade five"],
        }
    )
    with pytest.raises(DataContractError, match="HEGRADE='grade five'"):
        scores.assert_ctp_rs_codes(rs)
    scores.assert_ctp_rs_codes(rs.head(3))  # ECOG 9 is not a CTP code: no error


def test_ctp_score_and_class_worked_example():
    # row 1: bili 34.2 (2.0 -> 2), alb 28 (2.8 -> 2), INR 1.5 (1), ascites MILD (2), HE 0 (1) = 8 B
    # row 2: bili 17.1 (1), alb 40 (1), INR 1.0 (1), NONE (1), HE 0 (1) = 5 A
    # row 3: bili 100 (5.85 -> 3), alb 25 (3), INR 2.5 (3), MODERATE-SEVERE (3), HE 4 (3) = 15 C
    # row 4: bili 51.3 (2), alb 35 (2), INR 2.3 (2), 2 (2), HE 2 (2) = 10 C
    # row 5: as row 2 but HE 1 (2) and ascites MILD (2) = 7 B;  row 6: as row 2, alb 35 -> 6 A
    frame = pl.DataFrame(
        {
            "BILI": [34.2, 17.1, 100.0, 51.3, 17.1, 17.1],
            "ALB": [28.0, 40.0, 25.0, 35.0, 40.0, 35.0],
            "INR": [1.5, 1.0, 2.5, 2.3, 1.0, 1.0],
            "ASC": ["MILD", "NONE", "MODERATE-SEVERE", "2", "MILD", "NONE"],
            "HE": ["0", "0", "4", "2", "1", "0"],
        }
    )
    out = frame.select(s=scores.compute_ctp_score("BILI", "ALB", "INR", "ASC", "HE")).with_columns(
        c=scores.compute_ctp_class("s")
    )
    assert out["s"].to_list() == [8, 5, 15, 10, 7, 6]
    assert out["c"].to_list() == ["B", "A", "C", "C", "B", "A"]


def test_ctp_score_with_pt_prolongation_and_cholestatic():
    # bili 85.5 (5.0 mg/dL, cholestatic -> 4..10 -> 2), alb 30 (2), PT 16 - 12 = 4 (2),
    # NONE (1), HE 0 (1) = 8
    frame = pl.DataFrame(
        {
            "BILI": [85.5],
            "ALB": [30.0],
            "PT": [16.0],
            "PTC": [12.0],
            "ASC": ["NONE"],
            "HE": [0],
            "CHOL": [True],
        }
    )
    expr = scores.compute_ctp_score(
        "BILI",
        "ALB",
        scores.compute_pt_prolongation("PT", "PTC"),
        "ASC",
        "HE",
        cholestatic="CHOL",
        coag="PT",
    )
    assert frame.select(expr).item() == 8
    with pytest.raises(ConfigError):
        scores.compute_ctp_score("BILI", "ALB", "PT", "ASC", "HE", coag="PTT")


@pytest.mark.parametrize("missing", ["BILI", "ALB", "INR", "ASC", "HE"])
def test_ctp_missing_component_gives_missing(missing):
    cols = {"BILI": [34.2], "ALB": [28.0], "INR": [1.5], "ASC": ["MILD"], "HE": ["0"]}
    schema = {
        "BILI": pl.Float64,
        "ALB": pl.Float64,
        "INR": pl.Float64,
        "ASC": pl.String,
        "HE": pl.String,
    }
    cols[missing] = [None]
    frame = pl.DataFrame(cols, schema=schema)
    out = frame.select(s=scores.compute_ctp_score("BILI", "ALB", "INR", "ASC", "HE")).with_columns(
        c=scores.compute_ctp_class("s")
    )
    assert out.row(0) == (None, None)


def test_ctp_unknown_rs_code_gives_missing_score():
    frame = pl.DataFrame({"ASC": ["LARGE"]})
    assert frame.select(scores.compute_ctp_score(34.2, 28.0, 1.5, "ASC", 0)).item() is None


def test_ctp_class_boundaries():
    got = ev({"S": [4, 5, 6, 7, 9, 10, 15, 16, None]}, scores.compute_ctp_class("S"))
    assert got == [None, "A", "A", "B", "B", "C", "C", None, None]


# ------------------------------------------------------------------------------------------
# questionnaires
# ------------------------------------------------------------------------------------------
def qs(rows):
    return pl.DataFrame(
        rows,
        schema={
            "USUBJID": pl.String,
            "QSDTC": pl.String,
            "QSTESTCD": pl.String,
            "QSSTRESN": pl.Float64,
        },
        orient="row",
    )


def expected(by_rows):
    return pl.DataFrame(
        by_rows,
        schema={
            "USUBJID": pl.String,
            "QSDTC": pl.String,
            "PARAMCD": pl.String,
            "AVAL": pl.Float64,
            "NITEMS": pl.Int64,
        },
        orient="row",
    )


def test_cldq_all_answered():
    # item k answered (k mod 7) + 1: items 1..29 -> 2,3,4,5,6,7,1,2,3,4,5,6,7,1,2,3,4,5,6,7,1,...
    rows = [("S1", "2024-01-10", f"CLDQ{k:02d}", float(k % 7 + 1)) for k in range(1, 30)]
    out = scores.score_cldq(qs(rows)).drop("PARAM")
    # AS items 1,5,17 -> 2,6,4: 12/3 = 4
    # FA 2,4,8,11,13 -> 3,5,2,5,7: 22/5 = 4.4
    # SY 3,6,21,23,27 -> 4,7,1,3,7: 22/5 = 4.4
    # AC 7,9,14 -> 1,3,1: 5/3
    # EM 10,12,15,16,19,20,24,26 -> 4,6,2,3,6,7,4,6: 38/8 = 4.75
    # WO 18,22,25,28,29 -> 5,2,5,1,2: 15/5 = 3
    # sum: 4 full weeks 1..28 -> 4 x 28 = 112, + item 29 -> 2: 114; mean 114/29
    exp = expected(
        [
            ("S1", "2024-01-10", "CLDQAS", 4.0, 3),
            ("S1", "2024-01-10", "CLDQFA", 4.4, 5),
            ("S1", "2024-01-10", "CLDQSY", 4.4, 5),
            ("S1", "2024-01-10", "CLDQAC", 5 / 3, 3),
            ("S1", "2024-01-10", "CLDQEM", 4.75, 8),
            ("S1", "2024-01-10", "CLDQWO", 3.0, 5),
            ("S1", "2024-01-10", "CLDQOVR", 114 / 29, 29),
            ("S1", "2024-01-10", "CLDQSUM", 114.0, 29),
        ]
    )
    assert_frame_equal(out, exp, check_exact=False, rel_tol=1e-12)


def test_cldq_more_than_half_missing_rule():
    # all items = 4 except as noted; missing = row absent or QSSTRESN null
    # AS (3 items): 1 missing -> scored (mean of 2); AC (3): 2 missing -> null
    # EM (8): exactly 4 missing (half) -> scored; FA (5): 3 missing -> null; SY (5): 2 missing ok
    drop = {
        5,  # AS: 1 of 3
        9,
        14,  # AC: 2 of 3
        10,
        12,
        15,
        16,  # EM: 4 of 8
        2,
        4,
        8,  # FA: 3 of 5
        3,
        6,
    }  # SY: 2 of 5
    rows = [
        ("S1", "V1", f"CLDQ{k:02d}", None if k in (2, 10) else 4.0)
        for k in range(1, 30)
        if k not in drop or k in (2, 10)
    ]
    out = scores.score_cldq(qs(rows)).drop("PARAM")
    # answered: 29 - 12 = 17 >= 15 -> overall scored (mean 4); sum needs 29 -> null
    exp = expected(
        [
            ("S1", "V1", "CLDQAS", 4.0, 2),
            ("S1", "V1", "CLDQFA", None, 2),
            ("S1", "V1", "CLDQSY", 4.0, 3),
            ("S1", "V1", "CLDQAC", None, 1),
            ("S1", "V1", "CLDQEM", 4.0, 4),
            ("S1", "V1", "CLDQWO", 4.0, 5),
            ("S1", "V1", "CLDQOVR", 4.0, 17),
            ("S1", "V1", "CLDQSUM", None, 17),
        ]
    )
    assert_frame_equal(out, exp)


def test_cldq_overall_needs_15_of_29():
    # 15 answered (items 1..15 = 7) -> overall 7; 14 answered -> null
    rows = [("S1", "V1", f"CLDQ{k:02d}", 7.0) for k in range(1, 16)]
    rows += [("S2", "V1", f"CLDQ{k:02d}", 7.0) for k in range(1, 15)]
    out = scores.score_cldq(qs(rows)).filter(pl.col("PARAMCD") == "CLDQOVR")
    assert out["AVAL"].to_list() == [7.0, None]
    assert out["NITEMS"].to_list() == [15, 14]


def test_cldq_rejects_out_of_range_and_duplicates():
    with pytest.raises(DataContractError, match="outside"):
        scores.score_cldq(qs([("S1", "V1", "CLDQ01", 8.0)]))
    with pytest.raises(DataContractError, match="duplicated"):
        scores.score_cldq(qs([("S1", "V1", "CLDQ01", 3.0), ("S1", "V1", "CLDQ01", 4.0)]))


def test_cldq_by_visit_key_and_lazy_input():
    frame = pl.DataFrame(
        {
            "USUBJID": ["S1"] * 3,
            "VISITNUM": [2, 2, 2],
            "QSTESTCD": ["CLDQ01", "CLDQ05", "CLDQ17"],
            "QSSTRESN": [1.0, 2.0, 6.0],
        }
    )
    out = scores.score_cldq(frame.lazy(), by=["USUBJID", "VISITNUM"])
    row = out.filter(pl.col("PARAMCD") == "CLDQAS").row(0, named=True)
    assert row["VISITNUM"] == 2 and row["AVAL"] == 3.0 and row["NITEMS"] == 3  # 9 / 3


def eq5d(state: str, vas: float | None = 50.0) -> pl.DataFrame:
    rows = [("S1", "V1", f"EQ5D010{k}", float(level)) for k, level in enumerate(state, 1)]
    rows.append(("S1", "V1", "EQ5D0106", vas))
    return qs(rows)


@pytest.mark.parametrize(
    ("value_set", "state", "index"),
    [
        # China: 1 - 0.066 (MO2) - 0 (SC1) - 0.045 (UA2) - 0.138 (PD3) - 0.049 (AD2) = 0.702
        ("China", "21232", 0.702),
        # China 55555: 1 - 0.345 - 0.253 - 0.233 - 0.302 - 0.258 = -0.391
        ("China", "55555", -0.391),
        ("China", "11111", 1.0),
        # England 55555: 1 - 0.274 - 0.203 - 0.184 - 0.335 - 0.289 = -0.285
        ("England", "55555", -0.285),
        # USA 55555: 1 - 0.322 - 0.261 - 0.255 - 0.414 - 0.321 = -0.573
        ("USA", "55555", -0.573),
        ("England", "11111", 1.0),
    ],
)
def test_eq5d5l_index(value_set, state, index):
    out = scores.score_eq5d5l(eq5d(state), value_set=value_set)
    row = out.filter(pl.col("PARAMCD") == "EQ5DIDX").row(0, named=True)
    assert row["AVAL"] == index  # exact: rounded to 3 decimals
    assert row["NITEMS"] == 5


def test_eq5d5l_vas_and_missing_dimension():
    frame = eq5d("21232", vas=72.0).filter(pl.col("QSTESTCD") != "EQ5D0103")
    out = scores.score_eq5d5l(frame).drop("PARAM")
    exp = expected([("S1", "V1", "EQ5DIDX", None, 4), ("S1", "V1", "EQ5DVAS", 72.0, 1)])
    assert_frame_equal(out, exp)
    # null level (record present) is missing as well; VAS missing -> null
    frame = eq5d("21232", vas=None).with_columns(
        pl.when(pl.col("QSTESTCD") == "EQ5D0105")
        .then(None)
        .otherwise(pl.col("QSSTRESN"))
        .alias("QSSTRESN")
    )
    out = scores.score_eq5d5l(frame)
    assert out["AVAL"].to_list() == [None, None]
    assert out["NITEMS"].to_list() == [4, 0]


def test_eq5d5l_errors():
    with pytest.raises(ConfigError, match="China, England, USA"):
        scores.score_eq5d5l(eq5d("11111"), value_set="Japan")
    with pytest.raises(DataContractError, match="outside"):
        scores.score_eq5d5l(eq5d("11161"))
    with pytest.raises(DataContractError, match="outside"):
        scores.score_eq5d5l(eq5d("11111", vas=101.0))


def sf36(answers: dict[int, float | None], subject="S1") -> pl.DataFrame:
    return qs([(subject, "V1", f"SF36{k:02d}", v) for k, v in answers.items()])


def aval(out: pl.DataFrame, paramcd: str):
    return out.filter(pl.col("PARAMCD") == paramcd)["AVAL"].item()


def test_rand36_recode_group_1_2_20_22_34_36():
    # 1->100 2->75 3->50 4->25 5->0
    # GH = items 1, 33, 34, 36 (35 absent): item1=2 -> 75, item34=4 -> 25, item36=5 -> 0,
    # item33=3 -> 50 (group 32,33,35: 3 -> 50): (75 + 50 + 25 + 0) / 4 = 37.5
    # SFHC item 2 = 1 -> 100; PN items 21 (absent), 22 = 3 -> 50; SF 20 = 4 -> 25, 32 absent
    out = scores.score_rand36(sf36({1: 2, 2: 1, 20: 4, 22: 3, 33: 3, 34: 4, 36: 5}))
    assert aval(out, "SFGH") == 37.5
    assert aval(out, "SFHC") == 100.0
    assert aval(out, "SFPN") == 50.0
    assert aval(out, "SFSF") == 25.0


def test_rand36_recode_physical_functioning_3_to_12():
    # 1->0 2->50 3->100: items 3..12 = 1,2,3,1,2,3,1,2,3,3 -> 0,50,100,0,50,100,0,50,100,100
    # = 550 / 10 = 55
    answers = dict(zip(range(3, 13), [1, 2, 3, 1, 2, 3, 1, 2, 3, 3], strict=True))
    out = scores.score_rand36(sf36(answers))
    assert aval(out, "SFPF") == 55.0
    assert out.filter(pl.col("PARAMCD") == "SFPF")["NITEMS"].item() == 10


def test_rand36_recode_role_items_13_to_19():
    # 1->0 2->100: RP 13..16 = 1,2,2,2 -> 0,100,100,100 = 75; RE 17..19 = 1,1,2 -> 100/3
    out = scores.score_rand36(sf36({13: 1, 14: 2, 15: 2, 16: 2, 17: 1, 18: 1, 19: 2}))
    assert aval(out, "SFRP") == 75.0
    assert aval(out, "SFRE") == pytest.approx(100 / 3, rel=1e-12)


def test_rand36_recode_six_point_groups():
    # 21,23,26,27,30: 1->100 ... 6->0; 24,25,28,29,31: 1->0 ... 6->100
    # EF = 23, 27, 29, 31: 23=2 -> 80, 27=6 -> 0, 29=3 -> 40, 31=6 -> 100: 220 / 4 = 55
    # EW = 24, 25, 26, 28, 30: 24=1 -> 0, 25=5 -> 80, 26=1 -> 100, 28=4 -> 60, 30=3 -> 60:
    # 300 / 5 = 60
    # PN = 21, 22: 21=5 -> 20, 22=2 -> 75: 47.5
    out = scores.score_rand36(
        sf36({21: 5, 22: 2, 23: 2, 24: 1, 25: 5, 26: 1, 27: 6, 28: 4, 29: 3, 30: 3, 31: 6})
    )
    assert aval(out, "SFEF") == 55.0
    assert aval(out, "SFEW") == 60.0
    assert aval(out, "SFPN") == 47.5


def test_rand36_recode_32_33_35():
    # 1->0 2->25 3->50 4->75 5->100: SF = 20 (1 -> 100), 32 (2 -> 25): 62.5
    # GH = 33 (5 -> 100), 35 (4 -> 75): 87.5
    out = scores.score_rand36(sf36({20: 1, 32: 2, 33: 5, 35: 4}))
    assert aval(out, "SFSF") == 62.5
    assert aval(out, "SFGH") == 87.5


def test_rand36_scale_scored_with_one_item_null_with_none():
    out = scores.score_rand36(sf36({3: 3, 13: None}))
    assert aval(out, "SFPF") == 100.0  # 1 of 10 answered: RAND rule, scored
    rp = out.filter(pl.col("PARAMCD") == "SFRP")
    assert rp["AVAL"].item() is None and rp["NITEMS"].item() == 0
    assert out["PARAMCD"].to_list() == [
        "SFPF",
        "SFRP",
        "SFRE",
        "SFEF",
        "SFEW",
        "SFSF",
        "SFPN",
        "SFGH",
        "SFHC",
    ]


def test_rand36_rejects_code_outside_item_range():
    # item 3 has codes 1-3 only; item 21 has 1-6
    with pytest.raises(DataContractError, match="SF3603"):
        scores.score_rand36(sf36({3: 4}))
    scores.score_rand36(sf36({21: 6}))  # valid


def test_questionnaire_missing_column_is_reported():
    with pytest.raises(DataContractError, match="QSDTC"):
        scores.score_rand36(sf36({1: 1}).drop("QSDTC"))


def test_value_set_file_is_shipped_as_package_data():
    coef = scores.load_eq5d5l_value_set("China")
    assert coef["MO2"] == -0.066 and coef["AD5"] == -0.258 and coef["StartValue"] == 1.0
    assert_series_equal(pl.Series([coef["Intercept"]]), pl.Series([0.0]))

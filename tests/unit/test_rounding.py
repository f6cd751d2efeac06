"""The one rounding rule (hepatrial.rounding): half away from zero, on the decimal value.

The expected values are written out by hand, not computed with another rounding function.
"""

from __future__ import annotations

import math

import polars as pl
import pytest

from hepatrial import scores
from hepatrial.rounding import round_half_up
from hepatrial.tlf import format as F

CASES = [
    # (x, decimals, rounded): ties away from zero, as SAS ROUND and by hand
    (2.5, 0, 3.0),
    (-2.5, 0, -3.0),
    (0.5, 0, 1.0),
    (-0.5, 0, -1.0),
    (1.5, 0, 2.0),
    (-1.5, 0, -2.0),
    (3.5, 0, 4.0),
    (2.4999, 0, 2.0),
    (-2.4999, 0, -2.0),
    (-0.4, 0, 0.0),  # never -0
    # float64 holds these just below the tie; the decimal value is the tie and rounds away from zero
    (1.005, 2, 1.01),  # 1.00499999999999989...
    (-1.005, 2, -1.01),
    (2.675, 2, 2.68),  # 2.67499999999999982...
    (1.85, 1, 1.9),
    (0.125, 2, 0.13),
    (-0.125, 2, -0.13),
    (0.285, 2, 0.29),  # 0.28499999999999998...
    (1.0049, 2, 1.0),
    (-0.05, 1, -0.1),
    (-0.04, 1, 0.0),
    (1234.5678, 3, 1234.568),
    (125.0, -1, 130.0),
    (-125.0, -1, -130.0),
]


@pytest.mark.parametrize("x, d, want", CASES)
def test_python_numbers(x, d, want):
    got = round_half_up(x, d)
    assert isinstance(got, float)
    assert got == want and math.copysign(1.0, got) == math.copysign(1.0, want)


@pytest.mark.parametrize("x, d, want", CASES)
def test_polars_expressions_agree(x, d, want):
    got = pl.DataFrame({"x": [x]}).select(round_half_up("x", d)).item()
    assert got == want and math.copysign(1.0, got) == math.copysign(1.0, want)
    assert pl.select(round_half_up(pl.lit(x), d)).item() == want


def test_one_ulp_below_a_tie_is_the_tie():
    # 1.85 and 18.5 reached by float arithmetic one ulp below (1.8499999999999999, 18.499999999999996)
    assert round_half_up(math.nextafter(1.85, 0.0), 1) == 1.9
    assert round_half_up(math.nextafter(18.5, 0.0), 0) == 19.0
    assert round_half_up(math.nextafter(-18.5, 0.0), 0) == -19.0


def test_missing_stays_missing():
    assert math.isnan(round_half_up(float("nan"), 1))
    got = pl.DataFrame({"x": [None, float("nan"), -2.5]}).select(round_half_up("x"))["x"].to_list()
    assert got[0] is None and math.isnan(got[1]) and got[2] == -3.0


def test_scores_tables_and_protocol_meld_use_the_same_rule():
    assert scores.round_half_up is round_half_up
    assert F.round_half_up is round_half_up
    assert [F.fmt_num(v, 0) for v in (2.5, -2.5, -0.4)] == ["3", "-3", "0"]
    assert F.fmt_num(1.005, 2) == "1.01" and F.fmt_num(-1.005, 2) == "-1.01"
    assert F.fmt_prob_pct(0.12345) == "12.3" and F.fmt_p(0.0125) == "0.013"

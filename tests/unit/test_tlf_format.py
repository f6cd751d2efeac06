"""Rounding and display rules of hepatrial.tlf.format."""

from __future__ import annotations

import pytest

from hepatrial.tlf import format as F


@pytest.mark.parametrize(
    "x, d, want",
    [
        (2.5, 0, "3"),
        (3.5, 0, "4"),
        (-2.5, 0, "-3"),  # half away from zero, not to even
        (0.125, 2, "0.13"),
        (1.005, 2, "1.01"),
        (2.675, 2, "2.68"),  # the decimal value, not the binary one
        (-0.04, 1, "0.0"),
        (-0.05, 1, "-0.1"),
        (12.0, 1, "12.0"),
        (1234.5678, 3, "1234.568"),
    ],
)
def test_fmt_rounded(x, d, want):
    assert F.fmt_rounded(x, d) == want


@pytest.mark.parametrize(
    "p, want",
    [
        (0.0004, "<0.001"),
        (0.001, "0.001"),
        (0.0009999, "<0.001"),
        (0.0495, "0.050"),
        (0.05, "0.050"),
        (0.12345, "0.123"),
        (0.9994, "0.999"),
        (0.9996, ">0.999"),
        (1.0, ">0.999"),
        (float("nan"), "NE"),
        (None, "NE"),
    ],
)
def test_p_values(p, want):
    assert F.fmt_p(p) == want


def test_n_pct_zero_and_one_decimal():
    assert F.fmt_n_pct(0, 0.0) == "0"
    assert F.fmt_n_pct(1, 100 / 3) == "1 (33.3)"
    assert F.fmt_n_pct(2, 200 / 3) == "2 (66.7)"
    assert F.fmt_n_pct(3, 100.0) == "3 (100.0)"
    assert F.fmt_n_pct(None, None) == "NE"


def test_decimals_by_parameter_and_statistic():
    # MELD is an integer score: mean 1 decimal, SD 2, min/max 0; INR has 2 decimals: mean 3, SD 4.
    assert F.fmt_stat(15.25, "MELD", "mean") == "15.3"
    assert F.fmt_stat(3.4567, "MELD", "sd") == "3.46"
    assert F.fmt_stat(12.0, "MELD", "min") == "12"
    assert F.fmt_stat(1.23456, "INR", "mean") == "1.235"
    assert F.fmt_stat(0.123456, "INR_CHG", "sd") == "0.1235"
    assert F.fmt_stat(7.0, "MELD", "n") == "7"
    assert F.fmt_stat(0.5, "UNKNOWNPARAM", "median") == "0.50"  # default: data with 1 decimal
    assert F.fmt_mean_sd(52.0, 8.18535, "AGE") == "52.0 (8.19)"
    assert F.fmt_est_ci(0.98, 0.404, 2.415, 2) == "0.98 (0.40, 2.42)"


def test_not_estimable_and_percent_of_probability():
    assert F.fmt_num(float("nan"), 2) == "NE"
    assert F.fmt_ci(float("nan"), 1.0, 1) == "(NE, 1.0)"
    assert F.fmt_prob_pct(0.94875) == "94.9"
    assert F.fmt_prob_pct(None) == "NE"


def test_infinite_and_huge_numbers_print_as_r_and_sas_do_not_as_150_digits():
    """inf: Inf / -Inf (R); from 1E+15 on, E-notation (SAS BEST): a float64 has 15-16 significant
    digits, so 1.4122E+151 printed in full was 150 digits of noise. Below it, decimals as ever."""
    assert F.fmt_num(float("inf"), 2) == "Inf"
    assert F.fmt_num(float("-inf"), 1) == "-Inf"
    assert F.fmt_num(-1.4122e151, 2) == "-1.41E+151"
    assert F.fmt_num(1e15, 0) == "1.0E+15"
    assert F.fmt_num(999_999_999_999_999.0, 0) == "999999999999999"
    assert F.fmt_num(2.345e8, 0) == "234500000"  # an HBV DNA mean stays as it was
    assert F.fmt_ci(-1.4122e151, 1.4122e151, 2) == "(-1.41E+151, 1.41E+151)"

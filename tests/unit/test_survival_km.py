"""Kaplan-Meier: small examples computed by hand (and checked against R survfit 3.5-3)."""

import math

import numpy as np
import polars as pl
import pytest

from hepatrial.survival import SurvivalInputError, kaplan_meier, km_at, km_median, km_table
from hepatrial.survival.km import KMFit

Z = 1.959963984540054

# 6 subjects; at t=2 one event and one censoring (tie: the censored subject is at risk at 2)
T6 = [1, 2, 2, 3, 4, 5]
E6 = [1, 1, 0, 1, 0, 1]


def test_km_six_subjects_by_hand():
    tab = km_table(T6, E6)
    assert tab["group"].to_list() == ["ALL"] * 5
    assert tab["time"].to_list() == [1, 2, 3, 4, 5]
    assert tab["n_risk"].to_list() == [6, 5, 3, 2, 1]
    assert tab["n_event"].to_list() == [1, 1, 1, 0, 1]
    assert tab["n_censor"].to_list() == [0, 1, 0, 1, 0]
    # S: 5/6, 5/6*4/5 = 2/3, 2/3*2/3 = 4/9, 4/9, 0
    np.testing.assert_allclose(tab["surv"], [5 / 6, 2 / 3, 4 / 9, 4 / 9, 0.0], atol=1e-15)
    # Greenwood: sum d/(n(n-d)) = 1/30, 1/30+1/20 = 1/12, 1/12+1/6 = 1/4
    se = tab["se"].to_numpy()
    np.testing.assert_allclose(
        se[:4],
        [5 / 6 * math.sqrt(1 / 30), 2 / 3 * math.sqrt(1 / 12), 4 / 9 * 0.5, 4 / 9 * 0.5],
        atol=1e-15,
    )
    assert math.isnan(se[4])  # S = 0 after all at risk die: R gives NaN
    # log-log CI at t=1 by hand
    s, v = 5 / 6, 1 / 30
    lo = math.exp(-math.exp(math.log(-math.log(s)) - Z * math.sqrt(v) / math.log(s)))
    up = math.exp(-math.exp(math.log(-math.log(s)) + Z * math.sqrt(v) / math.log(s)))
    assert tab["lower"][0] == pytest.approx(lo, abs=1e-12)
    assert tab["upper"][0] == pytest.approx(up, abs=1e-12)
    # R: survfit(conf.type = "log-log") prints 0.2731228 0.9747124
    assert tab["lower"][0] == pytest.approx(0.2731228, abs=1e-7)
    assert tab["upper"][0] == pytest.approx(0.9747124, abs=1e-7)
    assert math.isnan(tab["lower"][4]) and math.isnan(tab["upper"][4])


def test_km_log_and_plain_ci_by_hand():
    s, v = 2 / 3, 1 / 12
    lg = km_table(T6, E6, conf_type="log").row(1, named=True)
    assert lg["lower"] == pytest.approx(s * math.exp(-Z * math.sqrt(v)), abs=1e-12)
    assert lg["upper"] == pytest.approx(min(1.0, s * math.exp(Z * math.sqrt(v))), abs=1e-12)
    pln = km_table(T6, E6, conf_type="plain").row(1, named=True)
    se = s * math.sqrt(v)
    assert pln["lower"] == pytest.approx(s - Z * se, abs=1e-12)
    assert pln["upper"] == pytest.approx(min(1.0, s + Z * se), abs=1e-12)
    # conf_level
    p90 = km_table(T6, E6, conf_type="plain", conf_level=0.90).row(1, named=True)
    assert p90["lower"] == pytest.approx(s - 1.6448536269514722 * se, abs=1e-12)


def test_km_at_landmarks_right_continuous_and_risk_set():
    r = km_at(T6, E6, [0.5, 1, 1.5, 2, 4.5, 5, 9])
    # S includes events at t; n_risk = subjects with time >= t; n_event_cum = events <= t
    np.testing.assert_allclose(r["surv"], [1, 5 / 6, 5 / 6, 2 / 3, 4 / 9, 0, 0], atol=1e-15)
    assert r["n_risk"].to_list() == [6, 6, 5, 5, 1, 1, 0]
    assert r["n_event_cum"].to_list() == [0, 1, 1, 2, 3, 4, 4]
    # before the first time: SE 0 and limits [1, 1] (R summary.survfit)
    assert r.row(0, named=True)["se"] == 0 and r["lower"][0] == 1 and r["upper"][0] == 1
    assert r["se"][3] == pytest.approx(2 / 3 * math.sqrt(1 / 12), abs=1e-15)


def test_km_loglog_nan_when_surv_one_after_censoring():
    # censoring at 0.5 before any event: S = 1, log-log undefined -> NaN (R: NA)
    r = km_at([0.5, 1, 2], [0, 1, 0], [0.2, 0.7])
    assert r["lower"][0] == 1.0
    assert math.isnan(r["lower"][1]) and math.isnan(r["upper"][1])
    r = km_at([0.5, 1, 2], [0, 1, 0], [0.7], conf_type="plain")
    assert r["lower"][0] == 1.0 and r["upper"][0] == 1.0


def test_km_groups_and_order():
    t = [1, 2, 3, 1, 2, 3]
    e = [1, 0, 1, 1, 1, 0]
    g = ["B", "B", "B", "A", "A", "A"]
    r = km_at(t, e, [2], g)
    assert r["group"].to_list() == ["A", "B"]
    np.testing.assert_allclose(r["surv"], [1 / 3, 2 / 3], atol=1e-15)
    r = km_at(t, e, [2], g, group_order=["B", "A"])
    assert r["group"].to_list() == ["B", "A"]
    # polars/pandas Series inputs
    r2 = km_at(pl.Series(t), pl.Series(e), [2], pl.Series(g))
    np.testing.assert_allclose(r2["surv"], [1 / 3, 2 / 3], atol=1e-15)


def test_median_flat_at_half_is_midpoint():
    # S = 3/4, 1/2, 1/4, 0 at 1, 2, 3, 4: S = 0.5 exactly on [2, 3) -> median 2.5 (R)
    m = km_median([1, 2, 3, 4], [1, 1, 1, 1]).row(0, named=True)
    assert m["median"] == 2.5
    assert m["lower"] == 1.0  # R: lower 1
    assert math.isnan(m["upper"])  # R: NA (upper curve never reaches 0.5)


def test_median_flat_at_half_until_last_follow_up():
    # S = 3/4, 1/2 and then flat (censorings at 3, 4): midpoint of 2 and last time 4 (R: 3)
    m = km_median([1, 2, 3, 4], [1, 1, 0, 0]).row(0, named=True)
    assert m["median"] == 3.0


def test_median_not_reached_and_simple():
    m = km_median([1, 2, 3, 4], [1, 0, 0, 0]).row(0, named=True)
    assert math.isnan(m["median"]) and math.isnan(m["upper"])
    # S = 5/6, 2/3, 4/9 at 1, 2, 3: first time S <= 0.5 is 3
    assert km_median(T6, E6)["median"][0] == 3.0


def test_kaplan_meier_fit_object():
    fit = kaplan_meier(np.array(T6, float), np.array(E6))
    assert isinstance(fit, KMFit) and fit.n == 6
    est, lo, up = fit.quantile(0.5)
    assert est == 3.0
    np.testing.assert_allclose(fit.var_log[:3], [1 / 30, 1 / 12, 1 / 4], atol=1e-15)


def test_km_input_validation():
    with pytest.raises(SurvivalInputError):
        km_table([1, -2], [1, 0])
    with pytest.raises(SurvivalInputError):
        km_table([1, 2], [1, 2])
    with pytest.raises(SurvivalInputError):
        km_table([1, float("nan")], [1, 0])
    with pytest.raises(SurvivalInputError):
        km_table([1, 2], [1, 0], conf_type="logit")
    with pytest.raises(SurvivalInputError):
        km_table([1, 2], [1])


def test_km_large_is_fast_and_consistent():
    rng = np.random.default_rng(7)
    n = 100_000
    t = np.round(rng.exponential(500, n))
    e = (rng.uniform(size=n) < 0.6).astype(int)
    tab = km_table(t, e)
    assert tab["n_event"].sum() == e.sum()
    assert tab["n_risk"][0] == n
    assert np.all(np.diff(tab["surv"].to_numpy()) <= 0)


def test_group_level_order_from_enum_and_numeric_labels():
    t = [1, 2, 3, 1, 2, 3]
    e = [1, 0, 1, 1, 1, 0]
    g = pl.Series(
        ["Pbo", "Pbo", "Pbo", "Act", "Act", "Act"], dtype=pl.Enum(["Pbo", "Act", "Unused"])
    )
    assert km_at(t, e, [2], g)["group"].to_list() == ["Pbo", "Act"]  # Enum order, empty dropped
    assert km_at(t, e, [2], [2, 2, 2, 10, 10, 10])["group"].to_list() == ["2", "10"]  # numeric
    with pytest.raises(SurvivalInputError):
        km_at(t, e, [2], pl.Series(["a", None, "a", "b", "b", "b"]))

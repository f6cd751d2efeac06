"""Competing risks: Aalen-Johansen CIF, its IJ and delta variances, Gray's test."""

import math

import numpy as np
import pytest

from hepatrial.survival import (
    SurvivalInputError,
    aalen_johansen,
    cif_at,
    cif_table,
    gray_test,
    km_table,
)

# 5 subjects: cause 1 at 1, cause 2 at 2, censored 3, cause 1 at 4, censored 5
T5 = [1, 2, 3, 4, 5]
S5 = [1, 2, 0, 1, 0]


def test_aj_by_hand():
    tab = cif_table(T5, S5)
    c1 = tab.filter(tab["cause"] == 1)
    c2 = tab.filter(tab["cause"] == 2)
    # t=1: n=5, d1=1 -> F1 = 1/5, S = 4/5
    # t=2: n=4, d2=1 -> F2 = 4/5 * 1/4 = 1/5, S = 3/5
    # t=4: n=2, d1=1 -> F1 = 1/5 + 3/5 * 1/2 = 1/2, S = 3/10
    np.testing.assert_allclose(c1["cif"], [0.2, 0.2, 0.2, 0.5, 0.5], atol=1e-15)
    np.testing.assert_allclose(c2["cif"], [0.0, 0.2, 0.2, 0.2, 0.2], atol=1e-15)
    assert c1["n_risk"].to_list() == [5, 4, 3, 2, 1]
    assert c1["n_event"].to_list() == [1, 0, 0, 1, 0]
    assert c1["n_censor"].to_list() == [0, 0, 1, 0, 1]
    fit = aalen_johansen(T5, S5)
    np.testing.assert_allclose(fit.surv, [0.8, 0.6, 0.6, 0.3, 0.3], atol=1e-15)
    # S + F1 + F2 = 1
    np.testing.assert_allclose(fit.surv + fit.cif.sum(axis=1), 1.0, atol=1e-15)


def test_aj_ties_events_together_censoring_after():
    # at t=2: one cause-1, one cause-2 and one censoring among 4 at risk
    t = [1, 2, 2, 2, 3]
    s = [1, 1, 2, 0, 1]
    fit = aalen_johansen(t, s)
    # t=1: n=5 -> F1 = 1/5, S = 4/5; t=2: n=4 (censored one still at risk), d=2:
    # F1 = 1/5 + 4/5 * 1/4 = 2/5, F2 = 4/5 * 1/4 = 1/5, S = 4/5 * 2/4 = 2/5
    # t=3: n=1 -> F1 = 2/5 + 2/5 = 4/5
    np.testing.assert_allclose(fit.cif[:, 0], [0.2, 0.4, 0.8], atol=1e-15)
    np.testing.assert_allclose(fit.cif[:, 1], [0.0, 0.2, 0.2], atol=1e-15)
    assert fit.n_risk.tolist() == [5, 4, 1]


def test_ij_variance_is_binomial_without_censoring():
    # no censoring: the IJ variance of the empirical CIF is F(1 - F)/n (R survfit: 0.0625)
    fit = aalen_johansen([1, 2, 2, 3], [1, 2, 1, 2])
    np.testing.assert_allclose(fit.cif[:, 0], [0.25, 0.5, 0.5])
    np.testing.assert_allclose(fit.var_ij[:, 0], [0.25 * 0.75 / 4, 0.25 / 4, 0.25 / 4], atol=1e-15)


def _aj_weighted(t, s, w, cause, at):
    """Deliberately plain per-time loop, weighted AJ of one cause at time ``at``."""
    surv, f = 1.0, 0.0
    for u in np.unique(t):
        if u > at:
            break
        n = w[t >= u].sum()
        d = w[(t == u) & (s > 0)].sum()
        dk = w[(t == u) & (s == cause)].sum()
        f += surv * dk / n
        surv *= 1.0 - d / n
    return f


def test_ij_variance_equals_sum_of_squared_weight_derivatives():
    rng = np.random.default_rng(2)
    n = 40
    t = rng.integers(1, 12, n).astype(float)  # many ties
    s = rng.choice([0, 1, 2], n, p=[0.3, 0.4, 0.3])
    fit = aalen_johansen(t, s)
    eps = 1e-6
    for cause in (1, 2):
        k = fit.causes.index(cause)
        for j in [2, 5, 8, len(fit.time) - 1]:
            at = fit.time[j]
            dev = []
            for i in range(n):
                wp = np.ones(n)
                wm = np.ones(n)
                wp[i] += eps
                wm[i] -= eps
                dev.append(
                    (_aj_weighted(t, s, wp, cause, at) - _aj_weighted(t, s, wm, cause, at))
                    / (2 * eps)
                )
            assert fit.var_ij[j, k] == pytest.approx(np.sum(np.square(dev)), rel=1e-6, abs=1e-12)


def test_single_cause_cif_is_one_minus_km():
    t = [1, 2, 2, 3, 4, 5]
    e = [1, 1, 0, 1, 0, 1]
    tab = cif_table(t, e)
    km = km_table(t, e)
    np.testing.assert_allclose(tab["cif"], 1 - km["surv"].to_numpy(), atol=1e-15)


def test_cif_at_landmarks_and_ci():
    r = cif_at(T5, S5, [0.5, 1, 2.5, 4, 10], causes=[1], conf_type="log")
    np.testing.assert_allclose(r["cif"], [0, 0.2, 0.2, 0.5, 0.5], atol=1e-15)
    assert r["n_risk"].to_list() == [5, 5, 3, 2, 0]
    assert r["n_event_cum"].to_list() == [0, 1, 1, 2, 2]
    # before the first time: [0, 0] as R's summary; log CI = F exp(-/+ z se/F), upper <= 1
    assert r["lower"][0] == 0 and r["upper"][0] == 0
    f, se = r["cif"][1], r["se"][1]
    z = 1.959963984540054
    assert r["lower"][1] == pytest.approx(f * math.exp(-z * se / f), abs=1e-12)
    assert r["upper"][1] == pytest.approx(min(1.0, f * math.exp(z * se / f)), abs=1e-12)
    # R survfit on these data: se(F1(1)) = 0.1788854 (= sqrt(0.2 * 0.8 / 5))
    assert se == pytest.approx(math.sqrt(0.2 * 0.8 / 5), abs=1e-12)
    # CIF 0 after the first time: log-log CI undefined -> NaN (R: NA)
    r2 = cif_at(T5, S5, [1], causes=[2])
    assert r2["cif"][0] == 0 and math.isnan(r2["lower"][0])


def test_cif_groups_and_absent_cause():
    t = [1, 2, 3, 1, 2, 3]
    s = [1, 1, 0, 2, 0, 0]
    g = ["A", "A", "A", "B", "B", "B"]
    r = cif_at(t, s, [3], g)
    got = {(row["group"], row["cause"]): row["cif"] for row in r.iter_rows(named=True)}
    assert got == {
        ("A", 1): pytest.approx(2 / 3),
        ("B", 1): 0.0,
        ("A", 2): 0.0,
        ("B", 2): pytest.approx(1 / 3),
    }


def test_delta_variance_first_step_by_hand():
    # Var F_k(t) = sum_j S(t_j-)^2 / n_j^2 [d_kj (1 - (F_k(t) - F_k(t_j))/S(t_j))^2
    #                                       + d_oj ((F_k(t) - F_k(t_j))/S(t_j))^2]
    # cause 1 at t=1: n=5, S(0)=1 -> 1/25 * 1 = 0.04
    # cause 2 at t=2: j=1 (other cause, F2(2) - F2(1) = 0.2, S(1) = 0.8): 1/25 * (0.25)^2
    #                 j=2 (own event, n=4, S(1-) = 0.8): 0.64/16 * 1
    fit = aalen_johansen(T5, S5)
    assert fit.var_delta[0, 0] == pytest.approx(0.04, abs=1e-15)
    assert fit.var_delta[1, 1] == pytest.approx(0.64 / 16 + 0.0025, abs=1e-15)


def test_gray_identical_groups_and_order_invariance():
    rng = np.random.default_rng(4)
    n = 150
    t = rng.integers(1, 30, n).astype(float)
    s = rng.choice([0, 1, 2], n)
    # two identical copies in groups A and B: score 0, statistic 0
    res = gray_test(np.r_[t, t], np.r_[s, s], ["A"] * n + ["B"] * n, cause=1)
    assert abs(res.score[0]) < 1e-10 and res.chisq == pytest.approx(0.0, abs=1e-18)
    g = rng.choice(["a", "b", "c"], n)
    r1 = gray_test(t, s, g)
    r2 = gray_test(t, s, g, group_order=["c", "b", "a"])
    for c in (1, 2):
        assert r1[c].df == 2
        assert r1[c].chisq == pytest.approx(r2[c].chisq, rel=1e-9)
        assert abs(r1[c].score.sum()) < 1e-9  # scores sum to zero over groups


def test_competing_input_validation():
    with pytest.raises(SurvivalInputError):
        cif_at([1, 2], [1, -1], [1])
    with pytest.raises(SurvivalInputError):
        cif_at([1, 2], [1, 1.5], [1])
    with pytest.raises(SurvivalInputError):
        cif_at([1, 2], [1, 2], [1], variance="greenwood")
    with pytest.raises(SurvivalInputError):
        gray_test([1, 2], [1, 2], ["a", "a"])

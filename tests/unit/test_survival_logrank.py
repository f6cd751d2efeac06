"""Log-rank test: hand-calculated examples."""

import math

import numpy as np
import pytest
from scipy import stats

from hepatrial.survival import SurvivalInputError, logrank_test

# A: events at 1 and 3; B: event at 2, censored at 4
T = [1, 3, 2, 4]
E = [1, 1, 1, 0]
G = ["A", "A", "B", "B"]


def test_logrank_two_groups_by_hand():
    # t=1: n=4 (2 A), d=1 -> E_A = 1/2, V = 1*(3/3)*(2/4)*(2/4) = 1/4
    # t=2: n=3 (1 A), d=1 -> E_A = 1/3, V = 1*(2/2)*(1/3)*(2/3) = 2/9
    # t=3: n=2 (1 A), d=1 -> E_A = 1/2, V = 1*(1/1)*(1/2)*(1/2) = 1/4
    # O_A = 2, E_A = 4/3, V = 13/18, chisq = (2/3)^2 / (13/18) = 8/13
    r = logrank_test(T, E, G)
    assert r.groups == ("A", "B")
    np.testing.assert_allclose(r.observed, [2, 1])
    np.testing.assert_allclose(r.expected, [4 / 3, 5 / 3], atol=1e-15)
    assert r.variance[0, 0] == pytest.approx(13 / 18, abs=1e-15)
    assert r.chisq == pytest.approx(8 / 13, abs=1e-14)
    assert r.df == 1
    assert r.p == pytest.approx(stats.chi2.sf(8 / 13, 1), abs=1e-14)
    fr = r.to_frame()
    assert fr["n"].to_list() == [2, 2]


def test_logrank_ties_hypergeometric_variance():
    # one time with 2 events among 4 (2 per group): V = 2*(2/3)*(1/2)*(1/2) = 1/3, E_A = 1
    r = logrank_test([1, 1, 2, 2], [1, 0, 1, 0], ["A", "B", "A", "B"])
    # t=1: n=4, nA=2, d=1 (A): E_A=1/2, V=1/4; t=2: n=2, nA=1, d=1 (A): E_A=1/2, V=1/4
    assert r.chisq == pytest.approx((2 - 1) ** 2 / 0.5, abs=1e-14)
    r = logrank_test([1, 1, 1, 1], [1, 1, 0, 0], ["A", "A", "B", "B"])
    assert r.expected[0] == pytest.approx(1.0)
    assert r.variance[0, 0] == pytest.approx(2 * (2 / 3) * 0.25, abs=1e-15)
    assert r.chisq == pytest.approx(1 / (1 / 3), abs=1e-14)


def test_logrank_stratified_sums_oe_and_variance():
    t = T + T
    e = E + E
    g = G + G
    s = ["x"] * 4 + ["y"] * 4
    r = logrank_test(t, e, g, s, strata_name="sex")
    # two identical strata: O - E and V both double -> chisq = 2 * 8/13
    assert r.chisq == pytest.approx(16 / 13, abs=1e-14)
    assert r.stratified_by == "sex"
    # unstratified on the pooled data differs (risk sets merge)
    assert logrank_test(t, e, g).chisq != pytest.approx(16 / 13)


def test_logrank_three_groups_order_invariant():
    rng = np.random.default_rng(3)
    n = 300
    t = np.round(rng.exponential(10, n))
    e = (rng.uniform(size=n) < 0.7).astype(int)
    g = rng.choice(["a", "b", "c"], n)
    r1 = logrank_test(t, e, g)
    r2 = logrank_test(t, e, g, group_order=["c", "a", "b"])
    assert r1.df == 2
    assert r1.chisq == pytest.approx(r2.chisq, rel=1e-12)
    assert math.isclose(r1.variance.sum(), 0.0, abs_tol=1e-9)  # rows of V sum to 0


def test_logrank_needs_two_groups():
    with pytest.raises(SurvivalInputError):
        logrank_test(T, E, ["A"] * 4)

"""Cox PH: estimates against independently hand-written partial likelihoods."""

import math

import numpy as np
import pytest
from scipy import optimize, stats

from hepatrial.errors import ConvergenceError
from hepatrial.survival import SurvivalInputError, cox_ph, logrank_test

# x = 1 for arm "T", 0 for "C". Tie of two events at t=1 (one per arm).
TIME = [1, 1, 2, 3, 4, 5]
EVENT = [1, 1, 1, 0, 1, 0]
ARM = ["T", "C", "T", "C", "C", "T"]


def loglik_by_hand(b, ties):
    e = math.exp(b)
    # t=1: risk set all 6 (3 T, 3 C); events: one T (x=1), one C (x=0)
    s0 = 3 * e + 3
    d0 = e + 1
    ll = b - (2 * math.log(s0) if ties == "breslow" else math.log(s0) + math.log(s0 - 0.5 * d0))
    # t=2: risk set {T@2, C@3, C@4, T@5}; event T
    ll += b - math.log(2 * e + 2)
    # t=4: risk set {C@4, T@5}; event C
    ll += 0 - math.log(e + 1)
    return ll


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_cox_matches_hand_partial_likelihood(ties):
    opt = optimize.minimize_scalar(
        lambda b: -loglik_by_hand(b, ties),
        bounds=(-10, 10),
        method="bounded",
        options={"xatol": 1e-12},
    )
    b_hat = opt.x
    # observed information by a central second difference of the hand likelihood
    h = 1e-4
    info = (
        -(
            loglik_by_hand(b_hat + h, ties)
            - 2 * loglik_by_hand(b_hat, ties)
            + loglik_by_hand(b_hat - h, ties)
        )
        / h**2
    )
    res = cox_ph(TIME, EVENT, ARM, reference="C", ties=ties)
    row = res.table.row(0, named=True)
    assert row["arm"] == "T" and row["comparator"] == "C"
    assert row["coef"] == pytest.approx(b_hat, abs=1e-7)
    assert row["se"] == pytest.approx(1 / math.sqrt(info), rel=1e-5)
    assert row["hr"] == pytest.approx(math.exp(b_hat), rel=1e-7)
    z = stats.norm.ppf(0.975)
    assert row["lower"] == pytest.approx(math.exp(row["coef"] - z * row["se"]), rel=1e-12)
    assert res.loglik[1] == pytest.approx(loglik_by_hand(row["coef"], ties), abs=1e-10)
    assert res.loglik[0] == pytest.approx(loglik_by_hand(0.0, ties), abs=1e-12)
    assert res.lrt["chisq"] == pytest.approx(2 * (res.loglik[1] - res.loglik[0]), abs=1e-12)


def test_cox_reference_direction_inverts_hr():
    a = cox_ph(TIME, EVENT, ARM, reference="C").table.row(0, named=True)
    b = cox_ph(TIME, EVENT, ARM, reference="T").table.row(0, named=True)
    assert a["hr"] * b["hr"] == pytest.approx(1.0, abs=1e-12)
    assert a["lower"] * b["upper"] == pytest.approx(1.0, abs=1e-12)
    assert a["p"] == pytest.approx(b["p"], abs=1e-12)


def test_cox_score_test_equals_logrank_without_ties():
    rng = np.random.default_rng(11)
    n = 200
    t = rng.exponential(1.0, n)  # continuous: no ties
    e = (rng.uniform(size=n) < 0.7).astype(int)
    g = rng.choice(["a", "b"], n)
    res = cox_ph(t, e, g, ties="breslow")
    assert res.score["chisq"] == pytest.approx(logrank_test(t, e, g).chisq, rel=1e-10)
    # Efron = Breslow without ties
    ef = cox_ph(t, e, g, ties="efron").table["coef"][0]
    assert ef == pytest.approx(res.table["coef"][0], abs=1e-12)


def test_cox_stratified_is_sum_of_stratum_likelihoods():
    # stratum 2 = the same data again: stratified log-lik = 2 x the one-stratum log-lik,
    # so the estimate is unchanged and the information doubles (SE / sqrt 2)
    t = TIME + TIME
    e = EVENT + EVENT
    g = ARM + ARM
    s = [1] * 6 + [2] * 6
    one = cox_ph(TIME, EVENT, ARM, reference="C").table.row(0, named=True)
    two = cox_ph(t, e, g, reference="C", strata=s).table.row(0, named=True)
    assert two["coef"] == pytest.approx(one["coef"], abs=1e-9)
    assert two["se"] == pytest.approx(one["se"] / math.sqrt(2), rel=1e-9)


def test_cox_three_arms_and_covariates():
    rng = np.random.default_rng(5)
    n = 400
    arm = rng.choice(["P", "A", "B"], n)
    x = rng.normal(size=n)
    lp = 0.5 * (arm == "A") - 0.4 * (arm == "B") + 0.3 * x
    t = rng.exponential(np.exp(-lp))
    e = (rng.uniform(size=n) < 0.8).astype(int)
    res = cox_ph(t, e, arm, reference="P", covariates=x, covariate_names=["x"])
    assert res.table["term"].to_list() == ["A vs P", "B vs P", "x"]
    assert res.table["arm"].to_list() == ["A", "B", None]
    assert res.lrt["df"] == 3
    assert res.table["hr"][0] > 1 > res.table["hr"][1]


def test_cox_errors():
    with pytest.raises(SurvivalInputError):
        cox_ph(TIME, EVENT, ARM, ties="exact")
    with pytest.raises(SurvivalInputError):
        cox_ph(TIME, EVENT, ARM, reference="Z")
    with pytest.raises(SurvivalInputError):
        cox_ph(TIME, [0] * 6, ARM)
    # monotone likelihood: all events in one arm -> infinite estimate
    with pytest.raises(ConvergenceError):
        cox_ph([1, 2, 3, 4, 5, 6], [1, 1, 1, 0, 0, 0], ["T", "T", "T", "C", "C", "C"])

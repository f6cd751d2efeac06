"""Unit tests of hepatrial.models.mmrm: facts that can be checked by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pytest
from scipy import stats

from hepatrial.errors import ConvergenceError, DataContractError
from hepatrial.models import MMRM, fit_random_slope_lmm
from hepatrial.models.mmrm_core import Engine
from hepatrial.models.mmrm_cov import STRUCTURES, CovStructure


def long_df(Y, arm, base=None, stratum=None, drop=None):
    """Subject x visit matrix -> long polars frame (visits V0..V{T-1}); drop: bool mask."""
    N, T = Y.shape
    recs = []
    for i in range(N):
        for t in range(T):
            if drop is not None and drop[i, t]:
                continue
            r = {"USUBJID": f"S{i:03d}", "ARM": arm[i], "AVISIT": f"V{t}", "CHG": float(Y[i, t])}
            if base is not None:
                r["BASE"] = float(base[i])
            if stratum is not None:
                r["STRATUM"] = stratum[i]
            recs.append(r)
    return pl.DataFrame(recs)


def sim_complete(N=40, T=4, seed=1):
    rng = np.random.default_rng(seed)
    sd = np.linspace(1, 2, T)
    C = 0.5 + 0.5 * np.eye(T)
    Y = rng.multivariate_normal(np.zeros(T), C * np.outer(sd, sd), size=N)
    arm = np.repeat(["A", "B"], N // 2)
    Y[arm == "B"] += 0.3 * np.arange(T)
    return Y, arm


VIS4 = ["V0", "V1", "V2", "V3"]


# ---------------------------------------------------------------------------------------------
def test_balanced_un_equals_ols_per_visit_and_kr_is_exact():
    """Complete balanced data, UN, model ARM*AVISIT: GLS = OLS per visit (cell means), the
    per-visit arm difference has the two-sample pooled SE and exactly N-2 df; linear KR makes
    no adjustment and its multi-df test is Hotelling's exact F (Kenward & Roger 1997)."""
    Y, arm = sim_complete()
    N, T = Y.shape
    d = long_df(Y, arm)
    m = MMRM(fallback=None).fit(d, covariates=[], visit_order=VIS4)
    a, b = Y[arm == "A"], Y[arm == "B"]
    diff = b.mean(0) - a.mean(0)
    sp2 = (a.var(0, ddof=1) + b.var(0, ddof=1)) / 2
    se = np.sqrt(sp2 * (2 / (N // 2)))
    np.testing.assert_allclose(m.diffs_["estimate"], diff, rtol=1e-9)
    np.testing.assert_allclose(m.diffs_["se"], se, rtol=1e-6)
    np.testing.assert_allclose(m.diffs_["df"], N - 2, rtol=1e-6)
    ls = m.lsmeans_.filter(pl.col("arm") == "A")["lsmean"]
    np.testing.assert_allclose(ls, a.mean(0), rtol=1e-9)
    # REML Sigma = pooled within-arm covariance with divisor N - 2
    E = np.vstack([a - a.mean(0), b - b.mean(0)])
    np.testing.assert_allclose(m.cov_matrix_, E.T @ E / (N - 2), rtol=1e-6)

    kr = MMRM(fallback=None, df="kenward_roger").fit(d, covariates=[], visit_order=VIS4)
    np.testing.assert_allclose(kr.vcov_, kr.vcov_model_, atol=1e-12)
    np.testing.assert_allclose(kr.diffs_["df"], N - 2, rtol=1e-6)
    # ARM:AVISIT = equality of the arm difference across visits: Hotelling two-sample test
    Cm = np.column_stack([-np.ones(T - 1), np.eye(T - 1)])  # visit t minus visit 0
    dd = Cm @ diff
    Sc = Cm @ (E.T @ E / (N - 2)) @ Cm.T
    T2 = dd @ np.linalg.solve(Sc, dd) / (2 / (N // 2))
    nu, c = N - 2, T - 1
    F_exact = (nu - c + 1) / (nu * c) * T2
    row = kr.type3_.filter(pl.col("term") == "ARM:AVISIT")
    assert row["num_df"][0] == c
    np.testing.assert_allclose(row["den_df"][0], nu - c + 1, rtol=1e-6)
    np.testing.assert_allclose(row["F"][0], F_exact, rtol=1e-6)
    np.testing.assert_allclose(row["p"][0], stats.f.sf(F_exact, c, nu - c + 1), rtol=1e-5)
    # SAS's KR for UN: Sigma is linear in SAS's parameters (the sigma_ij), so the second-order
    # term is zero and full KR (kenward_roger_full is an alias) equals the linear form
    krf = MMRM(fallback=None, df="kenward_roger_full").fit(d, covariates=[], visit_order=VIS4)
    np.testing.assert_allclose(krf.vcov_, krf.vcov_model_, atol=1e-12)


def test_cs_balanced_equals_split_plot_anova():
    """CS on complete balanced data = classical split-plot ANOVA: same F ratios and df."""
    Y, arm = sim_complete(N=30, T=4, seed=7)
    Y = Y + np.random.default_rng(2).normal(0, 1.5, size=(30, 1))  # subject effect
    N, T = Y.shape
    g = (arm == "B").astype(int)
    n = N // 2
    grand = Y.mean()
    arm_m = np.array([Y[g == k].mean() for k in (0, 1)])
    subj_m = Y.mean(1)
    cell = np.array([Y[g == k].mean(0) for k in (0, 1)])  # (2, T)
    vis_m = Y.mean(0)
    ss_arm = T * n * np.sum((arm_m - grand) ** 2)
    ss_subj = T * np.sum((subj_m - arm_m[g]) ** 2)
    ss_vis = 2 * n * np.sum((vis_m - grand) ** 2)
    ss_int = n * np.sum((cell - arm_m[:, None] - vis_m[None, :] + grand) ** 2)
    resid = Y - cell[g] - subj_m[:, None] + arm_m[g][:, None]
    ss_err = np.sum(resid**2)
    df_subj, df_err = N - 2, (N - 2) * (T - 1)
    F_arm = ss_arm / (ss_subj / df_subj)
    F_vis = (ss_vis / (T - 1)) / (ss_err / df_err)
    F_int = (ss_int / (T - 1)) / (ss_err / df_err)

    m = MMRM(covariance="CS", fallback=None).fit(long_df(Y, arm), covariates=[], visit_order=VIS4)
    t3 = {r["term"]: r for r in m.type3_.iter_rows(named=True)}
    np.testing.assert_allclose(t3["ARM"]["F"], F_arm, rtol=1e-6)
    np.testing.assert_allclose(t3["AVISIT"]["F"], F_vis, rtol=1e-6)
    np.testing.assert_allclose(t3["ARM:AVISIT"]["F"], F_int, rtol=1e-6)
    np.testing.assert_allclose(t3["ARM"]["den_df"], df_subj, rtol=1e-5)
    np.testing.assert_allclose(t3["AVISIT"]["den_df"], df_err, rtol=1e-5)
    np.testing.assert_allclose(t3["ARM:AVISIT"]["den_df"], df_err, rtol=1e-5)
    # variance components: sigma_e^2 = MS_err, sigma_b^2 = (MS_subj - MS_err) / T
    ms_err, ms_subj = ss_err / df_err, ss_subj / df_subj
    S = m.cov_matrix_
    np.testing.assert_allclose(S[0, 0] - S[0, 1], ms_err, rtol=1e-6)
    np.testing.assert_allclose(S[0, 1], (ms_subj - ms_err) / T, rtol=1e-6)


def test_missing_visits_use_sub_blocks():
    """The ML log-likelihood equals the sum of MVN log-densities of each subject's observed
    visits under Sigma[obs, obs]; the REML one adds -1/2 log|X'V^-1X| + p/2 log(2 pi)."""
    rng = np.random.default_rng(11)
    N, T = 60, 4
    Y, arm = sim_complete(N=N, T=T, seed=3)
    base = rng.normal(10, 2, N)
    Y = Y + 0.3 * base[:, None]
    drop = rng.random((N, T)) < 0.25
    drop[:, 0] = False
    drop[5] = [False, True, False, True]  # intermittent pattern
    d = long_df(Y, arm, base=base, drop=drop)
    for method in ("ML", "REML"):
        m = MMRM(method=method, fallback=None).fit(d, visit_order=VIS4)
        X = m._design.Xs
        ll = 0.0
        for i in range(N):
            o = ~drop[i]
            mu = X[i, o] @ m.beta_
            ll += stats.multivariate_normal(mu, m.cov_matrix_[np.ix_(o, o)]).logpdf(Y[i, o])
        if method == "REML":
            p = len(m.beta_)
            ll += -0.5 * np.linalg.slogdet(np.linalg.inv(m.vcov_model_))[1] + 0.5 * p * np.log(
                2 * np.pi
            )
        np.testing.assert_allclose(m.loglik_, ll, rtol=1e-10)
    assert m.n_obs_ == int((~drop).sum())
    assert m.n_patterns_ == len({tuple(r) for r in (~drop)})


def test_fallback_is_recorded_and_error_when_nothing_converges():
    """6 subjects, 5 visits: the REML UN estimate does not exist (N - rank < T), so UN fails
    and the next structure in `fallback` is used."""
    rng = np.random.default_rng(3)
    N, T = 6, 5
    Y = rng.normal(size=(N, T)) + rng.normal(size=(N, 1))
    arm = np.repeat(["A", "B"], N // 2)
    d = long_df(Y, arm)
    m = MMRM(fallback=("UN", "CS")).fit(d, covariates=[])
    assert m.covariance_used_ == "CS"
    assert [a[0] for a in m.fit_attempts_] == ["UN", "CS"]
    assert all(msg != "converged" for _, msg in m.fit_attempts_[0][1])
    with pytest.raises(ConvergenceError):
        MMRM(fallback=None).fit(d, covariates=[])


def test_group_covariance_complete_data():
    """Separate UN per arm, complete data, no covariates: Sigma_g = within-arm sample
    covariance (divisor n_g - 1)."""
    rng = np.random.default_rng(5)
    S1 = np.array([[1, 0.5, 0.2], [0.5, 2, 0.7], [0.2, 0.7, 3]])
    S2 = np.array([[2, 0.1, 0.1], [0.1, 1, 0.3], [0.1, 0.3, 1]])
    Y = np.vstack(
        [rng.multivariate_normal(np.zeros(3), S1, 30), rng.multivariate_normal(np.ones(3), S2, 30)]
    )
    arm = np.repeat(["A", "B"], 30)
    m = MMRM(group_covariance=True, fallback=None).fit(long_df(Y, arm), covariates=[])
    np.testing.assert_allclose(m.cov_matrix_["A"], np.cov(Y[:30].T), rtol=1e-6)
    np.testing.assert_allclose(m.cov_matrix_["B"], np.cov(Y[30:].T), rtol=1e-6)
    se = np.sqrt(np.var(Y[:30], 0, ddof=1) / 30 + np.var(Y[30:], 0, ddof=1) / 30)
    np.testing.assert_allclose(m.diffs_["se"], se, rtol=1e-6)


def test_ml_sigma_is_biased_version_of_reml():
    Y, arm = sim_complete()
    d = long_df(Y, arm)
    r = MMRM(fallback=None).fit(d, covariates=[])
    m = MMRM(method="ML", fallback=None).fit(d, covariates=[])
    N = Y.shape[0]
    np.testing.assert_allclose(m.cov_matrix_, r.cov_matrix_ * (N - 2) / N, rtol=1e-6)
    np.testing.assert_allclose(m.beta_, r.beta_, rtol=1e-9)


@pytest.mark.parametrize("name", STRUCTURES)
def test_score_matches_finite_differences(name):
    rng = np.random.default_rng(0)
    Y, arm = sim_complete(N=30, T=4, seed=2)
    drop = rng.random(Y.shape) < 0.2
    drop[:, 0] = False
    base = rng.normal(size=30)
    m = MMRM(covariance=name, fallback=None).fit(
        long_df(Y, arm, base=base, drop=drop), visit_order=VIS4
    )
    eng = Engine(m._design, [CovStructure(name, 4)], reml=True)
    th = m.theta_ + rng.normal(0, 0.1, m.theta_.size)
    g = eng.evaluate(th, grad=True)["grad"]
    h = 1e-6
    fd = np.array(
        [(eng.loglik(th + h * e) - eng.loglik(th - h * e)) / (2 * h) for e in np.eye(th.size)]
    )
    np.testing.assert_allclose(g, fd, rtol=1e-5, atol=1e-6)


def test_nested_structures_order_loglik_and_shapes():
    rng = np.random.default_rng(8)
    Y, arm = sim_complete(N=80, T=4, seed=9)
    drop = rng.random(Y.shape) < 0.15
    drop[:, 0] = False
    d = long_df(Y, arm, drop=drop)
    ll = {}
    fits = {}
    for s in STRUCTURES:
        fits[s] = MMRM(covariance=s, fallback=None).fit(d, covariates=[], visit_order=VIS4)
        ll[s] = fits[s].loglik_
    tol = 1e-6
    assert ll["UN"] >= ll["TOEPH"] - tol >= ll["AR1H"] - 2 * tol
    assert ll["AR1H"] >= ll["AR1"] - tol and ll["CSH"] >= ll["CS"] - tol
    assert ll["UN"] >= ll["CSH"] - tol
    S = fits["AR1"].cov_matrix_
    rho = S[0, 1] / S[0, 0]
    np.testing.assert_allclose(S[0, 3] / S[0, 0], rho**3, rtol=1e-10)
    S = fits["TOEPH"].cov_matrix_
    R = S / np.sqrt(np.outer(np.diag(S), np.diag(S)))
    np.testing.assert_allclose(np.diag(R, 1), R[0, 1], rtol=1e-10)
    S = fits["CS"].cov_matrix_
    assert np.allclose(np.diag(S), S[0, 0]) and np.allclose(S[np.triu_indices(4, 1)], S[0, 1])


def test_determinism_row_order_pandas_and_missing_response():
    Y, arm = sim_complete(N=40, T=4, seed=4)
    rng = np.random.default_rng(1)
    base = rng.normal(size=40)
    strat = np.where(rng.random(40) < 0.5, "X", "Y")
    d = long_df(Y, arm, base=base, stratum=strat)
    d = d.with_columns(
        pl.when(pl.int_range(pl.len()) % 7 == 3).then(None).otherwise(pl.col("CHG")).alias("CHG")
    )
    kw = dict(visit_order=VIS4, factors=["STRATUM"])
    m1 = MMRM().fit(d, **kw)
    m2 = MMRM().fit(d, **kw)
    np.testing.assert_array_equal(m1.beta_, m2.beta_)
    np.testing.assert_array_equal(m1.lsmeans_["se"], m2.lsmeans_["se"])
    assert m1.n_missing_response_ == int(d["CHG"].is_null().sum()) > 0
    assert m1.n_obs_ == d.height - m1.n_missing_response_
    m3 = MMRM().fit(d.sample(fraction=1.0, shuffle=True, seed=3), **kw)
    # row order only changes floating-point summation order (optimum agrees to ~1e-8)
    np.testing.assert_allclose(m3.beta_, m1.beta_, rtol=1e-6)
    np.testing.assert_allclose(m3.loglik_, m1.loglik_, rtol=1e-10)
    m4 = MMRM().fit(d.to_pandas(), **kw)
    np.testing.assert_allclose(m4.beta_, m1.beta_, rtol=1e-12)


def test_lsmeans_weights_and_means():
    """Equal weights: factor dummies at 1/K; proportional: observed proportions; the
    covariate at its mean over analysis rows; the arm difference does not depend on them."""
    Y, arm = sim_complete(N=40, T=4, seed=6)
    rng = np.random.default_rng(2)
    base = rng.normal(5, 1, 40)
    strat = np.where(rng.random(40) < 0.3, "X", "Y")
    Y = Y + np.where(strat == "Y", 2.0, 0.0)[:, None] + 0.5 * base[:, None]
    d = long_df(Y, arm, base=base, stratum=strat)
    me = MMRM(fallback=None).fit(d, visit_order=VIS4, factors=["STRATUM"])
    mp = MMRM(fallback=None, lsmeans_weights="proportional").fit(
        d, visit_order=VIS4, factors=["STRATUM"]
    )
    b = dict(zip(me.coef_names_, me.beta_))
    py = float((d["STRATUM"] == "Y").mean())
    shift = (py - 0.5) * b["STRATUMY"]
    np.testing.assert_allclose(mp.lsmeans_["lsmean"], me.lsmeans_["lsmean"] + shift, rtol=1e-9)
    np.testing.assert_allclose(mp.diffs_["estimate"], me.diffs_["estimate"], rtol=1e-9)
    a0 = me.lsmeans_.row(0, named=True)
    assert a0["arm"] == "A" and a0["visit"] == "V0" and a0["n"] == 20
    expected = b["(Intercept)"] + b["BASE"] * d["BASE"].mean() + 0.5 * b["STRATUMY"]
    np.testing.assert_allclose(a0["lsmean"], expected, rtol=1e-12)


def test_input_validation():
    Y, arm = sim_complete(N=10, T=2)
    d = long_df(Y, arm)
    with pytest.raises(DataContractError):
        MMRM().fit(pl.concat([d, d.head(1)]), covariates=[])
    with pytest.raises(DataContractError):
        MMRM().fit(d, covariates=[], visit_order=["V0"])
    with pytest.raises(ValueError):
        MMRM(df="kenward_roger", method="ML")


def test_random_slope_lmm_balanced_cell_means():
    """With ARM x visit fixed effects and complete balanced data, GLS under any common
    within-subject covariance gives the cell means, so the LMM LS means are the observed
    means; its random-effects covariance is estimated and the fit converges."""
    rng = np.random.default_rng(12)
    N, T = 60, 4
    t = np.arange(T, dtype=float)
    b0 = rng.normal(0, 1.0, N)
    b1 = rng.normal(0, 0.5, N)
    arm = np.repeat(["A", "B"], N // 2)
    Y = (
        b0[:, None]
        + b1[:, None] * t
        + rng.normal(0, 0.5, (N, T))
        + np.where(arm == "B", 0.4, 0.0)[:, None] * t
    )
    res = fit_random_slope_lmm(
        long_df(Y, arm), covariates=[], visit_order=VIS4, time={f"V{k}": float(k) for k in range(T)}
    )
    assert res["converged"]
    lsA = res["lsmeans"].filter(pl.col("arm") == "A")["lsmean"]
    np.testing.assert_allclose(lsA, Y[arm == "A"].mean(0), rtol=1e-6, atol=1e-8)
    assert res["G"].shape == (2, 2) and res["G"][1, 1] > 0
    assert res["diffs"].height == T and bool((res["diffs"]["se"] > 0).all())


def test_single_visit_is_ancova():
    """One visit: the MMRM is the ANCOVA CHG ~ BASE + STRATUM + ARM (OLS, t with N - p df)."""
    import statsmodels.api as sm

    rng = np.random.default_rng(21)
    n = 50
    base = rng.normal(size=n)
    arm = np.where(np.arange(n) % 2 == 0, "A", "B")
    strat = np.where(rng.random(n) < 0.4, "X", "Y")
    y = 1 + 0.5 * base + 0.8 * (arm == "B") + 0.3 * (strat == "Y") + rng.normal(size=n)
    d = long_df(y[:, None], arm, base=base, stratum=strat)
    X = sm.add_constant(np.column_stack([base, strat == "Y", arm == "B"]).astype(float))
    ols = sm.OLS(y, X).fit()
    for cov in ("UN", "CS", "AR1"):
        m = MMRM(covariance=cov, fallback=None).fit(d, factors=["STRATUM"])
        r = m.diffs_.row(0, named=True)
        np.testing.assert_allclose(r["estimate"], ols.params[3], rtol=1e-10)
        np.testing.assert_allclose(r["se"], ols.bse[3], rtol=1e-6)
        np.testing.assert_allclose(r["df"], n - 4, rtol=1e-6)
        np.testing.assert_allclose(r["p"], ols.pvalues[3], rtol=1e-5)


def test_pandas_type_error():
    with pytest.raises(TypeError):
        MMRM().fit({"a": [1]})
    assert isinstance(pd.DataFrame(), pd.DataFrame)

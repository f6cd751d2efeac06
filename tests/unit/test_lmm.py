"""hepatrial.models.mmrm.fit_random_slope_lmm (own REML engine, hepatrial.models.lmm) against R.

Reference numbers: tests/reference/lmm/lmm_reference.R (R nlme::lme REML with tight optimiser
tolerances + emmeans mode = "asymptotic"; lme4::lmer REML as a second opinion). R is never
called here. Data sets (the exact analysis rows, written by the R script):

- ``syn``: synthetic two-arm trial, 120 subjects, visits at weeks 2, 4, 8, 12, 24, BASE +
  STRATUM, random intercept and slope, monotone MAR dropout;
- ``pbc``: Mayo PBC trial (pbcseq), change from baseline in log(bilirubin) at years 1..5, time
  in weeks (365 k / 7);
- ``sing``: random intercept only; the REML G is singular (rank 1). nlme's log-Cholesky cannot
  reach the boundary (optim stops at its iteration limit 0.056 log-likelihood units short);
  lme4 (bounded Cholesky) and this engine reach it, so there the reference is lmer.

Observed agreement with nlme (syn, pbc): log-likelihood < 1e-12 relative (ours is higher by
< 1e-10 absolute), fixed effects, vcov, G, sigma^2, LS means, SEs and differences < 2e-6
relative (G and vcov relative to the SDs, because some covariances are ~0). Tolerances below
are 1e-9 (log-likelihood) and 1e-5 (everything else).
"""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from hepatrial.models import fit_random_slope_lmm
from hepatrial.models.lmm import _D_of, _grad_theta, _stats, fit_lmm
from hepatrial.models.mmrm_design import build_design

REF = Path(__file__).resolve().parents[1] / "reference" / "lmm"

SETS = {
    "syn": dict(
        visit_order=["WEEK2", "WEEK4", "WEEK8", "WEEK12", "WEEK24"],
        arm_levels=["Placebo", "Active"],
        covariates=["BASE"],
        factors=["STRATUM"],
    ),
    "pbc": dict(
        visit_order=[f"YEAR{k}" for k in range(1, 6)],
        arm_levels=["Placebo", "D-penicillamine"],
        covariates=["BASE"],
        factors=[],
    ),
    "sing": dict(
        visit_order=["WEEK4", "WEEK8", "WEEK12", "WEEK24"],
        arm_levels=["Placebo", "Active"],
        covariates=["BASE"],
        factors=[],
    ),
}
_CACHE: dict = {}


def data(ds):
    return pl.read_csv(REF / f"data_{ds}.csv")


def kwargs(ds):
    kw = dict(SETS[ds])
    d = data(ds)
    kw["time"] = dict(zip(d["AVISIT"].to_list(), d["TIME"].to_list()))
    kw["reference"] = kw["arm_levels"][0]
    return kw


def fitted(ds):
    if ds not in _CACHE:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # singular G for "sing"
            _CACHE[ds] = fit_random_slope_lmm(data(ds), **kwargs(ds))
    return _CACHE[ds]


def ref(ds, what):
    return pl.read_csv(REF / f"ref_{ds}_{what}.csv")


def ref_G(row):
    return np.array([[row["g11"], row["g12"]], [row["g12"], row["g22"]]])


def rel(x, r):
    x, r = np.asarray(x, float), np.asarray(r, float)
    return float(np.max(np.abs(x - r) / np.abs(r)))


def scaled_cov(x, r):
    """max |x - r| / sqrt(r_ii r_jj): covariance matrices relative to the SDs."""
    sd = np.sqrt(np.diag(r))
    return float(np.max(np.abs(np.asarray(x) - r) / np.outer(sd, sd)))


def ref_vcov(ds, p):
    v = ref(ds, "vcov")
    V = np.zeros((p, p))
    V[v["i"].to_numpy() - 1, v["j"].to_numpy() - 1] = v["value"].to_numpy()
    return V


# ---------------------------------------------------------------------------------------------
# against nlme::lme (REML) + emmeans
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("ds", ["syn", "pbc"])
def test_fit_matches_nlme(ds):
    res = fitted(ds)
    f = ref(ds, "fit").row(0, named=True)
    # the R file's logLik is the textbook REML formula (recomputed in R from the fitted values)
    assert f["loglik_check"] == pytest.approx(f["logLik"], rel=1e-10)
    assert res["converged"]
    assert rel(res["loglik"], f["logLik"]) < 1e-9
    assert res["loglik"] > f["logLik"] - 1e-8  # never below nlme's maximum
    assert rel(res["sigma2"], f["sigma2"]) < 1e-5
    assert scaled_cov(res["G"], ref_G(f)) < 1e-5
    assert np.all(np.linalg.eigvalsh(res["G"]) > 0)

    c = ref(ds, "coef")
    assert res["coef_names"] == c["term"].to_list()  # same design, same R column order
    se = c["se"].to_numpy()
    err = np.abs(res["beta"] - c["estimate"].to_numpy()) / (np.abs(c["estimate"].to_numpy()) + se)
    assert err.max() < 1e-5
    V = ref_vcov(ds, len(se))
    assert np.allclose(np.sqrt(np.diag(V)), se, rtol=1e-12)
    assert scaled_cov(res["vcov"], V) < 1e-5
    assert rel(np.sqrt(np.diag(res["vcov"])), se) < 1e-5


@pytest.mark.parametrize("ds", ["syn", "pbc"])
def test_lsmeans_and_diffs_match_emmeans(ds):
    res = fitted(ds)
    ls = ref(ds, "lsmeans").rename({"ARM": "arm", "AVISIT": "visit"})
    j = res["lsmeans"].join(ls, on=["arm", "visit"], how="inner")
    assert j.height == ls.height == res["lsmeans"].height
    assert rel(j["lsmean"], j["emmean"]) < 1e-5
    assert rel(j["se"], j["SE"]) < 1e-5
    assert rel(j["lower"], j["asymp.LCL"]) < 1e-5
    assert rel(j["upper"], j["asymp.UCL"]) < 1e-5
    assert np.all(np.isinf(j["df"].to_numpy()))

    dr = ref(ds, "diffs").rename({"AVISIT": "visit", "estimate": "r_est"})
    j = res["diffs"].join(dr, on="visit", how="inner")
    assert j.height == dr.height == res["diffs"].height
    test_arm, ref_arm = SETS[ds]["arm_levels"][1], SETS[ds]["arm_levels"][0]
    assert set(j["contrast"]) <= {f"{test_arm} - {ref_arm}", f"({test_arm}) - {ref_arm}"}
    est, r_est, r_se = (j[c].to_numpy() for c in ("estimate", "r_est", "SE"))
    assert np.max(np.abs(est - r_est) / (np.abs(r_est) + r_se)) < 1e-5
    assert rel(j["se"], r_se) < 1e-5
    assert np.max(np.abs(j["p"].to_numpy() - j["p.value"].to_numpy())) < 1e-6
    assert np.max(np.abs(j["lower"].to_numpy() - j["asymp.LCL"].to_numpy()) / r_se) < 1e-5


# ---------------------------------------------------------------------------------------------
# against lme4::lmer (REML): also the singular (boundary) fit
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("ds", ["syn", "pbc", "sing"])
def test_fit_matches_lmer(ds):
    res = fitted(ds)
    f = ref(ds, "lmer").row(0, named=True)
    assert res["converged"]
    assert rel(res["loglik"], f["logLik"]) < 1e-9
    assert res["loglik"] > f["logLik"] - 1e-8
    assert rel(res["sigma2"], f["sigma2"]) < 1e-5
    assert scaled_cov(res["G"], ref_G(f)) < 1e-5
    c = ref(ds, "lmer_coef")
    se = c["se"].to_numpy()
    err = np.abs(res["beta"] - c["estimate"].to_numpy()) / (np.abs(c["estimate"].to_numpy()) + se)
    assert err.max() < 1e-5
    assert rel(np.sqrt(np.diag(res["vcov"])), se) < 1e-5
    ls = ref(ds, "lmer_lsmeans").rename({"ARM": "arm", "AVISIT": "visit"})
    j = res["lsmeans"].join(ls, on=["arm", "visit"], how="inner")
    assert j.height == ls.height
    assert rel(j["lsmean"], j["emmean"]) < 1e-5
    assert rel(j["se"], j["SE"]) < 1e-5


def test_singular_G_on_the_boundary():
    """Random intercept only: the REML G is singular (rank 1). The engine reaches the boundary
    (lme4 agrees, see test_fit_matches_lmer), warns, and reports convergence; nlme stops short."""
    with pytest.warns(RuntimeWarning, match="singular"):
        res = fit_random_slope_lmm(data("sing"), **kwargs("sing"))
    assert res["converged"]
    ev = np.linalg.eigvalsh(res["G"])
    assert ev[0] >= -1e-12 * ev[1] and ev[0] < 1e-6 * ev[1]
    assert ref("sing", "lmer")["singular"][0]
    nlme = ref("sing", "fit")["logLik"][0]
    assert res["loglik"] > nlme + 0.05  # nlme's log-Cholesky cannot reach the boundary


def _zero_g(N: int, T: int, effect: float):
    """N subjects x T visits whose within-subject residuals are orthogonal to (1, t) (the REML
    G is exactly 0), arm B with a slope ``effect``: (long data, the N x T response, the arms)."""
    rng = np.random.default_rng(5)
    t = np.arange(T, dtype=float)
    Z = np.column_stack([np.ones(T), t])
    E = rng.normal(0, 1, (N, T)) @ (np.eye(T) - Z @ np.linalg.solve(Z.T @ Z, Z.T))
    arm = np.repeat(["A", "B"], N // 2)
    Y = E + effect * t * (arm == "B")[:, None]
    d = pl.DataFrame(
        [
            {"USUBJID": f"S{i:02d}", "ARM": arm[i], "AVISIT": f"V{k}", "CHG": Y[i, k]}
            for i in range(N)
            for k in range(T)
        ]
    )
    return d, Y, arm


def test_zero_G_is_ols():
    """Within-subject residuals orthogonal to (1, t): the REML G is exactly 0 (the derivative
    with respect to D at D = 0 is positive semi-definite), so the fit is OLS: LS means = cell
    means, sigma^2 = RSS / (N - p), the arm difference has the pooled two-sample SE."""
    N, T = 40, 4
    d, Y, arm = _zero_g(N, T, effect=0.3)
    with pytest.warns(RuntimeWarning, match="singular"):
        res = fit_random_slope_lmm(d, covariates=[], visit_order=[f"V{k}" for k in range(T)])
    assert res["converged"] and res["singular"]
    assert np.max(np.abs(res["G"])) < 1e-10
    A, B = Y[arm == "A"], Y[arm == "B"]
    rss = ((A - A.mean(0)) ** 2).sum() + ((B - B.mean(0)) ** 2).sum()
    s2 = rss / (N * T - 2 * T)
    assert res["sigma2"] == pytest.approx(s2, rel=1e-9)
    ls = res["lsmeans"].filter(pl.col("arm") == "A")["lsmean"].to_numpy()
    np.testing.assert_allclose(ls, A.mean(0), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(res["diffs"]["se"], np.sqrt(s2 * 2 / (N // 2)), rtol=1e-8)


def test_degenerate_designs_do_not_crash():
    """One visit per subject (slope not identifiable) and a common time for all visits."""
    rng = np.random.default_rng(3)
    n = 30
    d = pl.DataFrame(
        {
            "USUBJID": [f"S{i}" for i in range(n)],
            "ARM": ["A", "B"] * (n // 2),
            "AVISIT": ["V0"] * n,
            "CHG": rng.normal(size=n),
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        res = fit_random_slope_lmm(d, covariates=[], visit_order=["V0"])
    assert np.isfinite(res["loglik"]) and res["G"].shape == (2, 2)
    assert np.all(np.linalg.eigvalsh(res["G"]) > -1e-10)


# ---------------------------------------------------------------------------------------------
# internal consistency
# ---------------------------------------------------------------------------------------------
def design(ds):
    kw = kwargs(ds)
    _, meta, X, y, sidx, vis = build_design(
        data(ds),
        "CHG",
        "USUBJID",
        "AVISIT",
        kw["visit_order"],
        "ARM",
        kw["arm_levels"],
        kw["reference"],
        kw["covariates"],
        kw["factors"],
        False,
    )
    t = np.array([kw["time"][v] for v in meta.visit_levels])[vis]
    return X, y * meta.y_scale, sidx, t


@pytest.mark.parametrize("reml", [True, False])
def test_analytic_gradient_and_backends(reml):
    """Per-subject and per-visit-pattern statistics give the same criterion; the analytic
    gradient equals central differences of the criterion."""
    X, y, sidx, t = design("pbc")
    t = t / t.max()
    per_subject = _stats(X, y, sidx, t, reml, grouped=False)
    per_group = _stats(X, y, sidx, t, reml, grouped=True)
    assert type(per_subject).__name__ == "_Stats" and type(per_group).__name__ == "_GroupedStats"
    theta = np.array([0.9, -0.3, 0.4])
    L, D = _D_of(theta)
    a, b = per_subject.evaluate(D), per_group.evaluate(D)
    assert a["f"] == pytest.approx(b["f"], rel=1e-12)
    np.testing.assert_allclose(a["Gamma"], b["Gamma"], rtol=1e-9)
    np.testing.assert_allclose(a["beta"], b["beta"], rtol=1e-9)
    g = _grad_theta(a["Gamma"], L)
    num = np.empty(3)
    for k in range(3):
        e = np.zeros(3)
        e[k] = 1e-5
        num[k] = (
            per_subject.evaluate(_D_of(theta + e)[1], grad=False)["f"]
            - per_subject.evaluate(_D_of(theta - e)[1], grad=False)["f"]
        ) / 2e-5
    np.testing.assert_allclose(g, num, rtol=1e-6, atol=1e-6)
    r1 = fit_lmm(X, y, sidx, t, reml=reml, grouped=False)
    r2 = fit_lmm(X, y, sidx, t, reml=reml, grouped=True)
    assert r1.converged and r2.converged
    assert r1.loglik == pytest.approx(r2.loglik, rel=1e-11)
    np.testing.assert_allclose(r1.beta, r2.beta, rtol=1e-6, atol=1e-9)


def test_grouped_blocks_and_continuous_times(monkeypatch):
    """Per-pattern sums accumulated in small blocks of subjects (segments crossing block
    boundaries), and subject-specific (jittered) times: both backends agree."""
    from hepatrial.models import lmm

    X, y, sidx, t = design("syn")
    t = t + np.random.default_rng(1).uniform(-0.5, 0.5, sidx.max() + 1)[sidx]  # per subject
    monkeypatch.setattr(lmm, "_BLOCK_ELEMS", 7 * 4 * (X.shape[1] + 1) ** 2)  # 7 subjects
    D = _D_of(np.array([1.1, 0.2, 0.6]))[1]
    for tt in (t, design("syn")[3]):
        a = _stats(X, y, sidx, tt / tt.max(), True, grouped=False).evaluate(D)
        b = _stats(X, y, sidx, tt / tt.max(), True, grouped=True).evaluate(D)
        assert a["f"] == pytest.approx(b["f"], rel=1e-12)
        np.testing.assert_allclose(a["Gamma"], b["Gamma"], rtol=1e-9, atol=1e-9)
    r1 = fit_lmm(X, y, sidx, t, grouped=False)
    r2 = fit_lmm(X, y, sidx, t)
    assert r1.converged and r2.converged
    assert r1.loglik == pytest.approx(r2.loglik, rel=1e-11)


def test_invariant_to_time_and_response_units():
    X, y, sidx, t = design("syn")
    a = fit_lmm(X, y, sidx, t)
    b = fit_lmm(X, 10 * y, sidx, t / 7)  # weeks -> "days/7", response x10
    assert b.loglik == pytest.approx(a.loglik - (X.shape[0] - X.shape[1]) * np.log(10), rel=1e-10)
    np.testing.assert_allclose(b.beta, 10 * a.beta, rtol=1e-6)
    S = np.diag([10.0, 70.0])
    assert scaled_cov(b.G, S @ a.G @ S) < 1e-6


# ---------------------------------------------------------------------------------------------
# against statsmodels MixedLM: tests/reference/test_lmm_statsmodels.py (seconds per fit)
# ---------------------------------------------------------------------------------------------
def test_statsmodels_not_imported():
    code = (
        "import sys, polars as pl\n"
        "from hepatrial.models import fit_random_slope_lmm\n"
        f"d = pl.read_csv({str(REF / 'data_syn.csv')!r})\n"
        "r = fit_random_slope_lmm(d, visit_order=['WEEK2','WEEK4','WEEK8','WEEK12','WEEK24'],"
        " time=dict(zip(d['AVISIT'], d['TIME'])), arm_levels=['Placebo','Active'],"
        " factors=['STRATUM'])\n"
        "assert r['converged']\n"
        "assert 'statsmodels' not in sys.modules, 'statsmodels imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_pipeline_says_a_singular_lmm_as_one_warning_naming_the_parameter():
    """In the MMRM job the random-slope LMM is a sensitivity analysis: a singular G is one
    WARNING line naming the parameter and population (no Python RuntimeWarning with a source
    line on the console), and the fit's rows are in the ARD as fitted."""
    from types import SimpleNamespace

    from hepatrial.analysis.mmrm import _lmm_rows
    from hepatrial.errors import HepatrialWarning
    from hepatrial.spec.study import Visit

    T = 4
    d, _, _ = _zero_g(40, T, effect=0.0)
    order = [f"V{k}" for k in range(T)]
    study = SimpleNamespace(visits=[Visit(v, k, target_day=7 * k + 1) for k, v in enumerate(order)])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rows = _lmm_rows(d, order, ["B", "A"], "A", True, [], [], "MELD", "ITT", study)
    assert not [w for w in caught if w.category is RuntimeWarning]
    [w] = [w for w in caught if issubclass(w.category, HepatrialWarning)]
    assert str(w.message).startswith("MELD (ITT): the random intercept and slope LMM")
    assert "singular" in str(w.message)
    fit = [r for r in rows if r["analysis"] == "LMM_FIT"]
    assert fit[0]["value"] == 1 and any(r["analysis"] == "LMM_LSMEAN" for r in rows)

"""hepatrial.models.mmrm against R (nlme::gls + emmeans), numbers from mmrm_reference.R.

Data: the exact analysis rows written by the R script (data_pbc_albumin.csv: Mayo PBC trial,
yearly visits, change from baseline in albumin; data_synthetic.csv: simulated two-arm trial
with ~21% monotone MAR dropout). R is never called here.

Tolerances (see the report in the module docstring of hepatrial.models.mmrm):
- REML log-likelihood: 1e-6 relative (observed: < 1e-10).
- fixed effects, LS means, contrasts: |python - R| <= 1e-4 * (|R| + SE_R) (relative 1e-4 with an
  SE-scaled floor, because some contrasts are ~0); SEs: 1e-4 relative. The UN fits differ at
  ~1e-5 because nlme stops slightly short of the REML maximum (our log-likelihood is higher).
- Satterthwaite df: 1% of emmeans for CS/AR1. For UN (corSymm + varIdent) emmeans uses nlme's
  apVar, a finite-difference Hessian that is off by up to ~5%, so emmeans' df are off by up to
  ~3%; we test 1% against R's deterministic Satterthwaite df computed with numDeriv
  (``ref_*_un_satt_exact.csv``) and 3% against emmeans.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from scipy import stats

from hepatrial.models import MMRM

HERE = Path(__file__).parent

SETS = {
    "pbc": dict(
        file="data_pbc_albumin.csv",
        visit_order=["YEAR1", "YEAR2", "YEAR3", "YEAR4"],
        arm_levels=["Placebo", "D-penicillamine"],
        covariates=["BASE"],
        factors=[],
    ),
    "syn": dict(
        file="data_synthetic.csv",
        visit_order=["WEEK4", "WEEK8", "WEEK12", "WEEK24"],
        arm_levels=["Placebo", "Active"],
        covariates=["BASE"],
        factors=["STRATUM"],
    ),
}
CASES = [(ds, cov) for ds in SETS for cov in ("UN", "CS", "AR1")]
_CACHE: dict = {}


def fitted(ds, cov, df="satterthwaite"):
    key = (ds, cov, df)
    if key not in _CACHE:
        kw = dict(SETS[ds])
        data = pl.read_csv(HERE / kw.pop("file"))
        _CACHE[key] = MMRM(covariance=cov, fallback=None, df=df).fit(data, **kw)
    return _CACHE[key]


def ref(ds, cov, what):
    return pl.read_csv(HERE / f"ref_{ds}_{cov.lower()}_{what}.csv")


def close_scaled(x, r, se, tol=1e-4):
    x, r, se = map(np.asarray, (x, r, se))
    err = np.abs(x - r) / (np.abs(r) + se)
    assert err.max() <= tol, f"max scaled error {err.max():.3g}"


def close_rel(x, r, tol):
    x, r = np.asarray(x, float), np.asarray(r, float)
    err = np.abs(x - r) / np.abs(r)
    assert err.max() <= tol, f"max relative error {err.max():.3g}"


@pytest.mark.parametrize("ds,cov", CASES)
def test_fit_summary(ds, cov):
    m = fitted(ds, cov)
    f = ref(ds, cov, "fit")
    assert m.converged_ and m.covariance_used_ == cov
    assert m.n_obs_ == f["n_obs"][0]
    assert m.n_subjects_ == f["n_subjects"][0]
    close_rel(m.loglik_, f["logLik"][0], 1e-6)
    close_rel(m.aic_, f["AIC"][0], 1e-6)


@pytest.mark.parametrize("ds,cov", CASES)
def test_coefficients_and_sigma(ds, cov):
    m = fitted(ds, cov)
    c = ref(ds, cov, "coef")
    assert list(c["term"]) == m.coef_names_
    close_scaled(m.beta_, c["estimate"], c["se"])
    close_rel(np.sqrt(np.diag(m.vcov_)), c["se"], 1e-4)
    s = ref(ds, cov, "sigma")
    S = np.zeros((len(m.cov_matrix_),) * 2)
    S[s["i"].to_numpy() - 1, s["j"].to_numpy() - 1] = s["value"].to_numpy()
    np.testing.assert_allclose(m.cov_matrix_, S, rtol=1e-4, atol=1e-4 * np.abs(S).max())


@pytest.mark.parametrize("ds,cov", CASES)
def test_lsmeans(ds, cov):
    m = fitted(ds, cov)
    r = ref(ds, cov, "lsmeans").rename({"ARM": "arm", "AVISIT": "visit"})
    j = m.lsmeans_.join(r, on=["arm", "visit"], how="inner")
    assert j.height == m.lsmeans_.height == r.height
    close_scaled(j["lsmean"], j["emmean"], j["SE"])
    close_rel(j["se"], j["SE"], 1e-4)
    close_scaled(j["lower"], j["lower.CL"], j["SE"], 1e-3 if cov == "UN" else 1e-4)
    close_scaled(j["upper"], j["upper.CL"], j["SE"], 1e-3 if cov == "UN" else 1e-4)
    close_rel(j["df"], j["df_right"], 0.03 if cov == "UN" else 0.01)


@pytest.mark.parametrize("ds,cov", CASES)
def test_diffs(ds, cov):
    m = fitted(ds, cov)
    r = ref(ds, cov, "diffs").rename({"AVISIT": "visit"})
    j = m.diffs_.join(r, on="visit", how="inner")
    assert j.height == m.diffs_.height == r.height == len(SETS[ds]["visit_order"])
    close_scaled(j["estimate"], j["estimate_right"], j["SE"])
    close_rel(j["se"], j["SE"], 1e-4)
    close_rel(j["df"], j["df_right"], 0.03 if cov == "UN" else 0.01)
    if cov != "UN":
        close_scaled(j["lower"], j["lower.CL"], j["SE"])
        close_scaled(j["upper"], j["upper.CL"], j["SE"])
        np.testing.assert_allclose(j["p"], j["p.value"], rtol=1e-3, atol=1e-8)


@pytest.mark.parametrize("ds", list(SETS))
def test_un_satterthwaite_against_exact_r(ds):
    """UN df against R's deterministic Satterthwaite df (numDeriv Hessian), 1%; and the CI/p
    recomputed from R's estimate, SE and that df."""
    m = fitted(ds, "UN")
    ex = ref(ds, "UN", "satt_exact")
    ls = ex.filter(pl.col("kind") == "lsmean").rename({"ARM": "arm", "AVISIT": "visit"})
    j = m.lsmeans_.join(ls, on=["arm", "visit"], how="inner")
    assert j.height == m.lsmeans_.height
    close_rel(j["df"], j["df_right"], 0.01)
    close_rel(j["df"], j["df_right"], 1e-3)  # observed: ~1e-5
    dd = ex.filter(pl.col("kind") == "diff").rename({"AVISIT": "visit"})
    jd = m.diffs_.join(dd, on="visit", how="inner")
    close_rel(jd["df"], jd["df_right"], 1e-3)
    r = (
        ref(ds, "UN", "diffs")
        .rename({"AVISIT": "visit", "estimate": "r_est", "df": "r_df"})
        .join(dd.select("visit", pl.col("df").alias("exact_df")), on="visit")
    )
    jr = m.diffs_.join(r, on="visit")
    t = jr["r_est"] / jr["SE"]
    p_exp = 2 * stats.t.sf(np.abs(t), jr["exact_df"])
    np.testing.assert_allclose(jr["p"], p_exp, rtol=1e-3, atol=1e-8)
    q = stats.t.ppf(0.975, jr["exact_df"])
    close_scaled(jr["lower"], jr["r_est"] - q * jr["SE"], jr["SE"])
    close_scaled(jr["upper"], jr["r_est"] + q * jr["SE"], jr["SE"])


@pytest.mark.parametrize("cov", ["UN", "CS", "AR1"])
def test_proportional_lsmeans(cov):
    m = fitted("syn", cov)
    r = ref("syn", cov, "lsmeans_prop").rename({"ARM": "arm", "AVISIT": "visit"})
    j = m.lsmeans("proportional").join(r, on=["arm", "visit"], how="inner")
    assert j.height == 8
    close_scaled(j["lsmean"], j["emmean"], j["SE"])
    close_rel(j["se"], j["SE"], 1e-4)
    close_rel(j["df"], j["df_right"], 0.03 if cov == "UN" else 0.01)


@pytest.mark.parametrize("ds,cov", CASES)
def test_type3_and_residual_df(ds, cov):
    """Type III Wald F (R anova.gls type = "marginal" with contr.sum) and, with
    df="residual", R's denominator df N - p and p-values."""
    r = ref(ds, cov, "type3").filter(pl.col("term") != "(Intercept)")
    m = fitted(ds, cov)
    j = m.type3_.join(r, on="term", how="inner")
    assert j.height == r.height == m.type3_.height
    assert (j["num_df"] == j["num_df_right"]).all()
    close_rel(j["F"], j["F_right"], 1e-4)
    mr = fitted(ds, cov, "residual")
    jr = mr.type3_.join(r, on="term", how="inner")
    assert np.all(jr["den_df"].to_numpy() == jr["den_df_resid"].to_numpy())
    close_rel(jr["F"], jr["F_right"], 1e-4)
    np.testing.assert_allclose(jr["p"], jr["p_resid"], rtol=1e-3, atol=1e-12)
    dres = mr.diffs_["df"].to_numpy()
    assert np.all(dres == r["den_df_resid"][0])


@pytest.mark.parametrize("ds", list(SETS))
def test_kenward_roger_relation(ds):
    """KR (linear; SAS DDFM=KR for UN, mmrm "Kenward-Roger-Linear"): same point estimates,
    one-df df equal to the Satterthwaite df, SEs from the adjusted covariance (inflated here)."""
    ms = fitted(ds, "UN")
    mk = fitted(ds, "UN", "kenward_roger")
    np.testing.assert_allclose(mk.beta_, ms.beta_, rtol=0, atol=0)
    np.testing.assert_allclose(mk.diffs_["df"], ms.diffs_["df"], rtol=1e-12)
    np.testing.assert_allclose(mk.lsmeans_["df"], ms.lsmeans_["df"], rtol=1e-12)
    assert np.all(mk.diffs_["se"].to_numpy() > ms.diffs_["se"].to_numpy())
    # the adjustment is a small-sample correction: a few percent at most for n ~ 300
    ratio = mk.diffs_["se"].to_numpy() / ms.diffs_["se"].to_numpy()
    assert np.all(ratio < 1.05)


@pytest.mark.parametrize("ds", list(SETS))
def test_kenward_roger_against_independent_r_code(ds):
    """KR (linear) against the independent R implementation kr_linear() of
    mmrm_reference.R (nlme's natural parametrisation, numDeriv derivatives): adjusted SEs
    1e-4, df 1e-3, and the KR F test (m, lambda) of BASE and ARM:AVISIT."""
    mk = fitted(ds, "UN", "kenward_roger")
    r = ref(ds, "UN", "kr_diffs").rename({"AVISIT": "visit"})
    j = mk.diffs_.join(r, on="visit", how="inner")
    assert j.height == len(SETS[ds]["visit_order"])
    close_rel(j["se"], j["se_kr"], 1e-4)
    close_rel(j["df"], j["df_kr"], 1e-3)
    t = ref(ds, "UN", "kr_type3")
    jt = mk.type3_.join(t, on="term", how="inner")
    assert jt.height == 2
    assert (jt["num_df"] == jt["num_df_right"]).all()
    close_rel(jt["F"], jt["F_right"], 1e-4)
    close_rel(jt["den_df"], jt["den_df_right"], 1e-3)

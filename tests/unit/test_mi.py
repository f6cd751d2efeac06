"""Unit tests of hepatrial.models.mi (reference-based multiple imputation)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from hepatrial import ard
from hepatrial.errors import DataContractError
from hepatrial.models import MMRM, mi

REF = Path(__file__).parents[1] / "reference" / "mi"
VIS = ["WEEK 4", "WEEK 8", "WEEK 12", "WEEK 16"]


def _synthetic():
    return pl.read_csv(REF / "data_synthetic.csv"), pl.read_csv(REF / "ice_synthetic.csv")


def _simulate(n=160, T=4, seed=1, effect=-1.0, drop_active=0.35, drop_placebo=0.1):
    """Two arms, Active better (more negative change), dropout mostly in the Active arm."""
    rng = np.random.default_rng(seed)
    sd = np.linspace(3, 5, T)
    C = 0.6 ** np.abs(np.subtract.outer(np.arange(T), np.arange(T)))
    L = np.linalg.cholesky(C * np.outer(sd, sd))
    act = np.arange(n) % 2 == 0
    base = rng.normal(20, 4, n)
    st = rng.choice(["A", "B"], n)
    Y = (
        -0.2 * (base[:, None] - 20)
        - np.arange(T)
        + effect * act[:, None] * np.arange(1, T + 1)
        + rng.standard_normal((n, T)) @ L.T
    )
    drop = rng.random(n) < np.where(act, drop_active, drop_placebo)
    ice = np.where(drop, rng.integers(1, T, n), T)
    visits = [f"V{v + 1}" for v in range(T)]
    rows = [
        {
            "USUBJID": f"P{i:03d}",
            "ARM": "Active" if act[i] else "Placebo",
            "STRATUM": st[i],
            "BASE": base[i],
            "AVISIT": visits[v],
            "CHG": float(Y[i, v]) if v < ice[i] else None,
        }
        for i in range(n)
        for v in range(T)
    ]
    ice_df = pl.DataFrame(
        {
            "USUBJID": [f"P{i:03d}" for i in range(n) if ice[i] < T],
            "AVISIT": [visits[ice[i]] for i in range(n) if ice[i] < T],
        }
    )
    return pl.DataFrame(rows), ice_df, visits


# ----------------------------------------------------------------------------------------------
# Rubin's rules
# ----------------------------------------------------------------------------------------------
def test_rubin_rules_by_hand():
    # M = 3 estimates 1.0, 1.2, 0.8 with SEs 0.5, 0.6, 0.55; complete-data df 50
    #   mean = 1.0
    #   W = (0.25 + 0.36 + 0.3025) / 3 = 0.3041667
    #   B = ((0)^2 + 0.2^2 + 0.2^2) / (3 - 1) = 0.04
    #   T = W + (1 + 1/3) B = 0.3575, SE = sqrt(T) = 0.5979130
    #   lambda = (4/3) 0.04 / 0.3575 = 0.1491841
    #   nu_old = (M - 1) / lambda^2 = 89.86377
    #   nu_obs = (50 + 1) / (50 + 3) * 50 * (1 - lambda) = 40.93548
    #   nu = nu_old nu_obs / (nu_old + nu_obs) = 28.12414   (Barnard & Rubin 1999)
    est, se, df, W, B = mi.rubin_rules([1.0, 1.2, 0.8], [0.5, 0.6, 0.55], 50)
    assert est == pytest.approx(1.0, abs=1e-15)
    assert W == pytest.approx(0.30416666666666664, rel=1e-14)
    assert B == pytest.approx(0.04, rel=1e-12)
    assert se == pytest.approx(0.5979130371550699, rel=1e-12)
    assert df == pytest.approx(28.12414084765427, rel=1e-12)
    # infinite complete-data df: the classical Rubin df (M - 1) / lambda^2
    _, _, df_inf, _, _ = mi.rubin_rules([1.0, 1.2, 0.8], [0.5, 0.6, 0.55], np.inf)
    assert df_inf == pytest.approx(89.86376953125, rel=1e-12)
    # no between-imputation variance: df = nu_obs = 51/53 * 50
    _, se0, df0, _, _ = mi.rubin_rules([2.0, 2.0], [0.3, 0.3], 50)
    assert se0 == pytest.approx(0.3) and df0 == pytest.approx(51 / 53 * 50)


def test_quantile_type6_matches_r():
    # R: quantile(c(3, 1, 4, 1, 5, 9, 2, 6), c(0.025, 0.25, 0.5, 0.975), type = 6)
    #    -> 1.00 1.25 3.50 9.00
    x = np.array([3, 1, 4, 1, 5, 9, 2, 6], float)
    got = [mi._quantile6(x, p) for p in (0.025, 0.25, 0.5, 0.975)]
    np.testing.assert_allclose(got, [1.0, 1.25, 3.5, 9.0])


# ----------------------------------------------------------------------------------------------
# strategies (Carpenter, Roger & Kenward 2013)
# ----------------------------------------------------------------------------------------------
def _pd(rng, T):
    A = rng.standard_normal((T, T))
    return A @ A.T + T * np.eye(T)


def test_jr_covariance_has_own_pre_ice_and_reference_conditional():
    rng = np.random.default_rng(5)
    T, t = 5, 2
    S, R = _pd(rng, T), _pd(rng, T)
    Sig = mi._compute_sigma(S[None], R[None], t)[0]
    a, b = slice(0, t), slice(t, None)
    np.testing.assert_allclose(Sig, Sig.T, atol=1e-12)
    np.testing.assert_allclose(Sig[a, a], S[a, a], rtol=1e-13)
    # regression of post- on pre-ICE values and residual covariance are the reference arm's
    np.testing.assert_allclose(
        Sig[b, a] @ np.linalg.inv(Sig[a, a]), R[b, a] @ np.linalg.inv(R[a, a]), rtol=1e-10
    )
    np.testing.assert_allclose(
        Sig[b, b] - Sig[b, a] @ np.linalg.solve(Sig[a, a], Sig[a, b]),
        R[b, b] - R[b, a] @ np.linalg.solve(R[a, a], R[a, b]),
        rtol=1e-10,
    )
    assert np.all(np.linalg.eigvalsh(Sig) > 0)


def test_strategy_means():
    mu = np.array([[[1.0, 2.0, 3.0, 4.0]]])
    mr = np.array([[[1.5, 1.0, 0.0, -2.0]]])
    S = np.eye(4)[None]
    R = 2 * np.eye(4)[None]
    code = {s: i for i, s in enumerate(mi.STRATEGIES)}
    m, s = mi._joint(code["MAR"], 2, mu, mr, S, R, False)
    assert m is mu and s is S
    m, _ = mi._joint(code["JR"], 2, mu, mr, S, R, False)
    np.testing.assert_array_equal(m[0, 0], [1.0, 2.0, 0.0, -2.0])
    m, s = mi._joint(code["CR"], 2, mu, mr, S, R, False)
    np.testing.assert_array_equal(m[0, 0], mr[0, 0])
    np.testing.assert_array_equal(s, R)
    # CIR: own mean at the last pre-ICE visit plus the reference arm's increments from there
    m, _ = mi._joint(code["CIR"], 2, mu, mr, S, R, False)
    np.testing.assert_array_equal(m[0, 0], [1.0, 2.0, 2.0 + (0.0 - 1.0), 2.0 + (-2.0 - 1.0)])
    m, s = mi._joint(code["LMCF"], 2, mu, mr, S, R, False)
    np.testing.assert_array_equal(m[0, 0], [1.0, 2.0, 2.0, 2.0])
    np.testing.assert_array_equal(s, S)
    # ICE at the first visit: JR and CIR are CR
    for name in ("JR", "CIR"):
        m, s = mi._joint(code[name], 0, mu, mr, S, R, False)
        np.testing.assert_array_equal(m, mr)
        np.testing.assert_array_equal(s, R)


def test_lmcf_at_first_visit_is_an_error():
    data, _, visits = _simulate(n=20)
    ice = pl.DataFrame({"USUBJID": ["P000"], "AVISIT": [visits[0]], "STRATEGY": ["LMCF"]})
    with pytest.raises(DataContractError, match="LMCF"):
        mi.prepare(data, ice, visit_order=visits, control="Placebo")


def test_unknown_strategy_is_an_error():
    data, _, visits = _simulate(n=20)
    ice = pl.DataFrame({"USUBJID": ["P000"], "AVISIT": [visits[1]], "STRATEGY": ["X2R"]})
    with pytest.raises(DataContractError, match="unknown imputation strategy"):
        mi.prepare(data, ice, visit_order=visits, control="Placebo")


# ----------------------------------------------------------------------------------------------
# conditional mean imputation = MMRM under MAR
# ----------------------------------------------------------------------------------------------
def test_condmean_mar_equals_mmrm_with_covariate_by_visit_terms():
    """Under MAR, the ANCOVA of the conditional-mean-completed data equals the MMRM with the
    same covariate-by-visit terms (GLS with identical regressors per visit = OLS per visit)."""
    data, ice = _synthetic()
    ice = ice.with_columns(pl.lit("MAR").alias("STRATEGY"))
    imp = mi.impute(
        data,
        ice,
        method="condmean",
        resampling="bootstrap",
        B=2,
        seed=1,
        visit_order=VIS,
        control="Placebo",
    )
    ours = mi.pool(mi.analyse(imp)).filter(pl.col("analysis") == "MI_DIFF")
    # the same mean model for MMRM.fit: covariate x visit columns as row-level covariates
    wide = data.with_columns(
        [
            (pl.col("BASE") * (pl.col("AVISIT") == v).cast(pl.Float64)).alias(f"BASE_{k}")
            for k, v in enumerate(VIS[1:])
        ]
        + [(pl.col("STRATUM") == s).cast(pl.Float64).alias(f"ST{s}") for s in ("S2", "S3")]
        + [
            ((pl.col("STRATUM") == s) & (pl.col("AVISIT") == v))
            .cast(pl.Float64)
            .alias(f"ST{s}_{k}")
            for s in ("S2", "S3")
            for k, v in enumerate(VIS[1:])
        ]
    )
    covs = (
        ["BASE"]
        + [f"BASE_{k}" for k in range(3)]
        + ["STS2", "STS3"]
        + [f"ST{s}_{k}" for s in ("S2", "S3") for k in range(3)]
    )
    fit = MMRM(covariance="UN").fit(wide, visit_order=VIS, reference="Placebo", covariates=covs)
    mm = fit.diffs_.sort("visit")
    j = ours.join(mm, left_on="avisit", right_on="visit")
    assert j.height == 4
    np.testing.assert_allclose(j["estimate"], j["estimate_right"], rtol=1e-6)
    # and differs from the MMRM with a common BASE slope (the identity is not trivial)
    common = MMRM(covariance="UN").fit(
        data, visit_order=VIS, reference="Placebo", covariates=["BASE"], factors=["STRATUM"]
    )
    assert np.max(np.abs(common.diffs_["estimate"].to_numpy() - mm["estimate"].to_numpy())) > 1e-3


# ----------------------------------------------------------------------------------------------
# behaviour
# ----------------------------------------------------------------------------------------------
def test_j2r_moves_estimate_towards_null():
    data, ice, visits = _simulate(seed=3)
    kw = {"visit_order": visits, "control": "Placebo"}
    last = visits[-1]

    def diff(strategy, method="condmean", **extra):
        imp = mi.impute(
            data, ice.with_columns(pl.lit(strategy).alias("STRATEGY")), method=method, **kw, **extra
        )
        r = mi.pool(mi.analyse(imp))
        return r.filter((pl.col("analysis") == "MI_DIFF") & (pl.col("avisit") == last))["estimate"][
            0
        ]

    mar, j2r, cr = diff("MAR"), diff("JR"), diff("CR")
    assert mar < -2.0  # Active is better
    assert mar < j2r < 0 and j2r - mar > 0.5
    assert mar < cr < 0
    jb = diff("JR", "bayes", M=60, seed=4)
    assert jb - mar > 0.5


def test_same_seed_identical_results_different_seed_not():
    data, ice = _synthetic()
    kw = {"visit_order": VIS, "control": "Placebo"}
    for method, extra in (
        ("bayes", {"M": 20, "warmup": 20, "thin": 2}),
        ("approxbayes", {"M": 10}),
        ("bmlmi", {"B": 6, "D": 2}),
        ("condmean", {"resampling": "bootstrap", "B": 8}),
    ):
        a = mi.impute(data, ice, method=method, seed=7, **kw, **extra)
        b = mi.impute(data, ice, method=method, seed=7, **kw, **extra)
        c = mi.impute(data, ice, method=method, seed=8, **kw, **extra)
        assert a.Y.tobytes() == b.Y.tobytes(), method
        pa, pb = mi.pool(mi.analyse(a)), mi.pool(mi.analyse(b))
        assert_frame_equal(pa, pb, check_exact=True)
        assert a.Y.tobytes() != c.Y.tobytes(), method


def test_condmean_jackknife_is_deterministic_and_imputes_only_missing():
    data, ice = _synthetic()
    a = mi.impute(data, ice, method="condmean", visit_order=VIS, control="Placebo")
    b = mi.impute(data, ice, method="condmean", visit_order=VIS, control="Placebo", seed=99)
    assert a.Y.tobytes() == b.Y.tobytes()
    d = a.data
    obs = ~np.isnan(d.Y)
    assert a.Y.shape == (d.n + 1, 1, d.n, d.T)
    np.testing.assert_array_equal(a.Y[0, 0][obs], d.Y[obs])  # observed values kept
    assert not np.isnan(a.Y).any()
    # observed post-ICE values of reference-based strategies are kept too
    post = (np.arange(d.T)[None] >= d.ice[:, None]) & obs & (d.strategy != 0)[:, None]
    assert post.sum() > 0
    np.testing.assert_array_equal(a.Y[0, 0][post], d.Y[post])


def test_random_draws_center_on_conditional_mean():
    """The mean of many random J2R imputations under fixed parameters is the conditional
    mean imputation (the property behind conditional mean imputation, Wolbers et al. 2022)."""
    data, ice = _synthetic()
    imp = mi.impute(
        data,
        ice,
        method="condmean",
        resampling="bootstrap",
        B=1,
        seed=2,
        visit_order=VIS,
        control="Placebo",
    )
    d = imp.data
    X_own, _ = mi.imputation_design(d)
    X_ref, _ = mi.imputation_design(d, d.ref_arm)
    rng = np.random.default_rng(3)
    beta, sigma = imp.fit.beta[None], imp.fit.sigma[None]
    draws = mi._impute(d, X_own, X_ref, np.zeros(2, int), beta, sigma, np.arange(d.n), 4000, rng)[0]
    cm = imp.Y[0, 0]
    miss = np.isnan(d.Y)
    sd = draws.std(axis=0)
    z = (draws.mean(axis=0) - cm)[miss] / (sd[miss] / np.sqrt(4000))
    assert np.abs(z).max() < 4.5
    assert np.all(np.ptp(draws, axis=0)[~miss] == 0)  # observed values never change


def test_inverse_wishart_draws_have_the_right_mean():
    rng = np.random.default_rng(11)
    Psi = np.array([[4.0, 1.0, 0.5], [1.0, 3.0, 0.2], [0.5, 0.2, 2.0]])
    nu = 30
    draws = np.array([mi._draw_invwishart(rng, nu, Psi) for _ in range(4000)])
    mean = Psi / (nu - 3 - 1)
    se = draws.std(axis=0) / np.sqrt(4000)
    assert np.all(np.abs(draws.mean(axis=0) - mean) < 4.5 * se)


def test_delta_shift_and_tipping_point():
    data, ice, visits = _simulate(seed=3)
    ice = ice.with_columns(pl.lit("MAR").alias("STRATEGY"))
    imp = mi.impute(data, ice, method="condmean", visit_order=visits, control="Placebo")
    base = mi.pool(mi.analyse(imp)).filter(pl.col("analysis") == "MI_DIFF")
    # a shift of the imputed Active values: the estimate moves by delta x (Active subjects
    # with the visit missing) / (Active subjects), up to the covariate adjustment
    shifted = mi.pool(mi.analyse(imp, delta={"Active": 2.0})).filter(
        pl.col("analysis") == "MI_DIFF"
    )
    d = imp.data
    act = d.arm == d.arms.index("Active")
    frac = np.isnan(d.Y[act]).mean(axis=0)
    move = (shifted["estimate"] - base["estimate"]).to_numpy()
    np.testing.assert_allclose(move / 2.0, frac, atol=0.03)
    assert move[0] == 0.0 and move[-1] > 0.2
    grid = np.arange(0.0, 12.1, 1.0)
    tip = mi.tipping_point(imp, grid)
    last = tip.filter(pl.col("avisit") == visits[-1]).sort("delta")
    p = last["p"].to_numpy()
    assert p[0] < 0.05 and np.all(np.diff(p) > 0)
    first_ns = last.filter(~pl.col("significant"))["delta"][0]
    assert last["tipping_delta"][0] == first_ns
    assert last.filter(pl.col("delta") == first_ns - 1)["significant"][0]
    assert "tipping point: delta added to imputed values in Active" in last["method"][0]


def test_ard_rows_have_the_contract_keys():
    data, ice = _synthetic()
    imp = mi.impute(
        data, ice, method="approxbayes", M=8, seed=1, visit_order=VIS, control="Placebo"
    )
    pooled = mi.pool(mi.analyse(imp))
    tip = mi.tipping_point(imp, [0.0, 2.0, 4.0])
    rows = mi.mi_ard_rows(pooled, paramcd="CHG", population="ITT", tipping=tip)
    frame = ard.finalise(ard.ard_rows(rows))
    assert set(frame["analysis"]) == {"MI_DIFF", "MI_LSMEAN", "TIPPING"}
    diff = frame.filter(pl.col("analysis") == "MI_DIFF")
    assert set(diff["stat"]) == {"estimate", "se", "df", "lower", "upper", "p"}
    assert set(diff["comparator"]) == {"Placebo"} and set(diff["arm"]) == {"Active"}
    lsm = frame.filter(pl.col("analysis") == "MI_LSMEAN")
    assert set(lsm["stat"]) == {"n", "lsmean", "se", "df", "lower", "upper"}
    tp = frame.filter(pl.col("analysis") == "TIPPING")
    assert tp.filter(pl.col("stat") == "estimate").height == 3 * len(VIS)
    assert sorted(set(tp.drop_nulls("time")["time"])) == [0.0, 2.0, 4.0]
    m = diff["method"][0]
    assert "approximate Bayesian" in m and "M=8" in m and "Rubin" in m and "J2R" in m


def test_bmlmi_pooling_by_hand():
    """von Hippel & Bartlett (2021) 8.4 and 8.6 on a 3 x 2 table of estimates."""
    est = np.array([[1.0, 1.4], [0.6, 0.8], [1.2, 1.0]])  # B = 3 bootstrap samples, D = 2
    Bn, Dn = 3, 2
    mean = est.mean()  # 1.0
    msw = ((est - est.mean(1, keepdims=True)) ** 2).sum() / (Bn * (Dn - 1))  # 0.12 / 3
    msb = Dn * ((est.mean(1) - mean) ** 2).sum() / (Bn - 1)  # 2 (0.04 + 0.09 + 0.01) / 2
    var = (1 + 1 / Bn) * (msb - msw) / Dn + msw / (Bn * Dn)
    df = var**2 / (
        ((Bn + 1) / (Bn * Dn)) ** 2 * msb**2 / (Bn - 1) + msw**2 / (Bn * Dn**2 * (Dn - 1))
    )
    assert msw == pytest.approx(0.04) and msb == pytest.approx(0.14)
    imp = mi.Imputations(
        data=None, method="bmlmi", Y=np.zeros(0), rows=None, weights=None, B=Bn, D=Dn
    )
    an = mi.Analysis(
        imputations=imp,
        diff=est[:, :, None, None],
        diff_se=est[:, :, None, None],
        lsm=est[:, :, None, None],
        lsm_se=est[:, :, None, None],
        df=np.full((Bn, Dn), 100.0),
        test_arms=["A"],
        n_arm=np.array([1, 1]),
        weights="counterfactual",
    )
    e, s, d, lo, hi, p = mi._pool_one(an, an.diff, an.diff_se, 0.05, "normal")
    assert e.item() == pytest.approx(mean)
    assert s.item() == pytest.approx(np.sqrt(var))
    assert d.item() == pytest.approx(max(3.0, df))
    from scipy import stats

    q = stats.t.ppf(0.975, d.item())
    assert (lo.item(), hi.item()) == pytest.approx((mean - q * s.item(), mean + q * s.item()))
    assert p.item() == pytest.approx(2 * stats.t.sf(mean / s.item(), d.item()))


# ----------------------------------------------------------------------------------------------
# imputation models shared by the estimands of one run (FitStore)
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "extra"),
    [
        ("condmean", {}),  # jackknife: deterministic
        ("condmean", {"resampling": "bootstrap", "B": 6, "seed": 3}),
        ("bayes", {"M": 12, "warmup": 20, "thin": 2, "seed": 5}),
        ("approxbayes", {"M": 5, "seed": 6}),
    ],
)
def test_shared_fits_are_bit_identical_and_fitted_once(monkeypatch, method, extra):
    """J2R, CR and CIR fit the same imputation model (the on-treatment data): with one store the
    model and its resamples or draws are made once, and every completed data set and pooled row
    is bit for bit the one a call without the store gives (the generator continues from where the
    stored draws left it, so the imputation draws after them are the same too)."""
    data, ice, visits = _simulate(n=80, seed=11)
    kw = {"visit_order": visits, "control": "Placebo", "method": method, **extra}

    def run(strategy, fits=None):
        imp = mi.impute(data, ice.with_columns(pl.lit(strategy).alias("STRATEGY")), fits=fits, **kw)
        return imp, mi.pool(mi.analyse(imp))

    alone = {s: run(s) for s in ("JR", "CR", "CIR")}
    calls = []
    fit_full = mi._ModelFitter.fit_full
    monkeypatch.setattr(mi._ModelFitter, "fit_full", lambda self: calls.append(1) or fit_full(self))
    refits = []
    refit = mi._ModelFitter.refit
    monkeypatch.setattr(
        mi._ModelFitter, "refit", lambda self, *a, **k: refits.append(1) or refit(self, *a, **k)
    )
    store = mi.FitStore()
    shared = {s: run(s, store) for s in ("JR", "CR", "CIR")}
    assert len(calls) == 1  # one full fit for the three strategies
    n_refits = len(refits)
    assert n_refits == {"condmean": 6 if "B" in extra else 80, "approxbayes": 5}.get(method, 0)
    for s in alone:
        a, b = alone[s][0], shared[s][0]
        if a.Y is not None:
            assert a.Y.tobytes() == b.Y.tobytes(), s
        assert a.draws_beta.tobytes() == b.draws_beta.tobytes(), s
        assert_frame_equal(alone[s][1], shared[s][1], check_exact=True)
    # the strategies differ in what they impute, not in the model
    assert not alone["JR"][1].equals(alone["CR"][1])
    # another seed is another set of draws: not taken from the store
    if "seed" in extra:
        other = mi.impute(
            data,
            ice.with_columns(pl.lit("JR").alias("STRATEGY")),
            fits=store,
            **{**kw, "seed": extra["seed"] + 1},
        )
        assert other.draws_beta.tobytes() != shared["JR"][0].draws_beta.tobytes()


def test_shared_fits_keep_models_of_different_data_apart():
    """MAR with the post-event values kept (treatment policy) fits other data than J2R: a second
    full fit, and its result equal to the one without the store."""
    data, ice, visits = _simulate(n=80, seed=12)
    # observed values after the event, kept under the treatment-policy MAR strategy
    full, _, _ = _simulate(n=80, seed=12, drop_active=0.0, drop_placebo=0.0)
    store = mi.FitStore()
    kw = {"visit_order": visits, "control": "Placebo", "method": "condmean"}
    j2r = mi.impute(full, ice.with_columns(pl.lit("JR").alias("STRATEGY")), fits=store, **kw)
    mar = mi.impute(full, ice.with_columns(pl.lit("MAR").alias("STRATEGY")), fits=store, **kw)
    mar_alone = mi.impute(full, ice.with_columns(pl.lit("MAR").alias("STRATEGY")), **kw)
    assert len(store._items) == 4  # two models, each with its jackknife
    assert mar.draws_beta.tobytes() == mar_alone.draws_beta.tobytes()
    assert mar.draws_beta.tobytes() != j2r.draws_beta.tobytes()
    assert not mar.draws_beta.flags.writeable  # stored arrays are read-only


def test_stored_draws_are_keyed_by_the_generator_state_and_resume_it():
    """Draws come from the store only for a generator in the state that made them (same seed,
    nothing drawn before), and leave the generator where the stored draws left it."""
    store = mi.FitStore()
    r1 = np.random.default_rng(1)
    a = store.drawn(("k",), 1, r1, lambda: r1.normal(size=3))
    after = r1.normal()
    r2 = np.random.default_rng(1)
    b = store.drawn(("k",), 1, r2, lambda: pytest.fail("made again"))
    assert b.tobytes() == a.tobytes() and r2.normal() == after
    r3 = np.random.default_rng(1)
    r3.normal()  # the same seed, one number drawn before: another state, other draws
    c = store.drawn(("k",), 1, r3, lambda: r3.normal(size=3))
    assert c.tobytes() != a.tobytes()
    made = []
    for _ in range(2):  # unseeded: made every time, never stored
        r = np.random.default_rng()
        store.drawn(("k",), None, r, lambda r=r: made.append(1) or r.normal(size=3))
    assert len(made) == 2 and len(store._items) == 2

"""The formula interface (hepatrial.models.mmrm.fit) against SAS PROC MIXED (and R mmrm where
SAS has no equivalent) on fev_data. Sources of every number: the CSVs' ``source`` columns and
the comments below (openpharma/mmrm@ec290b2)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from hepatrial.models.mmrm import MMRMFormulaError, fit

HERE = Path(__file__).resolve().parent
FEV = pl.read_csv(HERE / "fev_data.csv")
REF_SAS = {"RACE": "Asian", "SEX": "Male", "ARMCD": "PBO", "AVISIT": "VIS4"}


# ---------------------------------------------------------------------------------------------
# weighted UN, FEV1 ~ RACE + SEX + ARMCD * AVISIT (design/SAS/sas_weighted.txt)
@pytest.fixture(scope="module")
def weighted_un():
    return fit(
        FEV, "FEV1 ~ RACE + SEX + ARMCD * AVISIT", "UN", weights="WEIGHT", reference_levels=REF_SAS
    )


# (term, estimate, SE) from design/SAS/sas_weighted.txt lines 168-184
SAS_W_COEF = [
    ("Intercept", 45.8590, 1.2490),
    ("RACE[T.Black or African American]", 1.2031, 0.6291),
    ("RACE[T.White]", 5.3808, 0.6707),
    ("SEX[T.Female]", 0.2326, 0.5325),
    ("ARMCD[T.TRT]", 4.2616, 1.6901),
    ("AVISIT[T.VIS1]", -14.7955, 1.3187),
    ("AVISIT[T.VIS2]", -9.9287, 1.2644),
    ("AVISIT[T.VIS3]", -4.7479, 1.2491),
    ("ARMCD[T.TRT]:AVISIT[T.VIS1]", -0.8654, 1.8916),
    ("ARMCD[T.TRT]:AVISIT[T.VIS2]", -0.8436, 1.8168),
    ("ARMCD[T.TRT]:AVISIT[T.VIS3]", -0.8687, 1.8317),
]
# lines 132-141
SAS_W_UN = [22.3763, 6.6766, 13.3115, 2.6988, 1.3677, 8.3589, 6.5390, 3.7323, 0.08496, 49.7530]
# (ARMCD, AVISIT, estimate, SE) lines 209-216
SAS_W_LSM = [
    ("TRT", "VIS1", 36.7707, 0.7762),
    ("PBO", "VIS1", 33.3745, 0.7724),
    ("TRT", "VIS2", 41.6593, 0.5851),
    ("PBO", "VIS2", 38.2413, 0.6171),
    ("TRT", "VIS3", 46.8150, 0.5434),
    ("PBO", "VIS3", 43.4221, 0.4678),
    ("TRT", "VIS4", 52.4316, 1.2260),
    ("PBO", "VIS4", 48.1700, 1.1632),
]
# type 3 F values, lines 195-199 (printed to 2 decimals)
SAS_W_TYPE3 = {"RACE": 34.37, "SEX": 0.19, "ARMCD": 30.42, "AVISIT": 134.59, "ARMCD:AVISIT": 0.08}


def test_weighted_un_matches_sas(weighted_un):
    r = weighted_un
    # -2 Res Log Like of the last iteration, sas_weighted.txt iteration history
    np.testing.assert_allclose(r.fit_stats["-2 log likelihood"], 3475.77144483, rtol=1e-9)
    coef = {row["term"]: row for row in r.coef.iter_rows(named=True)}
    for term, est, se in SAS_W_COEF:
        # SAS prints 4 decimals and stops short of the optimum: 1e-4 relative
        np.testing.assert_allclose(coef[term]["estimate"], est, atol=5e-5, rtol=1e-4)
        np.testing.assert_allclose(coef[term]["se"], se, atol=5e-5, rtol=1e-4)
    # relative to the matrix's scale (SAS stops short of the optimum; small covariances move)
    np.testing.assert_allclose(r.covparms["estimate"], SAS_W_UN, atol=1e-4 * max(SAS_W_UN))
    assert r.covparms["parm"].to_list()[:3] == ["UN(1,1)", "UN(2,1)", "UN(2,2)"]
    ls = r.lsmeans(["ARMCD", "AVISIT"])
    for arm, vis, est, se in SAS_W_LSM:
        row = ls.filter((pl.col("ARMCD") == arm) & (pl.col("AVISIT") == vis)).row(0, named=True)
        np.testing.assert_allclose(row["estimate"], est, atol=5e-5, rtol=1e-4)
        np.testing.assert_allclose(row["se"], se, atol=5e-5, rtol=1e-4)
    t3 = {row["term"]: row for row in r.anova(3).iter_rows(named=True)}
    for term, F in SAS_W_TYPE3.items():
        np.testing.assert_allclose(t3[term]["F"], F, atol=0.005, rtol=2e-4)
    assert [t3[k]["num_df"] for k in SAS_W_TYPE3] == [2, 1, 1, 3, 3]


def test_weighted_un_df_as_r(weighted_un):
    """Satterthwaite df of the weighted LS means as R (mmrm / nlme + emmeans; test-emmeans.R
    lines 257-290, design/R/R_weighted_nlme.txt). SAS's weighted-model df (sas_weighted.txt,
    e.g. 350 for TRT VIS1) are larger: SAS's Satterthwaite with a WEIGHT statement is not
    reproduced by R either."""
    ls = weighted_un.lsmeans(["ARMCD", "AVISIT"])
    expected = {
        ("PBO", "VIS4"): 134,
        ("TRT", "VIS4"): 132,
        ("PBO", "VIS1"): 147,
        ("TRT", "VIS1"): 142,
        ("PBO", "VIS2"): 144,
        ("TRT", "VIS2"): 143,
        ("PBO", "VIS3"): 128,
        ("TRT", "VIS3"): 128,
    }
    for (arm, vis), df in expected.items():
        row = ls.filter((pl.col("ARMCD") == arm) & (pl.col("AVISIT") == vis)).row(0, named=True)
        np.testing.assert_allclose(row["df"], df, rtol=1e-2)


# ---------------------------------------------------------------------------------------------
# intercept-only fits, ungrouped / grouped by ARMCD / weighted / spatial
INTERCEPT = pl.read_csv(
    HERE / "sas_intercept_fits.csv",
    schema_overrides={
        "se": pl.Float64,
        "estimate": pl.Float64,
        "group": pl.Utf8,
        "coords": pl.Utf8,
    },
)


@pytest.mark.parametrize(
    "row",
    list(INTERCEPT.iter_rows(named=True)),
    ids=lambda r: f"{r['structure']}-{r['group']}-{r['method']}-{r['weighted']}-{r['coords']}",
)
def test_intercept_only_fits(row):
    coords = row["coords"].split() if row["coords"] else None
    r = fit(
        FEV,
        "FEV1 ~ 1",
        row["structure"],
        group=row["group"],
        method=row["method"],
        weights="WEIGHT" if row["weighted"] == "yes" else None,
        coords=coords,
    )
    np.testing.assert_allclose(
        -2 * r.loglik,
        row["m2_loglik"],
        rtol=1e-8 if len(str(row["m2_loglik"]).split(".")[1]) >= 6 else 2e-8,
    )
    if row["se"] is not None:
        c = r.coef.row(0, named=True)
        # 1e-4 relative as mmrm's own tests (SAS's optimum is slightly off the maximum)
        np.testing.assert_allclose(c["estimate"], row["estimate"], rtol=1e-4)
        np.testing.assert_allclose(c["se"], row["se"], atol=5e-5, rtol=1e-4)


# ---------------------------------------------------------------------------------------------
# sandwich covariance, FEV1 ~ ARMCD (design/Robust)
EMP = pl.read_csv(HERE / "sas_empirical.csv")


@pytest.mark.parametrize(
    "row", list(EMP.iter_rows(named=True)), ids=lambda r: f"{r['structure']}-{r['weighted']}"
)
def test_empirical_matches_sas(row):
    r = fit(
        FEV,
        "FEV1 ~ ARMCD",
        row["structure"],
        vcov="empirical",
        df="between_within",
        weights="WEIGHT" if row["weighted"] == "yes" else None,
        coords=["VISITN", "VISITN2"],
    )
    np.testing.assert_allclose(r.vcov[0, 0], row["v11"], rtol=2e-4)
    np.testing.assert_allclose(r.vcov[0, 1], row["v12"], rtol=2e-4)
    np.testing.assert_allclose(r.vcov[1, 1], row["v22"], rtol=2e-4)
    d = r.lsmeans_diff("ARMCD").row(0, named=True)
    np.testing.assert_allclose(d["estimate"], row["diff_estimate"], rtol=1e-4)
    np.testing.assert_allclose(d["se"], row["diff_se"], rtol=1e-4)
    # SAS's df with EMPIRICAL and REPEATED: between-within, 197 subjects with data - 2
    assert d["df"] == row["diff_df"] == 195


def test_bias_reduced_and_jackknife_as_r_mmrm():
    """R mmrm snapshots (tests/testthat/_snaps/empirical.md lines 3-15) for FEV1 ~ ARMCD +
    ar1(AVISIT | USUBJID): Empirical, Empirical-Jackknife, Empirical-Bias-Reduced."""
    exp = {
        "empirical": (0.276669200825678, 0.681966674143019),
        "empirical_jackknife": (0.282126502688394, 0.696645916580453),
        "empirical_bias_reduced": (0.27938383855849, 0.689265455017577),
    }
    for v, (a, b) in exp.items():
        r = fit(FEV, "FEV1 ~ ARMCD", "AR1", vcov=v, df="residual")
        np.testing.assert_allclose(
            [r.vcov[0, 0], r.vcov[1, 1], -r.vcov[0, 1]], [a, b, a], rtol=1e-5
        )


# ---------------------------------------------------------------------------------------------
def test_formula_errors_and_aliasing():
    with pytest.raises(MMRMFormulaError, match="'BASELINE'"):
        fit(FEV, "FEV1 ~ BASELINE + ARMCD", "AR1")
    # a covariate that is a copy of another column is aliased (dropped, reported)
    d = FEV.with_columns((pl.col("FEV1_BL") * 2).alias("BL2"))
    r = fit(d, "FEV1 ~ FEV1_BL + BL2 + ARMCD", "AR1")
    assert r.aliased == ["BL2"]
    row = r.coef.filter(pl.col("term") == "BL2").row(0, named=True)
    assert row["aliased"] and row["estimate"] is None
    ref = fit(FEV, "FEV1 ~ FEV1_BL + ARMCD", "AR1")
    np.testing.assert_allclose(r.beta, ref.beta, rtol=1e-8)

"""Kenward-Roger of the MMRM engine against SAS PROC MIXED (DDFM=KR and KR(LINEAR)) on fev_data.

Model ``FEV1 ~ ARMCD`` (treatment coding, PBO reference), REPEATED AVISIT / SUBJECT=USUBJID with
nine covariance structures; the SAS numbers and their sources are in sas_kr_diff.csv and
sas_kr_covparms.csv (see README.md).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from hepatrial.models.mmrm_core import design_from_rows
from hepatrial.models.mmrm_fit import FitCore

HERE = Path(__file__).resolve().parent
DIFF = pl.read_csv(HERE / "sas_kr_diff.csv")
PARMS = pl.read_csv(HERE / "sas_kr_covparms.csv", schema_overrides={"estimate": pl.Float64})
STRUCTS = DIFF["structure"].unique(maintain_order=True).to_list()


def fev_design():
    d = pl.read_csv(HERE / "fev_data.csv").filter(pl.col("FEV1").is_not_null())
    vis = (d["AVISIT"].rank("dense") - 1).cast(pl.Int64).to_numpy()
    subj = d["USUBJID"]
    subjects = np.sort(subj.unique().to_numpy())
    sidx = (subj.rank("dense") - 1).cast(pl.Int64).to_numpy()
    X = np.column_stack([np.ones(d.height), (d["ARMCD"] == "TRT").to_numpy().astype(float)])
    y = d["FEV1"].to_numpy()
    sc = float(y.std())
    des = design_from_rows(
        X,
        y / sc,
        sidx,
        vis,
        4,
        np.zeros(subjects.size, int),
        subjects,
        ["(Intercept)", "ARMCDTRT"],
        coords=d.select("VISITN", "VISITN2").to_numpy(),
    )
    return des, sc


@pytest.fixture(scope="module")
def design():
    return fev_design()


def sas_row(struct, ddfm):
    return DIFF.filter((pl.col("structure") == struct) & (pl.col("ddfm") == ddfm)).row(
        0, named=True
    )


@pytest.mark.parametrize("struct", STRUCTS)
@pytest.mark.parametrize("ddfm", ["kenward_roger", "kenward_roger_linear"])
def test_at_sas_optimum(design, struct, ddfm):
    """Our engine evaluated at SAS's printed covariance parameters reproduces SAS's estimate
    and SE to 1e-4 relative and the df to 1%; its -2 Res Log Like matches SAS's to 1e-7."""
    des, sc = design
    fit = FitCore(des, struct, 1, True, ddfm, y_scale=sc)
    phi = PARMS.filter(pl.col("structure") == struct)["estimate"].to_numpy()
    at = FitCore(des, struct, 1, True, ddfm, y_scale=sc, theta_fixed=fit.theta_from_sas([phi]))
    est, se, df = at.contrast([0, 1])
    ref = sas_row(struct, ddfm)
    np.testing.assert_allclose(est[0], ref["estimate"], rtol=1e-4)
    np.testing.assert_allclose(se[0], ref["se"], rtol=1e-4)
    np.testing.assert_allclose(df[0], ref["df"], rtol=1e-2)
    np.testing.assert_allclose(-2 * at.loglik, ref["m2_res_loglik"], rtol=1e-7)


@pytest.mark.parametrize("struct", STRUCTS)
def test_at_own_optimum(design, struct):
    """At our (converged) optimum: -2 Res Log Like <= SAS's (SAS stops early) and within
    1e-8 relative; estimate, SE and df within 2e-4 / 2e-4 / 1%; the ratio SE_KR / SE_KR(LINEAR)
    - the effect of the second-order term - matches SAS's to 1e-5."""
    des, sc = design
    kr = FitCore(des, struct, 1, True, "kenward_roger", y_scale=sc)
    lin = FitCore(des, struct, 1, True, "kenward_roger_linear", y_scale=sc)
    ref_kr, ref_lin = sas_row(struct, "kenward_roger"), sas_row(struct, "kenward_roger_linear")
    m2ll = -2 * kr.loglik
    assert m2ll <= ref_kr["m2_res_loglik"] + 1e-6
    np.testing.assert_allclose(m2ll, ref_kr["m2_res_loglik"], rtol=1e-8)
    e1, s1, d1 = kr.contrast([0, 1])
    _e0, s0, d0 = lin.contrast([0, 1])
    np.testing.assert_allclose(e1[0], ref_kr["estimate"], rtol=2e-4)
    np.testing.assert_allclose(s1[0], ref_kr["se"], rtol=2e-4)
    np.testing.assert_allclose(s0[0], ref_lin["se"], rtol=2e-4)
    np.testing.assert_allclose(d1[0], ref_kr["df"], rtol=1e-2)
    np.testing.assert_allclose(s1[0] / s0[0], ref_kr["se"] / ref_lin["se"], rtol=1e-5)
    # KR df do not depend on the second-order term (SAS: identical df for KR and KR(LINEAR))
    np.testing.assert_allclose(d1, d0, rtol=1e-12)


def test_linear_structures_have_no_second_order_term(design):
    """UN, CS and TOEP are linear in SAS's parameters: DDFM=KR equals KR(LINEAR) (as in SAS's
    output, identical SEs)."""
    des, sc = design
    for struct in ("UN", "CS", "TOEP"):
        a = FitCore(des, struct, 1, True, "kenward_roger", y_scale=sc)
        b = FitCore(des, struct, 1, True, "kenward_roger_linear", y_scale=sc)
        np.testing.assert_allclose(a.vcov, b.vcov, rtol=1e-9)
        r = sas_row(struct, "kenward_roger")
        assert r["se"] == sas_row(struct, "kenward_roger_linear")["se"]

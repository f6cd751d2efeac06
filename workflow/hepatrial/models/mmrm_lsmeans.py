"""LS means of the pipeline's fixed model (``CHG ~ BASE + STRATUM + ARM * AVISIT``) on a design of
:func:`hepatrial.models.mmrm_design.build_design`: the L rows of the arm x visit cells and the Wald
tables of the random-slope LMM (:func:`hepatrial.models.lmm.fit_random_slope_lmm`).

SAS ``LSMEANS ARM*AVISIT``, emmeans ``~ ARM | AVISIT``: covariates at their means over the analysis
rows, other factors weighted equally (``"equal"``) or by their observed proportions
(``"proportional"``, SAS ``OBSMARGINS``). The MMRM itself takes its LS means from the formula
interface (:meth:`hepatrial.models.mmrm_formula.MMRMResult.lsmeans`).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from .mmrm_design import DesignMeta
from .mmrm_infer import t_summary

DIFF_SCHEMA = {
    "arm": pl.Utf8,
    "reference": pl.Utf8,
    "visit": pl.Utf8,
    "estimate": pl.Float64,
    "se": pl.Float64,
    "df": pl.Float64,
    "lower": pl.Float64,
    "upper": pl.Float64,
    "t": pl.Float64,
    "p": pl.Float64,
}


def cell_rows(meta: DesignMeta, design, arm: str, visit: str, weights: str = "equal") -> np.ndarray:
    """L rows of the LS means: array (n_arms in coding order, T, p) over the design's columns."""
    d = design
    A, T, p = len(meta.coding_arms), len(meta.visit_levels), d.p
    base = np.zeros(p)
    base[0] = 1.0
    for c, m in zip(meta.covariates, meta.cov_means):
        base[d.terms[c][0]] = m
    for f in meta.factors:
        K = len(meta.factor_levels[f])
        w = np.full(K, 1.0 / K) if weights == "equal" else meta.factor_props[f]
        base[d.terms[f]] = w[1:]
    out = np.tile(base, (A, T, 1))
    for a in range(1, A):
        out[a, :, d.terms[arm][a - 1]] = 1.0
    for v in range(1, T):
        out[:, v, d.terms[visit][v - 1]] = 1.0
    it = d.terms[f"{arm}:{visit}"]
    for a in range(1, A):
        for v in range(1, T):
            out[a, v, it[(a - 1) * (T - 1) + (v - 1)]] = 1.0
    return out


def wald_tables(
    meta: DesignMeta, rows: np.ndarray, beta: np.ndarray, vcov: np.ndarray, alpha: float
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(LS means per arm and visit, differences of each arm from the reference per visit) with
    Wald inference and *normal* quantiles (R ``emmeans(..., mode = "asymptotic")``; df infinite)."""
    recs, drecs = [], []
    for arm_name in meta.arm_levels:
        a = meta.coding_arms.index(arm_name)
        est = rows[a] @ beta
        se = np.sqrt(np.einsum("ia,ab,ib->i", rows[a], vcov, rows[a]))
        lo, hi, _, _ = t_summary(est, se, np.full(est.size, np.inf), alpha)
        for v, visn in enumerate(meta.visit_levels):
            recs.append(
                {
                    "arm": arm_name,
                    "visit": visn,
                    "n": int(meta.cell_n[a, v]),
                    "lsmean": est[v],
                    "se": se[v],
                    "df": np.inf,
                    "lower": lo[v],
                    "upper": hi[v],
                }
            )
        if arm_name != meta.reference:
            L = rows[a] - rows[0]
            est = L @ beta
            se = np.sqrt(np.einsum("ia,ab,ib->i", L, vcov, L))
            lo, hi, t, pv = t_summary(est, se, np.full(est.size, np.inf), alpha)
            for v, visn in enumerate(meta.visit_levels):
                drecs.append(
                    {
                        "arm": arm_name,
                        "reference": meta.reference,
                        "visit": visn,
                        "estimate": est[v],
                        "se": se[v],
                        "df": np.inf,
                        "lower": lo[v],
                        "upper": hi[v],
                        "t": t[v],
                        "p": pv[v],
                    }
                )
    return pl.DataFrame(recs), pl.DataFrame(drecs)

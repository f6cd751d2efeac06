"""Data -> design of the pipeline's fixed MMRM ``CHG ~ BASE + STRATUM + ARM * AVISIT`` (R column
order, treatment coding) in subject x visit layout; used by the random-slope LMM
(:func:`hepatrial.models.lmm.fit_random_slope_lmm`) and, for its level helpers, by the multiple
imputation (:mod:`hepatrial.models.mi`). The general formula interface has its own encoder
(formulaic, :mod:`hepatrial.models.mmrm_formula`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from ..errors import DataContractError
from .mmrm_core import Design, build_patterns
from .mmrm_formula import as_polars


class MMRMDataError(DataContractError, ValueError):
    """The data cannot be analysed by the MMRM as specified (unknown visit or arm level,
    duplicate subject-visit rows, rank-deficient fixed-effects design, ...)."""


def levels(series: pl.Series) -> list:
    """The sorted distinct non-missing values of ``series``."""
    return sorted(series.drop_nulls().unique().to_list())


def codes(series: pl.Series, levels: list) -> np.ndarray:
    """Integer codes of ``series`` in ``levels`` (all values must be in ``levels``)."""
    lut = pl.DataFrame(
        {
            "__v": pl.Series(levels, dtype=series.dtype),
            "__c": np.arange(len(levels), dtype=np.int64),
        }
    )
    out = pl.DataFrame({"__v": series}).join(lut, on="__v", how="left", maintain_order="left")
    return out["__c"].to_numpy()


@dataclass
class DesignMeta:
    """What :func:`build_design` learnt of the data: levels, covariate means, factor proportions, cell counts."""

    visit_levels: list
    arm_levels: list  # in output order
    reference: object
    coding_arms: list  # reference first
    factor_levels: dict
    covariates: list
    factors: list
    cov_means: np.ndarray
    factor_props: dict
    cell_n: np.ndarray  # (n_arms in coding order, T)
    n_missing_response: int
    y_scale: float
    n_dropped_incomplete: int


def build_design(
    data,
    response,
    subject,
    visit,
    visit_order,
    arm,
    arm_levels,
    reference,
    covariates,
    factors,
    group_covariance,
):
    """The fixed model ``response ~ covariates + factors + arm * visit`` (R column order, treatment
    coding, the reference arm and the first visit as baselines) in subject x visit layout.

    Returns ``(design, meta, Xr, y, sidx, vis)``: the :class:`~hepatrial.models.mmrm_core.Design`
    (response divided by ``meta.y_scale``), its :class:`DesignMeta`, the row-level matrix and
    scaled response, and the subject and visit code of each row. Raises :class:`MMRMDataError`
    (unknown visit or arm, duplicate subject-visit rows, arm not constant within subject, rank
    deficient design)."""
    df = as_polars(data)
    needed = [response, subject, visit, arm, *covariates, *factors]
    missing_cols = [c for c in needed if c not in df.columns]
    if missing_cols:
        raise MMRMDataError(f"columns not found: {missing_cols}")
    df = df.select(needed)
    n0 = df.height
    df = df.filter(
        pl.col(response).is_not_null() & pl.col(response).is_not_nan()
        if df.schema[response].is_float()
        else pl.col(response).is_not_null()
    )
    n_missing_response = n0 - df.height
    n1 = df.height
    df = df.drop_nulls()
    n_dropped = n1 - df.height

    visit_levels = list(visit_order) if visit_order is not None else levels(df[visit])
    bad = set(df[visit].unique().to_list()) - set(visit_levels)
    if bad:
        raise MMRMDataError(f"visits not in visit_order: {sorted(map(str, bad))}", column=visit)
    arm_levels = list(arm_levels) if arm_levels is not None else levels(df[arm])
    bad = set(df[arm].unique().to_list()) - set(arm_levels)
    if bad:
        raise MMRMDataError(f"arms not in arm_levels: {sorted(map(str, bad))}", column=arm)
    if reference is None:
        reference = arm_levels[0]
    if reference not in arm_levels:
        raise MMRMDataError(f"reference arm {reference!r} not in arm levels", column=arm)
    coding_arms = [reference] + [a for a in arm_levels if a != reference]
    T, A = len(visit_levels), len(coding_arms)

    vis = codes(df[visit], visit_levels)
    armc = codes(df[arm], coding_arms)
    subj = df[subject].cast(pl.Utf8)
    subjects = subj.unique().sort().to_numpy()
    sidx = (subj.rank("dense") - 1).cast(pl.Int64).to_numpy()
    ns = subjects.size
    if np.unique(sidx * T + vis).size != sidx.size:
        raise MMRMDataError(f"more than one row per {subject} x {visit}")
    if np.unique(sidx * A + armc).size != ns:
        raise MMRMDataError(f"{arm} is not constant within {subject}", column=arm)

    # row-level design matrix, R column order
    n = df.height
    cols, names, terms = [np.ones(n)], ["(Intercept)"], {}
    for c in covariates:
        terms[c] = [len(names)]
        cols.append(df[c].cast(pl.Float64).to_numpy())
        names.append(c)
    factor_levels, factor_codes = {}, {}
    for f in factors:
        levs = levels(df[f])
        factor_levels[f] = levs
        fcodes = codes(df[f], levs)
        factor_codes[f] = fcodes
        terms[f] = []
        for j in range(1, len(levs)):
            terms[f].append(len(names))
            cols.append((fcodes == j).astype(float))
            names.append(f"{f}{levs[j]}")
    terms[arm] = []
    for a in range(1, A):
        terms[arm].append(len(names))
        cols.append((armc == a).astype(float))
        names.append(f"{arm}{coding_arms[a]}")
    terms[visit] = []
    for v in range(1, T):
        terms[visit].append(len(names))
        cols.append((vis == v).astype(float))
        names.append(f"{visit}{visit_levels[v]}")
    terms[f"{arm}:{visit}"] = []
    for a in range(1, A):
        for v in range(1, T):
            terms[f"{arm}:{visit}"].append(len(names))
            cols.append(((armc == a) & (vis == v)).astype(float))
            names.append(f"{arm}{coding_arms[a]}:{visit}{visit_levels[v]}")
    Xr = np.column_stack(cols)
    XtX = Xr.T @ Xr
    sc = np.sqrt(np.diag(XtX))
    if np.any(sc == 0) or np.linalg.matrix_rank(XtX / np.outer(sc, sc), tol=1e-10) < Xr.shape[1]:
        raise MMRMDataError(
            "the fixed-effects design is rank deficient (an arm x visit "
            "cell or a factor level without data?)"
        )
    p = Xr.shape[1]
    y = df[response].cast(pl.Float64).to_numpy()
    # the likelihood is maximised for y / y_scale (makes the optimiser tolerances and the
    # finite-difference steps scale-free); results are transformed back exactly
    y_scale = float(np.std(y)) if n > 1 and np.std(y) > 0 else 1.0
    y = y / y_scale

    Xs = np.zeros((ns, T, p))
    Ys = np.full((ns, T), np.nan)
    obs = np.zeros((ns, T), dtype=bool)
    Xs[sidx, vis] = Xr
    Ys[sidx, vis] = y
    obs[sidx, vis] = True
    subj_arm = np.zeros(ns, dtype=np.int64)
    subj_arm[sidx] = armc
    group = subj_arm if group_covariance else np.zeros(ns, dtype=np.int64)

    design = Design(
        Xs=Xs, Ys=Ys, obs=obs, group=group, col_names=names, terms=terms, subjects=subjects
    )
    design.patterns = build_patterns(Xs, Ys, obs, group)
    cell_n = np.zeros((A, T), dtype=np.int64)
    np.add.at(cell_n, (armc, vis), 1)
    meta = DesignMeta(
        visit_levels=visit_levels,
        arm_levels=list(arm_levels),
        reference=reference,
        coding_arms=coding_arms,
        factor_levels=factor_levels,
        covariates=list(covariates),
        factors=list(factors),
        cov_means=np.array([Xr[:, terms[c][0]].mean() for c in covariates]),
        factor_props={
            f: np.bincount(factor_codes[f], minlength=len(factor_levels[f])) / n for f in factors
        },
        cell_n=cell_n,
        n_missing_response=n_missing_response,
        n_dropped_incomplete=n_dropped,
        y_scale=y_scale,
    )
    return design, meta, Xr, y, sidx, vis

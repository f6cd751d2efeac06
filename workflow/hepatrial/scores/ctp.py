"""Child-Turcotte-Pugh: points per component, score and class; docs/scoring.md.
Conventions: :mod:`hepatrial.scores`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import polars as pl

from hepatrial.errors import ConfigError, DataContractError
from hepatrial.scores._common import (
    ALB_GL_PER_GDL,
    BILI_UMOL_PER_MGDL,
    IntoScoreExpr,
    _all_present,
    _cmp,
    _expr,
    _flag,
    _lab,
    _num,
)


# --------------------------------------------------------------------------------------------
# Child-Turcotte-Pugh
# --------------------------------------------------------------------------------------------
def _points_low_good(x: pl.Expr, low: float | pl.Expr, high: float | pl.Expr) -> pl.Expr:
    """1 if x < low, 2 if low <= x <= high, 3 if x > high; null if x is null."""
    return (
        pl.when(x.is_null())
        .then(pl.lit(None, dtype=pl.Int32))
        .when(x < low)
        .then(pl.lit(1, dtype=pl.Int32))
        .when(x <= high)
        .then(pl.lit(2, dtype=pl.Int32))
        .otherwise(pl.lit(3, dtype=pl.Int32))
    )


def compute_ctp_points_bili(bili: IntoScoreExpr, cholestatic: IntoScoreExpr = False) -> pl.Expr:
    """CTP points for total bilirubin (umol/L, compared in mg/dL).

    Non-cholestatic: < 2 -> 1, 2 to 3 (both ends included) -> 2, > 3 -> 3.
    Cholestatic disease (PBC, PSC; ``cholestatic`` true): < 4 -> 1, 4 to 10 -> 2, > 10 -> 3.
    In umol/L the cut-offs are 34.2 / 51.3 and 68.4 / 171. The converted value is rounded to 10
    decimals before comparison (module docstring). Source: docs/scoring.md CTP table.

    Returns
    -------
    polars.Expr
        Int32 1-3; null when bilirubin or the cholestatic flag is null, or bilirubin <= 0.
    """
    b = _cmp(_lab(bili, BILI_UMOL_PER_MGDL))
    chol = _flag(cholestatic)
    low = pl.when(chol).then(pl.lit(4.0)).otherwise(pl.lit(2.0))
    high = pl.when(chol).then(pl.lit(10.0)).otherwise(pl.lit(3.0))
    return _all_present(_points_low_good(b, low, high), [b, chol])


def compute_ctp_points_alb(alb: IntoScoreExpr) -> pl.Expr:
    """CTP points for albumin (g/L, compared in g/dL): > 3.5 -> 1, 2.8 to 3.5 -> 2, < 2.8 -> 3.

    Cut-offs in g/L: 35 and 28 (both in the 2-point band). Returns Int32 1-3, null when missing.
    Source: docs/scoring.md CTP table.
    """
    a = _cmp(_lab(alb, ALB_GL_PER_GDL))
    return (
        pl.when(a.is_null())
        .then(pl.lit(None, dtype=pl.Int32))
        .when(a > 3.5)
        .then(pl.lit(1, dtype=pl.Int32))
        .when(a >= 2.8)
        .then(pl.lit(2, dtype=pl.Int32))
        .otherwise(pl.lit(3, dtype=pl.Int32))
    )


def compute_ctp_points_inr(inr: IntoScoreExpr) -> pl.Expr:
    """CTP points for INR: < 1.7 -> 1, 1.7 to 2.3 -> 2, > 2.3 -> 3 (Int32; null when missing)."""
    return _points_low_good(_cmp(_lab(inr)), 1.7, 2.3)


#: Prothrombin activity (%) cut-offs of the CTP coagulation item, (1 point above, 3 points below):
#: > 60 -> 1, 40 to 60 -> 2, < 40 -> 3 (``scores.ctp_coagulation: PTA``; docs/scoring.md).
CTP_PTA_CUTOFFS = (60.0, 40.0)


def compute_ctp_points_pta(
    pta: IntoScoreExpr, cutoffs: tuple[float, float] = CTP_PTA_CUTOFFS
) -> pl.Expr:
    """CTP points for prothrombin activity (PTA, %; LB ``PTACT``): > 60 -> 1, 40 to 60 (both ends)
    -> 2, < 40 -> 3 (Int32; null when missing or <= 0). Higher is better, unlike INR.

    The convention where PTA stands in for INR or PT prolongation (laboratories in China report
    PTA); ``cutoffs`` (upper, lower) from the study config ``scores.ctp_pta_cutoffs``.
    """
    hi, lo = float(cutoffs[0]), float(cutoffs[1])
    if not hi > lo:
        raise ConfigError(
            f"scores.ctp_pta_cutoffs: the upper cut-off ({hi}) must exceed the lower ({lo})"
        )
    a = _cmp(_lab(pta))
    return (
        pl.when(a.is_null())
        .then(pl.lit(None, dtype=pl.Int32))
        .when(a > hi)
        .then(pl.lit(1, dtype=pl.Int32))
        .when(a >= lo)
        .then(pl.lit(2, dtype=pl.Int32))
        .otherwise(pl.lit(3, dtype=pl.Int32))
    )


def compute_pt_prolongation(pt: IntoScoreExpr, ptcont: IntoScoreExpr) -> pl.Expr:
    """PT prolongation in seconds: PT - control PT (LB ``PT`` - ``PTCONT`` or the config value).

    Null when either is null or <= 0. The difference may be negative (PT shorter than control).
    """
    return _lab(pt) - _lab(ptcont)


def compute_ctp_points_ptprolong(ptprolong: IntoScoreExpr) -> pl.Expr:
    """CTP points for PT prolongation (s): < 4 -> 1, 4 to 6 -> 2, > 6 -> 3 (Int32).

    The prolongation (see :func:`compute_pt_prolongation`) is rounded to 10 decimals before the
    comparison, so 16.1 - 10.1 = 6.000000000000002 counts as 6 and 16.4 - 12.4 =
    3.9999999999999982 as 4 (2 points each).
    """
    return _points_low_good(_cmp(_num(ptprolong)), 4.0, 6.0)


#: RSORRES of RS ``ASCITES`` (upper-cased, trimmed) -> CTP points. Numeric codes may arrive as
#: floats ("1.0") when the column is numeric.
ASCITES_RSORRES_POINTS: dict[str, int] = {
    "NONE": 1,
    "MILD": 2,
    "MODERATE-SEVERE": 3,
    "1": 1,
    "2": 2,
    "3": 3,
    "1.0": 1,
    "2.0": 2,
    "3.0": 3,
}

#: RSORRES of RS ``HEGRADE`` (West Haven grade, upper-cased, trimmed, an optional leading
#: "GRADE" removed) -> CTP points: 0 -> 1, 1-2 -> 2, 3-4 -> 3.
HEGRADE_RSORRES_POINTS: dict[str, int] = {
    **{str(g): p for g, p in zip(range(5), (1, 2, 2, 3, 3), strict=True)},
    **{f"{g}.0": p for g, p in zip(range(5), (1, 2, 2, 3, 3), strict=True)},
}


def _normalise_rs(x: IntoScoreExpr, strip_grade: bool) -> pl.Expr:
    s = _expr(x).cast(pl.String).str.strip_chars().str.to_uppercase()
    if strip_grade:
        s = s.str.replace(r"^GRADE\s*", "")
    return pl.when(s.str.len_chars() > 0).then(s)


def _map_points(s: pl.Expr, mapping: Mapping[str, int]) -> pl.Expr:
    return s.replace_strict(
        list(mapping.keys()), list(mapping.values()), default=None, return_dtype=pl.Int32
    )


def ascites_points_from_rs(rsorres: IntoScoreExpr) -> pl.Expr:
    """CTP points from RS ``ASCITES`` results: NONE/1 -> 1, MILD/2 -> 2, MODERATE-SEVERE/3 -> 3.

    Case- and whitespace-insensitive; works on string or numeric columns. Empty or null -> null.
    An unknown value also gives null: detect it with :func:`flag_unmapped_ascites`, or stop on it
    with :func:`assert_ctp_rs_codes`. Returns Int32.
    """
    return _map_points(_normalise_rs(rsorres, strip_grade=False), ASCITES_RSORRES_POINTS)


def he_points_from_rs(rsorres: IntoScoreExpr) -> pl.Expr:
    """CTP points from RS ``HEGRADE`` (West Haven 0-4): 0 -> 1, 1-2 -> 2, 3-4 -> 3.

    Accepts "2", " grade 2 ", 2 or 2.0. Empty or null -> null; unknown -> null (detect with
    :func:`flag_unmapped_he`). Returns Int32.
    """
    return _map_points(_normalise_rs(rsorres, strip_grade=True), HEGRADE_RSORRES_POINTS)


def flag_unmapped_ascites(rsorres: IntoScoreExpr) -> pl.Expr:
    """True where an ASCITES result is present but not a known code (Boolean; False otherwise)."""
    s = _normalise_rs(rsorres, strip_grade=False)
    return (s.is_not_null() & ~s.is_in(list(ASCITES_RSORRES_POINTS))).fill_null(False)


def flag_unmapped_he(rsorres: IntoScoreExpr) -> pl.Expr:
    """True where a HEGRADE result is present but not a West Haven grade 0-4 (Boolean)."""
    s = _normalise_rs(rsorres, strip_grade=True)
    return (s.is_not_null() & ~s.is_in(list(HEGRADE_RSORRES_POINTS))).fill_null(False)


#: Same mapping as :func:`ascites_points_from_rs`, under the CTP naming.
compute_ctp_points_ascites = ascites_points_from_rs
#: Same mapping as :func:`he_points_from_rs`, under the CTP naming.
compute_ctp_points_he = he_points_from_rs


def assert_ctp_rs_codes(dataset_rs: pl.DataFrame | pl.LazyFrame) -> None:
    """Raise :class:`DataContractError` if RS ``ASCITES`` or ``HEGRADE`` holds unknown results.

    Parameters
    ----------
    dataset_rs : polars.DataFrame or LazyFrame
        RS with at least RSTESTCD and RSORRES.

    Raises
    ------
    DataContractError
        Naming the test code and the distinct unknown RSORRES values.
    """
    df = dataset_rs.lazy().select("RSTESTCD", pl.col("RSORRES").cast(pl.String))
    bad = (
        df.filter(
            ((pl.col("RSTESTCD") == "ASCITES") & flag_unmapped_ascites("RSORRES"))
            | ((pl.col("RSTESTCD") == "HEGRADE") & flag_unmapped_he("RSORRES"))
        )
        .unique(maintain_order=True)
        .collect()
    )
    if bad.height:
        listing = "; ".join(f"{r['RSTESTCD']}={r['RSORRES']!r}" for r in bad.iter_rows(named=True))
        raise DataContractError(
            f"unknown RSORRES for CTP: {listing}. Expected ASCITES NONE/MILD/MODERATE-SEVERE or "
            "1/2/3, HEGRADE West Haven 0-4; recode them in the cut or ask the data manager",
            column="RSORRES",
        )


def compute_ctp_score(
    bili: IntoScoreExpr,
    alb: IntoScoreExpr,
    inr_or_ptprolong: IntoScoreExpr,
    ascites: IntoScoreExpr,
    he_grade: IntoScoreExpr,
    cholestatic: IntoScoreExpr = False,
    coag: Literal["INR", "PT", "PTA"] = "INR",
    pta_cutoffs: tuple[float, float] = CTP_PTA_CUTOFFS,
) -> pl.Expr:
    """Child-Turcotte-Pugh score, 5-15 (PARAMCD ``CTPSCORE``).

    Sum of the points (1-3 each) for bilirubin (:func:`compute_ctp_points_bili`, cholestatic
    cut-offs when ``cholestatic``), albumin (:func:`compute_ctp_points_alb`), coagulation (INR,
    :func:`compute_ctp_points_inr`, or PT prolongation in seconds,
    :func:`compute_ctp_points_ptprolong`, chosen by ``coag`` from the study config), ascites
    (:func:`ascites_points_from_rs`) and hepatic encephalopathy (:func:`he_points_from_rs`).

    Source: docs/scoring.md CTP table (Pugh RNH et al. Br J Surg 1973;60:646-9).

    Parameters
    ----------
    bili : umol/L
    alb : g/L
    inr_or_ptprolong : INR (``coag="INR"``), PT - control PT in seconds (``coag="PT"``) or
        prothrombin activity in % (``coag="PTA"``, :func:`compute_ctp_points_pta`)
    ascites : RS ASCITES result (NONE/MILD/MODERATE-SEVERE or 1/2/3)
    he_grade : RS HEGRADE result (West Haven 0-4)
    cholestatic : bool, default False
        PBC/PSC (bilirubin cut-offs 4 and 10 mg/dL).
    coag : {"INR", "PT", "PTA"}
    pta_cutoffs : (upper, lower) PTA cut-offs in %, default (60, 40)

    Returns
    -------
    polars.Expr
        Int32 5-15; null when any component is null (including an unknown RS code).
    """
    if coag == "INR":
        coag_points = compute_ctp_points_inr(inr_or_ptprolong)
    elif coag == "PT":
        coag_points = compute_ctp_points_ptprolong(inr_or_ptprolong)
    elif coag == "PTA":
        coag_points = compute_ctp_points_pta(inr_or_ptprolong, pta_cutoffs)
    else:
        raise ConfigError(f"CTP coag must be 'INR', 'PT' or 'PTA', got {coag!r}")
    parts = [
        compute_ctp_points_bili(bili, cholestatic),
        compute_ctp_points_alb(alb),
        coag_points,
        ascites_points_from_rs(ascites),
        he_points_from_rs(he_grade),
    ]
    return _all_present(pl.sum_horizontal(parts).cast(pl.Int32), parts)


def compute_ctp_class(score: IntoScoreExpr) -> pl.Expr:
    """Child-Pugh class from the CTP score (PARAMCD ``CTPCLASS``): A 5-6, B 7-9, C 10-15.

    Returns a String expression; null for a null score or one that is not an integer 5-15.
    """
    classes = {float(k): ("A" if k <= 6 else "B" if k <= 9 else "C") for k in range(5, 16)}
    return (
        _expr(score)
        .cast(pl.Float64)
        .replace_strict(list(classes), list(classes.values()), default=None, return_dtype=pl.String)
    )

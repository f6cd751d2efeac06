"""Clinical scores: MELD family, Child-Turcotte-Pugh, CLDQ, EQ-5D-5L and RAND-36.

The definitions, for users, are in ``docs/scoring.md``; each function below quotes the formula it
implements and says where a decision had to be taken that the published definitions leave open.

Conventions (all functions)
---------------------------
* Inputs are polars columns in the pipeline's **standard (SI) units**: bilirubin umol/L,
  creatinine umol/L, albumin g/L, sodium mmol/L, INR unitless, PT and control PT in seconds.
  Every ``compute_*`` converts internally to the conventional units of docs/scoring.md
  (bilirubin / 17.1 -> mg/dL, creatinine / 88.4 -> mg/dL, albumin / 10 -> g/dL).
* Arguments are column names (``"BILI"``), polars expressions, or Python literals
  (``dialysis=False``). A ``compute_*`` returns a :class:`polars.Expr` (Float64 unless stated).
* **Missing is never guessed**: a score is null when *any* input of its definition is null, even
  where the value would not have mattered (MELD-Na with MELD(i) <= 11 and missing sodium; MELD
  with dialysis and missing creatinine). This keeps the availability of a score independent of
  its value. ``NaN`` is treated as null. A laboratory value <= 0 is not a measurement (and has no
  logarithm): it gives a null score, it is never set to 1.0 by the lower bounds.
* **Rounding** is the pipeline's one rule, :func:`hepatrial.rounding.round_half_up`: ties away
  from zero as SAS ``ROUND(x, unit)`` and by hand, made robust to binary floating point by adding
  ``ROUND_EPSILON`` (1e-9) to the magnitude scaled to the rounding unit: a bracket that a human
  computes as exactly 1.85 but that float64 holds as 1.8499999999999999 is rounded to 1.9. R's
  ``round()`` rounds half to even on the binary value and can differ at exact ties (use e.g.
  ``janitor::round_half_up`` when checking in R).
* **Cut-offs** (CTP) are compared on the converted value rounded to ``COMPARE_DECIMALS`` (10)
  decimals, so that 51.3 umol/L / 17.1 = 2.9999999999999996 and 3.0 mg/dL converted upstream to
  51.300000000000004 umol/L both count as exactly 3.0 mg/dL.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from importlib import resources
from typing import Literal

import polars as pl

from hepatrial.errors import ConfigError, DataContractError
from hepatrial.rounding import ROUND_EPSILON, round_half_up

__all__ = [
    "ALB_GL_PER_GDL",
    "ASCITES_RSORRES_POINTS",
    "BILI_UMOL_PER_MGDL",
    "CLDQ_DOMAINS",
    "COMPARE_DECIMALS",
    "CREAT_UMOL_PER_MGDL",
    "HEGRADE_RSORRES_POINTS",
    "RAND36_RECODES",
    "RAND36_SCALES",
    "ROUND_EPSILON",
    "ascites_points_from_rs",
    "assert_ctp_rs_codes",
    "compute_ctp_class",
    "compute_ctp_points_alb",
    "compute_ctp_points_ascites",
    "compute_ctp_points_bili",
    "compute_ctp_points_he",
    "compute_ctp_points_inr",
    "compute_ctp_points_ptprolong",
    "compute_ctp_score",
    "compute_meld3",
    "compute_meld_kamath",
    "compute_meld_na",
    "compute_meld_unos",
    "compute_pt_prolongation",
    "flag_unmapped_ascites",
    "flag_unmapped_he",
    "he_points_from_rs",
    "load_eq5d5l_value_set",
    "round_half_up",
    "score_cldq",
    "score_eq5d5l",
    "score_rand36",
]

IntoScoreExpr = str | pl.Expr | bool | int | float

#: umol/L per mg/dL of bilirubin (docs/scoring.md, docs/data_contract.md).
BILI_UMOL_PER_MGDL = 17.1
#: umol/L per mg/dL of creatinine.
CREAT_UMOL_PER_MGDL = 88.4
#: g/L per g/dL of albumin.
ALB_GL_PER_GDL = 10.0
#: Converted values are rounded to this many decimals before a CTP cut-off is compared.
COMPARE_DECIMALS = 10

MELD_CAP = 40.0


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------
def _expr(x: IntoScoreExpr) -> pl.Expr:
    """A column name, an expression or a literal as an expression."""
    if isinstance(x, pl.Expr):
        return x
    if isinstance(x, str):
        return pl.col(x)
    if isinstance(x, (bool, int, float)):
        return pl.lit(x)
    raise TypeError(f"expected a column name, a polars expression or a literal, got {type(x)!r}")


def _num(x: IntoScoreExpr) -> pl.Expr:
    """Float64, NaN as null."""
    return _expr(x).cast(pl.Float64).fill_nan(None)


def _lab(x: IntoScoreExpr, factor: float = 1.0) -> pl.Expr:
    """A laboratory value in SI units -> conventional units; null when missing or <= 0."""
    e = _num(x)
    return pl.when(e > 0).then(e / factor)


def _flag(x: IntoScoreExpr) -> pl.Expr:
    """A boolean flag (bool, or 0/1 numbers); null stays null."""
    return _expr(x).cast(pl.Boolean)


def _binary(x: IntoScoreExpr) -> pl.Expr:
    """A 0/1 indicator as Float64 (booleans accepted); anything other than 0 or 1 -> null."""
    e = _num(x)
    return pl.when(e.is_in([0.0, 1.0])).then(e)


def _all_present(value: pl.Expr, inputs: Sequence[pl.Expr]) -> pl.Expr:
    """``value`` where every input is non-null, null otherwise."""
    return pl.when(pl.all_horizontal([e.is_not_null() for e in inputs])).then(value)


def _cmp(x: pl.Expr) -> pl.Expr:
    return x.round(COMPARE_DECIMALS)


# --------------------------------------------------------------------------------------------
# MELD family
# --------------------------------------------------------------------------------------------
def compute_meld_unos(
    bili: IntoScoreExpr,
    inr: IntoScoreExpr,
    creat: IntoScoreExpr,
    dialysis: IntoScoreExpr = False,
    *,
    rounded: bool = True,
    capped: bool = True,
) -> pl.Expr:
    """MELD, UNOS/OPTN policy before 2016 (PARAMCD ``MELD``).

    .. math::

        \\mathrm{MELD(i)} = 10 \\times \\mathrm{round}_{0.1}\\big(0.957 \\ln(\\mathrm{creat})
        + 0.378 \\ln(\\mathrm{bili}) + 1.120 \\ln(\\mathrm{INR}) + 0.643\\big)

    with bilirubin and creatinine in mg/dL (converted from umol/L by /17.1 and /88.4). Bounds,
    applied before the logarithms: any of bilirubin, INR, creatinine below 1.0 is set to 1.0;
    creatinine is capped at 4.0 mg/dL; ``dialysis`` true (at least two haemodialyses in the 7
    days before the lab date, PR ``HAEMODIALYSIS``, derived by the caller) sets creatinine to 4.0.
    The result is capped at 40.

    Rounding the bracket to the tenth and multiplying by 10 is computed as one rounding of
    ``10 x bracket`` to the integer (identical arithmetic, and the result is an exact
    integer-valued float), half up as :func:`round_half_up`.

    Source: docs/scoring.md ``MELD``; OPTN policy 9 (pre-2016) and the OPTN MELD calculator.

    Parameters
    ----------
    bili, inr, creat : str, polars.Expr or number
        Total bilirubin (umol/L), INR, creatinine (umol/L) of the same assessment.
    dialysis : str, polars.Expr or bool, default False
        Boolean. Null gives a null score: where "no PR record" means "no dialysis", fill the
        flag with False before calling.
    rounded : bool, default True
        False returns ``10 x bracket`` unrounded (bounds still applied), for sensitivity checks.
    capped : bool, default True
        False omits the cap at 40: this is MELD(i) as used by :func:`compute_meld_na`.

    Returns
    -------
    polars.Expr
        Float64, 6-40 (integer-valued when ``rounded``); null when any input is null or a lab
        value is <= 0.

    Notes
    -----
    Common SAS implementations differ in: (a) rounding the final ``10 x bracket`` rather than the
    bracket (the same here, see above) or not rounding at all (use ``rounded=False``); (b)
    ``ROUND`` vs ``ROUNDE`` (half even) at exact ties; (c) treating missing dialysis as "no".
    """
    b = _lab(bili, BILI_UMOL_PER_MGDL)
    i = _lab(inr)
    c = _lab(creat, CREAT_UMOL_PER_MGDL)
    d = _flag(dialysis)
    c_eff = pl.when(d).then(pl.lit(4.0)).otherwise(c.clip(1.0, 4.0))
    bracket = (
        0.957 * c_eff.log()
        + 0.378 * b.clip(lower_bound=1.0).log()
        + 1.120 * i.clip(lower_bound=1.0).log()
        + 0.643
    )
    meld = round_half_up(10.0 * bracket, 0) if rounded else 10.0 * bracket
    if capped:
        meld = meld.clip(upper_bound=MELD_CAP)
    return _all_present(meld, [b, i, c, d])


def compute_meld_na(meld_i: IntoScoreExpr, sodium: IntoScoreExpr) -> pl.Expr:
    """MELD-Na, OPTN 2016 (PARAMCD ``MELDNA``).

    .. math::

        \\mathrm{MELDNA} = \\begin{cases}
        \\mathrm{MELD(i)} + 1.32 (137 - \\mathrm{Na})
            - 0.033\\, \\mathrm{MELD(i)} (137 - \\mathrm{Na}) & \\mathrm{MELD(i)} > 11 \\\\
        \\mathrm{MELD(i)} & \\text{otherwise}
        \\end{cases}

    with Na (mmol/L) bounded to 125-137; rounded to the integer (half up, :func:`round_half_up`)
    and capped at 40.

    ``meld_i`` is the UNOS MELD(i) above (docs/scoring.md), i.e. with its bounds and its bracket
    rounded to the tenth (OPTN: "round to the tenth decimal place and multiply by 10"), as
    returned by ``compute_meld_unos(bili, inr, creat, dialysis)``. Whether the cap at 40 is applied
    to MELD(i) first does not change the result: the expression equals
    ``M (1 - 0.033 d) + 1.32 d`` with ``d = 137 - Na`` in 0..12, increasing in ``M``, and equal to
    exactly 40 at ``M = 40``; so any ``M >= 40`` gives ``>= 40``, capped to 40. Passing
    ``compute_meld_unos(..., capped=False)`` (OPTN's literal order) or the capped MELD is
    equivalent (tested).

    Source: docs/scoring.md ``MELDNA``; OPTN policy 9.1 (2016), Kim WR et al. N Engl J Med
    2008;359:1018-26.

    Parameters
    ----------
    meld_i : str, polars.Expr or number
        MELD(i) from :func:`compute_meld_unos`.
    sodium : str, polars.Expr or number
        Serum sodium, mmol/L.

    Returns
    -------
    polars.Expr
        Float64, integer-valued, at most 40; null when MELD(i) or sodium is null, including when
        MELD(i) <= 11 (see the module docstring: availability never depends on the value).
    """
    # meld_i is typically a whole compute_meld_unos() expression: it is referenced as few times
    # as possible (3 + the NaN check; nulls propagate through the arithmetic).
    m = _expr(meld_i).cast(pl.Float64)
    na_raw = _lab(sodium)
    d = 137.0 - na_raw.clip(125.0, 137.0)
    value = m + pl.when(m > 11).then(d * (1.32 - 0.033 * m)).otherwise(0.0)
    result = round_half_up(value, 0).clip(upper_bound=MELD_CAP)
    return pl.when(na_raw.is_not_null() & m.is_not_nan()).then(result)


def compute_meld3(
    bili: IntoScoreExpr,
    inr: IntoScoreExpr,
    creat: IntoScoreExpr,
    sodium: IntoScoreExpr,
    alb: IntoScoreExpr,
    female: IntoScoreExpr,
    dialysis: IntoScoreExpr = False,
    *,
    rounded: bool = True,
    capped: bool = True,
) -> pl.Expr:
    """MELD 3.0, Kim 2021 (PARAMCD ``MELD3``).

    .. math::

        \\mathrm{MELD3} = 1.33\\,\\mathrm{female} + 4.56 \\ln(\\mathrm{bili})
        + 0.82 (137 - \\mathrm{Na}) - 0.24 (137 - \\mathrm{Na}) \\ln(\\mathrm{bili})
        + 9.09 \\ln(\\mathrm{INR}) + 11.14 \\ln(\\mathrm{creat})
        + 1.85 (3.5 - \\mathrm{alb}) - 1.83 (3.5 - \\mathrm{alb}) \\ln(\\mathrm{creat}) + 6

    bilirubin, creatinine mg/dL, albumin g/dL (converted from umol/L and g/L). Bounds: bilirubin,
    INR, creatinine at least 1.0; creatinine at most 3.0, and set to 3.0 when ``dialysis`` is true;
    Na 125-137 mmol/L; albumin 1.5-3.5 g/dL. Rounded to the integer (half up,
    :func:`round_half_up`), capped at 40 (docs/scoring.md; Kim 2021 has no cap, OPTN applies it).

    Source: docs/scoring.md ``MELD3``; Kim WR et al. MELD 3.0: the Model for End-Stage Liver Disease
    updated for the modern era. Gastroenterology 2021;161(6):1887-1895.

    Parameters
    ----------
    bili, inr, creat, sodium, alb : str, polars.Expr or number
        umol/L, unitless, umol/L, mmol/L, g/L.
    female : str, polars.Expr or bool
        True (or 1) for female sex, e.g. ``pl.col("SEX") == "F"``; null gives a null score.
    dialysis : str, polars.Expr or bool, default False
        As in :func:`compute_meld_unos`; null gives a null score.
    rounded, capped : bool, default True
        Switch off the rounding / the cap at 40 (sensitivity checks only).

    Returns
    -------
    polars.Expr
        Float64; null when any input is null or a lab value is <= 0.
    """
    b_raw = _lab(bili, BILI_UMOL_PER_MGDL)
    i_raw = _lab(inr)
    c_raw = _lab(creat, CREAT_UMOL_PER_MGDL)
    na_raw = _lab(sodium)
    a_raw = _lab(alb, ALB_GL_PER_GDL)
    f = _binary(female)
    d = _flag(dialysis)

    ln_b = b_raw.clip(lower_bound=1.0).log()
    ln_i = i_raw.clip(lower_bound=1.0).log()
    ln_c = pl.when(d).then(pl.lit(3.0)).otherwise(c_raw.clip(1.0, 3.0)).log()
    dna = 137.0 - na_raw.clip(125.0, 137.0)
    dalb = 3.5 - a_raw.clip(1.5, 3.5)
    value = (
        1.33 * f
        + 4.56 * ln_b
        + 0.82 * dna
        - 0.24 * dna * ln_b
        + 9.09 * ln_i
        + 11.14 * ln_c
        + 1.85 * dalb
        - 1.83 * dalb * ln_c
        + 6.0
    )
    if rounded:
        value = round_half_up(value, 0)
    if capped:
        value = value.clip(upper_bound=MELD_CAP)
    return _all_present(value, [b_raw, i_raw, c_raw, na_raw, a_raw, f, d])


# Coefficients (bilirubin, INR, creatinine, etiology) of the original MELD: Kamath 2001 as
# published, and the one-decimal form many protocols print (e.g. NCT05121870: 9.6 x ln(creat) +
# 3.8 x ln(bili) + 11.2 x ln(INR) + 6.4 x etiology, "taken as integers").
MELDKAM_COEFFICIENTS = {"kamath2001": (3.78, 11.2, 9.57, 6.43), "protocol_rounded": (3.8, 11.2, 9.6, 6.4)}
MELDKAM_INTEGER = ("none", "round", "truncate")


def meld_kamath_formula(coefficients: str = "kamath2001", integer: str = "none") -> str:
    """The MELDKAM formula as a sentence for table footnotes."""
    b, i, c, e = MELDKAM_COEFFICIENTS[coefficients]
    tail = {"none": "not rounded", "round": "rounded to an integer (half away from zero)",
            "truncate": "truncated to an integer"}[integer]
    return (f"MELD (Kamath) = {c:g} x ln(creatinine, mg/dL) + {b:g} x ln(bilirubin, mg/dL) + {i:g} x ln(INR) "
            f"+ {e:g} x etiology (0 cholestatic or alcoholic, 1 other), {tail}")


def compute_meld_kamath(
    bili: IntoScoreExpr,
    inr: IntoScoreExpr,
    creat: IntoScoreExpr,
    etiology_flag: IntoScoreExpr,
    coefficients: str = "kamath2001",
    integer: str = "none",
) -> pl.Expr:
    """Original MELD, Kamath 2001, as written in the protocols (PARAMCD ``MELDKAM``).

    .. math::

        3.78 \\ln(\\mathrm{bili}) + 11.2 \\ln(\\mathrm{INR}) + 9.57 \\ln(\\mathrm{creat})
        + 6.43\\,\\mathrm{etiology}

    ``coefficients="protocol_rounded"`` uses 3.8, 11.2, 9.6 and 6.4 (the protocol's printed form);
    ``integer`` ``"round"`` rounds half away from zero (SAS ``ROUND``: 12.5 -> 13, -2.5 -> -3),
    ``"truncate"`` drops the fraction toward zero, ``"none"`` (default) keeps the value.

    bilirubin and creatinine in mg/dL (converted from umol/L). No bounds and no rounding
    (docs/scoring.md): values below 1.0 are *not* set to 1.0, so their logarithm is negative and the
    score can be below 6.43 or even negative (e.g. bilirubin 0.5 mg/dL contributes
    3.78 ln 0.5 = -2.62). A value <= 0 has no logarithm and gives null.

    Source: docs/scoring.md ``MELDKAM``; Kamath PS et al. A model to predict survival in patients
    with end-stage liver disease. Hepatology 2001;33(2):464-470.

    Parameters
    ----------
    bili, inr, creat : str, polars.Expr or number
        umol/L, unitless, umol/L.
    etiology_flag : str, polars.Expr, bool or int
        0 (False) for cholestatic or alcoholic cirrhosis, 1 (True) for viral and other causes.
        Any other value gives null.

    Returns
    -------
    polars.Expr
        Float64, unrounded; null when any input is null or a lab value is <= 0.

    Notes
    -----
    Many SAS implementations labelled "MELD" apply the UNOS bounds and x10 rounding to this
    formula; that is :func:`compute_meld_unos` here, not ``MELDKAM``.
    """
    if coefficients not in MELDKAM_COEFFICIENTS or integer not in MELDKAM_INTEGER:
        raise ValueError(f"MELDKAM: coefficients {coefficients!r} / integer {integer!r} not known")
    kb, ki, kc, ke = MELDKAM_COEFFICIENTS[coefficients]
    b = _lab(bili, BILI_UMOL_PER_MGDL)
    i = _lab(inr)
    c = _lab(creat, CREAT_UMOL_PER_MGDL)
    e = _binary(etiology_flag)
    value = kb * b.log() + ki * i.log() + kc * c.log() + ke * e
    if integer == "round":
        value = round_half_up(value)
    elif integer == "truncate":
        value = value.sign() * (value.abs() + ROUND_EPSILON).floor() + 0.0
    return _all_present(value, [b, i, c, e])


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
    coag: Literal["INR", "PT"] = "INR",
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
    inr_or_ptprolong : INR (``coag="INR"``) or PT - control PT in seconds (``coag="PT"``)
    ascites : RS ASCITES result (NONE/MILD/MODERATE-SEVERE or 1/2/3)
    he_grade : RS HEGRADE result (West Haven 0-4)
    cholestatic : bool, default False
        PBC/PSC (bilirubin cut-offs 4 and 10 mg/dL).
    coag : {"INR", "PT"}

    Returns
    -------
    polars.Expr
        Int32 5-15; null when any component is null (including an unknown RS code).
    """
    if coag == "INR":
        coag_points = compute_ctp_points_inr(inr_or_ptprolong)
    elif coag == "PT":
        coag_points = compute_ctp_points_ptprolong(inr_or_ptprolong)
    else:
        raise ConfigError(f"CTP coag must be 'INR' or 'PT', got {coag!r}")
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
    return _expr(score).cast(pl.Float64).replace_strict(
        list(classes), list(classes.values()), default=None, return_dtype=pl.String
    )


# --------------------------------------------------------------------------------------------
# questionnaires (long QS in, long parameters out)
# --------------------------------------------------------------------------------------------
#: CLDQ PARAMCD -> (PARAM, item numbers). docs/scoring.md "Chronic Liver Disease Questionnaire".
CLDQ_DOMAINS: dict[str, tuple[str, tuple[int, ...]]] = {
    "CLDQAS": ("CLDQ Abdominal Symptoms", (1, 5, 17)),
    "CLDQFA": ("CLDQ Fatigue", (2, 4, 8, 11, 13)),
    "CLDQSY": ("CLDQ Systemic Symptoms", (3, 6, 21, 23, 27)),
    "CLDQAC": ("CLDQ Activity", (7, 9, 14)),
    "CLDQEM": ("CLDQ Emotional Function", (10, 12, 15, 16, 19, 20, 24, 26)),
    "CLDQWO": ("CLDQ Worry", (18, 22, 25, 28, 29)),
}

_Scale = tuple[str, str, tuple[str, ...], int, str]  # PARAMCD, PARAM, items, min answered, stat


def _collect(dataset: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    return dataset.collect() if isinstance(dataset, pl.LazyFrame) else dataset


def _prepare_items(
    dataset_qs: pl.DataFrame | pl.LazyFrame,
    valid: Mapping[str, tuple[float, float, bool]],
    by: Sequence[str],
    what: str,
) -> pl.DataFrame:
    """The questionnaire's item rows: by-keys, QSTESTCD, _V (Float64), after checks.

    ``valid`` maps QSTESTCD -> (lowest, highest, integer only).
    """
    df = _collect(dataset_qs)
    missing = [c for c in (*by, "QSTESTCD", "QSSTRESN") if c not in df.columns]
    if missing:
        raise DataContractError(f"QS lacks column(s) {', '.join(missing)} needed to score {what}")
    items = df.filter(pl.col("QSTESTCD").is_in(list(valid))).select(
        *by, "QSTESTCD", pl.col("QSSTRESN").cast(pl.Float64).fill_nan(None).alias("_V")
    )
    dup = items.group_by(*by, "QSTESTCD").len().filter(pl.col("len") > 1)
    if dup.height:
        first = dup.row(0, named=True)
        raise DataContractError(
            f"{dup.height} duplicated {what} item record(s), e.g. "
            + ", ".join(f"{k}={first[k]!r}" for k in (*by, "QSTESTCD"))
            + f"; keep one record per item and assessment ({', '.join(by)})",
            column="QSTESTCD",
        )
    spec = pl.DataFrame(
        {
            "QSTESTCD": list(valid),
            "_LO": [float(v[0]) for v in valid.values()],
            "_HI": [float(v[1]) for v in valid.values()],
            "_INT": [bool(v[2]) for v in valid.values()],
        }
    )
    bad = items.join(spec, on="QSTESTCD", how="left").filter(
        pl.col("_V").is_not_null()
        & (
            (pl.col("_V") < pl.col("_LO"))
            | (pl.col("_V") > pl.col("_HI"))
            | (pl.col("_INT") & (pl.col("_V") != pl.col("_V").round(0)))
        )
    )
    if bad.height:
        first = bad.row(0, named=True)
        raise DataContractError(
            f"{bad.height} {what} QSSTRESN value(s) outside the response codes, e.g. "
            f"USUBJID={first.get('USUBJID')!r} {first['QSTESTCD']}={first['_V']!r} "
            f"(expected {first['_LO']:g}-{first['_HI']:g})",
            column="QSSTRESN",
        )
    return items


def _score_scales(
    items: pl.DataFrame, value_col: str, scales: Sequence[_Scale], by: Sequence[str]
) -> pl.DataFrame:
    """One row per (assessment, scale): AVAL = mean or sum of answered items when enough answered.

    Assessments are the distinct by-keys that have at least one record of the questionnaire
    (even if every item is null); each gets every scale, AVAL null where the rule fails.
    """
    by = list(by)
    members = pl.DataFrame(
        [(code, item) for code, _, its, _, _ in scales for item in its],
        schema={"PARAMCD": pl.String, "QSTESTCD": pl.String},
        orient="row",
    )
    params = pl.DataFrame(
        [(code, label, n_min, stat) for code, label, _, n_min, stat in scales],
        schema={"PARAMCD": pl.String, "PARAM": pl.String, "_NMIN": pl.Int64, "_STAT": pl.String},
        orient="row",
    )
    agg = (
        items.join(members, on="QSTESTCD", how="inner")
        .group_by(*by, "PARAMCD")
        .agg(
            pl.col(value_col).mean().alias("_MEAN"),
            pl.col(value_col).sum().alias("_SUM"),
            pl.col(value_col).count().cast(pl.Int64).alias("NITEMS"),
        )
    )
    grid = items.select(by).unique(maintain_order=True).join(params, how="cross")
    out = grid.join(agg, on=[*by, "PARAMCD"], how="left", nulls_equal=True,
                    maintain_order="left")
    nitems = pl.col("NITEMS").fill_null(0)
    value = pl.when(pl.col("_STAT") == "sum").then(pl.col("_SUM")).otherwise(pl.col("_MEAN"))
    return out.select(
        *by,
        "PARAMCD",
        "PARAM",
        pl.when(nitems >= pl.col("_NMIN")).then(value).cast(pl.Float64).alias("AVAL"),
        nitems.alias("NITEMS"),
    )


def _normalise_by(by: str | Sequence[str]) -> list[str]:
    return [by] if isinstance(by, str) else list(by)


def score_cldq(
    dataset_qs: pl.DataFrame | pl.LazyFrame,
    by: str | Sequence[str] = ("USUBJID", "QSDTC"),
) -> pl.DataFrame:
    """Score the Chronic Liver Disease Questionnaire (QS ``CLDQ01``..``CLDQ29``, 1-7).

    ================  =================================================  ====================
    PARAMCD           definition                                         scored when
    ================  =================================================  ====================
    ``CLDQAS``        abdominal symptoms: mean of items 1, 5, 17          >= 2 of 3 answered
    ``CLDQFA``        fatigue: mean of 2, 4, 8, 11, 13                   >= 3 of 5 answered
    ``CLDQSY``        systemic symptoms: mean of 3, 6, 21, 23, 27        >= 3 of 5 answered
    ``CLDQAC``        activity: mean of 7, 9, 14                         >= 2 of 3 answered
    ``CLDQEM``        emotional function: mean of 10, 12, 15, 16, 19,    >= 4 of 8 answered
                      20, 24, 26
    ``CLDQWO``        worry: mean of 18, 22, 25, 28, 29                  >= 3 of 5 answered
    ``CLDQOVR``       overall: mean of the answered items of all 29      >= 15 of 29 answered
    ``CLDQSUM``       sum of the 29 items (29-203)                       all 29 answered
    ================  =================================================  ====================

    Domains follow docs/scoring.md: mean of the answered items, missing when *more than half* of its
    items are missing (so exactly half missing, 4 of 8 in CLDQEM, is still scored). The published
    definition gives no missing-data rule for the overall mean; by analogy the same rule is used
    (null when more than 14.5, i.e. 15 or more, of 29 are missing). The overall mean is the mean
    of the answered items, not the mean of the six domain scores (the two differ because the
    domains have unequal sizes). Higher is better.

    Parameters
    ----------
    dataset_qs : polars.DataFrame or LazyFrame
        Long QS with the ``by`` columns, QSTESTCD and numeric QSSTRESN; other questionnaires'
        rows are ignored. A missing item is an absent row or a null QSSTRESN.
    by : str or sequence of str, default ("USUBJID", "QSDTC")
        Keys of one assessment (e.g. ``("USUBJID", "VISITNUM")``).

    Returns
    -------
    polars.DataFrame
        One row per (assessment, PARAMCD) in the order above: ``by`` columns, PARAMCD, PARAM,
        AVAL (Float64, null when not scored), NITEMS (items answered). Assessments are those with
        at least one CLDQ record.

    Raises
    ------
    DataContractError
        Missing columns, an item recorded twice for an assessment, or a value outside 1-7.
    """
    by = _normalise_by(by)
    codes = [f"CLDQ{k:02d}" for k in range(1, 30)]
    items = _prepare_items(dataset_qs, {c: (1, 7, True) for c in codes}, by, "CLDQ")
    scales: list[_Scale] = [
        (code, label, tuple(f"CLDQ{k:02d}" for k in its), math.ceil(len(its) / 2), "mean")
        for code, (label, its) in CLDQ_DOMAINS.items()
    ]
    scales.append(("CLDQOVR", "CLDQ Overall (Mean of Items)", tuple(codes), 15, "mean"))
    scales.append(("CLDQSUM", "CLDQ Total (Sum of Items)", tuple(codes), 29, "sum"))
    return _score_scales(items, "_V", scales, by)


#: RAND-36 response code -> 0-100, by item number (docs/scoring.md "SF-36").
RAND36_RECODES: dict[int, dict[int, float]] = {
    **{k: {1: 100.0, 2: 75.0, 3: 50.0, 4: 25.0, 5: 0.0} for k in (1, 2, 20, 22, 34, 36)},
    **{k: {1: 0.0, 2: 50.0, 3: 100.0} for k in range(3, 13)},
    **{k: {1: 0.0, 2: 100.0} for k in range(13, 20)},
    **{k: {1: 100.0, 2: 80.0, 3: 60.0, 4: 40.0, 5: 20.0, 6: 0.0} for k in (21, 23, 26, 27, 30)},
    **{k: {1: 0.0, 2: 20.0, 3: 40.0, 4: 60.0, 5: 80.0, 6: 100.0} for k in (24, 25, 28, 29, 31)},
    **{k: {1: 0.0, 2: 25.0, 3: 50.0, 4: 75.0, 5: 100.0} for k in (32, 33, 35)},
}

#: RAND-36 PARAMCD -> (PARAM, item numbers).
RAND36_SCALES: dict[str, tuple[str, tuple[int, ...]]] = {
    "SFPF": ("SF-36 Physical Functioning", tuple(range(3, 13))),
    "SFRP": ("SF-36 Role Limitations due to Physical Health", (13, 14, 15, 16)),
    "SFRE": ("SF-36 Role Limitations due to Emotional Problems", (17, 18, 19)),
    "SFEF": ("SF-36 Energy/Fatigue", (23, 27, 29, 31)),
    "SFEW": ("SF-36 Emotional Well-Being", (24, 25, 26, 28, 30)),
    "SFSF": ("SF-36 Social Functioning", (20, 32)),
    "SFPN": ("SF-36 Pain", (21, 22)),
    "SFGH": ("SF-36 General Health", (1, 33, 34, 35, 36)),
    "SFHC": ("SF-36 Health Change", (2,)),
}


def score_rand36(
    dataset_qs: pl.DataFrame | pl.LazyFrame,
    by: str | Sequence[str] = ("USUBJID", "QSDTC"),
) -> pl.DataFrame:
    """Score the SF-36 with the RAND-36 rules (QS ``SF3601``..``SF3636``).

    Each item is recoded to 0-100 (:data:`RAND36_RECODES`, exactly docs/scoring.md):
    items 1, 2, 20, 22, 34, 36: 1->100, 2->75, 3->50, 4->25, 5->0; items 3-12: 1->0, 2->50,
    3->100; items 13-19: 1->0, 2->100; items 21, 23, 26, 27, 30: 1->100 ... 6->0 in steps of 20;
    items 24, 25, 28, 29, 31: 1->0 ... 6->100; items 32, 33, 35: 1->0 ... 5->100 in steps of 25.
    Each scale is the mean of its **answered** recoded items, scored when at least one item is
    answered (RAND's rule; docs/scoring.md: "mean of its answered items", no minimum).

    PARAMCDs: ``SFPF`` physical functioning (3-12), ``SFRP`` role limitations physical (13-16),
    ``SFRE`` role limitations emotional (17-19), ``SFEF`` energy/fatigue (23, 27, 29, 31),
    ``SFEW`` emotional well-being (24, 25, 26, 28, 30), ``SFSF`` social functioning (20, 32),
    ``SFPN`` pain (21, 22), ``SFGH`` general health (1, 33, 34, 35, 36), ``SFHC`` health change
    (item 2 alone, recoded 0-100).

    Not the QualityMetric SF-36v2 norm-based scoring (T-scores, PCS/MCS): those are licensed and
    use different item weights; a SAS macro for SF-36v2 gives different numbers.

    Parameters
    ----------
    dataset_qs, by
        As in :func:`score_cldq`.

    Returns
    -------
    polars.DataFrame
        ``by`` columns, PARAMCD, PARAM, AVAL (0-100), NITEMS; one row per assessment and scale.

    Raises
    ------
    DataContractError
        Missing columns, duplicated items, or a response code outside the item's codes.
    """
    by = _normalise_by(by)
    valid = {f"SF36{k:02d}": (1, max(rec), True) for k, rec in RAND36_RECODES.items()}
    items = _prepare_items(dataset_qs, valid, by, "SF-36")
    recode = pl.DataFrame(
        [(f"SF36{k:02d}", float(code), val) for k, rec in RAND36_RECODES.items()
         for code, val in rec.items()],
        schema={"QSTESTCD": pl.String, "_V": pl.Float64, "_R": pl.Float64},
        orient="row",
    )
    items = items.join(recode, on=["QSTESTCD", "_V"], how="left", maintain_order="left")
    scales: list[_Scale] = [
        (code, label, tuple(f"SF36{k:02d}" for k in its), 1, "mean")
        for code, (label, its) in RAND36_SCALES.items()
    ]
    return _score_scales(items, "_R", scales, by)


_EQ5D_DIMS = ("MO", "SC", "UA", "PD", "AD")


def load_eq5d5l_value_set(value_set: str = "China") -> dict[str, float]:
    """Coefficients of an EQ-5D-5L value set shipped in ``hepatrial/data/eq5d5l_value_sets.csv``.

    Returns a dict with ``StartValue``, ``Intercept`` and ``MO2``..``AD5`` (level 1 has 0).
    Sources of each set: ``hepatrial/data/README.md``.

    Raises
    ------
    ConfigError
        If ``value_set`` is not a column of the file (message lists the available sets).
    """
    raw = resources.files("hepatrial").joinpath("data", "eq5d5l_value_sets.csv").read_bytes()
    table = pl.read_csv(io.BytesIO(raw))
    available = [c for c in table.columns if c != "dim"]
    if value_set not in available:
        raise ConfigError(
            f"EQ-5D-5L value set {value_set!r} is not available; choose one of "
            f"{', '.join(available)}"
        )
    return dict(zip(table["dim"].to_list(), table[value_set].cast(pl.Float64).to_list(),
                    strict=True))


def score_eq5d5l(
    dataset_qs: pl.DataFrame | pl.LazyFrame,
    value_set: str = "China",
    by: str | Sequence[str] = ("USUBJID", "QSDTC"),
) -> pl.DataFrame:
    """Score the EQ-5D-5L: utility index and VAS (QS ``EQ5D0101``..``EQ5D0106``).

    ``EQ5DIDX`` = StartValue + Intercept (when any level > 1) + sum of the decrements of the
    levels of MO (EQ5D0101), SC (0102), UA (0103), PD (0104), AD (0105); level 1 has decrement 0.
    Null unless all five levels (1-5) are present. The coefficients have 3 decimals, so the index
    is exactly a multiple of 0.001; it is rounded to 3 decimals to remove float64 noise
    (1 - 0.066 - 0.045 - 0.138 - 0.049 gives 0.7020000000000001 in float64, reported 0.702).

    ``EQ5DVAS`` = EQ5D0106 as recorded (0-100).

    Value sets (``value_set``): ``China`` (Luo 2017, default), ``England`` (Devlin 2018), ``USA``
    (Pickard 2019); see :func:`load_eq5d5l_value_set`. Same algorithm as the R package ``eq5d``
    and the EuroQol crosswalk-free 5L calculators.

    Parameters
    ----------
    dataset_qs : polars.DataFrame or LazyFrame
        Long QS (see :func:`score_cldq`).
    value_set : str, default "China"
        Column of the value-set file, from the study config.
    by : str or sequence of str
        Keys of one assessment.

    Returns
    -------
    polars.DataFrame
        ``by`` columns, PARAMCD (EQ5DIDX, EQ5DVAS), PARAM, AVAL, NITEMS (levels answered, 0-5,
        for the index; 0-1 for the VAS), one row per assessment with any EQ-5D-5L record.

    Raises
    ------
    DataContractError
        Missing columns, duplicated items, a level outside 1-5 or a VAS outside 0-100.
    ConfigError
        Unknown value set.
    """
    by = _normalise_by(by)
    coef = load_eq5d5l_value_set(value_set)
    dims = {f"EQ5D010{k}": dim for k, dim in enumerate(_EQ5D_DIMS, start=1)}
    valid: dict[str, tuple[float, float, bool]] = {c: (1, 5, True) for c in dims}
    valid["EQ5D0106"] = (0, 100, False)
    items = _prepare_items(dataset_qs, valid, by, "EQ-5D-5L")

    decrements = pl.DataFrame(
        [(code, float(level), 0.0 if level == 1 else coef[f"{dim}{level}"])
         for code, dim in dims.items() for level in range(1, 6)],
        schema={"QSTESTCD": pl.String, "_V": pl.Float64, "_DEC": pl.Float64},
        orient="row",
    )
    levels = items.filter(pl.col("QSTESTCD").is_in(list(dims))).join(
        decrements, on=["QSTESTCD", "_V"], how="left"
    )
    index = levels.group_by(by).agg(
        pl.col("_V").count().cast(pl.Int64).alias("NITEMS"),
        pl.col("_V").max().alias("_MAXLEV"),
        pl.col("_DEC").sum().alias("_DECSUM"),
    ).select(
        *by,
        pl.lit("EQ5DIDX").alias("PARAMCD"),
        pl.when(pl.col("NITEMS") == 5)
        .then(
            (
                coef["StartValue"]
                + pl.when(pl.col("_MAXLEV") > 1).then(coef["Intercept"]).otherwise(0.0)
                + pl.col("_DECSUM")
            ).round(3)
        )
        .alias("AVAL"),
        "NITEMS",
    )
    vas = items.filter(pl.col("QSTESTCD") == "EQ5D0106").select(
        *by,
        pl.lit("EQ5DVAS").alias("PARAMCD"),
        pl.col("_V").alias("AVAL"),
        pl.col("_V").count().over(by).cast(pl.Int64).alias("NITEMS"),
    )
    params = pl.DataFrame(
        {
            "PARAMCD": ["EQ5DIDX", "EQ5DVAS"],
            "PARAM": [f"EQ-5D-5L Index ({value_set} value set)", "EQ-5D-5L VAS"],
        }
    )
    grid = items.select(by).unique(maintain_order=True).join(params, how="cross")
    out = grid.join(
        pl.concat([index, vas]), on=[*by, "PARAMCD"], how="left", nulls_equal=True,
        maintain_order="left",
    )
    return out.select(
        *by, "PARAMCD", "PARAM", pl.col("AVAL").cast(pl.Float64),
        pl.col("NITEMS").fill_null(0).cast(pl.Int64),
    )

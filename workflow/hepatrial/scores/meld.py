"""MELD family: MELD (UNOS), MELD-Na, MELD 3.0 and MELD (Kamath 2001, protocol forms);
docs/scoring.md. Conventions: :mod:`hepatrial.scores`."""

from __future__ import annotations

import polars as pl

from hepatrial.rounding import ROUND_EPSILON, round_half_up
from hepatrial.scores._common import (
    ALB_GL_PER_GDL,
    BILI_UMOL_PER_MGDL,
    CREAT_UMOL_PER_MGDL,
    MELD_CAP,
    IntoScoreExpr,
    _all_present,
    _binary,
    _expr,
    _flag,
    _lab,
)


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
MELDKAM_COEFFICIENTS = {
    "kamath2001": (3.78, 11.2, 9.57, 6.43),
    "protocol_rounded": (3.8, 11.2, 9.6, 6.4),
}
MELDKAM_INTEGER = ("none", "round", "truncate")


def meld_kamath_formula(coefficients: str = "kamath2001", integer: str = "none") -> str:
    """The MELDKAM formula as a sentence for table footnotes."""
    b, i, c, e = MELDKAM_COEFFICIENTS[coefficients]
    tail = {
        "none": "not rounded",
        "round": "rounded to an integer (half away from zero)",
        "truncate": "truncated to an integer",
    }[integer]
    return (
        f"MELD (Kamath) = {c:g} x ln(creatinine, mg/dL) + {b:g} x ln(bilirubin, mg/dL) + {i:g} x ln(INR) "
        f"+ {e:g} x etiology (0 cholestatic or alcoholic, 1 other), {tail}"
    )


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

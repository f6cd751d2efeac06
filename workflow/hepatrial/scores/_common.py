"""Shared by the score modules: unit factors, the comparison precision and the expression helpers
(column name, expression or literal in; polars expression out). Conventions: :mod:`hepatrial.scores`."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

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

"""The one rounding rule of the pipeline: half away from zero, robust to binary floating point.

Scores (MELD, MELD-Na, MELD 3.0, the protocol's integer MELD) and every number shown in a table,
figure label or report go through :func:`round_half_up`.

* **Ties go away from zero**, as SAS ``ROUND(x, 10**-d)``, the SAS ``w.d`` formats, Python's
  ``decimal.ROUND_HALF_UP`` and rounding by hand: 2.5 -> 3, -2.5 -> -3, 0.125 -> 0.13. Half to
  even (R ``round()``, polars ``round``, Python ``round()``, SAS ``ROUNDE``) gives 2, -2, 0.12.
  The protocol's "MELD taken as an integer" (MELDKAM, which can be negative) is this rule.
* **The decimal value, not the binary one**: ``ROUND_EPSILON`` (1e-9, in units of the last kept
  decimal) is added to the magnitude before flooring, so a value that a person computes as
  exactly 1.85 but that float64 holds as 1.8499999999999999 rounds to 1.9, and 1.005 (held as
  1.00499999999999989...) rounds to 1.01. A true value within 1e-9 units below a tie also rounds
  away from zero, which no clinical input can distinguish (SAS ``ROUND`` applies a fuzz too).
* ``-0`` is never returned (-0.04 to 1 decimal is 0.0); null and NaN stay null and NaN.
"""

from __future__ import annotations

import math

import polars as pl

__all__ = ["ROUND_EPSILON", "round_half_up"]

#: Added to the magnitude (in rounding units) before flooring; see the module docstring.
ROUND_EPSILON = 1e-9


def round_half_up(x, decimals: int = 0):
    """Round to ``decimals`` decimals, ties away from zero (SAS ``ROUND``), robust to float64 error.

    ``sign(x) * floor(|x| * 10**d + 0.5 + 1e-9) / 10**d`` (see the module docstring). The name is
    that of Python's ``decimal.ROUND_HALF_UP``, which also rounds ties away from zero.

    Parameters
    ----------
    x : float, int, str or polars.Expr
        A Python number (the result is a ``float``), or a column name or polars expression (the
        result is a Float64 :class:`polars.Expr`, ``x`` referenced once so that composing scores
        does not multiply the expression tree).
    decimals : int, default 0
        Decimal places to keep (negative: tens, hundreds, ...).

    Returns
    -------
    float or polars.Expr
    """
    scale = 10.0**decimals
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        x = float(x)
        if not math.isfinite(x):
            return x
        units = math.copysign(math.floor(abs(x) * scale + 0.5 + ROUND_EPSILON), x)
        value = units / scale if decimals else units
        return (round(value, decimals) if decimals > 0 else value) + 0.0
    if isinstance(x, str):
        x = pl.col(x)
    if not isinstance(x, pl.Expr):
        raise TypeError(f"expected a number, a column name or a polars expression, got {type(x)!r}")
    e = x.cast(pl.Float64)
    units = e.sign() * (e.abs() * scale + 0.5 + ROUND_EPSILON).floor()
    value = units / scale if decimals else units
    # units / 10**d is a near-exact multiple of 10**-d; round() only returns the float64 nearest
    # to that decimal (polars may divide as a multiplication by 0.1). + 0.0 turns -0.0 into 0.0.
    return (value.round(decimals) if decimals > 0 else value) + 0.0

"""ISO 8601 date helpers on polars text columns (full or partial dates)."""

from __future__ import annotations

import polars as pl


def compute_ady(adt: str | pl.Expr = "ADT", origin: str | pl.Expr = "ORIGDT") -> pl.Expr:
    """Study day: ADT - origin + 1 on or after the origin, ADT - origin before it (no day 0), as SDTM
    --DY. Column names or date expressions."""
    a, o = (pl.col(x) if isinstance(x, str) else x for x in (adt, origin))
    diff = (a - o).dt.total_days()
    return pl.when(diff >= 0).then(diff + 1).otherwise(diff).cast(pl.Int64)


def dtc_date(col: str | pl.Expr) -> pl.Expr:
    """The date of a complete DTC (``YYYY-MM-DD[Thh:mm[:ss]]``); null for partial or missing."""
    c = pl.col(col) if isinstance(col, str) else col
    return pl.when(c.str.len_chars() >= 10).then(
        c.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False)
    )


def dtc_earliest(col: str | pl.Expr) -> pl.Expr:
    """Earliest date a full or partial DTC can mean (``2025-03`` -> 2025-03-01, ``2025`` -> 2025-01-01)."""
    c = pl.col(col) if isinstance(col, str) else col
    n = c.str.len_chars()
    return (
        pl.when(n >= 10)
        .then(c.str.slice(0, 10))
        .when(n == 7)
        .then(c + "-01")
        .when(n == 4)
        .then(c + "-01-01")
        .otherwise(None)
    ).str.to_date("%Y-%m-%d", strict=False)


def dtc_latest(col: str | pl.Expr) -> pl.Expr:
    """Latest date a full or partial DTC can mean (``2025-02`` -> 2025-02-28, ``2025`` -> 2025-12-31)."""
    c = pl.col(col) if isinstance(col, str) else col
    n = c.str.len_chars()
    first = dtc_earliest(c)
    return (
        pl.when(n >= 10)
        .then(first)
        .when(n == 7)
        .then(first.dt.month_end())
        .when(n == 4)
        .then((c + "-12-31").str.to_date("%Y-%m-%d", strict=False))
        .otherwise(None)
    )


def dtc_precision(col: str | pl.Expr) -> pl.Expr:
    """'D' complete (day or finer), 'M' year-month, 'Y' year only, null when missing."""
    c = pl.col(col) if isinstance(col, str) else col
    n = c.str.len_chars()
    return (
        pl.when(n >= 10)
        .then(pl.lit("D"))
        .when(n == 7)
        .then(pl.lit("M"))
        .when(n == 4)
        .then(pl.lit("Y"))
    )

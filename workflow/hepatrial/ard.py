"""The analysis results dataset (ARD), docs/results_contract.md.

Every number in a table, figure or report lands here unrounded, one row per
(analysis, paramcd, population, arm, comparator, avisit, time, stat), sorted by those keys.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from hepatrial import stamp

ARD_SCHEMA = {
    "analysis": pl.Utf8,
    "paramcd": pl.Utf8,
    "population": pl.Utf8,
    "arm": pl.Utf8,
    "comparator": pl.Utf8,
    "avisit": pl.Utf8,
    "time": pl.Float64,
    "stat": pl.Utf8,
    "value": pl.Float64,
    "method": pl.Utf8,
}
KEYS = ["analysis", "paramcd", "population", "arm", "comparator", "avisit", "time", "stat"]
POOLED = "ALL"
# LAB_SHIFT keys: paramcd "<lab>|<baseline category>|<worst category>" over these reference-range
# categories, and LAB_SHIFT_MARGIN for the margin (hepatrial.analysis.baseline composes them; the
# blinding gate knows them as a closed vocabulary)
LAB_SHIFT_CATEGORIES = ("LOW", "NORMAL", "HIGH", "Missing")
LAB_SHIFT_MARGIN = "ALL"
# the worst post-baseline category of a LAB_SHIFT row: a lab's worst direction, or the most extreme
# value for a lab without one; the row's method names it (lab_shift_method)
LAB_SHIFT_EXTREME = "most extreme"
LAB_SHIFT_DIRECTIONS = ("HIGH", "LOW", LAB_SHIFT_EXTREME)


def lab_shift_method(direction: str) -> str:
    """The method of the LAB_SHIFT rows of a lab whose worst category is ``direction`` (one of
    :data:`LAB_SHIFT_DIRECTIONS`): text the pipeline composes, which the blinding gate knows as
    whole values."""
    if direction not in LAB_SHIFT_DIRECTIONS:
        raise ValueError(f"unknown worst direction {direction!r}: one of {LAB_SHIFT_DIRECTIONS}")
    return (
        f"baseline vs worst post-baseline ({direction}) reference-range category; "
        "% of subjects with the lab in arm"
    )


# What a statistic of a comparison row (``arm`` vs ``comparator``) is, so that any comparison can
# be turned round (``comparator`` vs ``arm``) by one rule, whatever its analysis: a difference is
# negated, a ratio inverted, the CI limits swapped and transformed like their point estimate, and
# the rest is unchanged. A comparison row with a statistic not listed here cannot be turned round
# (:func:`reverse_comparisons` refuses it), so a new comparative statistic must be declared here.
COMPARISON_STAT_KIND = {
    "estimate": "difference",
    "diff": "difference",
    "rd": "difference",
    "hr": "ratio",
    "or": "ratio",
    "rr": "ratio",
    "ratio": "ratio",
    "lower": "limit",
    "upper": "limit",
    "se": "invariant",
    "df": "invariant",
    "p": "invariant",
    "chisq": "invariant",
    "z_abs": "invariant",
    "n": "invariant",
    "p_interaction": "invariant",
    # RESPONDER (Miettinen-Nurminen rd, lower, upper, n) and RESPONDER_CMH (CMH chisq, df, p; MH
    # common rd, se, lower, upper; n): all declared above but the number of strata.
    "n_strata": "invariant",
    # TIPPING (estimands, docs/estimands.md): the shift added to the imputed values of the arm the
    # method names, and the first shift at which the result is no longer significant; ESTIMAND:
    # the estimand's role, order and attributes (text in ``method``; a masked report swaps the arm
    # codes in that text with the comparison).
    "delta": "invariant",
    "tipping_delta": "invariant",
    "role": "invariant",
    "order": "invariant",
    "label": "invariant",
    "attr_population": "invariant",
    "attr_variable": "invariant",
    "attr_ice": "invariant",
    "attr_summary": "invariant",
    "attr_treatment": "invariant",
    "mmrm_target": "invariant",  # 1: the MMRM of all observed data estimates the estimand
}


class ARDError(ValueError):
    """The ARD breaks the results contract (e.g. a comparison that cannot be re-oriented)."""


def reverse_comparisons(ard: pl.DataFrame, flip: pl.Expr) -> pl.DataFrame:
    """The rows selected by ``flip`` (comparison rows) turned round: ``arm`` and ``comparator``
    swapped, differences negated, ratios inverted, ``lower``/``upper`` swapped and transformed on
    the scale of the comparison's point estimate (the ``difference`` or ``ratio`` statistic of the
    same key), p-values, SE, df and counts unchanged. Other rows are returned as they are.

    The scale is read from the rows themselves, never from a list of analysis names: a
    comparison whose statistics are not all in :data:`COMPARISON_STAT_KIND`, or whose limits have
    no point estimate, raises :class:`ARDError` rather than being left the wrong way round."""
    ard = ard.with_columns(flip.fill_null(False).alias("_flip"))
    rows = ard.filter(pl.col("_flip"))
    keep = ard.filter(~pl.col("_flip")).drop("_flip")
    if rows.height == 0:
        return keep
    if (rows["comparator"].fill_null("") == "").any():
        raise ARDError("a row without a comparator cannot be turned round")
    kind = pl.col("stat").replace_strict(COMPARISON_STAT_KIND, default=None)
    rows = rows.with_columns(kind.alias("_kind"))
    unknown = rows.filter(pl.col("_kind").is_null())
    if unknown.height:
        r = unknown.row(0, named=True)
        raise ARDError(
            f"comparison statistic {r['stat']!r} of analysis {r['analysis']} is not declared in "
            f"hepatrial.ard.COMPARISON_STAT_KIND: cannot re-orient it"
        )
    group = [k for k in KEYS if k != "stat"]
    rows = rows.with_columns(
        pl.when((pl.col("_kind") == "ratio").any().over(group))
        .then(pl.lit("ratio"))
        .when((pl.col("_kind") == "difference").any().over(group))
        .then(pl.lit("difference"))
        .otherwise(pl.lit(None, pl.Utf8))
        .alias("_scale")
    )
    orphan = rows.filter((pl.col("_kind") == "limit") & pl.col("_scale").is_null())
    if orphan.height:
        r = orphan.row(0, named=True)
        raise ARDError(
            f"{r['analysis']} {r['paramcd']}: CI limit {r['stat']!r} without a difference or ratio "
            f"estimate: cannot re-orient it"
        )
    ratio = (pl.col("_kind") == "ratio") | (
        (pl.col("_kind") == "limit") & (pl.col("_scale") == "ratio")
    )
    diff = (pl.col("_kind") == "difference") | (
        (pl.col("_kind") == "limit") & (pl.col("_scale") == "difference")
    )
    v = pl.col("value")
    rows = rows.with_columns(
        pl.when(ratio)
        .then(pl.when(v == 0).then(float("inf")).otherwise(1.0 / v))
        .when(diff)
        .then(-v)
        .otherwise(v)
        .alias("value"),
        pl.when(pl.col("stat") == "lower")
        .then(pl.lit("upper"))
        .when(pl.col("stat") == "upper")
        .then(pl.lit("lower"))
        .otherwise(pl.col("stat"))
        .alias("stat"),
        pl.col("comparator").alias("arm"),
        pl.col("arm").alias("comparator"),
    ).select(keep.columns)
    return pl.concat([keep, rows], how="vertical")


def ard_rows(rows: list[dict]) -> pl.DataFrame:
    """Build ARD rows from dicts; missing keys are empty strings (time: null)."""
    full = []
    for r in rows:
        d = {k: r.get(k, "") for k in ARD_SCHEMA if k not in ("time", "value")}
        d["time"] = r.get("time")
        v = r.get("value")
        d["value"] = None if v is None else float(v)
        full.append(d)
    return pl.DataFrame(full, schema=ARD_SCHEMA)


def empty_ard() -> pl.DataFrame:
    return pl.DataFrame(schema=ARD_SCHEMA)


def finalise(ard: pl.DataFrame) -> pl.DataFrame:
    """Cast to the contract's schema, check the key is unique, and sort."""
    ard = ard.select([pl.col(c).cast(t) for c, t in ARD_SCHEMA.items()]).with_columns(
        [pl.col(c).fill_null("") for c, t in ARD_SCHEMA.items() if t == pl.Utf8 and c != "method"]
    )
    dup = ard.filter(pl.struct(KEYS).is_duplicated())
    if dup.height:
        raise AssertionError(f"ARD key not unique: {dup.head(3).to_dicts()}")
    return ard.sort(KEYS, nulls_last=False)


def write_part(ard: pl.DataFrame, path: str | Path) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    finalise(ard).write_parquet(path, statistics=False, metadata=stamp.parquet_metadata())


def combine(parts: list[str | Path], parquet: str | Path, csv: str | Path) -> pl.DataFrame:
    """Concatenate ARD parts into the one ARD of the cut (Parquet and CSV)."""
    frames = [pl.read_parquet(p) for p in parts]
    ard = finalise(pl.concat(frames, how="vertical") if frames else empty_ard())
    ard.write_parquet(parquet, statistics=False, metadata=stamp.parquet_metadata())
    stamp.write_csv(ard, csv, float_precision=None)
    return ard

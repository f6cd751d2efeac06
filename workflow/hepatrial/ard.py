"""The analysis results dataset (ARD), ../shared/RESULTS_CONTRACT.md.

Every number in a table, figure or report lands here unrounded, one row per
(analysis, paramcd, population, arm, comparator, avisit, time, stat), sorted by those keys.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

ARD_SCHEMA = {
    "analysis": pl.Utf8, "paramcd": pl.Utf8, "population": pl.Utf8, "arm": pl.Utf8, "comparator": pl.Utf8,
    "avisit": pl.Utf8, "time": pl.Float64, "stat": pl.Utf8, "value": pl.Float64, "method": pl.Utf8,
}
KEYS = ["analysis", "paramcd", "population", "arm", "comparator", "avisit", "time", "stat"]
POOLED = "ALL"


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
        [pl.col(c).fill_null("") for c, t in ARD_SCHEMA.items() if t == pl.Utf8 and c != "method"])
    dup = ard.filter(pl.struct(KEYS).is_duplicated())
    if dup.height:
        raise AssertionError(f"ARD key not unique: {dup.head(3).to_dicts()}")
    return ard.sort(KEYS, nulls_last=False)


def write_part(ard: pl.DataFrame, path: str | Path) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    finalise(ard).write_parquet(path, statistics=False)


def combine(parts: list[str | Path], parquet: str | Path, csv: str | Path) -> pl.DataFrame:
    """Concatenate ARD parts into the one ARD of the cut (Parquet and CSV)."""
    frames = [pl.read_parquet(p) for p in parts]
    ard = finalise(pl.concat(frames, how="vertical") if frames else empty_ard())
    ard.write_parquet(parquet, statistics=False)
    ard.write_csv(csv, float_precision=None)
    return ard

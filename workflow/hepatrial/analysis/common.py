"""Population and arm helpers shared by the analyses."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import polars as pl

from hepatrial.ard import POOLED
from hepatrial.errors import ConfigError, HepatrialWarning
from hepatrial.spec import Study

POP_FLAG = {
    "ITT": "ITTFL",
    "SAFETY": "SAFFL",
    "PP": "PPFL",
    "COMPLETERS": "COMPLFL",
    "ENROLLED": "ENRLFL",
}
# the role of the primary endpoint's ITT rows, written at the end of their ARD ``method``
PRIMARY, KEY_SECONDARY = "PRIMARY ENDPOINT", "KEY SECONDARY ENDPOINT"
# Efficacy populations are analysed by planned arm, safety by actual arm (ICH E9 / E3 convention).
ARM_VAR = {"SAFETY": "TRT01A"}


def population_flag(study: Study, population: str) -> str:
    return study.populations.get(population, POP_FLAG.get(population, population))


def arm_var(population: str) -> str:
    return ARM_VAR.get(population, "TRT01P")


def arm_labels(study: Study) -> list[str]:
    return study.arm_labels


def with_pooled(df: pl.DataFrame, arm_col: str = "ARM") -> pl.DataFrame:
    """Rows once per arm and once more with arm = "ALL"."""
    return pl.concat([df, df.with_columns(pl.lit(POOLED).alias(arm_col))], how="vertical")


def select_population(df: pl.DataFrame, study: Study, population: str) -> pl.DataFrame:
    """Subjects of the population, with ARM = the planned (or actual, for SAFETY) arm label. A
    frame without the population's flag is an error (it analysed every subject before)."""
    flag, av = population_flag(study, population), arm_var(population)
    if flag not in df.columns:
        raise ConfigError(
            f"population {population}: its flag {flag} (study config populations) is not a "
            f"variable of the analysed dataset ({', '.join(df.columns[:12])}, ...)"
        )
    out = df.filter(pl.col(flag) == "Y")
    return out.filter(pl.col(av).is_not_null()).with_columns(pl.col(av).alias("ARM"))


def left_out(n: int, what: str) -> str:
    """The method's note of an analysis that left ``n`` subjects out for a missing ``what`` (a
    stratum, a covariate); "" when none."""
    return f" ({n} subject{'' if n == 1 else 's'} with a missing {what} excluded)" if n else ""


def quantile_sas5(values: np.ndarray, p: float) -> float:
    """Percentile by SAS PCTLDEF=5 (the PROC MEANS/UNIVARIATE default; R quantile type 2):
    with n p = j + g, x(j+1) if g > 0, else the mean of x(j) and x(j+1)."""
    x = np.sort(values)
    n = len(x)
    if n == 0:
        return float("nan")
    np_ = n * p
    j = int(np.floor(np_ + 1e-12))
    g = np_ - j
    if g > 1e-12:
        return float(x[min(j, n - 1)])
    if j == 0:
        return float(x[0])
    return float((x[j - 1] + x[min(j, n - 1)]) / 2)


def parameter_frames(
    path: str | Path, paramcds: list[str], columns: list[str] | None = None
) -> Iterator[tuple[str, pl.DataFrame]]:
    """(PARAMCD, its rows) of a BDS dataset, one parameter in memory at a time (a lazy scan, the
    filter and the ``columns`` pushed down to the Parquet reader): for the analyses that summarise a
    parameter at a time, whose peak memory is then one parameter's rows, not the dataset's."""
    for p in paramcds:
        lf = pl.scan_parquet(path).filter(pl.col("PARAMCD") == p)
        yield p, (lf.select(columns) if columns is not None else lf).collect()


def warn_no_records(key: str, paramcd: str, path: str | Path, data: pl.DataFrame) -> None:
    """Warn of a parameter the study config lists (``key``) of which ``data`` (its records in the
    dataset at ``path``) holds no record (a misspelt code, or a test the cut does not hold) or no
    value (every AVAL missing: a score with an input the cut lacks, such as CTP without the RS
    domain's ascites and encephalopathy). Its tables and figures show no data."""
    n = data.height
    if n and data["AVAL"].is_not_null().any():
        return
    what = "no records" if n == 0 else f"{n} records and not one value (AVAL missing in each)"
    warnings.warn(
        f"study config {key}: {paramcd} has {what} in {Path(path).name}; its tables and "
        "figures show no data",
        HepatrialWarning,
        stacklevel=2,
    )

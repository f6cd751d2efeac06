"""DESC: summary statistics of AVAL and CHG by parameter, visit and arm (ARD analysis ``DESC``).

n, mean, SD (n - 1 divisor), median, q1, q3 (SAS PCTLDEF=5, R type 2), min, max over the
analysed records (ANL01FL = "Y") of the population, per arm and pooled (arm "ALL").
CHG rows carry paramcd suffixed "_CHG" and exist for post-baseline visits only.
A parameter with results below the limit of quantitation (ADLB BLQFL = "Y") also gets ``n_blq``
(analysed records below the LLOQ, counted in n with the value ``labs.below_lloq`` gives them).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from hepatrial.analysis.common import quantile_sas5, select_population, with_pooled
from hepatrial.ard import ard_rows

STATS = ("n", "mean", "sd", "median", "q1", "q3", "min", "max")


def summarise(values: np.ndarray) -> dict[str, float]:
    v = values[~np.isnan(values)]
    n = len(v)
    if n == 0:
        return {"n": 0.0}
    return {
        "n": float(n),
        "mean": float(v.mean()),
        "sd": float(v.std(ddof=1)) if n > 1 else float("nan"),
        "median": float(np.median(v)),
        "q1": quantile_sas5(v, 0.25),
        "q3": quantile_sas5(v, 0.75),
        "min": float(v.min()),
        "max": float(v.max()),
    }


def describe_by_visit(
    dataset: pl.DataFrame, paramcd: str, study: dict, population: str = "ITT"
) -> pl.DataFrame:
    """ARD DESC rows for one parameter of a BDS dataset."""
    df = select_population(
        dataset.filter((pl.col("PARAMCD") == paramcd) & (pl.col("ANL01FL") == "Y")),
        study,
        population,
    )
    df = with_pooled(df).filter(
        pl.col("AVISIT").is_not_null() & (pl.col("AVISIT") != "UNSCHEDULED")
    )
    rows = []
    blq = "BLQFL" in df.columns and (df["BLQFL"] == "Y").any()
    groups = df.group_by(["ARM", "AVISIT"]).agg(
        pl.col("AVAL"),
        pl.col("CHG"),
        pl.col("AVISITN").first(),
        ((pl.col("BLQFL") == "Y") & pl.col("AVAL").is_not_null()).sum().alias("_blq")
        if blq
        else pl.lit(0).alias("_blq"),
    )
    for g in groups.sort(["AVISITN", "ARM"]).iter_rows(named=True):
        for var, suffix in (("AVAL", ""), ("CHG", "_CHG")):
            vals = np.array([np.nan if x is None else x for x in g[var]], dtype=float)
            if suffix and np.isnan(vals).all():
                continue
            stats = summarise(vals)
            if blq and not suffix:
                stats["n_blq"] = float(g["_blq"])
            for stat, value in stats.items():
                rows.append(
                    {
                        "analysis": "DESC",
                        "paramcd": paramcd + suffix,
                        "population": population,
                        "arm": g["ARM"],
                        "avisit": g["AVISIT"],
                        "stat": stat,
                        "value": value,
                        "method": "descriptive; quartiles SAS PCTLDEF=5",
                    }
                )
    return ard_rows(rows)

"""DESC: summary statistics of AVAL and CHG by parameter, visit and arm (ARD analysis ``DESC``).

n, mean, SD (n - 1 divisor), median, q1, q3 (SAS PCTLDEF=5, R type 2), min, max over the
analysed records (ANL01FL = "Y") of the population, per arm and pooled (arm "ALL").
CHG rows carry paramcd suffixed "_CHG" and exist for post-baseline visits only.

DECIMALS: the decimals each summarised parameter's data are recorded with, what every table,
figure and report formats its statistics from (:func:`parameter_decimals`), decided once here.
A parameter with results below the limit of quantitation (ADLB BLQFL = "Y") also gets ``n_blq``
(analysed records below the LLOQ, counted in n with the value ``labs.below_lloq`` gives them).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from hepatrial.analysis.common import quantile_sas5, select_population, with_pooled
from hepatrial.ard import POOLED, ard_rows
from hepatrial.spec.params import RECORDED_DECIMALS_CAP, declared_decimals, recorded_decimals

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


def parameter_decimals(dataset: pl.DataFrame, paramcds: list[str], study) -> pl.DataFrame:
    """ARD ``DECIMALS`` rows (``stat`` ``decimals``, ``arm`` ``ALL``, no population or visit): per
    parameter the decimals its data are recorded with. The parameter table's, or the study's
    scoring settings' (:func:`hepatrial.spec.params.declared_decimals`: MELDKAM an integer or
    not); for a parameter neither knows (a lab such as TREG or CA153), the most decimals of its
    recorded results, at most :data:`~hepatrial.spec.params.RECORDED_DECIMALS_CAP`: ADLB LBORRES
    where it is the analysis value (not converted from another unit, not below a limit), other
    datasets AVAL as stored (a value copied from RS or QS). The method says which. A parameter
    with no recorded number gets no row (the tables' default applies)."""
    declared = declared_decimals(study)
    rows = []
    for p in paramcds:
        d, how = declared.get(p), "declared: parameter table (hepatrial.spec.params)"
        if p == "MELDKAM":
            how = f"declared: scores.meld_kamath.integer {study.scores.meld_kamath.integer}"
        if d is None:
            recs = dataset.filter(pl.col("PARAMCD") == p)
            if "LBORRES" in recs.columns:
                num = pl.col("LBORRES").cast(pl.Float64, strict=False)
                texts = recs.filter(num.is_not_null() & (num == pl.col("AVAL")))["LBORRES"]
                src = "LBORRES"
            else:
                texts = recs["AVAL"].drop_nulls().map_elements(_as_written, return_dtype=pl.Utf8)
                src = "AVAL"
            d = recorded_decimals(texts.to_list())
            how = f"recorded: most decimals of {src}, at most {RECORDED_DECIMALS_CAP}"
        if d is None:
            continue
        rows.append(
            {
                "analysis": "DECIMALS",
                "paramcd": p,
                "arm": POOLED,
                "stat": "decimals",
                "value": float(d),
                "method": how,
            }
        )
    return ard_rows(rows)


def _as_written(x: float) -> str:
    """A stored value as it was written: the shortest repr, an integer without ``.0``."""
    text = repr(float(x))
    return text[:-2] if text.endswith(".0") else text

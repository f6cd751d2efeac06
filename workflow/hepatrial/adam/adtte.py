"""ADTTE: one record per subject and time-to-event parameter (docs/scoring.md, time-to-event).

AVAL = ADT - STARTDT in days (a subject with no follow-up has AVAL 0); CNSR 0 = event, 1 = censored.
STARTDT is the analysis origin (ADSL ORIGDT). Censoring is at the last known alive date
(ADSL LSTALVDT, which never passes the data cut because later records are removed at ingest).

Competing-risk coding (CRCODE, EVTTYPE):
- TFS: 2 death, 3 liver transplant, 0 censored (death and transplant compete with each other);
  a transplant and a death on the same day count as the transplant (the procedure came first);
- OS: 1 death, 0 censored; transplant does not censor unless ``os_censor_at_transplant``;
- DECOMP, HCC, LIVFAIL: 1 the event of interest, 2 death, 3 transplant (competing, whichever is
  first), 0 censored; an event of interest on the same day as death or transplant counts as the event.
"""

from __future__ import annotations

import polars as pl

from hepatrial.adam.common import carried
from hepatrial.dates import dtc_earliest, dtc_latest
from hepatrial.spec import Study
from hepatrial.spec.params import TTE, adam_param_labels, tte_param

# ADaM PARAM and CE terms of each parameter: the parameter table (hepatrial.spec.params)
PARAMS = adam_param_labels("adtte")
CE_EVENTS = {p.paramcd: p.ce_terms() for p in TTE if p.kind == "ce"}
EVTTYPE = {0: "CENSORED", 1: "EVENT", 2: "DEATH", 3: "LIVER TRANSPLANT"}
ADSL_KEEP = [
    "STUDYID",
    "USUBJID",
    "SITEID",
    "TRT01P",
    "TRT01PN",
    "TRT01A",
    "TRT01AN",
    "ITTFL",
    "SAFFL",
]


def _finish(df: pl.DataFrame, paramcd: str) -> pl.DataFrame:
    return df.with_columns(
        pl.lit(paramcd).alias("PARAMCD"),
        pl.lit(PARAMS[paramcd]).alias("PARAM"),
        (pl.col("ADT") - pl.col("STARTDT")).dt.total_days().cast(pl.Float64).alias("AVAL"),
        pl.col("CRCODE").replace_strict(EVTTYPE, return_dtype=pl.Utf8).alias("EVTTYPE"),
    )


def derive_param_tfs(base: pl.DataFrame) -> pl.DataFrame:
    ev = pl.min_horizontal("DTHDT", "LTXDT")
    tx_first = pl.col("LTXDT").is_not_null() & (
        pl.col("DTHDT").is_null() | (pl.col("LTXDT") <= pl.col("DTHDT"))
    )
    df = base.with_columns(
        pl.when(ev.is_not_null()).then(ev).otherwise(pl.col("CNSDT")).alias("ADT"),
        pl.when(ev.is_not_null()).then(0).otherwise(1).alias("CNSR"),
        pl.when(ev.is_null()).then(0).when(tx_first).then(3).otherwise(2).alias("CRCODE"),
        pl.when(ev.is_null())
        .then(None)
        .when(tx_first)
        .then(pl.lit("LIVER TRANSPLANT"))
        .otherwise(pl.lit("DEATH"))
        .alias("EVNTDESC"),
        pl.when(ev.is_null()).then(pl.lit("LAST KNOWN ALIVE DATE")).alias("CNSDTDSC"),
    )
    return _finish(df, "TFS")


def derive_param_os(base: pl.DataFrame, censor_at_transplant: bool) -> pl.DataFrame:
    dth = pl.col("DTHDT")
    if censor_at_transplant:
        txc = pl.col("LTXDT").is_not_null() & (dth.is_null() | (pl.col("LTXDT") < dth))
    else:
        txc = pl.lit(False)
    df = base.with_columns(
        pl.when(txc)
        .then(pl.col("LTXDT"))
        .when(dth.is_not_null())
        .then(dth)
        .otherwise(pl.col("CNSDT"))
        .alias("ADT"),
        pl.when(~txc & dth.is_not_null()).then(0).otherwise(1).alias("CNSR"),
        pl.when(~txc & dth.is_not_null()).then(1).otherwise(0).alias("CRCODE"),
        pl.when(~txc & dth.is_not_null()).then(pl.lit("DEATH")).alias("EVNTDESC"),
        pl.when(txc)
        .then(pl.lit("LIVER TRANSPLANT"))
        .when(dth.is_null())
        .then(pl.lit("LAST KNOWN ALIVE DATE"))
        .alias("CNSDTDSC"),
    )
    return _finish(df, "OS")


def first_ce_event(
    dataset_ce: pl.DataFrame, base: pl.DataFrame, terms: tuple[str, ...]
) -> pl.DataFrame:
    """USUBJID -> first event date on or after the origin among ``terms`` (partial dates: first day of
    the period, never before the origin when the origin is in the period), with its source row."""
    ce = (
        dataset_ce.filter(pl.col("CEDECOD").str.to_uppercase().is_in(list(terms)))
        .join(base.select("USUBJID", "STARTDT"), on="USUBJID", how="inner")
        .with_columns(
            dtc_earliest("CESTDTC").alias("_e"), pl.col("CESTDTC").str.len_chars().alias("_n")
        )
    )
    # a partial date is raised to the origin only when the origin falls in its period (contract);
    # a period wholly before the origin (medical history) stays before it and is not an event
    in_period = (pl.col("_n") < 10) & (dtc_latest("CESTDTC") >= pl.col("STARTDT"))
    ce = ce.with_columns(
        pl.when(in_period)
        .then(pl.max_horizontal("_e", "STARTDT"))
        .otherwise(pl.col("_e"))
        .alias("_evdt")
    )
    ce = ce.filter(pl.col("_evdt") >= pl.col("STARTDT"))
    return (
        ce.sort(["USUBJID", "_evdt", "SRCROW"])
        .group_by("USUBJID", maintain_order=True)
        .first()
        .select(
            "USUBJID",
            pl.col("_evdt").alias("EVDT"),
            pl.col("CEDECOD").alias("_evdesc"),
            pl.col("SRCROW").alias("SRCROW"),
        )
    )


def derive_param_ce(base: pl.DataFrame, dataset_ce: pl.DataFrame, paramcd: str) -> pl.DataFrame:
    ev = first_ce_event(dataset_ce, base, CE_EVENTS[paramcd])
    df = base.join(ev, on="USUBJID", how="left")
    comp = pl.min_horizontal("DTHDT", "LTXDT")
    is_ev = pl.col("EVDT").is_not_null() & (comp.is_null() | (pl.col("EVDT") <= comp))
    is_comp = ~is_ev & comp.is_not_null()
    tx_first = pl.col("LTXDT").is_not_null() & (
        pl.col("DTHDT").is_null() | (pl.col("LTXDT") <= pl.col("DTHDT"))
    )
    df = df.with_columns(
        pl.when(is_ev)
        .then(pl.col("EVDT"))
        .when(is_comp)
        .then(comp)
        .otherwise(pl.col("CNSDT"))
        .alias("ADT"),
        pl.when(is_ev).then(0).otherwise(1).alias("CNSR"),
        pl.when(is_ev)
        .then(1)
        .when(is_comp & tx_first)
        .then(3)
        .when(is_comp)
        .then(2)
        .otherwise(0)
        .alias("CRCODE"),
        pl.when(is_ev).then(pl.col("_evdesc").str.to_uppercase()).alias("EVNTDESC"),
        pl.when(is_ev)
        .then(None)
        .when(is_comp & tx_first)
        .then(pl.lit("LIVER TRANSPLANT (COMPETING)"))
        .when(is_comp)
        .then(pl.lit("DEATH (COMPETING)"))
        .otherwise(pl.lit("LAST KNOWN ALIVE DATE"))
        .alias("CNSDTDSC"),
        pl.when(is_ev).then(pl.lit("CE")).alias("SRCDOM"),
        pl.when(is_ev).then(pl.col("SRCROW")).alias("SRCROW"),
    ).drop("EVDT", "_evdesc")
    return _finish(df, paramcd)


def create_adtte(adsl: pl.DataFrame, dataset_ce: pl.DataFrame, study: Study) -> pl.DataFrame:
    """ADTTE for the study's ``endpoints.tte`` parameters, subjects with an analysis origin; each
    derived as its row of the parameter table says (``kind``: tfs, os or a CE event)."""
    keep = carried(
        adsl, ADSL_KEEP, study.populations.values(), study.strata, study.endpoints.subgroups
    )
    base = (
        adsl.filter(pl.col("ORIGDT").is_not_null())
        .select(*keep, pl.col("ORIGDT").alias("STARTDT"), "DTHDT", "LTXDT", "LSTALVDT")
        .with_columns(pl.max_horizontal("LSTALVDT", "STARTDT").alias("CNSDT"))
    )
    parts = []
    for p in study.endpoints.tte:
        kind = tte_param(p).kind
        if kind == "tfs":
            parts.append(derive_param_tfs(base))
        elif kind == "os":
            parts.append(derive_param_os(base, study.endpoints.os_censor_at_transplant))
        else:
            parts.append(derive_param_ce(base, dataset_ce, p))
    if not parts:  # no time-to-event endpoint in the study: ADTTE with its columns and no rows
        parts.append(derive_param_tfs(base).clear())

    cols = keep + [
        "PARAMCD",
        "PARAM",
        "STARTDT",
        "ADT",
        "AVAL",
        "CNSR",
        "EVNTDESC",
        "CNSDTDSC",
        "CRCODE",
        "EVTTYPE",
        "SRCDOM",
        "SRCROW",
    ]
    out = [
        p.with_columns(
            *(pl.lit(None, pl.Utf8).alias(c) for c in ("SRCDOM",) if c not in p.columns),
            *(pl.lit(None, pl.Int64).alias(c) for c in ("SRCROW",) if c not in p.columns),
        ).select(cols)
        for p in parts
    ]
    return pl.concat(out, how="vertical_relaxed").sort(["PARAMCD", "USUBJID"])

"""ADLB: one record per lab result, in standard units, windowed to analysis visits."""

from __future__ import annotations

import polars as pl

from hepatrial.adam.common import derive_bds_timing
from hepatrial.dates import dtc_date
from hepatrial.ingest.cut import EXCL_SCHEMA  # one exclusions layout for ingest and ADaM

ADSL_KEEP = ["STUDYID", "USUBJID", "SITEID", "TRT01P", "TRT01PN", "TRT01A", "TRT01AN", "ORIGDT", "ITTFL", "SAFFL"]


def adsl_vars(adsl: pl.DataFrame, study: dict) -> list[str]:
    extra = [c for c in study["strata"] if c in adsl.columns]
    return [c for c in dict.fromkeys(ADSL_KEEP + extra) if c in adsl.columns]


def with_adsl_vars(dataset: pl.DataFrame, adsl: pl.DataFrame, cols: list[str], carried: list[str],
                   order: list[str], nulls_last: bool = True) -> pl.DataFrame:
    """Sort ``dataset`` on ``order`` (missing last), then add the ADSL variables ``carried`` (one ADSL
    row per subject) keeping that order, and select ``cols``. The same rows, values and order as
    joining ``carried`` first and sorting the wide result, with less copied along the way."""
    narrow = dataset.select([c for c in dict.fromkeys([*order, *cols]) if c not in carried])
    narrow = narrow.sort(order, nulls_last=nulls_last)
    if not carried:
        return narrow.select(cols)
    return (narrow.join(adsl.select("USUBJID", *carried), on="USUBJID", how="left", maintain_order="left")
            .select(cols))


def split_unanalysable(dataset: pl.DataFrame, domain: str, reasons: list[tuple[pl.Expr, str]]
                       ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Rows meeting a reason go to the exclusions (first reason wins); the rest are kept."""
    excl = []
    for cond, reason in reasons:
        hit = dataset.filter(cond)
        excl.append(hit.select(pl.lit(domain).alias("domain"), pl.lit(f"{domain.lower()} (sdtm)").alias("file"),
                               pl.col("SRCROW").cast(pl.Int64).alias("row"), "USUBJID", pl.lit(reason).alias("reason")))
        dataset = dataset.filter(~cond)
    return dataset, pl.concat(excl).cast(EXCL_SCHEMA) if excl else pl.DataFrame(schema=EXCL_SCHEMA)


def derive_var_anrind(dataset: pl.DataFrame) -> pl.DataFrame:
    """ANRIND: LOW (< ANRLO), HIGH (> ANRHI), NORMAL; BNRIND: the baseline record's ANRIND."""
    ind = (pl.when(pl.col("AVAL").is_null() | (pl.col("ANRLO").is_null() & pl.col("ANRHI").is_null())).then(None)
           .when(pl.col("AVAL") < pl.col("ANRLO")).then(pl.lit("LOW"))
           .when(pl.col("AVAL") > pl.col("ANRHI")).then(pl.lit("HIGH"))
           .otherwise(pl.lit("NORMAL")))
    df = dataset.with_columns(ind.alias("ANRIND"))
    bl = (df.filter(pl.col("ABLFL") == "Y").select("USUBJID", "PARAMCD", pl.col("ANRIND").alias("BNRIND"))
          .unique(["USUBJID", "PARAMCD"], keep="first"))
    return df.join(bl, on=["USUBJID", "PARAMCD"], how="left")


def create_adlb(dataset_lb: pl.DataFrame, adsl: pl.DataFrame, study: dict) -> tuple[pl.DataFrame, pl.DataFrame]:
    """ADLB from the clean LB domain. Returns (ADLB, exclusions).

    Excluded (listed with the reason): results not done (LBSTAT NOT DONE with no result) and
    records of subjects with no analysis origin (screen failures: neither randomised nor dosed).
    """
    vars_ = adsl_vars(adsl, study)
    lean = [c for c in vars_ if c in ("USUBJID", "ORIGDT")]  # the rest joins the sorted result
    carried = [c for c in vars_ if c not in lean]
    lb = dataset_lb.join(adsl.select(lean), on="USUBJID", how="left")
    not_done = (pl.col("LBSTAT").fill_null("") == "NOT DONE") & pl.col("LBSTRESC").is_null()
    lb, excl = split_unanalysable(lb, "LB", [
        (not_done, "test not done (LBSTAT NOT DONE)"),
        (pl.col("ORIGDT").is_null(), "subject has no analysis origin (not randomised or dosed)"),
    ])
    unit = pl.col("LBSTRESU").fill_null("")
    adlb = (lb.with_columns(
                pl.col("LBTESTCD").alias("PARAMCD"),
                pl.when(unit == "").then(pl.coalesce("LBTEST", "LBTESTCD"))
                .otherwise(pl.format("{} ({})", pl.coalesce("LBTEST", "LBTESTCD"), unit)).alias("PARAM"),
                pl.col("LBSTRESN").alias("AVAL"),
                pl.col("LBSTRESC").alias("AVALC"),
                dtc_date("LBDTC").alias("ADT"),
                pl.col("LBSTNRLO").alias("ANRLO"),
                pl.col("LBSTNRHI").alias("ANRHI"),
                pl.lit("LB").alias("SRCDOM"))
            .pipe(derive_bds_timing, study)
            .pipe(derive_var_anrind))
    del lb
    keep = vars_ + ["PARAMCD", "PARAM", "AVAL", "AVALC", "ADT", "ADY", "AVISIT", "AVISITN",
                    "AWTARGET", "AWTDIFF", "ABLFL", "ANL01FL", "BASE", "CHG", "PCHG", "ANRLO",
                    "ANRHI", "ANRIND", "BNRIND", "LBORRES", "LBORRESU", "LBSTAT", "LBDTC",
                    "VISIT", "SRCDOM", "SRCROW"]
    cols = [c for c in keep if c in adlb.columns or c in carried]
    return with_adsl_vars(adlb, adsl, cols, carried, ["USUBJID", "PARAMCD", "ADT", "SRCROW"], nulls_last=False), excl

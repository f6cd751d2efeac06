"""ADAE (one record per AE) and ADCE (one record per clinical event), OCCDS structure."""

from __future__ import annotations

import polars as pl

from hepatrial.adam.common import carried
from hepatrial.contract import NOT_RELATED_TERMS, fatal_ae
from hepatrial.dates import compute_ady, dtc_date, dtc_earliest, dtc_latest, dtc_precision
from hepatrial.spec import Study
from hepatrial.spec.params import TTE

ADSL_KEEP = [
    "STUDYID",
    "USUBJID",
    "SITEID",
    "TRT01P",
    "TRT01PN",
    "TRT01A",
    "TRT01AN",
    "SAFFL",
    "ITTFL",
    "TRTSDT",
    "TRTEDT",
    "ORIGDT",
]


def compute_imputed_start(dtc: str, floor: str) -> pl.Expr:
    """Start date imputation (contract): first day of the period, but never before ``floor``
    (first dose) when ``floor`` falls in the same period. Complete dates are taken as they are."""
    prec = dtc_precision(dtc)
    early, late = dtc_earliest(dtc), dtc_latest(dtc)
    same_period = pl.col(floor).is_not_null() & (pl.col(floor) >= early) & (pl.col(floor) <= late)
    return (
        pl.when(prec == "D")
        .then(dtc_date(dtc))
        .when(same_period)
        .then(pl.col(floor))
        .otherwise(early)
    )


def compute_imputation_flag(dtc: str) -> pl.Expr:
    """ "D" day imputed, "M" month and day imputed (ADaM --DTF), null for complete dates."""
    prec = dtc_precision(dtc)
    return pl.when(prec == "M").then(pl.lit("D")).when(prec == "Y").then(pl.lit("M"))


def create_adae(dataset_ae: pl.DataFrame, adsl: pl.DataFrame, study: Study) -> pl.DataFrame:
    """ADAE: ASTDT (imputed, ASTDTF), AENDT, ASTDY, TRTEMFL, AESER, ATOXGR, AREL, FATALFL.

    TRTEMFL = "Y" when the subject was dosed and the AE starts on or after the first dose; with
    ``ae.period: treatment_window`` also no later than the last dose + ``ae.followup_days``
    (``on_study``, the default, counts every AE to the end of study or last contact: the data
    hold what the protocol collected). An AE with no start date counts (conservative).
    """
    fu = study.ae.followup_days
    window = study.ae.period == "treatment_window"

    keep = carried(adsl, ADSL_KEEP, study.populations.values())
    ae = dataset_ae.join(adsl.select(keep), on="USUBJID", how="left")
    rel = pl.col("AEREL").fill_null("").str.to_uppercase().str.strip_chars()
    # relatedness collected (any AE has a value): an AE without one is counted as related, the
    # conservative reading (WARNING AEREL_MISSING at ingest); collected for none: not collected
    collected = ae["AEREL"].fill_null("").str.strip_chars().ne("").any()
    grade = (
        pl.col("AETOXGR").cast(pl.Float64, strict=False).cast(pl.Int64, strict=False)
        if "AETOXGR" in ae.columns
        else pl.lit(None, pl.Int64)
    )
    ae = ae.with_columns(
        compute_imputed_start("AESTDTC", "TRTSDT").alias("ASTDT"),
        compute_imputation_flag("AESTDTC").alias("ASTDTF"),
        pl.when(dtc_precision("AEENDTC") == "D")
        .then(dtc_date("AEENDTC"))
        .otherwise(dtc_latest("AEENDTC"))
        .alias("AENDT"),
        compute_imputation_flag("AEENDTC").alias("AENDTF"),
        grade.alias("ATOXGR"),
        pl.when(rel == "")
        .then(pl.lit("Y" if collected else None, pl.Utf8))
        .when(rel.is_in(list(NOT_RELATED_TERMS)))
        .then(pl.lit("N"))
        .otherwise(pl.lit("Y"))  # related, or a term of neither list: counted as related
        .alias("AREL"),
    )
    dosed = pl.col("TRTSDT").is_not_null()
    upper = (pl.col("ASTDT") <= pl.col("TRTEDT") + pl.duration(days=fu)) if window else pl.lit(True)
    teae = dosed & (pl.col("ASTDT").is_null() | ((pl.col("ASTDT") >= pl.col("TRTSDT")) & upper))
    fatal = fatal_ae(pl.col("ATOXGR"))
    wd = (
        pl.col("AEACN")
        .fill_null("")
        .str.to_uppercase()
        .is_in(["DRUG WITHDRAWN", "DRUG DISCONTINUED"])
        if "AEACN" in ae.columns
        else pl.lit(False)
    )
    ae = ae.with_columns(
        pl.when(teae).then(pl.lit("Y")).otherwise(pl.lit("N")).alias("TRTEMFL"),
        pl.when(fatal).then(pl.lit("Y")).otherwise(pl.lit("N")).alias("FATALFL"),
        pl.when(wd).then(pl.lit("Y")).otherwise(pl.lit("N")).alias("AEWDFL"),
        compute_ady("ASTDT", "TRTSDT").alias("ASTDY"),
        pl.lit("AE").alias("SRCDOM"),
    )
    cols = keep + [
        "AETERM",
        "AEDECOD",
        "AEBODSYS",
        "AESTDTC",
        "AEENDTC",
        "ASTDT",
        "ASTDTF",
        "AENDT",
        "AENDTF",
        "ASTDY",
        "AESER",
        "AESEV",
        "AETOXGR",
        "ATOXGR",
        "AEREL",
        "AREL",
        "AEOUT",
        "AEACN",
        "TRTEMFL",
        "FATALFL",
        "AEWDFL",
        "SRCDOM",
        "SRCROW",
    ]
    return ae.select([c for c in cols if c in ae.columns]).sort(
        ["USUBJID", "ASTDT", "SRCROW"], nulls_last=True
    )


def create_adce(dataset_ce: pl.DataFrame, adsl: pl.DataFrame) -> pl.DataFrame:
    """ADCE: every clinical event with ASTDT (imputed as AE start dates, floor = origin), ASTDY and
    category flags (CECAT: the first CE time-to-event parameter of the parameter table whose terms
    hold the event, DECOMP, HCC or LIVFAIL; else OTHER), for listings and traceability."""
    keep = [c for c in ADSL_KEEP if c in adsl.columns]
    ce = dataset_ce.join(adsl.select(keep), on="USUBJID", how="left")
    dec = pl.col("CEDECOD").str.to_uppercase()
    cat = pl.lit("OTHER")
    for p in reversed([p for p in TTE if p.kind == "ce"]):  # built backwards: the first match wins
        cat = pl.when(dec.is_in(list(p.ce_terms()))).then(pl.lit(p.paramcd)).otherwise(cat)
    ce = ce.with_columns(
        compute_imputed_start("CESTDTC", "ORIGDT").alias("ASTDT"),
        compute_imputation_flag("CESTDTC").alias("ASTDTF"),
        cat.alias("CECAT"),
        pl.lit("CE").alias("SRCDOM"),
    )
    ce = ce.with_columns(compute_ady("ASTDT", "ORIGDT").alias("ASTDY")).with_columns(
        pl.when(pl.col("ASTDY") >= 1).then(pl.lit("Y")).otherwise(pl.lit("N")).alias("ONTRTFL")
    )
    cols = keep + [
        "CEDECOD",
        "CESTDTC",
        "ASTDT",
        "ASTDTF",
        "ASTDY",
        "CECAT",
        "ONTRTFL",
        "SRCDOM",
        "SRCROW",
    ]
    return ce.select([c for c in cols if c in ce.columns]).sort(
        ["USUBJID", "ASTDT", "SRCROW"], nulls_last=True
    )

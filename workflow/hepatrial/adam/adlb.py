"""ADLB: one record per lab result, in standard units, windowed to analysis visits."""

from __future__ import annotations

import polars as pl

from hepatrial.adam.common import adsl_vars, derive_bds_timing, split_unanalysable, with_adsl_vars
from hepatrial.dates import dtc_date
from hepatrial.spec import Study
from hepatrial.spec.params import adam_param_labels


def ranged_tests(lb: pl.DataFrame | pl.LazyFrame) -> dict[str, list[str]]:
    """The tests (LBTESTCD) with a lower (``"lo"``) and with an upper (``"hi"``) reference limit
    (LBSTNRLO, LBSTNRHI) on at least one result, from the whole LB domain (a build in batches of
    subjects reads it once, so each batch classifies as the whole would)."""
    got = (
        lb.lazy()
        .group_by("LBTESTCD")
        .agg(
            pl.col("LBSTNRLO").is_not_null().any().alias("lo"),
            pl.col("LBSTNRHI").is_not_null().any().alias("hi"),
        )
        .collect()
    )
    return {k: sorted(got.filter(pl.col(k))["LBTESTCD"].to_list()) for k in ("lo", "hi")}


def derive_var_anrind(
    dataset: pl.DataFrame, ranged: dict[str, list[str]] | None = None
) -> pl.DataFrame:
    """ANRIND: LOW (< ANRLO), HIGH (> ANRHI), NORMAL; BNRIND: the baseline record's ANRIND.

    NORMAL needs every limit the test has elsewhere (``ranged``: :func:`ranged_tests`, default
    from ``dataset``): a result without the lower limit its test's other results have cannot be
    LOW, so it is not classified (missing, not NORMAL) unless its upper limit makes it HIGH; and
    the same for the upper limit. A test with one limit everywhere (tumour markers: an upper
    limit) is classified by that limit."""
    test = pl.col("LBTESTCD") if "LBTESTCD" in dataset.columns else pl.col("PARAMCD")
    if ranged is None:
        ranged = ranged_tests(
            dataset.select(
                test.alias("LBTESTCD"),
                pl.col("ANRLO").alias("LBSTNRLO"),
                pl.col("ANRHI").alias("LBSTNRHI"),
            )
        )
    lo_missing = pl.col("ANRLO").is_null() & test.is_in(ranged["lo"])
    hi_missing = pl.col("ANRHI").is_null() & test.is_in(ranged["hi"])
    ind = (
        pl.when(pl.col("AVAL").is_null() | (pl.col("ANRLO").is_null() & pl.col("ANRHI").is_null()))
        .then(None)
        .when(pl.col("AVAL") < pl.col("ANRLO"))
        .then(pl.lit("LOW"))
        .when(pl.col("AVAL") > pl.col("ANRHI"))
        .then(pl.lit("HIGH"))
        .when(lo_missing | hi_missing)
        .then(None)
        .otherwise(pl.lit("NORMAL"))
    )
    df = dataset.with_columns(ind.alias("ANRIND"))
    bl = (
        df.filter(pl.col("ABLFL") == "Y")
        .select("USUBJID", "PARAMCD", pl.col("ANRIND").alias("BNRIND"))
        .unique(["USUBJID", "PARAMCD"], keep="first")
    )
    return df.join(bl, on=["USUBJID", "PARAMCD"], how="left")


def _censoring_vars(lb: pl.DataFrame) -> list[pl.Expr]:
    """AVALCAT1 ("<LLOQ" / ">ULOQ"), BLQFL ("Y" below the LLOQ), LLOQ and ULOQ (standard unit) of a
    censored result (ingest: LBCENS, LBLLOQ, LBULOQ); null otherwise."""
    if "LBCENS" not in lb.columns:
        return [
            pl.lit(None, pl.Utf8).alias("AVALCAT1"),
            pl.lit(None, pl.Utf8).alias("BLQFL"),
            pl.lit(None, pl.Float64).alias("LLOQ"),
            pl.lit(None, pl.Float64).alias("ULOQ"),
        ]
    return [
        pl.col("LBCENS").alias("AVALCAT1"),
        pl.when(pl.col("LBCENS") == "<LLOQ")
        .then(pl.lit("Y"))
        .otherwise(pl.lit(None, pl.Utf8))
        .alias("BLQFL"),
        pl.col("LBLLOQ").alias("LLOQ"),
        pl.col("LBULOQ").alias("ULOQ"),
    ]


def derive_params_log10(
    adlb: pl.DataFrame, log10: dict[str, str], labels: dict[str, str]
) -> pl.DataFrame:
    """Add a log10 parameter for each LBTESTCD of ``log10`` (test -> new PARAMCD): one row per
    source row, AVAL = log10(AVAL) (missing when AVAL is missing or <= 0), LLOQ/ULOQ/ANRLO/ANRHI in
    log10, AVALC missing, the censoring flags (BLQFL, AVALCAT1) and SRCROW kept. PARAMTYP is
    "DERIVED" on these rows (missing on the measured ones)."""
    df = adlb.with_columns(pl.lit(None, pl.Utf8).alias("PARAMTYP"))
    src = df.filter(pl.col("PARAMCD").is_in(list(log10)))
    if not log10 or src.height == 0:
        return df

    def lg(c: str) -> pl.Expr:
        return pl.when(pl.col(c) > 0).then(pl.col(c).log10()).otherwise(None).alias(c)

    new = src.with_columns(
        pl.col("PARAMCD").replace_strict(dict(log10)).alias("PARAMCD"),
        lg("AVAL"),
        lg("LLOQ"),
        lg("ULOQ"),
        lg("ANRLO"),
        lg("ANRHI"),
        pl.lit(None, pl.Utf8).alias("AVALC"),
        pl.lit("DERIVED").alias("PARAMTYP"),
    )
    new = new.with_columns(
        pl.col("PARAMCD")
        .replace_strict(labels, default=None)
        .fill_null(pl.format("{} (log10)", pl.col("PARAM")))
        .alias("PARAM")
    )
    return pl.concat([df, new.select(df.columns)], how="vertical_relaxed")


def create_adlb(
    dataset_lb: pl.DataFrame,
    adsl: pl.DataFrame,
    study: Study,
    ranged: dict[str, list[str]] | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """ADLB from the clean LB domain. Returns (ADLB, exclusions). ``ranged``: the tests with each
    reference limit in the whole LB domain (:func:`ranged_tests`; default: in ``dataset_lb``).

    Excluded (listed with the reason): results not done (LBSTAT NOT DONE with no result) and
    records of subjects with no analysis origin (screen failures: neither randomised nor dosed).
    """
    if ranged is None:
        ranged = ranged_tests(dataset_lb)
    vars_ = adsl_vars(adsl, study)
    lean = [c for c in vars_ if c in ("USUBJID", "ORIGDT")]  # the rest joins the sorted result
    carried = [c for c in vars_ if c not in lean]
    lb = dataset_lb.join(adsl.select(lean), on="USUBJID", how="left")
    not_done = (pl.col("LBSTAT").fill_null("") == "NOT DONE") & pl.col("LBSTRESC").is_null()
    lb, excl = split_unanalysable(
        lb,
        "LB",
        [
            (not_done, "test not done (LBSTAT NOT DONE)"),
            (
                pl.col("ORIGDT").is_null(),
                "subject has no analysis origin (not randomised or dosed)",
            ),
        ],
    )
    unit = pl.col("LBSTRESU").fill_null("")
    adlb = (
        lb.with_columns(
            pl.col("LBTESTCD").alias("PARAMCD"),
            pl.when(unit == "")
            .then(pl.coalesce("LBTEST", "LBTESTCD"))
            .otherwise(pl.format("{} ({})", pl.coalesce("LBTEST", "LBTESTCD"), unit))
            .alias("PARAM"),
            pl.col("LBSTRESN").alias("AVAL"),
            pl.col("LBSTRESC").alias("AVALC"),
            dtc_date("LBDTC").alias("ADT"),
            pl.col("LBSTNRLO").alias("ANRLO"),
            pl.col("LBSTNRHI").alias("ANRHI"),
            *_censoring_vars(lb),
            pl.lit("LB").alias("SRCDOM"),
        )
        .pipe(derive_params_log10, dict(study.labs.log10), adam_param_labels("adlb"))
        .pipe(derive_bds_timing, study)
        .pipe(derive_var_anrind, ranged)
    )
    del lb
    keep = vars_ + [
        "PARAMCD",
        "PARAM",
        "PARAMTYP",
        "AVAL",
        "AVALC",
        "AVALCAT1",
        "BLQFL",
        "LLOQ",
        "ULOQ",
        "ADT",
        "ADY",
        "AVISIT",
        "AVISITN",
        "AWTARGET",
        "AWTDIFF",
        "ABLFL",
        "ANL01FL",
        "BASE",
        "CHG",
        "PCHG",
        "ANRLO",
        "ANRHI",
        "ANRIND",
        "BNRIND",
        "LBORRES",
        "LBORRESU",
        "LBSTAT",
        "LBDTC",
        "ABLFLSRC",
        "VISIT",
        "SRCDOM",
        "SRCROW",
    ]
    cols = [c for c in keep if c in adlb.columns or c in carried]
    return with_adsl_vars(
        adlb, adsl, cols, carried, ["USUBJID", "PARAMCD", "ADT", "SRCROW"], nulls_last=False
    ), excl

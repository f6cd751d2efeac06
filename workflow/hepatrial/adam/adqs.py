"""ADQS: questionnaire items and scores (CLDQ, EQ-5D-5L, RAND-36), per docs/scoring.md.

Item rows carry the response (PARAMCD = QSTESTCD, AVAL = QSSTRESN, SRCROW of the QS row);
score rows (PARAMTYP "DERIVED") come from :mod:`hepatrial.scores` per assessment (subject and
QSDTC). When an item was recorded twice for one assessment, the later source row is used and the
other goes to the exclusions with the reason.
"""

from __future__ import annotations

import polars as pl

from hepatrial import scores
from hepatrial.adam.common import adsl_vars, derive_bds_timing, split_unanalysable, with_adsl_vars
from hepatrial.contract import EXCL_SCHEMA
from hepatrial.dates import dtc_date
from hepatrial.spec import Study

BY = ["USUBJID", "QSDTC"]


def create_adqs(
    dataset_qs: pl.DataFrame, adsl: pl.DataFrame, study: Study
) -> tuple[pl.DataFrame, pl.DataFrame]:
    keep = adsl_vars(adsl, study)
    # The derivations need the origin only: the other ADSL variables join the sorted result at the end
    # (one row per subject in ADSL, so the values are the same), which keeps the frames sorted and
    # joined along the way narrow.
    lean = [c for c in keep if c in ("USUBJID", "ORIGDT")]
    carried = [c for c in keep if c not in lean]
    qs = dataset_qs.join(adsl.select(lean), on="USUBJID", how="left")
    qs, excl = split_unanalysable(
        qs,
        "QS",
        [(pl.col("ORIGDT").is_null(), "subject has no analysis origin (not randomised or dosed)")],
    )
    dup = pl.col("SRCROW") != pl.col("SRCROW").max().over([*BY, "QSCAT", "QSTESTCD"])
    qs, excl2 = split_unanalysable(
        qs, "QS", [(dup, "item recorded twice for the assessment (later row used)")]
    )
    qs = qs.with_columns(pl.col("QSSTRESN").cast(pl.Float64))
    # the SDTM VISIT (nominal windowing): item rows carry their own, score rows their assessment's
    vis = [pl.col("VISIT").cast(pl.Utf8)] if "VISIT" in qs.columns else []
    items = qs.select(
        *lean,
        "QSDTC",
        "QSCAT",
        pl.col("QSTESTCD").alias("PARAMCD"),
        pl.format("{} item {}", "QSCAT", "QSTESTCD").alias("PARAM"),
        pl.col("QSSTRESN").alias("AVAL"),
        pl.col("QSORRES").alias("AVALC")
        if "QSORRES" in qs.columns
        else pl.lit(None, pl.Utf8).alias("AVALC"),
        pl.lit("ITEM").alias("PARAMTYP"),
        pl.lit("QS").alias("SRCDOM"),
        "SRCROW",
        *vis,
    )
    parts = []
    cat = pl.col("QSCAT")
    if qs.filter(cat == "CLDQ").height:
        parts.append(
            scores.score_cldq(qs.filter(cat == "CLDQ"), by=BY).with_columns(
                pl.lit("CLDQ").alias("QSCAT")
            )
        )
    if qs.filter(cat == "EQ-5D-5L").height:
        parts.append(
            scores.score_eq5d5l(
                qs.filter(cat == "EQ-5D-5L"), value_set=study.scores.eq5d_value_set, by=BY
            ).with_columns(pl.lit("EQ-5D-5L").alias("QSCAT"))
        )
    if qs.filter(cat == "SF-36").height:
        sf = scores.score_rand36(qs.filter(cat == "SF-36"), by=BY)
        # and the norm-based physical and mental component summaries (SFPCS, SFMCS)
        sf = pl.concat([sf, scores.score_sf36_summary(sf, by=BY)], how="vertical_relaxed")
        parts.append(sf.with_columns(pl.lit("SF-36").alias("QSCAT")))
    first_row = qs.group_by([*BY, "QSCAT"]).agg(
        pl.col("SRCROW").min(),
        *([pl.col("VISIT").cast(pl.Utf8).sort_by("SRCROW").first()] if vis else []),
    )
    del qs
    derived = []
    for p in parts:
        derived.append(
            p.join(first_row, on=[*BY, "QSCAT"], how="left")
            .join(adsl.select(lean), on="USUBJID", how="left")
            .select(
                *lean,
                "QSDTC",
                "QSCAT",
                "PARAMCD",
                "PARAM",
                pl.col("AVAL").cast(pl.Float64),
                pl.lit(None, pl.Utf8).alias("AVALC"),
                pl.lit("DERIVED").alias("PARAMTYP"),
                pl.lit(None, pl.Utf8).alias("SRCDOM"),
                "SRCROW",
                *vis,
            )
        )
    adqs = (
        pl.concat([items, *derived], how="vertical_relaxed")
        .with_columns(dtc_date("QSDTC").alias("ADT"))
        .pipe(derive_bds_timing, study)
    )
    del items, derived
    cols = keep + [
        "QSCAT",
        "PARAMCD",
        "PARAM",
        "PARAMTYP",
        "AVAL",
        "AVALC",
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
        "QSDTC",
        "SRCDOM",
        "SRCROW",
    ]
    if study.windowing == "nominal":  # the SDTM VISIT the analysis visit came from
        cols += [c for c in ("ABLFLSRC", "VISIT") if c in adqs.columns]
    excl_all = (
        pl.concat([excl, excl2]).cast(EXCL_SCHEMA)
        if excl.height + excl2.height
        else pl.DataFrame(schema=EXCL_SCHEMA)
    )
    return with_adsl_vars(
        adqs, adsl, cols, carried, ["USUBJID", "PARAMCD", "ADT", "SRCROW"]
    ), excl_all

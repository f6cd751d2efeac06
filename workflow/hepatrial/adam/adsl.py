"""ADSL: one row per subject of DM.

Built in two steps because the baseline scores come from ADEFF, which itself needs the
subject-level dates: :func:`create_adsl_core` (everything but the scores), then
:func:`derive_vars_baseline_scores` (BLMELD, BLCTPS, BLCTPC from ADEFF's baseline records).
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from hepatrial.contract import PROTOCOL_MILESTONES
from hepatrial.dates import dtc_date, dtc_earliest, dtc_latest, dtc_precision
from hepatrial.spec import Study


def compute_last_alive_dates(domains: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """USUBJID -> LSTALVDT: the latest complete date of the subject in any domain, death records excluded.

    Sources: DM RFICDTC/RFSTDTC, SV, LB, QS, RS, EX, AE (start; end unless the outcome is fatal),
    DS (not DEATH), PR, CE. A visit, a sample, a procedure or an event on a day proves the subject
    alive that day.
    """
    parts = []

    def add(dom: str, col: str, keep: pl.Expr | None = None):
        df = domains.get(dom)
        if df is None or col not in df.columns or df.height == 0:
            return
        if keep is not None:
            df = df.filter(keep)
        parts.append(df.select("USUBJID", dtc_date(col).alias("_d")))

    add("DM", "RFICDTC")
    add("DM", "RFSTDTC")
    add("SV", "SVSTDTC")
    add("LB", "LBDTC")
    add("QS", "QSDTC")
    add("RS", "RSDTC")
    add("EX", "EXSTDTC")
    add("AE", "AESTDTC")
    if "AE" in domains and "AEOUT" in domains["AE"].columns:
        add("AE", "AEENDTC", pl.col("AEOUT").fill_null("").str.to_uppercase() != "FATAL")
    add("DS", "DSSTDTC", pl.col("DSDECOD").str.to_uppercase() != "DEATH")
    add("PR", "PRSTDTC")
    add("CE", "CESTDTC")
    if not parts:
        return pl.DataFrame(schema={"USUBJID": pl.Utf8, "LSTALVDT": pl.Date})
    return (
        pl.concat(parts)
        .drop_nulls("_d")
        .group_by("USUBJID")
        .agg(pl.col("_d").max().alias("LSTALVDT"))
    )


def _first_by_subject(
    df: pl.DataFrame, date_expr: pl.Expr, name: str, how: str = "min"
) -> pl.DataFrame:
    agg = date_expr.min() if how == "min" else date_expr.max()
    return df.group_by("USUBJID").agg(agg.alias(name))


def derive_vars_treatment(adsl: pl.DataFrame, study: Study) -> pl.DataFrame:
    """TRT01P/TRT01PN from ARM and TRT01A/TRT01AN from ACTARM via the study config's arms."""
    lab = {a.arm: a.label for a in study.arms}
    code = {a.arm: a.code for a in study.arms}
    return adsl.with_columns(
        pl.col("ARM").replace_strict(lab, default=None).alias("TRT01P"),
        pl.col("ARM").replace_strict(code, default=None, return_dtype=pl.Int64).alias("TRT01PN"),
        pl.col("ACTARM").replace_strict(lab, default=None).alias("TRT01A"),
        pl.col("ACTARM").replace_strict(code, default=None, return_dtype=pl.Int64).alias("TRT01AN"),
    )


def derive_vars_dates(
    adsl: pl.DataFrame, ds: pl.DataFrame, ex: pl.DataFrame, study: Study
) -> pl.DataFrame:
    """RANDDT, TRTSDT, TRTEDT, NINFUS, ORIGDT (the analysis origin: config ``origin``)."""
    rand = _first_by_subject(
        ds.filter(pl.col("DSDECOD").str.to_uppercase() == "RANDOMIZED"),
        dtc_date("DSSTDTC"),
        "RANDDT",
    )
    exd = ex.with_columns(dtc_date("EXSTDTC").alias("_d"))
    trt = exd.group_by("USUBJID").agg(
        pl.col("_d").min().alias("TRTSDT"),
        pl.col("_d").max().alias("TRTEDT"),
        pl.col("_d").drop_nulls().n_unique().cast(pl.Int64).alias("NINFUS"),
    )
    df = (
        adsl.join(rand, on="USUBJID", how="left")
        .join(trt, on="USUBJID", how="left")
        .with_columns(
            pl.coalesce("TRTSDT", dtc_date("RFSTDTC")).alias("TRTSDT"),
            pl.col("NINFUS").fill_null(0),
        )
    )
    return df.with_columns(origin_date(study).alias("ORIGDT"))


def origin_date(study: Study) -> pl.Expr:
    """The analysis origin from RANDDT and TRTSDT. Sponsor decision: the randomisation date (or
    first dose, per config ``origin``); a subject without it (no randomisation in single-arm
    designs; never dosed) falls back to the other date."""
    first, second = (
        ("RANDDT", "TRTSDT") if study.origin == "randomization" else ("TRTSDT", "RANDDT")
    )
    return pl.coalesce(first, second)


def derive_vars_death(adsl: pl.DataFrame, ds: pl.DataFrame) -> pl.DataFrame:
    """DTHDT (imputed from a partial DTHDTC), DTHDTF, DTHFL.

    Imputation (contract): first day of the period, but never before the last known alive date,
    nor after the period's last day. DTHDTF = "D" (day imputed) or "M" (month and day imputed).
    A DS DEATH record counts when DM has no death date.
    """
    dsd = _first_by_subject(
        ds.filter(pl.col("DSDECOD").str.to_uppercase() == "DEATH"), dtc_date("DSSTDTC"), "_dsdth"
    )
    df = adsl.join(dsd, on="USUBJID", how="left")
    prec = dtc_precision("DTHDTC")
    early = dtc_earliest("DTHDTC")
    late = dtc_latest("DTHDTC")
    imputed = (
        pl.when(early.is_null())
        .then(None)
        .otherwise(pl.min_horizontal(pl.max_horizontal(early, pl.col("LSTALVDT")), late))
    )
    dthdt = pl.when(prec == "D").then(dtc_date("DTHDTC")).when(prec.is_in(["M", "Y"])).then(imputed)
    return (
        df.with_columns(
            pl.coalesce(dthdt, pl.col("_dsdth")).alias("DTHDT"),
            pl.when(prec == "M")
            .then(pl.lit("D"))
            .when(prec == "Y")
            .then(pl.lit("M"))
            .otherwise(None)
            .alias("DTHDTF"),
        )
        .with_columns(
            pl.when(pl.col("DTHDT").is_not_null()).then(pl.lit("Y")).otherwise(None).alias("DTHFL")
        )
        .drop("_dsdth")
    )


def derive_vars_transplant(adsl: pl.DataFrame, pr: pl.DataFrame) -> pl.DataFrame:
    """LTXDT: first liver transplant (PR LIVER TRANSPLANT); a partial date -> first day of its period,
    never before the origin. LTXDTF as DTHDTF."""
    tx = pr.filter(pl.col("PRDECOD").str.to_uppercase() == "LIVER TRANSPLANT").with_columns(
        dtc_earliest("PRSTDTC").alias("_e"), dtc_precision("PRSTDTC").alias("_p")
    )
    first = (
        tx.sort(["USUBJID", "_e"])
        .group_by("USUBJID", maintain_order=True)
        .first()
        .select("USUBJID", "_e", "_p")
    )
    df = adsl.join(first, on="USUBJID", how="left")
    return df.with_columns(
        pl.when(pl.col("_e").is_null())
        .then(None)
        .when(pl.col("_p") == "D")
        .then(pl.col("_e"))
        .otherwise(pl.max_horizontal("_e", "ORIGDT"))
        .alias("LTXDT"),
        pl.when(pl.col("_p") == "M")
        .then(pl.lit("D"))
        .when(pl.col("_p") == "Y")
        .then(pl.lit("M"))
        .otherwise(None)
        .alias("LTXDTF"),
    ).drop("_e", "_p")


def derive_vars_disposition(adsl: pl.DataFrame, ds: pl.DataFrame) -> pl.DataFrame:
    """EOSSTT (COMPLETED / DISCONTINUED / ONGOING) and DCSREAS from the last DS disposition event
    (DSCAT ``DISPOSITION EVENT``, or empty; a protocol milestone, ``PROTOCOL_MILESTONES``, never)."""
    disp = ds.filter(
        pl.col("DSDECOD").str.to_uppercase().is_in(list(PROTOCOL_MILESTONES)).not_()
        & (pl.col("DSCAT").fill_null("DISPOSITION EVENT").str.to_uppercase() == "DISPOSITION EVENT")
    )
    last = (
        disp.with_columns(dtc_date("DSSTDTC").alias("_d"))
        .sort(["USUBJID", "_d", "SRCROW"])
        .group_by("USUBJID", maintain_order=True)
        .last()
        .select("USUBJID", pl.col("DSDECOD").alias("_dec"))
    )
    df = adsl.join(last, on="USUBJID", how="left")
    dec = pl.col("_dec").str.to_uppercase()
    return df.with_columns(
        pl.when(dec == "COMPLETED")
        .then(pl.lit("COMPLETED"))
        .when(dec.is_not_null())
        .then(pl.lit("DISCONTINUED"))
        .when(pl.col("DTHFL") == "Y")
        .then(pl.lit("DISCONTINUED"))
        .otherwise(pl.lit("ONGOING"))
        .alias("EOSSTT"),
        pl.when(dec.is_not_null() & (dec != "COMPLETED"))
        .then(dec)
        .when(dec.is_null() & (pl.col("DTHFL") == "Y"))
        .then(pl.lit("DEATH"))
        .otherwise(None)
        .alias("DCSREAS"),
    ).drop("_dec")


def planned_infusions_by_arm(study: Study) -> dict[str, int]:
    """Arm label -> infusions the protocol plans for that arm (``arms[].planned_infusions``, else the
    study's ``planned_infusions``): 4 vs 8 weekly infusions in the ACLF trial."""
    return {a: study.planned_infusions_of(a) for a in study.arm_labels}


def derive_vars_populations(adsl: pl.DataFrame, study: Study) -> pl.DataFrame:
    """Population flags (Y/N).

    - ENRLFL: consented and assigned to an arm (not a screen failure);
    - ITTFL: randomised to a configured arm (designs without randomisation: enrolled and dosed);
    - SAFFL: at least one dose (any EX record, placebo included);
    - PPFL: ITT and all the infusions planned for the subject's arm received (``arms[].planned_infusions``,
      default the study's ``planned_infusions``);
    - COMPLFL: completed the study (EOSSTT COMPLETED).
    """
    in_arm = pl.col("TRT01P").is_not_null()
    randomised = pl.col("RANDDT").is_not_null()
    if not study.design.randomised:
        randomised = randomised | pl.col("TRTSDT").is_not_null()
    yn = lambda e: pl.when(e).then(pl.lit("Y")).otherwise(pl.lit("N"))  # noqa: E731
    return adsl.with_columns(
        yn(in_arm).alias("ENRLFL"),
        yn(in_arm & randomised).alias("ITTFL"),
        yn(pl.col("TRTSDT").is_not_null() & pl.coalesce("TRT01A", "TRT01P").is_not_null()).alias(
            "SAFFL"
        ),
    ).with_columns(
        yn(
            (pl.col("ITTFL") == "Y")
            & (
                pl.col("NINFUS")
                >= pl.col("TRT01P").replace_strict(
                    planned_infusions_by_arm(study),
                    default=study.planned_infusions,
                    return_dtype=pl.Int64,
                )
            )
        ).alias("PPFL"),
        yn(pl.col("EOSSTT") == "COMPLETED").alias("COMPLFL"),
    )


def derive_vars_etiology(adsl: pl.DataFrame, study: Study) -> pl.DataFrame:
    """CHOLFL (cholestatic etiology: CTP cut-offs) and MELDETIO (Kamath MELD etiology term 0/1)."""
    ecfg = study.etiology
    e = pl.col(ecfg.column).str.to_uppercase().str.strip_chars()
    chol = [x.upper() for x in ecfg.cholestatic]
    zero = [x.upper() for x in ecfg.meldkam_zero]
    return adsl.with_columns(
        pl.when(e.is_null())
        .then(None)
        .when(e.is_in(chol))
        .then(pl.lit("Y"))
        .otherwise(pl.lit("N"))
        .alias("CHOLFL"),
        pl.when(e.is_null())
        .then(None)
        .when(e.is_in(zero))
        .then(pl.lit(0))
        .otherwise(pl.lit(1))
        .cast(pl.Int64)
        .alias("MELDETIO"),
    )


def create_adsl_core(domains: dict[str, pl.DataFrame], study: Study, cut: dt.date) -> pl.DataFrame:
    """ADSL without the baseline scores. ``domains`` holds the clean SDTM frames by upper-case code."""
    dm = domains["DM"]
    fixed = {
        "STUDYID",
        "USUBJID",
        "SUBJID",
        "SITEID",
        "ARM",
        "ACTARM",
        "AGE",
        "SEX",
        "RACE",
        "COUNTRY",
        "RFSTDTC",
        "RFICDTC",
        "DTHDTC",
    }
    extra = [
        c
        for c in dict.fromkeys([*study.baseline_columns, *study.strata, study.etiology.column])
        if c in dm.columns and c not in fixed
    ]

    adsl = dm.select(
        "STUDYID",
        "USUBJID",
        *(["SUBJID"] if "SUBJID" in dm.columns else []),
        "SITEID",
        "ARM",
        "ACTARM",
        pl.col("AGE").cast(pl.Float64, strict=False).alias("AGE"),
        "SEX",
        "RACE",
        "COUNTRY",
        "RFSTDTC",
        "RFICDTC",
        "DTHDTC",
        *extra,
        pl.col("SRCROW").alias("DMSRCROW"),
    )
    empty_pr = pl.DataFrame(schema={"USUBJID": pl.Utf8, "PRDECOD": pl.Utf8, "PRSTDTC": pl.Utf8})
    adsl = (
        adsl.pipe(derive_vars_treatment, study)
        .pipe(derive_vars_dates, domains["DS"], domains["EX"], study)
        .join(compute_last_alive_dates(domains), on="USUBJID", how="left")
        .pipe(derive_vars_death, domains["DS"])
        .pipe(derive_vars_transplant, domains.get("PR", empty_pr))
        .pipe(derive_vars_disposition, domains["DS"])
        .pipe(derive_vars_populations, study)
        .pipe(derive_vars_etiology, study)
        .with_columns(pl.lit(cut).alias("DCUTDT"))
        .drop("RFSTDTC", "DTHDTC")
    )
    return adsl.sort("USUBJID")


def derive_vars_baseline_scores(
    adsl: pl.DataFrame, adeff: pl.DataFrame, meld_paramcd: str
) -> pl.DataFrame:
    """BLMELD (the config's primary MELD), BLCTPS (CTP score) and BLCTPC (class) from ADEFF baselines."""
    bl = adeff.filter(pl.col("ABLFL") == "Y")
    pick = lambda p, c, name: bl.filter(pl.col("PARAMCD") == p).select(
        "USUBJID", pl.col(c).alias(name)
    )  # noqa
    return (
        adsl.join(pick(meld_paramcd, "AVAL", "BLMELD"), on="USUBJID", how="left")
        .join(pick("CTPSCORE", "AVAL", "BLCTPS"), on="USUBJID", how="left")
        .join(pick("CTPCLASS", "AVALC", "BLCTPC"), on="USUBJID", how="left")
    )

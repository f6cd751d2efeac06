"""Derivations shared by the BDS datasets (ADLB, ADEFF, ADQS), admiral style.

Each ``derive_*`` adds variables to its first argument and depends only on its arguments.
Conventions (sponsor decisions, set in the study config):
- analysis day ADY: ADT - origin + 1 on or after the origin, ADT - origin before it (no day 0),
  as SDTM --DY;
- analysis visits: the config's windows (in ADY); a record outside every window keeps
  AVISIT "UNSCHEDULED" and is not analysed (ANL01FL missing);
- within a subject, parameter and visit, the record closest to the visit's target day has
  ANL01FL = "Y"; ties go to the earlier record, then to the earlier source row;
- nominal windowing (config ``windowing: nominal``, a domain with VISIT): AVISIT/AVISITN from the
  record's SDTM VISIT (``visits[].sdtm_visits``, default the label), whatever its date; VISIT
  missing or naming no configured visit: "UNSCHEDULED" (not analysed by visit);
- baseline (ABLFL = "Y"): the last non-missing AVAL on or before the origin (config
  ``baseline.rule``), no earlier than ``baseline.earliest_day``; with ``baseline.visit`` (nominal
  windowing) the last such value of that SDTM visit, falling back to the rule when the subject has
  none there. It takes AVISIT "BASELINE" (the config's baseline visit label) and ANL01FL = "Y",
  whatever window it fell in;
- a screening visit (``visits[].screening``) is summarised as its own visit: its record closest to
  the target day has ANL01FL = "Y" (no CHG; never post-baseline).
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from hepatrial.contract import EXCL_SCHEMA  # one exclusions layout for ingest and ADaM
from hepatrial.dates import compute_ady
from hepatrial.spec import Study, Visit

BY = ["USUBJID", "PARAMCD"]


def derive_vars_dy(dataset: pl.DataFrame, adt: str = "ADT", origin: str = "ORIGDT") -> pl.DataFrame:
    return dataset.with_columns(compute_ady(adt, origin).alias("ADY"))


def visit_table(visits: Sequence[Visit]) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "AVISIT": v.label,
                "AVISITN": float(v.avisitn),
                "_target": v.target_day,
                "_lo": v.window[0],
                "_hi": v.window[1],
                "_isbl": bool(v.baseline),
                "_isscr": bool(v.screening),
            }
            for v in visits
        ],
        schema={
            "AVISIT": pl.Utf8,
            "AVISITN": pl.Float64,
            "_target": pl.Int64,
            "_lo": pl.Int64,
            "_hi": pl.Int64,
            "_isbl": pl.Boolean,
            "_isscr": pl.Boolean,
        },
    )


def derive_vars_avisit(dataset: pl.DataFrame, visits: Sequence[Visit]) -> pl.DataFrame:
    """AVISIT/AVISITN from the window holding ADY (windows do not overlap; the config checks it).

    Adds ``AWTARGET`` (target day) and ``AWTDIFF`` (|ADY - target|). Records outside every window get
    AVISIT "UNSCHEDULED" and AVISITN null.
    """
    vt = visit_table(visits)
    ady = pl.col("ADY")
    avisit = pl.lit(None, pl.Utf8)
    avisitn = pl.lit(None, pl.Float64)
    target = pl.lit(None, pl.Int64)
    for r in reversed(vt.to_dicts()):
        inside = ady.is_between(r["_lo"], r["_hi"])
        avisit = pl.when(inside).then(pl.lit(r["AVISIT"])).otherwise(avisit)
        avisitn = pl.when(inside).then(pl.lit(r["AVISITN"])).otherwise(avisitn)
        target = pl.when(inside).then(pl.lit(r["_target"])).otherwise(target)
    return dataset.with_columns(
        pl.when(ady.is_null())
        .then(None)
        .otherwise(avisit.fill_null("UNSCHEDULED"))
        .alias("AVISIT"),
        avisitn.alias("AVISITN"),
        target.alias("AWTARGET"),
        (ady - target).abs().alias("AWTDIFF"),
    )


def derive_vars_avisit_nominal(dataset: pl.DataFrame, visits: Sequence[Visit]) -> pl.DataFrame:
    """AVISIT/AVISITN from the record's SDTM VISIT (nominal windowing), whatever its date.

    A visit takes the records whose VISIT (upper case, trimmed) is one of its ``nominal_names``; a
    record with VISIT missing or naming no configured visit gets AVISIT "UNSCHEDULED" and AVISITN
    null. ``AWTARGET``/``AWTDIFF`` as for date windows (the pick among repeats of a visit)."""
    rows = [
        {"_VISN": n, "AVISIT": v.label, "AVISITN": float(v.avisitn), "AWTARGET": v.target_day}
        for v in visits
        for n in v.nominal_names
    ]
    vt = pl.DataFrame(
        rows,
        schema={"_VISN": pl.Utf8, "AVISIT": pl.Utf8, "AVISITN": pl.Float64, "AWTARGET": pl.Int64},
    )
    out = (
        dataset.drop("AVISIT", "AVISITN", "AWTARGET", "AWTDIFF", strict=False)
        .with_columns(
            pl.col("VISIT").cast(pl.Utf8).str.strip_chars().str.to_uppercase().alias("_VISN")
        )
        .join(vt, on="_VISN", how="left", maintain_order="left")
        .drop("_VISN")
    )
    return out.with_columns(
        pl.when(pl.col("ADY").is_null())
        .then(None)
        .otherwise(pl.col("AVISIT").fill_null("UNSCHEDULED"))
        .alias("AVISIT"),
        (pl.col("ADY") - pl.col("AWTARGET")).abs().alias("AWTDIFF"),
    )


def _flag_chosen(
    dataset: pl.DataFrame, eligible: pl.Expr, order: list[str], by: list[str], pick: str, name: str
) -> pl.DataFrame:
    """Flag (``name`` = "Y") the one eligible record per ``by`` group that sorts first (``pick="first"``)
    or last (``"last"``) on ``order``."""
    df = dataset.with_row_index("_rid")
    # lazily, so that only the by/order columns of the eligible records are sorted (not whole rows)
    chosen = (
        df.lazy()
        .filter(eligible)
        .select("_rid", *by, *order)
        .sort([*by, *order], nulls_last=True)
        .group_by(by, maintain_order=True)
        .agg(pl.col("_rid").first() if pick == "first" else pl.col("_rid").last())
        .collect()
    )
    ids = chosen["_rid"].implode()
    return df.with_columns(
        pl.when(pl.col("_rid").is_in(ids)).then(pl.lit("Y")).otherwise(None).alias(name)
    ).drop("_rid")


def derive_var_ablfl(
    dataset: pl.DataFrame,
    rule: str = "last_on_or_before_origin",
    earliest_day: int = -28,
    by: list[str] = BY,
) -> pl.DataFrame:
    """ABLFL = "Y" on the baseline record of each subject and parameter.

    Baseline = the last record with non-missing AVAL (or AVALC when AVAL is missing) whose ADY is
    on or before day 1 (``last_on_or_before_origin``) or before day 1 (``last_before_origin``) and
    not before ``earliest_day``. Ties on the same day go to the later source row (SRCROW).
    """
    last_day = 1 if rule == "last_on_or_before_origin" else -1
    has_val = pl.col("AVAL").is_not_null()
    if "AVALC" in dataset.columns:
        has_val = has_val | pl.col("AVALC").is_not_null()
    cand = has_val & pl.col("ADY").is_between(earliest_day, last_day)
    return _flag_chosen(dataset, cand, ["ADT", "SRCROW"], by, "last", "ABLFL")


def derive_var_ablfl_visit(
    dataset: pl.DataFrame,
    visit: str,
    rule: str = "last_on_or_before_origin",
    earliest_day: int = -28,
    by: list[str] = BY,
) -> pl.DataFrame:
    """ABLFL = "Y" on the last non-missing record of the SDTM visit ``visit`` (case-insensitive) on
    or before the origin (per ``rule``, not before ``earliest_day``); a subject and parameter with
    no such record fall back to :func:`derive_var_ablfl` (the last pre-dose value). ``ABLFLSRC``
    says which ("VISIT" or "LAST PRE-DOSE")."""
    last_day = 1 if rule == "last_on_or_before_origin" else -1
    has_val = pl.col("AVAL").is_not_null()
    if "AVALC" in dataset.columns:
        has_val = has_val | pl.col("AVALC").is_not_null()
    in_visit = (
        pl.col("VISIT").cast(pl.Utf8).str.strip_chars().str.to_uppercase() == visit.strip().upper()
    )
    cand = has_val & pl.col("ADY").is_between(earliest_day, last_day) & in_visit.fill_null(False)
    df = _flag_chosen(dataset, cand, ["ADT", "SRCROW"], by, "last", "_ablv")
    got = df.filter(pl.col("_ablv") == "Y").select(by).unique()
    df = derive_var_ablfl(df, rule, earliest_day, by)
    df = df.join(
        got.with_columns(pl.lit(True).alias("_hasv")), on=by, how="left", maintain_order="left"
    )
    return (
        df.with_columns(
            pl.when(pl.col("_hasv").fill_null(False))
            .then(pl.col("_ablv"))
            .otherwise(pl.col("ABLFL"))
            .alias("ABLFL"),
        )
        .with_columns(
            pl.when(pl.col("ABLFL").fill_null("") != "Y")
            .then(None)
            .when(pl.col("_hasv").fill_null(False))
            .then(pl.lit("VISIT"))
            .otherwise(pl.lit("LAST PRE-DOSE"))
            .alias("ABLFLSRC"),
        )
        .drop("_ablv", "_hasv")
    )


def derive_var_anl01fl(
    dataset: pl.DataFrame,
    baseline_label: str | None = "BASELINE",
    baseline_avisitn: float = 0.0,
    by: list[str] = BY,
    screening: Sequence[str] = (),
) -> pl.DataFrame:
    """ANL01FL = "Y" on the one record analysed per subject, parameter and post-baseline visit.

    The baseline record (ABLFL = "Y") takes AVISIT = ``baseline_label`` and ANL01FL = "Y"; other
    records in the baseline window are not analysed. Post-baseline (ADY > 1): the record with
    non-missing AVAL closest to the target day (ties: the earlier day, then the earlier source row).
    A ``screening`` visit (pre-baseline) is analysed the same way whatever its day, unless its
    record became the baseline.
    """
    df = dataset
    if baseline_label is not None:
        df = df.with_columns(
            pl.when(pl.col("ABLFL") == "Y")
            .then(pl.lit(baseline_label))
            .otherwise(pl.col("AVISIT"))
            .alias("AVISIT"),
            pl.when(pl.col("ABLFL") == "Y")
            .then(pl.lit(float(baseline_avisitn)))
            .otherwise(pl.col("AVISITN"))
            .alias("AVISITN"),
        )
    is_bl_visit = (
        (pl.col("AVISIT") == baseline_label) if baseline_label is not None else pl.lit(False)
    )
    is_scr = pl.col("AVISIT").is_in(list(screening)) if screening else pl.lit(False)
    eligible = (
        pl.col("AVAL").is_not_null()
        & pl.col("AVISITN").is_not_null()
        & ~is_bl_visit
        & ((pl.col("ADY") > 1) | (is_scr & pl.col("ABLFL").is_null()))
    )
    df = _flag_chosen(df, eligible, ["AWTDIFF", "ADY", "SRCROW"], [*by, "AVISIT"], "first", "_post")
    return df.with_columns(
        pl.when((pl.col("ABLFL") == "Y") | (pl.col("_post") == "Y"))
        .then(pl.lit("Y"))
        .otherwise(None)
        .alias("ANL01FL")
    ).drop("_post")


def derive_var_base(
    dataset: pl.DataFrame, source: str = "AVAL", new: str = "BASE", by: list[str] = BY
) -> pl.DataFrame:
    bl = (
        dataset.filter(pl.col("ABLFL") == "Y")
        .select(*by, pl.col(source).alias(new))
        .unique(subset=by, keep="first")
    )
    return dataset.drop(new, strict=False).join(bl, on=by, how="left")


def derive_var_chg(dataset: pl.DataFrame) -> pl.DataFrame:
    """CHG = AVAL - BASE on post-baseline records (missing on baseline and pre-baseline records)."""
    post = pl.col("ADY") > 1
    return dataset.with_columns(
        pl.when(post & (pl.col("ABLFL").is_null()))
        .then(pl.col("AVAL") - pl.col("BASE"))
        .otherwise(None)
        .alias("CHG")
    )


def derive_var_pchg(dataset: pl.DataFrame) -> pl.DataFrame:
    """PCHG = 100 x CHG / BASE (missing when BASE is 0 or missing)."""
    return dataset.with_columns(
        pl.when(pl.col("BASE") != 0)
        .then(100 * pl.col("CHG") / pl.col("BASE"))
        .otherwise(None)
        .alias("PCHG")
    )


def derive_bds_timing(dataset: pl.DataFrame, study: Study) -> pl.DataFrame:
    """ADY, AVISIT/AVISITN, ABLFL, ANL01FL, BASE, CHG, PCHG in one chain (for every BDS dataset)."""
    bl = next((v for v in study.visits if v.baseline), None)
    bl_label, bl_n = (bl.label, bl.avisitn) if bl else ("BASELINE", 0.0)
    nominal = study.windowing == "nominal" and "VISIT" in dataset.columns
    rule = study.baseline
    df = dataset.pipe(derive_vars_dy)
    if nominal:
        df = derive_vars_avisit_nominal(df, study.visits)
    else:
        df = derive_vars_avisit(df, study.visits)
    if nominal and rule.visit:
        df = derive_var_ablfl_visit(df, rule.visit, rule.rule, rule.earliest_day)
    else:
        df = derive_var_ablfl(df, rule.rule, rule.earliest_day)
    return (
        df.pipe(
            derive_var_anl01fl, bl_label, bl_n, BY, [v.label for v in study.visits if v.screening]
        )
        .pipe(derive_var_base)
        .pipe(derive_var_chg)
        .pipe(derive_var_pchg)
    )


BDS_ADSL_KEEP = [  # ADSL variables carried onto ADLB, ADEFF and ADQS
    "STUDYID",
    "USUBJID",
    "SITEID",
    "TRT01P",
    "TRT01PN",
    "TRT01A",
    "TRT01AN",
    "ORIGDT",
    "ITTFL",
    "SAFFL",
    "PPFL",
]


def carried(adsl: pl.DataFrame, standard: Sequence[str], *more: Sequence[str]) -> list[str]:
    """The ADSL variables an analysis dataset carries, in order, each once and those ADSL has:
    ``standard``, then each of ``more`` (the study's own: the flags of its populations, so that
    every configured population can be selected on the dataset, e.g. ``ITT: ENRLFL``; strata,
    covariates, subgroups)."""
    names = [c for group in (standard, *more) for c in group]
    return [c for c in dict.fromkeys(names) if c in adsl.columns]


def adsl_vars(adsl: pl.DataFrame, study: Study) -> list[str]:
    """The ADSL variables a BDS dataset carries: the standard ones, the strata, the MMRM
    covariates that are ADSL variables (``mmrm.covariates``, e.g. AGE) and the flags of the
    study's populations, those ADSL has."""
    return carried(
        adsl, BDS_ADSL_KEEP, study.strata, study.mmrm.covariates, study.populations.values()
    )


def with_adsl_vars(
    dataset: pl.DataFrame,
    adsl: pl.DataFrame,
    cols: list[str],
    carried: list[str],
    order: list[str],
    nulls_last: bool = True,
) -> pl.DataFrame:
    """Sort ``dataset`` on ``order`` (missing last), then add the ADSL variables ``carried`` (one ADSL
    row per subject) keeping that order, and select ``cols``. The same rows, values and order as
    joining ``carried`` first and sorting the wide result, with less copied along the way."""
    narrow = dataset.select([c for c in dict.fromkeys([*order, *cols]) if c not in carried])
    narrow = narrow.sort(order, nulls_last=nulls_last)
    if not carried:
        return narrow.select(cols)
    return narrow.join(
        adsl.select("USUBJID", *carried), on="USUBJID", how="left", maintain_order="left"
    ).select(cols)


def split_unanalysable(
    dataset: pl.DataFrame, domain: str, reasons: list[tuple[pl.Expr, str]]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Rows meeting a reason go to the exclusions (first reason wins); the rest are kept."""
    excl = []
    for cond, reason in reasons:
        hit = dataset.filter(cond)
        excl.append(
            hit.select(
                pl.lit(domain).alias("domain"),
                pl.lit(f"{domain.lower()} (sdtm)").alias("file"),
                pl.col("SRCROW").cast(pl.Int64).alias("row"),
                "USUBJID",
                pl.lit(reason).alias("reason"),
            )
        )
        dataset = dataset.filter(~cond)
    return dataset, pl.concat(excl).cast(EXCL_SCHEMA) if excl else pl.DataFrame(schema=EXCL_SCHEMA)

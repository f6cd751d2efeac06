"""ADEFF: liver scores per assessment date (docs/scoring.md), plus the clinician-recorded RS scores.

Scores are computed per assessment date from that date's labs (LB in standard units; when one
test was measured twice on a date, the later source row is used), with ascites and
encephalopathy (RS ASCITES/HEGRADE) from the same date, or the nearest within
``scores.lab_day_tolerance`` days. A missing input gives a missing score, never a guess.
Dialysis for MELD: PR HAEMODIALYSIS at least twice within the 7 days before the lab date
(days ADT-7 .. ADT inclusive).

PARAMCDs: MELDKAM, MELD (UNOS), MELDNA, MELD3, CTPSCORE, CTPCLASS (AVALC A/B/C, AVAL 1/2/3);
RS tests as recorded (ASCITES, HEGRADE, ECOG, SOFA, ISHAKF, ISHAKI, ...), with the site's own
CTPSCORE and MELD renamed CTPSITE and MELDSITE so that they never stand in for the derived ones.
"""

from __future__ import annotations

import polars as pl

from hepatrial import scores
from hepatrial.adam.common import adsl_vars, derive_bds_timing, split_unanalysable, with_adsl_vars
from hepatrial.dates import dtc_date
from hepatrial.spec import Study
from hepatrial.spec.params import adam_param_labels

SCORE_LABS = ("BILI", "INR", "CREAT", "ALB", "SODIUM", "PT", "PTCONT")
# ADaM PARAM of each ADEFF parameter: the parameter table (hepatrial.spec.params; the tables show
# its shorter display label)
PARAM_LABELS = adam_param_labels("adeff")
RS_RENAME = {"CTPSCORE": "CTPSITE", "MELD": "MELDSITE"}
ASCITES_CODE = {"NONE": 1.0, "MILD": 2.0, "MODERATE-SEVERE": 3.0, "1": 1.0, "2": 2.0, "3": 3.0}


def compute_lab_panel(dataset_lb: pl.DataFrame, extra: tuple[str, ...] = ()) -> pl.DataFrame:
    """One row per subject and lab date with the score inputs (standard units) as columns
    (``extra``: further tests, e.g. PTACT when the CTP uses prothrombin activity)."""
    tests = (*SCORE_LABS, *extra)
    lb = (
        dataset_lb.filter(pl.col("LBTESTCD").is_in(list(tests)) & pl.col("LBSTRESN").is_not_null())
        .with_columns(dtc_date("LBDTC").alias("ADT"))
        .sort(["USUBJID", "ADT", "LBTESTCD", "SRCROW"])
    )
    last = lb.group_by(["USUBJID", "ADT", "LBTESTCD"], maintain_order=True).agg(
        pl.col("LBSTRESN").last(), pl.col("SRCROW").last()
    )
    wide = last.pivot(
        on="LBTESTCD", index=["USUBJID", "ADT"], values="LBSTRESN", aggregate_function="first"
    )
    # the SDTM VISIT of the date's lab rows (nominal windowing): that of the first source row
    vis = [pl.col("VISIT").cast(pl.Utf8).sort_by("SRCROW").first()] if "VISIT" in lb.columns else []
    src = lb.group_by(["USUBJID", "ADT"]).agg(pl.col("SRCROW").min(), *vis)
    for t in tests:
        if t not in wide.columns:
            wide = wide.with_columns(pl.lit(None, pl.Float64).alias(t))
    return wide.join(src, on=["USUBJID", "ADT"], how="left").sort(["USUBJID", "ADT"])


def derive_vars_rs_components(
    panel: pl.DataFrame, dataset_rs: pl.DataFrame, tolerance: int
) -> pl.DataFrame:
    """Add ASCITES and HEGRADE results (RSORRES) from the same date, or the nearest within ``tolerance``."""
    out = panel
    for test in ("ASCITES", "HEGRADE"):
        rs = (
            dataset_rs.filter((pl.col("RSTESTCD") == test) & pl.col("RSORRES").is_not_null())
            .with_columns(dtc_date("RSDTC").alias("_rsdt"))
            .drop_nulls("_rsdt")
            .sort(["USUBJID", "_rsdt", "SRCROW"])
            .group_by(["USUBJID", "_rsdt"], maintain_order=True)
            .agg(pl.col("RSORRES").last().alias(test))
            .sort("_rsdt")
        )
        out = out.sort("ADT").join_asof(
            rs,
            left_on="ADT",
            right_on="_rsdt",
            by="USUBJID",
            strategy="nearest",
            tolerance=f"{tolerance}d" if tolerance else "0d",
            check_sortedness=False,
        )
        out = out.drop("_rsdt")
    return out.sort(["USUBJID", "ADT"])


def derive_var_dialysis(panel: pl.DataFrame, dataset_pr: pl.DataFrame) -> pl.DataFrame:
    """DIALFL: at least two PR HAEMODIALYSIS in the 7 days before the lab date (ADT-7 .. ADT)."""
    dia = (
        dataset_pr.filter(pl.col("PRDECOD").str.to_uppercase() == "HAEMODIALYSIS")
        .select("USUBJID", dtc_date("PRSTDTC").alias("_d"))
        .drop_nulls("_d")
        .unique()
    )
    hits = (
        panel.select("USUBJID", "ADT")
        .join(dia, on="USUBJID", how="inner")
        .filter(((pl.col("ADT") - pl.col("_d")).dt.total_days()).is_between(0, 7))
        .group_by(["USUBJID", "ADT"])
        .len()
    )
    return (
        panel.join(hits, on=["USUBJID", "ADT"], how="left")
        .with_columns((pl.col("len").fill_null(0) >= 2).alias("DIALFL"))
        .drop("len")
    )


def derive_params_scores(panel: pl.DataFrame, adsl: pl.DataFrame, study: Study) -> pl.DataFrame:
    """The MELD family and CTP as long BDS rows (PARAMCD, AVAL, AVALC)."""
    sc = study.scores
    df = panel.join(adsl.select("USUBJID", "SEX", "MELDETIO", "CHOLFL"), on="USUBJID", how="left")
    if sc.ctp_coagulation == "PT":
        ptcont = (
            pl.col("PTCONT")
            if sc.pt_control_seconds is None
            else pl.coalesce("PTCONT", pl.lit(float(sc.pt_control_seconds)))
        )
        coag = scores.compute_pt_prolongation("PT", ptcont)
    elif sc.ctp_coagulation == "PTA":
        coag = pl.col("PTACT")
    else:
        coag = pl.col("INR")
    female = pl.when(pl.col("SEX").is_null()).then(None).otherwise(pl.col("SEX") == "F")
    cholestatic = pl.when(pl.col("CHOLFL").is_null()).then(None).otherwise(pl.col("CHOLFL") == "Y")
    meld_i = scores.compute_meld_unos("BILI", "INR", "CREAT", "DIALFL")
    df = df.with_columns(
        scores.compute_meld_kamath(
            "BILI",
            "INR",
            "CREAT",
            "MELDETIO",
            coefficients=sc.meld_kamath.coefficients,
            integer=sc.meld_kamath.integer,
        ).alias("MELDKAM"),
        meld_i.alias("MELD"),
        scores.compute_meld_na(meld_i, "SODIUM").alias("MELDNA"),
        scores.compute_meld3("BILI", "INR", "CREAT", "SODIUM", "ALB", female, "DIALFL").alias(
            "MELD3"
        ),
        scores.compute_ctp_score(
            "BILI",
            "ALB",
            coag,
            "ASCITES",
            "HEGRADE",
            cholestatic,
            coag=sc.ctp_coagulation,
            pta_cutoffs=tuple(sc.ctp_pta_cutoffs),
        )
        .cast(pl.Float64)
        .alias("CTPSCORE"),
    ).with_columns(scores.compute_ctp_class("CTPSCORE").alias("CTPCLASS"))
    idx = ["USUBJID", "ADT", "SRCROW", *(["VISIT"] if "VISIT" in df.columns else [])]
    num = df.unpivot(
        on=["MELDKAM", "MELD", "MELDNA", "MELD3", "CTPSCORE"],
        index=idx,
        variable_name="PARAMCD",
        value_name="AVAL",
    ).with_columns(pl.lit(None, pl.Utf8).alias("AVALC"))
    cls = df.select(
        *idx,
        pl.lit("CTPCLASS").alias("PARAMCD"),
        pl.col("CTPCLASS")
        .replace_strict({"A": 1.0, "B": 2.0, "C": 3.0}, default=None, return_dtype=pl.Float64)
        .alias("AVAL"),
        pl.col("CTPCLASS").alias("AVALC"),
    )
    return pl.concat([num, cls], how="vertical_relaxed").with_columns(pl.lit("LB").alias("SRCDOM"))


def derive_params_rs(dataset_rs: pl.DataFrame) -> pl.DataFrame:
    """RS results as their own parameters (AVALC as recorded, AVAL numeric where it is a number)."""
    rs = dataset_rs.with_columns(pl.col("RSTESTCD").replace(RS_RENAME).alias("PARAMCD"))
    aval = (
        pl.when(pl.col("PARAMCD") == "ASCITES")
        .then(pl.col("RSORRES").replace_strict(ASCITES_CODE, default=None, return_dtype=pl.Float64))
        .otherwise(pl.col("RSORRES").cast(pl.Float64, strict=False))
    )
    vis = [pl.col("VISIT").cast(pl.Utf8)] if "VISIT" in rs.columns else []
    return rs.select(
        "USUBJID",
        dtc_date("RSDTC").alias("ADT"),
        "SRCROW",
        "PARAMCD",
        aval.alias("AVAL"),
        pl.col("RSORRES").alias("AVALC"),
        pl.lit("RS").alias("SRCDOM"),
        *vis,
    )


def create_adeff(
    dataset_lb: pl.DataFrame,
    dataset_rs: pl.DataFrame,
    dataset_pr: pl.DataFrame,
    adsl: pl.DataFrame,
    study: Study,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """ADEFF and its exclusions (RS records of subjects with no analysis origin)."""
    panel = (
        compute_lab_panel(dataset_lb, ("PTACT",) if study.scores.ctp_coagulation == "PTA" else ())
        .pipe(derive_vars_rs_components, dataset_rs, study.scores.lab_day_tolerance)
        .pipe(derive_var_dialysis, dataset_pr)
    )
    score_rows = derive_params_scores(panel, adsl, study)
    rs_rows = derive_params_rs(dataset_rs)
    keep = adsl_vars(adsl, study)
    lean = [c for c in keep if c in ("USUBJID", "ORIGDT")]  # the rest joins the sorted result
    carried = [c for c in keep if c not in lean]
    rs_rows = rs_rows.join(adsl.select(lean), on="USUBJID", how="left")
    rs_rows, excl = split_unanalysable(
        rs_rows,
        "RS",
        [(pl.col("ORIGDT").is_null(), "subject has no analysis origin (not randomised or dosed)")],
    )
    score_rows = score_rows.join(adsl.select(lean), on="USUBJID", how="inner").filter(
        pl.col("ORIGDT").is_not_null()
    )
    if ("VISIT" in score_rows.columns) != ("VISIT" in rs_rows.columns):
        # LB or RS without VISIT: the whole of ADEFF is windowed by date
        score_rows, rs_rows = (
            score_rows.drop("VISIT", strict=False),
            rs_rows.drop("VISIT", strict=False),
        )
    adeff = (
        pl.concat([score_rows, rs_rows.select(score_rows.columns)], how="vertical_relaxed")
        .with_columns(
            pl.col("PARAMCD").replace_strict(PARAM_LABELS, default=pl.col("PARAMCD")).alias("PARAM")
        )
        .pipe(derive_bds_timing, study)
    )
    cols = keep + [
        "PARAMCD",
        "PARAM",
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
        "SRCDOM",
        "SRCROW",
    ]
    if study.windowing == "nominal":  # the SDTM VISIT the analysis visit came from
        cols += [c for c in ("ABLFLSRC", "VISIT") if c in adeff.columns]
    return with_adsl_vars(
        adeff, adsl, cols, carried, ["USUBJID", "PARAMCD", "ADT", "SRCROW"], nulls_last=False
    ), excl

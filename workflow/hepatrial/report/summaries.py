"""Summaries the DSMB reports need beyond the analysis ARD: ARD rows (every number of the reports
lands in an ARD) by arm and pooled (arm ``ALL``), and the listings of deaths and SAEs.

Analyses added (docs/dsmb.md):

- ``BASELINE`` (ITT, planned arm): continuous ``AGE``, ``BLMELD``, ``BLCTPS`` (n, mean, sd, median,
  q1, q3, min, max); categorical ``<VAR>=<value>`` (``Missing`` when missing) for SEX, RACE, BLCTPC
  and the configured baseline columns and strata (n, pct of the arm).
- ``EXPOSURE`` (SAFETY, actual arm): ``NINFUS`` (infusions received; continuous stats) and
  ``NINFUS=<k>`` (n, pct), k = 0 .. planned infusions. Doses are not summarised: a pooled dose total reveals how many
  subjects had active cells when placebo has dose 0.
- ``DEATHS`` (ITT, planned arm): ``DEATH``, ``LTX`` (liver transplant), ``DEATH OR LTX`` (n, pct).
- ``DEATH_CAUSE`` (ITT, planned arm): deaths by cause, ``paramcd`` = the fatal AE preferred term (or
  "No fatal AE recorded"), n and pct; the death listing adds ``DLINFDY``, days from the last infusion.
- ``ENROLMENT``: randomised subjects by month of randomisation (``avisit`` = ``YYYY-MM``), per site
  (``paramcd`` = ``SITE <id>``) and over all sites (``ALL SITES``): ``n`` in the month and ``n_cum``;
  ``SCREENED`` and ``SCREEN FAILURE`` (pooled only, stat ``n``).
- ``DQ_VISITS`` (ITT, planned arm), per scheduled visit (``avisit``): ``expected`` (window closed
  before the subject's end of follow-up), ``attended`` (an SV record in the window), ``missed``
  (expected, not attended), ``overdue`` (target day passed by the cut, window still open, no
  visit yet), ``no_lab_data`` (attended, no lab result in the window: data not yet entered).
- ``DQ_FINDINGS`` (pooled only): validation findings by ``paramcd`` = ``<domain>|<severity>|<rule>``:
  ``n`` findings and ``n_subjects``.
- ``LAB_SHIFT`` (SAFETY, actual arm; closed report only): per lab test, baseline reference-range
  category against the worst post-baseline category (HIGH or LOW over NORMAL; HIGH over LOW),
  paramcd ``<PARAM>|<BASE>|<WORST>``, stats n and pct.

BASELINE, EXPOSURE and LAB_SHIFT follow the conventions of ``hepatrial.analysis.baseline`` (the
tables' step): when the cut's ARD holds those analyses, the reports use the ARD's rows and these
are not used (:func:`hepatrial.report.run.report_ard`).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from hepatrial.analysis.common import quantile_sas5, select_population, with_pooled
from hepatrial.ard import POOLED, ard_rows, empty_ard, finalise

CONT_STATS = ("n", "mean", "sd", "median", "q1", "q3", "min", "max")
LAB_CATS = ("LOW", "NORMAL", "HIGH")
MISSING = "Missing"


def _cont(values) -> dict[str, float]:
    v = np.array([x for x in values if x is not None], dtype=float)
    v = v[~np.isnan(v)]
    if len(v) == 0:
        return {"n": 0.0}
    return {"n": float(len(v)), "mean": float(v.mean()), "sd": float(v.std(ddof=1)) if len(v) > 1 else float("nan"),
            "median": float(np.median(v)), "q1": quantile_sas5(v, 0.25), "q3": quantile_sas5(v, 0.75),
            "min": float(v.min()), "max": float(v.max())}


def _by_arm(pop: pl.DataFrame) -> dict[str, pl.DataFrame]:
    pooled = with_pooled(pop)
    return {arm: pooled.filter(pl.col("ARM") == arm) for arm in sorted(pooled["ARM"].unique().to_list())}


def _cont_rows(analysis, population, groups, var, paramcd=None, method="") -> list[dict]:
    rows = []
    for arm, df in groups.items():
        vals = df[var].cast(pl.Float64).to_list() if var in df.columns else []
        for stat, value in _cont(vals).items():
            rows.append({"analysis": analysis, "paramcd": paramcd or var, "population": population, "arm": arm,
                         "stat": stat, "value": value, "method": method})
    return rows


def _cat_rows(analysis, population, groups, var, method="", levels: list[str] | None = None) -> list[dict]:
    """``<VAR>=<level>`` rows (n, pct of the arm), ``Missing`` for a missing value, as
    hepatrial.analysis.baseline writes them (one convention whichever step made the rows)."""
    rows = []
    if not groups or var not in next(iter(groups.values())).columns:
        return rows
    seen = {MISSING if v is None else str(v) for df in groups.values() for v in df[var].cast(pl.Utf8).to_list()}
    allvals = list(levels or []) + sorted(seen - set(levels or []) - {MISSING}) + ([MISSING] if MISSING in seen else [])
    for arm, df in groups.items():
        vals = [MISSING if v is None else str(v) for v in df[var].cast(pl.Utf8).to_list()]
        for level in allvals:
            k = sum(v == level for v in vals)
            for stat, value in (("n", k), ("pct", 100.0 * k / len(vals) if vals else None)):
                rows.append({"analysis": analysis, "paramcd": f"{var}={level}", "population": population,
                             "arm": arm, "stat": stat, "value": value, "method": method or f"n (% of {population} in arm)"})
    return rows


def summarise_baseline(adsl: pl.DataFrame, study: dict, population: str = "ITT") -> pl.DataFrame:
    groups = _by_arm(select_population(adsl, study, population))
    rows = []
    for var in ("AGE", "BLMELD", "BLCTPS"):
        if var in adsl.columns:
            rows += _cont_rows("BASELINE", population, groups, var, method="descriptive; quartiles SAS PCTLDEF=5")
    cats = ["SEX", "RACE", "BLCTPC", *study["baseline_columns"], *study["strata"]]
    for var in dict.fromkeys(cats):
        if var in adsl.columns:
            rows += _cat_rows("BASELINE", population, groups, var, levels=["A", "B", "C"] if var == "BLCTPC" else None)
    return ard_rows(rows)


def summarise_exposure(adsl: pl.DataFrame, study: dict, population: str = "SAFETY") -> pl.DataFrame:
    groups = _by_arm(select_population(adsl, study, population))
    rows = _cont_rows("EXPOSURE", population, groups, "NINFUS", method="infusions received")
    most = max([study.get("planned_infusions", 0), *(a.get("planned_infusions") or 0 for a in study["arms"])])
    planned = [str(k) for k in range(most + 1)]
    groups = {a: df.with_columns(pl.col("NINFUS").cast(pl.Int64).cast(pl.Utf8)) for a, df in groups.items()}
    rows += _cat_rows("EXPOSURE", population, groups, "NINFUS", f"infusions received; % of {population} in arm",
                      planned)
    return ard_rows(rows)


def summarise_deaths(adsl: pl.DataFrame, study: dict, population: str = "ITT") -> pl.DataFrame:
    groups = _by_arm(select_population(adsl, study, population))
    rows = []
    cats = {"DEATH": pl.col("DTHFL") == "Y", "LTX": pl.col("LTXDT").is_not_null(),
            "DEATH OR LTX": (pl.col("DTHFL") == "Y") | pl.col("LTXDT").is_not_null()}
    for arm, df in groups.items():
        for name, cond in cats.items():
            k = df.filter(cond.fill_null(False)).height
            rows.append({"analysis": "DEATHS", "paramcd": name, "population": population, "arm": arm,
                         "stat": "n", "value": k, "method": "subjects"})
            rows.append({"analysis": "DEATHS", "paramcd": name, "population": population, "arm": arm,
                         "stat": "pct", "value": 100.0 * k / df.height if df.height else None,
                         "method": f"% of {population} in arm"})
    return ard_rows(rows)


def death_causes(adsl: pl.DataFrame, adae: pl.DataFrame) -> pl.DataFrame:
    """USUBJID -> CAUSE (the fatal AEs' preferred terms, ``; ``-joined; "No fatal AE recorded")
    of every subject who died."""
    fatal = (adae.filter((pl.col("FATALFL") == "Y") | (pl.col("AEOUT").fill_null("").str.to_uppercase() == "FATAL"))
             .group_by("USUBJID").agg(pl.col("AEDECOD").drop_nulls().unique().sort().str.join("; ").alias("CAUSE")))
    return (adsl.filter(pl.col("DTHFL") == "Y").select("USUBJID").join(fatal, on="USUBJID", how="left")
            .with_columns(pl.when(pl.col("CAUSE").fill_null("") == "").then(pl.lit(NO_FATAL_AE))
                          .otherwise(pl.col("CAUSE")).alias("CAUSE")))


NO_FATAL_AE = "No fatal AE recorded"


def summarise_death_causes(adsl: pl.DataFrame, adae: pl.DataFrame, study: dict,
                           population: str = "ITT") -> pl.DataFrame:
    """DEATH_CAUSE rows: deaths by cause (each fatal AE preferred term; a subject with two fatal
    AEs counts under both), n and % of the population in the arm."""
    groups = _by_arm(select_population(adsl, study, population))
    causes = death_causes(adsl, adae).with_columns(pl.col("CAUSE").str.split("; ")).explode("CAUSE")
    names = sorted(causes["CAUSE"].unique().to_list(), key=lambda c: (c == NO_FATAL_AE, c))
    rows = []
    for arm, df in groups.items():
        c = dict(causes.join(df.select("USUBJID"), on="USUBJID").group_by("CAUSE").len().iter_rows())
        for name in names:
            k = c.get(name, 0)
            rows.append({"analysis": "DEATH_CAUSE", "paramcd": name, "population": population, "arm": arm,
                         "stat": "n", "value": k, "method": "deaths by fatal AE (preferred term)"})
            rows.append({"analysis": "DEATH_CAUSE", "paramcd": name, "population": population, "arm": arm,
                         "stat": "pct", "value": 100.0 * k / df.height if df.height else None,
                         "method": f"% of {population} in arm"})
    return ard_rows(rows)


def summarise_enrolment(adsl: pl.DataFrame, study: dict) -> pl.DataFrame:
    """Randomised subjects (designs without randomisation: enrolled, by the analysis origin) per month,
    per site and overall, by arm and pooled; screened and screen failures pooled."""
    rows = []
    rand = select_population(adsl, study, "ITT").with_columns(pl.coalesce("RANDDT", "ORIGDT").alias("_ENRDT"))
    rand = rand.filter(pl.col("_ENRDT").is_not_null())
    rand = rand.with_columns(pl.col("_ENRDT").dt.strftime("%Y-%m").alias("_MONTH"),
                             # a subject with no site id counts under its own row, not nowhere
                             pl.col("SITEID").cast(pl.Utf8).fill_null("(missing)").alias("SITEID"))
    months = sorted(rand["_MONTH"].unique().to_list())
    sites = sorted(rand["SITEID"].unique().to_list())
    for arm, df in _by_arm(rand).items():
        for site in [None, *sites]:
            d = df if site is None else df.filter(pl.col("SITEID").cast(pl.Utf8) == site)
            counts = dict(d.group_by("_MONTH").len().iter_rows())
            cum = 0
            for m in months:
                n = counts.get(m, 0)
                cum += n
                pcd = "ALL SITES" if site is None else f"SITE {site}"
                rows.append({"analysis": "ENROLMENT", "paramcd": pcd, "population": "ITT", "arm": arm,
                             "avisit": m, "stat": "n", "value": n, "method": "randomised in the month"})
                rows.append({"analysis": "ENROLMENT", "paramcd": pcd, "population": "ITT", "arm": arm,
                             "avisit": m, "stat": "n_cum", "value": cum, "method": "randomised by the end of the month"})
    screened = adsl.height
    failures = adsl.filter(pl.col("TRT01P").is_null()).height
    rows.append({"analysis": "ENROLMENT", "paramcd": "SCREENED", "population": "ALL SUBJECTS", "arm": POOLED,
                 "stat": "n", "value": screened, "method": "subjects in DM"})
    rows.append({"analysis": "ENROLMENT", "paramcd": "SCREEN FAILURE", "population": "ALL SUBJECTS", "arm": POOLED,
                 "stat": "n", "value": failures, "method": "subjects in DM not assigned to an arm"})
    return ard_rows(rows)


def _study_day(date: pl.Expr, origin: pl.Expr) -> pl.Expr:
    """Analysis day: origin = day 1, the day before = -1 (no day 0)."""
    d = (date - origin).dt.total_days()
    return pl.when(d >= 0).then(d + 1).otherwise(d)


# The ADLB columns summarise_visits and summarise_lab_shifts read (run_summaries reads no others).
ADLB_COLUMNS = ("USUBJID", "PARAMCD", "ADY", "ANRIND", "BNRIND")


def summarise_visits(adsl: pl.DataFrame, sv: pl.DataFrame, adlb: pl.DataFrame, study: dict,
                     cut: dt.date, population: str = "ITT") -> pl.DataFrame:
    """Expected, attended, missed and overdue scheduled visits (see the module docstring).

    Follow-up ends at the cut for subjects ongoing or completed, else at the last date known alive
    (or death). Visits: the study config's, baseline excluded.
    """
    pop = select_population(adsl, study, population).filter(pl.col("ORIGDT").is_not_null())
    pop = pop.with_columns(
        pl.when(pl.col("EOSSTT").is_in(["ONGOING", "COMPLETED"])).then(pl.lit(cut))
        .otherwise(pl.min_horizontal(pl.coalesce("LSTALVDT", pl.lit(cut)), pl.coalesce("DTHDT", pl.lit(cut)),
                                     pl.lit(cut))).alias("_END"))
    pop = pop.with_columns(_study_day(pl.col("_END"), pl.col("ORIGDT")).alias("_ENDDY"),
                           _study_day(pl.lit(cut), pl.col("ORIGDT")).alias("_CUTDY"))
    svd = (sv.select("USUBJID", pl.col("SVSTDTC").str.slice(0, 10).str.to_date(strict=False).alias("_D"))
           .drop_nulls().join(pop.select("USUBJID", "ORIGDT"), on="USUBJID")
           .with_columns(_study_day(pl.col("_D"), pl.col("ORIGDT")).alias("_DY")))
    lbd = adlb.select("USUBJID", pl.col("ADY").alias("_DY")).drop_nulls() if "ADY" in adlb.columns else \
        pl.DataFrame(schema={"USUBJID": pl.Utf8, "_DY": pl.Int64})
    rows = []
    for v in study["visits"]:
        if v.get("baseline"):
            continue
        lo, hi, target = v["window"][0], v["window"][1], v["target_day"]
        att = set(svd.filter(pl.col("_DY").is_between(lo, hi))["USUBJID"].to_list())
        lab = set(lbd.filter(pl.col("_DY").is_between(lo, hi))["USUBJID"].to_list())
        flags = pop.select(
            "USUBJID", "ARM",
            (pl.col("_ENDDY") > hi).alias("expected"),
            ((pl.col("_CUTDY") >= target) & (pl.col("_CUTDY") <= hi) & (pl.col("_ENDDY") >= target)).alias("due"),
        ).with_columns(pl.col("USUBJID").is_in(list(att)).alias("attended"),
                       pl.col("USUBJID").is_in(list(lab)).alias("lab"))
        flags = flags.with_columns(
            (pl.col("expected") & ~pl.col("attended")).alias("missed"),
            (pl.col("due") & ~pl.col("attended")).alias("overdue"),
            (pl.col("attended") & ~pl.col("lab")).alias("no_lab_data"))
        for arm, df in _by_arm(flags).items():
            for stat in ("expected", "attended", "missed", "overdue", "no_lab_data"):
                rows.append({"analysis": "DQ_VISITS", "paramcd": "VISITS", "population": population, "arm": arm,
                             "avisit": v["label"], "stat": stat, "value": int(df[stat].sum()),
                             "method": f"window days {lo} to {hi}, target day {target}"})
    return ard_rows(rows)


def summarise_findings(findings: pl.DataFrame) -> pl.DataFrame:
    """Validation findings per domain, severity and rule (pooled; findings carry no arm)."""
    if findings.height == 0:
        return empty_ard()
    g = (findings.with_columns(pl.col("domain").fill_null(""), pl.col("severity").fill_null(""),
                               pl.col("rule").fill_null(""))
         .group_by("domain", "severity", "rule")
         .agg(pl.len().alias("n"), pl.col("USUBJID").drop_nulls().n_unique().alias("n_subjects"))
         .sort("domain", "severity", "rule"))
    rows = []
    for r in g.iter_rows(named=True):
        pcd = f"{r['domain']}|{r['severity']}|{r['rule']}"
        for stat in ("n", "n_subjects"):
            rows.append({"analysis": "DQ_FINDINGS", "paramcd": pcd, "population": "ALL RECORDS", "arm": POOLED,
                         "stat": stat, "value": r[stat], "method": "validation findings (findings.csv)"})
    return ard_rows(rows)


def summarise_lab_shifts(adlb: pl.DataFrame, adsl: pl.DataFrame, study: dict,
                         population: str = "SAFETY") -> pl.DataFrame:
    ids = select_population(adsl, study, population).select("USUBJID", "ARM")
    lb = (adlb.filter(pl.col("ANRIND").is_in(LAB_CATS) | pl.col("BNRIND").is_in(LAB_CATS))
          .join(ids, on="USUBJID", how="inner"))
    if lb.height == 0:
        return empty_ard()
    rank = {"NORMAL": 0, "LOW": 1, "HIGH": 2}
    post = (lb.filter((pl.col("ADY") > 1) & pl.col("ANRIND").is_in(LAB_CATS))
            .with_columns(pl.col("ANRIND").replace_strict(rank, return_dtype=pl.Int64).alias("_r"))
            .group_by("USUBJID", "ARM", "PARAMCD").agg(pl.col("_r").max().alias("_w")))
    base = (lb.filter(pl.col("BNRIND").is_in(LAB_CATS)).group_by("USUBJID", "PARAMCD")
            .agg(pl.col("BNRIND").first()))
    shift = post.join(base, on=["USUBJID", "PARAMCD"], how="inner").with_columns(
        pl.col("_w").replace_strict({v: k for k, v in rank.items()}, return_dtype=pl.Utf8).alias("WORST"))
    rows = []
    for arm, df in _by_arm(shift).items():
        for p in sorted(shift["PARAMCD"].unique().to_list()):
            d = df.filter(pl.col("PARAMCD") == p)
            for b in LAB_CATS:
                for w in LAB_CATS:
                    k = d.filter((pl.col("BNRIND") == b) & (pl.col("WORST") == w)).height
                    for stat, value in (("n", k), ("pct", 100.0 * k / d.height if d.height else None)):
                        rows.append({"analysis": "LAB_SHIFT", "paramcd": f"{p}|{b}|{w}", "population": population,
                                     "arm": arm, "stat": stat, "value": value,
                                     "method": "baseline vs worst post-baseline (HIGH over LOW over NORMAL) "
                                               "reference-range category; % of subjects with the lab in arm"})
    return ard_rows(rows)


# Analyses the tables' step (hepatrial.analysis.baseline) also makes: kept out of the ARD part so that
# the ARD never holds two sets of rows for one key; the reports use them only when the ARD lacks them.
SHARED_ANALYSES = ("BASELINE", "EXPOSURE", "LAB_SHIFT")


def build_summaries(adsl, adae, adlb, sv, findings, study, cut: dt.date,
                    adlb_shifts: pl.DataFrame | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(ARD part: DEATHS, ENROLMENT, DQ_VISITS, DQ_FINDINGS; fallback: BASELINE, EXPOSURE, LAB_SHIFT).
    ``adlb_shifts``: the ADLB rows the lab shifts read, when not ``adlb`` (:func:`scan_adlb`)."""
    part = [summarise_deaths(adsl, study), summarise_death_causes(adsl, adae, study), summarise_enrolment(adsl, study),
            summarise_visits(adsl, sv, adlb, study, cut), summarise_findings(findings)]
    fallback = [summarise_baseline(adsl, study), summarise_exposure(adsl, study),
                summarise_lab_shifts(adlb if adlb_shifts is None else adlb_shifts, adsl, study)]
    return finalise(pl.concat(part, how="vertical")), finalise(pl.concat(fallback, how="vertical"))


def scan_adlb(path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """What the summaries read of ADLB, reduced by lazy scans to what gives the same rows: the
    distinct (subject, analysis day) pairs for the visits, and for the lab shifts the distinct
    (subject, parameter, post-baseline or not, ANRIND, BNRIND) of the rows with a category (the
    shifts take a maximum and a per-subject constant). A large trial's ADLB is gigabytes whole."""
    lf = pl.scan_parquet(path)
    have = lf.collect_schema().names()
    if not {"USUBJID", "ADY"} <= set(have):
        return pl.read_parquet(path, columns=[c for c in have if c in ADLB_COLUMNS]), None
    days = lf.select("USUBJID", "ADY").drop_nulls().unique().sort("USUBJID", "ADY").collect()
    if not {"PARAMCD", "ANRIND", "BNRIND"} <= set(have):
        return days, None
    post = pl.when(pl.col("ADY") > 1).then(pl.lit(2, pl.Int64)).when(pl.col("ADY").is_not_null()).then(
        pl.lit(0, pl.Int64)).otherwise(pl.lit(None, pl.Int64))
    shifts = (lf.filter(pl.col("ANRIND").is_in(LAB_CATS) | pl.col("BNRIND").is_in(LAB_CATS))
              .select("USUBJID", "PARAMCD", post.alias("ADY"), "ANRIND", "BNRIND").unique()
              .sort("USUBJID", "PARAMCD", "ADY", "ANRIND", "BNRIND", nulls_last=True).collect())
    return days, shifts


# --- listings ---------------------------------------------------------------------------------

SAE_COLUMNS = ["USUBJID", "SITEID", "arm", "AEDECOD", "AEBODSYS", "ASTDT", "ASTDY", "ATOXGR", "AREL", "AEOUT",
               "TRTEMFL"]
DEATH_COLUMNS = ["USUBJID", "SITEID", "arm", "DTHDT", "DTHDY", "DLINFDY", "CAUSE", "LTXDT"]


def list_saes(adae: pl.DataFrame) -> pl.DataFrame:
    """Every serious AE (treatment-emergent or not) with the subject's actual arm (``arm``)."""
    sae = adae.filter(pl.col("AESER") == "Y").with_columns(
        pl.coalesce("TRT01A", "TRT01P").alias("arm"), pl.col("ATOXGR").cast(pl.Int64, strict=False))
    return sae.select(SAE_COLUMNS).sort("USUBJID", "ASTDT", "AEDECOD", nulls_last=True)


def list_deaths(adsl: pl.DataFrame, adae: pl.DataFrame) -> pl.DataFrame:
    """Deaths with the planned arm (``arm``), the analysis day of death and the fatal AE terms."""
    d = adsl.filter(pl.col("DTHFL") == "Y").join(death_causes(adsl, adae), on="USUBJID", how="left").with_columns(
        pl.coalesce("TRT01P", "TRT01A").alias("arm"),
        _study_day(pl.col("DTHDT"), pl.col("ORIGDT")).cast(pl.Int64).alias("DTHDY"),
        (pl.col("DTHDT") - pl.col("TRTEDT")).dt.total_days().cast(pl.Int64).alias("DLINFDY"))
    return d.select(DEATH_COLUMNS).sort("USUBJID")

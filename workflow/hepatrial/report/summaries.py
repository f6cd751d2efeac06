"""Summaries the DSMB reports need beyond the analysis ARD: ARD rows (every number of the reports
lands in an ARD) by arm and pooled (arm ``ALL``), and the listings of deaths and SAEs.

Analyses added (docs/dsmb.md):

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

BASELINE, EXPOSURE and LAB_SHIFT, which the reports show too, are the tables' rows
(``hepatrial.analysis.baseline``, ARD part ``baseline.parquet``): the reports read the cut's ARD only.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from hepatrial.analysis.common import select_population, with_pooled
from hepatrial.ard import POOLED, ard_rows, empty_ard, finalise
from hepatrial.dates import compute_ady
from hepatrial.ingest import findings as cut_findings
from hepatrial.ingest.findings import deaths_recorded
from hepatrial.spec import Study


def _by_arm(pop: pl.DataFrame) -> dict[str, pl.DataFrame]:
    pooled = with_pooled(pop)
    return {
        arm: pooled.filter(pl.col("ARM") == arm) for arm in sorted(pooled["ARM"].unique().to_list())
    }


# A cut of ADaM datasets whose ADSL has neither DTHFL nor DTHDT (hepatrial.adam.entry): its deaths
# are not known, not absent; the entry's WARNING finding says so, and the death counts read "not
# available" (never 0)
NO_DEATHS = "not available: ADSL has neither DTHFL nor DTHDT"
NO_DEATHS_TEXT = "Not available: ADSL has neither DTHFL nor DTHDT, so deaths are not known."


def summarise_deaths(
    adsl: pl.DataFrame, study: Study, population: str = "ITT", recorded: bool = True
) -> pl.DataFrame:
    """DEATHS rows: deaths, liver transplants and either, n and % of the population in the arm;
    ``recorded`` False (:func:`deaths_recorded`): the death rows carry no value and the method
    :data:`NO_DEATHS`."""
    groups = _by_arm(select_population(adsl, study, population))
    rows = []
    cats = {
        "DEATH": pl.col("DTHFL") == "Y",
        "LTX": pl.col("LTXDT").is_not_null(),
        "DEATH OR LTX": (pl.col("DTHFL") == "Y") | pl.col("LTXDT").is_not_null(),
    }
    for arm, df in groups.items():
        for name, cond in cats.items():
            k = df.filter(cond.fill_null(False)).height
            known = recorded or name == "LTX"
            for stat, value, method in (
                ("n", k, "subjects"),
                ("pct", 100.0 * k / df.height if df.height else None, f"% of {population} in arm"),
            ):
                rows.append(
                    {
                        "analysis": "DEATHS",
                        "paramcd": name,
                        "population": population,
                        "arm": arm,
                        "stat": stat,
                        "value": value if known else None,
                        "method": method if known else NO_DEATHS,
                    }
                )
    return ard_rows(rows)


def death_causes(adsl: pl.DataFrame, adae: pl.DataFrame, ae_recorded: bool = True) -> pl.DataFrame:
    """USUBJID -> CAUSE (the fatal AEs' preferred terms, ``; ``-joined; "No fatal AE recorded")
    of every subject who died; ``ae_recorded`` False (a cut of ADaM datasets without ADAE): the
    cause is not known (:data:`CAUSE_UNKNOWN`)."""
    if not ae_recorded:
        return (
            adsl.filter(pl.col("DTHFL") == "Y")
            .select("USUBJID")
            .with_columns(pl.lit(CAUSE_UNKNOWN).alias("CAUSE"))
        )
    fatal = (
        adae.filter(
            (pl.col("FATALFL") == "Y")
            | (pl.col("AEOUT").fill_null("").str.to_uppercase() == "FATAL")
        )
        .group_by("USUBJID")
        .agg(pl.col("AEDECOD").drop_nulls().unique().sort().str.join("; ").alias("CAUSE"))
    )
    return (
        adsl.filter(pl.col("DTHFL") == "Y")
        .select("USUBJID")
        .join(fatal, on="USUBJID", how="left")
        .with_columns(
            pl.when(pl.col("CAUSE").fill_null("") == "")
            .then(pl.lit(NO_FATAL_AE))
            .otherwise(pl.col("CAUSE"))
            .alias("CAUSE")
        )
    )


NO_FATAL_AE = "No fatal AE recorded"
CAUSE_UNKNOWN = "Not available (no ADAE in the cut)"


def summarise_death_causes(
    adsl: pl.DataFrame,
    adae: pl.DataFrame,
    study: Study,
    population: str = "ITT",
    ae_recorded: bool = True,
) -> pl.DataFrame:
    """DEATH_CAUSE rows: deaths by cause (each fatal AE preferred term; a subject with two fatal
    AEs counts under both), n and % of the population in the arm."""
    groups = _by_arm(select_population(adsl, study, population))
    causes = death_causes(adsl, adae, ae_recorded)
    causes = causes.with_columns(pl.col("CAUSE").str.split("; ")).explode("CAUSE")
    names = sorted(
        causes["CAUSE"].unique().to_list(), key=lambda c: (c in (NO_FATAL_AE, CAUSE_UNKNOWN), c)
    )
    rows = []
    for arm, df in groups.items():
        c = dict(
            causes.join(df.select("USUBJID"), on="USUBJID").group_by("CAUSE").len().iter_rows()
        )
        for name in names:
            k = c.get(name, 0)
            rows.append(
                {
                    "analysis": "DEATH_CAUSE",
                    "paramcd": name,
                    "population": population,
                    "arm": arm,
                    "stat": "n",
                    "value": k,
                    "method": "deaths by fatal AE (preferred term)",
                }
            )
            rows.append(
                {
                    "analysis": "DEATH_CAUSE",
                    "paramcd": name,
                    "population": population,
                    "arm": arm,
                    "stat": "pct",
                    "value": 100.0 * k / df.height if df.height else None,
                    "method": f"% of {population} in arm",
                }
            )
    return ard_rows(rows)


def summarise_enrolment(adsl: pl.DataFrame, study: Study) -> pl.DataFrame:
    """Randomised subjects (designs without randomisation: enrolled, by the analysis origin) per month,
    per site and overall, by arm and pooled; screened and screen failures pooled."""
    rows = []
    rand = select_population(adsl, study, "ITT").with_columns(
        pl.coalesce("RANDDT", "ORIGDT").alias("_ENRDT")
    )
    rand = rand.filter(pl.col("_ENRDT").is_not_null())
    rand = rand.with_columns(
        pl.col("_ENRDT").dt.strftime("%Y-%m").alias("_MONTH"),
        # a subject with no site id counts under its own row, not nowhere
        pl.col("SITEID").cast(pl.Utf8).fill_null("(missing)").alias("SITEID"),
    )
    months = sorted(rand["_MONTH"].unique().to_list())
    sites = sorted(rand["SITEID"].unique().to_list())
    verb = study.allocated
    for arm, df in _by_arm(rand).items():
        for site in [None, *sites]:
            d = df if site is None else df.filter(pl.col("SITEID").cast(pl.Utf8) == site)
            counts = dict(d.group_by("_MONTH").len().iter_rows())
            cum = 0
            for m in months:
                n = counts.get(m, 0)
                cum += n
                pcd = "ALL SITES" if site is None else f"SITE {site}"
                rows.append(
                    {
                        "analysis": "ENROLMENT",
                        "paramcd": pcd,
                        "population": "ITT",
                        "arm": arm,
                        "avisit": m,
                        "stat": "n",
                        "value": n,
                        "method": f"{verb} in the month",
                    }
                )
                rows.append(
                    {
                        "analysis": "ENROLMENT",
                        "paramcd": pcd,
                        "population": "ITT",
                        "arm": arm,
                        "avisit": m,
                        "stat": "n_cum",
                        "value": cum,
                        "method": f"{verb} by the end of the month",
                    }
                )
    screened = adsl.height
    failures = adsl.filter(pl.col("TRT01P").is_null()).height
    rows.append(
        {
            "analysis": "ENROLMENT",
            "paramcd": "SCREENED",
            "population": "ALL SUBJECTS",
            "arm": POOLED,
            "stat": "n",
            "value": screened,
            "method": "subjects in DM",
        }
    )
    rows.append(
        {
            "analysis": "ENROLMENT",
            "paramcd": "SCREEN FAILURE",
            "population": "ALL SUBJECTS",
            "arm": POOLED,
            "stat": "n",
            "value": failures,
            "method": "subjects in DM not assigned to an arm",
        }
    )
    return ard_rows(rows)


# The ADLB columns summarise_visits reads (run_summaries reads no others; AVISIT under nominal windowing).
ADLB_COLUMNS = ("USUBJID", "ADY", "AVISIT")


NO_SV = "not available: no SV (subject visits) records in the cut; "


def summarise_visits(
    adsl: pl.DataFrame,
    sv: pl.DataFrame,
    adlb: pl.DataFrame,
    study: Study,
    cut: dt.date,
    population: str = "ITT",
) -> pl.DataFrame:
    """Expected, attended, missed and overdue scheduled visits (see the module docstring).

    Follow-up ends at the cut for subjects ongoing or completed, else at the last date known alive
    (or death). Visits: the study config's, baseline excluded.
    """
    pop = select_population(adsl, study, population).filter(pl.col("ORIGDT").is_not_null())
    pop = pop.with_columns(
        pl.when(pl.col("EOSSTT").is_in(["ONGOING", "COMPLETED"]))
        .then(pl.lit(cut))
        .otherwise(
            pl.min_horizontal(
                pl.coalesce("LSTALVDT", pl.lit(cut)), pl.coalesce("DTHDT", pl.lit(cut)), pl.lit(cut)
            )
        )
        .alias("_END")
    )
    pop = pop.with_columns(
        compute_ady(pl.col("_END"), pl.col("ORIGDT")).alias("_ENDDY"),
        compute_ady(pl.lit(cut), pl.col("ORIGDT")).alias("_CUTDY"),
    )
    # nominal windowing: a visit is attended when SV has its VISIT, and has lab data when ADLB has
    # records at it (AVISIT); expected and due still follow the visit's window
    nominal = study.windowing == "nominal" and "VISIT" in sv.columns and "AVISIT" in adlb.columns
    svd = (
        sv.select(
            "USUBJID",
            pl.col("SVSTDTC").str.slice(0, 10).str.to_date(strict=False).alias("_D"),
            (
                pl.col("VISIT").cast(pl.Utf8).str.strip_chars().str.to_uppercase()
                if "VISIT" in sv.columns
                else pl.lit(None, pl.Utf8)
            ).alias("_VIS"),
        )
        .drop_nulls("_D")
        .join(pop.select("USUBJID", "ORIGDT"), on="USUBJID")
        .with_columns(compute_ady(pl.col("_D"), pl.col("ORIGDT")).alias("_DY"))
    )
    lbd = (
        adlb.select(
            "USUBJID",
            pl.col("ADY").alias("_DY"),
            pl.col("AVISIT") if "AVISIT" in adlb.columns else pl.lit(None, pl.Utf8).alias("AVISIT"),
        ).drop_nulls("_DY")
        if "ADY" in adlb.columns
        else pl.DataFrame(schema={"USUBJID": pl.Utf8, "_DY": pl.Int64, "AVISIT": pl.Utf8})
    )
    rows = []
    for v in study.post_baseline_visits:
        lo, hi, target = v.window[0], v.window[1], v.target_day
        if nominal:
            att = set(svd.filter(pl.col("_VIS").is_in(list(v.nominal_names)))["USUBJID"].to_list())
            lab = set(lbd.filter(pl.col("AVISIT") == v.label)["USUBJID"].to_list())
        else:
            att = set(svd.filter(pl.col("_DY").is_between(lo, hi))["USUBJID"].to_list())
            lab = set(lbd.filter(pl.col("_DY").is_between(lo, hi))["USUBJID"].to_list())
        flags = pop.select(
            "USUBJID",
            "ARM",
            (pl.col("_ENDDY") > hi).alias("expected"),
            (
                (pl.col("_CUTDY") >= target)
                & (pl.col("_CUTDY") <= hi)
                & (pl.col("_ENDDY") >= target)
            ).alias("due"),
        ).with_columns(
            pl.col("USUBJID").is_in(list(att)).alias("attended"),
            pl.col("USUBJID").is_in(list(lab)).alias("lab"),
        )
        flags = flags.with_columns(
            (pl.col("expected") & ~pl.col("attended")).alias("missed"),
            (pl.col("due") & ~pl.col("attended")).alias("overdue"),
            (pl.col("attended") & ~pl.col("lab")).alias("no_lab_data"),
        )
        for arm, df in _by_arm(flags).items():
            for stat in ("expected", "attended", "missed", "overdue", "no_lab_data"):
                rows.append(
                    {
                        "analysis": "DQ_VISITS",
                        "paramcd": "VISITS",
                        "population": population,
                        "arm": arm,
                        "avisit": v.label,
                        "stat": stat,
                        # no SV record at all (SV absent, a cut of ADaM datasets): attendance unknown
                        "value": int(df[stat].sum()) if stat == "expected" or sv.height else None,
                        "method": (NO_SV if not sv.height else "")
                        + (
                            f"nominal visit (SV VISIT {', '.join(v.nominal_names)}); "
                            if nominal
                            else ""
                        )
                        + f"window days {lo} to {hi}, target day {target}",
                    }
                )
    return ard_rows(rows)


def summarise_findings(findings: pl.DataFrame) -> pl.DataFrame:
    """Validation findings per domain, severity and rule (pooled; findings carry no arm)."""
    if findings.height == 0:
        return empty_ard()
    g = (
        findings.with_columns(
            pl.col("domain").fill_null(""),
            pl.col("severity").fill_null(""),
            pl.col("rule").fill_null(""),
        )
        .group_by("domain", "severity", "rule")
        .agg(pl.len().alias("n"), pl.col("USUBJID").drop_nulls().n_unique().alias("n_subjects"))
        .sort("domain", "severity", "rule")
    )
    rows = []
    for r in g.iter_rows(named=True):
        pcd = f"{r['domain']}|{r['severity']}|{r['rule']}"
        for stat in ("n", "n_subjects"):
            rows.append(
                {
                    "analysis": "DQ_FINDINGS",
                    "paramcd": pcd,
                    "population": "ALL RECORDS",
                    "arm": POOLED,
                    "stat": stat,
                    "value": r[stat],
                    "method": "validation findings (findings.csv)",
                }
            )
    return ard_rows(rows)


def build_summaries(adsl, adae, adlb, sv, findings, study, cut: dt.date) -> pl.DataFrame:
    """The ARD part of the reports' own analyses: DEATHS, DEATH_CAUSE, ENROLMENT, DQ_VISITS,
    DQ_FINDINGS; what the cut does not record (deaths, AEs) read from its ``findings``."""
    part = [
        summarise_deaths(adsl, study, recorded=deaths_recorded(findings)),
        summarise_death_causes(adsl, adae, study, ae_recorded=cut_findings.ae_recorded(findings)),
        summarise_enrolment(adsl, study),
        summarise_visits(adsl, sv, adlb, study, cut),
        summarise_findings(findings),
    ]
    return finalise(pl.concat(part, how="vertical"))


def scan_adlb(path) -> pl.DataFrame:
    """What the visit summary reads of ADLB (:data:`ADLB_COLUMNS`), reduced by a lazy scan to its
    distinct rows (the summary asks only whether a subject has lab data on a day or at a visit): a
    large trial's ADLB is gigabytes whole."""
    lf = pl.scan_parquet(path)
    cols = [c for c in ADLB_COLUMNS if c in lf.collect_schema().names()]
    return lf.select(cols).unique().sort(cols, nulls_last=True).collect()


# --- listings ---------------------------------------------------------------------------------

SAE_COLUMNS = [
    "USUBJID",
    "SITEID",
    "arm",
    "AEDECOD",
    "AEBODSYS",
    "ASTDT",
    "ASTDY",
    "ATOXGR",
    "AREL",
    "AEOUT",
    "TRTEMFL",
]
DEATH_COLUMNS = ["USUBJID", "SITEID", "arm", "DTHDT", "DTHDY", "DLINFDY", "CAUSE", "LTXDT"]


def list_saes(adae: pl.DataFrame) -> pl.DataFrame:
    """Every serious AE (treatment-emergent or not) with the subject's actual arm (``arm``)."""
    sae = adae.filter(pl.col("AESER") == "Y").with_columns(
        pl.coalesce("TRT01A", "TRT01P").alias("arm"), pl.col("ATOXGR").cast(pl.Int64, strict=False)
    )
    return sae.select(SAE_COLUMNS).sort("USUBJID", "ASTDT", "AEDECOD", nulls_last=True)


def list_deaths(adsl: pl.DataFrame, adae: pl.DataFrame, ae_recorded: bool = True) -> pl.DataFrame:
    """Deaths with the planned arm (``arm``), the analysis day of death and the fatal AE terms."""
    d = (
        adsl.filter(pl.col("DTHFL") == "Y")
        .join(death_causes(adsl, adae, ae_recorded), on="USUBJID", how="left")
        .with_columns(
            pl.coalesce("TRT01P", "TRT01A").alias("arm"),
            compute_ady(pl.col("DTHDT"), pl.col("ORIGDT")).cast(pl.Int64).alias("DTHDY"),
            (pl.col("DTHDT") - pl.col("TRTEDT")).dt.total_days().cast(pl.Int64).alias("DLINFDY"),
        )
    )
    return d.select(DEATH_COLUMNS).sort("USUBJID")

"""Apply the data cut (datacutr semantics) and the cross-domain checks.

- Subjects enrolled (consent, else randomisation, else first dose) after the cut date leave the
  cut with all their records.
- A record whose date (the earliest date a partial date can mean) is after the cut is removed.
- A death after the cut is not a death: DTHDTC and DTHFL are cleared. End dates after the cut
  (AEENDTC, RFENDTC) are cleared: the event is ongoing at the cut.
- Events after the cut are thereby censored at it by the time-to-event derivations.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from hepatrial.dates import dtc_date, dtc_earliest
from hepatrial.errors import DataContractError
from hepatrial.ingest.findings import Findings

EXCL_SCHEMA = {"domain": pl.Utf8, "file": pl.Utf8, "row": pl.Int64, "USUBJID": pl.Utf8, "reason": pl.Utf8}


def _excl(df: pl.DataFrame, domain: str, file: str, reason: str) -> pl.DataFrame:
    return df.select(pl.lit(domain).alias("domain"), pl.lit(file).alias("file"),
                     pl.col("SRCROW").cast(pl.Int64).alias("row"),
                     (pl.col("USUBJID") if "USUBJID" in df.columns else pl.lit(None, pl.Utf8)).alias("USUBJID"),
                     pl.lit(reason).alias("reason"))


def randomisation_dates(ds: pl.DataFrame) -> pl.DataFrame:
    """USUBJID -> RANDDT from the DS RANDOMIZED record (earliest if several)."""
    return (ds.filter(pl.col("DSDECOD").str.to_uppercase() == "RANDOMIZED")
            .group_by("USUBJID").agg(dtc_date("DSSTDTC").min().alias("RANDDT")))


def enrolment_dates(dm: pl.DataFrame, ds: pl.DataFrame) -> pl.DataFrame:
    r = randomisation_dates(ds)
    return (dm.select("USUBJID", "SRCROW", dtc_date("RFICDTC").alias("_ic"), dtc_date("RFSTDTC").alias("_fd"))
            .join(r, on="USUBJID", how="left")
            .with_columns(pl.coalesce("_ic", "RANDDT", "_fd").alias("ENRLDT")))


def apply_cut(frames: dict[str, pl.DataFrame], files: dict[str, str], specs: dict, cut: dt.date,
              findings: Findings) -> tuple[dict[str, pl.DataFrame], pl.DataFrame]:
    """Return the cut domains and the exclusions (one row per removed source row, with a reason)."""
    dm, ds = frames["DM"], frames["DS"]
    rand = randomisation_dates(ds)
    if rand.height and rand["RANDDT"].min() is not None and cut < rand["RANDDT"].min():
        raise DataContractError(
            f"the data cut date {cut} is before the first randomisation ({rand['RANDDT'].min()}); "
            "nothing to analyse: check cut_date in the study config or the cut folder name")
    enr = enrolment_dates(dm, ds)
    no_date = enr.filter(pl.col("ENRLDT").is_null())
    for r in no_date.iter_rows(named=True):
        findings.add("WARNING", "DM", files["DM"], "NO_ENROLMENT_DATE",
                     "no consent, randomisation or first-dose date; kept in the cut", row=r["SRCROW"],
                     usubjid=r["USUBJID"], column="RFICDTC")
    late_subj = enr.filter(pl.col("ENRLDT") > cut)["USUBJID"].implode()
    out: dict[str, pl.DataFrame] = {}
    excl: list[pl.DataFrame] = []
    for dom, df in frames.items():
        spec = specs[dom]
        f = files[dom]
        if "USUBJID" in df.columns:
            gone = df.filter(pl.col("USUBJID").is_in(late_subj))
            excl.append(_excl(gone, dom, f, "subject enrolled after the data cut"))
            df = df.filter(~pl.col("USUBJID").is_in(late_subj))
        if spec.main_date and spec.main_date in df.columns:
            d = dtc_earliest(spec.main_date)
            after = df.filter(d > cut)
            excl.append(_excl(after, dom, f, "dated after the data cut"))
            df = df.filter(~(d > cut).fill_null(False))
            if dom != "AE":
                undated = df.filter(pl.col(spec.main_date).is_null())
                findings.add_rows(undated, "ERROR", dom, f, "DATE_MISSING",
                                  "record has no date; excluded (cannot be placed in time)", column=spec.main_date)
                excl.append(_excl(undated, dom, f, f"missing {spec.main_date}"))
                df = df.filter(pl.col(spec.main_date).is_not_null())
            else:
                findings.add_rows(df.filter(pl.col(spec.main_date).is_null()), "WARNING", dom, f, "DATE_MISSING",
                                  "AE start date missing; kept (treated as treatment-emergent)",
                                  column=spec.main_date)
        if dom == "DM":
            late_death = df.filter(dtc_earliest("DTHDTC") > cut)
            findings.add_rows(late_death, "INFO", "DM", f, "DEATH_AFTER_CUT",
                              "death after the data cut: not a death in this cut (DTHDTC, DTHFL cleared)",
                              column="DTHDTC")
            clear = (dtc_earliest("DTHDTC") > cut).fill_null(False)
            df = df.with_columns(pl.when(clear).then(None).otherwise(pl.col("DTHDTC")).alias("DTHDTC"),
                                 pl.when(clear).then(None).otherwise(pl.col("DTHFL")).alias("DTHFL"))
            if "RFENDTC" in df.columns:
                df = df.with_columns(pl.when((dtc_earliest("RFENDTC") > cut).fill_null(False)).then(None)
                                     .otherwise(pl.col("RFENDTC")).alias("RFENDTC"))
        if dom == "AE" and "AEENDTC" in df.columns:
            df = df.with_columns(pl.when((dtc_earliest("AEENDTC") > cut).fill_null(False)).then(None)
                                 .otherwise(pl.col("AEENDTC")).alias("AEENDTC"))
        out[dom] = df
    exclusions = pl.concat(excl, how="vertical") if excl else pl.DataFrame(schema=EXCL_SCHEMA)
    return out, exclusions


def exclude_unknown_subjects(frames: dict[str, pl.DataFrame], files: dict[str, str],
                             findings: Findings) -> tuple[dict[str, pl.DataFrame], pl.DataFrame]:
    """Rows of subjects absent from DM are excluded (ERROR finding per row)."""
    ids = frames["DM"]["USUBJID"].implode()
    excl = []
    out = {}
    for dom, df in frames.items():
        if dom == "DM" or "USUBJID" not in df.columns:
            out[dom] = df
            continue
        orphan = df.filter(~pl.col("USUBJID").is_in(ids))
        findings.add_rows(orphan, "ERROR", dom, files[dom], "SUBJECT_NOT_IN_DM",
                          "subject not in DM; row excluded", column="USUBJID")
        excl.append(_excl(orphan, dom, files[dom], "subject not in DM"))
        out[dom] = df.filter(pl.col("USUBJID").is_in(ids))
    return out, (pl.concat(excl) if excl else pl.DataFrame(schema=EXCL_SCHEMA))


def cross_checks(frames: dict[str, pl.DataFrame], files: dict[str, str], specs: dict, findings: Findings) -> None:
    """Consistency across domains: flagged, never changed."""
    dm, ds = frames["DM"], frames["DS"]
    consent = dm.select("USUBJID", dtc_date("RFICDTC").alias("_ic"))
    for dom, df in frames.items():
        spec = specs[dom]
        if dom == "DM" or not spec.main_date or spec.main_date not in df.columns:
            continue
        early = (df.join(consent, on="USUBJID", how="inner")
                 .filter(dtc_date(spec.main_date) < pl.col("_ic")))
        findings.add_rows(early, "WARNING", dom, files[dom], "BEFORE_CONSENT",
                          "record dated before informed consent (RFICDTC)", column=spec.main_date)
    rand = randomisation_dates(ds)
    d = (dm.join(rand, on="USUBJID", how="left")
         .filter(pl.col("RANDDT").is_not_null() & (dtc_earliest("DTHDTC") < pl.col("RANDDT"))))
    findings.add_rows(d, "ERROR", "DM", files["DM"], "DEATH_BEFORE_RANDOMISATION",
                      "death date before randomisation; carried, check the data", column="DTHDTC")
    incons = dm.filter(((pl.col("DTHFL") == "Y") & pl.col("DTHDTC").is_null())
                       | (pl.col("DTHDTC").is_not_null() & pl.col("DTHFL").is_null()))
    findings.add_rows(incons, "WARNING", "DM", files["DM"], "DEATH_FLAG_DATE",
                      "DTHFL and DTHDTC disagree; a death date counts as a death", column="DTHFL")
    if "PR" in frames:
        tx = frames["PR"].filter(pl.col("PRDECOD").str.to_uppercase() == "LIVER TRANSPLANT")
        late = (tx.join(dm.select("USUBJID", dtc_latest_safe("DTHDTC").alias("_dth")), on="USUBJID")
                .filter(dtc_earliest("PRSTDTC") > pl.col("_dth")))
        findings.add_rows(late, "ERROR", "PR", files["PR"], "TRANSPLANT_AFTER_DEATH",
                          "liver transplant dated after death; carried, check the data", column="PRSTDTC")
    if "LB" in frames:
        lb = frames["LB"]
        dup = lb.filter(pl.struct("USUBJID", "LBTESTCD", "LBDTC").is_duplicated())
        findings.add_rows(dup, "WARNING", "LB", files["LB"], "LB_DUPLICATE",
                          "more than one result for this subject, test and date/time; windowing picks one",
                          column="LBDTC")


def dtc_latest_safe(col: str) -> pl.Expr:
    from hepatrial.dates import dtc_latest
    return dtc_latest(col)

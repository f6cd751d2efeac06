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

from hepatrial.contract import EXCL_SCHEMA, fatal_ae
from hepatrial.dates import compute_ady, dtc_date, dtc_earliest, dtc_latest
from hepatrial.errors import DataContractError
from hepatrial.ingest.findings import Findings
from hepatrial.ingest.spill import chunks, each_chunk, map_chunks
from hepatrial.spec import Study


def _excl(df: pl.DataFrame, domain: str, file: str, reason: str) -> pl.DataFrame:
    return df.select(
        pl.lit(domain).alias("domain"),
        pl.lit(file).alias("file"),
        pl.col("SRCROW").cast(pl.Int64).alias("row"),
        (pl.col("USUBJID") if "USUBJID" in df.columns else pl.lit(None, pl.Utf8)).alias("USUBJID"),
        pl.lit(reason).alias("reason"),
    )


def randomisation_dates(ds: pl.DataFrame) -> pl.DataFrame:
    """USUBJID -> RANDDT from the DS RANDOMIZED record (earliest if several)."""
    return (
        ds.filter(pl.col("DSDECOD").str.to_uppercase() == "RANDOMIZED")
        .group_by("USUBJID")
        .agg(dtc_date("DSSTDTC").min().alias("RANDDT"))
    )


def enrolment_dates(dm: pl.DataFrame, ds: pl.DataFrame) -> pl.DataFrame:
    r = randomisation_dates(ds)
    return (
        dm.select(
            "USUBJID", "SRCROW", dtc_date("RFICDTC").alias("_ic"), dtc_date("RFSTDTC").alias("_fd")
        )
        .join(r, on="USUBJID", how="left")
        .with_columns(pl.coalesce("_ic", "RANDDT", "_fd").alias("ENRLDT"))
    )


def apply_cut(
    frames: dict[str, pl.DataFrame],
    files: dict[str, str],
    specs: dict,
    cut: dt.date,
    findings: Findings,
) -> tuple[dict[str, pl.DataFrame], pl.DataFrame]:
    """Return the cut domains and the exclusions (one row per removed source row, with a reason)."""
    dm, ds = frames["DM"], frames["DS"]
    rand = randomisation_dates(ds)
    if rand.height and rand["RANDDT"].min() is not None and cut < rand["RANDDT"].min():
        raise DataContractError(
            f"the data cut date {cut} is before the first randomisation ({rand['RANDDT'].min()}); "
            "nothing to analyse: check cut_date in the study config or the cut folder name"
        )
    enr = enrolment_dates(dm, ds)
    no_date = enr.filter(pl.col("ENRLDT").is_null())
    for r in no_date.iter_rows(named=True):
        findings.add(
            "WARNING",
            "DM",
            files["DM"],
            "NO_ENROLMENT_DATE",
            "no consent, randomisation or first-dose date; kept in the cut",
            row=r["SRCROW"],
            usubjid=r["USUBJID"],
            column="RFICDTC",
        )
    late_subj = enr.filter(pl.col("ENRLDT") > cut)["USUBJID"].implode()
    excl: list[pl.DataFrame] = []
    for dom in list(frames):  # in place, a chunk at a time (hepatrial.ingest.spill)
        map_chunks(
            frames,
            dom,
            lambda df, dom=dom: _cut_rows(
                df, dom, specs[dom], files[dom], cut, late_subj, findings, excl
            ),
        )
    exclusions = pl.concat(excl, how="vertical") if excl else pl.DataFrame(schema=EXCL_SCHEMA)
    return frames, exclusions


def _cut_rows(df, dom, spec, f, cut, late_subj, findings, excl) -> pl.DataFrame:
    """The rows of ``df`` (a chunk of domain ``dom``) in the cut; those out go to ``excl``."""
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
            findings.add_rows(
                undated,
                "ERROR",
                dom,
                f,
                "DATE_MISSING",
                "record has no date; excluded (cannot be placed in time)",
                column=spec.main_date,
            )
            excl.append(_excl(undated, dom, f, f"missing {spec.main_date}"))
            df = df.filter(pl.col(spec.main_date).is_not_null())
        else:
            findings.add_rows(
                df.filter(pl.col(spec.main_date).is_null()),
                "WARNING",
                dom,
                f,
                "DATE_MISSING",
                "AE start date missing; kept (treated as treatment-emergent)",
                column=spec.main_date,
            )
    if dom == "DM":
        late_death = df.filter(dtc_earliest("DTHDTC") > cut)
        findings.add_rows(
            late_death,
            "INFO",
            "DM",
            f,
            "DEATH_AFTER_CUT",
            "death after the data cut: not a death in this cut (DTHDTC, DTHFL cleared)",
            column="DTHDTC",
        )
        clear = (dtc_earliest("DTHDTC") > cut).fill_null(False)
        df = df.with_columns(
            pl.when(clear).then(None).otherwise(pl.col("DTHDTC")).alias("DTHDTC"),
            pl.when(clear).then(None).otherwise(pl.col("DTHFL")).alias("DTHFL"),
        )
        if "RFENDTC" in df.columns:
            df = df.with_columns(
                pl.when((dtc_earliest("RFENDTC") > cut).fill_null(False))
                .then(None)
                .otherwise(pl.col("RFENDTC"))
                .alias("RFENDTC")
            )
    if dom == "AE" and "AEENDTC" in df.columns:
        df = df.with_columns(
            pl.when((dtc_earliest("AEENDTC") > cut).fill_null(False))
            .then(None)
            .otherwise(pl.col("AEENDTC"))
            .alias("AEENDTC")
        )
    return df


def exclude_unknown_subjects(
    frames: dict[str, pl.DataFrame], files: dict[str, str], findings: Findings
) -> tuple[dict[str, pl.DataFrame], pl.DataFrame]:
    """Rows of subjects absent from DM are excluded (ERROR finding per row)."""
    ids = frames["DM"]["USUBJID"].implode()
    excl = []

    def known(df: pl.DataFrame, dom: str) -> pl.DataFrame:
        if "USUBJID" not in df.columns:
            return df
        orphan = df.filter(~pl.col("USUBJID").is_in(ids))
        findings.add_rows(
            orphan,
            "ERROR",
            dom,
            files[dom],
            "SUBJECT_NOT_IN_DM",
            "subject not in DM; row excluded",
            column="USUBJID",
        )
        excl.append(_excl(orphan, dom, files[dom], "subject not in DM"))
        return df.filter(pl.col("USUBJID").is_in(ids))

    for dom in list(frames):  # in place, a chunk at a time (hepatrial.ingest.spill)
        if dom != "DM":
            map_chunks(frames, dom, lambda df, dom=dom: known(df, dom))
    return frames, (pl.concat(excl) if excl else pl.DataFrame(schema=EXCL_SCHEMA))


# Domains whose records repeated under another --SEQ have a check of their own: LB one result per
# subject, test and time (LB_DUPLICATE), EX one infusion per day (EX_SAME_DAY). (DM: one row per
# subject, a repeated USUBJID stops the run.)
OWN_REPEAT_CHECK = ("LB", "EX")


def exclude_duplicates(
    frames: dict[str, pl.DataFrame], files: dict[str, str], findings: Findings
) -> tuple[dict[str, pl.DataFrame], pl.DataFrame]:
    """Repeated records. A row identical to an earlier row of its file in every column (a record
    sent twice) is excluded: WARNING ``DUPLICATE_ROW`` and an exclusion naming the row it repeats,
    which stays; counted twice, it would add an adverse event, a questionnaire answer or a
    procedure that happened once. A row identical to an earlier one in every column but its
    sequence number (--SEQ) is flagged, WARNING ``DUPLICATE_RECORD``, and kept: the two have
    different keys, and whether they are one event is the sponsor's query to make (DM, LB and EX
    have checks of their own, ``OWN_REPEAT_CHECK``)."""
    excl: list[pl.DataFrame] = []
    for dom in list(frames):
        if dom == "DM":
            continue
        cols = [c for c in next(chunks(frames, dom)).columns if c != "SRCROW"]
        rep = _later(repeated_rows(frames, dom, cols))
        if rep.height:
            findings.add_rows(
                rep,
                "WARNING",
                dom,
                files[dom],
                "DUPLICATE_ROW",
                "identical in every column to an earlier row of the file (value: that row); "
                "excluded, the earlier row kept",
                value=pl.format("row {}", "_FIRST"),
            )
            excl.append(_excl(rep, dom, files[dom], "duplicate row: identical to an earlier row"))
            gone = rep["SRCROW"].implode()
            map_chunks(frames, dom, lambda df, gone=gone: df.filter(~pl.col("SRCROW").is_in(gone)))
        seq = f"{dom}SEQ"
        if dom not in OWN_REPEAT_CHECK and seq in cols:
            findings.add_rows(
                _later(repeated_rows(frames, dom, [c for c in cols if c != seq])),
                "WARNING",
                dom,
                files[dom],
                "DUPLICATE_RECORD",
                f"identical to an earlier row of the file (value: that row) in every column but "
                f"{seq}; kept: one event recorded twice?",
                column=seq,
                value=pl.format("row {}", "_FIRST"),
            )
    return frames, (pl.concat(excl) if excl else pl.DataFrame(schema=EXCL_SCHEMA))


def repeated_rows(frames, dom: str, cols: list[str]) -> pl.DataFrame:
    """The rows of domain ``dom`` whose values in ``cols`` another row shares (nulls equal), in
    row order, with the first such row's number as ``_FIRST``. Checked on a 64-bit hash over every
    chunk, then exactly on the rows whose hash repeats: the domain is never in memory at once."""
    key = pl.struct(cols)
    hashes = pl.concat(
        c.select("SRCROW", key.hash(seed=0).alias("_h")) for c in chunks(frames, dom)
    )
    maybe = hashes.filter(pl.col("_h").is_duplicated())["SRCROW"].implode()
    del hashes
    cand = pl.concat(c.filter(pl.col("SRCROW").is_in(maybe)) for c in chunks(frames, dom))
    return (
        cand.with_columns(key.alias("_k"))
        .filter(pl.col("_k").is_duplicated())
        .with_columns(pl.col("SRCROW").min().over("_k").alias("_FIRST"))
        .drop("_k")
        .sort("SRCROW")
    )


def _later(rows: pl.DataFrame) -> pl.DataFrame:
    """The rows of :func:`repeated_rows` after the first of their kind."""
    return rows.filter(pl.col("SRCROW") != pl.col("_FIRST"))


def first_doses(frames: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """Each subject's first administration in EX (the earliest complete date, then the row), its
    date as ``_first`` (ADSL TRTSDT); no rows when the cut has no EX."""
    if "EX" not in frames:
        return pl.DataFrame(schema={"USUBJID": pl.Utf8, "SRCROW": pl.Int64, "_first": pl.Date})
    ex = pl.concat(chunks(frames, "EX"))
    day = dtc_date("EXSTDTC")
    return (
        ex.filter(day.is_not_null())
        .with_columns(day.alias("_first"))
        .sort("USUBJID", "_first", "SRCROW")
        .group_by("USUBJID", maintain_order=True)
        .first()
    )


def check_windows(
    frames: dict[str, pl.DataFrame], files: dict[str, str], cfg: Study, findings: Findings
) -> None:
    """Out-of-window visits (WARNING, carried): a scheduled record (VISIT given) whose day from the
    origin falls outside every analysis window, or in the window of another visit than the one its
    VISIT names (when VISIT uses the config's visit labels). Windowing in ADaM decides what is analysed."""
    dm, ds = frames["DM"], frames["DS"]
    first, second = ("RANDDT", "_fd") if cfg.origin == "randomization" else ("_fd", "RANDDT")
    # the first dose as ADSL TRTSDT takes it: the first EX date, else RFSTDTC
    origin = (
        dm.select("USUBJID", dtc_date("RFSTDTC").alias("_rf"))
        .join(first_doses(frames).select("USUBJID", "_first"), on="USUBJID", how="left")
        .with_columns(pl.coalesce("_first", "_rf").alias("_fd"))
        .join(randomisation_dates(ds), on="USUBJID", how="left")
        .select("USUBJID", pl.coalesce(first, second).alias("ORIGDT"))
    )
    # SDTM VISIT name -> its analysis visit (sdtm_visits, default the label; docs: windowing)
    nominal = {n: v.label for v in cfg.visits for n in v.nominal_names}
    by_nominal = cfg.windowing == "nominal"
    date_col = {"LB": "LBDTC", "RS": "RSDTC", "QS": "QSDTC"}  # the scheduled domains
    for dom, df in each_chunk(frames, date_col):
        col = date_col[dom]
        if df.height == 0 or "VISIT" not in df.columns:
            continue
        # findings only: the columns they name, not whole rows, go through the join
        d = (
            df.select(
                [c for c in dict.fromkeys(["USUBJID", "SRCROW", "VISIT", col]) if c in df.columns]
            )
            .filter(pl.col("VISIT").is_not_null())
            .join(origin, on="USUBJID", how="inner")
            .with_columns(dtc_date(col).alias("ADT"))
            .with_columns(compute_ady("ADT", "ORIGDT").alias("ADY"))
        )
        win = pl.lit(None, pl.Utf8)
        for v in reversed(cfg.visits):
            win = (
                pl.when(pl.col("ADY").is_between(v.window[0], v.window[1]))
                .then(pl.lit(v.label))
                .otherwise(win)
            )
        d = d.with_columns(win.alias("_win"), pl.col("VISIT").str.to_uppercase().alias("_vis"))
        d = d.filter(pl.col("ADY").is_not_null())
        d = d.with_columns(
            pl.col("_vis").str.strip_chars().replace_strict(nominal, default=None).alias("_nom")
        )
        outside = d.filter(
            pl.col("_win").is_null() & ~pl.col("_vis").str.contains("UNSCHED|SCREEN")
        )
        findings.add_rows(
            outside,
            "WARNING",
            dom,
            files[dom],
            "OUT_OF_WINDOW",
            "scheduled visit outside every analysis window; "
            + (
                "analysed at its nominal visit"
                if by_nominal
                else "carried as UNSCHEDULED, not analysed"
            ),
            column=col,
        )
        moved = d.filter(
            pl.col("_win").is_not_null()
            & pl.col("_nom").is_not_null()
            & (pl.col("_nom") != pl.col("_win"))
        )
        findings.add_rows(
            moved,
            "WARNING",
            dom,
            files[dom],
            "VISIT_WINDOW_MISMATCH",
            "visit date falls in the analysis window of another visit; "
            + (
                "analysed at its nominal visit (windowing: nominal)"
                if by_nominal
                else "windowed by its date"
            ),
            column=col,
        )
        pw = [(v.label, *v.protocol_window) for v in cfg.visits if v.protocol_window]
        if pw:
            pwin = pl.DataFrame(
                pw, schema={"_nom": pl.Utf8, "_plo": pl.Int64, "_phi": pl.Int64}, orient="row"
            )
            late = d.join(pwin, on="_nom", how="inner").filter(
                ~pl.col("ADY").is_between(pl.col("_plo"), pl.col("_phi"))
            )
            findings.add_rows(
                late,
                "WARNING",
                dom,
                files[dom],
                "OUT_OF_PROTOCOL_WINDOW",
                "visit outside its protocol window (protocol deviation); "
                + ("analysed at its nominal visit" if by_nominal else "analysed by its date"),
                column=col,
            )


def flag_partial_dates(
    frames: dict[str, pl.DataFrame], files: dict[str, str], specs: dict, findings: Findings
) -> None:
    """Partial dates where the contract allows them: WARNING, carried and imputed in ADaM."""
    from hepatrial.dates import dtc_precision

    for dom, df in each_chunk(frames):
        for col in specs[dom].partial_dates:
            if col in df.columns:
                part = df.filter(dtc_precision(col).is_in(["M", "Y"]))
                findings.add_rows(
                    part,
                    "WARNING",
                    dom,
                    files[dom],
                    "PARTIAL_DATE",
                    "partial date; imputed in ADaM by the documented rule (flag --DTF)",
                    column=col,
                )


def cross_checks(
    frames: dict[str, pl.DataFrame], files: dict[str, str], specs: dict, findings: Findings
) -> None:
    """Consistency across domains: flagged, never changed."""
    dm, ds = frames["DM"], frames["DS"]
    consent = dm.select("USUBJID", dtc_date("RFICDTC").alias("_ic"))
    death = dm.select("USUBJID", dtc_latest("DTHDTC").alias("_dth")).drop_nulls()
    dead = pl.concat(
        [
            dm.filter(pl.col("DTHDTC").is_not_null() | pl.col("DTHFL").eq_missing("Y"))["USUBJID"],
            ds.filter(pl.col("DSDECOD").str.to_uppercase() == "DEATH")["USUBJID"],
        ]
    ).implode()
    for dom, df in each_chunk(frames):
        spec = specs[dom]
        if dom == "DM" or not spec.main_date or spec.main_date not in df.columns:
            continue
        if dom != "DS":  # (a disposition form may be dated after the death it records)
            findings.add_rows(
                df.select("USUBJID", "SRCROW", spec.main_date)
                .join(death, on="USUBJID", how="inner")
                .filter(dtc_earliest(spec.main_date) > pl.col("_dth")),
                "WARNING",
                dom,
                files[dom],
                "AFTER_DEATH",
                "record dated after the subject's death (DM DTHDTC); carried, check the data",
                column=spec.main_date,
            )
        if dom == "AE":
            grade = (  # AEOUT is an expected column (read as missing when absent); AETOXGR is not
                pl.col("AETOXGR").cast(pl.Float64, strict=False)
                if "AETOXGR" in df.columns
                else pl.lit(None, pl.Float64)
            )
            findings.add_rows(
                df.filter(fatal_ae(grade) & ~pl.col("USUBJID").is_in(dead)),
                "WARNING",
                "AE",
                files["AE"],
                "FATAL_AE_NO_DEATH",
                "fatal AE (AEOUT FATAL or grade 5) of a subject with no death in this cut (DM "
                "DTHDTC/DTHFL, DS DEATH): the deaths tables do not count it; check the data",
                column="AEOUT",
            )
        if dom == "AE" and "AEENDTC" in df.columns:
            findings.add_rows(
                df.filter(dtc_latest("AEENDTC") < dtc_earliest("AESTDTC")),
                "WARNING",
                "AE",
                files["AE"],
                "AE_END_BEFORE_START",
                "AE end date (AEENDTC) before its start date (AESTDTC); carried, check the data",
                column="AEENDTC",
            )
        early = (
            df.select("USUBJID", "SRCROW", spec.main_date)
            .join(consent, on="USUBJID", how="inner")
            .filter(dtc_date(spec.main_date) < pl.col("_ic"))
        )
        findings.add_rows(
            early,
            "WARNING",
            dom,
            files[dom],
            "BEFORE_CONSENT",
            "record dated before informed consent (RFICDTC)",
            column=spec.main_date,
        )
    rand = randomisation_dates(ds)
    d = dm.join(rand, on="USUBJID", how="left").filter(
        pl.col("RANDDT").is_not_null() & (dtc_earliest("DTHDTC") < pl.col("RANDDT"))
    )
    findings.add_rows(
        d,
        "ERROR",
        "DM",
        files["DM"],
        "DEATH_BEFORE_RANDOMISATION",
        "death date before randomisation; carried, check the data",
        column="DTHDTC",
    )
    incons = dm.filter(
        ((pl.col("DTHFL") == "Y") & pl.col("DTHDTC").is_null())
        | (pl.col("DTHDTC").is_not_null() & pl.col("DTHFL").is_null())
    )
    findings.add_rows(
        incons,
        "WARNING",
        "DM",
        files["DM"],
        "DEATH_FLAG_DATE",
        "DTHFL and DTHDTC disagree; a death date counts as a death",
        column="DTHFL",
    )
    if "PR" in frames:
        tx = pl.concat(
            c.filter(pl.col("PRDECOD").str.to_uppercase() == "LIVER TRANSPLANT")
            for c in chunks(frames, "PR")
        )
        late = tx.join(
            dm.select("USUBJID", dtc_latest("DTHDTC").alias("_dth")), on="USUBJID"
        ).filter(dtc_earliest("PRSTDTC") > pl.col("_dth"))
        findings.add_rows(
            late,
            "ERROR",
            "PR",
            files["PR"],
            "TRANSPLANT_AFTER_DEATH",
            "liver transplant dated after death; carried, check the data",
            column="PRSTDTC",
        )
    if "EX" in frames:  # an infusion recorded twice: ADSL counts infusions by distinct date
        ex = pl.concat(chunks(frames, "EX"))
        day = dtc_date("EXSTDTC")
        first = first_doses(frames)
        findings.add_rows(
            first.join(rand, on="USUBJID", how="inner").filter(pl.col("_first") < pl.col("RANDDT")),
            "WARNING",
            "EX",
            files["EX"],
            "DOSE_BEFORE_RANDOMISATION",
            "first administration dated before the subject's randomisation (DS RANDOMIZED); "
            "carried, check the data (TRTSDT is this date)",
            column="EXSTDTC",
        )
        findings.add_rows(
            dm.join(first.select("USUBJID", "_first"), on="USUBJID", how="inner").filter(
                dtc_date("RFSTDTC").ne_missing(pl.col("_first"))
            ),
            "WARNING",
            "DM",
            files["DM"],
            "RFSTDTC_NOT_FIRST_DOSE",
            "RFSTDTC is empty or not the date of the subject's first administration in EX; "
            "carried, the analyses take the first EX date (TRTSDT)",
            column="RFSTDTC",
        )
        twice = ex.filter(day.is_not_null() & pl.struct("USUBJID", day).is_duplicated())
        findings.add_rows(
            twice,
            "WARNING",
            "EX",
            files["EX"],
            "EX_SAME_DAY",
            "more than one administration for this subject on this date; counted as one "
            "infusion (ADSL NINFUS)",
            column="EXSTDTC",
        )
    if "LB" in frames:
        dup = repeated_rows(frames, "LB", ["USUBJID", "LBTESTCD", "LBDTC"])
        findings.add_rows(
            dup,
            "WARNING",
            "LB",
            files["LB"],
            "LB_DUPLICATE",
            "more than one result for this subject, test and date/time; windowing picks one",
            column="LBDTC",
        )


def check_studyid(
    frames: dict[str, pl.DataFrame], files: dict[str, str], cfg: Study, findings: Findings
) -> None:
    """One study per cut: DM's STUDYID is the study config's id (``study.id``, "STUDYID as in
    DM"), and every record carries DM's STUDYID. Flagged (WARNING), never changed: a record of
    another study in the cut, or the config of another study. The study is the config's id when
    DM has it, else DM's most frequent STUDYID (one finding says so, at DM's first row)."""
    dm = frames["DM"]
    ids = dm["STUDYID"].drop_nulls()
    if ids.is_empty():
        return
    study = cfg.id if (ids == cfg.id).any() else ids.mode().sort()[0]  # ties: the first by name
    if study != cfg.id:
        first = dm.filter(pl.col("STUDYID") == study).head(1)
        findings.add_rows(
            first,
            "WARNING",
            "DM",
            files["DM"],
            "STUDYID_NOT_CONFIG",
            f"DM's STUDYID is not the study config's id {cfg.id!r} (study.id); is the study "
            "config the one of this cut?",
            column="STUDYID",
        )
    for dom, df in each_chunk(frames):
        if "STUDYID" not in df.columns:
            continue
        other = df.filter(pl.col("STUDYID").is_not_null() & (pl.col("STUDYID") != study))
        findings.add_rows(
            other,
            "WARNING",
            dom,
            files[dom],
            "STUDYID_MISMATCH",
            f"STUDYID is not the study's {study!r}: a record of another study? carried as it is",
            column="STUDYID",
        )


def check_randomisation(
    frames: dict[str, pl.DataFrame], files: dict[str, str], cfg: Study, findings: Findings
) -> None:
    """The ITT population of a randomised design is the subjects with a configured arm (DM ARM)
    and a randomisation date (DS RANDOMIZED; ADSL ITTFL). A subject with one and not the other is
    left out of it: flagged here (WARNING, at the subject's DM row), never changed."""
    if not cfg.design.randomised:
        return
    d = (
        frames["DM"]
        .select("USUBJID", "SRCROW", "ARM")
        .join(randomisation_dates(frames["DS"]), on="USUBJID", how="left")
    )
    in_arm = pl.col("ARM").is_in(cfg.dm_arms).fill_null(False)
    findings.add_rows(
        d.filter(in_arm & pl.col("RANDDT").is_null()),
        "WARNING",
        "DM",
        files["DM"],
        "NOT_RANDOMISED",
        "assigned to an arm (ARM) but no DS RANDOMIZED record with a date: not in the ITT "
        "population (ITTFL N)",
        column="ARM",
    )
    findings.add_rows(
        d.filter(~in_arm & pl.col("RANDDT").is_not_null()),
        "WARNING",
        "DM",
        files["DM"],
        "RANDOMISED_NO_ARM",
        "a DS RANDOMIZED record but no arm of the study config (ARM): not in the ITT population "
        "(ITTFL N)",
        column="ARM",
    )

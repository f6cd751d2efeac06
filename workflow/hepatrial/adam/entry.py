"""A cut of ADaM datasets: the data contract's alternative entry (docs/data_contract.md, "A cut of
ADaM datasets").

A cut folder that holds ``adsl.<csv|parquet|xpt>`` (and no ``dm``) is a cut of ADaM datasets: the
pipeline takes the sponsor's ADSL, BDS datasets (ADEFF, ADLB, ADQS), ADTTE and ADAE as they are
and starts at the analyses. :func:`import_adam_cut` is the one step that replaces ingest and the
ADaM derivations for such a cut. It reads every dataset with ingest's reader and row checks (one
line naming file, row and column; the same findings), then writes the datasets in the layout the
analyses read:

- ADSL: the sponsor's variables, with TRT01PN/TRT01AN (the config's arm codes), ORIGDT (the
  config's ``origin``: RANDDT or TRTSDT) and DCUTDT added when absent; CHOLFL/MELDETIO from the
  config's etiology column when it is there;
- BDS, ADTTE, ADAE: the sponsor's rows and analysis variables, each record given its subject's
  ADSL treatment, population flags and strata (the dataset's own copies are replaced: one source
  of a subject's arm); PARAM from the parameter table when absent, ADY from ADT and ORIGDT when
  absent, PCHG from CHG and BASE when absent;
- ADAE: the analysis flags the sponsor's dataset lacks (TRTEMFL, ATOXGR, AREL, FATALFL, ASTDT)
  derived as from SDTM AE (:func:`hepatrial.adam.adae.create_adae`); those it has are kept;
- ADTTE: CRCODE 1 for an event and 0 for a censored record when absent (no competing causes).

Nothing is derived again that the sponsor gave: baseline, ANL01FL, CHG, AVAL and CNSR are used as
they are. Every row ends in its dataset or in ``validation/exclusions.csv`` with a reason (a row
of a subject ADSL does not hold; a record dated after the data cut; an ADTTE row without AVAL or
CNSR). The SDTM-shaped files the
later steps read (exposure, visits, procedures) are written with no rows: the summaries built
from SDTM say so (an INFO ``SDTM_NOT_IN_CUT`` finding).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

from hepatrial import stamp
from hepatrial.contract import ADAM_DOMAINS, DOMAINS, EXCL_SCHEMA
from hepatrial.contract import ADAM_SUBJECT_VARS as SUBJECT_VARS
from hepatrial.dates import dtc_date, dtc_earliest
from hepatrial.errors import DataContractError
from hepatrial.ingest.findings import DEATHS_NOT_RECORDED, Findings
from hepatrial.ingest.read import locate_domains
from hepatrial.spec import Study

BDS_NAMES = ("ADEFF", "ADLB", "ADQS")
ADSL_DATES = ADAM_DOMAINS["ADSL"].dates
# the date that places a record in time (the data cut), the first one a dataset has
AFTER_CUT_DATES = {**dict.fromkeys(BDS_NAMES, ("ADT",)), "ADAE": ("AESTDTC", "ASTDT")}


def _arm_maps(study: Study) -> tuple[dict[str, str], dict[str, int]]:
    """Upper-case arm label or ARM value -> the config's label; label -> arm code."""
    canon = {}
    for a in study.arms:
        canon[a.arm.upper()] = a.label
        canon[a.label.upper()] = a.label
    return canon, {a.label: a.code for a in study.arms}


def _dates(df: pl.DataFrame, cols) -> pl.DataFrame:
    """ISO date text (checked by the row checks: never partial here) -> Date."""
    return df.with_columns(dtc_date(c).alias(c) for c in cols if c in df.columns)


def _numbers(df: pl.DataFrame, cols, dtype=pl.Float64) -> pl.DataFrame:
    return df.with_columns(
        pl.col(c).cast(pl.Float64, strict=False).cast(dtype, strict=False).alias(c)
        for c in cols
        if c in df.columns
    )


def _flags(df: pl.DataFrame, cols) -> pl.DataFrame:
    """ADaM flags as the analyses read them: "Y", else missing (an "N" of ABLFL/ANL01FL)."""
    return df.with_columns(
        pl.when(pl.col(c) == "Y").then(pl.lit("Y")).otherwise(None).alias(c)
        for c in cols
        if c in df.columns
    )


def _cmap(study: Study, name: str):
    return study.column_map.get(name) or study.column_map.get(name.lower())


def _check_arms(adsl: pl.DataFrame, study: Study, file: str, findings: Findings) -> pl.DataFrame:
    """TRT01P/TRT01A: a configured arm (its label or its ARM value, any case) or missing (not
    assigned); a FATAL UNKNOWN_ARM finding per row otherwise. Written as the config's label."""
    canon, _ = _arm_maps(study)
    for col in ("TRT01P", "TRT01A"):
        if col not in adsl.columns:
            continue
        up = pl.col(col).str.to_uppercase()
        findings.add_rows(
            adsl.filter(pl.col(col).is_not_null() & ~up.is_in(sorted(canon))),
            "FATAL",
            "ADSL",
            file,
            "UNKNOWN_ARM",
            "treatment is not an arm of the study config (arms[].label or arms[].arm)",
            column=col,
        )
        adsl = adsl.with_columns(up.replace_strict(canon, default=None).alias(col))
    if "TRT01A" in adsl.columns and adsl["TRT01A"].null_count() < adsl.height:
        # (all missing or absent: TRT01A is TRT01P, build_adsl) one subject's: as SDTM's ACTARM
        from hepatrial.ingest.validate import take_planned_arm

        adsl = take_planned_arm(adsl, "TRT01A", "TRT01P", "ADSL", file, findings)
    return adsl


def _check_crcode(tte: pl.DataFrame, columns, study: Study, file: str, findings: Findings) -> None:
    """CRCODE of the study's time-to-event parameters: a parameter with competing risks (a
    cumulative incidence analysis) needs it (its causes cannot be told apart without it), and each
    value must be 0 (censored) or one of the parameter's causes (the parameter table: 1 the event
    of interest, 2 death, 3 transplant); a FATAL ``CRCODE_UNKNOWN`` finding per row otherwise."""
    params = {p.paramcd: p for p in study.tte_params()}
    present = set(tte["PARAMCD"].drop_nulls().to_list())
    cif = sorted(p for p in present if p in params and params[p].has_cif)
    if cif and "CRCODE" not in columns:
        raise DataContractError(
            f"required column CRCODE is missing ({', '.join(cif)} has competing risks: CRCODE "
            "tells the causes apart, 0 censored, 1 the event of interest, 2 death, 3 liver "
            "transplant)",
            file=file,
            column="CRCODE",
        )
    if "CRCODE" not in columns:
        return
    code = pl.col("CRCODE").cast(pl.Float64, strict=False)
    for paramcd in sorted(present & set(params)):
        causes = params[paramcd].cif_paramcds()
        allowed = sorted({0, *causes} if causes else {0, 1})
        findings.add_rows(
            tte.filter(
                (pl.col("PARAMCD") == paramcd)
                & code.is_not_null()
                & ~code.is_in([float(a) for a in allowed])
            ),
            "FATAL",
            "ADTTE",
            file,
            "CRCODE_UNKNOWN",
            f"not a cause of {paramcd} (CRCODE {', '.join(map(str, allowed))})",
            column="CRCODE",
        )


def _check_treatment(
    df: pl.DataFrame, adsl: pl.DataFrame, study: Study, name: str, file: str, findings: Findings
) -> None:
    """A record's own TRT01P/TRT01A (any spelling of the arm) that is not its subject's in ADSL:
    one WARNING ``TRT_NOT_ADSL`` per column; ADSL's is the one used."""
    canon, _ = _arm_maps(study)
    for col in ("TRT01P", "TRT01A"):
        if col not in df.columns:
            continue
        own = pl.col(col).str.to_uppercase().replace_strict(canon, default=pl.col(col))
        hit = (
            df.select("SRCROW", "USUBJID", col, own.alias("_own"))
            .join(adsl.select("USUBJID", pl.col(col).alias("_adsl")), on="USUBJID", how="left")
            .filter(pl.col(col).is_not_null() & pl.col("_own").ne_missing(pl.col("_adsl")))
        )
        if hit.height:
            first = hit.row(0, named=True)
            findings.tally(
                "WARNING", name, file, "TRT_NOT_ADSL",
                lambda n, _, c=col: f"{n} record(s) whose {c} is not their subject's in ADSL; "
                "ADSL's used (first at this row)",
                n=hit.height, row=first["SRCROW"], usubjid=first["USUBJID"], column=col,
                value=first[col],
            )  # fmt: skip


def _duplicates(df, keys, name, file, findings, what) -> None:
    dup = df.filter(pl.struct(keys).is_duplicated() & pl.all_horizontal(pl.col(keys).is_not_null()))
    findings.add_rows(dup, "FATAL", name, file, "ADAM_DUPLICATE", what, column=keys[-1])


def _check_sources(
    study: Study, columns: list[str], file: str, adae_columns=None, adae_file=None
) -> None:
    """What the study's analyses derive from SDTM must be in the ADaM datasets. The intercurrent
    events of the study's estimands need their sources: treatment
    discontinuation needs ADSL NINFUS (infusions received; with it TRTEDT, EOSSTT), death DTHDT,
    liver transplant LTXDT, treatment-emergent AEs (ADAE without TRTEMFL) TRTSDT, and rescue
    therapy needs the PR or CM domain, which a cut of ADaM datasets does not hold. Without them
    every subject would look discontinued (no infusion) or rescue-free: a stop, not a guess. A
    dose-escalation study's DLTs need the sponsor's ADAE DLTFL (no EX infusion dates to count
    the DLT window from)."""
    from hepatrial.analysis.estimands import ice_definitions

    events = ice_definitions(study)
    dated = {"death": ("DTHDT", "date of death"), "transplant": ("LTXDT", "transplant date")}
    for event, (col, what) in dated.items():
        if event in events and col not in columns:  # else no subject would have the event
            raise DataContractError(
                f"required column {col} is missing (the study config's estimands have the "
                f"intercurrent event {event}, dated by ADSL {col}, the {what})",
                file=file,
                column=col,
            )
    if "treatment_discontinuation" in events:
        for col in ("NINFUS", "TRTEDT", "EOSSTT"):
            if col not in columns:
                raise DataContractError(
                    f"required column {col} is missing (the study config's estimands have the "
                    "intercurrent event treatment_discontinuation, derived from ADSL NINFUS, "
                    "TRTEDT and EOSSTT)",
                    file=file,
                    column=col,
                )
    if study.design.has("DLT"):  # DLT-evaluable: followed to the end of the first DLT window
        for col in ("TRTSDT", "LSTALVDT"):
            if col not in columns:
                raise DataContractError(
                    f"required column {col} is missing (a dose-escalation study's DLT-evaluable "
                    "subjects are those followed, LSTALVDT, to the end of the first infusion's "
                    "(TRTSDT) DLT window)",
                    file=file,
                    column=col,
                )
    if adae_columns is not None and "TRTEMFL" not in adae_columns:  # derived as from SDTM AE
        window = study.ae.period == "treatment_window"
        for col in ("TRTSDT", "TRTEDT") if window else ("TRTSDT",):
            if col not in columns:  # else no AE would be treatment-emergent
                raise DataContractError(
                    f"required column {col} is missing (ADAE has no TRTEMFL: treatment-emergent "
                    "adverse events are derived from the first infusion, ADSL TRTSDT"
                    + (", to the last, TRTEDT, plus ae.followup_days)" if window else ")"),
                    file=file,
                    column=col,
                )
    if study.design.has("DLT") and "DLTFL" not in (adae_columns or ()):
        raise DataContractError(
            "required column DLTFL is missing (a dose-escalation study's DLTs, in a cut of ADaM "
            "datasets, are the sponsor's ADAE DLTFL: the EX infusion dates the DLT window is "
            "counted from are not in such a cut)",
            file=adae_file or "adae.*",
            column="DLTFL",
        )
    if "rescue" in events:
        raise DataContractError(
            "the study config's estimands have the intercurrent event rescue, derived from the PR "
            "or CM domain, which a cut of ADaM datasets does not hold: use an SDTM cut, or leave "
            "rescue out of the estimands' intercurrent_events",
            file=file,
        )


def _check_visits(df: pl.DataFrame, study: Study, name: str, file: str, findings: Findings):
    """A BDS dataset's AVISIT in the config's spelling (another case: INFO ``VISIT_CASE``) and
    AVISITN the config's for it (another number: WARNING ``AVISITN_NOT_CONFIG``; the config's sets
    the visit order); a visit the config does not have is kept, not summarised by visit (INFO
    ``AVISIT_NOT_IN_CONFIG``), and PARAMCD in upper case (INFO ``TERM_CASE``)."""
    from hepatrial.ingest.validate import upper_case_terms

    df = upper_case_terms(df, ["PARAMCD"], name, file, findings)
    label = {v.label.upper(): v.label for v in study.visits}
    num = {v.label: v.avisitn for v in study.visits}
    up = pl.col("AVISIT").str.to_uppercase()
    known = up.is_in(sorted(label))
    checks = (
        ("INFO", "VISIT_CASE", known & (pl.col("AVISIT") != up.replace_strict(label, default=None)),
         "analysis visit(s) spelled in another case than the study config's; written as the "
         "config's"),
        ("INFO", "AVISIT_NOT_IN_CONFIG", pl.col("AVISIT").is_not_null() & ~known,
         "record(s) at an analysis visit the study config does not have; kept, not summarised by "
         "visit"),
    )  # fmt: skip
    for sev, rule, mask, text in checks:
        hit = df.filter(mask)
        if hit.height:
            first = hit.row(0, named=True)
            findings.tally(
                sev, name, file, rule, lambda n, _, t=text: f"{n} {t} (first at this row)",
                n=hit.height, row=first["SRCROW"], usubjid=first["USUBJID"], column="AVISIT",
                value=first["AVISIT"],
            )  # fmt: skip
    df = df.with_columns(up.replace_strict(label, default=pl.col("AVISIT")).alias("AVISIT"))
    config_n = pl.col("AVISIT").replace_strict(num, default=None, return_dtype=pl.Float64)
    other = df.filter(
        config_n.is_not_null()
        & (pl.col("AVISITN").cast(pl.Float64, strict=False) != config_n).fill_null(True)
    )
    if other.height:
        first = other.row(0, named=True)
        findings.tally(
            "WARNING", name, file, "AVISITN_NOT_CONFIG",
            lambda n, _: f"{n} AVISITN value(s) not the study config's number for the visit; the "
            "config's used (it sets the visit order) (first at this row)",
            n=other.height, row=first["SRCROW"], usubjid=first["USUBJID"], column="AVISITN",
            value=first["AVISITN"],
        )  # fmt: skip
    return df.with_columns(pl.coalesce(config_n.cast(pl.Utf8), pl.col("AVISITN")).alias("AVISITN"))


def build_adsl(adsl: pl.DataFrame, study: Study, cut: dt.date) -> pl.DataFrame:
    """The sponsor's ADSL with the variables the analyses read added when absent."""
    from hepatrial.adam.adsl import derive_vars_etiology, origin_date

    _, code = _arm_maps(study)
    df = _numbers(_dates(adsl, ADSL_DATES), ["AGE"])
    df = _numbers(df, ["NINFUS"], pl.Int64)
    if "TRT01A" not in df.columns or df["TRT01A"].null_count() == df.height:
        df = df.with_columns(pl.col("TRT01P").alias("TRT01A"))
    for c in ADSL_DATES:
        if c not in df.columns:
            df = df.with_columns(pl.lit(None, pl.Date).alias(c))
    df = df.with_columns(
        pl.col("TRT01P").replace_strict(code, default=None, return_dtype=pl.Int64).alias("TRT01PN"),
        pl.col("TRT01A").replace_strict(code, default=None, return_dtype=pl.Int64).alias("TRT01AN"),
        pl.coalesce("ORIGDT", origin_date(study)).alias("ORIGDT"),  # the sponsor's first
        pl.lit(cut).alias("DCUTDT"),
        pl.col("SRCROW").alias("DMSRCROW"),
    )
    if "ENRLFL" not in df.columns:
        df = df.with_columns(
            pl.when(pl.col("TRT01P").is_not_null())
            .then(pl.lit("Y"))
            .otherwise(pl.lit("N"))
            .alias("ENRLFL")
        )
    if "NINFUS" not in df.columns:
        df = df.with_columns(pl.lit(None, pl.Int64).alias("NINFUS"))
    # the SDTM arm values (the config's arms[].arm) and the death flag, when ADSL lacks them
    arm_of = {a.label: a.arm for a in study.arms}
    for col, trt in (("ARM", "TRT01P"), ("ACTARM", "TRT01A")):
        if col not in df.columns:
            df = df.with_columns(pl.col(trt).replace_strict(arm_of, default=None).alias(col))
    if "DTHFL" not in df.columns:
        df = df.with_columns(
            pl.when(pl.col("DTHDT").is_not_null()).then(pl.lit("Y")).otherwise(None).alias("DTHFL")
        )
    if study.etiology.column in df.columns:
        df = df.drop("CHOLFL", "MELDETIO", strict=False).pipe(derive_vars_etiology, study)
    # the baseline scores are ADSL's own only when it has them; otherwise from ADEFF (rule adsl)
    return df.drop("SRCROW", "BLMELD", "BLCTPS", "BLCTPC", strict=False).sort("USUBJID")


def _with_subject(df: pl.DataFrame, adsl: pl.DataFrame, study: Study) -> pl.DataFrame:
    """``df`` with its subject's ADSL treatment, flags and strata (its own copies replaced)."""
    keep = [
        c
        for c in dict.fromkeys([*SUBJECT_VARS, *study.strata, *study.populations.values()])
        if c in adsl.columns
    ]
    own = [c for c in keep if c in df.columns]
    return df.drop(own).join(adsl.select("USUBJID", *keep), on="USUBJID", how="left")


def build_bds(df: pl.DataFrame, adsl: pl.DataFrame, study: Study, name: str) -> pl.DataFrame:
    from hepatrial.dates import compute_ady
    from hepatrial.spec.params import adam_param_labels

    labels = adam_param_labels(name.lower())
    target = {v.label: v.target_day for v in study.visits}
    df = _numbers(
        _dates(df, ["ADT"]),
        ["AVAL", "AVISITN", "BASE", "CHG", "PCHG", "ANRLO", "ANRHI", "LLOQ", "ULOQ"],
    )
    df = _flags(_numbers(df, ["ADY"], pl.Int64), ["ABLFL", "ANL01FL"])
    df = _with_subject(df, adsl, study)
    add = []
    if "PARAM" not in df.columns:
        add.append(
            pl.col("PARAMCD").replace_strict(labels, default=pl.col("PARAMCD")).alias("PARAM")
        )
    # no ADT: dated from ADY, else at the visit's target day (the analyses place records in time
    # by ADY: post-baseline, the estimands' intercurrent events); a WARNING ADT_IMPUTED says so
    no_adt = "ADT" not in df.columns
    if no_adt:
        add.append(pl.lit(None, pl.Date).alias("ADT"))
    if "AVALC" not in df.columns:
        add.append(pl.lit(None, pl.Utf8).alias("AVALC"))
    if name == "ADLB":  # the reference range and indicators the lab tables read
        add += [
            pl.lit(None, t).alias(c)
            for c, t in (("ANRLO", pl.Float64), ("ANRHI", pl.Float64), ("ANRIND", pl.Utf8),
                         ("BNRIND", pl.Utf8))
            if c not in df.columns
        ]  # fmt: skip
    df = df.with_columns(add) if add else df
    day = pl.col("AVISIT").replace_strict(target, default=None, return_dtype=pl.Int64)
    if no_adt:
        ady = pl.col("ADY") if "ADY" in df.columns else day
        df = df.with_columns(
            ady.alias("ADY"),
            (
                pl.col("ORIGDT") + pl.duration(days=pl.when(ady > 0).then(ady - 1).otherwise(ady))
            ).alias("ADT"),
        )
    if "ADY" not in df.columns:
        df = df.with_columns(compute_ady("ADT", "ORIGDT").alias("ADY"))
    if "PCHG" not in df.columns:
        df = df.with_columns(
            pl.when(pl.col("BASE") != 0)
            .then(100 * pl.col("CHG") / pl.col("BASE"))
            .otherwise(None)
            .alias("PCHG")
        )
    df = df.with_columns(
        day.alias("AWTARGET"),
        pl.lit(name).alias("SRCDOM") if "SRCDOM" not in df.columns else pl.col("SRCDOM"),
    ).with_columns((pl.col("ADY") - pl.col("AWTARGET")).alias("AWTDIFF"))
    return df.sort(["USUBJID", "PARAMCD", "AVISITN", "ADT", "SRCROW"], nulls_last=True)


def build_adtte(df: pl.DataFrame, adsl: pl.DataFrame, study: Study) -> pl.DataFrame:
    from hepatrial.spec.params import adam_param_labels

    labels = adam_param_labels("adtte")
    df = _numbers(_dates(df, ["STARTDT", "ADT"]), ["AVAL"])
    df = _numbers(df, ["CNSR", "CRCODE"], pl.Int32)
    df = _with_subject(df, adsl, study)
    if "CRCODE" not in df.columns:  # no competing causes: an event is the event of interest
        df = df.with_columns(
            pl.when(pl.col("CNSR") == 0).then(1).otherwise(0).cast(pl.Int32).alias("CRCODE")
        )
    if "PARAM" not in df.columns:
        df = df.with_columns(
            pl.col("PARAMCD").replace_strict(labels, default=pl.col("PARAMCD")).alias("PARAM")
        )
    for c in ("EVNTDESC", "CNSDTDSC", "EVTTYPE"):
        if c not in df.columns:
            df = df.with_columns(pl.lit(None, pl.Utf8).alias(c))
    return df.with_columns(pl.lit("ADTTE").alias("SRCDOM")).sort(["USUBJID", "PARAMCD"])


def build_adae(
    df: pl.DataFrame, adsl: pl.DataFrame, study: Study, delivered: list[str] | None = None
) -> pl.DataFrame:
    """The sponsor's ADAE; the flags it lacks derived as from SDTM AE, those it has kept.
    ``delivered``: the dataset's own columns (default ``df``'s), not those the checks added as
    all missing (an expected TRTEMFL absent is derived, never taken as all missing)."""
    from hepatrial.adam.adae import create_adae

    flags = ("ASTDT", "AENDT", "TRTEMFL", "ATOXGR", "AREL", "FATALFL", "AEWDFL", "DLTFL")
    own = df.columns if delivered is None else delivered
    given = [c for c in flags if c in own]
    sdtm = df.drop(*given, *[c for c in SUBJECT_VARS if c in df.columns and c != "USUBJID"])
    for c in ("AESTDTC", "AEENDTC", "AEREL", "AEOUT", "AETOXGR"):
        if c not in sdtm.columns:
            sdtm = sdtm.with_columns(pl.lit(None, pl.Utf8).alias(c))
    derived = create_adae(sdtm, adsl, study)
    if not given:
        return derived
    mine = _numbers(_dates(df.select("SRCROW", *given), ["ASTDT", "AENDT"]), ["ATOXGR"], pl.Int64)
    out = derived.drop(given, strict=False).join(mine, on="SRCROW", how="left")
    cols = [*derived.columns, *(["DLTFL"] if "DLTFL" in given else [])]
    return out.select(cols).sort(["USUBJID", "ASTDT", "SRCROW"], nulls_last=True)


def _empty_sdtm(cfg: Study) -> dict[str, pl.DataFrame]:
    """The SDTM domains with no rows, as ingest writes an absent optional domain."""
    from hepatrial.ingest import _checked

    out = {}
    for dom, spec in DOMAINS.items():
        cols = (*spec.required, *spec.expected, *spec.numeric)
        if dom == "DM":  # the study's own DM columns
            cols += (*cfg.strata, cfg.etiology.column, *cfg.baseline_columns)
        empty = pl.DataFrame(schema={"SRCROW": pl.Int64, **{c: pl.Utf8 for c in cols}})
        parts = _checked(
            dom, spec, iter([empty]), False, {dom: "(absent)"}, {dom: 0}, cfg, Findings()
        )
        out[dom] = next(parts)
    return out


def import_adam_cut(
    cut_dir: str | Path,
    study_path: str | Path,
    res_dir: str | Path,
    cut: str,
    failure_dir: str | Path | None = None,
) -> None:
    """The whole step for a cut of ADaM datasets: ``res_dir`` gets ``adam/``, ``sdtm/`` (no rows)
    and ``validation/`` (findings, accounting, exclusions, traceability)."""
    from hepatrial.adam import _write, _write_excl
    from hepatrial.analysis.estimands import ice_definitions
    from hepatrial.ingest import (
        _raise_first_fatal,
        _write_failure_findings,
        accounting,
        note_unused_files,
    )
    from hepatrial.ingest.read import read_domain
    from hepatrial.ingest.validate import validate_domain
    from hepatrial.parquet import FixedRowGroupWriter
    from hepatrial.spec import load as load_spec

    cfg, cut_day = load_spec(study_path), dt.date.fromisoformat(cut)
    cut_dir, res = Path(cut_dir), Path(res_dir)
    findings = Findings()
    stale = Path(failure_dir) / "findings.csv" if failure_dir else None
    try:
        located = locate_domains(cut_dir)
        if "ADSL" not in located:
            raise DataContractError(
                f"required dataset ADSL is missing: expected adsl.csv, .parquet or .xpt in {cut_dir}",
                file="adsl.*",
            )
        if "DM" in located:
            raise DataContractError(
                "the cut holds both SDTM DM and ADaM ADSL: a cut is either SDTM domains or ADaM "
                "datasets, not both",
                file=located["DM"].name,
            )
        note_unused_files(
            cut_dir,
            {located[n].name for n in ADAM_DOMAINS if n in located},
            findings,
            "not a dataset of a cut of ADaM datasets (adsl, adeff, adlb, adqs, adtte, adae); not read",
        )
        frames, files, rows_in, given = {}, {}, {}, {}
        for name, spec in ADAM_DOMAINS.items():
            if name not in located:
                findings.add(  # no AEs is news a DSMB must see, not a normalisation
                    "WARNING" if name == "ADAE" else "INFO",
                    name,
                    None,
                    "DOMAIN_ABSENT",
                    "dataset not in the cut; its analyses have no records"
                    + (
                        "; the adverse events are not known: every AE count reads not available"
                        if name == "ADAE"
                        else ""
                    ),
                )
                continue
            path = located[name]
            files[name] = path.name
            df = read_domain(path, _cmap(cfg, name))
            rows_in[name] = df.height
            if df.height == 0:
                if name == "ADSL":
                    raise DataContractError(
                        "ADSL has a header but no rows: no subjects", file=path.name
                    )
                findings.add(
                    "WARNING", name, path.name, "DOMAIN_EMPTY", "file has a header but no rows"
                )
            given[name] = df.columns  # before the expected columns are added as all missing
            df = validate_domain(df, spec, path.name, cfg, findings)
            if name in BDS_NAMES:  # before the duplicate checks: "Week 4" is WEEK 4
                df = _check_visits(df, cfg, name, path.name, findings)
            frames[name] = df
        adsl_file = files["ADSL"]
        _check_sources(cfg, given["ADSL"], adsl_file, given.get("ADAE"), files.get("ADAE"))
        if not {"DTHFL", "DTHDT"} & set(given["ADSL"]):  # not known, which is not none
            findings.add(
                "WARNING",
                "ADSL",
                adsl_file,
                DEATHS_NOT_RECORDED,
                "ADSL has neither DTHFL nor DTHDT: deaths are not known; every death count reads "
                "not available",
            )
        adsl = frames["ADSL"]
        _duplicates(
            adsl,
            ["USUBJID"],
            "ADSL",
            adsl_file,
            findings,
            "duplicate USUBJID in ADSL (one row per subject)",
        )
        adsl = _check_arms(adsl, cfg, adsl_file, findings)
        if "treatment_discontinuation" in ice_definitions(cfg):  # 0 is not a missing value
            findings.add_rows(
                adsl.filter(pl.col("TRT01P").is_not_null() & pl.col("NINFUS").is_null()),
                "FATAL",
                "ADSL",
                adsl_file,
                "NINFUS_MISSING",
                "infusions received (NINFUS) missing for a subject in an arm: the estimands' "
                "intercurrent event treatment_discontinuation cannot be derived",
                column="NINFUS",
            )
        for name in BDS_NAMES:
            if name in frames:
                for flag, keys, what in (
                    ("ANL01FL", ["USUBJID", "PARAMCD", "AVISIT"], "analysed records (ANL01FL Y) of "
                     "one subject, parameter and visit"),
                    ("ABLFL", ["USUBJID", "PARAMCD", "ABLFL"], "baseline records (ABLFL Y) of one "
                     "subject and parameter"),
                ):  # fmt: skip
                    rows = frames[name].filter(pl.col(flag) == "Y")
                    _duplicates(rows, keys, name, files[name], findings, f"two {what}")
        if "ADTTE" in frames:
            _check_crcode(frames["ADTTE"], given["ADTTE"], cfg, files["ADTTE"], findings)
            _duplicates(
                frames["ADTTE"],
                ["USUBJID", "PARAMCD"],
                "ADTTE",
                files["ADTTE"],
                findings,
                "two records of one subject and time-to-event parameter",
            )
        _raise_first_fatal(findings)
    except DataContractError as exc:
        if stale is not None:
            _write_failure_findings(findings, exc, stale)
            if exc.details:
                exc.args = (f"{exc.args[0]} (all findings: {stale})",)
        raise

    adsl = build_adsl(adsl, cfg, cut_day)
    subjects = adsl.select("USUBJID")
    excl, kept = [], {"ADSL": adsl.height}

    def set_aside(name: str, df: pl.DataFrame, bad: pl.Expr, rule: str | None, reason: str):
        """``df`` without the rows ``bad`` selects, which go to the exclusions with ``reason``
        (and a WARNING ``rule`` finding each, unless None)."""
        bad = bad.fill_null(False)
        out = df.filter(bad)
        if out.height:
            if rule:
                findings.add_rows(out, "WARNING", name, files[name], rule, reason + "; excluded")
            excl.append(
                out.select(
                    pl.lit(name).alias("domain"),
                    pl.lit(files[name]).alias("file"),
                    pl.col("SRCROW").alias("row"),
                    "USUBJID",
                    pl.lit(reason).alias("reason"),
                )
            )
        return df.filter(~bad)

    known = pl.col("USUBJID").is_in(subjects["USUBJID"].implode())
    out: dict[str, pl.DataFrame] = {}
    for name in [n for n in ADAM_DOMAINS if n != "ADSL" and n in frames]:
        df = set_aside(name, frames[name], ~known, "SUBJECT_NOT_IN_ADSL", "subject not in ADSL")
        _check_treatment(df, adsl, cfg, name, files[name], findings)
        # records dated after the data cut are not part of it (as for SDTM: excluded, no finding)
        date = next((c for c in AFTER_CUT_DATES.get(name, ()) if c in df.columns), None)
        if date:
            df = set_aside(name, df, dtc_earliest(date) > cut_day, None, "dated after the data cut")
        if name == "ADTTE":
            findings.add_rows(
                df.filter((dtc_earliest("ADT") > cut_day).fill_null(False)),
                "WARNING",
                name,
                files[name],
                "TTE_AFTER_CUT",
                "ADT after the data cut: the sponsor's time-to-event record is analysed as given",
                column="ADT",
            )
            df = set_aside(
                name,
                df,
                pl.col("AVAL").is_null() | pl.col("CNSR").is_null(),
                "TTE_INCOMPLETE",
                "AVAL or CNSR missing: the record cannot be analysed",
            )
        if name in BDS_NAMES and "ADT" not in given[name]:
            findings.tally(
                "WARNING",
                name,
                files[name],
                "ADT_IMPUTED",
                lambda n, _, how=("its ADY" if "ADY" in given[name] else "its visit's target day (visits[].target_day)"): (
                    f"no ADT: each of the {n} record(s) dated from {how} and the subject's ORIGDT"
                ),
                n=df.height,
                column="ADT",
            )
        kept[name] = df.height
        out[name] = (
            build_bds(df, adsl, cfg, name)
            if name in BDS_NAMES
            else build_adtte(df, adsl, cfg)
            if name == "ADTTE"
            else build_adae(df, adsl, cfg, given[name])
        )
    exclusions = (
        pl.concat(excl, how="vertical_relaxed").cast(EXCL_SCHEMA)
        if excl
        else pl.DataFrame(schema=EXCL_SCHEMA)
    ).sort(["domain", "row"])
    findings.add(
        "INFO",
        "",
        None,
        "SDTM_NOT_IN_CUT",
        "a cut of ADaM datasets: the summaries built from SDTM (exposure by infusion, visits, "
        "procedures, data cleaning) have no records",
    )

    adam_dir, sdtm_dir, val_dir = res / "adam", res / "sdtm", res / "validation"
    for d in (adam_dir, sdtm_dir, val_dir):
        d.mkdir(parents=True, exist_ok=True)
    empty = _empty_sdtm(cfg)
    for dom, frame in empty.items():
        with FixedRowGroupWriter(sdtm_dir / f"{dom.lower()}.parquet") as w:
            w.write(frame)
    _write(adsl, adam_dir / "adsl_core.parquet", "adslcore", xpt=False)
    from hepatrial.adam.adae import create_adce

    for name in BDS_NAMES:
        df = out.get(name)
        if df is None:  # not in the cut: the dataset with no records
            df = build_bds(
                pl.DataFrame(
                    schema={c: pl.Utf8 for c in ("SRCROW", *ADAM_DOMAINS[name].required)}
                ).with_columns(pl.col("SRCROW").cast(pl.Int64)),
                adsl,
                cfg,
                name,
            )
        _write(df, adam_dir / f"{name.lower()}.parquet", name.lower())
        _write_excl(
            exclusions.filter(pl.col("domain") == name), adam_dir / f"{name.lower()}_exclusions.csv"
        )
    if "ADTTE" in out:
        tte = out["ADTTE"]
    else:
        tte = build_adtte(
            pl.DataFrame(
                schema={c: pl.Utf8 for c in ("SRCROW", *ADAM_DOMAINS["ADTTE"].required)}
            ).with_columns(pl.col("SRCROW").cast(pl.Int64)),
            adsl,
            cfg,
        )
    _write(tte, adam_dir / "adtte.parquet", "adtte")
    ae = out.get("ADAE")
    if ae is None:
        ae = build_adae(empty["AE"], adsl, cfg)
    _write(ae, adam_dir / "adae.parquet", "adae")
    _write(create_adce(empty["CE"], adsl), adam_dir / "adce.parquet", "adce")

    names = [n for n in ADAM_DOMAINS if n in files]
    acct = accounting(rows_in, kept, exclusions, files, names)
    stamp.write_csv(findings.frame(), val_dir / "findings.csv")
    stamp.write_csv(acct, val_dir / "accounting.csv")
    stamp.write_csv(exclusions, val_dir / "exclusions.csv")
    # every row traced by its source row in the dataset written (not counted: a build that lost or
    # doubled a row is a bug, not a data problem)
    written = {"ADSL": adsl, **out}
    rows = []
    for n in names:
        excluded = exclusions.filter(pl.col("domain") == n).height
        traced = (
            written[n].select(pl.col("DMSRCROW" if n == "ADSL" else "SRCROW").n_unique()).item()
        )
        rows.append(
            {
                "domain": n,
                "rows_in": rows_in[n],
                "excluded_at_ingest": excluded,
                "in_adam": traced,
                "excluded_at_adam": 0,
                "unaccounted": rows_in[n] - traced - excluded,
            }
        )
    trace = pl.DataFrame(rows)
    if trace.filter(pl.col("unaccounted") != 0).height:
        raise AssertionError(f"rows unaccounted for in the ADaM datasets: {rows}")
    stamp.write_csv(trace, val_dir / "traceability.csv")
    # the sponsor's variables of each dataset (define.xml: their origin is the sponsor's dataset)
    stamp.write_csv(
        pl.DataFrame(
            [(n, c) for n in names for c in given[n] if c != "SRCROW"],
            schema={"dataset": pl.Utf8, "variable": pl.Utf8},
            orient="row",
        ),
        val_dir / "adam_variables.csv",
    )
    if stale is not None:
        stale.unlink(missing_ok=True)

"""Entry points of the report rules (workflow/rules/report.smk): read files, call the package,
write files. One function per rule."""

from __future__ import annotations

import datetime as dt
import json
import warnings
from pathlib import Path

import polars as pl

from hepatrial import stamp
from hepatrial.config import previous_cut_date
from hepatrial.contract import ADAM_COMPARED
from hepatrial.errors import HepatrialWarning
from hepatrial.ingest.findings import ae_recorded, read_findings
from hepatrial.manifest import input_manifest_hash, write_json
from hepatrial.report import blinding, compare, summaries
from hepatrial.report.document import write_document
from hepatrial.report.listings import DEATH_LISTING, SAE_LISTING, listing_columns
from hepatrial.spec import Study
from hepatrial.spec import load as load_study


def _write(df: pl.DataFrame, path) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    df.write_parquet(path, statistics=False, metadata=stamp.parquet_metadata())


def write_listing_csv(df: pl.DataFrame, path, with_arm: bool) -> None:
    """A report listing in full as CSV: the report's columns and headers (``arm`` only when
    ``with_arm``: never for the open report), text a spreadsheet would run as a formula quoted."""
    from hepatrial.tlf.render import spreadsheet_safe

    names = SAE_LISTING if "AEDECOD" in df.columns else DEATH_LISTING
    cols = listing_columns(df, with_arm, names)
    out = df.select([pl.col(c).cast(pl.Utf8) for c in cols])
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    stamp.write_csv(out.select(spreadsheet_safe(pl.col(c)).alias(names[c]) for c in cols), path)


def listing_files(saes_path) -> dict[str, str]:
    """Where the full listings of a report are, relative to the results folder
    (``<study>/<cut>/open|closed/listing_<name>.csv``, beside the report's input ``saes.parquet``)."""
    folder = Path(saes_path).parent
    return {k: "/".join((folder / f"listing_{k}.csv").parts[-4:]) for k in ("saes", "deaths")}


def _domains(sdtm_dir) -> dict[str, pl.DataFrame]:
    return {p.stem.upper(): pl.read_parquet(p) for p in sorted(Path(sdtm_dir).glob("*.parquet"))}


def run_summaries(
    adsl,
    adae,
    adlb,
    sv,
    findings,
    study_path,
    cut_date: str,
    out_part,
    out_saes,
    out_deaths,
) -> None:
    """``findings``: the cut's findings.csv, which also says what it does not record (a cut of
    ADaM datasets without ADAE: causes of death not known; without DTHFL/DTHDT: deaths)."""
    study = load_study(study_path)
    adsl_df, adae_df = pl.read_parquet(adsl), pl.read_parquet(adae)
    found = read_findings(findings)
    # ADLB: a lazy scan reduced to what the summaries use (a large trial's ADLB is most of the memory)
    part = summaries.build_summaries(
        adsl_df,
        adae_df,
        summaries.scan_adlb(adlb),
        pl.read_parquet(sv),
        found,
        study,
        dt.date.fromisoformat(cut_date),
    )
    _write(part, out_part)
    _write(summaries.list_saes(adae_df), out_saes)
    _write(summaries.list_deaths(adsl_df, adae_df, ae_recorded(found)), out_deaths)


def _adam_datasets(adam_dir) -> dict[str, pl.DataFrame]:
    return {k: pl.read_parquet(Path(adam_dir) / f"{v}.parquet") for k, v in ADAM_COMPARED.items()}


def run_compare(
    prev_sdtm, cur_sdtm, prev_ard, cur_ard, adsl, previous_cut, outs: dict, adam_dirs=None
) -> None:
    """``adam_dirs``: (previous, current) ADaM folders of cuts of ADaM datasets, compared in place
    of the SDTM domains (which such cuts do not hold)."""
    if adam_dirs:
        prev, cur = (_adam_datasets(d) for d in adam_dirs)
    else:
        prev, cur = _domains(prev_sdtm), _domains(cur_sdtm)
    arm = pl.read_parquet(adsl).select(
        "USUBJID", pl.coalesce("TRT01P", "TRT01A", "ARM").alias("arm")
    )
    with_arm = lambda df: df.join(arm, on="USUBJID", how="left")  # noqa: E731
    _write(with_arm(compare.new_subjects(prev, cur)), outs["new_subjects"])
    _write(with_arm(compare.new_events(prev, cur)), outs["new_events"])
    _write(
        with_arm(compare.compare_sdtm(prev, cur, previous_cut_date(previous_cut))), outs["changes"]
    )
    _write(
        compare.estimate_movement(pl.read_parquet(prev_ard), pl.read_parquet(cur_ard)),
        outs["estimates"],
    )


def _compare_parts(paths: dict | None) -> dict[str, pl.DataFrame] | None:
    if not paths:
        return None
    return {k: pl.read_parquet(v) for k, v in paths.items()}


# CDISC's values of ARM/ARMCD for subjects without a treatment arm: not treatment terms.
NO_ARM_VALUES = {
    "screen failure",
    "scrnfail",
    "not assigned",
    "notassgn",
    "assigned, not treated",
    "not treated",
    "nottrt",
    "unplanned treatment",
    "unplan",
}


def treatment_terms(dm_path, ex_path, adsl_path=None) -> list[str]:
    """The cut's own words for the treatments: DM ARM, ACTARM, ARMCD, ACTARMCD and EX EXTRT values,
    and ADSL's (the same, and TRTxxP/TRTxxA: a cut of ADaM datasets has no DM or EX records), not
    CDISC's values for no arm (e.g. "Screen Failure")."""
    import re

    terms = set()
    arm_cols = ("ARM", "ACTARM", "ARMCD", "ACTARMCD")
    for path, cols in ((dm_path, arm_cols), (ex_path, ("EXTRT",)), (adsl_path, arm_cols)):
        if not path:
            continue
        schema = pl.read_parquet_schema(path)
        have = [c for c in cols if c in schema]
        if path == adsl_path:
            have += [c for c in schema if re.fullmatch(r"TRT\d\d[PA]", c)]
        for c in have:
            terms.update(
                v
                for v in pl.read_parquet(path, columns=[c])[c]
                .drop_nulls()
                .cast(pl.Utf8)
                .unique()
                .to_list()
                if v.strip() and v.strip().casefold() not in NO_ARM_VALUES
            )
    return sorted(terms)


def _warn_redactions(findings: pl.DataFrame, listing, shown: int = 5) -> None:
    """One warning per input file and column with redactions: how many rows, the first
    ``shown`` of them and the listing that holds every one (the blinding gate can redact
    hundreds of rows of a study whose arm codes are common words, e.g. LOW and HIGH)."""
    for (file, column), rows in findings.group_by(["file", "column"], maintain_order=True):
        rows = rows["row"].to_list()
        which = ", ".join(str(r) for r in rows[:shown]) + (", ..." if len(rows) > shown else "")
        where = f"; every one in {listing}" if listing else ""
        warnings.warn(
            HepatrialWarning(
                f"open report input {file}, column {column}: a treatment term in free text was "
                f'redacted ("{blinding.REDACTED}") in {len(rows)} row(s) ({which}){where}; the '
                "closed report is unchanged"
            ),
            stacklevel=2,
        )


def _warn_masked_text(hits: list[tuple], shown: int = 3) -> None:
    """One warning per input file and column of a masked closed report whose source free text
    names a treatment: how many distinct values, the first ``shown`` of them, the terms."""
    by_column: dict[tuple[str, str], list[tuple]] = {}
    for name, col, value, term in hits:
        by_column.setdefault((name, col), []).append((value, term))
    for (name, col), found in by_column.items():
        values = list(dict.fromkeys(v for v, _ in found if v is not None))
        terms = ", ".join(repr(t) for t in dict.fromkeys(t for _, t in found))
        what = "the column name"
        if values:
            more = "; ..." if len(values) > shown else ""
            first = "; ".join(repr(v) for v in values[:shown])
            what = f"{len(values)} distinct value(s) ({first}{more})"
        warnings.warn(
            HepatrialWarning(
                f"masked closed report input {name}, column {col}: {what} name a treatment "
                f"({terms}), shown as recorded: the text can tell the DSMB which code is which arm"
            ),
            stacklevel=2,
        )


def run_open_inputs(
    ard,
    saes,
    deaths,
    study_path,
    compare_paths: dict | None,
    outs: dict,
    dm=None,
    ex=None,
    redactions_out=None,
    adsl=None,
) -> None:
    """The blinding gate of the open report (see hepatrial.report.blinding)."""
    study = load_study(study_path)
    comp = _compare_parts(compare_paths)
    pooled_compare = None
    if comp is not None:
        pooled_compare = compare.summarise_open(
            comp["new_subjects"], comp["new_events"], comp["changes"], blinding.ARM_COLUMNS
        )
    frames, findings = blinding.build_open_inputs(
        pl.read_parquet(ard),
        pl.read_parquet(saes),
        pl.read_parquet(deaths),
        study,
        pooled_compare,
        treatment_terms(dm, ex, adsl),
    )
    _warn_redactions(findings, redactions_out)
    if redactions_out:
        Path(redactions_out).parent.mkdir(parents=True, exist_ok=True)
        stamp.write_csv(findings, redactions_out)
    spec = blinding.presentation_spec(study, by_arm=False)
    blinding.assert_no_arm_information(
        {"study_spec": blinding.spec_frame(spec)},
        blinding.arm_terms(study, treatment_terms(dm, ex, adsl)),
    )
    for name in ("pooled_ard", "saes", "deaths"):
        _write(frames[name], outs[name])
    for name in ("saes", "deaths"):
        if f"listing_{name}" in outs:
            write_listing_csv(frames[name], outs[f"listing_{name}"], with_arm=False)
    if "compare" in outs:
        _write(frames["compare"], outs["compare"])
    write_json(spec, outs["spec"])


def run_closed_inputs(
    ard,
    saes,
    deaths,
    km_paths: list[str],
    study_path,
    compare_paths: dict | None,
    outs: dict,
    key_out,
) -> None:
    study = load_study(study_path)
    codes = blinding.arm_codes(study)
    frames = {
        "ard": blinding.code_ard(pl.read_parquet(ard), study),
        "saes": blinding.code_column(pl.read_parquet(saes), study),
        "deaths": blinding.code_column(pl.read_parquet(deaths), study),
    }
    km = [pl.read_parquet(p) for p in km_paths]
    frames["km"] = blinding.code_column(
        pl.concat(km, how="vertical")
        if km
        else pl.DataFrame(
            schema={"paramcd": pl.Utf8, "arm": pl.Utf8, "time": pl.Float64, "surv": pl.Float64}
        ),
        study,
    )
    comp = _compare_parts(compare_paths)
    if comp is not None:
        for k, df in comp.items():
            frames[f"compare_{k}"] = (
                _code_estimates(df, study) if k == "estimates" else blinding.code_column(df, study)
            )
    spec = blinding.presentation_spec(study, by_arm=True)
    blinding.assert_masked(
        {**frames, "study_spec": blinding.spec_frame(spec).rename({"value": "method"})}, study
    )
    _warn_masked_text(
        blinding.masked_free_text({k: v for k, v in frames.items() if k != "km"}, study)
    )
    for name, df in frames.items():
        _write(df, outs[name])
    for name in ("saes", "deaths"):
        if f"listing_{name}" in outs:
            write_listing_csv(frames[name], outs[f"listing_{name}"], with_arm=True)
    write_json(spec, outs["spec"])
    write_json(
        {
            "arms": [{"display": c["display"], "colour": c["colour"]} for c in codes],
            "masked": bool(study.masked_dsmb),
        },
        outs["arms"],
    )
    write_json(
        {"masked": bool(study.masked_dsmb), "key": {c["display"]: c["label"] for c in codes}},
        key_out,
    )


def _code_estimates(df: pl.DataFrame, study: dict) -> pl.DataFrame:
    """Estimate movement with arms coded: both columns re-oriented as the ARD is."""
    base = df.select(*compare.KEYS)
    prev = blinding.code_ard(
        base.with_columns(df["previous"].alias("value"), pl.lit("").alias("method")), study
    )
    cur = blinding.code_ard(
        base.with_columns(df["current"].alias("value"), pl.lit("").alias("method")), study
    )
    out = (
        prev.rename({"value": "previous"})
        .drop("method")
        .join(
            cur.rename({"value": "current"}).drop("method"),
            on=compare.KEYS,
            how="full",
            coalesce=True,
            nulls_equal=True,
        )
    )
    return out.with_columns((pl.col("current") - pl.col("previous")).alias("change")).sort(
        compare.KEYS, nulls_last=False
    )


def _spec(path) -> Study:
    """The report's presentation spec (written by the inputs gate) as the Study the report sees."""
    return Study.from_presentation(json.loads(Path(path).read_text(encoding="utf-8")))


def run_open_report(
    pooled_ard,
    saes,
    deaths,
    compare_path,
    manifest_inputs,
    meta: dict,
    html_out,
    pdf_out,
    spec_path,
) -> None:
    from hepatrial.report import content  # matplotlib and plotnine: only the two report jobs

    meta = dict(
        meta, manifest_hash=input_manifest_hash(manifest_inputs), listing_files=listing_files(saes)
    )
    doc = content.open_document(
        pl.read_parquet(pooled_ard),
        pl.read_parquet(saes),
        pl.read_parquet(deaths),
        pl.read_parquet(compare_path) if compare_path else None,
        meta,
        _spec(spec_path),
    )
    write_document(doc, html_out, pdf_out)


def run_closed_report(
    ard,
    saes,
    deaths,
    km,
    arms_json,
    compare_paths: dict | None,
    manifest_inputs,
    meta: dict,
    html_out,
    pdf_out,
    spec_path,
) -> None:
    from hepatrial.report import content  # matplotlib and plotnine: only the two report jobs

    arms = json.loads(Path(arms_json).read_text(encoding="utf-8"))
    meta = dict(
        meta,
        manifest_hash=input_manifest_hash(manifest_inputs),
        masked=arms["masked"],
        listing_files=listing_files(saes),
    )
    comp = _compare_parts(compare_paths)
    doc = content.closed_document(
        pl.read_parquet(ard),
        arms["arms"],
        pl.read_parquet(saes),
        pl.read_parquet(deaths),
        pl.read_parquet(km),
        comp,
        meta,
        _spec(spec_path),
    )
    write_document(doc, html_out, pdf_out)

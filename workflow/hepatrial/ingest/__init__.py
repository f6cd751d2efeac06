"""Ingest a data cut: read, validate against the contract, harmonise units, apply the cut.

``ingest_cut`` is the whole step; it writes the clean domains (``sdtm/<domain>.parquet``),
``validation/findings.csv``, ``validation/accounting.csv`` and ``validation/exclusions.csv``.
Fatal problems raise :class:`hepatrial.errors.DataContractError` naming file, row and column.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from hepatrial import stamp
from hepatrial.config import cut_date
from hepatrial.contract import DOMAINS, EXCL_SCHEMA
from hepatrial.errors import DataContractError, shown
from hepatrial.ingest.cut import (
    apply_cut,
    check_randomisation,
    check_studyid,
    check_windows,
    cross_checks,
    exclude_duplicates,
    exclude_unknown_subjects,
    flag_partial_dates,
)
from hepatrial.ingest.dummy import BLINDED_COLUMNS, dummy_randomise
from hepatrial.ingest.findings import FINDING_SCHEMA, Findings
from hepatrial.ingest.read import (
    chunk_rows,
    has_bom,
    iter_domain,
    locate_domains,
    typed_date_columns,
)
from hepatrial.ingest.spill import (
    RESIDENT,
    Frames,
    chunks,
    height,
    narrow,
    set_chunks,
    spill_folder,
)
from hepatrial.ingest.spill import remove as remove_spill
from hepatrial.ingest.units import harmonise_lab_units
from hepatrial.ingest.validate import check_arms, check_qs_values, check_rs_values, validate_domain
from hepatrial.parquet import FixedRowGroupWriter
from hepatrial.spec import Study
from hepatrial.spec import load as load_spec

ALL_DOMAINS = tuple(DOMAINS)


def _finding_line(r: dict) -> str:
    where = ", ".join(f"{k} {r[k]}" for k in ("file", "row", "column") if r[k] is not None)
    return f"{r['severity']} {r['rule']}: {where}: {r['message']}: value {shown(r['value'])}"


def _raise_first_fatal(findings: Findings) -> None:
    """Stop on the first FATAL finding; the one-line message counts the others, and every one of
    them is in the error's details (the step's log)."""
    fatal = findings.fatal()
    if fatal.height:
        r = fatal.row(0, named=True)
        more = (
            f" ({fatal.height - 1} more fatal finding(s), each listed in the log)"
            if fatal.height > 1
            else ""
        )
        exc = DataContractError(
            f"{r['message']}: value {shown(r['value'])}{more}",
            file=r["file"],
            row=r["row"],
            column=r["column"],
        )
        exc.details = [
            f"{fatal.height} fatal finding(s):",
            *(_finding_line(x) for x in fatal.iter_rows(named=True)),
        ]
        raise exc


def check_meddra(ae: pl.DataFrame, file: str, findings: Findings) -> None:
    """A preferred term coded under more than one system organ class (MedDRA gives each PT one
    primary SOC): a WARNING per PT at its first row under its second SOC. The events are counted
    under the SOC they carry (AE incidence rows are keyed by SOC and PT)."""
    if ae.height == 0 or "AEBODSYS" not in ae.columns:
        return
    coded = ae.filter(pl.col("AEDECOD").is_not_null() & pl.col("AEBODSYS").is_not_null())
    socs = pl.col("AEBODSYS").unique(maintain_order=True).alias("_socs")
    multi = (
        coded.group_by("AEDECOD").agg(socs).filter(pl.col("_socs").list.len() > 1).sort("AEDECOD")
    )
    for pt, socs in multi.iter_rows():
        hit = (pl.col("AEDECOD") == pt) & (pl.col("AEBODSYS") == socs[1])
        first = coded.filter(hit).row(0, named=True)
        findings.add(
            "WARNING",
            "AE",
            file,
            "MEDDRA_PT_MULTI_SOC",
            f"preferred term {pt!r} is coded under {len(socs)} system organ classes "
            f"{sorted(socs)}; counted under each as coded (first row under the second "
            "SOC)",
            row=int(first["SRCROW"]),
            usubjid=first.get("USUBJID"),
            column="AEBODSYS",
            value=first["AEBODSYS"],
        )


def _checked(dom, spec, parts, present, files, rows_in, cfg, findings):
    """The chunks of one domain read, validated and checked (one chunk in memory at a time)."""
    for df in parts:
        rows_in[dom] += df.height
        if df.height == 0 and present:  # only a domain with no rows has an empty chunk
            if dom == "DM":
                raise DataContractError("DM has a header but no rows: no subjects", file=files[dom])
            findings.add(
                "WARNING", dom, files[dom], "DOMAIN_EMPTY", "file has a header but no rows"
            )
        df = validate_domain(df, spec, files[dom], cfg, findings)
        if dom == "DM":
            df = check_arms(df, cfg, files[dom], findings)
        elif dom == "LB":
            df = harmonise_lab_units(df, files[dom], cfg, findings)
        elif dom == "RS":
            df = check_rs_values(df, files[dom], findings)
        elif dom == "QS":
            df = check_qs_values(df, files[dom], findings)
        yield df


def note_unused_files(cut_dir, used: set[str], findings: Findings, message: str) -> None:
    """An INFO ``FILE_NOT_USED`` finding per file of the cut folder not in ``used``."""
    for p in sorted(Path(cut_dir).iterdir()):
        if p.is_file() and p.name not in used:
            findings.add("INFO", "", p.name, "FILE_NOT_USED", message)


def read_and_validate(
    cut_dir: str | Path, cfg: Study, findings: Findings, spill_dir: str | Path | None = None
) -> tuple[dict, dict, dict]:
    """Read and validate every domain. Returns (frames, file names, rows in); with ``spill_dir``, the
    frames are a :class:`hepatrial.ingest.spill.Frames` that keeps the large domains there."""
    located = locate_domains(cut_dir)
    for dom, spec in DOMAINS.items():
        if spec.required_domain and dom not in located:
            raise DataContractError(
                f"required domain {dom} is missing: expected {dom.lower()}.csv, "
                f".parquet or .xpt in {cut_dir}",
                file=f"{dom.lower()}.*",
            )
    for dom in sorted(set(located) - set(DOMAINS)):
        findings.add(
            "INFO",
            dom,
            located[dom].name,
            "DOMAIN_NOT_USED",
            "domain is not part of the contract; not read",
        )
    note_unused_files(
        cut_dir,
        {p.name for p in located.values()},
        findings,
        "not a domain file (.csv, .parquet or .xpt); not read",
    )
    frames, files, rows_in = (Frames(spill_dir) if spill_dir is not None else {}), {}, {}
    for dom, spec in DOMAINS.items():
        if dom in located:
            path = located[dom]
            files[dom] = path.name
            for col in typed_date_columns(path):
                findings.add(
                    "INFO",
                    dom,
                    path.name,
                    "DATE_TYPED_COLUMN",
                    "column stored as a date/datetime type; read as ISO 8601 text",
                    column=col,
                )
            if has_bom(path):
                findings.add(
                    "INFO",
                    dom,
                    path.name,
                    "BOM_REMOVED",
                    "file starts with a UTF-8 byte-order mark; removed",
                )
            # a large file is read and checked in chunks of rows (hepatrial.ingest.spill)
            rows = chunk_rows(path) if spill_dir is not None and dom not in RESIDENT else None
            parts = iter_domain(
                path, cfg.column_map.get(dom) or cfg.column_map.get(dom.lower()), rows
            )
        else:  # an optional domain that is absent: no rows, same columns and types as a present one
            parts = iter(
                [
                    pl.DataFrame(
                        schema={
                            "SRCROW": pl.Int64,
                            **{c: pl.Utf8 for c in (*spec.required, *spec.expected, *spec.numeric)},
                        }
                    )
                ]
            )
            files[dom] = "(absent)"
            findings.add(
                "INFO",
                dom,
                None,
                "DOMAIN_ABSENT",
                "optional domain not in the cut; read as no records",
            )
        rows_in[dom] = 0
        set_chunks(
            frames, dom, _checked(dom, spec, parts, dom in located, files, rows_in, cfg, findings)
        )
        if dom == "AE":
            check_meddra(
                narrow(frames, "AE", ["SRCROW", "USUBJID", "AEDECOD", "AEBODSYS"]),
                files[dom],
                findings,
            )
    _raise_first_fatal(findings)
    return frames, files, rows_in


def accounting(
    rows_in: dict, frames: dict, exclusions: pl.DataFrame, files: dict, domains=DOMAINS
) -> pl.DataFrame:
    """Per domain (or dataset of a cut of ADaM datasets, whose ``frames`` are its kept rows):
    rows in, kept, excluded, and excluded by reason. in = kept + excluded."""
    out = []
    for dom in domains:
        if dom not in rows_in:
            continue
        ex = exclusions.filter(pl.col("domain") == dom)
        kept = (
            frames[dom]
            if isinstance(frames, dict) and isinstance(frames.get(dom), int)
            else height(frames, dom)
        )
        out.append(
            {
                "domain": dom,
                "file": files[dom],
                "category": "rows_in",
                "reason": "",
                "n": rows_in[dom],
            }
        )
        out.append(
            {"domain": dom, "file": files[dom], "category": "rows_kept", "reason": "", "n": kept}
        )
        out.append(
            {
                "domain": dom,
                "file": files[dom],
                "category": "rows_excluded",
                "reason": "",
                "n": ex.height,
            }
        )
        for reason, n in sorted(ex.group_by("reason").len().iter_rows()):
            out.append(
                {
                    "domain": dom,
                    "file": files[dom],
                    "category": "excluded_by_reason",
                    "reason": reason,
                    "n": n,
                }
            )
        if rows_in[dom] != kept + ex.height:  # a bug, never a data problem
            raise AssertionError(
                f"accounting does not balance for {dom}: {rows_in[dom]} != {kept} + {ex.height}"
            )
    return pl.DataFrame(
        out,
        schema={
            "domain": pl.Utf8,
            "file": pl.Utf8,
            "category": pl.Utf8,
            "reason": pl.Utf8,
            "n": pl.Int64,
        },
    )


FATAL_FINDINGS = "findings.csv"  # in the log folder: the findings of a run stopped by a fatal one


def validation_summary(findings_csv: str | Path) -> list[str]:
    """The console summary of the validation: counts by severity, then by severity and rule, and
    where the findings are."""
    f = stamp.read_csv(findings_csv, infer_schema_length=0)
    if f.height == 0:
        return [f"Validation: no findings ({findings_csv})"]
    order = {"FATAL": 0, "ERROR": 1, "WARNING": 2, "INFO": 3}
    sev = f.group_by("severity").len().sort(pl.col("severity").replace_strict(order, default=9))
    lines = [
        f"Validation: {f.height} findings ("
        + ", ".join(f"{s} {n}" for s, n in sev.iter_rows())
        + f"); details: {findings_csv}"
    ]
    by = (
        f.group_by("severity", "rule")
        .len()
        .sort(
            [pl.col("severity").replace_strict(order, default=9), "len", "rule"],
            descending=[False, True, False],
        )
    )
    lines += [f"  {s:<8} {r:<28} {n:>6}" for s, r, n in by.iter_rows()]
    return lines


def ingest_cut(
    cut_dir: str | Path,
    study: str | Path | Study,
    sdtm_dir: str | Path,
    validation_dir: str | Path,
    cut: str | None = None,
    failure_dir: str | Path | None = None,
    dummy_seed: int | None = None,
) -> dict[str, pl.DataFrame]:
    """Run the ingest step and write its outputs. Returns the clean domains.

    ``cut`` is the data cut date (ISO); by default the study config's ``cut_date`` or the cut
    folder's name. ``failure_dir``: where ``findings.csv`` goes when a fatal problem stops the step
    (Snakemake removes a failed job's outputs, so not beside them; the workflow passes the log
    folder); the error message names it. ``dummy_seed``: replace the arms by a dummy randomisation
    with this seed (:mod:`hepatrial.ingest.dummy`) before anything is written.
    """
    import datetime as dt

    cfg = (
        study
        if isinstance(study, Study)
        else Study.from_dict(study)
        if isinstance(study, dict)
        else load_spec(study)
    )
    cut = dt.date.fromisoformat(cut) if cut else cut_date(cfg, cut_dir)
    findings = Findings(hidden=BLINDED_COLUMNS if dummy_seed is not None else ())
    stale = Path(failure_dir) / "findings.csv" if failure_dir else None
    spill = spill_folder(Path(sdtm_dir).parent)
    try:
        return _ingest(
            cut_dir, cfg, cut, findings, stale, spill, sdtm_dir, validation_dir, dummy_seed
        )
    finally:
        remove_spill(spill)


def _ingest(cut_dir, cfg, cut, findings, stale, spill, sdtm_dir, validation_dir, dummy_seed):
    try:
        frames, files, rows_in = read_and_validate(cut_dir, cfg, findings, spill)
        frames, excl1 = exclude_unknown_subjects(frames, files, findings)
        frames, excl_dup = exclude_duplicates(frames, files, findings)
        frames, excl2 = apply_cut(frames, files, DOMAINS, cut, findings)
        cross_checks(frames, files, DOMAINS, findings)
        check_randomisation(frames, files, cfg, findings)
        check_studyid(frames, files, cfg, findings)
        check_windows(frames, files, cfg, findings)
        flag_partial_dates(frames, files, DOMAINS, findings)
    except DataContractError as exc:
        if stale is not None:  # the outputs are removed on failure: the findings go beside the log
            _write_failure_findings(findings, exc, stale)
            if exc.details:  # a stop on fatal findings: say where all of them are
                exc.args = (f"{exc.args[0]} (all findings: {stale})",)
        raise
    exclusions = (
        pl.concat([excl1, excl_dup, excl2], how="vertical")
        .cast(EXCL_SCHEMA)
        .sort(["domain", "row"])
    )
    acct = accounting(rows_in, frames, exclusions, files)
    found = findings.frame()
    if dummy_seed is not None:
        dummy = dummy_randomise({d: frames[d] for d in ("DM", "EX")}, cfg, dummy_seed)
        frames["DM"], frames["EX"] = dummy["DM"], dummy["EX"]  # the rest stays where it is

    sdtm_dir, validation_dir = Path(sdtm_dir), Path(validation_dir)
    sdtm_dir.mkdir(parents=True, exist_ok=True)
    validation_dir.mkdir(parents=True, exist_ok=True)
    out = {}
    for dom in DOMAINS:  # the fixed Parquet layout (hepatrial.parquet): row groups of a set size
        path = sdtm_dir / f"{dom.lower()}.parquet"
        with FixedRowGroupWriter(path) as w:
            for df in chunks(frames, dom):  # chunks hold increasing ranges of source rows
                w.write(df.sort("SRCROW"))
        spilled = isinstance(frames, Frames) and frames.spilled(dom)
        # a large domain: read again from its SDTM file when asked for
        out[dom] = path if spilled else frames[dom]
    stamp.write_csv(found, validation_dir / "findings.csv")
    stamp.write_csv(acct, validation_dir / "accounting.csv")
    stamp.write_csv(exclusions, validation_dir / "exclusions.csv")
    if stale is not None:
        stale.unlink(missing_ok=True)  # left by an earlier run that stopped
    return Frames.of_files(out) if any(isinstance(v, Path) for v in out.values()) else out


def _write_failure_findings(findings: Findings, exc: DataContractError, path: Path) -> None:
    """findings.csv of a run that stopped: every finding so far, and the stopping error as a FATAL
    row when it is not one of them (an error raised directly, such as an unknown unit)."""
    df = findings.frame()
    if df.filter(pl.col("severity") == "FATAL").height == 0:
        msg = str(exc.args[0])
        where = (("file", exc.file), ("row", exc.row), ("column", exc.column))
        prefix = ", ".join(f"{k} {v}" for k, v in where if v is not None)
        msg = msg[len(prefix) + 2 :] if prefix and msg.startswith(prefix + ": ") else msg
        row = pl.DataFrame(
            [
                {
                    "severity": "FATAL",
                    "domain": None,
                    "file": exc.file,
                    "row": exc.row,
                    "USUBJID": None,
                    "column": exc.column,
                    "value": None,
                    "rule": "STOP",
                    "message": msg,
                }
            ],
            schema=FINDING_SCHEMA,
        )
        df = pl.concat([row, df], how="vertical")
    path.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_csv(df, path)

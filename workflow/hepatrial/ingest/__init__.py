"""Ingest a data cut: read, validate against the contract, harmonise units, apply the cut.

``ingest_cut`` is the whole step; it writes the clean domains (``sdtm/<domain>.parquet``),
``validation/findings.csv``, ``validation/accounting.csv`` and ``validation/exclusions.csv``.
Fatal problems raise :class:`hepatrial.errors.DataContractError` naming file, row and column.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from hepatrial.config import cut_date, load_study
from hepatrial.contract import DOMAINS
from hepatrial.errors import DataContractError
from hepatrial.ingest.cut import (
    EXCL_SCHEMA,
    apply_cut,
    check_windows,
    cross_checks,
    exclude_unknown_subjects,
    flag_partial_dates,
)
from hepatrial.ingest.findings import Findings
from hepatrial.ingest.read import has_bom, locate_domains, read_domain
from hepatrial.ingest.units import harmonise_lab_units
from hepatrial.ingest.validate import check_arms, check_qs_values, check_rs_values, validate_domain

ALL_DOMAINS = tuple(DOMAINS)


def _raise_first_fatal(findings: Findings) -> None:
    fatal = findings.fatal()
    if fatal.height:
        r = fatal.row(0, named=True)
        more = f" ({fatal.height - 1} more fatal finding(s) in the log)" if fatal.height > 1 else ""
        raise DataContractError(f"{r['message']}: value {r['value']!r}{more}", file=r["file"], row=r["row"],
                                column=r["column"])


def read_and_validate(cut_dir: str | Path, cfg: dict, findings: Findings) -> tuple[dict, dict, dict]:
    """Read and validate every domain. Returns (frames, file names, rows in)."""
    located = locate_domains(cut_dir)
    for dom, spec in DOMAINS.items():
        if spec.required_domain and dom not in located:
            raise DataContractError(f"required domain {dom} is missing: expected {dom.lower()}.csv, "
                                    f".parquet or .xpt in {cut_dir}", file=f"{dom.lower()}.*")
    for dom in sorted(set(located) - set(DOMAINS)):
        findings.add("INFO", dom, located[dom].name, "DOMAIN_NOT_USED",
                     "domain is not part of the contract; not read")
    frames, files, rows_in = {}, {}, {}
    for dom, spec in DOMAINS.items():
        if dom in located:
            path = located[dom]
            df = read_domain(path, cfg["column_map"].get(dom) or cfg["column_map"].get(dom.lower()))
            files[dom], rows_in[dom] = path.name, df.height
            if has_bom(path):
                findings.add("INFO", dom, path.name, "BOM_REMOVED", "file starts with a UTF-8 byte-order mark; removed")
            if df.height == 0:
                if dom == "DM":
                    raise DataContractError("DM has a header but no rows: no subjects", file=path.name)
                findings.add("WARNING", dom, path.name, "DOMAIN_EMPTY", "file has a header but no rows")
        else:  # an optional domain that is absent: no rows, same columns and types as a present one
            df = pl.DataFrame(schema={"SRCROW": pl.Int64, **{c: pl.Utf8 for c in (*spec.required, *spec.expected,
                                                                                 *spec.numeric)}})
            files[dom], rows_in[dom] = "(absent)", 0
            findings.add("INFO", dom, None, "DOMAIN_ABSENT", "optional domain not in the cut; read as no records")
        df = validate_domain(df, spec, files[dom], cfg, findings)
        if dom == "DM":
            df = check_arms(df, cfg, path.name, findings)
        elif dom == "LB":
            df = harmonise_lab_units(df, path.name, cfg, findings)
        elif dom == "RS":
            df = check_rs_values(df, path.name, findings)
        elif dom == "QS":
            df = check_qs_values(df, path.name, findings)
        frames[dom] = df
    _raise_first_fatal(findings)
    return frames, files, rows_in


def accounting(rows_in: dict, frames: dict, exclusions: pl.DataFrame, files: dict) -> pl.DataFrame:
    """Per domain: rows in, kept, excluded, and excluded by reason. in = kept + excluded."""
    out = []
    for dom in DOMAINS:
        if dom not in rows_in:
            continue
        ex = exclusions.filter(pl.col("domain") == dom)
        kept = frames[dom].height
        out.append({"domain": dom, "file": files[dom], "category": "rows_in", "reason": "", "n": rows_in[dom]})
        out.append({"domain": dom, "file": files[dom], "category": "rows_kept", "reason": "", "n": kept})
        out.append({"domain": dom, "file": files[dom], "category": "rows_excluded", "reason": "", "n": ex.height})
        for reason, n in sorted(ex.group_by("reason").len().iter_rows()):
            out.append({"domain": dom, "file": files[dom], "category": "excluded_by_reason", "reason": reason,
                        "n": n})
        if rows_in[dom] != kept + ex.height:  # a bug, never a data problem
            raise AssertionError(f"accounting does not balance for {dom}: {rows_in[dom]} != {kept} + {ex.height}")
    return pl.DataFrame(out, schema={"domain": pl.Utf8, "file": pl.Utf8, "category": pl.Utf8, "reason": pl.Utf8,
                                     "n": pl.Int64})


FATAL_FINDINGS = "findings_fatal.csv"  # the findings of a run stopped by a fatal one


def validation_summary(findings_csv: str | Path) -> list[str]:
    """The console summary of the validation: counts by severity, then by severity and rule, and
    where the findings are."""
    f = pl.read_csv(findings_csv, infer_schema_length=0)
    if f.height == 0:
        return [f"Validation: no findings ({findings_csv})"]
    order = {"FATAL": 0, "ERROR": 1, "WARNING": 2, "INFO": 3}
    sev = f.group_by("severity").len().sort(pl.col("severity").replace_strict(order, default=9))
    lines = [f"Validation: {f.height} findings ("
             + ", ".join(f"{s} {n}" for s, n in sev.iter_rows()) + f"); details: {findings_csv}"]
    by = (f.group_by("severity", "rule").len()
          .sort([pl.col("severity").replace_strict(order, default=9), "len", "rule"],
                descending=[False, True, False]))
    lines += [f"  {s:<8} {r:<28} {n:>6}" for s, r, n in by.iter_rows()]
    return lines


def ingest_cut(cut_dir: str | Path, study: str | Path | dict, sdtm_dir: str | Path,
               validation_dir: str | Path, cut: str | None = None,
               dummy_seed: int | None = None) -> dict[str, pl.DataFrame]:
    """Run the ingest step and write its outputs. Returns the clean domains.

    ``cut`` is the data cut date (ISO); by default the study config's ``cut_date`` or the cut
    folder's name. ``dummy_seed``: replace the arms by a dummy randomisation with this seed
    (:mod:`hepatrial.ingest.dummy`) before anything is written.
    """
    import datetime as dt

    cfg = study if isinstance(study, dict) else load_study(study)
    cut = dt.date.fromisoformat(cut) if cut else cut_date(cfg, cut_dir)
    findings = Findings()
    (Path(validation_dir) / FATAL_FINDINGS).unlink(missing_ok=True)
    try:
        frames, files, rows_in = read_and_validate(cut_dir, cfg, findings)
    except DataContractError as exc:
        # the findings up to the fatal one (which is listed too: a structural stop such as a
        # missing column is not a finding yet), beside (not as) the step's output, which a
        # failed job does not keep
        if findings.fatal().height == 0:
            findings.add("FATAL", "", None, "FATAL_INPUT", " ".join(str(exc).split()))
        Path(validation_dir).mkdir(parents=True, exist_ok=True)
        findings.frame().write_csv(Path(validation_dir) / FATAL_FINDINGS)
        raise
    frames, excl1 = exclude_unknown_subjects(frames, files, findings)
    frames, excl2 = apply_cut(frames, files, DOMAINS, cut, findings)
    cross_checks(frames, files, DOMAINS, findings)
    check_windows(frames, files, cfg, findings)
    flag_partial_dates(frames, files, DOMAINS, findings)
    exclusions = (pl.concat([excl1, excl2], how="vertical").cast(EXCL_SCHEMA)
                  .sort(["domain", "row"]))
    acct = accounting(rows_in, frames, exclusions, files)
    if dummy_seed is not None:
        from hepatrial.ingest.dummy import dummy_randomise

        frames = dummy_randomise(frames, cfg, dummy_seed)

    sdtm_dir, validation_dir = Path(sdtm_dir), Path(validation_dir)
    sdtm_dir.mkdir(parents=True, exist_ok=True)
    validation_dir.mkdir(parents=True, exist_ok=True)
    for dom in DOMAINS:
        frames[dom].sort("SRCROW").write_parquet(sdtm_dir / f"{dom.lower()}.parquet", statistics=False)
    findings.frame().write_csv(validation_dir / "findings.csv")
    acct.write_csv(validation_dir / "accounting.csv")
    exclusions.write_csv(validation_dir / "exclusions.csv")
    return frames

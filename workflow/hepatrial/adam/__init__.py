"""ADaM datasets from the clean SDTM domains: one ``build_*`` per Snakemake rule (I/O here,
derivations in the modules)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

from hepatrial import stamp
from hepatrial.adam.adae import create_adae, create_adce
from hepatrial.adam.adeff import create_adeff
from hepatrial.adam.adlb import create_adlb
from hepatrial.adam.adqs import create_adqs
from hepatrial.adam.adsl import create_adsl_core, derive_vars_baseline_scores
from hepatrial.adam.adtte import create_adtte
from hepatrial.adam.io import write_adam
from hepatrial.contract import EXCL_SCHEMA
from hepatrial.spec import load as load_study

LABELS = {
    "adsl": "Subject-Level Analysis Dataset",
    "adlb": "Laboratory Analysis Dataset",
    "adeff": "Liver Scores Analysis Dataset",
    "adqs": "Questionnaire Analysis Dataset",
    "adtte": "Time-to-Event Analysis Dataset",
    "adae": "Adverse Events Analysis Dataset",
    "adce": "Clinical Events Analysis Dataset",
}


def read_sdtm(
    sdtm_dir: str | Path,
    domains: list[str] | tuple[str, ...] | None = None,
    columns: dict[str, list[str]] | None = None,
) -> dict[str, pl.DataFrame]:
    """The clean SDTM domains by upper-case code: all of them, or only ``domains``; ``columns``
    (domain -> names) reads only those columns of a domain (the ones present)."""
    out = {}
    for p in sorted(Path(sdtm_dir).glob("*.parquet")):
        dom = p.stem.upper()
        if domains is not None and dom not in domains:
            continue
        want = (columns or {}).get(dom)
        if want is None:
            out[dom] = pl.read_parquet(p)
        else:
            have = pl.read_parquet_schema(p)
            out[dom] = pl.read_parquet(p, columns=[c for c in have if c in want])
    return out


# What ADSL needs of each domain: the last-alive dates read only a subject's dates in the big ones.
ADSL_COLUMNS = {
    "LB": ["USUBJID", "LBDTC"],
    "QS": ["USUBJID", "QSDTC"],
    "RS": ["USUBJID", "RSDTC"],
    "SV": ["USUBJID", "SVSTDTC"],
    "CE": ["USUBJID", "CESTDTC"],
    "AE": ["USUBJID", "AESTDTC", "AEENDTC", "AEOUT"],
}


# Domains ADSL reads only for the last date a subject was known alive: large (a row per result),
# read as their distinct (USUBJID, date) pairs, which give the same latest date.
DATES_ONLY = ("LB", "QS", "RS", "SV")


def _write(df: pl.DataFrame, parquet: str | Path, name: str, xpt: bool = True) -> None:
    write_adam(
        df,
        parquet,
        Path(parquet).with_suffix(".xpt") if xpt else None,
        name.upper(),
        LABELS.get(name, ""),
    )


def _write_excl(excl: pl.DataFrame | None, path: str | Path) -> None:
    (excl if excl is not None else pl.DataFrame(schema=EXCL_SCHEMA)).cast(EXCL_SCHEMA).sort(
        ["domain", "row"]
    ).pipe(stamp.write_csv, path)


def build_adsl_core(sdtm_dir, study_path, cut: str, out: str | Path) -> None:
    """``cut``: the data cut date (ISO)."""
    study = load_study(study_path)
    domains = read_sdtm(sdtm_dir, ["DM", "DS", "EX", "PR", "AE", "CE"], ADSL_COLUMNS)
    for dom in DATES_ONLY:  # distinct (subject, date) rows only: ADSL takes their latest date
        path = Path(sdtm_dir) / f"{dom.lower()}.parquet"
        if path.exists():
            have = pl.read_parquet_schema(path)
            domains[dom] = (
                pl.scan_parquet(path)
                .select([c for c in have if c in ADSL_COLUMNS[dom]])
                .unique(maintain_order=True)
                .collect()
            )
    _write(create_adsl_core(domains, study, dt.date.fromisoformat(cut)), out, "adslcore", xpt=False)


BATCH_SUBJECTS = (
    5_000  # subjects per batch of the BDS builds (ADLB, ADEFF, ADQS): sets their peak memory
)


def subject_batches(
    sdtm_dir, domains: list[str], batch_subjects: int = BATCH_SUBJECTS
) -> list[pl.Expr]:
    """Filters selecting the subjects of ``domains`` in batches of ``batch_subjects``, in USUBJID order
    (the BDS datasets' first sort key): batch outputs stacked in order are the whole build's rows in its
    order. A missing USUBJID (never kept by ingest) would go in a batch of its own, last."""
    ids = (
        pl.concat(
            [
                pl.scan_parquet(Path(sdtm_dir) / f"{d.lower()}.parquet").select("USUBJID")
                for d in domains
            ]
        )
        .unique()
        .collect()["USUBJID"]
    )
    has_null = ids.null_count() > 0
    ids = ids.drop_nulls().sort()
    size = max(int(batch_subjects), 1)
    out = [pl.col("USUBJID").is_in(ids.slice(o, size).implode()) for o in range(0, len(ids), size)]
    if has_null:
        out.append(pl.col("USUBJID").is_null())
    return out or [pl.col("USUBJID").is_null()]


def _scan(sdtm_dir, dom: str, where: pl.Expr, columns: list[str] | None = None) -> pl.DataFrame:
    lf = pl.scan_parquet(Path(sdtm_dir) / f"{dom.lower()}.parquet").filter(where)
    if columns is not None:
        have = lf.collect_schema().names()
        lf = lf.select([c for c in have if c in columns])
    return lf.collect()


def build_in_batches(
    build_batch,
    sdtm_dir,
    domains: list[str],
    out,
    excl_out,
    name: str,
    batch_subjects: int = BATCH_SUBJECTS,
) -> None:
    """Run ``build_batch(where) -> (dataset, exclusions)`` per batch of subjects (``where`` selects
    them), write each batch to a temporary Parquet file, then stack them into ``out`` in the fixed
    layout (hepatrial.parquet), writing the XPT copy from the same pieces as they are stacked (its
    header from the batch files' longest text values; :func:`hepatrial.adam.io.finish_xpt` reads
    the dataset whole when they need the whole-frame path). Peak memory is set by the batch, not
    by the trial; the files are byte-identical to a whole build."""
    import os
    import tempfile

    from hepatrial.adam.io import finish_xpt, xpt_name, xpt_rows_for
    from hepatrial.parquet import concat_parquet, unified_schema

    Path(out).parent.mkdir(parents=True, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{name}-", dir=Path(out).parent)
    parts, excls, rows = [], [], None
    try:
        for i, where in enumerate(subject_batches(sdtm_dir, domains, batch_subjects)):
            data, excl = build_batch(where)
            parts.append(os.path.join(tmp, f"{i:06d}.parquet"))
            data.write_parquet(parts[-1], compression="lz4")  # temporary: fast to write and read
            excls.append(excl)
            del data, excl
        xpt, schema = Path(out).with_suffix(".xpt"), unified_schema(parts)
        rows = xpt_rows_for(parts, schema, xpt, name, LABELS.get(name, ""))
        concat_parquet(parts, out, each=rows.write if rows is not None else None)
    finally:
        for p in parts:
            Path(p).unlink(missing_ok=True)
        os.rmdir(tmp)
    finish_xpt(rows, out, xpt, xpt_name(name, schema), LABELS.get(name, ""))
    _write_excl(pl.concat(excls, how="vertical_relaxed") if excls else None, excl_out)


def build_adlb(
    sdtm_dir, adsl_path, study_path, out, excl_out, batch_subjects: int = BATCH_SUBJECTS
) -> None:
    from hepatrial.adam.adlb import ranged_tests

    adsl, study = pl.read_parquet(adsl_path), load_study(study_path)
    ranged = ranged_tests(pl.scan_parquet(Path(sdtm_dir) / "lb.parquet"))  # the whole domain's
    build_in_batches(
        lambda where: create_adlb(_scan(sdtm_dir, "LB", where), adsl, study, ranged),
        sdtm_dir,
        ["LB"],
        out,
        excl_out,
        "adlb",
        batch_subjects,
    )


def build_adeff(
    sdtm_dir, adsl_path, study_path, out, excl_out, batch_subjects: int = BATCH_SUBJECTS
) -> None:
    from hepatrial.adam.adeff import SCORE_LABS

    adsl, study = pl.read_parquet(adsl_path), load_study(study_path)
    pr = read_sdtm(sdtm_dir, ["PR"])["PR"]  # small; the dialysis rows are joined per subject
    lb_cols = pl.scan_parquet(Path(sdtm_dir) / "lb.parquet").collect_schema().names()
    vis = ["VISIT"] if "VISIT" in lb_cols else []  # VISIT for nominal windowing

    def batch(where):
        # the score labs only (the panel uses no other)
        lb = _scan(
            sdtm_dir,
            "LB",
            where & pl.col("LBTESTCD").is_in([*SCORE_LABS, "PTACT"]),
            ["USUBJID", "LBTESTCD", "LBSTRESN", "LBDTC", "SRCROW", *vis],
        )
        return create_adeff(lb, _scan(sdtm_dir, "RS", where), pr.filter(where), adsl, study)

    build_in_batches(batch, sdtm_dir, ["LB", "RS"], out, excl_out, "adeff", batch_subjects)


def build_adqs(
    sdtm_dir, adsl_path, study_path, out, excl_out, batch_subjects: int = BATCH_SUBJECTS
) -> None:
    adsl, study = pl.read_parquet(adsl_path), load_study(study_path)
    build_in_batches(
        lambda where: create_adqs(_scan(sdtm_dir, "QS", where), adsl, study),
        sdtm_dir,
        ["QS"],
        out,
        excl_out,
        "adqs",
        batch_subjects,
    )


def build_adtte(sdtm_dir, adsl_path, study_path, out) -> None:
    ce = read_sdtm(sdtm_dir, ["CE"])["CE"]
    _write(create_adtte(pl.read_parquet(adsl_path), ce, load_study(study_path)), out, "adtte")


def build_adae(sdtm_dir, adsl_path, study_path, out_ae, out_ce) -> None:
    d, adsl, study = (
        read_sdtm(sdtm_dir, ["AE", "CE"]),
        pl.read_parquet(adsl_path),
        load_study(study_path),
    )
    _write(create_adae(d["AE"], adsl, study), out_ae, "adae")
    _write(create_adce(d["CE"], adsl), out_ce, "adce")


def build_adsl(adsl_core_path, adeff_path, study_path, out) -> None:
    study = load_study(study_path)
    baselines = (
        pl.scan_parquet(adeff_path)
        .select("USUBJID", "PARAMCD", "ABLFL", "AVAL", "AVALC")
        .filter(pl.col("ABLFL") == "Y")
        .collect()
    )  # all that the baseline scores read of ADEFF
    adsl = derive_vars_baseline_scores(
        pl.read_parquet(adsl_core_path), baselines, study.scores.meld_primary
    )
    _write(adsl, out, "adsl")


TRACED = {"LB": ["adlb"], "QS": ["adqs"], "RS": ["adeff"], "AE": ["adae"], "CE": ["adce"]}


def trace_rows(sdtm_dir, adam_dir, ingest_exclusions, adam_exclusions: list, out) -> pl.DataFrame:
    """Nothing lost: every LB, QS, RS, AE and CE source row is in an ADaM dataset (by SRCROW) or in
    an exclusions listing with a reason. Writes one row per domain; a row unaccounted for is a bug."""
    sdtm = read_sdtm(sdtm_dir, list(TRACED), {d: ["SRCROW"] for d in TRACED})
    ex = pl.concat(
        [stamp.read_csv(p, schema=EXCL_SCHEMA) for p in [ingest_exclusions, *adam_exclusions]]
    )
    rows = []
    for dom, datasets in TRACED.items():
        src = sdtm[dom]
        n_in = (
            src.height
            + ex.filter(
                (pl.col("domain") == dom) & (pl.col("file") != f"{dom.lower()} (sdtm)")
            ).height
        )
        in_adam = (
            pl.concat(
                [
                    pl.read_parquet(Path(adam_dir) / f"{d}.parquet", columns=["SRCDOM", "SRCROW"])
                    .filter(pl.col("SRCDOM").is_null() | (pl.col("SRCDOM") == dom))
                    .select("SRCROW")
                    for d in datasets
                ]
            )
            .drop_nulls()
            .unique()
        )
        ex_dom = ex.filter(pl.col("domain") == dom)
        ex_adam = ex_dom.filter(pl.col("file") == f"{dom.lower()} (sdtm)")
        traced = src.select("SRCROW").join(in_adam, on="SRCROW", how="semi")
        excluded = src.select("SRCROW").join(
            ex_adam.select(pl.col("row").alias("SRCROW")), on="SRCROW", how="semi"
        )
        lost = src.height - traced.height - excluded.height
        rows.append(
            {
                "domain": dom,
                "rows_in": n_in,
                "excluded_at_ingest": n_in - src.height,
                "in_adam": traced.height,
                "excluded_at_adam": excluded.height,
                "unaccounted": lost,
            }
        )
    out_df = pl.DataFrame(rows)
    stamp.write_csv(out_df, out)
    bad = out_df.filter(pl.col("unaccounted") != 0)
    if bad.height:
        raise AssertionError(f"rows unaccounted for between SDTM and ADaM: {bad.to_dicts()}")
    return out_df

"""Harmonise lab units: LBSTRESN / LBSTRESU / LBSTNRLO / LBSTNRHI in one standard unit per test.

The standard value comes from LBSTRESN/LBSTRESU when the export has them, else from
LBORRES/LBORRESU. Known tests are converted with the contract's factors (bilirubin mg/dL x 17.1
= umol/L, creatinine mg/dL x 88.4 = umol/L, albumin g/dL x 10 = g/L, sodium mEq/L = mmol/L);
other tests pass through in their own unit.

Censored results (values below or above the limits of quantitation) are read, not dropped:
"<20", "<=20", "≤20" and "not detected" / "TND" / "undetectable" are below the lower limit
(LLOQ: the number, or ``labs.lloq`` of the test for a result without one); ">1e8", ">=", "≥" are
above the upper limit (ULOQ). The numeric result (LBSTRESN) of a result below the LLOQ follows
``labs.below_lloq``: ``half_lloq`` (default, LLOQ/2), ``lloq``, or ``missing``; above the ULOQ it
is the ULOQ. LBSTRESC keeps the text as reported, LBLLOQ / LBULOQ the limit (standard unit) and
LBCENS ``<LLOQ`` / ``>ULOQ`` says which; each such result is an INFO finding (LB_CENSORED).
"""

from __future__ import annotations

import polars as pl

from hepatrial.contract import LAB_UNITS, MUST_BE_POSITIVE, SCORE_TESTS
from hepatrial.errors import DataContractError, shown
from hepatrial.ingest.findings import Findings, merged
from hepatrial.spec import Study


def unit_key(expr: pl.Expr) -> pl.Expr:
    return (
        expr.fill_null("")
        .str.to_lowercase()
        .str.replace_all(r"\s+", "")
        .str.replace_all("µ", "u")
        .str.replace_all("μ", "u")
    )


def _conversion_table() -> pl.DataFrame:
    rows = [
        {"LBTESTCD": t, "_ukey": k, "_factor": f, "_stdu": std}
        for t, (std, units) in LAB_UNITS.items()
        for k, f in units.items()
    ]
    return pl.DataFrame(rows)


CENSORED = r"^\s*(<=|≤|<|>=|≥|>)\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*$"
NOT_DETECTED = (
    "not detected",
    "notdetected",
    "tnd",
    "target not detected",
    "undetectable",
    "undetected",
    "below detection limit",
    "nd",
)


def censoring(
    val_txt: pl.Expr, test: pl.Expr, lloq_cfg: dict[str, float]
) -> tuple[pl.Expr, pl.Expr]:
    """(direction ``<`` / ``>`` or null, limit in the reported unit or null) of a result's text."""
    t = val_txt.cast(pl.Utf8).str.strip_chars()
    op = t.str.extract(CENSORED, 1)
    lim = t.str.extract(CENSORED, 2).cast(pl.Float64, strict=False)
    nd = t.str.to_lowercase().is_in(list(NOT_DETECTED))
    cfg_lloq = (
        test.replace_strict(
            {k.upper(): float(v) for k, v in lloq_cfg.items()},
            default=None,
            return_dtype=pl.Float64,
        )
        if lloq_cfg
        else pl.lit(None, pl.Float64)
    )
    direction = (
        pl.when(op.is_in(["<", "<=", "≤"]) | nd)
        .then(pl.lit("<"))
        .when(op.is_in([">", ">=", "≥"]))
        .then(pl.lit(">"))
        .otherwise(pl.lit(None, pl.Utf8))
    )
    limit = pl.when(nd).then(cfg_lloq).otherwise(lim)
    return direction, limit


def harmonise_lab_units(
    lb: pl.DataFrame, file: str, cfg: Study, findings: Findings
) -> pl.DataFrame:
    """Add LBSTRESN (float), LBSTRESU, LBSTNRLO, LBSTNRHI in the standard unit of each test, and
    LBCENS, LBLLOQ, LBULOQ for censored results (module docstring)."""
    lb = lb.with_columns(pl.col("LBTESTCD").str.to_uppercase())
    has_std = "LBSTRESN" in lb.columns and "LBSTRESU" in lb.columns
    orres = pl.col("LBORRES") if "LBORRES" in lb.columns else pl.lit(None, pl.Utf8)
    orresu = pl.col("LBORRESU") if "LBORRESU" in lb.columns else pl.lit(None, pl.Utf8)
    if has_std:
        use_std = pl.col("LBSTRESN").is_not_null()
        val_txt = pl.when(use_std).then(pl.col("LBSTRESN")).otherwise(orres)
        unit = pl.when(use_std).then(pl.col("LBSTRESU")).otherwise(orresu)
    else:
        val_txt, unit = orres, orresu
    labs = cfg.labs
    direction, limit = censoring(val_txt, pl.col("LBTESTCD"), labs.lloq)
    # the text, unit, censoring direction and limit computed once each (the two regular
    # expressions of a result's text are the costly part), then what is derived from them
    lb = lb.with_columns(
        val_txt.alias("_val_txt"),
        unit.alias("_unit"),
        direction.alias("_cdir"),
        limit.alias("_clim"),
    )
    below = labs.below_lloq
    cdir, clim = pl.col("_cdir"), pl.col("_clim")
    cens_val = (
        pl.when(cdir == ">")
        .then(clim)
        .when(pl.lit(below == "half_lloq"))
        .then(clim / 2.0)
        .when(pl.lit(below == "lloq"))
        .then(clim)
        .otherwise(pl.lit(None, pl.Float64))
    )
    lb = lb.with_columns(
        pl.when(cdir.is_not_null())
        .then(cens_val)
        .otherwise(pl.col("_val_txt").cast(pl.Float64, strict=False))
        .alias("_val"),
        unit_key(pl.col("_unit")).alias("_ukey"),
    )
    cens = lb.filter(pl.col("_cdir").is_not_null())
    findings.add_rows(
        cens.with_columns(pl.col("_val_txt").cast(pl.Utf8).alias("LBORRES")),
        "INFO",
        "LB",
        file,
        "LB_CENSORED",
        f"result outside a limit of quantitation; value per labs.below_lloq "
        f"({below}) below the LLOQ, the ULOQ above it; flagged (LBCENS)",
        column="LBORRES",
    )
    unknown_lloq = cens.filter((pl.col("_cdir") == "<") & pl.col("_clim").is_null())
    findings.add_rows(
        unknown_lloq.with_columns(pl.col("_val_txt").cast(pl.Utf8).alias("LBORRES")),
        "WARNING",
        "LB",
        file,
        "LB_LLOQ_UNKNOWN",
        "below the limit of quantitation with no limit given "
        "(set labs.lloq for the test); no numeric value",
        column="LBORRES",
    )
    # 1e400, inf: parsed as an infinite float, which no score, model or table can use
    nonfinite = pl.col("_val").is_not_null() & ~pl.col("_val").is_finite()
    findings.add_rows(
        lb.filter(nonfinite).with_columns(pl.col("_val_txt").alias("LBORRES")),
        "ERROR",
        "LB",
        file,
        "NOT_NUMERIC",
        "value is not a finite number; treated as missing",
        column="LBORRES",
    )
    lb = lb.with_columns(
        pl.when(nonfinite).then(None).otherwise(pl.col(c)).alias(c) for c in ("_val", "_val_txt")
    )
    lb = lb.join(_conversion_table(), on=["LBTESTCD", "_ukey"], how="left")
    known = pl.col("LBTESTCD").is_in(list(LAB_UNITS))
    has_value = pl.col("_val_txt").is_not_null()
    unknown_unit = known & has_value & pl.col("_factor").is_null()
    bad = lb.filter(unknown_unit & pl.col("LBTESTCD").is_in(list(SCORE_TESTS)))
    if bad.height:
        r = bad.row(0, named=True)
        col = "LBSTRESU" if has_std and r.get("LBSTRESN") is not None else "LBORRESU"
        what = "no unit" if r["_unit"] is None else f"unknown unit {shown(r['_unit'])}"
        raise DataContractError(
            f"{what} for {r['LBTESTCD']} (USUBJID {r['USUBJID']}); accepted: "
            f"{sorted(k or '(empty)' for k in LAB_UNITS[r['LBTESTCD']][1])}",
            file=file,
            row=r["SRCROW"],
            column=col,
        )
    findings.add_rows(
        lb.filter(unknown_unit).with_columns(pl.col("_unit").alias("LBORRESU")),
        "ERROR",
        "LB",
        file,
        "LB_UNIT_UNKNOWN",
        "unknown unit for this test; value not used",
        column="LBORRESU",
    )
    not_num = has_value & pl.col("_val").is_null() & pl.col("_cdir").is_null()
    findings.add_rows(
        lb.filter(not_num).with_columns(pl.col("_val_txt").alias("LBORRES")),
        "WARNING",
        "LB",
        file,
        "LB_RESULT_NOT_NUMERIC",
        "result is not numeric; carried as text (AVALC), no AVAL",
        column="LBORRES",
    )
    conv = (
        lb.filter(known & pl.col("_factor").is_not_null() & (pl.col("_factor") != 1.0))
        .group_by("LBTESTCD", "_unit")
        .agg(pl.len(), pl.col("SRCROW").min(), pl.col("_stdu").first())
        .sort("LBTESTCD", "_unit")
    )
    for r in conv.iter_rows(named=True):
        findings.tally(
            "INFO",
            "LB",
            file,
            "LB_UNIT_CONVERTED",
            lambda n, t: f"{n} {t[0]} value(s) in {t[1]} converted to {t[2]} (first at this row)",
            n=r["len"],
            row=r["SRCROW"],
            column="LBORRESU",
            value=r["_unit"],
            key=(r["LBTESTCD"], r["_unit"]),
            extra=(r["LBTESTCD"], r["_unit"], r["_stdu"]),
        )
    factor = pl.when(known).then(pl.col("_factor")).otherwise(1.0)
    std_unit = pl.when(known).then(pl.col("_stdu")).otherwise(pl.col("_unit"))
    rng = []
    for c in ("LBORNRLO", "LBORNRHI"):
        if c not in lb.columns:
            rng.append(pl.lit(None, pl.Float64))
            continue
        text = pl.col(c).cast(pl.Utf8).str.strip_chars()
        num = text.cast(pl.Float64, strict=False)
        finite = num.is_finite().fill_null(False)
        bad = text.is_not_null() & ~finite  # text (e.g. "<5"), NaN or infinite (blank: missing)
        findings.add_rows(
            lb.filter(bad),
            "ERROR",
            "LB",
            file,
            "NOT_NUMERIC",
            "reference limit is not a finite number; treated as missing",
            column=c,
        )
        rng.append(pl.when(finite).then(num))
        _tally_range_gaps(lb, c, finite, file, findings)
    # a lower limit above the upper one: neither can be trusted (ERROR, both read as missing)
    inverted = rng[0].is_not_null() & rng[1].is_not_null() & (rng[0] > rng[1])
    findings.add_rows(
        lb.filter(inverted),
        "ERROR",
        "LB",
        file,
        "LB_RANGE_INVERTED",
        "lower reference limit (LBORNRLO) above the upper (LBORNRHI); both treated as missing",
        column="LBORNRLO",
    )
    rng = [pl.when(~inverted.fill_null(False)).then(r) for r in rng]
    # Reference ranges are in the reported unit; with LBSTRESN given they are taken as standard.
    lb = lb.with_columns(
        (pl.col("_val") * factor).alias("LBSTRESN"),
        std_unit.alias("LBSTRESU"),
        pl.col("_val_txt").alias("LBSTRESC"),
        (rng[0] * factor).alias("LBSTNRLO"),
        (rng[1] * factor).alias("LBSTNRHI"),
        pl.when(pl.col("_cdir") == "<")
        .then(pl.lit("<LLOQ"))
        .when(pl.col("_cdir") == ">")
        .then(pl.lit(">ULOQ"))
        .otherwise(pl.lit(None, pl.Utf8))
        .alias("LBCENS"),
        pl.when(pl.col("_cdir") == "<").then(pl.col("_clim") * factor).alias("LBLLOQ"),
        pl.when(pl.col("_cdir") == ">").then(pl.col("_clim") * factor).alias("LBULOQ"),
    )
    # several units for one unconverted test
    units = (  # tallied over the chunks of LB; a test seen in one unit in all is not reported
        lb.filter(~known & pl.col("_val").is_not_null())
        .group_by("LBTESTCD")
        .agg(pl.col("_unit").drop_nulls().unique().sort(), pl.col("SRCROW").min())
        .sort("LBTESTCD")
    )
    for r in units.iter_rows(named=True):
        test = r["LBTESTCD"]
        findings.tally(
            "WARNING",
            "LB",
            file,
            "LB_UNITS_MIXED",
            lambda _, u, test=test: (
                f"{test} reported in several units {list(u)} with no known "
                "conversion; carried as reported"
            ),
            row=r["SRCROW"],
            column="LBORRESU",
            key=(test,),
            extra=tuple(r["_unit"]),
            merge=merged,
            keep=lambda u: len(u) > 1,
        )
    nonpos = pl.col("LBTESTCD").is_in(list(MUST_BE_POSITIVE)) & (pl.col("LBSTRESN") <= 0)
    findings.add_rows(
        lb.filter(nonpos).with_columns(pl.col("LBSTRESN").cast(pl.Utf8)),
        "ERROR",
        "LB",
        file,
        "LB_NOT_POSITIVE",
        "value must be positive; set missing (not used for scores)",
        column="LBSTRESN",
    )
    lb = lb.with_columns(
        pl.when(nonpos | unknown_unit).then(None).otherwise(pl.col("LBSTRESN")).alias("LBSTRESN")
    )
    for test, (lo, hi) in sorted(cfg.plausibility.items()):
        out = (pl.col("LBTESTCD") == test) & ~pl.col("LBSTRESN").is_between(lo, hi)
        findings.add_rows(
            lb.filter(out).with_columns(pl.col("LBSTRESN").cast(pl.Utf8)),
            "WARNING",
            "LB",
            file,
            "LB_IMPLAUSIBLE",
            f"outside the plausible range [{lo}, {hi}] (standard unit); carried",
            column="LBSTRESN",
        )
    return lb.drop("_val_txt", "_unit", "_val", "_ukey", "_factor", "_stdu", "_cdir", "_clim")


def _tally_range_gaps(
    lb: pl.DataFrame, column: str, has: pl.Expr, file: str, findings: Findings
) -> None:
    """Reference limits missing where they matter (tallied over the chunks of LB): WARNING
    ``LB_RANGE_PARTIAL`` per test whose results have the limit ``column`` on some results but not
    on others (ADLB leaves the others unclassified rather than NORMAL), and ``LB_RANGE_ABSENT``
    when no result has it (no result can be LOW, or HIGH)."""
    side = "lower" if column.endswith("LO") else "upper"
    flag = "LOW" if side == "lower" else "HIGH"
    per = (
        lb.select("LBTESTCD", "SRCROW", has.alias("_has"), "USUBJID")
        .group_by("LBTESTCD", maintain_order=True)
        .agg(
            pl.col("_has").sum().alias("n_has"),
            (~pl.col("_has")).sum().alias("n_not"),
            pl.col("SRCROW").filter(~pl.col("_has")).first().alias("row"),
            pl.col("USUBJID").filter(~pl.col("_has")).first().alias("usubjid"),
        )
    )
    for test, n_has, n_not, row, usubjid in per.iter_rows():
        findings.tally(
            "WARNING",
            "LB",
            file,
            "LB_RANGE_PARTIAL",
            lambda n, e, t=test: (
                f"{n} {t} result(s) without the {side} reference limit ({column}) that other "
                f"{t} results have: not classified against it (ADLB ANRIND missing, not NORMAL, "
                "unless the other limit flags them) (first at this row)"
            ),
            n=n_not,
            row=row,
            usubjid=usubjid,
            column=column,
            value=test,
            key=(test,),
            extra=(n_not, n_has),
            merge=lambda a, b: (a[0] + b[0], a[1] + b[1]),
            keep=lambda e: e[0] > 0 and e[1] > 0,
        )
    findings.tally(
        "WARNING",
        "LB",
        file,
        "LB_RANGE_ABSENT",
        lambda n, e: (
            f"no lab result has a {side} reference limit ({column} empty on all {n} results): "
            f"no result can be {flag}; check the data"
        ),
        n=lb.height,
        column=column,
        extra=(lb.height, int(per["n_has"].sum())),
        merge=lambda a, b: (a[0] + b[0], a[1] + b[1]),
        keep=lambda e: e[0] > 0 and e[1] == 0,
    )

"""Validate each domain against the contract (pandera) and across domains.

What is fatal, what is flagged, and what happens to the value is decided here, rule by rule;
the README's "Validation rules" table lists the same rules. Row-level checks are pandera
checks on the text columns; their failure cases (row index, column, check name) become
findings rows naming the source file row.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:  # annotations only: imported where used
    import pandera.polars as pa

from hepatrial.contract import (
    DOMAINS,
    ISO_FULL,
    ISO_OFFSET,
    ISO_PARTIAL,
    MISSING_TOKENS,
    NON_ARM_VALUES,
    NOT_RELATED_TERMS,
    PROTOCOL_MILESTONES,
    QS_ITEMS,
    RELATED_TERMS,
    RS_TERMS,
    DomainSpec,
    level_key,
)
from hepatrial.ingest.findings import Findings, merged
from hepatrial.spec import Study
from hepatrial.spec.decode import CODELISTS


def _pandera():
    """pandera.polars, imported on first use: a step that imports this package without validating
    should not pay for pandera's import (about a second)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pandera.polars as pa
    return pa


# rule -> (severity, what happens, message)
RULES: dict[str, tuple[str, str, str]] = {
    "USUBJID_MISSING": ("FATAL", "stop", "USUBJID is missing"),
    "USUBJID_DUPLICATE": ("FATAL", "stop", "duplicate USUBJID in DM (one row per subject)"),
    "DATE_NOT_ISO": (
        "FATAL",
        "stop",
        (
            "date is not ISO 8601 (YYYY-MM-DD, YYYY-MM-DDThh:mm[:ss], "
            "a time optionally with a UTC offset Z or +hh:mm)"
        ),
    ),
    "DATE_PARTIAL_NOT_ALLOWED": ("FATAL", "stop", "partial date where the contract allows none"),
    "DATE_IMPOSSIBLE": (
        "FATAL",
        "stop",
        (
            "not a calendar date or not a time of day (hour 00-23, "
            "minute and second 00-59, offset at most 14:00)"
        ),
    ),
    "NOT_NUMERIC": ("ERROR", "set missing", "value is not a finite number; treated as missing"),
    "OUT_OF_RANGE": (
        "ERROR",
        "set missing",
        "value outside the contract's range; treated as missing",
    ),
    "TERM_UNKNOWN": (
        "ERROR",
        "set missing",
        "value is not in the controlled terms; treated as missing",
    ),
}


def _iso_ok(col: str, partial: bool) -> pl.Expr:
    pat = ISO_FULL if not partial else f"({ISO_FULL})|({ISO_PARTIAL})"
    return pl.col(col).is_null() | pl.col(col).str.contains(pat)


def _partial_only(col: str) -> pl.Expr:
    return pl.col(col).is_null() | ~pl.col(col).str.contains(ISO_PARTIAL)


def date_is_real(col: str) -> pl.Expr:
    """True when a full date's YYYY-MM-DD part is a calendar date (partial dates: month 1-12) and
    its time part, when present, is a time of day: hour 00-23, minute 00-59, second 00-59, a UTC
    offset of at most 14:00 with minutes 00-59."""
    c = pl.col(col)
    full = c.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False).is_not_null()
    month = c.str.slice(5, 2).cast(pl.Int32, strict=False)
    partial = (c.str.len_chars() == 4) | ((c.str.len_chars() == 7) & month.is_between(1, 12))
    not_iso = ~c.str.contains(f"({ISO_FULL})|({ISO_PARTIAL})")  # reported by DATE_NOT_ISO instead
    time = c.str.extract(r"T(\d{2}):(\d{2})(?::(\d{2}))?", 0)
    hh = c.str.extract(r"T(\d{2}):", 1).cast(pl.Int32, strict=False)
    mi = c.str.extract(r"T\d{2}:(\d{2})", 1).cast(pl.Int32, strict=False)
    ss = c.str.extract(r"T\d{2}:\d{2}:(\d{2})", 1).cast(pl.Int32, strict=False)
    oh = c.str.extract(r"T[\d:.]+[+-](\d{2})", 1).cast(pl.Int32, strict=False)
    om = c.str.extract(r"T[\d:.]+[+-]\d{2}:?(\d{2})$", 1).cast(pl.Int32, strict=False)
    offset_ok = (oh.is_null() | ((oh * 60 + om.fill_null(0)) <= 14 * 60)) & (
        om.is_null() | om.is_between(0, 59)
    )
    clock = time.is_null() | (
        hh.is_between(0, 23)
        & mi.is_between(0, 59)
        & (ss.is_null() | ss.is_between(0, 59))
        & offset_ok
    )
    dated = pl.when(c.str.len_chars() >= 10).then(full & clock).otherwise(partial)
    return c.is_null() | not_iso | dated


def _is_number(col: str) -> pl.Expr:
    return pl.col(col).is_null() | pl.col(col).cast(pl.Float64, strict=False).is_finite().fill_null(
        False
    )


def _in_range(col: str, lo: float, hi: float) -> pl.Expr:
    """True unless the value is a number outside [lo, hi] (a non-number is NOT_NUMERIC's)."""
    x = pl.col(col).cast(pl.Float64, strict=False)
    return (x.is_null() | ~x.is_finite() | x.is_between(lo, hi)).fill_null(True)


def _check(expr_fn, name: str) -> pa.Check:
    pa = _pandera()
    return pa.Check(lambda data: data.lazyframe.select(expr_fn(data.key)), name=name)


def build_schema(
    spec: DomainSpec, columns: list[str], allowed: dict[str, tuple[str, ...]]
) -> pa.DataFrameSchema:
    """The pandera schema of one domain, restricted to the columns present."""
    pa = _pandera()
    cols: dict[str, pa.Column] = {}

    def add(col: str, check: pa.Check) -> None:
        if col in columns:
            cols.setdefault(col, pa.Column(pl.Utf8, nullable=True, checks=[]))
            cols[col].checks.append(check)

    if "USUBJID" in columns:
        cols["USUBJID"] = pa.Column(
            pl.Utf8,
            nullable=True,
            unique=False,
            checks=[_check(lambda k: pl.col(k).is_not_null(), "USUBJID_MISSING")],
        )
        if spec.name == "DM":
            cols["USUBJID"].checks.append(
                _check(
                    lambda k: pl.col(k).is_null() | ~pl.col(k).is_duplicated(), "USUBJID_DUPLICATE"
                )
            )
    for d in spec.dates:
        partial = d in spec.partial_dates
        add(d, _check(lambda k: _iso_ok(k, True), "DATE_NOT_ISO"))
        if not partial:
            add(d, _check(_partial_only, "DATE_PARTIAL_NOT_ALLOWED"))
        add(d, _check(date_is_real, "DATE_IMPOSSIBLE"))
    for n in spec.numeric:
        add(n, _check(_is_number, "NOT_NUMERIC"))
    for n, (lo, hi) in spec.ranges.items():
        add(n, _check(lambda k, lo=lo, hi=hi: _in_range(k, lo, hi), "OUT_OF_RANGE"))
    for col, terms in allowed.items():
        add(
            col,
            _check(
                lambda k, t=terms: pl.col(k).is_null() | pl.col(k).is_in(list(t)), "TERM_UNKNOWN"
            ),
        )
    return pa.DataFrameSchema(cols, strict=False)


def run_schema(df: pl.DataFrame, schema: pa.DataFrameSchema) -> pl.DataFrame:
    """Failure cases as (row position, column, rule)."""
    pa = _pandera()
    empty = pl.DataFrame(schema={"pos": pl.Int64, "column": pl.Utf8, "rule": pl.Utf8})
    if df.height == 0 or not schema.columns:
        return empty
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            schema.validate(df, lazy=True)
        except pa.errors.SchemaErrors as exc:
            fc = exc.failure_cases
            return (
                fc.filter(pl.col("index").is_not_null())
                .select(
                    pl.col("index").cast(pl.Int64).alias("pos"),
                    pl.col("column").cast(pl.Utf8),
                    pl.col("check").cast(pl.Utf8).alias("rule"),
                )
                .unique()
                .sort(["pos", "column", "rule"])
            )
    return empty


def _first_hits(df: pl.DataFrame, masks: dict[str, pl.Expr]) -> dict[str, tuple[int, int]]:
    """For each named boolean expression: (number of rows where it holds, position of the first such
    row), in one pass over ``df``; names that hold on no row are left out."""
    if not masks or df.height == 0:
        return {}
    stats = df.select(
        *(m.fill_null(False).sum().alias(f"n{i}") for i, m in enumerate(masks.values())),
        *(m.fill_null(False).arg_max().alias(f"p{i}") for i, m in enumerate(masks.values())),
    ).row(0)
    k = len(masks)
    return {name: (int(stats[i]), int(stats[k + i])) for i, name in enumerate(masks) if stats[i]}


def _at(df: pl.DataFrame, pos: int, column: str, width: int | None = None) -> dict:
    """The row at ``pos`` for a tallied finding: its SRCROW, the value of ``column`` (its first
    ``width`` characters) and USUBJID."""
    value = df[column][pos]
    return {
        "row": int(df["SRCROW"][pos]),
        "column": column,
        "value": value[:width] if width is not None and value is not None else value,
        "usubjid": df["USUBJID"][pos] if "USUBJID" in df.columns else None,
    }


def _case_variants(tokens: tuple[str, ...]) -> list[str]:
    """Every upper/lower-case spelling of ASCII ``tokens``: ``x.is_in(variants)`` is
    ``x.str.to_uppercase().is_in(tokens)`` without building an upper-cased copy of every value.

    Exact because no character outside ASCII upper-cases to a string made only of the tokens'
    characters (N, A, U, L, "/", "."): the only ones that upper-case to ASCII letters give I, S, or
    bring another character along (U+0149 -> "ʼN", U+1E9A -> "Aʾ", U+FB02 -> "FL", U+FB04 -> "FFL";
    checked over all of Unicode in tests/unit/test_ingest_rules.py)."""
    import itertools

    assert all(t.isascii() and t == t.upper() and not set(t) & set("IFS") for t in tokens)
    return sorted(
        {"".join(v) for t in tokens for v in itertools.product(*({ch, ch.lower()} for ch in t))}
    )


# Characters no one sees: C0 controls but tab, line feed and carriage return; DEL and the C1
# controls (a text decoded with the wrong code page); zero-width space; a byte-order mark inside a
# text. "Ascites" and "Ascites<NUL>" print alike and are two preferred terms (two AE rows).
INVISIBLE = r"[\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F\u200B\uFEFF]"  # Rust and Python regex alike
# Inside a trimmed value: a run of white space, or one that is not a plain space (tab, line break,
# no-break space). "Hepatic  encephalopathy" is another term than "Hepatic encephalopathy", and
# an HTML page shows both alike.
INNER_SPACE = r"\s{2,}|[^\S ]"


def _escaped(value: str | None) -> str | None:
    """``value`` with each :data:`INVISIBLE` character written as its code (``\\x00``, ``\\u200b``)."""
    import re

    return None if value is None else re.sub(INVISIBLE, lambda m: ascii(m.group())[1:-1], value)


# what clean_text finds: severity, rule, what the finding says of the values
TEXT_RULES = {
    "invisible": (
        "WARNING",
        "INVISIBLE_CHARACTER",
        "held characters that do not print (control characters, zero-width space); removed, the "
        "characters shown as codes",
    ),
    "inner": (
        "INFO",
        "SPACES_COLLAPSED",
        "held a run of spaces, a tab or a line break inside; made one space",
    ),
}


def clean_text(df: pl.DataFrame, domain: str, file: str, findings: Findings) -> pl.DataFrame:
    """Remove the :data:`INVISIBLE` characters from every text value (a WARNING finding per
    column, ``INVISIBLE_CHARACTER``, its value with the characters written as codes) and make
    each run of white space inside a value one space (an INFO finding per column,
    ``SPACES_COLLAPSED``); white space at either end is :func:`normalise_text`'s. One search of
    each column finds both; only a column with a hit is searched again."""
    text = [c for c in df.columns if c != "SRCROW" and df.schema[c] == pl.Utf8]
    either = f"{INVISIBLE}|{INNER_SPACE}"
    for c in _first_hits(df, {c: pl.col(c).str.contains(either) for c in text}):
        cleaned = pl.col(c).str.replace_all(INVISIBLE, "")
        stripped = cleaned.str.strip_chars()
        inner = stripped.str.contains(INNER_SPACE)
        hits = _first_hits(df, {"invisible": pl.col(c).str.contains(INVISIBLE), "inner": inner})
        for key, (n, pos) in hits.items():
            severity, rule, what = TEXT_RULES[key]
            at = _at(df, pos, c)
            findings.tally(
                severity,
                domain,
                file,
                rule,
                lambda n, _, what=what: f"{n} value(s) {what} (first at this row)",
                n=n,
                **(at | {"value": _escaped(at["value"])}),
            )
        # the inner runs made one space; white space at the ends left for normalise_text's finding
        ends = [cleaned.str.extract(r"^(\s*)", 1), cleaned.str.extract(r"(\s*)$", 1)]
        collapsed = pl.concat_str([ends[0], stripped.str.replace_all(r"\s+", " "), ends[1]])
        df = df.with_columns(pl.when(inner).then(collapsed).otherwise(cleaned).alias(c))
    return df


def normalise_text(df: pl.DataFrame, domain: str, file: str, findings: Findings) -> pl.DataFrame:
    """Remove characters that do not print and collapse inner white space (:func:`clean_text`),
    trim spaces and read missing tokens ("NA", ".", ...) as missing; one finding per column and
    rule.

    One pass per text column (trimmed once): the normalised column and the boolean masks of its
    rows with spaces and with missing tokens."""
    df = clean_text(df, domain, file, findings)
    tokens = _case_variants(MISSING_TOKENS)
    text = [c for c in df.columns if c != "SRCROW" and df.schema[c] == pl.Utf8]
    trimmed = pl.col("__t")
    done: dict[str, pl.Series] = {}
    for c in text:
        res = (
            df.lazy()
            .select(c, pl.col(c).str.strip_chars().alias("__t"))
            .select(
                pl.when(trimmed.is_in(tokens) | (trimmed == ""))
                .then(None)
                .otherwise(trimmed)
                .alias(c),
                (pl.col(c).is_not_null() & (pl.col(c) != trimmed) & (trimmed != ""))
                .fill_null(False)
                .alias("sp"),
                (trimmed.is_in(tokens) | ((pl.col(c) != "") & (trimmed == "")))
                .fill_null(False)
                .alias("tok"),
            )
            .collect()
        )
        done[c] = res[c]
        if not df.height:
            continue
        n_sp, p_sp, n_tok, p_tok = res.select(
            pl.col("sp").sum(),
            pl.col("sp").arg_max().alias("p_sp"),
            pl.col("tok").sum(),
            pl.col("tok").arg_max().alias("p_tok"),
        ).row(0)
        if n_sp:
            findings.tally(
                "INFO",
                domain,
                file,
                "SPACES_TRIMMED",
                lambda n, _: (
                    f"{n} value(s) had leading/trailing spaces; trimmed (first at this row)"
                ),
                n=n_sp,
                **_at(df, p_sp, c),
            )
        if n_tok:
            values = df.filter(res["tok"])[c].unique().to_list()
            findings.tally(
                "INFO",
                domain,
                file,
                "MISSING_TOKEN",
                lambda n, v: f"{n} value(s) {list(v)} read as missing (first at this row)",
                n=n_tok,
                extra=tuple(sorted(set(values))),
                merge=merged,
                **_at(df, p_tok, c),
            )
    return df.with_columns(done.values())


def upper_case_terms(
    df: pl.DataFrame, cols: list[str], domain: str, file: str, findings: Findings
) -> pl.DataFrame:
    cols = [c for c in cols if c in df.columns]
    masks = {c: pl.col(c).is_not_null() & (pl.col(c) != pl.col(c).str.to_uppercase()) for c in cols}
    hits = _first_hits(df, masks)
    for c in cols:
        if c in hits:
            n, pos = hits[c]
            findings.tally(
                "INFO",
                domain,
                file,
                "TERM_CASE",
                lambda n, _: (
                    f"{n} controlled-term value(s) not in upper case; upper-cased "
                    "(first at this row)"
                ),
                n=n,
                **_at(df, pos, c),
            )
    for c in cols:
        if c in hits:
            df = df.with_columns(pl.col(c).str.to_uppercase())
    return df


def domain_terms(spec: DomainSpec, cfg: Study) -> dict[str, tuple[str, ...]]:
    """Controlled terms checked row by row (ARM/ACTARM are checked by :func:`check_arms`)."""
    return dict(spec.terms)


def validate_domain(
    df: pl.DataFrame, spec: DomainSpec, file: str, cfg: Study, findings: Findings
) -> pl.DataFrame:
    """Row-level contract checks of one domain. Returns the frame with unusable values set missing."""
    from hepatrial.errors import DataContractError

    missing_req = [c for c in spec.required if c not in df.columns]
    if spec.name == "LB" and not (
        {"LBORRES", "LBORRESU"} <= set(df.columns) or {"LBSTRESN", "LBSTRESU"} <= set(df.columns)
    ):
        missing_req.append("LBORRES/LBORRESU (or LBSTRESN/LBSTRESU)")
    if spec.name == "QS" and not ({"QSORRES", "QSSTRESN"} & set(df.columns)):
        missing_req.append("QSSTRESN (or QSORRES)")
    why = ""
    # DM: the strata, and the etiology the CTP score and the Kamath MELD are computed from
    if spec.name == "DM":
        missing_req += [c for c in cfg.strata if c not in df.columns]
        if cfg.etiology.column not in df.columns and not missing_req:
            missing_req.append(cfg.etiology.column)
            why = " (the study config's etiology.column: the CTP score and the Kamath MELD need it)"
    if spec.name == "ADSL":  # a cut of ADaM datasets: the strata and the populations' flags
        missing_req += [
            c
            for c in dict.fromkeys([*cfg.strata, *cfg.populations.values()])
            if c not in df.columns
        ]
    if missing_req:
        raise DataContractError(
            f"required column {missing_req[0]} is missing{why}",
            file=file,
            column=missing_req[0].split(" ")[0].split("/")[0],
        )
    # the config's, carried to ADSL
    extra = cfg.baseline_columns if spec.name in ("DM", "ADSL") else ()
    for c in dict.fromkeys([*spec.expected, *extra]):
        if c not in df.columns:
            findings.tally(
                "WARNING",
                spec.name,
                file,
                "COLUMN_ABSENT",
                "expected column absent; read as all missing",
                column=c,
            )
            df = df.with_columns(pl.lit(None, pl.Utf8).alias(c))
    df = normalise_text(df, spec.name, file, findings)
    terms = domain_terms(spec, cfg)
    df = upper_case_terms(df, list(terms), spec.name, file, findings)
    if spec.name in DOMAINS:  # SDTM, as sent (a value set missing below has its own finding)
        check_required_values(df, spec, file, cfg, findings)
    if "AGEU" in df.columns and "AGE" in df.columns:  # before the AGE range check, in years
        df = age_in_years(df, spec.name, file, findings)
    if spec.name in ("DM", "ADSL"):
        df = check_declared_levels(df, spec.name, file, cfg, findings)
    fails = run_schema(df, build_schema(spec, df.columns, terms))
    if fails.height:
        fails = fails.join(
            df.with_row_index("pos").select(
                pl.col("pos").cast(pl.Int64),
                "SRCROW",
                *(["USUBJID"] if "USUBJID" in df.columns else []),
            ),
            on="pos",
            how="left",
        )
        for (rule, column), grp in fails.group_by(["rule", "column"], maintain_order=True):
            sev, _action, msg = RULES[rule]
            if rule == "OUT_OF_RANGE":
                lo, hi = spec.ranges[column]
                msg = f"value outside the contract's range [{lo:g}, {hi:g}]; treated as missing"
            vals = df.select("SRCROW", column).join(grp.select("SRCROW"), on="SRCROW", how="semi")
            rows = grp.join(vals, on="SRCROW", how="left")
            findings.add_rows(rows, sev, spec.name, file, rule, msg, column=column)
            if sev == "ERROR":
                bad = grp["SRCROW"].implode()
                df = df.with_columns(
                    pl.when(pl.col("SRCROW").is_in(bad))
                    .then(None)
                    .otherwise(pl.col(column))
                    .alias(column)
                )
    if spec.name == "AE" and "AEREL" in df.columns:
        check_relatedness(df, file, findings)
    if spec.name == "AE" and "AEBODSYS" in df.columns:
        check_coding(df, file, findings)
    if spec.name == "AE" and "AEOUT" in df.columns:
        check_outcome(df, file, findings)
    if spec.name == "DS" and "DSDECOD" in df.columns:
        check_disposition_terms(df, file, findings)
    check_offsets(df, spec, file, findings)
    check_text(df, spec.name, file, findings)
    return df


def check_declared_levels(
    df: pl.DataFrame, domain: str, file: str, cfg: Study, findings: Findings
) -> pl.DataFrame:
    """The DM/ADSL columns whose values the study config lists: the strata with
    ``stratum_levels`` (an unknown value: the subject leaves the stratified analyses, whose
    methods count it) and the etiology when ``etiology.other`` is given (its levels: the
    cholestatic, Kamath-zero and other lists; an unknown value: no CTP score or Kamath MELD, rather
    than a wrong etiology term). Each through :func:`closed_levels`."""
    for col, levels in cfg.stratum_levels.items():
        df = closed_levels(df, col, levels, "STRATUM", "stratum", domain, file, findings)
    if cfg.etiology.levels:
        e = cfg.etiology
        df = closed_levels(df, e.column, e.levels, "ETIOLOGY", "etiology", domain, file, findings)
    return df


def closed_levels(
    df: pl.DataFrame,
    col: str,
    levels: tuple[str, ...],
    rule: str,
    noun: str,
    domain: str,
    file: str,
    findings: Findings,
) -> pl.DataFrame:
    """``col`` held to ``levels``: a value that is a level but for case and inner spaces takes the
    level's spelling (WARNING ``<rule>_RECODED``, one per value); any other value is set missing
    (ERROR ``<rule>_UNKNOWN``, one per value). An absent column is left to the other checks; the
    values are trimmed text here (:func:`normalise_text`), missing when blank."""
    if col not in df.columns:
        return df
    text = pl.col(col).cast(pl.Utf8)
    key = text.str.replace_all(r"\s+", " ").str.to_uppercase()  # level_key, as an expression
    level = key.replace_strict(
        {level_key(v): v for v in levels}, default=None, return_dtype=pl.Utf8
    )
    sent = text.is_not_null()
    marks = df.select(
        (sent & level.is_null()).alias("unknown"),
        (sent & level.is_not_null() & (level != text)).alias("recoded"),
    )
    for what, sev, words in (
        ("recoded", "WARNING", "spelled as the declared level {}"),
        ("unknown", "ERROR", "not a declared level ({}); set missing"),
    ):
        hit = df.filter(marks[what])
        for (value,), grp in hit.group_by(col, maintain_order=True):
            detail = grp.select(level.first()).item() if what == "recoded" else ", ".join(levels)
            findings.tally(
                sev,
                domain,
                file,
                f"{rule}_{what.upper()}",
                lambda n, d, t=words: f"{n} {noun} value(s) {t.format(d)} (first at this row)",
                n=grp.height,
                key=(value,),
                extra=detail,
                **_at(grp, 0, col),
            )
    return df.with_columns(
        pl.when(marks["unknown"])
        .then(pl.lit(None, pl.Utf8))
        .when(marks["recoded"])
        .then(level)
        .otherwise(text)
        .alias(col)
    )


# AGEU (upper case) -> days in one unit; AGE is analysed in years (completed years, floored)
AGE_UNIT_DAYS = {
    "YEARS": None,
    "YEAR": None,
    "MONTHS": 365.25 / 12,
    "MONTH": 365.25 / 12,
    "WEEKS": 7.0,
    "WEEK": 7.0,
    "DAYS": 1.0,
    "DAY": 1.0,
}


def age_in_years(df: pl.DataFrame, domain: str, file: str, findings: Findings) -> pl.DataFrame:
    """AGE in years whatever AGEU says: in months, weeks or days it is converted to completed years
    (WARNING ``AGE_CONVERTED``, one per unit; months exactly, weeks and days by 365.25-day years);
    an AGEU that is no age unit makes AGE missing (ERROR ``AGEU_UNKNOWN``, one per value). An empty
    AGEU is taken as years. AGEU is then YEARS where AGE has a value."""
    unit = pl.col("AGEU").cast(pl.Utf8).str.strip_chars().str.to_uppercase().fill_null("")
    days = unit.replace_strict(
        {k: v for k, v in AGE_UNIT_DAYS.items() if v is not None},
        default=None,
        return_dtype=pl.Float64,
    )
    convert = days.is_not_null()
    unknown = (unit != "") & ~unit.is_in(list(AGE_UNIT_DAYS))
    flags = df.select(convert.alias("c"), unknown.alias("u"), unit.alias("unit"))
    if not (flags["c"].any() or flags["u"].any()):
        return df
    for bad, rule, sev, text in (
        ("c", "AGE_CONVERTED", "WARNING", "{n} age(s) in {u} (AGEU) converted to completed years"),
        (
            "u",
            "AGEU_UNKNOWN",
            "ERROR",
            "{n} age unit(s) (AGEU) not an age unit; AGE treated as missing",
        ),
    ):
        hit = df.with_columns(flags["unit"].alias("_unit")).filter(flags[bad])
        for (u,), grp in hit.group_by("_unit", maintain_order=True):
            findings.tally(
                sev,
                domain,
                file,
                rule,
                lambda n, _, u=u, t=text: t.format(n=n, u=u.lower()),
                n=grp.height,
                key=(u,),
                **_at(grp, 0, "AGEU"),
            )
    age = pl.col("AGE").cast(pl.Utf8).str.strip_chars().cast(pl.Float64, strict=False)
    years = (age * days / 365.25).floor().cast(pl.Int64)
    years = years.cast(pl.Utf8) if df.schema["AGE"] == pl.Utf8 else years.cast(df.schema["AGE"])
    return df.with_columns(
        pl.when(unknown).then(None).when(convert).then(years).otherwise(pl.col("AGE")).alias("AGE"),
        pl.when(convert & age.is_not_null())
        .then(pl.lit("YEARS"))
        .otherwise(pl.col("AGEU"))
        .alias("AGEU"),
    )


def check_coding(df: pl.DataFrame, file: str, findings: Findings) -> None:
    """WARNING ``AE_UNCODED``, one for the AEs without a system organ class (AEBODSYS missing:
    not yet coded; text is trimmed here, a blank one missing)."""
    uncoded = df.filter(pl.col("AEBODSYS").is_null())
    if uncoded.height:
        findings.tally(
            "WARNING",
            "AE",
            file,
            "AE_UNCODED",
            lambda n, _: (
                f"{n} AE(s) without a system organ class (AEBODSYS, not yet coded): shown "
                "under 'Uncoded'; AEs of special interest defined by a system organ class "
                "cannot count them (first at this row)"
            ),
            n=uncoded.height,
            **_at(uncoded, 0, "AEBODSYS"),
        )


def _tally_unknown(
    odd: pl.DataFrame,
    value: pl.Expr,
    domain: str,
    file: str,
    rule: str,
    column: str,
    what: str,
    findings: Findings,
) -> None:
    """One WARNING ``rule`` per distinct ``value`` of the rows ``odd`` (values outside a list):
    "<n> <what> (first at this row)", at the first row of each value."""
    for key, grp in odd.group_by(value.alias("_v"), maintain_order=True):
        findings.tally(
            "WARNING",
            domain,
            file,
            rule,
            lambda n, _: f"{n} {what} (first at this row)",
            n=grp.height,
            key=(key[0],),
            **_at(grp, 0, column),
        )


def check_outcome(df: pl.DataFrame, file: str, findings: Findings) -> None:
    """WARNING ``AEOUT_UNKNOWN``, one per AEOUT value outside the CDISC Outcome of Event codelist
    (C66768; case aside): only ``FATAL`` (or grade 5) makes an AE fatal, so an outcome written
    "DIED" or "FATL" would silently not count as one."""
    known = list(CODELISTS["OUT"])
    out = pl.col("AEOUT").str.to_uppercase()
    _tally_unknown(
        df.filter(pl.col("AEOUT").is_not_null() & ~out.is_in(known)),
        out,
        "AE",
        file,
        "AEOUT_UNKNOWN",
        "AEOUT",
        f"AE(s) with an outcome (AEOUT) outside the CDISC codelist ({', '.join(known)}): not "
        "read as fatal, which takes FATAL or grade 5",
        findings,
    )


def check_disposition_terms(df: pl.DataFrame, file: str, findings: Findings) -> None:
    """WARNING ``DSDECOD_UNKNOWN``, one per DSDECOD value of a disposition event (DSCAT
    ``DISPOSITION EVENT`` or empty, as ADSL reads them) outside the CDISC Completion/Reason for
    Non-Completion codelist (C66727) and the protocol milestones ADSL knows (case aside): ADSL
    counts the subject as discontinued for that reason, and a death written "DIED" is not read as
    a death from DS."""
    known = [*CODELISTS["NCOMPLT"], *PROTOCOL_MILESTONES]
    dec = pl.col("DSDECOD").str.to_uppercase()
    event = (
        pl.col("DSCAT").fill_null("DISPOSITION EVENT").str.to_uppercase() == "DISPOSITION EVENT"
        if "DSCAT" in df.columns
        else pl.lit(True)
    )
    _tally_unknown(
        df.filter(pl.col("DSDECOD").is_not_null() & event & ~dec.is_in(known)),
        dec,
        "DS",
        file,
        "DSDECOD_UNKNOWN",
        "DSDECOD",
        "disposition event(s) with a DSDECOD outside the CDISC codelist of completion and "
        "reasons for non-completion: read as a discontinuation for that reason, and not as a "
        "death or completion",
        findings,
    )


def check_relatedness(df: pl.DataFrame, file: str, findings: Findings) -> None:
    """WARNING ``AEREL_UNKNOWN``, one per AEREL value in neither ``RELATED_TERMS`` nor
    ``NOT_RELATED_TERMS`` (case and spaces aside): ADAE counts such an AE as related. WARNING
    ``AEREL_MISSING``, one for the AEs without a relatedness when other AEs of the file have one:
    ADAE counts them as related too (no AE with one: relatedness is not collected, no finding)."""
    rel = pl.col("AEREL").str.to_uppercase().str.strip_chars()
    empty = df.filter(pl.col("AEREL").is_null())  # (trimmed text here: a blank one is missing)
    findings.tally(
        "WARNING",
        "AE",
        file,
        "AEREL_MISSING",
        lambda n, _: (
            f"{n} AE(s) with no relatedness (AEREL) where the other AEs have one: counted as "
            "related, the conservative reading (first at this row)"
        ),
        n=empty.height,
        **(_at(empty, 0, "AEREL") if empty.height else {"column": "AEREL"}),
        extra=(empty.height, df.height - empty.height),
        merge=lambda a, b: (a[0] + b[0], a[1] + b[1]),
        keep=lambda e: e[0] > 0 and e[1] > 0,
    )
    _tally_unknown(
        df.filter(pl.col("AEREL").is_not_null() & ~rel.is_in([*RELATED_TERMS, *NOT_RELATED_TERMS])),
        rel,
        "AE",
        file,
        "AEREL_UNKNOWN",
        "AEREL",
        "AE(s) with a relatedness (AEREL) that is neither a related nor a not-related term (data "
        "contract): counted as related, the conservative reading",
        findings,
    )


def required_value_columns(spec: DomainSpec, cfg: Study) -> dict[str, str]:
    """The columns whose every row needs a value, each with what its absence means (the
    ``VALUE_MISSING`` message). Not here: USUBJID (``USUBJID_MISSING``, fatal), the record's date
    (``DATE_MISSING``), DM RFSTDTC (empty when never dosed) and ACTARM (:func:`check_arms`)."""
    own = {"USUBJID", spec.main_date, "RFSTDTC", "ACTARM"}
    cols = {c: VALUE_MISSING_TEXT for c in spec.required if c not in own}
    if spec.name == "DM":
        cols["ARM"] = "ARM is missing: the subject is in no arm (not in the ITT population)"
        cols[cfg.etiology.column] = (
            "the etiology is missing: the subject's CTP score and Kamath MELD are not computed"
        )
        for c in cfg.strata:
            cols[c] = (
                "a stratification factor is missing: the subject is left out of the stratified "
                "analyses (MMRM, estimands, stratified log-rank, Cox and CMH), each says how many"
            )
    return cols


VALUE_MISSING_TEXT = "a required value is missing; row kept, the analyses needing it leave it out"


def check_required_values(
    df: pl.DataFrame, spec: DomainSpec, file: str, cfg: Study, findings: Findings
) -> None:
    """ERROR ``VALUE_MISSING`` for each row without a value in a column that needs one
    (:func:`required_value_columns`). A row marked not done (--STAT ``NOT DONE``) needs no result,
    a DM subject outside the arms (SDTMIG 3.3 ARMNRS given) no ARM, and a subject not in one of
    the study's arms (a screen failure) nothing else of DM."""
    stat = f"{spec.name}STAT"
    done = (
        pl.col(stat).str.to_uppercase().ne_missing("NOT DONE")
        if stat in df.columns
        else pl.lit(True)
    )
    for col, text in required_value_columns(spec, cfg).items():
        if col not in df.columns:
            continue
        need = done
        if col == "ARM" and "ARMNRS" in df.columns:
            need = need & pl.col("ARMNRS").is_null()
        elif spec.name == "DM" and col != "ARM":
            need = need & pl.col("ARM").str.to_uppercase().is_in([a.upper() for a in cfg.dm_arms])
        findings.add_rows(
            df.filter(pl.col(col).is_null() & need),
            "ERROR",
            spec.name,
            file,
            "VALUE_MISSING",
            text,
            column=col,
        )


def check_offsets(df: pl.DataFrame, spec: DomainSpec, file: str, findings: Findings) -> None:
    """An INFO finding per date column holding times with a UTC offset: kept as written, and the
    date as written (the record's local date) is the one used."""
    masks = {d: pl.col(d).str.contains(ISO_OFFSET) for d in spec.dates if d in df.columns}
    for col, (n, pos) in _first_hits(df, masks).items():
        findings.tally(
            "INFO",
            spec.name,
            file,
            "DATE_TZ_OFFSET",
            lambda n, _: (
                f"{n} value(s) carry a UTC offset; kept as written, the date as written "
                "(local) is used (first at this row)"
            ),
            n=n,
            **_at(df, pos, col),
        )


XPT_MAX_BYTES = 200  # SAS transport v5: a character variable holds at most 200 bytes


def check_text(df: pl.DataFrame, domain: str, file: str, findings: Findings) -> None:
    """Text the outputs cannot carry in full, one WARNING finding per column (first row, count):

    - ``TEXT_TRUNCATED_XPT``: longer than 200 bytes (UTF-8); the SAS transport (XPT v5) copies of
      the ADaM datasets hold its first 200 bytes (Parquet, the ARD and the CSV listings keep it
      whole; the RTF/HTML/PDF listings show the start with a marker);
    - ``GLYPH_MISSING``: characters that no bundled font can draw (printed blank in the PDF reports
      and figures)."""
    from hepatrial.fonts import describe, missing_glyphs

    text = [c for c, t in df.schema.items() if t == pl.Utf8]
    if not text or df.height == 0:
        return
    masks = {c: pl.col(c).str.len_bytes() > XPT_MAX_BYTES for c in text}
    for col, (n, pos) in _first_hits(df, masks).items():
        findings.tally(
            "WARNING",
            domain,
            file,
            "TEXT_TRUNCATED_XPT",
            lambda n, longest: (
                f"{n} value(s) longer than {XPT_MAX_BYTES} bytes (longest "
                f"{longest}); the SAS transport (XPT v5) copies hold the first {XPT_MAX_BYTES} "
                "bytes (first at this row)"
            ),
            n=n,
            extra=df[col].str.len_bytes().max(),
            merge=max,
            **_at(df, pos, col, 80),
        )
    for col in text:
        # only non-ASCII values can hold a character the fonts lack; each distinct value once
        odd = df.filter(pl.col(col).str.len_bytes() != pl.col(col).str.len_chars())
        if odd.height == 0:
            continue
        chars = missing_glyphs(odd[col].unique().to_list())
        if not chars:
            continue
        has = pl.any_horizontal([pl.col(col).str.contains(ch, literal=True) for ch in chars[:20]])
        first = odd.filter(has).row(0, named=True)
        findings.tally(
            "WARNING",
            domain,
            file,
            "GLYPH_MISSING",
            lambda _, chars: (
                f"{len(chars)} character(s) no bundled font can draw (printed "
                f"blank in the PDF reports and figures): {describe(list(chars))} (first at this row)"
            ),
            extra=tuple(chars),
            merge=merged,  # one character each: sorted by code point
            row=int(first["SRCROW"]),
            column=col,
            value=first[col][:80],
            usubjid=first.get("USUBJID"),
        )


def check_arms(dm: pl.DataFrame, cfg: Study, file: str, findings: Findings) -> pl.DataFrame:
    """ARM/ACTARM must be a configured arm or an SDTM non-arm value (case-insensitive): a FATAL
    finding per row otherwise (the run stops after reading every domain).

    Values are rewritten to the config's spelling of the arm (an INFO finding when the case differed).
    """
    canon = {a.arm.upper(): a.arm for a in cfg.arms}
    canon.update({v: v.title() for v in NON_ARM_VALUES if v not in canon})
    for col in ("ARM", "ACTARM"):
        up = pl.col(col).str.to_uppercase()
        findings.add_rows(
            dm.filter(pl.col(col).is_not_null() & ~up.is_in(sorted(canon))),
            "FATAL",
            "DM",
            file,
            "UNKNOWN_ARM",
            f"unknown arm: not one of the study config's arms {cfg.dm_arms} nor an SDTM "
            f"non-arm value {list(NON_ARM_VALUES)}",
            column=col,
        )
        fixed = up.replace_strict(canon, default=None)
        changed = dm.filter(pl.col(col).is_not_null() & (pl.col(col) != fixed))
        if changed.height:
            findings.add(
                "INFO",
                "DM",
                file,
                "ARM_CASE",
                f"{changed.height} {col} value(s) differ from the study config only in case or spacing; "
                "rewritten to the config's spelling (first at this row)",
                row=int(changed["SRCROW"][0]),
                column=col,
                value=changed[col][0],
                usubjid=changed["USUBJID"][0],
            )
        dm = dm.with_columns(fixed.alias(col))
    # ACTARM not given for a subject with an arm (and no ARMNRS): treated as randomised
    outside = pl.col("ARMNRS").is_not_null() if "ARMNRS" in dm.columns else pl.lit(False)
    dm = take_planned_arm(dm, "ACTARM", "ARM", "DM", file, findings, ~outside)
    # treated as another arm of the study than the one assigned: counted under each where it applies
    arms = cfg.dm_arms
    swapped = dm.filter(
        pl.col("ARM").is_in(arms)
        & pl.col("ACTARM").is_in(arms)
        & (pl.col("ARM") != pl.col("ACTARM"))
    )
    findings.add_rows(
        swapped,
        "WARNING",
        "DM",
        file,
        "ACTARM_NOT_ARM",
        "treated as another arm of the study (ACTARM) than the one assigned (ARM): efficacy "
        "counts the subject under ARM, safety (SAFETY population) under ACTARM",
        column="ACTARM",
    )
    return dm


def take_planned_arm(
    df: pl.DataFrame,
    actual: str,
    planned: str,
    domain: str,
    file: str,
    findings: Findings,
    where: pl.Expr | None = None,
) -> pl.DataFrame:
    """The actual arm (DM ACTARM, ADSL TRT01A) missing for a subject with a planned one (``where``
    besides): taken to be the planned arm, a WARNING ``ACTARM_MISSING`` per row (before, such a
    subject was in the safety population and in none of its arms)."""
    blank = pl.col(actual).is_null() & pl.col(planned).is_not_null()
    if where is not None:
        blank = blank & where
    findings.add_rows(
        df.filter(blank),
        "WARNING",
        domain,
        file,
        "ACTARM_MISSING",
        f"{actual} is missing: the actual arm is taken to be {planned} (safety counts the "
        "subject under the arm it was assigned)",
        column=actual,
    )
    return df.with_columns(
        pl.when(blank).then(pl.col(planned)).otherwise(pl.col(actual)).alias(actual)
    )


def check_rs_values(rs: pl.DataFrame, file: str, findings: Findings) -> pl.DataFrame:
    rs = rs.with_columns(
        pl.col("RSTESTCD").str.to_uppercase(), pl.col("RSORRES").str.to_uppercase()
    )
    conds = [
        (pl.col("RSTESTCD") == t)
        & pl.col("RSORRES").is_not_null()
        & ~pl.col("RSORRES").is_in(list(v))
        for t, v in RS_TERMS.items()
    ]
    bad_expr = pl.any_horizontal(conds)
    bad = rs.filter(bad_expr)
    findings.add_rows(
        bad,
        "ERROR",
        "RS",
        file,
        "RS_RESULT_INVALID",
        "result not allowed for this RSTESTCD; treated as missing",
        column="RSORRES",
    )
    return rs.with_columns(
        pl.when(bad_expr).then(None).otherwise(pl.col("RSORRES")).alias("RSORRES")
    )


def check_qs_values(qs: pl.DataFrame, file: str, findings: Findings) -> pl.DataFrame:
    """QSSTRESN from QSSTRESN or QSORRES; out-of-range item responses are set missing."""
    qs = qs.with_columns(pl.col("QSCAT").str.to_uppercase(), pl.col("QSTESTCD").str.to_uppercase())
    num = pl.coalesce(
        pl.col("QSSTRESN").cast(pl.Float64, strict=False),
        pl.col("QSORRES").cast(pl.Float64, strict=False),
    )
    qs = qs.with_columns(num.alias("QSSTRESN_NUM"))
    rng = pl.DataFrame(
        [
            {"QSCAT": cat, "QSTESTCD": item, "_lo": float(lo), "_hi": float(hi)}
            for cat, items in QS_ITEMS.items()
            for item, (lo, hi) in items.items()
        ]
    )
    qs = qs.join(rng, on=["QSCAT", "QSTESTCD"], how="left")
    out = (
        pl.col("_lo").is_not_null()
        & pl.col("QSSTRESN_NUM").is_not_null()
        & (
            ~pl.col("QSSTRESN_NUM").is_between(pl.col("_lo"), pl.col("_hi"))
            | (
                (pl.col("QSSTRESN_NUM") != pl.col("QSSTRESN_NUM").round(0))
                & (pl.col("QSTESTCD") != "EQ5D0106")
            )
        )
    )
    findings.add_rows(
        qs.filter(out).with_columns(pl.col("QSSTRESN_NUM").cast(pl.Utf8).alias("QSSTRESN")),
        "ERROR",
        "QS",
        file,
        "QS_OUT_OF_RANGE",
        "item response outside the instrument's codes; treated as missing",
        column="QSSTRESN",
    )
    other = qs.filter(pl.col("QSCAT").is_not_null() & ~pl.col("QSCAT").is_in(list(QS_ITEMS)))
    for (cat,), grp in other.group_by("QSCAT", maintain_order=True):
        findings.tally(
            "WARNING",
            "QS",
            file,
            "QSCAT_UNKNOWN",
            lambda n, _: (
                f"{n} record(s) of a questionnaire (QSCAT) the pipeline does not score ("
                + ", ".join(QS_ITEMS)
                + "): carried as items, no score derived (first at this row)"
            ),
            n=grp.height,
            key=(cat,),
            **_at(grp, 0, "QSCAT"),
        )
    unknown = qs.filter(pl.col("QSCAT").is_in(list(QS_ITEMS)) & pl.col("_lo").is_null())
    findings.add_rows(
        unknown,
        "WARNING",
        "QS",
        file,
        "QS_ITEM_UNKNOWN",
        "item code not part of this questionnaire; carried, not scored",
        column="QSTESTCD",
    )
    return qs.with_columns(
        pl.when(out).then(None).otherwise(pl.col("QSSTRESN_NUM")).alias("QSSTRESN")
    ).drop("QSSTRESN_NUM", "_lo", "_hi")

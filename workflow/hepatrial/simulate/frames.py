"""Helpers shared by the domain builders: dates as text, record expansion, the final cut."""

from __future__ import annotations

import numpy as np
import polars as pl

# Output columns per domain, in order (docs/data_contract.md plus SDTM identifiers).
COLUMNS: dict[str, list[str]] = {
    "DM": [
        "STUDYID",
        "DOMAIN",
        "USUBJID",
        "SUBJID",
        "SITEID",
        "ARM",
        "ARMCD",
        "ACTARM",
        "ACTARMCD",
        "RFSTDTC",
        "RFENDTC",
        "RFICDTC",
        "DTHDTC",
        "DTHFL",
        "AGE",
        "AGEU",
        "SEX",
        "RACE",
        "COUNTRY",
        "ETIOLOGY",
        "CTPSTRAT",
    ],
    "DS": ["STUDYID", "DOMAIN", "USUBJID", "DSSEQ", "DSTERM", "DSDECOD", "DSCAT", "DSSTDTC"],
    "SV": ["STUDYID", "DOMAIN", "USUBJID", "VISITNUM", "VISIT", "SVSTDTC"],
    "EX": [
        "STUDYID",
        "DOMAIN",
        "USUBJID",
        "EXSEQ",
        "EXTRT",
        "EXDOSE",
        "EXDOSU",
        "EXSTDTC",
        "VISITNUM",
        "VISIT",
    ],
    "LB": [
        "STUDYID",
        "DOMAIN",
        "USUBJID",
        "LBSEQ",
        "LBTESTCD",
        "LBTEST",
        "LBORRES",
        "LBORRESU",
        "LBORNRLO",
        "LBORNRHI",
        "LBSTAT",
        "LBDTC",
        "VISITNUM",
        "VISIT",
    ],
    "RS": [
        "STUDYID",
        "DOMAIN",
        "USUBJID",
        "RSSEQ",
        "RSTESTCD",
        "RSTEST",
        "RSORRES",
        "RSDTC",
        "VISITNUM",
        "VISIT",
    ],
    "QS": [
        "STUDYID",
        "DOMAIN",
        "USUBJID",
        "QSSEQ",
        "QSCAT",
        "QSTESTCD",
        "QSTEST",
        "QSORRES",
        "QSSTRESN",
        "QSSTAT",
        "QSDTC",
        "VISITNUM",
        "VISIT",
    ],
    "AE": [
        "STUDYID",
        "DOMAIN",
        "USUBJID",
        "AESEQ",
        "AETERM",
        "AEDECOD",
        "AEBODSYS",
        "AESTDTC",
        "AEENDTC",
        "AESER",
        "AETOXGR",
        "AEREL",
        "AEOUT",
    ],
    "CE": ["STUDYID", "DOMAIN", "USUBJID", "CESEQ", "CETERM", "CEDECOD", "CECAT", "CESTDTC"],
    "PR": ["STUDYID", "DOMAIN", "USUBJID", "PRSEQ", "PRTRT", "PRDECOD", "PRSTDTC"],
}
# The date and the test code that order the records within a subject.
SORT_KEYS: dict[str, tuple[str, str | None]] = {
    "DM": ("RFICDTC", None),
    "DS": ("DSSTDTC", "DSDECOD"),
    "SV": ("SVSTDTC", "VISIT"),
    "EX": ("EXSTDTC", "EXTRT"),
    "LB": ("LBDTC", "LBTESTCD"),
    "RS": ("RSDTC", "RSTESTCD"),
    "QS": ("QSDTC", "QSTESTCD"),
    "AE": ("AESTDTC", "AEDECOD"),
    "CE": ("CESTDTC", "CEDECOD"),
    "PR": ("PRSTDTC", "PRDECOD"),
}
SEQ = {
    "DS": "DSSEQ",
    "EX": "EXSEQ",
    "LB": "LBSEQ",
    "RS": "RSSEQ",
    "QS": "QSSEQ",
    "AE": "AESEQ",
    "CE": "CESEQ",
    "PR": "PRSEQ",
}

FULL, MONTH, YEAR = 0, 1, 2


def date_text(days, precision=None, missing=None, clock=None) -> pl.Series:
    """ISO dates from days since 1970-01-01.

    ``precision`` 1 -> YYYY-MM, 2 -> YYYY; ``missing`` (or a non-finite day) -> null; ``clock``
    (minutes after midnight, negative = none) adds a time "THH:MM". Built from a vocabulary of
    the distinct (day, precision, time) texts, so millions of rows cost one gather.
    """
    days = np.asarray(days)
    ok = np.isfinite(days) if days.dtype.kind == "f" else np.ones(days.shape, bool)
    if missing is not None:
        ok &= ~np.asarray(missing)
    d = np.where(ok, days, 0).astype(np.int64)
    if not ok.any():
        return pl.repeat(None, d.size, dtype=pl.String, eager=True)
    lo, hi = int(d[ok].min()), int(d[ok].max())
    span = hi - lo + 1
    base = pl.Series(np.arange(lo, hi + 1, dtype=np.int32)).cast(pl.Date).cast(pl.String)
    prec = np.zeros(d.size, np.int64) if precision is None else np.asarray(precision, np.int64)
    vocab = [base, base.str.slice(0, 7), base.str.slice(0, 4)]
    idx = (d - lo) + span * prec
    if clock is not None:
        clock = np.asarray(clock, np.int64)
        has = clock >= 0
        present = np.bincount(clock[has], minlength=1) > 0
        uc = np.flatnonzero(present)
        ci = (np.cumsum(present) - 1)[clock[has]]
        times = [f"T{m // 60:02d}:{m % 60:02d}" for m in uc]
        vocab += [base + t for t in times]
        idx[clock >= 0] = (d[clock >= 0] - lo) + span * (3 + ci)
    vocab = pl.concat(vocab + [pl.Series([None], dtype=pl.String)])
    idx = np.where(ok, idx, vocab.len() - 1)
    return vocab.gather(pl.Series(idx))


def _strs(a) -> pl.Series:
    """Text column from a (small) array that may hold None (-> null)."""
    return pl.Series(np.asarray(a, dtype=object).tolist(), dtype=pl.String)


def pick(vocab, idx) -> pl.Series:
    """``vocab[idx]`` as a text column, without building Python strings per row."""
    return pl.Series(list(vocab), dtype=pl.String).gather(
        pl.Series(np.asarray(idx, dtype=np.int64))
    )


def cells(mask: np.ndarray, order: np.ndarray | None = None):
    """Row and column indices of the True cells of an n x V mask, by subject (in ``order``, the
    USUBJID order when given) then visit."""
    if order is None:
        return np.nonzero(mask)
    i, j = np.nonzero(mask[order])
    return order[i], j


def number_text(
    val: np.ndarray,
    prec: np.ndarray,
    missing: np.ndarray | None = None,
    special: np.ndarray | None = None,
    special_text: str = "",
) -> pl.Series:
    """Non-negative numbers as result text with ``prec`` decimals, zeros kept ("1.50"; 0 -> "12").

    Formats each distinct (decimals, value) once and gathers; ``missing`` -> null, ``special`` ->
    ``special_text`` (e.g. "<20" below a limit of quantitation).
    """
    prec = np.asarray(prec, np.int64)
    scale = 10**prec
    iv = np.rint(np.asarray(val, float) * scale).astype(np.int64)
    key = iv * 8 + prec  # values are non-negative
    if special is not None:
        key = np.where(special, -2, key)
    if missing is not None:
        key = np.where(missing, -1, key)
    ks = pl.Series(key)
    uk_s = ks.unique().sort()
    inv = ks.replace_strict(
        uk_s, pl.int_range(uk_s.len(), eager=True), return_dtype=pl.Int64
    ).to_numpy()
    uk = uk_s.to_numpy()
    up, ui = uk % 8, uk // 8
    ok = uk >= 0
    ip = pl.Series(np.where(ok, ui // 10**up, 0)).cast(pl.String)
    fp = pl.Series(np.where(ok, ui % 10**up, 0)).cast(pl.String)
    txt = pl.DataFrame({"i": ip, "f": fp, "p": up, "ok": ok, "k": uk}).select(
        pl.when(pl.col("k") == -2)
        .then(pl.lit(special_text))
        .when(~pl.col("ok"))
        .then(None)
        .when(pl.col("p") == 0)
        .then(pl.col("i"))
        .otherwise(pl.concat_str([pl.col("i"), pl.lit("."), pl.col("f").str.zfill(pl.col("p"))]))
    )[:, 0]
    return txt.gather(pl.Series(inv.ravel()))


def _is_sorted(keys: list[np.ndarray]) -> bool:
    """Whether rows are in lexicographic order of keys (last key primary, as np.lexsort)."""
    if keys[0].size < 2:
        return True
    le = np.zeros(keys[0].size - 1, bool)  # strictly less on a more significant key
    eq = np.ones(keys[0].size - 1, bool)
    for k in reversed(keys):
        d = np.diff(k)
        le |= eq & (d > 0)
        eq &= d == 0
    return bool(np.all(le | eq))


def finalize(
    domain: str,
    df: pl.DataFrame,
    studyid: str,
    usubjid: pl.Series,
    subject_rank: np.ndarray,
    cut_day: int,
    late_days: int,
    late_subject: np.ndarray,
    in_cut: np.ndarray,
) -> pl.DataFrame:
    """Apply the cut, add identifiers, sort (USUBJID, date, code; stable) and number the records.

    ``df`` carries ``_subj`` (subject index) and ``_day`` (absolute day of the record's main date,
    null when undated) and, for LB and AE, ``_late`` (may be kept up to ``late_days`` after the
    cut).
    """
    subj = df["_subj"].to_numpy()
    day = df["_day"].to_numpy().astype(float)
    keep = in_cut[subj] & ~(day > cut_day)
    if "_late" in df.columns:
        late = (
            df["_late"].to_numpy()
            & late_subject[subj]
            & (day > cut_day)
            & (day <= cut_day + late_days)
        )
        keep |= in_cut[subj] & late
    if not keep.all():
        df = df.filter(pl.Series(keep))
    # USUBJID order is the subjects' rank; a partial date sorts by the full date behind it; the
    # sort is stable (np.lexsort), so equal keys keep the builder's order
    _, code_col = SORT_KEYS[domain]
    keys = [
        df["_day"].fill_null(np.iinfo(np.int64).max).to_numpy(),
        subject_rank[df["_subj"].to_numpy()],
    ]
    if "_code" in df.columns:  # builders may give the code's rank among the codes
        keys.insert(0, df["_code"].to_numpy())
    elif code_col:
        codes = df[code_col].fill_null("")
        uniq = codes.unique().sort()
        keys.insert(0, codes.replace_strict(uniq, pl.int_range(uniq.len(), eager=True)).to_numpy())
    if not _is_sorted(keys):
        df = df[np.lexsort(keys)]
    df = df.with_columns(
        pl.lit(studyid).alias("STUDYID"),
        pl.lit(domain).alias("DOMAIN"),
        usubjid.gather(df["_subj"]).alias("USUBJID"),
    )
    if domain in SEQ:
        subj = df["_subj"].to_numpy()
        first = np.r_[True, subj[1:] != subj[:-1]]
        start = (
            np.maximum.accumulate(np.where(first, np.arange(subj.size), 0)) if subj.size else subj
        )
        df = df.with_columns(
            pl.Series(SEQ[domain], np.arange(subj.size) - start + 1, dtype=pl.Int64)
        )
    df = df.select(COLUMNS[domain])
    # whole numbers are written as such (VISITNUM 2, not 2.0)
    for col in ("VISITNUM", "QSSTRESN", "EXDOSE"):
        if col in df.columns and df.schema[col].is_float():
            v = df[col].drop_nulls()
            if v.len() == 0 or bool((v == v.round(0)).all()):
                df = df.with_columns(pl.col(col).cast(pl.Int64))
    return df

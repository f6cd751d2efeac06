"""Locate and read the domain files of a data cut (CSV, Parquet or SAS XPT v5).

Every column is read as text, names are upper-cased and trimmed, the study config's
``column_map`` renames are applied, and ``SRCROW`` (1-based data row number in the source
file, header excluded) is added so every later row can be traced back to its source.
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import polars as pl

from hepatrial.contract import ADAM_DOMAINS, DOMAINS
from hepatrial.errors import DataContractError

DOMAIN_NAMES = frozenset(DOMAINS)

FORMATS = {".csv": "csv", ".parquet": "parquet", ".xpt": "xpt"}


def _odd_name(name: str) -> str | None:
    """Why a file or folder name cannot be handled, or None: not valid UTF-8 (a byte Python could
    not decode), or a control character (a line break in a name would break every listing)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid UTF-8"
    bad = [c for c in name if unicodedata.category(c) == "Cc"]
    if bad:
        return f"holds the control character U+{ord(bad[0]):04X}"
    return None


def check_path(path: str | Path, what: str) -> Path:
    """``path`` made absolute with ``..`` and links resolved. Snakemake reads ``{...}`` in a path as
    a wildcard and cannot take control characters: such a path is refused, naming ``what``."""
    raw = str(path)
    reason = _odd_name(raw) or (
        "holds '{' or '}', which Snakemake reads as a wildcard"
        if "{" in raw or "}" in raw
        else None
    )
    if reason:
        raise DataContractError(f"{what} {raw!r} {reason}; rename it")
    resolved = Path(os.path.realpath(raw))
    reason = _odd_name(str(resolved)) or (
        "holds '{' or '}', which Snakemake reads as a wildcard"
        if "{" in str(resolved) or "}" in str(resolved)
        else None
    )
    if reason:
        raise DataContractError(
            f"{what} {raw!r} resolves to {str(resolved)!r}, which {reason}; rename it"
        )
    return resolved


def cut_listing(cut_dir: str | Path) -> tuple[Path, list[Path], list[str]]:
    """Check a data cut folder before anything is planned: (the folder resolved, its domain files,
    the names of its other files).

    Domain files (``<domain>.csv|.parquet|.xpt`` of a contract domain) are what ingest reads and
    what Snakemake watches; the other files are passed on as names only, as data, never as file
    patterns (a name like ``notes{v2}.txt`` is fine). An absent or empty folder, or a file name
    that is not valid UTF-8 or holds a control character, is an error."""
    folder = check_path(cut_dir, "data cut folder")
    if not folder.is_dir():
        raise DataContractError(f"data cut folder {cut_dir} does not exist")
    if folder.name in ("", ".", ".."):
        raise DataContractError(
            f"data cut folder {cut_dir} resolves to {folder}, which has no "
            "name to file the results under"
        )
    files = sorted(p for p in folder.iterdir() if p.is_file())
    if not files:
        raise DataContractError(
            f"data cut folder {folder} holds no files: expected the domains "
            f"(dm.csv, ds.csv, ex.csv, lb.csv, ae.csv, ...)"
        )
    for p in files:
        reason = _odd_name(p.name)
        if reason:
            raise DataContractError(
                f"file name {p.name!r} in data cut folder {folder} {reason}; "
                "rename or remove the file",
                file=ascii(p.name),
            )
    # SDTM domains, or the datasets of a cut of ADaM datasets (hepatrial.adam.entry)
    names = DOMAIN_NAMES | frozenset(ADAM_DOMAINS)
    domains = [p for p in files if p.suffix.lower() in FORMATS and p.stem.upper() in names]
    others = [p.name for p in files if p not in domains]
    return folder, domains, others


def is_adam_cut(domain_files) -> bool:
    """True when the cut's files include ADSL and not DM (a cut of ADaM datasets; an SDTM cut
    with a stray ADaM file reads it as a domain not used)."""
    stems = {Path(p).stem.upper() for p in domain_files}
    return "ADSL" in stems and "DM" not in stems


def locate_domains(cut_dir: str | Path) -> dict[str, Path]:
    """Map domain code (upper case) -> file. Two formats of one domain is an error."""
    cut_dir = Path(cut_dir)
    if not cut_dir.is_dir():
        raise DataContractError(f"data cut folder {cut_dir} does not exist")
    found: dict[str, Path] = {}
    for p in sorted(cut_dir.iterdir()):
        ext = p.suffix.lower()
        if not p.is_file() or ext not in FORMATS:
            continue
        dom = p.stem.upper()
        if dom in found:
            raise DataContractError(
                f"domain {dom} is present as both {found[dom].name} and {p.name}; keep exactly one",
                file=p.name,
            )
        found[dom] = p
    return found


_BLOCK = 1 << 24  # bytes read at a time when checking a CSV file (16 MB)


def _blank(path: Path) -> bool:
    """True when the file holds nothing but ASCII white space (read block by block)."""
    with open(path, "rb") as fh:
        while block := fh.read(_BLOCK):
            if block.strip():
                return False
    return True


def _utf8_error(path: Path) -> DataContractError | None:
    """The "not valid UTF-8" error of a file, or None when the file is valid UTF-8.

    Decoded block by block with an incremental decoder, so that a big file is never held as
    bytes and text at once; the whole file is read only to word the message of a bad file."""
    import codecs

    dec = codecs.getincrementaldecoder("utf-8")()
    try:
        with open(path, "rb") as fh:
            while block := fh.read(_BLOCK):
                dec.decode(block)
            dec.decode(b"", final=True)
        return None
    except UnicodeDecodeError:
        pass
    raw = path.read_bytes()
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n")  # 0-based line index = data row number
        return DataContractError(
            f"not valid UTF-8 (byte 0x{raw[exc.start]:02x}); re-export the file as UTF-8",
            file=path.name,
            row=line if line > 0 else None,
            column=None,
        )
    return None


def _check_csv(path: Path) -> None:
    """A CSV file must hold a header and be UTF-8 (checked before polars parses it)."""
    if _blank(path):
        raise DataContractError("file is empty (no header row)", file=path.name)
    err = _utf8_error(path)
    if err is not None:
        raise err


def _read_csv(path: Path) -> pl.DataFrame:
    """Every column as text. Polars reads the file itself (a UTF-8 byte-order mark is skipped)."""
    _check_csv(path)
    try:
        return pl.read_csv(
            path, infer_schema=False, raise_if_empty=True, truncate_ragged_lines=False
        )
    except Exception as exc:  # polars raises several types for malformed CSV
        raise _unreadable("cannot parse CSV", exc, path) from None


def _one_value(dtype: pl.DataType) -> bool:
    """A column type that holds one text, number, date, time or flag a row."""
    kinds = (pl.Utf8, pl.Boolean, pl.Null, pl.Date, pl.Datetime, pl.Time, pl.Categorical, pl.Enum)
    return dtype.is_numeric() or isinstance(dtype, kinds)


def _to_text(df: pl.DataFrame, file: str) -> pl.DataFrame:
    """Every column as text, as a CSV export would write it. A column of another type (lists,
    structs, bytes, durations) is an error naming it."""
    exprs = []
    for name, dtype in df.schema.items():
        if not _one_value(dtype):
            raise DataContractError(
                f"column of type {dtype}: a domain column holds one text, number or date per row",
                file=file,
                column=name.strip().upper(),
            )
        if dtype == pl.Utf8:
            exprs.append(pl.col(name))
        elif dtype.is_float():
            # 45.0 -> "45", 1.25 -> "1.25": integral floats lose the ".0" as a CSV would show them
            exprs.append(
                pl.when(pl.col(name).is_nan())
                .then(None)
                .when(pl.col(name) == pl.col(name).round(0))
                .then(pl.col(name).cast(pl.Int64, strict=False).cast(pl.Utf8))
                .otherwise(pl.col(name).cast(pl.Utf8))
                .alias(name)
            )
        elif dtype == pl.Date:  # ISO 8601, as a CSV export would write it
            exprs.append(pl.col(name).dt.to_string("%Y-%m-%d"))
        elif isinstance(dtype, pl.Datetime):  # ISO 8601 with "T" (polars' own text has a space)
            fmt = "%Y-%m-%dT%H:%M:%S" + ("%:z" if dtype.time_zone else "")
            exprs.append(pl.col(name).dt.to_string(fmt))
        else:
            exprs.append(pl.col(name).cast(pl.Utf8))
    try:
        return df.select(exprs)
    except Exception as exc:  # a type polars cannot write as text
        raise DataContractError(
            f"cannot read the columns as text: {' '.join(str(exc).split())[:200]}", file=file
        ) from None


def _unreadable(what: str, exc: Exception, path: Path) -> DataContractError:
    """The one-line error for a file the reader cannot read: ``what``, then the reader's message."""
    return DataContractError(f"{what}: {' '.join(str(exc).split())[:200]}", file=path.name)


def _read_parquet(path: Path) -> pl.DataFrame:
    try:
        df = pl.read_parquet(path)
    except Exception as exc:
        raise _unreadable("cannot read Parquet", exc, path) from None
    return _to_text(df, path.name)


def _read_xpt(path: Path) -> pl.DataFrame:
    import pyreadstat

    try:
        pdf, _meta = pyreadstat.read_xport(str(path))
    except Exception as exc:
        raise _unreadable("cannot read SAS transport file", exc, path) from None
    df = pl.from_pandas(pdf)
    # XPT has no null for character variables: an empty string is missing
    df = _to_text(df, path.name)
    return df.with_columns(
        pl.when(pl.col(c).str.strip_chars() == "").then(None).otherwise(pl.col(c)).alias(c)
        for c in df.columns
    )


def typed_date_columns(path: Path) -> list[str]:
    """Columns of a Parquet file stored as Date or Datetime (names upper-cased)."""
    if path.suffix.lower() != ".parquet":
        return []
    try:
        schema = pl.read_parquet_schema(path)
    except Exception:  # unreadable: read_domain says so  # noqa: BLE001
        return []
    return [
        n.strip().upper() for n, t in schema.items() if t == pl.Date or isinstance(t, pl.Datetime)
    ]


def has_bom(path: Path) -> bool:
    with open(path, "rb") as fh:
        return path.suffix.lower() == ".csv" and fh.read(3) == b"\xef\xbb\xbf"


def _names(path: Path, columns: list[str], column_map: dict[str, str] | None) -> list[str]:
    """The column names as the pipeline uses them: trimmed, upper-cased, renamed by the study's
    ``column_map``; a name twice or the reserved SRCROW is an error."""
    names = [c.strip().upper() for c in columns]
    mapping = {k.strip().upper(): v.strip().upper() for k, v in (column_map or {}).items()}
    names = [mapping.get(n, n) for n in names]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise DataContractError(
            f"column {dupes[0]} appears more than once (names are case-insensitive)",
            file=path.name,
            column=dupes[0],
        )
    if "SRCROW" in names:
        raise DataContractError(
            "column name SRCROW is reserved by the pipeline", file=path.name, column="SRCROW"
        )
    return names


def read_domain(path: Path, column_map: dict[str, str] | None = None) -> pl.DataFrame:
    """Read one domain file as text columns with upper-case names and SRCROW."""
    fmt = FORMATS[path.suffix.lower()]
    df = {"csv": _read_csv, "parquet": _read_parquet, "xpt": _read_xpt}[fmt](path)
    df.columns = _names(path, df.columns, column_map)
    return df.with_row_index("SRCROW", offset=1).with_columns(pl.col("SRCROW").cast(pl.Int64))


# A CSV or Parquet domain file larger than CHUNK_BYTES is read in chunks of CHUNK_ROWS rows. Measured
# (docs/performance.md, "Ingest"): 32 MB / 250 000 rows against 256 MB / 1 000 000 rows, ingest alone,
# peak 0.98 vs 2.1 GB at 10k subjects and 2.5 vs 3.8 GB at 100k, in the same time; same bytes out.
CHUNK_BYTES = 32 * 2**20
CHUNK_ROWS = 250_000


def chunk_rows(path: Path) -> int | None:
    """Rows per chunk for reading ``path``, or None to read it whole: CSV and Parquet files larger
    than :data:`CHUNK_BYTES` (SAS transport files are read whole)."""
    big = path.suffix.lower() in (".csv", ".parquet") and path.stat().st_size > CHUNK_BYTES
    return CHUNK_ROWS if big else None


def iter_domain(
    path: Path, column_map: dict[str, str] | None = None, rows: int | None = None
) -> Iterator[pl.DataFrame]:
    """The domain file as :func:`read_domain` reads it, in frames of about ``rows`` rows (the whole
    file when None): the same columns, values and SRCROW, one frame in memory at a time. Yields
    one empty frame for a file with a header and no rows."""
    if rows is None:
        yield read_domain(path, column_map)
        return
    csv = path.suffix.lower() == ".csv"
    if csv:
        _check_csv(path)
    # polars raises several types for a malformed file, while planning or while reading
    cannot = "cannot parse CSV" if csv else "cannot read Parquet"
    try:
        if csv:
            lf = pl.scan_csv(
                path, infer_schema=False, raise_if_empty=True, truncate_ragged_lines=False
            )
        else:
            lf = pl.scan_parquet(path)
        raw = list(lf.collect_schema())
        batches = lf.collect_batches(chunk_size=rows, maintain_order=True)
    except Exception as exc:
        raise _unreadable(cannot, exc, path) from None
    names = _names(path, raw, column_map)
    start, empty = 1, True
    it = iter(batches)
    while True:
        try:
            b = next(it, None)
        except Exception as exc:
            raise _unreadable(cannot, exc, path) from None
        if b is None:
            break
        if b.height == 0:
            continue
        if not csv:
            b = _to_text(b, path.name)
        b.columns = names
        yield b.with_columns(
            pl.int_range(start, start + b.height, dtype=pl.Int64).alias("SRCROW")
        ).select("SRCROW", *names)
        start += b.height
        empty = False
    if empty:
        yield pl.DataFrame(schema={"SRCROW": pl.Int64, **dict.fromkeys(names, pl.Utf8)})

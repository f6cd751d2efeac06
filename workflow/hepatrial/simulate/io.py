"""Write a data cut: one file per domain, lower-case names, byte-reproducible."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from hepatrial.errors import HepatrialError

FORMATS = ("csv", "parquet", "xpt")
# SAS transport headers carry the creation time; it is fixed so that equal data give equal bytes.
_XPT_STAMP = re.compile(rb"\d{2}[A-Z]{3}\d{2}:\d{2}:\d{2}:\d{2}")
_XPT_FIXED = b"01JAN70:00:00:00"


def _write_xpt(df: pl.DataFrame, path: Path, name: str) -> None:
    import pyreadstat  # optional at import time: only the xpt format needs it

    pdf = df.to_pandas()
    for col in df.columns:
        if df.schema[col] == pl.String:
            pdf[col] = pdf[col].fillna("")
    pyreadstat.write_xport(pdf, str(path), table_name=name.upper()[:8], file_format_version=5)
    raw = path.read_bytes()
    cut = raw.find(b"HEADER RECORD*******OBS")
    cut = len(raw) if cut < 0 else cut
    path.write_bytes(_XPT_STAMP.sub(_XPT_FIXED, raw[:cut]) + raw[cut:])


def write_cut(
    domains: dict[str, pl.DataFrame], out_dir: str | Path, fmt: str = "csv"
) -> list[Path]:
    """Write each domain as ``<out_dir>/<domain>.<fmt>``; returns the paths written.

    Files of the same domains in the other formats are removed first, because the contract makes
    two formats of one domain an error.
    """
    if fmt not in FORMATS:
        raise HepatrialError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, df in domains.items():
        stem = name.lower()
        for other in FORMATS:
            (out / f"{stem}.{other}").unlink(missing_ok=True)
        path = out / f"{stem}.{fmt}"
        if fmt == "csv":
            df.write_csv(path, null_value="", line_terminator="\n")
        elif fmt == "parquet":
            df.write_parquet(path, compression="zstd", statistics=False)
        else:
            _write_xpt(df, path, stem)
        paths.append(path)
    return paths

"""The dummy-randomisation stamp of a blinded run (``--config blinded=true``) on every output.

A blinded run writes to its own ``<cut>-DUMMY`` folders, and every file in them says what it is,
in the place its format has for it, so that a file copied out of its folder still says it:

========================  ===========================================================================
format                    where the stamp is
========================  ===========================================================================
RTF, PDF, HTML            the running header / title page / subtitle (:mod:`hepatrial.tlf.shell`,
                          the report title in ``workflow/rules/report.smk``)
figures (PNG, PDF)        subtitle and caption in the image; PNG ``Description`` text chunk, PDF
                          ``Subject``
CSV                       the first line, ``# DUMMY RANDOMISATION — NOT REAL TREATMENT``
                          (:func:`read_csv` skips it; pandas ``comment="#"``, R ``comment.char``)
Parquet                   the file's key-value metadata, key ``hepatrial_stamp``
JSON                      a top-level key ``stamp``
define.xml                the study description and an XML comment after the prolog
XPT (SAS transport v5)    the 40-byte dataset label (ASCII: :data:`DUMMY_STAMP_ASCII`)
step logs                 the first line
========================  ===========================================================================

The rules' processes learn that the run is blinded from the environment variable :data:`ENV`,
which ``workflow/rules/common.smk`` sets for a blinded run and removes otherwise (as the Snakefile
does for ``HEPATRIAL_ONERROR``): a non-blinded run writes exactly what it wrote before.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import polars as pl

DUMMY_STAMP = "DUMMY RANDOMISATION \u2014 NOT REAL TREATMENT"
DUMMY_STAMP_ASCII = "DUMMY RANDOMISATION - NOT REAL TREATMENT"  # 40 bytes: an XPT v5 dataset label
ENV = "HEPATRIAL_DUMMY_RANDOMISATION"
PARQUET_KEY = "hepatrial_stamp"
CSV_LINE = f"# {DUMMY_STAMP}"


def active() -> bool:
    """True in a step of a blinded (dummy-randomisation) run."""
    return os.environ.get(ENV) == "1"


def parquet_metadata() -> dict[str, str] | None:
    """The ``metadata`` argument of ``write_parquet``: the stamp in a blinded run, else None."""
    return {PARQUET_KEY: DUMMY_STAMP} if active() else None


def write_csv(df: pl.DataFrame, path: str | Path, **kwargs) -> None:
    """``df.write_csv(path)``, with the stamp as the first line in a blinded run."""
    if not active():
        df.write_csv(path, **kwargs)
        return
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write(CSV_LINE + "\n")
        df.write_csv(fh, **kwargs)


def read_csv(path: str | Path, **kwargs) -> pl.DataFrame:
    """``pl.read_csv`` of a file written by :func:`write_csv` (the stamp line skipped if there)."""
    with open(path, encoding="utf-8", errors="replace") as fh:
        first = fh.readline().rstrip("\r\n")
    return pl.read_csv(path, skip_rows=1 if first == CSV_LINE else 0, **kwargs)


def json_obj(obj):
    """A JSON object with the stamp as its ``stamp`` key in a blinded run."""
    return {"stamp": DUMMY_STAMP, **obj} if active() and isinstance(obj, dict) else obj


def log_lines(lines: list[str]) -> list[str]:
    """A step log's lines, the stamp first in a blinded run."""
    return [DUMMY_STAMP, *lines] if active() else lines


def is_stamped_text(text: str) -> bool:
    """True if ``text`` carries the stamp (either form; RTF writes the dash as ``\\u8212?``)."""
    return "DUMMY RANDOMISATION" in text and "NOT REAL TREATMENT" in text


def is_stamped_json(path: str | Path) -> bool:
    obj = json.loads(Path(path).read_text(encoding="utf-8"))
    return isinstance(obj, dict) and obj.get("stamp") == DUMMY_STAMP

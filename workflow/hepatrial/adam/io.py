"""Write ADaM datasets as Parquet and as SAS transport v5 (XPT), the format sponsors submit.

XPT v5 limits names to 8 characters, labels to 40 and character values to 200 bytes; dates are
written as SAS dates with format DATE9. Rows are written in the dataset's own sort order, so the
same input gives byte-identical files.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import polars as pl

LABELS = {
    "STUDYID": "Study Identifier", "USUBJID": "Unique Subject Identifier", "SUBJID": "Subject Identifier",
    "SITEID": "Study Site Identifier", "ARM": "Description of Planned Arm", "ACTARM": "Description of Actual Arm",
    "TRT01P": "Planned Treatment for Period 01", "TRT01PN": "Planned Treatment for Period 01 (N)",
    "TRT01A": "Actual Treatment for Period 01", "TRT01AN": "Actual Treatment for Period 01 (N)",
    "AGE": "Age", "SEX": "Sex", "RACE": "Race", "COUNTRY": "Country", "RANDDT": "Date of Randomization",
    "TRTSDT": "Date of First Exposure to Treatment", "TRTEDT": "Date of Last Exposure to Treatment",
    "NINFUS": "Number of Infusions Received", "ORIGDT": "Analysis Origin Date", "LSTALVDT": "Date Last Known Alive",
    "DTHDT": "Date of Death", "DTHDTF": "Date of Death Imputation Flag", "DTHFL": "Subject Death Flag",
    "LTXDT": "Date of Liver Transplant", "LTXDTF": "Date of Liver Transplant Imput. Flag",
    "EOSSTT": "End of Study Status", "DCSREAS": "Reason for Discontinuation from Study",
    "ENRLFL": "Enrolled Population Flag", "ITTFL": "Intent-To-Treat Population Flag",
    "SAFFL": "Safety Population Flag", "PPFL": "Per-Protocol Population Flag", "COMPLFL": "Completers Population Flag",
    "CHOLFL": "Cholestatic Etiology Flag", "MELDETIO": "Etiology Term of Kamath MELD (0/1)",
    "DCUTDT": "Data Cut-off Date", "BLMELD": "Baseline MELD", "BLCTPS": "Baseline CTP Score",
    "BLCTPC": "Baseline CTP Class", "PARAMCD": "Parameter Code", "PARAM": "Parameter", "AVAL": "Analysis Value",
    "AVALC": "Analysis Value (C)", "ADT": "Analysis Date", "ADY": "Analysis Relative Day", "AVISIT": "Analysis Visit",
    "AVISITN": "Analysis Visit (N)", "ABLFL": "Baseline Record Flag", "ANL01FL": "Analysis Flag 01",
    "BASE": "Baseline Value", "CHG": "Change from Baseline", "PCHG": "Percent Change from Baseline",
    "ANRLO": "Analysis Normal Range Lower Limit", "ANRHI": "Analysis Normal Range Upper Limit",
    "ANRIND": "Analysis Reference Range Indicator", "BNRIND": "Baseline Reference Range Indicator",
    "AWTARGET": "Analysis Window Target", "AWTDIFF": "Analysis Window Diff from Target", "SRCDOM": "Source Data",
    "SRCROW": "Source Row Number in the Input File", "STARTDT": "Time to Event Origin Date for Subject",
    "CNSR": "Censor", "EVNTDESC": "Event or Censoring Description", "CNSDTDSC": "Censor Date Description",
    "CRCODE": "Competing-Risk Status Code", "EVTTYPE": "Competing-Risk Status", "ASTDT": "Analysis Start Date",
    "ASTDTF": "Analysis Start Date Imputation Flag", "AENDT": "Analysis End Date",
    "AENDTF": "Analysis End Date Imputation Flag", "ASTDY": "Analysis Start Relative Day",
    "TRTEMFL": "Treatment Emergent Analysis Flag", "ATOXGR": "Analysis Toxicity Grade",
    "AREL": "Analysis Causality (Y/N)", "FATALFL": "Fatal Outcome Flag", "AEWDFL": "AE Leading to Withdrawal Flag",
    "CECAT": "Clinical Event Category", "ONTRTFL": "On or After Origin Flag", "DMSRCROW": "Source Row Number in DM",
}


def _xpt_frame(df: pl.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    fmt = {}
    pdf = df.to_pandas()
    for name, dtype in df.schema.items():
        if dtype == pl.Date:
            pdf[name] = pd.Series(df[name].to_list(), dtype=object)
            fmt[name] = "DATE9"
        elif dtype == pl.Boolean:
            pdf[name] = pd.Series(["Y" if v else ("N" if v is not None else None) for v in df[name].to_list()],
                                  dtype=object)
        elif dtype.is_integer():
            pdf[name] = df[name].cast(pl.Float64).to_pandas()
    return pdf, fmt


def write_adam(df: pl.DataFrame, parquet: str | Path, xpt: str | Path | None = None, name: str | None = None,
               label: str = "") -> None:
    """Write ``df`` to Parquet and, when ``xpt`` is given, to SAS transport v5."""
    Path(parquet).parent.mkdir(parents=True, exist_ok=True)
    df.write_parquet(parquet, statistics=False)
    if xpt is None:
        return
    import pyreadstat

    name = (name or Path(xpt).stem).upper()
    long = [c for c in df.columns if len(c) > 8]
    if long or len(name) > 8:
        raise ValueError(f"XPT v5 names are at most 8 characters: {long or name}")
    pdf, fmt = _xpt_frame(df)
    labels = [LABELS.get(c, c)[:40] for c in df.columns]
    pyreadstat.write_xport(pdf, str(xpt), table_name=name, file_label=label[:40], column_labels=labels,
                           variable_format=fmt, file_format_version=5)
    stamp_xpt(xpt)


def stamp_xpt(path: str | Path) -> None:
    """Replace the creation/modification datetimes of an XPT v5 header with a fixed one.

    The stamp is SOURCE_DATE_EPOCH when set (reproducible-builds convention), else 1970-01-01, so
    that the same data give byte-identical files. Only the header (before the OBS record) changes.
    """
    import datetime as dt
    import os
    import re

    epoch = int(os.environ.get("SOURCE_DATE_EPOCH", "0"))
    stamp = dt.datetime.fromtimestamp(epoch, tz=dt.timezone.utc).strftime("%d%b%y:%H:%M:%S").upper().encode()
    raw = Path(path).read_bytes()
    end = raw.find(b"HEADER RECORD*******OBS")
    head = re.sub(rb"\d\d[A-Z]{3}\d\d:\d\d:\d\d:\d\d", stamp, raw[:end])
    Path(path).write_bytes(head + raw[end:])

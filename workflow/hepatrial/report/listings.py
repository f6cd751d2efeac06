"""The columns of the reports' SAE and death listings and their headers: what the report shows
(:mod:`hepatrial.report.content`) and the full listing files hold (:mod:`hepatrial.report.run`).
Kept apart from the report content so that the jobs writing the listing files do not import the
figure libraries."""

from __future__ import annotations

import polars as pl

DEATH_LISTING = {
    "USUBJID": "Subject",
    "SITEID": "Site",
    "arm": "Arm",
    "DTHDT": "Date of death",
    "DTHDY": "Study day",
    "DLINFDY": "Days from last infusion",
    "CAUSE": "Fatal AE (preferred term)",
    "LTXDT": "Transplant date",
}
SAE_LISTING = {
    "USUBJID": "Subject",
    "SITEID": "Site",
    "arm": "Arm",
    "AEDECOD": "Preferred term",
    "AEBODSYS": "System organ class",
    "ASTDT": "Onset",
    "ASTDY": "Day",
    "ATOXGR": "Grade",
    "AREL": "Related",
    "AEOUT": "Outcome",
    "TRTEMFL": "TEAE",
}


def listing_columns(df: pl.DataFrame, with_arm: bool, names: dict[str, str]) -> list[str]:
    """The listing's columns in the report: those of ``names`` the frame has; ``arm`` only when
    ``with_arm`` (never in the open report)."""
    return [c for c in names if c in df.columns and (with_arm or c != "arm")]

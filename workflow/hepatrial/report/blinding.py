"""The blinding gate: what the open and the closed DSMB reports are allowed to receive.

Blinding by construction (docs/dsmb.md). The open report's rule never sees arm-level data: its
only inputs are the files :func:`build_open_inputs` writes, and those are built by **allow-list**
(named analyses, pooled rows, named columns), never by removing what looks like arm data:

- ``pooled_ard.parquet``: rows of the ARD with ``arm == "ALL"`` and no comparator, of the analyses
  in :data:`OPEN_ANALYSES` only (no efficacy analysis at all, not even pooled), without the
  ``arm`` and ``comparator`` columns;
- ``saes.parquet``, ``deaths.parquet``: the listings with the columns of :data:`OPEN_SAE_COLUMNS`
  and :data:`OPEN_DEATH_COLUMNS` (no arm, no treatment, no dose), sorted by subject and date;
- ``compare.parquet`` (when a previous cut is configured): pooled counts only.

Then :func:`assert_no_arm_information` scans every open file (column names and every text cell)
for arm variables, arm labels and DM arm values, and stops the run (:class:`BlindingError`) if it
finds one: the gate fails closed.

The closed report receives arm-level data with the arms coded (``Arm A``, ``Arm B``, ...) when
``masked_dsmb`` is true: codes are assigned by a hash of study id and label (not the config
order, so "A" is not "the first arm"), comparisons are re-oriented to code order (a hazard ratio
of B vs A is reported as A vs B, inverted) so that the report does not reveal which code is the
reference arm, and configured arm colours are replaced by a neutral palette. The key
(code -> label) is written to ``dsmb/arm_key.json`` for the unblinded statistician; no report
rule reads it.
"""

from __future__ import annotations

import hashlib
import math
import re

import polars as pl

from hepatrial.ard import POOLED
from hepatrial.errors import HepatrialError

OPEN_ANALYSES = ("DISPOSITION", "AE_OVERVIEW", "AE_INCIDENCE", "BASELINE", "EXPOSURE", "DEATHS", "ENROLMENT",
                 "DQ_VISITS", "DQ_FINDINGS")
OPEN_ARD_COLUMNS = ("analysis", "paramcd", "population", "avisit", "time", "stat", "value", "method")
OPEN_SAE_COLUMNS = ("USUBJID", "SITEID", "AEDECOD", "AEBODSYS", "ASTDT", "ASTDY", "ATOXGR", "AREL", "AEOUT",
                    "TRTEMFL")
OPEN_DEATH_COLUMNS = ("USUBJID", "SITEID", "DTHDT", "DTHDY", "CAUSE", "LTXDT")
OPEN_COMPARE_COLUMNS = ("section", "item", "domain", "column", "n")
# Column names that carry the arm or the treatment (checked case-insensitively; TRT.. prefix too).
ARM_COLUMNS = ("ARM", "ARMCD", "ACTARM", "ACTARMCD", "ARMNRS", "TRT01P", "TRT01PN", "TRT01A", "TRT01AN", "TRTP",
               "TRTPN", "TRTA", "TRTAN", "EXTRT", "EXDOSE", "EXDOSU", "EXDOSFRQ", "COMPARATOR", "RANDNO")
MASKED_PALETTE = ("#4477AA", "#EE6677", "#228833", "#CCBB44", "#66CCEE", "#AA3377")
# Comparisons whose direction matters: how to turn "X vs Y" into "Y vs X".
RATIO_STATS = {"COX", "COX_UNSTRAT"}
DIFF_STATS = {"MMRM_DIFF"}


class BlindingError(HepatrialError):
    """Arm information reached a file meant for the open report."""


def arm_terms(study: dict) -> list[str]:
    """Strings that identify an arm: labels and DM ARM values of the configured arms."""
    terms = set()
    for a in study["arms"]:
        terms.update({a["label"], a.get("arm", a["label"])})
    return sorted(t for t in terms if t)


ARM_COLUMN_PATTERN = re.compile(r"^(TRT\d\d[PA]N?|TRT[PA]N?|TRTSEQ[PA]N?|TRT\d\d[PA]GR\d+N?|ARM.*|ACTARM.*)$")


def is_arm_column(name: str) -> bool:
    n = name.upper()
    return n in ARM_COLUMNS or bool(ARM_COLUMN_PATTERN.match(n))


def _hit(text: str, term: str) -> bool:
    t, s = term.casefold(), text.casefold()
    return (t in s) if len(t) >= 3 else (s.strip() == t)


def find_arm_information(frames: dict[str, pl.DataFrame], terms: list[str]) -> list[str]:
    """Every arm column and every text cell mentioning an arm term, as ``file: column: value``."""
    leaks = []
    for name, df in frames.items():
        for col in df.columns:
            if is_arm_column(col):
                leaks.append(f"{name}: column {col} is an arm/treatment variable")
            for term in terms:
                if _hit(col, term):
                    leaks.append(f"{name}: column name {col!r} holds the arm term {term!r}")
        for col, dtype in df.schema.items():
            if dtype not in (pl.Utf8, pl.Categorical):
                continue
            for v in df[col].drop_nulls().unique().to_list():
                for term in terms:
                    if _hit(str(v), term):
                        leaks.append(f"{name}: column {col}: value {v!r} holds the arm term {term!r}")
    return leaks


def assert_no_arm_information(frames: dict[str, pl.DataFrame], terms: list[str]) -> None:
    leaks = find_arm_information(frames, terms)
    if leaks:
        raise BlindingError(
            f"open report inputs would carry arm information ({len(leaks)} finding(s), first: {leaks[0]}); "
            f"the open report is not made. Rename the arm labels or the offending term, and check the "
            f"allow-lists in hepatrial/report/blinding.py")


def pooled_ard(ard: pl.DataFrame) -> pl.DataFrame:
    """The open report's ARD: pooled rows of the allowed analyses, with no arm columns."""
    return (ard.filter(pl.col("analysis").is_in(OPEN_ANALYSES) & (pl.col("arm") == POOLED)
                       & (pl.col("comparator").fill_null("") == ""))
            .select(OPEN_ARD_COLUMNS)
            .sort("analysis", "paramcd", "population", "avisit", "time", "stat", nulls_last=False))


def open_listing(listing: pl.DataFrame, columns: tuple[str, ...]) -> pl.DataFrame:
    keep = [c for c in columns if c in listing.columns]
    return listing.select(keep).sort(keep[:1] + [c for c in keep[1:] if c.endswith("DT")], nulls_last=True)


def build_open_inputs(ard: pl.DataFrame, saes: pl.DataFrame, deaths: pl.DataFrame, study: dict,
                      compare: pl.DataFrame | None = None) -> dict[str, pl.DataFrame]:
    frames = {
        "pooled_ard": pooled_ard(ard),
        "saes": open_listing(saes, OPEN_SAE_COLUMNS),
        "deaths": open_listing(deaths, OPEN_DEATH_COLUMNS),
    }
    if compare is not None:
        frames["compare"] = compare.select(OPEN_COMPARE_COLUMNS)
    assert_no_arm_information(frames, arm_terms(study))
    return frames


# --- closed report: arm coding --------------------------------------------------------------------

def arm_codes(study: dict) -> list[dict]:
    """Display order, label, code and colour of each arm as the closed report shows it.

    Masked (``masked_dsmb``, the default): codes A, B, ... assigned in the order of
    sha256(study id + label), display ``Arm A`` and a neutral colour; unmasked: the config's
    order, labels and colours.
    """
    arms = study["arms"]
    if study.get("masked_dsmb", True):
        sid = study["study"]["id"]
        order = sorted(arms, key=lambda a: hashlib.sha256(f"{sid}\x00{a['label']}".encode()).hexdigest())
        return [{"label": a["label"], "code": chr(ord("A") + i), "display": f"Arm {chr(ord('A') + i)}",
                 "colour": MASKED_PALETTE[i % len(MASKED_PALETTE)]} for i, a in enumerate(order)]
    return [{"label": a["label"], "code": a["label"], "display": a["label"], "colour": a["colour"]} for a in arms]


def _swap_comparison(r: dict) -> dict:
    """The same comparison the other way round: ratios inverted, differences negated, CIs swapped."""
    r = dict(r)
    r["arm"], r["comparator"] = r["comparator"], r["arm"]
    v, s = r["value"], r["stat"]
    if v is None or (isinstance(v, float) and math.isnan(v)):
        pass
    elif r["analysis"] in RATIO_STATS and s in ("hr", "lower", "upper"):
        r["value"] = 1.0 / v if v != 0 else float("inf")
    elif r["analysis"] in DIFF_STATS and s in ("estimate", "lower", "upper"):
        r["value"] = -v
    if s == "lower":
        r["stat"] = "upper"
    elif s == "upper":
        r["stat"] = "lower"
    return r


def code_ard(ard: pl.DataFrame, study: dict) -> pl.DataFrame:
    """The ARD with arms as the closed report shows them; masked comparisons in code order."""
    codes = arm_codes(study)
    label_to = {c["label"]: c["display"] for c in codes}
    rank = {c["display"]: i for i, c in enumerate(codes)}
    masked = study.get("masked_dsmb", True)
    rows = []
    for r in ard.to_dicts():
        r["arm"] = label_to.get(r["arm"], r["arm"])
        r["comparator"] = label_to.get(r["comparator"], r["comparator"])
        if masked:
            for lab, disp in label_to.items():
                for col in ("method", "paramcd"):
                    if r[col] and lab in r[col]:
                        r[col] = r[col].replace(lab, disp)
            if r["comparator"] and r["arm"] in rank and rank[r["comparator"]] < rank[r["arm"]]:
                r = _swap_comparison(r)
        rows.append(r)
    out = pl.DataFrame(rows, schema=ard.schema) if rows else ard.clear()
    return out.sort("analysis", "paramcd", "population", "arm", "comparator", "avisit", "time", "stat",
                    nulls_last=False)


def code_column(df: pl.DataFrame, study: dict, column: str = "arm") -> pl.DataFrame:
    label_to = {c["label"]: c["display"] for c in arm_codes(study)}
    if column not in df.columns:
        return df
    return df.with_columns(pl.col(column).replace(label_to))


def assert_masked(frames: dict[str, pl.DataFrame], study: dict) -> None:
    """A masked closed report's inputs must not hold an arm label either."""
    if not study.get("masked_dsmb", True):
        return
    leaks = [x for x in find_arm_information(frames, arm_terms(study)) if "is an arm/treatment variable" not in x]
    if leaks:
        raise BlindingError(f"masked closed report inputs hold an arm label ({len(leaks)} finding(s), first: "
                            f"{leaks[0]})")

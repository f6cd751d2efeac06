"""Dose-limiting toxicities by dose cohort and the protocol's escalation rule (ARD ``DLT``,
``ESCALATION``), for ``study.design: dose_escalation``.

Definitions (study config ``dlt`` and ``escalation``; docs/designs.md):

- A DLT is an adverse event of CTCAE grade >= ``dlt.min_grade`` (ADAE ATOXGR), related to the
  study treatment (AREL = "Y") when ``dlt.related_only``, whose start (ASTDT, imputed as for
  ADAE) falls within ``dlt.window_days`` days of an infusion (EX EXSTDTC): the infusion day is day 1
  of its window, so 0 <= ASTDT - infusion date <= window_days - 1.
- Cohort = the actual arm (ADSL TRT01A) of the safety population (SAFFL = "Y"), in the config's
  arm order, which is the dose order.
- DLT-evaluable: a safety subject with a DLT, or followed (ADSL LSTALVDT) to at least the last day
  of the first infusion's DLT window (TRTSDT + window_days - 1).
- Escalation rule, per cohort, from its number of subjects with a DLT (k) among its evaluable ones:
  PENDING (code 0) while fewer than ``escalation.cohort_size`` subjects are evaluable and k has not
  reached ``stop_min``; else PROCEED (1) when k <= ``proceed_max``, STOP (3) when k >= ``stop_min``,
  EXPAND (2) in between (the cohort is expanded before a decision).
- MTD: walking up the doses, the dose below the first STOP cohort. Status 1 determined; 2 not
  reached (every cohort PROCEED: the MTD is at or above the highest dose tested); 0 pending (a
  PENDING or EXPAND cohort comes before any STOP); 3 no tolerated dose (the lowest dose STOP).
- RP2D: the MTD when determined, else the highest dose cleared so far (the last PROCEED before the
  walk stopped); status as the MTD's.

ARD rows (population ``SAFETY``):

- ``DLT`` paramcd ``DLT``, per cohort and ``ALL``: ``n_subjects`` (safety), ``n_evaluable``,
  ``n_dlt`` (subjects with at least one DLT), ``pct`` (100 n_dlt / n_evaluable), ``ci_lower`` and
  ``ci_upper`` (the exact Clopper-Pearson 95% CI of the DLT rate, in %, beta quantiles: R
  ``binom.test(n_dlt, n_evaluable)$conf.int``; missing when no subject is evaluable), ``n_events``;
  paramcd ``DLT|<AEDECOD>``: ``n_dlt`` and ``n_events`` per preferred term.
- ``ESCALATION`` paramcd ``DECISION`` per cohort: ``code`` (0-3 above), ``dose_level`` (1-based),
  ``n_dlt``, ``n_evaluable``; ``method`` spells the decision and the rule.
  paramcd ``MTD`` and ``RP2D``: arm = the cohort's label (empty when none), ``dose_level`` (NaN
  when none) and ``status`` (codes above); ``method`` says it in words.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from hepatrial.analysis.common import select_population
from hepatrial.ard import POOLED, ard_rows, write_part
from hepatrial.dates import dtc_date
from hepatrial.errors import ConfigError, DataContractError
from hepatrial.models.rates import clopper_pearson
from hepatrial.spec import Study
from hepatrial.spec import load as load_study
from hepatrial.spec.study import Escalation

PENDING, PROCEED, EXPAND, STOP = 0, 1, 2, 3
DECISION = {PENDING: "PENDING", PROCEED: "PROCEED", EXPAND: "EXPAND", STOP: "STOP"}
MTD_PENDING, MTD_DETERMINED, MTD_NOT_REACHED, MTD_NONE = 0, 1, 2, 3
MTD_STATUS = {
    MTD_PENDING: "pending (escalation not complete)",
    MTD_DETERMINED: "determined",
    MTD_NOT_REACHED: "not reached (at or above the highest dose tested)",
    MTD_NONE: "no tolerated dose (the lowest dose stopped)",
}


def dlt_definition(study: Study, sponsor_flag: bool = False) -> str:
    """The DLT definition as the method says it; ``sponsor_flag``: a cut of ADaM datasets, whose
    ADAE DLTFL is the DLT (no EX infusion dates to count the window from)."""
    d = study.dlt
    if sponsor_flag:
        return "DLT: as flagged in the sponsor's ADAE (DLTFL = Y)"
    rel = "related, " if d.related_only else ""
    return (
        f"DLT: AE grade >= {d.min_grade}, {rel}onset within {d.window_days} days of an infusion "
        f"(infusion day = day 1)"
    )


def flag_dlt(
    adae: pl.DataFrame, dataset_ex: pl.DataFrame, study: Study, ungraded: bool = False
) -> pl.DataFrame:
    """ADAE rows that are DLTs (one row per AE), with ``DLTEXDT`` the infusion whose window holds it.

    Parameters
    ----------
    adae : polars.DataFrame
        ADAE (USUBJID, ASTDT, ATOXGR, AREL, AEDECOD, SRCROW).
    dataset_ex : polars.DataFrame
        SDTM EX (USUBJID, EXSTDTC).
    study : Study
        The study (its ``dlt`` block).
    ungraded : bool
        Instead, the AEs that could be DLTs but for their missing grade (ATOXGR) or, with
        ``related_only``, relatedness (AREL).
    """
    d = study.dlt
    if "DLTFL" in adae.columns:  # a cut of ADaM datasets: the sponsor's flag (hepatrial.adam.entry)
        return adae.filter(pl.col("DLTFL") == "Y").with_columns(
            pl.lit(None, pl.Date).alias("DLTEXDT")
        )
    ex = (
        dataset_ex.select("USUBJID", dtc_date("EXSTDTC").alias("DLTEXDT"))
        .drop_nulls("DLTEXDT")
        .unique()
        .sort(["USUBJID", "DLTEXDT"])
    )
    grade, related = pl.col("ATOXGR") >= d.min_grade, pl.col("AREL") == "Y"
    if not d.related_only:
        related = pl.lit(True)
    # unknown: missing where it decides (a known grade below the minimum, or a known N, is no DLT)
    cond = (
        (grade & related)
        if not ungraded
        else (
            grade.is_null() & related.fill_null(True) | (related.is_null() & grade.fill_null(True))
        )
    )
    lag = (pl.col("ASTDT") - pl.col("DLTEXDT")).dt.total_days()
    return (
        adae.filter(cond & pl.col("ASTDT").is_not_null())
        .join(ex, on="USUBJID", how="inner")
        .filter(lag.is_between(0, d.window_days - 1))
        .sort(["USUBJID", "SRCROW", "DLTEXDT"])
        .unique(subset=["USUBJID", "SRCROW"], keep="last", maintain_order=True)
    )


def derive_var_dltevfl(
    adsl_safety: pl.DataFrame, dlt: pl.DataFrame, window_days: int
) -> pl.DataFrame:
    """Add DLTFL (at least one DLT) and DLTEVFL (DLT-evaluable: a DLT, or followed to the end of
    the first infusion's DLT window, LSTALVDT >= TRTSDT + window_days - 1)."""
    with_dlt = dlt["USUBJID"].unique().implode()
    followed = pl.col("LSTALVDT") >= pl.col("TRTSDT") + pl.duration(days=window_days - 1)
    has = pl.col("USUBJID").is_in(with_dlt)
    return adsl_safety.with_columns(
        has.alias("DLTFL"), (has | followed.fill_null(False)).alias("DLTEVFL")
    )


def decide(n_dlt: int, n_evaluable: int, rule: Escalation) -> int:
    """The escalation decision of one cohort (codes in the module docstring)."""
    if n_dlt >= rule.stop_min:
        return STOP
    if n_evaluable < rule.cohort_size:
        return PENDING
    if n_dlt <= rule.proceed_max:
        return PROCEED
    return EXPAND


def mtd_and_rp2d(decisions: list[int]) -> tuple[int | None, int, int | None]:
    """(MTD index, status, RP2D index) from the decisions in dose order (indices 0-based)."""
    cleared = None
    for i, dec in enumerate(decisions):
        if dec == STOP:
            if i == 0:
                return None, MTD_NONE, None
            return i - 1, MTD_DETERMINED, i - 1
        if dec in (PENDING, EXPAND):
            return None, MTD_PENDING, cleared
        cleared = i
    return None, MTD_NOT_REACHED, cleared


def check_rule(rule: Escalation) -> None:
    if rule.stop_min <= rule.proceed_max:
        raise ConfigError(
            f"escalation: stop_min ({rule.stop_min}) must be greater than proceed_max "
            f"({rule.proceed_max}); a DLT count cannot both proceed and stop"
        )


def dlt_ard(
    adae: pl.DataFrame,
    adsl: pl.DataFrame,
    dataset_ex: pl.DataFrame,
    study: Study,
    population: str = "SAFETY",
) -> pl.DataFrame:
    """ARD DLT and ESCALATION rows (module docstring)."""
    rule = study.escalation
    check_rule(rule)
    window = study.dlt.window_days
    pop = select_population(adsl, study, population)
    dlt = flag_dlt(adae, dataset_ex, study).join(
        pop.select("USUBJID", "ARM"), on="USUBJID", how="inner"
    )
    subj = derive_var_dltevfl(pop, dlt, window)
    cohorts = study.arm_labels
    definition = dlt_definition(study, "DLTFL" in adae.columns)
    if "DLTFL" not in adae.columns:  # the grade decides: an AE without one cannot be counted
        need = {"ATOXGR": "grade (AETOXGR)"}
        if study.dlt.related_only:
            need["AREL"] = "relatedness (AEREL)"
        for col, what in need.items():
            if adae.height and adae[col].null_count() == adae.height:
                raise DataContractError(
                    f"dlt: the adverse events have no {what}: whether an AE is a dose-limiting "
                    f"toxicity ({dlt_definition(study)}) cannot be told"
                )
        n_ungraded = (
            flag_dlt(adae, dataset_ex, study, ungraded=True)
            .join(pop.select("USUBJID"), on="USUBJID", how="semi")
            .height
        )
        if n_ungraded:
            definition += (
                f" ({n_ungraded} AE(s) that could be a DLT but have no grade or relatedness, "
                "not counted: check the data)"
            )
    rows = []

    def add(analysis, paramcd, arm, stat, value, method):
        rows.append(
            {
                "analysis": analysis,
                "paramcd": paramcd,
                "population": population,
                "arm": arm,
                "stat": stat,
                "value": value,
                "method": method,
            }
        )

    counts = {}
    for arm in [*cohorts, POOLED]:
        s = subj if arm == POOLED else subj.filter(pl.col("ARM") == arm)
        e = dlt if arm == POOLED else dlt.filter(pl.col("ARM") == arm)
        n_ev, n_dlt = int(s["DLTEVFL"].sum()), int(s["DLTFL"].sum())
        counts[arm] = (n_dlt, n_ev)
        method = f"{definition}; % of DLT-evaluable subjects; exact (Clopper-Pearson) 95% CI"
        lo, hi = clopper_pearson(n_dlt, n_ev) if n_ev else (None, None)
        for stat, value in (
            ("n_subjects", s.height),
            ("n_evaluable", n_ev),
            ("n_dlt", n_dlt),
            ("pct", 100.0 * n_dlt / n_ev if n_ev else None),
            ("ci_lower", None if lo is None else 100.0 * lo),
            ("ci_upper", None if hi is None else 100.0 * hi),
            ("n_events", e.height),
        ):
            add("DLT", "DLT", arm, stat, value, method)
        for pt, n_s, n_e in (
            e.group_by("AEDECOD")
            .agg(pl.col("USUBJID").n_unique(), pl.len())
            .sort("AEDECOD")
            .iter_rows()
        ):
            add(
                "DLT",
                f"DLT|{pt}",
                arm,
                "n_dlt",
                n_s,
                f"{definition}; subjects with the preferred term",
            )
            add("DLT", f"DLT|{pt}", arm, "n_events", n_e, f"{definition}; events")

    text = (
        f"rule: <= {rule.proceed_max} of {rule.cohort_size} with a DLT proceed, "
        f">= {rule.stop_min} stop, in between expand"
    )
    decisions = []
    for level, arm in enumerate(cohorts, start=1):
        n_dlt, n_ev = counts[arm]
        dec = decide(n_dlt, n_ev, rule)
        decisions.append(dec)
        method = f"{DECISION[dec]}: {n_dlt} of {n_ev} evaluable with a DLT; {text}"
        for stat, value in (
            ("code", dec),
            ("dose_level", level),
            ("n_dlt", n_dlt),
            ("n_evaluable", n_ev),
        ):
            add("ESCALATION", "DECISION", arm, stat, value, method)
    mtd, status, rp2d = mtd_and_rp2d(decisions)
    for name, idx, how in (
        ("MTD", mtd, "the dose below the lowest STOP cohort"),
        ("RP2D", rp2d, "the MTD, else the highest dose cleared (PROCEED)"),
    ):
        label = cohorts[idx] if idx is not None else ""
        method = f"{name} {MTD_STATUS[status]}: {label or 'none'}; {name} = {how}; {text}"
        add("ESCALATION", name, label, "dose_level", None if idx is None else idx + 1, method)
        add("ESCALATION", name, label, "status", status, method)
    return ard_rows(rows)


def build_dlt(
    adae_path: str | Path,
    adsl_path: str | Path,
    ex_path: str | Path,
    study_path: str | Path,
    out: str | Path,
) -> None:
    """The ``dlt`` rule: read ADAE, ADSL, SDTM EX and the study config; write the ARD part."""
    write_part(
        dlt_ard(
            pl.read_parquet(adae_path),
            pl.read_parquet(adsl_path),
            pl.read_parquet(ex_path),
            load_study(study_path),
        ),
        out,
    )

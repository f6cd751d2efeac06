"""Time-to-event analyses of one ADTTE parameter (ARD ``KM``, ``KM_MEDIAN``, ``LOGRANK``, ``COX``,
``CIF``, ``GRAY`` and their unstratified sensitivity versions).

Subjects: the population (``ITT`` by default) by planned arm (ARM = TRT01P label), per arm in the
config's order and pooled (arm ``ALL``). Time = AVAL (days from the origin), event = CNSR 0,
competing-risk state = CRCODE (adtte.py: TFS 2 death / 3 transplant; DECOMP, HCC, LIVFAIL
1 event / 2 death / 3 transplant; 0 censored).

Methods and their R / SAS equivalents (docs/survival.md has the full text):

- ``KM``: Kaplan-Meier S(t) at each ``endpoints.landmarks_days`` time, Greenwood SE, 95% log-log CI
  (R ``summary(survfit(..., conf.type = "log-log"), times, extend = TRUE)``; SAS PROC LIFETEST
  CONFTYPE=LOGLOG, TIMELIST=). Stats ``surv, se, lower, upper, n_risk, n_event_cum``.
- ``KM_MEDIAN``: median and its 95% CI from the log-log pointwise limits (R
  ``quantile(fit, 0.5, conf.int = TRUE)``; SAS LIFETEST quartile table, Brookmeyer-Crowley with
  CONFTYPE=LOGLOG). NaN when not reached.
- ``LOGRANK``: log-rank chi-square (R ``survdiff``; SAS LIFETEST STRATA arm / TEST=LOGRANK),
  stratified by the randomisation strata when ``strata`` is configured (R ``+ strata(s)``; SAS
  STRATA s / GROUP=arm). ``LOGRANK_UNSTRAT``: the unstratified test, only when ``LOGRANK`` is
  stratified.
- ``COX``: hazard ratio of each test arm vs the reference arm, Wald 95% CI and p, from one model
  with all arms, Efron ties (``survival.ties`` may say ``breslow``), stratified by the strata when
  configured (R ``coxph(... + strata(s), ties = "efron")``; SAS PROC PHREG TIES=EFRON, STRATA,
  RISKLIMITS=WALD). ``COX_UNSTRAT``: the unstratified model, only when ``COX`` is stratified.
- ``CIF``: Aalen-Johansen cumulative incidence at the landmarks, infinitesimal-jackknife SE and
  95% log-log CI on F (R ``summary(survfit(Surv(time, factor(state)) ~ arm, conf.type =
  "log-log"), times)``; SAS LIFETEST EVENTCODE= gives the same estimate, with other SEs).
  ``paramcd`` names the event: ``TFS_DEATH``, ``TFS_LTX``; ``<P>`` (the event of interest),
  ``<P>_DEATH``, ``<P>_LTX`` for DECOMP, HCC, LIVFAIL. OS has no CIF.
- ``GRAY``: Gray's test (rho = 0) of equal CIF, per CIF paramcd, stratified by the strata when
  configured (R ``cmprsk::cuminc(..., strata =)$Tests``; SAS LIFETEST EVENTCODE= STRATA).
  ``GRAY_UNSTRAT``: unstratified, only when ``GRAY`` is stratified.

Comparisons (parallel designs with two or more arms with subjects, reference arm included): one
row set per test arm with ``arm`` = test arm and ``comparator`` = reference arm (log-rank and Gray
on the two-arm subset; Cox from the model with all arms); with three or more arms also the overall
K-sample test (log-rank, Gray) with ``arm`` = ``ALL`` and an empty comparator. Single-arm and
dose-escalation designs get KM, KM_MEDIAN and CIF only.

A quantity that cannot be computed (no subjects in an arm, no events, an infinite hazard ratio)
is NaN, and ``method`` says why after ``"; not estimable: "``; the step never fails on sparse data.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import polars as pl

from hepatrial import stamp
from hepatrial.analysis.common import PRIMARY, arm_labels, left_out, select_population
from hepatrial.ard import POOLED, ard_rows, write_part
from hepatrial.errors import ConvergenceError
from hepatrial.spec import Study
from hepatrial.spec import load as load_study
from hepatrial.spec.params import tte_param
from hepatrial.survival import (
    SurvivalInputError,
    aalen_johansen,
    cif_table,
    cox_ph,
    gray_test,
    kaplan_meier,
    logrank_test,
)

CONF_TYPE = "log-log"
CONF_LEVEL = 0.95
CIF_VARIANCE = "ij"
GRAY_RHO = 0.0
KM_STATS = ("surv", "se", "lower", "upper", "n_risk", "n_event_cum")
KM_EST = ("surv", "se", "lower", "upper")
MEDIAN_STATS = ("median", "lower", "upper")
CIF_STATS = ("cif", "se", "lower", "upper")
TEST_STATS = ("chisq", "df", "p")
COX_STATS = ("hr", "lower", "upper", "p")
KM_TABLE_SCHEMA = {
    "paramcd": pl.Utf8,
    "population": pl.Utf8,
    "arm": pl.Utf8,
    "time": pl.Float64,
    "n_risk": pl.Int64,
    "n_event": pl.Int64,
    "n_censor": pl.Int64,
    "surv": pl.Float64,
    "se": pl.Float64,
    "lower": pl.Float64,
    "upper": pl.Float64,
}
CIF_TABLE_SCHEMA = {
    "paramcd": pl.Utf8,
    "event": pl.Utf8,
    "cause": pl.Int64,
    "population": pl.Utf8,
    "arm": pl.Utf8,
    "time": pl.Float64,
    "n_risk": pl.Int64,
    "n_event": pl.Int64,
    "n_censor": pl.Int64,
    "cif": pl.Float64,
    "se": pl.Float64,
    "lower": pl.Float64,
    "upper": pl.Float64,
}
NA_NOTE = "; not estimable: "
NO_SUBJECTS = "no subjects in the arm"
NO_REFERENCE = "no subjects in the reference arm"


def cox_ties(study: Study) -> str:
    """Tie handling of the Cox model: ``survival.ties`` of the study config (default Efron)."""
    return study.survival.ties


def cif_paramcds(paramcd: str) -> dict[int, str]:
    """CRCODE -> CIF paramcd for one ADTTE parameter: its competing causes in the parameter table
    (TFS: its two parts compete; the CE endpoints: the event of interest, no suffix, with death and
    transplant competing; OS: none)."""
    return tte_param(paramcd).cif_paramcds()


def derive_var_stratum(df: pl.DataFrame, strata: list[str]) -> pl.DataFrame:
    """Add ``_STRATUM``: the strata columns' values joined by "/" (null when any is missing),
    i.e. one stratum per combination, as R ``strata(a, b)`` and SAS ``STRATA a b``."""
    if not strata:
        return df.with_columns(pl.lit(None, pl.Utf8).alias("_STRATUM"))
    parts = [pl.col(c).cast(pl.Utf8) for c in strata]
    complete = pl.all_horizontal(p.is_not_null() for p in parts)
    return df.with_columns(
        pl.when(complete)
        .then(pl.concat_str(parts, separator="/"))
        .otherwise(None)
        .alias("_STRATUM")
    )


class _Rows:
    """Collects the ARD rows of one parameter and population."""

    def __init__(self, paramcd: str, population: str):
        self.paramcd, self.population, self.rows = paramcd, population, []

    def add(
        self,
        analysis: str,
        arm: str,
        stats: dict,
        method: str,
        *,
        comparator: str = "",
        time: float | None = None,
        paramcd: str | None = None,
    ) -> None:
        for stat, value in stats.items():
            self.rows.append(
                {
                    "analysis": analysis,
                    "paramcd": paramcd or self.paramcd,
                    "population": self.population,
                    "arm": arm,
                    "comparator": comparator,
                    "time": time,
                    "stat": stat,
                    "value": None if value is None else float(value),
                    "method": method,
                }
            )

    def add_na(
        self, analysis: str, arm: str, stats: tuple[str, ...], method: str, why: str, **kw
    ) -> None:
        """NaN for ``stats``; ``method`` says why."""
        self.add(analysis, arm, dict.fromkeys(stats, float("nan")), method + NA_NOTE + why, **kw)


def _arrays(df: pl.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(time, event 0/1, competing-risk state) of the subjects of ``df``."""
    return (
        df["AVAL"].cast(pl.Float64).to_numpy(),
        (df["CNSR"] == 0).cast(pl.Int64).to_numpy(),
        df["CRCODE"].fill_null(0).cast(pl.Int64).to_numpy(),
    )


def _km_rows(out: _Rows, groups: dict[str, pl.DataFrame], landmarks: list[float]) -> pl.DataFrame:
    """KM and KM_MEDIAN rows per group; returns the KM step table."""
    m_km, m_med = "KM log-log Greenwood", "KM median, log-log CI"
    tables = []
    for arm, df in groups.items():
        n, n_ev = df.height, int((df["CNSR"] == 0).sum()) if df.height else 0
        pct = (lambda k: 100.0 * k / n) if n else (lambda k: None)  # noqa: E731, B023  (used within the iteration)
        out.add(
            "KM_EVENTS",
            arm,
            {
                "n": n,
                "n_event": n_ev,
                "pct_event": pct(n_ev),
                "n_censor": n - n_ev,
                "pct_censor": pct(n - n_ev),
            },
            "subjects, events (CNSR = 0) and censored",
        )
        if df.height == 0:
            for t in landmarks:
                out.add("KM", arm, {"n_risk": 0, "n_event_cum": 0}, m_km, time=t)
                out.add_na("KM", arm, KM_EST, m_km, NO_SUBJECTS, time=t)
            out.add_na("KM_MEDIAN", arm, MEDIAN_STATS, m_med, NO_SUBJECTS)
            continue
        time, event, _ = _arrays(df)
        fit = kaplan_meier(time, event)
        if landmarks:
            r = fit.at(landmarks, CONF_TYPE, CONF_LEVEL)
            for i, t in enumerate(r["time"]):
                out.add("KM", arm, {s: r[s][i] for s in KM_STATS}, m_km, time=float(t))
        est, lo, up = fit.quantile(0.5, CONF_TYPE, CONF_LEVEL)
        out.add("KM_MEDIAN", arm, {"median": est, "lower": lo, "upper": up}, m_med)
        lo_all, up_all = fit.confint(CONF_TYPE, CONF_LEVEL)
        tables.append(
            pl.DataFrame(
                {
                    "paramcd": out.paramcd,
                    "population": out.population,
                    "arm": arm,
                    "time": fit.time,
                    "n_risk": fit.n_risk,
                    "n_event": fit.n_event,
                    "n_censor": fit.n_censor,
                    "surv": fit.surv,
                    "se": fit.se,
                    "lower": lo_all,
                    "upper": up_all,
                },
                schema=KM_TABLE_SCHEMA,
            )
        )
    return pl.concat(tables, how="vertical") if tables else pl.DataFrame(schema=KM_TABLE_SCHEMA)


def _cif_rows(
    out: _Rows, groups: dict[str, pl.DataFrame], landmarks: list[float], causes: dict[int, str]
) -> None:
    method = f"Aalen-Johansen, {CIF_VARIANCE.upper()} SE, log-log CI"
    for arm, df in groups.items():
        if df.height == 0:
            for t in landmarks:
                for pcd in causes.values():
                    out.add_na("CIF", arm, CIF_STATS, method, NO_SUBJECTS, time=t, paramcd=pcd)
            continue
        time, _, state = _arrays(df)
        # a state outside the parameter's causes (not produced by ADTTE) counts as censored
        state = np.where(np.isin(state, list(causes)), state, 0)
        fit = aalen_johansen(time, state, causes=tuple(causes))
        for code, pcd in causes.items():
            r = fit.at(
                landmarks, code, variance=CIF_VARIANCE, conf_type=CONF_TYPE, conf_level=CONF_LEVEL
            )
            for i, t in enumerate(r["time"]):
                out.add(
                    "CIF", arm, {s: r[s][i] for s in CIF_STATS}, method, time=float(t), paramcd=pcd
                )


def cif_steps(
    adtte: pl.DataFrame, study: Study, paramcd: str, population: str = "ITT"
) -> pl.DataFrame:
    """The Aalen-Johansen step table of one parameter (behind the cumulative incidence figure; the
    subjects and arms of :func:`survival_ard`): per cause with at least one event (CRCODE of
    :data:`CIF_CAUSES`), per arm with subjects (config order) and pooled (``ALL``), one row per
    distinct observed time (:func:`hepatrial.survival.cif_table`: IJ SE, log-log 95% CI). Columns
    :data:`CIF_TABLE_SCHEMA` (``event`` = the ARD CIF paramcd of the cause); rows by cause, then arm.
    Empty (with the columns) for OS and when no competing-risk event occurred."""
    causes = cif_paramcds(paramcd)
    pop = _population(adtte, study, paramcd, population)
    time, _, state = _arrays(pop)
    present = [c for c in causes if np.any(state == c)]
    if not present:
        return pl.DataFrame(schema=CIF_TABLE_SCHEMA)
    state = np.where(np.isin(state, present), state, 0)
    arm = pop["ARM"].to_list()
    arms = [a for a in arm_labels(study) if a in set(arm)]
    tab = pl.concat(
        [
            cif_table(time, state, arm, causes=present, group_order=arms),
            cif_table(time, state, [POOLED] * len(arm), causes=present),
        ],
        how="vertical",
    )
    return (
        tab.rename({"group": "arm"})
        .with_columns(
            pl.lit(paramcd).alias("paramcd"),
            pl.col("cause").replace_strict(causes, return_dtype=pl.Utf8).alias("event"),
            pl.lit(population).alias("population"),
        )
        .select(list(CIF_TABLE_SCHEMA))
        .cast(CIF_TABLE_SCHEMA)
    )


def _test_stats(res) -> dict:
    return {"chisq": res.chisq, "df": float(res.df), "p": res.p}


def _logrank(
    out: _Rows,
    df: pl.DataFrame,
    analysis: str,
    method: str,
    arm: str,
    comparator: str,
    stratified: bool,
) -> None:
    time, event, _ = _arrays(df)
    if event.sum() == 0:
        out.add_na(analysis, arm, TEST_STATS, method, "no events", comparator=comparator)
        return
    strata = df["_STRATUM"].to_numpy() if stratified else None
    res = logrank_test(time, event, df["ARM"].to_numpy(), strata)
    if res.df < 1 or not np.isfinite(res.chisq):
        out.add_na(
            analysis,
            arm,
            TEST_STATS,
            method,
            "no event while the compared arms were at risk",
            comparator=comparator,
        )
        return
    out.add(analysis, arm, _test_stats(res), method, comparator=comparator)


def _gray(
    out: _Rows,
    df: pl.DataFrame,
    analysis: str,
    method: str,
    arm: str,
    comparator: str,
    stratified: bool,
    causes: dict[int, str],
) -> None:
    time, _, state = _arrays(df)
    state = np.where(np.isin(state, list(causes)), state, 0)
    strata = df["_STRATUM"].to_numpy() if stratified else None
    for code, pcd in causes.items():
        why = None
        if not np.any(state == code):
            why = "no events of this cause"
        else:
            try:
                res = gray_test(
                    time, state, df["ARM"].to_numpy(), cause=code, strata=strata, rho=GRAY_RHO
                )
                v = res.variance[: res.df, : res.df]
                if not np.all(np.isfinite(v)) or np.linalg.matrix_rank(v) < res.df:
                    # cmprsk fails here; a chi-square of 0 would read as "no difference"
                    why = "singular variance (no event of this cause while the arms were at risk)"
                elif not (np.isfinite(res.chisq) and np.isfinite(res.p)):
                    why = "chi-square not finite"
            except (SurvivalInputError, np.linalg.LinAlgError) as exc:
                why = str(exc)
        if why is None:
            out.add(analysis, arm, _test_stats(res), method, comparator=comparator, paramcd=pcd)
        else:
            out.add_na(analysis, arm, TEST_STATS, method, why, comparator=comparator, paramcd=pcd)


def _cox(
    out: _Rows,
    df: pl.DataFrame,
    analysis: str,
    method: str,
    arms: list[str],
    ref: str,
    stratified: bool,
    ties: str,
) -> None:
    """One model with every arm in ``arms`` (reference included): one row set per test arm."""
    time, event, _ = _arrays(df)
    why = None
    if event.sum() == 0:
        why = "no events"
    else:
        try:
            res = cox_ph(
                time,
                event,
                df["ARM"].to_numpy(),
                reference=ref,
                ties=ties,
                group_order=arms,
                strata=df["_STRATUM"].to_numpy() if stratified else None,
            )
        except ConvergenceError:
            why = "infinite hazard ratio (monotone likelihood: an arm without events)"
        except (SurvivalInputError, np.linalg.LinAlgError) as exc:
            why = str(exc)
    if why is not None:
        for a in arms:
            if a != ref:
                out.add_na(analysis, a, COX_STATS, method, why, comparator=ref)
        return
    for r in res.table.iter_rows(named=True):
        out.add(analysis, r["arm"], {s: r[s] for s in COX_STATS}, method, comparator=ref)


def _comparisons(out: _Rows, pop: pl.DataFrame, study: Study, causes: dict[int, str]) -> None:
    """LOGRANK, COX, GRAY (and the _UNSTRAT versions when the primary ones are stratified)."""
    ref = study.reference
    labels = arm_labels(study)
    tests = [a for a in labels if a != ref]
    strata = study.strata_in(pop)
    missing = [c for c in study.strata if c not in strata]
    note = f" (strata {', '.join(missing)} not in ADTTE: not used)" if missing else ""
    tie_name = cox_ties(study).capitalize()
    # the primary analyses are stratified when strata are configured; then _UNSTRAT = sensitivity
    variants = [("", True), ("_UNSTRAT", False)] if strata else [("", False)]
    for suffix, stratified in variants:
        df = derive_var_stratum(pop, strata if stratified else [])
        n_drop = df.filter(pl.col("_STRATUM").is_null()).height if stratified else 0
        df = df.filter(pl.col("_STRATUM").is_not_null()) if stratified else df
        drop = left_out(n_drop, "stratum")
        by = ", ".join(strata)
        m_lr = ("log-rank" + (f" stratified by {by}" if stratified else "")) + drop + note
        m_cox = f"Cox {tie_name}, Wald CI" + (f", stratified by {by}" if stratified else "")
        m_cox += drop + note
        m_gray = "Gray rho=0" + (f", stratified by {by}" if stratified else "") + drop + note
        lr, cx, gr = "LOGRANK" + suffix, "COX" + suffix, "GRAY" + suffix
        # arms with subjects (per variant: a missing stratum may drop subjects)
        have = [a for a in labels if df.filter(pl.col("ARM") == a).height > 0]

        for a in tests:
            why = NO_REFERENCE if ref not in have else NO_SUBJECTS if a not in have else None
            if why is None:  # test arm vs reference on the two-arm subset
                pair = df.filter(pl.col("ARM").is_in([a, ref]))
                _logrank(out, pair, lr, m_lr, a, ref, stratified)
                if causes:
                    _gray(out, pair, gr, m_gray, a, ref, stratified, causes)
                continue
            out.add_na(lr, a, TEST_STATS, m_lr, why, comparator=ref)
            out.add_na(cx, a, COX_STATS, m_cox, why, comparator=ref)
            for pcd in causes.values():
                out.add_na(gr, a, TEST_STATS, m_gray, why, comparator=ref, paramcd=pcd)
        if ref not in have:
            continue
        if len(labels) > 2 and len(have) >= 2:  # overall K-sample tests
            k = f", {len(have)} arms"
            _logrank(out, df, lr, m_lr + k, POOLED, "", stratified)
            if causes:
                _gray(out, df, gr, m_gray + k, POOLED, "", stratified, causes)
        if len(have) >= 2:
            _cox(out, df, cx, m_cox, have, ref, stratified, cox_ties(study))


def _population(adtte: pl.DataFrame, study: Study, paramcd: str, population: str) -> pl.DataFrame:
    """The subjects of ``population`` with a time and a censoring flag for ``paramcd``; ARM = planned arm."""
    pop = select_population(adtte.filter(pl.col("PARAMCD") == paramcd), study, population)
    return pop.filter(pl.col("AVAL").is_not_null() & pl.col("CNSR").is_not_null())


def survival_ard(
    adtte: pl.DataFrame, study: Study, paramcd: str, population: str = "ITT"
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """ARD rows of one time-to-event parameter and its Kaplan-Meier step table.

    Parameters
    ----------
    adtte : polars.DataFrame
        ADTTE (PARAMCD, AVAL, CNSR, CRCODE, TRT01P, ITTFL, strata columns).
    study : Study
        The study (:func:`hepatrial.spec.load`).
    paramcd : str
        A time-to-event parameter of the parameter table (``TFS``, ``OS``, ``DECOMP``, ...).
    population : str
        Population name (``ITT``): its ADSL flag selects the subjects, analysed by planned arm.

    Returns
    -------
    (ard, km) : tuple of polars.DataFrame
        ``ard``: rows in the ARD schema (analyses in the module docstring). ``km``: the KM step
        table per arm (config order) and pooled, one row per distinct observed time (events and
        censorings; censor marks are the rows with ``n_censor > 0``): ``paramcd, population,
        arm, time, n_risk, n_event, n_censor, surv, se, lower, upper`` (log-log CI). The curve
        starts at S(0) = 1 with all subjects at risk; ``n_risk`` at any t is that of the first
        row with time >= t (0 after the last row). The CIF step table: :func:`cif_steps`.
    """
    landmarks = [float(t) for t in study.endpoints.landmarks_days]
    pop = _population(adtte, study, paramcd, population)
    labels = arm_labels(study)
    groups = {a: pop.filter(pl.col("ARM") == a) for a in labels}
    groups[POOLED] = pop
    out = _Rows(paramcd, population)
    km = _km_rows(out, groups, landmarks)
    causes = cif_paramcds(paramcd)
    if causes and landmarks:
        _cif_rows(out, groups, landmarks, causes)
    if study.design.compares_arms and len(labels) >= 2 and study.reference:
        _comparisons(out, pop, study, causes)
    if population == "ITT" and paramcd == study.primary_param:
        _mark_primary(out.rows, study.endpoints.primary_landmark_days)
    return ard_rows(out.rows), km


def _mark_primary(rows: list[dict], landmark: float | None) -> None:
    """The primary endpoint's rows (a time to event, ITT): its log-rank tests and Cox model and,
    with ``endpoints.primary_landmark_days``, its Kaplan-Meier estimates at that day end their
    ``method`` with "; PRIMARY ENDPOINT" (as the MMRM_DIFF rows of an MMRM primary do)."""
    for r in rows:
        if r["analysis"] in ("LOGRANK", "COX") or (
            r["analysis"] == "KM" and landmark is not None and r["time"] == float(landmark)
        ):
            r["method"] += f"; {PRIMARY}"


def build_survival(
    adtte_path: str | Path,
    study_path: str | Path,
    paramcds: Sequence[str],
    ard_outs: Sequence[str | Path],
    km_outs: Sequence[str | Path],
    cif_outs: Sequence[str | Path],
    population: str = "ITT",
) -> None:
    """The ``survival`` rule: read ADTTE and the study config once and write, for each parameter
    of ``paramcds`` (the i-th parameter to the i-th path of each list), its ARD part and its KM
    and CIF step tables. One job for every parameter: they share ADTTE, so they always rerun
    together, and each takes milliseconds against ~0.5 s of a job's start."""
    if not len(paramcds) == len(ard_outs) == len(km_outs) == len(cif_outs):
        raise ValueError("build_survival: one ARD part, KM and CIF table per parameter")
    adtte, study = pl.read_parquet(adtte_path), load_study(study_path)
    for paramcd, ard_out, km_out, cif_out in zip(paramcds, ard_outs, km_outs, cif_outs):
        ard, km = survival_ard(adtte, study, paramcd, population)
        cif = cif_steps(adtte, study, paramcd, population)
        write_part(ard, ard_out)
        for table, out in ((km, km_out), (cif, cif_out)):
            Path(out).parent.mkdir(parents=True, exist_ok=True)
            # (cause,) arm in config order then ALL, time ascending
            table.write_parquet(out, statistics=False, metadata=stamp.parquet_metadata())

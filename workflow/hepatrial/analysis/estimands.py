"""Estimands (ICH E9(R1)) of a continuous endpoint by visit, estimated by (reference-based)
multiple imputation: ARD ``ESTIMAND``, ``MI_DIFF``, ``MI_LSMEAN``, ``TIPPING``, ``ICE_SUMMARY``.

The study config's ``estimands:`` list (docs/estimands.md) names, per estimand, the endpoint
(parameter, visit), the population, the intercurrent events (ICEs) with the strategy for each, the
MI methods and an optional tipping-point grid. This module

1. derives the ICEs of every subject from ADaM/SDTM (:func:`derive_ices`): death (ADSL DTHDT),
   liver transplant (ADSL LTXDT), treatment discontinuation (fewer infusions than planned, ADSL
   NINFUS from EX, dated at the last infusion ADSL TRTEDT) and rescue therapy (first PR/CM record
   whose term is in the configured list);
2. applies the strategies to the endpoint's data (:func:`estimand_data`): for each post-baseline
   visit affected by an event (its analysed record dated after the event, or, without a record,
   its target day after the event day)

   * ``treatment_policy``: observed values kept; missing values imputed under ``assumption``
     (MAR, or reference-based J2R / CR / CIR / LMCF);
   * ``hypothetical``: observed values set missing, then imputed under ``assumption``;
   * ``while_on_treatment`` (while alive, for death): values after the event set missing and the
     data up to the event analysed by the MMRM-equivalent MAR model;
   * ``composite``: the value at every visit after the event is the stated worst value
     (``value``, on the AVAL scale, so the change is ``value - BASE``), set after imputation, not
     used by the imputation model and never shifted by a tipping-point delta;

   one imputation strategy per subject (as rbmi): that of its earliest event with a non-MAR
   assumption, from that event's first affected visit on; missing values before it are MAR;
3. runs the MI engine (:mod:`hepatrial.models.mi`) per method, pools (Rubin's rules,
   jackknife, ...), and runs the tipping-point analysis (:func:`estimand_ard`).

ARD keys: ``paramcd`` is ``<PARAM>|<estimand id>|<method key>`` for ``MI_DIFF`` / ``MI_LSMEAN``
(every post-baseline visit), ``<PARAM>|<estimand id>`` for ``ESTIMAND`` (the five attributes as
text in ``method``) and ``<PARAM>|<estimand id>|<method key>|DELTA=<delta>`` for the per-delta
``TIPPING`` rows (the delta also as the statistic ``delta``; the ARD ``time`` column stays days),
the tipping delta itself on ``<PARAM>|<estimand id>|<method key>`` (stat ``tipping_delta``).
``ICE_SUMMARY``: ``paramcd`` the event (``TRTDISC``, ``DEATH``, ``TRANSPLANT``, ``RESCUE``,
``ANY``), per arm and pooled, per visit and overall (empty ``avisit``).

Method texts never name an arm (the reference arm is "the reference arm", the shifted arm "the
test arm"): a masked DSMB report turns two-arm comparisons round, and a text naming arms would
then be wrong.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import polars as pl

from hepatrial.analysis.common import left_out, population_flag, select_population
from hepatrial.ard import POOLED, ard_rows, empty_ard
from hepatrial.errors import ConvergenceError, DataContractError
from hepatrial.models import mi
from hepatrial.spec import Study, Visit
from hepatrial.spec.study import Estimand, MiMethod

EVENT_CODE = {
    "treatment_discontinuation": "TRTDISC",
    "death": "DEATH",
    "transplant": "TRANSPLANT",
    "rescue": "RESCUE",
}
EVENT_LABEL = {
    "treatment_discontinuation": "Treatment discontinuation",
    "death": "Death",
    "transplant": "Liver transplantation",
    "rescue": "Rescue therapy",
}
STRATEGY_LABEL = {
    "treatment_policy": "treatment policy",
    "hypothetical": "hypothetical",
    "composite": "composite",
    "while_on_treatment": "while on treatment",
}
ASSUMPTION_TEXT = {
    "MAR": "missing values imputed under MAR",
    "J2R": "missing values imputed by jump to reference (J2R)",
    "CR": "missing values imputed by copy reference (CR)",
    "CIR": "missing values imputed by copy increments in reference (CIR)",
    "LMCF": "missing values imputed by last mean carried forward (LMCF)",
}
ROLE_CODE = {"primary": 1, "sensitivity": 2, "supplementary": 3}
ICE_ORDER = ("TRTDISC", "RESCUE", "TRANSPLANT", "DEATH", "ANY")
ATTRIBUTES = ("attr_population", "attr_variable", "attr_ice", "attr_summary", "attr_treatment")


# ----------------------------------------------------------------------------------------------
# intercurrent events
# ----------------------------------------------------------------------------------------------
def ice_definitions(study: Study) -> dict[str, dict]:
    """event -> its definition (source keys), the same in every estimand that lists it."""
    out: dict[str, dict] = {}
    for est in study.estimands:
        for e in est.intercurrent_events:
            out.setdefault(e.event, e.definition())
    return out


def event_source(event: str, d: dict, study: Study) -> str:
    """The source of an event's date, as the ICE table footnote prints it."""
    if event == "death":
        return "ADSL DTHDT (date of death)"
    if event == "transplant":
        return "ADSL LTXDT (first PR liver transplant)"
    if event == "treatment_discontinuation":
        sched = d.get("schedule_days")
        due = (
            f"; an ongoing subject counts once the next infusion (planned days "
            f"{', '.join(map(str, sched))}) is more than {d.get('grace_days') or 0} days "
            "overdue at the cut"
            if sched
            else "; ongoing subjects are not counted"
        )
        return (
            "fewer infusions (ADSL NINFUS, from EX) than the arm's planned infusions, dated at "
            f"the last infusion (ADSL TRTEDT; none: randomisation){due}"
        )
    terms = ", ".join(d.get("terms") or [])
    return f"first PR/CM record whose term (PRTRT/PRDECOD, CMTRT/CMDECOD) is one of: {terms}"


def _planned(study: Study) -> dict[str, int]:
    return {a: study.planned_infusions_of(a) for a in study.arm_labels}


def _rescue_dates(frames: list[pl.DataFrame], terms: list[str]) -> pl.DataFrame:
    want = {t.strip().casefold() for t in terms}
    out = []
    for df, (trt, dec, dtc) in frames:
        if df is None or df.height == 0 or dtc not in df.columns:
            continue
        cols = [c for c in (trt, dec) if c in df.columns]
        hit = pl.any_horizontal(
            [
                pl.col(c).cast(pl.Utf8).str.strip_chars().str.to_lowercase().is_in(sorted(want))
                for c in cols
            ]
        )
        out.append(
            df.filter(hit).select(
                "USUBJID",
                pl.col(dtc)
                .cast(pl.Utf8)
                .str.slice(0, 10)
                .str.to_date("%Y-%m-%d", strict=False)
                .alias("ICEDT"),
            )
        )
    if not out:
        return pl.DataFrame(schema={"USUBJID": pl.Utf8, "ICEDT": pl.Date})
    return pl.concat(out).drop_nulls("ICEDT").group_by("USUBJID").agg(pl.col("ICEDT").min())


def derive_ices(
    adsl: pl.DataFrame,
    study: Study,
    cut_date: dt.date | None = None,
    pr: pl.DataFrame | None = None,
    cm: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """One row per subject and intercurrent event of the study's estimands: ``USUBJID``,
    ``EVENT`` (TRTDISC, DEATH, TRANSPLANT, RESCUE), ``ICEDT`` and ``ICEDY`` (analysis day of the
    event: ICEDT - ORIGDT + 1 on or after the origin). Subjects without an analysis origin are
    left out."""
    defs = ice_definitions(study)
    base = adsl.filter(pl.col("ORIGDT").is_not_null())
    frames = []
    if "death" in defs:
        frames.append(
            base.filter(pl.col("DTHDT").is_not_null()).select(
                "USUBJID", pl.lit("DEATH").alias("EVENT"), pl.col("DTHDT").alias("ICEDT")
            )
        )
    if "transplant" in defs:
        frames.append(
            base.filter(pl.col("LTXDT").is_not_null()).select(
                "USUBJID", pl.lit("TRANSPLANT").alias("EVENT"), pl.col("LTXDT").alias("ICEDT")
            )
        )
    if "treatment_discontinuation" in defs:
        d = defs["treatment_discontinuation"]
        planned = _planned(study)
        cut = cut_date or (base["DCUTDT"].drop_nulls().max() if "DCUTDT" in base.columns else None)
        sched, grace = d.get("schedule_days"), d.get("grace_days") or 0
        recs = []
        for r in base.iter_rows(named=True):
            plan = planned.get(r["TRT01P"])
            got = int(r["NINFUS"] or 0)
            if plan is None or got >= plan:
                continue
            if (r["EOSSTT"] or "") == "ONGOING":
                if not sched or cut is None or got >= len(sched):
                    continue
                cut_day = (cut - r["ORIGDT"]).days + 1
                if sched[got] + grace > cut_day:
                    continue  # the next infusion is not (yet) overdue at the cut
            recs.append(
                {
                    "USUBJID": r["USUBJID"],
                    "EVENT": "TRTDISC",
                    "ICEDT": r["TRTEDT"] if got > 0 and r["TRTEDT"] else r["ORIGDT"],
                }
            )
        frames.append(
            pl.DataFrame(recs, schema={"USUBJID": pl.Utf8, "EVENT": pl.Utf8, "ICEDT": pl.Date})
        )
    if "rescue" in defs:
        resc = _rescue_dates(
            [(pr, ("PRTRT", "PRDECOD", "PRSTDTC")), (cm, ("CMTRT", "CMDECOD", "CMSTDTC"))],
            defs["rescue"]["terms"] or [],
        )
        resc = resc.join(base.select("USUBJID", "ORIGDT"), on="USUBJID", how="inner")
        resc = resc.filter(pl.col("ICEDT") >= pl.col("ORIGDT"))
        frames.append(resc.select("USUBJID", pl.lit("RESCUE").alias("EVENT"), "ICEDT"))
    schema = {"USUBJID": pl.Utf8, "EVENT": pl.Utf8, "ICEDT": pl.Date, "ICEDY": pl.Int64}
    if not frames:
        return pl.DataFrame(schema=schema)
    out = pl.concat([f.with_columns(pl.col("ICEDT").cast(pl.Date)) for f in frames])
    out = out.join(base.select("USUBJID", "ORIGDT"), on="USUBJID", how="inner")
    day = (pl.col("ICEDT") - pl.col("ORIGDT")).dt.total_days()
    out = out.with_columns(
        pl.when(day >= 0).then(day + 1).otherwise(day).cast(pl.Int64).alias("ICEDY")
    )
    return out.select(list(schema)).sort("USUBJID", "EVENT")


# the BDS columns the estimands read (hepatrial.analysis.run reads only these)
BDS_COLUMNS = ("USUBJID", "PARAMCD", "AVISIT", "ABLFL", "ANL01FL", "AVAL", "CHG", "ADT")


def endpoint_params(study: Study) -> dict[str, list[str]]:
    """BDS dataset -> the parameters of the estimands' endpoints in it."""
    out: dict[str, list[str]] = {}
    for e in study.estimands:
        out.setdefault(e.endpoint.dataset, [])
        if e.endpoint.param not in out[e.endpoint.dataset]:
            out[e.endpoint.dataset].append(e.endpoint.param)
    return out


def post_visits(study: Study) -> list[Visit]:
    return [v for v in sorted(study.visits, key=lambda v: v.avisitn) if v.post_baseline]


def ice_summary_ard(
    adsl: pl.DataFrame, ices: pl.DataFrame, study: Study, population: str = "ITT"
) -> pl.DataFrame:
    """ARD ICE_SUMMARY: per event (and ANY), arm (and ALL) and post-baseline visit, ``n``
    subjects whose event occurred before the visit's target day, ``n_new`` those for whom this
    visit is the first such visit, ``pct`` = 100 n / N of the arm; overall (empty avisit) ``n``
    and ``pct`` of subjects with the event at any time up to the cut."""
    defs = ice_definitions(study)
    if not defs:
        return empty_ard()
    pop = select_population(adsl, study, population).select("USUBJID", "ARM")
    arms = study.arm_labels
    big_n = {a: pop.filter(pl.col("ARM") == a).height for a in arms}
    big_n[POOLED] = pop.height
    ev = ices.join(pop, on="USUBJID", how="inner")
    anyev = (
        ev.group_by("USUBJID", "ARM")
        .agg(pl.col("ICEDY").min())
        .with_columns(pl.lit("ANY").alias("EVENT"))
    )
    ev = pl.concat(
        [
            ev.select("USUBJID", "ARM", "EVENT", "ICEDY"),
            anyev.select("USUBJID", "ARM", "EVENT", "ICEDY"),
        ]
    )
    codes = [EVENT_CODE[e] for e in defs] + ["ANY"]
    codes = [c for c in ICE_ORDER if c in codes]
    visits = post_visits(study)
    rows = []
    for code in codes:
        event = next((k for k, c in EVENT_CODE.items() if c == code), None)
        src = (
            event_source(event, defs[event], study)
            if event
            else "first of the intercurrent events above"
        )
        method = (
            f"{EVENT_LABEL.get(event, 'Any intercurrent event')}: {src}; by visit: the "
            "event occurred before the visit's target day"
        )
        e = ev.filter(pl.col("EVENT") == code)
        for arm in [*arms, POOLED]:
            ea = e if arm == POOLED else e.filter(pl.col("ARM") == arm)
            days = ea["ICEDY"].to_numpy()
            N = big_n[arm]
            base = {
                "analysis": "ICE_SUMMARY",
                "paramcd": code,
                "population": population,
                "arm": arm,
                "method": method,
            }
            tot = int(days.size)
            rows += [
                {**base, "stat": "n", "value": tot},
                {**base, "stat": "pct", "value": 100.0 * tot / N if N else None},
            ]
            prev = 0
            for v in visits:
                n = int((days < v.target_day).sum())
                rows += [
                    {**base, "avisit": v.label, "stat": "n", "value": n},
                    {**base, "avisit": v.label, "stat": "n_new", "value": n - prev},
                    {
                        **base,
                        "avisit": v.label,
                        "stat": "pct",
                        "value": 100.0 * n / N if N else None,
                    },
                ]
                prev = n
    return ard_rows(rows)


# ----------------------------------------------------------------------------------------------
# applying the strategies to the endpoint's data
# ----------------------------------------------------------------------------------------------
@dataclasses.dataclass
class EstimandData:
    """The endpoint's data with the strategies applied, ready for :func:`hepatrial.models.mi`."""

    data: pl.DataFrame  # USUBJID, ARM, AVISIT, CHG (null = missing), BASE, factors: full grid
    ice: pl.DataFrame  # USUBJID, AVISIT (first visit affected), STRATEGY (engine code)
    composite: pl.DataFrame  # USUBJID, AVISIT, CHG: cells set to the composite value
    visits: list[str]
    factors: list[str]
    counts: dict


def _affected_index(adt_by_visit, ice_dt, ice_day, targets) -> int:
    """First visit index affected by an event on ``ice_dt`` / analysis day ``ice_day``: the
    analysed record dated after the event, or (no record) the target day after the event day."""
    for k, (adt, target) in enumerate(zip(adt_by_visit, targets)):
        if adt is not None:
            if adt > ice_dt:
                return k
        elif target > ice_day:
            return k
    return len(targets)


def estimand_data(
    bds: pl.DataFrame, adsl: pl.DataFrame, ices: pl.DataFrame, est: Estimand, study: Study
) -> EstimandData:
    """The endpoint's change from baseline by visit for the estimand's population with its
    intercurrent-event strategies applied (see the module docstring)."""
    param, population = est.endpoint.param, est.population
    pop = select_population(adsl, study, population)
    strata = study.strata_in(pop)
    subj = pop.select("USUBJID", "ARM", *strata)
    recs = bds.filter((pl.col("PARAMCD") == param) & (pl.col("ANL01FL") == "Y"))
    base = (
        bds.filter(
            (pl.col("PARAMCD") == param) & (pl.col("ABLFL") == "Y") & pl.col("AVAL").is_not_null()
        )
        .group_by("USUBJID")
        .agg(pl.col("AVAL").last().alias("BASE"))
    )
    subj = subj.join(base, on="USUBJID", how="inner")
    n_no_base = pop.height - subj.height
    n_with_base = subj.height
    subj = subj.drop_nulls([*strata, "ARM"]).sort("USUBJID")
    n_no_stratum = n_with_base - subj.height
    if subj.height == 0:
        raise DataContractError(
            f"estimand {est.id}: no subject of the {population} population has a baseline "
            f"{param} value" + (f" and every stratum ({', '.join(strata)})" if strata else "")
        )
    factors = [s for s in strata if subj[s].n_unique() > 1]
    present = set(recs.filter(pl.col("CHG").is_not_null())["AVISIT"].unique().to_list())
    vis = [v for v in post_visits(study) if v.label in present]
    if not vis:
        raise DataContractError(f"estimand {est.id}: no post-baseline {param} data")
    labels, targets = [v.label for v in vis], [v.target_day for v in vis]
    T = len(labels)
    ids = subj["USUBJID"].to_list()
    pos = {s: i for i, s in enumerate(ids)}
    Y = np.full((len(ids), T), np.nan)
    ADT = [[None] * T for _ in ids]
    vpos = {v: k for k, v in enumerate(labels)}
    for r in (
        recs.filter(pl.col("AVISIT").is_in(labels))
        .select("USUBJID", "AVISIT", "CHG", "ADT")
        .iter_rows(named=True)
    ):
        i = pos.get(r["USUBJID"])
        if i is None:
            continue
        k = vpos[r["AVISIT"]]
        if r["CHG"] is not None:
            Y[i, k] = r["CHG"]
            ADT[i][k] = r["ADT"]
    handling = {EVENT_CODE[e.event]: e for e in est.intercurrent_events}
    removed = np.zeros_like(Y, dtype=bool)
    comp = np.full(Y.shape, np.nan)
    eng_visit, eng_strat = {}, {}
    first_by_event = {}
    per_event = {c: 0 for c in handling}
    for r in (
        ices.filter(pl.col("EVENT").is_in(list(handling)))
        .sort("USUBJID", "ICEDT", "EVENT")
        .iter_rows(named=True)
    ):
        i = pos.get(r["USUBJID"])
        if i is None:
            continue
        h = handling[r["EVENT"]]
        k = _affected_index(ADT[i], r["ICEDT"], r["ICEDY"], targets)
        per_event[r["EVENT"]] += 1
        first_by_event[(i, r["EVENT"])] = k
        if k >= T:
            continue
        strat = h.strategy
        if strat == "composite":
            value = float(h.value) - float(subj["BASE"][i])
            comp[i, k:] = np.where(np.isnan(comp[i, k:]), value, comp[i, k:])
        elif strat in ("hypothetical", "while_on_treatment"):
            removed[i, k:] = True
        assumption = h.assumption or "MAR"
        if (
            strat in ("treatment_policy", "hypothetical")
            and assumption != "MAR"
            and (i not in eng_visit or k < eng_visit[i])
        ):
            eng_visit[i], eng_strat[i] = k, assumption
    is_comp = ~np.isnan(comp)
    n_removed = int((removed & ~np.isnan(Y) & ~is_comp).sum())
    Y[removed | is_comp] = np.nan
    grid = pl.DataFrame(
        {
            "USUBJID": np.repeat(np.array(ids, dtype=object), T).tolist(),
            "AVISIT": labels * len(ids),
            "CHG": Y.reshape(-1).tolist(),
        }
    ).with_columns(pl.col("CHG").fill_nan(None))
    grid = grid.join(subj, on="USUBJID", how="left")
    ice = pl.DataFrame(
        {
            "USUBJID": [ids[i] for i in sorted(eng_visit)],
            "AVISIT": [labels[eng_visit[i]] for i in sorted(eng_visit)],
            "STRATEGY": [
                mi._STRAT_ALIASES.get(eng_strat[i], eng_strat[i]) for i in sorted(eng_visit)
            ],
        },
        schema={"USUBJID": pl.Utf8, "AVISIT": pl.Utf8, "STRATEGY": pl.Utf8},
    )
    ci, ck = np.nonzero(is_comp)
    composite = pl.DataFrame(
        {
            "USUBJID": [ids[i] for i in ci],
            "AVISIT": [labels[k] for k in ck],
            "CHG": comp[ci, ck].tolist(),
        },
        schema={"USUBJID": pl.Utf8, "AVISIT": pl.Utf8, "CHG": pl.Float64},
    )
    counts = {
        "subjects": len(ids),
        "no_baseline": n_no_base,
        "no_stratum": n_no_stratum,
        "removed": n_removed,
        "composite_cells": int(is_comp.sum()),
        "composite_subjects": int(is_comp.any(axis=1).sum()),
        "observed": int((~np.isnan(Y)).sum()),
        "events": per_event,
        "reference_based": len(eng_visit),
    }
    return EstimandData(grid, ice, composite, labels, factors, counts)


# ----------------------------------------------------------------------------------------------
# estimation
# ----------------------------------------------------------------------------------------------
def _set_composite(imp: mi.Imputations, ed: EstimandData) -> None:
    """Composite values into every completed data set (and into the data, so that they count as
    observed: no tipping-point delta is added to them)."""
    if ed.composite.height == 0:
        return
    d = imp.data
    si = np.searchsorted(d.subjects, np.array(ed.composite["USUBJID"].to_list(), dtype=str))
    vi = np.array([d.visits.index(v) for v in ed.composite["AVISIT"].to_list()])
    val = ed.composite["CHG"].to_numpy()
    d.Y[si, vi] = val
    if imp.Y is None:  # completed on demand: the values are set in every block
        imp.overrides = (si, vi, val)
    elif imp.rows is None:
        imp.Y[:, :, si, vi] = val
    else:
        cell = np.full((d.n, d.T), np.nan)
        cell[si, vi] = val
        for r in range(imp.Y.shape[0]):
            sub = cell[imp.rows[r]]
            m = ~np.isnan(sub)
            imp.Y[r][:, m] = sub[m]


def _neutral(text: str, arms: list[str], ref: str) -> str:
    """A method text with the arms named by role (see the module docstring)."""
    tests = [a for a in arms if a != ref]
    for a in sorted(arms, key=len, reverse=True):
        if a == ref:
            text = text.replace(f"ref {a}", "ref: the reference arm").replace(
                a, "the reference arm"
            )
        elif len(tests) == 1:
            text = text.replace(a, "the test arm")
    return text


def ice_text(est: Estimand) -> str:
    """The intercurrent-event attribute: each event with its strategy (and assumption)."""
    parts = []
    for e in est.intercurrent_events:
        s, a = e.strategy, e.assumption or "MAR"
        lab = EVENT_LABEL[e.event].lower()
        if s == "treatment_policy":
            txt = f"{lab}: treatment policy (values after the event used; {ASSUMPTION_TEXT[a]})"
        elif s == "hypothetical":
            txt = (
                f"{lab}: hypothetical, as if the event had not occurred (values after it set "
                f"missing; {ASSUMPTION_TEXT[a]})"
            )
        elif s == "composite":
            txt = f"{lab}: composite, the worst value {e.value:g} at every visit after the event"
        else:
            txt = (
                f"{lab}: while {'alive' if e.event == 'death' else 'on treatment'} (values "
                "up to the event, analysed by the MAR/MMRM model)"
            )
        parts.append(txt)
    return "; ".join(parts)


def attributes(
    est: Estimand, study: Study, param_label: str, test: str | None = None
) -> dict[str, str]:
    """The five estimand attributes (ICH E9(R1)) as text, for the comparison of ``test`` (default:
    the first test arm) with the reference arm. The default population-level summary names the two
    arms ("difference in mean change from baseline (UC-MSC minus Placebo)"; the variable is
    the change from baseline), as a config's own summary does: a masked
    report codes the names and swaps them when it turns the comparison round, so that the text
    says the direction of the difference shown ("test arm minus reference arm" would be wrong
    there, and the right role words would unmask the reference arm)."""
    ref = study.reference
    tests = study.test_arms
    test = test or (tests[0] if tests else "the test arm")
    visit = study.estimand_visit(est)
    return {
        "attr_population": f"{est.population} ({population_flag(study, est.population)} = Y)",
        "attr_variable": f"change from baseline in {param_label} at {visit}",
        "attr_ice": ice_text(est),
        "attr_summary": est.summary
        or f"difference in mean change from baseline ({test} minus {ref})",
        "attr_treatment": est.treatment or " and ".join(f"{t} vs {ref}" for t in tests),
    }


MMRM_TARGET_TEXT = {
    1: "the MMRM of all observed data (missing at random) estimates this estimand",
    0: "values set missing, replaced or imputed other than under MAR: not the MMRM's estimand",
}


def mmrm_target(est: Estimand, counts: dict) -> bool:
    """Whether the MMRM of all observed data (the primary endpoint analysis) estimates ``est``: every
    intercurrent event handled under MAR by the treatment-policy or hypothetical strategy, and no
    observed value set missing (no value after a hypothetical event in the data) or replaced by a
    composite value. MI under MAR of such an estimand analyses the same data under the same
    assumption: another estimator of the same estimand (docs/estimands.md)."""
    mar = all(
        e.strategy in ("treatment_policy", "hypothetical") and (e.assumption or "MAR") == "MAR"
        for e in est.intercurrent_events
    )
    return mar and counts["removed"] == 0 and counts["composite_cells"] == 0


def estimand_ard(
    bds: pl.DataFrame,
    adsl: pl.DataFrame,
    ices: pl.DataFrame,
    est: Estimand,
    study: Study,
    param_label: str | None = None,
    order: int = 0,
    fits: mi.FitStore | None = None,
) -> pl.DataFrame:
    """ARD rows of one estimand: ESTIMAND, MI_DIFF, MI_LSMEAN per method, TIPPING. ``order``: the
    estimand's place in the config (ESTIMAND ``order``); ``fits``: imputation models already
    fitted by the estimands before it (:class:`hepatrial.models.mi.FitStore`)."""
    visit = study.estimand_visit(est)
    param, pop, eid = est.endpoint.param, est.population, est.id
    ref = study.reference
    arms = study.arm_labels
    tests = [a for a in arms if a != ref]
    ed = estimand_data(bds, adsl, ices, est, study)
    present = set(ed.data["ARM"].unique().to_list())
    arm_levels = [ref] + [a for a in tests if a in present]
    model = est.imputation_model
    covs = list(model.covariates or ["BASE"])
    facs = ed.factors if model.factors is None else [f for f in model.factors if f in ed.factors]
    weights = est.lsmeans_weights
    rows = []
    head = {"analysis": "ESTIMAND", "paramcd": f"{param}|{eid}", "population": pop, "avisit": visit}
    target = int(mmrm_target(est, ed.counts))
    for t in tests:
        h = {**head, "arm": t, "comparator": ref}
        rows += [
            {**h, "stat": "role", "value": ROLE_CODE[est.role], "method": est.role},
            {**h, "stat": "order", "value": order, "method": est.table_set},
            {**h, "stat": "label", "value": None, "method": est.label or eid},
            {
                **h,
                "stat": "mmrm_target",
                "value": target,
                "method": MMRM_TARGET_TEXT[target],
            },
        ]
        attrs = attributes(est, study, param_label or param, t)
        rows += [{**h, "stat": k, "value": None, "method": attrs[k]} for k in ATTRIBUTES]
    c = ed.counts
    data_text = (
        f"{c['subjects']} subjects with a baseline value"
        + (f" ({c['no_baseline']} without one left out)" if c["no_baseline"] else "")
        + left_out(c["no_stratum"], "stratum")
        + f"; {c['removed']} post-event values set missing"
        + (
            f"; {c['composite_cells']} visits of {c['composite_subjects']} subjects set "
            "to the composite value"
            if c["composite_cells"]
            else ""
        )
    )
    tip = est.tipping_point
    for m in est.methods:
        key = m.key
        try:
            imp = _impute(ed, m, model, arm_levels, ref, covs, facs, fits)
            _set_composite(imp, ed)
            tip_here = tip is not None and (tip.method or est.methods[0].key) == key
            deltas = mi.tipping_shifts(tip.deltas, tests) if tip_here else []
            # one pass over the completed data sets for the analysis and every tipping delta
            analyses = mi.analyse_deltas(imp, [None, *deltas], weights=weights)
            pooled = mi.pool(analyses[0])
            prefix = f"estimand {eid} ({est.role}); "
            pooled = pooled.with_columns(
                pl.col("method").map_elements(
                    lambda s, p=prefix: p + _neutral(s, arms, ref) + f"; {data_text}",
                    return_dtype=pl.Utf8,
                )
            )
            tipping = None
            if tip_here:
                tipping = mi.tipping_table(analyses[1:], tip.deltas, tests)
                tipping = tipping.filter(pl.col("avisit") == visit).with_columns(
                    pl.col("method").map_elements(
                        lambda s, p=prefix: p + _neutral(s, arms, ref), return_dtype=pl.Utf8
                    )
                )
        except (ConvergenceError, ValueError, ArithmeticError, np.linalg.LinAlgError) as exc:
            # too little data or a boundary fit is a result to report, not a crash of the run
            rows.append(
                {
                    "analysis": "MI_FIT",
                    "paramcd": f"{param}|{eid}|{key}",
                    "population": pop,
                    "arm": "ALL",
                    "stat": "converged",
                    "value": 0,
                    "method": f"estimand {eid}: not estimable: {' '.join(str(exc).split())[:200]}",
                }
            )
            continue
        rows += _mi_rows(pooled, f"{param}|{eid}|{key}", pop, tipping)
    return ard_rows(rows)


def _impute(
    ed: EstimandData, m: MiMethod, model, arm_levels, ref, covs, facs, fits=None
) -> mi.Imputations:
    """The MI engine (:func:`hepatrial.models.mi.impute`) with one method of the config."""
    jackknife = {
        k: v
        for k, v in (("loo_max", m.jackknife_loo_max), ("auto_groups", m.jackknife_auto_groups))
        if v is not None
    }
    return mi.impute(
        ed.data,
        ed.ice,
        method=m.method,
        M=m.M,
        B=m.B,
        D=m.D,
        resampling=m.resampling,
        groups=m.jackknife_groups,
        **jackknife,
        seed=m.seed,
        covariance=model.covariance,
        group_covariance=model.group_covariance,
        visit_order=ed.visits,
        arm_levels=arm_levels,
        control=ref,
        covariates=covs,
        factors=facs,
        fits=fits,
    )


def _mi_rows(
    pooled: pl.DataFrame, paramcd: str, population: str, tipping: pl.DataFrame | None
) -> list[dict]:
    rows = [r for r in mi.mi_ard_rows(pooled, paramcd, population)]
    if tipping is None:
        return rows
    seen = set()
    for r in tipping.iter_rows(named=True):
        base = {
            "analysis": "TIPPING",
            "population": population,
            "arm": r["arm"],
            "comparator": r["comparator"],
            "avisit": r["avisit"],
            "method": r["method"],
        }
        code = f"{paramcd}|DELTA={r['delta']:+g}"
        for k in ("delta", "estimate", "se", "lower", "upper", "p"):
            rows.append({**base, "paramcd": code, "stat": k, "value": r[k]})
        if (r["arm"], r["avisit"]) not in seen:
            seen.add((r["arm"], r["avisit"]))
            rows.append(
                {**base, "paramcd": paramcd, "stat": "tipping_delta", "value": r["tipping_delta"]}
            )
    return rows


def estimands_ard(
    datasets: dict[str, pl.DataFrame],
    adsl: pl.DataFrame,
    study: Study,
    cut_date: dt.date | None = None,
    pr: pl.DataFrame | None = None,
    cm: pl.DataFrame | None = None,
    param_labels: dict | None = None,
) -> pl.DataFrame:
    """The ARD part of every estimand of the study, and the ICE summary of each population."""
    ests = study.estimands
    if not ests or not study.design.has("ESTIMANDS"):
        return empty_ard()
    ices = derive_ices(adsl, study, cut_date, pr, cm)
    parts = [
        ice_summary_ard(adsl, ices, study, p) for p in dict.fromkeys(e.population for e in ests)
    ]
    # estimands whose imputation models fit the same data share the fits (J2R, CR, CIR and the
    # hypothetical strategy fit the on-treatment data): fitted once, bit-identical
    fits = mi.FitStore()
    for k, est in enumerate(ests):
        label = (param_labels or {}).get(est.endpoint.param)
        parts.append(
            estimand_ard(datasets[est.endpoint.dataset], adsl, ices, est, study, label, k + 1, fits)
        )
    return pl.concat([p for p in parts if p.height], how="vertical")

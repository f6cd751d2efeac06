"""Interim monitoring of the study's group-sequential design (ARD ``GSD_BOUNDARY``,
``GSD_STATUS``, ``GSD_INFO``; rule ``interim``; user documentation ``docs/gsd.md``).

The study config's ``interim`` block names the design (looks, spending, futility, power, design
effect) and the monitored comparison; this module reads that comparison's rows from the cut's
ARD parts, turns them into one look (information fraction, Z, estimate and SE oriented so that
benefit is positive), adds the earlier looks found in the previous cut's ARD, and calls the
engine :mod:`hepatrial.models.gsd`.

Information (one look)
----------------------
- ``MMRM_DIFF`` (``information: statistical``, the default): ``I = 1 / SE^2`` of the treatment
  difference at the visit; ``t = I / I_max`` with ``I_max = design.max_information(delta)`` (the
  design effect and the power). ``information: subjects``: ``t`` = subjects of the population
  with the parameter observed at the visit (pooled ``DESC`` n) / ``study.planned_subjects``.
  Either way the pooled count is reported (``n_observed``).
- ``LOGRANK`` / ``COX``: ``t = D / planned_events``, ``D`` the events of the two compared arms
  (KM step table). LOGRANK: ``Z`` = the signed root of the log-rank chi-square (sign from the
  Cox hazard ratio of the same, stratified or not, family), ``SE = (1 + r) / sqrt(r D)`` for
  allocation ``r`` (``2 / sqrt(D)`` for 1:1), estimate ``Z SE`` on the log hazard ratio scale (as
  rpact derives it from a log-rank statistic and events). COX: estimate ``-log HR`` (benefit
  lower) with the Wald SE read from the 95% CI, ``Z = estimate / SE``.

Looks
-----
The current cut's look number is ``interim.cut_looks[cut]`` when the mapping names the cut;
otherwise the look after the last one in the previous cut's ARD (1 without a previous cut). The
earlier looks are the previous ARD's ``GSD_STATUS`` looks (their fraction, Z, estimate, SE,
recomputed here with the design at the observed fractions); a look number without data (e.g.
``cut_looks`` says look 3 and only look 2 is known) is placed at its planned fraction and shows
no statistics. A cut that ``cut_looks`` does not list (when the mapping is not empty) is not a
look: the earlier looks and the boundaries are still written, no ``GSD_INFO``.

Rows: every GSD row is pooled (``arm`` ``ALL``, no ``comparator``): Z is oriented so that
benefit of the test arm is positive, so no row needs re-orienting when the closed report masks
the arms. ``GSD_INFO`` (open report, :data:`hepatrial.report.blinding.OPEN_ANALYSES`) holds the
current look's ``info_frac`` and ``events`` (TTE) or ``n_observed`` (MMRM): no Z, no p, nothing
by arm.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import re
from pathlib import Path

import numpy as np
import polars as pl
from scipy import optimize, special

from hepatrial.ard import POOLED, ard_rows, write_part
from hepatrial.config import TTE_MONITORED
from hepatrial.errors import HepatrialError
from hepatrial.models import gsd
from hepatrial.spec import Study
from hepatrial.spec import load as load_study
from hepatrial.spec.study import Interim

Z975 = float(special.ndtri(0.975))
_CUT_RE = re.compile(r"data cut (\S+?)(?:;|$)")


@dataclasses.dataclass
class Look:
    """One look: number, cut, information fraction, oriented Z, estimate, SE, observed
    information and the pooled count behind it (events or subjects observed)."""

    look: int
    cut: str
    info_frac: float
    z: float = math.nan
    estimate: float = math.nan
    se: float = math.nan
    information: float = math.nan
    count: float = math.nan

    @property
    def has_data(self) -> bool:
        return all(np.isfinite([self.z, self.estimate, self.se])) and self.se > 0


@dataclasses.dataclass
class Monitored:
    """The monitored comparison as the config names it (defaults filled)."""

    analysis: str
    paramcd: str
    avisit: str
    population: str
    test: str
    reference: str
    sign: float  # +1 when higher is benefit, -1 when lower is benefit

    @property
    def tte(self) -> bool:
        return self.analysis in TTE_MONITORED

    def describe(self) -> str:
        what = (
            f"{self.analysis} {self.paramcd} at {self.avisit}"
            if not self.tte
            else f"{self.analysis} {self.paramcd}"
        )
        orient = "lower" if self.sign < 0 else "higher"
        scale = "log hazard ratio" if self.tte else "difference"
        return (
            f"monitored: {what}, {self.population}, test arm vs reference, Z and estimate "
            f"oriented so that benefit ({orient} {scale}) is positive"
        )


def monitored(study: Study) -> Monitored:
    im = study.interim
    ref = study.reference
    tests = study.test_arms
    test = im.test_arm or tests[0]
    if im.tte:
        p, visit = im.paramcd, ""
    else:
        p = im.paramcd or study.primary_param
        visit = im.avisit or study.endpoints.primary_visit
    return Monitored(
        im.analysis, p, visit, im.population, test, ref, 1.0 if im.benefit == "higher" else -1.0
    )


def design(study: Study, fractions=None) -> gsd.GSDesign:
    """The planned design of ``study.interim`` (at ``fractions`` when given)."""
    im = study.interim
    return gsd.gsd_design(
        fractions if fractions is not None else im.info_fractions,
        alpha=im.alpha,
        beta=1.0 - im.power,
        sided=im.sides,
        efficacy=im.efficacy_spending,
        efficacy_param=im.efficacy_param,
        futility=im.futility_spending,
        futility_param=im.futility_param,
        binding=im.binding_futility,
    )


def design_delta(study: Study) -> float | None:
    """The design effect on the scale of the oriented estimate (benefit positive): the MMRM
    ``design_effect``, or ``|log design_hr|`` for a time-to-event comparison."""
    im = study.interim
    if im.analysis in TTE_MONITORED:
        return abs(math.log(im.design_hr)) if im.design_hr else None
    return im.design_effect


def max_information(study: Study, planned: gsd.GSDesign) -> float | None:
    """Maximum information: planned events x r / (1 + r)^2 (TTE), else from the design effect
    and power (``I_max = IF ((z_{1-a/s} + z_{1-b}) / delta)^2``; None without a design effect)."""
    im = study.interim
    if im.analysis in TTE_MONITORED:
        r = im.allocation_ratio
        return im.planned_events * r / (1.0 + r) ** 2
    delta = design_delta(study)
    return planned.max_information(delta) if delta else None


def _value(
    ard: pl.DataFrame,
    analysis: str,
    m: Monitored,
    stat: str,
    arm=None,
    comparator=None,
    avisit=None,
    paramcd=None,
) -> float:
    rows = ard.filter(
        (pl.col("analysis") == analysis)
        & (pl.col("paramcd") == (paramcd or m.paramcd))
        & (pl.col("population") == m.population)
        & (pl.col("arm") == (arm if arm is not None else m.test))
        & (pl.col("comparator") == (comparator if comparator is not None else m.reference))
        & (pl.col("avisit") == (avisit if avisit is not None else m.avisit))
        & (pl.col("stat") == stat)
    )
    if rows.height == 0 or rows["value"][0] is None:
        return math.nan
    return float(rows["value"][0])


def current_look(
    study: Study, ard: pl.DataFrame, events: float | None, look: int, cut: str
) -> tuple[Look, str]:
    """The cut's look from its ARD rows (``events``: of the compared arms, TTE only). Returns the
    look (statistics NaN when not estimable) and a note (empty, or why not estimable)."""
    im = study.interim
    m = monitored(study)
    planned = design(study)
    i_max = max_information(study, planned)
    note = ""
    if m.tte:
        d = float(events) if events is not None else math.nan
        t = d / im.planned_events
        lp = Look(
            look,
            cut,
            t,
            count=d,
            information=d * im.allocation_ratio / (1.0 + im.allocation_ratio) ** 2,
        )
        hr, lo, hi = (_value(ard, "COX", m, s, avisit="") for s in ("hr", "lower", "upper"))
        if m.analysis == "LOGRANK":
            chisq = _value(ard, "LOGRANK", m, "chisq", avisit="")
            r = im.allocation_ratio
            if not (np.isfinite(chisq) and np.isfinite(hr) and d > 0):
                return lp, "not estimable: no log-rank statistic or hazard ratio"
            direction = m.sign * np.sign(math.log(hr)) if hr != 1 else 1.0
            z = direction * math.sqrt(chisq)
            se = (1.0 + r) / math.sqrt(r * d)
            lp.z, lp.se, lp.estimate = z, se, z * se
        else:
            if not (np.isfinite(hr) and np.isfinite(lo) and np.isfinite(hi) and hi > lo > 0):
                return lp, "not estimable: no hazard ratio with a finite CI"
            se = (math.log(hi) - math.log(lo)) / (2.0 * Z975)
            est = m.sign * math.log(hr)
            lp.estimate, lp.se, lp.z = est, se, est / se
        return lp, note
    est = _value(ard, "MMRM_DIFF", m, "estimate")
    se = _value(ard, "MMRM_DIFF", m, "se")
    n_obs = _value(ard, "DESC", m, "n", arm=POOLED, comparator="")
    info = 1.0 / se**2 if np.isfinite(se) and se > 0 else math.nan
    if im.information == "subjects":
        t = n_obs / study.planned_subjects
    else:
        t = info / i_max
    lp = Look(look, cut, t, information=info, count=n_obs)
    if not (np.isfinite(est) and np.isfinite(se) and se > 0):
        return lp, "not estimable: no MMRM difference with a standard error at this cut"
    lp.estimate, lp.se = m.sign * est, se
    lp.z = lp.estimate / se
    return lp, note


def previous_looks(prev: pl.DataFrame | None, m: Monitored) -> list[Look]:
    """The looks recorded in the previous cut's ARD (its ``GSD_STATUS`` rows)."""
    if prev is None or prev.height == 0:
        return []
    rows = prev.filter(
        (pl.col("analysis") == "GSD_STATUS")
        & (pl.col("paramcd") == m.paramcd)
        & (pl.col("arm") == POOLED)
    )
    out = []
    for avisit in sorted(set(rows["avisit"].to_list()), key=_look_no):
        r = rows.filter(pl.col("avisit") == avisit)
        get = {s: v for s, v in zip(r["stat"], r["value"])}
        meth = next((x for s, x in zip(r["stat"], r["method"]) if s == "z"), "") or ""
        cut = _CUT_RE.search(meth)
        nan = math.nan
        out.append(
            Look(
                _look_no(avisit),
                cut.group(1) if cut else "",
                _f(get.get("info_frac")),
                _f(get.get("z")),
                _f(get.get("estimate")),
                _f(get.get("se")),
                _f(get.get("information", nan)),
                _f(get.get("events", get.get("n_observed", nan))),
            )
        )
    return [lk for lk in out if lk.has_data and np.isfinite(lk.info_frac)]


def merge_history(study: Study, from_ard: list[Look]) -> list[Look]:
    """The earlier looks: ``interim.history`` (recorded looks), the previous cut's ARD winning
    over the same look number. A recorded look without Z, estimate and SE counts for the bounds
    only."""
    out = {
        h["look"]: Look(
            h["look"],
            h.get("cut") or "",
            float(h["info_frac"]),
            _f(h.get("z")),
            _f(h.get("estimate")),
            _f(h.get("se")),
        )
        for h in study.interim.history
    }
    out.update({lk.look: lk for lk in from_ard})
    return [out[k] for k in sorted(out)]


def _f(v) -> float:
    return math.nan if v is None else float(v)


def _look_no(avisit: str) -> int:
    return int(avisit.split()[-1])


def look_number(study: Study, cut: str, earlier: list[Look]) -> int | None:
    """This cut's look number (None: the cut is not a formal look; see the module doc)."""
    mapping = study.interim.cut_looks
    if mapping:
        return mapping.get(cut)
    return (max(lk.look for lk in earlier) + 1) if earlier else 1


def cp_futility_bounds(
    dsg: gsd.GSDesign, threshold: float, basis: str, design_drift: float | None
) -> np.ndarray:
    """Z at each interim look below which the conditional power (``basis`` trend or design) is
    under ``threshold`` (NaN at the last look, or where it cannot be bracketed)."""
    out = np.full(dsg.n_looks, math.nan)
    for k in range(1, dsg.n_looks):
        t = dsg.info_fracs[k - 1]

        def gap(z, k=k, t=t):
            drift = z / math.sqrt(t) if basis == "trend" else design_drift
            return float(gsd.conditional_power(dsg, k, z, drift)[-1]) - threshold

        if basis == "design" and design_drift is None:
            continue
        lo, hi = -8.0, float(dsg.z_efficacy[k - 1])
        if gap(lo) < 0 < gap(hi):
            out[k - 1] = optimize.brentq(gap, lo, hi, xtol=1e-10)
    return out


def _cp_decision(s: gsd.LookStatistics, dsg: gsd.GSDesign, im: Interim) -> gsd.LookStatistics:
    thr = im.futility_cp
    if thr is None or s.look == dsg.n_looks or s.decision_code != 0:
        return s
    cp = s.cp_trend if im.futility_cp_basis == "trend" else s.cp_design
    if np.isfinite(cp) and cp < thr:
        text = (
            f"stop for futility (non-binding): conditional power ({im.futility_cp_basis}) "
            f"{cp:.3f} < {thr:g}"
        )
        return dataclasses.replace(s, decision=text, decision_code=-1)
    return s


def interim_rows(
    study: Study,
    ard: pl.DataFrame,
    cut: str,
    events: float | None = None,
    prev: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """The ARD part of the interim analysis (see the module docstring)."""
    im = study.interim
    m = monitored(study)
    planned = design(study)
    i_max = max_information(study, planned)
    delta = design_delta(study)
    earlier = [lk for lk in merge_history(study, previous_looks(prev, m)) if lk.cut != cut]
    k = look_number(study, cut, earlier)
    earlier = [lk for lk in earlier if k is None or lk.look < k]
    note = ""
    looks = list(earlier)
    if k is not None:
        cur, note = current_look(study, ard, events, k, cut)
        if np.isfinite(cur.info_frac) and cur.info_frac > 0:
            looks.append(cur)
        else:
            note = note or "not estimable: no information at this cut"
            cur = None
    else:
        cur = None
    known = {lk.look: lk for lk in looks}
    last = max(known) if known else 0
    fracs = []
    for j in range(1, last + 1):
        if j in known:
            fracs.append(known[j].info_frac)
        elif j <= planned.n_looks:
            fracs.append(float(planned.info_fracs[j - 1]))
        else:
            raise HepatrialError(
                f"interim: look {j} has no data and no planned fraction (the "
                f"design has {planned.n_looks} looks)"
            )
    if any(b <= a for a, b in itertools.pairwise(fracs)):
        detail = ", ".join(f"look {j + 1} {f:.4f}" for j, f in enumerate(fracs))
        raise HepatrialError(
            f"interim: information fractions of the looks do not increase "
            f"({detail}); set interim/cut_looks to say which cuts are looks"
        )
    final = bool(fracs) and (fracs[-1] >= 1.0 or (im.final_cut == cut and cur is not None))
    method_extra = [m.describe()]
    if i_max is not None:
        unit = (
            f"{im.planned_events} events x r/(1+r)^2, r={im.allocation_ratio:g}"
            if m.tte
            else "1/SE^2"
        )
        method_extra.append(f"maximum information {i_max:.6g} ({unit})")
    rows: list[dict] = []
    keys = {"paramcd": m.paramcd, "population": m.population, "arm": POOLED, "comparator": ""}
    if fracs:
        fr = np.asarray(fracs)
        z = np.array([known[j].z if j in known else math.nan for j in range(1, last + 1)])
        est = np.array([known[j].estimate if j in known else math.nan for j in range(1, last + 1)])
        se = np.array([known[j].se if j in known else math.nan for j in range(1, last + 1)])
        full = fr if final else gsd.monitoring_fractions(planned, fr)
        dsg = planned.at_fractions(full, final=True)
        have = np.isfinite(z)
        stats = _statistics(dsg, z, est, se, delta, have)
        stats = [_cp_decision(s, dsg, im) for s in stats]
    else:
        dsg, stats = planned, []
    rows += [r for r in gsd.gsd_ard_rows(dsg, stats, **keys) if r["avisit"] != "DESIGN"]
    # the design as planned: its inflation factor, drift and the maximum information that the
    # fractions are relative to (the design recomputed at the observed fractions re-solves the
    # beta-spending drift, which must not move the denominator of the fractions)
    rows += [r for r in gsd.gsd_ard_rows(planned, **keys) if r["avisit"] == "DESIGN"]
    if i_max is not None:
        rows.append(
            dict(
                keys, analysis="GSD_BOUNDARY", avisit="DESIGN", stat="max_info", value=float(i_max)
            )
        )
    method = "; ".join([dsg.method(), *method_extra])
    for r in rows:
        if r["stat"] != "decision":
            r["method"] = method
    for s in stats:
        lk = known[s.look]
        for r in rows:
            if (
                r["analysis"] == "GSD_STATUS"
                and r["avisit"] == f"LOOK {s.look}"
                and r["stat"] != "decision"
            ):
                r["method"] = f"{method}; data cut {lk.cut}"
        rows.append(
            dict(
                keys,
                analysis="GSD_STATUS",
                avisit=f"LOOK {s.look}",
                stat="information",
                value=_num(lk.information),
                method=f"{method}; data cut {lk.cut}",
            )
        )
        rows.append(
            dict(
                keys,
                analysis="GSD_STATUS",
                avisit=f"LOOK {s.look}",
                stat="events" if m.tte else "n_observed",
                value=_num(lk.count),
                method=f"{method}; data cut {lk.cut}",
            )
        )
    design_rows = {"looks_planned": planned.n_looks, "current_look": k}
    if m.tte:
        design_rows["planned_events"] = im.planned_events
    if cf := im.futility_cp:
        bounds = cp_futility_bounds(
            dsg, cf, im.futility_cp_basis, delta * math.sqrt(i_max) if delta and i_max else None
        )
        for j, b in enumerate(bounds, 1):
            rows.append(
                dict(
                    keys,
                    analysis="GSD_BOUNDARY",
                    avisit=f"LOOK {j}",
                    stat="z_futility_cp",
                    value=_num(b),
                    method=method,
                )
            )
    for stat, v in design_rows.items():
        rows.append(
            dict(
                keys,
                analysis="GSD_BOUNDARY",
                avisit="DESIGN",
                stat=stat,
                value=None if v is None else float(v),
                method=method + (f"; current look {note}" if note else ""),
            )
        )
    if cur is not None and k is not None:
        rows.append(
            dict(
                keys,
                analysis="GSD_INFO",
                avisit=f"LOOK {k}",
                stat="info_frac",
                value=_num(cur.info_frac),
                method="information fraction of the look (pooled)",
            )
        )
        rows.append(
            dict(
                keys,
                analysis="GSD_INFO",
                avisit=f"LOOK {k}",
                stat="events" if m.tte else "n_observed",
                value=_num(cur.count),
                method="events in the compared arms (pooled)"
                if m.tte
                else "subjects with the parameter observed at the visit (pooled)",
            )
        )
    return ard_rows(rows)


def _num(v) -> float | None:
    return None if v is None or not np.isfinite(v) else float(v)


def _statistics(dsg, z, est, se, delta, have) -> list[gsd.LookStatistics]:
    """:func:`gsd.look_statistics` of the looks with data (a look without data still counts
    for the bounds; its statistics are not computed)."""
    if not have.any():
        return []
    # a look without data: stand-in values only so that the engine can run over it; its
    # statistics are dropped below and it takes no part in the others (no binding RCI)
    zz, ee, ss = (np.where(have, x, fill) for x, fill in ((z, 0.0), (est, 0.0), (se, 1.0)))
    out = gsd.look_statistics(dsg, zz, ee, ss, design_effect=delta)
    if dsg.binding and not have.all():
        # the binding RCI lower limit takes the earlier looks' futility limits: looks with data only
        fixed, corr = [], []
        for s, h in zip(out, have):
            if h:
                lo = s.estimate - s.z_efficacy * s.se
                fixed.append(dataclasses.replace(s, rci_lower=min([lo, *corr])))
                if s.look < dsg.n_looks:
                    corr.append(s.estimate - s.z_futility * s.se)
            else:
                fixed.append(s)
        out = fixed
    return [s for s, h in zip(out, have) if h]


def run_interim(
    study_path, cut: str, parts: list[str], km: str | None, previous: str | None, out
) -> None:
    """The ``interim`` rule: read the monitored analysis' ARD parts (and the KM step table for
    the events, and the previous cut's ARD), write the GSD part."""
    study = load_study(study_path)
    ard = pl.concat([pl.read_parquet(p) for p in parts], how="vertical")
    m = monitored(study)
    events = None
    if m.tte and km:
        steps = pl.read_parquet(km).filter(pl.col("paramcd") == m.paramcd)
        if "population" in steps.columns:
            steps = steps.filter(pl.col("population") == m.population)
        events = float(steps.filter(pl.col("arm").is_in([m.test, m.reference]))["n_event"].sum())
    prev = pl.read_parquet(previous) if previous and Path(previous).exists() else None
    write_part(interim_rows(study, ard, Path(cut).name, events, prev), out)

"""Trial simulator: SDTM-shaped data cuts for the pipeline, its tests, demos and benchmarks.

``simulate_trial(study_cfg, n_subjects, seed, cut_date)`` returns one polars DataFrame per domain
(DM, DS, SV, EX, LB, RS, QS, AE, CE, PR) as a sponsor's EDC export on ``cut_date`` would hold them,
and :func:`write_cut` writes them as ``dm.csv``, ``lb.csv``, ... Everything is driven by the study
config (arms, sites, enrolment period, cholestatic etiologies, strata) and its ``simulation:``
block (schedule, infusions, doses, effect size, rates; see workflow/schemas/simulation.schema.yaml).

Deliberate features of the data (what the pipeline must cope with):

- ``n_subjects`` counts randomised (enrolled) subjects; screen failures (``screen_failure_rate``)
  are added on top with ARM "Screen Failure", a DS SCREEN FAILURE and screening SV/LB/RS only.
- A few LB and AE records are dated after the cut (up to ``late_records.days`` days, for a share
  ``late_records.subject_prob`` of subjects), as EDC exports taken a few days after the cut date
  are; the data-cut step must remove them. Nothing else is dated after the cut, and what the cut
  date could not know (a later death, an AE end) is left empty.
- At least one subject is randomised and never dosed (ACTARM "Not Treated", empty RFSTDTC), one has
  a liver transplant and death on the same day, and at least one has two haemodialysis sessions in
  the 7 days before a lab.
- Partial dates: AESTDTC, CESTDTC, PRSTDTC (paracentesis) and DM.DTHDTC (YYYY-MM).
- Site "03" (``sites.mgdl_sites``) reports bilirubin and creatinine in mg/dL, site "05"
  (``sites.datetime_sites``) dates its samples with a time.

Coding choices where the contract is silent: AEREL is "RELATED" / "NOT RELATED"; AETOXGR 1-5
(5 = fatal, one per death, AEOUT "FATAL"); INR has an empty unit; results are text with the
reported precision kept ("1.50"), HBV DNA below 20 IU/mL is "<20"; QSORRES holds the response code
as text (QSSTRESN the number) and a missing item keeps its row with QSSTAT "NOT DONE"; DS also holds
INFORMED CONSENT OBTAINED (PROTOCOL MILESTONE); a liver transplant ends follow-up with DSDECOD
"OTHER" (DSTERM "RECEIVED LIVER TRANSPLANT") unless the subject died that day; RFENDTC is the
end of participation (empty while ongoing); never-dosed subjects have ACTARM "Not Treated" /
ACTARMCD "NOTTRT" (SDTMIG 3.2); the site-recorded CTPSCORE (RS, at SCREENING) sets CTPSTRAT
(B 7-9, C 10-12); CE also holds pre-study decompensations (CECAT "MEDICAL HISTORY", dated at
least 3 months before consent, often partial) beside on-study events (CECAT "ON-STUDY EVENT");
SUBJID is "<site>-<number>" and USUBJID "<STUDYID>-<site>-<number>".

Same arguments give byte-identical files: every component draws from its own generator seeded
from (seed, component), and records are sorted stably by USUBJID, date, test code.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from hepatrial.simulate.cohort import build_cohort, rng_for
from hepatrial.simulate.domains import (
    build_ae,
    build_ce,
    build_dm,
    build_ds,
    build_ex,
    build_pr,
    build_sv,
)
from hepatrial.simulate.frames import finalize
from hepatrial.simulate.io import write_cut
from hepatrial.simulate.labs import build_lb, build_lb_nk
from hepatrial.simulate.questionnaires import build_qs, build_rs
from hepatrial.simulate.settings import make_plan, resolve_simulation

__all__ = ["resolve_simulation", "simulate_trial", "write_cut"]

DOMAIN_ORDER = ("DM", "DS", "SV", "EX", "LB", "RS", "QS", "AE", "CE", "PR")


def simulate_trial(
    study_cfg: dict, n_subjects: int, seed: int, cut_date: str | dt.date
) -> dict[str, pl.DataFrame]:
    """Simulate a trial and return its SDTM domains as known on ``cut_date``.

    Parameters
    ----------
    study_cfg : dict
        A loaded study config (:func:`hepatrial.config.load_study`); its ``simulation:`` block is
        validated here.
    n_subjects : int
        Randomised (enrolled) subjects; screen failures come on top.
    seed : int
        Seed of all random draws.
    cut_date : str or datetime.date
        The data cut date (ISO). Records after it are left out, except the deliberate late ones.
    """
    if isinstance(cut_date, str):
        cut_date = dt.date.fromisoformat(cut_date)
    if n_subjects < 1:
        raise ValueError("n_subjects must be at least 1")
    cut_day = (cut_date - dt.date(1970, 1, 1)).days
    plan = make_plan(study_cfg)
    c = build_cohort(plan, n_subjects, seed)
    site = pl.Series(c.site + 1).cast(pl.String).str.zfill(2)
    num = pl.Series(c.subjnum).cast(pl.String).str.zfill(4)
    usubjid = pl.select(pl.format("{}-{}-{}", pl.lit(plan.studyid), site, num))[:, 0]
    late = plan.sim["late_records"]
    late_subject = rng_for(seed, 90).random(c.n) < late["subject_prob"]
    in_cut = c.consent <= cut_day
    raw = {
        "DM": build_dm(c, plan, seed, usubjid, cut_day),
        "DS": build_ds(c, plan, seed),
        "SV": build_sv(c, plan, seed),
        "EX": build_ex(c, plan, seed),
        "LB": _with_nk(build_lb(c, plan, seed), build_lb_nk(c, plan, seed)),
        "RS": build_rs(c, plan, seed),
        "QS": build_qs(c, plan, seed),
        "AE": build_ae(c, plan, seed, cut_day),
        "CE": build_ce(c, plan, seed),
        "PR": build_pr(c, plan, seed),
    }
    return {
        name: finalize(
            name,
            raw[name],
            plan.studyid,
            usubjid,
            c.rank,
            cut_day,
            late["days"],
            late_subject,
            in_cut,
        )
        for name in DOMAIN_ORDER
    }


def _with_nk(lb: pl.DataFrame, nk: pl.DataFrame | None) -> pl.DataFrame:
    """LB with the NK-cell panel rows (simulation.nk_panel) appended (finalize sorts them in)."""
    return lb if nk is None else pl.concat([lb, nk.cast(lb.schema)], how="vertical")

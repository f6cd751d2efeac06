"""The closed DSMB report of a study whose primary endpoint is a time to event
(``endpoints.primary_param`` in ``endpoints.tte``, e.g. survival at 52 weeks in HBV-ACLF): the
executive summary states that endpoint, not an MMRM, and its section comes first."""

from __future__ import annotations

import polars as pl
import pytest
from test_tlf_data import CUT, build_ard, study

from hepatrial.report import content
from hepatrial.report.document import Para, Table
from hepatrial.tlf import format as F
from hepatrial.tlf.tables import ARD


@pytest.fixture(scope="module")
def tte_primary(tmp_path_factory):
    base = study(tmp_path_factory.mktemp("tte"))
    ep = {**base.to_dict()["endpoints"], "primary_param": "DECOMP", "primary_landmark_days": 56}
    st = base.replace(endpoints=ep)
    return ARD(build_ard(st), st, CUT)


def test_executive_summary_states_the_time_to_event_primary(tte_primary):
    a = tte_primary
    assert a.reference == "Placebo" and a.tests == ["UC-MSC"]
    text = content.primary_tte_sentence(a)

    def km(arm):  # the ARD's KM estimate at day 56 and its CI, as the sentence prints them
        s, lo, hi = (
            a.get("KM", "DECOMP", arm, x, "ITT", time=56.0) for x in ("surv", "lower", "upper")
        )
        return f"{arm} {F.fmt_prob_pct(s)} ({F.fmt_prob_pct(lo)}, {F.fmt_prob_pct(hi)})"

    hr, lo, hi = (
        a.get("COX", "DECOMP", "UC-MSC", x, comparator="Placebo") for x in ("hr", "lower", "upper")
    )
    p = a.get("LOGRANK", "DECOMP", "UC-MSC", "p", comparator="Placebo")
    assert None not in (hr, lo, hi, p)
    # the study has strata: the primary log-rank test and Cox model are stratified, and say so
    assert a.rows("LOGRANK", paramcd="DECOMP")["method"][0].startswith("log-rank stratified by")
    assert text == (
        "Primary endpoint (Time to first new decompensation, time to event, ITT): event-free at "
        f"day 56 (week 8), % (95% CI): {km('UC-MSC')}, {km('Placebo')}; UC-MSC vs Placebo "
        f"stratified hazard ratio {F.fmt_est_ci(hr, lo, hi, 2)}, stratified log-rank nominal "
        f"p {F.fmt_p(p)}."
    )
    assert "MMRM" not in text


def test_primary_section_first_and_the_mmrm_secondary(tte_primary):
    km = pl.DataFrame()  # no step table: no figures drawn
    sections = content.section_efficacy(tte_primary, km, "dsmb_closed")
    titles = [s.title for s in sections]
    assert titles[0] == "Efficacy: primary endpoint and time to event"
    assert "Efficacy: repeated measures (MMRM)" in titles
    assert not any(t == "Efficacy: primary endpoint and repeated measures (MMRM)" for t in titles)
    tables = [b.title for s in sections for b in s.blocks if isinstance(b, Table)]
    assert tables[0].startswith("PRIMARY ENDPOINT. Time-to-event endpoints")
    mmrm = [t for t in tables if "mixed model for repeated measures" in t]
    assert mmrm and all(t.startswith("Secondary endpoint. ") for t in mmrm)
    assert not any(isinstance(b, Para) and "MMRM" in b.text for s in sections for b in s.blocks)


def test_executive_summary_of_a_single_arm_states_its_primary_ls_mean():
    """A single-arm study: the primary endpoint's LS mean change at the primary visit with its CI
    (ARD MMRM_LSMEAN), the numbers of the ARD rounded as the MMRM table rounds them."""
    from studies import make_study

    from hepatrial.ard import ard_rows, finalise

    st = make_study(
        study={"id": "T", "design": "single_arm"},
        arms=[{"label": "UC-MSC"}],
        endpoints={"primary_param": "MELD", "primary_visit": "WEEK 24"},
    )
    rows = [
        {"analysis": "MMRM_LSMEAN", "paramcd": "MELD", "population": "ITT", "arm": "UC-MSC",
         "avisit": v, "stat": s, "value": x, "method": "UN REML Satterthwaite"}
        for v, vals in (("WEEK 24", (-1.2349, -2.04, -0.4251)), ("WEEK 12", (5.0, 4.0, 6.0)))
        for s, x in zip(("lsmean", "lower", "upper"), vals)
    ]  # fmt: skip
    a = ARD(finalise(ard_rows(rows)), st, CUT)
    d = a.stat_decimals("MELD", "lsmean")
    assert content.primary_within_arm_sentence(a, "MELD", "WEEK 24") == (
        "Primary endpoint, change from baseline in MELD (UNOS) at WEEK 24 (MMRM, within arm): "
        f"LS mean (95% CI) UC-MSC {F.fmt_est_ci(-1.2349, -2.04, -0.4251, d)}."
    )
    assert content.primary_within_arm_sentence(a, "MELD", "WEEK 48").endswith(
        f"LS mean (95% CI) {content.NA}."
    )

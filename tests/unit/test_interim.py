"""Interim monitoring wired to the ARD (hepatrial.analysis.interim): the information of a look
from the monitored analysis' rows, by hand; the GSD ARD part (boundaries, status, the pooled
open-safe GSD_INFO); looks across cuts from the previous cut's ARD; the config checks."""

from __future__ import annotations

import math
from pathlib import Path

import polars as pl
import pytest
from scipy import stats

from hepatrial.analysis import interim as I
from hepatrial.ard import ard_rows, finalise
from hepatrial.config import check_interim
from hepatrial.errors import ConfigError, HepatrialError
from hepatrial.models import gsd
from hepatrial.spec import Study
from hepatrial.spec import load as load_study

ROOT = Path(__file__).resolve().parents[2]
Z975, Z80 = stats.norm.ppf(0.975), stats.norm.ppf(0.80)


@pytest.fixture(scope="module")
def rct():
    return load_study(ROOT / "config" / "studies" / "ucmsc-dc-rct.yaml")


def study_with(base: Study, **interim) -> Study:
    """``base`` with interim keys changed (not validated: the config checks are tested below)."""
    cfg = base.to_dict()
    cfg["interim"].update(interim)
    return Study.from_dict(cfg, validate=False)


def mmrm_ard(est: float, se: float, n: float, paramcd="MELDKAM", visit="WEEK 24") -> pl.DataFrame:
    key = {"paramcd": paramcd, "population": "ITT", "avisit": visit}
    rows = [
        {
            **key,
            "analysis": "MMRM_DIFF",
            "arm": "UC-MSC",
            "comparator": "Placebo",
            "stat": s,
            "value": v,
        }
        for s, v in (("estimate", est), ("se", se), ("p", 0.01))
    ]
    rows.append({**key, "analysis": "DESC", "arm": "ALL", "stat": "n", "value": n})
    rows.append({**key, "analysis": "DESC", "arm": "UC-MSC", "stat": "n", "value": n / 2})
    return ard_rows(rows)


def tte_ard(chisq: float, hr: float, lower: float, upper: float, paramcd="OS") -> pl.DataFrame:
    key = {"paramcd": paramcd, "population": "ITT", "arm": "UC-MSC", "comparator": "Placebo"}
    rows = [
        {**key, "analysis": "LOGRANK", "stat": s, "value": v}
        for s, v in (("chisq", chisq), ("df", 1))
    ]
    rows += [
        {**key, "analysis": "COX", "stat": s, "value": v}
        for s, v in (("hr", hr), ("lower", lower), ("upper", upper))
    ]
    return ard_rows(rows)


def wide(part: pl.DataFrame, analysis: str) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for r in part.filter(pl.col("analysis") == analysis).iter_rows(named=True):
        out.setdefault(r["avisit"], {})[r["stat"]] = r["value"]
    return out


# --- information of one look, by hand ------------------------------------------------------------


def test_mmrm_statistical_information_by_hand(rct):
    # one look, no futility: IF = 1, I_max = ((z_.975 + z_.80) / delta)^2
    st = study_with(rct, info_fractions=[1.0], futility_spending=None, design_effect=0.8)
    i_max = ((Z975 + Z80) / 0.8) ** 2
    assert I.max_information(st, I.design(st)) == pytest.approx(i_max, rel=1e-9)
    look, note = I.current_look(st, mmrm_ard(-1.2, 0.3, 150), None, 1, "2025-06-30")
    assert note == ""
    assert look.information == pytest.approx(1 / 0.09)
    assert look.info_frac == pytest.approx((1 / 0.09) / i_max, rel=1e-9)
    # benefit lower: the estimate and Z are oriented so that a lower MELD change is positive
    assert look.estimate == pytest.approx(1.2) and look.z == pytest.approx(4.0)
    assert look.count == 150
    up = study_with(st, benefit="higher")
    assert I.current_look(up, mmrm_ard(-1.2, 0.3, 150), None, 1, "c")[0].z == pytest.approx(-4.0)


def test_mmrm_information_by_subjects_observed(rct):
    st = study_with(rct, information="subjects")
    look, _ = I.current_look(st, mmrm_ard(-1.2, 0.3, 150), None, 1, "c")
    assert look.info_frac == pytest.approx(150 / 240)
    assert look.z == pytest.approx(4.0)


def test_logrank_and_cox_information_by_hand(rct):
    st = study_with(rct, analysis="LOGRANK", paramcd="OS", planned_events=100, design_hr=0.7)
    ard = tte_ard(4.0, 0.7, 0.5, 0.98)
    look, _ = I.current_look(st, ard, 50, 1, "c")
    assert look.info_frac == pytest.approx(0.5)
    assert look.z == pytest.approx(2.0)  # sqrt(chisq), positive: HR < 1 is benefit
    assert look.se == pytest.approx(2 / math.sqrt(50))
    assert look.estimate == pytest.approx(2.0 * 2 / math.sqrt(50))
    assert look.information == pytest.approx(50 / 4)
    harm, _ = I.current_look(st, tte_ard(4.0, 1.3, 0.9, 1.9), 50, 1, "c")
    assert harm.z == pytest.approx(-2.0)
    # allocation 2:1: SE (1 + r) / sqrt(r D)
    r2, _ = I.current_look(study_with(st, allocation_ratio=2.0), ard, 50, 1, "c")
    assert r2.se == pytest.approx(3 / math.sqrt(100))
    cox, _ = I.current_look(study_with(st, analysis="COX"), ard, 50, 1, "c")
    se = (math.log(0.98) - math.log(0.5)) / (2 * Z975)
    assert cox.se == pytest.approx(se) and cox.estimate == pytest.approx(-math.log(0.7))
    assert cox.z == pytest.approx(-math.log(0.7) / se)
    # the design effect on the oriented scale, and the maximum information = events / 4
    assert I.design_delta(st) == pytest.approx(-math.log(0.7))
    assert I.max_information(st, I.design(st)) == pytest.approx(25.0)


def test_not_estimable_look_keeps_its_information(rct):
    look, note = I.current_look(rct, mmrm_ard(float("nan"), float("nan"), 40), None, 1, "c")
    assert "not estimable" in note and not look.has_data
    st = study_with(rct, analysis="COX", paramcd="OS", planned_events=100)
    look, note = I.current_look(
        st, tte_ard(1.0, float("nan"), float("nan"), float("nan")), 30, 1, "c"
    )
    assert look.info_frac == pytest.approx(0.3) and "not estimable" in note


# --- the ARD part ------------------------------------------------------------------------------


def test_first_look_part_matches_the_engine_and_info_is_pooled_and_open_safe(rct):
    part = finalise(I.interim_rows(rct, mmrm_ard(-1.0, 0.4, 120), "2025-06-30"))
    planned = I.design(rct)
    t = (1 / 0.16) / I.max_information(rct, planned)
    expect = planned.at_fractions([t, 1.0])
    b = wide(part, "GSD_BOUNDARY")
    assert b["LOOK 1"]["info_frac"] == pytest.approx(t)
    assert b["LOOK 1"]["z_efficacy"] == pytest.approx(expect.z_efficacy[0], abs=1e-9)
    assert b["LOOK 2"]["z_efficacy"] == pytest.approx(expect.z_efficacy[1], abs=1e-9)
    # look 1 of an OBF-type design: c_1 = z_{1 - alpha(t_1)}, alpha(t) = 2 (1 - Phi(z_.9875/sqrt t))
    a1 = 2 * (1 - stats.norm.cdf(stats.norm.ppf(1 - 0.025 / 2) / math.sqrt(t)))
    assert b["LOOK 1"]["z_efficacy"] == pytest.approx(stats.norm.ppf(1 - a1), abs=1e-9)
    assert b["DESIGN"]["max_info"] == pytest.approx(planned.max_information(0.8))
    assert b["DESIGN"]["current_look"] == 1 and b["DESIGN"]["looks_planned"] == 2
    s = wide(part, "GSD_STATUS")["LOOK 1"]
    assert s["z"] == pytest.approx(2.5) and s["estimate"] == pytest.approx(1.0)
    assert s["p"] == pytest.approx(stats.norm.sf(2.5))
    assert s["b_value"] == pytest.approx(2.5 * math.sqrt(t))
    assert s["rci_lower"] == pytest.approx(1.0 - expect.z_efficacy[0] * 0.4)
    assert s["decision"] == (1 if 2.5 >= expect.z_efficacy[0] else 0)
    assert s["n_observed"] == 120
    # every GSD row is pooled: nothing to re-orient when the closed report masks the arms
    assert set(part["arm"]) == {"ALL"} and set(part["comparator"]) == {""}
    info = part.filter(pl.col("analysis") == "GSD_INFO")
    assert set(info["stat"]) == {"info_frac", "n_observed"}
    assert info.filter(pl.col("stat") == "info_frac")["value"][0] == pytest.approx(t)
    assert not info["method"].str.contains("UC-MSC|Placebo").any()
    assert not part["method"].str.contains("UC-MSC|Placebo").any()


def test_second_cut_carries_the_first_look_from_the_previous_ard(rct):
    first = finalise(I.interim_rows(rct, mmrm_ard(-1.0, 0.4, 120), "2025-06-30"))
    prev_ard = pl.concat([mmrm_ard(-1.0, 0.4, 120), first], how="vertical")
    part = finalise(I.interim_rows(rct, mmrm_ard(-1.1, 0.3, 180), "2025-12-31", prev=prev_ard))
    s = wide(part, "GSD_STATUS")
    assert set(s) == {"LOOK 1", "LOOK 2"}
    one = wide(first, "GSD_STATUS")["LOOK 1"]
    for stat in ("info_frac", "z", "estimate", "se", "information", "n_observed"):
        assert s["LOOK 1"][stat] == pytest.approx(one[stat])
    assert s["LOOK 2"]["z"] == pytest.approx(1.1 / 0.3)
    planned = I.design(rct)
    t2 = (1 / 0.09) / I.max_information(rct, planned)
    expect = planned.at_fractions(gsd.monitoring_fractions(planned, [one["info_frac"], t2]))
    b = wide(part, "GSD_BOUNDARY")
    assert b["LOOK 2"]["info_frac"] == pytest.approx(t2)
    assert b["LOOK 2"]["z_efficacy"] == pytest.approx(expect.z_efficacy[1], abs=1e-9)
    # the efficacy bound of the earlier look does not move
    assert b["LOOK 1"]["z_efficacy"] == pytest.approx(
        wide(first, "GSD_BOUNDARY")["LOOK 1"]["z_efficacy"], abs=1e-12
    )
    cuts = part.filter((pl.col("analysis") == "GSD_STATUS") & (pl.col("stat") == "z"))
    assert cuts["method"][0].endswith("data cut 2025-06-30")
    assert cuts["method"][1].endswith("data cut 2025-12-31")
    info = part.filter(pl.col("analysis") == "GSD_INFO")
    assert set(info["avisit"]) == {"LOOK 2"}
    # the same cut re-analysed is not counted twice
    again = finalise(I.interim_rows(rct, mmrm_ard(-1.1, 0.3, 180), "2025-06-30", prev=prev_ard))
    assert set(wide(again, "GSD_STATUS")) == {"LOOK 1"}


def test_cut_looks_mapping(rct):
    st = study_with(rct, cut_looks={"2025-12-31": 2})
    not_a_look = finalise(I.interim_rows(st, mmrm_ard(-1.0, 0.4, 120), "2025-06-30"))
    assert not_a_look.filter(pl.col("analysis").is_in(["GSD_INFO", "GSD_STATUS"])).height == 0
    assert wide(not_a_look, "GSD_BOUNDARY")["DESIGN"]["current_look"] is None
    # look 2 without data for look 1: look 1 at its planned fraction, no statistics for it
    part = finalise(I.interim_rows(st, mmrm_ard(-1.1, 0.3, 180), "2025-12-31"))
    b = wide(part, "GSD_BOUNDARY")
    assert b["LOOK 1"]["info_frac"] == pytest.approx(0.5)
    assert set(wide(part, "GSD_STATUS")) == {"LOOK 2"}


def test_third_cut_takes_the_first_look_from_the_recorded_history(rct):
    # cut B was look 2 (its ARD, re-analysed without its own previous cut, holds look 2 only);
    # look 1 (cut A) is in interim.history as recorded at the time
    st = study_with(
        rct,
        cut_looks={"A": 1, "B": 2, "C": 3},
        history=[{"look": 1, "cut": "A", "info_frac": 0.4, "z": 1.5, "estimate": 0.9, "se": 0.6}],
    )
    part_b = finalise(I.interim_rows(st, mmrm_ard(-1.0, 0.4, 120), "B"))
    assert set(wide(part_b, "GSD_STATUS")) == {"LOOK 1", "LOOK 2"}
    prev = pl.concat(
        [
            mmrm_ard(-1.0, 0.4, 120),
            part_b.filter((pl.col("analysis") != "GSD_STATUS") | (pl.col("avisit") == "LOOK 2")),
        ],
        how="vertical",
    )
    part_c = finalise(I.interim_rows(st, mmrm_ard(-1.1, 0.28, 200), "C", prev=prev))
    s = wide(part_c, "GSD_STATUS")
    assert set(s) == {"LOOK 1", "LOOK 2", "LOOK 3"}
    assert s["LOOK 1"]["info_frac"] == 0.4 and s["LOOK 1"]["z"] == 1.5
    assert s["LOOK 2"]["z"] == pytest.approx(2.5)
    b = wide(part_c, "GSD_BOUNDARY")
    planned = I.design(st)
    t = [0.4, s["LOOK 2"]["info_frac"], s["LOOK 3"]["info_frac"]]
    expect = planned.at_fractions(gsd.monitoring_fractions(planned, t))
    for k in (1, 2, 3):
        assert b[f"LOOK {k}"]["z_efficacy"] == pytest.approx(expect.z_efficacy[k - 1], abs=1e-9)
    # a recorded look without statistics counts for the bounds only
    st2 = study_with(st, history=[{"look": 1, "cut": "A", "info_frac": 0.4}])
    part = finalise(I.interim_rows(st2, mmrm_ard(-1.0, 0.4, 120), "B"))
    assert set(wide(part, "GSD_STATUS")) == {"LOOK 2"}
    assert wide(part, "GSD_BOUNDARY")["LOOK 1"]["info_frac"] == 0.4


def test_information_that_does_not_increase_is_an_error(rct):
    first = finalise(I.interim_rows(rct, mmrm_ard(-1.0, 0.3, 120), "2025-06-30"))
    with pytest.raises(HepatrialError, match="do not increase"):
        I.interim_rows(rct, mmrm_ard(-1.0, 0.35, 130), "2025-12-31", prev=first)


def test_final_cut_spends_all_alpha(rct):
    st = study_with(rct, final_cut="2025-12-31")
    part = finalise(I.interim_rows(st, mmrm_ard(-1.0, 0.3, 180), "2025-12-31"))
    b = wide(part, "GSD_BOUNDARY")
    assert set(b) == {"LOOK 1", "DESIGN"}
    assert b["LOOK 1"]["alpha_cum"] == pytest.approx(0.025, abs=1e-12)
    assert b["LOOK 1"]["z_efficacy"] == pytest.approx(Z975, abs=1e-9)


def test_conditional_power_futility_rule(rct):
    st = study_with(rct, futility_spending=None, futility_cp=0.2, futility_cp_basis="trend")
    part = finalise(I.interim_rows(st, mmrm_ard(-0.1, 0.4, 120), "2025-06-30"))
    s = wide(part, "GSD_STATUS")["LOOK 1"]
    assert s["cp_trend"] < 0.2 and s["decision"] == -1
    dec = part.filter((pl.col("analysis") == "GSD_STATUS") & (pl.col("stat") == "decision"))
    assert dec["method"][0].startswith("stop for futility (non-binding): conditional power")
    b = wide(part, "GSD_BOUNDARY")
    zf = b["LOOK 1"]["z_futility_cp"]
    dsg = I.design(st).at_fractions([b["LOOK 1"]["info_frac"], 1.0])
    t = b["LOOK 1"]["info_frac"]
    assert gsd.conditional_power(dsg, 1, zf, zf / math.sqrt(t))[-1] == pytest.approx(0.2, abs=1e-8)
    assert b["LOOK 2"]["z_futility_cp"] is None
    ok = finalise(I.interim_rows(st, mmrm_ard(-1.0, 0.4, 120), "2025-06-30"))
    assert wide(ok, "GSD_STATUS")["LOOK 1"]["decision"] in (0, 1)


# --- config checks -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change, match",
    [
        ({"info_fractions": [0.6, 0.5, 1.0]}, "increase"),
        ({"info_fractions": [0.5, 0.9]}, "end at 1"),
        ({"looks": 3}, "3 looks"),
        ({"sides": 2}, "one-sided"),
        ({"analysis": "LOGRANK", "paramcd": "OS"}, "planned_events"),
        ({"analysis": "COX", "paramcd": None, "planned_events": 80}, "paramcd"),
        ({"design_effect": None}, "design_effect"),
        ({"efficacy_spending": "asHSD"}, "gamma or rho"),
        ({"test_arm": "Placebo"}, "not a test arm"),
        ({"paramcd": "BILI"}, "mmrm_params"),
        ({"history": [{"look": 1, "info_frac": 0.3, "z": 1.0}]}, "together"),
        ({"history": [{"look": 1, "info_frac": 0.3}, {"look": 1, "info_frac": 0.4}]}, "twice"),
    ],
)
def test_interim_config_checks(rct, change, match):
    st = study_with(rct, **change)
    with pytest.raises(ConfigError, match=match):
        check_interim(st.to_dict(), "study.yaml")


def test_mmrm_interim_of_a_study_with_a_time_to_event_primary_names_its_parameter(rct):
    """The MMRM monitored defaults to the primary endpoint; when that is a time to event the
    config must name the MMRM parameter (it was read as OS, an MMRM of survival)."""
    cfg = study_with(rct, paramcd=None).to_dict()
    cfg["endpoints"].update(primary_param="OS", key_secondary_visit=None)
    with pytest.raises(ConfigError, match="primary endpoint is a time to event: name the MMRM"):
        check_interim(cfg, "study.yaml")
    cfg["interim"]["paramcd"] = "MELDKAM"
    check_interim(cfg, "study.yaml")  # named: valid


# --- the closed report's section ---------------------------------------------------------------


def test_closed_report_section_from_the_part(rct):
    from hepatrial.report import content
    from hepatrial.report.blinding import presentation_spec
    from hepatrial.report.document import Figure, Table
    from hepatrial.tlf import tables as T

    first = finalise(I.interim_rows(rct, mmrm_ard(-1.0, 0.4, 120), "2025-06-30"))
    prev = pl.concat([mmrm_ard(-1.0, 0.4, 120), first], how="vertical")
    part = finalise(I.interim_rows(rct, mmrm_ard(-0.2, 0.3, 180), "2025-12-31", prev=prev))
    a = T.ARD(part, Study.from_presentation(presentation_spec(rct, by_arm=True)), "2025-12-31")
    sec = content.section_interim(a)
    tables = [b for b in sec.blocks if isinstance(b, Table)]
    figs = [b for b in sec.blocks if isinstance(b, Figure)]
    assert [t.title for t in tables] == [
        "Group-sequential design at the observed information fractions",
        "Status of the looks",
        "Conditional and predictive power",
    ]
    assert len(figs) == 1 and figs[0].png.startswith(b"\x89PNG")
    status = tables[1].rows
    assert [r[0] for r in status] == ["Look 1", "Look 2"]
    assert [r[1] for r in status] == ["2025-06-30", "2025-12-31"]
    z2 = 0.2 / 0.3
    assert status[1][6] == f"{z2:.3f}"
    assert [r[1] for r in tables[0].rows] == ["observed", "observed", "planned"]
    # the "(CP)" marker is explained under the design table only when a cell carries it
    marked = any("(CP)" in c for r in tables[0].rows for c in r)
    assert ("(CP):" in tables[0].note) == marked
    text = sec.blocks[0].text
    dec = part.filter((pl.col("stat") == "decision") & (pl.col("avisit") == "LOOK 2"))["method"][0]
    assert "(look 2; 2 looks planned)" in text and f'indicate "{dec}"' in text
    # a cut that is not a formal look: the earlier look's decision
    st = study_with(rct, cut_looks={"2025-06-30": 1})
    other = finalise(I.interim_rows(st, mmrm_ard(-0.2, 0.3, 180), "2025-12-31", prev=prev))
    g = content.gsd_view(other)
    assert content.interim_sentence(g).startswith("this data cut is not a formal look")
    assert content.section_interim(T.ARD(mmrm_ard(-1, 0.3, 9), a.study, "c")) is None


def test_design_table_explains_cp_only_for_a_cp_cell(rct, monkeypatch):
    """A futility cell from the conditional-power threshold carries "(CP)" and the note says what
    it is; without such a cell the note does not mention it (a footnote explains what is shown)."""
    from hepatrial.report import content
    from hepatrial.report.blinding import presentation_spec
    from hepatrial.report.document import Table
    from hepatrial.tlf import tables as T

    part = finalise(I.interim_rows(rct, mmrm_ard(-1.0, 0.4, 120), "2025-06-30"))
    a = T.ARD(part, Study.from_presentation(presentation_spec(rct, by_arm=True)), "2025-06-30")

    def design(sec):
        return next(b for b in sec.blocks if isinstance(b, Table))

    plain = design(content.section_interim(a))
    assert not any(c.endswith("(CP)") for r in plain.rows for c in r)
    assert "(CP)" not in plain.note
    view = content.gsd_view

    def with_cp(df):
        g = view(df)
        for b in g.bounds.values():
            b["z_futility"], b["z_futility_cp"] = None, 0.5
        return g

    monkeypatch.setattr(content, "gsd_view", with_cp)
    cp = design(content.section_interim(a))
    assert all(r[5] == "0.500 (CP)" for r in cp.rows)
    assert "(CP): the Z below which the conditional power" in cp.note

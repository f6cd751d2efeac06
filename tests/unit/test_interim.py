"""Interim monitoring wired to the ARD (hepatrial.analysis.interim): the information of a look
from the monitored analysis' rows, by hand; the GSD ARD part (boundaries, status, the pooled
open-safe GSD_INFO); looks across cuts from the previous cut's ARD; the config checks."""

from __future__ import annotations

import copy
import math
from pathlib import Path

import polars as pl
import pytest
from scipy import stats

from hepatrial.analysis import interim as I
from hepatrial.ard import ard_rows, finalise
from hepatrial.config import check_interim, load_study
from hepatrial.errors import ConfigError, HepatrialError
from hepatrial.models import gsd

ROOT = Path(__file__).resolve().parents[2]
Z975, Z80 = stats.norm.ppf(0.975), stats.norm.ppf(0.80)


@pytest.fixture(scope="module")
def rct():
    return load_study(ROOT / "config" / "studies" / "ucmsc-dc-rct.yaml")


def study_with(base: dict, **interim) -> dict:
    st = copy.deepcopy(base)
    st["interim"].update(interim)
    return st


def mmrm_ard(est: float, se: float, n: float, paramcd="MELD", visit="WEEK 24") -> pl.DataFrame:
    rows = [dict(analysis="MMRM_DIFF", paramcd=paramcd, population="ITT", arm="UC-MSC",
                 comparator="Placebo", avisit=visit, stat=s, value=v)
            for s, v in (("estimate", est), ("se", se), ("p", 0.01))]
    rows.append(dict(analysis="DESC", paramcd=paramcd, population="ITT", arm="ALL", avisit=visit,
                     stat="n", value=n))
    rows.append(dict(analysis="DESC", paramcd=paramcd, population="ITT", arm="UC-MSC",
                     avisit=visit, stat="n", value=n / 2))
    return ard_rows(rows)


def tte_ard(chisq: float, hr: float, lower: float, upper: float, paramcd="OS") -> pl.DataFrame:
    rows = [dict(analysis="LOGRANK", paramcd=paramcd, population="ITT", arm="UC-MSC",
                 comparator="Placebo", stat=s, value=v) for s, v in (("chisq", chisq), ("df", 1))]
    rows += [dict(analysis="COX", paramcd=paramcd, population="ITT", arm="UC-MSC",
                  comparator="Placebo", stat=s, value=v)
             for s, v in (("hr", hr), ("lower", lower), ("upper", upper))]
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
    look, note = I.current_look(st, tte_ard(1.0, float("nan"), float("nan"), float("nan")), 30,
                                1, "c")
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
    assert b["LOOK 1"]["z_efficacy"] == pytest.approx(wide(first, "GSD_BOUNDARY")["LOOK 1"]
                                                      ["z_efficacy"], abs=1e-12)
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

@pytest.mark.parametrize("change, match", [
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
])
def test_interim_config_checks(rct, change, match):
    st = study_with(rct, **change)
    with pytest.raises(ConfigError, match=match):
        check_interim(st, "study.yaml")

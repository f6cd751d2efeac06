"""DSMB summaries (ARD rows the reports add) and listings, on hand-written subjects."""

from __future__ import annotations

import datetime as dt

import polars as pl
from studies import make_study

from hepatrial.analysis import baseline
from hepatrial.report import summaries

D = dt.date
STUDY = make_study(
    populations={"ITT": "ITTFL", "SAFETY": "SAFFL"},
    planned_infusions=3,
    baseline_columns=["ETIOLOGY"],
    strata=[],
    visits=[
        {"label": "BASELINE", "avisitn": 0, "target_day": 1, "window": [-14, 1], "baseline": True},
        {"label": "WEEK 4", "avisitn": 4, "target_day": 29, "window": [15, 42]},
        {"label": "WEEK 8", "avisitn": 8, "target_day": 57, "window": [43, 70]},
    ],
    endpoints={"primary_visit": "WEEK 8"},
)


def _adsl():
    return pl.DataFrame(
        {
            "USUBJID": ["S1", "S2", "S3", "S4", "S5"],
            "SITEID": ["01", "01", "02", "02", "02"],
            "TRT01P": ["Active", "Control", "Active", "Control", None],
            "TRT01A": ["Active", "Control", "Active", "Control", None],
            "ITTFL": ["Y", "Y", "Y", "Y", "N"],
            "SAFFL": ["Y", "Y", "Y", "N", "N"],
            "AGE": [50.0, 60.0, 40.0, 70.0, 30.0],
            "SEX": ["M", "F", "M", "M", "F"],
            "RACE": ["A"] * 5,
            "ETIOLOGY": ["HBV", "HBV", "PBC", None, "HBV"],
            "BLMELD": [10.0, 20.0, None, 15.0, None],
            "BLCTPS": [7.0, 8.0, 9.0, 10.0, None],
            "BLCTPC": ["B", "B", "B", "C", None],
            "NINFUS": [3, 1, 2, 0, 0],
            "RANDDT": [D(2024, 1, 10), D(2024, 1, 20), D(2024, 2, 5), D(2024, 3, 1), None],
            "ORIGDT": [D(2024, 1, 10), D(2024, 1, 20), D(2024, 2, 5), D(2024, 3, 1), None],
            "EOSSTT": ["ONGOING", "DISCONTINUED", "ONGOING", "ONGOING", "DISCONTINUED"],
            "DCSREAS": [None, "DEATH", None, None, "SCREEN FAILURE"],
            "LSTALVDT": [D(2024, 3, 20), D(2024, 2, 1), D(2024, 3, 5), D(2024, 3, 1), None],
            "DTHFL": [None, "Y", None, None, None],
            "DTHDT": [None, D(2024, 2, 10), None, None, None],
            "LTXDT": [None, None, D(2024, 3, 1), None, None],
            "TRTEDT": [D(2024, 3, 1), D(2024, 1, 20), D(2024, 2, 5), None, None],
        }
    )


def _get(ard, analysis, paramcd, arm, stat, avisit=""):
    r = ard.filter(
        (pl.col("analysis") == analysis)
        & (pl.col("paramcd") == paramcd)
        & (pl.col("arm") == arm)
        & (pl.col("stat") == stat)
        & (pl.col("avisit") == avisit)
    )
    assert r.height == 1, (analysis, paramcd, arm, stat, avisit, r)
    return r["value"][0]


def test_baseline_rows_the_reports_show_by_planned_arm_and_pooled():
    ard = baseline.baseline_characteristics(_adsl(), STUDY)
    assert (
        _get(ard, "BASELINE", "AGE", "ALL", "n") == 4
        and _get(ard, "BASELINE", "AGE", "ALL", "mean") == 55.0
    )
    assert _get(ard, "BASELINE", "AGE", "Active", "median") == 45.0
    assert _get(ard, "BASELINE", "BLMELD", "Active", "n") == 1
    assert _get(ard, "BASELINE", "ETIOLOGY=Missing", "Control", "n") == 1
    assert _get(ard, "BASELINE", "SEX=M", "ALL", "pct") == 75.0


def test_exposure_rows_the_reports_show_count_infusions_and_never_doses():
    ard = baseline.exposure(_adsl(), STUDY)
    assert _get(ard, "EXPOSURE", "NINFUS", "ALL", "n") == 3  # safety population: S1, S2, S3
    assert _get(ard, "EXPOSURE", "NINFUS=3", "Active", "n") == 1
    assert (
        _get(ard, "EXPOSURE", "NINFUS=0", "ALL", "n") == 0
    )  # planned levels shown even when empty
    assert not any("DOSE" in p for p in ard["paramcd"].to_list())


def test_deaths_and_transplants():
    ard = summaries.summarise_deaths(_adsl(), STUDY)
    assert (
        _get(ard, "DEATHS", "DEATH", "ALL", "n") == 1
        and _get(ard, "DEATHS", "DEATH", "Control", "pct") == 50.0
    )
    assert (
        _get(ard, "DEATHS", "LTX", "Active", "n") == 1
        and _get(ard, "DEATHS", "DEATH OR LTX", "ALL", "n") == 2
    )


def test_enrolment_by_month_and_site_cumulative():
    ard = summaries.summarise_enrolment(_adsl(), STUDY)
    assert _get(ard, "ENROLMENT", "ALL SITES", "ALL", "n", "2024-01") == 2
    assert _get(ard, "ENROLMENT", "ALL SITES", "ALL", "n_cum", "2024-03") == 4
    assert _get(ard, "ENROLMENT", "SITE 02", "ALL", "n_cum", "2024-02") == 1
    assert _get(ard, "ENROLMENT", "SITE 01", "Control", "n_cum", "2024-03") == 1
    assert (
        _get(ard, "ENROLMENT", "SCREENED", "ALL", "n") == 5
        and _get(ard, "ENROLMENT", "SCREEN FAILURE", "ALL", "n") == 1
    )


def test_enrolment_of_a_design_counted_from_the_first_dose_says_enrolled():
    """A design without randomisation (single arm, dose escalation): the ITT subjects are
    enrolled and dosed, not randomised; the counts are the same."""
    ard = summaries.summarise_enrolment(_adsl(), STUDY)
    single = STUDY.replace(
        study={**STUDY.to_dict()["study"], "design": "single_arm"},
        arms=[{"label": "Active"}, {"label": "Control"}],
        origin="first_dose",
    )
    assert STUDY.allocated == "randomised" and single.allocated == "enrolled and dosed"
    first = summaries.summarise_enrolment(_adsl(), single)
    methods = set(first.filter(pl.col("analysis") == "ENROLMENT")["method"].drop_nulls())
    assert {
        "enrolled and dosed in the month",
        "enrolled and dosed by the end of the month",
    } <= methods
    assert not any("randomised" in m for m in methods)
    assert "randomised in the month" in set(ard["method"].drop_nulls())
    assert first.drop("method").equals(ard.drop("method"))


def test_missed_and_overdue_visits():
    # cut 2024-03-20. S1: origin 01-10, cut day 71 -> WEEK 4 (15-42) and WEEK 8 (43-70) expected;
    #   visits on day 29 only -> WEEK 8 missed. S2 died day 22 (02-10): follow-up ends day 13 at last alive
    #   (02-01) -> nothing expected. S3: origin 02-05, cut day 45: WEEK 4 expected and attended (day 29, no lab);
    #   WEEK 8 target 57 not reached -> not overdue. S4: origin 03-01, cut day 20: nothing due.
    sv = pl.DataFrame({"USUBJID": ["S1", "S3"], "SVSTDTC": ["2024-02-07", "2024-03-04"]})
    adlb = pl.DataFrame({"USUBJID": ["S1"], "ADY": [29]})
    ard = summaries.summarise_visits(_adsl(), sv, adlb, STUDY, D(2024, 3, 20))
    assert _get(ard, "DQ_VISITS", "VISITS", "ALL", "expected", "WEEK 4") == 2
    assert _get(ard, "DQ_VISITS", "VISITS", "ALL", "missed", "WEEK 4") == 0
    assert _get(ard, "DQ_VISITS", "VISITS", "ALL", "no_lab_data", "WEEK 4") == 1
    assert _get(ard, "DQ_VISITS", "VISITS", "Active", "missed", "WEEK 8") == 1
    assert _get(ard, "DQ_VISITS", "VISITS", "ALL", "overdue", "WEEK 8") == 0
    # at cut 2024-04-05 S3 is on day 61: WEEK 8 target passed, window open, no visit -> overdue
    later = summaries.summarise_visits(_adsl(), sv, adlb, STUDY, D(2024, 4, 5))
    assert _get(later, "DQ_VISITS", "VISITS", "ALL", "overdue", "WEEK 8") == 1


def test_findings_summary_by_domain_severity_rule():
    f = pl.DataFrame(
        {
            "severity": ["WARNING", "WARNING", "ERROR"],
            "domain": ["LB", "LB", "AE"],
            "USUBJID": ["S1", "S1", None],
            "rule": ["R1", "R1", "R2"],
        }
    )
    ard = summaries.summarise_findings(f)
    assert _get(ard, "DQ_FINDINGS", "LB|WARNING|R1", "ALL", "n") == 2
    assert _get(ard, "DQ_FINDINGS", "LB|WARNING|R1", "ALL", "n_subjects") == 1
    assert set(ard["arm"].to_list()) == {"ALL"}


def test_death_listing_has_day_and_fatal_terms():
    adae = pl.DataFrame(
        {
            "USUBJID": ["S2", "S2"],
            "AEDECOD": ["Sepsis", "Hepatic failure"],
            "FATALFL": ["Y", "Y"],
            "AEOUT": ["FATAL", "FATAL"],
        }
    )
    out = summaries.list_deaths(_adsl(), adae)
    assert out.to_dicts() == [
        {
            "USUBJID": "S2",
            "SITEID": "01",
            "arm": "Control",
            "DTHDT": D(2024, 2, 10),
            "DTHDY": 22,
            "DLINFDY": 21,
            "CAUSE": "Hepatic failure; Sepsis",
            "LTXDT": None,
        }
    ]


def test_death_causes_count_each_fatal_term_and_deaths_without_one():
    adae = pl.DataFrame(
        {
            "USUBJID": ["S2", "S2", "S1"],
            "AEDECOD": ["Sepsis", "Hepatic failure", "Pyrexia"],
            "FATALFL": ["Y", "Y", None],
            "AEOUT": ["FATAL", "FATAL", "RECOVERED"],
        }
    )
    adsl = _adsl().with_columns(
        pl.when(pl.col("USUBJID") == "S3")
        .then(pl.lit("Y"))
        .otherwise(pl.col("DTHFL"))
        .alias("DTHFL")
    )
    ard = summaries.summarise_death_causes(adsl, adae, STUDY)
    # S2 (Control) died of two fatal AEs; S3 (Active) died with none recorded. ITT: 2 per arm.
    assert _get(ard, "DEATH_CAUSE", "Sepsis", "Control", "n") == 1
    assert _get(ard, "DEATH_CAUSE", "Sepsis", "Control", "pct") == 50.0
    assert _get(ard, "DEATH_CAUSE", "Hepatic failure", "ALL", "n") == 1
    assert _get(ard, "DEATH_CAUSE", "No fatal AE recorded", "Active", "n") == 1
    assert _get(ard, "DEATH_CAUSE", "Sepsis", "Active", "n") == 0


def test_without_adae_the_cause_of_each_death_is_not_available_not_none_recorded():
    """A cut of ADaM datasets without ADAE: a death's cause is not known; "No fatal AE recorded"
    would say the AEs were looked at. The death listing says the same."""
    adsl = _adsl()
    no_adae = pl.DataFrame(
        schema=dict.fromkeys(["USUBJID", "AEDECOD", "FATALFL", "AEOUT"], pl.Utf8)
    )
    ard = summaries.summarise_death_causes(adsl, no_adae, STUDY, ae_recorded=False)
    assert set(ard["paramcd"]) == {summaries.CAUSE_UNKNOWN}
    assert _get(ard, "DEATH_CAUSE", summaries.CAUSE_UNKNOWN, "Control", "n") == 1  # S2 died
    assert _get(ard, "DEATH_CAUSE", summaries.CAUSE_UNKNOWN, "Active", "n") == 0
    assert summaries.death_causes(adsl, no_adae, False)["CAUSE"].to_list() == [
        summaries.CAUSE_UNKNOWN
    ]
    recorded = summaries.summarise_death_causes(adsl, no_adae, STUDY)
    assert set(recorded["paramcd"]) == {summaries.NO_FATAL_AE}  # an empty ADAE: none recorded


def test_the_reports_own_part_holds_no_analysis_of_the_tables_step():
    """BASELINE, EXPOSURE and LAB_SHIFT come from the ARD (hepatrial.analysis.baseline) only: the
    reports' step makes no second set of them."""
    adae = pl.DataFrame(
        {"USUBJID": ["S2"], "AEDECOD": ["Sepsis"], "FATALFL": ["Y"], "AEOUT": ["FATAL"]}
    )
    adlb = pl.DataFrame({"USUBJID": ["S1"], "ADY": [29]})
    sv = pl.DataFrame({"USUBJID": ["S1"], "SVSTDTC": ["2024-02-07"]})
    findings = pl.DataFrame(
        {"domain": ["LB"], "severity": ["WARNING"], "rule": ["R1"], "USUBJID": ["S1"]}
    )
    part = summaries.build_summaries(_adsl(), adae, adlb, sv, findings, STUDY, D(2024, 3, 31))
    assert set(part["analysis"].unique().to_list()) == {
        "DEATHS",
        "DEATH_CAUSE",
        "ENROLMENT",
        "DQ_VISITS",
        "DQ_FINDINGS",
    }


def test_visits_attended_by_nominal_visit():
    # windowing nominal: S1's SV visit on day 29 is recorded as VISIT "WEEK 8" (a data error the date
    # check flags) -> WEEK 4 missed and WEEK 8 attended, by VISIT not by date; lab data by ADLB AVISIT.
    s = make_study(
        **{
            **{k: STUDY.config[k] for k in ("populations", "visits", "endpoints")},
            "planned_infusions": 3,
            "baseline_columns": ["ETIOLOGY"],
            "windowing": "nominal",
        }
    )
    sv = pl.DataFrame(
        {
            "USUBJID": ["S1", "S3"],
            "SVSTDTC": ["2024-02-07", "2024-03-04"],
            "VISIT": ["WEEK 8", "week 4"],
        }
    )
    adlb = pl.DataFrame({"USUBJID": ["S1"], "ADY": [29], "AVISIT": ["WEEK 8"]})
    ard = summaries.summarise_visits(_adsl(), sv, adlb, s, D(2024, 3, 20))
    assert (
        _get(ard, "DQ_VISITS", "VISITS", "Active", "missed", "WEEK 4") == 1
    )  # S1 (S3 attended, "week 4")
    assert _get(ard, "DQ_VISITS", "VISITS", "Active", "attended", "WEEK 8") == 1
    assert _get(ard, "DQ_VISITS", "VISITS", "ALL", "no_lab_data", "WEEK 8") == 0
    assert (
        _get(ard, "DQ_VISITS", "VISITS", "ALL", "no_lab_data", "WEEK 4") == 1
    )  # S3: no ADLB at WEEK 4


def test_deaths_not_recorded_are_not_available_and_transplants_still_counted():
    """A cut of ADaM datasets whose ADSL has neither DTHFL nor DTHDT (the entry's finding
    DEATHS_NOT_RECORDED): the death rows carry no value and say why; transplants (LTXDT) are
    counted as ever."""
    adsl = _adsl().with_columns(
        pl.when(pl.col("USUBJID") == "S1").then(D(2024, 5, 1)).otherwise(None).alias("LTXDT")
    )
    findings = pl.DataFrame({"rule": ["DEATHS_NOT_RECORDED"], "domain": ["ADSL"]})
    assert not summaries.deaths_recorded(findings)
    assert summaries.deaths_recorded(pl.DataFrame({"rule": ["COLUMN_ABSENT"]}))
    assert summaries.deaths_recorded(pl.DataFrame(schema={"rule": pl.Utf8}))
    ard = summaries.summarise_deaths(adsl, STUDY, recorded=False)
    death = ard.filter(pl.col("paramcd") != "LTX")
    assert death["value"].null_count() == death.height > 0
    assert set(death["method"]) == {summaries.NO_DEATHS}
    assert _get(ard, "DEATHS", "LTX", "Active", "n") == 1  # S1
    assert _get(ard, "DEATHS", "LTX", "ALL", "pct") == 25.0  # 1 of the 4 ITT subjects
    known = summaries.summarise_deaths(adsl, STUDY)
    assert _get(known, "DEATHS", "DEATH", "Control", "n") == 1  # S2, DTHFL Y

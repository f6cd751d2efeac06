"""hepatrial.analysis.survival.survival_ard on small hand-made ADTTE frames.

The estimators themselves are tested against R in tests/reference/; here: which ARD rows come out
(keys, pooled rows, designs, strata), hand-computed values that show the wiring (arms, population,
CRCODE -> CIF paramcd), and sparse data that must not crash.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from studies import make_study

from hepatrial.analysis.survival import (
    CIF_TABLE_SCHEMA,
    cif_steps,
    derive_var_stratum,
    survival_ard,
)
from hepatrial.ard import KEYS, finalise
from hepatrial.spec import Study
from hepatrial.survival import cox_ph, gray_test, logrank_test

# arm A (test): 1 death, 2 censored, 3 transplant, 4 censored
# arm B (reference): 1 censored, 2 death, 5 death, 6 censored
BASE = [
    ("S01", "A", 1.0, 0, 2, "M"),
    ("S02", "A", 2.0, 1, 0, "M"),
    ("S03", "A", 3.0, 0, 3, "F"),
    ("S04", "A", 4.0, 1, 0, "F"),
    ("S05", "B", 1.0, 1, 0, "M"),
    ("S06", "B", 2.0, 0, 2, "F"),
    ("S07", "B", 5.0, 0, 2, "F"),
    ("S08", "B", 6.0, 1, 0, "M"),
]


def adtte(records=BASE, paramcd="TFS", ittfl=None) -> pl.DataFrame:
    cols = ("USUBJID", "TRT01P", "AVAL", "CNSR", "CRCODE", "SEX")
    data = {c: [r[i] for r in records] for i, c in enumerate(cols)}
    return pl.DataFrame(
        {**data, "PARAMCD": [paramcd] * len(records), "ITTFL": ittfl or ["Y"] * len(records)},
        schema={
            "USUBJID": pl.Utf8,
            "TRT01P": pl.Utf8,
            "AVAL": pl.Float64,
            "CNSR": pl.Int64,
            "CRCODE": pl.Int64,
            "SEX": pl.Utf8,
            "PARAMCD": pl.Utf8,
            "ITTFL": pl.Utf8,
        },
    )


def study(
    arms=("A", "B"), reference="B", design="parallel", strata=(), landmarks=(2, 5), **extra
) -> Study:
    return make_study(
        study={"id": "T", "design": design},
        arms=[{"label": a, "reference": a == reference} for a in arms],
        strata=list(strata),
        populations={"ITT": "ITTFL"},
        endpoints={"landmarks_days": list(landmarks)},
        **extra,
    )


def val(ard, analysis, arm, stat, time=None, paramcd=None, comparator=None):
    f = ard.filter(
        (pl.col("analysis") == analysis) & (pl.col("arm") == arm) & (pl.col("stat") == stat)
    )
    if paramcd is not None:
        f = f.filter(pl.col("paramcd") == paramcd)
    f = f.filter(pl.col("time").is_null() if time is None else pl.col("time") == time)
    if comparator is not None:
        f = f.filter(pl.col("comparator") == comparator)
    assert f.height == 1, (analysis, arm, stat, time, f)
    return f["value"][0]


def method(ard, analysis, arm=None):
    f = ard.filter(pl.col("analysis") == analysis)
    if arm is not None:
        f = f.filter(pl.col("arm") == arm)
    return set(f["method"])


def keys(ard) -> set[tuple]:
    return set(ard.select("analysis", "paramcd", "arm", "comparator").unique().iter_rows())


# ----------------------------------------------------------------------------- row keys
def test_parallel_two_arms_row_keys():
    ard, _ = survival_ard(adtte(), study(), "TFS")
    assert keys(ard) == {
        *{("KM", "TFS", a, "") for a in ("A", "B", "ALL")},
        *{("KM_MEDIAN", "TFS", a, "") for a in ("A", "B", "ALL")},
        *{("KM_EVENTS", "TFS", a, "") for a in ("A", "B", "ALL")},
        *{("CIF", p, a, "") for p in ("TFS_DEATH", "TFS_LTX") for a in ("A", "B", "ALL")},
        ("LOGRANK", "TFS", "A", "B"),
        ("COX", "TFS", "A", "B"),
        ("GRAY", "TFS_DEATH", "A", "B"),
        ("GRAY", "TFS_LTX", "A", "B"),
    }
    km = ard.filter(pl.col("analysis") == "KM")
    assert sorted(km["time"].unique().to_list()) == [2.0, 5.0]
    assert set(km["stat"]) == {"surv", "se", "lower", "upper", "n_risk", "n_event_cum"}
    assert set(ard.filter(pl.col("analysis") == "CIF")["stat"]) == {"cif", "se", "lower", "upper"}
    assert set(ard.filter(pl.col("analysis") == "COX")["stat"]) == {"hr", "lower", "upper", "p"}
    assert set(ard.filter(pl.col("analysis") == "LOGRANK")["stat"]) == {"chisq", "df", "p"}
    assert set(ard["population"]) == {"ITT"}
    assert set(ard["avisit"]) == {""}
    assert ard.filter(pl.col("analysis") == "KM").height == 3 * 2 * 6  # arms x landmarks x stats
    # the key is unique and the part passes the ARD checks
    assert finalise(ard).select(KEYS).is_duplicated().sum() == 0


def test_km_values_by_arm_and_pooled():
    ard, _ = survival_ard(adtte(), study(), "TFS")
    assert val(ard, "KM", "A", "surv", 2) == pytest.approx(0.75)
    assert val(ard, "KM", "A", "se", 2) == pytest.approx(0.75 * math.sqrt(1 / 12))
    assert val(ard, "KM", "A", "surv", 5) == pytest.approx(0.375)
    assert val(ard, "KM", "B", "surv", 2) == pytest.approx(2 / 3)
    assert val(ard, "KM", "B", "surv", 5) == pytest.approx(1 / 3)
    assert val(ard, "KM", "ALL", "surv", 2) == pytest.approx(35 / 48)
    assert val(ard, "KM", "ALL", "surv", 5) == pytest.approx(105 / 384)
    # at risk = time >= t; events cumulated to t; pooled = sum of the arms
    assert [val(ard, "KM", a, "n_risk", 2) for a in ("A", "B", "ALL")] == [3, 3, 6]
    assert [val(ard, "KM", a, "n_risk", 5) for a in ("A", "B", "ALL")] == [0, 2, 2]
    assert [val(ard, "KM", a, "n_event_cum", 5) for a in ("A", "B", "ALL")] == [2, 2, 4]
    assert [val(ard, "KM_MEDIAN", a, "median") for a in ("A", "B", "ALL")] == [3.0, 5.0, 5.0]
    assert method(ard, "KM") == {"KM log-log Greenwood"}
    # KM_EVENTS by hand: arm A 2 events (S01, S03) of 4, arm B 2 (S06, S07) of 4
    assert [val(ard, "KM_EVENTS", a, "n_event") for a in ("A", "B", "ALL")] == [2, 2, 4]
    assert [val(ard, "KM_EVENTS", a, "n_censor") for a in ("A", "B", "ALL")] == [2, 2, 4]
    assert val(ard, "KM_EVENTS", "ALL", "pct_event") == pytest.approx(50.0)


def test_cif_paramcds_follow_crcode():
    ard, _ = survival_ard(adtte(), study(), "TFS")
    # arm A: death at 1 (CRCODE 2) of 4 at risk; transplant at 3 (CRCODE 3), S(3-) = 3/4, 2 at risk
    assert val(ard, "CIF", "A", "cif", 2, "TFS_DEATH") == pytest.approx(0.25)
    assert val(ard, "CIF", "A", "cif", 2, "TFS_LTX") == 0.0
    # the log-log CI is undefined at 0 (R: NA)
    assert math.isnan(val(ard, "CIF", "A", "lower", 2, "TFS_LTX"))
    assert val(ard, "CIF", "A", "cif", 5, "TFS_LTX") == pytest.approx(0.375)
    for arm in ("A", "B", "ALL"):
        for t in (2, 5):
            total = val(ard, "CIF", arm, "cif", t, "TFS_DEATH") + val(
                ard, "CIF", arm, "cif", t, "TFS_LTX"
            )
            assert total == pytest.approx(1 - val(ard, "KM", arm, "surv", t))


def test_cif_of_a_clinical_event_parameter_and_none_for_os():
    # CRCODE 1 = the event of interest, 2 = death
    recs = [(s, a, t, c, {2: 1, 3: 2}.get(cr, cr), x) for s, a, t, c, cr, x in BASE]
    ard, _ = survival_ard(adtte(recs, "DECOMP"), study(), "DECOMP")
    assert set(ard.filter(pl.col("analysis") == "CIF")["paramcd"]) == {
        "DECOMP",
        "DECOMP_DEATH",
        "DECOMP_LTX",
    }
    assert val(ard, "CIF", "A", "cif", 2, "DECOMP") == pytest.approx(0.25)
    assert val(ard, "CIF", "A", "cif", 5, "DECOMP_DEATH") == pytest.approx(0.375)
    assert val(ard, "CIF", "ALL", "cif", 5, "DECOMP_LTX") == 0.0  # no transplants: 0, not an error
    ltx = ard.filter((pl.col("analysis") == "GRAY") & (pl.col("paramcd") == "DECOMP_LTX"))
    assert ltx["value"].is_nan().all() and "no events of this cause" in ltx["method"][0]
    os_ = adtte([(s, a, t, c, 1 if c == 0 else 0, x) for s, a, t, c, _, x in BASE], "OS")
    ard, _ = survival_ard(os_, study(), "OS")
    assert set(ard["analysis"]) == {"KM", "KM_EVENTS", "KM_MEDIAN", "LOGRANK", "COX"}


def test_comparisons_match_the_estimators_with_the_reference_arm():
    ard, _ = survival_ard(adtte(), study(), "TFS")
    d = adtte()
    ev = (d["CNSR"] == 0).cast(pl.Int64)
    lr = logrank_test(d["AVAL"], ev, d["TRT01P"])
    assert val(ard, "LOGRANK", "A", "chisq", comparator="B") == pytest.approx(lr.chisq, abs=1e-12)
    assert val(ard, "LOGRANK", "A", "df") == 1.0
    cox = cox_ph(d["AVAL"], ev, d["TRT01P"], reference="B").table.row(0, named=True)
    assert cox["arm"] == "A"
    assert val(ard, "COX", "A", "hr", comparator="B") == pytest.approx(cox["hr"], rel=1e-12)
    assert method(ard, "COX") == {"Cox Efron, Wald CI"}
    g = gray_test(d["AVAL"], d["CRCODE"], d["TRT01P"], cause=3)
    assert val(ard, "GRAY", "A", "chisq", paramcd="TFS_LTX") == pytest.approx(g.chisq, abs=1e-12)


def test_breslow_ties_from_the_config():
    d = adtte()
    ard, _ = survival_ard(d, study(survival={"ties": "breslow"}), "TFS")
    ev = (d["CNSR"] == 0).cast(pl.Int64)
    hr = cox_ph(d["AVAL"], ev, d["TRT01P"], reference="B", ties="breslow").table["hr"][0]
    assert val(ard, "COX", "A", "hr") == pytest.approx(hr, rel=1e-12)
    assert method(ard, "COX") == {"Cox Breslow, Wald CI"}


# ----------------------------------------------------------------------------- designs and strata
@pytest.mark.parametrize("design", ["single_arm", "dose_escalation"])
def test_no_comparisons_without_a_parallel_design(design):
    d = adtte().with_columns(pl.col("TRT01P").replace({"A": "Cohort 1", "B": "Cohort 2"}))
    cfg = study(arms=("Cohort 1", "Cohort 2"), reference=None, design=design)
    ard, km = survival_ard(d, cfg, "TFS")
    assert set(ard["analysis"]) == {"KM", "KM_EVENTS", "KM_MEDIAN", "CIF"}
    assert set(ard["arm"]) == {"Cohort 1", "Cohort 2", "ALL"}
    assert set(ard["comparator"]) == {""}
    assert km["arm"].unique().sort().to_list() == ["ALL", "Cohort 1", "Cohort 2"]


def test_stratified_primary_and_unstratified_sensitivity():
    d = adtte()
    ard, _ = survival_ard(d, study(strata=["SEX"]), "TFS")
    ev = (d["CNSR"] == 0).cast(pl.Int64)
    lr_s = logrank_test(d["AVAL"], ev, d["TRT01P"], d["SEX"])
    lr_u = logrank_test(d["AVAL"], ev, d["TRT01P"])
    assert lr_s.chisq != pytest.approx(lr_u.chisq)
    assert val(ard, "LOGRANK", "A", "chisq") == pytest.approx(lr_s.chisq, abs=1e-12)
    assert val(ard, "LOGRANK_UNSTRAT", "A", "chisq") == pytest.approx(lr_u.chisq, abs=1e-12)
    assert method(ard, "LOGRANK") == {"log-rank stratified by SEX"}
    assert method(ard, "LOGRANK_UNSTRAT") == {"log-rank"}
    assert method(ard, "COX") == {"Cox Efron, Wald CI, stratified by SEX"}
    assert method(ard, "GRAY") == {"Gray rho=0, stratified by SEX"}
    g_s = gray_test(d["AVAL"], d["CRCODE"], d["TRT01P"], cause=3, strata=d["SEX"])
    g_u = gray_test(d["AVAL"], d["CRCODE"], d["TRT01P"], cause=3)
    assert g_s.chisq != pytest.approx(g_u.chisq)
    assert val(ard, "GRAY", "A", "chisq", paramcd="TFS_LTX") == pytest.approx(g_s.chisq, abs=1e-12)
    assert val(ard, "GRAY_UNSTRAT", "A", "chisq", paramcd="TFS_LTX") == pytest.approx(
        g_u.chisq, abs=1e-12
    )
    cox_s = cox_ph(d["AVAL"], ev, d["TRT01P"], reference="B", strata=d["SEX"]).table["hr"][0]
    assert val(ard, "COX", "A", "hr") == pytest.approx(cox_s, rel=1e-12)
    assert {"COX_UNSTRAT", "GRAY_UNSTRAT"} <= set(ard["analysis"])


def test_time_to_event_primary_endpoint_rows_carry_the_role():
    """endpoints.primary_param OS with primary_landmark_days 5: the ITT log-rank test (the
    stratified one, the primary variant) and Cox model of OS and its KM estimates at day 5 end
    their method with '; PRIMARY ENDPOINT'; the unstratified sensitivity tests, the other
    landmark, another parameter and another population do not; the values are unchanged."""
    st = make_study(
        study={"id": "T", "design": "parallel"},
        arms=[{"label": "A"}, {"label": "B", "reference": True}],
        strata=["SEX"],
        populations={"ITT": "ITTFL"},
        endpoints={
            "landmarks_days": [2, 5],
            "tte": ["TFS", "OS"],
            "primary_param": "OS",
            "primary_landmark_days": 5,
        },
    )
    assert st.primary_is_tte
    ard, _ = survival_ard(adtte(paramcd="OS"), st, "OS")
    role = "; PRIMARY ENDPOINT"
    assert method(ard, "LOGRANK") == {"log-rank stratified by SEX" + role}
    assert method(ard, "COX") == {"Cox Efron, Wald CI, stratified by SEX" + role}
    assert method(ard, "LOGRANK_UNSTRAT") == {"log-rank"}
    assert method(ard, "COX_UNSTRAT") == {"Cox Efron, Wald CI"}
    km = ard.filter(pl.col("analysis") == "KM")
    assert set(km.filter(pl.col("time") == 5)["method"]) == {"KM log-log Greenwood" + role}
    assert set(km.filter(pl.col("time") == 2)["method"]) == {"KM log-log Greenwood"}
    assert method(ard, "KM_MEDIAN") == {"KM median, log-log CI"}
    # the same numbers as a study whose primary endpoint is the MMRM
    plain, _ = survival_ard(adtte(paramcd="OS"), study(strata=["SEX"], landmarks=(2, 5)), "OS")
    assert ard.drop("method").equals(plain.drop("method"))
    assert not any(role in m for m in plain["method"])
    # another parameter of the same study, and another population of OS: no role
    tfs, _ = survival_ard(adtte(), st, "TFS")
    assert not any(role in m for m in tfs["method"])
    ittfl = ["Y"] * len(BASE)
    d = adtte(paramcd="OS", ittfl=ittfl).with_columns(SAFFL=pl.lit("Y"), TRT01A=pl.col("TRT01P"))
    st_saf = st.replace(populations={"ITT": "ITTFL", "SAFETY": "SAFFL"})
    saf, _ = survival_ard(d, st_saf, "OS", population="SAFETY")
    assert not any(role in m for m in saf["method"])


def test_strata_not_in_adtte_fall_back_to_unstratified_with_a_note():
    ard, _ = survival_ard(adtte(), study(strata=["CTPSTRAT"]), "TFS")
    assert "LOGRANK_UNSTRAT" not in set(ard["analysis"])
    assert method(ard, "LOGRANK") == {"log-rank (strata CTPSTRAT not in ADTTE: not used)"}


def test_stratum_combines_columns_and_is_missing_when_any_part_is():
    d = pl.DataFrame({"S1": ["M", "F", None], "S2": ["B", "C", "C"]})
    assert derive_var_stratum(d, ["S1", "S2"])["_STRATUM"].to_list() == ["M/B", "F/C", None]


def test_three_arms_overall_and_pairwise_tests():
    extra = [
        ("S09", "C", 1.5, 0, 2, "M"),
        ("S10", "C", 2.5, 0, 3, "F"),
        ("S11", "C", 3.5, 1, 0, "M"),
    ]
    ard, _ = survival_ard(adtte(BASE + extra), study(arms=("A", "C", "B")), "TFS")
    assert val(ard, "LOGRANK", "ALL", "df", comparator="") == 2.0
    assert method(ard, "LOGRANK", "ALL") == {"log-rank, 3 arms"}
    for arm in ("A", "C"):
        assert val(ard, "LOGRANK", arm, "df", comparator="B") == 1.0
        assert val(ard, "COX", arm, "hr", comparator="B") > 0
    assert val(ard, "GRAY", "ALL", "df", paramcd="TFS_DEATH", comparator="") == 2.0
    two = adtte(BASE + extra).filter(pl.col("TRT01P").is_in(["C", "B"]))
    lr = logrank_test(two["AVAL"], (two["CNSR"] == 0).cast(pl.Int64), two["TRT01P"])
    assert val(ard, "LOGRANK", "C", "chisq") == pytest.approx(lr.chisq, abs=1e-12)


# ----------------------------------------------------------------------------- sparse data
def test_population_flag_selects_subjects():
    ard, _ = survival_ard(adtte(ittfl=["Y"] * 7 + ["N"]), study(), "TFS")
    assert val(ard, "KM", "B", "n_risk", 2) == 2
    assert val(ard, "KM", "ALL", "n_risk", 2) == 5


def test_parameter_with_zero_events_does_not_crash():
    recs = [(s, a, t, 1, 0, x) for s, a, t, _, _, x in BASE]
    ard, km = survival_ard(adtte(recs), study(strata=["SEX"]), "TFS")
    assert val(ard, "KM", "ALL", "surv", 5) == 1.0
    assert math.isnan(val(ard, "KM", "ALL", "lower", 5))  # log-log undefined at S = 1 (R: NA)
    assert math.isnan(val(ard, "KM_MEDIAN", "A", "median"))
    for analysis in ("LOGRANK", "LOGRANK_UNSTRAT", "COX", "COX_UNSTRAT", "GRAY", "GRAY_UNSTRAT"):
        rows = ard.filter(pl.col("analysis") == analysis)
        assert rows.height > 0 and rows["value"].is_nan().all(), analysis
        assert all("not estimable: no events" in m for m in rows["method"]), analysis
    assert val(ard, "CIF", "A", "cif", 5, "TFS_DEATH") == 0.0
    assert km["n_event"].sum() == 0 and km["n_censor"].sum() == 16


def test_infinite_hazard_ratio_gives_nan_with_a_note():
    recs = [(s, a, t, 1 if a == "A" else c, 0 if a == "A" else cr, x) for s, a, t, c, cr, x in BASE]
    ard, _ = survival_ard(adtte(recs), study(), "TFS")
    cox = ard.filter(pl.col("analysis") == "COX")
    assert cox["value"].is_nan().all()
    assert method(ard, "COX") == {
        "Cox Efron, Wald CI; not estimable: infinite hazard ratio "
        "(monotone likelihood: an arm without events)"
    }
    assert np.isfinite(val(ard, "LOGRANK", "A", "chisq"))  # the log-rank test is still defined


def test_gray_without_information_is_nan_not_zero():
    """A transplant only after every reference subject left follow-up: Gray's variance is 0."""
    recs = BASE[:2] + [("S03", "A", 3.0, 1, 0, "F"), ("S04", "A", 10.0, 0, 3, "F")] + BASE[4:]
    ard, _ = survival_ard(adtte(recs), study(), "TFS")
    ltx = ard.filter((pl.col("analysis") == "GRAY") & (pl.col("paramcd") == "TFS_LTX"))
    assert ltx.height == 3 and ltx["value"].is_nan().all()
    assert "not estimable: singular variance" in ltx["method"][0]
    assert np.isfinite(val(ard, "GRAY", "A", "chisq", paramcd="TFS_DEATH"))


def test_arm_without_subjects():
    ard, km = survival_ard(adtte(), study(arms=("A", "C", "B")), "TFS")
    assert val(ard, "KM", "C", "n_risk", 2) == 0
    assert math.isnan(val(ard, "KM", "C", "surv", 2))
    assert math.isnan(val(ard, "CIF", "C", "cif", 2, "TFS_DEATH"))
    for analysis in ("LOGRANK", "COX"):
        assert method(ard, analysis, "C") == {
            method(ard, analysis, "A").pop() + "; not estimable: no subjects in the arm"
        }
    assert val(ard, "COX", "A", "hr", comparator="B") > 0  # the other comparison still runs
    assert val(ard, "LOGRANK", "ALL", "df") == 1.0  # overall test over the arms with subjects
    assert "C" not in set(km["arm"])


def test_empty_population_gives_rows_not_an_error():
    ard, km = survival_ard(adtte(ittfl=["N"] * 8), study(), "TFS")
    assert val(ard, "KM", "ALL", "n_risk", 2) == 0
    cox = ard.filter(pl.col("analysis") == "COX")
    assert cox["method"][0].endswith("no subjects in the reference arm")
    assert km.height == 0 and km.columns[:4] == ["paramcd", "population", "arm", "time"]


def test_km_step_table():
    _, km = survival_ard(adtte(), study(), "TFS")
    a = km.filter(pl.col("arm") == "A")
    assert a["time"].to_list() == [1.0, 2.0, 3.0, 4.0]
    assert a["n_risk"].to_list() == [4, 3, 2, 1]
    assert a["n_event"].to_list() == [1, 0, 1, 0]
    assert a["n_censor"].to_list() == [0, 1, 0, 1]
    assert a["surv"].to_list() == pytest.approx([0.75, 0.75, 0.375, 0.375])
    assert km["arm"].unique(maintain_order=True).to_list() == ["A", "B", "ALL"]


def test_cif_step_table_by_hand_and_equal_to_the_ard_at_the_landmarks():
    st = study()
    cif = cif_steps(adtte(), st, "TFS")
    assert cif.columns == list(CIF_TABLE_SCHEMA)
    a = cif.filter(pl.col("arm") == "A")
    # arm A: death at 1 (1/4), transplant at 3 (S(3-) = 3/4, 1 of 2 at risk: 3/8)
    assert a.filter(pl.col("cause") == 2)["cif"].to_list() == pytest.approx(
        [0.25, 0.25, 0.25, 0.25]
    )
    assert a.filter(pl.col("cause") == 3)["cif"].to_list() == pytest.approx(
        [0.0, 0.0, 0.375, 0.375]
    )
    assert set(a["event"].to_list()) == {"TFS_DEATH", "TFS_LTX"}
    assert cif["arm"].unique(maintain_order=True).to_list() == ["A", "B", "ALL"]
    ard, _ = survival_ard(adtte(), st, "TFS")
    for r in (
        ard.filter(pl.col("analysis") == "CIF")
        .filter(pl.col("stat") == "cif")
        .iter_rows(named=True)
    ):
        steps = cif.filter(
            (pl.col("arm") == r["arm"])
            & (pl.col("event") == r["paramcd"])
            & (pl.col("time") <= r["time"])
        )
        assert (steps["cif"][-1] if steps.height else 0.0) == pytest.approx(
            r["value"], abs=1e-12
        ), r


def test_cif_step_table_is_empty_for_os_and_without_competing_events():
    assert cif_steps(adtte(paramcd="OS"), study(), "OS").height == 0
    none = [(s, a, t, 1, 0, x) for s, a, t, _, _, x in BASE]
    empty = cif_steps(adtte(none), study(), "TFS")
    assert empty.height == 0 and empty.columns == list(CIF_TABLE_SCHEMA)

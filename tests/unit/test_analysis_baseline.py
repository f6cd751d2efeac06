"""ARD analyses of hepatrial.analysis.baseline on literal data worked by hand (test_tlf_data)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from test_tlf_data import adeff, adlb, adsl, study

from hepatrial.analysis import baseline as B
from hepatrial.errors import ConfigError, HepatrialWarning


def _val(ard: pl.DataFrame, **eq) -> float:
    df = ard
    for k, v in eq.items():
        df = df.filter(pl.col(k) == v)
    assert df.height == 1, (eq, df)
    return df["value"][0]


@pytest.fixture
def st(tmp_path):
    return study(tmp_path)


def test_big_n_counts_itt_by_planned_and_safety_by_actual_arm(st):
    ard = B.big_n(adsl(), st)
    got = {(r["population"], r["arm"]): r["value"] for r in ard.iter_rows(named=True)}
    assert got == {
        ("ITT", "UC-MSC"): 3,
        ("ITT", "Placebo"): 3,
        ("ITT", "ALL"): 6,
        ("SAFETY", "UC-MSC"): 3,
        ("SAFETY", "Placebo"): 2,
        ("SAFETY", "ALL"): 5,
    }


def test_baseline_continuous_age_by_hand(st):
    ard = B.baseline_characteristics(adsl(), st)
    a = lambda stat: _val(ard, paramcd="AGE", arm="UC-MSC", stat=stat)  # noqa: E731
    assert (a("n"), a("mean"), a("median"), a("min"), a("max")) == (3, 52, 50, 45, 61)
    assert a("sd") == pytest.approx(math.sqrt(67))  # deviations -2, -7, 9
    assert (a("q1"), a("q3")) == (45, 61)  # SAS PCTLDEF=5 with n = 3
    assert _val(ard, paramcd="BLMELD", arm="Placebo", stat="n") == 2  # one missing baseline MELD
    assert _val(ard, paramcd="BLMELD", arm="Placebo", stat="mean") == 20


def test_baseline_categories_have_missing_level_and_arm_denominator(st):
    ard = B.baseline_characteristics(adsl(), st)
    assert _val(ard, paramcd="SEX=Missing", arm="Placebo", stat="n") == 1
    assert _val(ard, paramcd="SEX=F", arm="Placebo", stat="pct") == pytest.approx(100 / 3)
    assert _val(ard, paramcd="SEX=Missing", arm="UC-MSC", stat="n") == 0
    assert _val(ard, paramcd="CTPSTRAT=C", arm="ALL", stat="n") == 3
    assert _val(ard, paramcd="BLCTPC=C", arm="ALL", stat="pct") == pytest.approx(100 * 2 / 6)
    assert _val(ard, paramcd="ETIOLOGY=PBC", arm="UC-MSC", stat="n") == 1
    assert set(ard["method"].unique().to_list()) == {
        "descriptive; quartiles SAS PCTLDEF=5",
        "n (% of ITT in arm)",
    }


def test_exposure_counts_infusions_in_safety_by_actual_arm(st):
    ard = B.exposure(adsl(), st)
    assert _val(ard, paramcd="NINFUS=3", arm="UC-MSC", stat="n") == 2
    assert _val(ard, paramcd="NINFUS=3", arm="UC-MSC", stat="pct") == pytest.approx(200 / 3)
    assert _val(ard, paramcd="NINFUS=1", arm="Placebo", stat="pct") == 50
    assert (
        _val(ard, paramcd="NINFUS=0", arm="ALL", stat="n") == 0
    )  # S6 (never dosed) is not in SAFETY
    assert _val(ard, paramcd="NINFUS", arm="ALL", stat="mean") == pytest.approx(2.4)
    assert sorted(ard.filter(pl.col("stat") == "pct")["paramcd"].unique().to_list()) == [
        "NINFUS=0",
        "NINFUS=1",
        "NINFUS=2",
        "NINFUS=3",
    ]


def test_worst_category_by_direction_and_unscheduled_records():
    lb = adlb()
    got = dict(B.worst_category(lb, "BILI").iter_rows())
    # S2's HIGH is unscheduled (day 80) and counts; S5 only LOW: the most extreme otherwise.
    assert got == {"S1": "NORMAL", "S2": "HIGH", "S4": "HIGH", "S5": "LOW"}
    assert dict(B.worst_category(lb, "ALB").iter_rows()) == {
        "S1": "NORMAL",
        "S2": "LOW",
        "S4": "HIGH",
    }
    assert dict(B.worst_category(lb, "INR").iter_rows()) == {"S1": "HIGH", "S4": "LOW"}


def test_worst_category_without_direction_is_the_value_furthest_outside_the_range():
    def frame(values):
        return pl.DataFrame(
            {
                "USUBJID": ["X"] * len(values),
                "PARAMCD": ["IGG"] * len(values),
                "ADY": [10 + i for i in range(len(values))],
                "AVAL": values,
                "ANRLO": [7.0] * len(values),
                "ANRHI": [17.0] * len(values),
                "ANRIND": ["LOW" if v < 7 else "HIGH" if v > 17 else "NORMAL" for v in values],
            }
        )

    assert (
        B.worst_category(frame([6.0, 22.0, 10.0]), "IGG")["WORST"][0] == "HIGH"
    )  # 0.1 vs 0.5 widths
    assert (
        B.worst_category(frame([1.0, 18.0, 10.0]), "IGG")["WORST"][0] == "LOW"
    )  # 0.6 vs 0.1 widths
    assert B.worst_category(frame([8.0, 10.0]), "IGG")["WORST"][0] == "NORMAL"


def test_lab_shift_cells_and_margins(st):
    ard = B.lab_shift(adlb(), adsl(), st)
    n = lambda code, arm="UC-MSC": _val(ard, paramcd=code, arm=arm, stat="n")  # noqa: E731
    assert (n("BILI|HIGH|NORMAL"), n("BILI|NORMAL|HIGH"), n("BILI|HIGH|Missing")) == (1, 1, 1)
    assert (n("BILI|HIGH|ALL"), n("BILI|ALL|ALL"), n("BILI|ALL|ALL", "ALL")) == (2, 3, 5)
    assert _val(ard, paramcd="BILI|HIGH|ALL", arm="UC-MSC", stat="pct") == pytest.approx(200 / 3)
    # margins equal the sums of the cells, for every parameter, arm and category
    cells = ard.filter(pl.col("stat") == "n").with_columns(
        pl.col("paramcd").str.split("|").alias("k")
    )
    cells = cells.with_columns(
        pl.col("k").list.get(0).alias("p"),
        pl.col("k").list.get(1).alias("b"),
        pl.col("k").list.get(2).alias("w"),
    )
    inner = cells.filter((pl.col("b") != "ALL") & (pl.col("w") != "ALL"))
    by_b = inner.group_by(["p", "arm", "b"]).agg(pl.col("value").sum().alias("s"))
    marg = cells.filter(pl.col("w") == "ALL").join(by_b, on=["p", "arm", "b"], how="inner")
    assert marg.height > 0 and (marg["value"] == marg["s"]).all()


def test_lab_abnormal_by_visit_excludes_unscheduled(st):
    ard = B.lab_abnormal(adlb(), adsl(), st)
    g = lambda arm, stat: _val(ard, paramcd="BILI", avisit="WEEK 4", arm=arm, stat=stat)  # noqa: E731
    assert (g("UC-MSC", "n"), g("UC-MSC", "n_abnormal")) == (2, 0)
    assert (g("Placebo", "n_low"), g("Placebo", "n_high"), g("Placebo", "pct_abnormal")) == (
        1,
        1,
        100,
    )
    assert (g("ALL", "n"), g("ALL", "pct_abnormal")) == (4, 50)
    assert "UNSCHEDULED" not in ard["avisit"].to_list()


def test_shift_ctp_counts_missing_at_the_primary_visit(st):
    ard = B.shift_ctp(adeff(), adsl(), st)
    n = lambda code, arm: _val(ard, paramcd=code, arm=arm, stat="n")  # noqa: E731
    assert (
        n("CTPCLASS|B|A", "UC-MSC"),
        n("CTPCLASS|C|B", "UC-MSC"),
        n("CTPCLASS|B|Missing", "UC-MSC"),
    ) == (1, 1, 1)
    assert (n("CTPCLASS|B|C", "Placebo"), n("CTPCLASS|C|C", "ALL")) == (1, 1)
    assert _val(ard, paramcd="CTPCLASS|B|A", arm="UC-MSC", stat="pct") == pytest.approx(100 / 3)
    assert set(ard["avisit"].to_list()) == {"WEEK 8"}


def test_ancova_effect_matches_an_independent_least_squares_fit():
    rng = np.random.default_rng(3)
    n = 40
    base = rng.normal(16, 3, n)
    arm = np.array(["T", "R"] * (n // 2))
    chg = 1 + 0.2 * base - 1.5 * (arm == "T") + rng.normal(0, 1, n)
    df = pl.DataFrame({"ARM": arm, "BASE": base, "CHG": chg})
    got = B.ancova_effect(df, "T", "R")
    X = np.column_stack([np.ones(n), base, (arm == "T").astype(float)])
    beta, rss, *_ = np.linalg.lstsq(X, chg, rcond=None)
    se = math.sqrt(rss[0] / (n - 3) * np.linalg.inv(X.T @ X)[2, 2])
    from scipy import stats

    t = stats.t.ppf(0.975, n - 3)
    assert got["estimate"] == pytest.approx(beta[2], rel=1e-10)
    assert got["se"] == pytest.approx(se, rel=1e-10)
    assert (got["lower"], got["upper"]) == pytest.approx(
        (beta[2] - t * se, beta[2] + t * se), rel=1e-10
    )
    assert got["p"] == pytest.approx(2 * stats.t.sf(abs(beta[2] / se), n - 3), rel=1e-8)
    assert (got["df"], got["n"]) == (n - 3, n)


def test_ancova_effect_not_estimable_with_one_arm_only():
    df = pl.DataFrame({"ARM": ["T"] * 5, "BASE": [1.0, 2, 3, 4, 5], "CHG": [0.0, 1, 0, 1, 2]})
    got = B.ancova_effect(df, "T", "R")
    assert math.isnan(got["estimate"]) and got["n"] == 5


def test_subgroup_effects_rows_for_all_subjects_and_each_level(st):
    ard = B.subgroup_effects(adeff(), adsl(), st)
    keys = set(ard["paramcd"].to_list())
    assert keys == {"MELD|ALL", "MELD|SEX=F", "MELD|SEX=M", "MELD|SEX"}
    assert _val(ard, paramcd="MELD|ALL", stat="n") == 5  # S3 has no week-8 value
    assert set(ard["arm"].to_list()) == {"UC-MSC"} and set(ard["comparator"].to_list()) == {
        "Placebo"
    }
    # By hand: CHG -3, -3 (UC-MSC; BASE 15, 20) and 1, 0, 1 (Placebo; BASE 18, 16, 22).
    X = np.array([[1, 15, 1], [1, 20, 1], [1, 18, 0], [1, 16, 0], [1, 22, 0]], dtype=float)
    y = np.array([-3, -3, 1, 0, 1], dtype=float)
    assert _val(ard, paramcd="MELD|ALL", stat="estimate") == pytest.approx(
        np.linalg.lstsq(X, y, rcond=None)[0][2]
    )


def test_subgroup_effects_empty_without_a_comparison(tmp_path):
    st1 = study(tmp_path, "single_arm")
    assert B.subgroup_effects(adeff(), adsl(), st1).height == 0


def test_subgroup_effects_empty_without_subgroup_variables(st):
    none = dataclasses.replace(st, endpoints=dataclasses.replace(st.endpoints, subgroups=()))
    assert B.subgroup_effects(adeff(), adsl(), none).height == 0


def test_subgroup_variable_not_in_adsl_is_a_config_error(st):
    typo = dataclasses.replace(st, endpoints=dataclasses.replace(st.endpoints, subgroups=("SEXX",)))
    with pytest.raises(ConfigError, match=r"endpoints.subgroups: SEXX is not an ADSL variable"):
        B.subgroup_effects(adeff(), adsl(), typo)


def test_run_baseline_writes_one_sorted_part(tmp_path, st):
    for name, df in (("adsl", adsl()), ("adlb", adlb()), ("adeff", adeff())):
        df.write_parquet(tmp_path / f"{name}.parquet")
    (tmp_path / "s.yaml").write_text((tmp_path / "study_parallel.yaml").read_text())
    out = tmp_path / "part.parquet"
    with pytest.warns(HepatrialWarning) as caught:
        B.run_baseline(
            tmp_path / "adsl.parquet",
            tmp_path / "adlb.parquet",
            tmp_path / "adeff.parquet",
            tmp_path / "s.yaml",
            out,
        )
    # the default safety labs ADLB does not hold (it has ALB, BILI and INR): one warning each
    said = [str(w.message) for w in caught if w.category is HepatrialWarning]
    absent = ["ALT", "AST", "CREAT", "SODIUM", "PLAT", "WBC", "AFP"]
    assert said == [
        f"study config safety.labs: {p} has no records in adlb.parquet; its tables and figures "
        "show no data"
        for p in absent
    ]
    part = pl.read_parquet(out)
    assert set(part["analysis"].unique().to_list()) == {
        "BIGN",
        "BASELINE",
        "EXPOSURE",
        "LAB_SHIFT",
        "LAB_ABN",
        "SHIFT_CTP",
        "SUBGROUP",
    }
    assert_frame_equal(
        part,
        part.sort(
            ["analysis", "paramcd", "population", "arm", "comparator", "avisit", "time", "stat"],
            nulls_last=False,
        ),
    )

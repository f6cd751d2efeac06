"""Nominal visit windowing (``windowing: nominal``), the screening visit and ``baseline.visit``,
against hand-worked records (issue 16: the dose-escalation protocol's D28/D29 and D-14..D-1)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
import tinycut
from studies import make_study

from hepatrial.adam.common import derive_bds_timing
from hepatrial.errors import ConfigError

D = dt.date
ORIGIN = D(2024, 1, 10)  # day 1

VISITS = [
    {
        "label": "SCREENING",
        "avisitn": -1,
        "target_day": -14,
        "window": [-28, -2],
        "screening": True,
    },
    {
        "label": "BASELINE",
        "avisitn": 0,
        "target_day": 1,
        "window": [-1, 1],
        "baseline": True,
        "sdtm_visits": ["DAY -1", "DAY 1"],
    },
    {"label": "DAY 28", "avisitn": 4, "target_day": 28, "window": [2, 28]},
    {"label": "DAY 29", "avisitn": 4.1, "target_day": 29, "window": [29, 42]},
]


def day(k: int) -> dt.date:
    """Analysis day k (no day 0): day 1 is the origin, day -1 the day before."""
    return ORIGIN + dt.timedelta(days=k - 1 if k > 0 else k)


def bds(rows: list[tuple]) -> pl.DataFrame:
    """rows: (USUBJID, study day, VISIT, AVAL, SRCROW)."""
    return pl.DataFrame(
        [
            {
                "USUBJID": u,
                "PARAMCD": "BILI",
                "ADT": day(k),
                "VISIT": v,
                "AVAL": a,
                "SRCROW": r,
                "ORIGDT": ORIGIN,
            }
            for u, k, v, a, r in rows
        ],
        schema={
            "USUBJID": pl.Utf8,
            "PARAMCD": pl.Utf8,
            "ADT": pl.Date,
            "VISIT": pl.Utf8,
            "AVAL": pl.Float64,
            "SRCROW": pl.Int64,
            "ORIGDT": pl.Date,
        },
    )


ROWS = [
    # S1: screening, pre-dose D-1, the day-28 visit done late (day 30, inside DAY 29's date window)
    # and the day-29 visit on day 29: nominally DAY 28 = 25 and DAY 29 = 27, apart.
    ("S1", -10, "SCREENING", 30.0, 1),
    ("S1", -1, "DAY -1", 20.0, 2),
    ("S1", 30, "DAY 28", 25.0, 3),
    ("S1", 29, "DAY 29", 27.0, 4),
    ("S1", 57, "DAY 57", 99.0, 5),
    # S2: no DAY -1 value: baseline falls back to the last pre-dose value (unscheduled, day -2 = 41)
    ("S2", -5, "SCREENING", 40.0, 6),
    ("S2", -2, None, 41.0, 7),
    ("S2", 28, "DAY 28", 45.0, 8),
    # S3: DAY -1 = 10 and an unscheduled value on day 1 (11): baseline is the named visit's (10)
    ("S3", -1, "DAY -1", 10.0, 9),
    ("S3", 1, None, 11.0, 10),
    ("S3", 28, "day 28 ", 13.0, 11),
]


def nominal_study(**over):
    return make_study(
        **{
            "visits": VISITS,
            "windowing": "nominal",
            "baseline": {"visit": "DAY -1"},
            "endpoints": {"primary_visit": "DAY 28"},
            **over,
        }
    )


def by_row(out: pl.DataFrame) -> dict[int, dict]:
    return {r["SRCROW"]: r for r in out.iter_rows(named=True)}


def test_nominal_keeps_day_28_and_29_apart_and_screening_its_own_visit():
    r = by_row(derive_bds_timing(bds(ROWS), nominal_study()))
    # S1 by hand: BASE = 20 (DAY -1); DAY 28 (on day 30) 25 - 20 = 5; DAY 29 27 - 20 = 7
    assert (r[1]["AVISIT"], r[1]["AVISITN"], r[1]["ANL01FL"], r[1]["CHG"]) == (
        "SCREENING",
        -1.0,
        "Y",
        None,
    )
    assert (r[2]["AVISIT"], r[2]["ABLFL"], r[2]["ABLFLSRC"]) == ("BASELINE", "Y", "VISIT")
    assert (r[3]["AVISIT"], r[3]["ANL01FL"], r[3]["BASE"], r[3]["CHG"]) == (
        "DAY 28",
        "Y",
        20.0,
        5.0,
    )
    assert (r[4]["AVISIT"], r[4]["ANL01FL"], r[4]["CHG"]) == ("DAY 29", "Y", 7.0)
    assert (r[3]["AWTDIFF"], r[4]["AWTDIFF"]) == (2, 0)
    assert (r[5]["AVISIT"], r[5]["AVISITN"], r[5]["ANL01FL"]) == (
        "UNSCHEDULED",
        None,
        None,
    )  # DAY 57 not configured
    # S2: fallback to the last pre-dose value, screening still summarised
    assert (r[7]["AVISIT"], r[7]["ABLFL"], r[7]["ABLFLSRC"]) == ("BASELINE", "Y", "LAST PRE-DOSE")
    assert (r[6]["AVISIT"], r[6]["ANL01FL"], r[6]["ABLFL"]) == ("SCREENING", "Y", None)
    assert r[8]["CHG"] == 45.0 - 41.0
    # S3: the named visit wins over a later pre-dose value; VISIT matched case- and space-insensitively
    assert (r[9]["ABLFL"], r[10]["ABLFL"], r[10]["ANL01FL"]) == ("Y", None, None)
    assert (r[11]["AVISIT"], r[11]["CHG"]) == ("DAY 28", 3.0)
    # ABLFLSRC only on baseline records
    assert {k for k, v in r.items() if v["ABLFLSRC"] is not None} == {2, 7, 9}


def test_date_windows_merge_what_nominal_keeps_apart():
    # the same records windowed by date (the former dose-escalation config: DAY 28 [15, 42], BASELINE
    # [-14, 1]): S1's day-29 and day-30 values fall in one window and one of them is analysed; the
    # screening value is no visit of its own.
    old = [
        {"label": "BASELINE", "avisitn": 0, "target_day": 1, "window": [-14, 1], "baseline": True},
        {"label": "DAY 28", "avisitn": 4, "target_day": 28, "window": [15, 42]},
    ]
    r = by_row(
        derive_bds_timing(bds(ROWS), make_study(visits=old, endpoints={"primary_visit": "DAY 28"}))
    )
    assert r[3]["AVISIT"] == r[4]["AVISIT"] == "DAY 28"
    assert (r[3]["ANL01FL"], r[4]["ANL01FL"]) == (
        None,
        "Y",
    )  # day 29 is closer to target 28 than day 30
    assert r[1]["ANL01FL"] is None and r[1]["AVISIT"] == "BASELINE"
    assert r[10]["ABLFL"] == "Y"  # S3: the day-1 value, not DAY -1


def test_no_visit_column_falls_back_to_date_windows():
    out = derive_bds_timing(bds(ROWS).drop("VISIT"), nominal_study())
    r = by_row(out)
    assert (
        r[3]["AVISIT"] == "DAY 29" and r[4]["AVISIT"] == "DAY 29"
    )  # day 30 and 29: both in [29, 42]
    assert "ABLFLSRC" not in out.columns and r[10]["ABLFL"] == "Y"


def test_config_rejects_visit_mapped_twice_and_baseline_screening():
    twice = [dict(v) for v in VISITS]
    twice[2] = {**twice[2], "sdtm_visits": ["DAY 28", "DAY 29"]}
    with pytest.raises(ConfigError, match="mapped to more than one"):
        nominal_study(visits=twice)
    both = [dict(v) for v in VISITS]
    both[1] = {**both[1], "screening": True}
    with pytest.raises(ConfigError, match="baseline or screening"):
        nominal_study(visits=both)


def test_screening_is_not_post_baseline():
    s = nominal_study()
    assert [v.label for v in s.post_baseline_visits] == ["DAY 28", "DAY 29"]


NOMINAL_YAML = tinycut.STUDY_YAML.replace(
    """visits:
  - {label: BASELINE, avisitn: 0, target_day: 1, window: [-14, 1], baseline: true}
""",
    """windowing: nominal
baseline: {visit: DAY 1}
visits:
  - {label: SCREENING, avisitn: -1, target_day: -7, window: [-28, -2], screening: true}
  - {label: BASELINE, avisitn: 0, target_day: 1, window: [-1, 1], baseline: true, sdtm_visits: [DAY 1]}
""",
)
LB_VISIT = {
    "2024-01-05": "SCREENING",
    "2024-01-10": "DAY 1",
    "2024-02-07": "WEEK 4",
    "2024-01-15": "DAY 1",
    "2024-02-01": "DAY 1",
    "2024-03-01": "WEEK 4",
    "2024-02-05": "DAY 1",
    "2024-07-15": "WEEK 8",
}


def test_adeff_scores_take_the_lab_visit_end_to_end(tmp_path):
    # The ADEFF builder reads LB with a column list: it must carry VISIT, or every score would be
    # UNSCHEDULED under nominal windowing (a bug the dose-escalation run showed).
    from hepatrial.adam import build_adeff, read_sdtm
    from hepatrial.adam.adsl import create_adsl_core
    from hepatrial.ingest import ingest_cut
    from hepatrial.spec import load as load_study

    doms = tinycut.domains()
    for r in doms["lb"]:
        r["VISIT"] = LB_VISIT[r["LBDTC"]]
    for r in doms["rs"]:
        r["VISIT"] = LB_VISIT[r["RSDTC"]]
    cut = tinycut.write_cut(tmp_path / "cut", doms)
    study_path = tinycut.write_study(tmp_path / "study.yaml", NOMINAL_YAML)
    s = load_study(study_path)
    ingest_cut(cut, s, tmp_path / "sdtm", tmp_path / "val")
    adsl = create_adsl_core(read_sdtm(tmp_path / "sdtm"), s, D(2024, 6, 30))
    adsl.write_parquet(tmp_path / "adsl.parquet")
    build_adeff(
        tmp_path / "sdtm",
        tmp_path / "adsl.parquet",
        study_path,
        tmp_path / "adeff.parquet",
        tmp_path / "excl.csv",
    )
    meld = pl.read_parquet(tmp_path / "adeff.parquet").filter(
        (pl.col("PARAMCD") == "MELD") & (pl.col("USUBJID") == "T-001")
    )
    got = {
        str(r["ADT"]): (r["AVISIT"], r["VISIT"], r["ABLFL"], r["ANL01FL"])
        for r in meld.iter_rows(named=True)
    }
    # T-001: day 1 = 2024-01-10; screening on day -5, week 4 on day 29
    assert got == {
        "2024-01-05": ("SCREENING", "SCREENING", None, "Y"),
        "2024-01-10": ("BASELINE", "DAY 1", "Y", "Y"),
        "2024-02-07": ("WEEK 4", "WEEK 4", None, "Y"),
    }

"""DLTs per dose cohort and the escalation rule (hepatrial.analysis.dlt), on hand-written data."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from studies import make_study, merge

from hepatrial.analysis.dlt import (
    EXPAND,
    MTD_DETERMINED,
    MTD_NONE,
    MTD_NOT_REACHED,
    MTD_PENDING,
    PENDING,
    PROCEED,
    STOP,
    decide,
    dlt_ard,
    flag_dlt,
    mtd_and_rp2d,
)
from hepatrial.errors import ConfigError
from hepatrial.models.rates import clopper_pearson
from hepatrial.spec import Study
from hepatrial.spec.study import Escalation

D = dt.date
COHORTS = ["Low", "High"]


def study(**over) -> Study:
    return make_study(
        **merge(
            {
                "study": {"design": "dose_escalation"},
                "arms": [{"label": c} for c in COHORTS],
                "populations": {"SAFETY": "SAFFL"},
                "dlt": {"window_days": 28, "min_grade": 3, "related_only": True},
                "escalation": {"cohort_size": 3, "proceed_max": 0, "stop_min": 2},
            },
            over,
        )
    )


def adsl() -> pl.DataFrame:
    # S5 is followed only 10 days (not evaluable unless a DLT); S6 is not in the safety population
    return pl.DataFrame(
        {
            "USUBJID": ["S1", "S2", "S3", "S4", "S5", "S6"],
            "TRT01A": ["Low", "Low", "Low", "High", "High", "High"],
            "SAFFL": ["Y", "Y", "Y", "Y", "Y", "N"],
            "TRTSDT": [D(2024, 1, 1)] * 6,
            "LSTALVDT": [D(2024, 6, 1)] * 4 + [D(2024, 1, 10), D(2024, 6, 1)],
        }
    )


def ex() -> pl.DataFrame:
    subj = ["S1", "S2", "S3", "S4", "S5"]
    return pl.DataFrame({"USUBJID": subj + ["S1"], "EXSTDTC": ["2024-01-01"] * 5 + ["2024-02-01"]})


def adae(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={
            "USUBJID": pl.Utf8,
            "ASTDT": pl.Date,
            "ATOXGR": pl.Int64,
            "AREL": pl.Utf8,
            "AEDECOD": pl.Utf8,
            "SRCROW": pl.Int64,
        },
        orient="row",
    )


def value(ard: pl.DataFrame, analysis: str, paramcd: str, arm: str, stat: str) -> float:
    hit = ard.filter(
        (pl.col("analysis") == analysis)
        & (pl.col("paramcd") == paramcd)
        & (pl.col("arm") == arm)
        & (pl.col("stat") == stat)
    )
    assert hit.height == 1, (analysis, paramcd, arm, stat, hit)
    return hit["value"][0]


def test_window_grade_and_relatedness_define_a_dlt():
    ae = adae(
        [
            ("S1", D(2024, 1, 28), 3, "Y", "Pyrexia", 1),  # day 28 of the first window: DLT
            (
                "S1",
                D(2024, 1, 29),
                3,
                "Y",
                "Chills",
                2,
            ),  # day 29 of the first, before the second: no
            ("S1", D(2024, 2, 3), 4, "Y", "Rash", 3),  # day 3 of the second infusion's window: DLT
            ("S2", D(2024, 1, 5), 2, "Y", "Pyrexia", 4),  # grade 2: no
            ("S3", D(2024, 1, 5), 3, "N", "Pneumonia", 5),  # not related: no
            ("S4", D(2023, 12, 31), 3, "Y", "Rash", 6),  # before the infusion: no
        ]
    )
    got = flag_dlt(ae, ex(), study())
    assert got["SRCROW"].to_list() == [1, 3]
    assert got["DLTEXDT"].to_list() == [D(2024, 1, 1), D(2024, 2, 1)]
    loose = flag_dlt(
        ae, ex(), study(dlt={"related_only": False, "min_grade": 2, "window_days": 29})
    )
    assert loose["SRCROW"].to_list() == [1, 2, 3, 4, 5]


@pytest.mark.parametrize(
    "n_dlt, n_ev, expected",
    [
        (0, 3, PROCEED),
        (1, 3, EXPAND),
        (2, 3, STOP),
        (2, 2, STOP),
        (0, 2, PENDING),
        (1, 2, PENDING),
    ],
)
def test_decision_rule(n_dlt, n_ev, expected):
    assert decide(n_dlt, n_ev, Escalation(cohort_size=3, proceed_max=0, stop_min=2)) == expected


@pytest.mark.parametrize(
    "decisions, expected",
    [
        ([PROCEED, PROCEED, STOP], (1, MTD_DETERMINED, 1)),
        ([PROCEED, PROCEED, PROCEED], (None, MTD_NOT_REACHED, 2)),
        ([STOP, PROCEED], (None, MTD_NONE, None)),
        ([PROCEED, EXPAND, STOP], (None, MTD_PENDING, 0)),
        ([PENDING, PROCEED], (None, MTD_PENDING, None)),
    ],
)
def test_mtd_and_rp2d(decisions, expected):
    assert mtd_and_rp2d(decisions) == expected


def test_ard_counts_decisions_and_mtd():
    ae = adae(
        [
            ("S4", D(2024, 1, 2), 3, "Y", "Pyrexia", 1),
            ("S4", D(2024, 1, 3), 3, "Y", "Chills", 2),
            ("S5", D(2024, 1, 2), 3, "Y", "Pyrexia", 3),
            ("S6", D(2024, 1, 2), 3, "Y", "Pyrexia", 4),  # not in the safety population
        ]
    )
    ard = dlt_ard(ae, adsl(), ex(), study())
    assert value(ard, "DLT", "DLT", "Low", "n_subjects") == 3
    assert value(ard, "DLT", "DLT", "Low", "n_dlt") == 0
    assert value(ard, "DLT", "DLT", "High", "n_subjects") == 2
    # S5 was followed 10 days only, but had a DLT: evaluable
    assert value(ard, "DLT", "DLT", "High", "n_evaluable") == 2
    assert value(ard, "DLT", "DLT", "High", "n_dlt") == 2
    assert value(ard, "DLT", "DLT", "High", "n_events") == 3
    assert value(ard, "DLT", "DLT", "High", "pct") == pytest.approx(100.0)
    assert value(ard, "DLT", "DLT", "ALL", "pct") == pytest.approx(40.0)
    assert value(ard, "DLT", "DLT|Pyrexia", "High", "n_dlt") == 2
    assert value(ard, "ESCALATION", "DECISION", "Low", "code") == PROCEED
    assert value(ard, "ESCALATION", "DECISION", "High", "code") == STOP
    assert value(ard, "ESCALATION", "MTD", "Low", "dose_level") == 1
    assert value(ard, "ESCALATION", "MTD", "Low", "status") == MTD_DETERMINED
    assert value(ard, "ESCALATION", "RP2D", "Low", "dose_level") == 1


def test_unevaluable_subject_leaves_the_cohort_pending():
    ae = adae([("S1", D(2024, 1, 2), 1, "Y", "Pyrexia", 1)])
    ard = dlt_ard(ae, adsl(), ex(), study())
    assert value(ard, "DLT", "DLT", "High", "n_evaluable") == 1  # S5 followed 10 days, no DLT
    assert value(ard, "ESCALATION", "DECISION", "High", "code") == PENDING
    assert value(ard, "ESCALATION", "MTD", "", "status") == MTD_PENDING
    assert value(ard, "ESCALATION", "RP2D", "Low", "dose_level") == 1


def test_rule_that_both_proceeds_and_stops_is_refused():
    with pytest.raises(ConfigError, match="stop_min"):
        dlt_ard(adae([]), adsl(), ex(), study(escalation={"proceed_max": 2, "stop_min": 2}))


REF_CP = Path(__file__).resolve().parents[1] / "reference" / "dlt" / "ref_dlt_cp.csv"


def _ref(case: str) -> dict:
    return pl.read_csv(REF_CP).filter(pl.col("case") == case).row(0, named=True)


def test_ard_ci_is_clopper_pearson_as_r_binom_test():
    # R stats::binom.test(x, n)$conf.int x 100 (tests/reference/dlt/dlt_reference.R)
    ae = adae(
        [("S4", D(2024, 1, 2), 3, "Y", "Pyrexia", 1), ("S5", D(2024, 1, 2), 3, "Y", "Pyrexia", 3)]
    )
    ard = dlt_ard(ae, adsl(), ex(), study())
    for arm, case in (("Low", "unit Low"), ("High", "unit High"), ("ALL", "unit ALL")):
        r = _ref(case)
        assert (
            value(ard, "DLT", "DLT", arm, "n_dlt"),
            value(ard, "DLT", "DLT", arm, "n_evaluable"),
        ) == (r["x"], r["n"])
        assert value(ard, "DLT", "DLT", arm, "ci_lower") == pytest.approx(r["lower"], abs=1e-9)
        assert value(ard, "DLT", "DLT", arm, "ci_upper") == pytest.approx(r["upper"], abs=1e-9)


@pytest.mark.parametrize(
    "case", ["DE LOW", "DE MEDIUM", "DE HIGH", "DE ALL", "zero of six", "six of six"]
)
def test_clopper_pearson_of_the_dose_escalation_cohorts(case):
    # the DLT counts of the bundled dose-escalation cut (1/6, 0/6, 2/6; 3/18 overall)
    r = _ref(case)
    lo, hi = clopper_pearson(int(r["x"]), int(r["n"]))
    assert (100 * lo, 100 * hi) == (
        pytest.approx(r["lower"], abs=1e-9),
        pytest.approx(r["upper"], abs=1e-9),
    )


def test_dlt_table_cells_are_the_ard_values():
    from hepatrial.tlf.tables import ARD, table_dlt

    ae = adae(
        [("S4", D(2024, 1, 2), 3, "Y", "Pyrexia", 1), ("S5", D(2024, 1, 2), 3, "Y", "Pyrexia", 3)]
    )
    s = study()
    t = table_dlt(ARD(dlt_ard(ae, adsl(), ex(), s), s, "2024-06-30"))
    rows = {r.label: r.cells for r in t.rows}
    assert t.columns == ["Low (N=3)", "High (N=2)", "Total (N=5)"]
    assert rows["DLT-evaluable subjects"] == ["3", "2", "5"]
    assert rows["Subjects with a DLT, n (%)"] == ["0", "2 (100.0)", "2 (40.0)"]
    # R binom.test: 0/3 (0, 70.8), 2/2 (15.8, 100), 2/5 (5.3, 85.3)
    assert rows["Exact 95% CI (Clopper-Pearson), %"] == [
        "(0.0, 70.8)",
        "(15.8, 100.0)",
        "(5.3, 85.3)",
    ]
    assert rows["Pyrexia"] == ["0 [0]", "2 [2]", "2 [2]"]
    assert rows["Escalation decision"] == ["Proceed", "Stop", ""]
    assert any("MTD determined: Low" in n for n in t.footnotes)


def test_an_ae_without_a_grade_is_never_silently_no_dlt():
    """Grades (or relatedness, with related_only) missing on every AE: the DLT job stops in one
    line (it reported 0 DLTs, 0%, and PROCEED). One related AE in S2's window without a grade:
    not counted, and every DLT row's method says so; S4's ungraded AE before its infusion is no
    candidate; nor is an AE whose known grade or relatedness already rules it out."""
    from hepatrial.errors import DataContractError

    none = adae([("S1", D(2024, 1, 5), None, "Y", "Pyrexia", 1)])
    with pytest.raises(DataContractError, match="no grade"):
        dlt_ard(none, adsl(), ex(), study())
    some = adae(
        [
            ("S1", D(2024, 1, 5), 3, "Y", "Pyrexia", 1),
            ("S2", D(2024, 1, 6), None, "Y", "Rash", 2),
            ("S4", D(2023, 12, 31), None, "Y", "Rash", 3),
        ]
    )
    ard = dlt_ard(some, adsl(), ex(), study())
    assert value(ard, "DLT", "DLT", "Low", "n_dlt") == 1
    m = ard.filter(pl.col("analysis") == "DLT")["method"]
    assert m.str.contains("(1 AE(s) that could be a DLT but have no grade", literal=True).all()
    unrelated = adae([("S1", D(2024, 1, 5), 3, None, "Pyrexia", 1)])
    with pytest.raises(DataContractError, match="no relatedness"):
        dlt_ard(unrelated, adsl(), ex(), study())
    both = adae(
        [
            ("S1", D(2024, 1, 5), 3, "Y", "Pyrexia", 1),
            ("S2", D(2024, 1, 6), 4, None, "Rash", 2),  # grade 4, relatedness unknown: candidate
            ("S3", D(2024, 1, 6), 2, None, "Rash", 3),  # grade 2: no DLT whatever its relatedness
            ("S3", D(2024, 1, 7), None, "N", "Rash", 4),  # not related: no DLT whatever its grade
        ]
    )
    m = dlt_ard(both, adsl(), ex(), study()).filter(pl.col("analysis") == "DLT")["method"]
    assert m.str.contains("(1 AE(s) that could be a DLT", literal=True).all()


def test_the_dlts_are_the_primary_endpoint_of_a_dose_escalation():
    """A dose escalation's primary endpoint is the DLT analysis (its within-cohort MMRMs are
    secondary) unless the config names endpoints.primary_param; the closed DSMB report then states
    the DLTs in its executive summary and shows their table first under Safety, marked."""
    from hepatrial.report import content
    from hepatrial.report.document import Table
    from hepatrial.tlf.tables import ARD

    s = study()
    assert s.primary_is_dlt and s.primary_param is None
    assert content.primary_param(s) == ""
    named = study(endpoints={"primary_param": "CTPSCORE"})
    assert not named.primary_is_dlt and named.primary_param == "CTPSCORE"
    assert not make_study().primary_is_dlt  # a parallel design: the first MMRM parameter
    ae = adae(
        [("S4", D(2024, 1, 2), 3, "Y", "Pyrexia", 1), ("S5", D(2024, 1, 2), 3, "Y", "Pyrexia", 3)]
    )
    a = ARD(dlt_ard(ae, adsl(), ex(), s), s, "2024-06-30")
    # the counts of the ARD above (0 of 3 evaluable in Low, 2 of 2 in High; High stops: the MTD
    # is Low, and so is the RP2D)
    assert content.primary_dlt_sentence(a) == (
        "Primary endpoint (dose-limiting toxicities, safety population): subjects with a DLT of "
        "those DLT-evaluable: Low 0 of 3, High 2 of 2; MTD determined: Low; RP2D determined: Low."
    )
    names = [("dlt", "DLT"), *content.SAFETY_TABLES]
    sec = content.section_tables("Safety", a, names, "r", {"dlt": "PRIMARY ENDPOINT. "})
    tables = [b.title for b in sec.blocks if isinstance(b, Table)]
    assert tables[0] == (
        "PRIMARY ENDPOINT. Dose-limiting toxicities by dose cohort and the escalation decision"
    )

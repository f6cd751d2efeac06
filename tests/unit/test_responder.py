"""Responder analyses (hepatrial.models.rates, hepatrial.analysis.responder): small examples worked
by hand, the subject statuses of every branch, and the responder tables."""

from __future__ import annotations

import datetime as dt
import math

import polars as pl
import pytest

from hepatrial.analysis.responder import definitions, responder_ard, subject_status
from hepatrial.ard import finalise, reverse_comparisons
from hepatrial.errors import ConfigError
from hepatrial.models.rates import (
    clopper_pearson,
    cmh_risk_difference,
    miettinen_nurminen,
    mn_score,
)
from hepatrial.spec import load as load_study
from hepatrial.tlf.tables import ARD, build_table

D = dt.date
ORIG = D(2024, 1, 10)  # analysis day 1; the cut 2024-03-10 is day 61


def day(n: int) -> dt.date:
    return ORIG + dt.timedelta(days=n - 1)


STUDY_YAML = """
study: {id: RESP, design: %s}
arms:
  - {label: Active}
  - {label: Control%s}
visits:
  - {label: BASELINE, avisitn: 0, target_day: 1, window: [-14, 1], baseline: true}
  - {label: WEEK 4, avisitn: 4, target_day: 29, window: [15, 42]}
  - {label: WEEK 8, avisitn: 8, target_day: 57, window: [43, 70]}
strata: [CTPSTRAT]
cut_date: "2024-03-10"
endpoints: {primary_visit: WEEK 8}
responders:
  - {id: CTPIMP, label: CTP class improvement, rule: ctp_class_improvement, param: CTPCLASS%s}
  - {id: MELDIMP2, rule: meld_improvement, param: MELD, k: 2, visits: [WEEK 4]}
  - {id: BILINORM, rule: normalisation, param: BILI, visits: [WEEK 4]}
  - {id: ISHAKIMP, rule: ishak_improvement, param: ISHAKF, visits: [WEEK 8]}
"""


def study(tmp_path, design="parallel", extra="") -> dict:
    p = tmp_path / f"study_{design}{abs(hash(extra))}.yaml"
    p.write_text(STUDY_YAML % (design, ", reference: true" if design == "parallel" else "", extra))
    return load_study(p)


# S1 Active C->B at week 4, nothing at week 8 (ongoing: not due); S2 Active B->B, then A at week 8
# (seen early); S3 Active C, died day 30; S4 Control baseline A (cannot improve); S5 Control C, no
# week 4 value (window closed: missing), week 8 not due; S6 Control B, transplanted day 20, a
# class A value on day 29 (after the transplant); S7 Control C, withdrew day 20; S8 Active, no
# baseline.
SUBJECTS = {
    "S1": ("Active", "B", None, None, "ONGOING", {"BASELINE": "C", "WEEK 4": "B"}),
    "S2": ("Active", "B", None, None, "ONGOING", {"BASELINE": "B", "WEEK 4": "B", "WEEK 8": "A"}),
    "S3": ("Active", "C", day(30), None, "DISCONTINUED", {"BASELINE": "C"}),
    "S4": ("Control", "B", None, None, "ONGOING", {"BASELINE": "A", "WEEK 4": "B"}),
    "S5": ("Control", "C", None, None, "ONGOING", {"BASELINE": "C"}),
    "S6": ("Control", "B", None, day(20), "DISCONTINUED", {"BASELINE": "B", "WEEK 4": "A"}),
    "S7": ("Control", "C", None, None, "DISCONTINUED", {"BASELINE": "C"}),
    "S8": ("Active", "C", None, None, "ONGOING", {"WEEK 4": "B"}),
}
VISIT_DAY = {"BASELINE": 1, "WEEK 4": 29, "WEEK 8": 57}


def adsl() -> pl.DataFrame:
    rows = [
        {
            "USUBJID": s,
            "TRT01P": a,
            "ITTFL": "Y",
            "CTPSTRAT": st,
            "ORIGDT": ORIG,
            "DCUTDT": D(2024, 3, 10),
            "DTHDT": dth,
            "LTXDT": ltx,
            "EOSSTT": eos,
        }
        for s, (a, st, dth, ltx, eos, _) in SUBJECTS.items()
    ]
    return pl.DataFrame(rows, schema_overrides={"DTHDT": pl.Date, "LTXDT": pl.Date})


def _rec(s, param, visit, aval=None, avalc=None, anrind=None):
    return {
        "USUBJID": s,
        "PARAMCD": param,
        "AVISIT": visit,
        "ADT": day(VISIT_DAY[visit]),
        "ABLFL": "Y" if visit == "BASELINE" else None,
        "ANL01FL": "Y",
        "AVAL": aval,
        "AVALC": avalc,
        "ANRIND": anrind,
    }


def adeff() -> pl.DataFrame:
    rows = [
        _rec(s, "CTPCLASS", v, float("ABC".index(c) + 1), c)
        for s, (*_, vals) in SUBJECTS.items()
        for v, c in vals.items()
    ]
    # MELD: S1 20 -> 18 (exactly k = 2: responder), S2 20 -> 19 (no), S4 15 -> 10 (yes)
    for s, b, w in (("S1", 20, 18), ("S2", 20, 19), ("S4", 15, 10)):
        rows += [_rec(s, "MELD", "BASELINE", float(b)), _rec(s, "MELD", "WEEK 4", float(w))]
    # Ishak: S1 0 -> 0 (cannot improve), S2 4 -> 3 (yes), S4 5 -> 5 (no)
    for s, b, w in (("S1", 0, 0), ("S2", 4, 3), ("S4", 5, 5)):
        rows += [
            _rec(s, "ISHAKF", "BASELINE", float(b), str(b)),
            _rec(s, "ISHAKF", "WEEK 8", float(w), str(w)),
        ]
    return pl.DataFrame(
        rows,
        schema_overrides={
            "AVAL": pl.Float64,
            "AVALC": pl.Utf8,
            "ANRIND": pl.Utf8,
            "ABLFL": pl.Utf8,
        },
    )


def adlb() -> pl.DataFrame:
    # BILI: S1 HIGH -> NORMAL (yes), S2 NORMAL at baseline (not in the denominator),
    # S4 HIGH -> HIGH (no), S5 LOW -> no value (missing: non-responder)
    rows = []
    for s, b, w in (
        ("S1", "HIGH", "NORMAL"),
        ("S2", "NORMAL", "NORMAL"),
        ("S4", "HIGH", "HIGH"),
        ("S5", "LOW", None),
    ):
        rows.append(_rec(s, "BILI", "BASELINE", 1.0, anrind=b))
        if w:
            rows.append(_rec(s, "BILI", "WEEK 4", 1.0, anrind=w))
    return pl.DataFrame(
        rows,
        schema_overrides={
            "AVAL": pl.Float64,
            "AVALC": pl.Utf8,
            "ANRIND": pl.Utf8,
            "ABLFL": pl.Utf8,
        },
    )


def ard(st) -> pl.DataFrame:
    return finalise(responder_ard({"adeff": adeff(), "adlb": adlb()}, adsl(), st))


def val(a: pl.DataFrame, analysis, pid, arm, visit, stat, comparator=""):
    r = a.filter(
        (pl.col("analysis") == analysis)
        & (pl.col("paramcd") == pid)
        & (pl.col("arm") == arm)
        & (pl.col("avisit") == visit)
        & (pl.col("stat") == stat)
        & (pl.col("comparator") == comparator)
    )
    assert r.height == 1, (analysis, pid, arm, visit, stat, comparator)
    return r["value"][0]


# --- statistics by hand ---------------------------------------------------------------------------
def test_clopper_pearson_closed_forms_at_the_edges():
    assert clopper_pearson(0, 10) == (0.0, pytest.approx(1 - 0.025**0.1, abs=1e-14))
    assert clopper_pearson(10, 10) == (pytest.approx(0.025**0.1, abs=1e-14), 1.0)
    lo, hi = clopper_pearson(1, 2)  # x = 1, n = 2: lower = 1 - sqrt(0.975), upper = sqrt(0.975)
    assert lo == pytest.approx(1 - math.sqrt(0.975), abs=1e-14) and hi == pytest.approx(
        math.sqrt(0.975), abs=1e-14
    )
    assert all(math.isnan(x) for x in clopper_pearson(0, 0))


@pytest.mark.parametrize(
    "counts, want",
    [
        # Newcombe (1998, Stat Med 17:873), Table II, method 10 (Miettinen-Nurminen), 4 decimals
        ((56, 70, 48, 80), (0.0528, 0.3382)),
        ((9, 10, 3, 10), (0.1700, 0.8406)),
        ((6, 7, 2, 7), (0.0342, 0.8534)),
        ((5, 56, 0, 29), (-0.0326, 0.1933)),
    ],
)
def test_miettinen_nurminen_published_examples(counts, want):
    rd, lo, hi = miettinen_nurminen(*counts)
    assert rd == pytest.approx(counts[0] / counts[1] - counts[2] / counts[3])
    assert (round(lo, 4), round(hi, 4)) == want


def test_miettinen_nurminen_limits_solve_the_score_equation_and_turn_round():
    z = 1.959963984540054
    rd, lo, hi = miettinen_nurminen(20, 96, 8, 91)
    assert mn_score(20, 96, 8, 91, lo) == pytest.approx(z, abs=1e-9)
    assert mn_score(20, 96, 8, 91, hi) == pytest.approx(-z, abs=1e-9)
    rd2, lo2, hi2 = miettinen_nurminen(8, 91, 20, 96)
    assert (rd2, lo2, hi2) == pytest.approx((-rd, -hi, -lo), abs=1e-12)
    assert (
        miettinen_nurminen(10, 10, 0, 10)[2] == 1.0 and miettinen_nurminen(0, 10, 10, 10)[1] == -1.0
    )


def test_cmh_and_sato_worked_by_hand():
    # stratum 1: 2/4 vs 1/4; stratum 2: 3/3 vs 1/3.
    # CMH: O - E = (2 - 1.5) + (3 - 2) = 1.5; V = 240/448 + 72/180 = 131/140;
    # chi2 = 2.25 / V = 315/131.
    # MH: w = (2, 1.5), d = (1/4, 2/3): rd = (0.5 + 1) / 3.5 = 3/7.
    # Sato: sum P = -1/4 - 1/2 = -3/4, sum Q = 1/2 + 1/2 = 1: var = (1 - 9/28) / 12.25 = 19/343.
    got = cmh_risk_difference([(2, 4, 1, 4), (3, 3, 1, 3)])
    assert got["chisq"] == pytest.approx(315 / 131, abs=1e-12)
    assert got["p"] == pytest.approx(math.erfc(math.sqrt(315 / 131 / 2)), abs=1e-12)
    assert got["rd"] == pytest.approx(3 / 7, abs=1e-14)
    assert got["se"] == pytest.approx(math.sqrt(19 / 343), abs=1e-14)
    assert got["lower"] == pytest.approx(3 / 7 - 1.959963984540054 * math.sqrt(19 / 343), abs=1e-9)
    # a stratum with one arm only has no weight and no variance: the same result
    assert cmh_risk_difference([(2, 4, 1, 4), (3, 3, 1, 3), (5, 6, 0, 0)])["rd"] == pytest.approx(
        3 / 7
    )


# --- subject statuses -----------------------------------------------------------------------------
def _status(st, pid="CTPIMP"):
    d = next(x for x in definitions(st) if x["id"] == pid)
    s = subject_status(adeff() if d["dataset"] == "adeff" else adlb(), adsl(), st, d)
    return d, {
        (r["USUBJID"], r["AVISIT"]): (r["STATUS"], r["ELIG"]) for r in s.iter_rows(named=True)
    }


def test_every_status_branch(tmp_path):
    _, s = _status(study(tmp_path))
    assert s[("S1", "WEEK 4")] == ("RESPONDER", True)
    assert s[("S1", "WEEK 8")] == ("NOT_DUE", True)  # window closes day 70 > cut day 61, ongoing
    assert s[("S2", "WEEK 4")] == ("NONRESPONDER", True)
    assert s[("S2", "WEEK 8")] == ("RESPONDER", True)  # a value before the window closed counts
    assert s[("S3", "WEEK 4")] == ("DEATH_LTX", True)  # died day 30, before day 42
    assert s[("S3", "WEEK 8")] == ("DEATH_LTX", True)
    assert s[("S4", "WEEK 4")][1] is False  # baseline class A cannot improve
    assert s[("S5", "WEEK 4")] == ("MISSING", True)
    assert s[("S5", "WEEK 8")] == ("NOT_DUE", True)
    assert s[("S6", "WEEK 4")] == ("DEATH_LTX", True)  # the class A value came after the transplant
    assert s[("S7", "WEEK 8")] == ("MISSING", True)  # withdrew: never due, but missing
    assert not any(k[0] == "S8" for k in s)  # no baseline


def test_rates_counts_and_missing_options(tmp_path):
    a = ard(study(tmp_path))
    for stat, want in (
        ("n", 3),
        ("n_resp", 1),
        ("n_elig", 3),
        ("n_dth_ltx", 1),
        ("n_missing", 0),
        ("n_not_due", 0),
    ):
        assert val(a, "RESPONDER", "CTPIMP", "Active", "WEEK 4", stat) == want, stat
    assert (
        val(a, "RESPONDER", "CTPIMP", "Control", "WEEK 4", "n") == 3
    )  # S5, S6, S7 (S4 not eligible)
    assert val(a, "RESPONDER", "CTPIMP", "Control", "WEEK 4", "n_resp") == 0
    assert val(a, "RESPONDER", "CTPIMP", "ALL", "WEEK 4", "rate") == pytest.approx(1 / 6)
    assert val(a, "RESPONDER", "CTPIMP", "Active", "WEEK 8", "n") == 2  # S1 not due
    assert val(a, "RESPONDER", "CTPIMP", "Active", "WEEK 8", "lower") == pytest.approx(
        clopper_pearson(1, 2)[0]
    )
    # observed cases: missing excluded; death and transplant still non-responders unless
    # excluded too
    a2 = ard(study(tmp_path, extra=", missing: exclude"))
    assert val(a2, "RESPONDER", "CTPIMP", "Control", "WEEK 4", "n") == 1  # S6 (transplant)
    a3 = ard(study(tmp_path, extra=", missing: exclude, death_transplant: exclude"))
    assert val(a3, "RESPONDER", "CTPIMP", "Control", "WEEK 4", "n") == 0
    assert math.isnan(val(a3, "RESPONDER", "CTPIMP", "Control", "WEEK 4", "rate"))
    assert val(a3, "RESPONDER", "CTPIMP", "Active", "WEEK 4", "n") == 2


def test_meld_normalisation_and_ishak_rules(tmp_path):
    a = ard(study(tmp_path))
    # MELD: S1 exactly -2 and S4 -5 respond, S2 -1 does not; the others have no baseline MELD
    assert val(a, "RESPONDER", "MELDIMP2", "ALL", "WEEK 4", "n_resp") == 2
    assert val(a, "RESPONDER", "MELDIMP2", "ALL", "WEEK 4", "n") == 3
    # normalisation: abnormal at baseline S1 (normalised), S4 (still high), S5 (missing); S2 normal
    assert val(a, "RESPONDER", "BILINORM", "ALL", "WEEK 4", "n_elig") == 3
    assert val(a, "RESPONDER", "BILINORM", "ALL", "WEEK 4", "n_resp") == 1
    assert val(a, "RESPONDER", "BILINORM", "ALL", "WEEK 4", "n") == 3
    # Ishak: stage 0 cannot decrease; S2 4 -> 3 responds, S4 5 -> 5 does not (week 8 is not due at
    # the cut, but a value seen is evaluated)
    assert val(a, "RESPONDER", "ISHAKIMP", "ALL", "WEEK 8", "n_elig") == 2
    assert val(a, "RESPONDER", "ISHAKIMP", "ALL", "WEEK 8", "n_resp") == 1


def test_comparisons_are_by_hand_and_turn_round(tmp_path):
    a = ard(study(tmp_path))
    rd, lo, _ = miettinen_nurminen(1, 3, 0, 3)
    assert val(a, "RESPONDER", "CTPIMP", "Active", "WEEK 4", "rd", "Control") == pytest.approx(rd)
    assert val(a, "RESPONDER", "CTPIMP", "Active", "WEEK 4", "lower", "Control") == pytest.approx(
        lo
    )
    # strata at week 4: B: Active S1, S2 (1/2) vs Control S6 (0/1);
    # C: Active S3 (0/1) vs S5, S7 (0/2)
    cmh = cmh_risk_difference([(1, 2, 0, 1), (0, 1, 0, 2)])
    assert cmh["rd"] == pytest.approx(
        (2 / 3 * 0.5 + 2 / 3 * 0.0) / (4 / 3)
    )  # w = 2/3 in both strata
    for stat in ("rd", "se", "chisq", "p", "n_strata"):
        assert val(
            a, "RESPONDER_CMH", "CTPIMP", "Active", "WEEK 4", stat, "Control"
        ) == pytest.approx(cmh[stat])
    assert val(a, "RESPONDER_CMH", "CTPIMP", "Active", "WEEK 4", "n", "Control") == 6
    flipped = reverse_comparisons(a, pl.col("comparator") != "")  # every stat declared: no ARDError
    assert val(
        flipped, "RESPONDER", "CTPIMP", "Control", "WEEK 4", "upper", "Active"
    ) == pytest.approx(-lo)


def test_single_arm_designs_get_no_comparisons(tmp_path):
    a = ard(study(tmp_path, "single_arm"))
    assert a.filter(pl.col("comparator") != "").height == 0
    assert "RESPONDER_CMH" not in a["analysis"].to_list()
    assert val(a, "RESPONDER", "CTPIMP", "Active", "WEEK 4", "upper") == pytest.approx(
        clopper_pearson(1, 3)[1]
    )


def test_shift_rows_hold_every_subject_with_a_baseline_and_the_visit_due(tmp_path):
    a = ard(study(tmp_path))
    sh = lambda code, arm, stat="n": val(
        a, "RESPONDER_SHIFT", f"CTPIMP|{code}", arm, "WEEK 4", stat
    )
    assert sh("ALL|ALL", "Control") == 4  # S4 (baseline A) is in the shift table
    assert (
        sh("A|B", "Control") == 1
        and sh("B|DEATH_LTX", "Control") == 1
        and sh("C|MISSING", "Control") == 2
    )
    assert sh("C|B", "Active") == 1 and sh("C|DEATH_LTX", "Active") == 1
    assert sh("C|MISSING", "Control", "pct") == pytest.approx(50.0)
    assert val(a, "RESPONDER_SHIFT", "CTPIMP|ALL|ALL", "Active", "WEEK 8", "n") == 2  # S1 not due
    assert not a.filter(
        pl.col("paramcd").str.starts_with("MELDIMP2|")
    ).height  # MELD is not ordinal
    assert val(a, "RESPONDER_SHIFT", "ISHAKIMP|0|0", "ALL", "WEEK 8", "n") == 1


def test_config_errors(tmp_path):
    st = study(tmp_path)
    with pytest.raises(ConfigError, match="needs k"):
        definitions(
            st.replace(responders=[{"id": "M", "rule": "meld_improvement", "param": "MELD"}])
        )
    with pytest.raises(ConfigError, match="not post-baseline visits"):
        definitions(
            st.replace(
                responders=[
                    {"id": "M", "rule": "normalisation", "param": "BILI", "visits": ["WEEK 99"]}
                ]
            )
        )
    p = tmp_path / "bad.yaml"
    p.write_text(
        (STUDY_YAML % ("parallel", ", reference: true", "")).replace(
            "ctp_class_improvement", "better"
        )
    )
    with pytest.raises(ConfigError, match="responders"):
        load_study(p)
    with pytest.raises(ConfigError, match="not in ADEFF"):
        responder_ard(
            {"adeff": adeff().filter(pl.col("PARAMCD") != "MELD"), "adlb": adlb()}, adsl(), st
        )


# --- tables ---------------------------------------------------------------------------------------
def _table_ard(st) -> ARD:
    big = [
        {
            "analysis": "BIGN",
            "paramcd": "N",
            "population": "ITT",
            "arm": arm,
            "stat": "n",
            "value": v,
        }
        for arm, v in (("Active", 4), ("Control", 4), ("ALL", 8))
    ]
    from hepatrial.ard import ard_rows

    return ARD(finalise(pl.concat([ard(st), ard_rows(big)])), st, "2024-03-10")


def _cell(t, group, label, col):
    j = t.columns.index(col)
    hits = [r.cells[j] for r in t.rows if r.group == group and r.label == label]
    assert len(hits) == 1, (group, label, [(r.group, r.label) for r in t.rows])
    return hits[0]


def test_responder_table_cells(tmp_path):
    t = build_table("responder", _table_ard(study(tmp_path)), "tlf_tables")
    g = "CTP class improvement: WEEK 4"
    assert t.columns == ["Active (N=4)", "Control (N=4)", "Total (N=8)"]
    assert _cell(t, g, "Responders / analysed, n/N (%)", "Active (N=4)") == "1/3 (33.3)"
    assert _cell(t, g, "Responders / analysed, n/N (%)", "Total (N=8)") == "1/6 (16.7)"
    lo, hi = clopper_pearson(1, 3)
    assert (
        _cell(t, g, "95% CI, % (Clopper-Pearson)", "Active (N=4)")
        == f"({100 * lo:.1f}, {100 * hi:.1f})"
    )
    assert (
        _cell(t, g, "Died or transplanted by the visit (non-responders), n", "Control (N=4)") == "1"
    )
    rd, lo, hi = miettinen_nurminen(1, 3, 0, 3)
    assert (
        _cell(t, g, "Difference vs Control, % (95% CI, Miettinen-Nurminen)", "Active (N=4)")
        == f"{100 * rd:.1f} ({100 * lo:.1f}, {100 * hi:.1f})"
    )
    assert (
        _cell(t, g, "Difference vs Control, % (95% CI, Miettinen-Nurminen)", "Control (N=4)") == ""
    )
    assert any("Clopper-Pearson" in f for f in t.footnotes) and "RESPONDER_CMH" in t.source


def test_shift_table_cells(tmp_path):
    t = build_table("resp_shift_CTPIMP", _table_ard(study(tmp_path)), "tlf_tables")
    assert t.columns == ["A", "B", "C", "Died or transplanted", "Missing", "Total"]
    assert _cell(t, "WEEK 4: Control (n=4)", "Baseline C", "Missing") == "2 (50.0)"
    assert _cell(t, "WEEK 4: Control (n=4)", "Total", "Total") == "4 (100.0)"
    ishak = build_table("resp_shift_ISHAKIMP", _table_ard(study(tmp_path)), "tlf_tables")
    assert ishak.columns[:3] == ["0", "1", "2"] and ishak.columns[-1] == "Total"


def test_a_subject_without_a_stratum_is_out_of_the_cmh_and_counted(tmp_path):
    """S3 (Active, stratum C) without its stratum: the week-4 CMH is the by-hand one of stratum B
    alone and C without S3 ((1, 2, 0, 1), (0, 0, 0, 2)), n 5, and its method says so."""
    st = study(tmp_path)
    gap = adsl().with_columns(
        pl.when(pl.col("USUBJID") == "S3")
        .then(None)
        .otherwise(pl.col("CTPSTRAT"))
        .alias("CTPSTRAT")
    )
    a = finalise(responder_ard({"adeff": adeff(), "adlb": adlb()}, gap, st))
    cmh = cmh_risk_difference([(1, 2, 0, 1), (0, 0, 0, 2)])
    assert val(a, "RESPONDER_CMH", "CTPIMP", "Active", "WEEK 4", "rd", "Control") == pytest.approx(
        cmh["rd"]
    )
    assert val(a, "RESPONDER_CMH", "CTPIMP", "Active", "WEEK 4", "n", "Control") == 5
    m = a.filter(
        (pl.col("analysis") == "RESPONDER_CMH")
        & (pl.col("paramcd") == "CTPIMP")
        & (pl.col("avisit") == "WEEK 4")
    )["method"]
    assert m[0].endswith(" (1 subject with a missing stratum excluded)")

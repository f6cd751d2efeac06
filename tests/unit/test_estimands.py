"""Unit tests of hepatrial.analysis.estimands: ICE derivation, strategies, the ARD part."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import polars as pl
import pytest
import yaml

from hepatrial import ard
from hepatrial.analysis import estimands as E
from hepatrial.errors import ConfigError, DataContractError
from hepatrial.models import MMRM
from hepatrial.spec import load as load_study

D0 = dt.date(2024, 1, 1)
VISITS = [
    {"label": "BASELINE", "avisitn": 0, "target_day": 1, "window": [-14, 1], "baseline": True},
    {"label": "WEEK 4", "avisitn": 4, "target_day": 29, "window": [2, 42]},
    {"label": "WEEK 8", "avisitn": 8, "target_day": 57, "window": [43, 70]},
    {"label": "WEEK 12", "avisitn": 12, "target_day": 85, "window": [71, 126]},
]
DISC = {"event": "treatment_discontinuation", "schedule_days": [1, 29, 57], "grace_days": 7}


def _study(tmp_path, estimands, **extra):
    cfg = {
        "study": {"id": "T1"},
        "arms": [{"label": "Active"}, {"label": "Placebo", "reference": True}],
        "visits": VISITS,
        "strata": ["STRAT"],
        "planned_infusions": 3,
        "endpoints": {"primary_visit": "WEEK 12", "mmrm_params": [{"paramcd": "MELD"}]},
        "estimands": estimands,
        **extra,
    }
    p = tmp_path / "study.yaml"
    p.write_text(yaml.safe_dump(cfg))
    return load_study(p)


def _est(eid, events, methods=({"method": "condmean"},), **kw):
    return {
        "id": eid,
        "endpoint": {"param": "MELD"},
        "intercurrent_events": list(events),
        "methods": list(methods),
        **kw,
    }


def _adsl(rows):
    """rows: (id, arm, ninfus, last infusion day, EOSSTT, death day, transplant day)."""
    out = []
    for sid, arm, nin, last, eos, dth, ltx in rows:
        day = lambda d: None if d is None else D0 + dt.timedelta(days=d - 1)
        out.append(
            {
                "USUBJID": sid,
                "TRT01P": arm,
                "ITTFL": "Y",
                "ORIGDT": D0,
                "NINFUS": nin,
                "TRTEDT": day(last),
                "EOSSTT": eos,
                "DTHDT": day(dth),
                "LTXDT": day(ltx),
                "STRAT": "S1" if sid[-1] in "13579" else "S2",
                "DCUTDT": dt.date(2024, 3, 1),
            }
        )
    return pl.DataFrame(out)


# ----------------------------------------------------------------------------------------------
# ICE derivation
# ----------------------------------------------------------------------------------------------
def test_derive_ices_by_hand(tmp_path):
    study = _study(
        tmp_path,
        [
            _est(
                "E",
                [
                    dict(DISC, strategy="hypothetical"),
                    {"event": "death", "strategy": "hypothetical"},
                    {"event": "transplant", "strategy": "hypothetical"},
                    {"event": "rescue", "strategy": "hypothetical", "terms": ["TIPS placement"]},
                ],
            )
        ],
    )
    # cut 2024-03-01 = day 61 from 2024-01-01
    adsl = _adsl(
        [
            ("S01", "Active", 3, 57, "ONGOING", None, None),  # all infusions: no event
            ("S02", "Active", 1, 1, "DISCONTINUED", 20, None),  # died day 20; TRTDISC day 1
            (
                "S03",
                "Placebo",
                2,
                29,
                "ONGOING",
                None,
                None,
            ),  # 3rd due day 57 + 7 = 64 > 61: not yet
            ("S04", "Placebo", 1, 1, "ONGOING", None, None),  # 2nd due 29 + 7 = 36 <= 61: TRTDISC
            ("S05", "Placebo", 0, None, "DISCONTINUED", None, 40),  # never dosed: day 1; LTX day 40
            (
                "S06",
                "Active",
                2,
                30,
                "COMPLETED",
                None,
                None,
            ),  # completed with 2 of 3: TRTDISC day 30
        ]
    )
    pr = pl.DataFrame(
        {
            "USUBJID": ["S01", "S01", "S03"],
            "PRTRT": ["tips placement", "TIPS placement", "Paracentesis"],
            "PRDECOD": [None, None, None],
            "PRSTDTC": ["2024-02-10", "2024-01-20", "2024-01-05"],
        }
    )
    ices = E.derive_ices(adsl, study, dt.date(2024, 3, 1), pr=pr)
    got = {(r["USUBJID"], r["EVENT"]): r["ICEDY"] for r in ices.iter_rows(named=True)}
    assert got == {
        ("S01", "RESCUE"): 20,
        ("S02", "DEATH"): 20,
        ("S02", "TRTDISC"): 1,
        ("S04", "TRTDISC"): 1,
        ("S05", "TRTDISC"): 1,
        ("S05", "TRANSPLANT"): 40,
        ("S06", "TRTDISC"): 30,
    }


def test_ice_summary_counts_by_hand(tmp_path):
    study = _study(
        tmp_path,
        [
            _est(
                "E",
                [
                    dict(DISC, strategy="hypothetical"),
                    {"event": "death", "strategy": "hypothetical"},
                ],
            )
        ],
    )
    adsl = _adsl(
        [
            ("S01", "Active", 1, 1, "DISCONTINUED", 40, None),
            ("S02", "Active", 3, 57, "COMPLETED", None, None),
            ("S03", "Placebo", 2, 29, "COMPLETED", None, None),
            ("S04", "Placebo", 3, 57, "COMPLETED", 100, None),
        ]
    )
    ices = E.derive_ices(adsl, study, dt.date(2024, 6, 1))
    part = E.ice_summary_ard(adsl, ices, study)

    def v(code, arm, stat, avisit=""):
        r = part.filter(
            (pl.col("paramcd") == code)
            & (pl.col("arm") == arm)
            & (pl.col("stat") == stat)
            & (pl.col("avisit") == avisit)
        )
        assert r.height == 1, (code, arm, stat, avisit)
        return r["value"][0]

    # TRTDISC: S01 day 1 (Active), S03 day 29 (Placebo); DEATH: S01 day 40, S04 day 100
    assert v("TRTDISC", "Active", "n") == 1 and v("TRTDISC", "Active", "pct") == 50.0
    assert v("TRTDISC", "Placebo", "n", "WEEK 4") == 0  # day 29 is not before target day 29
    assert (
        v("TRTDISC", "Placebo", "n", "WEEK 8") == 1
        and v("TRTDISC", "Placebo", "n_new", "WEEK 8") == 1
    )
    assert (
        v("TRTDISC", "ALL", "n", "WEEK 12") == 2 and v("TRTDISC", "ALL", "pct", "WEEK 12") == 50.0
    )
    assert v("DEATH", "Active", "n", "WEEK 8") == 1 and v("DEATH", "Placebo", "n", "WEEK 12") == 0
    assert v("DEATH", "ALL", "n") == 2
    assert v("ANY", "ALL", "n") == 3 and v("ANY", "Active", "n_new", "WEEK 4") == 1


# ----------------------------------------------------------------------------------------------
# strategies on the data
# ----------------------------------------------------------------------------------------------
def _bds(values):
    """values: {subject: (BASE, {visit: (CHG, day)})} -> ADEFF-like rows of PARAMCD MELD."""
    rows = []
    for sid, (base, vis) in values.items():
        rows.append(
            {
                "USUBJID": sid,
                "PARAMCD": "MELD",
                "AVISIT": "BASELINE",
                "ABLFL": "Y",
                "ANL01FL": "Y",
                "AVAL": base,
                "CHG": None,
                "ADT": D0,
            }
        )
        for v, (chg, day) in vis.items():
            rows.append(
                {
                    "USUBJID": sid,
                    "PARAMCD": "MELD",
                    "AVISIT": v,
                    "ABLFL": None,
                    "ANL01FL": "Y",
                    "AVAL": base + chg,
                    "CHG": chg,
                    "ADT": D0 + dt.timedelta(days=day - 1),
                }
            )
    return pl.DataFrame(rows)


def _small():
    adsl = _adsl(
        [
            ("S01", "Active", 1, 1, "DISCONTINUED", 50, None),
            ("S02", "Active", 3, 57, "COMPLETED", None, None),
            ("S03", "Placebo", 2, 29, "COMPLETED", None, None),
            ("S04", "Placebo", 3, 57, "COMPLETED", None, None),
        ]
    )
    bds = _bds(
        {
            "S01": (20, {"WEEK 4": (-1.0, 28)}),
            "S02": (18, {"WEEK 4": (-2.0, 29), "WEEK 8": (-3.0, 57), "WEEK 12": (-4.0, 85)}),
            # S03 discontinued after day 29; its WEEK 8 record on day 30 is after the event
            "S03": (22, {"WEEK 4": (0.5, 29), "WEEK 8": (1.0, 30), "WEEK 12": (1.5, 85)}),
            "S04": (25, {"WEEK 4": (0.0, 29), "WEEK 8": (-0.5, 57), "WEEK 12": (1.0, 86)}),
        }
    )
    return adsl, bds


def test_strategies_applied_to_the_data_by_hand(tmp_path):
    adsl, bds = _small()
    est_h = _est(
        "H",
        [
            dict(DISC, strategy="hypothetical"),
            {"event": "death", "strategy": "composite", "value": 40},
        ],
    )
    est_t = _est(
        "T",
        [
            dict(DISC, strategy="treatment_policy", assumption="J2R"),
            {"event": "death", "strategy": "hypothetical", "assumption": "CR"},
        ],
    )
    study = _study(tmp_path, [est_h, est_t])
    ices = E.derive_ices(adsl, study, dt.date(2024, 6, 1))
    est = study.estimands[0]
    h = E.estimand_data(bds, adsl, ices, est, study)
    grid = {(r["USUBJID"], r["AVISIT"]): r["CHG"] for r in h.data.iter_rows(named=True)}
    # hypothetical discontinuation: S03's WEEK 8 (day 30 > 29) and WEEK 12 set missing
    assert grid[("S03", "WEEK 4")] == 0.5 and grid[("S03", "WEEK 8")] is None
    assert grid[("S03", "WEEK 12")] is None
    # S01: discontinued day 1, WEEK 4 record on day 28 is after it (removed: 3 values in all);
    # died day 50:
    # WEEK 8 (target 57) and WEEK 12 are the composite MELD 40, change 40 - 20 = 20
    assert grid[("S01", "WEEK 4")] is None and h.counts["removed"] == 3
    comp = {(r["USUBJID"], r["AVISIT"]): r["CHG"] for r in h.composite.iter_rows(named=True)}
    assert comp == {("S01", "WEEK 8"): 20.0, ("S01", "WEEK 12"): 20.0}
    assert h.ice.height == 0  # every non-composite strategy here is MAR
    # treatment policy J2R: data kept; S01 (J2R from WEEK 4, before its death's CR at WEEK 8)
    est = study.estimands[1]
    t = E.estimand_data(bds, adsl, ices, est, study)
    assert t.counts["removed"] == 0
    assert {(r["USUBJID"], r["AVISIT"], r["STRATEGY"]) for r in t.ice.iter_rows(named=True)} == {
        ("S01", "WEEK 4", "JR"),
        ("S03", "WEEK 8", "JR"),
    }


# ----------------------------------------------------------------------------------------------
# the ARD part
# ----------------------------------------------------------------------------------------------
def _simulated(n=80, seed=7):
    """A two-arm trial with visits WEEK 4/8/12, BASE, a stratum, ~25% treatment discontinuation
    (values after it observed off treatment in half the cases) and a few deaths."""
    rng = np.random.default_rng(seed)
    act = np.arange(n) % 2 == 0
    base = rng.normal(18, 4, n)
    strat = np.where(rng.random(n) < 0.5, "S1", "S2")
    C = 0.6 ** np.abs(np.subtract.outer(np.arange(3), np.arange(3))) * 4.0
    Y = (
        -0.15 * (base[:, None] - 18)
        + np.where(act, -1.5, 0.0)[:, None] * np.array([0.5, 1, 1.2])
        + (strat == "S2")[:, None] * 0.7
        + rng.standard_normal((n, 3)) @ np.linalg.cholesky(C).T
    )
    disc = rng.random(n) < 0.25
    last = np.where(disc, np.where(rng.random(n) < 0.5, 1, 29), 57)
    follow = np.where(disc & (rng.random(n) < 0.5), last + 1, 200)  # lost after discontinuation
    death = np.where(rng.random(n) < 0.08, rng.integers(35, 80, n), 0)
    adsl, bds = [], []
    for i in range(n):
        sid = f"S{i:03d}"
        dth = int(death[i]) or None
        adsl.append(
            {
                "USUBJID": sid,
                "TRT01P": "Active" if act[i] else "Placebo",
                "ITTFL": "Y",
                "ORIGDT": D0,
                "NINFUS": 1 if last[i] == 1 else (2 if last[i] == 29 else 3),
                "TRTEDT": D0 + dt.timedelta(days=int(last[i]) - 1),
                "EOSSTT": "DISCONTINUED" if follow[i] < 200 or dth else "COMPLETED",
                "DTHDT": None if dth is None else D0 + dt.timedelta(days=dth - 1),
                "LTXDT": None,
                "STRAT": strat[i],
                "DCUTDT": dt.date(2025, 1, 1),
            }
        )
        bds.append(
            {
                "USUBJID": sid,
                "PARAMCD": "MELD",
                "AVISIT": "BASELINE",
                "ABLFL": "Y",
                "ANL01FL": "Y",
                "AVAL": base[i],
                "CHG": None,
                "ADT": D0,
            }
        )
        for k, (v, day) in enumerate((("WEEK 4", 29), ("WEEK 8", 57), ("WEEK 12", 85))):
            if day > follow[i] or (dth and day > dth):
                continue
            bds.append(
                {
                    "USUBJID": sid,
                    "PARAMCD": "MELD",
                    "AVISIT": v,
                    "ABLFL": None,
                    "ANL01FL": "Y",
                    "AVAL": base[i] + Y[i, k],
                    "CHG": float(Y[i, k]),
                    "ADT": D0 + dt.timedelta(days=day - 1),
                }
            )
    return pl.DataFrame(adsl), pl.DataFrame(bds)


def _mmrm_by_visit(data: pl.DataFrame, visits: list[str]) -> pl.DataFrame:
    """The MMRM with BASE x visit and STRAT x visit terms (the imputation model's mean)."""
    wide = data.drop_nulls("CHG").with_columns(
        [
            (pl.col("BASE") * (pl.col("AVISIT") == v).cast(pl.Float64)).alias(f"B{k}")
            for k, v in enumerate(visits[1:])
        ]
        + [(pl.col("STRAT") == "S2").cast(pl.Float64).alias("ST")]
        + [
            ((pl.col("STRAT") == "S2") & (pl.col("AVISIT") == v)).cast(pl.Float64).alias(f"ST{k}")
            for k, v in enumerate(visits[1:])
        ]
    )
    covs = ["BASE", "B0", "B1", "ST", "ST0", "ST1"]
    fit = MMRM(covariance="UN").fit(wide, visit_order=visits, reference="Placebo", covariates=covs)
    return fit.diffs_


def test_estimand_part_condmean_mar_equals_mmrm_and_the_part_is_well_formed(tmp_path):
    adsl, bds = _simulated()
    primary = _est(
        "PRIMARY",
        [dict(DISC, strategy="hypothetical"), {"event": "death", "strategy": "hypothetical"}],
        methods=[{"method": "condmean"}, {"method": "bayes", "M": 20, "seed": 3}],
        role="primary",
        tipping_point={"deltas": [0, 1, 2, 3, 4, 6, 8]},
    )
    j2r = _est(
        "J2R",
        [
            dict(DISC, strategy="treatment_policy", assumption="J2R"),
            {"event": "death", "strategy": "composite", "value": 40},
        ],
    )
    study = _study(tmp_path, [primary, j2r])
    part = E.estimands_ard({"adeff": bds}, adsl, study, dt.date(2025, 1, 1))
    ard.finalise(part)  # key unique
    # condmean under MAR (hypothetical): the MMRM with the same covariate-by-visit model on the
    # data with post-discontinuation values removed, to 1e-6
    ices = E.derive_ices(adsl, study, dt.date(2025, 1, 1))
    ed = E.estimand_data(
        bds,
        adsl,
        ices,
        study.estimands[0],
        study,
    )
    assert ed.counts["removed"] > 0
    mm = _mmrm_by_visit(ed.data, ed.visits)
    cm = part.filter(
        (pl.col("analysis") == "MI_DIFF")
        & (pl.col("paramcd") == "MELD|PRIMARY|condmean")
        & (pl.col("stat") == "estimate")
    )
    j = cm.join(mm, left_on="avisit", right_on="visit")
    assert j.height == 3
    np.testing.assert_allclose(j["value"], j["estimate"], rtol=1e-6)
    # every analysis, method and the stats the tables read
    codes = set(part.filter(pl.col("analysis") == "MI_DIFF")["paramcd"])
    assert codes == {"MELD|PRIMARY|condmean", "MELD|PRIMARY|bayes", "MELD|J2R|condmean"}
    assert set(part.filter(pl.col("analysis") == "MI_DIFF")["stat"]) == {
        "estimate",
        "se",
        "df",
        "lower",
        "upper",
        "p",
    }
    assert set(part["analysis"]) == {"ESTIMAND", "MI_DIFF", "MI_LSMEAN", "TIPPING", "ICE_SUMMARY"}
    # tipping: the delta in paramcd and as a stat, the time column empty; tipping_delta = the first
    # delta of the grid with p >= 0.05
    tip = part.filter(pl.col("analysis") == "TIPPING")
    assert tip["time"].is_null().all()
    per = (
        tip.filter(pl.col("paramcd").str.contains("DELTA="))
        .pivot(on="stat", index="paramcd", values="value")
        .sort("delta")
    )
    assert per["delta"].to_list() == [0, 1, 2, 3, 4, 6, 8]
    assert per.filter(pl.col("delta") == 0)["estimate"][0] == pytest.approx(
        cm.filter(pl.col("avisit") == "WEEK 12")["value"][0], abs=1e-12
    )
    td = tip.filter(pl.col("stat") == "tipping_delta")["value"][0]
    first = per.filter(pl.col("p") >= 0.05)["delta"]
    assert per["p"][0] < 0.05 and td == first[0]
    # the method texts name no arm (a masked report turns comparisons round)
    mi_rows = part.filter(pl.col("analysis").is_in(["MI_DIFF", "MI_LSMEAN", "TIPPING"]))
    assert not any("Active" in m or "Placebo" in m for m in mi_rows["method"].unique().to_list())
    # every comparison row can be turned round (masked DSMB report)
    flip = pl.col("comparator") != ""
    turned = ard.reverse_comparisons(part, flip)
    assert turned.height == part.height
    # composite: the death cells hold 40 - BASE in every completed data set; deterministic rerun
    again = E.estimands_ard({"adeff": bds}, adsl, study, dt.date(2025, 1, 1))
    assert ard.finalise(again).equals(ard.finalise(part))


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda e: e["intercurrent_events"][1].pop("value"), "needs the worst `value`"),
        (
            lambda e: e["intercurrent_events"][1].update(
                strategy="while_on_treatment", assumption="J2R", value=None
            ),
            "assumption is for",
        ),
        (lambda e: e.update(tipping_point={"deltas": [0, 1], "method": "bayes"}), "is not one of"),
        (lambda e: e["endpoint"].update(visit="WEEK 99"), "unknown post-baseline visit"),
        (
            lambda e: e.update(methods=[{"method": "bayes", "jackknife_groups": 50}]),
            r"methods/0: jackknife_groups: for the condmean jackknife only \(method bayes",
        ),
        (
            lambda e: e.update(
                methods=[{"method": "condmean", "resampling": "bootstrap", "jackknife_loo_max": 9}]
            ),
            "jackknife_loo_max: for the condmean jackknife only",
        ),
        (
            lambda e: e.update(
                methods=[
                    {"method": "condmean", "jackknife_groups": "loo", "jackknife_auto_groups": 9}
                ]
            ),
            "jackknife_auto_groups: only with jackknife_groups: auto",
        ),
        (
            lambda e: e.update(methods=[{"method": "condmean", "jackknife_groups": 1}]),
            "methods/0/jackknife_groups: 1 is not valid",
        ),
        (
            lambda e: e.update(methods=[{"method": "condmean", "jackknife_auto_groups": 1}]),
            "methods/0/jackknife_auto_groups: 1 is less than the minimum of 2",
        ),
        # the imputation data hold CHG, BASE and the strata: another term was an error deep in
        # the fit (a covariate) or left out of the model without a word (a factor)
        (
            lambda e: e.update(imputation_model={"covariates": ["BASE", "AGE"]}),
            "imputation_model/covariates: 'AGE': the continuous covariate",
        ),
        (
            lambda e: e.update(imputation_model={"factors": ["SEX"]}),
            r"imputation_model/factors: 'SEX' is not a randomisation stratum",
        ),
    ],
)
def test_config_checks(tmp_path, change, message):
    e = _est(
        "E",
        [
            dict(DISC, strategy="hypothetical"),
            {"event": "death", "strategy": "composite", "value": 40},
        ],
    )
    change(e)
    e["intercurrent_events"][1] = {
        k: v for k, v in e["intercurrent_events"][1].items() if v is not None
    }
    with pytest.raises(ConfigError, match=message) as err:
        _study(tmp_path, [e])
    assert "\n" not in str(err.value)  # one line, naming the file and the key


def test_estimands_are_a_typed_block_of_the_spec(tmp_path):
    e = _est(
        "E",
        [dict(DISC, strategy="treatment_policy", assumption="J2R")],
        methods=[{"method": "condmean", "jackknife_loo_max": 50}, {"method": "bayes", "M": 20}],
        tipping_point={"deltas": [0, 1]},
        analysis={"lsmeans_weights": "equal"},
    )
    (est,) = _study(tmp_path, [e]).estimands
    assert (est.id, est.role, est.population, est.table_set) == ("E", "sensitivity", "ITT", "MELD")
    assert est.endpoint.param == "MELD" and est.endpoint.dataset == "adeff"
    disc = est.intercurrent_events[0]
    assert (disc.event, disc.strategy, disc.assumption) == ("treatment_discontinuation",) + (
        "treatment_policy",
        "J2R",
    )
    assert disc.definition() == {"schedule_days": (1, 29, 57), "grace_days": 7, "terms": None}
    cm, bayes = est.methods
    assert (cm.key, cm.jackknife_groups, cm.jackknife_loo_max, cm.jackknife_auto_groups) == (
        "condmean",
        "auto",
        50,
        None,
    )
    assert (bayes.key, bayes.M, bayes.seed) == ("bayes", 20, 20240601)
    assert est.tipping_point.deltas == (0, 1) and est.tipping_point.method is None
    assert est.lsmeans_weights == "equal" and est.imputation_model.covariates == ("BASE",)


def test_the_jackknife_run_is_recorded_in_the_ard_and_the_table(tmp_path):
    """Leave one out up to jackknife_loo_max subjects, the delete-a-group jackknife above it: the
    switch is never silent; the MI rows' method text and the estimands table (column label and
    methods footnote) say which jackknife ran."""
    from hepatrial.tlf.tables import ARD as Lookup
    from hepatrial.tlf.tables import build_table

    adsl, bds = _simulated(n=60, seed=4)
    texts = {}
    for loo_max in (60, 59):
        est = _est(
            "P",
            [dict(DISC, strategy="treatment_policy", assumption="J2R")],
            methods=[
                {
                    "method": "condmean",
                    "jackknife_loo_max": loo_max,
                    "jackknife_auto_groups": 12,
                    "seed": 5,
                }
            ],
        )
        study = _study(tmp_path, [est])
        part = ard.finalise(E.estimands_ard({"adeff": bds}, adsl, study, dt.date(2025, 1, 1)))
        rows = part.filter((pl.col("analysis") == "MI_DIFF") & (pl.col("stat") == "se"))
        texts[loo_max] = rows["method"][0]
        table = build_table("estimands_MELD", Lookup(part, study, "2025-01-01"), "r")
        texts[loo_max, "table"] = " ".join(
            [*(c for r in table.rows for c in [r.label, r.group or ""]), *table.footnotes]
        )
    assert "conditional mean imputation, jackknife;" in texts[60]
    assert "; jackknife SE, normal CI" in texts[60] and "delete-a-group" not in texts[60]
    assert "delete-a-group" not in texts[60, "table"]
    assert "delete-a-group jackknife, 12 groups, seed 5;" in texts[59]
    assert "; delete-a-group jackknife SE (12 groups), normal CI" in texts[59]
    assert "(delete-a-group, 12 groups)" in texts[59, "table"]
    assert "delete-a-group jackknife SE (12 groups)" in texts[59, "table"]


def test_config_rejects_two_primaries_and_inconsistent_event_definitions(tmp_path):
    a = _est("A", [dict(DISC, strategy="hypothetical")], role="primary")
    b = _est("B", [dict(DISC, strategy="treatment_policy", assumption="J2R")], role="primary")
    with pytest.raises(ConfigError, match="second primary"):
        _study(tmp_path, [a, b])
    b = _est("B", [dict(DISC, strategy="treatment_policy", grace_days=3)])
    with pytest.raises(ConfigError, match="defined differently"):
        _study(tmp_path, [a, b])


def test_tables_show_only_formatted_ard_values(tmp_path):
    """The estimand and ICE tables format ARD values (every number in a cell is an ARD value at
    some number of decimals) and print the five attributes."""
    import re

    from hepatrial.tlf import format as F
    from hepatrial.tlf.tables import ARD as Lookup
    from hepatrial.tlf.tables import build_table

    adsl, bds = _simulated(n=40, seed=2)
    primary = _est(
        "PRIMARY",
        [dict(DISC, strategy="hypothetical"), {"event": "death", "strategy": "hypothetical"}],
        role="primary",
        tipping_point={"deltas": [0, 2, 4, 8]},
    )
    cir = _est("CIR", [dict(DISC, strategy="treatment_policy", assumption="CIR")])
    study = _study(tmp_path, [primary, cir])
    part = ard.finalise(E.estimands_ard({"adeff": bds}, adsl, study, dt.date(2025, 1, 1)))
    bign = ard.ard_rows(
        [
            {
                "analysis": "BIGN",
                "paramcd": "N",
                "population": "ITT",
                "arm": a,
                "stat": "n",
                "value": adsl.filter(pl.col("TRT01P") == a).height,
            }
            for a in ("Active", "Placebo")
        ]
        + [
            {
                "analysis": "BIGN",
                "paramcd": "N",
                "population": "ITT",
                "arm": "ALL",
                "stat": "n",
                "value": adsl.height,
            }
        ]
    )
    look = Lookup(pl.concat([part, bign]), study, "2025-01-01")
    allowed = set()
    for v in look.df["value"].to_list():
        if v is not None and math.isfinite(v):
            allowed |= {F.fmt_rounded(v, d) for d in range(5)}
    for name in ("estimands_MELD", "ice_summary"):
        t = build_table(name, look, "r")
        assert t.rows and t.rows[0].cells, name
        n = 0
        for r in t.rows:
            for c in r.cells:
                for tok in re.findall(r"-?\d+(?:\.\d+)?", c.replace("<0.001", "")):
                    assert tok in allowed, (name, r.group, r.label, c)
                    n += 1
        assert n > 0
    t = build_table("estimands_MELD", look, "r")
    assert [r.group for r in t.rows][:1] == ["PRIMARY (primary estimand): PRIMARY"]
    notes = " ".join(t.footnotes)
    for attr in (
        "Population: ITT",
        "Variable: change from baseline",
        "Intercurrent events:",
        "Population-level summary:",
        "Treatment: Active vs Placebo",
        "tipping point",
    ):
        assert attr in notes, attr


def _mmrm_rows(look_visit: str, arms=("Active", "Placebo")) -> pl.DataFrame:
    """MMRM rows of the primary endpoint at the estimand's visit (values as an MMRM gives them)."""
    rows = [
        {
            "analysis": "MMRM_LSMEAN",
            "paramcd": "MELD",
            "population": "ITT",
            "arm": a,
            "avisit": look_visit,
            "stat": s,
            "value": v,
            "method": "UN REML Satterthwaite",
        }
        for a, m in zip(arms, (-1.25, 0.5))
        for s, v in (("lsmean", m), ("se", 0.25), ("n", 30))
    ]
    rows += [
        {
            "analysis": "MMRM_DIFF",
            "paramcd": "MELD",
            "population": "ITT",
            "arm": arms[0],
            "comparator": arms[1],
            "avisit": look_visit,
            "stat": s,
            "value": v,
            "method": "UN REML Satterthwaite; PRIMARY ENDPOINT",
        }
        for s, v in (
            ("estimate", -1.75),
            ("se", 0.35),
            ("lower", -2.45),
            ("upper", -1.05),
            ("p", 1e-5),
        )
    ]
    return ard.ard_rows(rows)


@pytest.mark.parametrize("disc", ["treatment_policy", "hypothetical"])
def test_one_primary_analysis_the_mmrm_as_main_estimator_only_of_its_own_estimand(tmp_path, disc):
    """ICH E9(R1): one primary estimand with a main estimator. When the MMRM of all observed data
    (the primary endpoint analysis, the group-sequential monitoring's) estimates the estimand marked
    primary (treatment policy under MAR for discontinuation: no observed value set missing), it
    heads that estimand as its main estimator and MI under MAR is a supplementary estimator of the
    same estimand; when the primary estimand sets post-discontinuation values missing
    (hypothetical), the MMRM estimates another estimand and the table says so, and the first MI
    method is the main estimator."""
    from hepatrial.tlf.tables import ARD as Lookup
    from hepatrial.tlf.tables import build_table

    adsl, bds = _simulated(n=40, seed=2)
    primary = _est(
        "PRIMARY",
        [dict(DISC, strategy=disc)],
        methods=[{"method": "condmean"}, {"method": "bayes", "M": 5, "seed": 1}],
        role="primary",
    )
    j2r = _est("J2R", [dict(DISC, strategy="treatment_policy", assumption="J2R")])
    study = _study(tmp_path, [primary, j2r])
    part = ard.finalise(E.estimands_ard({"adeff": bds}, adsl, study, dt.date(2025, 1, 1)))
    target = part.filter((pl.col("analysis") == "ESTIMAND") & (pl.col("stat") == "mmrm_target"))
    by_id = {r["paramcd"]: r["value"] for r in target.iter_rows(named=True)}
    assert by_id == {"MELD|PRIMARY": float(disc == "treatment_policy"), "MELD|J2R": 0.0}
    look = Lookup(pl.concat([part, _mmrm_rows("WEEK 12")], how="diagonal_relaxed"), study, "c")
    t = build_table("estimands_MELD", look, "r")
    rows = [(r.group, r.label, r.cells) for r in t.rows]
    notes = " ".join(t.footnotes)
    mmrm = [r for r in rows if r[1].startswith("MMRM")]
    assert len(mmrm) == 1 and "-1.8 (-2.5, -1.1)" in mmrm[0][2]
    primaries = [r for r in rows if "primary estimand" in r[0]]
    assert not any("Reference" in r[0] for r in rows)
    if disc == "treatment_policy":
        assert rows[0][1] == "MMRM of all observed data (main estimator; the primary analysis)"
        assert rows[0][0] == "PRIMARY (primary estimand): PRIMARY"
        assert len(primaries) == 3 and all(
            r[1].startswith("Supplementary estimator (MI under MAR): ") for r in primaries[1:]
        )
        assert "is the main estimator of the primary estimand" in notes
    else:
        assert primaries[0][1].endswith("(main estimator)") and "MMRM" not in primaries[0][1]
        assert mmrm[0][0].startswith("MMRM of all observed data") and "estimand" not in mmrm[0][0]
        assert "does not estimate estimand PRIMARY" in notes
    assert all("main estimator" not in r[1] for r in rows if r[0].startswith("J2R"))
    # what every estimand shares is said once (the RTF repeats the footnotes on every page)
    assert "Every estimand: Population: ITT" in notes and notes.count("Population: ITT") == 1
    assert notes.count("Population-level summary") == 1
    assert rows[-1][0].startswith("J2R (sensitivity analysis)") or rows[-1][1] == "MMRM"


def test_default_summary_names_the_arms_so_a_masked_report_can_turn_it_round(tmp_path):
    adsl, bds = _simulated(n=40, seed=2)
    study = _study(tmp_path, [_est("P", [dict(DISC, strategy="treatment_policy")], role="primary")])
    part = E.estimands_ard({"adeff": bds}, adsl, study, dt.date(2025, 1, 1))
    summary = part.filter(pl.col("stat") == "attr_summary")["method"].to_list()
    assert summary == ["difference in mean change from baseline (Active minus Placebo)"]


def test_a_missing_stratum_is_counted_and_all_missing_is_one_line(tmp_path):
    """S04 without its stratum is left out of the estimand's data and counted (no_stratum 1);
    with no stratum at all the step stops with one line (it was a polars SchemaError)."""
    adsl, bds = _small()
    study = _study(tmp_path, [_est("H", [dict(DISC, strategy="hypothetical")])])
    ices = E.derive_ices(adsl, study, dt.date(2024, 6, 1))
    est = study.estimands[0]
    gap = adsl.with_columns(
        pl.when(pl.col("USUBJID") == "S04").then(None).otherwise(pl.col("STRAT")).alias("STRAT")
    )
    h = E.estimand_data(bds, gap, ices, est, study)
    assert h.counts["no_stratum"] == 1 and h.counts["subjects"] == 3
    assert "S04" not in h.data["USUBJID"].to_list()
    none = adsl.with_columns(pl.lit(None, pl.Utf8).alias("STRAT"))
    with pytest.raises(DataContractError, match="every stratum"):
        E.estimand_data(bds, none, ices, est, study)

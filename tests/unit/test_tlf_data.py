"""Literal ADaM frames and the ARD built from them, shared by the TLF tests (imported as ``test_tlf_data``).

Six subjects: S1-S3 UC-MSC, S4-S6 Placebo; S6 randomised but never dosed (not in SAFETY).
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from hepatrial.analysis import baseline as B
from hepatrial.analysis.descriptive import describe_by_visit
from hepatrial.analysis.responder import responder_ard
from hepatrial.analysis.safety import ae_summaries, aesi_summaries, disposition
from hepatrial.analysis.survival import survival_ard
from hepatrial.ard import ard_rows, finalise
from hepatrial.report.summaries import summarise_death_causes, summarise_deaths
from hepatrial.spec import load as load_study

STUDY_YAML = """
study: {id: LIT, design: %s}
arms:
  - {label: UC-MSC}
  - {label: Placebo, reference: true}
visits:
  - {label: BASELINE, avisitn: 0, target_day: 1, window: [-14, 1], baseline: true}
  - {label: WEEK 4, avisitn: 4, target_day: 29, window: [15, 42]}
  - {label: WEEK 8, avisitn: 8, target_day: 57, window: [43, 70]}
strata: [CTPSTRAT]
baseline_columns: [ETIOLOGY, CTPSTRAT]
populations: {ITT: ITTFL, SAFETY: SAFFL}
endpoints:
  primary_visit: WEEK 8
  landmarks_days: [28, 56]
  subgroups: [SEX]
  tte: [TFS, DECOMP]
cut_date: "2024-06-30"
responders:
  - {id: CTPIMP, label: CTP class improvement, rule: ctp_class_improvement, param: CTPCLASS}
  - {id: BILINORM, label: Bilirubin normalised, rule: normalisation, param: BILI}
"""
CUT = "2024-06-30"
D = dt.date


def study(tmp_path, design: str = "parallel") -> dict:
    p = tmp_path / f"study_{design}.yaml"
    text = STUDY_YAML % design
    if design != "parallel":
        text = text.replace("{label: Placebo, reference: true}", "{label: Placebo}")
    p.write_text(text)
    return load_study(p)


def adsl() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "USUBJID": ["S1", "S2", "S3", "S4", "S5", "S6"],
            "TRT01P": ["UC-MSC"] * 3 + ["Placebo"] * 3,
            "TRT01A": ["UC-MSC"] * 3 + ["Placebo", "Placebo", None],
            "ITTFL": ["Y"] * 6,
            "SAFFL": ["Y"] * 5 + ["N"],
            "AGE": [50.0, 45.0, 61.0, 38.0, 55.0, 70.0],
            "SEX": ["M", "F", "M", "M", None, "F"],
            "RACE": ["ASIAN"] * 6,
            "ETIOLOGY": ["HBV", "HBV", "PBC", "ALCOHOL", "HBV", "HBV"],
            "CTPSTRAT": ["B", "C", "B", "C", "B", "C"],
            "BLMELD": [15.0, 20.0, 12.0, 18.0, None, 22.0],
            "BLCTPS": [8.0, 10.0, 7.0, 9.0, 8.0, 11.0],
            "BLCTPC": ["B", "C", "B", "B", "B", "C"],
            "NINFUS": [3, 2, 3, 1, 3, 0],
            "EOSSTT": [
                "COMPLETED",
                "ONGOING",
                "DISCONTINUED",
                "ONGOING",
                "DISCONTINUED",
                "ONGOING",
            ],
            "DCSREAS": [None, None, "DEATH", None, "WITHDRAWAL BY SUBJECT", None],
            "DTHFL": [None, None, "Y", None, None, None],
            "DTHDT": [None, None, D(2024, 3, 1), None, None, None],
            "DTHDTF": [None] * 6,
            "ORIGDT": [D(2024, 1, 10)] * 6,
            "RANDDT": [D(2024, 1, 10)] * 6,
            "LTXDT": [None] * 6,
        },
        schema_overrides={"DTHDTF": pl.Utf8, "LTXDT": pl.Date},
    )


def adeff() -> pl.DataFrame:
    """MELD and CTP class at baseline, week 4 and week 8 (S3 died: nothing after baseline)."""
    meld = {
        "S1": [15, 14, 12],
        "S2": [20, 19, 17],
        "S3": [12, None, None],
        "S4": [18, 18, 19],
        "S5": [16, 17, 16],
        "S6": [22, 22, 23],
    }
    ctp = {
        "S1": ["B", "B", "A"],
        "S2": ["C", "C", "B"],
        "S3": ["B", None, None],
        "S4": ["B", "B", "B"],
        "S5": ["B", "B", "C"],
        "S6": ["C", "C", "C"],
    }
    arm = dict(zip(adsl()["USUBJID"], adsl()["TRT01P"]))
    strat = dict(zip(adsl()["USUBJID"], adsl()["CTPSTRAT"]))
    rows = []
    for s, vals in meld.items():
        for (visit, n, day), v, c in zip(
            [("BASELINE", 0.0, 1), ("WEEK 4", 4.0, 29), ("WEEK 8", 8.0, 57)], vals, ctp[s]
        ):
            if v is None:
                continue
            common = {
                "USUBJID": s,
                "TRT01P": arm[s],
                "ITTFL": "Y",
                "CTPSTRAT": strat[s],
                "AVISIT": visit,
                "AVISITN": n,
                "ADY": day,
                "ABLFL": "Y" if n == 0 else None,
                "ANL01FL": "Y",
            }
            rows.append(
                {
                    **common,
                    "PARAMCD": "MELD",
                    "AVAL": float(v),
                    "AVALC": None,
                    "BASE": float(vals[0]),
                    "CHG": None if n == 0 else float(v - vals[0]),
                }
            )
            rows.append(
                {
                    **common,
                    "PARAMCD": "CTPCLASS",
                    "AVAL": float("ABC".index(c) + 1),
                    "AVALC": c,
                    "BASE": None,
                    "CHG": None,
                }
            )
    return pl.DataFrame(rows, infer_schema_length=None)


def adlb() -> pl.DataFrame:
    """Bilirubin (range 3.4-20.5), albumin (35-55), INR (0.8-1.2); one unscheduled high bilirubin for S2."""
    arm = dict(zip(adsl()["USUBJID"], adsl()["TRT01A"]))
    data = {  # subject: [(param, day, visit, value)]
        "S1": [
            ("BILI", 1, "BASELINE", 30.0),
            ("BILI", 29, "WEEK 4", 18.0),
            ("BILI", 57, "WEEK 8", 15.0),
            ("ALB", 1, "BASELINE", 30.0),
            ("ALB", 29, "WEEK 4", 36.0),
            ("INR", 1, "BASELINE", 1.1),
            ("INR", 29, "WEEK 4", 1.5),
        ],
        "S2": [
            ("BILI", 1, "BASELINE", 15.0),
            ("BILI", 29, "WEEK 4", 12.0),
            ("BILI", 80, "UNSCHEDULED", 40.0),
            ("ALB", 1, "BASELINE", 40.0),
            ("ALB", 29, "WEEK 4", 33.0),
            ("INR", 1, "BASELINE", 1.3),
        ],
        "S3": [("BILI", 1, "BASELINE", 50.0), ("ALB", 1, "BASELINE", 28.0)],
        "S4": [
            ("BILI", 1, "BASELINE", 25.0),
            ("BILI", 29, "WEEK 4", 30.0),
            ("ALB", 1, "BASELINE", 34.0),
            ("ALB", 29, "WEEK 4", 60.0),
            ("INR", 1, "BASELINE", 1.0),
            ("INR", 29, "WEEK 4", 0.7),
        ],
        "S5": [
            ("BILI", 1, "BASELINE", 10.0),
            ("BILI", 29, "WEEK 4", 2.0),
            ("ALB", 1, "BASELINE", 36.0),
        ],
    }
    ranges = {"BILI": (3.4, 20.5), "ALB": (35.0, 55.0), "INR": (0.8, 1.2)}
    rows = []
    for s, recs in data.items():
        for p, day, visit, v in recs:
            lo, hi = ranges[p]
            ind = "LOW" if v < lo else "HIGH" if v > hi else "NORMAL"
            rows.append(
                {
                    "USUBJID": s,
                    "TRT01A": arm[s],
                    "TRT01P": arm[s],
                    "SAFFL": "Y",
                    "ITTFL": "Y",
                    "PARAMCD": p,
                    "AVAL": v,
                    "ADY": day,
                    "AVISIT": visit,
                    "AVISITN": {"BASELINE": 0.0, "WEEK 4": 4.0, "WEEK 8": 8.0}.get(visit),
                    "ABLFL": "Y" if day == 1 else None,
                    "ANL01FL": None if visit == "UNSCHEDULED" else "Y",
                    "ANRLO": lo,
                    "ANRHI": hi,
                    "ANRIND": ind,
                }
            )
    df = pl.DataFrame(rows, infer_schema_length=None)
    bl = df.filter(pl.col("ABLFL") == "Y").select(
        "USUBJID", "PARAMCD", pl.col("ANRIND").alias("BNRIND")
    )
    df = df.join(bl, on=["USUBJID", "PARAMCD"], how="left")
    base = df.filter(pl.col("ABLFL") == "Y").select(
        "USUBJID", "PARAMCD", pl.col("AVAL").alias("BASE")
    )
    return df.join(base, on=["USUBJID", "PARAMCD"], how="left").with_columns(
        pl.when(pl.col("ADY") > 1).then(pl.col("AVAL") - pl.col("BASE")).alias("CHG")
    )


def adae() -> pl.DataFrame:
    soc_g, soc_h = "General disorders and administration site conditions", "Hepatobiliary disorders"
    rows = [
        ("S1", "Pyrexia", soc_g, "N", 1, "Y", "N", "fever"),
        ("S1", "Pyrexia", soc_g, "N", 1, "Y", "N", "fever again"),
        ("S2", "Fatigue", soc_g, "N", 2, "N", "N", "tired"),
        ("S3", "Hepatic failure", soc_h, "Y", 5, "N", "Y", "liver failure {acute}"),
        ("S4", "Pyrexia", soc_g, "Y", 3, "Y", "N", "high fever"),
    ]
    arm = dict(zip(adsl()["USUBJID"], adsl()["TRT01A"]))
    return pl.DataFrame(
        [
            {
                "USUBJID": s,
                "TRT01A": arm[s],
                "SAFFL": "Y",
                "AEDECOD": pt,
                "AEBODSYS": soc,
                "AESER": ser,
                "ATOXGR": gr,
                "AREL": rel,
                "FATALFL": fatal,
                "AEWDFL": "N",
                "TRTEMFL": "Y",
                "AETERM": term,
                "ASTDT": D(2024, 1, 12),
                "ASTDY": 3,
                "AENDT": None,
                "AEOUT": "FATAL" if fatal == "Y" else "RECOVERED",
            }
            for s, pt, soc, ser, gr, rel, fatal, term in rows
        ],
        schema_overrides={"AENDT": pl.Date},
    )


def adtte() -> pl.DataFrame:
    """TFS and DECOMP: times in days, CNSR, CRCODE (TFS 2 death / 3 transplant; DECOMP 1 event, 2 death)."""
    base = adsl().select("USUBJID", "TRT01P", "ITTFL", "CTPSTRAT")
    tfs = base.with_columns(
        pl.lit("TFS").alias("PARAMCD"),
        pl.Series("AVAL", [60.0, 40.0, 51.0, 20.0, 70.0, 33.0]),
        pl.Series("CNSR", [1, 1, 0, 1, 1, 0]),
        pl.Series("CRCODE", [0, 0, 2, 0, 0, 3]),
    )
    dec = base.with_columns(
        pl.lit("DECOMP").alias("PARAMCD"),
        pl.Series("AVAL", [60.0, 25.0, 51.0, 10.0, 70.0, 33.0]),
        pl.Series("CNSR", [1, 0, 1, 0, 1, 1]),
        pl.Series("CRCODE", [0, 1, 2, 1, 0, 3]),
    )
    return pl.concat([tfs, dec])


def mmrm_rows() -> pl.DataFrame:
    """MMRM rows in the contract's layout (the MMRM itself is tested elsewhere)."""
    rows = []
    m = "UN REML Satterthwaite"
    for visit, (a, b) in {"WEEK 4": (-1.234, 0.25), "WEEK 8": (-2.55, 0.449)}.items():
        for arm, est in (("UC-MSC", a), ("Placebo", b)):
            for stat, v in (
                ("n", 3),
                ("lsmean", est),
                ("se", 0.4567),
                ("df", 8.2),
                ("lower", est - 1.05),
                ("upper", est + 1.05),
            ):
                rows.append(
                    {
                        "analysis": "MMRM_LSMEAN",
                        "paramcd": "MELD",
                        "population": "ITT",
                        "arm": arm,
                        "avisit": visit,
                        "stat": stat,
                        "value": v,
                        "method": m,
                    }
                )
        for stat, v in (
            ("estimate", a - b),
            ("se", 0.6449),
            ("df", 8.5),
            ("lower", a - b - 1.45),
            ("upper", a - b + 1.45),
            ("p", 0.0004 if visit == "WEEK 8" else 0.0523),
        ):
            rows.append(
                {
                    "analysis": "MMRM_DIFF",
                    "paramcd": "MELD",
                    "population": "ITT",
                    "arm": "UC-MSC",
                    "comparator": "Placebo",
                    "avisit": visit,
                    "stat": stat,
                    "value": v,
                    "method": m,
                }
            )
    for stat, v in (
        ("reml_loglik", -20.5),
        ("aic", 47.0),
        ("n_subjects", 5),
        ("n_obs", 9),
        ("converged", 1),
    ):
        rows.append(
            {
                "analysis": "MMRM_FIT",
                "paramcd": "MELD",
                "population": "ITT",
                "stat": stat,
                "value": v,
                "method": "TOEPH",
            }
        )
    return ard_rows(rows)


def km_events_rows() -> pl.DataFrame:
    """KM_EVENTS rows as the tables read them (requested from the survival rule): TFS by hand from adtte()."""
    counts = {
        "UC-MSC": (3, 1),
        "Placebo": (3, 1),
        "ALL": (6, 2),
    }  # TFS events: S3 (death), S6 (transplant)
    rows = []
    for arm, (n, e) in counts.items():
        for stat, v in (
            ("n", n),
            ("n_event", e),
            ("pct_event", 100 * e / n),
            ("n_censor", n - e),
            ("pct_censor", 100 * (n - e) / n),
        ):
            rows.append(
                {
                    "analysis": "KM_EVENTS",
                    "paramcd": "TFS",
                    "population": "ITT",
                    "arm": arm,
                    "stat": stat,
                    "value": v,
                    "method": "subjects, events and censored",
                }
            )
    return ard_rows(rows)


def build_ard(st: dict) -> pl.DataFrame:
    sl, eff, lb = adsl(), adeff(), adlb()
    parts = [
        B.big_n(sl, st),
        B.baseline_characteristics(sl, st),
        B.exposure(sl, st),
        B.lab_shift(lb, sl, st),
        B.lab_abnormal(lb, sl, st),
        B.shift_ctp(eff, sl, st),
        B.subgroup_effects(eff, sl, st),
        describe_by_visit(eff, "MELD", st),
        describe_by_visit(lb, "BILI", st),
        ae_summaries(adae(), sl, st),
        disposition(sl, st),
        aesi_summaries(adae(), sl, ex(), st),
        summarise_deaths(sl, st),
        summarise_death_causes(sl, adae(), st),
        responder_ard({"adeff": eff, "adlb": lb}, sl, st),
    ]
    for p in ("TFS", "DECOMP"):
        parts.append(survival_ard(adtte(), st, p)[0])
    if st.design.compares_arms:
        parts.append(mmrm_rows())
        parts.append(lmm_rows())
    return finalise(pl.concat(parts, how="vertical"))


def ex() -> pl.DataFrame:
    """One infusion per dosed subject on 2024-01-11 (the AEs start on 2024-01-12: onset day 1)."""
    return pl.DataFrame({"USUBJID": ["S1", "S2", "S3", "S4", "S5"], "EXSTDTC": ["2024-01-11"] * 5})


def lmm_rows() -> pl.DataFrame:
    """LMM_DIFF rows in the contract's layout (the model itself is tested in test_lmm)."""
    rows = []
    for visit, est in {"WEEK 4": -1.111, "WEEK 8": -2.222}.items():
        for stat, v in (
            ("estimate", est),
            ("se", 0.5432),
            ("lower", est - 1.0646),
            ("upper", est + 1.0646),
            ("p", 0.0411 if visit == "WEEK 4" else 0.0001),
        ):
            rows.append(
                {
                    "analysis": "LMM_DIFF",
                    "paramcd": "MELD",
                    "population": "ITT",
                    "arm": "UC-MSC",
                    "comparator": "Placebo",
                    "avisit": visit,
                    "stat": stat,
                    "value": v,
                    "method": "random intercept and slope LMM",
                }
            )
    return ard_rows(rows)


def km_step(st: dict, paramcd: str = "TFS") -> pl.DataFrame:
    return survival_ard(adtte(), st, paramcd)[1]


def test_survival_km_events_equal_the_hand_count(tmp_path):
    got = survival_ard(adtte(), study(tmp_path), "TFS")[0].filter(pl.col("analysis") == "KM_EVENTS")
    want = km_events_rows()
    key = ["arm", "stat"]
    joined = want.select(*key, "value").join(
        got.select(*key, pl.col("value").alias("got")), on=key, how="left"
    )
    assert joined.height == 15 and (joined["value"] - joined["got"]).abs().max() < 1e-12


def test_literal_ard_has_every_analysis_the_tables_read(tmp_path):
    ard = build_ard(study(tmp_path))
    have = set(ard["analysis"].unique().to_list())
    assert {
        "BIGN",
        "BASELINE",
        "EXPOSURE",
        "LAB_SHIFT",
        "LAB_ABN",
        "SHIFT_CTP",
        "SUBGROUP",
        "DESC",
        "AE_OVERVIEW",
        "AE_INCIDENCE",
        "DISPOSITION",
        "KM",
        "KM_MEDIAN",
        "LOGRANK",
        "COX",
        "CIF",
        "GRAY",
        "MMRM_LSMEAN",
        "MMRM_DIFF",
        "MMRM_FIT",
    } <= have

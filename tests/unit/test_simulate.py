"""The trial simulator (hepatrial.simulate): reproducible, contract-shaped, true to its settings."""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from hepatrial.config import load_study
from hepatrial.errors import ConfigError
from hepatrial.simulate import simulate_trial, write_cut
from hepatrial.simulate.settings import resolve_simulation

ROOT = Path(__file__).resolve().parents[2]
STUDY = ROOT / "config" / "studies" / "ucmsc-dc-rct.yaml"
CUT = "2025-06-30"
LATE_DAYS = 7

# docs/data_contract.md: the key columns of each domain (LBSTRESN/LBSTRESU are optional).
CONTRACT_COLUMNS = {
    "DM": [
        "STUDYID",
        "USUBJID",
        "SITEID",
        "ARM",
        "ACTARM",
        "RFSTDTC",
        "RFICDTC",
        "DTHDTC",
        "DTHFL",
        "AGE",
        "SEX",
        "RACE",
        "COUNTRY",
        "ETIOLOGY",
        "CTPSTRAT",
    ],
    "DS": ["USUBJID", "DSCAT", "DSDECOD", "DSSTDTC"],
    "SV": ["USUBJID", "VISITNUM", "VISIT", "SVSTDTC"],
    "EX": ["USUBJID", "EXTRT", "EXDOSE", "EXDOSU", "EXSTDTC"],
    "LB": [
        "USUBJID",
        "LBTESTCD",
        "LBTEST",
        "LBORRES",
        "LBORRESU",
        "LBORNRLO",
        "LBORNRHI",
        "LBSTAT",
        "LBDTC",
        "VISITNUM",
        "VISIT",
    ],
    "RS": ["USUBJID", "RSTESTCD", "RSORRES", "RSDTC", "VISITNUM", "VISIT"],
    "QS": ["USUBJID", "QSCAT", "QSTESTCD", "QSORRES", "QSSTRESN", "QSDTC", "VISITNUM", "VISIT"],
    "AE": [
        "USUBJID",
        "AETERM",
        "AEDECOD",
        "AEBODSYS",
        "AESTDTC",
        "AEENDTC",
        "AESER",
        "AETOXGR",
        "AEREL",
        "AEOUT",
    ],
    "CE": ["USUBJID", "CEDECOD", "CESTDTC"],
    "PR": ["USUBJID", "PRDECOD", "PRSTDTC"],
}
MAIN_DATE = {
    "DS": "DSSTDTC",
    "SV": "SVSTDTC",
    "EX": "EXSTDTC",
    "LB": "LBDTC",
    "RS": "RSDTC",
    "QS": "QSDTC",
    "AE": "AESTDTC",
    "CE": "CESTDTC",
    "PR": "PRSTDTC",
}
LAB_CODES = {
    "BILI",
    "CREAT",
    "INR",
    "PT",
    "PTCONT",
    "PTACT",
    "ALB",
    "SODIUM",
    "ALT",
    "AST",
    "GGT",
    "ALP",
    "CHE",
    "PLAT",
    "WBC",
    "HGB",
    "AFP",
    "AFPL3",
    "PIVKA2",
    "CEA",
    "CA199",
    "CA153",
    "HBVDNA",
    "IGA",
    "IGG",
    "IGM",
    "IGE",
    "CD3",
    "CD4",
    "CD8",
    "TREG",
    "TH17",
    "LSM",
}
SCORE_UNITS = {
    "BILI": {"umol/L", "mg/dL"},
    "CREAT": {"umol/L", "mg/dL"},
    "ALB": {"g/L", "g/dL"},
    "SODIUM": {"mmol/L", "mEq/L"},
}
CE_TERMS = {
    "VARICEAL BLEEDING",
    "ASCITES",
    "HEPATIC ENCEPHALOPATHY",
    "SPONTANEOUS BACTERIAL PERITONITIS",
    "HEPATORENAL SYNDROME",
    "HEPATOCELLULAR CARCINOMA",
    "LIVER FAILURE",
    "ACUTE-ON-CHRONIC LIVER FAILURE",
}
PR_TERMS = {"LIVER TRANSPLANT", "HAEMODIALYSIS", "PARACENTESIS", "TIPS"}
DS_TERMS = {
    "RANDOMIZED",
    "COMPLETED",
    "DEATH",
    "LOST TO FOLLOW-UP",
    "WITHDRAWAL BY SUBJECT",
    "ADVERSE EVENT",
    "PHYSICIAN DECISION",
    "SCREEN FAILURE",
    "INFORMED CONSENT OBTAINED",
    "OTHER",
}
SF36_MAX = {
    **{i: 5 for i in (1, 2, 20, 22, 32, 33, 34, 35, 36)},
    21: 6,
    **{i: 3 for i in range(3, 13)},
    **{i: 2 for i in range(13, 20)},
    **{i: 6 for i in range(23, 32)},
}


@pytest.fixture(scope="module")
def study() -> dict:
    return load_study(STUDY)


@pytest.fixture(scope="module")
def trial(study) -> dict[str, pl.DataFrame]:
    return simulate_trial(study, 240, 20250630, CUT)


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def _day(col: str) -> pl.Expr:
    """The full date part of an ISO date/datetime (partial dates -> null)."""
    return pl.col(col).str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False)


def test_same_seed_same_bytes_other_seed_other_bytes(study, tmp_path):
    runs = [
        simulate_trial(study, 60, 7, CUT),
        simulate_trial(study, 60, 7, CUT),
        simulate_trial(study, 60, 8, CUT),
    ]
    domains = ("ae", "ce", "dm", "ds", "ex", "lb", "pr", "qs", "rs", "sv")
    for fmt in ("csv", "parquet", "xpt"):
        digests = []
        for k, run in enumerate(runs):
            write_cut(run, tmp_path / f"{fmt}{k}", fmt)
            digests.append(_digest(tmp_path / f"{fmt}{k}"))
        assert sorted(digests[0]) == [f"{d}.{fmt}" for d in domains]
        assert digests[0] == digests[1]
        assert digests[0][f"lb.{fmt}"] != digests[2][f"lb.{fmt}"]


def test_cli_writes_one_csv_per_domain(tmp_path):
    out = tmp_path / "cut"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "hepatrial.simulate",
            "--study",
            str(STUDY),
            "--subjects",
            "30",
            "--seed",
            "3",
            "--cut",
            CUT,
            "--out",
            str(out),
        ],
        check=True,
        capture_output=True,
    )
    assert sorted(p.name for p in out.iterdir()) == sorted(
        f"{d}.csv" for d in ("dm", "ds", "sv", "ex", "lb", "rs", "qs", "ae", "ce", "pr")
    )
    dm = pl.read_csv(out / "dm.csv", infer_schema_length=0)
    assert dm.height >= 30
    assert dm["USUBJID"].str.contains(r"^UCMSC-DC-RCT-0[1-8]-\d{4}$").all()


def test_every_domain_has_the_contract_columns(trial):
    for dom, cols in CONTRACT_COLUMNS.items():
        missing = set(cols) - set(trial[dom].columns)
        assert not missing, f"{dom} lacks {missing}"
        assert trial[dom].height > 0, dom
    assert "LBSTRESN" not in trial["LB"].columns


def test_controlled_terms(trial):
    dm, lb, rs, qs = trial["DM"], trial["LB"], trial["RS"], trial["QS"]
    assert set(dm["SEX"]) <= {"M", "F"}
    assert set(dm["DTHFL"].drop_nulls()) <= {"Y"}
    assert set(dm["CTPSTRAT"].drop_nulls()) == {"B", "C"}
    assert dm["AGE"].is_between(18, 75).all()
    assert set(trial["DS"]["DSCAT"]) == {"PROTOCOL MILESTONE", "DISPOSITION EVENT"}
    assert set(trial["DS"]["DSDECOD"]) <= DS_TERMS
    assert set(lb["LBTESTCD"]) == LAB_CODES
    assert set(lb["LBSTAT"].drop_nulls()) == {"NOT DONE"}
    assert (
        lb.filter(pl.col("LBSTAT") == "NOT DONE")["LBORRES"].null_count()
        == lb.filter(pl.col("LBSTAT") == "NOT DONE").height
    )
    for code, units in SCORE_UNITS.items():
        assert set(lb.filter(pl.col("LBTESTCD") == code)["LBORRESU"].drop_nulls()) <= units, code
    assert set(lb.filter(pl.col("LBTESTCD") == "INR")["LBORRESU"].drop_nulls()) == set()
    numeric = lb.filter(pl.col("LBTESTCD") != "HBVDNA")["LBORRES"].drop_nulls().cast(pl.Float64)
    assert (numeric > 0).all()
    assert set(rs.filter(pl.col("RSTESTCD") == "ASCITES")["RSORRES"]) <= {
        "NONE",
        "MILD",
        "MODERATE-SEVERE",
    }
    assert set(rs.filter(pl.col("RSTESTCD") == "HEGRADE")["RSORRES"]) <= set("01234")
    assert set(rs.filter(pl.col("RSTESTCD") == "ECOG")["RSORRES"]) <= set("012345")
    ctp = rs.filter(pl.col("RSTESTCD") == "CTPSCORE").join(
        dm.filter(pl.col("ARMCD") != "SCRNFAIL"), on="USUBJID"
    )
    assert ctp["RSORRES"].cast(pl.Int64).is_between(7, 12).all()
    assert set(trial["CE"]["CEDECOD"]) <= CE_TERMS
    assert set(trial["PR"]["PRDECOD"]) <= PR_TERMS
    ae = trial["AE"]
    assert set(ae["AESER"]) <= {"Y", "N"}
    assert set(ae["AETOXGR"]) <= {1, 2, 3, 4, 5}
    assert set(ae["AEREL"]) == {"RELATED", "NOT RELATED"}
    assert ae["AESTDTC"].str.contains(r"^\d{4}(-\d{2}(-\d{2})?)?$").all()
    assert (ae["AESTDTC"].str.len_chars() < 10).any()  # some partial onset dates
    # questionnaires: item codes and response ranges (RAND-36 per item)
    assert set(qs["QSCAT"]) == {"CLDQ", "EQ-5D-5L", "SF-36"}
    v = qs.drop_nulls("QSSTRESN").with_columns(n=pl.col("QSTESTCD").str.slice(-2).cast(pl.Int64))
    cldq = v.filter(pl.col("QSCAT") == "CLDQ")
    assert cldq["QSSTRESN"].is_between(1, 7).all() and cldq["n"].is_between(1, 29).all()
    eq = v.filter(pl.col("QSCAT") == "EQ-5D-5L")
    assert eq.filter(pl.col("n") <= 5)["QSSTRESN"].is_between(1, 5).all()
    assert eq.filter(pl.col("n") == 6)["QSSTRESN"].is_between(0, 100).all()
    sf = v.filter(pl.col("QSCAT") == "SF-36")
    hi = sf["n"].replace_strict(SF36_MAX)
    assert (sf["QSSTRESN"] >= 1).all() and (sf["QSSTRESN"] <= hi).all()
    assert set(sf["n"]) == set(range(1, 37))
    assert qs["QSORRES"].null_count() > 0  # item-level missings


def test_the_mg_dl_site_exists(trial):
    lb = trial["LB"].with_columns(site=pl.col("USUBJID").str.slice(13, 2))
    mg = lb.filter(pl.col("LBTESTCD").is_in(["BILI", "CREAT"]) & pl.col("LBORRESU").is_not_null())
    assert set(mg.filter(pl.col("site") == "03")["LBORRESU"]) == {"mg/dL"}
    assert set(mg.filter(pl.col("site") != "03")["LBORRESU"]) == {"umol/L"}


def test_randomisation_is_one_to_one_in_blocks_of_four_within_strata(trial):
    rand = (
        trial["DS"]
        .filter(pl.col("DSDECOD") == "RANDOMIZED")
        .join(trial["DM"].select("USUBJID", "ARM", "CTPSTRAT"), on="USUBJID")
        .sort("CTPSTRAT", "DSSTDTC", "USUBJID")
    )
    assert rand.height >= 230
    for (stratum,), grp in rand.group_by("CTPSTRAT"):
        arms = grp["ARM"].to_list()
        full = len(arms) // 4 * 4
        for k in range(0, full, 4):
            assert sorted(arms[k : k + 4]) == ["Placebo", "Placebo", "UC-MSC", "UC-MSC"], (
                stratum,
                k,
            )
        assert abs(arms.count("UC-MSC") - arms.count("Placebo")) <= 2


def test_nothing_after_the_cut_but_the_deliberate_late_records(trial):
    cut = dt.date.fromisoformat(CUT)
    late = {}
    for dom, col in MAIN_DATE.items():
        d = trial[dom].with_columns(
            _d=pl.col(col).str.slice(0, 4).cast(pl.Int64) * 10000
            + pl.col(col).str.slice(5, 2).cast(pl.Int64, strict=False).fill_null(1) * 100
            + pl.col(col).str.slice(8, 2).cast(pl.Int64, strict=False).fill_null(1)
        )
        after = d.filter(pl.col("_d") > int(cut.strftime("%Y%m%d")))
        late[dom] = after.height
        if dom in ("LB", "AE"):
            limit = int((cut + dt.timedelta(days=LATE_DAYS)).strftime("%Y%m%d"))
            assert (after["_d"] <= limit).all(), dom
        else:
            assert after.height == 0, dom
    assert late["LB"] > 0 or late["AE"] > 0
    dm = trial["DM"]
    for col in ("RFSTDTC", "RFENDTC", "RFICDTC"):
        assert (dm[col].drop_nulls() <= CUT).all(), col
    assert (dm["DTHDTC"].drop_nulls().str.slice(0, 7) <= CUT[:7]).all()


def test_events_and_special_subjects(trial):
    dm, ds, pr, ex = trial["DM"], trial["DS"], trial["PR"], trial["EX"]
    dead = dm.filter(pl.col("DTHFL") == "Y")
    assert dead.height > 0
    assert set(dead["USUBJID"]) == set(ds.filter(pl.col("DSDECOD") == "DEATH")["USUBJID"])
    assert (dead["DTHDTC"].str.len_chars() == 7).any() or dead.height < 10
    fatal = trial["AE"].filter(pl.col("AETOXGR") == 5)
    assert set(fatal["USUBJID"]) == set(dead["USUBJID"])
    assert (fatal["AEOUT"] == "FATAL").all()
    tx = pr.filter(pl.col("PRDECOD") == "LIVER TRANSPLANT")
    same_day = tx.join(ds.filter(pl.col("DSDECOD") == "DEATH"), on="USUBJID").filter(
        pl.col("PRSTDTC") == pl.col("DSSTDTC")
    )
    assert same_day.height >= 1
    never = dm.filter(pl.col("ACTARMCD") == "NOTTRT")
    assert never.height >= 1
    assert never["RFSTDTC"].null_count() == never.height
    assert not set(never["USUBJID"]) & set(ex["USUBJID"])
    assert set(never["USUBJID"]) <= set(ds.filter(pl.col("DSDECOD") == "RANDOMIZED")["USUBJID"])
    sf = dm.filter(pl.col("ARMCD") == "SCRNFAIL")
    assert (
        sf.height > 0
        and (sf["ARM"] == "Screen Failure").all()
        and sf["RFSTDTC"].null_count() == sf.height
    )
    assert not set(sf["USUBJID"]) & (set(ex["USUBJID"]) | set(trial["QS"]["USUBJID"]))
    assert set(trial["SV"].filter(pl.col("USUBJID").is_in(sf["USUBJID"].implode()))["VISIT"]) == {
        "SCREENING"
    }
    # two haemodialysis sessions within the 7 days before a lab date
    hd = pr.filter(pl.col("PRDECOD") == "HAEMODIALYSIS").select("USUBJID", hd=_day("PRSTDTC"))
    labs = (
        trial["LB"]
        .filter(pl.col("LBTESTCD") == "CREAT")
        .select("USUBJID", lab=_day("LBDTC"))
        .unique()
    )
    win = (
        hd.join(labs, on="USUBJID")
        .filter(
            (pl.col("hd") < pl.col("lab")) & (pl.col("hd") >= pl.col("lab") - pl.duration(days=7))
        )
        .group_by("USUBJID", "lab")
        .len()
    )
    assert (win["len"] >= 2).any()
    # ongoing subjects at the cut have no disposition event
    disp = ds.filter(pl.col("DSCAT") == "DISPOSITION EVENT")["USUBJID"]
    assert dm.filter(~pl.col("USUBJID").is_in(disp.implode())).height > 0
    # one EX row per infusion given, never more than the three planned
    assert ex.group_by("USUBJID").len()["len"].max() <= 3


def _meld(lb: pl.DataFrame) -> pl.DataFrame:
    """UNOS MELD per subject and visit, written out here independently of the package."""
    factor = {"BILI": 17.1, "CREAT": 88.4}
    v = (
        lb.filter(
            pl.col("LBTESTCD").is_in(["BILI", "CREAT", "INR"]) & pl.col("LBORRES").is_not_null()
        )
        .with_columns(
            x=pl.col("LBORRES").cast(pl.Float64)
            / pl.when(pl.col("LBORRESU") == "umol/L")
            .then(pl.col("LBTESTCD").replace_strict(factor, default=1.0))
            .otherwise(1.0)
        )
        .pivot(on="LBTESTCD", index=["USUBJID", "VISIT"], values="x", aggregate_function="first")
        .drop_nulls()
    )
    bracket = (
        0.957 * pl.col("CREAT").clip(1.0, 4.0).log()
        + 0.378 * pl.col("BILI").clip(1.0).log()
        + 1.12 * pl.col("INR").clip(1.0).log()
        + 0.643
    ).round(1)
    return v.with_columns(MELD=(10 * bracket).clip(upper_bound=40.0))


def test_baseline_meld_and_ctp_look_like_decompensated_cirrhosis(study):
    d = simulate_trial(study, 1500, 11, "2027-12-31")
    base = _meld(d["LB"]).filter(pl.col("VISIT") == "DAY 1")["MELD"]
    assert 13.5 < base.mean() < 16.5
    assert 3.0 < base.std() < 5.0
    died = (
        d["DM"]["DTHFL"].drop_nulls().len() / d["DM"].filter(pl.col("ARMCD") != "SCRNFAIL").height
    )
    assert 0.05 < died < 0.15


def test_true_treatment_effect_is_recovered(study):
    cfg = copy.deepcopy(study)
    cfg["simulation"]["treatment_effect_meld_w24"] = -4.0
    d = simulate_trial(cfg, 2000, 5, "2027-12-31")
    m = _meld(d["LB"]).join(d["DM"].select("USUBJID", "ARM"), on="USUBJID")
    base = m.filter(pl.col("VISIT") == "DAY 1").select("USUBJID", "ARM", B=pl.col("MELD"))
    w24 = m.filter(pl.col("VISIT") == "WEEK 24").select("USUBJID", W=pl.col("MELD"))
    chg = (
        w24.join(base, on="USUBJID")
        .group_by("ARM")
        .agg((pl.col("W") - pl.col("B")).mean().alias("chg"))
    )
    c = dict(zip(chg["ARM"], chg["chg"]))
    diff = c["UC-MSC"] - c["Placebo"]
    assert -5.0 < diff < -3.0, diff
    # and no effect when none is simulated
    cfg["simulation"]["treatment_effect_meld_w24"] = 0.0
    d = simulate_trial(cfg, 2000, 5, "2027-12-31")
    m = _meld(d["LB"]).join(d["DM"].select("USUBJID", "ARM"), on="USUBJID")
    base = m.filter(pl.col("VISIT") == "DAY 1").select("USUBJID", "ARM", B=pl.col("MELD"))
    w24 = m.filter(pl.col("VISIT") == "WEEK 24").select("USUBJID", W=pl.col("MELD"))
    chg = (
        w24.join(base, on="USUBJID")
        .group_by("ARM")
        .agg((pl.col("W") - pl.col("B")).mean().alias("chg"))
    )
    c = dict(zip(chg["ARM"], chg["chg"]))
    assert abs(c["UC-MSC"] - c["Placebo"]) < 0.6


def test_simulation_block_is_validated():
    with pytest.raises(ConfigError, match="simulation"):
        resolve_simulation({"block_size": "four"})
    with pytest.raises(ConfigError, match="preset"):
        resolve_simulation({"preset": "nonsense"})
    sim = resolve_simulation({"preset": "hbv_aclf"})
    assert sim["severity"]["meld_mean"] == 25.0 and sim["screen_failure_rate"] == 0.05


def test_other_designs_run_from_config(study):
    single = copy.deepcopy(study)
    single["study"]["design"] = "single_arm"
    single["arms"] = [
        {"label": "UC-MSC", "arm": "UC-MSC", "code": 1, "reference": False, "dose": ""}
    ]
    single["strata"] = []
    single["simulation"] = {k: v for k, v in single["simulation"].items() if k != "arms"}
    d = simulate_trial(single, 40, 1, CUT)
    assert d["DS"].filter(pl.col("DSDECOD") == "RANDOMIZED").height == 0
    assert set(d["DM"]["ARM"].drop_nulls()) <= {"UC-MSC", "Screen Failure"}
    aclf = copy.deepcopy(study)
    aclf["simulation"] = {"preset": "hbv_aclf"}
    d = simulate_trial(aclf, 200, 1, "2027-12-31")
    assert set(d["SV"]["VISIT"]) >= {"WEEK 1", "WEEK 2"}
    assert set(d["DM"]["ETIOLOGY"]) == {"HBV"}
    assert np.mean(d["DM"]["DTHFL"].drop_nulls().len()) > 0

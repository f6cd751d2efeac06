"""Every trial design runs from its study config: each bundled cut goes through the whole DAG (rule
``all``) and its ARD holds the facts of its design (docs/designs.md).

Slow: one DAG run per design (and one for the ACLF design with an added SMT arm).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
import yaml
from dag import snakemake

from hepatrial.config import load_study
from hepatrial.simulate import simulate_trial, write_cut

ROOT = Path(__file__).resolve().parents[2]
DESIGNS = {
    "dose_escalation": (
        "config/studies/ucmsc-dose-escalation.yaml",
        "data/UCMSC-DOSE-ESC/2026-03-31",
    ),
    "single_arm_w72": ("config/studies/ucmsc-single-arm-w72.yaml", "data/UCMSC-SA-W72/2025-10-31"),
    "hbv_aclf": ("config/studies/ucmsc-hbv-aclf.yaml", "data/UCMSC-HBV-ACLF/2026-06-30"),
    "msc_treg": ("config/studies/msc-treg-dc.yaml", "data/MSC-TREG-DC/2025-12-31"),
}
COMPARISONS = (
    "MMRM_DIFF",
    "LMM_DIFF",
    "LOGRANK",
    "LOGRANK_UNSTRAT",
    "COX",
    "COX_UNSTRAT",
    "GRAY",
    "GRAY_UNSTRAT",
    "SUBGROUP",
)
MAX_CUT_BYTES = 2_000_000

pytestmark = pytest.mark.workflow


def run_dag(study: str | Path, cut: str | Path, out: Path, *targets: str) -> Path:
    """Run the DAG (rule ``all`` unless targets are given) into ``out``; return the results folder."""
    res = snakemake(
        *targets,
        "--config",
        f"study={study}",
        f"cut={cut}",
        f"results_dir={out / 'results'}",
        f"reports_dir={out / 'reports'}",
    )
    assert res.returncode == 0, res.stderr[-4000:]
    sid = load_study(ROOT / study)["study"]["id"]
    return out / "results" / sid / Path(cut).name


def ard_of(res: Path) -> pl.DataFrame:
    return pl.read_parquet(res / "ard" / "ard.parquet")


def rows(ard: pl.DataFrame, analysis: str, **keys) -> pl.DataFrame:
    out = ard.filter(pl.col("analysis") == analysis)
    for k, v in keys.items():
        out = out.filter(pl.col(k) == v)
    return out


def one(ard: pl.DataFrame, analysis: str, **keys) -> float:
    hit = rows(ard, analysis, **keys)
    assert hit.height == 1, (analysis, keys, hit)
    return hit["value"][0]


def check_outputs(design: str, res: Path, targets: tuple[str, ...] = ()) -> None:
    study, cut = DESIGNS[design]
    assert (res / "ard" / "ard.parquet").exists() and (res / "ard" / "ard.csv").exists()
    # every output asked for exists (rule all: tables, figures and reports)
    dry = snakemake(
        "-n",
        *targets,
        "--config",
        f"study={study}",
        f"cut={cut}",
        f"results_dir={res.parents[1]}",
        f"reports_dir={res.parents[2] / 'reports'}",
    )
    assert dry.returncode == 0 and "Nothing to be done" in dry.stdout + dry.stderr, dry.stdout[
        -2000:
    ]
    adsl = pl.read_parquet(res / "adam" / "adsl.parquet")
    itt = set(adsl.filter(pl.col("ITTFL") == "Y")["USUBJID"])
    if load_study(ROOT / study)["study"]["design"] == "parallel":  # ITT = randomised
        assert itt == set(adsl.filter(pl.col("RANDDT").is_not_null())["USUBJID"])
    else:  # no randomisation: ITT = enrolled and dosed
        assert itt == set(
            adsl.filter(pl.col("TRT01P").is_not_null() & pl.col("TRTSDT").is_not_null())["USUBJID"]
        )
    assert len(itt) >= 18 and one(
        ard_of(res), "DISPOSITION", paramcd="ITT", arm="ALL", stat="n"
    ) == len(itt)


def check_no_comparisons(design: str, res: Path) -> None:
    ard = ard_of(res)
    assert ard.filter(pl.col("analysis").is_in(COMPARISONS)).height == 0
    assert ard.filter(pl.col("comparator") != "").height == 0
    study = load_study(ROOT / DESIGNS[design][0])
    arms = [a["label"] for a in study["arms"]]
    for p in study["endpoints"]["mmrm_params"]:
        assert one(ard, "MMRM_FIT", paramcd=p["paramcd"], stat="converged") == 1, p
        ls = rows(ard, "MMRM_LSMEAN", paramcd=p["paramcd"]).pivot(
            on="stat", index=["arm", "avisit"], values="value"
        )
        assert set(ls["arm"]) == set(arms), p
        # within-arm LS mean change with its 95% CI, at post-baseline visits only
        assert "BASELINE" not in set(ls["avisit"]) and ls.height >= len(arms)
        assert (ls["lower"] < ls["lsmean"]).all() and (ls["lsmean"] < ls["upper"]).all()
    for p in study["endpoints"]["tte"]:
        km = rows(ard, "KM", paramcd=p, stat="surv")
        assert set(km["arm"]) == {*arms, "ALL"}
        assert set(km["time"]) == set(study["endpoints"]["landmarks_days"])


def check_dose_escalation(res: Path) -> None:
    """DLT rows per cohort (recounted from ADaM), the escalation decisions, MTD and RP2D."""
    check_no_comparisons("dose_escalation", res)
    ard = ard_of(res)
    study = load_study(ROOT / DESIGNS["dose_escalation"][0])
    cohorts = [a["label"] for a in study["arms"]]
    # DLTs recounted here from ADAE and EX: grade >= 3, related, onset on days 1-28 of an infusion
    adae = pl.read_parquet(res / "adam" / "adae.parquet")
    adsl = pl.read_parquet(res / "adam" / "adsl.parquet").filter(pl.col("SAFFL") == "Y")
    ex = pl.read_parquet(res / "sdtm" / "ex.parquet")
    doses: dict[str, list[dt.date]] = {}
    for s, d in ex.select("USUBJID", "EXSTDTC").iter_rows():
        doses.setdefault(s, []).append(dt.date.fromisoformat(d[:10]))
    with_dlt = set()
    for s, start, grade, rel in adae.select("USUBJID", "ASTDT", "ATOXGR", "AREL").iter_rows():
        if (
            start
            and grade
            and grade >= 3
            and rel == "Y"
            and any(0 <= (start - d).days <= 27 for d in doses[s])
        ):
            with_dlt.add(s)
    cohort_of = dict(adsl.select("USUBJID", "TRT01A").iter_rows())
    for level, c in enumerate(cohorts, start=1):
        n_dlt = sum(cohort_of.get(s) == c for s in with_dlt)
        assert one(ard, "DLT", paramcd="DLT", arm=c, stat="n_subjects") == 6
        assert one(ard, "DLT", paramcd="DLT", arm=c, stat="n_dlt") == n_dlt
        n_ev = one(ard, "DLT", paramcd="DLT", arm=c, stat="n_evaluable")
        assert one(ard, "DLT", paramcd="DLT", arm=c, stat="pct") == pytest.approx(
            100 * n_dlt / n_ev
        )
        code = one(ard, "ESCALATION", paramcd="DECISION", arm=c, stat="code")
        assert code == (3 if n_dlt >= 2 else 1 if n_dlt <= 1 and n_ev >= 6 else 0)
        assert one(ard, "ESCALATION", paramcd="DECISION", arm=c, stat="dose_level") == level
    # the bundled cut: the high dose stopped (2 of 6), so the MTD and RP2D are the medium dose
    assert one(ard, "DLT", paramcd="DLT", arm=cohorts[2], stat="n_dlt") == 2
    assert rows(ard, "ESCALATION", paramcd="MTD", stat="dose_level")["arm"].to_list() == [
        cohorts[1]
    ]
    assert one(ard, "ESCALATION", paramcd="RP2D", arm=cohorts[1], stat="dose_level") == 2
    # safety by cohort: subjects with a serious TEAE per dose cohort
    ser = adae.filter((pl.col("TRTEMFL") == "Y") & (pl.col("AESER") == "Y"))
    for c in cohorts:
        n = ser.filter(
            pl.col("USUBJID").is_in(adsl.filter(pl.col("TRT01A") == c)["USUBJID"].implode())
        )
        assert (
            one(ard, "AE_OVERVIEW", paramcd="SERTEAE", arm=c, stat="n_subjects")
            == n["USUBJID"].n_unique()
        )
    # efficacy by dose: the protocol's Kamath MELD is the primary MELD
    adsl_all = pl.read_parquet(res / "adam" / "adsl.parquet")
    adeff = pl.read_parquet(res / "adam" / "adeff.parquet")
    bl = adeff.filter((pl.col("PARAMCD") == "MELDKAM") & (pl.col("ABLFL") == "Y")).select(
        "USUBJID", "AVAL"
    )
    joined = adsl_all.join(bl, on="USUBJID", how="inner")
    assert joined.height > 0 and (joined["BLMELD"] == joined["AVAL"]).all()
    desc = rows(ard, "DESC", stat="n").filter(pl.col("value") > 0)
    produced = set(desc["paramcd"])
    for p in (
        "LSM",
        "TREG",
        "IGG",
        "AFP",
        "PIVKA2",
        "HBVDNA",
        "ECOG",
        "SFPF",
        "CLDQOVR",
        "EQ5DIDX",
    ):
        assert p in produced, p


def check_single_arm_w72(res: Path) -> None:
    """Ishak change to week 72, abnormal bilirubin and albumin by visit, within-arm estimates."""
    check_no_comparisons("single_arm_w72", res)
    ard = ard_of(res)
    for p in ("ISHAKF", "ISHAKI"):
        visits = set(
            rows(ard, "DESC", paramcd=p, arm="UC-MSC", stat="n").filter(pl.col("value") > 0)[
                "avisit"
            ]
        )
        assert visits == {"BASELINE", "WEEK 72"}, (p, visits)
        assert one(ard, "DESC", paramcd=f"{p}_CHG", arm="UC-MSC", avisit="WEEK 72", stat="n") >= 15
        assert rows(ard, "MMRM_LSMEAN", paramcd=p, stat="lsmean")["avisit"].to_list() == ["WEEK 72"]
    assert one(ard, "KM", paramcd="OS", arm="UC-MSC", time=504.0, stat="surv") < 1.0
    for p in ("BILI", "ALB"):
        abn = rows(ard, "LAB_ABN", paramcd=p, arm="UC-MSC", stat="pct_abnormal")
        assert {"BASELINE", "WEEK 72"} <= set(abn["avisit"]), p
        assert (
            rows(ard, "LAB_SHIFT", arm="UC-MSC")
            .filter(pl.col("paramcd").str.starts_with(p + "|"))
            .height
        )


def check_msc_treg(res: Path) -> None:
    """Within-subject change on its own visit schedule; on-study decompensation only."""
    check_no_comparisons("msc_treg", res)
    ard = ard_of(res)
    arm = "MSC + Treg"
    visits = set(rows(ard, "MMRM_LSMEAN", paramcd="MELD", arm=arm, stat="lsmean")["avisit"])
    assert visits == {"WEEK 2", "WEEK 4", "WEEK 8", "WEEK 12", "WEEK 24", "WEEK 48"}
    assert one(ard, "DESC", paramcd="TREG", arm=arm, avisit="BASELINE", stat="n") > 20
    assert rows(ard, "CIF", paramcd="DECOMP", arm=arm, stat="cif").height == 3
    # a decompensation event is an on-study one: pre-study history (partial dates months before
    # consent) is never raised to the origin
    ev = pl.read_parquet(res / "adam" / "adtte.parquet").filter(
        (pl.col("PARAMCD") == "DECOMP") & (pl.col("CNSR") == 0)
    )
    ce = pl.read_parquet(res / "sdtm" / "ce.parquet").select("SRCROW", "CECAT")
    assert ev.height > 0
    assert set(ev.join(ce, on="SRCROW", how="left")["CECAT"]) == {"ON-STUDY EVENT"}


def check_hbv_aclf(res: Path) -> None:
    """KM at 364 days per arm; comparisons against the configured (active) reference arm."""
    ard = ard_of(res)
    ref, test = "MSC 4 weeks", "MSC 8 weeks"
    for arm in (ref, test, "ALL"):
        s = one(ard, "KM", paramcd="OS", arm=arm, time=364.0, stat="surv")
        assert 0 < s < 1
    lr = rows(ard, "LOGRANK", paramcd="OS")
    assert lr.select("arm", "comparator").unique().rows() == [(test, ref)]
    assert 0 <= one(ard, "LOGRANK", paramcd="OS", arm=test, stat="p") <= 1
    assert rows(ard, "COX", paramcd="OS", arm=test, comparator=ref).height == 4
    assert set(rows(ard, "MMRM_DIFF", paramcd="MELD", stat="estimate")["comparator"]) == {ref}
    sofa = set(
        rows(ard, "DESC", paramcd="SOFA", arm="ALL", stat="n").filter(pl.col("value") > 0)["avisit"]
    )
    assert {"BASELINE", "WEEK 1", "WEEK 2", "WEEK 3", "WEEK 4"} <= sofa
    assert rows(ard, "AE_OVERVIEW", paramcd="FATALTEAE", stat="n_subjects").height == 3
    # the 8-week arm received more infusions than the 4-week arm
    adsl = pl.read_parquet(res / "adam" / "adsl.parquet").filter(pl.col("SAFFL") == "Y")
    assert adsl.filter(pl.col("TRT01A") == ref)["NINFUS"].max() == 4
    assert adsl.filter(pl.col("TRT01A") == test)["NINFUS"].max() == 8


FULL_DAG = {"dose_escalation"}  # the design whose every table, figure and report the test builds
CHECKS = {
    "dose_escalation": check_dose_escalation,
    "single_arm_w72": check_single_arm_w72,
    "hbv_aclf": check_hbv_aclf,
    "msc_treg": check_msc_treg,
}


@pytest.mark.parametrize("design", list(DESIGNS))
def test_design_runs_from_its_config(design, tmp_path):
    """The bundled cut is small, rule all runs, and the ARD holds the design's facts."""
    study, cut = DESIGNS[design]
    files = list((ROOT / cut).iterdir())
    assert {f.name for f in files} >= {"dm.csv", "ds.csv", "ex.csv", "lb.csv", "ae.csv"}
    assert sum(f.stat().st_size for f in files) < MAX_CUT_BYTES
    targets: tuple[str, ...] = ()
    if design not in FULL_DAG:  # CI time: the ARD and both DSMB reports; rule all for one design
        sid = load_study(ROOT / study)["study"]["id"]
        res_dir = tmp_path / "results" / sid / Path(cut).name
        rep_dir = tmp_path / "reports" / sid / Path(cut).name
        targets = (
            str(res_dir / "ard" / "ard.parquet"),
            str(rep_dir / "dsmb_open.pdf"),
            str(rep_dir / "dsmb_closed.pdf"),
        )
    res = run_dag(study, cut, tmp_path, *targets)
    check_outputs(design, res, targets)
    CHECKS[design](res)


def test_aclf_with_a_standard_medical_treatment_control(tmp_path):
    """Adding an SMT arm to the ACLF config: two comparisons against the 4-week arm and the
    three-arm log-rank test, from a small simulated cut."""
    cfg = yaml.safe_load((ROOT / DESIGNS["hbv_aclf"][0]).read_text())
    cfg["arms"].append({"label": "SMT", "arm": "STANDARD MEDICAL TREATMENT", "dose": "none"})
    sim = cfg["simulation"]
    sim["block_size"] = 6
    sim["arms"].append(
        {
            "label": "SMT",
            "armcd": "SMT",
            "extrt": "STANDARD MEDICAL TREATMENT",
            "exdose": 0,
            "exdosu": "cells",
            "effect_scale": 0.0,
            "infusion_reaction_prob": 0.0,
            "infusion_days": [1],
        }
    )
    # keep the DAG short: the survival and safety endpoints only
    cfg["endpoints"].update(
        tte=["OS"],
        mmrm_params=[{"paramcd": "MELD", "dataset": "adeff"}],
        desc_params=[{"paramcd": "BILI", "dataset": "adlb"}],
    )
    cfg.pop("nonparametric")  # its NK-cell parameters are no longer summarised (a config error)
    study = tmp_path / "aclf-smt.yaml"
    study.write_text(yaml.safe_dump(cfg, sort_keys=False))
    cut = tmp_path / "2026-06-30"
    write_cut(simulate_trial(load_study(study), 36, 7, "2026-06-30"), cut)
    res = run_dag(
        study, cut, tmp_path, f"{tmp_path}/results/UCMSC-HBV-ACLF/2026-06-30/ard/ard.parquet"
    )
    ard = ard_of(res)
    ref = "MSC 4 weeks"
    pairs = set(rows(ard, "LOGRANK", paramcd="OS").select("arm", "comparator").unique().rows())
    assert pairs == {("MSC 8 weeks", ref), ("SMT", ref), ("ALL", "")}
    assert set(rows(ard, "COX", paramcd="OS", stat="hr")["arm"]) == {"MSC 8 weeks", "SMT"}
    assert set(rows(ard, "KM", paramcd="OS", time=364.0, stat="surv")["arm"]) == {
        ref,
        "MSC 8 weeks",
        "SMT",
        "ALL",
    }
    assert set(rows(ard, "MMRM_DIFF", paramcd="MELD", stat="estimate")["arm"]) == {
        "MSC 8 weeks",
        "SMT",
    }
    ex = pl.read_csv(cut / "ex.csv", infer_schema_length=0)
    assert set(ex["EXTRT"]) == {"UC-MSC", "STANDARD MEDICAL TREATMENT"}

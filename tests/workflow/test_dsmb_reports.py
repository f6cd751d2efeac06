"""The DSMB reports of the bundled RCT cut, as a DSMB member reads them (issue: reports a DSMB can
act on). One DAG run on a copy of the bundled cut in which three AE terms name the treatment in
near-miss spellings (the arm code, a space for the hyphen, a non-breaking hyphen U+2011):

- masked closed-report data: every comparison's estimate inside its CI, and the sensitivity and
  subgroup analyses point the same way as the primary MMRM;
- both PDFs: CONFIDENTIAL, the study id and the cut date on every page, page x of y, numbered
  tables, no count printed as "182.000";
- the closed report holds the KM figure with risk table and CI, the forest plot, the safety-lab
  shift tables, AEs by worst grade, SAEs by SOC/PT and causes of death;
- the estimands (config `estimands`, docs/estimands.md): MI_DIFF rows of MAR, J2R, CR and CIR by
  conditional mean imputation and Bayesian MI, the tipping point and the ICE summary in the ARD,
  their tables and the tipping-point figure, the closed report's section (`dsmb.estimands`), and
  a rerun of the estimands rule writes the same bytes (seeded);
- the near-miss terms are findings (open_redactions.csv) and absent from the open report, which
  is still made; the closed report keeps them.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import dag
import polars as pl
import pytest
from dag import snakemake
from pypdf import PdfReader

ROOT = Path(__file__).resolve().parents[2]
STUDY = ROOT / "config" / "studies" / "ucmsc-dc-rct.yaml"
BUNDLED = ROOT / "data" / "UCMSC-DC-RCT" / "2025-06-30"
NEAR_MISS = ["UCMSC CELL INFUSION REACTION", "Reaction to UC MSC cells", "Death after UC\u2011MSC"]

# one worker runs the module: its DAG run (the module fixture) is then made once, not once per worker
pytestmark = [pytest.mark.workflow, pytest.mark.xdist_group("dsmb_reports")]
ESTIMAND_OUTPUTS = (
    "tables/estimands_MELDKAM.csv",
    "tables/estimands_MELDKAM.rtf",
    "tables/ice_summary.csv",
    "figures/tipping_PRIMARY.png",
    "figures/tipping_PRIMARY.pdf",
)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dsmb")
    cut = tmp / "2025-06-30"
    shutil.copytree(BUNDLED, cut)
    ae = pl.read_csv(cut / "ae.csv", infer_schema=False)
    ae = ae.with_columns(
        pl.when(pl.int_range(pl.len()) < 3)
        .then(pl.Series([*NEAR_MISS, *[None] * (ae.height - 3)]))
        .otherwise(pl.col("AETERM"))
        .alias("AETERM"),
        pl.when(pl.int_range(pl.len()) < 3)
        .then(pl.Series([*NEAR_MISS, *[None] * (ae.height - 3)]))
        .otherwise(pl.col("AEDECOD"))
        .alias("AEDECOD"),
    )
    ae.write_csv(cut / "ae.csv")
    res, rep = (
        tmp / "results" / "UCMSC-DC-RCT" / "2025-06-30",
        tmp / "reports" / "UCMSC-DC-RCT" / "2025-06-30",
    )
    out = snakemake(
        "--snakefile",
        dag.SNAKEFILE,
        *dag.config_args(STUDY, cut, tmp),
        "--",
        rep / "dsmb_open.pdf",
        rep / "dsmb_closed.pdf",
        *(res / p for p in ESTIMAND_OUTPUTS),
    )
    assert out.returncode == 0, out.stderr[-4000:]
    return res, rep


def _pages(pdf: Path) -> list[str]:
    return [p.extract_text() or "" for p in PdfReader(str(pdf)).pages]


def test_masked_comparisons_lie_inside_their_ci_and_agree_with_the_primary(run):
    res, _ = run
    ard = pl.read_parquet(res / "closed" / "ard.parquet").filter(pl.col("comparator") != "")
    wide = ard.pivot(
        on="stat",
        index=["analysis", "paramcd", "population", "arm", "comparator", "avisit", "time"],
        values="value",
    )
    for point in ("estimate", "hr"):
        w = wide.filter(pl.col(point).is_not_null())
        assert w.height > 0
        assert (
            w.filter((pl.col(point) < pl.col("lower")) | (pl.col(point) > pl.col("upper"))).height
            == 0
        )
    at = wide.filter((pl.col("avisit") == "WEEK 24") & (pl.col("population") == "ITT"))
    primary = at.filter((pl.col("analysis") == "MMRM_DIFF") & (pl.col("paramcd") == "MELDKAM"))[
        "estimate"
    ][0]
    lmm = at.filter((pl.col("analysis") == "LMM_DIFF") & (pl.col("paramcd") == "MELDKAM"))[
        "estimate"
    ][0]
    sub = at.filter((pl.col("analysis") == "SUBGROUP") & (pl.col("paramcd") == "MELDKAM|ALL"))[
        "estimate"
    ][0]
    assert primary * lmm > 0 and primary * sub > 0
    assert set(ard["arm"]) | set(ard["comparator"]) <= {"Arm A", "Arm B"}


@pytest.mark.parametrize("kind", ["open", "closed"])
def test_every_page_carries_document_control(run, kind):
    _, rep = run
    pages = _pages(rep / f"dsmb_{kind}.pdf")
    assert len(pages) > 5
    for i, text in enumerate(pages, 1):
        assert "CONFIDENTIAL" in text and "UCMSC-DC-RCT" in text and "2025-06-30" in text, i
        assert f"page {i} of {len(pages)}" in text, i
        assert kind.upper() + " REPORT" in text
    full = "\n".join(pages)
    assert "Table 1. " in full and "List of tables" in full
    # counts as integers (a median change of 0.000 at 3 decimals is a statistic, not a count; so is
    # 1.000, the EQ-5D-5L index of full health, recorded at 3 decimals)
    count = r"\b(?:[2-9]|[1-9]\d+)\.000\b"
    assert not re.search(count, full), re.search(r".{40}" + count + r".{20}", full)


def test_closed_report_has_the_figures_and_safety_tables_a_dsmb_needs(run):
    _, rep = run
    full = "\n".join(_pages(rep / "dsmb_closed.pdf"))
    for needle in (
        "Kaplan-Meier estimate with 95% CI and numbers at risk",
        "Forest plot of the treatment effect",
        "Shift from baseline to the worst post-baseline",
        "Alanine aminotransferase",
        "Creatinine",
        "Alpha-fetoprotein",
        "Platelets",
        "Sodium",
        "preferred term and worst grade",
        "Serious treatment-emergent adverse events by system organ class",
        "Cause of death",
        "Adverse events of special interest",
        "PRIMARY ENDPOINT",
    ):
        assert needle in full, needle
    html = (rep / "dsmb_closed.html").read_text(encoding="utf-8")
    assert 'style="padding-left:20px"' in html  # PT rows indented under their SOC


def test_near_miss_treatment_terms_are_redacted_from_the_open_report_only(run):
    res, rep = run
    found = pl.read_csv(res / "dsmb" / "open_redactions.csv")
    assert found.height >= 3 and set(found["column"]) >= {"AEDECOD"}
    assert {"file", "row", "column", "term"} <= set(found.columns)
    open_text = "\n".join(_pages(rep / "dsmb_open.pdf")) + (rep / "dsmb_open.html").read_text(
        encoding="utf-8"
    )
    folded = re.sub(r"[\W_]+", "", open_text.casefold())
    for term in (
        NEAR_MISS
    ):  # the study id UCMSC-DC-RCT names the treatment too, so whole phrases are sought
        assert re.sub(r"[\W_]+", "", term.casefold()) not in folded, term
    assert "ucmsccells" not in folded and "afterucmsc" not in folded
    assert "[treatment term redacted]" in open_text
    closed = (rep / "dsmb_closed.html").read_text(encoding="utf-8")
    assert "Reaction to UC MSC cells" in closed


def test_interim_monitoring_in_the_ard_and_the_reports(run):
    """The RCT config's two-look design: the cut's ARD holds the boundaries and the status of
    look 1 (Z = -MMRM difference / SE, benefit lower), the closed report the section after the
    executive summary with the boundary plot and the indicated decision, the open report only
    the information fraction."""
    res, rep = run
    ard = pl.read_parquet(res / "ard" / "ard.parquet")
    gsd = ard.filter(pl.col("analysis").str.starts_with("GSD"))
    assert {"GSD_BOUNDARY", "GSD_STATUS", "GSD_INFO"} <= set(gsd["analysis"])
    assert set(gsd["arm"]) == {"ALL"} and set(gsd["comparator"]) == {""}
    val = {(r["analysis"], r["avisit"], r["stat"]): r["value"] for r in gsd.iter_rows(named=True)}
    diff = {
        r["stat"]: r["value"]
        for r in ard.filter(
            (pl.col("analysis") == "MMRM_DIFF")
            & (pl.col("paramcd") == "MELDKAM")
            & (pl.col("population") == "ITT")
            & (pl.col("avisit") == "WEEK 24")
        ).iter_rows(named=True)
    }
    assert val[("GSD_STATUS", "LOOK 1", "z")] == pytest.approx(-diff["estimate"] / diff["se"])
    assert ("GSD_BOUNDARY", "LOOK 2", "z_efficacy") in val
    assert ("GSD_STATUS", "LOOK 2", "z") not in val
    assert val[("GSD_INFO", "LOOK 1", "info_frac")] == val[("GSD_STATUS", "LOOK 1", "info_frac")]
    decision = gsd.filter(pl.col("stat") == "decision")["method"][0]
    pages = _pages(rep / "dsmb_closed.pdf")
    full = "\n".join(pages)
    for needle in (
        "Interim analysis (group-sequential monitoring)",
        "Status of the looks",
        "Group-sequential boundaries and the observed Z statistics",
        "Group-sequential design at the observed information fractions",
        f'the boundaries indicate "{decision}"',
    ):
        assert needle in " ".join(full.split()), needle
    body = full.split("List of figures")[-1]
    assert (
        body.index("Executive summary")
        < body.index("Interim analysis (group")
        < body.index("Enrolment against plan")
    )
    html = (rep / "dsmb_closed.html").read_text(encoding="utf-8")
    fig = html.rindex("Group-sequential boundaries and the observed Z")  # the caption
    assert "data:image/png;base64," in html[fig - 200 : fig + 400]
    open_text = " ".join("\n".join(_pages(rep / "dsmb_open.pdf")).split())
    assert "took place at this data cut at information fraction" in open_text
    for word in ("Z =", "boundar", "futility", "conditional power", "stop for"):
        assert word.casefold() not in open_text.casefold(), word


def test_estimands_in_the_ard_tables_figure_and_closed_report(run):
    res, rep = run
    ard = pl.read_parquet(res / "ard" / "ard.parquet")
    mi = ard.filter((pl.col("analysis") == "MI_DIFF") & (pl.col("avisit") == "WEEK 24"))
    pairs = (("PRIMARY", "MAR"), ("TP-J2R", "J2R"), ("TP-CR", "CR"), ("TP-CIR", "CIR"))
    for est, strategy in pairs:
        for key in ("condmean", "bayes"):
            rows = mi.filter(pl.col("paramcd") == f"MELDKAM|{est}|{key}")
            assert set(rows["stat"]) == {"estimate", "se", "df", "lower", "upper", "p"}, (est, key)
            assert rows.filter(pl.col("value").is_nan() | pl.col("value").is_null()).height == 0
            method = rows["method"][0]
            assert f"estimand {est}" in method
            assert f"{strategy} (n=" in method or strategy == "MAR"
            assert ("M=100" in method) == (key == "bayes")
            assert rows["arm"][0] == "UC-MSC" and rows["comparator"][0] == "Placebo"
    # the primary estimand's condmean (MAR) and Bayesian MI agree within a few Monte Carlo SEs
    est = {
        k: mi.filter(
            (pl.col("paramcd") == f"MELDKAM|PRIMARY|{k}") & (pl.col("stat") == "estimate")
        )["value"][0]
        for k in ("condmean", "bayes")
    }
    assert abs(est["condmean"] - est["bayes"]) < 0.2
    tip = ard.filter(pl.col("analysis") == "TIPPING")
    td = tip.filter(pl.col("stat") == "tipping_delta")
    assert td.height == 1 and td["paramcd"][0] == "MELDKAM|PRIMARY|condmean"
    deltas = tip.filter(pl.col("stat") == "delta")["value"].sort().to_list()
    assert deltas[0] == 0 and len(deltas) == 13 and td["value"][0] in deltas
    assert tip["time"].is_null().all()
    ice = ard.filter(pl.col("analysis") == "ICE_SUMMARY")
    assert {"TRTDISC", "DEATH", "TRANSPLANT", "ANY"} <= set(ice["paramcd"])
    n_death = ice.filter(
        (pl.col("paramcd") == "DEATH")
        & (pl.col("arm") == "ALL")
        & (pl.col("avisit") == "")
        & (pl.col("stat") == "n")
    )["value"][0]
    adsl = pl.read_parquet(res / "adam" / "adsl.parquet").filter(pl.col("ITTFL") == "Y")
    assert n_death == adsl["DTHDT"].is_not_null().sum()
    for p in ESTIMAND_OUTPUTS:
        assert (res / p).stat().st_size > 0, p
    table = pl.read_csv(res / "tables" / "estimands_MELDKAM.csv")
    assert table.height == 13  # 6 estimands x 2 methods and the MMRM (main estimator of PRIMARY)
    first = table.row(0, named=True)
    assert first["group"] == "PRIMARY (primary estimand): Treatment policy (MAR)"
    assert first["label"] == "MMRM of all observed data (main estimator; the primary analysis)"
    text = " ".join("\n".join(_pages(rep / "dsmb_closed.pdf")).split())
    for needle in (
        "Efficacy: estimands and sensitivity analyses",
        "Intercurrent events by visit",
        "Tipping-point analysis of estimand PRIMARY",
        "Population-level summary",
    ):
        assert needle in text, needle


def test_estimands_rerun_is_byte_identical(run):
    """Same seed, same bytes: the estimands rule forced to run again."""
    res, _ = run
    part = res / "ard" / "parts" / "estimands.parquet"
    first = part.read_bytes()
    root = res.parents[2]  # the fixture's folder: the cut, results/ and reports/
    out = snakemake(
        "--snakefile",
        dag.SNAKEFILE,
        "--forcerun",
        "estimands",
        *dag.config_args(STUDY, root / "2025-06-30", root),
        "--",
        part,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "estimands" in out.stdout + out.stderr
    assert part.read_bytes() == first

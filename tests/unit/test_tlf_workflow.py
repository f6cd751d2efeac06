"""The tlf rules under Snakemake, and ``snakemake --report`` offline.

The ARD, ADaM and KM step tables of the literal data (test_tlf_data) are written where the upstream
rules would put them; ``--allowed-rules`` keeps the run to the TLF rules, so the test takes seconds
instead of the whole DAG. Runs the real rule files (workflow/rules/tlf.smk) through the project's
Snakefile.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import dag
import polars as pl
import pytest
import tinycut
from test_tlf_data import adae, adeff, adlb, adsl, adtte, build_ard, km_step, study

from hepatrial.analysis.survival import cif_steps

ROOT = Path(__file__).resolve().parents[2]
TLF_RULES = [
    "tlf_tables",
    "tlf_listings",
    "tlf_figures_observed",
    "tlf_figures_efficacy",
    "tlf_figures_survival",
]
RUN = [
    "tables/disposition.csv",
    "tables/mmrm_MELD.rtf",
    "tables/km.html",
    "tables/l_deaths.csv",
    "figures/km_TFS.png",
    "figures/forest_MELD.png",
]


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("wf")
    st = study(tmp)
    # a cut with files (an empty cut folder is an error before the DAG is built); written before the
    # ADaM and ARD files below, so that nothing upstream looks out of date
    cut = tinycut.write_cut(tmp / "cut" / "2024-06-30")
    res = tmp / "res" / "LIT" / "2024-06-30"
    for sub in ("adam", "ard/km", "ard/cif", "validation"):
        (res / sub).mkdir(parents=True)
    # ingest's findings (none): the listings read whether the cut records its deaths
    (res / "validation" / "findings.csv").write_text(
        "severity,domain,file,row,USUBJID,column,value,rule,message\n"
    )
    for name, df in (
        ("adsl", adsl()),
        ("adeff", adeff()),
        ("adlb", adlb()),
        ("adae", adae()),
        ("adtte", adtte()),
    ):
        df.write_parquet(res / "adam" / f"{name}.parquet")
    ard = build_ard(st)
    ard.write_parquet(res / "ard" / "ard.parquet")
    write_parts(ard, st, res / "ard" / "parts")
    for p in ("TFS", "DECOMP"):
        km_step(st, p).write_parquet(res / "ard" / "km" / f"{p}.parquet")
        cif_steps(adtte(), st, p).write_parquet(res / "ard" / "cif" / f"{p}.parquet")
    # The project's Snakefile, with a target rule for the tables and figures alone.
    snakefile = tmp / "Snakefile"
    snakefile.write_text(
        f'include: "{ROOT / "Snakefile"}"\n\n\nrule all_tlf:\n    input:\n        run_outputs(tlf_outputs()),\n'
    )
    return {
        "tmp": tmp,
        "res": res,
        "snakefile": snakefile,
        "study": tmp / "study_parallel.yaml",
        "cut": cut,
    }


def write_parts(ard, st, folder) -> None:
    """The ARD split into the parts the upstream rules write (the figure rules read parts): every row in one."""
    folder.mkdir(parents=True, exist_ok=True)
    dataset = {p.paramcd: p.dataset for p in (*st.endpoints.mmrm_params, *st.endpoints.desc_params)}
    base = pl.col("paramcd").str.replace("_CHG$", "")
    part = (
        pl.when(pl.col("analysis") == "DESC")
        .then(pl.lit("desc_") + base.replace_strict(dataset, default="adeff"))
        .when(pl.col("analysis").str.contains("^(MMRM|LMM)_"))
        .then(pl.lit("mmrm_") + pl.col("paramcd"))
        .when(pl.col("paramcd").is_in(list(st.endpoints.tte)))
        .then(pl.lit("tte_") + pl.col("paramcd"))
        .otherwise(pl.lit("baseline"))
    )
    ard = ard.with_columns(part.alias("_part"))
    names = (
        [f"desc_{d}" for d in dict.fromkeys(dataset.values())]
        + [f"mmrm_{m.paramcd}" for m in st.endpoints.mmrm_params]
        + [f"tte_{p}" for p in st.endpoints.tte]
        + ["baseline"]
    )
    for name in names:
        ard.filter(pl.col("_part") == name).drop("_part").write_parquet(folder / f"{name}.parquet")
    assert ard.filter(~pl.col("_part").is_in(names)).height == 0


def snakemake(project, *args) -> subprocess.CompletedProcess:
    return dag.snakemake(
        "-s",
        project["snakefile"],
        "--config",
        f"study={project['study']}",
        f"cut={project['cut']}",
        f"results_dir={project['tmp'] / 'res'}",
        f"reports_dir={project['tmp'] / 'rep'}",
        "--allowed-rules",
        *TLF_RULES,
        "all_tlf",
        *args,
        timeout=600,
    )


@pytest.mark.workflow
def test_every_tlf_output_has_a_rule(project):
    out = snakemake(project, "--dry-run", "--", "all_tlf")
    assert out.returncode == 0, out.stderr[-3000:]
    jobs = dict(re.findall(r"^(tlf_\w+)\s+(\d+)$", out.stdout, re.M))
    # one job renders the tables, one the listings, three the figures (start-up is most of a small job's time)
    assert jobs == {r: "1" for r in TLF_RULES}, out.stdout[-2000:]
    planned = set(re.findall(r"(?:tables|figures)/(\w+\.\w+)", out.stdout))
    # KM and CIF figures of TFS and DECOMP, MMRM tables of MELD and CTPSCORE (the schema's default
    # mmrm_params), subgroup table and forest plot (parallel design), both listings
    for f in (
        "km_TFS.png",
        "km_DECOMP.pdf",
        "cif_TFS.png",
        "cif_DECOMP.pdf",
        "mmrm_MELD.rtf",
        "mmrm_CTPSCORE.html",
        "subgroup.csv",
        "forest_MELD.png",
        "l_sae.rtf",
        "l_deaths.csv",
    ):
        assert f in planned, f


@pytest.mark.workflow
def test_rules_write_outputs_and_the_report_builds_offline(project):
    targets = [str(project["res"] / t) for t in RUN]
    out = snakemake(project, "--", *targets)
    assert out.returncode == 0, out.stderr[-3000:]
    for t in targets:
        assert Path(t).stat().st_size > 0, t
    head = (project["res"] / "tables" / "disposition.csv").read_text().splitlines()[0]
    assert head == "group,label,UC-MSC (N=3),Placebo (N=3),Total (N=6)"
    assert (project["res"] / "tables" / "mmrm_MELD.rtf").read_text().startswith("{\\rtf1")
    report = project["tmp"] / "report.html"
    out = snakemake(project, "--report", str(report), "--", *targets)
    assert out.returncode == 0, out.stderr[-3000:]
    html = report.read_text(encoding="utf-8")
    assert "km_TFS.png" in html and "disposition.csv" in html
    assert "Survival" in html and "Disposition" in html  # report categories
    assert not re.search(
        r"<script[^>]+src=\"https?://", html
    )  # self-contained: no external scripts

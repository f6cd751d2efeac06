"""Reproducibility: the DAG run twice on the same cut, into two fresh folders, gives byte-identical
ARD, report inputs, reports (HTML and PDF), figures and manifest; and the cut-to-cut section
finds what changed since the previous cut. The first run is also the tiny cut end to end as a user
runs it (the manifest needs every output): rows accounted for, every ADaM dataset, and a second
`snakemake` that has nothing to do.

Then the same trial as a sponsor's ADaM datasets (the data contract's alternative entry): that run's
ADaM datasets of both cuts, written with the variables a sponsor delivers, run through the DAG give
the same analyses, and the cut-to-cut comparison finds the same news."""

from __future__ import annotations

import hashlib
import json
import math
import subprocess
from pathlib import Path

import dag
import polars as pl
import pytest
import tinycut

# one worker runs the module: the ADaM test reads the first test's run
pytestmark = [pytest.mark.workflow, pytest.mark.xdist_group("rerun_identical")]


def cuts(tmp_path: Path) -> tuple[Path, Path]:
    """The tiny cut and a previous cut: T-004 not yet enrolled, T-002 not yet dead, an AE coded
    differently, a CE record that later moved to another subject."""
    current = tinycut.write_cut(tmp_path / "data" / "2024-06-30")
    doms = tinycut.domains()
    prev = {k: [r for r in v if r["USUBJID"] != "T-004"] for k, v in doms.items()}
    prev["dm"][1] = dict(prev["dm"][1], DTHDTC="", DTHFL="")
    prev["ds"] = [r for r in prev["ds"] if r["DSDECOD"] != "DEATH"]
    prev["ae"] = [dict(prev["ae"][0], AEDECOD="Fever")]
    prev["ce"] = [dict(doms["ce"][0], USUBJID="T-003")]
    previous = tinycut.write_cut(tmp_path / "data" / "2024-03-31", prev)
    study = tinycut.write_study(
        tmp_path / "study.yaml", tinycut.STUDY_YAML + f"previous_cut: {previous}\n"
    )
    return current, study


def start(tmp_path: Path, out: Path, cut: Path, study: Path) -> subprocess.Popen:
    res, rep = out / "results" / "TINY" / "2024-06-30", out / "reports" / "TINY" / "2024-06-30"
    targets = [
        rep / "dsmb_open.html",
        rep / "dsmb_open.pdf",
        rep / "dsmb_closed.html",
        rep / "dsmb_closed.pdf",
        res / "manifest.json",
    ]
    return dag.start(
        "--snakefile",
        dag.SNAKEFILE,
        *dag.config_args(study, cut, out),
        "--",
        *targets,
        env={"SOURCE_DATE_EPOCH": "1751241600"},
    )  # 2025-06-30


def hashes(folder: Path) -> dict[str, str]:
    """SHA-256 of every file but the logs (which name the folder they were written in)."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and "logs" not in p.parts
    }


@pytest.fixture(scope="module")
def tmp_path(tmp_path_factory):
    """The module's folder: the two runs of the first test, read by the ADaM test."""
    return tmp_path_factory.mktemp("rerun")


@pytest.fixture(scope="module")
def two_runs(tmp_path):
    """The tiny cut (with its previous cut) run twice side by side, into ``one`` and ``two``."""
    cut, study = cuts(tmp_path)
    runs = [start(tmp_path, tmp_path / name, cut, study) for name in ("one", "two")]
    for p in runs:
        _, err = p.communicate(timeout=1500)
        assert p.returncode == 0, err[-3000:]
    return cut, study


def test_two_runs_are_byte_identical_and_report_cut_to_cut(tmp_path, two_runs):
    cut, study = two_runs
    one, two = hashes(tmp_path / "one"), hashes(tmp_path / "two")
    assert one.keys() == two.keys()
    differ = sorted(k for k in one if one[k] != two[k])
    assert differ == [], differ
    for must in (
        "results/TINY/2024-06-30/ard/ard.parquet",
        "results/TINY/2024-06-30/manifest.json",
        "reports/TINY/2024-06-30/dsmb_open.pdf",
        "reports/TINY/2024-06-30/dsmb_closed.pdf",
        "results/TINY/2024-06-30/previous/ard/ard.parquet",
    ):
        assert must in one

    res, rep = (
        tmp_path / "one" / "results" / "TINY" / "2024-06-30",
        tmp_path / "one" / "reports" / "TINY" / "2024-06-30",
    )
    manifest = json.loads((res / "manifest.json").read_text())
    assert (
        manifest["outputs"]["reports/dsmb_open.pdf"] == one["reports/TINY/2024-06-30/dsmb_open.pdf"]
    )
    assert manifest["inputs"]["previous_cut"]["name"] == "2024-03-31"
    stamp = hashlib.sha256((res / "manifest_inputs.json").read_bytes()).hexdigest()
    closed = (rep / "dsmb_closed.html").read_text()
    opened = (rep / "dsmb_open.html").read_text()
    assert stamp in closed and stamp in opened and "<td>Generated</td><td>2025-06-30</td>" in opened
    # cut to cut: T-004 is new, T-002's death is new, Pyrexia was Fever, the CE record moved subject
    assert "<td>T-004</td>" in closed and "<td>DEATH</td><td>T-002</td>" in closed
    assert "<td>VANISHED</td>" in opened and '<td>new subjects</td><td class="n">1</td>' in opened
    assert "T-004" not in opened.split("Changes since the previous data cut</h2>")[1]

    # the tiny cut end to end: every row accounted for, every ADaM dataset in Parquet and XPT
    acct = pl.read_csv(res / "validation/accounting.csv").filter(
        pl.col("category") != "excluded_by_reason"
    )
    wide = acct.pivot(on="category", index="domain", values="n")
    assert (wide["rows_in"] == wide["rows_kept"] + wide["rows_excluded"]).all()
    trace = pl.read_csv(res / "validation/traceability.csv")
    assert (
        trace["unaccounted"].sum() == 0
        and trace.filter(pl.col("domain") == "LB")["in_adam"][0] == 35
    )
    for name in ("adsl", "adlb", "adeff", "adqs", "adtte", "adae", "adce"):
        assert (res / "adam" / f"{name}.parquet").exists()
        assert (res / "adam" / f"{name}.xpt").exists()
    adsl = pl.read_parquet(res / "adam/adsl.parquet")
    assert adsl.height == 4 and adsl.filter(pl.col("USUBJID") == "T-001")["BLMELD"][0] == 27.0
    # the default target (rule all) after the run: nothing to do
    again = dag.snakemake(
        "--snakefile", dag.SNAKEFILE, *dag.config_args(study, cut, tmp_path / "one")
    )
    assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr


# The variables a sponsor's ADaM delivers (ADaM IG names); the pipeline's own extras left out.
DELIVERED = {
    "adsl": "STUDYID USUBJID SITEID AGE SEX RACE ETIOLOGY CTPSTRAT TRT01P TRT01A RANDDT TRTSDT "
    "TRTEDT NINFUS LSTALVDT DTHDT DTHFL LTXDT EOSSTT DCSREAS ITTFL SAFFL PPFL",
    "adeff": "STUDYID USUBJID PARAMCD AVAL AVALC ADT AVISIT AVISITN ABLFL ANL01FL BASE CHG",
    "adlb": "STUDYID USUBJID PARAMCD AVAL ADT AVISIT AVISITN ABLFL ANL01FL BASE CHG ANRLO ANRHI "
    "ANRIND BNRIND",
    "adqs": "STUDYID USUBJID PARAMCD AVAL ADT AVISIT AVISITN ABLFL ANL01FL BASE CHG",
    "adtte": "STUDYID USUBJID PARAMCD STARTDT ADT AVAL CNSR CRCODE",
    "adae": "STUDYID USUBJID AETERM AEDECOD AEBODSYS AESTDTC AEENDTC AESER AETOXGR AEREL AEOUT "
    "TRTEMFL",
}
# Built from SDTM (EX infusion dates, SV visits, the validation findings): no records in such a cut
FROM_SDTM = ("AESI", "DQ_VISITS", "DQ_FINDINGS")


def write_adam_cut(adam: Path, folder: Path) -> Path:
    folder.mkdir(parents=True)
    for name, cols in DELIVERED.items():
        df = pl.read_parquet(adam / f"{name}.parquet")
        df.select([c for c in cols.split() if c in df.columns]).write_csv(folder / f"{name}.csv")
    return folder


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if math.isnan(a) or math.isinf(a):
        return (math.isnan(a) and math.isnan(b)) or a == b
    return abs(a - b) <= 1e-9 * (1 + abs(a))


def test_the_same_trial_as_adam_datasets_gives_the_same_analyses(tmp_path, two_runs):
    sdtm = tmp_path / "one" / "results" / "TINY" / "2024-06-30"
    data = tmp_path / "adam_data"
    previous = write_adam_cut(sdtm / "previous" / "adam", data / "2024-03-31")
    cut = write_adam_cut(sdtm / "adam", data / "2024-06-30")
    study = tinycut.write_study(
        tmp_path / "adam_study.yaml", tinycut.STUDY_YAML + f"previous_cut: {previous}\n"
    )
    out = tmp_path / "adam_run"
    res, rep = out / "results/TINY/2024-06-30", out / "reports/TINY/2024-06-30"
    targets = [
        res / "ard/ard.parquet",
        res / "tables/l_sae.csv",
        res / "define/define.xml",
        rep / "dsmb_open.html",
        rep / "dsmb_closed.html",
    ]
    run = dag.snakemake(*targets, *dag.config_args(study, cut, out))
    assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr[-3000:]

    a, b = (pl.read_parquet(p / "ard/ard.parquet") for p in (sdtm, res))
    keys = [c for c in a.columns if c not in ("value", "method")]
    j = a.join(b, on=keys, how="full", nulls_equal=True, suffix="_adam")
    analysis = pl.coalesce("analysis", "analysis_adam")
    differ = [
        r
        for r in j.filter(~analysis.is_in(FROM_SDTM)).iter_rows(named=True)
        if not _same(r["value"], r["value_adam"])
    ]
    assert not differ, differ[:5]
    assert set(a["analysis"]) == set(b["analysis"])
    assert {"DESC", "KM", "COX", "AE_INCIDENCE", "DISPOSITION"} <= set(b["analysis"])
    # what SDTM alone holds is "not available", not 0
    attended = b.filter((pl.col("analysis") == "DQ_VISITS") & (pl.col("stat") == "attended"))
    assert attended.height and attended["value"].is_null().all()
    assert attended["method"].str.starts_with("not available: no SV").all()
    onset = b.filter((pl.col("analysis") == "AESI") & pl.col("stat").str.starts_with("onset"))
    assert onset.height and onset["value"].is_null().all()
    assert "SDTM_NOT_IN_CUT" in pl.read_csv(res / "validation/findings.csv")["rule"].to_list()
    trace = pl.read_csv(res / "validation/traceability.csv")
    assert trace["unaccounted"].to_list() == [0] * 6
    assert set(trace["domain"]) == {n.upper() for n in DELIVERED}
    # the listing of SAEs is the SDTM run's
    assert pl.read_csv(res / "tables/l_sae.csv").equals(pl.read_csv(sdtm / "tables/l_sae.csv"))
    # cut to cut from the ADaM datasets: T-004 is new, T-002's death is new
    closed = (rep / "dsmb_closed.html").read_text()
    opened = (rep / "dsmb_open.html").read_text()
    assert "<td>T-004</td>" in closed and "<td>DEATH</td><td>T-002</td>" in closed
    assert '<td>new subjects</td><td class="n">1</td>' in opened

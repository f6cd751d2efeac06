"""Reproducibility: the DAG run twice on the same cut, into two fresh folders, gives byte-identical
ARD, report inputs, reports (HTML and PDF), figures and manifest; and the cut-to-cut section
finds what changed since the previous cut. The first run is also the tiny cut end to end as a user
runs it (the manifest needs every output): rows accounted for, every ADaM dataset, and a second
`snakemake` that has nothing to do."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import dag
import polars as pl
import tinycut


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


def test_two_runs_are_byte_identical_and_report_cut_to_cut(tmp_path):
    cut, study = cuts(tmp_path)
    runs = [start(tmp_path, tmp_path / name, cut, study) for name in ("one", "two")]
    for p in runs:
        _, err = p.communicate(timeout=1500)
        assert p.returncode == 0, err[-3000:]
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

"""The DAG as a user runs it: lint, dry run, a fatal input, a bad config. (The full run of the tiny
cut and its no-op rerun are checked on the first run of tests/workflow/test_rerun_identical.py.)"""

from __future__ import annotations

from pathlib import Path

import dag
import pytest
import tinycut
from dag import snakemake


def config_args(tmp_path: Path, cut: Path, study: Path) -> list[str]:
    return dag.config_args(study, cut, tmp_path)


@pytest.fixture
def tiny(tmp_path):
    cut = tinycut.write_cut(tmp_path / "2024-06-30")
    study = tinycut.write_study(tmp_path / "study.yaml")
    return cut, study


def test_lint_has_only_the_conda_finding(tiny, tmp_path):
    cut, study = tiny
    out = snakemake("--lint", *config_args(tmp_path, cut, study))
    lints = [
        ln.strip()
        for ln in out.stdout.splitlines() + out.stderr.splitlines()
        if ln.strip().startswith("* ")
    ]
    assert lints, out.stdout + out.stderr
    # One Python environment for the whole DAG (README "Lint"): the conda lint is deliberate.
    assert all("conda environment or container" in ln for ln in lints), lints


def test_dry_run_plans_the_dag(tiny, tmp_path):
    cut, study = tiny
    out = snakemake("-n", *config_args(tmp_path, cut, study))
    assert out.returncode == 0, out.stderr
    for rule in ("ingest", "adsl_core", "adam_bds", "adtte", "adae", "adsl", "trace_rows"):
        assert rule in out.stdout


def test_fatal_input_one_line_no_traceback_no_outputs(tmp_path):
    doms = tinycut.domains()
    doms["lb"][1]["LBORRESU"] = "furlongs"
    cut = tinycut.write_cut(tmp_path / "2024-06-30", doms)
    study = tinycut.write_study(tmp_path / "study.yaml")
    out = snakemake(*config_args(tmp_path, cut, study))
    assert out.returncode != 0
    errors = [ln for ln in out.stderr.splitlines() if ln.startswith("ERROR:")]
    res = tmp_path / "results" / "TINY" / "2024-06-30"
    # one ERROR line, the last one printed (onerror), with the path to the findings
    assert errors == [
        "ERROR: file lb.csv, row 2, column LBORRESU: unknown unit 'furlongs' for CREAT "
        "(USUBJID T-001); accepted: ['mg/dl', 'umol/l'] | findings: "
        f"{res / 'logs' / 'findings.csv'}"
    ]
    assert out.stderr.strip().splitlines()[-1] == errors[0]
    assert "Traceback" not in out.stderr
    assert not list(res.rglob("*.parquet")) and not (res / "validation/findings.csv").exists()


def test_bad_study_config_one_line(tiny, tmp_path):
    cut, _ = tiny
    bad = tinycut.write_study(
        tmp_path / "bad.yaml", tinycut.STUDY_YAML.replace("reference: true", "reference: false")
    )
    out = snakemake(*config_args(tmp_path, cut, bad))
    assert out.returncode != 0
    assert "exactly one arm with reference: true" in out.stderr and "Traceback" not in out.stderr


def test_a_malformed_source_date_epoch_is_one_line_and_an_empty_one_is_unset(tiny, tmp_path):
    """SOURCE_DATE_EPOCH=abc failed inside the steps with tracebacks (int() in the XPT stamp,
    matplotlib's PDF backend, numpy.f2py under scipy.stats); it is checked before anything is
    planned. An empty one (a CI template's unset variable) is taken as unset by every step."""
    cut, study = tiny
    out = snakemake("-n", *config_args(tmp_path, cut, study), env={"SOURCE_DATE_EPOCH": "abc"})
    assert out.returncode != 0 and "Traceback" not in out.stderr
    errors = [ln for ln in out.stderr.splitlines() if ln.startswith("ERROR:")]
    assert errors == [
        "ERROR: environment variable SOURCE_DATE_EPOCH='abc' is not a time: it must be whole "
        "seconds since 1970-01-01 UTC (e.g. $(date -d 2025-06-30 +%s)), or unset"
    ]
    out = snakemake("-n", *config_args(tmp_path, cut, study), env={"SOURCE_DATE_EPOCH": " "})
    assert out.returncode == 0, out.stderr[-2000:]


def _adam_cut(folder: Path, trt01p: str = "Placebo") -> Path:
    """A cut of ADaM datasets: ADSL alone (data contract, "A cut of ADaM datasets")."""
    folder.mkdir(parents=True)
    (folder / "adsl.csv").write_text(
        "USUBJID,TRT01P,EOSSTT,ITTFL,SAFFL,CTPSTRAT,RANDDT\n"
        "T-001,UC-MSC,ONGOING,Y,Y,B,2024-01-10\n"
        f"T-002,{trt01p},ONGOING,Y,Y,C,2024-01-12\n"
    )
    return folder


def test_a_cut_of_adam_datasets_plans_adam_entry_and_a_bad_one_stops_in_one_line(tmp_path):
    study = tinycut.write_study(tmp_path / "study.yaml")
    cut = _adam_cut(tmp_path / "adam" / "2024-06-30")
    out = snakemake("-n", *config_args(tmp_path, cut, study))
    assert out.returncode == 0, out.stderr[-2000:]
    assert "adam_entry" in out.stdout and "ingest" not in out.stdout
    bad = _adam_cut(tmp_path / "bad" / "2024-06-30", trt01p="UC-MSC lot 7")
    out = snakemake(*config_args(tmp_path, bad, study))
    assert out.returncode != 0 and "Traceback" not in out.stderr
    errors = [ln for ln in out.stderr.splitlines() if ln.startswith("ERROR:")]
    assert len(errors) == 1 and errors[0].startswith(
        "ERROR: file adsl.csv, row 2, column TRT01P: treatment is not an arm of the study config"
    ), out.stderr[-2000:]


def test_a_blinded_run_or_a_previous_cut_of_the_other_kind_needs_an_sdtm_cut(tiny, tmp_path):
    sdtm, study = tiny
    cut = _adam_cut(tmp_path / "adam" / "2024-06-30")
    out = snakemake("-n", *config_args(tmp_path, cut, study), "blinded=true")
    assert out.returncode != 0 and "Traceback" not in out.stderr
    assert "a blinded run (dummy randomisation) needs a cut of SDTM domains" in out.stderr
    mixed = tinycut.write_study(
        tmp_path / "mixed.yaml", tinycut.STUDY_YAML + f"previous_cut: {sdtm}\n"
    )
    out = snakemake("-n", *config_args(tmp_path, cut, mixed))
    assert out.returncode != 0 and "Traceback" not in out.stderr
    assert "must be of one kind, both SDTM domains or both ADaM datasets" in out.stderr


def test_a_cut_of_adam_datasets_without_adae_says_its_adverse_events_are_not_available(tmp_path):
    """A cut of ADaM datasets may hold no ADAE (the data contract lists ADSL, BDS datasets and
    ADTTE): its adverse events are then unknown, and the safety ARD, the AE tables and the SAE
    listing say "not available", never 0 (a DSMB would read 0 as no adverse events). The same for
    deaths when ADSL has neither DTHFL nor DTHDT (this one has neither): the death listing."""
    import polars as pl

    study = tinycut.write_study(tmp_path / "study.yaml")
    cut = _adam_cut(tmp_path / "adam" / "2024-06-30")
    res = tmp_path / "results" / "TINY" / "2024-06-30"
    targets = [res / "ard/parts/safety.parquet", res / "tables/ae_overview.csv"]
    listings = [res / "tables/l_sae.csv", res / "tables/l_deaths.csv"]
    out = snakemake(*targets, *listings, *config_args(tmp_path, cut, study))
    assert out.returncode == 0, out.stderr[-3000:]
    part = pl.read_parquet(targets[0])
    assert part["value"].null_count() == part.height > 0  # not one count
    assert set(part["analysis"]) == {"AE_OVERVIEW", "AESI"}
    assert set(part["method"].str.contains("no ADAE")) == {True}
    overview = pl.read_csv(targets[1])
    assert overview.height == 6 and (overview[:, 2:] == "not available").to_numpy().all()
    sae = (res / "tables/l_sae.csv").read_text()
    assert "Not available: the cut has no ADAE (adverse events) dataset." in sae
    assert "No serious treatment-emergent adverse events" not in sae
    deaths = (res / "tables/l_deaths.csv").read_text()
    assert "Not available: ADSL has neither DTHFL nor DTHDT, so deaths are not known." in deaths
    assert "No deaths." not in deaths

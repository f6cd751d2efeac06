"""A cut of ADaM datasets (the data contract's alternative entry, hepatrial.adam.entry), as a user
runs it: the tiny SDTM cut is run to its ARD, its ADaM datasets are written as a sponsor would
deliver them (the contract's variables, CSV), and that cut is run through the whole DAG. The
analyses that start from ADaM give the same numbers; those built from SDTM say they have none."""

from __future__ import annotations

import math
from pathlib import Path

import dag
import polars as pl
import pytest
import tinycut
from dag import snakemake

# The variables a sponsor's ADaM delivers (ADaM IG names); the pipeline's own extras are left out.
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


def write_adam_cut(adam: Path, folder: Path, columns=DELIVERED) -> Path:
    folder.mkdir(parents=True)
    for name, cols in columns.items():
        if not (adam / f"{name}.parquet").exists():  # a dataset the study does not build
            continue
        df = pl.read_parquet(adam / f"{name}.parquet")
        df.select([c for c in cols.split() if c in df.columns]).write_csv(folder / f"{name}.csv")
    return folder


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("adam_entry")
    study = tinycut.write_study(tmp / "study.yaml")
    sdtm = tinycut.write_cut(tmp / "sdtm" / "2024-06-30")
    res = "results/TINY/2024-06-30"
    out = snakemake(
        f"{tmp}/sdtm/{res}/ard/ard.parquet", *dag.config_args(study, sdtm, tmp / "sdtm")
    )
    assert out.returncode == 0, out.stderr[-3000:]
    cut = write_adam_cut(tmp / "sdtm" / res / "adam", tmp / "adam" / "2024-06-30")
    rep = tmp / "adam" / "reports/TINY/2024-06-30"
    # the ARD and the two DSMB reports (the tables and figures are drawn from the ARD alone)
    targets = [
        tmp / "adam" / res / "ard/ard.parquet",
        rep / "dsmb_open.pdf",
        rep / "dsmb_closed.pdf",
    ]
    out = snakemake(*targets, *dag.config_args(study, cut, tmp / "adam"))
    return tmp / "sdtm" / res, tmp / "adam" / res, rep, out


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if math.isnan(a) or math.isinf(a):
        return (math.isnan(a) and math.isnan(b)) or a == b
    return abs(a - b) <= 1e-9 * (1 + abs(a))


@pytest.mark.workflow
def test_an_adam_cut_runs_the_whole_dag_with_the_same_analyses(runs):
    sdtm, adam, reports, out = runs
    assert out.returncode == 0, out.stderr[-3000:]
    assert "Traceback" not in out.stderr
    for f in ("dsmb_open.pdf", "dsmb_closed.pdf"):
        assert (reports / f).stat().st_size > 0
    a, b = (pl.read_parquet(p / "ard/ard.parquet") for p in (sdtm, adam))
    keys = [c for c in a.columns if c not in ("value", "method")]
    j = a.join(b, on=keys, how="full", nulls_equal=True, suffix="_adam")
    analysis = pl.coalesce("analysis", "analysis_adam")
    differ = [
        r
        for r in j.filter(~analysis.is_in(FROM_SDTM)).iter_rows(named=True)
        if not _same(r["value"], r["value_adam"])
    ]
    assert not differ, differ[:5]
    # every analysis of the SDTM run is there: MMRM, DESC, KM, COX, AE incidence, disposition, ...
    assert set(a["analysis"]) == set(b["analysis"])
    assert {"DESC", "KM", "COX", "AE_INCIDENCE", "DISPOSITION"} <= set(b["analysis"])


@pytest.mark.workflow
def test_what_sdtm_alone_holds_is_not_available_not_zero(runs):
    _, adam, _, out = runs
    b = pl.read_parquet(adam / "ard/ard.parquet")
    attended = b.filter((pl.col("analysis") == "DQ_VISITS") & (pl.col("stat") == "attended"))
    assert attended.height and attended["value"].is_null().all()
    assert attended["method"].str.starts_with("not available: no SV").all()
    onset = b.filter((pl.col("analysis") == "AESI") & pl.col("stat").str.starts_with("onset"))
    assert onset.height and onset["value"].is_null().all()
    findings = pl.read_csv(adam / "validation/findings.csv")
    assert "SDTM_NOT_IN_CUT" in findings["rule"].to_list()
    trace = pl.read_csv(adam / "validation/traceability.csv")
    assert trace["unaccounted"].to_list() == [0] * trace.height
    given = {p.stem.upper() for p in (adam.parents[2] / "2024-06-30").glob("*.csv")}
    assert set(trace["domain"]) == given and "ADSL" in given

"""Every corpus case (tests/corpus.py), behaving as recorded.

A fatal case exits non-zero with one ERROR line naming what is expected, no Python traceback and
no output that looks complete; a flagged or excluded case completes, its finding or exclusion is
there, the accounting balances and no source row is unaccounted for.

A case that needs only the ingest step runs that step in-process, as its rule does
(``run_step(ingest_cut, ...)``: the same ERROR line, written to the step's log, and exit code 2),
which saves each case Snakemake's start (about 5 s of a 7 s case in the parallel suite). Through
the DAG run: the cases the Snakefile catches while planning (:data:`PLANNING`), the excluded ones
(ADaM and the traceability check), those with more targets, a check or their own cut argument,
and the first two of each outcome (:data:`SAMPLE`), so that the line a user sees at the end of a
``snakemake`` run is checked for every kind of case.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import corpus
import polars as pl
import pytest
from dag import snakemake

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    return corpus.make_base_cut(tmp_path_factory.mktemp("corpus") / "base")


def run_dag(
    cut: Path | str, study: Path, res: Path, full: bool, more: tuple[str, ...] = ()
) -> subprocess.CompletedProcess:
    """Fatal and flagged cases run the DAG to the ingest outputs; excluded ones on through ADaM to the
    row traceability check; ``more`` targets ("res:<path>", "rep:<path>") further."""
    name = "traceability.csv" if full else "accounting.csv"
    out_dir = res / "UCMSC-DC-RCT" / corpus.CUT_NAME
    rep_dir = res.parent / "reports" / "UCMSC-DC-RCT" / corpus.CUT_NAME
    targets = [out_dir / "validation" / name]
    targets += [(out_dir if t.startswith("res:") else rep_dir) / t[4:] for t in more]
    return snakemake(
        "--config",
        f"study={study}",
        f"cut={cut}",
        f"results_dir={res}",
        f"reports_dir={res.parent / 'reports'}",
        "--",
        *targets,
    )


def test_corpus_has_at_least_50_cases_of_each_kind():
    kinds = {c.outcome for c in corpus.CASES}
    assert len(corpus.CASES) >= 50 and kinds == {"fatal", "flagged", "excluded"}
    assert len({c.name for c in corpus.CASES}) == len(corpus.CASES)


def test_the_docs_list_every_case():
    """docs/pipeline.md's corpus table names every case with its outcome, and the count line says
    how many (they had drifted: 63 cases listed of 88)."""
    import collections
    import re

    text = (ROOT / "docs/pipeline.md").read_text(encoding="utf-8")
    listed = re.findall(r"^\| `(\w+)` \| (fatal|flagged|excluded) \|", text, flags=re.M)
    assert listed == [(c.name, c.outcome) for c in corpus.CASES]
    n = collections.Counter(c.outcome for c in corpus.CASES)
    assert (
        f"{len(corpus.CASES)} cases: {n['fatal']} fatal, {n['flagged']} flagged, "
        f"{n['excluded']} excluded." in text
    )


# Cases the Snakefile itself stops while planning, before any job: only a DAG run shows them.
PLANNING = {"empty_cut_folder", "file_name_control_character"}


def _simple(case) -> bool:
    return not (case.targets or case.check or case.cut_arg or case.outcome == "excluded") and (
        case.name not in PLANNING
    )


SAMPLE = {
    c.name
    for outcome in ("fatal", "flagged")
    for c in [c for c in corpus.CASES if c.outcome == outcome and _simple(c)][:2]
}


def ingest_in_process(cut: Path, study: Path, res: Path) -> subprocess.CompletedProcess:
    """The ingest rule's step, in-process (workflow/scripts/ingest.py: ``run_step`` around
    ``ingest_cut``, its log in the results' logs folder): returncode 2 on an expected error, its
    ERROR line (from the step log) as the stderr a run ends with."""
    from hepatrial.cli import run_step
    from hepatrial.ingest import ingest_cut

    out_dir = res / "UCMSC-DC-RCT" / corpus.CUT_NAME
    log = out_dir / "logs" / "ingest.log"
    try:
        run_step(
            ingest_cut,
            cut,
            study,
            out_dir / "sdtm",
            out_dir / "validation",
            failure_dir=log.parent,
            log=str(log),
        )
        code = 0
    except SystemExit as stop:
        code = stop.code
    text = log.read_text(encoding="utf-8") if log.exists() else ""
    return subprocess.CompletedProcess([], code, "", text)


@pytest.mark.parametrize("case", corpus.CASES, ids=lambda c: c.name)
def test_corpus_case(case, base, tmp_path):
    cut, study, expect = case.build(base, tmp_path)
    res = tmp_path / "results"
    typed = case.cut_arg(cut) if case.cut_arg else cut
    if _simple(case) and case.name not in SAMPLE:
        out = ingest_in_process(typed, study, res)
    else:
        out = run_dag(typed, study, res, full=case.outcome == "excluded", more=case.targets)
    out_dir = res / "UCMSC-DC-RCT" / corpus.CUT_NAME
    rep_dir = res.parent / "reports" / "UCMSC-DC-RCT" / corpus.CUT_NAME
    if case.outcome == "fatal":
        assert out.returncode != 0, out.stdout[-2000:]
        errors = [ln for ln in out.stderr.splitlines() if ln.startswith("ERROR:")]
        assert len(errors) == 1, out.stderr[-3000:]
        assert len(errors[0]) < 1000, errors[0][:3000]  # one line a person can read
        for fragment in expect:
            assert fragment in errors[0], errors[0]
        assert "Traceback" not in out.stderr
        assert not (out_dir / "validation" / "findings.csv").exists()
        assert not list(out_dir.rglob("*.parquet")) if out_dir.exists() else True
        if case.check:
            case.check(out_dir, rep_dir, out)
        return
    assert out.returncode == 0, out.stderr[-3000:]
    findings = pl.read_csv(out_dir / "validation/findings.csv", infer_schema=False)
    if case.outcome == "flagged":
        if expect:  # (a case with no rule only has to complete, and pass its check)
            assert expect[0] in findings["rule"].to_list(), findings["rule"].unique().to_list()
    else:
        excl = pl.read_csv(out_dir / "validation/exclusions.csv", infer_schema=False)
        file, row, reason = expect
        assert (
            excl.filter(
                (pl.col("file") == file) & (pl.col("row") == row) & (pl.col("reason") == reason)
            ).height
            == 1
        )
    acct = pl.read_csv(out_dir / "validation/accounting.csv").filter(
        pl.col("category") != "excluded_by_reason"
    )
    wide = acct.pivot(on="category", index="domain", values="n")
    assert (wide["rows_in"] == wide["rows_kept"] + wide["rows_excluded"]).all()
    if case.outcome == "excluded":
        assert pl.read_csv(out_dir / "validation/traceability.csv")["unaccounted"].sum() == 0
    if case.check:
        case.check(out_dir, rep_dir, out)

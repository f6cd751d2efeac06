"""A quiet console: one line per job (the hepatrial logger plugin), the validation summary of
ingest, and the last line of a failed run (onerror) with the path to the findings."""

from __future__ import annotations

import io
import logging

import polars as pl
from snakemake_interface_logger_plugins.common import LogEvent

from hepatrial.cli import final_error_line
from hepatrial.ingest import FATAL_FINDINGS, validation_summary
from snakemake_logger_plugin_hepatrial import LogHandler


def record(level=logging.INFO, msg="", **extra) -> logging.LogRecord:
    r = logging.LogRecord("snakemake", level, __file__, 1, msg, None, None)
    for k, v in extra.items():
        setattr(r, k, v)
    return r


def handler() -> tuple[LogHandler, io.StringIO]:
    h = LogHandler.__new__(LogHandler)
    logging.Handler.__init__(h)
    h.common_settings = None  # a normal run (not a dry run)
    h.__post_init__()
    h.stream = io.StringIO()
    return h, h.stream


def test_one_line_per_finished_job_and_nothing_else():
    h, out = handler()
    h.emit(record(msg="Building DAG of jobs..."))
    h.emit(
        record(event=LogEvent.JOB_INFO, jobid=3, rule_name="mmrm", wildcards={"paramcd": "MELD"})
    )
    h.emit(record(event=LogEvent.JOB_INFO, jobid=4, rule_name="ingest", wildcards={}))
    h.emit(record(msg="Select jobs to execute..."))
    h.emit(record(event=LogEvent.JOB_FINISHED, job_id=4))
    h.emit(record(event=LogEvent.PROGRESS, done=1, total=12))
    h.emit(record(event=LogEvent.JOB_FINISHED, job_id=3))
    h.emit(record(event=LogEvent.PROGRESS, done=2, total=12))
    assert out.getvalue().splitlines() == ["[ 1/12] ingest", "[ 2/12] mmrm paramcd=MELD"]


def test_a_failed_job_is_one_line_naming_its_log_and_repeats_are_dropped():
    h, out = handler()
    h.emit(
        record(
            logging.ERROR,
            "Error in rule ingest",
            event=LogEvent.JOB_ERROR,
            rule_name="ingest",
            log=["r/logs/ingest.log"],
        )
    )
    h.emit(
        record(
            logging.ERROR,
            "CalledProcessError in file ...",
            event=LogEvent.ERROR,
            exception="RuleException",
        )
    )
    h.emit(
        record(
            logging.ERROR,
            "At least one job did not complete",
            event=LogEvent.ERROR,
            exception="WorkflowError",
        )
    )
    h.emit(record(logging.WARNING, "Removing output files of failed job ingest"))
    assert out.getvalue().splitlines() == ["FAILED: rule ingest (log: r/logs/ingest.log)"]


def test_validation_summary_counts_by_severity_and_rule(tmp_path):
    path = tmp_path / "findings.csv"
    pl.DataFrame(
        {
            "severity": ["WARNING", "WARNING", "INFO", "ERROR"],
            "rule": ["PARTIAL_DATE", "PARTIAL_DATE", "UNIT", "RANGE"],
        }
    ).write_csv(path)
    lines = validation_summary(path)
    assert lines[0] == f"Validation: 4 findings (ERROR 1, WARNING 2, INFO 1); details: {path}"
    assert [ln.split() for ln in lines[1:]] == [
        ["ERROR", "RANGE", "1"],
        ["WARNING", "PARTIAL_DATE", "2"],
        ["INFO", "UNIT", "1"],
    ]


def test_last_line_of_a_failed_run_points_to_the_findings(tmp_path):
    (tmp_path / "logs").mkdir()
    (tmp_path / "validation").mkdir()
    (tmp_path / "logs" / "ingest.log").write_text("ERROR: file dm.csv, column SEX: missing\n")
    assert final_error_line(tmp_path.parent / "none").startswith("ERROR: the run failed")
    # no findings file: the step's log
    assert final_error_line(tmp_path).endswith(f"| log: {tmp_path / 'logs' / 'ingest.log'}")
    (tmp_path / "logs" / FATAL_FINDINGS).write_text("severity\nFATAL\n")
    line = final_error_line(tmp_path)
    assert line == (
        f"ERROR: file dm.csv, column SEX: missing | findings: {tmp_path / 'logs' / FATAL_FINDINGS}"
    )


def test_the_run_folder_wildcards_are_not_shown_but_the_previous_cut_is_named():
    h, out = handler()
    h.emit(
        record(
            event=LogEvent.JOB_INFO,
            jobid=1,
            rule_name="mmrm",
            wildcards={"study": "S", "cut": "2025-12-31", "paramcd": "MELD"},
        )
    )
    h.emit(
        record(
            event=LogEvent.JOB_INFO,
            jobid=2,
            rule_name="ingest",
            wildcards={"study": "S", "cut": "2025-12-31/previous"},
        )
    )
    for i in (1, 2):
        h.emit(record(event=LogEvent.JOB_FINISHED, job_id=i))
        h.emit(record(event=LogEvent.PROGRESS, done=i, total=2))
    assert out.getvalue().splitlines() == ["[1/2] mmrm paramcd=MELD", "[2/2] ingest (previous cut)"]


def test_last_line_takes_the_newest_error_of_the_cut_and_its_previous_cut(tmp_path):
    cur, prev = tmp_path / "c", tmp_path / "c" / "previous"
    for d in (cur, prev):
        (d / "logs").mkdir(parents=True)
    (cur / "logs" / "ard.log").write_text("no error\n")
    (prev / "logs" / "mmrm_MELD.log").write_text("ERROR: the model did not converge\n")
    assert final_error_line(cur, prev) == (
        f"ERROR: the model did not converge | log: {prev / 'logs' / 'mmrm_MELD.log'}"
    )

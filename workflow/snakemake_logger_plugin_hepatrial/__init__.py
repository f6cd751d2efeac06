"""A quiet console for hepatrial runs (``--logger hepatrial``, set in profiles/default).

One line per finished job (``[ 12/40] mmrm paramcd=MELD``), one line per failed job naming its log,
warnings and errors as single lines; the rule details, reasons, timestamps and scheduling chatter
Snakemake prints by default stay in its log file (``.snakemake/log/``). The workflow's ``onerror``
handler prints the last line of a failed run.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass

from snakemake_interface_logger_plugins.base import LogHandlerBase
from snakemake_interface_logger_plugins.common import LogEvent
from snakemake_interface_logger_plugins.settings import LogHandlerSettingsBase


@dataclass
class LogHandlerSettings(LogHandlerSettingsBase):
    pass


def _one_line(text) -> str:
    return " ".join(str(text or "").split())


# Runs whose console output is the point (dry runs too): Snakemake's own console, unchanged.
LOUD = {
    "--lint",
    "--summary",
    "-S",
    "--detailed-summary",
    "-D",
    "--list-rules",
    "--list",
    "-l",
    "--list-target-rules",
    "--lt",
    "--dag",
    "--rulegraph",
    "--filegraph",
    "--d3dag",
    "--report",
    "--list-changes",
    "--lc",
    "--list-input-changes",
    "--li",
    "--list-params-changes",
    "--lp",
    "--list-code-changes",
    "--list-untracked",
    "--lu",
    "--containerize",
    "--print-compilation",
}
# Snakemake's scheduling chatter of a normal run (its log file keeps it).
CHATTER = (
    "Select jobs to execute",
    "Execute ",
    "Building DAG",
    "Using shell",
    "Provided cores",
    "Rules claiming",
    "Assuming unrestricted",
    "Config file ",
    "Job stats",
    "Complete log",
    "Finished jobid",
    "host:",
    "Using workflow specific profile",
    "SNAKEMAKE",
    "=====",
    "Elapsed time",
    "Removing temporary output",
    "Touching output",
    "Shutting down",
)


class LogHandler(LogHandlerBase):
    def __post_init__(self) -> None:
        self.jobs: dict[int, str] = {}
        self.finished: list[str] = []
        self.stream = sys.stderr
        self.default: logging.Handler | None = None
        cs = self.common_settings
        self.quiet = cs is None or not (getattr(cs, "dryrun", False) or LOUD & set(sys.argv))
        if cs is not None:
            from snakemake.logging import ColorizingTextHandler, DefaultFilter, DefaultFormatter

            self.default = ColorizingTextHandler(
                nocolor=cs.nocolor, stream=sys.stdout if cs.stdout else sys.stderr
            )
            self.default.addFilter(
                DefaultFilter(cs.quiet, cs.debug_dag, cs.verbose, cs.dryrun, cs.printshellcmds)
            )
            self.default.setFormatter(DefaultFormatter(cs.quiet, cs.show_failed_logs))

    @property
    def writes_to_stream(self) -> bool:
        return True

    @property
    def writes_to_file(self) -> bool:
        return False

    @property
    def has_filter(self) -> bool:
        return True

    @property
    def has_formatter(self) -> bool:
        return True

    @property
    def needs_rulegraph(self) -> bool:
        return False

    def _write(self, line: str) -> None:
        self.stream.write(line + "\n")
        self.stream.flush()

    def emit(self, record: logging.LogRecord) -> None:
        if not self.quiet and self.default is not None:
            self.default.handle(record)
            return
        event = getattr(record, "event", None)
        if event == LogEvent.JOB_INFO:
            wc = getattr(record, "wildcards", None) or {}
            name = getattr(record, "rule_name", "?")
            # {study} and {cut} name the run's folder: not shown, but for the previous cut's jobs
            shown = [f"{k}={v}" for k, v in sorted(wc.items()) if k not in ("study", "cut")]
            if str(wc.get("cut", "")).endswith("/previous"):
                shown.append("(previous cut)")
            self.jobs[getattr(record, "jobid", -1)] = " ".join([name, *shown])
        elif event == LogEvent.JOB_FINISHED:
            self.finished.append(self.jobs.get(getattr(record, "job_id", -1), "job"))
        elif event == LogEvent.PROGRESS:
            done, total = getattr(record, "done", 0), getattr(record, "total", 0)
            width = len(str(total))
            for i, name in enumerate(self.finished):
                self._write(f"[{done - len(self.finished) + i + 1:>{width}}/{total}] {name}")
            self.finished = []
        elif event == LogEvent.JOB_ERROR:
            logs = getattr(record, "log", None) or []
            logs = ", ".join(logs) if isinstance(logs, (list, tuple)) else str(logs)
            self._write(
                f"FAILED: rule {getattr(record, 'rule_name', '?')}"
                + (f" (log: {logs})" if logs else "")
            )
        elif event == LogEvent.ERROR:
            # a failed job's exception and the closing "did not complete" repeat the FAILED line;
            # the workflow's onerror prints the last line
            msg = _one_line(record.getMessage())
            exc = getattr(record, "exception", "")
            if msg and exc not in ("RuleException", "WorkflowError", "CalledProcessError"):
                self._write(f"ERROR: {msg[:300]}")
        elif event is None and record.levelno >= logging.WARNING:
            msg = record.getMessage()
            first = _one_line(msg.splitlines()[0] if msg else "")
            noise = ("Exiting because", "Shutting down", "Complete log", "Removing output files")
            if first and not first.startswith(noise):
                level = "ERROR" if record.levelno >= logging.ERROR else "WARNING"
                self._write(f"{level}: {first[:300]}")
        elif event is None and record.levelno >= logging.INFO:
            msg = _one_line(record.getMessage())
            # e.g. "Nothing to be done (all requested files are present and up to date)."
            if msg and not msg.startswith((*CHATTER, "[")) and "steps (" not in msg:
                self._write(msg[:300])

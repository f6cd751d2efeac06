"""Run a pipeline step so that a user-facing error ends as one line and a non-zero exit.

Snakemake scripts call :func:`run_step`; an expected error (bad input, bad config) prints
``ERROR: <message>`` on stderr and exits with status 2, with no Python traceback. Anything
else is a bug and keeps its traceback.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hepatrial.errors import HepatrialError

ONERROR_ENV = "HEPATRIAL_ONERROR"  # set by the Snakefile: a step's ERROR line goes to its log only


def final_error_line(results: str | Path) -> str:
    """The last line of a failed run (the workflow's ``onerror``): the newest ``ERROR:`` line of
    the step logs, with the path of the findings when ingest stopped on a fatal finding, or of the
    failed step's log."""
    logs = sorted(Path(results, "logs").glob("*.log"), key=lambda p: p.stat().st_mtime,
                  reverse=True) if Path(results, "logs").is_dir() else []
    for log in logs:
        err = next((ln for ln in log.read_text(errors="replace").splitlines()
                    if ln.startswith("ERROR:")), None)
        if err is None:
            continue
        fatal = Path(results, "validation", "findings_fatal.csv")
        if log.name == "ingest.log" and fatal.is_file():
            return f"{err} | findings: {fatal}"
        return f"{err} | log: {log}"
    logs_dir = Path(results, "logs")
    return f"ERROR: the run failed (see the FAILED line above; step logs in {logs_dir})"


def run_step(func: Callable[..., Any], *args: Any, log: str | None = None, **kwargs: Any) -> Any:
    """Call ``func``; an expected error becomes one line on stderr (and in ``log``) and exit 2."""
    try:
        result = func(*args, **kwargs)
    except HepatrialError as exc:
        msg = "ERROR: " + " ".join(str(exc).split())
        if log:
            Path(log).parent.mkdir(parents=True, exist_ok=True)
            Path(log).write_text(msg + "\n")
        if not (log and os.environ.get(ONERROR_ENV)):  # else the workflow's onerror prints it, last
            sys.stderr.write(msg + "\n")
            sys.stderr.flush()
        raise SystemExit(2) from None
    if log:
        Path(log).parent.mkdir(parents=True, exist_ok=True)
        Path(log).write_text(f"{getattr(func, '__name__', 'step')}: done\n")
    return result

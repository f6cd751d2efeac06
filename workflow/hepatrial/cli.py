"""Run a pipeline step so that a user-facing error ends as one line and a non-zero exit.

Snakemake scripts call :func:`run_step`; an expected error (bad input, bad config) prints
``ERROR: <message>`` on stderr and exits with status 2, with no Python traceback. Anything
else is a bug and keeps its traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable

from hepatrial.errors import HepatrialError


def run_step(func: Callable[..., Any], *args: Any, log: str | None = None, **kwargs: Any) -> Any:
    """Call ``func``; an expected error becomes one line on stderr (and in ``log``) and exit 2."""
    try:
        result = func(*args, **kwargs)
    except HepatrialError as exc:
        msg = "ERROR: " + " ".join(str(exc).split())
        if log:
            Path(log).parent.mkdir(parents=True, exist_ok=True)
            Path(log).write_text(msg + "\n")
        sys.stderr.write(msg + "\n")
        sys.stderr.flush()
        raise SystemExit(2) from None
    if log:
        Path(log).parent.mkdir(parents=True, exist_ok=True)
        Path(log).write_text(f"{getattr(func, '__name__', 'step')}: done\n")
    return result

"""Run a pipeline step so that a user-facing error ends as one line and a non-zero exit.

Snakemake scripts call :func:`run_step`; an expected error (bad input, bad config) prints
``ERROR: <message>`` on stderr and exits with status 2, with no Python traceback. Anything
else is a bug and keeps its traceback.
"""

from __future__ import annotations

import sys
from typing import Any, Callable

from hepatrial.errors import HepatrialError


def run_step(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    try:
        return func(*args, **kwargs)
    except HepatrialError as exc:
        msg = " ".join(str(exc).split())
        sys.stderr.write(f"ERROR: {msg}\n")
        sys.stderr.flush()
        raise SystemExit(2) from None

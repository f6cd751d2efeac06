"""Run a pipeline step so that a user-facing error ends as one line and a non-zero exit.

Snakemake scripts call :func:`run_step`; an expected error (bad input, bad config) prints
``ERROR: <message>`` on stderr and exits with status 2, with no Python traceback. Anything
else is a bug and keeps its traceback. The error's ``details`` (e.g. the other fatal findings a
message counts) go to the step's log under the ERROR line. A :class:`HepatrialWarning`, and
matplotlib's "Glyph ... missing from font(s)" warning, become ``WARNING: <message>`` lines on
stderr and in the log.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from typing import Any, Callable

from hepatrial.errors import HepatrialError, HepatrialWarning


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _user_warnings(caught: list[warnings.WarningMessage]) -> list[str]:
    """The caught warnings a user should see, as ``WARNING:`` lines (each once); the others are
    shown as Python would have shown them."""
    out: list[str] = []
    for w in caught:
        msg = str(w.message)
        if issubclass(w.category, HepatrialWarning):
            line = "WARNING: " + _one_line(msg)
        elif msg.startswith("Glyph ") and "missing from font" in msg:
            line = ("WARNING: a figure has a character no bundled font can draw (printed blank): "
                    + _one_line(msg))
        else:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
            continue
        if line not in out:
            out.append(line)
    return out


def run_step(func: Callable[..., Any], *args: Any, log: str | None = None, **kwargs: Any) -> Any:
    """Call ``func``; an expected error becomes one line on stderr (and in ``log``) and exit 2."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        warnings.simplefilter("always", HepatrialWarning)
        try:
            result = func(*args, **kwargs)
            error = None
        except HepatrialError as exc:
            error = exc
    notes = _user_warnings(caught)
    for line in notes:
        sys.stderr.write(line + "\n")
    if error is not None:
        msg = "ERROR: " + _one_line(str(error))
        if log:
            Path(log).parent.mkdir(parents=True, exist_ok=True)
            Path(log).write_text("\n".join([msg, *notes, *getattr(error, "details", [])]) + "\n",
                                 encoding="utf-8")
        sys.stderr.write(msg + "\n")
        sys.stderr.flush()
        raise SystemExit(2) from None
    if log:
        Path(log).parent.mkdir(parents=True, exist_ok=True)
        done = f"{getattr(func, '__name__', 'step')}: done"
        Path(log).write_text("\n".join([*notes, done]) + "\n", encoding="utf-8")
    return result

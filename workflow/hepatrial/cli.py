"""Run a pipeline step so that a user-facing error ends as one line and a non-zero exit.

Snakemake scripts call :func:`run_step`; an expected error (bad input, bad config) prints
``ERROR: <message>`` on stderr and exits with status 2, with no Python traceback. Anything
else is a bug and keeps its traceback. The error's ``details`` (e.g. the other fatal findings a
message counts) go to the step's log under the ERROR line. A :class:`HepatrialWarning`, and
matplotlib's "Glyph ... missing from font(s)" warning (a character no bundled font has, or one
drawn with a font list that leaves out the bundled font that has it), become ``WARNING: <message>``
lines on stderr and in the log.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hepatrial import stamp
from hepatrial.errors import HepatrialError, HepatrialWarning


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _user_warnings(caught: list[warnings.WarningMessage]) -> list[str]:
    """The caught warnings a user should see, as ``WARNING:`` lines (each once); matplotlib's
    missing-glyph warnings become one line naming every such character. Other warnings are shown
    as Python would have shown them."""
    out: list[str] = []
    glyphs: list[str] = []
    misdrawn: list[str] = []
    for w in caught:
        msg = str(w.message)
        if issubclass(w.category, HepatrialWarning):
            line = "WARNING: " + _one_line(msg)
        elif msg.startswith("Glyph ") and "missing from font" in msg:
            ch = _undrawable_glyph(msg)
            if ch and ch not in glyphs:
                glyphs.append(ch)
            ch = _misdrawn_glyph(msg)
            if ch and ch not in misdrawn:
                misdrawn.append(ch)
            continue
        else:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
            continue
        if line not in out:
            out.append(line)
    if glyphs:
        from hepatrial.fonts import describe

        glyphs.sort(key=ord)
        out.append(
            f"WARNING: figures hold {len(glyphs)} character(s) that no bundled font can "
            f"draw (printed blank): {describe(glyphs)}"
        )
    if misdrawn:
        from hepatrial.fonts import describe

        misdrawn.sort(key=ord)
        out.append(
            f"WARNING: figures draw {len(misdrawn)} character(s) with a font that lacks them "
            f"(printed blank; a bundled font has them, the text was not given the bundled font "
            f"list): {describe(misdrawn)}"
        )
    return out


def _undrawable_glyph(msg: str) -> str | None:
    """The character of matplotlib's "Glyph <code> missing from font(s) ..." when it is one that
    needs a glyph and no bundled font has; None otherwise (matplotlib also warns while measuring
    text with one font of the list, and for control characters, which draw as nothing)."""
    import re

    from hepatrial.fonts import covered, needs_glyph

    m = re.match(r"Glyph (\d+) ", msg)
    if not m:
        return None
    ch = chr(int(m.group(1)))
    return ch if ord(ch) not in covered() and needs_glyph(ch) else None


def _misdrawn_glyph(msg: str) -> str | None:
    """The character of matplotlib's "Glyph <code> (<char>) missing from font(s) <names>." when a
    bundled font has it but the fonts the text was drawn with (``<names>``) are not the bundled
    list: a text drawn blank by a font set-up error (e.g. the CJK subset alone for Latin text),
    not by the data. None otherwise."""
    import re

    from hepatrial.fonts import FAMILIES, covered, needs_glyph

    m = re.match(r"Glyph (\d+) .* missing from font\(s\) (.*?)\.?$", msg)
    if not m:
        return None
    ch = chr(int(m.group(1)))
    named = {f.strip() for f in m.group(2).split(",")}
    if ord(ch) in covered() and needs_glyph(ch) and not set(FAMILIES) <= named:
        return ch
    return None


ONERROR_ENV = "HEPATRIAL_ONERROR"  # set by the Snakefile: a step's ERROR line goes to its log only


def final_error_line(results: str | Path, *more: str | Path) -> str:
    """The last line of a failed run (the workflow's ``onerror``): the newest ``ERROR:`` line of
    the step logs of the results folders (the cut's, then e.g. its previous cut's), with the path of
    the findings when ingest stopped on a fatal finding, or of the failed step's log."""
    logs = sorted(
        (
            log
            for r in (results, *more)
            if Path(r, "logs").is_dir()
            for log in Path(r, "logs").glob("*.log")
        ),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for log in logs:
        err = next(
            (ln for ln in log.read_text(errors="replace").splitlines() if ln.startswith("ERROR:")),
            None,
        )
        if err is None:
            continue
        fatal = log.parent / "findings.csv"  # ingest's findings when it stopped
        if log.name == "ingest.log" and fatal.is_file():
            return f"{err} | findings: {fatal}"
        return f"{err} | log: {log}"
    logs_dir = Path(results, "logs")
    return f"ERROR: the run failed (see the FAILED line above; step logs in {logs_dir})"


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
            Path(log).write_text(
                "\n".join(stamp.log_lines([msg, *notes, *getattr(error, "details", [])])) + "\n",
                encoding="utf-8",
            )
        if not (log and os.environ.get(ONERROR_ENV)):  # else the workflow's onerror prints it, last
            sys.stderr.write(msg + "\n")
            sys.stderr.flush()
        raise SystemExit(2) from None
    if log:
        Path(log).parent.mkdir(parents=True, exist_ok=True)
        done = f"{getattr(func, '__name__', 'step')}: done"
        Path(log).write_text("\n".join(stamp.log_lines([*notes, done])) + "\n", encoding="utf-8")
    return result

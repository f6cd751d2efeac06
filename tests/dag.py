"""The one way the tests run the Snakemake DAG: ``python -m snakemake`` from the repository root,
with this checkout's package first on the path (not whichever hepatrial is installed).

A test that runs the DAG (a dry run too) is marked ``workflow`` (``pytest -m "not workflow"`` is
the quick suite): tests/conftest.py marks everything under tests/workflow/, and ``snakemake()``
refuses to run from a test without the mark.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SNAKEFILE = ROOT / "Snakefile"

# Set by tests/conftest.py before each test: whether the running test is marked ``workflow``
# (None outside pytest).
current_test_is_workflow: bool | None = None


def config_args(study: str | Path, cut: str | Path, out: Path, *more: str) -> list[str]:
    """``--config`` of a run of ``study`` on ``cut`` into ``out/results`` and ``out/reports``."""
    return [
        "--config",
        f"study={study}",
        f"cut={cut}",
        f"results_dir={out / 'results'}",
        f"reports_dir={out / 'reports'}",
        *more,
    ]


def command(*args: str | Path, cores: int = 2) -> list[str]:
    return [sys.executable, "-m", "snakemake", "--cores", str(cores), "--nolock", *map(str, args)]


# Variables the test process set for itself only (tests/conftest.py: one thread per test
# process); a DAG run gets the environment without them.
NOT_INHERITED: tuple[str, ...] = ()


def environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
    env.update(extra or {})
    paths = (str(ROOT / "workflow"), env.get("PYTHONPATH"))
    env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    return env


def _check_marked() -> None:
    if current_test_is_workflow is False:
        raise AssertionError(
            "a test that runs the Snakemake DAG must be marked workflow "
            "(@pytest.mark.workflow, or live under tests/workflow/)"
        )


def snakemake(
    *args: str | Path,
    cwd: Path = ROOT,
    env: dict[str, str] | None = None,
    cores: int = 2,
    timeout: float | None = None,
) -> subprocess.CompletedProcess:
    """Run ``snakemake --cores <cores> --nolock <args>``; stdout and stderr captured as text."""
    _check_marked()
    return subprocess.run(
        command(*args, cores=cores),
        cwd=cwd,
        capture_output=True,
        text=True,
        env=environment(env),
        timeout=timeout,
        check=False,
    )


def start(
    *args: str | Path, cwd: Path = ROOT, env: dict[str, str] | None = None, cores: int = 2
) -> subprocess.Popen:
    """``snakemake()`` started in the background (two runs side by side)."""
    _check_marked()
    return subprocess.Popen(
        command(*args, cores=cores),
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment(env),
    )

"""The repository stands alone: no tracked file points into a folder outside it.

Users who clone the project have neither the sibling "shared" folder the project started from nor
the machine's "work" tree, so a path into either (a docstring citing a specification, a test or R
script reading data from there) is a broken promise; ``FORBIDDEN`` spells the two paths. The input specification lives in ``docs/`` (data contract, results contract,
clinical scores); reference data live under ``tests/reference/``.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Spelled in two parts so that this file does not match itself.
FORBIDDEN = ("../" + "shared", "/" + "work/")


SKIP_DIRS = {
    ".git",
    ".ci-venv",
    ".snakemake",
    "results",
    "reports",
    "site",
    "__pycache__",
    ".pytest_cache",
    ".hypothesis",
    ".ruff_cache",
}


def _tracked_files() -> list[Path]:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        # not a git checkout (an unpacked release): every file but outputs and environments
        parts = lambda p: p.relative_to(ROOT).parts  # noqa: E731
        return [
            p
            for p in ROOT.rglob("*")
            if p.is_file()
            and not SKIP_DIRS & set(parts(p))
            and not any(x.endswith(".egg-info") for x in parts(p))
        ]
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True)
    return [ROOT / p for p in out.stdout.decode("utf-8").split("\0") if p]


def test_no_tracked_file_points_outside_the_repository():
    hits = []
    for path in _tracked_files():
        if not path.is_file():  # deleted in the work tree, not yet committed
            continue
        data = path.read_bytes()
        for needle in FORBIDDEN:
            pos = data.find(needle.encode())
            if pos >= 0:
                line = data.count(b"\n", 0, pos) + 1
                hits.append(f"{path.relative_to(ROOT)}:{line}: {needle!r}")
    assert not hits, (
        "tracked files refer to folders outside the repository (use docs/ or "
        "tests/reference/ instead):\n" + "\n".join(hits)
    )

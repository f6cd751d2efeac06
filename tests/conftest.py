import os
import sys
from pathlib import Path

import pytest

# One thread per test process, set before numpy and polars load: xdist runs one worker per core,
# and OpenBLAS's and polars' thread pools on top of that oversubscribe the cores (OpenBLAS threads
# spin while they wait: the GSD property test took 19 s in the parallel suite, 2 s alone). A value
# already in the environment is kept. The DAG runs the tests start do not inherit it (tests/dag.py):
# single-threaded jobs left cores idle on the DAG's critical path (the suite took 21 min, not 13).
# The controller sets them and names them in _THREADS_SET; the xdist workers inherit both.
_THREADS_SET = "HEPATRIAL_TESTS_SET_THREADS"
if _THREADS_SET not in os.environ:
    _ours = [
        v
        for v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "POLARS_MAX_THREADS")
        if v not in os.environ
    ]
    for _var in _ours:
        os.environ[_var] = "1"
    os.environ[_THREADS_SET] = ",".join(_ours)

sys.path.insert(0, str(Path(__file__).parent))

import dag  # noqa: E402

dag.NOT_INHERITED = (*filter(None, os.environ[_THREADS_SET].split(",")), _THREADS_SET)

WORKFLOW_DIR = Path(__file__).parent / "workflow"
REFERENCE_DIR = Path(__file__).parent / "reference"

# The longest test modules, longest first (measured with ``pytest --durations``: each runs one or
# more whole DAGs). With ``-n 2`` xdist hands tests out in collection order, so a long test
# collected last runs alone while the other worker idles; run the long ones first and let the
# short unit tests fill the gaps at the end (longest-processing-time-first scheduling).
LONGEST_FIRST = (
    "workflow/test_hostile_text.py",
    "workflow/test_dsmb_reports.py",
    "workflow/test_rerun_identical.py",
    "workflow/test_designs.py",
    "workflow/test_corpus.py",
    "workflow/test_blinding.py",
    "workflow/test_dag.py",
    "unit/test_dummy_randomisation.py",
    "reference/test_pbc_dag.py",
)


def pytest_collection_modifyitems(config, items):
    """Every test under tests/workflow/ runs the DAG: marked ``workflow``; every test under
    tests/reference/ compares with R, SAS or statsmodels numbers: marked ``reference``. The quick
    suite is ``pytest -m "not workflow and not reference"``."""
    for item in items:
        parents = Path(str(item.path)).parents
        if WORKFLOW_DIR in parents:
            item.add_marker(pytest.mark.workflow)
        if REFERENCE_DIR in parents:
            item.add_marker(pytest.mark.reference)
    items.sort(key=_run_order)  # stable: a module's tests keep their order and stay together


def _run_order(item) -> tuple[int, int]:
    rel = Path(str(item.path)).relative_to(Path(__file__).parent).as_posix()
    if rel in LONGEST_FIRST:
        return 0, LONGEST_FIRST.index(rel)
    if item.get_closest_marker("workflow") is not None:
        return 1, 0
    if item.get_closest_marker("reference") is not None:
        return 2, 0
    return 3, 0


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    # dag.snakemake() refuses to run from a test not marked workflow (fixtures included)
    dag.current_test_is_workflow = item.get_closest_marker("workflow") is not None

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import dag  # noqa: E402

WORKFLOW_DIR = Path(__file__).parent / "workflow"
REFERENCE_DIR = Path(__file__).parent / "reference"


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


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    # dag.snakemake() refuses to run from a test not marked workflow (fixtures included)
    dag.current_test_is_workflow = item.get_closest_marker("workflow") is not None

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import dag  # noqa: E402

WORKFLOW_DIR = Path(__file__).parent / "workflow"


def pytest_collection_modifyitems(config, items):
    """Every test under tests/workflow/ runs the DAG: marked ``workflow``."""
    for item in items:
        if WORKFLOW_DIR in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.workflow)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    # dag.snakemake() refuses to run from a test not marked workflow (fixtures included)
    dag.current_test_is_workflow = item.get_closest_marker("workflow") is not None

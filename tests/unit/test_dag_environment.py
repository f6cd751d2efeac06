"""The one-thread limits the test processes set for themselves (tests/conftest.py) do not reach
the DAG runs the tests start (tests/dag.py): single-threaded jobs left cores idle."""

from __future__ import annotations

import os

import dag


def test_dag_runs_do_not_inherit_the_test_processes_thread_limits():
    ours = [v for v in os.environ["HEPATRIAL_TESTS_SET_THREADS"].split(",") if v]
    env = dag.environment()
    assert set(ours) <= set(dag.NOT_INHERITED)
    assert not set(dag.NOT_INHERITED) & set(env)
    for v in ours:  # set here, in the test process (and in every xdist worker)
        assert os.environ[v] == "1"

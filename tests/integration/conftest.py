"""Live tests fail, never skip, on a machine that cannot run them (a skip would hide them)."""

import pytest
from live_helpers import live_machine_problem


def pytest_runtest_setup(item):
    if item.get_closest_marker("live"):
        problem = live_machine_problem()
        if problem:
            pytest.fail(problem, pytrace=False)

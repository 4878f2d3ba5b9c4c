"""The whole flow over HTTP only (tests/flow.py), against three service processes, a real broker
and PostgreSQL: registry -> demand -> pool -> tender -> bids -> award -> per-school savings."""

import pytest

from procure.launcher import RunningSystem
from tests.flow import run_flow

pytestmark = pytest.mark.e2e


def test_demand_to_per_school_savings(system: RunningSystem) -> None:
    run_flow(system.urls, system.token)

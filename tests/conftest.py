"""Session fixtures: one real broker and PostgreSQL (provisioned like `procure up` does), and the
services running as separate OS processes on them."""

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings
from xdist.scheduler import LoadFileScheduling
from xdist.workermanage import Producer

from procure.infra.processes import free_port
from procure.infra.provision import Infrastructure, provision
from procure.launcher import RunningSystem, run_system

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"

# No time limit per Hypothesis example: on a busy machine it fails for the load, not for a fault;
# speed is measured by the benchmarks (bench/), against a baseline of the same run.
settings.register_profile("procure", deadline=None)
settings.load_profile("procure")

FAULTS = "tests/faults/"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The fault cases first: they are the suite's longest tests, so under two workers they are
    shared out while both are free, and the short tests fill in at the end."""
    items.sort(key=lambda item: not item.nodeid.startswith(FAULTS))


class ModulesAndFaultCases(LoadFileScheduling):
    """`--dist loadfile` (a worker takes a whole module: its tests share module fixtures), but a
    fault case goes alone: each starts its own broker, database and services."""

    def _split_scope(self, nodeid: str) -> str:
        return nodeid if nodeid.startswith(FAULTS) else super()._split_scope(nodeid)


def pytest_xdist_make_scheduler(config: pytest.Config, log: Producer) -> LoadFileScheduling | None:
    return ModulesAndFaultCases(config, log) if config.option.dist == "loadfile" else None


@pytest.fixture(scope="session")
def infra() -> Iterator[Infrastructure]:
    with provision() as infrastructure:
        yield infrastructure


@pytest.fixture(scope="session")
def system(infra: Infrastructure) -> Iterator[RunningSystem]:
    ports = {s: free_port() for s in ("demand", "tendering", "savings", "web")}
    with run_system(infra, secrets.token_urlsafe(48), ports) as running:
        yield running
        # Keep the services' logs for a look after a failed run; `make test` runs two workers
        # (pytest-xdist), each with its own services, so each keeps its own.
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        ARTIFACTS.mkdir(exist_ok=True)
        for service in ports:
            (ARTIFACTS / f"{service}-{worker}.log").write_text(running.log(service))

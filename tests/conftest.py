"""Session fixtures: one real broker and PostgreSQL (provisioned like `procure up` does), and the
services running as separate OS processes on them."""

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from procure.infra.processes import free_port
from procure.infra.provision import Infrastructure, provision
from procure.launcher import RunningSystem, run_system

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


@pytest.fixture(scope="session")
def infra() -> Iterator[Infrastructure]:
    with provision() as infrastructure:
        yield infrastructure


@pytest.fixture(scope="session")
def system(infra: Infrastructure) -> Iterator[RunningSystem]:
    ports = {s: free_port() for s in ("demand", "tendering", "savings", "web")}
    with run_system(infra, secrets.token_urlsafe(48), ports) as running:
        yield running
        # Keep the services' logs for a look after a failed run.
        ARTIFACTS.mkdir(exist_ok=True)
        for service in ports:
            (ARTIFACTS / f"{service}.log").write_text(running.log(service))

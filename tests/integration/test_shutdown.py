"""Graceful shutdown: on SIGTERM /ready turns false first, then the process exits cleanly within
a bounded time."""

import os
import secrets
import signal
import sys
import time

import httpx
import pytest

from procure.infra import processes
from procure.infra.provision import Infrastructure
from procure.launcher import wait_ready

pytestmark = pytest.mark.integration


def test_sigterm_turns_ready_false_then_exits(infra: Infrastructure) -> None:
    port = processes.free_port()
    env = (
        dict(os.environ)
        | infra.service_env("savings")
        | {
            "PROCURE_TOKEN_SECRET": secrets.token_urlsafe(48),
            "HTTP_PORT": str(port),
            "SHUTDOWN_DRAIN_SECONDS": "2",
        }
    )
    service = processes.start(
        [sys.executable, "-m", "services.savings"], infra.workdir / "shutdown-test.log", env=env
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, service)
        service.send_signal(signal.SIGTERM)
        started = time.monotonic()
        # Still answering, but no longer ready: a load balancer takes it out of rotation.
        assert httpx.get(f"{url}/ready", timeout=2).status_code == 503
        assert httpx.get(f"{url}/health", timeout=2).status_code == 200
        # uvicorn re-raises the SIGTERM it captured once its graceful shutdown is done.
        assert service.wait(timeout=20) in (0, -signal.SIGTERM)
        assert time.monotonic() - started < 15
    finally:
        if service.poll() is None:
            service.kill()
            service.wait()
    assert "service stopped" in (infra.workdir / "shutdown-test.log").read_text()

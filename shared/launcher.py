"""Starts the three services as separate OS processes on given infrastructure, and stops them.

`procure up` and the end-to-end tests both use `run_system`.
"""

import os
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from subprocess import Popen

import httpx

from shared.auth import Role, issue_token
from shared.infra import processes
from shared.infra.provision import SERVICES, Infrastructure

DEFAULT_PORTS = {"demand": 8001, "tendering": 8002, "savings": 8003}


@dataclass
class RunningSystem:
    infra: Infrastructure
    token_secret: str
    urls: dict[str, str]
    processes: dict[str, Popen[bytes]] = field(default_factory=dict)

    def token(self, role: Role, scope: str | None = None) -> str:
        return issue_token(self.token_secret, role, scope)

    def log(self, service: str) -> str:
        return (self.infra.workdir / f"{service}.log").read_text(errors="replace")


def wait_ready(url: str, process: Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited with {process.returncode} before it was ready")
        try:
            if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{url} was not ready within {timeout} s")


@contextmanager
def run_system(
    infra: Infrastructure,
    token_secret: str,
    ports: Mapping[str, int] = DEFAULT_PORTS,
    extra_env: Mapping[str, str] | None = None,
) -> Iterator[RunningSystem]:
    system = RunningSystem(
        infra, token_secret, {s: f"http://127.0.0.1:{ports[s]}" for s in SERVICES}
    )
    with ExitStack() as stack:
        for service in SERVICES:
            env = dict(os.environ) | infra.service_env(service) | dict(extra_env or {})
            env |= {
                "PROCURE_TOKEN_SECRET": token_secret,
                "HTTP_HOST": "127.0.0.1",
                "HTTP_PORT": str(ports[service]),
            }
            process = processes.start(
                [sys.executable, "-m", f"services.{service}"],
                infra.workdir / f"{service}.log",
                env=env,
            )
            stack.callback(processes.stop, process)
            system.processes[service] = process
        for service in SERVICES:
            wait_ready(system.urls[service], system.processes[service])
        yield system

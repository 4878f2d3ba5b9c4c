"""The docker-compose stack for real (issue 15): built here from nothing, brought up, driven over
HTTP through the whole flow, restarted whole and one container at a time, scaled out, and brought
down. `make test-compose` runs it (about 11 minutes on a fresh machine, 8 once the images exist;
not part of `make test`, which deselects it).

It runs a stack of its own (project procure-test, its own env file and host ports), beside an
operator's `make compose-up` one. The tests of this module run in order, on one stack; the times
of each step are printed at the end and kept in test-artifacts/compose-times.txt.
"""

import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.auth import Role
from tests.conftest import ARTIFACTS
from tests.flow import TRUST, check_report, registry, run_flow

pytestmark = [
    pytest.mark.compose,
    pytest.mark.skipif(
        not os.environ.get("PROCURE_COMPOSE_TEST"), reason="the real stack: make test-compose"
    ),
    pytest.mark.timeout(1200),
]

ROOT = Path(__file__).resolve().parents[2]
STACK = ROOT / "deploy/local/stack.sh"
PROCURE = [sys.executable, "-m", "procure.cli"]
PROJECT = "procure-test"
PORTS = {"demand": 8001, "tendering": 8002, "savings": 8003}
# Host ports of the test's stack: none fixed for the services that scale out (a free one for
# each instance, found with `docker-compose port`).
HOST_PORTS = {"demand": "18001", "tendering": "", "savings": ""}
SCALED_TRUST = "7002"


class Stack:
    def __init__(self, workdir: Path) -> None:
        secret = secrets.token_urlsafe(48)
        env_file = workdir / "stack.env"
        env_file.write_text(
            f"POSTGRES_PASSWORD={secrets.token_hex(24)}\nPROCURE_TOKEN_SECRET={secret}\n"
        )
        self.env = os.environ | {
            "COMPOSE_PROJECT_NAME": PROJECT,
            "PROCURE_ENV_FILE": str(env_file),
            "PROCURE_TOKEN_SECRET": secret,  # for the CLI
        }
        self.env |= {f"{s.upper()}_HOST_PORT": port for s, port in HOST_PORTS.items()}
        self.log = ARTIFACTS / "compose-stack.log"
        # What the run measured, printed at the end: "build and up until healthy: 95.1 s".
        self.measured: dict[str, str] = {}
        self._tokens: dict[tuple[Role, str | None], str] = {}

    def run(self, *args: str, step: str | None = None) -> str:
        """stack.sh ARGS, its output kept in the log (and shown when it fails)."""
        started = time.monotonic()
        result = subprocess.run(
            [str(STACK), *args], env=self.env, capture_output=True, text=True, check=False
        )
        with self.log.open("a") as log:
            log.write(f"$ stack.sh {' '.join(args)}\n{result.stdout}{result.stderr}\n")
        assert result.returncode == 0, (args, result.stdout[-3000:], result.stderr[-3000:])
        if step:
            self.measured[step] = f"{time.monotonic() - started:.1f} s"
        return result.stdout

    def compose(self, *args: str) -> str:
        return self.run("compose", *args)

    def url(self, service: str, index: int = 1) -> str:
        port = PORTS[service]
        published = self.compose("port", f"--index={index}", service, str(port)).strip()
        return f"http://{published}"

    def urls(self, index: int = 1) -> dict[str, str]:
        """Instance `index` of tendering and savings (demand runs one)."""
        return {s: self.url(s, 1 if s == "demand" else index) for s in PORTS}

    def procure(self, *args: str) -> str:
        """The CLI on this machine, with the stack's PROCURE_TOKEN_SECRET."""
        result = subprocess.run(
            [*PROCURE, *args], env=self.env, cwd=ROOT, capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, (args, result.stdout, result.stderr)
        return result.stdout

    def token(self, role: Role, scope: str | None) -> str:
        """`procure token create`, once for each role and scope."""
        if (role, scope) not in self._tokens:
            option = {Role.SCHOOL: "--urn", Role.MANAGER: "--trust", Role.SUPPLIER: "--supplier"}
            args = ["token", "create", "--role", role.value]
            if scope is not None:
                args += [option[role], scope]
            self._tokens[role, scope] = self.procure(*args).strip()
        return self._tokens[role, scope]

    def get(self, url: str, role: Role, scope: str | None) -> Any:
        response = httpx.get(url, headers={"Authorization": f"Bearer {self.token(role, scope)}"})
        assert response.status_code == 200, response.text
        return response.json()


def awarded_tenders(stack: Stack) -> int:
    """How many of trust 7001's tenders tendering reports awarded (one, the flow's)."""
    url = f"{stack.url('tendering')}/v1/trusts/{TRUST}/tenders"
    return sum(t["status"] == "awarded" for t in stack.get(url, Role.MANAGER, TRUST))


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    ARTIFACTS.mkdir(exist_ok=True)
    running = Stack(tmp_path_factory.mktemp("compose"))
    running.log.write_text("")
    running.run("base", step="tools and Debian base image")
    running.run("down", "--volumes")  # a clean slate: what a previous run left
    running.run("up", step="build and up until healthy")
    try:
        yield running
    finally:
        running.run("down", "--volumes", step="down")
        measured = "\n".join(f"{what}: {value}" for what, value in running.measured.items())
        (ARTIFACTS / "compose-times.txt").write_text(measured + "\n")
        print("\ncompose stack, measured:\n" + measured)


@pytest.fixture(scope="module")
def report(stack: Stack) -> dict[str, Any]:
    """The whole flow through the stack, the registry loaded with the CLI."""
    csv = ARTIFACTS / "compose-registry.csv"
    csv.write_text(registry(TRUST))
    loaded = json.loads(stack.procure("registry", "load", str(csv), "--url", stack.url("demand")))
    assert loaded["joined"] == 4
    started = time.monotonic()
    result = run_flow(stack.urls(), stack.token, TRUST, registry_loaded=True)
    stack.measured["flow"] = f"{time.monotonic() - started:.1f} s"
    return result


def test_flow_to_the_penny(report: dict[str, Any]) -> None:
    check_report(report, TRUST)


def test_stack_restart_keeps_the_data(stack: Stack, report: dict[str, Any]) -> None:
    stack.run("down", step="down (volumes kept)")
    stack.run("up", step="up again until healthy")
    again = stack.get(f"{stack.url('savings')}/v1/trusts/{TRUST}/savings", Role.MANAGER, TRUST)
    assert again == report
    assert awarded_tenders(stack) == 1


def test_one_container_restarted_is_healthy_again(stack: Stack, report: dict[str, Any]) -> None:
    stack.compose("restart", "tendering")
    stack.run("wait", step="tendering restarted until healthy")
    ready = httpx.get(f"{stack.url('tendering')}/ready")
    assert ready.status_code == 200, ready.text
    # It answers from its database again, and consumes again: the savings are unchanged.
    assert awarded_tenders(stack) == 1
    again = stack.get(f"{stack.url('savings')}/v1/trusts/{TRUST}/savings", Role.MANAGER, TRUST)
    assert again == report


def test_two_instances_of_tendering_and_savings(stack: Stack) -> None:
    scale = ("--scale", "tendering=2", "--scale", "savings=2")
    stack.run("up", *scale, step="scaled to two instances until healthy")
    for service in ("tendering", "savings"):
        assert len(stack.compose("ps", "-q", service).split()) == 2
    # The second instances answer; both instances of each share the service's consumer group.
    run_flow(stack.urls(index=2), stack.token, SCALED_TRUST)
    first = stack.get(
        f"{stack.url('savings', 1)}/v1/trusts/{SCALED_TRUST}/savings", Role.MANAGER, SCALED_TRUST
    )
    check_report(first, SCALED_TRUST)


def test_logs_are_one_json_object_per_line(stack: Stack) -> None:
    logs = stack.compose("logs", "--no-color", "demand", "tendering", "savings")
    lines = [line.split(" | ", 1)[1] for line in logs.splitlines() if " | " in line]
    assert len(lines) > 10
    for line in lines:
        assert isinstance(json.loads(line), dict), line


def test_image_is_small_unprivileged_and_pinned(stack: Stack) -> None:
    image = stack.env.get("PROCURE_IMAGE", "procure:latest")
    inspect = json.loads(stack.run("podman", "image", "inspect", image))[0]
    assert inspect["Config"]["User"] == "procure"
    size_mb = inspect["Size"] / 1_000_000
    stack.measured[f"image {image}"] = f"{size_mb:.0f} MB"
    assert size_mb < 400
    frozen = stack.run("podman", "run", "--rm", image, "python", "-m", "pip", "freeze")
    pins = (ROOT / "constraints.txt").read_text().lower().replace("_", "-").splitlines()
    for line in frozen.lower().replace("_", "-").splitlines():
        if not line.startswith("collective-procurement"):
            assert line in pins, f"{line} is not pinned by constraints.txt"

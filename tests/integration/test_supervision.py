"""`procure up` supervises its children: a service killed with -9 is restarted, ready again
within 30 s, and the output says so; the broker too, and though it comes back empty, a demand
line posted just before its death still reaches tendering, once; and when `procure up` itself
is killed with -9, its children (services, broker, PostgreSQL) stop with it and free their
ports.

Real processes throughout: `procure up` runs as a subprocess on free ports, with its own data
folder; its children are found by their parent pid."""

import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest

from procure.infra.processes import port_in_use
from shared.auth import Role, issue_token
from tests.helpers import bearer, demand_line, eventually, free_base_port, registry_csv

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("demand", "tendering", "savings")
TRUST = "4601"


@dataclass
class Up:
    process: subprocess.Popen[str]
    urls: dict[str, str]
    secret: str
    lines: list[str] = field(default_factory=list)

    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, pattern: str, timeout: float) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if found := re.search(pattern, line):
                    return found
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f"no line matching {pattern!r} in:\n{self.output()}")


def children(pid: int) -> dict[int, str]:
    """Live processes whose parent is `pid`, with their command lines (zombies left out)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces, so split after its last ")".
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if int(ppid) == pid and state != "Z":
            found[int(entry.name)] = cmdline
    return found


def child_pid(up: Up, command: str) -> int:
    pids = [p for p, cmd in children(up.process.pid).items() if command in cmd]
    assert len(pids) == 1, f"{command}: {pids} in {children(up.process.pid)}"
    return pids[0]


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/ready", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="module")
def up() -> Iterator[Up]:
    # Reachable by PostgreSQL, which runs as another user when we are root.
    data = Path(tempfile.mkdtemp(prefix="procure-supervision-"))
    data.chmod(0o755)
    secret = secrets.token_urlsafe(48)
    env = dict(os.environ) | {"PROCURE_TOKEN_SECRET": secret, "PYTHONUNBUFFERED": "1"}
    for name in ("KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL", "PROCURE_INFRA", "HTTP_HOST"):
        env.pop(name, None)  # its own embedded broker and database, on loopback
    command = [sys.executable, "-m", "procure.cli", "up", "--base-port", str(free_base_port())]
    process = subprocess.Popen(
        [*command, "--data-dir", str(data)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    running = Up(process, {}, secret)

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            running.lines.append(line.rstrip("\n"))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        running.wait_for(r"^running", timeout=90)
        for service in SERVICES:
            running.urls[service] = running.wait_for(rf"^{service}\s+(http://\S+)", 1).group(1)
        yield running
    finally:
        leftovers = children(process.pid)
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for pid in leftovers:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        reader.join(5)
        print(running.output())  # shown when a test fails
        shutil.rmtree(data, ignore_errors=True)


def test_a_killed_service_is_restarted_and_ready_within_30_s(up: Up) -> None:
    for service in SERVICES:
        pid = child_pid(up, f"services.{service}")
        os.kill(pid, signal.SIGKILL)
        killed = time.monotonic()
        up.wait_for(rf"^{service} exited with -9\b.*restarting in", timeout=5)
        back = up.wait_for(rf"^{service} is back \(ready after", timeout=30)
        assert ready(up.urls[service]), back.string
        assert time.monotonic() - killed < 30
        assert not alive(pid), f"{service}'s old process {pid} was not reaped"
        assert child_pid(up, f"services.{service}") != pid
    assert up.process.poll() is None, up.output()


def test_a_killed_broker_is_restarted_and_loses_nothing(up: Up) -> None:
    operator = bearer(issue_token(up.secret, Role.OPERATOR, None))
    manager = bearer(issue_token(up.secret, Role.MANAGER, TRUST))
    schools = [(f"46000{i}", f"Broker School {i}") for i in (1, 2)]
    loaded = httpx.post(
        f"{up.urls['demand']}/v1/registry",
        content=registry_csv(TRUST, schools),
        headers=operator | {"Content-Type": "text/csv"},
        timeout=30,
    )
    assert loaded.status_code == 200, loaded.text
    contract_end = (date.today() + timedelta(days=200)).isoformat()

    def post(urn: str) -> None:
        school = bearer(issue_token(up.secret, Role.SCHOOL, urn))
        line = demand_line(contract_end, school_urn=urn)
        posted = httpx.post(
            f"{up.urls['demand']}/v1/demands",
            json=line,
            headers=school | {"Idempotency-Key": f"broker-{urn}"},
            timeout=30,
        )
        assert posted.status_code == 201, posted.text

    def pooled() -> list[str]:
        url = f"{up.urls['tendering']}/v1/trusts/{TRUST}/pools"
        try:
            answer = httpx.get(url, headers=manager, timeout=5)
        except httpx.HTTPError:
            return []
        if answer.status_code != 200:
            return []
        return sorted(line["school_urn"] for pool in answer.json() for line in pool["lines"])

    post(schools[0][0])
    eventually(pooled, lambda urns: urns == [schools[0][0]])
    broker = child_pid(up, "tansu")
    post(schools[1][0])
    os.kill(broker, signal.SIGKILL)  # the line just posted may not have left demand yet
    killed = time.monotonic()
    up.wait_for(r"^broker exited with -9\b.*restarting in", timeout=5)
    # The broker, then every instance (side by side) once it is ready.
    up.wait_for(r"^broker is back \(ready after", timeout=60)
    eventually(lambda: [ready(url) for url in up.urls.values()], all)
    print(f"services ready {time.monotonic() - killed:.1f} s after the broker was killed")
    eventually(pooled, lambda urns: len(urns) >= 2, 60)
    time.sleep(1)  # a repeat would show by now
    assert pooled() == [urn for urn, _ in schools]  # both, each once
    assert up.process.poll() is None, up.output()


def test_children_stop_when_procure_up_is_killed(up: Up) -> None:
    family = children(up.process.pid)
    commands = " | ".join(family.values())
    for name in ("services.demand", "services.tendering", "services.savings", "tansu", "postgres"):
        assert name in commands, f"{name} is not a child of procure up: {commands}"
    up.process.kill()
    up.process.wait()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and any(alive(pid) for pid in family):
        time.sleep(0.1)
    assert not [family[pid] for pid in family if alive(pid)], "children outlived procure up"
    print(f"children gone {20 - (deadline - time.monotonic()):.1f} s after procure up was killed")
    broker = up.wait_for(r"^broker\s+\S+:(\d+)", 1).group(1)
    ports = [int(url.rsplit(":", 1)[1]) for url in up.urls.values()] + [int(broker)]
    assert not [port for port in ports if port_in_use("127.0.0.1", port)]


def test_a_child_that_keeps_crashing_is_retried_with_capped_backoff(tmp_path: Path) -> None:
    """The supervisor on its own, with a real child that exits at once every time."""
    import io

    from procure.infra import processes
    from procure.supervisor import Backoff, Supervisor, Watched

    started: list[subprocess.Popen[bytes]] = []

    def start() -> None:
        started.append(processes.start(["sh", "-c", "exit 3"], tmp_path / "crash.log"))

    def restart() -> None:
        start()
        if started[-1].wait(5) != 0:
            raise RuntimeError(f"exited with {started[-1].returncode} before it was ready")

    start()
    out = io.StringIO()
    supervisor = Supervisor(Backoff(first=0.05, cap=0.2), out, poll_interval=0.01)
    supervisor.watch(Watched("crasher", lambda: started[-1].poll(), restart))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and "failure 6 in a row" not in out.getvalue():
        time.sleep(0.05)
    supervisor.stop()
    supervisor.join()
    lines = out.getvalue().splitlines()
    assert lines[0] == "crasher exited with 3; restarting in 0.05 s"
    assert "crasher did not come back: exited with 3 before it was ready" in lines
    waits = [float(m.group(1)) for line in lines if (m := re.search(r"in ([\d.]+) s", line))]
    assert waits[:5] == [0.05, 0.1, 0.2, 0.2, 0.2]  # doubled, then capped
    assert "restarting in 0.2 s (failure 6 in a row)" in out.getvalue()
    assert all(p.poll() is not None for p in started)  # each one reaped

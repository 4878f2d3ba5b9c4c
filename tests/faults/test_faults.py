"""Delivery under faults: 5,000 demand lines through all three services, with one fault injected
mid-stream per run, each ending with exact counts and totals, zero losses and zero duplicates.

The faults: kill -9 of each service in turn; the outbox relay killed after publishing but before
marking rows sent; PostgreSQL stopped and restarted; the broker connection cut and restored; a
second instance joining a consumer group and the first killed during the rebalance. A supervisor
restarts any instance that dies, as `restart: unless-stopped` does in docker-compose.

The run writes its results into README.md between the fault-report markers.
"""

import asyncio
import re
import secrets
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest

from shared.infra import processes
from shared.infra.embedded import EmbeddedPostgres, embedded_broker, embedded_postgres
from shared.infra.provision import Infrastructure, prepare
from shared.launcher import RunningSystem, run_system
from tests.faults import workload
from tests.faults.proxy import BrokerProxy

pytestmark = pytest.mark.faults

README = Path(__file__).resolve().parents[2] / "README.md"
REPORT: list[str] = []


@dataclass
class Rig:
    infra: Infrastructure
    system: RunningSystem
    proxy: BrokerProxy
    postgres: EmbeddedPostgres


@contextmanager
def rig(env: dict[str, str]) -> Iterator[Rig]:
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="procure-fault-")))
        proxy_port = processes.free_port()
        direct = stack.enter_context(embedded_broker(workdir, advertised_port=proxy_port))
        proxy = BrokerProxy(proxy_port, int(direct.rsplit(":", 1)[1]))
        proxy.start()
        stack.callback(proxy.close)
        postgres = stack.enter_context(embedded_postgres(workdir))
        infra = prepare(
            f"127.0.0.1:{proxy_port}",
            postgres.url,
            workdir,
            6,
            idempotence=False,
            local_broker=True,
        )
        ports = {s: processes.free_port() for s in ("demand", "tendering", "savings")}
        system = stack.enter_context(
            run_system(
                infra,
                secrets.token_urlsafe(48),
                ports,
                extra_env={"SHUTDOWN_DRAIN_SECONDS": "0", "CONSUMER_RETRY_BACKOFF_MS": "50"} | env,
            )
        )
        yield Rig(infra, system, proxy, postgres)


async def supervise(system: RunningSystem, stop: asyncio.Event) -> None:
    """Restart any instance that died, like a container restart policy."""
    while not stop.is_set():
        for instance, process in list(system.processes.items()):
            if process.poll() is not None:
                service = instance.split("-")[0]
                port = int(system.urls[instance].rsplit(":", 1)[1])
                # Restarted as a fixed process would be: without failpoints.
                await asyncio.to_thread(
                    system.start, service, instance, port, {"PROCURE_FAILPOINTS": ""}
                )
        await asyncio.sleep(0.1)


Fault = Callable[[Rig, int], Awaitable[None]]


def at(count: int, action: Callable[[Rig], Awaitable[None]]) -> Fault:
    async def fault(rig: Rig, done: int) -> None:
        if done == count:
            await action(rig)

    return fault


async def kill(rig: Rig, instance: str) -> None:
    rig.system.kill(instance)


async def nothing(rig: Rig) -> None:
    """The fault is in the environment (a failpoint), not an action."""


async def restart_postgres(rig: Rig) -> None:
    await asyncio.to_thread(rig.postgres.stop)
    await asyncio.sleep(3)
    await asyncio.to_thread(rig.postgres.start)


async def cut_broker(rig: Rig) -> None:
    rig.proxy.cut()
    await asyncio.sleep(5)
    rig.proxy.restore()


async def rebalance_then_kill(rig: Rig) -> None:
    await asyncio.to_thread(rig.system.start, "tendering", "tendering-2", processes.free_port())
    rig.system.kill("tendering")  # while the group rebalances onto two members


# Every service's relay dies the 3rd time it has published a batch, before marking it sent; the
# supervisor restarts it (without the failpoint), and it publishes that batch again.
ENV = {"relay killed after publish": {"PROCURE_FAILPOINTS": "relay.after_publish=3"}}

FAULTS: dict[str, Fault] = {
    "kill -9 demand": at(1500, lambda r: kill(r, "demand")),
    "kill -9 tendering": at(2000, lambda r: kill(r, "tendering")),
    "kill -9 savings": at(2500, lambda r: kill(r, "savings")),
    "relay killed after publish": at(1, nothing),
    "PostgreSQL stopped and restarted": at(2000, restart_postgres),
    "broker connection cut and restored": at(2000, cut_broker),
    "second instance, first killed in rebalance": at(1500, rebalance_then_kill),
}


async def count(url: str, sql: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval(sql))
    finally:
        await conn.close()


async def eventually_count(url: str, sql: str, expected: int, within: float = 120) -> int:
    deadline = time.monotonic() + within
    value = -1
    while time.monotonic() < deadline:
        try:
            value = await count(url, sql)
        except (OSError, asyncpg.PostgresError):
            value = -1
        if value >= expected:
            return value
        await asyncio.sleep(0.5)
    return value


class Phases:
    """Seconds each phase took, printed for whoever tunes this suite (pytest -s)."""

    def __init__(self) -> None:
        self._last = time.monotonic()

    def mark(self, phase: str) -> None:
        now = time.monotonic()
        print(f"{phase}: {now - self._last:.1f} s")
        self._last = now


def duplicates_absorbed(workdir: Path) -> int:
    return sum(
        log.read_text(errors="replace").count('"duplicate event skipped"')
        for log in workdir.glob("*.log")
    )


@pytest.mark.parametrize("name", list(FAULTS))
async def test_no_loss_no_duplicates(name: str) -> None:
    lines = workload.lines()
    expected = workload.expected_totals(lines)
    with ExitStack() as stack:
        # Built off the event loop: provisioning runs its own asyncio.run calls.
        r = await asyncio.to_thread(stack.enter_context, rig(ENV.get(name, {})))
        urls = r.infra.database_urls
        stop = asyncio.Event()
        supervisor = asyncio.create_task(supervise(r.system, stop))
        fault = FAULTS[name]
        phases = Phases()
        try:
            await workload.load_registry(r.system, lines)
            await workload.submit_demand(r.system, lines, lambda done: fault(r, done))
            phases.mark("submitted")
            pooled = await eventually_count(
                urls["tendering"], "SELECT count(*) FROM demand_lines", len(lines)
            )
            phases.mark("pooled")
            await workload.tender_and_award(r.system)
            phases.mark("awarded")
            entries = await eventually_count(
                urls["savings"], "SELECT count(*) FROM ledger_entries", len(lines)
            )
            phases.mark("in the ledger")
            await asyncio.sleep(1)  # a late duplicate would show up as an extra entry by now
        finally:
            stop.set()
            await supervisor
        registered = await count(urls["demand"], "SELECT count(*) FROM demand_lines")
        allocated = await count(
            urls["tendering"],
            "SELECT count(*) FROM tender_lines l"
            " JOIN tenders t USING (tender_id) WHERE t.status = 'awarded'",
        )
        entries = await count(urls["savings"], "SELECT count(*) FROM ledger_entries")
        distinct = await count(
            urls["savings"], "SELECT count(DISTINCT (tender_id, demand_id)) FROM ledger_entries"
        )
        conn = await asyncpg.connect(urls["savings"])
        try:
            totals = await conn.fetchrow(
                "SELECT sum(annual_saving) AS annual_saving,"
                " sum(term_saving) AS term_saving FROM ledger_entries"
            )
        finally:
            await conn.close()
        absorbed = duplicates_absorbed(r.infra.workdir)
    sent = len(lines)
    REPORT.append(
        f"| {name} | {sent} | {registered} | {pooled} | {allocated} | {entries} | "
        f"{absorbed} | {sent - min(registered, pooled, allocated, entries)} |"
    )
    assert (registered, pooled, allocated, entries, distinct) == (sent,) * 5
    if name in ENV:
        assert absorbed > 0, "the relay re-published, so the inboxes must have skipped some"
    assert totals is not None
    assert totals["annual_saving"] == expected["annual_saving"]
    assert totals["term_saving"] == expected["term_saving"]


@pytest.fixture(scope="module", autouse=True)
def write_report() -> Iterator[None]:
    yield
    if not REPORT:
        return
    table = "\n".join(
        [
            "| fault | demand lines sent | registered | pooled | allocated | ledger entries |"
            " duplicates absorbed | lost |",
            "|---|---|---|---|---|---|---|---|",
            *REPORT,
        ]
    )
    text = README.read_text()
    text = re.sub(
        r"(<!-- fault-report:start -->\n).*?(<!-- fault-report:end -->)",
        lambda m: f"{m.group(1)}{table}\n{m.group(2)}",
        text,
        flags=re.S,
    )
    README.write_text(text)

"""Delivery under faults: 5,000 demand lines and 1,200 invoice lines (spend) through all three
services, with one fault injected mid-stream per run, each ending with exact counts and totals,
zero losses and zero duplicates.

The faults: kill -9 of each service in turn; the outbox relay killed after publishing but before
marking rows sent; PostgreSQL stopped and restarted; the broker connection cut and restored; the
broker killed with -9 and started again empty (its topics are in memory); the whole system
stopped and started as `procure up` is (the broker empty again, the databases kept); a second
instance joining a consumer group and the first killed during the rebalance. A supervisor
restarts any instance that dies, as `restart: unless-stopped` does in docker-compose.

Each run records what the system had done when the fault struck (lines sent, registered, pooled,
tenders awarded, ledger entries) and asserts that work was still flowing both ways of it.
The run writes its results into README.md between the fault-report markers. Under `make test`
the cases are shared out between two processes (tests/conftest.py), so each case keeps its row in
a file and the case that completes the run's set writes the table.
"""

import asyncio
import contextlib
import fcntl
import math
import os
import re
import secrets
import signal
import tempfile
import time
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from uuid import uuid4

import asyncpg
import pytest

from procure.infra import processes
from procure.infra.embedded import (
    EmbeddedBroker,
    EmbeddedPostgres,
    embedded_broker,
    embedded_postgres,
)
from procure.infra.provision import (
    SERVICES,
    Infrastructure,
    create_databases,
    database_url,
    prepare,
    restart,
)
from procure.launcher import RunningSystem
from services.savings.rebuild import rebuild
from shared.outbox import BATCH_EVENTS
from tests.conftest import ARTIFACTS
from tests.faults import workload
from tests.faults.proxy import BrokerProxy
from tests.faults.workload import Progress

pytestmark = pytest.mark.faults

Rows = list[asyncpg.Record]
README = Path(__file__).resolve().parents[2] / "README.md"
# Each case's row of the README table, a file per case, marked with the run it belongs to (the
# same id in every pytest-xdist worker of a run).
ROWS = ARTIFACTS / "fault-report"
RUN = os.environ.get("PYTEST_XDIST_TESTRUNUID") or uuid4().hex
SERVICE_ENV = {
    "PYTHONUNBUFFERED": "1",  # as in the image: a killed process's last log lines are kept
    "SHUTDOWN_DRAIN_SECONDS": "0",
    "CONSUMER_RETRY_BACKOFF_MS": "50",
    # The test awards (in waves, so a fault can strike between them), not the scheduler.
    "TENDER_AUTO_AWARD": "false",
}


@dataclass
class Rig:
    infra: Infrastructure
    system: RunningSystem
    proxy: BrokerProxy
    postgres: EmbeddedPostgres
    broker: EmbeddedBroker
    # While the whole system is stopped on purpose, the test's supervisor restarts nothing.
    stopped: bool = False


# The services the events flow through; the web workspace only calls their APIs.
FLOW = tuple(s for s in SERVICES if s != "web")


@contextmanager
def rig(failpoints: dict[str, str]) -> Iterator[Rig]:
    """A broker behind a proxy, a database, and the three services started side by side, each
    with its failpoints."""
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="procure-fault-")))
        proxy_port = processes.free_port()
        broker = stack.enter_context(embedded_broker(workdir, advertised_port=proxy_port))
        proxy = BrokerProxy(proxy_port, broker.port)
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
        urls = {s: f"http://127.0.0.1:{processes.free_port()}" for s in FLOW}
        system = RunningSystem(infra, secrets.token_urlsafe(48), urls, SERVICE_ENV)
        stack.callback(system.stop_all)
        start_services(system, failpoints)
        yield Rig(infra, system, proxy, postgres, broker)


def start_services(system: RunningSystem, failpoints: dict[str, str]) -> None:
    """The three services side by side, each with its failpoints; returns once all are ready."""
    with ThreadPoolExecutor(len(FLOW)) as starting:
        started = [
            starting.submit(system.start, s, env={"PROCURE_FAILPOINTS": failpoints.get(s, "")})
            for s in FLOW
        ]
        for future in started:
            future.result()


async def count(url: str, sql: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval(sql))
    finally:
        await conn.close()


@dataclass(frozen=True)
class Snapshot:
    """How far the work had gone at one moment."""

    sent: int
    registered: int
    pooled: int
    awarded: int
    ledger: int

    def __str__(self) -> str:
        return f"{self.sent} / {self.registered} / {self.pooled} / {self.awarded} / {self.ledger}"


async def snapshot(rig: Rig, progress: Progress) -> Snapshot:
    sent, awarded = progress.sent, progress.awarded
    urls = rig.infra.database_urls
    return Snapshot(
        sent=sent,
        registered=await count(urls["demand"], "SELECT count(*) FROM demand_lines"),
        pooled=await count(urls["tendering"], "SELECT count(*) FROM demand_lines"),
        awarded=awarded,
        ledger=await count(urls["savings"], "SELECT count(*) FROM ledger_entries"),
    )


@dataclass
class Supervisor:
    """Restarts any instance that died, like a container restart policy; notes each death."""

    rig: Rig
    progress: Progress
    deaths: list[tuple[str, Snapshot | None]] = field(default_factory=list)
    restarting: bool = False

    async def run(self, stop: asyncio.Event) -> None:
        system = self.rig.system
        while not stop.is_set():
            for instance, process in list(system.processes.items()):
                if process.poll() is not None and not self.rig.stopped:
                    self.restarting = True
                    self.deaths.append((instance, await self._snapshot()))
                    service = instance.split("-")[0]
                    port = int(system.urls[instance].rsplit(":", 1)[1])
                    # Restarted as a fixed process would be: without failpoints. One that dies
                    # before it is ready is found dead again and restarted again.
                    with contextlib.suppress(RuntimeError, TimeoutError):
                        await asyncio.to_thread(
                            system.start, service, instance, port, {"PROCURE_FAILPOINTS": ""}
                        )
                    self.restarting = False
            await asyncio.sleep(0.05)

    async def _snapshot(self) -> Snapshot | None:
        try:
            return await snapshot(self.rig, self.progress)
        except (OSError, asyncpg.PostgresError):
            return None  # the database is down too: the restart matters more than the figures

    async def settled(self) -> None:
        """Every instance is up and ready (polled: a death shows only in the process table)."""
        processes = self.rig.system.processes.values()
        while True:
            if not (self.restarting or self.rig.stopped) and all(
                p.poll() is None for p in processes
            ):
                return
            await asyncio.sleep(0.05)


Stage = Literal["sent", "awarded"]


@dataclass(frozen=True)
class Fault:
    """`action` strikes once the workload's `stage` count reaches `at`; or, with failpoints
    instead, the process dies by itself when it reaches the failpoint."""

    action: Callable[[Rig], Coroutine[Any, Any, None]] | None = None
    stage: Stage = "sent"
    at: int = 0
    failpoints: dict[str, str] = field(default_factory=dict)
    # How long tenders take bids: enough for 20 tenders opened and bid at once on a busy machine;
    # longer where tendering dies and restarts meanwhile (`make test` runs two workers side by
    # side: a restart there took over 10 s).
    bidding_seconds: float = 8
    # The broker lost what was on it: the finance systems send their Kafka lines again, and at
    # the end `procure savings rebuild` must still give the same ledger from the topics.
    broker_lost: bool = False


async def kill(rig: Rig, instance: str) -> None:
    rig.system.kill(instance)


async def restart_postgres(rig: Rig) -> None:
    await asyncio.to_thread(rig.postgres.stop)
    await asyncio.sleep(3)
    await asyncio.to_thread(rig.postgres.start)


async def cut_broker(rig: Rig) -> None:
    rig.proxy.cut()
    await asyncio.sleep(4)
    rig.proxy.restore()


async def restart_broker_empty(rig: Rig) -> None:
    """kill -9 of the broker, started again as `procure up` does: with no topics or offsets,
    and the services with it."""
    rig.broker.stop(signal.SIGKILL)
    await asyncio.sleep(2)
    broker = restart(rig.broker, rig.infra.kafka_partitions)
    rig.stopped = True  # as in `procure up`, the supervisor leaves the instances to this restart
    try:
        await asyncio.to_thread(rig.system.restart_with_broker, broker)
    finally:
        rig.stopped = False


async def stop_and_start_everything(rig: Rig) -> None:
    """`procure up` stopped and started: each service stopped (SIGTERM), then the broker and
    PostgreSQL; started again in the same order backwards, the broker empty, the data kept."""
    rig.stopped = True
    try:
        await asyncio.to_thread(rig.system.stop_all)
        rig.broker.stop()
        await asyncio.to_thread(rig.postgres.stop)
        await asyncio.to_thread(rig.postgres.start)
        await asyncio.to_thread(restart(rig.broker, rig.infra.kafka_partitions))
        await asyncio.to_thread(start_services, rig.system, {})
    finally:
        rig.stopped = False


async def rebalance_then_kill(rig: Rig) -> None:
    await asyncio.to_thread(rig.system.start, "tendering", "tendering-2", processes.free_port())
    rig.system.kill("tendering")  # while the group rebalances onto two members


LINES = workload.lines()
INVOICES = workload.invoices(LINES)
# The spend sent, repeats included (every REPEAT_EVERY-th invoice twice).
SPEND_SENT = len(INVOICES) + math.ceil(len(INVOICES) / workload.REPEAT_EVERY)
# The relay publishes at most BATCH_EVENTS events a batch: demand's first batches carry
# the registry's 5,000 joins, the ones after them demand lines; demand dies after publishing the
# 3rd of those (by then lines pile up while a batch is out), before marking it sent. Tendering's
# relay dies on its 3rd batch (tender events), savings' on its first (savings records).
# Restarted without failpoints, each publishes its batch again.
REGISTRY_BATCHES = math.ceil(len(LINES) / BATCH_EVENTS)
FAULTS: dict[str, Fault] = {
    "kill -9 demand": Fault(lambda r: kill(r, "demand"), at=1500),
    "kill -9 tendering": Fault(lambda r: kill(r, "tendering"), at=2000),
    "kill -9 savings": Fault(
        lambda r: kill(r, "savings"), stage="awarded", at=len(workload.TRUSTS) // 2
    ),
    "relay killed after publish": Fault(
        failpoints={
            "demand": f"relay.after_publish={REGISTRY_BATCHES + 3}",
            "tendering": "relay.after_publish=3",
            "savings": "relay.after_publish=1",
        },
        bidding_seconds=20,
    ),
    "PostgreSQL stopped and restarted": Fault(restart_postgres, at=2000),
    "broker connection cut and restored": Fault(cut_broker, at=2000),
    "broker killed, back empty": Fault(restart_broker_empty, at=2000, broker_lost=True),
    "procure up stopped and started": Fault(stop_and_start_everything, at=2000, broker_lost=True),
    "second instance, first killed in rebalance": Fault(
        rebalance_then_kill, at=1500, bidding_seconds=20
    ),
}


@dataclass
class Injector:
    """The workload's checkpoint: strikes the fault once, in the background, so the workload
    goes on through it; remembers what had been done at that moment."""

    rig: Rig
    fault: Fault
    progress: Progress
    fired: bool = False
    struck: Snapshot | None = None
    task: asyncio.Task[None] | None = None

    async def __call__(self) -> None:
        action = self.fault.action
        reached = getattr(self.progress, self.fault.stage) >= self.fault.at
        if action is None or self.fired or not reached:
            return
        self.fired = True  # before the first await: other senders reach this point meanwhile
        self.struck = await snapshot(self.rig, self.progress)
        self.task = asyncio.create_task(action(self.rig))

    async def finished(self) -> None:
        if self.task is not None:
            await self.task


async def eventually(url: str, sql: str, done: Callable[[int], bool], within: float = 120) -> int:
    """The count `sql` gives once `done` accepts it, or the last one seen (-1: unreachable)."""
    deadline = time.monotonic() + within
    value = -1
    while time.monotonic() < deadline:
        try:
            value = await count(url, sql)
        except (OSError, asyncpg.PostgresError):
            value = -1
        if done(value):
            return value
        await asyncio.sleep(0.1)
    return value


async def eventually_count(url: str, sql: str, expected: int, within: float = 120) -> int:
    return await eventually(url, sql, lambda n: n >= expected, within)


class Phases:
    """Seconds each phase took, printed for whoever tunes this suite (pytest -s)."""

    def __init__(self) -> None:
        self._last = time.monotonic()

    def mark(self, phase: str) -> None:
        now = time.monotonic()
        print(f"{phase}: {now - self._last:.1f} s")
        self._last = now


REBUILT = {
    "ledger": "SELECT * FROM ledger_entries ORDER BY entry_id",
    "spend": "SELECT * FROM spend_lines ORDER BY spend_id",
}


async def rebuilt(infra: Infrastructure) -> tuple[dict[str, Rows], dict[str, Rows]]:
    """The live ledger and spend lines (classified, with their figures), and the ones
    `procure savings rebuild` makes from the topics."""
    live = infra.database_urls["savings"]
    await create_databases(database_url(live, "postgres"), ("savings_rebuilt",))
    fresh = database_url(live, "savings_rebuilt")
    await rebuild(fresh, infra.kafka_bootstrap_servers)
    tables: list[dict[str, Rows]] = []
    for url in (live, fresh):
        conn = await asyncpg.connect(url)
        try:
            tables.append({name: await conn.fetch(sql) for name, sql in REBUILT.items()})
        finally:
            await conn.close()
    return tables[0], tables[1]


def difference(live: Rows, again: Rows) -> str:
    """Where the rebuilt rows first differ from the live ones: the row and its columns."""
    if len(live) != len(again):
        return f"{len(live)} rows live, {len(again)} rebuilt"
    for one, other in zip(live, again, strict=True):
        if one != other:
            columns = {k: (one[k], other[k]) for k in one.keys() if one[k] != other[k]}
            return f"{len(live)} rows; first differing, live {dict(one)}: {columns}"
    return "none"


# The savings service's spend lines: per status, and the realised figures' sums.
SPEND_FIGURES = (
    "SELECT count(*) FILTER (WHERE status = 'on_contract') AS on_contract,"
    " count(*) FILTER (WHERE status = 'off_contract') AS off_contract,"
    " count(*) FILTER (WHERE status = 'uncontracted') AS uncontracted,"
    " coalesce(sum(realised_saving), 0) AS realised_saving,"
    " coalesce(sum(expected_saving), 0) AS expected_saving,"
    " coalesce(sum(price_variance), 0) AS price_variance,"
    " coalesce(sum(off_contract_spend), 0) AS off_contract_spend,"
    " coalesce(sum(leakage), 0) AS leakage,"
    " coalesce(sum(amount) FILTER (WHERE status = 'uncontracted'), 0) AS uncontracted_amount"
    " FROM spend_lines"
)
DISTINCT_INVOICES = "SELECT count(DISTINCT (school_urn, invoice_ref)) FROM spend_lines"


def duplicates_absorbed(workdir: Path) -> int:
    """Redelivered events the inboxes skipped, from every instance's log: a restarted instance
    appends to its log, and unbuffered output loses no line with a killed process. (Matched as
    text: a kill -9 can leave a line cut short.)"""
    return sum(
        log.read_text(errors="replace").count('"event": "duplicate event skipped"')
        for log in workdir.glob("*.log")
    )


@pytest.mark.parametrize("name", list(FAULTS))
async def test_no_loss_no_duplicates(name: str) -> None:
    fault = FAULTS[name]
    expected = workload.expected_totals(LINES)
    expected_spend = workload.expected_spend(INVOICES)
    phases = Phases()
    with ExitStack() as stack:
        # Built off the event loop: provisioning runs its own asyncio.run calls.
        r = await asyncio.to_thread(stack.enter_context, rig(fault.failpoints))
        phases.mark("started")
        urls = r.infra.database_urls
        progress = Progress()
        injector = Injector(r, fault, progress)
        supervisor = Supervisor(r, progress)
        stop = asyncio.Event()
        supervising = asyncio.create_task(supervisor.run(stop))
        try:
            await workload.load_registry(r.system, LINES)
            if "demand" in fault.failpoints:
                # Its failpoint counts relay batches: the registry's all go out before demand.
                drained = await eventually(
                    urls["demand"], "SELECT count(*) FROM outbox", lambda n: n == 0
                )
                assert drained == 0, "the outbox did not drain"
            phases.mark("registry loaded")
            await workload.submit_demand(r.system, LINES, INVOICES, progress, injector)
            await injector.finished()
            if fault.broker_lost:
                await workload.resend_over_kafka(r.system, LINES, INVOICES)
            await supervisor.settled()
            phases.mark("submitted")
            pooled = await eventually_count(
                urls["tendering"], "SELECT count(*) FROM demand_lines", len(LINES)
            )
            phases.mark("pooled")
            await workload.tender_and_award(r.system, progress, injector, fault.bidding_seconds)
            await injector.finished()
            phases.mark("awarded")
            await eventually_count(
                urls["savings"], "SELECT count(*) FROM ledger_entries", len(LINES)
            )
            phases.mark("in the ledger")
            # Spend that arrived before its award is classified again by the award.
            contracted = expected_spend["on_contract"] + expected_spend["off_contract"]
            await eventually_count(
                urls["savings"],
                "SELECT count(*) FROM spend_lines WHERE status <> 'uncontracted'",
                int(contracted),
            )
            await eventually_count(
                urls["savings"], "SELECT count(*) FROM spend_lines", len(INVOICES)
            )
            phases.mark("spend classified")
            await asyncio.sleep(1)  # a late duplicate would show up as an extra entry by now
        finally:
            stop.set()
            await supervising
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
        recorded = await count(urls["demand"], "SELECT count(*) FROM spend_lines")
        recorded_distinct = await count(urls["demand"], DISTINCT_INVOICES)
        classified = await count(urls["savings"], "SELECT count(*) FROM spend_lines")
        classified_distinct = await count(urls["savings"], DISTINCT_INVOICES)
        conn = await asyncpg.connect(urls["savings"])
        try:
            totals = await conn.fetchrow(
                "SELECT sum(annual_saving) AS annual_saving,"
                " sum(term_saving) AS term_saving FROM ledger_entries"
            )
            spend = await conn.fetchrow(SPEND_FIGURES)
        finally:
            await conn.close()
        absorbed = duplicates_absorbed(r.infra.workdir)
        if fault.broker_lost:
            live, again = await rebuilt(r.infra)
            assert (len(live["ledger"]), len(live["spend"])) == (len(LINES), len(INVOICES)), (
                f"spend recorded by demand: {recorded}, classified by savings: {classified}"
            )
            # Every column of every entry and every spend line.
            assert again == live, {name: difference(live[name], again[name]) for name in REBUILT}
    sent = len(LINES)
    # When it struck: by the test's hand, or (failpoints) when the supervisor found demand dead.
    struck = injector.struck or next((s for i, s in supervisor.deaths if i == "demand"), None)
    restarted = ", ".join(instance for instance, _ in supervisor.deaths) or "none"
    print(f"struck at: {struck}; restarted: {restarted}; duplicates absorbed: {absorbed}")
    lost = sent - min(registered, pooled, allocated, entries)
    lost += len(INVOICES) - min(recorded, classified)
    report(
        name,
        f"| {name} | {sent} | {struck} | {restarted} | {registered} | {pooled} | {allocated} |"
        f" {entries} | {SPEND_SENT} ({len(INVOICES)}) | {recorded} | {classified} | {absorbed} |"
        f" {lost} |",
    )
    assert (registered, pooled, allocated, entries, distinct) == (sent,) * 5
    # Every invoice recorded once by demand, classified once by savings, with its figures.
    assert (recorded, recorded_distinct, classified, classified_distinct) == (len(INVOICES),) * 4
    assert spend is not None
    assert dict(spend) == expected_spend
    assert totals is not None
    assert totals["annual_saving"] == expected["annual_saving"]
    assert totals["term_saving"] == expected["term_saving"]
    # Mid-stream: some of the work was done when the fault struck, and some was still to come.
    assert struck is not None, "the fault never struck"
    if fault.stage == "awarded":
        assert 0 < struck.awarded < len(workload.TRUSTS), struck
        assert struck.ledger < sent, struck
    elif fault.failpoints:
        assert {instance for instance, _ in supervisor.deaths} == set(fault.failpoints)
        assert 0 < struck.registered < sent, struck
        assert absorbed > 0, "the relay re-published, so the inboxes must have skipped some"
    else:
        assert 0 < struck.sent < sent, struck
        assert struck.pooled < sent, struck


def report(name: str, row: str) -> None:
    """Keeps the case's row; once every case of this run has one, writes the table into
    README.md. A partial run (-k) leaves the last full table as it is."""
    ROWS.mkdir(parents=True, exist_ok=True)
    files = {n: ROWS / f"{number}.row" for number, n in enumerate(FAULTS)}
    # One process at a time: the last two cases may end together in two workers.
    with (ROWS / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        files[name].write_text(f"{RUN}\n{row}")
        rows = {}
        for n, path in files.items():
            run, _, kept = path.read_text().partition("\n") if path.exists() else ("", "", "")
            if run == RUN:
                rows[n] = kept
        if len(rows) == len(FAULTS):
            write_table(rows)


def write_table(rows: dict[str, str]) -> None:
    table = "\n".join(
        [
            "| fault | demand lines sent | struck at: sent / registered / pooled / tenders"
            " awarded / ledger entries | restarted | registered | pooled | allocated |"
            " ledger entries | spend lines sent (distinct) | spend recorded | spend classified |"
            " duplicates absorbed | lost |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
            *(rows[name] for name in FAULTS),
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

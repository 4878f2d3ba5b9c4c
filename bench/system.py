"""The system under test: the embedded broker and PostgreSQL, as `procure up` starts them, and
the three services as separate processes on them (procure/launcher.py).

Durable (the headline): PostgreSQL with fsync on, as `procure up` keeps its data folder. The
throwaway configuration (fsync off, as the tests run) is measured beside it for comparison.
One difference from `procure up`: PostgreSQL records commit timestamps
(`track_commit_timestamp`), so a benchmark can read when each row's transaction committed
(`pg_xact_commit_timestamp(xmin)`) instead of the transaction's start (`now()`).
"""

import asyncio
import secrets
import shutil
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import asyncpg
import httpx

from bench.workload import School, registry_csv
from procure.infra import processes
from procure.infra.embedded import embedded_broker, embedded_postgres
from procure.infra.provision import SERVICES, Infrastructure, prepare
from procure.launcher import RunningSystem, run_system
from shared.auth import Role

T = TypeVar("T")
PARTITIONS = 6
# Git-ignored, next to the tests' artifacts.
LOGS = Path(__file__).resolve().parents[1] / "test-artifacts" / "bench"
# The award benchmark awards by hand, timing it; the scheduler must not award first.
SERVICE_ENV = {"TENDER_AUTO_AWARD": "false"}


@dataclass
class Bench:
    infra: Infrastructure
    system: RunningSystem
    # What each figure measured, by name, for the ones that build on another (ratios, scaling).
    measured: dict[str, float] = field(default_factory=dict)
    # Submissions per ingress run; None: the benchmark's own default.
    ingress_count: int | None = None
    # Spend lines in the spend benchmark; None: its own default.
    spend_count: int | None = None

    @property
    def bootstrap(self) -> str:
        return self.infra.kafka_bootstrap_servers

    @asynccontextmanager
    async def db(self, service: str) -> AsyncIterator[asyncpg.Connection]:
        conn = await asyncpg.connect(self.infra.database_urls[service])
        try:
            yield conn
        finally:
            await conn.close()

    async def load_registry(self, schools: Sequence[School]) -> None:
        """Register schools through the demand API; return once tendering and savings know them."""
        token = self.system.token(Role.OPERATOR)
        async with httpx.AsyncClient(timeout=120) as http:
            response = await http.post(
                f"{self.system.urls['demand']}/v1/registry",
                content=registry_csv(schools),
                headers={"Authorization": f"Bearer {token}", "Content-Type": "text/csv"},
            )
        response.raise_for_status()
        urns = [s.urn for s in schools]
        for service in ("tendering", "savings"):
            async with self.db(service) as conn:

                async def known(c: asyncpg.Connection = conn) -> int:
                    return int(
                        await c.fetchval("SELECT count(*) FROM schools WHERE urn = ANY($1)", urns)
                    )

                await until(
                    known,
                    lambda n: n == len(urns),
                    within=120,
                    what=f"{service} to learn {len(urns)} schools",
                )

    def stop(self, instance: str) -> None:
        processes.stop(self.system.processes.pop(instance))

    async def start(self, instances: Sequence[str]) -> None:
        """Start demand-service instances together (each `demand` or `demand-<n>`)."""
        await asyncio.gather(
            *(
                asyncio.to_thread(
                    self.system.start,
                    "demand",
                    instance,
                    None if instance == "demand" else processes.free_port(),
                )
                for instance in instances
            )
        )

    async def lines(self, service: str, trusts: Iterable[str]) -> int:
        """How many demand lines of these trusts the service's database holds."""
        async with self.db(service) as conn:
            return int(
                await conn.fetchval(
                    "SELECT count(*) FROM demand_lines WHERE trust_id = ANY($1)",
                    sorted(set(trusts)),
                )
            )

    async def keyed_lines(self, owner: str, keys: str) -> list[asyncpg.Record]:
        """The demand lines `owner` submitted with an Idempotency-Key LIKE `keys`: (key,
        demand_id)."""
        async with self.db("demand") as conn:
            return await conn.fetch(
                "SELECT idempotency_key AS key, demand_id FROM demand_lines"
                " WHERE key_owner = $1 AND idempotency_key LIKE $2",
                owner,
                keys,
            )

    @asynccontextmanager
    async def stopped(self, service: str) -> AsyncIterator[None]:
        """`service` stopped for the block, then started again on its port."""
        self.stop(service)
        try:
            yield
        finally:
            await asyncio.to_thread(self.system.start, service)

    async def single_demand(self) -> None:
        """One demand instance, as the system normally runs."""
        for name in [n for n in self.system.processes if n.startswith("demand-")]:
            self.stop(name)
        if "demand" not in self.system.processes:
            await self.start(["demand"])


async def until(
    probe: Callable[[], Awaitable[T]],
    check: Callable[[T], bool],
    within: float,
    what: str,
    every: float = 0.1,
) -> T:
    """Poll until `check` accepts what `probe` returns; fail naming the last value."""
    deadline = time.monotonic() + within
    value = await probe()
    while not check(value):
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {within} s for {what}; last value: {value!r}")
        await asyncio.sleep(every)
        value = await probe()
    return value


async def progress(
    probe: Callable[[], Awaitable[int]], target: int, what: str, stall: float = 30
) -> int:
    """Poll a growing count until it reaches `target`, or stops growing for `stall` seconds (a
    check then reports what is missing); prints progress every few seconds."""
    value, last_change, last_print = await probe(), time.monotonic(), time.monotonic()
    while value < target:
        await asyncio.sleep(0.5)
        now, current = time.monotonic(), await probe()
        if current != value:
            value, last_change = current, now
        elif now - last_change > stall:
            print(f"   {what}: stuck at {value:,} of {target:,} for {stall:.0f} s", flush=True)
            break
        if now - last_print > 5:
            print(f"   {what}: {value:,} of {target:,}", flush=True)
            last_print = now
    return value


async def settled(probe: Callable[[], Awaitable[T]], quiet: float = 1.0) -> T:
    """Wait until `probe` returns the same value twice `quiet` seconds apart (late duplicates
    would show up by then)."""
    before = await probe()
    while True:
        await asyncio.sleep(quiet)
        now = await probe()
        if now == before:
            return now
        before = now


async def _track_commit_timestamps(server_url: str) -> None:
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute("ALTER SYSTEM SET track_commit_timestamp = on")
    finally:
        await conn.close()


@contextmanager
def bench_infrastructure(durable: bool) -> Iterator[Infrastructure]:
    """The embedded broker and PostgreSQL (restarted once to record commit timestamps)."""
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="procure-bench-")))
        # Reachable by PostgreSQL's own user when we are root.
        folder.chmod(0o755)
        bootstrap = stack.enter_context(embedded_broker(folder)).bootstrap
        server = stack.enter_context(embedded_postgres(folder, durable=durable))
        asyncio.run(_track_commit_timestamps(server.url))
        server.stop()
        server.start()
        yield prepare(
            bootstrap, server.url, folder, PARTITIONS, idempotence=False, local_broker=True
        )


@contextmanager
def running_bench(durable: bool) -> Iterator[Bench]:
    with (
        bench_infrastructure(durable) as infra,
        run_system(infra, secrets.token_urlsafe(48), _ports(), SERVICE_ENV) as system,
    ):
        try:
            yield Bench(infra, system)
        finally:
            _keep_logs(infra.workdir)


def _keep_logs(workdir: Path) -> None:
    """The services', broker's and database's logs, for a look after a run."""
    LOGS.mkdir(parents=True, exist_ok=True)
    for log in workdir.glob("*.log"):
        shutil.copyfile(log, LOGS / log.name)


def _ports() -> dict[str, int]:
    return {s: processes.free_port() for s in SERVICES}

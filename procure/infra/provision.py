"""One interface, three providers: the environment's broker and database, embedded ones, or
testcontainers (Apache Kafka in KRaft mode and PostgreSQL) when `PROCURE_INFRA=containers`.

`procure up` and the test fixtures both go through `provision`, so they run the same path.
"""

import asyncio
import os
import re
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from procure.infra.embedded import EmbeddedBroker, embedded_broker, embedded_postgres
from procure.supervisor import Watched
from shared.settings import KafkaSettings
from shared.topics import ensure_configured_topics

# Each with its own database; web (the people's workspace) last, as it calls the others.
SERVICES = ("demand", "tendering", "savings", "web")


@dataclass(frozen=True)
class Infrastructure:
    kafka_bootstrap_servers: str
    kafka_enable_idempotence: bool
    kafka_partitions: int
    database_urls: Mapping[str, str]
    workdir: Path
    # Tansu joins a consumer group in about session_timeout/2; Apache Kafka is fine with defaults.
    local_broker: bool
    # What `procure up` restarts besides the services when it exits: the embedded broker.
    restartable: Sequence[Watched] = ()

    def service_env(self, service: str) -> dict[str, str]:
        env = {
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap_servers,
            "KAFKA_ENABLE_IDEMPOTENCE": str(self.kafka_enable_idempotence).lower(),
            "KAFKA_PARTITIONS": str(self.kafka_partitions),
            "DATABASE_URL": self.database_urls[service],
        }
        if self.local_broker:
            env |= {"KAFKA_SESSION_TIMEOUT_MS": "2000", "KAFKA_HEARTBEAT_INTERVAL_MS": "300"}
        return env


def database_url(server_url: str, database: str) -> str:
    parts = urlsplit(server_url)
    return urlunsplit(parts._replace(path=f"/{database}"))


async def create_databases(server_url: str, names: tuple[str, ...]) -> None:
    conn = await asyncpg.connect(server_url)
    try:
        existing = {r["datname"] for r in await conn.fetch("SELECT datname FROM pg_database")}
        for name in names:
            # CREATE DATABASE takes no bound parameters; names are checked identifiers.
            if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
                raise ValueError(f"bad database name {name!r}")
            if name not in existing:
                await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


@contextmanager
def _containers(stack: ExitStack) -> Iterator[tuple[str, str]]:
    from testcontainers.kafka import KafkaContainer
    from testcontainers.postgres import PostgresContainer

    kafka = stack.enter_context(KafkaContainer("confluentinc/cp-kafka:7.6.0").with_kraft())
    postgres = stack.enter_context(PostgresContainer("postgres:16", driver=None))
    yield kafka.get_bootstrap_server(), postgres.get_connection_url()


@contextmanager
def provision(
    environ: Mapping[str, str] | None = None,
    partitions: int | None = None,
    data_dir: Path | None = None,
) -> Iterator[Infrastructure]:
    """Throwaway by default: a temporary folder for logs and an fsync-off PostgreSQL, deleted at
    the end (the tests and benchmarks). With `data_dir` (`procure up`), an embedded PostgreSQL
    keeps its cluster in `data_dir/pgdata` with fsync on and reuses it on every start, and the
    logs go to `data_dir/logs`; nothing there is deleted."""
    env = os.environ if environ is None else environ
    with ExitStack() as stack:
        if data_dir is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="procure-")))
        else:
            workdir = data_dir / "logs"
            workdir.mkdir(mode=0o700, exist_ok=True)
        bootstrap = env.get("KAFKA_BOOTSTRAP_SERVERS")
        server_url = env.get("DATABASE_URL")
        local_broker = False
        restartable = []
        partitions = partitions or int(env.get("KAFKA_PARTITIONS", "6"))
        idempotence = env.get("KAFKA_ENABLE_IDEMPOTENCE", "true").lower() == "true"
        if env.get("PROCURE_INFRA") == "containers" and not (bootstrap and server_url):
            bootstrap, server_url = stack.enter_context(_containers(stack))
        if not bootstrap:
            broker = stack.enter_context(embedded_broker(workdir))
            bootstrap = broker.bootstrap
            local_broker, idempotence = True, False
            restartable.append(Watched("broker", broker.exit_code, restart(broker, partitions)))
        if not server_url:
            if data_dir is None:
                server_url = stack.enter_context(embedded_postgres(workdir)).url
            else:
                postgres = embedded_postgres(data_dir, durable=True, log=workdir / "postgres.log")
                server_url = stack.enter_context(postgres).url
        yield prepare(
            bootstrap,
            server_url,
            workdir,
            partitions,
            idempotence=idempotence,
            local_broker=local_broker,
            restartable=tuple(restartable),
        )


def restart(broker: EmbeddedBroker, partitions: int) -> Callable[[], None]:
    """Starting the embedded broker again: it comes back empty, so the topics are created again,
    as at the first start (the services then publish their history again, shared/outbox.py)."""

    def start_with_topics() -> None:
        broker.start()
        _create_topics(broker.bootstrap, partitions)

    return start_with_topics


def _create_topics(bootstrap: str, partitions: int) -> None:
    # Replication as the services will ask for it (KAFKA_REPLICATION_FACTOR ...): topics made
    # here first keep what they are created with.
    kafka = KafkaSettings(bootstrap_servers=bootstrap, partitions=partitions)
    asyncio.run(ensure_configured_topics(kafka))


def prepare(
    bootstrap: str,
    server_url: str,
    workdir: Path,
    partitions: int,
    *,
    idempotence: bool,
    local_broker: bool,
    restartable: Sequence[Watched] = (),
) -> Infrastructure:
    """Databases and topics on a broker and server that are up: ready for the services."""
    asyncio.run(create_databases(server_url, SERVICES))
    _create_topics(bootstrap, partitions)
    return Infrastructure(
        kafka_bootstrap_servers=bootstrap,
        kafka_enable_idempotence=idempotence,
        kafka_partitions=partitions,
        database_urls={s: database_url(server_url, s) for s in SERVICES},
        workdir=workdir,
        local_broker=local_broker,
        restartable=restartable,
    )

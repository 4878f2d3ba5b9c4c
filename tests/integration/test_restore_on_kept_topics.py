"""A database restored from an older backup, on a broker that kept its topics (as a real Kafka
cluster does): its consumer group's committed offsets are past events the restored inbox never
applied, and the broker holds events the database published after the backup. After the
restore the service applies every event, none skipped, and its history has every event it
published (shared/restored.py)."""

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path
from uuid import UUID, uuid4, uuid5

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from procure.backup import dump_database, restore_database
from procure.infra.provision import Infrastructure, create_databases, database_url
from shared import outbox, restored
from shared.db import create_pool, migrate
from shared.events import Envelope, SchoolJoined, SchoolLeft, outgoing
from shared.service import (
    Runtime,
    Subscription,
    create_broker,
    create_outbox_producer,
    start_consuming,
    subscribe,
)
from shared.settings import KafkaSettings, ServiceSettings
from shared.unit_of_work import UnitOfWork
from tests.helpers import new_event, until

pytestmark = pytest.mark.integration


class Service:
    """A service reading `source` and publishing, for each school joined, one event of its own
    on `own` (its id derived from the one it answers, as savings derives its events)."""

    def __init__(self, infra: Infrastructure, url: str, migrations: Path, topics: tuple[str, str]):
        self.infra, self.url, self.migrations = infra, url, migrations
        self.source, self.own = topics
        self.name = f"restore-{uuid4().hex[:8]}"  # its consumer group
        self.settings = ServiceSettings(
            kafka=KafkaSettings(
                bootstrap_servers=infra.kafka_bootstrap_servers,
                enable_idempotence=infra.kafka_enable_idempotence,
                session_timeout_ms=2000,
                heartbeat_interval_ms=300,
            )
        )

    async def apply(self, work: UnitOfWork, event: Envelope) -> None:
        await work.conn.execute("INSERT INTO applied VALUES ($1)", event.event_id)
        answer = SchoolLeft(urn=event.data["urn"], reason="answered")
        own = outgoing(
            answer,
            trust_id=event.trust_id,
            correlation_id=event.correlation_id,
            event_id=uuid5(event.event_id, "answer"),
        )
        work.emit(self.own, [own])

    async def run_until_applied(self, count: int) -> asyncpg.Pool:
        """Start, apply `count` events and publish what that causes, stop; the pool stays open."""
        pool = await create_pool(self.url)
        await migrate(pool, self.migrations)
        runtime = Runtime(self.name, self.settings, create_broker(self.settings, "test"))
        runtime._pool = pool
        subscribe(runtime, Subscription([self.source], {"registry.school_joined": self.apply}))
        runtime.producer = create_outbox_producer(self.settings, self.name)
        await runtime.producer.start()
        await start_consuming(runtime)
        try:
            applied = partial(pool.fetchval, "SELECT count(*) FROM applied")
            await until(applied, lambda n: n >= count, seconds=20)
        finally:
            await runtime.broker.stop()
        while await outbox.publish_pending(pool, runtime.publish):
            pass
        await runtime.producer.stop()
        return pool


@pytest.fixture
async def topics(infra: Infrastructure) -> AsyncIterator[tuple[str, str]]:
    names = (f"test.restore.in.{uuid4().hex[:8]}", f"test.restore.out.{uuid4().hex[:8]}")
    admin = AIOKafkaAdminClient(bootstrap_servers=infra.kafka_bootstrap_servers)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, 3, 1) for name in names])
    finally:
        await admin.close()
    yield names


async def produce(infra: Infrastructure, topic: str, urns: list[str]) -> list[UUID]:
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka_bootstrap_servers)
    await producer.start()
    try:
        events = [
            new_event(
                SchoolJoined(urn=urn, name=urn, trust_name="T", status="Open"),
                trust_id=urn[:4],
                correlation_id="restore",
            )
            for urn in urns
        ]
        for event in events:
            await producer.send_and_wait(topic, event.model_dump_json().encode(), key=event.key)
    finally:
        await producer.stop()
    return [e.event_id for e in events]


async def history(pool: asyncpg.Pool) -> list[UUID]:
    rows = await pool.fetch(
        "SELECT (convert_from(payload, 'UTF8')::jsonb ->> 'event_id')::uuid AS event_id"
        " FROM published_events ORDER BY id"
    )
    return [r["event_id"] for r in rows]


async def test_a_restored_database_skips_nothing_the_broker_kept(
    infra: Infrastructure, topics: tuple[str, str], tmp_path: Path
) -> None:
    name = f"restore_{uuid4().hex[:12]}"
    await create_databases(infra.database_urls["demand"], (name,))
    migrations = tmp_path / "testsvc" / "migrations"
    migrations.mkdir(parents=True)
    (migrations / "0001_applied.sql").write_text("CREATE TABLE applied (event_id UUID NOT NULL);")
    service = Service(infra, database_url(infra.database_urls["demand"], name), migrations, topics)
    source = topics[0]

    before = await produce(infra, source, ["450001", "450002", "450003"])
    pool = await service.run_until_applied(3)
    await pool.close()
    dump = tmp_path / "old.dump"
    await asyncio.to_thread(dump_database, service.url, dump)

    # After the backup: more events, applied, answered, the group's offsets committed past them.
    after = await produce(infra, source, ["450004", "450005"])
    pool = await service.run_until_applied(5)
    answers = [uuid5(e, "answer") for e in before + after]
    assert await history(pool) == answers
    await pool.close()

    await asyncio.to_thread(restore_database, infra.database_urls["demand"], name, dump)
    pool = await create_pool(service.url)
    try:
        assert await pool.fetchval("SELECT count(*) FROM applied") == 3
        assert await history(pool) == answers[:3]
    finally:
        await pool.close()

    # The restored service starts: its group reads the topic from the start, the inbox skips
    # the three it has applied, and the answers the broker has join the history at once.
    pool = await service.run_until_applied(5)
    try:
        await asyncio.sleep(0.5)  # anything applied twice would show by now
        rows = await pool.fetch("SELECT event_id FROM applied")
        assert sorted(r["event_id"] for r in rows) == sorted(before + after)
        # The two answered again are published again: duplicates, absorbed by inboxes.
        published = await history(pool)
        assert published[:3] == answers[:3]
        assert Counter(published) == Counter([*answers, *answers[3:]])
        assert await pool.fetchval("SELECT count(*) FROM restored") == 0
        assert not await restored.recover(pool, infra.kafka_bootstrap_servers, {})
    finally:
        await pool.close()

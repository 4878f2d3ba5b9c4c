"""The outbox and inbox on the real broker and PostgreSQL: events exist only if their change
committed, reach Kafka in order, a re-publication is absorbed, and a poison event is dead-lettered
after bounded retries without holding up the events behind it."""

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from uuid import uuid4

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from procure.dead_letters import list_dead_letters, replay
from procure.infra.provision import Infrastructure, create_databases, database_url
from shared import outbox
from shared.broker_log import BrokerLogs, Written, publish_batch
from shared.db import create_pool, migrate
from shared.events import Envelope, Outgoing, SchoolJoined, SchoolLeft
from shared.inbox import Consumer, Together, Unavailable
from shared.service import Runtime, Subscription, create_broker, subscribe
from shared.settings import KafkaSettings, ServiceSettings
from shared.unit_of_work import UnitOfWork
from tests.helpers import new_event, until

pytestmark = pytest.mark.integration


@pytest.fixture
async def pool(infra: Infrastructure, tmp_path: Path) -> AsyncIterator[asyncpg.Pool]:
    name = f"delivery_{uuid4().hex[:12]}"
    await create_databases(infra.database_urls["demand"], (name,))
    service_migrations = tmp_path / "testsvc" / "migrations"
    service_migrations.mkdir(parents=True)
    (service_migrations / "0001_applied.sql").write_text(
        "CREATE TABLE applied (event_id UUID NOT NULL, urn TEXT NOT NULL);"
    )
    db = await create_pool(database_url(infra.database_urls["demand"], name))
    assert await migrate(db, service_migrations) == [
        "shared/0001_delivery.sql",
        "shared/0002_outbox_queue.sql",
        "shared/0003_revoked_tokens.sql",
        "shared/0004_published_history.sql",
        "shared/0005_restored.sql",
        "testsvc/0001_applied.sql",
    ]
    assert await migrate(db, service_migrations) == []  # applied once, recorded
    yield db
    await db.close()


@pytest.fixture
async def topic(infra: Infrastructure) -> str:
    name = f"test.delivery.{uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=infra.kafka_bootstrap_servers)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, 3, 1)])
    finally:
        await admin.close()
    return name


@pytest.fixture
async def producer(infra: Infrastructure) -> AsyncIterator[AIOKafkaProducer]:
    p = AIOKafkaProducer(
        bootstrap_servers=infra.kafka_bootstrap_servers,
        enable_idempotence=infra.kafka_enable_idempotence,
    )
    await p.start()
    yield p
    await p.stop()


async def read_all(infra: Infrastructure, topic: str, expected: int) -> list[Envelope]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=infra.kafka_bootstrap_servers,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    records = []
    try:
        async with asyncio.timeout(20):
            while len(records) < expected:
                batch = await consumer.getmany(timeout_ms=500)
                records += [r for rs in batch.values() for r in rs]
        # Anything beyond `expected` would be a duplicate or a leak; give it a moment to show.
        extra = await consumer.getmany(timeout_ms=500)
        records += [r for rs in extra.values() for r in rs]
    finally:
        await consumer.stop()
    return [Envelope.model_validate_json(r.value) for r in records]


def joined(trust: str, urn: str) -> Envelope:
    data = SchoolJoined(urn=urn, name=f"School {urn}", trust_name="T", status="Open")
    return new_event(data, trust_id=trust, correlation_id="test")


async def store(pool: asyncpg.Pool, topic: str, events: list[Envelope]) -> list[Envelope]:
    async with pool.acquire() as conn, conn.transaction():
        await outbox.record(conn, topic, [Outgoing.of(e) for e in events])
    return events


def publisher(producer: AIOKafkaProducer) -> outbox.Publish:
    return partial(publish_batch, producer)


async def test_relay_publishes_committed_events_in_order(
    pool: asyncpg.Pool, topic: str, producer: AIOKafkaProducer, infra: Infrastructure
) -> None:
    committed = await store(pool, topic, [joined("4001", f"4000{i:02d}") for i in range(20)])
    with pytest.raises(RuntimeError):
        async with pool.acquire() as conn, conn.transaction():
            await outbox.record(conn, topic, [Outgoing.of(joined("4001", "409999"))])
            raise RuntimeError("the change fails, so its event must never be published")

    relay = outbox.Relay(pool, publisher(producer), poll_seconds=0.1)
    await relay.start()
    try:
        received = await read_all(infra, topic, expected=20)
    finally:
        await relay.stop()
    # One trust, one key, one partition: order is kept; the rolled-back event is absent.
    assert [e.event_id for e in received] == [e.event_id for e in committed]
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 0  # all sent, all moved
    assert await pool.fetchval("SELECT count(*) FROM published_events") == 20  # as history


async def test_republished_events_are_applied_once(
    pool: asyncpg.Pool, topic: str, producer: AIOKafkaProducer, infra: Infrastructure
) -> None:
    events = await store(pool, topic, [joined("4002", f"40010{i}") for i in range(5)])

    crashes = 0

    async def publish_then_crash(batch: Sequence[tuple[str, bytes, bytes]]) -> Written:
        # The relay dies after the broker has the events but before its rows are deleted.
        nonlocal crashes
        written = await publisher(producer)(batch)
        if crashes == 0:
            crashes += 1
            raise ConnectionError("relay killed after publishing")
        return written

    with pytest.raises(ConnectionError):
        await outbox.publish_pending(pool, publish_then_crash)
    assert await outbox.publish_pending(pool, publish_then_crash) == 5
    received = await read_all(infra, topic, expected=10)
    assert len(received) == 10  # every event twice on the topic

    async def apply(work: UnitOfWork, event: Envelope) -> None:
        await work.conn.execute(
            "INSERT INTO applied VALUES ($1, $2)", event.event_id, event.data["urn"]
        )

    consumer = Consumer(
        "test", lambda: pool, {"registry.school_joined": apply}, dead_letter=_no_dead_letters
    )
    for event in received:
        await consumer.handle_batch([(topic, event.key, event.model_dump_json().encode())])
    rows = await pool.fetch("SELECT urn FROM applied ORDER BY urn")
    assert [r["urn"] for r in rows] == sorted(e.data["urn"] for e in events)


async def drain(pool: asyncpg.Pool, producer: AIOKafkaProducer) -> None:
    while await outbox.publish_pending(pool, publisher(producer)):
        pass


async def empty_again(infra: Infrastructure, topic: str) -> None:
    """The topic deleted and created anew: an empty log, as after the embedded broker's
    restart."""
    admin = AIOKafkaAdminClient(bootstrap_servers=infra.kafka_bootstrap_servers)
    await admin.start()
    try:
        await admin.delete_topics([topic])
        await until(lambda: admin.list_topics(), lambda topics: topic not in topics)
        await admin.create_topics([NewTopic(topic, 3, 1)])
    finally:
        await admin.close()


async def test_a_topic_the_broker_lost_is_published_again_in_order(
    pool: asyncpg.Pool, topic: str, producer: AIOKafkaProducer, infra: Infrastructure
) -> None:
    first = await store(pool, topic, [joined("4003", f"40020{i}") for i in range(20)])
    await drain(pool, producer)
    assert [e.event_id for e in await read_all(infra, topic, expected=20)] == [
        e.event_id for e in first
    ]
    logs = BrokerLogs(infra.kafka_bootstrap_servers, "test")
    await logs.start()
    try:
        assert await outbox.check_broker(pool, logs.shortened) == set()  # nothing lost yet
        await empty_again(infra, topic)
        assert await outbox.check_broker(pool, logs.shortened) == {topic}
    finally:
        await logs.stop()
    later = await store(pool, topic, [joined("4003", "402099")])
    await drain(pool, producer)
    # The history first, in its first order, then what is new.
    received = await read_all(infra, topic, expected=21)
    assert [e.event_id for e in received] == [e.event_id for e in first + later]
    assert await pool.fetchval("SELECT count(*) FROM republishing") == 0


async def test_a_new_log_found_by_publishing_to_it_gets_the_history_too(
    pool: asyncpg.Pool, topic: str, producer: AIOKafkaProducer, infra: Infrastructure
) -> None:
    """No check ran: the relay's next write lands at a lower offset than it had reached."""
    first = await store(pool, topic, [joined("4004", f"40030{i}") for i in range(20)])
    await drain(pool, producer)
    await empty_again(infra, topic)
    later = await store(pool, topic, [joined("4004", "403099")])
    await drain(pool, producer)
    received = await read_all(infra, topic, expected=22)
    # The new event went out first, once more after the history: its inbox skips the repeat.
    assert [e.event_id for e in received] == [e.event_id for e in later + first + later]


async def _no_dead_letters(
    topic: str, key: bytes | None, value: bytes, headers: dict[str, str]
) -> None:
    raise AssertionError(f"unexpected dead letter: {headers}")


@dataclass
class Poisoned:
    """A consumer whose handler fails on one school's event, with what it did."""

    consumer: Consumer
    calls: list[str]  # the URN of each attempt to apply an event, in order
    dead: list[tuple[str, bytes, dict[str, str]]]  # dead letters: topic, value, headers


def poisoned(pool: asyncpg.Pool, poison_urn: str, max_attempts: int) -> Poisoned:
    calls: list[str] = []
    dead: list[tuple[str, bytes, dict[str, str]]] = []

    async def apply(work: UnitOfWork, event: Envelope) -> None:
        calls.append(event.data["urn"])
        if event.data["urn"] == poison_urn:
            raise ValueError("cannot apply this school")
        await work.conn.execute(
            "INSERT INTO applied VALUES ($1, $2)", event.event_id, event.data["urn"]
        )

    async def dead_letter(
        topic: str, key: bytes | None, value: bytes, headers: dict[str, str]
    ) -> None:
        dead.append((topic, value, headers))

    consumer = Consumer(
        "test",
        lambda: pool,
        {"registry.school_joined": apply},
        dead_letter,
        max_attempts=max_attempts,
        backoff_seconds=0.01,
    )
    return Poisoned(consumer, calls, dead)


async def test_poison_event_is_dead_lettered_and_the_next_applied(pool: asyncpg.Pool) -> None:
    rig = poisoned(pool, "400666", max_attempts=3)
    consumer, dead = rig.consumer, rig.dead
    poison, good = joined("4003", "400666"), joined("4003", "400667")
    await consumer.handle_batch(
        [("procurement.registry", poison.key, poison.model_dump_json().encode())]
    )
    await consumer.handle_batch(
        [("procurement.registry", good.key, good.model_dump_json().encode())]
    )
    await consumer.handle_batch([("procurement.registry", b"4003", b"{not json")])

    assert rig.calls.count("400666") == 3
    assert [(t, h["reason"].split(":")[0]) for t, _, h in dead] == [
        ("procurement.registry.dlq", "ValueError"),
        ("procurement.registry.dlq", "invalid envelope"),
    ]
    assert dead[0][1] == poison.model_dump_json().encode()  # the original bytes
    assert dead[1][1] == b"{not json"
    urns = [r["urn"] for r in await pool.fetch("SELECT urn FROM applied")]
    assert urns == ["400667"]
    # The failed attempts rolled back, so the poison event is not marked as applied.
    assert (
        await pool.fetchval("SELECT count(*) FROM inbox WHERE event_id = $1", poison.event_id) == 0
    )


async def _consumer_without_database(infra: Infrastructure) -> Consumer:
    unreachable = await asyncpg.create_pool(
        database_url(infra.database_urls["demand"], "demand"), min_size=0, max_size=1
    )
    await unreachable.close()  # every acquire now fails like a lost database connection

    async def apply(work: UnitOfWork, event: Envelope) -> None:
        raise AssertionError("never reached")

    return Consumer(
        "test",
        lambda: unreachable,
        {"registry.school_joined": apply},
        dead_letter=_no_dead_letters,
        backoff_seconds=0.01,
    )


async def test_database_outage_is_never_dead_lettered(infra: Infrastructure) -> None:
    """With the database unreachable the event is handed back to be read again, not dropped."""
    consumer = await _consumer_without_database(infra)
    event = joined("4004", "400700")
    for _ in range(3):
        with pytest.raises(Unavailable):
            await consumer.handle_batch(
                [("procurement.registry", event.key, event.model_dump_json().encode())]
            )


async def test_dead_letters_are_listed_and_replayed_once(
    infra: Infrastructure, producer: AIOKafkaProducer
) -> None:
    topic = f"test.replay.{uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=infra.kafka_bootstrap_servers)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 2, 1), NewTopic(f"{topic}.dlq", 2, 1)])
    finally:
        await admin.close()
    for i in range(3):
        await producer.send_and_wait(
            f"{topic}.dlq",
            key=b"4005",
            value=f"record {i}".encode(),
            headers=[("reason", b"ValueError: bad"), ("consumer", b"test"), ("attempts", b"5")],
        )
    letters = await list_dead_letters(infra.kafka_bootstrap_servers, topic)
    assert [(d.value, d.reason, d.key) for d in letters] == [
        (f"record {i}".encode(), "ValueError: bad", "4005") for i in range(3)
    ]

    idempotence = infra.kafka_enable_idempotence
    assert await replay(infra.kafka_bootstrap_servers, topic, idempotence) == 3
    assert await replay(infra.kafka_bootstrap_servers, topic, idempotence) == 0  # not twice
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=infra.kafka_bootstrap_servers, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        got: list[bytes] = []
        async with asyncio.timeout(20):
            while len(got) < 3:
                batch = await consumer.getmany(timeout_ms=500)
                got += [r.value for rs in batch.values() for r in rs if r.value]
    finally:
        await consumer.stop()
    assert got == [f"record {i}".encode() for i in range(3)]


def left(trust: str, urn: str) -> Envelope:
    return new_event(SchoolLeft(urn=urn, reason="moved"), trust_id=trust, correlation_id="test")


def records(topic: str, events: list[Envelope]) -> list[tuple[str, bytes | None, bytes]]:
    return [(topic, e.key, e.model_dump_json().encode()) for e in events]


async def test_a_batch_is_applied_once_in_order_in_one_transaction(pool: asyncpg.Pool) -> None:
    await pool.execute("CREATE TABLE applied_in_order (seq BIGSERIAL, what TEXT NOT NULL)")

    async def join_all(work: UnitOfWork, events: Sequence[Envelope]) -> None:
        await work.conn.executemany(
            "INSERT INTO applied_in_order (what) VALUES ($1)",
            [(f"joined {e.data['urn']}",) for e in events],
        )

    async def leave(work: UnitOfWork, event: Envelope) -> None:
        await work.conn.execute(
            "INSERT INTO applied_in_order (what) VALUES ($1)", f"left {event.data['urn']}"
        )

    consumer = Consumer(
        "test",
        lambda: pool,
        {"registry.school_joined": Together(join_all), "registry.school_left": leave},
        dead_letter=_no_dead_letters,
    )
    earlier = joined("4006", "400800")
    await consumer.handle_batch(
        [("procurement.registry", earlier.key, earlier.model_dump_json().encode())]
    )
    one, two = joined("4006", "400801"), joined("4006", "400802")
    batch = [one, two, left("4006", "400801"), joined("4006", "400803"), two, earlier]
    await consumer.handle_batch(records("procurement.registry", batch))

    rows = await pool.fetch("SELECT what, xmin::text AS tx FROM applied_in_order ORDER BY seq")
    # Each event once, in the batch's order; the repeat and the earlier event are skipped.
    assert [r["what"] for r in rows] == [
        "joined 400800",
        "joined 400801",
        "joined 400802",
        "left 400801",
        "joined 400803",
    ]
    # The earlier event had a transaction of its own; the whole batch shared one.
    assert len({r["tx"] for r in rows[1:]}) == 1
    assert rows[0]["tx"] != rows[1]["tx"]
    claimed = await pool.fetchval(
        "SELECT count(*) FROM inbox WHERE consumer = 'test' AND event_id = ANY($1::uuid[])",
        [e.event_id for e in batch],
    )
    assert claimed == 5


async def test_a_failing_event_in_a_batch_is_retried_and_dead_lettered_alone(
    pool: asyncpg.Pool,
) -> None:
    rig = poisoned(pool, "400966", max_attempts=2)
    consumer, calls, dead = rig.consumer, rig.calls, rig.dead
    good, poison, later = (
        joined("4007", "400965"),
        joined("4007", "400966"),
        joined("4007", "400967"),
    )
    batch = records("procurement.registry", [good, poison, later])
    await consumer.handle_batch([*batch, ("procurement.registry", b"4007", b"{not json")])

    # The batch's one transaction failed and rolled back; then each event on its own: the good
    # ones once more, the poison one for its own bounded attempts.
    assert calls == ["400965", "400966", "400965", "400966", "400966", "400967"]
    urns = [r["urn"] for r in await pool.fetch("SELECT urn FROM applied WHERE urn LIKE '4009%'")]
    assert sorted(urns) == ["400965", "400967"]
    assert [(t, h["reason"].split(":")[0], h["attempts"]) for t, _, h in dead] == [
        ("procurement.registry.dlq", "ValueError", "2"),
        ("procurement.registry.dlq", "invalid envelope", "1"),
    ]
    assert dead[0][1] == poison.model_dump_json().encode()
    assert (
        await pool.fetchval("SELECT count(*) FROM inbox WHERE event_id = $1", poison.event_id) == 0
    )


async def test_a_database_outage_during_a_batch_is_never_dead_lettered(
    infra: Infrastructure,
) -> None:
    consumer = await _consumer_without_database(infra)
    batch = records("procurement.registry", [joined("4008", f"40090{i}") for i in range(3)])
    for _ in range(3):
        with pytest.raises(Unavailable):
            await consumer.handle_batch(batch)


async def test_a_nacked_batch_is_read_again_on_every_partition(
    pool: asyncpg.Pool, topic: str, producer: AIOKafkaProducer, infra: Infrastructure
) -> None:
    """The service's subscriber takes batches that span partitions. When one is nacked (here the
    database 'fails' once mid-batch), every partition of it must be read again, or the records
    of the other partitions would be skipped: lost."""
    events = [joined(f"40{10 + i % 6}", f"4011{i:02d}") for i in range(30)]  # six trusts: keys
    for event in events:
        await producer.send_and_wait(topic, event.model_dump_json().encode(), key=event.key)
    failed: list[str] = []

    async def apply(work: UnitOfWork, event: Envelope) -> None:
        if not failed:
            failed.append(event.data["urn"])
            raise ConnectionResetError("the database went away")
        await work.conn.execute(
            "INSERT INTO applied VALUES ($1, $2)", event.event_id, event.data["urn"]
        )

    settings = ServiceSettings(
        consumer_retry_backoff_ms=10,
        kafka=KafkaSettings(
            bootstrap_servers=infra.kafka_bootstrap_servers,
            enable_idempotence=infra.kafka_enable_idempotence,
            session_timeout_ms=2000,
            heartbeat_interval_ms=300,
        ),
    )
    runtime = Runtime(f"test-{topic}", settings, create_broker(settings, "test"))
    runtime._pool = pool
    subscribe(runtime, Subscription([topic], {"registry.school_joined": apply}))
    await runtime.broker.start()
    try:
        async with asyncio.timeout(30):
            while True:
                if await pool.fetchval("SELECT count(*) FROM applied") >= len(events):
                    break
                await asyncio.sleep(0.1)
        await asyncio.sleep(1)  # anything applied twice would show by now
    finally:
        await runtime.broker.stop()
    assert len(failed) == 1
    rows = await pool.fetch("SELECT urn, count(*) AS n FROM applied GROUP BY urn")
    assert {r["urn"]: r["n"] for r in rows} == {e.data["urn"]: 1 for e in events}

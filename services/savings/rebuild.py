"""Rebuild the ledger: replay the savings service's topics from the beginning into an empty
database, through the same inbox and event handlers as the running service. Spend lines are
rebuilt with it, each classified against every contract of its school and category whatever
order the topics are read in (services/savings/spend_intake.py).

Ledger entries are derived from the events alone (ids, figures, times), so the rebuilt ledger is
identical to the one the service built, row by row. The `savings.recorded` events it records again
keep their ids, so consumers' inboxes skip them when the service's relay publishes them.
"""

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, TopicPartition

from services.savings.main import MIGRATIONS, NAME, SUBSCRIPTION
from shared.db import create_pool, migrate
from shared.inbox import Consumer, Record
from shared.topics import unread

HandleBatch = Callable[[Sequence[Record]], Awaitable[None]]


class RebuildError(Exception):
    pass


@dataclass
class Rebuilt:
    records: int = 0
    entries: int = 0
    # Records that could not be applied, with the reason: the service dead-lettered them too.
    failures: list[str] = field(default_factory=list)


async def rebuild(
    database_url: str,
    bootstrap_servers: str,
    max_attempts: int = 5,
    backoff_seconds: float = 0.2,
) -> Rebuilt:
    result = Rebuilt()
    pool = await create_pool(database_url)
    try:
        await migrate(pool, MIGRATIONS)
        if await pool.fetchval(
            "SELECT EXISTS (SELECT 1 FROM inbox) OR EXISTS (SELECT 1 FROM ledger_entries)"
            " OR EXISTS (SELECT 1 FROM spend_lines)"
        ):
            raise RebuildError("the database already holds a ledger: rebuild into an empty one")

        async def set_aside(
            topic: str, key: bytes | None, value: bytes, headers: dict[str, str]
        ) -> None:
            result.failures.append(f"{topic}: {headers.get('reason', '')}")

        consumer = Consumer(
            NAME,
            lambda: pool,
            SUBSCRIPTION.handlers,
            set_aside,
            max_attempts=max_attempts,
            backoff_seconds=backoff_seconds,
        )
        result.records = await replay(bootstrap_servers, SUBSCRIPTION.topics, consumer.handle_batch)
        result.entries = await pool.fetchval("SELECT count(*) FROM ledger_entries")
    finally:
        await pool.close()
    return result


async def replay(bootstrap_servers: str, topics: Sequence[str], handle_batch: HandleBatch) -> int:
    """Feed every record now on the topics to `handle_batch`, in order within each partition,
    in the batches they are read in (as the service's subscriber does).

    No consumer group: the service's committed offsets stay as they are.
    """
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        group_id=None,
        enable_auto_commit=False,
        client_id=f"{NAME}-rebuild",
    )
    await consumer.start()
    try:
        await consumer.topics()  # loads the partitions of every topic
        partitions = [
            TopicPartition(topic, p)
            for topic in topics
            for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        if not partitions:
            return 0
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        # Replay each partition up to where it ends once read; later records are the running
        # service's.
        pending = await unread(consumer, partitions)
        count = 0
        while pending:
            batches = await consumer.getmany(*pending, timeout_ms=1000)
            for records in batches.values():
                await handle_batch([(r.topic, r.key, r.value or b"") for r in records])
                count += len(records)
            pending = await unread(consumer, pending)
        return count
    finally:
        await consumer.stop()

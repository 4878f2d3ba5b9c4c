"""A database restored from a backup, on a broker that kept its topics (README "Backups").

A restored database is older than the broker: the consumer groups' committed offsets are past
events its inbox never applied, and the topics it writes hold events it published after the
backup was taken that its history (`published_events`) no longer has. So a restore marks the
database (`mark`: `procure restore` does it, and the restore by hand in the README), and the
service, when it next starts and before it consumes anything, `recover`s once:

- every consumer group of the service reads its topics again from their first record (the
  earliest offsets are committed for it): the inbox skips what the database has applied, and
  applies what came after the backup. The history topics are kept forever (shared/topics.py);
- the events the broker took from this database after the positions the database knows
  (`broker_positions`, shared/outbox.py) and that it neither has in its history nor still has
  to publish are added to its history, so that publishing a lost topic again includes them.
  What its outbox still holds goes out again: duplicates, which the consumers' inboxes absorb.

The marker goes only once the recovery has been done, in the transaction that removes it: a
crash in between recovers again, harmlessly. Every instance of the service must be stopped
while a database is restored (an active member of the group refuses the committed offsets).
"""

import json
import time
from collections.abc import Mapping, Sequence
from uuid import UUID

import asyncpg
import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition

from shared.db import Connection

log = structlog.get_logger()

# Another instance of the service starting at the same time waits, then finds no marker.
RECOVERY_LOCK = 7_311_003

# Reading what the broker took since the backup gives up when nothing comes for this long.
STALL_SECONDS = 30.0

# Also made by the shared migration 0005, for a restore of a backup taken before it.
MARK = (
    "CREATE TABLE IF NOT EXISTS restored (marked_at TIMESTAMPTZ NOT NULL DEFAULT now());"
    " INSERT INTO restored DEFAULT VALUES"
)


async def mark(conn: Connection) -> None:
    """Mark a database just restored from a backup: its service recovers when it starts."""
    await conn.execute(MARK)


async def recover(
    pool: asyncpg.Pool, bootstrap_servers: str, groups: Mapping[str, Sequence[str]]
) -> bool:
    """If the database is marked restored: rewind `groups` (consumer group -> its topics) to the
    first offsets and take into the history what this database published after its backup.
    Returns whether it was marked."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", RECOVERY_LOCK)
        if not await conn.fetchval("SELECT EXISTS (SELECT FROM restored)"):
            return False
        for group, topics in groups.items():
            await rewind(bootstrap_servers, group, topics)
        positions = await conn.fetch("SELECT topic, partition, next_offset FROM broker_positions")
        after = {(r["topic"], r["partition"]): r["next_offset"] for r in positions}
        adopted = await _adopt(conn, await _written_since(bootstrap_servers, after))
        await conn.execute("DELETE FROM restored")
    log.warning(
        "database restored from a backup: consumer groups read their topics from the start",
        groups=sorted(groups),
        events_adopted=adopted,
    )
    return True


async def rewind(bootstrap_servers: str, group: str, topics: Sequence[str]) -> None:
    """Commit the first offset of every partition of `topics` for the consumer group `group`."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        await consumer.topics()  # the cluster's metadata, for the partitions
        partitions = [
            TopicPartition(topic, p)
            for topic in topics
            for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        if not partitions:
            return
        consumer.assign(partitions)
        first = await consumer.beginning_offsets(partitions)
        await consumer.commit(dict(first))
    finally:
        await consumer.stop()


async def _written_since(
    bootstrap_servers: str, after: Mapping[tuple[str, int], int]
) -> list[tuple[str, bytes, bytes]]:
    """(topic, key, value) of the records the partitions of these topics took at or after the
    given offsets (from their start where none is given). Where a log ends is read from the
    fetches' high watermarks, as shared/broker_log.py does (Tansu's offset lookups fall short)."""
    if not after:
        return []
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        enable_auto_commit=False,
        auto_offset_reset="earliest",  # an offset the log no longer has: its first record
        fetch_max_wait_ms=100,
    )
    await consumer.start()
    try:
        await consumer.topics()  # the cluster's metadata, for the partitions
        partitions = [
            TopicPartition(topic, p)
            for topic in sorted({topic for topic, _ in after})
            for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        consumer.assign(partitions)
        for tp in partitions:
            # A partition the database never wrote to before its backup: all of it.
            consumer.seek(tp, after.get((tp.topic, tp.partition), 0))
        records: dict[TopicPartition, list[tuple[str, bytes, bytes]]] = {}
        reading = set(partitions)
        deadline = time.monotonic() + STALL_SECONDS
        while reading:
            batches = await consumer.getmany(*reading, timeout_ms=100)
            for tp, batch in batches.items():
                records.setdefault(tp, []).extend(
                    (r.topic, r.key or b"", r.value or b"") for r in batch
                )
                deadline = time.monotonic() + STALL_SECONDS
            for tp in list(reading):
                end = consumer.highwater(tp)
                if end is not None and await consumer.position(tp) >= end:
                    reading.discard(tp)
            if time.monotonic() > deadline:
                raise TimeoutError(f"reading {sorted(map(str, reading))} stalled")
    finally:
        await consumer.stop()
    return [record for batch in records.values() for record in batch]


def _event_id(value: bytes) -> UUID | None:
    try:
        return UUID(json.loads(value)["event_id"])
    except (ValueError, TypeError, KeyError):
        return None


async def _adopt(conn: Connection, records: Sequence[tuple[str, bytes, bytes]]) -> int:
    """Add to the history the records whose events it has not, and the outbox does not hold."""
    by_id = {e: r for r in records if (e := _event_id(r[2])) is not None}
    if not by_id:
        return 0
    known = await conn.fetch(
        "SELECT e AS event_id FROM unnest($1::uuid[]) AS e WHERE e IN ("
        " SELECT event_id FROM outbox UNION ALL"
        " SELECT (convert_from(payload, 'UTF8')::jsonb ->> 'event_id')::uuid"
        " FROM published_events)",
        list(by_id),
    )
    for row in known:
        del by_id[row["event_id"]]
    new = list(by_id.values())
    # Ids from the outbox's sequence: after the history the database has, in the broker's order.
    await conn.execute(
        "INSERT INTO published_events (id, topic, key, payload)"
        " SELECT nextval(pg_get_serial_sequence('outbox', 'id')), e.topic, e.key, e.payload"
        " FROM unnest($1::text[], $2::bytea[], $3::bytea[]) WITH ORDINALITY"
        " AS e(topic, key, payload, n) ORDER BY e.n",
        [r[0] for r in new],
        [r[1] for r in new],
        [r[2] for r in new],
    )
    return len(new)

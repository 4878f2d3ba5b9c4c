"""Outbox: events are stored with the state change that causes them, then published by a relay.

`record` runs inside the caller's transaction, so an event exists if and only if its change
committed. The relay publishes in id order and deletes rows only after the broker has
acknowledged them: a crash in between publishes them again, and consumers' inboxes absorb that.
What was published is on the topic, not here: the table holds only what is still to be sent.
"""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence

import asyncpg
import structlog
from asyncpg.pool import PoolConnectionProxy

from shared import failpoints
from shared.db import Connection
from shared.events import Outgoing

log = structlog.get_logger()

NOTIFY_CHANNEL = "outbox"
# Only one relay per database publishes at a time, which keeps each trust's events in order.
RELAY_LOCK = 7_311_002

Publish = Callable[[Sequence[tuple[str, bytes, bytes]]], Awaitable[None]]


async def record(conn: Connection, topic: str, events: Sequence[Outgoing]) -> None:
    """Store events for publication; call inside the transaction that makes the change."""
    if not events:
        return
    # One statement for the lot; ORDER BY keeps the ids (the publishing order) in event order.
    await conn.execute(
        "INSERT INTO outbox (event_id, topic, key, payload)"
        " SELECT e.event_id, $1, e.key, e.payload"
        " FROM unnest($2::uuid[], $3::bytea[], $4::bytea[]) WITH ORDINALITY"
        " AS e(event_id, key, payload, n) ORDER BY e.n",
        topic,
        [e.event_id for e in events],
        [e.key for e in events],
        [e.payload for e in events],
    )
    # Delivered at commit, so the relay wakes only for events that really exist.
    await conn.execute(f"NOTIFY {NOTIFY_CHANNEL}")


# A batch: this many events, or fewer if their payloads pass BATCH_BYTES (a tender's award
# parts are about 180 KB each; a batch of them must not hold hundreds of megabytes).
BATCH_EVENTS = 2_000
BATCH_BYTES = 4 * 1024 * 1024


async def publish_pending(
    pool: asyncpg.Pool,
    publish: Publish,
    batch_size: int = BATCH_EVENTS,
    batch_bytes: int = BATCH_BYTES,
) -> int:
    """Publish one batch of unpublished events; returns how many were published."""
    async with pool.acquire() as conn, conn.transaction():
        if not await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", RELAY_LOCK):
            return 0
        # The oldest events, up to batch_size, while the payloads before each stay under
        # batch_bytes (so the first is always taken, however large).
        rows = await conn.fetch(
            "SELECT id, topic, key, payload FROM ("
            " SELECT *, sum(octet_length(payload)) OVER (ORDER BY id) AS upto FROM ("
            "  SELECT id, topic, key, payload FROM outbox"
            "  ORDER BY id LIMIT $1) AS oldest"
            ") AS sized WHERE upto - octet_length(payload) < $2 ORDER BY id",
            batch_size,
            batch_bytes,
        )
        if not rows:
            return 0
        await publish([(r["topic"], bytes(r["key"]), bytes(r["payload"])) for r in rows])
        failpoints.hit("relay.after_publish")
        await conn.execute(
            "DELETE FROM outbox WHERE id = ANY($1::bigint[])",
            [r["id"] for r in rows],
        )
        return len(rows)


async def backlog(pool: asyncpg.Pool) -> int:
    """How many events wait in the outbox (the table holds only those): a gauge at scrape time."""
    count: int = await pool.fetchval("SELECT count(*) FROM outbox")
    return count


class Relay:
    """Background task that drains the outbox, woken by NOTIFY and by a slow poll as a backstop."""

    def __init__(self, pool: asyncpg.Pool, publish: Publish, poll_seconds: float = 1.0) -> None:
        self._pool = pool
        self._publish = publish
        self._poll_seconds = poll_seconds
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._listener: PoolConnectionProxy[asyncpg.Record] | None = None

    async def start(self) -> None:
        self._listener = await self._pool.acquire()
        await self._listener.add_listener(NOTIFY_CHANNEL, self._on_notify)
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._listener is not None:
            await self._listener.remove_listener(NOTIFY_CHANNEL, self._on_notify)
            await self._pool.release(self._listener)

    def _on_notify(self, *_: object) -> None:
        self._wake.set()

    async def _run(self) -> None:
        while True:
            try:
                while await publish_pending(self._pool, self._publish):
                    pass
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox relay failed; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll_seconds)
            self._wake.clear()

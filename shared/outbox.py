"""Outbox: events are stored with the state change that causes them, then published by a relay.

`record` runs inside the caller's transaction, so an event exists if and only if its change
committed. The relay publishes in id order and moves rows to `published_events` (history) only
after the broker has acknowledged them: a crash in between publishes them again, and consumers'
inboxes absorb that.

The broker is not trusted to keep what it acknowledged: the embedded one keeps its topics in
memory, and a topic can be deleted on any cluster. The relay remembers where each partition's
log ended after its last write (`broker_positions`). A log found shorter, or gone, or taking new
records at lower offsets than before has lost history: the relay publishes that topic's history
again, in its first order, before anything new, and consumers' inboxes absorb what they had.
"""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field

import asyncpg
import structlog
from asyncpg.pool import PoolConnectionProxy

from shared import failpoints
from shared.broker_log import Written
from shared.db import Connection, as_columns
from shared.events import Outgoing
from shared.metrics import TOPICS_REPUBLISHED

log = structlog.get_logger()

NOTIFY_CHANNEL = "outbox"
# Only one relay per database publishes at a time, which keeps each trust's events in order.
RELAY_LOCK = 7_311_002

Publish = Callable[[Sequence[tuple[str, bytes, bytes]]], Awaitable[Written]]
# The topics whose logs end before the given offsets (per topic partition): what the broker lost.
Shortened = Callable[[Mapping[tuple[str, int], int]], Awaitable[set[str]]]


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

# The oldest events of `source`, up to $1 of them, while the payloads before each stay under $2
# bytes (so the first is always taken, however large).
_BATCH = (
    "SELECT id, topic, key, payload FROM ("
    " SELECT *, sum(octet_length(payload)) OVER (ORDER BY id) AS upto FROM ("
    "  {source} ORDER BY id LIMIT $1) AS oldest"
    ") AS sized WHERE upto - octet_length(payload) < $2 ORDER BY id"
)
_QUEUED = _BATCH.format(source="SELECT id, topic, key, payload FROM outbox")
_TO_REPUBLISH = _BATCH.format(
    source="SELECT h.id, h.topic, h.key, h.payload FROM published_events h"
    " JOIN republishing r USING (topic) WHERE h.id > r.after_id"
)


async def publish_pending(
    pool: asyncpg.Pool,
    publish: Publish,
    batch_size: int = BATCH_EVENTS,
    batch_bytes: int = BATCH_BYTES,
) -> int:
    """Publish one batch: history of topics the broker lost first, then unpublished events;
    returns how many were published."""
    async with pool.acquire() as conn, conn.transaction():
        # One round trip per batch: the relay's lock, whether lost topics wait to go out again,
        # and this commit not waiting for the disk: if a crash loses it, its rows are still in
        # the outbox and go out again, which the consumers' inboxes absorb. The wait would hold
        # up the commits that do need it (a submission's, an inbox's) behind one more flush.
        state = await conn.fetchrow(
            "SELECT pg_try_advisory_xact_lock($1) AS locked,"
            " EXISTS (SELECT FROM republishing) AS republishing,"
            " set_config('synchronous_commit', 'off', true)",
            RELAY_LOCK,
        )
        assert state is not None
        if not state["locked"]:
            return 0
        rows = []
        if state["republishing"]:
            rows = await conn.fetch(_TO_REPUBLISH, batch_size, batch_bytes)
            if rows:
                # The batch is a prefix, in id order, of every such topic's history.
                await conn.execute(
                    "UPDATE republishing SET after_id = greatest(after_id, $1)", rows[-1]["id"]
                )
            else:
                topics = await conn.fetch("DELETE FROM republishing RETURNING topic")
                log.info("topics published again", topics=sorted(r["topic"] for r in topics))
        republishing = bool(rows)
        if not republishing:
            rows = await conn.fetch(_QUEUED, batch_size, batch_bytes)
        if not rows:
            return 0
        written = await publish([(r["topic"], bytes(r["key"]), bytes(r["payload"])) for r in rows])
        failpoints.hit("relay.after_publish")
        if not republishing:
            await conn.execute(
                "WITH sent AS (DELETE FROM outbox WHERE id = ANY($1::bigint[])"
                " RETURNING id, topic, key, payload)"
                " INSERT INTO published_events (id, topic, key, payload) SELECT * FROM sent",
                [r["id"] for r in rows],
            )
        await _note_written(conn, written)
        return len(rows)


async def _note_written(conn: Connection, written: Written) -> None:
    """Keep where the logs now end; a log that took records at a lower offset than it had
    reached before is a new one, so its topic's history goes out again."""
    if not written:
        return
    before = await conn.fetch(
        "SELECT topic, partition, next_offset FROM broker_positions WHERE topic = ANY($1)",
        list({topic for topic, _ in written}),
    )
    lost = {
        r["topic"]
        for r in before
        if (r["topic"], r["partition"]) in written
        and written[(r["topic"], r["partition"])][0] < r["next_offset"]
    }
    if lost:
        await _republish(conn, lost)
    positions = [(topic, partition, written[topic, partition][1]) for topic, partition in written]
    await conn.execute(
        "INSERT INTO broker_positions (topic, partition, next_offset)"
        " SELECT * FROM unnest($1::text[], $2::int[], $3::bigint[])"
        " ON CONFLICT (topic, partition) DO UPDATE SET next_offset = excluded.next_offset",
        *as_columns(positions, 3),
    )


async def _republish(conn: Connection, topics: set[str]) -> None:
    """Publish these topics' history again, from the start; what is known of their logs is void."""
    log.warning("the broker lost published events; publishing them again", topics=sorted(topics))
    for topic in topics:
        TOPICS_REPUBLISHED.labels(topic).inc()
    await conn.execute(
        "INSERT INTO republishing (topic, after_id) SELECT unnest($1::text[]), 0"
        " ON CONFLICT (topic) DO UPDATE SET after_id = 0",
        sorted(topics),
    )
    await conn.execute("DELETE FROM broker_positions WHERE topic = ANY($1)", sorted(topics))


async def check_broker(pool: asyncpg.Pool, shortened: Shortened) -> set[str]:
    """Compare the broker's logs with where the relay left them; the topics found lost are
    published again. Returns them."""
    rows = await pool.fetch("SELECT topic, partition, next_offset FROM broker_positions")
    if not rows:
        return set()
    lost = await shortened({(r["topic"], r["partition"]): r["next_offset"] for r in rows})
    if lost:
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", RELAY_LOCK)
            await _republish(conn, lost)
    return lost


async def backlog(pool: asyncpg.Pool) -> int:
    """How many events wait in the outbox (the table holds only those): a gauge at scrape time."""
    count: int = await pool.fetchval("SELECT count(*) FROM outbox")
    return count


@dataclass
class Relay:
    """Background task that drains the outbox, woken by NOTIFY and by a slow poll as a backstop.
    Given `shortened`, a second task checks every `check_seconds` that the broker still has
    what the relay wrote (the only way to notice a loss while there is nothing new to publish);
    apart, so that a slow answer from the broker never holds up publishing."""

    pool: asyncpg.Pool
    publish: Publish
    poll_seconds: float = 1.0
    shortened: Shortened | None = None
    check_seconds: float = 5.0
    _wake: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list, init=False)
    _listener: "PoolConnectionProxy[asyncpg.Record] | None" = field(default=None, init=False)

    async def start(self) -> None:
        self._listener = await self.pool.acquire()
        await self._listener.add_listener(NOTIFY_CHANNEL, self._on_notify)
        self._tasks.append(asyncio.create_task(self._run(), name="outbox-relay"))
        if self.shortened is not None:
            checking = self._check_broker(self.shortened)
            self._tasks.append(asyncio.create_task(checking, name="outbox-broker-check"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._listener is not None:
            await self._listener.remove_listener(NOTIFY_CHANNEL, self._on_notify)
            await self.pool.release(self._listener)

    def _on_notify(self, *_: object) -> None:
        self._wake.set()

    async def _run(self) -> None:
        while True:
            try:
                while await publish_pending(self.pool, self.publish):
                    pass
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox relay failed; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
            self._wake.clear()

    async def _check_broker(self, shortened: Shortened) -> None:
        while True:
            await asyncio.sleep(self.check_seconds)
            try:
                if await check_broker(self.pool, shortened):
                    self._wake.set()  # lost topics go out again at once
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("checking the broker's logs failed; trying again")

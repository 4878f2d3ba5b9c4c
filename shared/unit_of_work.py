"""One unit of work: a connection in one transaction, the events the change causes, and the
inbox claims of the events it applies, committed together or not at all (README "Delivery").

Handlers change state through `work.conn` (or a repository on it, which a service's subclass of
`UnitOfWork` gives them) and announce what happened with `work.emit`: the events are written to
the outbox inside the same transaction, just before it commits, so an event exists if and only
if its change does. Consumers claim the events they apply with `work.claim`, so an event seen
before is skipped in the same transaction as its effect.

`each_alone_if_together_fails` is the one way a batch is stored: all items in one unit of work,
and if that fails because of one of them, each item on its own, so one bad item cannot hold
back the others (the inbox, demand's Kafka ingress and its HTTP group commit use it).
"""

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from itertools import groupby
from typing import Literal, Self, TypeVar
from uuid import UUID

import asyncpg
import structlog

from shared import outbox
from shared.db import Connection
from shared.events import Outgoing

log = structlog.get_logger()

Item = TypeVar("Item")
Result = TypeVar("Result")


Isolation = Literal["read_committed", "repeatable_read", "serializable"]


class UnitOfWork:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._events: list[tuple[str, Outgoing]] = []

    @classmethod
    @asynccontextmanager
    async def begin(
        cls, pool: asyncpg.Pool, *, isolation: Isolation = "read_committed", readonly: bool = False
    ) -> AsyncIterator[Self]:
        """A unit of work on a pooled connection; committed when the block ends, rolled back
        (with its events) when it raises. A read-only one at repeatable read is one snapshot.
        A service whose handlers take more than the connection begins its own subclass."""
        async with pool.acquire() as conn, conn.transaction(isolation=isolation, readonly=readonly):
            work = cls(conn)
            yield work
            await work._write_events()

    def emit(self, topic: str, events: Sequence[Outgoing]) -> None:
        """Publish these events if, and when, the unit of work commits."""
        self._events.extend((topic, event) for event in events)

    async def claim(self, consumer: str, event_ids: Sequence[UUID]) -> set[UUID]:
        """The events this consumer has not applied before (and now has, once committed)."""
        rows = await self.conn.fetch(
            "INSERT INTO inbox (consumer, event_id) SELECT $1, unnest($2::uuid[])"
            " ON CONFLICT DO NOTHING RETURNING event_id",
            consumer,
            event_ids,
        )
        return {r["event_id"] for r in rows}

    async def _write_events(self) -> None:
        # In emission order: one statement per run of events for one topic.
        for topic, run in groupby(self._events, key=lambda emitted: emitted[0]):
            await outbox.record(self.conn, topic, [event for _, event in run])
        self._events.clear()


# The unit of work most handlers take: `async with unit_of_work(pool) as work`.
unit_of_work = UnitOfWork.begin


async def each_alone_if_together_fails(
    items: Sequence[Item],
    together: Callable[[Sequence[Item]], Awaitable[list[Result]]],
    alone: Callable[[Item], Awaitable[Result]],
    *,
    passing: tuple[type[BaseException], ...] = (),
) -> list[Result]:
    """`together(items)`; if it raises anything but `passing` (an outage: the same items would
    fail together or alone), `alone(item)` for each item, in order."""
    if len(items) > 1:
        try:
            return await together(items)
        except passing:
            raise
        except Exception as exc:
            log.warning("a batch failed; trying its items one by one", error=str(exc))
    return [await alone(item) for item in items]

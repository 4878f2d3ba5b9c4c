"""Inbox: a consumer applies each event once, in one transaction with the event's effect.

Kafka delivers at least once. The consumer records each event_id in `inbox` in the same
transaction as the handler's changes, so a redelivered event is skipped.

Records arrive in batches (`Consumer.handle_batch`): the whole batch is applied in one
transaction, in order, each event claimed in the inbox in it, so one commit serves many events.
If that transaction fails because of an event (not the database), it is rolled back and every
event of the batch is applied again on its own, so the failing one is retried and dead-lettered
alone while the others are applied as usual. A handler wrapped in `Together` takes a run of
consecutive events of its type in one call, e.g. one pipelined statement for a registry load.

Two kinds of failure are told apart:
- the event itself cannot be applied (bad data, a bug): retried a bounded number of times with
  backoff, then the original record goes to `<topic>.dlq` with the reason, so a poison record
  never blocks its partition;
- the infrastructure is down (database unreachable): nothing is wrong with the event, so it is
  never dead-lettered; `Unavailable` is raised after a pause, the subscriber nacks, and the record
  is read again until the database is back.
"""

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import groupby
from typing import NoReturn, Protocol, TypeAlias

import asyncpg
import structlog
from pydantic import ValidationError

from shared.events import Envelope, Topics
from shared.metrics import EVENTS_APPLIED, EVENTS_DUPLICATE
from shared.unit_of_work import UnitOfWork, each_alone_if_together_fails, unit_of_work

log = structlog.get_logger()

# A handler applies one event in the consumer's unit of work (its changes, its events).
Handler = Callable[[UnitOfWork, Envelope], Awaitable[None]]


@dataclass(frozen=True)
class Together:
    """A handler that applies consecutive events of its type in one go (say one pipelined
    `executemany`) with the same effect as applying them one by one, in order."""

    apply: Callable[[UnitOfWork, Sequence[Envelope]], Awaitable[None]]

    async def __call__(self, work: UnitOfWork, event: Envelope) -> None:
        await self.apply(work, [event])


# A consumed record: topic, key, value.
Record: TypeAlias = tuple[str, bytes | None, bytes]

# Errors that say the database is unreachable, not that the event is wrong.
TRANSIENT: tuple[type[BaseException], ...] = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
)
MAX_PAUSE_SECONDS = 5.0


class Unavailable(Exception):
    """The event could not be applied because a dependency is down; it must be read again."""


class DeadLetterPublisher(Protocol):
    async def __call__(
        self, topic: str, key: bytes | None, value: bytes, headers: dict[str, str]
    ) -> None: ...


@dataclass(frozen=True)
class _Event:
    record: Record
    envelope: Envelope
    handler: Handler


class Consumer:
    def __init__(
        self,
        name: str,
        pool: Callable[[], asyncpg.Pool],
        handlers: Mapping[str, Handler],
        dead_letter: DeadLetterPublisher,
        max_attempts: int = 5,
        backoff_seconds: float = 0.2,
    ) -> None:
        self.name = name
        self._pool = pool
        self._handlers = handlers
        self._dead_letter = dead_letter
        self._max_attempts = max_attempts
        self._backoff_seconds = backoff_seconds
        # Consecutive reads that found a dependency down: the pause grows with the outage.
        self._outage = 0

    async def handle_batch(self, records: Sequence[Record]) -> None:
        """Apply a batch: together in one transaction, or else each event on its own."""
        events: list[_Event] = []
        invalid: list[tuple[Record, str]] = []
        for record in records:
            try:
                envelope = Envelope.model_validate_json(record[2])
            except ValidationError as exc:
                invalid.append((record, f"invalid envelope: {exc}"))
                continue
            handler = self._handlers.get(envelope.event_type)
            if handler is not None:  # topics carry several event types; a consumer needs some
                events.append(_Event(record, envelope, handler))

        async def together(batch: Sequence[_Event]) -> list[None]:
            await self._apply(batch)
            return [None] * len(batch)

        try:
            await each_alone_if_together_fails(
                events, together, self._apply_alone, passing=TRANSIENT
            )
        except TRANSIENT as exc:
            await self._unavailable(exc)
        self._outage = 0
        for record, reason in invalid:
            await self._send_to_dead_letters(record, reason, 1)

    async def _apply_alone(self, event: _Event) -> None:
        envelope = event.envelope
        with structlog.contextvars.bound_contextvars(
            event_id=str(envelope.event_id),
            correlation_id=envelope.correlation_id,
            event_type=envelope.event_type,
        ):
            for attempt in range(1, self._max_attempts + 1):
                try:
                    await self._apply([event])
                    return
                except TRANSIENT as exc:
                    await self._unavailable(exc)
                except Exception as exc:
                    if attempt == self._max_attempts:
                        reason = f"{type(exc).__name__}: {exc}"
                        await self._send_to_dead_letters(event.record, reason, attempt)
                        return
                    log.warning("event failed; retrying", attempt=attempt, error=str(exc))
                    await asyncio.sleep(self._backoff_seconds * 2 ** (attempt - 1))

    async def _apply(self, events: Sequence[_Event]) -> None:
        """Claim and apply the events in order, in one transaction."""
        async with unit_of_work(self._pool()) as work:
            fresh = await work.claim(self.name, [e.envelope.event_id for e in events])
            new = []
            for event in events:
                if event.envelope.event_id in fresh:
                    fresh.discard(event.envelope.event_id)  # a repeat in this batch is a duplicate
                    new.append(event)
                else:
                    EVENTS_DUPLICATE.labels(self.name).inc()
                    log.info(
                        "duplicate event skipped",
                        event_id=str(event.envelope.event_id),
                        correlation_id=event.envelope.correlation_id,
                    )
            for handler, run in groupby(new, key=lambda e: e.handler):
                if isinstance(handler, Together):
                    await handler.apply(work, [e.envelope for e in run])
                    continue
                for event in run:
                    envelope = event.envelope
                    with structlog.contextvars.bound_contextvars(
                        event_id=str(envelope.event_id),
                        correlation_id=envelope.correlation_id,
                        event_type=envelope.event_type,
                    ):
                        await handler(work, envelope)
        for event in new:
            EVENTS_APPLIED.labels(self.name, event.envelope.event_type).inc()

    async def _unavailable(self, exc: BaseException) -> NoReturn:
        """A pause, then `Unavailable`: the subscriber nacks and the batch is read again. The
        pause stays far below max_poll_interval so the consumer keeps its partitions."""
        pause = min(self._backoff_seconds * 2**self._outage, MAX_PAUSE_SECONDS)
        self._outage += 1
        log.warning(
            "dependency unavailable; will read the events again", error=str(exc), pause=pause
        )
        await asyncio.sleep(pause)
        raise Unavailable(str(exc)) from exc

    async def _send_to_dead_letters(self, record: Record, reason: str, attempts: int) -> None:
        topic, key, value = record
        headers = {"reason": reason[:2000], "consumer": self.name, "attempts": str(attempts)}
        await self._dead_letter(Topics.dead_letters(topic), key, value, headers)
        log.error("record dead-lettered", topic=topic, reason=reason)

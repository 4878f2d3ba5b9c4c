"""Inbox: a consumer applies each event once, in one transaction with the event's effect.

Kafka delivers at least once. `Consumer.handle` records the event_id in `inbox` in the same
transaction as the handler's changes, so a redelivered event is skipped.

Two kinds of failure are told apart:
- the event itself cannot be applied (bad data, a bug): retried a bounded number of times with
  backoff, then the original record goes to `<topic>.dlq` with the reason, so a poison record
  never blocks its partition;
- the infrastructure is down (database unreachable): nothing is wrong with the event, so it is
  never dead-lettered; `Unavailable` is raised after a pause, the subscriber nacks, and the record
  is read again until the database is back.
"""

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Protocol

import asyncpg
import structlog
from pydantic import ValidationError

from shared.db import Connection
from shared.events import Envelope, Topics
from shared.metrics import EVENTS_APPLIED, EVENTS_DEAD_LETTERED, EVENTS_DUPLICATE

log = structlog.get_logger()

Handler = Callable[[Connection, Envelope], Awaitable[None]]

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


async def claim(conn: Connection, consumer: str, envelope: Envelope) -> bool:
    """True if this consumer has not applied the event before (and now has, once committed)."""
    status = await conn.execute(
        "INSERT INTO inbox (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        consumer,
        envelope.event_id,
    )
    return bool(status == "INSERT 0 1")


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

    async def handle(self, topic: str, key: bytes | None, value: bytes) -> None:
        try:
            envelope = Envelope.model_validate_json(value)
        except ValidationError as exc:
            await self._send_to_dead_letters(topic, key, value, f"invalid envelope: {exc}", 1)
            return
        handler = self._handlers.get(envelope.event_type)
        if handler is None:
            return  # topics carry several event types; this consumer needs only some
        with structlog.contextvars.bound_contextvars(
            event_id=str(envelope.event_id),
            correlation_id=envelope.correlation_id,
            event_type=envelope.event_type,
        ):
            for attempt in range(1, self._max_attempts + 1):
                try:
                    await self._apply(handler, envelope)
                    self._outage = 0
                    return
                except TRANSIENT as exc:
                    # A pause, then the subscriber nacks and reads the record again; the pause
                    # stays far below max_poll_interval so the consumer keeps its partitions.
                    pause = min(self._backoff_seconds * 2**self._outage, MAX_PAUSE_SECONDS)
                    self._outage += 1
                    log.warning(
                        "dependency unavailable; will read the event again",
                        error=str(exc),
                        pause=pause,
                    )
                    await asyncio.sleep(pause)
                    raise Unavailable(str(exc)) from exc
                except Exception as exc:
                    if attempt == self._max_attempts:
                        reason = f"{type(exc).__name__}: {exc}"
                        await self._send_to_dead_letters(topic, key, value, reason, attempt)
                        return
                    log.warning("event failed; retrying", attempt=attempt, error=str(exc))
                    await asyncio.sleep(self._backoff_seconds * 2 ** (attempt - 1))

    async def _apply(self, handler: Handler, envelope: Envelope) -> None:
        async with self._pool().acquire() as conn, conn.transaction():
            if not await claim(conn, self.name, envelope):
                EVENTS_DUPLICATE.labels(self.name).inc()
                log.info("duplicate event skipped")
                return
            await handler(conn, envelope)
        EVENTS_APPLIED.labels(self.name, envelope.event_type).inc()

    async def _send_to_dead_letters(
        self, topic: str, key: bytes | None, value: bytes, reason: str, attempts: int
    ) -> None:
        headers = {"reason": reason[:2000], "consumer": self.name, "attempts": str(attempts)}
        await self._dead_letter(Topics.dead_letters(topic), key, value, headers)
        EVENTS_DEAD_LETTERED.labels(self.name).inc()
        log.error("record dead-lettered", topic=topic, reason=reason)

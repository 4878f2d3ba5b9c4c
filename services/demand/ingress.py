"""Kafka ingress: finance systems that speak Kafka put plain JSON submissions on
`demand.submissions` (not envelopes: `submission_id` and `trust_id` plus the demand fields), and
spend lines on `spend.submissions` (`trust_id` plus the spend fields; idempotent by school and
`invoice_ref`). Both run the same machinery below, each as its own consumer group (`Ingress`).

Each record is registered once (idempotent by `submission_id` within its trust) or goes to
`demand.submissions.dlq` with its original bytes and a `reason` header; a bad record never holds
up the good ones around it. Records come in batches of up to MAX_BATCH, read and stored in a few
transactions side by side; the records of one Kafka key (the trust: finance systems key by it)
go into one of them, in order, so that the first use of a `submission_id` is the one that counts.
Then the refused records are dead-lettered, and only then are the offsets committed (nack on
error: an exception rewinds every partition of the batch and the batch is read again). While the
database is unreachable nothing is dead-lettered: the batch is read again until it is back.
A batch read twice (a rebalance, a crash before the commit) registers nothing twice; its refused
records may reach the dead-letter topic twice."""

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Generic, TypeVar

import asyncpg
import structlog
from aiokafka.errors import MessageSizeTooLargeError
from faststream.message import StreamMessage
from pydantic import BaseModel

from services.demand.ingress_records import read_as
from services.demand.rules import KafkaSubmission
from services.demand.spend_rules import KafkaSpend
from services.demand.spending import record_records
from services.demand.submitting import submit_records
from shared.events import Topics
from shared.inbox import TRANSIENT, Unavailable
from shared.service import KafkaRecord, Runtime, subscribe_batches
from shared.unit_of_work import UnitOfWork, each_alone_if_together_fails, unit_of_work

log = structlog.get_logger()

S = TypeVar("S", bound=BaseModel)


@dataclass(frozen=True)
class Ingress(Generic[S]):
    """One ingress topic: its consumer group, what a record is read as, and how a batch of
    them is stored (for each: None if stored or a retry of one, else why not)."""

    topic: str
    group: str
    model: type[S]
    store: Callable[[UnitOfWork, Sequence[S]], Awaitable[list[str | None]]]


GROUP = "demand-ingress"
DEMAND = Ingress(Topics.SUBMISSIONS, GROUP, KafkaSubmission, submit_records)
SPEND = Ingress(Topics.SPEND_SUBMISSIONS, "spend-ingress", KafkaSpend, record_records)
# Large batches: the fixed cost of each (offset commit, the last transaction's commit) is paid
# while the service waits; 8,000 records of a few hundred bytes are a few megabytes.
MAX_BATCH = 8000
# A batch is read and stored as up to this many transactions side by side, so that the service
# reads and prepares some while PostgreSQL stores others (more than the pool's connections is
# fine: the rest are read while they wait for one). Each has at least GROUP_RECORDS records: a
# small batch (a quiet hour) is one transaction, not many round trips for a few records each.
STORE_GROUPS = 16
GROUP_RECORDS = 250
OUTAGE_PAUSE_SECONDS = 1.0
# Errors of the data itself (class 22 data exception, 23 integrity violation): retrying the
# same records cannot help.
DATA_ERRORS = (asyncpg.DataError, asyncpg.IntegrityConstraintViolationError)


def _safe_headers(headers: Sequence[tuple[str, bytes | None]]) -> list[tuple[str, bytes]]:
    return [(k, (v or b"").decode("utf-8", "replace").encode()) for k, v in headers]


async def _parse(
    records: tuple[KafkaRecord, ...], original: Callable[[Any], Awaitable[StreamMessage[Any]]]
) -> StreamMessage[Any]:
    # A producer may send null or non-UTF-8 header values, which FastStream's parser cannot
    # decode: the batch would fail before reaching us, again and again. Same records, safe headers
    # (most records have none: they pass as they are).
    return await original(
        tuple(replace(r, headers=_safe_headers(r.headers)) if r.headers else r for r in records)
    )


def subscribe_ingress(runtime: Runtime, ingress: Ingress[Any] = DEMAND) -> None:
    async def ingest_batch(records: tuple[KafkaRecord, ...]) -> None:
        await ingest(runtime, records, ingress)

    subscribe_batches(
        runtime,
        [ingress.topic],
        ingress.group,
        MAX_BATCH,
        ingest_batch,
        parser=_parse,
        include_in_schema=False,  # documented by services/demand/asyncapi.py
    )


async def ingest(
    runtime: Runtime, records: Sequence[KafkaRecord], ingress: Ingress[Any] = DEMAND
) -> None:
    """Register the good records of a batch, dead-letter the rest with their reasons."""
    count = max(1, min(STORE_GROUPS, len(records) // GROUP_RECORDS))
    by_key: dict[int, list[int]] = {}
    for i, record in enumerate(records):
        by_key.setdefault(hash(record.key) % count, []).append(i)
    groups = list(by_key.values())
    async with asyncio.TaskGroup() as tasks:
        refused = [
            tasks.create_task(_read_and_store(runtime, ingress, [records[i] for i in g]))
            for g in groups
        ]
    reasons = {
        i: reason
        for group, task in zip(groups, refused, strict=True)
        for i, reason in zip(group, task.result(), strict=True)
        if reason
    }
    await asyncio.gather(
        *(_dead_letter(runtime, ingress, records[i], r) for i, r in reasons.items())
    )


async def _read_and_store(
    runtime: Runtime, ingress: Ingress[S], records: Sequence[KafkaRecord]
) -> list[str | None]:
    """For each record: None if stored (or a retry of one stored), else why not."""
    read = [read_as(ingress.model, r.value) for r in records]
    submissions = [s for s in read if not isinstance(s, str)]
    stored = iter(await _store(runtime, ingress, submissions) if submissions else [])
    return [s if isinstance(s, str) else next(stored) for s in read]


async def _store(
    runtime: Runtime, ingress: Ingress[S], submissions: Sequence[S]
) -> list[str | None]:
    """For each submission: None if stored (or a retry of one stored), else why not. If some
    record passed every check yet cannot be stored, each is stored on its own to find which;
    while the database is unavailable, none is (the batch is read again)."""
    attempts = runtime.settings.consumer_max_attempts

    async def together(batch: Sequence[S]) -> list[str | None]:
        return await _transaction(runtime, ingress, batch, attempts=attempts)

    async def alone(submission: S) -> str | None:
        # Alone after the batch failed: once. A batch of one was not tried together: in full.
        try:
            [reason] = await _transaction(
                runtime, ingress, [submission], attempts=attempts if len(submissions) == 1 else 1
            )
        except Unavailable:
            raise
        except Exception as exc:
            return f"could not be stored: {type(exc).__name__}: {exc}"
        return reason

    return await each_alone_if_together_fails(submissions, together, alone, passing=(Unavailable,))


async def _transaction(
    runtime: Runtime, ingress: Ingress[S], submissions: Sequence[S], attempts: int
) -> list[str | None]:
    backoff = runtime.settings.consumer_retry_backoff_ms / 1000
    for attempt in range(1, attempts + 1):
        try:
            async with unit_of_work(runtime.pool) as work:
                return await ingress.store(work, submissions)
        except TRANSIENT as exc:
            # The database is down, the records are fine: never dead-letter them. A pause, then
            # the subscriber nacks and the batch is read again until the database is back.
            log.warning("database unavailable; the batch will be read again", error=str(exc))
            await asyncio.sleep(OUTAGE_PAUSE_SECONDS)
            raise Unavailable(str(exc)) from exc
        except DATA_ERRORS:
            raise  # the same records would fail the same way
        except Exception as exc:
            if attempt == attempts:
                raise
            log.warning("ingress batch failed; retrying", attempt=attempt, error=str(exc))
            await asyncio.sleep(backoff * 2 ** (attempt - 1))
    raise AssertionError("unreachable")


async def _dead_letter(
    runtime: Runtime, ingress: Ingress[Any], record: KafkaRecord, reason: str
) -> None:
    headers = {k: v.decode() for k, v in record.headers} | {
        "reason": reason[:2000],
        "consumer": ingress.group,
        "source_partition": str(record.partition),
        "source_offset": str(record.offset),
    }
    topic = Topics.dead_letters(ingress.topic)
    value: bytes = record.value or b""
    try:
        await runtime.dead_letter(topic, record.key, value, headers)
    except MessageSizeTooLargeError:
        # Headers pushed a record near the broker's limit over it: keep the reason, cut the bytes.
        headers["truncated_from_bytes"] = str(len(value))
        await runtime.dead_letter(topic, record.key, value[:65536], headers)
    log.warning(
        "ingress record dead-lettered",
        topic=ingress.topic,
        reason=reason,
        partition=record.partition,
        offset=record.offset,
    )

"""Recording spend: the one way a spend line is stored, whatever the channel (JSON over HTTP, a
CSV row, a record on `spend.submissions`): the same checks, the same idempotency by
(`school_urn`, `invoice_ref`) (the same line again replays it, another line under that
reference conflicts), set-based writes, and `spend.recorded` emitted in the caller's unit of
work (docs/domain-rules.md, "Spend line"; docs/events.md, `spend.recorded`)."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from uuid import UUID

import asyncpg

from services.demand import spend_store, store
from services.demand.domain.errors import InvoiceRefReused
from services.demand.domain.lines import ActingFor, Refusal, RegisteredSchool, school_refusal
from services.demand.domain.spend import SpendFields, SpendSubmission, fingerprint, spend_line
from services.demand.group_commit import GroupCommit
from services.demand.metrics import SPEND
from services.demand.spend_rules import KafkaSpend
from services.demand.submitting import (
    Outcome,
    Result,
    acting_for,
    count,
    refused,
    settle_claims,
)
from shared.auth import Principal
from shared.domain.categories import categories
from shared.domain.errors import DomainError
from shared.events import SpendRecorded, Topics, outgoing
from shared.ids import new_id
from shared.unit_of_work import UnitOfWork

Key = spend_store.Key


@dataclass(slots=True)
class SpendRequest:
    submission: SpendSubmission
    actor: ActingFor
    correlation_id: str | None = None  # default: the invoice_ref


def _key(submission: SpendSubmission) -> Key:
    return submission.school_urn, submission.invoice_ref


async def record_many(
    work: UnitOfWork, requests: Sequence[SpendRequest]
) -> list[Outcome | Refusal]:
    """Record each request's line, or say why not: one result per request, in order. A line
    refused now is refused even if its invoice was recorded before (say, under a category since
    removed): only a valid line can be compared with the one recorded."""
    conn = work.conn
    schools = await store.schools_by_urn(conn, [r.submission.school_urn for r in requests])
    known = categories()
    today = datetime.now(UTC).date()
    results: list[Outcome | Refusal | None] = [None] * len(requests)
    valid: list[tuple[int, str, SpendFields]] = []
    for i, request in enumerate(requests):
        urn = request.submission.school_urn
        row = schools.get(urn)
        school = None if row is None else RegisteredSchool(urn, row["trust_id"], row["status"])
        refusal = school_refusal(urn, school, request.actor, closed_ok=True)
        line = spend_line(request.submission, known, today) if refusal is None else refusal
        if isinstance(line, Refusal):
            results[i] = line
        else:
            assert row is not None
            valid.append((i, row["trust_id"], line))
    for (i, _, _), outcome in zip(valid, await _record(work, requests, valid), strict=True):
        results[i] = outcome
    return [r for r in results if r is not None]


async def _record(
    work: UnitOfWork,
    requests: Sequence[SpendRequest],
    valid: Sequence[tuple[int, str, SpendFields]],
) -> list[Outcome]:
    """Insert the lines whose invoices are new, emit their events; the rest replay or conflict
    with the line that first recorded their invoice."""
    conn = work.conn
    ids = [new_id() for _ in valid]
    keys = [(line.school_urn, line.invoice_ref) for _, _, line in valid]
    valid_hashes = [fingerprint(line) for _, _, line in valid]

    async def insert(firsts: list[int]) -> set[Key]:
        new = [
            spend_store.NewSpend(ids[j], valid[j][1], valid[j][2], valid_hashes[j]) for j in firsts
        ]
        return await spend_store.insert_spend(conn, new)

    find = partial(spend_store.find_invoices, conn)
    outcomes, created = await settle_claims(ids, keys, valid_hashes, insert, find)
    events = []
    for j in created:
        i, trust_id, line = valid[j]
        correlation = requests[i].correlation_id or line.invoice_ref
        recorded = SpendRecorded(spend_id=ids[j], **vars(line))
        events.append(outgoing(recorded, trust_id=trust_id, correlation_id=correlation))
    work.emit(Topics.SPEND, events)
    return outcomes


# --- over HTTP: one line per request, concurrent requests in one unit of work -----------------

SpendAnswer = tuple[asyncpg.Record, Result] | DomainError
SpendSubmissions = GroupCommit[SpendRequest, SpendAnswer]


def http_request(principal: Principal, submission: SpendSubmission) -> SpendRequest:
    return SpendRequest(submission, acting_for(principal))


async def record_http(work: UnitOfWork, requests: Sequence[SpendRequest]) -> list[SpendAnswer]:
    """Record lines sent over HTTP (concurrent requests share one unit of work); one answer
    per request, in order."""
    results = await record_many(work, requests)
    count("http", results, SPEND)
    lines = await spend_store.spend_by_id(
        work.conn,
        [r.line_id for r in results if isinstance(r, Outcome) and r.result is not Result.CONFLICT],
    )
    answers: list[SpendAnswer] = []
    for result in results:
        if isinstance(result, Refusal):
            answers.append(refused(result))
        elif result.result is Result.CONFLICT:
            answers.append(InvoiceRefReused("body.invoice_ref", result.line_id))
        else:
            answers.append((lines[result.line_id], result.result))
    return answers


# --- over Kafka: the ingress's records on spend.submissions -----------------------------------


async def record_records(work: UnitOfWork, submissions: Sequence[KafkaSpend]) -> list[str | None]:
    """Record the ingress's lines: for each, None if recorded or a re-send of one, else the
    reason it is refused (it goes to the dead-letter topic)."""
    actors = {t: ActingFor(trust_id=t) for t in {s.trust_id for s in submissions}}
    results = await record_many(work, [SpendRequest(s, actors[s.trust_id]) for s in submissions])
    count("kafka", results, SPEND)
    reasons: list[str | None] = []
    for submission, result in zip(submissions, results, strict=True):
        if isinstance(result, Refusal):
            reasons.append(f"{result.field}: {result.reason}")
        elif result.result is Result.CONFLICT:
            reasons.append(f"invoice_ref: {conflict_reason(submission, result.line_id)}")
        else:
            reasons.append(None)
    return reasons


def conflict_reason(submission: SpendSubmission, spend_id: UUID) -> str:
    return (
        f"{submission.invoice_ref} of school {submission.school_urn} was already recorded with"
        f" different content (spend line {spend_id})"
    )

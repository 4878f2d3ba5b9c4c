"""Submitting demand: the one way a line is registered, whatever the channel (JSON over HTTP, a
CSV row, a Kafka record): the same checks, the same idempotency (a key already used with the
same request replays the line it created; with a different request it conflicts), the same
set-based writes. Each verb runs in the caller's unit of work and emits its events there
(docs/domain-rules.md, "Demand line"; docs/events.md, `demand.registered`)."""

from collections import Counter as Tally
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import partial
from typing import TypeVar
from uuid import UUID

import asyncpg
from prometheus_client import Counter

from services.demand import store
from services.demand.domain.errors import IdempotencyKeyReused, InvalidDemand, NotForThisSchool
from services.demand.domain.lines import (
    ActingFor,
    LineFields,
    Refusal,
    RegisteredSchool,
    canonical_line,
    first_uses,
    school_refusal,
)
from services.demand.domain.submissions import Submission, request_hash
from services.demand.group_commit import GroupCommit
from services.demand.metrics import SUBMISSIONS
from services.demand.rules import KafkaSubmission
from shared.auth import Principal, Role
from shared.domain.categories import categories
from shared.domain.errors import DomainError
from shared.events import DemandRegistered, Topics, outgoing
from shared.ids import new_id
from shared.unit_of_work import UnitOfWork

Key = store.Key
K = TypeVar("K")


class Result(StrEnum):
    CREATED = "created"
    REPLAYED = "replayed"  # the key was used before for the same request: its line
    CONFLICT = "conflict"  # the key was used before for a different request


# Request, Outcome and _Candidate are made for every line the ingress reads: slots without
# frozen, which costs a call per field.
@dataclass(slots=True)
class Request:
    submission: Submission
    actor: ActingFor
    key: Key | None  # (owner, idempotency key)
    correlation_id: str | None = None  # default: the key, else the new line's id


@dataclass(slots=True)
class Outcome:
    result: Result
    line_id: UUID  # the demand (or spend) line created, replayed or conflicted with


@dataclass(slots=True)
class _Candidate:
    request: Request
    request_hash: str
    trust_id: str
    line: LineFields


def acting_for(principal: Principal) -> ActingFor:
    """Schools submit for themselves, managers for their trust's schools (the route has checked
    that the caller is one of them)."""
    if principal.role is Role.SCHOOL:
        return ActingFor(school_urn=principal.scope)
    return ActingFor(trust_id=principal.scope)


def refused(refusal: Refusal, where: str = "body") -> DomainError:
    """A refusal of what was sent in `where` (body: the request's JSON body), as the error to
    answer with: not allowed for the caller's school, else invalid."""
    field = f"{where}.{refusal.field}"
    if refusal.forbidden:
        return NotForThisSchool(field, refusal.reason)
    return InvalidDemand(field, refusal.reason)


def count(
    channel: str, results: Sequence[Outcome | Refusal], metric: Counter = SUBMISSIONS
) -> None:
    # Tallied first: one metric update per outcome, not per line of a batch.
    outcomes = Tally("refused" if isinstance(r, Refusal) else str(r.result) for r in results)
    for outcome, n in outcomes.items():
        metric.labels(channel, outcome).inc(n)


def _registered(row: asyncpg.Record) -> RegisteredSchool:
    return RegisteredSchool(row["urn"], row["trust_id"], row["status"])


def replay(line_id: UUID, first_hash: str, hash_: str) -> Outcome:
    """A key used before: a replay of its line if the request is the same, else a conflict."""
    return Outcome(Result.REPLAYED if first_hash == hash_ else Result.CONFLICT, line_id)


async def submit_many(work: UnitOfWork, requests: Sequence[Request]) -> list[Outcome | Refusal]:
    """Register each request's line, or say why not: one result per request, in order."""
    conn = work.conn
    hashes = [request_hash(r.submission) for r in requests]
    schools = await store.schools_by_urn(conn, [r.submission.school_urn for r in requests])
    registered = {urn: _registered(row) for urn, row in schools.items()}
    known = categories()
    results: list[Outcome | Refusal | None] = [None] * len(requests)
    pending: list[tuple[int, _Candidate]] = []
    for i, request in enumerate(requests):
        urn = request.submission.school_urn
        school = schools.get(urn)
        refusal = school_refusal(urn, registered.get(urn), request.actor)
        line = canonical_line(request.submission, known) if refusal is None else refusal
        if isinstance(line, Refusal):
            results[i] = line
            continue
        assert school is not None
        pending.append((i, _Candidate(request, hashes[i], school["trust_id"], line)))
    # A retry replays even if it would be refused now (the school has since moved, say): the
    # line it names exists. Looked up before this batch claims any key; a valid request's key
    # is checked when it is claimed.
    refused_keys = {
        i: key
        for i, (request, result) in enumerate(zip(requests, results, strict=True))
        if result is not None and (key := request.key) is not None
    }
    used = await store.find_keys(conn, list(refused_keys.values()))
    for i, key in refused_keys.items():
        if key in used:
            results[i] = replay(*used[key], hashes[i])
    for (i, _), outcome in zip(
        pending, await _register(work, [c for _, c in pending]), strict=True
    ):
        results[i] = outcome
    assert all(r is not None for r in results)
    return [r for r in results if r is not None]


async def settle_claims(
    ids: Sequence[UUID],
    keys: Sequence[K | None],
    hashes: Sequence[str],
    insert: Callable[[list[int]], Awaitable[set[K]]],
    find: Callable[[list[K]], Awaitable[dict[K, tuple[UUID, str]]]],
) -> tuple[list[Outcome], list[int]]:
    """Who gets each key: `insert` stores the lines at the positions given (each key's first
    use in this batch) and returns the keys it claimed; `find` names the line and request hash
    of keys used before. Returns one outcome per position and the positions created: a key
    claimed creates, any other use replays or conflicts with the line that first used it."""
    earlier = first_uses(keys)
    firsts = [i for i in range(len(keys)) if earlier[i] is None]
    claimed = await insert(firsts)
    created = [i for i in firsts if keys[i] is None or keys[i] in claimed]
    # Each other key's first use: earlier in this batch, or a line committed before (perhaps
    # by a transaction we waited for).
    reference = {k: (ids[i], hashes[i]) for i in created if (k := keys[i]) is not None}
    reference |= await find([k for i in firsts if (k := keys[i]) is not None and k not in claimed])
    new = set(created)
    outcomes: list[Outcome] = []
    for i, key in enumerate(keys):
        if i in new:
            outcomes.append(Outcome(Result.CREATED, ids[i]))
        else:
            assert key is not None
            line_id, first_hash = reference[key]
            same = hashes[i] == first_hash
            outcomes.append(Outcome(Result.REPLAYED if same else Result.CONFLICT, line_id))
    return outcomes, created


async def _register(work: UnitOfWork, candidates: Sequence[_Candidate]) -> list[Outcome]:
    """Insert the lines whose keys are new (claiming the keys), emit their events; the rest
    replay or conflict with the line that first used their key."""
    conn = work.conn
    ids = [new_id() for _ in candidates]
    keys = [c.request.key for c in candidates]

    async def insert(firsts: list[int]) -> set[Key]:
        return await store.insert_demands(
            conn,
            [
                store.NewLine(
                    ids[i],
                    candidates[i].trust_id,
                    candidates[i].line,
                    keys[i],
                    candidates[i].request_hash if keys[i] else None,
                )
                for i in firsts
            ],
        )

    outcomes, created = await settle_claims(
        ids, keys, [c.request_hash for c in candidates], insert, partial(store.find_keys, conn)
    )
    events = []
    for i in created:
        request = candidates[i].request
        correlation = request.correlation_id or (request.key[1] if request.key else str(ids[i]))
        # vars, not asdict: asdict deep-copies every field, which the event does not need.
        registered = DemandRegistered(demand_id=ids[i], **vars(candidates[i].line))
        events.append(
            outgoing(registered, trust_id=candidates[i].trust_id, correlation_id=correlation)
        )
    work.emit(Topics.DEMAND, events)
    return outcomes


# --- over HTTP: one line per request, concurrent requests in one unit of work -----------------


def http_request(
    principal: Principal, submission: Submission, idempotency_key: str | None
) -> Request:
    """One line sent over HTTP; a repeat with its Idempotency-Key replays it."""
    key = (principal.subject, idempotency_key) if idempotency_key is not None else None
    return Request(submission, acting_for(principal), key)


# What an HTTP submission answers: the line and whether it was created or replayed, or the
# refusal to answer with instead.
Answer = tuple[asyncpg.Record, Result] | DomainError
Submissions = GroupCommit[Request, Answer]


async def submit_demands(work: UnitOfWork, requests: Sequence[Request]) -> list[Answer]:
    """Register lines sent over HTTP (concurrent requests share one unit of work); one answer
    per request, in order."""
    results = await submit_many(work, requests)
    count("http", results)
    lines = await store.demands_by_id(
        work.conn,
        [r.line_id for r in results if isinstance(r, Outcome) and r.result is not Result.CONFLICT],
    )
    return [_answer(result, lines) for result in results]


def _answer(result: Outcome | Refusal, lines: dict[UUID, asyncpg.Record]) -> Answer:
    if isinstance(result, Refusal):
        return refused(result)
    if result.result is Result.CONFLICT:
        return IdempotencyKeyReused("header.Idempotency-Key")
    return lines[result.line_id], result.result


# --- over Kafka: the ingress's records (services/demand/ingress.py) ---------------------------


def kafka_key(submission: KafkaSubmission) -> Key:
    return f"kafka:{submission.trust_id}", submission.submission_id


async def submit_records(
    work: UnitOfWork, submissions: Sequence[KafkaSubmission]
) -> list[str | None]:
    """Register the ingress's submissions: for each, None if registered or a retry of one,
    else the reason it is refused (it goes to the dead-letter topic)."""
    actors = {t: ActingFor(trust_id=t) for t in {s.trust_id for s in submissions}}
    requests = [Request(s, actors[s.trust_id], kafka_key(s), s.submission_id) for s in submissions]
    results = await submit_many(work, requests)
    count("kafka", results)
    reasons: list[str | None] = []
    for submission, result in zip(submissions, results, strict=True):
        if isinstance(result, Refusal):
            reasons.append(f"{result.field}: {result.reason}")
        elif result.result is Result.CONFLICT:
            reasons.append(
                f"submission_id: {submission.submission_id} was already used for a different"
                f" submission (demand line {result.line_id})"
            )
        else:
            reasons.append(None)
    return reasons

"""The demand service's verbs. Each runs in the caller's transaction and records its events in
the outbox in that same transaction.

Every channel (JSON, CSV, Kafka) goes through `submit_many`: the same checks, the same
idempotency (a key already used with the same request replays the line it created; with a
different request it conflicts), the same set-based writes."""

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum
from uuid import UUID, uuid4

import asyncpg

from services.demand import store
from services.demand.csv_import import ImportReport
from services.demand.domain.demand_csv import CsvRow, DemandCsv, RowError
from services.demand.domain.lines import (
    WITHDRAWN,
    ActingFor,
    LineFields,
    Refusal,
    RegisteredSchool,
    amended_line,
    canonical_line,
    change_refusal,
    first_uses,
    school_refusal,
)
from services.demand.domain.paging import Position
from services.demand.domain.registry_changes import registry_changes
from services.demand.group_commit import GroupCommit
from services.demand.metrics import SUBMISSIONS
from services.demand.registry import RegistryFile, School
from services.demand.rules import (
    DemandAmendment,
    DemandSubmission,
    KafkaSubmission,
    request_hash,
)
from shared import outbox
from shared.auth import Principal, Role
from shared.categories import categories
from shared.db import Connection
from shared.events import (
    DemandAmended,
    DemandRegistered,
    DemandWithdrawn,
    SchoolJoined,
    SchoolLeft,
    Topics,
    outgoing,
)
from shared.http import Problem, field_error, require_role
from shared.ids import new_id

# --- registry ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RegistryReport:
    schools: int
    joined: int
    left: int
    unchanged: int
    skipped_without_trust: int
    demand_withdrawn: int


def _joined(school: School) -> SchoolJoined:
    return SchoolJoined(
        urn=school.urn,
        name=school.name,
        trust_name=school.trust_name,
        phase=school.phase,
        postcode=school.postcode,
        local_authority=school.local_authority,
        pupils=school.pupils,
        status=school.status,
    )


def _withdrawn(row: asyncpg.Record) -> DemandWithdrawn:
    return DemandWithdrawn(
        demand_id=row["demand_id"],
        school_urn=row["school_urn"],
        category=row["category"],
        reason=row["status_reason"],
    )


async def load_registry(
    conn: Connection, registry: RegistryFile, correlation_id: str
) -> RegistryReport:
    """Upsert the schools; emit events only for real changes (new, moved, changed, left)."""
    rows = await store.schools_by_urn(
        conn, [s.urn for s in registry.schools] + registry.without_trust
    )
    in_trusts = {
        urn: School(**{name: row[name] for name in School.__annotations__})
        for urn, row in rows.items()
        if row["trust_id"] is not None
    }
    changes = registry_changes(registry, in_trusts)
    withdrawn = await store.withdraw_open_lines_of_schools(conn, changes.withdraw)
    await store.upsert_schools(conn, changes.joined)
    rejoined = {s.urn for s in changes.joined}
    await store.leave_trusts(conn, [d.urn for d in changes.left if d.urn not in rejoined])
    await outbox.record(
        conn,
        Topics.DEMAND,
        [
            outgoing(_withdrawn(r), trust_id=r["trust_id"], correlation_id=correlation_id)
            for r in withdrawn
        ],
    )
    left = [
        outgoing(
            SchoolLeft(urn=d.urn, reason=d.reason),
            trust_id=d.trust_id,
            correlation_id=correlation_id,
        )
        for d in changes.left
    ]
    joined = [
        outgoing(_joined(s), trust_id=s.trust_id, correlation_id=correlation_id)
        for s in changes.joined
    ]
    await outbox.record(conn, Topics.REGISTRY, left + joined)
    return RegistryReport(
        schools=len(registry.schools),
        joined=len(changes.joined),
        left=len(changes.left),
        unchanged=changes.unchanged,
        skipped_without_trust=registry.skipped_without_trust,
        demand_withdrawn=len(withdrawn),
    )


# --- submitting -------------------------------------------------------------------------------

Key = store.Key


class Result(StrEnum):
    CREATED = "created"
    REPLAYED = "replayed"  # the key was used before for the same request: its line
    CONFLICT = "conflict"  # the key was used before for a different request


# Request, Outcome and _Candidate are made for every line the ingress reads: slots without
# frozen, which costs a call per field.
@dataclass(slots=True)
class Request:
    submission: DemandSubmission
    actor: ActingFor
    key: Key | None  # (owner, idempotency key)
    correlation_id: str | None = None  # default: the key, else the new line's id


@dataclass(slots=True)
class Outcome:
    result: Result
    demand_id: UUID


@dataclass(slots=True)
class _Candidate:
    request: Request
    request_hash: str
    trust_id: str
    line: LineFields


def acting_for(principal: Principal) -> ActingFor:
    """Schools submit for themselves, managers for their trust's schools; nobody else does."""
    require_role(principal, Role.SCHOOL, Role.MANAGER)
    if principal.role is Role.SCHOOL:
        return ActingFor(school_urn=principal.scope)
    return ActingFor(trust_id=principal.scope)


def _registered(row: asyncpg.Record) -> RegisteredSchool:
    return RegisteredSchool(row["urn"], row["trust_id"], row["status"])


def _replay(key_row: asyncpg.Record, hash_: str) -> Outcome:
    same = key_row["request_hash"] == hash_
    return Outcome(Result.REPLAYED if same else Result.CONFLICT, key_row["demand_id"])


async def submit_many(conn: Connection, requests: Sequence[Request]) -> list[Outcome | Refusal]:
    """Register each request's line, or say why not: one result per request, in order."""
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
    refused = {
        i: key
        for i, (request, result) in enumerate(zip(requests, results, strict=True))
        if result is not None and (key := request.key) is not None
    }
    used = await store.find_keys(conn, list(refused.values()))
    for i, key in refused.items():
        if key in used:
            results[i] = _replay(used[key], hashes[i])
    for (i, _), outcome in zip(
        pending, await _register(conn, [c for _, c in pending]), strict=True
    ):
        results[i] = outcome
    assert all(r is not None for r in results)
    return [r for r in results if r is not None]


async def _register(conn: Connection, candidates: Sequence[_Candidate]) -> list[Outcome]:
    """Insert the lines whose keys are new (claiming the keys), record their events; the rest
    replay or conflict with the line that first used their key."""
    ids = [new_id() for _ in candidates]
    keys = [c.request.key for c in candidates]
    earlier = first_uses(keys)
    firsts = [i for i in range(len(candidates)) if earlier[i] is None]
    claimed = await store.insert_demands(
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
    created = [i for i in firsts if keys[i] is None or keys[i] in claimed]
    # Each other key's first use: earlier in this batch, or a line committed before (perhaps
    # by a transaction we waited for).
    reference: dict[Key, tuple[UUID, str]] = {
        k: (ids[i], candidates[i].request_hash) for i in created if (k := keys[i]) is not None
    }
    lost = [k for i in firsts if (k := keys[i]) is not None and k not in claimed]
    for used, row in (await store.find_keys(conn, lost)).items():
        reference[used] = (row["demand_id"], row["request_hash"])
    new = set(created)
    outcomes: list[Outcome] = []
    for i, (candidate, key) in enumerate(zip(candidates, keys, strict=True)):
        if i in new:
            outcomes.append(Outcome(Result.CREATED, ids[i]))
        else:
            assert key is not None
            demand_id, first_hash = reference[key]
            same = candidate.request_hash == first_hash
            outcomes.append(Outcome(Result.REPLAYED if same else Result.CONFLICT, demand_id))
    events = []
    for i in created:
        request = candidates[i].request
        correlation = request.correlation_id or (request.key[1] if request.key else str(ids[i]))
        # vars, not asdict: asdict deep-copies every field, which the event does not need.
        registered = DemandRegistered(demand_id=ids[i], **vars(candidates[i].line))
        events.append(
            outgoing(registered, trust_id=candidates[i].trust_id, correlation_id=correlation)
        )
    await outbox.record(conn, Topics.DEMAND, events)
    return outcomes


def _count(channel: str, results: Sequence[Outcome | Refusal]) -> None:
    # Tallied first: one metric update per outcome, not per line of a batch.
    outcomes = Counter("refused" if isinstance(r, Refusal) else str(r.result) for r in results)
    for outcome, count in outcomes.items():
        SUBMISSIONS.labels(channel, outcome).inc(count)


def _problem(refusal: Refusal) -> Problem:
    status, title = (403, "Forbidden") if refusal.forbidden else (422, "Invalid demand")
    errors = [field_error(f"body.{refusal.field}", refusal.reason)]
    return Problem(status, title, refusal.reason, errors=errors)


def http_request(
    principal: Principal, submission: DemandSubmission, idempotency_key: str | None
) -> Request:
    """One line sent over HTTP; a repeat with its Idempotency-Key replays it."""
    key = (principal.subject, idempotency_key) if idempotency_key is not None else None
    return Request(submission, acting_for(principal), key)


# What an HTTP submission answers: the line and whether it was created or replayed, or the
# problem to answer with instead.
Answer = tuple[asyncpg.Record, Result] | Problem
Submissions = GroupCommit[Request, Answer]


async def submit_demands(conn: Connection, requests: Sequence[Request]) -> list[Answer]:
    """Register lines sent over HTTP (concurrent requests share one transaction); one answer
    per request, in order."""
    results = await submit_many(conn, requests)
    _count("http", results)
    lines = await store.demands_by_id(
        conn,
        [
            r.demand_id
            for r in results
            if isinstance(r, Outcome) and r.result is not Result.CONFLICT
        ],
    )
    return [_answer(result, lines) for result in results]


def _answer(result: Outcome | Refusal, lines: dict[UUID, asyncpg.Record]) -> Answer:
    if isinstance(result, Refusal):
        return _problem(result)
    if result.result is Result.CONFLICT:
        reason = "this Idempotency-Key was used with a different request body"
        return Problem(
            409,
            "Idempotency key reused",
            reason,
            errors=[field_error("header.Idempotency-Key", reason)],
        )
    return lines[result.demand_id], result.result


# --- CSV import -------------------------------------------------------------------------------


def _row_key(owner: str, row: CsvRow, idempotency_key: str | None) -> Key | None:
    """A row's own submission_id, else one derived from the request's Idempotency-Key."""
    if row.submission.submission_id is not None:
        return owner, row.submission.submission_id
    if idempotency_key is not None:
        return owner, f"{idempotency_key}#{row.line}"
    return None


async def import_demand(
    conn: Connection,
    principal: Principal,
    chunks: Iterable[DemandCsv],
    idempotency_key: str | None,
) -> ImportReport:
    """Register every valid row; report each refused row by line, column and reason. The rows
    come in chunks, in line order, each stored before the next is read; all in the caller's
    transaction, so a file refused part way (CsvFileError from `chunks`) leaves nothing."""
    actor = acting_for(principal)
    batch = f"import-{uuid4()}"
    report = ImportReport()
    for chunk in chunks:
        requests = [
            Request(
                row.submission,
                actor,
                key := _row_key(principal.subject, row, idempotency_key),
                None if key else f"{batch}#{row.line}",
            )
            for row in chunk.rows
        ]
        results = await submit_many(conn, requests)
        _count("csv", results)
        refused = list(chunk.errors)
        for row, result in zip(chunk.rows, results, strict=True):
            if isinstance(result, Refusal):
                refused.append(RowError(row.line, result.field, result.reason))
            elif result.result is Result.CONFLICT:
                column = "submission_id" if row.submission.submission_id is not None else None
                reason = (
                    f"this key was already used for different content (line {result.demand_id})"
                )
                refused.append(RowError(row.line, column, reason))
            else:
                report.accept(row.line, result.demand_id, result.result is Result.REPLAYED)
        refused.sort(key=lambda e: e.line)
        report.refuse(refused)
        report.rows += chunk.data_rows
    return report


# --- Kafka ingress ----------------------------------------------------------------------------


def kafka_key(submission: KafkaSubmission) -> Key:
    return f"kafka:{submission.trust_id}", submission.submission_id


async def submit_records(
    conn: Connection, submissions: Sequence[KafkaSubmission]
) -> list[str | None]:
    """Register the ingress's submissions: for each, None if registered or a retry of one,
    else the reason it is refused (it goes to the dead-letter topic)."""
    actors = {t: ActingFor(trust_id=t) for t in {s.trust_id for s in submissions}}
    requests = [Request(s, actors[s.trust_id], kafka_key(s), s.submission_id) for s in submissions]
    results = await submit_many(conn, requests)
    _count("kafka", results)
    reasons: list[str | None] = []
    for submission, result in zip(submissions, results, strict=True):
        if isinstance(result, Refusal):
            reasons.append(f"{result.field}: {result.reason}")
        elif result.result is Result.CONFLICT:
            reasons.append(
                f"submission_id: {submission.submission_id} was already used for a different"
                f" submission (demand line {result.demand_id})"
            )
        else:
            reasons.append(None)
    return reasons


# --- reading, amending, withdrawing -----------------------------------------------------------


async def visible_demand(
    conn: Connection, principal: Principal, demand_id: UUID, *, for_update: bool = False
) -> asyncpg.Record:
    """The line if the caller may see it: a school its own lines, a manager its trust's."""
    require_role(principal, Role.SCHOOL, Role.MANAGER)
    row = await store.get_demand(conn, demand_id, for_update=for_update)
    visible = row is not None and (
        (principal.role is Role.SCHOOL and row["school_urn"] == principal.scope)
        or (principal.role is Role.MANAGER and row["trust_id"] == principal.scope)
    )
    if not visible:
        # The same answer for "absent" and "not yours", so ids of other trusts are not probed.
        raise Problem(404, "Not found", f"no demand line {demand_id} for this token")
    assert row is not None
    return row


@dataclass(frozen=True)
class Filters:
    school_urn: str | None = None
    category: str | None = None
    status: str | None = None


async def list_demand(
    conn: Connection,
    principal: Principal,
    filters: Filters,
    after: Position | None,
    limit: int,
) -> list[asyncpg.Record]:
    """The caller's lines (a school's own, a manager's trust's) that match the filters."""
    require_role(principal, Role.SCHOOL, Role.MANAGER)
    school_urn = filters.school_urn
    if principal.role is Role.SCHOOL:
        if school_urn not in (None, principal.scope):
            reason = f"a token for school {principal.scope} sees only that school's lines"
            raise Problem(
                403, "Forbidden", reason, errors=[field_error("query.school_urn", reason)]
            )
        school_urn = principal.scope
    return await store.list_demands(
        conn,
        trust_id=principal.scope if principal.role is Role.MANAGER else None,
        school_urn=school_urn,
        category=filters.category,
        status=filters.status,
        after=(after.created_at, after.demand_id) if after else None,
        limit=limit,
    )


def _fields(row: asyncpg.Record) -> LineFields:
    return LineFields(**{name: row[name] for name in LineFields.__annotations__})


def _unchangeable(row: asyncpg.Record) -> None:
    reason = change_refusal(row["status"], row["tender_id"])
    if reason is not None:
        raise Problem(409, "Demand line cannot change", reason, line_status=row["status"])


async def amend_demand(
    conn: Connection, principal: Principal, demand_id: UUID, patch: DemandAmendment
) -> asyncpg.Record:
    """Apply a merge patch to an open line; emits demand.amended if anything changed."""
    row = await visible_demand(conn, principal, demand_id, for_update=True)
    _unchangeable(row)
    before = _fields(row)
    after = amended_line(before, patch, categories())
    if isinstance(after, Refusal):
        raise _problem(after)
    if after == before:
        return row
    updated = await store.update_demand(conn, demand_id, after)
    amended = DemandAmended(demand_id=demand_id, **asdict(after))
    event = outgoing(amended, trust_id=row["trust_id"], correlation_id=str(demand_id))
    await outbox.record(conn, Topics.DEMAND, [event])
    return updated


async def withdraw_demand(
    conn: Connection, principal: Principal, demand_id: UUID, reason: str | None
) -> asyncpg.Record:
    """Withdraw an open line (emits demand.withdrawn); withdrawing it again changes nothing."""
    row = await visible_demand(conn, principal, demand_id, for_update=True)
    if row["status"] == WITHDRAWN:
        return row
    _unchangeable(row)
    who = "the school" if principal.role is Role.SCHOOL else "the trust"
    updated = await store.withdraw_demand(conn, demand_id, reason or f"withdrawn by {who}")
    event = outgoing(_withdrawn(updated), trust_id=row["trust_id"], correlation_id=str(demand_id))
    await outbox.record(conn, Topics.DEMAND, [event])
    return updated

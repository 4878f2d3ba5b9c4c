"""The demand service's verbs. Each runs in the caller's transaction and records its events in
the outbox in that same transaction."""

import hashlib
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

import asyncpg

from services.demand import store
from services.demand.registry import CLOSED, RegistryFile, School
from services.demand.rules import DemandSubmission
from shared import outbox
from shared.auth import Principal, Role
from shared.categories import categories
from shared.db import Connection
from shared.events import (
    DemandRegistered,
    Envelope,
    SchoolJoined,
    SchoolLeft,
    Topics,
    new_event,
)
from shared.http import Problem, field_error


@dataclass(frozen=True)
class RegistryReport:
    schools: int
    joined: int
    left: int
    unchanged: int
    skipped_without_trust: int


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


async def load_registry(
    conn: Connection, registry: RegistryFile, correlation_id: str
) -> RegistryReport:
    """Upsert the schools; emit events only for real changes (new, moved, changed, closed)."""
    existing = await store.schools_by_urn(conn, [s.urn for s in registry.schools])
    events: list[Envelope] = []
    joined = left = unchanged = 0
    for school in registry.schools:
        before = existing.get(school.urn)
        if (
            before is not None
            and School(**{k: before[k] for k in School.__annotations__}) == school
        ):
            unchanged += 1
            continue
        if before is not None and before["trust_id"] != school.trust_id:
            reason = f"moved to trust {school.trust_id}"
            events.append(
                new_event(
                    SchoolLeft(urn=school.urn, reason=reason),
                    trust_id=before["trust_id"],
                    correlation_id=correlation_id,
                )
            )
            left += 1
        events.append(
            new_event(_joined(school), trust_id=school.trust_id, correlation_id=correlation_id)
        )
        joined += 1
    await store.upsert_schools(conn, registry.schools)
    await outbox.record(conn, Topics.REGISTRY, events)
    return RegistryReport(
        len(registry.schools), joined, left, unchanged, registry.skipped_without_trust
    )


def _request_hash(submission: DemandSubmission) -> str:
    return hashlib.sha256(submission.model_dump_json().encode()).hexdigest()


async def _check_submission(
    conn: Connection, principal: Principal, submission: DemandSubmission
) -> asyncpg.Record:
    """The school the submission is for, if the caller may submit it; else a Problem."""
    if principal.role is Role.SCHOOL and principal.scope != submission.school_urn:
        raise Problem(
            403, "Forbidden", f"a school token for {principal.scope} posts only for itself"
        )
    school = await store.get_school(conn, submission.school_urn)
    if school is None:
        raise Problem(
            422,
            "Unknown school",
            errors=[
                field_error("school_urn", f"URN {submission.school_urn} is not in the registry")
            ],
        )
    if principal.role is Role.MANAGER and school["trust_id"] != principal.scope:
        raise Problem(403, "Forbidden", f"school {school['urn']} is not in trust {principal.scope}")
    if school["status"] == CLOSED:
        raise Problem(
            422,
            "Closed school",
            errors=[field_error("school_urn", f"school {school['urn']} is closed")],
        )
    category = categories().get(submission.category)
    if category is None:
        raise Problem(
            422,
            "Unknown category",
            errors=[
                field_error("category", f"known categories: {', '.join(sorted(categories()))}")
            ],
        )
    if submission.unit != category.unit:
        raise Problem(
            422,
            "Wrong unit",
            errors=[field_error("unit", f"{category.code} is measured in {category.unit}")],
        )
    return school


async def submit_demand(
    conn: Connection,
    principal: Principal,
    submission: DemandSubmission,
    idempotency_key: str | None,
) -> tuple[asyncpg.Record, bool]:
    """Register a demand line; returns it and whether it is new (False: an idempotent repeat)."""
    school = await _check_submission(conn, principal, submission)
    request_hash = _request_hash(submission)
    if idempotency_key is not None:
        await store.lock_idempotency_key(conn, principal.subject, idempotency_key)
        seen = await store.find_idempotency_key(conn, principal.subject, idempotency_key)
        if seen is not None:
            if seen["request_hash"] != request_hash:
                raise Problem(
                    409,
                    "Idempotency key reused",
                    "this Idempotency-Key was used with a different request body",
                )
            original = await store.get_demand(conn, seen["demand_id"])
            assert original is not None
            return original, False
    demand_id = uuid4()
    line: dict[str, Any] = submission.model_dump() | {
        "demand_id": demand_id,
        "trust_id": school["trust_id"],
    }
    row = await store.insert_demand(conn, line)
    if idempotency_key is not None:
        await store.save_idempotency_key(
            conn, principal.subject, idempotency_key, request_hash, demand_id
        )
    event = new_event(
        DemandRegistered(**submission.model_dump() | {"demand_id": demand_id}),
        trust_id=school["trust_id"],
        correlation_id=idempotency_key or str(demand_id),
    )
    await outbox.record(conn, Topics.DEMAND, [event])
    return row, True


async def read_demand(conn: Connection, principal: Principal, demand_id: UUID) -> asyncpg.Record:
    row = await store.get_demand(conn, demand_id)
    visible = row is not None and (
        (principal.role is Role.SCHOOL and row["school_urn"] == principal.scope)
        or (principal.role is Role.MANAGER and row["trust_id"] == principal.scope)
    )
    if not visible:
        # The same answer for "absent" and "not yours", so ids of other trusts are not probed.
        raise Problem(404, "Not found", f"no demand line {demand_id} for this token")
    assert row is not None
    return row

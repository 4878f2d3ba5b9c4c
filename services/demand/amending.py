"""Amending and withdrawing a demand line: only while it is open, never once it is in a tender,
awarded or withdrawn (docs/domain-rules.md, "Demand line"; docs/events.md, `demand.amended`,
`demand.withdrawn`). Each verb runs in the caller's unit of work and emits its event there."""

from dataclasses import asdict
from uuid import UUID

import asyncpg

from services.demand import store
from services.demand.domain.errors import LineCannotChange
from services.demand.domain.lines import (
    WITHDRAWN,
    LineFields,
    Refusal,
    amended_line,
    change_refusal,
)
from services.demand.domain.submissions import Amendment
from services.demand.reading import visible_demand
from services.demand.submitting import refused
from shared.auth import Principal, Role
from shared.domain.categories import categories
from shared.events import DemandAmended, DemandWithdrawn, Topics, outgoing
from shared.unit_of_work import UnitOfWork


def withdrawn(row: asyncpg.Record) -> DemandWithdrawn:
    """The event of a line just withdrawn (by its school or trust, or by a registry change)."""
    return DemandWithdrawn(
        demand_id=row["demand_id"],
        school_urn=row["school_urn"],
        category=row["category"],
        reason=row["status_reason"],
    )


def _fields(row: asyncpg.Record) -> LineFields:
    return LineFields(**{name: row[name] for name in LineFields.__annotations__})


def _unchangeable(row: asyncpg.Record) -> None:
    reason = change_refusal(row["status"], row["tender_id"])
    if reason is not None:
        raise LineCannotChange(reason, line_status=row["status"])


async def amend_demand(
    work: UnitOfWork, principal: Principal, demand_id: UUID, patch: Amendment
) -> asyncpg.Record:
    """Apply a merge patch to an open line; emits demand.amended if anything changed."""
    row = await visible_demand(work.conn, principal, demand_id, for_update=True)
    _unchangeable(row)
    before = _fields(row)
    after = amended_line(before, patch, categories())
    if isinstance(after, Refusal):
        raise refused(after)
    if after == before:
        return row
    updated = await store.update_demand(work.conn, demand_id, after)
    amended = DemandAmended(demand_id=demand_id, **asdict(after))
    work.emit(
        Topics.DEMAND,
        [outgoing(amended, trust_id=row["trust_id"], correlation_id=str(demand_id))],
    )
    return updated


async def withdraw_demand(
    work: UnitOfWork, principal: Principal, demand_id: UUID, reason: str | None
) -> asyncpg.Record:
    """Withdraw an open line (emits demand.withdrawn); withdrawing it again changes nothing."""
    row = await visible_demand(work.conn, principal, demand_id, for_update=True)
    if row["status"] == WITHDRAWN:
        return row
    _unchangeable(row)
    who = "the school" if principal.role is Role.SCHOOL else "the trust"
    updated = await store.withdraw_demand(work.conn, demand_id, reason or f"withdrawn by {who}")
    work.emit(
        Topics.DEMAND,
        [outgoing(withdrawn(updated), trust_id=row["trust_id"], correlation_id=str(demand_id))],
    )
    return updated

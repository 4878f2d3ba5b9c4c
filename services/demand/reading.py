"""Reading demand lines: a school sees its own, a manager its trust's (docs/http-api.md). The
routes have checked that the caller is a school or a manager."""

from dataclasses import dataclass
from uuid import UUID

import asyncpg

from services.demand import spend_store, store
from services.demand.domain.errors import DemandLineNotFound, NotForThisSchool, SpendLineNotFound
from services.demand.domain.paging import Position
from shared.auth import Principal, Role
from shared.db import Connection
from shared.domain.errors import NotFound


async def visible_demand(
    conn: Connection, principal: Principal, demand_id: UUID, *, for_update: bool = False
) -> asyncpg.Record:
    """The line if the caller may see it: a school its own lines, a manager its trust's."""
    row = await store.get_demand(conn, demand_id, for_update=for_update)
    return _visible(principal, row, DemandLineNotFound(demand_id))


def _visible(principal: Principal, row: asyncpg.Record | None, absent: NotFound) -> asyncpg.Record:
    """The row if the caller may see it, else `absent` is raised: the same answer for
    "absent" and "not yours", so ids of other trusts are not probed."""
    if row is not None and (
        (principal.role is Role.SCHOOL and row["school_urn"] == principal.scope)
        or (principal.role is Role.MANAGER and row["trust_id"] == principal.scope)
    ):
        return row
    raise absent


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
    return await _page(conn, principal, filters, after, limit, "demand_lines", "demand_id")


async def list_spend(
    conn: Connection, principal: Principal, filters: Filters, after: Position | None, limit: int
) -> list[asyncpg.Record]:
    """The caller's spend lines (a school's own, a manager's trust's) matching the filters."""
    return await _page(conn, principal, filters, after, limit, "spend_lines", "spend_id")


async def _page(
    conn: Connection,
    principal: Principal,
    filters: Filters,
    after: Position | None,
    limit: int,
    table: store.Table,
    id_column: store.IdColumn,
) -> list[asyncpg.Record]:
    trust_id, school_urn = _scope(principal, filters.school_urn)
    columns: dict[store.FilterColumn, str | None] = {
        "trust_id": trust_id,
        "school_urn": school_urn,
        "category": filters.category,
    }
    if filters.status is not None:  # demand lines only
        columns["status"] = filters.status
    position = (after.created_at, after.demand_id) if after else None
    return await store.page(conn, table, id_column, columns, position, limit)


def _scope(principal: Principal, school_urn: str | None) -> tuple[str | None, str | None]:
    """(trust, school) a listing is limited to: a manager's trust, a school's own URN."""
    if principal.role is Role.SCHOOL:
        if school_urn not in (None, principal.scope):
            reason = f"a token for school {principal.scope} sees only that school's lines"
            raise NotForThisSchool("query.school_urn", reason)
        return None, principal.scope
    return principal.scope, school_urn


async def visible_spend(conn: Connection, principal: Principal, spend_id: UUID) -> asyncpg.Record:
    """The spend line if the caller may see it: a school its own, a manager its trust's."""
    row = (await spend_store.spend_by_id(conn, [spend_id])).get(spend_id)
    return _visible(principal, row, SpendLineNotFound(spend_id))

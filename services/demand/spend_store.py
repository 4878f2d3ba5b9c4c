"""SQL of spend lines, with bound parameters only; bulk writes are one statement over arrays."""

from collections.abc import Sequence
from dataclasses import astuple, dataclass
from datetime import date
from uuid import UUID

import asyncpg

from services.demand import store
from services.demand.domain.lines import WITHDRAWN
from services.demand.domain.spend import SpendFields
from shared.db import Connection

Key = tuple[str, str]  # (school_urn, invoice_ref)


@dataclass(slots=True)
class NewSpend:
    spend_id: UUID
    trust_id: str
    line: SpendFields
    request_hash: str


# The line's own columns are SpendFields', in its order (astuple below).
_SPEND_COLUMNS = store.column_types(
    "spend_id uuid, trust_id text, school_urn text, category text, unit text, supplier text,"
    " invoice_ref text, period_start date, period_end date, quantity numeric, amount numeric,"
    " request_hash text"
)


async def insert_spend(conn: Connection, lines: Sequence[NewSpend]) -> set[Key]:
    """Insert the lines in one statement, except those whose (school, invoice_ref) is already
    used; returns the keys inserted (store.insert_new)."""
    rows = await store.insert_new(
        conn,
        "spend_lines",
        _SPEND_COLUMNS,
        ("school_urn", "invoice_ref"),
        ((n.spend_id, n.trust_id, *astuple(n.line), n.request_hash) for n in lines),
    )
    return {(r["school_urn"], r["invoice_ref"]) for r in rows}


async def find_invoices(conn: Connection, keys: Sequence[Key]) -> dict[Key, store.Used]:
    """The (school, invoice_ref) pairs already recorded, with their line and request hash."""
    return await store.used_keys(
        conn, "spend_lines", "spend_id", ("school_urn", "invoice_ref"), keys
    )


async def spend_by_id(conn: Connection, spend_ids: Sequence[UUID]) -> dict[UUID, asyncpg.Record]:
    return await store.rows_by_id(conn, "spend_lines", "spend_id", spend_ids)


async def trust_schools(conn: Connection, trust_id: str) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT urn, trust_id, status FROM schools WHERE trust_id = $1 ORDER BY urn", trust_id
    )


async def spend_since(
    conn: Connection, trust_id: str, category: str, since: date, until: date
) -> list[asyncpg.Record]:
    """The trust's spend lines in a category whose period overlaps [since, until], oldest
    first (by period, then as recorded)."""
    return await conn.fetch(
        "SELECT school_urn, supplier, period_start, period_end, quantity, amount"
        " FROM spend_lines WHERE trust_id = $1 AND category = $2"
        " AND period_end >= $3 AND period_start <= $4"
        " ORDER BY school_urn, period_end, period_start, created_at, spend_id",
        trust_id,
        category,
        since,
        until,
    )


async def schools_with_live_demand(
    conn: Connection, trust_id: str, category: str
) -> dict[str, str]:
    """The trust's schools with a demand line in `category` that is not withdrawn, each with
    the status of one such line (open, in_tender or awarded)."""
    rows = await conn.fetch(
        "SELECT DISTINCT ON (school_urn) school_urn, status FROM demand_lines"
        " WHERE trust_id = $1 AND category = $2 AND status <> $3"
        " ORDER BY school_urn, created_at DESC",
        trust_id,
        category,
        WITHDRAWN,
    )
    return {r["school_urn"]: r["status"] for r in rows}


async def lock_trust_category(conn: Connection, trust_id: str, category: str) -> None:
    """Until the transaction ends: one one-step demand run per trust and category."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtext('spend-demand'), hashtext($1))",
        f"{trust_id}/{category}",
    )

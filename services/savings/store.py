"""SQL of the savings service: the ledger, school names, and the sums its reports are made of.

Every sum adds ledger entries that were each rounded to pence when recorded, so a total always
equals the sum of what each school was shown.
"""

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime
from decimal import Decimal
from operator import attrgetter
from typing import Any
from uuid import UUID

import asyncpg

from services.savings.domain.ledger import MONEY, Figures
from shared.db import Connection


@dataclass(frozen=True)
class LedgerRow(Figures):
    """One ledger entry as stored: its six figures (the fields of Figures, first) and what they
    are of."""

    entry_id: UUID
    trust_id: str
    tender_id: UUID
    bid_id: UUID
    supplier_id: str
    demand_id: UUID
    school_urn: str
    category: str
    unit: str
    quantity: Decimal
    baseline_unit_price: Decimal
    pooled_unit_price: Decimal
    solo_unit_price: Decimal
    term_months: int
    contract_start: date
    rule_version: str
    source_event_id: UUID
    recorded_at: datetime
    lot: int | None
    lot_name: str | None
    standstill_ends: date | None
    # The school's own supply window (docs/domain-rules.md, "Supply start, per school").
    supply_start: date
    supply_end: date
    # The winning bidder's trading name, from the award event (None in older events).
    supplier_name: str | None = None


# The columns of ledger_entries a row fills, in the order of its fields, and a row's values in
# that order: what executemany and COPY take.
LEDGER_COLUMNS = tuple(field.name for field in fields(LedgerRow))
_values = attrgetter(*LEDGER_COLUMNS)


def as_record(row: LedgerRow) -> tuple[Any, ...]:
    return tuple(_values(row))


# A constant made of the column names above; a re-recorded entry is a duplicate and is skipped.
_INSERT_ENTRY = (
    f"INSERT INTO ledger_entries ({', '.join(LEDGER_COLUMNS)})"  # noqa: S608 (constants)
    f" VALUES ({', '.join(f'${n}' for n in range(1, len(LEDGER_COLUMNS) + 1))})"
    " ON CONFLICT (tender_id, demand_id) DO NOTHING"
)


async def upsert_schools(conn: Connection, schools: Sequence[tuple[str, str, str, str]]) -> None:
    """(urn, trust_id, name, trust_name) of each school, in order: the last word wins."""
    await conn.executemany(
        "INSERT INTO schools (urn, trust_id, name, trust_name) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (urn) DO UPDATE SET trust_id = EXCLUDED.trust_id, name = EXCLUDED.name,"
        " trust_name = EXCLUDED.trust_name",
        schools,
    )


async def award_recorded(conn: Connection, tender_id: UUID, demand_ids: list[UUID]) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM ledger_entries"
            " WHERE tender_id = $1 AND demand_id = ANY($2::uuid[]))",
            tender_id,
            demand_ids,
        )
    )


async def insert_entries(conn: Connection, rows: Sequence[LedgerRow]) -> None:
    await conn.executemany(_INSERT_ENTRY, [as_record(row) for row in rows])


async def trust_name(conn: Connection, trust_id: str) -> str | None:
    name: str | None = await conn.fetchval(
        "SELECT trust_name FROM schools WHERE trust_id = $1 AND trust_name IS NOT NULL"
        " ORDER BY urn LIMIT 1",
        trust_id,
    )
    return name


async def school(conn: Connection, trust_id: str, urn: str) -> asyncpg.Record | None:
    """A school of the trust: registered in it, or with entries in its ledger."""
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT $2::text AS urn, (SELECT name FROM schools WHERE urn = $2) AS name"
        " WHERE EXISTS (SELECT 1 FROM schools WHERE urn = $2 AND trust_id = $1)"
        " OR EXISTS (SELECT 1 FROM ledger_entries WHERE trust_id = $1 AND school_urn = $2)",
        trust_id,
        urn,
    )
    return row


# The start of each query of sums below: the money figures of a group of entries, by name, then
# the query's own columns (a constant: the queries add only bound parameters to it). Entries were
# each rounded to pence; percentages are worked out from these sums.
_SELECT_SUMS = "SELECT " + ", ".join(f"sum({name}) AS {name}" for name in MONEY) + ","


async def school_totals(conn: Connection, trust_id: str) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"{_SELECT_SUMS} l.school_urn AS urn, s.name, count(*) AS lines"
        " FROM ledger_entries l LEFT JOIN schools s ON s.urn = l.school_urn"
        " WHERE l.trust_id = $1 GROUP BY l.school_urn, s.name ORDER BY l.school_urn",
        trust_id,
    )


async def category_totals(conn: Connection, trust_id: str) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"{_SELECT_SUMS} category, unit, count(DISTINCT school_urn) AS schools,"
        " count(DISTINCT tender_id) AS contracts, sum(quantity) AS quantity"
        " FROM ledger_entries WHERE trust_id = $1 GROUP BY category, unit ORDER BY category, unit",
        trust_id,
    )


async def contract_totals(conn: Connection, trust_id: str) -> list[asyncpg.Record]:
    """One row per award: every entry of an award shares its bid, supplier, price, term and
    start; each school's supply starts on its own day, the first and last of which are given.
    Awards in order of their first supply start."""
    return await conn.fetch(
        f"{_SELECT_SUMS} tender_id, category, unit, supplier_id, supplier_name, bid_id,"
        " contract_start, term_months, pooled_unit_price, rule_version,"
        " count(DISTINCT school_urn) AS schools, sum(quantity) AS pooled_quantity,"
        " min(supply_start) AS first_supply_start, max(supply_start) AS last_supply_start"
        " FROM ledger_entries WHERE trust_id = $1"
        " GROUP BY tender_id, category, unit, supplier_id, supplier_name, bid_id, contract_start,"
        " term_months, pooled_unit_price, rule_version"
        " ORDER BY first_supply_start, category, tender_id, bid_id",
        trust_id,
    )


async def month_totals(conn: Connection, trust_id: str) -> list[asyncpg.Record]:
    """Each entry's figures in the month its school's supply starts (docs/domain-rules.md,
    "Supply start, per school"), with how many contracts start supplying a school that month."""
    return await conn.fetch(
        f"{_SELECT_SUMS} date_trunc('month', supply_start)::date AS month,"
        " count(DISTINCT tender_id) AS contracts"
        " FROM ledger_entries WHERE trust_id = $1 GROUP BY month ORDER BY month",
        trust_id,
    )


# Ledger entries with their school's name, as the read API shows them (a constant: the
# queries below add only bound parameters to it).
_ENTRIES = (
    "SELECT l.entry_id, l.tender_id, l.bid_id, l.supplier_id, l.supplier_name, l.demand_id,"
    " l.school_urn,"
    " s.name AS school_name, l.category, l.unit, l.quantity, l.baseline_unit_price,"
    " l.pooled_unit_price, l.solo_unit_price, l.term_months, l.contract_start,"
    " l.annual_baseline_cost, l.annual_contract_cost, l.annual_saving, l.term_saving,"
    " l.saving_pct, l.economy_of_scale, l.rule_version, l.source_event_id, l.recorded_at,"
    " l.lot, l.lot_name, l.standstill_ends, l.supply_start, l.supply_end"
    " FROM ledger_entries l LEFT JOIN schools s ON s.urn = l.school_urn"
)


async def entries(conn: Connection, trust_id: str, urn: str | None = None) -> list[asyncpg.Record]:
    """The trust's ledger (or one school's part of it), oldest contracts first."""
    return await conn.fetch(
        f"{_ENTRIES} WHERE l.trust_id = $1 AND ($2::text IS NULL OR l.school_urn = $2)"
        " ORDER BY l.contract_start, l.category, l.school_urn, l.entry_id",
        trust_id,
        urn,
    )


async def school_entries(conn: Connection, urn: str) -> list[asyncpg.Record]:
    """One school's ledger entries, whichever trust's contracts they are in, oldest first."""
    return await conn.fetch(
        f"{_ENTRIES} WHERE l.school_urn = $1 ORDER BY l.contract_start, l.category, l.entry_id",
        urn,
    )


async def known_school(conn: Connection, urn: str) -> asyncpg.Record | None:
    """A school registered, or with entries in the ledger: its URN and name (if registered)."""
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT $1::text AS urn, (SELECT name FROM schools WHERE urn = $1) AS name"
        " WHERE EXISTS (SELECT 1 FROM schools WHERE urn = $1)"
        " OR EXISTS (SELECT 1 FROM ledger_entries WHERE school_urn = $1)",
        urn,
    )
    return row


async def contract_entries(
    conn: Connection, trust_id: str, tender_id: UUID
) -> list[asyncpg.Record]:
    """One tender's entries in the trust's ledger: awards (lots) in order, and in each award
    the schools' lines by saving, largest first."""
    return await conn.fetch(
        f"{_ENTRIES} WHERE l.trust_id = $1 AND l.tender_id = $2"
        " ORDER BY l.lot, l.contract_start, l.supplier_id, l.bid_id, l.annual_saving DESC,"
        " l.school_urn, l.entry_id",
        trust_id,
        tender_id,
    )

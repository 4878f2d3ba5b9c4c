"""SQL of savings achieved: spend lines with their classification, and what awards add for it
(docs/domain-rules.md, "Savings achieved")."""

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import NamedTuple
from uuid import UUID

import asyncpg

from shared.db import Connection, as_columns


class Classification(NamedTuple):
    """A spend line's classification as stored, in the column order of its statements."""

    status: str
    entry_id: UUID | None
    tender_id: UUID | None
    lot: int | None
    contract_supplier_id: str | None
    baseline_unit_price: Decimal | None
    contract_unit_price: Decimal | None
    baseline_cost: Decimal | None
    contract_cost: Decimal | None
    realised_saving: Decimal | None
    expected_saving: Decimal | None
    price_variance: Decimal | None
    off_contract_spend: Decimal | None
    leakage: Decimal | None
    rule_version: str


async def lock(conn: Connection, keys: Iterable[tuple[str, str]]) -> None:
    """Until the transaction ends, the spend and contracts of these (trust, category) pairs are
    this transaction's to classify: a spend line recorded while an award of its category is (on
    another instance of the service) would otherwise see neither the award's entries nor be
    seen by its reclassification. One call takes its locks in one order; a batch that takes
    more in several calls can deadlock with another instance's batch, which PostgreSQL breaks by
    failing one, and the inbox then applies that batch's events one by one."""
    pairs = sorted(set(keys))
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended(key, 17))"
        " FROM (SELECT DISTINCT trust_id || '/' || category AS key"
        " FROM unnest($1::text[], $2::text[]) AS k(trust_id, category) ORDER BY key) AS keys",
        *as_columns(pairs, 2),
    )


async def insert_lines(conn: Connection, rows: Sequence[tuple[object, ...]]) -> None:
    """Rows of: a `spend.recorded` line's fields in their order (spend_id, school_urn, category,
    unit, supplier, invoice_ref, period_start, period_end, quantity, amount), then trust_id,
    source_event_id and recorded_at, then its Classification. A line already recorded (its
    spend_id, or its school's invoice_ref) stays as it is."""
    await conn.executemany(
        "INSERT INTO spend_lines (spend_id, school_urn, category, unit, supplier, invoice_ref,"
        " period_start, period_end, quantity, amount, trust_id, source_event_id, recorded_at,"
        " status, entry_id, tender_id, lot, contract_supplier_id, baseline_unit_price,"
        " contract_unit_price, baseline_cost, contract_cost, realised_saving, expected_saving,"
        " price_variance, off_contract_spend, leakage, rule_version) VALUES"
        " ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19,"
        " $20, $21, $22, $23, $24, $25, $26, $27, $28) ON CONFLICT DO NOTHING",
        rows,
    )


async def contracts(conn: Connection, keys: Sequence[tuple[str, str, str]]) -> list[asyncpg.Record]:
    """The ledger entries of these (trust, school, category) triples: the contracts their spend
    is classified against."""
    return await conn.fetch(
        "SELECT l.trust_id, entry_id, l.school_urn, l.category, tender_id, lot, supplier_id,"
        " supply_start, supply_end, baseline_unit_price, pooled_unit_price AS unit_price"
        " FROM unnest($1::text[], $2::text[], $3::text[]) AS k(trust_id, school_urn, category)"
        " JOIN ledger_entries l ON l.trust_id = k.trust_id AND l.school_urn = k.school_urn"
        " AND l.category = k.category",
        *as_columns(keys, 3),
    )


async def lines_of(
    conn: Connection, trust_id: str, category: str, urns: Sequence[str]
) -> list[asyncpg.Record]:
    """The trust's spend lines of these schools in one category, to classify again."""
    return await conn.fetch(
        "SELECT spend_id, school_urn, category, supplier, period_start, period_end, quantity,"
        " amount FROM spend_lines"
        " WHERE trust_id = $1 AND category = $2 AND school_urn = ANY($3::text[])",
        trust_id,
        category,
        list(urns),
    )


async def reclassify(conn: Connection, rows: Sequence[tuple[object, ...]]) -> None:
    """(spend_id, *Classification) rows."""
    await conn.executemany(
        "UPDATE spend_lines SET status = $2, entry_id = $3, tender_id = $4, lot = $5,"
        " contract_supplier_id = $6, baseline_unit_price = $7, contract_unit_price = $8,"
        " baseline_cost = $9, contract_cost = $10, realised_saving = $11, expected_saving = $12,"
        " price_variance = $13, off_contract_spend = $14, leakage = $15, rule_version = $16"
        " WHERE spend_id = $1",
        rows,
    )


async def record_tier(
    conn: Connection,
    tender_id: UUID,
    lot: int | None,
    trust_id: str,
    tier_minimum: Decimal | None,
    source_event_id: UUID,
) -> None:
    """An award's tier minimum; an award sent in parts records it with its first part."""
    await conn.execute(
        "INSERT INTO award_tiers (tender_id, lot, trust_id, tier_minimum, source_event_id)"
        " VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        tender_id,
        lot,
        trust_id,
        tier_minimum,
        source_event_id,
    )


# Spend lines as the reports show them, with their school's name (a constant: the queries below
# add only bound parameters to it).
_LINES = (
    "SELECT l.spend_id, l.trust_id, l.school_urn, s.name AS school_name, l.category, l.unit,"
    " l.supplier, l.invoice_ref, l.period_start, l.period_end, l.quantity, l.amount, l.status,"
    " l.tender_id, l.lot, l.contract_supplier_id, l.baseline_unit_price, l.contract_unit_price,"
    " l.baseline_cost, l.contract_cost, l.realised_saving, l.expected_saving, l.price_variance,"
    " l.off_contract_spend, l.leakage, l.rule_version, l.source_event_id, l.recorded_at"
    " FROM spend_lines l LEFT JOIN schools s ON s.urn = l.school_urn"
)
_ORDER = " ORDER BY l.period_start, l.school_urn, l.category, l.invoice_ref, l.spend_id"


async def trust_lines(conn: Connection, trust_id: str) -> list[asyncpg.Record]:
    """Every spend line of the trust, oldest periods first."""
    return await conn.fetch(f"{_LINES} WHERE l.trust_id = $1{_ORDER}", trust_id)


async def school_lines(conn: Connection, urn: str) -> list[asyncpg.Record]:
    """One school's spend lines, in whichever trust it was invoiced, oldest periods first."""
    return await conn.fetch(f"{_LINES} WHERE l.school_urn = $1{_ORDER}", urn)


async def trust_contracts(conn: Connection, trust_id: str) -> list[asyncpg.Record]:
    """One row per award (a tender's lot) in the trust's ledger, with its supplier's name (as
    its winning bid gave it, if it did) and its tier minimum."""
    return await conn.fetch(
        "SELECT l.tender_id, l.lot, l.category, l.supplier_id, max(l.supplier_name)"
        " AS supplier_name, t.tier_minimum"
        " FROM ledger_entries l LEFT JOIN award_tiers t"
        " ON t.tender_id = l.tender_id AND t.lot IS NOT DISTINCT FROM l.lot"
        " WHERE l.trust_id = $1"
        " GROUP BY l.tender_id, l.lot, l.category, l.supplier_id, t.tier_minimum"
        " ORDER BY min(l.contract_start), l.category, l.tender_id, l.lot NULLS FIRST",
        trust_id,
    )

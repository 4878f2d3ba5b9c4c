"""The savings read models: what the JSON API, the CSV export, the dashboard and the CLI show.

Every figure is a sum of ledger entries (each rounded to pence when recorded); percentages are
worked out from those sums. A negative saving is a cost increase and stays negative here.
"""

import csv
import io
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol
from uuid import UUID

import asyncpg
from pydantic import BaseModel

from services.savings import store
from shared.db import Connection
from shared.money import Amount, percentage

ZERO = Decimal("0.00")


class Figures(BaseModel):
    """The annual figures of a group of ledger entries."""

    annual_baseline_cost: Amount
    annual_contract_cost: Amount
    annual_saving: Amount
    term_saving: Amount
    saving_pct: Amount | None
    economy_of_scale: Amount


MONEY_FIELDS = (
    "annual_baseline_cost",
    "annual_contract_cost",
    "annual_saving",
    "term_saving",
    "economy_of_scale",
)


class Row(Protocol):
    """A database record or a dict of sums: figures are read by column name."""

    def __getitem__(self, key: str, /) -> Any: ...


def figures(row: Row) -> dict[str, Any]:
    """A row's money sums, and its saving as a percentage of its baseline."""
    return {
        "annual_baseline_cost": row["annual_baseline_cost"],
        "annual_contract_cost": row["annual_contract_cost"],
        "annual_saving": row["annual_saving"],
        "term_saving": row["term_saving"],
        "saving_pct": percentage(row["annual_saving"], row["annual_baseline_cost"]),
        "economy_of_scale": row["economy_of_scale"],
    }


def summed(rows: Sequence[Row]) -> dict[str, Any]:
    """The figures of a group of rows: sums of their money, and the percentage of those sums."""
    return figures({f: sum((r[f] for r in rows), ZERO) for f in MONEY_FIELDS})


class SchoolSavings(BaseModel):
    urn: str
    name: str | None
    annual_baseline_cost: Amount
    annual_contract_cost: Amount
    annual_saving: Amount
    term_saving: Amount
    saving_pct: Amount | None
    economy_of_scale: Amount


class CategorySavings(BaseModel):
    """A category's line in the trust summary (its fields are fixed by DESIGN.md section 6)."""

    category: str
    annual_baseline_cost: Amount
    annual_saving: Amount
    term_saving: Amount
    saving_pct: Amount | None


class TrustSavings(BaseModel):
    trust_id: str
    trust_name: str | None
    annual_baseline_cost: Amount
    annual_contract_cost: Amount
    annual_saving: Amount
    term_saving: Amount
    saving_pct: Amount | None
    economy_of_scale: Amount
    schools: list[SchoolSavings]
    categories: list[CategorySavings]


class CategoryBreakdown(Figures):
    category: str
    unit: str
    schools: int
    contracts: int
    quantity: Amount


class AwardTerms(Figures):
    """What an award agreed, shared by every entry recorded from it, and what it saves."""

    bid_id: UUID
    supplier_id: str
    contract_start: date
    term_months: int
    schools: int
    pooled_quantity: Amount
    pooled_unit_price: Amount
    rule_version: str


class ContractSavings(AwardTerms):
    """One joint contract (an awarded tender) and what it saves the trust's schools."""

    tender_id: UUID
    tender_url: str
    category: str
    unit: str


class MonthSavings(Figures):
    """Contracts starting in one month; cumulative: every contract started by the month's end."""

    month: str
    contracts: int
    cumulative_annual_saving: Amount


class LedgerEntry(BaseModel):
    entry_id: UUID
    tender_id: UUID
    bid_id: UUID
    supplier_id: str
    demand_id: UUID
    school_urn: str
    school_name: str | None
    category: str
    unit: str
    quantity: Amount
    baseline_unit_price: Amount
    pooled_unit_price: Amount
    solo_unit_price: Amount
    term_months: int
    contract_start: date
    annual_baseline_cost: Amount
    annual_contract_cost: Amount
    annual_saving: Amount
    term_saving: Amount
    saving_pct: Amount | None
    economy_of_scale: Amount
    rule_version: str
    source_event_id: UUID
    recorded_at: datetime


class SchoolDetail(SchoolSavings):
    entries: list[LedgerEntry]


class ContractAward(AwardTerms):
    """One award of a joint contract and every school's line in it. A tender split into lots is
    awarded lot by lot, each lot to its own winning bid, so a contract has one award per lot."""

    # The `tender.awarded` event(s) the entries were recorded from (a large award comes in
    # parts, one event each), and when the first happened.
    award_event_ids: list[UUID]
    recorded_at: datetime
    # None for a tender without lots; standstill_ends None when the award had no standstill.
    lot: int | None
    lot_name: str | None
    standstill_ends: date | None
    entries: list[LedgerEntry]


class ContractDetail(Figures):
    """One joint contract (an awarded tender): the trust's totals, and each of its awards."""

    tender_id: UUID
    tender_url: str
    category: str
    unit: str
    schools: int
    pooled_quantity: Amount
    awards: list[ContractAward]


def _school(row: asyncpg.Record) -> SchoolSavings:
    return SchoolSavings(urn=row["urn"], name=row["name"], **figures(row))


async def schools(conn: Connection, trust_id: str) -> list[SchoolSavings]:
    return [_school(r) for r in await store.school_totals(conn, trust_id)]


async def trust_summary(conn: Connection, trust_id: str) -> TrustSavings:
    school_rows = await store.school_totals(conn, trust_id)
    categories = await store.category_totals(conn, trust_id)
    return TrustSavings(
        trust_id=trust_id,
        trust_name=await store.trust_name(conn, trust_id),
        **summed(school_rows),
        schools=[_school(r) for r in school_rows],
        categories=[
            CategorySavings(
                category=r["category"],
                annual_baseline_cost=r["annual_baseline_cost"],
                annual_saving=r["annual_saving"],
                term_saving=r["term_saving"],
                saving_pct=percentage(r["annual_saving"], r["annual_baseline_cost"]),
            )
            for r in categories
        ],
    )


async def categories(conn: Connection, trust_id: str) -> list[CategoryBreakdown]:
    return [
        CategoryBreakdown(
            category=r["category"],
            unit=r["unit"],
            schools=r["schools"],
            contracts=r["contracts"],
            quantity=r["quantity"],
            **figures(r),
        )
        for r in await store.category_totals(conn, trust_id)
    ]


def tender_link(tendering_url: str, tender_id: UUID) -> str:
    """The tender in the tendering service's API (JSON, for callers with a manager token)."""
    return f"{tendering_url.rstrip('/')}/v1/tenders/{tender_id}"


async def contracts(conn: Connection, trust_id: str, tendering_url: str) -> list[ContractSavings]:
    return [
        ContractSavings(
            tender_id=r["tender_id"],
            tender_url=tender_link(tendering_url, r["tender_id"]),
            category=r["category"],
            unit=r["unit"],
            supplier_id=r["supplier_id"],
            bid_id=r["bid_id"],
            contract_start=r["contract_start"],
            term_months=r["term_months"],
            schools=r["schools"],
            pooled_quantity=r["pooled_quantity"],
            pooled_unit_price=r["pooled_unit_price"],
            rule_version=r["rule_version"],
            **figures(r),
        )
        for r in await store.contract_totals(conn, trust_id)
    ]


async def months(conn: Connection, trust_id: str) -> list[MonthSavings]:
    out = []
    cumulative = ZERO
    for r in await store.month_totals(conn, trust_id):
        cumulative += r["annual_saving"]
        out.append(
            MonthSavings(
                month=r["month"].strftime("%Y-%m"),
                contracts=r["contracts"],
                cumulative_annual_saving=cumulative,
                **figures(r),
            )
        )
    return out


async def ledger(conn: Connection, trust_id: str, urn: str | None = None) -> list[LedgerEntry]:
    return [LedgerEntry(**dict(r)) for r in await store.entries(conn, trust_id, urn)]


async def school_detail(conn: Connection, trust_id: str, urn: str) -> SchoolDetail | None:
    """None when the school is not the trust's."""
    known = await store.school(conn, trust_id, urn)
    if known is None:
        return None
    rows = await store.entries(conn, trust_id, urn)
    return SchoolDetail(
        urn=urn,
        name=known["name"],
        **summed(rows),
        entries=[LedgerEntry(**dict(r)) for r in rows],
    )


async def contract(
    conn: Connection, trust_id: str, tender_id: UUID, tendering_url: str
) -> ContractDetail | None:
    """None when the trust's ledger has no award of this tender (another trust's included)."""
    rows = await store.contract_entries(conn, trust_id, tender_id)
    if not rows:
        return None
    by_bid: dict[UUID, list[asyncpg.Record]] = {}
    for row in rows:
        by_bid.setdefault(row["bid_id"], []).append(row)
    return ContractDetail(
        tender_id=tender_id,
        tender_url=tender_link(tendering_url, tender_id),
        category=rows[0]["category"],
        unit=rows[0]["unit"],
        schools=len({r["school_urn"] for r in rows}),
        pooled_quantity=_quantity(rows),
        awards=[_award(award) for award in by_bid.values()],
        **summed(rows),
    )


def _award(rows: list[asyncpg.Record]) -> ContractAward:
    # The award's terms are the same on each of its entries, in whichever part they came.
    first = rows[0]
    return ContractAward(
        bid_id=first["bid_id"],
        supplier_id=first["supplier_id"],
        contract_start=first["contract_start"],
        term_months=first["term_months"],
        schools=len({r["school_urn"] for r in rows}),
        pooled_quantity=_quantity(rows),
        pooled_unit_price=first["pooled_unit_price"],
        rule_version=first["rule_version"],
        award_event_ids=list(dict.fromkeys(r["source_event_id"] for r in rows)),
        recorded_at=min(r["recorded_at"] for r in rows),
        lot=first["lot"],
        lot_name=first["lot_name"],
        standstill_ends=first["standstill_ends"],
        entries=[LedgerEntry(**dict(r)) for r in rows],
        **summed(rows),
    )


def _quantity(rows: Sequence[Row]) -> Decimal:
    return sum((r["quantity"] for r in rows), Decimal(0))


CSV_COLUMNS = list(LedgerEntry.model_fields)
# Cells a spreadsheet would run as a formula; numbers are ours and plain, text comes from outside.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_TEXT_COLUMNS = {"school_name", "supplier_id", "category", "unit", "school_urn"}


def ledger_csv(entries: list[LedgerEntry]) -> str:
    """The ledger as CSV, one row per entry, money as plain decimal strings."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for entry in entries:
        row = entry.model_dump(mode="json")
        writer.writerow([_cell(column, row[column]) for column in CSV_COLUMNS])
    return out.getvalue()


def _cell(column: str, value: Any) -> str:
    if value is None:
        return ""
    text = str(value)
    if column in _TEXT_COLUMNS and text.startswith(_FORMULA_START):
        return "'" + text
    return text

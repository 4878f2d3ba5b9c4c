"""The savings read models: what the JSON API, the CSV export, the dashboard and the CLI show.

Every figure is a sum of ledger entries (each rounded to pence when recorded); percentages are
worked out from those sums. A negative saving is a cost increase and stays negative here.
"""

import csv
import io
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import asdict
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar
from uuid import UUID

import asyncpg
from pydantic import BaseModel

from services.savings import store
from services.savings.domain.errors import ContractNotFound, SchoolNotFound, UnknownSchool
from services.savings.domain.ledger import Sums, of_sums
from services.savings.domain.ledger import summed as summed_figures
from shared.db import Connection
from shared.money import Amount

ZERO = Decimal("0.00")


class Figures(BaseModel):
    """The six figures of a ledger entry or of a group of entries (domain: ledger.Figures)."""

    annual_baseline_cost: Amount
    annual_contract_cost: Amount
    annual_saving: Amount
    term_saving: Amount
    saving_pct: Amount | None
    economy_of_scale: Amount


# The bases below only put a model's identifying fields before its figures in the JSON (a
# model's fields follow its bases from the last to the first): they are never sent alone.


class _School(BaseModel):
    urn: str
    name: str | None


class _Trust(BaseModel):
    trust_id: str
    trust_name: str | None


class _Line(BaseModel):
    """What a ledger entry is of: one school's demand line in one award, and its prices."""

    entry_id: UUID
    tender_id: UUID
    bid_id: UUID
    supplier_id: str
    # The winning bidder's trading name as given with its bid; None in awards from before names.
    supplier_name: str | None = None
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
    # The school's own supply window, both days included (docs/domain-rules.md, "Supply start,
    # per school").
    supply_start: date
    supply_end: date


def figures(row: Sums) -> dict[str, Any]:
    """A row's money sums, and its saving as a percentage of its baseline."""
    return asdict(of_sums(row))


def summed(rows: list[asyncpg.Record]) -> dict[str, Any]:
    """The figures of a group of rows: sums of their money, and the percentage of those sums."""
    return asdict(summed_figures(rows))


class SchoolSavings(Figures, _School):
    pass


class CategorySavings(BaseModel):
    """A category's line in the trust summary: four of the six figures (docs/http-api.md,
    "GET /v1/trusts/{trust_id}/savings")."""

    category: str
    annual_baseline_cost: Amount
    annual_saving: Amount
    term_saving: Amount
    saving_pct: Amount | None


class TrustSavings(Figures, _Trust):
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
    supplier_name: str | None = None
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
    # Each school's supply starts on its own day (docs/domain-rules.md, "Supply start, per
    # school"): the first and the last of them in this award.
    first_supply_start: date
    last_supply_start: date


class MonthSavings(Figures):
    """The entries whose school's supply starts in one month (`contracts`: how many contracts
    they are of); cumulative: every entry supplied by the month's end."""

    month: str
    contracts: int
    cumulative_annual_saving: Amount


class LedgerEntry(Figures, _Line):
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


Model = TypeVar("Model", bound=BaseModel)


def _of_sums(model: type[Model], row: asyncpg.Record, **fields: Any) -> Model:
    """A read model from a row of sums: its columns, its figures (the percentage worked out from
    the sums) and `fields`. Columns the model does not show are left out."""
    return model.model_validate(dict(row) | figures(row) | fields)


async def schools(conn: Connection, trust_id: str) -> list[SchoolSavings]:
    return [_of_sums(SchoolSavings, r) for r in await store.school_totals(conn, trust_id)]


async def trust_summary(conn: Connection, trust_id: str) -> TrustSavings:
    """Three statements: run it in one snapshot (a repeatable-read unit of work), or an award
    recorded between them makes the totals and the categories disagree."""
    school_rows = await store.school_totals(conn, trust_id)
    category_rows = await store.category_totals(conn, trust_id)
    return TrustSavings(
        trust_id=trust_id,
        trust_name=await store.trust_name(conn, trust_id),
        **summed(school_rows),
        schools=[_of_sums(SchoolSavings, r) for r in school_rows],
        categories=[_of_sums(CategorySavings, r) for r in category_rows],
    )


async def categories(conn: Connection, trust_id: str) -> list[CategoryBreakdown]:
    return [_of_sums(CategoryBreakdown, r) for r in await store.category_totals(conn, trust_id)]


def tender_link(tendering_url: str, tender_id: UUID) -> str:
    """The tender in the tendering service's API (JSON, for callers with a manager token)."""
    return f"{tendering_url.rstrip('/')}/v1/tenders/{tender_id}"


async def contracts(conn: Connection, trust_id: str, tendering_url: str) -> list[ContractSavings]:
    return [
        _of_sums(ContractSavings, r, tender_url=tender_link(tendering_url, r["tender_id"]))
        for r in await store.contract_totals(conn, trust_id)
    ]


async def months(conn: Connection, trust_id: str) -> list[MonthSavings]:
    out = []
    cumulative = ZERO
    for r in await store.month_totals(conn, trust_id):
        cumulative += r["annual_saving"]
        out.append(
            _of_sums(
                MonthSavings,
                r,
                month=r["month"].strftime("%Y-%m"),
                cumulative_annual_saving=cumulative,
            )
        )
    return out


async def ledger(conn: Connection, trust_id: str, urn: str | None = None) -> list[LedgerEntry]:
    return [LedgerEntry(**dict(r)) for r in await store.entries(conn, trust_id, urn)]


async def school_detail(conn: Connection, trust_id: str, urn: str) -> SchoolDetail:
    """Two statements: run it in one snapshot. SchoolNotFound when the school is not the
    trust's."""
    known = await store.school(conn, trust_id, urn)
    if known is None:
        raise SchoolNotFound(trust_id, urn)
    return _school(known, await store.entries(conn, trust_id, urn))


def _school(known: asyncpg.Record, rows: list[asyncpg.Record]) -> SchoolDetail:
    """A school (its `urn` and `name`) with its figures summed from `rows`, its entries."""
    return SchoolDetail(
        urn=known["urn"],
        name=known["name"],
        **summed(rows),
        entries=[LedgerEntry(**dict(r)) for r in rows],
    )


async def own_savings(conn: Connection, urn: str) -> SchoolDetail:
    """A school's own figures and entries, in every trust's contracts it is in (a school that
    changed trust keeps what its old trust's contracts promised). Two statements: run it in one
    snapshot. UnknownSchool when the URN is neither registered nor in the ledger."""
    known = await store.known_school(conn, urn)
    if known is None:
        raise UnknownSchool(urn)
    return _school(known, await store.school_entries(conn, urn))


async def contract(
    conn: Connection, trust_id: str, tender_id: UUID, tendering_url: str
) -> ContractDetail:
    """ContractNotFound when the trust's ledger has no award of this tender (another trust's
    included)."""
    rows = await store.contract_entries(conn, trust_id, tender_id)
    if not rows:
        raise ContractNotFound(trust_id, tender_id)
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
    return ContractAward.model_validate(
        dict(rows[0])
        | summed(rows)
        | {
            "schools": len({r["school_urn"] for r in rows}),
            "pooled_quantity": _quantity(rows),
            "award_event_ids": list(dict.fromkeys(r["source_event_id"] for r in rows)),
            "recorded_at": min(r["recorded_at"] for r in rows),
            "entries": [LedgerEntry(**dict(r)) for r in rows],
        }
    )


def _quantity(rows: list[asyncpg.Record]) -> Decimal:
    return sum((r["quantity"] for r in rows), Decimal(0))


CSV_COLUMNS = list(LedgerEntry.model_fields)
# Cells a spreadsheet would run as a formula; numbers are ours and plain, text comes from outside.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_TEXT_COLUMNS = {"school_name", "supplier_id", "supplier_name", "category", "unit", "school_urn"}


def ledger_csv(entries: list[LedgerEntry]) -> str:
    """The ledger as CSV, one row per entry, money as plain decimal strings."""
    return models_csv(CSV_COLUMNS, entries, _TEXT_COLUMNS)


def models_csv(
    columns: Sequence[str], models: Sequence[BaseModel], text_columns: AbstractSet[str]
) -> str:
    """Read models as CSV, one row each: `columns` of their JSON form, money as plain decimal
    strings; a cell of `text_columns` (text from outside) that a spreadsheet would run as a
    formula is quoted."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for model in models:
        row = model.model_dump(mode="json")
        writer.writerow([_cell(row[column], column in text_columns) for column in columns])
    return out.getvalue()


def _cell(value: Any, text: bool) -> str:
    if value is None:
        return ""
    cell = str(value)
    if text and cell.startswith(_FORMULA_START):
        return "'" + cell
    return cell

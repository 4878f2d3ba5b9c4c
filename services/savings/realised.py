"""The read models of savings achieved (realised): what the JSON API and the CSV export show
(docs/http-api.md, "Savings achieved"; the rules: docs/domain-rules.md, "Savings achieved").

Every figure adds spend lines each rounded to pence; the uncontracted opportunity and the
contracts' annualised quantities are worked out here from the stored lines, with the rules of
services/savings/domain/realised.py.
"""

from collections.abc import Iterable
from dataclasses import fields
from datetime import date, datetime
from uuid import UUID

import asyncpg
from pydantic import BaseModel

from services.savings import realised_store, reports, store
from services.savings.domain import realised as rules
from services.savings.domain.errors import UnknownCursor, UnknownSchool
from shared.db import Connection
from shared.events import SpendRecorded
from shared.money import Amount


class RealisedFigures(BaseModel):
    """Sums of rounded lines: on contract (realised and expected saving, price variance) and
    off contract (its spend and the leakage)."""

    realised_saving: Amount
    expected_saving: Amount
    price_variance: Amount
    off_contract_spend: Amount
    leakage: Amount


# The bases below only put a model's identifying fields before its figures in the JSON (a
# model's fields follow its bases from the last to the first): they are never sent alone.


class _School(BaseModel):
    urn: str
    # What the school was invoiced on contract.
    contract_spend: Amount


class _Trust(BaseModel):
    trust_id: str


class SchoolRealised(RealisedFigures, _School):
    """One school's realised figures."""


class ContractRealised(BaseModel):
    """One joint contract (an award: a tender, or one lot of it) and the volume its schools
    actually bought on it, annualised; tier_at_risk when that is below its tier's minimum."""

    tender_id: UUID
    lot: int | None
    category: str
    supplier_id: str
    # As the winning bid gave it; None for awards from before names were asked for.
    supplier_name: str | None = None
    annualised_quantity: Amount | None
    tier_minimum: Amount | None
    tier_at_risk: bool


class UncontractedSpend(BaseModel):
    """A category's spend that no joint contract covers, and the price-spread opportunity."""

    category: str
    schools: int
    quantity: Amount
    amount: Amount
    lowest_unit_price: Amount
    median_unit_price: Amount
    highest_unit_price: Amount
    opportunity: Amount


class TrustRealised(RealisedFigures, _Trust):
    schools: list[SchoolRealised]
    contracts: list[ContractRealised]
    uncontracted: list[UncontractedSpend]


class MonthRealised(BaseModel):
    """What the lines on contract whose period starts in one month (`YYYY-MM`) were expected to
    save on the volume bought and what they saved; `cumulative_*`: every month up to its end."""

    month: str
    lines: int
    contract_spend: Amount
    expected_saving: Amount
    realised_saving: Amount
    cumulative_expected_saving: Amount
    cumulative_realised_saving: Amount


class SpendLine(SpendRecorded):
    """One spend line as recorded (the fields of `spend.recorded`), its classification and its
    figures (None where its status has none)."""

    school_name: str | None
    unit_price: Amount
    status: rules.Status
    tender_id: UUID | None
    lot: int | None
    contract_supplier_id: str | None
    baseline_unit_price: Amount | None
    contract_unit_price: Amount | None
    baseline_cost: Amount | None
    contract_cost: Amount | None
    realised_saving: Amount | None
    expected_saving: Amount | None
    price_variance: Amount | None
    off_contract_spend: Amount | None
    leakage: Amount | None
    opportunity: Amount | None
    rule_version: str
    source_event_id: UUID
    recorded_at: datetime


class SpendLines(BaseModel):
    """A page of the trust's spend lines, oldest periods first; `next_cursor` names the page's
    last line when more follow."""

    trust_id: str
    total: int
    items: list[SpendLine]
    next_cursor: str | None


class OwnRealised(SchoolRealised):
    """A school's own realised figures, its uncontracted spend and its lines: nothing of other
    schools (its opportunity is against the lowest price it paid itself)."""

    name: str | None
    uncontracted: list[UncontractedSpend]
    lines: list[SpendLine]


def line_of(row: asyncpg.Record) -> rules.Line:
    """A stored spend line as the rules read it (its columns are the fields)."""
    named = {f.name: row[f.name] for f in fields(rules.Line)}
    return rules.Line(**named | {"status": rules.Status(row["status"])})


def _school(urn: str, totals: rules.Totals) -> SchoolRealised:
    return SchoolRealised(urn=urn, **vars(totals))


def _uncontracted(lines: Iterable[rules.Line]) -> list[UncontractedSpend]:
    return [UncontractedSpend(**vars(u)) for u in rules.uncontracted(lines)]


def _contracts(rows: list[asyncpg.Record], lines: list[rules.Line]) -> list[ContractRealised]:
    bought: dict[tuple[UUID | None, int | None], list[rules.Line]] = {}
    for line in lines:
        bought.setdefault((line.tender_id, line.lot), []).append(line)
    out = []
    for row in rows:
        volume = rules.contract_volume(
            bought.get((row["tender_id"], row["lot"]), ()), row["tier_minimum"]
        )
        out.append(ContractRealised(**dict(row), **vars(volume)))
    return out


async def trust_realised(conn: Connection, trust_id: str) -> TrustRealised:
    """Two statements: run it in one snapshot (a repeatable-read unit of work)."""
    lines = [line_of(r) for r in await realised_store.trust_lines(conn, trust_id)]
    return await _summary(conn, trust_id, lines)


class TrustView(BaseModel):
    """Everything the dashboard's page of savings achieved shows, from one read of the lines."""

    summary: TrustRealised
    months: list[MonthRealised]
    lines: list[SpendLine]


async def trust_view(conn: Connection, trust_id: str) -> TrustView:
    """The trust's figures, months and lines. Two statements: run it in one snapshot."""
    rows = await realised_store.trust_lines(conn, trust_id)
    lines = [line_of(r) for r in rows]
    return TrustView(
        summary=await _summary(conn, trust_id, lines),
        months=months(lines),
        lines=spend_lines(rows),
    )


async def _summary(conn: Connection, trust_id: str, lines: list[rules.Line]) -> TrustRealised:
    contracts = await realised_store.trust_contracts(conn, trust_id)
    totals = rules.totals(lines)
    figures = {name: getattr(totals, name) for name in RealisedFigures.model_fields}
    return TrustRealised(
        trust_id=trust_id,
        **figures,
        schools=[_school(urn, t) for urn, t in rules.by_school(lines).items()],
        contracts=_contracts(contracts, lines),
        uncontracted=_uncontracted(lines),
    )


def _next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def months(lines: Iterable[rules.Line]) -> list[MonthRealised]:
    """The lines on contract by the month of their period_start, every month from the first to
    the last (one without such lines adds 0.00), with running totals of the rounded lines."""
    on_contract: dict[date, list[rules.Line]] = {}
    for line in lines:
        if line.status is rules.Status.ON_CONTRACT:
            on_contract.setdefault(line.period_start.replace(day=1), []).append(line)
    out: list[MonthRealised] = []
    if not on_contract:
        return out
    expected = realised = rules.ZERO
    month, last = min(on_contract), max(on_contract)
    while month <= last:
        group = on_contract.get(month, [])
        sums = rules.totals(group)
        expected += sums.expected_saving
        realised += sums.realised_saving
        out.append(
            MonthRealised(
                month=f"{month:%Y-%m}",
                lines=len(group),
                contract_spend=sums.contract_spend,
                expected_saving=sums.expected_saving,
                realised_saving=sums.realised_saving,
                cumulative_expected_saving=expected,
                cumulative_realised_saving=realised,
            )
        )
        month = _next_month(month)
    return out


async def trust_months(conn: Connection, trust_id: str) -> list[MonthRealised]:
    """The trust's realised savings month by month (one statement)."""
    return months(line_of(r) for r in await realised_store.trust_lines(conn, trust_id))


def spend_lines(rows: list[asyncpg.Record]) -> list[SpendLine]:
    """The lines with their unit price and, when uncontracted, their opportunity against the
    lowest unit price paid in their category among `rows`."""
    lines = [line_of(r) for r in rows]
    lowest = rules.lowest_prices(lines)
    return [
        SpendLine.model_validate(
            dict(row)
            | {
                "unit_price": rules.rounded(rules.unit_price(line), rules.UNIT_PRICE_PLACES),
                "opportunity": rules.opportunity(line, lowest[line.category])
                if line.status is rules.Status.UNCONTRACTED
                else None,
            }
        )
        for row, line in zip(rows, lines, strict=True)
    ]


async def trust_lines(conn: Connection, trust_id: str) -> list[SpendLine]:
    return spend_lines(await realised_store.trust_lines(conn, trust_id))


async def trust_lines_page(
    conn: Connection, trust_id: str, after: str | None, limit: int
) -> SpendLines:
    """The `limit` lines after the one `after` names (a `next_cursor`: a line's spend_id; lines
    are never removed, so a cursor stays valid while lines are added). Every line is read: an
    uncontracted line's opportunity depends on its whole category. UnknownCursor when `after`
    names none of the trust's lines."""
    lines = await trust_lines(conn, trust_id)
    start = 0
    if after is not None:
        ids = [str(line.spend_id) for line in lines]
        if after not in ids:
            raise UnknownCursor(after)
        start = ids.index(after) + 1
    page = lines[start : start + limit]
    more = start + limit < len(lines)
    return SpendLines(
        trust_id=trust_id,
        total=len(lines),
        items=page,
        next_cursor=str(page[-1].spend_id) if more else None,
    )


async def own_realised(conn: Connection, urn: str) -> OwnRealised:
    """A school's own realised savings, in every trust it was invoiced in. Two statements: run
    it in one snapshot. UnknownSchool when the URN is neither registered nor in the ledger."""
    known = await store.known_school(conn, urn)
    if known is None:
        raise UnknownSchool(urn)
    rows = await realised_store.school_lines(conn, urn)
    lines = [line_of(r) for r in rows]
    return OwnRealised(
        urn=urn,
        name=known["name"],
        **vars(rules.totals(lines)),
        uncontracted=_uncontracted(lines),
        lines=spend_lines(rows),
    )


CSV_COLUMNS = list(SpendLine.model_fields)
# Text that came from outside (finance systems, the registry): guarded against spreadsheet formulas.
_TEXT_COLUMNS = {
    "school_urn",
    "school_name",
    "category",
    "unit",
    "supplier",
    "invoice_ref",
    "contract_supplier_id",
}


def lines_csv(lines: list[SpendLine]) -> str:
    """The spend lines as CSV, one row per line, money as plain decimal strings."""
    return reports.models_csv(CSV_COLUMNS, lines, _TEXT_COLUMNS)

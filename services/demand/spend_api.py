"""HTTP API of spend lines, under /v1/spend, and the one-step demand from a trust's spend
(docs/http-api.md, "Spend"). Schools post for themselves, managers for their trust's schools."""

from collections.abc import Iterator
from datetime import UTC, date, datetime
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from services.demand import importing, reading, spending
from services.demand.api import (
    CategoryFilter,
    Cursor,
    DemandLineOut,
    ImportReportOut,
    Limit,
    SchoolFilter,
    created,
    csv_body,
    import_csv,
    read_page,
    school_or_manager,
)
from services.demand.csv_import import ImportReport
from services.demand.demand_csv import CsvChunk
from services.demand.spend_demand import demand_from_trust_spend
from services.demand.spend_rules import SpendSubmission, SpendToDemand
from shared.events import SpendRecorded
from shared.http import Caller, require_trust
from shared.openapi import problems as _problems
from shared.service import runtime_of
from shared.unit_of_work import UnitOfWork, unit_of_work

spend = APIRouter(prefix="/v1/spend", tags=["spend"])
trusts = APIRouter(prefix="/v1/trusts", tags=["spend"])


class SpendLineOut(SpendRecorded):
    """A stored spend line: what `spend.recorded` says of it, with its trust and when."""

    trust_id: str
    created_at: datetime

    @classmethod
    def of(cls, row: asyncpg.Record) -> "SpendLineOut":
        return cls.model_validate({name: row[name] for name in cls.model_fields})


class SpendPageOut(BaseModel):
    items: list[SpendLineOut]
    next_cursor: str | None = None


class AcceptedSpendRowOut(BaseModel):
    line: int
    spend_id: UUID
    replayed: bool


class SpendImportReportOut(ImportReportOut):
    accepted_rows: list[AcceptedSpendRowOut]  # type: ignore[assignment]


class SkippedSchoolOut(BaseModel):
    school_urn: str
    reason: str


class SpendDemandOut(BaseModel):
    trust_id: str
    category: str
    spend_from: date
    spend_to: date
    created: list[DemandLineOut]
    skipped: list[SkippedSchoolOut]


@spend.post("", status_code=201, response_model=SpendLineOut, responses=_problems(409, 413))
async def record_spend(body: SpendSubmission, request: Request, caller: Caller) -> Response:
    """Record one invoice line. Idempotent by (`school_urn`, `invoice_ref`): the same line
    again returns the original (with `Idempotent-Replayed: true`); the same reference with
    another body is a 409. `quantity` may be in a unit compatible with the category's: it is
    stored converted exactly to the category's unit."""
    school_or_manager(caller)
    submissions: spending.SpendSubmissions = request.app.state.spend
    answer = await submissions.run(spending.http_request(caller, body))
    return created(answer, "/v1/spend/{spend_id}", SpendLineOut.of)


@spend.get("", response_model=SpendPageOut, responses=_problems())
async def list_spend(
    request: Request,
    caller: Caller,
    school_urn: SchoolFilter = None,
    category: CategoryFilter = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> SpendPageOut:
    """Spend lines, oldest recorded first: a school sees its own, a manager its whole trust."""
    school_or_manager(caller)
    filters = reading.Filters(school_urn=school_urn, category=category)
    items, following = await read_page(
        request, caller, filters, cursor, limit, reading.list_spend, "spend_id", SpendLineOut.of
    )
    return SpendPageOut(items=items, next_cursor=following)


@spend.post(
    "/import",
    response_model=SpendImportReportOut,
    openapi_extra=csv_body(),
    responses=_problems(401, 403, 413, 422),
)
async def import_spend(request: Request, caller: Caller) -> Response:
    """Import spend lines from CSV: the columns are the JSON body's field names. Every row is
    accepted or refused on its own (refused rows reported by line, column and reason); a row
    re-sent (same school and `invoice_ref`, same content) is reported `replayed`, not added."""
    school_or_manager(caller)

    async def run(work: UnitOfWork, chunks: Iterator[CsvChunk[SpendSubmission]]) -> ImportReport:
        return await importing.import_spend(work, caller, chunks)

    return await import_csv(request, SpendSubmission, run)


@spend.get("/{spend_id}", response_model=SpendLineOut, responses=_problems(404))
async def read_spend(spend_id: UUID, request: Request, caller: Caller) -> SpendLineOut:
    school_or_manager(caller)
    async with unit_of_work(runtime_of(request).pool, readonly=True) as work:
        return SpendLineOut.of(await reading.visible_spend(work.conn, caller, spend_id))


@trusts.post("/{trust_id}/spend/demand", response_model=SpendDemandOut, responses=_problems(413))
async def spend_to_demand(
    trust_id: str, body: SpendToDemand, request: Request, caller: Caller
) -> SpendDemandOut:
    """Uncontracted spend to demand in one step (the trust's manager): every school of the
    trust (or of `school_urns`) invoiced in `category` over the last 12 months that has no
    demand line there open, in a tender or awarded gets one, made from its spend; the answer
    lists the lines registered and every other school with the reason it was skipped."""
    require_trust(caller, trust_id)
    today = datetime.now(UTC).date()
    async with unit_of_work(runtime_of(request).pool) as work:
        report = await demand_from_trust_spend(work, trust_id, body, today)
    return SpendDemandOut(
        trust_id=trust_id,
        category=body.category,
        spend_from=report.since,
        spend_to=report.until,
        created=[DemandLineOut.of(r) for r in report.created],
        skipped=[
            SkippedSchoolOut(school_urn=s.school_urn, reason=s.reason) for s in report.skipped
        ],
    )

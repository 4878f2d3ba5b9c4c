"""HTTP API of the demand service, under /v1 (docs/http-api.md). The routes check the caller's
role, open the unit of work and call the service's verbs; a verb's refusal (a DomainError) is
answered as problem details by shared/http.py."""

import itertools
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from datetime import date, datetime
from typing import IO, Annotated, Any, TypeVar
from uuid import UUID, uuid4

import asyncpg
from fastapi import APIRouter, Body, Header, Query, Request, Response
from pydantic import BaseModel
from starlette.datastructures import UploadFile

from services.demand import amending, csv_import, importing, reading, registry_loading, submitting
from services.demand.csv_import import ImportReport
from services.demand.demand_csv import CsvChunk, CsvFileError, DemandCsv, M
from services.demand.domain.lines import Status
from services.demand.domain.paging import Position, decode_cursor, encode_cursor
from services.demand.registry import read_registry
from services.demand.rules import (
    CsvSubmission,
    DemandAmendment,
    DemandSubmission,
    WithdrawalRequest,
)
from shared.auth import Principal, Role
from shared.db import Connection
from shared.domain.errors import DomainError
from shared.http import Caller, Problem, field_error, require_role
from shared.money import Amount
from shared.openapi import problems as _problems
from shared.service import runtime_of
from shared.unit_of_work import UnitOfWork, unit_of_work

router = APIRouter(prefix="/v1")
# Schools' demand lines: every route under /v1/demands.
demands = APIRouter(prefix="/v1/demands", tags=["demand"])

IdempotencyKey = Annotated[
    str | None,
    Header(
        min_length=1,
        max_length=200,
        description="your unique id of this request: a retry with the same key and body returns"
        " the original result; the same key with a different body is a 409",
    ),
]

Limit = Annotated[int, Query(ge=1, le=500)]
Cursor = Annotated[
    str | None, Query(max_length=200, description="`next_cursor` of the previous page")
]
SchoolFilter = Annotated[str | None, Query(pattern=r"^\d{6}$")]
CategoryFilter = Annotated[str | None, Query(max_length=64)]


class DemandLineOut(BaseModel):
    demand_id: UUID
    trust_id: str
    school_urn: str
    category: str
    unit: str
    quantity: Amount
    current_unit_price: Amount
    current_supplier: str | None
    contract_end: date
    term_months: int
    notes: str | None
    status: Status
    status_reason: str | None
    tender_id: UUID | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: asyncpg.Record) -> "DemandLineOut":
        return cls.model_validate(dict(row))


class DemandPageOut(BaseModel):
    items: list[DemandLineOut]
    next_cursor: str | None = None


class AcceptedRowOut(BaseModel):
    line: int
    demand_id: UUID
    replayed: bool


class RefusedRowOut(BaseModel):
    line: int
    column: str | None
    reason: str


class ImportReportOut(BaseModel):
    rows: int
    accepted: int
    refused: int
    accepted_rows: list[AcceptedRowOut]
    refused_rows: list[RefusedRowOut]


class RegistryReportOut(registry_loading.RegistryReport):
    pass  # the report as it is, under the name the API documents it by


def school_or_manager(caller: Principal) -> None:
    """Schools act for themselves, managers for their trust's schools; nobody else has demand."""
    require_role(caller, Role.SCHOOL, Role.MANAGER)


def position_after(cursor: str | None) -> Position | None:
    """Where a page starts: after the line its cursor names (None: from the first line)."""
    if cursor is None:
        return None
    try:
        return decode_cursor(cursor)
    except ValueError as exc:
        raise Problem(
            422, "Invalid cursor", errors=[field_error("query.cursor", str(exc))]
        ) from exc


def next_cursor(rows: Sequence[asyncpg.Record], limit: int, id_column: str) -> str | None:
    """The cursor of the page after these rows (fetched one beyond `limit`), if there is one."""
    if len(rows) <= limit:
        return None
    last = rows[limit - 1]
    return encode_cursor(Position(last["created_at"], last[id_column]))


def created(
    answer: DomainError | tuple[asyncpg.Record, submitting.Result],
    location: str,
    out: Callable[[asyncpg.Record], BaseModel],
) -> Response:
    """201 with the line `answer` holds, at `location` followed by its id; a replayed line is
    marked `Idempotent-Replayed: true`. The domain error an answer may be is raised."""
    if isinstance(answer, DomainError):
        raise answer
    row, result = answer
    headers = {"Location": location.format(**row)}
    if result is submitting.Result.REPLAYED:
        headers["Idempotent-Replayed"] = "true"
    # Serialized here: a model returned would be validated again against the response model.
    body = out(row).model_dump_json()
    return Response(body, status_code=201, media_type="application/json", headers=headers)


PageReader = Callable[
    [Connection, Principal, reading.Filters, Position | None, int], Awaitable[list[asyncpg.Record]]
]
Out = TypeVar("Out", bound=BaseModel)


async def read_page(
    request: Request,
    caller: Principal,
    filters: reading.Filters,
    cursor: str | None,
    limit: int,
    read: PageReader,
    id_column: str,
    out: Callable[[asyncpg.Record], Out],
) -> tuple[list[Out], str | None]:
    """A page of the lines `read` finds for the caller after the cursor's line, as `out` shows
    them, and the next page's cursor (one row beyond `limit` is read to tell if there is one)."""
    after = position_after(cursor)
    async with unit_of_work(runtime_of(request).pool, readonly=True) as work:
        rows = await read(work.conn, caller, filters, after, limit + 1)
    return [out(r) for r in rows[:limit]], next_cursor(rows, limit, id_column)


def csv_body() -> dict[str, Any]:
    return {"requestBody": {"content": {"text/csv": {"schema": {"type": "string"}}}}}


@router.post(
    "/registry",
    tags=["registry"],
    response_model=RegistryReportOut,
    openapi_extra=csv_body(),
    responses=_problems(413),
)
async def load_registry(request: Request, caller: Caller) -> RegistryReportOut:
    """Load a GIAS-style establishments CSV (operators only). Re-loading is an upsert: events
    only for real changes; a school that moves trust or leaves one has its open demand withdrawn."""
    require_role(caller, Role.OPERATOR)
    registry = read_registry(await request.body())
    if registry.errors:
        raise Problem(422, "Invalid registry file", errors=registry.errors)
    async with unit_of_work(runtime_of(request).pool) as work:
        report = await registry_loading.load_registry(work, registry, f"registry-load-{uuid4()}")
    return RegistryReportOut(**report.model_dump())


@demands.post(
    "",
    status_code=201,
    response_model=DemandLineOut,
    responses=_problems(409, 413),
)
async def submit_demand(
    submission: DemandSubmission,
    request: Request,
    caller: Caller,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Submit a school's demand line. Send an `Idempotency-Key`: a retry returns the original
    line (with `Idempotent-Replayed: true`). Quantity and price may be in a unit compatible with
    the category's (MWh for kWh): they are stored converted exactly to the category's unit."""
    school_or_manager(caller)
    submissions: submitting.Submissions = request.app.state.submissions
    answer = await submissions.run(submitting.http_request(caller, submission, idempotency_key))
    return created(answer, "/v1/demands/{demand_id}", DemandLineOut.of)


@demands.get("", response_model=DemandPageOut, responses=_problems())
async def list_demand(
    request: Request,
    caller: Caller,
    school_urn: SchoolFilter = None,
    category: CategoryFilter = None,
    status: Status | None = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> DemandPageOut:
    """Demand lines, oldest first: a school sees its own, a manager its whole trust."""
    school_or_manager(caller)
    filters = reading.Filters(school_urn=school_urn, category=category, status=status)
    items, following = await read_page(
        request, caller, filters, cursor, limit, reading.list_demand, "demand_id", DemandLineOut.of
    )
    return DemandPageOut(items=items, next_cursor=following)


async def _upload_chunks(upload: UploadFile) -> AsyncIterator[bytes]:
    while chunk := await upload.read(csv_import.READ_BYTES):
        yield chunk


async def spooled_csv(request: Request) -> IO[bytes]:
    """The CSV sent as the body (text/csv) or as the `file` part of a multipart form, spooled
    as it arrives and checked to be UTF-8 text."""
    limit = runtime_of(request).settings.http_max_csv_bytes  # shared/limits.py checks it too
    try:
        if request.headers.get("content-type", "").startswith("multipart/form-data"):
            async with request.form(max_files=1) as form:
                upload = form.get("file")
                if not isinstance(upload, UploadFile):
                    reason = "send the CSV as the multipart part `file`"
                    raise Problem(422, "No file", errors=[field_error("body.file", reason)])
                return await csv_import.spool(_upload_chunks(upload), limit)
        return await csv_import.spool(request.stream(), limit)
    except csv_import.BodyTooLarge as exc:
        raise Problem(413, "File too large", str(exc)) from exc
    except csv_import.NotUtf8 as exc:
        reason = str(exc)
        raise Problem(422, "Invalid CSV", reason, errors=[field_error("body", reason)]) from exc


def invalid_csv(exc: CsvFileError) -> Problem:
    errors = [field_error(f, r) for f, r in exc.errors]
    return Problem(422, "Invalid CSV", str(exc), errors=errors)


@demands.post(
    "/import",
    response_model=ImportReportOut,
    openapi_extra=csv_body(),
    responses=_problems(401, 403, 413, 422),
)
async def import_demand(
    request: Request, caller: Caller, idempotency_key: IdempotencyKey = None
) -> Response:
    """Import demand lines from CSV: the columns are the submission's field names, plus an
    optional `submission_id` per row (a row re-sent with it is not counted twice). Every row is
    accepted or refused on its own; refused rows are reported by line, column and reason.
    With an `Idempotency-Key`, re-sending the same file replays it instead of adding it again."""
    school_or_manager(caller)

    async def run(work: UnitOfWork, chunks: Iterator[DemandCsv]) -> ImportReport:
        return await importing.import_demand(work, caller, chunks, idempotency_key)

    return await import_csv(request, CsvSubmission, run)


async def import_csv(
    request: Request,
    model: type[M],
    run: Callable[[UnitOfWork, Iterator[CsvChunk[M]]], Awaitable[ImportReport]],
) -> Response:
    """Read the CSV sent as rows of `model` and `run` the import of them in one unit of work;
    answer with its per-row report (a file that cannot be read: 422, nothing stored)."""
    with await spooled_csv(request) as file:
        chunks = csv_import.csv_rows(csv_import.text_lines(file), model)
        try:
            # The header is read before a connection is taken: a file refused whole needs none.
            first = next(chunks, None)
            rest = [first] if first is not None else []
            async with unit_of_work(runtime_of(request).pool) as work:
                report = await run(work, itertools.chain(rest, chunks))
        except CsvFileError as exc:
            raise invalid_csv(exc) from exc
    # Served as the JSON kept while importing (the same shape as ImportReportOut).
    return Response(report.json(), media_type="application/json")


@demands.get(
    "/{demand_id}",
    response_model=DemandLineOut,
    responses=_problems(404),
)
async def read_demand(demand_id: UUID, request: Request, caller: Caller) -> DemandLineOut:
    school_or_manager(caller)
    async with unit_of_work(runtime_of(request).pool, readonly=True) as work:
        return DemandLineOut.of(await reading.visible_demand(work.conn, caller, demand_id))


@demands.patch(
    "/{demand_id}",
    response_model=DemandLineOut,
    responses=_problems(404, 409, 413),
)
async def amend_demand(
    demand_id: UUID, patch: DemandAmendment, request: Request, caller: Caller
) -> DemandLineOut:
    """Amend an open line (JSON merge patch: send only what changes; `null` clears an optional
    field). Refused with 409 once the line is in a tender, awarded or withdrawn."""
    school_or_manager(caller)
    async with unit_of_work(runtime_of(request).pool) as work:
        row = await amending.amend_demand(work, caller, demand_id, patch)
    return DemandLineOut.of(row)


@demands.post(
    "/{demand_id}/withdraw",
    response_model=DemandLineOut,
    responses=_problems(404, 409, 413),
)
async def withdraw_demand(
    demand_id: UUID,
    request: Request,
    caller: Caller,
    body: Annotated[WithdrawalRequest | None, Body()] = None,
) -> DemandLineOut:
    """Withdraw an open line; withdrawing it again changes nothing. Refused with 409 once the
    line is in a tender or awarded."""
    school_or_manager(caller)
    reason = body.reason if body is not None else None
    async with unit_of_work(runtime_of(request).pool) as work:
        row = await amending.withdraw_demand(work, caller, demand_id, reason)
    return DemandLineOut.of(row)

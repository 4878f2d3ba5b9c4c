"""HTTP API of the demand service, under /v1 (docs/http-api.md). The routes check the caller's
role, open the unit of work and call the service's verbs; a verb's refusal (a DomainError) is
answered as problem details by shared/http.py."""

import itertools
from collections.abc import AsyncIterator
from datetime import date, datetime
from typing import IO, Annotated, Any
from uuid import UUID, uuid4

import asyncpg
from fastapi import APIRouter, Body, Header, Query, Request, Response
from pydantic import BaseModel
from starlette.datastructures import UploadFile

from services.demand import amending, csv_import, importing, reading, registry_loading, submitting
from services.demand.demand_csv import CsvFileError
from services.demand.domain.lines import Status
from services.demand.domain.paging import Position, decode_cursor, encode_cursor
from services.demand.registry import read_registry
from services.demand.rules import DemandAmendment, DemandSubmission, WithdrawalRequest
from shared.auth import Principal, Role
from shared.domain.errors import DomainError
from shared.http import Caller, Problem, field_error, require_role
from shared.money import Amount
from shared.openapi import problems as _problems
from shared.service import runtime_of
from shared.unit_of_work import unit_of_work

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


def _school_or_manager(caller: Principal) -> None:
    """Schools act for themselves, managers for their trust's schools; nobody else has demand."""
    require_role(caller, Role.SCHOOL, Role.MANAGER)


def _csv_body() -> dict[str, Any]:
    return {"requestBody": {"content": {"text/csv": {"schema": {"type": "string"}}}}}


@router.post(
    "/registry",
    tags=["registry"],
    response_model=RegistryReportOut,
    openapi_extra=_csv_body(),
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
    _school_or_manager(caller)
    submissions: submitting.Submissions = request.app.state.submissions
    answer = await submissions.run(submitting.http_request(caller, submission, idempotency_key))
    if isinstance(answer, DomainError):
        raise answer
    row, result = answer
    headers = {"Location": f"/v1/demands/{row['demand_id']}"}
    if result is submitting.Result.REPLAYED:
        headers["Idempotent-Replayed"] = "true"
    # Serialized here: a model returned would be validated again against the response model.
    body = DemandLineOut.of(row).model_dump_json()
    return Response(body, status_code=201, media_type="application/json", headers=headers)


@demands.get("", response_model=DemandPageOut, responses=_problems())
async def list_demand(
    request: Request,
    caller: Caller,
    school_urn: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
    category: Annotated[str | None, Query(max_length=64)] = None,
    status: Status | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[
        str | None, Query(max_length=200, description="`next_cursor` of the previous page")
    ] = None,
) -> DemandPageOut:
    """Demand lines, oldest first: a school sees its own, a manager its whole trust."""
    _school_or_manager(caller)
    after: Position | None = None
    if cursor is not None:
        try:
            after = decode_cursor(cursor)
        except ValueError as exc:
            raise Problem(
                422, "Invalid cursor", errors=[field_error("query.cursor", str(exc))]
            ) from exc
    filters = reading.Filters(school_urn=school_urn, category=category, status=status)
    async with unit_of_work(runtime_of(request).pool, readonly=True) as work:
        rows = await reading.list_demand(work.conn, caller, filters, after, limit + 1)
    page = rows[:limit]
    next_cursor = None
    if len(rows) > limit:
        last = page[-1]
        next_cursor = encode_cursor(Position(last["created_at"], last["demand_id"]))
    return DemandPageOut(items=[DemandLineOut.of(r) for r in page], next_cursor=next_cursor)


async def _upload_chunks(upload: UploadFile) -> AsyncIterator[bytes]:
    while chunk := await upload.read(csv_import.READ_BYTES):
        yield chunk


async def _spooled_csv(request: Request) -> IO[bytes]:
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


def _invalid_csv(exc: CsvFileError) -> Problem:
    errors = [field_error(f, r) for f, r in exc.errors]
    return Problem(422, "Invalid CSV", str(exc), errors=errors)


@demands.post(
    "/import",
    response_model=ImportReportOut,
    openapi_extra=_csv_body(),
    responses=_problems(401, 403, 413, 422),
)
async def import_demand(
    request: Request, caller: Caller, idempotency_key: IdempotencyKey = None
) -> Response:
    """Import demand lines from CSV: the columns are the submission's field names, plus an
    optional `submission_id` per row (a row re-sent with it is not counted twice). Every row is
    accepted or refused on its own; refused rows are reported by line, column and reason.
    With an `Idempotency-Key`, re-sending the same file replays it instead of adding it again."""
    _school_or_manager(caller)
    with await _spooled_csv(request) as file:
        chunks = csv_import.demand_rows(csv_import.text_lines(file))
        try:
            # The header is read before a connection is taken: a file refused whole needs none.
            first = next(chunks, None)
            rest = [first] if first is not None else []
            async with unit_of_work(runtime_of(request).pool) as work:
                report = await importing.import_demand(
                    work, caller, itertools.chain(rest, chunks), idempotency_key
                )
        except CsvFileError as exc:
            raise _invalid_csv(exc) from exc
    # Served as the JSON kept while importing (the same shape as ImportReportOut).
    return Response(report.json(), media_type="application/json")


@demands.get(
    "/{demand_id}",
    response_model=DemandLineOut,
    responses=_problems(404),
)
async def read_demand(demand_id: UUID, request: Request, caller: Caller) -> DemandLineOut:
    _school_or_manager(caller)
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
    _school_or_manager(caller)
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
    _school_or_manager(caller)
    reason = body.reason if body is not None else None
    async with unit_of_work(runtime_of(request).pool) as work:
        row = await amending.withdraw_demand(work, caller, demand_id, reason)
    return DemandLineOut.of(row)

"""HTTP API of the demand service, under /v1."""

from dataclasses import asdict
from datetime import date, datetime
from typing import Annotated
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Header, Request, Response
from pydantic import BaseModel

from services.demand import handlers
from services.demand.registry import parse_registry
from services.demand.rules import DemandSubmission
from shared.auth import Role
from shared.http import Caller, Problem, require_role
from shared.money import Amount
from shared.service import Runtime

router = APIRouter(prefix="/v1")


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
    status: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: asyncpg.Record) -> "DemandLineOut":
        return cls.model_validate(dict(row))


class RegistryReportOut(BaseModel):
    schools: int
    joined: int
    left: int
    unchanged: int
    skipped_without_trust: int


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


@router.post(
    "/registry",
    tags=["registry"],
    response_model=RegistryReportOut,
    openapi_extra={"requestBody": {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def load_registry(request: Request, caller: Caller) -> RegistryReportOut:
    """Load a GIAS-style establishments CSV (operators only). Re-loading is an upsert."""
    require_role(caller, Role.OPERATOR)
    text = (await request.body()).decode("utf-8-sig")
    registry = parse_registry(text)
    if registry.errors:
        raise Problem(422, "Invalid registry file", errors=registry.errors)
    async with _runtime(request).pool.acquire() as conn, conn.transaction():
        report = await handlers.load_registry(conn, registry, correlation_id="registry-load")
    return RegistryReportOut(**asdict(report))


@router.post("/demands", tags=["demand"], status_code=201, response_model=DemandLineOut)
async def submit_demand(
    submission: DemandSubmission,
    request: Request,
    response: Response,
    caller: Caller,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> DemandLineOut:
    """Submit a school's demand line. Send an `Idempotency-Key`: a retry returns the original."""
    require_role(caller, Role.SCHOOL, Role.MANAGER)
    async with _runtime(request).pool.acquire() as conn, conn.transaction():
        row, created = await handlers.submit_demand(conn, caller, submission, idempotency_key)
    if not created:
        response.status_code = 200
    response.headers["Location"] = f"/v1/demands/{row['demand_id']}"
    return DemandLineOut.of(row)


@router.get("/demands/{demand_id}", tags=["demand"], response_model=DemandLineOut)
async def read_demand(demand_id: UUID, request: Request, caller: Caller) -> DemandLineOut:
    require_role(caller, Role.SCHOOL, Role.MANAGER)
    async with _runtime(request).pool.acquire() as conn:
        return DemandLineOut.of(await handlers.read_demand(conn, caller, demand_id))

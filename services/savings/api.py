"""HTTP API of the savings service, under /v1: a trust's savings for its business manager, and
each school's own savings for the school.

Every route under /v1/trusts/{trust_id} is for a manager of that trust and nobody else; every
route under /v1/schools/{urn} is for that school (its token's scope is the URN) and nobody else
(403 otherwise). Every route reads in one snapshot (`snapshot`), so the figures of one answer
always agree.
"""

import re
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Annotated, Any, TypeVar
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Query, Request, Response

from services.savings import realised, reports
from services.savings.settings import SavingsSettings
from shared.db import Connection
from shared.http import Caller, require_school, require_trust
from shared.openapi import problems
from shared.service import runtime_of
from shared.unit_of_work import UnitOfWork, unit_of_work

# 404 too: a path whose parameter holds an encoded "/" names no route.
router = APIRouter(
    prefix="/v1/trusts/{trust_id}/savings", tags=["savings"], responses=problems(404)
)
schools_router = APIRouter(
    prefix="/v1/schools/{urn}/savings", tags=["savings"], responses=problems(404)
)

Answer = TypeVar("Answer")


def csv_download(description: str) -> dict[str, Any]:
    """A CSV route's options: its 200 is a text/csv download, described as `description`."""
    return {
        "response_class": Response,
        "responses": {200: {"content": {"text/csv": {}}, "description": description}},
    }


def pool(request: Request) -> asyncpg.Pool:
    return runtime_of(request).pool


def tendering_url(request: Request) -> str:
    settings: SavingsSettings = request.app.state.savings_settings
    return settings.tendering_public_url


def snapshot(request: Request) -> AbstractAsyncContextManager[UnitOfWork]:
    """A read-only unit of work at repeatable read: every statement in it sees the ledger as it
    was at the first, so totals, schools and categories agree even while an award is recorded."""
    return unit_of_work(pool(request), isolation="repeatable_read", readonly=True)


async def _report(
    request: Request,
    caller: Caller,
    trust_id: str,
    read: Callable[[Connection], Awaitable[Answer]],
) -> Answer:
    """`read` for the trust's own manager, in one snapshot."""
    require_trust(caller, trust_id)
    return await _read(request, read)


async def _own(
    request: Request,
    caller: Caller,
    urn: str,
    read: Callable[[Connection], Awaitable[Answer]],
) -> Answer:
    """`read` for the school itself (its token's scope is the URN), in one snapshot."""
    require_school(caller, urn)
    return await _read(request, read)


async def _read(request: Request, read: Callable[[Connection], Awaitable[Answer]]) -> Answer:
    async with snapshot(request) as work:
        return await read(work.conn)


@router.get("", response_model=reports.TrustSavings)
async def trust_savings(trust_id: str, request: Request, caller: Caller) -> reports.TrustSavings:
    """The trust's totals, with a line per school and per category."""
    return await _report(
        request, caller, trust_id, lambda conn: reports.trust_summary(conn, trust_id)
    )


@router.get("/schools", response_model=list[reports.SchoolSavings])
async def school_savings(
    trust_id: str, request: Request, caller: Caller
) -> list[reports.SchoolSavings]:
    """Each school's figures, summed over its ledger entries."""
    return await _report(request, caller, trust_id, lambda conn: reports.schools(conn, trust_id))


@router.get("/schools/{urn}", response_model=reports.SchoolDetail, responses=problems(404))
async def school_ledger(
    trust_id: str, urn: str, request: Request, caller: Caller
) -> reports.SchoolDetail:
    """One school's figures and its ledger entries, line by line."""
    return await _report(
        request, caller, trust_id, lambda conn: reports.school_detail(conn, trust_id, urn)
    )


@router.get("/categories", response_model=list[reports.CategoryBreakdown])
async def category_savings(
    trust_id: str, request: Request, caller: Caller
) -> list[reports.CategoryBreakdown]:
    """Each category's figures, with its volume in the category's unit."""
    return await _report(request, caller, trust_id, lambda conn: reports.categories(conn, trust_id))


@router.get("/contracts", response_model=list[reports.ContractSavings])
async def contract_savings(
    trust_id: str, request: Request, caller: Caller
) -> list[reports.ContractSavings]:
    """Each joint contract (awarded tender), with a link to its tender."""
    url = tendering_url(request)
    return await _report(
        request, caller, trust_id, lambda conn: reports.contracts(conn, trust_id, url)
    )


@router.get(
    "/contracts/{tender_id}", response_model=reports.ContractDetail, responses=problems(404)
)
async def contract_detail(
    trust_id: str, tender_id: UUID, request: Request, caller: Caller
) -> reports.ContractDetail:
    """One joint contract: the trust's totals, and each award (a tender in lots has one per
    lot) with every school's ledger entry and the award, bid and rule version behind it."""
    url = tendering_url(request)
    return await _report(
        request, caller, trust_id, lambda conn: reports.contract(conn, trust_id, tender_id, url)
    )


@router.get("/months", response_model=list[reports.MonthSavings])
async def monthly_savings(
    trust_id: str, request: Request, caller: Caller
) -> list[reports.MonthSavings]:
    """Savings over time: contracts grouped by the month they start, with a running total."""
    return await _report(request, caller, trust_id, lambda conn: reports.months(conn, trust_id))


@router.get("/ledger", response_model=list[reports.LedgerEntry])
async def ledger(trust_id: str, request: Request, caller: Caller) -> list[reports.LedgerEntry]:
    """Every ledger entry of the trust, with the award, bid and rule version behind it."""
    return await _report(request, caller, trust_id, lambda conn: reports.ledger(conn, trust_id))


@router.get("/ledger.csv", **csv_download("the ledger as CSV"))
async def ledger_csv(trust_id: str, request: Request, caller: Caller) -> Response:
    """The ledger as a CSV download, one row per entry."""
    return await _report(request, caller, trust_id, lambda conn: trust_ledger_csv(conn, trust_id))


@schools_router.get("", response_model=reports.SchoolDetail)
async def own_savings(urn: str, request: Request, caller: Caller) -> reports.SchoolDetail:
    """The school's own figures and ledger entries, for the school itself."""
    return await _own(request, caller, urn, lambda conn: reports.own_savings(conn, urn))


@schools_router.get("/ledger.csv", **csv_download("the school's entries as CSV"))
async def own_ledger_csv(urn: str, request: Request, caller: Caller) -> Response:
    """The school's own ledger entries as a CSV download, one row per entry."""
    detail = await own_savings(urn, request, caller)
    return csv_response(f"school-{urn}", detail.entries)


async def trust_ledger_csv(conn: Connection, trust_id: str) -> Response:
    """The trust's ledger as a CSV download, one row per entry (the API's and the dashboard's)."""
    return csv_response(f"trust-{trust_id}", await reports.ledger(conn, trust_id))


async def trust_realised_csv(conn: Connection, trust_id: str) -> Response:
    """The trust's spend lines as a CSV download (the API's and the dashboard's)."""
    lines = await realised.trust_lines(conn, trust_id)
    return download("savings-realised", f"trust-{trust_id}", realised.lines_csv(lines))


def csv_response(whose: str, entries: list[reports.LedgerEntry]) -> Response:
    """The entries as a CSV download named after `whose` ("trust-3101", "school-310101")."""
    return download("savings-ledger", whose, reports.ledger_csv(entries))


def download(what: str, whose: str, body: str) -> Response:
    """A CSV download named `what`-`whose`.csv."""
    filename = f"{what}-" + re.sub(r"[^A-Za-z0-9_-]", "", whose) + ".csv"
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


# --- savings achieved (realised) -------------------------------------------------------------


@router.get("/realised", response_model=realised.TrustRealised)
async def trust_realised(trust_id: str, request: Request, caller: Caller) -> realised.TrustRealised:
    """What the trust's schools were invoiced against what their joint contracts promised: on
    and off contract per school, each contract's annualised volume against its price tier, and
    spend no contract covers, per category."""
    return await _report(
        request, caller, trust_id, lambda conn: realised.trust_realised(conn, trust_id)
    )


@router.get("/realised/months", response_model=list[realised.MonthRealised])
async def realised_months(
    trust_id: str, request: Request, caller: Caller
) -> list[realised.MonthRealised]:
    """Expected against realised saving of the lines on contract, by the month their period
    starts, with running totals: the dashboard's cumulative chart."""
    return await _report(
        request, caller, trust_id, lambda conn: realised.trust_months(conn, trust_id)
    )


@router.get("/realised/lines", response_model=realised.SpendLines)
async def realised_lines(
    trust_id: str,
    request: Request,
    caller: Caller,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[
        str | None, Query(max_length=200, description="`next_cursor` of the previous page")
    ] = None,
) -> realised.SpendLines:
    """The trust's spend lines, a page at a time (oldest periods first), each with its
    classification and figures; pages as `GET /v1/demands` does."""
    return await _report(
        request,
        caller,
        trust_id,
        lambda conn: realised.trust_lines_page(conn, trust_id, cursor, limit),
    )


@router.get("/realised.csv", **csv_download("the spend lines as CSV"))
async def realised_csv(trust_id: str, request: Request, caller: Caller) -> Response:
    """Every spend line of the trust as a CSV download, with its classification and figures."""
    return await _report(request, caller, trust_id, lambda conn: trust_realised_csv(conn, trust_id))


@schools_router.get("/realised", response_model=realised.OwnRealised)
async def own_realised(urn: str, request: Request, caller: Caller) -> realised.OwnRealised:
    """The school's own realised figures, uncontracted spend and spend lines, for the school."""
    return await _own(request, caller, urn, lambda conn: realised.own_realised(conn, urn))


@schools_router.get("/realised.csv", **csv_download("the school's spend as CSV"))
async def own_realised_csv(urn: str, request: Request, caller: Caller) -> Response:
    """The school's own spend lines as a CSV download, with their classification and figures."""
    detail = await own_realised(urn, request, caller)
    return download("savings-realised", f"school-{urn}", realised.lines_csv(detail.lines))

"""HTTP routes of the tendering service, under /v1 (docs/http-api.md): each parses its request
(schemas.py), checks the caller's role and scope, runs a handler in a unit of work and shapes
the answer (views.py). Refusals are domain errors, answered as problem details by shared/http.py.
"""

from datetime import UTC, datetime
from typing import Annotated, Literal
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Query, Request

from services.tendering import handlers, store, views
from services.tendering.domain.errors import TenderNotFound
from services.tendering.domain.evaluation import Weights
from services.tendering.domain.pricing import PriceTier
from services.tendering.domain.scoring import QualityScore
from services.tendering.schemas import (
    AssessmentOut,
    BidIn,
    BidOut,
    CancelIn,
    EvaluationIn,
    HistoryEntryOut,
    NoticeOut,
    OpenTenderIn,
    PoolOut,
    SupplierBidOut,
    TenderOut,
    TenderSummaryOut,
)
from services.tendering.settings import PolicySettings
from shared.auth import Principal, Role
from shared.db import Connection
from shared.http import Caller, require_role, require_trust
from shared.openapi import problems
from shared.service import runtime_of

router = APIRouter(prefix="/v1", tags=["tendering"], responses=problems())


def policy_of(request: Request) -> PolicySettings:
    """The service's policy settings (main.py keeps them on the app)."""
    policy: PolicySettings = request.app.state.tender_policy
    return policy


def scope_of(caller: Principal, role: Role) -> str:
    """The caller's scope (a supplier's id, a manager's trust), once its role is checked."""
    require_role(caller, role)
    assert caller.scope is not None
    return caller.scope


async def visible_tender(conn: Connection, tender_id: UUID, caller: Principal) -> asyncpg.Record:
    """The tender, if the caller may see it: a supplier any, a manager only its trust's."""
    t = await store.get_tender(conn, tender_id)
    if t is None or (caller.role is Role.MANAGER and t["trust_id"] != caller.scope):
        raise TenderNotFound(tender_id, token=True)
    return t


@router.get("/trusts/{trust_id}/pools", response_model=list[PoolOut], responses=problems(404))
async def list_pools(trust_id: str, request: Request, caller: Caller) -> list[PoolOut]:
    """The trust's open demand, pooled by category and contract end date, with its legal route."""
    require_trust(caller, trust_id)
    runtime = runtime_of(request)
    window, now = runtime.settings.pooling_window_months, datetime.now(UTC)
    async with runtime.pool.acquire() as conn:
        tenders = store.PostgresTenderRepository(conn)
        pools = await handlers.list_pools(tenders, trust_id, window, now)
    return views.pools(trust_id, pools)


@router.get(
    "/trusts/{trust_id}/tenders", response_model=list[TenderSummaryOut], responses=problems(404)
)
async def list_tenders(trust_id: str, request: Request, caller: Caller) -> list[TenderSummaryOut]:
    """The trust's tenders, newest first, whether a manager or the opening policy opened them."""
    require_trust(caller, trust_id)
    async with runtime_of(request).pool.acquire() as conn:
        rows = await store.trust_tenders(conn, trust_id)
    return views.summaries(rows)


@router.post(
    "/tenders", status_code=201, response_model=TenderOut, responses=problems(404, 409, 413)
)
async def open_tender(body: OpenTenderIn, request: Request, caller: Caller) -> TenderOut:
    """Open a tender for a whole pool (default: the trust's earliest open pool for the category);
    its lines are locked until it is cancelled."""
    require_trust(caller, body.trust_id)
    runtime = runtime_of(request)
    opening = handlers.OpenRequest(
        trust_id=body.trust_id,
        category=body.category,
        pool_id=body.pool_id,
        closes_at=body.closes_at,
        term_months=body.term_months,
        weights=Weights(body.weights.price, body.weights.quality) if body.weights else Weights(),
        lots_by=body.lots_by,
        procedure=body.procedure_choice(),
    )
    now = datetime.now(UTC)
    below_threshold_days = policy_of(request).below_threshold_min_days
    async with store.TenderingUnitOfWork.begin(runtime.pool) as work:
        tender_id = await handlers.open_tender(
            work,
            opening,
            runtime.settings.pooling_window_months,
            now,
            opened_by=caller.subject,
            below_threshold_days=below_threshold_days,
        )
        return await views.tender(work.conn, tender_id, now)


@router.get("/tenders", response_model=list[NoticeOut], responses=problems())
async def open_notices(
    request: Request,
    caller: Caller,
    status: Annotated[
        Literal["open"], Query(description="only open tenders are listed: those taking bids")
    ] = "open",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[NoticeOut]:
    """The notices of the tenders taking bids (open, before their deadline), soonest deadline
    first: every trust's for a supplier, the trust's own for a manager. No schools' prices."""
    require_role(caller, Role.SUPPLIER, Role.MANAGER)
    trust_id = caller.scope if caller.role is Role.MANAGER else None
    async with runtime_of(request).pool.acquire() as conn:
        tenders = await store.open_notices(conn, datetime.now(UTC), trust_id, limit)
        lots = await store.notice_lots(conn, [t["tender_id"] for t in tenders])
    return views.notices(tenders, lots)


@router.get("/tenders/{tender_id}/notice", response_model=NoticeOut, responses=problems(404))
async def tender_notice(tender_id: UUID, request: Request, caller: Caller) -> NoticeOut:
    """The tender as suppliers see it: no schools' prices, no other bids."""
    require_role(caller, Role.SUPPLIER, Role.MANAGER)
    async with runtime_of(request).pool.acquire() as conn:
        t = await visible_tender(conn, tender_id, caller)
        lots = await store.tender_lots(conn, tender_id)
        lines = await store.tender_lines(conn, tender_id)
    return views.notice(t, lots, lines)


@router.post(
    "/tenders/{tender_id}/bids",
    status_code=201,
    response_model=BidOut,
    responses=problems(404, 409, 413),
)
async def submit_bid(tender_id: UUID, body: BidIn, request: Request, caller: Caller) -> BidOut:
    """A supplier's bid for a lot, before the deadline; a resubmission replaces the supplier's
    earlier bid for that lot."""
    scope = scope_of(caller, Role.SUPPLIER)
    tiers = [PriceTier(t.min_quantity, t.unit_price) for t in body.price_tiers]
    async with store.TenderingUnitOfWork.begin(runtime_of(request).pool) as work:
        lot, bid = await handlers.submit_bid(
            work,
            scope,
            tender_id,
            body.lot,
            tiers,
            datetime.now(UTC),
            body.supplier_name,
            submitted_by=caller.subject,
        )
    return views.bid(tender_id, lot, bid)


@router.get("/tenders/{tender_id}/bids", response_model=list[BidOut], responses=problems(404))
async def my_bids(tender_id: UUID, request: Request, caller: Caller) -> list[BidOut]:
    """A supplier sees only its own bids."""
    scope = scope_of(caller, Role.SUPPLIER)
    async with runtime_of(request).pool.acquire() as conn:
        rows = await store.bid_rows(conn, tender_id, scope)
    return [views.bid(tender_id, r["lot_no"], store.bid_of(r)) for r in rows]


@router.post(
    "/tenders/{tender_id}/evaluation",
    response_model=TenderOut,
    responses=problems(404, 409, 413),
)
async def evaluation(
    tender_id: UUID, body: EvaluationIn, request: Request, caller: Caller
) -> TenderOut:
    """The trust's moderated quality scores (0 to 100, with an optional comment) of bids, once
    bidding has closed; revisable until the bid's lot is awarded."""
    scope = scope_of(caller, Role.MANAGER)
    scores = [QualityScore(str(s.bid_id), s.quality_score, s.comment) for s in body.scores]
    now = datetime.now(UTC)
    async with store.TenderingUnitOfWork.begin(runtime_of(request).pool) as work:
        await handlers.record_quality_scores(work, scope, tender_id, scores, now, caller.subject)
        return await views.tender(work.conn, tender_id, now)


@router.get(
    "/tenders/{tender_id}/bids/{bid_id}/assessment",
    response_model=AssessmentOut,
    responses=problems(404, 409),
)
async def assessment(
    tender_id: UUID, bid_id: UUID, request: Request, caller: Caller
) -> AssessmentOut:
    """A bid's assessment summary once its lot is awarded (Procurement Act 2023, s.50): its own
    price, quality and total scores, the winner's, and why; for the bid's supplier and the
    trust's managers."""
    require_role(caller, Role.SUPPLIER, Role.MANAGER)
    async with runtime_of(request).pool.acquire() as conn:
        t = await visible_tender(conn, tender_id, caller)
        supplier = caller.scope if caller.role is Role.SUPPLIER else None
        return await views.assessment(conn, t, bid_id, supplier)


@router.post("/tenders/{tender_id}/award", response_model=TenderOut, responses=problems(404, 409))
async def award(tender_id: UUID, request: Request, caller: Caller) -> TenderOut:
    """Evaluate the bids of each lot and award it to the best (once bidding has closed and every
    bid has the trust's quality score, unless quality weighs 0); a lot without bids closes and
    its lines are released. A decided tender is returned as it is."""
    scope = scope_of(caller, Role.MANAGER)
    now = datetime.now(UTC)
    async with store.TenderingUnitOfWork.begin(runtime_of(request).pool) as work:
        await handlers.award_tender(work, scope, tender_id, now, awarded_by=caller.subject)
        return await views.tender(work.conn, tender_id, now)


@router.post(
    "/tenders/{tender_id}/cancel", response_model=TenderOut, responses=problems(404, 409, 413)
)
async def cancel(
    tender_id: UUID, request: Request, caller: Caller, body: CancelIn | None = None
) -> TenderOut:
    """Cancel an open tender: its lines are released to pool again."""
    scope = scope_of(caller, Role.MANAGER)
    reason = (body or CancelIn()).reason
    now = datetime.now(UTC)
    async with store.TenderingUnitOfWork.begin(runtime_of(request).pool) as work:
        await handlers.cancel_tender(work, scope, tender_id, reason, now, caller.subject)
        return await views.tender(work.conn, tender_id, now)


@router.get("/tenders/{tender_id}", response_model=TenderOut, responses=problems(404))
async def read_tender(tender_id: UUID, request: Request, caller: Caller) -> TenderOut:
    """The tender, its pool and route, bids ranked with scores once closed, the award and why."""
    require_role(caller, Role.MANAGER)
    async with runtime_of(request).pool.acquire() as conn:
        await visible_tender(conn, tender_id, caller)
        return await views.tender(conn, tender_id, datetime.now(UTC))


@router.get("/bids", response_model=list[SupplierBidOut], responses=problems())
async def supplier_bids(
    request: Request, caller: Caller, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> list[SupplierBidOut]:
    """The caller's own bids on every tender, newest first, with where each tender and lot stand
    (the supplier then reads an awarded lot's assessment summary). A supplier only."""
    scope = scope_of(caller, Role.SUPPLIER)
    async with runtime_of(request).pool.acquire() as conn:
        rows = await store.supplier_bid_rows(conn, scope, limit)
    return [
        SupplierBidOut(
            **views.bid(r["tender_id"], r["lot_no"], store.bid_of(r)).model_dump(),
            category=r["category"],
            unit=r["unit"],
            closes_at=r["closes_at"],
            tender_status=r["tender_status"],
            lot_status=r["lot_status"],
            awarded=r["awarded"],
        )
        for r in rows
    ]


@router.get(
    "/tenders/{tender_id}/history", response_model=list[HistoryEntryOut], responses=problems(404)
)
async def tender_history(
    tender_id: UUID, request: Request, caller: Caller
) -> list[HistoryEntryOut]:
    """Who did what to the tender, and when, in the order it was done: for the trust's managers.
    While bids are sealed, a bid's entry says when one came, not from whom."""
    require_role(caller, Role.MANAGER)
    async with runtime_of(request).pool.acquire() as conn:
        t = await visible_tender(conn, tender_id, caller)
        entries = await store.tender_history(conn, tender_id)
    return views.history(t, entries, datetime.now(UTC))

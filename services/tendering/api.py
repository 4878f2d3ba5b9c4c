"""HTTP API of the tendering service, under /v1."""

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Annotated
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Request
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

from services.tendering import handlers, store
from services.tendering.domain.evaluation import Weights, display, evaluate, explain_award
from services.tendering.domain.lots import LotsBy, Status
from services.tendering.domain.pricing import PriceTier
from services.tendering.domain.route import RouteDecision
from shared.auth import Role
from shared.bounds import (
    BID_PRICE,
    MAX_CLOSING_DAYS_AHEAD,
    QUALITY,
    TERM_MONTHS_MAX,
    TERM_MONTHS_MIN,
    TIER_QUANTITY,
    WEIGHT,
)
from shared.db import Connection
from shared.http import Caller, Problem, require_role, require_trust
from shared.money import NOT_FLOAT, Amount
from shared.openapi import problems
from shared.service import runtime_of

router = APIRouter(prefix="/v1", tags=["tendering"], responses=problems())


class RouteOut(BaseModel):
    route: str
    value_ex_vat: Amount
    vat: Amount
    value_inc_vat: Amount
    threshold: Amount
    threshold_name: str
    reason: str

    @classmethod
    def of(cls, decision: RouteDecision) -> "RouteOut":
        return cls(
            route=str(decision.route),
            value_ex_vat=decision.value_ex_vat,
            vat=decision.vat,
            value_inc_vat=decision.value_inc_vat,
            threshold=decision.threshold,
            threshold_name=decision.threshold_name,
            reason=decision.reason,
        )


class PoolLineOut(BaseModel):
    demand_id: UUID
    school_urn: str
    quantity: Amount
    baseline_unit_price: Amount
    contract_end: date


class PoolOut(BaseModel):
    pool_id: str
    trust_id: str
    category: str
    schools: list[str]
    total_quantity: Amount
    earliest_end: date
    latest_end: date
    term_months: int
    route: RouteOut = Field(description="estimated value over the term and the legal route")
    conflicting_tenders: list[UUID] = Field(
        description="open tenders whose requirement these lines belong to: opening this pool"
        " would split it, so it is refused until they are awarded or cancelled"
    )
    lines: list[PoolLineOut]


@router.get("/trusts/{trust_id}/pools", response_model=list[PoolOut], responses=problems(404))
async def list_pools(trust_id: str, request: Request, caller: Caller) -> list[PoolOut]:
    """The trust's open demand, pooled by category and contract end date, with its legal route."""
    require_trust(caller, trust_id)
    runtime = runtime_of(request)
    async with runtime.pool.acquire() as conn:
        views = await handlers.list_pools(
            conn, trust_id, runtime.settings.pooling_window_months, datetime.now(UTC)
        )
    return [
        PoolOut(
            pool_id=v.pool.pool_id,
            trust_id=trust_id,
            category=v.pool.category,
            schools=list(v.pool.schools),
            total_quantity=v.pool.total_quantity,
            earliest_end=v.pool.earliest_end,
            latest_end=v.pool.latest_end,
            term_months=v.term_months,
            route=RouteOut.of(v.route),
            conflicting_tenders=[UUID(t) for t in v.conflicting_tenders],
            lines=[
                PoolLineOut(
                    demand_id=UUID(line.demand_id),
                    school_urn=line.school_urn,
                    quantity=line.quantity,
                    baseline_unit_price=line.baseline_unit_price,
                    contract_end=line.contract_end,
                )
                for line in v.pool.lines
            ],
        )
        for v in views
    ]


class WeightsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    price: Annotated[Decimal, WEIGHT, NOT_FLOAT, Field(description=f"price weight: {WEIGHT.text}")]
    quality: Annotated[
        Decimal, WEIGHT, NOT_FLOAT, Field(description=f"quality weight: {WEIGHT.text}")
    ]


def _not_too_far(closes_at: datetime) -> datetime:
    if closes_at > datetime.now(UTC) + timedelta(days=MAX_CLOSING_DAYS_AHEAD):
        reason = f"must be at most {MAX_CLOSING_DAYS_AHEAD} days ahead"
        raise PydanticCustomError("out_of_range", reason)
    return closes_at


class OpenTenderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    trust_id: str
    category: str
    pool_id: str | None = None
    closes_at: Annotated[
        AwareDatetime,
        AfterValidator(_not_too_far),
        Field(description=f"end of bidding: in the future, at most {MAX_CLOSING_DAYS_AHEAD} days"),
    ]
    term_months: Annotated[int | None, Field(ge=TERM_MONTHS_MIN, le=TERM_MONTHS_MAX)] = None
    lots_by: LotsBy | None = Field(
        default=None, description="split into lots by the schools' local authority or phase"
    )
    weights: WeightsIn | None = None


class TierIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    min_quantity: Annotated[
        Decimal,
        TIER_QUANTITY,
        NOT_FLOAT,
        Field(description=f"minimum pooled annual quantity: {TIER_QUANTITY.text}"),
    ]
    unit_price: Annotated[
        Decimal,
        BID_PRICE,
        NOT_FLOAT,
        Field(description=f"GBP ex VAT per the category's unit: {BID_PRICE.text}"),
    ]


class BidIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lot: Annotated[int | None, Field(ge=1)] = Field(
        default=None, description="the lot bid for; required when the tender has several lots"
    )
    quality_score: Annotated[
        Decimal, QUALITY, NOT_FLOAT, Field(description=f"quality score: {QUALITY.text}")
    ]
    price_tiers: Annotated[list[TierIn], Field(min_length=1, max_length=50)]


class CancelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Annotated[str, Field(min_length=1, max_length=500, pattern=r"^[^\x00-\x1f\x7f]*$")] = (
        "cancelled by the trust"
    )


class BidOut(BaseModel):
    bid_id: UUID
    tender_id: UUID
    lot: int
    supplier_id: str
    quality_score: Amount
    price_tiers: list[dict[str, str]]
    submitted_at: datetime


class RankedBidOut(BaseModel):
    rank: int
    bid_id: UUID
    supplier_id: str
    unit_price_at_pooled_volume: Amount
    price_score: Amount
    quality_score: Amount
    score: Amount
    submitted_at: datetime


class AwardOut(BaseModel):
    bid_id: UUID
    supplier_id: str
    pooled_quantity: Amount
    pooled_unit_price: Amount
    awarded_at: datetime
    awarded_by: str = Field(description="manager, or deadline when awarded automatically")
    standstill_ends: date | None = Field(
        description="regulated awards: last day of the 8-working-day standstill period; the"
        " contract may not be entered into before the day after"
    )
    reason: str = Field(description="why the winner won")


class LotOut(BaseModel):
    lot: int
    name: str | None
    status: str
    schools: list[str]
    pooled_quantity: Amount
    bids_received: int
    bids: list[RankedBidOut] | None = Field(
        default=None, description="ranked with scores; shown to the trust once bidding has closed"
    )
    award: AwardOut | None = None


class TenderLineOut(PoolLineOut):
    lot: int


class TenderOut(BaseModel):
    tender_id: UUID
    trust_id: str
    category: str
    unit: str
    pool_id: str
    status: str
    opened_at: datetime
    opened_by: str
    closes_at: datetime
    term_months: int
    weights: dict[str, Amount]
    lots_by: str | None
    route: RouteOut
    pooled_quantity: Amount
    lines: list[TenderLineOut]
    lots: list[LotOut]
    bids: list[RankedBidOut] | None = Field(
        default=None, description="without lots: the bids ranked, as in lots[0]"
    )
    award: AwardOut | None = Field(default=None, description="without lots: lots[0]'s award")
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None


class TenderSummaryOut(BaseModel):
    tender_id: UUID
    category: str
    pool_id: str
    status: str
    opened_at: datetime
    opened_by: str
    closes_at: datetime
    route: str
    lots_by: str | None


class LotNoticeOut(BaseModel):
    lot: int
    name: str | None
    schools: int
    pooled_quantity: Amount


class NoticeOut(BaseModel):
    """What a supplier needs to bid: the requirement, its lots and the evaluation weights."""

    tender_id: UUID
    category: str
    unit: str
    status: str
    closes_at: datetime
    term_months: int
    route: str
    weights: dict[str, Amount]
    lots: list[LotNoticeOut]


def _bid_out(row: asyncpg.Record) -> BidOut:
    bid = store.bid_of(row)
    return BidOut(
        bid_id=row["bid_id"],
        tender_id=row["tender_id"],
        lot=row["lot_no"],
        supplier_id=bid.supplier_id,
        quality_score=bid.quality_score,
        submitted_at=bid.submitted_at,
        price_tiers=[
            {"min_quantity": str(t.min_quantity), "unit_price": str(t.unit_price)}
            for t in bid.tiers
        ],
    )


@router.get(
    "/trusts/{trust_id}/tenders", response_model=list[TenderSummaryOut], responses=problems(404)
)
async def list_tenders(trust_id: str, request: Request, caller: Caller) -> list[TenderSummaryOut]:
    """The trust's tenders, newest first, whether a manager or the opening policy opened them."""
    require_trust(caller, trust_id)
    async with runtime_of(request).pool.acquire() as conn:
        rows = await store.trust_tenders(conn, trust_id)
    return [
        TenderSummaryOut(
            tender_id=t["tender_id"],
            category=t["category"],
            pool_id=t["pool_id"],
            status=t["status"],
            opened_at=t["opened_at"],
            opened_by=t["opened_by"],
            closes_at=t["closes_at"],
            route=t["route"],
            lots_by=t["lots_by"],
        )
        for t in rows
    ]


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
    )
    async with runtime.pool.acquire() as conn:
        async with conn.transaction():
            tender_id = await handlers.open_tender(
                conn, opening, runtime.settings.pooling_window_months, datetime.now(UTC)
            )
        return await _tender_out(conn, tender_id)


@router.get("/tenders/{tender_id}/notice", response_model=NoticeOut, responses=problems(404))
async def tender_notice(tender_id: UUID, request: Request, caller: Caller) -> NoticeOut:
    """The tender as suppliers see it: no schools' prices, no other bids."""
    require_role(caller, Role.SUPPLIER, Role.MANAGER)
    async with runtime_of(request).pool.acquire() as conn:
        t = await store.get_tender(conn, tender_id)
        if t is None or (caller.role is Role.MANAGER and t["trust_id"] != caller.scope):
            raise Problem(404, "Not found", f"no tender {tender_id} for this token")
        lots = await store.tender_lots(conn, tender_id)
        lines = await store.tender_lines(conn, tender_id)
    return NoticeOut(
        tender_id=t["tender_id"],
        category=t["category"],
        unit=t["unit"],
        status=t["status"],
        closes_at=t["closes_at"],
        term_months=t["term_months"],
        route=t["route"],
        weights={"price": t["weight_price"], "quality": t["weight_quality"]},
        lots=[
            LotNoticeOut(
                lot=lot["lot_no"],
                name=lot["name"],
                schools=len(
                    {line["school_urn"] for line in lines if line["lot_no"] == lot["lot_no"]}
                ),
                pooled_quantity=lot["pooled_quantity"],
            )
            for lot in lots
        ],
    )


@router.post(
    "/tenders/{tender_id}/bids",
    status_code=201,
    response_model=BidOut,
    responses=problems(404, 409, 413),
)
async def submit_bid(tender_id: UUID, body: BidIn, request: Request, caller: Caller) -> BidOut:
    """A supplier's bid for a lot, before the deadline; a resubmission replaces the supplier's
    earlier bid for that lot."""
    require_role(caller, Role.SUPPLIER)
    assert caller.scope is not None
    tiers = [PriceTier(t.min_quantity, t.unit_price) for t in body.price_tiers]
    async with runtime_of(request).pool.acquire() as conn, conn.transaction():
        row = await handlers.submit_bid(
            conn, caller.scope, tender_id, body.lot, body.quality_score, tiers, datetime.now(UTC)
        )
    return _bid_out(row)


@router.get("/tenders/{tender_id}/bids", response_model=list[BidOut], responses=problems(404))
async def my_bids(tender_id: UUID, request: Request, caller: Caller) -> list[BidOut]:
    """A supplier sees only its own bids."""
    require_role(caller, Role.SUPPLIER)
    assert caller.scope is not None
    async with runtime_of(request).pool.acquire() as conn:
        rows = await store.bid_rows(conn, tender_id, caller.scope)
    return [_bid_out(r) for r in rows]


@router.post("/tenders/{tender_id}/award", response_model=TenderOut, responses=problems(404, 409))
async def award(tender_id: UUID, request: Request, caller: Caller) -> TenderOut:
    """Evaluate the bids of each lot and award it to the best (once bidding has closed); a lot
    without bids closes and its lines are released. A decided tender is returned as it is."""
    require_role(caller, Role.MANAGER)
    assert caller.scope is not None
    async with runtime_of(request).pool.acquire() as conn:
        async with conn.transaction():
            await handlers.award_tender(conn, caller.scope, tender_id, datetime.now(UTC))
        return await _tender_out(conn, tender_id)


@router.post(
    "/tenders/{tender_id}/cancel", response_model=TenderOut, responses=problems(404, 409, 413)
)
async def cancel(
    tender_id: UUID, request: Request, caller: Caller, body: CancelIn | None = None
) -> TenderOut:
    """Cancel an open tender: its lines are released to pool again."""
    require_role(caller, Role.MANAGER)
    assert caller.scope is not None
    reason = (body or CancelIn()).reason
    async with runtime_of(request).pool.acquire() as conn:
        async with conn.transaction():
            await handlers.cancel_tender(conn, caller.scope, tender_id, reason, datetime.now(UTC))
        return await _tender_out(conn, tender_id)


@router.get("/tenders/{tender_id}", response_model=TenderOut, responses=problems(404))
async def read_tender(tender_id: UUID, request: Request, caller: Caller) -> TenderOut:
    """The tender, its pool and route, bids ranked with scores once closed, the award and why."""
    require_role(caller, Role.MANAGER)
    async with runtime_of(request).pool.acquire() as conn:
        tender = await store.get_tender(conn, tender_id)
        if tender is None or tender["trust_id"] != caller.scope:
            raise Problem(404, "Not found", f"no tender {tender_id} for this token")
        return await _tender_out(conn, tender_id)


async def _tender_out(conn: Connection, tender_id: UUID) -> TenderOut:
    t = await store.get_tender(conn, tender_id)
    assert t is not None
    lines = await store.tender_lines(conn, tender_id)
    bids = defaultdict(list)
    for row in await store.bid_rows(conn, tender_id):
        bids[row["lot_no"]].append(store.bid_of(row))
    # Bids stay sealed until the deadline.
    closed = t["status"] != Status.OPEN or datetime.now(UTC) >= t["closes_at"]
    weights = Weights(t["weight_price"], t["weight_quality"])
    lots = []
    for lot in await store.tender_lots(conn, tender_id):
        number = lot["lot_no"]
        ranked = evaluate(bids[number], lot["pooled_quantity"], weights) if closed else []
        award = None
        if lot["status"] == Status.AWARDED:
            winner = next(s for s in ranked if s.bid.bid_id == str(lot["awarded_bid_id"]))
            award = AwardOut(
                bid_id=lot["awarded_bid_id"],
                supplier_id=winner.bid.supplier_id,
                pooled_quantity=lot["pooled_quantity"],
                pooled_unit_price=lot["pooled_unit_price"],
                awarded_at=lot["awarded_at"],
                awarded_by=lot["awarded_by"],
                standstill_ends=lot["standstill_ends"],
                reason=explain_award(ranked, weights, lot["pooled_quantity"], t["unit"]),
            )
        lots.append(
            LotOut(
                lot=number,
                name=lot["name"],
                status=lot["status"],
                schools=sorted({line["school_urn"] for line in lines if line["lot_no"] == number}),
                pooled_quantity=lot["pooled_quantity"],
                bids_received=len(bids[number]),
                bids=[
                    RankedBidOut(
                        rank=s.rank,
                        bid_id=UUID(s.bid.bid_id),
                        supplier_id=s.bid.supplier_id,
                        unit_price_at_pooled_volume=s.unit_price,
                        price_score=display(s.price_score),
                        quality_score=s.bid.quality_score,
                        score=display(s.score),
                        submitted_at=s.bid.submitted_at,
                    )
                    for s in ranked
                ]
                if closed
                else None,
                award=award,
            )
        )
    single = lots[0] if t["lots_by"] is None else None
    return TenderOut(
        tender_id=t["tender_id"],
        trust_id=t["trust_id"],
        category=t["category"],
        unit=t["unit"],
        pool_id=t["pool_id"],
        status=t["status"],
        opened_at=t["opened_at"],
        opened_by=t["opened_by"],
        closes_at=t["closes_at"],
        term_months=t["term_months"],
        weights={"price": t["weight_price"], "quality": t["weight_quality"]},
        lots_by=t["lots_by"],
        route=RouteOut(
            route=t["route"],
            value_ex_vat=t["value_ex_vat"],
            vat=t["vat"],
            value_inc_vat=t["value_inc_vat"],
            threshold=t["threshold"],
            threshold_name=t["threshold_name"],
            reason=t["route_reason"],
        ),
        pooled_quantity=sum((lot.pooled_quantity for lot in lots), Decimal(0)),
        lines=[
            TenderLineOut(
                lot=line["lot_no"],
                demand_id=line["demand_id"],
                school_urn=line["school_urn"],
                quantity=line["quantity"],
                baseline_unit_price=line["baseline_unit_price"],
                contract_end=line["contract_end"],
            )
            for line in lines
        ],
        lots=lots,
        bids=single.bids if single else None,
        award=single.award if single else None,
        cancelled_at=t["cancelled_at"],
        cancel_reason=t["cancel_reason"],
    )

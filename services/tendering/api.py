"""HTTP API of the tendering service, under /v1."""

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from services.tendering import handlers, store
from services.tendering.domain.evaluation import Weights, evaluate
from services.tendering.domain.pricing import PriceTier
from services.tendering.domain.route import RouteDecision
from shared.auth import Role
from shared.db import Connection
from shared.http import Caller, Problem, require_role, require_trust
from shared.money import Amount, DecimalInput
from shared.service import Runtime

router = APIRouter(prefix="/v1", tags=["tendering"])


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


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
    route: RouteOut
    lines: list[PoolLineOut]


@router.get("/trusts/{trust_id}/pools", response_model=list[PoolOut])
async def list_pools(trust_id: str, request: Request, caller: Caller) -> list[PoolOut]:
    """The trust's open demand, pooled by category and contract end date, with its legal route."""
    require_trust(caller, trust_id)
    runtime = _runtime(request)
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
    price: DecimalInput
    quality: DecimalInput


class OpenTenderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    trust_id: str
    category: str
    pool_id: str | None = None
    closes_at: AwareDatetime
    term_months: Annotated[int | None, Field(ge=1, le=120)] = None
    weights: WeightsIn | None = None


class TierIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    min_quantity: DecimalInput
    unit_price: DecimalInput


class BidIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    quality_score: Annotated[DecimalInput, Field(ge=0, le=100)]
    price_tiers: Annotated[list[TierIn], Field(min_length=1, max_length=50)]


class BidOut(BaseModel):
    bid_id: UUID
    tender_id: UUID
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


class AwardOut(BaseModel):
    bid_id: UUID
    supplier_id: str
    pooled_quantity: Amount
    pooled_unit_price: Amount
    awarded_at: datetime


class TenderOut(BaseModel):
    tender_id: UUID
    trust_id: str
    category: str
    unit: str
    pool_id: str
    status: str
    opened_at: datetime
    closes_at: datetime
    term_months: int
    weights: dict[str, Amount]
    route: RouteOut
    lines: list[PoolLineOut]
    bids: list[RankedBidOut] | None = Field(
        default=None, description="ranked with scores; shown to the trust once bidding has closed"
    )
    award: AwardOut | None = None


def _bid_out(row: asyncpg.Record) -> BidOut:
    bid = store.bid_of(row)
    return BidOut(
        bid_id=row["bid_id"],
        tender_id=row["tender_id"],
        supplier_id=bid.supplier_id,
        quality_score=bid.quality_score,
        submitted_at=bid.submitted_at,
        price_tiers=[
            {"min_quantity": str(t.min_quantity), "unit_price": str(t.unit_price)}
            for t in bid.tiers
        ],
    )


@router.post("/tenders", status_code=201, response_model=TenderOut)
async def open_tender(body: OpenTenderIn, request: Request, caller: Caller) -> TenderOut:
    """Open a tender from a pool (default: the trust's first open pool for the category)."""
    require_trust(caller, body.trust_id)
    runtime = _runtime(request)
    weights = Weights(body.weights.price, body.weights.quality) if body.weights else Weights()
    async with runtime.pool.acquire() as conn:
        async with conn.transaction():
            tender_id = await handlers.open_tender(
                conn,
                body.trust_id,
                body.category,
                body.pool_id,
                body.closes_at,
                body.term_months,
                weights,
                runtime.settings.pooling_window_months,
                datetime.now(UTC),
            )
        return await _tender_out(conn, tender_id)


@router.post("/tenders/{tender_id}/bids", status_code=201, response_model=BidOut)
async def submit_bid(tender_id: UUID, body: BidIn, request: Request, caller: Caller) -> BidOut:
    """A supplier's bid; a resubmission replaces the supplier's earlier bid."""
    require_role(caller, Role.SUPPLIER)
    assert caller.scope is not None
    tiers = [PriceTier(t.min_quantity, t.unit_price) for t in body.price_tiers]
    async with _runtime(request).pool.acquire() as conn, conn.transaction():
        row = await handlers.submit_bid(
            conn, caller.scope, tender_id, body.quality_score, tiers, datetime.now(UTC)
        )
    return _bid_out(row)


@router.get("/tenders/{tender_id}/bids", response_model=list[BidOut])
async def my_bids(tender_id: UUID, request: Request, caller: Caller) -> list[BidOut]:
    """A supplier sees only its own bid."""
    require_role(caller, Role.SUPPLIER)
    async with _runtime(request).pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT * FROM bids WHERE tender_id = $1 AND supplier_id = $2", tender_id, caller.scope
        )
    return [_bid_out(r) for r in rows]


@router.post("/tenders/{tender_id}/award", response_model=TenderOut)
async def award(tender_id: UUID, request: Request, caller: Caller) -> TenderOut:
    """Evaluate the bids and award the tender to the best one (after bidding has closed)."""
    require_role(caller, Role.MANAGER)
    assert caller.scope is not None
    async with _runtime(request).pool.acquire() as conn:
        async with conn.transaction():
            await handlers.award_tender(conn, caller.scope, tender_id, datetime.now(UTC))
        return await _tender_out(conn, tender_id)


@router.get("/tenders/{tender_id}", response_model=TenderOut)
async def read_tender(tender_id: UUID, request: Request, caller: Caller) -> TenderOut:
    """The tender, its pool and route, bids ranked with scores once closed, and the award."""
    require_role(caller, Role.MANAGER)
    async with _runtime(request).pool.acquire() as conn:
        tender = await store.get_tender(conn, tender_id)
        if tender is None or tender["trust_id"] != caller.scope:
            raise Problem(404, "Not found", f"no tender {tender_id} for this token")
        return await _tender_out(conn, tender_id)


async def _tender_out(conn: Connection, tender_id: UUID) -> TenderOut:
    t = await store.get_tender(conn, tender_id)
    assert t is not None
    lines = await store.tender_lines(conn, tender_id)
    closed = t["status"] != "open" or datetime.now(UTC) >= t["closes_at"]
    ranked = None
    if closed:
        quantity = sum((line["quantity"] for line in lines), Decimal(0))
        weights = Weights(t["weight_price"], t["weight_quality"])
        ranked = [
            RankedBidOut(
                rank=s.rank,
                bid_id=UUID(s.bid.bid_id),
                supplier_id=s.bid.supplier_id,
                unit_price_at_pooled_volume=s.unit_price,
                price_score=round(s.price_score, 2),
                quality_score=s.bid.quality_score,
                score=round(s.score, 2),
            )
            for s in evaluate(await store.bids(conn, tender_id), quantity, weights)
        ]
    award = None
    if t["status"] == "awarded":
        winner = await conn.fetchrow(
            "SELECT supplier_id FROM bids WHERE bid_id = $1", t["awarded_bid_id"]
        )
        assert winner is not None
        award = AwardOut(
            bid_id=t["awarded_bid_id"],
            supplier_id=winner["supplier_id"],
            pooled_quantity=t["pooled_quantity"],
            pooled_unit_price=t["pooled_unit_price"],
            awarded_at=t["awarded_at"],
        )
    return TenderOut(
        tender_id=t["tender_id"],
        trust_id=t["trust_id"],
        category=t["category"],
        unit=t["unit"],
        pool_id=t["pool_id"],
        status=t["status"],
        opened_at=t["opened_at"],
        closes_at=t["closes_at"],
        term_months=t["term_months"],
        weights={"price": t["weight_price"], "quality": t["weight_quality"]},
        route=RouteOut(
            route=t["route"],
            value_ex_vat=t["value_ex_vat"],
            vat=t["vat"],
            value_inc_vat=t["value_inc_vat"],
            threshold=t["threshold"],
            threshold_name=t["threshold_name"],
            reason=t["route_reason"],
        ),
        lines=[
            PoolLineOut(
                demand_id=line["demand_id"],
                school_urn=line["school_urn"],
                quantity=line["quantity"],
                baseline_unit_price=line["baseline_unit_price"],
                contract_end=line["contract_end"],
            )
            for line in lines
        ],
        bids=ranked,
        award=award,
    )

"""The tendering service's verbs: list pools, open a tender, take a bid, award."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from uuid import UUID, uuid4

import asyncpg

from services.tendering import store
from services.tendering.domain.evaluation import Weights, check_weights, evaluate
from services.tendering.domain.pooling import Pool, default_term, form_pools
from services.tendering.domain.pricing import PriceTier, TierError, check_tiers, price_at
from services.tendering.domain.route import RouteDecision, decide_route
from shared import outbox
from shared.categories import categories
from shared.db import Connection
from shared.events import (
    Allocation,
    BidReceived,
    TenderAwarded,
    TenderOpened,
    Topics,
    new_event,
)
from shared.http import Problem, field_error


@dataclass(frozen=True)
class PoolView:
    pool: Pool
    term_months: int
    route: RouteDecision


def route_of(pool: Pool, term_months: int, opened_on: datetime) -> RouteDecision:
    category = categories()[pool.category]
    return decide_route(
        [(line.quantity, line.baseline_unit_price) for line in pool.lines],
        term_months,
        category.vat_rate,
        category.light_touch,
        opened_on.date(),
    )


async def list_pools(
    conn: Connection, trust_id: str, window_months: int, now: datetime
) -> list[PoolView]:
    views = []
    for category, lines in (await store.open_lines(conn, trust_id)).items():
        for pool in form_pools(trust_id, category, lines, window_months):
            term = default_term(pool.lines)
            views.append(PoolView(pool, term, route_of(pool, term, now)))
    return views


async def open_tender(
    conn: Connection,
    trust_id: str,
    category: str,
    pool_id: str | None,
    closes_at: datetime,
    term_months: int | None,
    weights: Weights,
    window_months: int,
    now: datetime,
) -> UUID:
    if category not in categories():
        raise Problem(422, "Unknown category", errors=[field_error("category", "not a category")])
    if closes_at <= now:
        raise Problem(
            422, "Invalid closing time", errors=[field_error("closes_at", "must be in the future")]
        )
    try:
        check_weights(weights)
    except ValueError as exc:
        raise Problem(422, "Invalid weights", errors=[field_error("weights", str(exc))]) from exc
    # Serialise tender openings per trust so two requests cannot take the same lines.
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 1))", trust_id)
    lines = (await store.open_lines(conn, trust_id)).get(category, [])
    pools = form_pools(trust_id, category, lines, window_months)
    if not pools:
        raise Problem(409, "No open demand", f"trust {trust_id} has no open {category} demand")
    if pool_id is None:
        pool = pools[0]
    else:
        matching = [p for p in pools if p.pool_id == pool_id]
        if not matching:
            raise Problem(404, "Unknown pool", errors=[field_error("pool_id", "no such open pool")])
        pool = matching[0]
    term = term_months or default_term(pool.lines)
    route = route_of(pool, term, now)
    tender_id = uuid4()
    unit = categories()[category].unit
    await store.insert_tender(
        conn, tender_id, pool, unit, now, closes_at, term, (weights.price, weights.quality), route
    )
    opened = TenderOpened(
        tender_id=tender_id,
        pool_id=pool.pool_id,
        category=category,
        unit=unit,
        term_months=term,
        closes_at=closes_at,
        route=str(route.route),
        estimated_value=route.value_inc_vat,
        demand_ids=[UUID(line.demand_id) for line in pool.lines],
    )
    event = new_event(opened, trust_id=trust_id, correlation_id=str(tender_id))
    await outbox.record(conn, Topics.TENDERS, [event])
    return tender_id


async def submit_bid(
    conn: Connection,
    supplier_id: str,
    tender_id: UUID,
    quality_score: Decimal,
    tiers: list[PriceTier],
    now: datetime,
) -> asyncpg.Record:
    tender = await store.get_tender(conn, tender_id, for_update=True)
    if tender is None:
        raise Problem(404, "Not found", f"no tender {tender_id}")
    if tender["status"] != "open" or now >= tender["closes_at"]:
        raise Problem(409, "Tender closed", f"tender {tender_id} no longer takes bids")
    try:
        checked = check_tiers(tiers)
    except TierError as exc:
        raise Problem(
            422, "Invalid price tiers", errors=[field_error(exc.field, exc.reason)]
        ) from exc
    row = await store.upsert_bid(conn, uuid4(), tender_id, supplier_id, quality_score, checked, now)
    received = BidReceived(
        tender_id=tender_id, bid_id=row["bid_id"], supplier_id=supplier_id, received_at=now
    )
    event = new_event(received, trust_id=tender["trust_id"], correlation_id=str(tender_id))
    await outbox.record(conn, Topics.TENDERS, [event])
    return row


async def award_tender(conn: Connection, trust_id: str, tender_id: UUID, now: datetime) -> None:
    tender = await store.get_tender(conn, tender_id, for_update=True)
    if tender is None or tender["trust_id"] != trust_id:
        raise Problem(404, "Not found", f"no tender {tender_id} in trust {trust_id}")
    if tender["status"] != "open":
        raise Problem(409, "Not open", f"tender {tender_id} is {tender['status']}")
    if now < tender["closes_at"]:
        raise Problem(
            409, "Still open for bids", f"tender {tender_id} closes at {tender['closes_at']}"
        )
    lines = await store.tender_lines(conn, tender_id)
    pooled_quantity = sum((line["quantity"] for line in lines), Decimal(0))
    weights = Weights(tender["weight_price"], tender["weight_quality"])
    ranked = evaluate(await store.bids(conn, tender_id), pooled_quantity, weights)
    if not ranked:
        raise Problem(409, "No bids", f"tender {tender_id} has no bids to award")
    winner = ranked[0]
    await store.record_award(conn, tender_id, winner, pooled_quantity, now)
    awarded = TenderAwarded(
        tender_id=tender_id,
        category=tender["category"],
        unit=tender["unit"],
        term_months=tender["term_months"],
        bid_id=UUID(winner.bid.bid_id),
        supplier_id=winner.bid.supplier_id,
        pooled_quantity=pooled_quantity,
        pooled_unit_price=winner.unit_price,
        contract_start=min(line["contract_end"] for line in lines),
        awarded_at=now,
        allocations=[
            Allocation(
                demand_id=line["demand_id"],
                school_urn=line["school_urn"],
                quantity=line["quantity"],
                baseline_unit_price=line["baseline_unit_price"],
                pooled_unit_price=winner.unit_price,
                solo_unit_price=price_at(winner.bid.tiers, line["quantity"]),
            )
            for line in lines
        ],
    )
    event = new_event(awarded, trust_id=trust_id, correlation_id=str(tender_id))
    await outbox.record(conn, Topics.TENDERS, [event])

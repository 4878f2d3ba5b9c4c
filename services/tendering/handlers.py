"""The tendering service's verbs: list pools, open a tender, take a bid, award, cancel."""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from uuid import UUID, uuid4

import asyncpg

from services.tendering import store
from services.tendering.domain.evaluation import ScoredBid, Weights, check_weights, evaluate
from services.tendering.domain.lots import LotsBy, Status, form_lots, tender_status
from services.tendering.domain.pooling import Pool, default_term, form_pools, split_conflicts
from services.tendering.domain.pricing import PriceTier, TierError, check_tiers, price_at
from services.tendering.domain.route import Route, RouteDecision, decide_route
from services.tendering.domain.standstill import standstill_end
from services.tendering.holidays import working_calendar
from shared import outbox
from shared.categories import categories
from shared.db import Connection
from shared.events import (
    Allocation,
    BidReceived,
    EventData,
    TenderAwarded,
    TenderCancelled,
    TenderOpened,
    Topics,
    award_parts,
    outgoing,
)
from shared.http import Problem, field_error


@dataclass(frozen=True)
class PoolView:
    pool: Pool
    term_months: int
    route: RouteDecision
    # Open tenders whose requirement this pool's lines belong to: opening it would be refused.
    conflicting_tenders: list[str]


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
    tendered = await store.open_tender_spans(conn, trust_id)
    views = []
    for category, lines in (await store.open_lines(conn, trust_id)).items():
        for pool in form_pools(trust_id, category, lines, window_months):
            term = default_term(pool.lines)
            conflicts = split_conflicts(pool.lines, tendered.get(category, []), window_months)
            views.append(PoolView(pool, term, route_of(pool, term, now), conflicts))
    return views


@dataclass(frozen=True)
class OpenRequest:
    trust_id: str
    category: str
    closes_at: datetime
    pool_id: str | None = None
    term_months: int | None = None
    weights: Weights = field(default_factory=Weights)
    lots_by: LotsBy | None = None


async def open_tender(
    conn: Connection,
    request: OpenRequest,
    window_months: int,
    now: datetime,
    opened_by: str = "manager",
) -> UUID:
    """Open a tender for a whole pool; call inside a transaction."""
    trust_id, category = request.trust_id, request.category
    if category not in categories():
        raise Problem(422, "Unknown category", errors=[field_error("category", "not a category")])
    if request.closes_at <= now:
        raise Problem(
            422, "Invalid closing time", errors=[field_error("closes_at", "must be in the future")]
        )
    try:
        check_weights(request.weights)
    except ValueError as exc:
        raise Problem(422, "Invalid weights", errors=[field_error("weights", str(exc))]) from exc
    # Serialise tender openings per trust so two requests cannot take the same lines.
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 1))", trust_id)
    lines = (await store.open_lines(conn, trust_id, category)).get(category, [])
    pools = form_pools(trust_id, category, lines, window_months)
    if not pools:
        raise Problem(409, "No open demand", f"trust {trust_id} has no open {category} demand")
    if request.pool_id is None:
        pool = pools[0]
    else:
        matching = [p for p in pools if p.pool_id == request.pool_id]
        if not matching:
            raise Problem(404, "Unknown pool", errors=[field_error("pool_id", "no such open pool")])
        pool = matching[0]
    tendered = (await store.open_tender_spans(conn, trust_id)).get(category, [])
    conflicts = split_conflicts(pool.lines, tendered, window_months)
    if conflicts:
        raise Problem(
            409,
            "Would split a requirement",
            f"lines of pool {pool.pool_id} end within {window_months} months of the lines of open"
            f" tender {', '.join(conflicts)}: they are one requirement, whose value must be the"
            " trust-wide sum. Cancel that tender and open one for the whole pool, or wait until"
            " it is awarded.",
            errors=[field_error("pool_id", "would split a requirement already being tendered")],
            conflicting_tenders=conflicts,
        )
    term = request.term_months or default_term(pool.lines)
    # One route for the whole requirement, lots or not: lots never split the value test.
    route = route_of(pool, term, now)
    labels = None
    if request.lots_by is not None:
        labels = await store.school_labels(conn, pool.schools, request.lots_by)
        # Registry and demand events travel on different topics with no order between them: a
        # school whose registry entry has not arrived yet would land in the wrong lot for good.
        unknown = sorted(set(pool.schools) - labels.keys())
        if unknown:
            raise Problem(
                409,
                "Registry not up to date",
                f"the registry entries of school(s) {', '.join(unknown)} have not reached"
                f" tendering yet, so their {request.lots_by} is unknown; try again shortly",
                errors=[field_error("lots_by", "some pooled schools are not in the registry yet")],
                unknown_schools=unknown,
            )
    tender = store.NewTender(
        tender_id=uuid4(),
        pool=pool,
        lots=form_lots(pool.lines, labels),
        lots_by=request.lots_by,
        unit=categories()[category].unit,
        opened_at=now,
        opened_by=opened_by,
        closes_at=request.closes_at,
        term_months=term,
        weights=request.weights,
        route=route,
    )
    await store.insert_tender(conn, tender)
    opened = TenderOpened(
        tender_id=tender.tender_id,
        pool_id=pool.pool_id,
        category=category,
        unit=tender.unit,
        term_months=term,
        closes_at=request.closes_at,
        route=str(route.route),
        estimated_value=route.value_inc_vat,
        demand_ids=[UUID(line.demand_id) for line in pool.lines],
    )
    await _publish(conn, trust_id, tender.tender_id, [opened])
    return tender.tender_id


async def submit_bid(
    conn: Connection,
    supplier_id: str,
    tender_id: UUID,
    lot: int | None,
    quality_score: Decimal,
    tiers: list[PriceTier],
    now: datetime,
) -> asyncpg.Record:
    tender = await store.get_tender(conn, tender_id, for_update=True)
    if tender is None:
        raise Problem(404, "Not found", f"no tender {tender_id}")
    if tender["status"] != Status.OPEN or now >= tender["closes_at"]:
        raise Problem(409, "Tender closed", f"tender {tender_id} no longer takes bids")
    lots = len(await store.tender_lots(conn, tender_id))
    if lot is None and lots > 1:
        raise Problem(
            422, "Lot required", errors=[field_error("lot", f"this tender has lots 1 to {lots}")]
        )
    lot_no = lot or 1
    if lot_no > lots:
        raise Problem(
            422, "Unknown lot", errors=[field_error("lot", f"this tender has lots 1 to {lots}")]
        )
    try:
        checked = check_tiers(tiers)
    except TierError as exc:
        raise Problem(
            422, "Invalid price tiers", errors=[field_error(exc.field, exc.reason)]
        ) from exc
    row = await store.upsert_bid(
        conn, uuid4(), tender_id, lot_no, supplier_id, quality_score, checked, now
    )
    received = BidReceived(
        tender_id=tender_id, bid_id=row["bid_id"], supplier_id=supplier_id, received_at=now
    )
    await _publish(conn, tender["trust_id"], tender_id, [received])
    return row


async def award_tender(
    conn: Connection, trust_id: str, tender_id: UUID, now: datetime, awarded_by: str = "manager"
) -> None:
    """Evaluate each open lot at the deadline: award it to its best bid, or, without bids, close
    it and release its lines. Awarding a tender that is already decided changes nothing."""
    tender = await store.get_tender(conn, tender_id, for_update=True)
    if tender is None or tender["trust_id"] != trust_id:
        raise Problem(404, "Not found", f"no tender {tender_id} in trust {trust_id}")
    if tender["status"] == Status.CANCELLED:
        raise Problem(409, "Cancelled", f"tender {tender_id} was cancelled")
    if tender["status"] != Status.OPEN:
        return
    if now < tender["closes_at"]:
        raise Problem(
            409, "Still open for bids", f"tender {tender_id} closes at {tender['closes_at']}"
        )
    lots = await store.tender_lots(conn, tender_id)
    lines = defaultdict(list)
    for line in await store.tender_lines(conn, tender_id):
        lines[line["lot_no"]].append(line)
    bids = defaultdict(list)
    for row in await store.bid_rows(conn, tender_id):
        bids[row["lot_no"]].append(store.bid_of(row))
    weights = Weights(tender["weight_price"], tender["weight_quality"])
    standstill = None
    if tender["route"] == Route.REGULATED:
        standstill = standstill_end(now.date(), working_calendar())
    events: list[EventData] = []
    statuses = {lot["lot_no"]: Status(lot["status"]) for lot in lots}
    unbid = []
    for lot in lots:
        if lot["status"] != Status.OPEN:
            continue
        number = lot["lot_no"]
        ranked = evaluate(bids[number], lot["pooled_quantity"], weights)
        if not ranked:
            unbid.append(number)
            statuses[number] = Status.NO_BIDS
            continue
        winner = ranked[0]
        await store.record_lot_award(conn, tender_id, number, winner, now, awarded_by, standstill)
        statuses[number] = Status.AWARDED
        events.extend(_awarded(tender, lot, lines[number], winner, now, standstill))
    if unbid:
        released = await store.close_lots(conn, tender_id, unbid, Status.NO_BIDS)
        which = f" for lot {', '.join(map(str, unbid))}" if tender["lots_by"] else ""
        reason = f"no bids were received by the deadline{which}; the lines are open again"
        events.append(TenderCancelled(tender_id=tender_id, demand_ids=released, reason=reason))
    await store.set_tender_status(conn, tender_id, tender_status(statuses.values()))
    await _publish(conn, trust_id, tender_id, events)


def _awarded(
    tender: asyncpg.Record,
    lot: asyncpg.Record,
    lines: Sequence[asyncpg.Record],
    winner: ScoredBid,
    now: datetime,
    standstill: date | None,
) -> list[TenderAwarded]:
    """One lot's award: every school at the lot's pooled price, and its price alone; sent in
    parts when the lot has many schools (all recorded in the award's transaction)."""
    award = TenderAwarded(
        tender_id=tender["tender_id"],
        category=tender["category"],
        unit=tender["unit"],
        term_months=tender["term_months"],
        bid_id=UUID(winner.bid.bid_id),
        supplier_id=winner.bid.supplier_id,
        pooled_quantity=lot["pooled_quantity"],
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
        lot=lot["lot_no"] if tender["lots_by"] else None,
        lot_name=lot["name"],
        standstill_ends=standstill,
    )
    return award_parts(award)


async def cancel_tender(
    conn: Connection, trust_id: str, tender_id: UUID, reason: str, now: datetime
) -> None:
    """Cancel an open tender: its lots close without award and its lines are open again."""
    tender = await store.get_tender(conn, tender_id, for_update=True)
    if tender is None or tender["trust_id"] != trust_id:
        raise Problem(404, "Not found", f"no tender {tender_id} in trust {trust_id}")
    if tender["status"] != Status.OPEN:
        raise Problem(
            409, "Not open", f"tender {tender_id} is {tender['status']}: there is nothing to cancel"
        )
    lots = [lot["lot_no"] for lot in await store.tender_lots(conn, tender_id)]
    released = await store.close_lots(conn, tender_id, lots, Status.CANCELLED)
    await store.record_cancellation(conn, tender_id, now, reason)
    await store.set_tender_status(conn, tender_id, Status.CANCELLED)
    cancelled = TenderCancelled(tender_id=tender_id, demand_ids=released, reason=reason)
    await _publish(conn, trust_id, tender_id, [cancelled])


async def _publish(
    conn: Connection, trust_id: str, tender_id: UUID, events: Sequence[EventData]
) -> None:
    """Record the tender's events in the outbox, in the caller's transaction."""
    await outbox.record(
        conn,
        Topics.TENDERS,
        [outgoing(e, trust_id=trust_id, correlation_id=str(tender_id)) for e in events],
    )

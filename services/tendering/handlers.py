"""The tendering service's verbs: list pools, open a tender, take a bid, award, cancel.

Each verb that changes state runs in the caller's unit of work, reads and changes tenders
through its repository (repository.py) and announces what happened through it (docs/events.md);
the rules it applies are the domain's (services/tendering/domain/), and its refusals are the
domain's errors (domain/errors.py), translated at the edge.
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from uuid import UUID, uuid4

from services.tendering.domain.award import (
    check_cancellable,
    no_bids_reason,
    standstill_for,
    to_be_evaluated,
)
from services.tendering.domain.bidding import check_takes_bids, lot_bid_for, valid_tiers
from services.tendering.domain.errors import TenderNotFound
from services.tendering.domain.evaluation import Bid, ScoredBid, Weights, evaluate
from services.tendering.domain.lots import LotsBy, Status, form_lots, tender_status
from services.tendering.domain.opening import (
    check_not_split,
    check_registry_up_to_date,
    check_request,
    choose_pool,
    route_of,
)
from services.tendering.domain.pooling import Pool, default_term, form_pools, split_conflicts
from services.tendering.domain.pricing import PriceTier, price_at, tier_at
from services.tendering.domain.procedure import (
    PeriodTerms,
    ProcedureChoice,
    check_choice,
    check_tender_period,
    earliest_close,
)
from services.tendering.domain.route import RouteDecision
from services.tendering.domain.scoring import QualityScore, check_all_scored, check_scores
from services.tendering.holidays import working_calendar
from services.tendering.repository import (
    HistoryEntry,
    LotAward,
    NewTender,
    Row,
    TenderingWork,
    TenderRepository,
)
from shared.domain.categories import categories
from shared.events import (
    Allocation,
    BidReceived,
    BidScored,
    EventData,
    TenderAwarded,
    TenderCancelled,
    TenderOpened,
    Topics,
    award_parts,
    outgoing,
)


@dataclass(frozen=True)
class PoolView:
    pool: Pool
    term_months: int
    route: RouteDecision
    # Open tenders whose requirement this pool's lines belong to: opening it would be refused.
    conflicting_tenders: list[str]


async def list_pools(
    tenders: TenderRepository, trust_id: str, window_months: int, now: datetime
) -> list[PoolView]:
    tendered = await tenders.open_tender_spans(trust_id)
    views = []
    for category, lines in (await tenders.open_lines(trust_id)).items():
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
    procedure: ProcedureChoice = field(default_factory=ProcedureChoice)
    # The opening policy's: close no earlier than the route's minimum tendering period allows,
    # however short `closes_at` is.
    at_least_minimum: bool = False


async def open_tender(
    work: TenderingWork,
    request: OpenRequest,
    window_months: int,
    now: datetime,
    opened_by: str = "manager",
    below_threshold_days: int | None = None,
) -> UUID:
    """Open a tender for a whole pool; its lines leave the open pool until it is cancelled. Its
    bidding period must be at least its route's and procedure's minimum (domain/procedure.py;
    `below_threshold_days`: the trust's own minimum off the regulated route, if any)."""
    tenders, trust_id, category = work.tenders, request.trust_id, request.category
    check_request(category, request.closes_at, request.weights, now)
    check_choice(request.procedure)
    # Serialise tender openings per trust so two requests cannot take the same lines.
    await tenders.lock_openings(trust_id)
    lines = (await tenders.open_lines(trust_id, category)).get(category, [])
    pools = form_pools(trust_id, category, lines, window_months)
    pool = choose_pool(trust_id, category, pools, request.pool_id)
    tendered = (await tenders.open_tender_spans(trust_id)).get(category, [])
    check_not_split(pool, tendered, window_months)
    term = request.term_months or default_term(pool.lines)
    route = route_of(pool, term, now)
    light_touch = categories()[category].light_touch
    period = PeriodTerms(route.route, light_touch, request.procedure, below_threshold_days)
    closes_at = request.closes_at
    if request.at_least_minimum:
        closes_at = max(closes_at, earliest_close(period, now))
    check_tender_period(period, now, closes_at)
    labels = None
    if request.lots_by is not None:
        labels = await tenders.school_labels(pool.schools, request.lots_by)
        check_registry_up_to_date(pool.schools, labels, request.lots_by)
    tender = NewTender(
        tender_id=uuid4(),
        pool=pool,
        lots=form_lots(pool.lines, labels),
        lots_by=request.lots_by,
        unit=categories()[category].unit,
        opened_at=now,
        opened_by=opened_by,
        closes_at=closes_at,
        term_months=term,
        weights=request.weights,
        route=route,
        procedure=request.procedure,
    )
    await tenders.add(tender)
    await tenders.record_history(tender.tender_id, [HistoryEntry(now, "opened", opened_by)])
    opened = TenderOpened(
        tender_id=tender.tender_id,
        pool_id=pool.pool_id,
        category=category,
        unit=tender.unit,
        term_months=term,
        closes_at=closes_at,
        route=str(route.route),
        procedure=str(request.procedure.procedure),
        framework=request.procedure.framework,
        estimated_value=route.value_inc_vat,
        demand_ids=[UUID(line.demand_id) for line in pool.lines],
    )
    _emit(work, trust_id, tender.tender_id, [opened])
    return tender.tender_id


async def submit_bid(
    work: TenderingWork,
    supplier_id: str,
    tender_id: UUID,
    lot: int | None,
    tiers: list[PriceTier],
    now: datetime,
    supplier_name: str | None = None,
    submitted_by: str | None = None,
) -> tuple[int, Bid]:
    """A supplier's bid for a lot, before the deadline; it replaces the supplier's earlier bid
    for that lot (its `supplier_name`, the bidder's trading name, too). `submitted_by`: who sent
    it (the token's subject), else the supplier. Returns the lot and the bid.
    Its quality score is the buyer's, recorded after
    the deadline (record_quality_scores)."""
    tenders = work.tenders
    tender = await tenders.get(tender_id)
    if tender is None:
        raise TenderNotFound(tender_id)
    check_takes_bids(tender_id, tender["status"], tender["closes_at"], now)
    lot_no = lot_bid_for(lot, len(await tenders.lots(tender_id)))
    bid = Bid(
        str(uuid4()),
        supplier_id,
        None,
        valid_tiers(tiers),
        submitted_at=now,
        supplier_name=supplier_name,
    )
    await tenders.save_bid(tender_id, lot_no, bid)
    entry = HistoryEntry(
        now, "bid_received", submitted_by or supplier_id, lot_no, supplier_id, supplier_name
    )
    await tenders.record_history(tender_id, [entry])
    received = BidReceived(
        tender_id=tender_id,
        bid_id=UUID(bid.bid_id),
        supplier_id=supplier_id,
        received_at=now,
        supplier_name=supplier_name,
    )
    _emit(work, tender["trust_id"], tender_id, [received])
    return lot_no, bid


async def record_quality_scores(
    work: TenderingWork,
    trust_id: str,
    tender_id: UUID,
    scores: Sequence[QualityScore],
    now: datetime,
    scored_by: str = "manager",
) -> None:
    """The buyer's moderated quality scores of bids, once bidding has closed; a bid's score may
    be revised until its lot is decided. `scored_by`: who saved them (the token's subject)."""
    tenders = work.tenders
    tender = await _trusts_tender(tenders, trust_id, tender_id)
    all_bids = await tenders.bids(tender_id)
    bid_lots = {b.bid_id: lot for lot, bids in all_bids.items() for b in bids}
    by_id = {b.bid_id: b for bids in all_bids.values() for b in bids}
    lot_statuses = {lot["lot_no"]: lot["status"] for lot in await tenders.lots(tender_id)}
    check_scores(
        tender_id, tender["status"], tender["closes_at"], now, scores, bid_lots, lot_statuses
    )
    await tenders.record_scores(tender_id, scores, scored_by, now)
    saved = [
        HistoryEntry(
            now,
            "scores_saved",
            scored_by,
            bid_lots[s.bid_id],
            by_id[s.bid_id].supplier_id,
            by_id[s.bid_id].supplier_name,
            f"quality score {s.score}",
        )
        for s in scores
    ]
    await tenders.record_history(tender_id, saved)
    scored = [
        BidScored(
            tender_id=tender_id,
            bid_id=UUID(s.bid_id),
            quality_score=s.score,
            comment=s.comment,
            scored_at=now,
        )
        for s in scores
    ]
    _emit(work, trust_id, tender_id, scored)


async def award_tender(
    work: TenderingWork, trust_id: str, tender_id: UUID, now: datetime, awarded_by: str = "manager"
) -> None:
    """Evaluate each open lot at the deadline: award it to its best bid, or, without bids, close
    it and release its lines. Awarding a tender that is already decided changes nothing; one
    with a bid still waiting for its quality score is refused (QualityScoresMissing)."""
    tenders = work.tenders
    tender = await _trusts_tender(tenders, trust_id, tender_id)
    if not to_be_evaluated(tender_id, tender["status"], tender["closes_at"], now):
        return
    lots = await tenders.lots(tender_id)
    bids = await tenders.bids(tender_id)
    weights = Weights(tender["weight_price"], tender["weight_quality"])
    undecided = [
        b for lot in lots if lot["status"] == Status.OPEN for b in bids.get(lot["lot_no"], [])
    ]
    check_all_scored(tender_id, undecided, weights)
    lines = defaultdict(list)
    for line in await tenders.lines(tender_id):
        lines[line["lot_no"]].append(line)
    standstill = standstill_for(tender["route"], now.date(), working_calendar())
    events: list[EventData] = []
    statuses = {lot["lot_no"]: Status(lot["status"]) for lot in lots}
    done: list[HistoryEntry] = []
    unbid = []
    for lot in lots:
        if lot["status"] != Status.OPEN:
            continue
        number = lot["lot_no"]
        ranked = evaluate(bids.get(number, []), lot["pooled_quantity"], weights)
        if not ranked:
            unbid.append(number)
            statuses[number] = Status.NO_BIDS
            done.append(HistoryEntry(now, "no_bids", awarded_by, number))
            continue
        winner = ranked[0]
        await tenders.record_lot_award(
            tender_id, LotAward(number, winner, now, awarded_by, standstill)
        )
        statuses[number] = Status.AWARDED
        bid = winner.bid
        done.append(
            HistoryEntry(now, "awarded", awarded_by, number, bid.supplier_id, bid.supplier_name)
        )
        events.extend(_awarded(tender, lot, lines[number], winner, now, standstill))
    if unbid:
        released = await tenders.close_lots(tender_id, unbid, Status.NO_BIDS)
        reason = no_bids_reason(unbid, with_lots=tender["lots_by"] is not None)
        events.append(TenderCancelled(tender_id=tender_id, demand_ids=released, reason=reason))
    await tenders.set_status(tender_id, tender_status(statuses.values()))
    await tenders.record_history(tender_id, done)
    _emit(work, trust_id, tender_id, events)


def _awarded(
    tender: Row,
    lot: Row,
    lines: Sequence[Row],
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
        supplier_name=winner.bid.supplier_name,
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
                contract_end=line["contract_end"],
            )
            for line in lines
        ],
        lot=lot["lot_no"] if tender["lots_by"] else None,
        lot_name=lot["name"],
        standstill_ends=standstill,
        tier_minimum=tier_at(winner.bid.tiers, lot["pooled_quantity"]).min_quantity,
    )
    return award_parts(award)


async def cancel_tender(
    work: TenderingWork,
    trust_id: str,
    tender_id: UUID,
    reason: str,
    now: datetime,
    cancelled_by: str = "manager",
) -> None:
    """Cancel an open tender: its lots close without award and its lines are open again.
    `cancelled_by`: who cancelled it (the token's subject)."""
    tenders = work.tenders
    tender = await _trusts_tender(tenders, trust_id, tender_id)
    check_cancellable(tender_id, tender["status"])
    lots = [lot["lot_no"] for lot in await tenders.lots(tender_id)]
    released = await tenders.close_lots(tender_id, lots, Status.CANCELLED)
    await tenders.record_cancellation(tender_id, now, reason, cancelled_by)
    await tenders.record_history(
        tender_id, [HistoryEntry(now, "cancelled", cancelled_by, detail=reason)]
    )
    await tenders.set_status(tender_id, Status.CANCELLED)
    cancelled = TenderCancelled(tender_id=tender_id, demand_ids=released, reason=reason)
    _emit(work, trust_id, tender_id, [cancelled])


async def _trusts_tender(tenders: TenderRepository, trust_id: str, tender_id: UUID) -> Row:
    """The tender, locked until the unit of work ends, if it is the trust's."""
    tender = await tenders.get(tender_id)
    if tender is None or tender["trust_id"] != trust_id:
        raise TenderNotFound(tender_id, trust_id)
    return tender


def _emit(work: TenderingWork, trust_id: str, tender_id: UUID, events: Sequence[EventData]) -> None:
    """The tender's events, published if and when the unit of work commits."""
    work.emit(
        Topics.TENDERS,
        [outgoing(e, trust_id=trust_id, correlation_id=str(tender_id)) for e in events],
    )

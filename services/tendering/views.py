"""What the tendering API answers with, built from what the store reads: pools, tenders (bids
ranked once they are no longer sealed, the award and why), a tender's notice, a supplier's bids.
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, replace
from datetime import datetime
from decimal import Decimal
from uuid import UUID

import asyncpg

from services.tendering import store
from services.tendering.domain.assessment import assess
from services.tendering.domain.bidding import sealed
from services.tendering.domain.errors import BidNotFound
from services.tendering.domain.evaluation import (
    Bid,
    ScoredBid,
    Weights,
    display,
    evaluate,
    explain_award,
    unscored,
)
from services.tendering.domain.lots import Status
from services.tendering.domain.pricing import price_at
from services.tendering.domain.scoring import awaiting
from services.tendering.handlers import PoolView
from services.tendering.repository import HistoryEntry
from services.tendering.schemas import (
    AssessmentOut,
    AwardOut,
    BidOut,
    HistoryEntryOut,
    LotNoticeOut,
    LotOut,
    NoticeOut,
    PoolLineOut,
    PoolOut,
    RankedBidOut,
    RouteOut,
    ScoresOut,
    TenderLineOut,
    TenderOut,
    TenderSummaryOut,
)
from shared.db import Connection


def pools(trust_id: str, views: Sequence[PoolView]) -> list[PoolOut]:
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


def summaries(rows: Sequence[asyncpg.Record]) -> list[TenderSummaryOut]:
    """Each tender's summary: the columns of its row that the summary names."""
    return [TenderSummaryOut.model_validate(dict(t)) for t in rows]


def bid(tender_id: UUID, lot: int, bid: Bid) -> BidOut:
    return BidOut(
        bid_id=UUID(bid.bid_id),
        tender_id=tender_id,
        lot=lot,
        supplier_id=bid.supplier_id,
        supplier_name=bid.supplier_name,
        submitted_at=bid.submitted_at,
        price_tiers=[
            {"min_quantity": str(t.min_quantity), "unit_price": str(t.unit_price)}
            for t in bid.tiers
        ],
    )


def notice(
    t: asyncpg.Record, lots: Sequence[asyncpg.Record], lines: Sequence[asyncpg.Record]
) -> NoticeOut:
    """The tender as suppliers see it: no schools' prices, no other bids."""
    lot_notices = [
        LotNoticeOut(
            lot=lot["lot_no"],
            name=lot["name"],
            schools=len({line["school_urn"] for line in lines if line["lot_no"] == lot["lot_no"]}),
            pooled_quantity=lot["pooled_quantity"],
        )
        for lot in lots
    ]
    # The notice's fields named as the tender's columns are taken from its row.
    return NoticeOut.model_validate(dict(t) | {"weights": _weights(t), "lots": lot_notices})


def notices(tenders: Sequence[asyncpg.Record], lots: Sequence[asyncpg.Record]) -> list[NoticeOut]:
    """Open tenders as suppliers see them: the requirement, no schools' prices, no bids."""
    by_tender: dict[UUID, list[LotNoticeOut]] = defaultdict(list)
    for lot in lots:
        by_tender[lot["tender_id"]].append(
            LotNoticeOut(
                lot=lot["lot_no"],
                name=lot["name"],
                schools=lot["schools"],
                pooled_quantity=lot["pooled_quantity"],
            )
        )
    return [
        NoticeOut.model_validate(
            dict(t) | {"weights": _weights(t), "lots": by_tender[t["tender_id"]]}
        )
        for t in tenders
    ]


async def tender(conn: Connection, tender_id: UUID, now: datetime) -> TenderOut:
    """The tender as its trust sees it; the bids ranked only once they are no longer sealed."""
    t = await store.get_tender(conn, tender_id)
    assert t is not None
    lines = await store.tender_lines(conn, tender_id)
    bids = defaultdict(list)
    scored: dict[str, Scored] = {}
    for row in await store.bid_rows(conn, tender_id):
        bids[row["lot_no"]].append(store.bid_of(row))
        scored[str(row["bid_id"])] = (row["scored_by"], row["scored_at"])
    closed = not sealed(t["status"], t["closes_at"], now)
    weights = Weights(t["weight_price"], t["weight_quality"])
    lots = []
    waiting: list[Bid] = []
    for lot in await store.tender_lots(conn, tender_id):
        number = lot["lot_no"]
        if lot["status"] == Status.OPEN:
            waiting += bids[number]
        unranked = closed and bool(unscored(bids[number], weights))
        ranked = (
            evaluate(bids[number], lot["pooled_quantity"], weights)
            if closed and not unranked
            else []
        )
        award = None
        if lot["status"] == Status.AWARDED:
            winner = next(s for s in ranked if s.bid.bid_id == str(lot["awarded_bid_id"]))
            award = AwardOut(
                bid_id=lot["awarded_bid_id"],
                supplier_id=winner.bid.supplier_id,
                supplier_name=winner.bid.supplier_name,
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
                bids=(
                    _unranked(bids[number], lot["pooled_quantity"], scored)
                    if unranked
                    else _ranked(ranked, scored)
                )
                if closed
                else None,
                award=award,
            )
        )
    single = lots[0] if t["lots_by"] is None else None
    # The fields named as the tender's (and its lines') columns are taken from their rows.
    return TenderOut.model_validate(
        dict(t)
        | {
            "weights": _weights(t),
            "route": RouteOut.model_validate(dict(t) | {"reason": t["route_reason"]}),
            "pooled_quantity": sum((lot.pooled_quantity for lot in lots), Decimal(0)),
            "lines": [
                TenderLineOut.model_validate(dict(line) | {"lot": line["lot_no"]}) for line in lines
            ],
            "lots": lots,
            "bids": single.bids if single else None,
            "award": single.award if single else None,
            "awaiting": awaiting(t["status"], t["closes_at"], now, waiting, weights),
        }
    )


# Who saved a bid's quality score, and when (None, None until then).
Scored = tuple[str | None, datetime | None]


def _ranked(ranked: Sequence[ScoredBid], scored: dict[str, Scored]) -> list[RankedBidOut]:
    return [
        RankedBidOut(
            rank=s.rank,
            bid_id=UUID(s.bid.bid_id),
            supplier_id=s.bid.supplier_id,
            supplier_name=s.bid.supplier_name,
            unit_price_at_pooled_volume=s.unit_price,
            price_score=display(s.price_score),
            quality_score=s.bid.quality_score,
            quality_comment=s.bid.quality_comment,
            scored_by=scored[s.bid.bid_id][0],
            scored_at=scored[s.bid.bid_id][1],
            score=display(s.score),
            submitted_at=s.bid.submitted_at,
        )
        for s in ranked
    ]


def _unranked(
    bids: Sequence[Bid], pooled_quantity: Decimal, scored: dict[str, Scored]
) -> list[RankedBidOut]:
    """A lot's bids while some wait for their quality score: prices, and scores recorded so far,
    in the order they were submitted; no rank yet."""
    return [
        RankedBidOut(
            rank=None,
            bid_id=UUID(b.bid_id),
            supplier_id=b.supplier_id,
            supplier_name=b.supplier_name,
            unit_price_at_pooled_volume=price_at(b.tiers, pooled_quantity),
            price_score=None,
            quality_score=b.quality_score,
            quality_comment=b.quality_comment,
            scored_by=scored[b.bid_id][0],
            scored_at=scored[b.bid_id][1],
            score=None,
            submitted_at=b.submitted_at,
        )
        for b in bids
    ]


def history(
    t: asyncpg.Record, entries: Sequence[HistoryEntry], now: datetime
) -> list[HistoryEntryOut]:
    """The tender's history as its trust sees it: who sent a bid stays sealed with the bid."""
    hidden = sealed(t["status"], t["closes_at"], now)
    shown = [
        replace(e, done_by="supplier", supplier_id=None, supplier_name=None)
        if hidden and e.action == "bid_received"
        else e
        for e in entries
    ]
    return [HistoryEntryOut.model_validate(asdict(e)) for e in shown]


def _weights(t: asyncpg.Record) -> dict[str, Decimal]:
    return {"price": t["weight_price"], "quality": t["weight_quality"]}


async def assessment(
    conn: Connection, t: asyncpg.Record, bid_id: UUID, supplier_id: str | None
) -> AssessmentOut:
    """The assessment summary of one bid of the tender: for its supplier (`supplier_id`) or the
    trust (None)."""
    rows = await store.bid_rows(conn, t["tender_id"])
    mine = next((r for r in rows if r["bid_id"] == bid_id), None)
    if mine is None or (supplier_id is not None and mine["supplier_id"] != supplier_id):
        raise BidNotFound(t["tender_id"], bid_id)
    lot = next(
        lot
        for lot in await store.tender_lots(conn, t["tender_id"])
        if lot["lot_no"] == mine["lot_no"]
    )
    weights = Weights(t["weight_price"], t["weight_quality"])
    awarded = None if lot["status"] != Status.AWARDED else str(lot["awarded_bid_id"])
    bids = [store.bid_of(r) for r in rows if r["lot_no"] == mine["lot_no"]]
    ranked = evaluate(bids, lot["pooled_quantity"], weights) if awarded else []
    a = assess(ranked, str(bid_id), awarded, weights, lot["pooled_quantity"], t["unit"])

    return AssessmentOut(
        tender_id=t["tender_id"],
        lot=mine["lot_no"],
        bid_id=bid_id,
        awarded=a.won,
        rank=a.rank,
        bidders=a.bidders,
        weights=_weights(t),
        pooled_quantity=lot["pooled_quantity"],
        unit=t["unit"],
        own=ScoresOut.model_validate(asdict(a.own)),
        winner=ScoresOut.model_validate(asdict(a.winner)),
        quality_comment=mine["quality_comment"],
        reasons=a.reasons,
    )

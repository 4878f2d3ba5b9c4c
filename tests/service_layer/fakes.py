"""Tendering's storage and unit of work in memory, for handler tests without I/O.

`FakeTenderRepository` is held to what the PostgreSQL repository does by one contract test
(tender_repository_contract.py) run against both. Its rows are dicts with the columns the
handlers read (services/tendering/migrations/).
"""

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from types import TracebackType
from typing import Any, Self
from uuid import UUID

from services.tendering.domain.errors import PoolChanged
from services.tendering.domain.evaluation import Bid
from services.tendering.domain.lots import LotsBy, Status
from services.tendering.domain.pooling import PoolLine, TenderedSpan
from services.tendering.domain.scoring import QualityScore
from services.tendering.repository import HistoryEntry, LotAward, NewTender
from shared.events import Envelope, Outgoing

Row = dict[str, Any]


@dataclass
class _DemandLine:
    trust_id: str
    category: str
    line: PoolLine
    status: str = "open"  # open | tendered | awarded
    withdrawn: bool = False
    tender_id: UUID | None = None


class FakeTenderRepository:
    def __init__(self) -> None:
        self._demand: dict[str, _DemandLine] = {}
        self._schools: dict[str, dict[LotsBy, str | None]] = {}
        self._tenders: dict[UUID, Row] = {}
        self._lots: dict[UUID, list[Row]] = {}
        self._lines: dict[UUID, list[Row]] = {}
        self._bids: dict[tuple[UUID, int, str], Bid] = {}
        self._history: dict[UUID, list[HistoryEntry]] = {}
        # Who saved each bid's quality score, and when.
        self.scored: dict[str, tuple[str, datetime]] = {}

    # What the service learns from events (intake.py): demand lines and schools.

    async def demand(self, trust_id: str, category: str, line: PoolLine) -> None:
        self._demand[line.demand_id] = _DemandLine(trust_id, category, line)

    async def withdrawal(self, trust_id: str, category: str, line: PoolLine) -> None:
        self._demand[line.demand_id].withdrawn = True

    async def school(self, urn: str, local_authority: str | None, phase: str | None) -> None:
        self._schools[urn] = {LotsBy.LOCAL_AUTHORITY: local_authority, LotsBy.PHASE: phase}

    # The repository (services/tendering/repository.py).

    async def lock_openings(self, trust_id: str) -> None:
        """Nothing to do: one test opens one tender at a time."""

    async def open_lines(
        self, trust_id: str, category: str | None = None
    ) -> dict[str, list[PoolLine]]:
        poolable = sorted(
            (d for d in self._open_demand() if d.trust_id == trust_id),
            key=lambda d: (d.category, d.line.contract_end, d.line.demand_id),
        )
        lines: dict[str, list[PoolLine]] = {}
        for d in poolable:
            if category is None or d.category == category:
                lines.setdefault(d.category, []).append(d.line)
        return lines

    async def open_tender_spans(self, trust_id: str) -> dict[str, list[TenderedSpan]]:
        spans: dict[str, list[TenderedSpan]] = {}
        for tender_id in sorted(self._tenders):
            tender = self._tenders[tender_id]
            if tender["trust_id"] == trust_id and tender["status"] == Status.OPEN:
                ends = [line["contract_end"] for line in self._lines[tender_id]]
                span = TenderedSpan(str(tender_id), min(ends), max(ends))
                spans.setdefault(tender["category"], []).append(span)
        return spans

    async def school_labels(self, urns: Sequence[str], lots_by: LotsBy) -> dict[str, str | None]:
        return {urn: self._schools[urn][lots_by] for urn in urns if urn in self._schools}

    async def add(self, tender: NewTender) -> None:
        open_ids = {d.line.demand_id for d in self._open_demand()}
        if not {line.demand_id for line in tender.pool.lines} <= open_ids:
            raise PoolChanged(tender.pool.pool_id)
        tender_id, route = tender.tender_id, tender.route
        self._tenders[tender_id] = {
            "tender_id": tender_id,
            "trust_id": tender.pool.trust_id,
            "category": tender.pool.category,
            "unit": tender.unit,
            "pool_id": tender.pool.pool_id,
            "status": str(Status.OPEN),
            "opened_at": tender.opened_at,
            "opened_by": tender.opened_by,
            "closes_at": tender.closes_at,
            "term_months": tender.term_months,
            "weight_price": tender.weights.price,
            "weight_quality": tender.weights.quality,
            "route": str(route.route),
            "value_inc_vat": route.value_inc_vat,
            "lots_by": None if tender.lots_by is None else str(tender.lots_by),
            "cancelled_at": None,
            "cancel_reason": None,
            "cancelled_by": None,
            "procedure": str(tender.procedure.procedure),
            "framework": tender.procedure.framework,
            "planned_procurement_notice": tender.procedure.planned_procurement_notice,
            "urgency_reason": tender.procedure.urgency_reason,
        }
        self._lots[tender_id] = [
            {
                "lot_no": lot.number,
                "name": lot.name,
                "pooled_quantity": lot.total_quantity,
                "status": str(Status.OPEN),
                "awarded_bid_id": None,
                "pooled_unit_price": None,
                "awarded_by": None,
                "standstill_ends": None,
            }
            for lot in tender.lots
        ]
        lines = [
            {
                "lot_no": lot.number,
                "demand_id": UUID(line.demand_id),
                "school_urn": line.school_urn,
                "quantity": line.quantity,
                "baseline_unit_price": line.baseline_unit_price,
                "contract_end": line.contract_end,
            }
            for lot in tender.lots
            for line in lot.lines
        ]
        self._lines[tender_id] = sorted(
            lines, key=lambda r: (r["lot_no"], r["school_urn"], r["demand_id"])
        )
        for line in tender.pool.lines:
            self._demand[line.demand_id].status = "tendered"
            self._demand[line.demand_id].tender_id = tender_id

    async def get(self, tender_id: UUID) -> Row | None:
        tender = self._tenders.get(tender_id)
        return None if tender is None else dict(tender)

    async def lots(self, tender_id: UUID) -> list[Row]:
        return [dict(lot) for lot in self._lots.get(tender_id, [])]

    async def lines(self, tender_id: UUID) -> list[Row]:
        return [dict(line) for line in self._lines.get(tender_id, [])]

    async def bids(self, tender_id: UUID) -> dict[int, list[Bid]]:
        by_lot: dict[int, list[Bid]] = {}
        for (tender, lot_no, _), bid in sorted(
            self._bids.items(), key=lambda item: (item[0][1], item[1].submitted_at, item[1].bid_id)
        ):
            if tender == tender_id:
                by_lot.setdefault(lot_no, []).append(bid)
        return by_lot

    async def save_bid(self, tender_id: UUID, lot_no: int, bid: Bid) -> None:
        self._bids[tender_id, lot_no, bid.supplier_id] = bid

    async def record_scores(
        self, tender_id: UUID, scores: Sequence[QualityScore], scored_by: str, at: datetime
    ) -> None:
        by_id = {s.bid_id: s for s in scores}
        self.scored |= {s.bid_id: (scored_by, at) for s in scores}
        for key, bid in self._bids.items():
            if key[0] == tender_id and bid.bid_id in by_id:
                given = by_id[bid.bid_id]
                self._bids[key] = replace(
                    bid, quality_score=given.score, quality_comment=given.comment
                )

    async def record_lot_award(self, tender_id: UUID, award: LotAward) -> None:
        self._lot(tender_id, award.lot_no).update(
            status=str(Status.AWARDED),
            awarded_bid_id=UUID(award.winner.bid.bid_id),
            pooled_unit_price=award.winner.unit_price,
            awarded_by=award.awarded_by,
            standstill_ends=award.standstill_ends,
        )
        for d in self._lines_of(tender_id, [award.lot_no]):
            d.status = "awarded"

    async def close_lots(
        self, tender_id: UUID, lot_numbers: Sequence[int], status: Status
    ) -> list[UUID]:
        for number in lot_numbers:
            lot = self._lot(tender_id, number)
            if lot["status"] == Status.OPEN:
                lot["status"] = str(status)
        released = self._lines_of(tender_id, lot_numbers)
        for d in released:
            d.status, d.tender_id = "open", None
        return sorted(UUID(d.line.demand_id) for d in released)

    async def set_status(self, tender_id: UUID, status: Status) -> None:
        self._tenders[tender_id]["status"] = str(status)

    async def record_cancellation(
        self, tender_id: UUID, cancelled_at: datetime, reason: str, cancelled_by: str
    ) -> None:
        self._tenders[tender_id].update(
            cancelled_at=cancelled_at, cancel_reason=reason, cancelled_by=cancelled_by
        )

    async def record_history(self, tender_id: UUID, entries: Sequence[HistoryEntry]) -> None:
        self._history.setdefault(tender_id, []).extend(entries)

    async def history(self, tender_id: UUID) -> list[HistoryEntry]:
        return sorted(self._history.get(tender_id, []), key=lambda e: e.at)

    def _open_demand(self) -> list[_DemandLine]:
        return [d for d in self._demand.values() if d.status == "open" and not d.withdrawn]

    def _lot(self, tender_id: UUID, lot_no: int) -> Row:
        return next(lot for lot in self._lots[tender_id] if lot["lot_no"] == lot_no)

    def _lines_of(self, tender_id: UUID, lot_numbers: Sequence[int]) -> list[_DemandLine]:
        """The demand lines of these lots that the tender still holds."""
        ids = {
            str(line["demand_id"])
            for line in self._lines[tender_id]
            if line["lot_no"] in lot_numbers
        }
        return [
            d for d in self._demand.values() if d.tender_id == tender_id and d.line.demand_id in ids
        ]


class FakeUnitOfWork:
    """Tendering's unit of work in memory. Run a handler in `async with work:`; when the block
    ends without raising, its events are `published` (what a committed unit of work sends) and
    `commits` counts it; when it raises, its events are dropped, as a rollback drops them."""

    def __init__(self, tenders: FakeTenderRepository | None = None) -> None:
        self.tenders = tenders or FakeTenderRepository()
        self.published: list[tuple[str, Envelope]] = []
        self.commits = 0
        self._pending: list[tuple[str, Outgoing]] = []

    def emit(self, topic: str, events: Sequence[Outgoing]) -> None:
        self._pending.extend((topic, event) for event in events)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc is None:
            self.published += [
                (topic, Envelope.model_validate_json(event.payload))
                for topic, event in self._pending
            ]
            self.commits += 1
        self._pending.clear()

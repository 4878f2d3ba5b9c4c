"""What tendering's handlers need from storage, named by the domain: the trust's open demand and
its schools, and the tenders with their lots, lines and bids. Handlers take a `TenderingWork`:
these tenders and the events their change causes, committed together or not at all.

The service stores them in PostgreSQL (store.py); the handler tests keep them in memory
(tests/service_layer/fakes.py), and one contract test holds both to the same behaviour.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol
from uuid import UUID

from services.tendering.domain.evaluation import Bid, ScoredBid, Weights
from services.tendering.domain.lots import Lot, LotsBy, Status
from services.tendering.domain.pooling import Pool, PoolLine, TenderedSpan
from services.tendering.domain.procedure import ProcedureChoice
from services.tendering.domain.route import RouteDecision
from services.tendering.domain.scoring import QualityScore
from shared.events import Outgoing


class Row(Protocol):
    """A stored tender, lot or line, read by its column's name (migrations/)."""

    def __getitem__(self, column: str, /) -> Any: ...


@dataclass(frozen=True)
class NewTender:
    tender_id: UUID
    pool: Pool
    lots: Sequence[Lot]
    lots_by: LotsBy | None
    unit: str
    opened_at: datetime
    opened_by: str
    closes_at: datetime
    term_months: int
    weights: Weights
    route: RouteDecision
    procedure: ProcedureChoice = field(default_factory=ProcedureChoice)


@dataclass(frozen=True)
class LotAward:
    """A lot awarded to its winning bid: when, by whom, and when its standstill ends (None
    where the route has none)."""

    lot_no: int
    winner: ScoredBid
    awarded_at: datetime
    awarded_by: str
    standstill_ends: date | None


@dataclass(frozen=True)
class HistoryEntry:
    """One thing done to a tender (migrations/0006_named_people.sql): what, when, and by whom
    (the token's subject, or "policy"/"deadline" for the service's own actions)."""

    at: datetime
    action: str  # opened | bid_received | scores_saved | awarded | no_bids | cancelled
    done_by: str
    lot_no: int | None = None
    supplier_id: str | None = None
    supplier_name: str | None = None
    detail: str | None = None


class TenderRepository(Protocol):
    async def lock_openings(self, trust_id: str) -> None:
        """Until the unit of work ends, no other tender of the trust opens (they would share
        lines)."""

    async def open_lines(
        self, trust_id: str, category: str | None = None
    ) -> dict[str, list[PoolLine]]:
        """The trust's poolable demand lines (not in a tender, not withdrawn), by category, each
        category's in order of contract end."""

    async def open_tender_spans(self, trust_id: str) -> dict[str, list[TenderedSpan]]:
        """The trust's open tenders by category, with the span of their lines' contract ends."""

    async def school_labels(self, urns: Sequence[str], lots_by: LotsBy) -> dict[str, str | None]:
        """Each known school's local authority or phase, as the registry gave it."""

    async def add(self, tender: NewTender) -> None:
        """The tender, its lots and lines; its lines leave the open pool (all of them, or none:
        PoolChanged if one has left it since it was read)."""

    async def get(self, tender_id: UUID) -> Row | None:
        """The tender, locked against other changes until the unit of work ends."""

    async def lots(self, tender_id: UUID) -> Sequence[Row]:
        """The tender's lots, by number."""

    async def lines(self, tender_id: UUID) -> Sequence[Row]:
        """The tender's lines, by lot, school and demand line."""

    async def bids(self, tender_id: UUID) -> dict[int, list[Bid]]:
        """Each lot's bids (only lots that have some), in the order they were submitted."""

    async def save_bid(self, tender_id: UUID, lot_no: int, bid: Bid) -> None:
        """The bid, in place of the supplier's earlier bid for the lot if there is one."""

    async def record_scores(
        self, tender_id: UUID, scores: Sequence[QualityScore], scored_by: str, at: datetime
    ) -> None:
        """The buyer's quality score (and comment) of each named bid, in place of any earlier,
        with who saved it and when."""

    async def record_lot_award(self, tender_id: UUID, award: LotAward) -> None:
        """The lot is awarded to the winning bid, and its lines with it."""

    async def close_lots(
        self, tender_id: UUID, lot_numbers: Sequence[int], status: Status
    ) -> list[UUID]:
        """Close open lots without an award and release their lines; returns the released
        lines, in order."""

    async def set_status(self, tender_id: UUID, status: Status) -> None: ...

    async def record_cancellation(
        self, tender_id: UUID, cancelled_at: datetime, reason: str, cancelled_by: str
    ) -> None: ...

    async def record_history(self, tender_id: UUID, entries: Sequence[HistoryEntry]) -> None:
        """These entries at the end of the tender's history."""

    async def history(self, tender_id: UUID) -> list[HistoryEntry]:
        """The tender's history, in the order things were done."""


class TenderingWork(Protocol):
    """A unit of work as tendering's handlers see it (shared/unit_of_work.py)."""

    @property
    def tenders(self) -> TenderRepository: ...

    def emit(self, topic: str, events: Sequence[Outgoing]) -> None:
        """Publish these events if, and when, the unit of work commits."""

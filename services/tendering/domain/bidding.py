"""Bidding: until when a tender takes bids, for which lot, and who may see which bids when
(docs/domain-rules.md, "Bids, evaluation and award").

Bids are sealed until the deadline (`closes_at`): until then a supplier sees only its own bids
and the trust sees how many bids each lot has, not who bid or at what price; once bidding has
closed (at the deadline, or earlier when the tender was decided or cancelled) the trust sees
every bid, ranked with its scores. Suppliers never see each other's bids.
"""

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from services.tendering.domain.errors import (
    BiddingClosed,
    InvalidPriceTiers,
    LotRequired,
    UnknownLot,
)
from services.tendering.domain.lots import Status
from services.tendering.domain.pricing import PriceTier, TierError, check_tiers


def takes_bids(status: str, closes_at: datetime, now: datetime) -> bool:
    """The deadline rule: a tender takes bids while it is open and before its deadline."""
    return status == Status.OPEN and now < closes_at


def sealed(status: str, closes_at: datetime, now: datetime) -> bool:
    """The sealed-bid rule: the trust may not see the bids (who, what price, what rank) while
    the tender still takes them."""
    return takes_bids(status, closes_at, now)


def check_takes_bids(tender_id: UUID, status: str, closes_at: datetime, now: datetime) -> None:
    if not takes_bids(status, closes_at, now):
        raise BiddingClosed(tender_id)


def lot_bid_for(requested: int | None, lots: int) -> int:
    """The lot a bid is for: required when the tender has several lots, else lot 1."""
    if requested is None and lots > 1:
        raise LotRequired(lots)
    lot = requested or 1
    if lot > lots:
        raise UnknownLot(lots)
    return lot


def valid_tiers(tiers: Sequence[PriceTier]) -> tuple[PriceTier, ...]:
    """The bid's price tiers, checked (domain/pricing.py), or InvalidPriceTiers."""
    try:
        return check_tiers(tiers)
    except TierError as exc:
        raise InvalidPriceTiers(exc.field, exc.reason) from exc

"""Bid evaluation: the most economically advantageous tender, on price at the pooled volume."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from services.tendering.domain.pricing import PriceTier, price_at


@dataclass(frozen=True)
class Bid:
    bid_id: str
    supplier_id: str
    quality_score: Decimal
    tiers: tuple[PriceTier, ...]
    submitted_at: datetime


@dataclass(frozen=True)
class Weights:
    price: Decimal = Decimal("0.7")
    quality: Decimal = Decimal("0.3")


@dataclass(frozen=True)
class ScoredBid:
    """Scores are exact (unrounded) so ranking never depends on display rounding."""

    bid: Bid
    rank: int
    unit_price: Decimal
    price_score: Decimal
    score: Decimal


def check_weights(weights: Weights) -> Weights:
    """Return the weights, or raise ValueError naming the offending field."""
    for field, value in (("price", weights.price), ("quality", weights.quality)):
        if not value.is_finite() or value < 0:
            raise ValueError(f"weights.{field}: must be a number not below 0")
    if weights.price + weights.quality != 1:
        raise ValueError("weights: price and quality must add up to 1")
    return weights


def evaluate(bids: Sequence[Bid], pooled_quantity: Decimal, weights: Weights) -> list[ScoredBid]:
    """Rank the bids best first; ties go to the lower price, then the earlier bid."""
    if not bids:
        return []
    prices = [price_at(bid.tiers, pooled_quantity) for bid in bids]
    lowest = min(prices)
    unranked: list[tuple[Bid, Decimal, Decimal, Decimal]] = []
    for bid, price in zip(bids, prices, strict=True):
        price_score = lowest / price * 100
        score = weights.price * price_score + weights.quality * bid.quality_score
        unranked.append((bid, price, price_score, score))

    def best_first(
        row: tuple[Bid, Decimal, Decimal, Decimal],
    ) -> tuple[Decimal, Decimal, datetime, str]:
        bid, price, _, score = row
        # bid_id last so equal bids rank the same way on every replay.
        return (-score, price, bid.submitted_at, bid.bid_id)

    unranked.sort(key=best_first)
    return [
        ScoredBid(bid=bid, rank=rank, unit_price=price, price_score=price_score, score=score)
        for rank, (bid, price, price_score, score) in enumerate(unranked, start=1)
    ]

"""Bid evaluation: the most economically advantageous tender, on price at the pooled volume and
the buyer's quality score (docs/domain-rules.md, "Bids, evaluation and award")."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from services.tendering.domain.pricing import PriceTier, price_at
from shared.domain.suppliers import supplier_label


@dataclass(frozen=True)
class Bid:
    """A supplier's bid. Its quality score is the buyer's, recorded after the deadline (None
    until then), with the buyer's optional comment."""

    bid_id: str
    supplier_id: str
    quality_score: Decimal | None
    tiers: tuple[PriceTier, ...]
    submitted_at: datetime
    quality_comment: str | None = None
    # The bidder's trading name as it gave it with the bid; None when it gave none.
    supplier_name: str | None = None


def bidder(bid: Bid) -> str:
    """The bidder as people read it: "Volt Energy Ltd (volt-co)", or its id alone."""
    return supplier_label(bid.supplier_id, bid.supplier_name)


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


def unscored(bids: Sequence[Bid], weights: Weights) -> list[str]:
    """The bids still waiting for the buyer's quality score: none when quality weighs nothing."""
    if weights.quality == 0:
        return []
    return [bid.bid_id for bid in bids if bid.quality_score is None]


def quality_of(bid: Bid) -> Decimal:
    """The bid's quality score; an unscored bid counts 0 (only where quality weighs 0)."""
    return Decimal(0) if bid.quality_score is None else bid.quality_score


def evaluate(bids: Sequence[Bid], pooled_quantity: Decimal, weights: Weights) -> list[ScoredBid]:
    """Rank the bids best first; ties go to the lower price, then the earlier bid. Every bid must
    have its quality score unless quality weighs 0 (ValueError otherwise)."""
    if not bids:
        return []
    if unscored(bids, weights):
        raise ValueError(f"bids without a quality score: {', '.join(unscored(bids, weights))}")
    prices = [price_at(bid.tiers, pooled_quantity) for bid in bids]
    lowest = min(prices)
    unranked: list[tuple[Bid, Decimal, Decimal, Decimal]] = []
    for bid, price in zip(bids, prices, strict=True):
        price_score = lowest / price * 100
        score = weights.price * price_score + weights.quality * quality_of(bid)
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


def display(value: Decimal, places: int = 2) -> Decimal:
    """A score as shown to people: two places, half up (ranking uses the exact value)."""
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def explain_award(
    ranked: Sequence[ScoredBid], weights: Weights, pooled_quantity: Decimal, unit: str
) -> str:
    """Why the first-ranked bid won, as a sentence a business manager can give trustees."""
    if not ranked:
        raise ValueError("ranked: there is no bid to explain")
    winner, runner = ranked[0], ranked[1] if len(ranked) > 1 else None
    places = 2 if runner is None else _places_apart(winner.score, runner.score)
    bid = winner.bid
    sentence = (
        f"{bidder(bid)} won with a score of {display(winner.score, places)} out of 100: at the"
        f" pooled volume of {pooled_quantity:,f} {unit} it offered {winner.unit_price:f} GBP per"
        f" {unit}, a price score of {display(winner.price_score)} (x {weights.price:f} ="
        f" {display(weights.price * winner.price_score)}), and a quality score of"
        f" {quality_of(bid):f} (x {weights.quality:f} ="
        f" {display(weights.quality * quality_of(bid))})"
    )
    if runner is None:
        return f"{sentence}; it was the only bid."
    other = bidder(runner.bid)
    if winner.score == runner.score:
        if winner.unit_price < runner.unit_price:
            return (
                f"{sentence}; it tied with {other} on score and won on the lower price"
                f" ({other} offered {runner.unit_price:f})."
            )
        return (
            f"{sentence}; it tied with {other} on score and price and won as the earlier bid"
            f" ({bid.submitted_at.isoformat()} before {runner.bid.submitted_at.isoformat()})."
        )
    if winner.unit_price > runner.unit_price:
        why = f"its higher quality outweighed {other}'s lower price"
    elif quality_of(bid) < quality_of(runner.bid):
        why = f"its lower price outweighed {other}'s higher quality"
    else:
        why = f"neither {other}'s price nor its quality was better"
    return (
        f"{sentence}; {why} ({other} scored {display(runner.score, places)} with"
        f" {runner.unit_price:f} GBP per {unit} and quality {quality_of(runner.bid):f})."
    )


def _places_apart(higher: Decimal, lower: Decimal) -> int:
    """Two places, or more when two would show different scores as equal."""
    places = 2
    while higher != lower and display(higher, places) == display(lower, places) and places < 12:
        places += 2
    return places

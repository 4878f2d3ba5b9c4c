"""Assessment summaries (Procurement Act 2023, s.50; docs/domain-rules.md, "Bids, evaluation and
award"): once a bid's lot is awarded, its bidder may read its own price, quality and total
scores, the winner's, and the reasons; never another losing bidder's figures."""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from services.tendering.domain.errors import NotYetAwarded
from services.tendering.domain.evaluation import ScoredBid, Weights, bidder, display, quality_of


@dataclass(frozen=True)
class Scores:
    supplier_id: str
    supplier_name: str | None
    unit_price_at_pooled_volume: Decimal
    price_score: Decimal
    quality_score: Decimal
    score: Decimal


@dataclass(frozen=True)
class Assessment:
    bid_id: str
    won: bool
    rank: int
    bidders: int
    own: Scores
    winner: Scores
    reasons: str


def _scores(s: ScoredBid) -> Scores:
    return Scores(
        s.bid.supplier_id,
        s.bid.supplier_name,
        s.unit_price,
        display(s.price_score),
        quality_of(s.bid),
        display(s.score),
    )


def assess(
    ranked: Sequence[ScoredBid],
    bid_id: str,
    awarded_bid_id: str | None,
    weights: Weights,
    pooled_quantity: Decimal,
    unit: str,
) -> Assessment:
    """The summary of one bid of an awarded lot, `ranked` as evaluated (best first). Only this
    bid's and the winner's figures are used: no other bidder's."""
    if awarded_bid_id is None:
        raise NotYetAwarded()
    own = next(s for s in ranked if s.bid.bid_id == bid_id)
    winner = next(s for s in ranked if s.bid.bid_id == awarded_bid_id)
    mine, theirs = _scores(own), _scores(winner)

    def breakdown(s: Scores) -> str:
        return (
            f"{s.unit_price_at_pooled_volume:f} GBP per {unit} at the pooled volume of"
            f" {pooled_quantity:,f} {unit}:"
            f" a price score of {s.price_score:f} (x {weights.price:f}), and a quality score of"
            f" {s.quality_score:f} (x {weights.quality:f}), {s.score:f} out of 100"
        )

    if own is winner:
        reasons = (
            f"Your bid ranked first of {len(ranked)} and was awarded the contract: it offered"
            f" {breakdown(mine)}."
        )
    else:
        why = []
        if winner.unit_price < own.unit_price:
            lower, higher = theirs.unit_price_at_pooled_volume, mine.unit_price_at_pooled_volume
            why.append(f"its price was lower ({lower:f} against {higher:f})")
        if quality_of(winner.bid) > quality_of(own.bid):
            why.append(
                f"its quality score was higher ({theirs.quality_score:f} against"
                f" {mine.quality_score:f})"
            )
        if not why:
            why.append("it ranked above yours on the tie-break (lower price, then earlier bid)")
        reasons = (
            f"Your bid ranked {own.rank} of {len(ranked)}: it offered {breakdown(mine)}."
            f" {bidder(winner.bid)} won with {breakdown(theirs)}; {' and '.join(why)}."
        )
    return Assessment(bid_id, own is winner, own.rank, len(ranked), mine, theirs, reasons)

"""Quality is the buyer's score: after the deadline the trust records a moderated quality score
(0 to 100) and an optional comment for each bid, revisable until its lot is decided; the award
waits for every score unless quality weighs 0 (docs/domain-rules.md, "Bids, evaluation and
award")."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from services.tendering.domain.errors import (
    BidsSealed,
    InvalidQualityScores,
    LotDecided,
    QualityScoresMissing,
    TenderWasCancelled,
)
from services.tendering.domain.evaluation import Bid, Weights, unscored
from services.tendering.domain.lots import Status

QUALITY_MAX = Decimal(100)
AWAITING_SCORES = "quality scores"


@dataclass(frozen=True)
class QualityScore:
    bid_id: str
    score: Decimal
    comment: str | None = None


def check_scores(
    tender_id: UUID,
    status: str,
    closes_at: datetime,
    now: datetime,
    scores: Sequence[QualityScore],
    bid_lots: Mapping[str, int],
    lot_statuses: Mapping[int, str],
) -> None:
    """Scores are recorded once bidding has closed, for bids of the tender whose lot is still
    undecided, each bid once, each score 0 to 100. `bid_lots`: each bid of the tender, its lot."""
    if status == Status.CANCELLED:
        raise TenderWasCancelled(tender_id)
    if now < closes_at and status == Status.OPEN:
        raise BidsSealed(tender_id, closes_at)
    problems: list[tuple[str, str]] = []
    decided: list[str] = []
    seen: set[str] = set()
    for i, s in enumerate(scores):
        if s.bid_id not in bid_lots:
            problems.append((f"scores[{i}].bid_id", "not a bid of this tender"))
        elif s.bid_id in seen:
            problems.append((f"scores[{i}].bid_id", "scored twice in one request"))
        elif lot_statuses.get(bid_lots[s.bid_id]) != Status.OPEN:
            decided.append(s.bid_id)
        seen.add(s.bid_id)
        if not s.score.is_finite() or not 0 <= s.score <= QUALITY_MAX:
            problems.append((f"scores[{i}].quality_score", "must be 0 to 100"))
    if problems:
        raise InvalidQualityScores(problems)
    if decided:
        raise LotDecided(tender_id, decided)


def check_all_scored(tender_id: UUID, bids: Sequence[Bid], weights: Weights) -> None:
    """The award waits for the buyer's quality score of every bid (unless quality weighs 0)."""
    missing = unscored(bids, weights)
    if missing:
        raise QualityScoresMissing(tender_id, missing)


def awaiting(
    status: str, closes_at: datetime, now: datetime, bids: Sequence[Bid], weights: Weights
) -> str | None:
    """What an open tender past its deadline waits for before it can be awarded, if anything."""
    if status == Status.OPEN and now >= closes_at and unscored(bids, weights):
        return AWAITING_SCORES
    return None

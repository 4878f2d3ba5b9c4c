"""Assessment summaries (services/tendering/domain/assessment.py; Procurement Act 2023, s.50),
worked by hand: a bidder reads its own scores and the winner's, never another loser's."""

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from services.tendering.domain.assessment import assess
from services.tendering.domain.errors import NotYetAwarded
from services.tendering.domain.evaluation import Bid, Weights, evaluate
from services.tendering.domain.pricing import PriceTier

NINE_AM = datetime(2027, 1, 4, 9, tzinfo=UTC)
POOLED = Decimal(1000)


def bid(supplier: str, price: str, quality: str) -> Bid:
    tiers = (PriceTier(Decimal(0), Decimal(price)),)
    return Bid(supplier, supplier, Decimal(quality), tiers, NINE_AM)


# Lowest price 0.25. alpha: 100 x 0.7 + 60 x 0.3 = 88.00; beta: 0.25 / 0.2750 x 100 = 90.909...,
# x 0.7 = 63.64 + 95 x 0.3 = 28.50: 92.14; gamma: 0.25 / 0.30 x 100 = 83.33, x 0.7 = 58.33 +
# 70 x 0.3 = 21: 79.33. beta wins, alpha second, gamma third.
RANKED = evaluate(
    [bid("alpha", "0.25", "60"), bid("beta", "0.2750", "95"), bid("gamma", "0.30", "70")],
    POOLED,
    Weights(),
)


def test_a_losing_bidder_reads_its_scores_the_winners_and_why() -> None:
    summary = assess(RANKED, "gamma", "beta", Weights(), POOLED, "kWh")

    assert (summary.won, summary.rank, summary.bidders) == (False, 3, 3)
    assert (summary.own.price_score, summary.own.quality_score, summary.own.score) == (
        Decimal("83.33"),
        Decimal(70),
        Decimal("79.33"),
    )
    assert (summary.winner.supplier_id, summary.winner.score) == ("beta", Decimal("92.14"))
    assert "beta won" in summary.reasons
    assert "its price was lower (0.2750 against 0.30)" in summary.reasons
    assert "its quality score was higher (95 against 70)" in summary.reasons
    # Never another losing bidder's figures: alpha's name, price and score appear nowhere.
    for figure in ("alpha", "88.00", "0.25 ", "60"):
        assert figure not in summary.reasons


def test_the_winner_reads_its_own_scores_and_no_one_elses() -> None:
    summary = assess(RANKED, "beta", "beta", Weights(), POOLED, "kWh")

    assert (summary.won, summary.rank, summary.own, summary.winner) == (
        True,
        1,
        summary.winner,
        summary.own,
    )
    assert summary.reasons.startswith("Your bid ranked first of 3 and was awarded the contract")
    for figure in ("alpha", "gamma", "88.00", "79.33"):
        assert figure not in summary.reasons


def test_there_is_no_summary_before_the_award() -> None:
    with pytest.raises(NotYetAwarded):
        assess(RANKED, "gamma", None, Weights(), POOLED, "kWh")


def test_the_winner_is_named_as_its_bid_gave_its_name() -> None:
    named = [
        replace(b, supplier_name="Beta Power Ltd") if b.supplier_id == "beta" else b
        for b in (s.bid for s in RANKED)
    ]
    summary = assess(evaluate(named, POOLED, Weights()), "gamma", "beta", Weights(), POOLED, "kWh")

    assert (summary.winner.supplier_id, summary.winner.supplier_name) == ("beta", "Beta Power Ltd")
    assert "Beta Power Ltd (beta) won with" in summary.reasons
    # A bidder that gave no name is named by its id.
    assert (summary.own.supplier_id, summary.own.supplier_name) == ("gamma", None)

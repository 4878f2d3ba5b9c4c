"""Why the winner won: the plain sentence a manager reads on the tender."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.tendering.domain.evaluation import Bid, Weights, evaluate, explain_award
from services.tendering.domain.pricing import PriceTier

NINE_AM = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def bid(
    supplier: str, quality: str, *pairs: tuple[str, str], submitted_at: datetime = NINE_AM
) -> Bid:
    return Bid(
        bid_id=f"bid-{supplier}",
        supplier_id=supplier,
        quality_score=Decimal(quality),
        tiers=tuple(PriceTier(Decimal(m), Decimal(p)) for m, p in pairs),
        submitted_at=submitted_at,
    )


DEFAULT = Weights()


def explain(bids: list[Bid], quantity: str, unit: str, weights: Weights = DEFAULT) -> str:
    q = Decimal(quantity)
    return explain_award(evaluate(bids, q, weights), weights, q, unit)


@pytest.mark.parametrize(
    ("bids", "quantity", "unit", "expected"),
    [
        # The end-to-end example at 420,000 kWh: alpha 0.2500, beta 0.2450.
        # alpha: price score 0.2450 / 0.2500 x 100 = 98.00, x 0.7 = 68.60; quality 80 x 0.3 =
        # 24.00; 92.60. beta: 0.7 x 100 + 0.3 x 60 = 88.00.
        (
            [
                bid("beta-power", "60", ("0", "0.3000"), ("300000", "0.2450")),
                bid("alpha-energy", "80", ("0", "0.3100"), ("300000", "0.2500")),
            ],
            "420000",
            "kWh",
            "alpha-energy won with a score of 92.60 out of 100: at the pooled volume of 420,000"
            " kWh it offered 0.2500 GBP per kWh, a price score of 98.00 (x 0.7 = 68.60), and a"
            " quality score of 80 (x 0.3 = 24.00); its higher quality outweighed beta-power's"
            " lower price (beta-power scored 88.00 with 0.2450 GBP per kWh and quality 60).",
        ),
        # cheap: 0.7 x 100 + 0.3 x 50 = 85.00. good: 0.20 / 0.24 x 100 = 83.33..., x 0.7 =
        # 58.33..., + 0.3 x 60 = 18: 76.33.
        (
            [bid("good", "60", ("0", "0.24")), bid("cheap", "50", ("0", "0.20"))],
            "1500.5",
            "hour",
            "cheap won with a score of 85.00 out of 100: at the pooled volume of 1,500.5 hour it"
            " offered 0.20 GBP per hour, a price score of 100.00 (x 0.7 = 70.00), and a quality"
            " score of 50 (x 0.3 = 15.00); its lower price outweighed good's higher quality (good"
            " scored 76.33 with 0.24 GBP per hour and quality 60).",
        ),
    ],
    ids=["higher-quality-outweighs-a-lower-price", "a-lower-price-outweighs-higher-quality"],
)
def test_the_explanation_says_what_outweighed_what(
    bids: list[Bid], quantity: str, unit: str, expected: str
) -> None:
    assert explain(bids, quantity, unit) == expected


def test_better_on_both_counts() -> None:
    # best: 85 + ... 0.7 x 100 + 0.3 x 70 = 91.00; worse: 0.7 x (0.20/0.25 x 100 = 80) + 0.3 x 70
    # = 56 + 21 = 77.00.
    text = explain([bid("best", "70", ("0", "0.20")), bid("worse", "70", ("0", "0.25"))], "1", "m3")
    assert text.endswith(
        "; neither worse's price nor its quality was better (worse scored 77.00 with 0.25 GBP"
        " per m3 and quality 70)."
    )


def test_the_only_bid() -> None:
    # 0.7 x 100 + 0.3 x 40 = 82.00
    assert explain([bid("solo", "40", ("0", "1.5"))], "10", "lift") == (
        "solo won with a score of 82.00 out of 100: at the pooled volume of 10 lift it offered"
        " 1.5 GBP per lift, a price score of 100.00 (x 0.7 = 70.00), and a quality score of 40"
        " (x 0.3 = 12.00); it was the only bid."
    )


def test_a_tie_on_score_goes_to_the_lower_price() -> None:
    # Weights 0.5 / 0.5. a: 0.5 x 100 + 0.5 x 60 = 80. b: 0.5 x (0.20 / 0.25 x 100 = 80) +
    # 0.5 x 80 = 80.
    weights = Weights(Decimal("0.5"), Decimal("0.5"))
    text = explain(
        [bid("b", "80", ("0", "0.25")), bid("a", "60", ("0", "0.20"))], "1000", "seat-year", weights
    )
    assert text == (
        "a won with a score of 80.00 out of 100: at the pooled volume of 1,000 seat-year it"
        " offered 0.20 GBP per seat-year, a price score of 100.00 (x 0.5 = 50.00), and a quality"
        " score of 60 (x 0.5 = 30.00); it tied with b on score and won on the lower price"
        " (b offered 0.25)."
    )


def test_a_tie_on_score_and_price_goes_to_the_earlier_bid() -> None:
    later = NINE_AM + timedelta(minutes=5)
    text = explain(
        [bid("late", "70", ("0", "0.2"), submitted_at=later), bid("early", "70", ("0", "0.2"))],
        "1",
        "meal",
    )
    assert text.startswith("early won with a score of 91.00 out of 100")
    assert text.endswith(
        "; it tied with late on score and price and won as the earlier bid"
        " (2026-03-02T09:00:00+00:00 before 2026-03-02T09:05:00+00:00)."
    )


def test_scores_that_two_places_would_show_equal_are_shown_with_more() -> None:
    # Same price; quality 50.01 against 50: 85.003 against 85.000, both 85.00 to two places.
    text = explain([bid("b", "50", ("0", "0.2")), bid("a", "50.01", ("0", "0.2"))], "1", "kWh")
    assert text.startswith("a won with a score of 85.0030 out of 100")
    assert "(b scored 85.0000 with 0.2 GBP per kWh and quality 50)." in text


def test_nothing_to_explain_without_bids() -> None:
    with pytest.raises(ValueError, match="ranked"):
        explain_award([], Weights(), Decimal(1), "kWh")


PRICES = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("9.99"), places=2)
QUALITIES = st.integers(min_value=0, max_value=100).map(Decimal)


@settings(max_examples=200)
@given(st.lists(st.tuples(PRICES, QUALITIES), min_size=1, max_size=6))
def test_the_sentence_names_the_first_ranked_and_its_figures(
    offers: list[tuple[Decimal, Decimal]],
) -> None:
    bids = [
        bid(f"s{i}", str(quality), ("0", str(price))) for i, (price, quality) in enumerate(offers)
    ]
    ranked = evaluate(bids, Decimal(1), Weights())
    text = explain_award(ranked, Weights(), Decimal(1), "kWh")
    assert text.startswith(f"{ranked[0].bid.supplier_id} won with a score of ")
    assert f"it offered {ranked[0].unit_price:f} GBP per kWh" in text
    if len(ranked) > 1:
        assert f"{ranked[1].bid.supplier_id} " in text

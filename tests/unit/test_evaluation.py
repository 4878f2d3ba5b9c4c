"""Bid evaluation: MEAT scores at the pooled volume, ranking and tie-breaks, weights."""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.tendering.domain.evaluation import Bid, Weights, check_weights, evaluate
from services.tendering.domain.pricing import PriceTier

NINE_AM = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def bid(
    bid_id: str, quality: str, *pairs: tuple[str, str], submitted_at: datetime = NINE_AM
) -> Bid:
    return Bid(
        bid_id=bid_id,
        supplier_id=f"supplier-{bid_id}",
        quality_score=Decimal(quality),
        tiers=tuple(PriceTier(Decimal(m), Decimal(p)) for m, p in pairs),
        submitted_at=submitted_at,
    )


def test_worked_example_ranks_on_price_at_pooled_volume_and_quality() -> None:
    pooled = Decimal(60000)
    # At 60,000: A offers 0.24 (its 50,000 tier), B 0.20 (its 40,000 tier), C 0.22. Lowest 0.20.
    a = bid("A", "60", ("0", "0.30"), ("50000", "0.24"))
    b = bid("B", "50", ("0", "0.28"), ("40000", "0.20"))
    c = bid("C", "90", ("0", "0.22"))
    # A: price score 0.20 / 0.24 x 100 = 83.3333...; 0.7 x 83.3333... + 0.3 x 60 = 76.3333...
    # B: price score 100; 0.7 x 100 + 0.3 x 50 = 85
    # C: price score 0.20 / 0.22 x 100 = 90.9090...; 0.7 x 90.9090... + 0.3 x 90 = 90.6363...
    ranked = evaluate([a, b, c], pooled, Weights())

    assert [(s.bid.bid_id, s.rank) for s in ranked] == [("C", 1), ("B", 2), ("A", 3)]
    assert [s.unit_price for s in ranked] == [Decimal("0.22"), Decimal("0.20"), Decimal("0.24")]
    assert ranked[1].price_score == Decimal("100")
    assert ranked[1].score == Decimal("85")
    assert ranked[0].price_score.quantize(Decimal("0.0001")) == Decimal("90.9091")
    assert ranked[0].score.quantize(Decimal("0.0001")) == Decimal("90.6364")
    assert ranked[2].price_score.quantize(Decimal("0.0001")) == Decimal("83.3333")
    assert ranked[2].score.quantize(Decimal("0.0001")) == Decimal("76.3333")


def test_scores_stay_exact_not_rounded() -> None:
    # 0.20 / 0.30 x 100 = 66.666...: more places than any display rounding keeps.
    ranked = evaluate(
        [bid("A", "0", ("0", "0.20")), bid("B", "0", ("0", "0.30"))], Decimal(1), Weights()
    )
    assert ranked[1].price_score > Decimal("66.6666666666")
    assert ranked[1].price_score < Decimal("66.6666666667")


def test_weights_are_configurable() -> None:
    # Price only: the cheaper A wins despite B's quality. Quality only: B wins.
    a = bid("A", "10", ("0", "1.00"))
    b = bid("B", "90", ("0", "2.00"))
    by_price = evaluate([a, b], Decimal(1), Weights(price=Decimal(1), quality=Decimal(0)))
    by_quality = evaluate([a, b], Decimal(1), Weights(price=Decimal(0), quality=Decimal(1)))
    # A: 1 x (1.00 / 1.00 x 100) = 100; B: 1 x (1.00 / 2.00 x 100) = 50.
    assert [(s.bid.bid_id, s.score) for s in by_price] == [("A", Decimal(100)), ("B", Decimal(50))]
    assert [(s.bid.bid_id, s.score) for s in by_quality] == [("B", Decimal(90)), ("A", Decimal(10))]


def test_tie_on_score_goes_to_the_lower_price() -> None:
    half = Weights(price=Decimal("0.5"), quality=Decimal("0.5"))
    # X: 0.5 x 100 + 0.5 x 60 = 80. Y: 0.5 x (0.20 / 0.25 x 100 = 80) + 0.5 x 80 = 80.
    # Y (id "A") was earlier and sorts first by id, so only the price can make X win.
    x = bid("X", "60", ("0", "0.20"), submitted_at=NINE_AM)
    y = bid("A", "80", ("0", "0.25"), submitted_at=NINE_AM - timedelta(hours=1))
    ranked = evaluate([y, x], Decimal(1), half)
    assert ranked[0].score == ranked[1].score == Decimal(80)
    assert [s.bid.bid_id for s in ranked] == ["X", "A"]


def test_tie_on_score_and_price_goes_to_the_earlier_bid() -> None:
    later = bid("A", "50", ("0", "0.20"), submitted_at=NINE_AM + timedelta(seconds=1))
    earlier = bid("B", "50", ("0", "0.20"), submitted_at=NINE_AM)
    assert [s.bid.bid_id for s in evaluate([later, earlier], Decimal(1), Weights())] == ["B", "A"]


def test_full_tie_goes_to_the_bid_id_whatever_the_input_order() -> None:
    first = bid("bid-1", "50", ("0", "0.20"))
    second = bid("bid-2", "50", ("0", "0.20"))
    for order in ([first, second], [second, first]):
        ranked = evaluate(order, Decimal(1), Weights())
        assert [(s.bid.bid_id, s.rank) for s in ranked] == [("bid-1", 1), ("bid-2", 2)]


def test_no_bids_no_ranking() -> None:
    assert evaluate([], Decimal(100), Weights()) == []


def test_default_weights_are_seventy_thirty() -> None:
    assert Weights() == Weights(price=Decimal("0.7"), quality=Decimal("0.3"))


@pytest.mark.parametrize(
    "valid",
    [
        Weights(),
        Weights(price=Decimal(1), quality=Decimal(0)),
        Weights(price=Decimal(0), quality=Decimal(1)),
        Weights(price=Decimal("0.55"), quality=Decimal("0.45")),
    ],
)
def test_valid_weights_are_returned(valid: Weights) -> None:
    assert check_weights(valid) == valid


@pytest.mark.parametrize(
    ("invalid", "message"),
    [
        (Weights(price=Decimal("-0.1"), quality=Decimal("1.1")), r"^weights\.price: "),
        (Weights(price=Decimal("1.1"), quality=Decimal("-0.1")), r"^weights\.quality: "),
        (Weights(price=Decimal("NaN"), quality=Decimal("0.3")), r"^weights\.price: "),
        (Weights(price=Decimal("0.7"), quality=Decimal("0.2")), r"^weights: .*add up to 1"),
        (Weights(price=Decimal("0.7"), quality=Decimal("0.4")), r"^weights: .*add up to 1"),
    ],
)
def test_invalid_weights_name_the_field(invalid: Weights, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_weights(invalid)


def oracle_price(tiers: Sequence[PriceTier], quantity: Decimal) -> Decimal:
    return [tier.unit_price for tier in tiers if tier.min_quantity <= quantity][-1]


@st.composite
def tiers(draw: st.DrawFn) -> tuple[PriceTier, ...]:
    minimums = draw(st.lists(st.integers(min_value=1, max_value=100_000), max_size=4, unique=True))
    steps = [0, *sorted(minimums)]
    prices = draw(
        st.lists(
            st.decimals(min_value=Decimal("0.0001"), max_value=100, places=4),
            min_size=len(steps),
            max_size=len(steps),
        )
    )
    return tuple(PriceTier(Decimal(m), p) for m, p in zip(steps, prices, strict=True))


QUALITY = st.decimals(min_value=0, max_value=100, places=2)


@st.composite
def bids(draw: st.DrawFn, quality: st.SearchStrategy[Decimal] = QUALITY) -> list[Bid]:
    count = draw(st.integers(min_value=1, max_value=6))
    return [
        Bid(
            bid_id=f"bid-{i}",
            supplier_id=f"supplier-{i}",
            quality_score=draw(quality),
            tiers=draw(tiers()),
            submitted_at=NINE_AM + timedelta(seconds=draw(st.integers(0, 3600))),
        )
        for i in range(count)
    ]


@st.composite
def weights(draw: st.DrawFn) -> Weights:
    price = draw(st.decimals(min_value=0, max_value=1, places=2))
    return Weights(price=price, quality=1 - price)


POOLED = st.integers(min_value=0, max_value=200_000).map(Decimal)


@settings(max_examples=200)
@given(bids(), POOLED, weights())
def test_ranks_are_a_permutation_best_first(
    offered: list[Bid], pooled: Decimal, chosen: Weights
) -> None:
    ranked = evaluate(offered, pooled, chosen)
    assert [s.rank for s in ranked] == list(range(1, len(offered) + 1))
    assert sorted(s.bid.bid_id for s in ranked) == sorted(b.bid_id for b in offered)
    assert all(earlier.score >= later.score for earlier, later in pairwise(ranked))
    assert ranked[0].score == max(s.score for s in ranked)


@settings(max_examples=200)
@given(bids(), POOLED, weights())
def test_scores_lie_between_0_and_100(offered: list[Bid], pooled: Decimal, chosen: Weights) -> None:
    for scored in evaluate(offered, pooled, chosen):
        assert scored.unit_price == oracle_price(scored.bid.tiers, pooled)
        assert 0 < scored.price_score <= 100
        assert 0 <= scored.score <= 100


@settings(max_examples=200)
@given(bids(quality=st.just(Decimal(50))), POOLED, weights())
def test_with_equal_quality_the_cheapest_at_pooled_volume_wins(
    offered: list[Bid], pooled: Decimal, chosen: Weights
) -> None:
    cheapest = min(oracle_price(b.tiers, pooled) for b in offered)
    assert evaluate(offered, pooled, chosen)[0].unit_price == cheapest

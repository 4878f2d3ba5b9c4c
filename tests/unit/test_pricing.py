"""Price tiers: validation with field paths, and the price offered at a quantity."""

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.tendering.domain.pricing import PriceTier, TierError, check_tiers, price_at


def tiers(*pairs: tuple[str, str]) -> list[PriceTier]:
    return [PriceTier(Decimal(minimum), Decimal(price)) for minimum, price in pairs]


# 0.30 GBP/kWh below 10,000 kWh, 0.25 from 10,000, 0.21 from 50,000.
ELECTRICITY = tiers(("0", "0.30"), ("10000", "0.25"), ("50000", "0.21"))


@pytest.mark.parametrize(
    ("quantity", "expected"),
    [
        ("0", "0.30"),
        ("9999.99", "0.30"),
        ("10000", "0.25"),
        ("49999", "0.25"),
        ("50000", "0.21"),
        ("1000000000", "0.21"),
    ],
)
def test_price_is_that_of_the_largest_minimum_reached(quantity: str, expected: str) -> None:
    assert price_at(ELECTRICITY, Decimal(quantity)) == Decimal(expected)


def test_price_below_every_minimum_is_an_error() -> None:
    with pytest.raises(ValueError, match="no price tier covers quantity -1"):
        price_at(ELECTRICITY, Decimal(-1))


def test_check_tiers_returns_a_tuple_of_the_same_tiers() -> None:
    assert check_tiers(ELECTRICITY) == (
        PriceTier(Decimal("0"), Decimal("0.30")),
        PriceTier(Decimal("10000"), Decimal("0.25")),
        PriceTier(Decimal("50000"), Decimal("0.21")),
    )


@pytest.mark.parametrize(
    "accepted",
    [
        tiers(("0", "1")),
        tiers(("0", "0.0001")),
        tiers(("0", "0.1234")),
        # Trailing zeros are not precision: 1.50000 is 1.5.
        tiers(("0", "1.50000")),
        # Prices need not descend: a supplier may price higher volumes higher.
        tiers(("0", "0.20"), ("0.5", "0.30")),
    ],
)
def test_valid_tiers_are_accepted(accepted: list[PriceTier]) -> None:
    assert check_tiers(accepted) == tuple(accepted)


@pytest.mark.parametrize(
    ("rejected", "field", "reason"),
    [
        ([], "price_tiers", "at least one tier is required"),
        (tiers(("5", "1")), "price_tiers[0].min_quantity", "the first tier must start at 0"),
        (tiers(("-1", "1"), ("0", "1")), "price_tiers[0].min_quantity", "must not be negative"),
        (
            tiers(("0", "1"), ("10", "0.9"), ("10", "0.8")),
            "price_tiers[2].min_quantity",
            "must be greater than the previous tier's minimum",
        ),
        (
            tiers(("0", "1"), ("10", "0.9"), ("5", "0.8")),
            "price_tiers[2].min_quantity",
            "must be greater than the previous tier's minimum",
        ),
        (
            tiers(("0", "1"), ("0", "0.9")),
            "price_tiers[1].min_quantity",
            "must be greater than the previous tier's minimum",
        ),
        (tiers(("0", "1"), ("NaN", "1")), "price_tiers[1].min_quantity", "must be a finite number"),
        (tiers(("0", "1"), ("10", "0")), "price_tiers[1].unit_price", "must be greater than 0"),
        (tiers(("0", "-0.01")), "price_tiers[0].unit_price", "must be greater than 0"),
        (tiers(("0", "Infinity")), "price_tiers[0].unit_price", "must be a finite number"),
        (
            tiers(("0", "1"), ("10", "0.12345")),
            "price_tiers[1].unit_price",
            "must have at most 4 decimal places",
        ),
    ],
)
def test_invalid_tiers_name_the_field(rejected: list[PriceTier], field: str, reason: str) -> None:
    with pytest.raises(TierError) as raised:
        check_tiers(rejected)
    assert raised.value.field == field
    assert raised.value.reason == reason
    assert str(raised.value) == f"{field}: {reason}"


def test_tier_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match=r"price_tiers\[0\]\.unit_price"):
        check_tiers(tiers(("0", "0")))


QUANTITIES = st.decimals(min_value=0, max_value=10_000_000, places=3)
PRICES = st.decimals(min_value=Decimal("0.0001"), max_value=1000, places=4)


@st.composite
def valid_tiers(draw: st.DrawFn) -> list[PriceTier]:
    minimums = draw(
        st.lists(
            st.decimals(min_value=Decimal("0.001"), max_value=10_000_000, places=3),
            max_size=6,
            unique=True,
        )
    )
    steps = [Decimal(0), *sorted(minimums)]
    offered = draw(st.lists(PRICES, min_size=len(steps), max_size=len(steps)))
    return [PriceTier(minimum, price) for minimum, price in zip(steps, offered, strict=True)]


@settings(max_examples=200)
@given(valid_tiers(), QUANTITIES)
def test_price_is_one_of_the_tiers_prices(offered: list[PriceTier], quantity: Decimal) -> None:
    check_tiers(offered)
    assert price_at(offered, quantity) in {tier.unit_price for tier in offered}


@settings(max_examples=200)
@given(valid_tiers(), QUANTITIES)
def test_price_is_that_of_the_largest_minimum_not_above_quantity(
    offered: list[PriceTier], quantity: Decimal
) -> None:
    # Oracle: walk the ascending tiers and keep the last one reached.
    expected = offered[0].unit_price
    for tier in offered:
        if tier.min_quantity <= quantity:
            expected = tier.unit_price
    assert price_at(offered, quantity) == expected


@settings(max_examples=200)
@given(valid_tiers(), QUANTITIES, QUANTITIES)
def test_price_never_rises_with_volume_when_tier_prices_descend(
    offered: list[PriceTier], first: Decimal, second: Decimal
) -> None:
    descending = sorted((tier.unit_price for tier in offered), reverse=True)
    tiered = [
        PriceTier(tier.min_quantity, price) for tier, price in zip(offered, descending, strict=True)
    ]
    smaller, larger = sorted((first, second))
    assert price_at(tiered, smaller) >= price_at(tiered, larger)

"""A bid's volume price tiers: their validation and the unit price they offer at a quantity."""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from shared.domain.ranges import PRICE_MAX, PRICE_PLACES, TIER_QUANTITY_MAX, TIER_QUANTITY_PLACES


@dataclass(frozen=True)
class PriceTier:
    min_quantity: Decimal
    unit_price: Decimal


class TierError(ValueError):
    """A tier rule is broken; `field` is the offending path, for the problem details response."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def check_tiers(tiers: Sequence[PriceTier]) -> tuple[PriceTier, ...]:
    """Return the tiers as a tuple, or raise TierError naming the first offending field."""
    if not tiers:
        raise TierError("price_tiers", "at least one tier is required")
    for i, tier in enumerate(tiers):
        minimum = f"price_tiers[{i}].min_quantity"
        price = f"price_tiers[{i}].unit_price"
        if not tier.min_quantity.is_finite():
            raise TierError(minimum, "must be a finite number")
        if tier.min_quantity < 0:
            raise TierError(minimum, "must not be negative")
        if tier.min_quantity > TIER_QUANTITY_MAX:
            raise TierError(minimum, f"must be at most {TIER_QUANTITY_MAX:,}")
        if _has_more_places(tier.min_quantity, TIER_QUANTITY_PLACES):
            raise TierError(minimum, f"must have at most {TIER_QUANTITY_PLACES} decimal places")
        # A tier from zero gives every quantity a price.
        if i == 0 and tier.min_quantity != 0:
            raise TierError(minimum, "the first tier must start at 0")
        if i > 0 and tier.min_quantity <= tiers[i - 1].min_quantity:
            raise TierError(minimum, "must be greater than the previous tier's minimum")
        if not tier.unit_price.is_finite():
            raise TierError(price, "must be a finite number")
        if tier.unit_price <= 0:
            raise TierError(price, "must be greater than 0")
        if tier.unit_price > PRICE_MAX:
            raise TierError(price, f"must be at most {PRICE_MAX:,}")
        if _has_more_places(tier.unit_price, PRICE_PLACES):
            raise TierError(price, f"must have at most {PRICE_PLACES} decimal places")
    return tuple(tiers)


def _has_more_places(value: Decimal, places: int) -> bool:
    # By value, so trailing zeros (1.50000) do not count; scaleb shifts the exponent exactly.
    scaled = value.scaleb(places)
    return scaled != scaled.to_integral_value()


def tier_at(tiers: Sequence[PriceTier], quantity: Decimal) -> PriceTier:
    """The tier with the largest minimum not above quantity: the one that prices it."""
    reached = [tier for tier in tiers if tier.min_quantity <= quantity]
    if not reached:
        raise ValueError(f"no price tier covers quantity {quantity}")
    return max(reached, key=lambda tier: tier.min_quantity)


def price_at(tiers: Sequence[PriceTier], quantity: Decimal) -> Decimal:
    """The unit price of the tier that prices quantity."""
    return tier_at(tiers, quantity).unit_price

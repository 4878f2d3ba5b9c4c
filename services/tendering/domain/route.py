"""The procurement route a tender must follow, from its estimated value and opening date."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, localcontext
from enum import StrEnum

from shared.domain.money import to_pence
from shared.domain.ranges import WIDE


class Route(StrEnum):
    QUOTES = "quotes"
    BELOW_THRESHOLD = "below_threshold"
    REGULATED = "regulated"


QUOTES_LIMIT = Decimal("30000")

# Procurement Act 2023 thresholds, VAT-inclusive, by the first day they are in force, oldest
# first: (in force from, sub-central, light-touch).
THRESHOLDS: tuple[tuple[date, Decimal, Decimal], ...] = (
    (date.min, Decimal("214904"), Decimal("663540")),
    (date(2026, 1, 1), Decimal("207720"), Decimal("663540")),
)


@dataclass(frozen=True)
class RouteDecision:
    route: Route
    value_ex_vat: Decimal
    vat: Decimal
    value_inc_vat: Decimal
    threshold: Decimal
    threshold_name: str
    reason: str


def estimated_value(
    lines: Sequence[tuple[Decimal, Decimal]], term_months: int, vat_rate: Decimal
) -> tuple[Decimal, Decimal, Decimal]:
    """(ex VAT, VAT, inc VAT) over the term for (annual quantity, baseline unit price) lines."""
    if term_months < 1:
        raise ValueError("term_months: must be at least 1")
    # Exact: a pool's sum of products can have more digits than the default context's 28.
    with localcontext(WIDE):
        ex_vat = sum((q * price for q, price in lines), Decimal(0)) * term_months / 12
        vat = ex_vat * vat_rate
        inc_vat = ex_vat * (1 + vat_rate)
    # Each figure is rounded once from the exact value, so inc VAT may differ from the
    # sum of the rounded parts by a penny.
    return to_pence(ex_vat), to_pence(vat), to_pence(inc_vat)


def threshold_for(opened_on: date, light_touch: bool) -> tuple[Decimal, str]:
    """The threshold in force on the opening date, and its name."""
    _, sub_central, light_touch_threshold = max(
        (row for row in THRESHOLDS if row[0] <= opened_on), key=lambda row: row[0]
    )
    if light_touch:
        return light_touch_threshold, "light-touch"
    return sub_central, "sub-central"


def decide_route(
    lines: Sequence[tuple[Decimal, Decimal]],
    term_months: int,
    vat_rate: Decimal,
    light_touch: bool,
    opened_on: date,
) -> RouteDecision:
    """Quotes below 30,000 GBP, below-threshold competition below the threshold, else regulated."""
    ex_vat, vat, inc_vat = estimated_value(lines, term_months, vat_rate)
    threshold, threshold_name = threshold_for(opened_on, light_touch)
    value = f"Estimated value {inc_vat:,.2f} GBP inc. VAT"
    in_force = f"the {threshold_name} threshold of {threshold:,.2f} GBP in force on {opened_on}"
    if inc_vat < QUOTES_LIMIT:
        route = Route.QUOTES
        reason = f"{value} is below the quotes limit of {QUOTES_LIMIT:,.2f} GBP: quotes."
    elif inc_vat < threshold:
        route = Route.BELOW_THRESHOLD
        reason = (
            f"{value} is below {in_force}: below-threshold competition under the trust's own rules."
        )
    else:
        route = Route.REGULATED
        reason = (
            f"{value} is at or above {in_force}: regulated procurement under the Procurement"
            " Act 2023."
        )
    return RouteDecision(
        route=route,
        value_ex_vat=ex_vat,
        vat=vat,
        value_inc_vat=inc_vat,
        threshold=threshold,
        threshold_name=threshold_name,
        reason=reason,
    )

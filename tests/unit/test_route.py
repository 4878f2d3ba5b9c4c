"""Procurement route: estimated value over the term with VAT, and the thresholds by date."""

from datetime import date
from decimal import Decimal

import pytest

from services.tendering.domain.route import (
    Route,
    RouteDecision,
    decide_route,
    estimated_value,
    threshold_for,
)

LAST_DAY_OF_2025 = date(2025, 12, 31)
FIRST_DAY_OF_2026 = date(2026, 1, 1)
MARCH_2026 = date(2026, 3, 1)


def lines(*pairs: tuple[str, str]) -> list[tuple[Decimal, Decimal]]:
    return [(Decimal(quantity), Decimal(price)) for quantity, price in pairs]


def test_estimated_value_over_the_term_with_vat() -> None:
    # 10,000 x 0.25 + 5,000 x 0.30 = 2,500 + 1,500 = 4,000 a year; x 24 / 12 = 8,000.
    # VAT 20%: 1,600; inc VAT 9,600.
    assert estimated_value(lines(("10000", "0.25"), ("5000", "0.30")), 24, Decimal("0.20")) == (
        Decimal("8000.00"),
        Decimal("1600.00"),
        Decimal("9600.00"),
    )


def test_estimated_value_for_a_term_that_is_not_whole_years() -> None:
    # 100 x 1 = 100 a year; x 7 / 12 = 58.3333... -> 58.33; VAT 11.6666... -> 11.67;
    # inc VAT 58.3333... x 1.2 = 70 exactly.
    assert estimated_value(lines(("100", "1")), 7, Decimal("0.20")) == (
        Decimal("58.33"),
        Decimal("11.67"),
        Decimal("70.00"),
    )


def test_inc_vat_is_rounded_once_from_the_unrounded_ex_vat_value() -> None:
    # 1 x 0.0125 x 12 / 12 = 0.0125 -> 0.01; VAT 0.0025 -> 0.00; inc VAT 0.015 -> 0.02 (half up).
    # Rounding ex VAT first would give 0.01 x 1.2 = 0.012 -> 0.01.
    assert estimated_value(lines(("1", "0.0125")), 12, Decimal("0.20")) == (
        Decimal("0.01"),
        Decimal("0.00"),
        Decimal("0.02"),
    )


def test_no_lines_are_worth_nothing() -> None:
    assert estimated_value([], 12, Decimal("0.20")) == (
        Decimal("0.00"),
        Decimal("0.00"),
        Decimal("0.00"),
    )


@pytest.mark.parametrize("term_months", [0, -12])
def test_term_must_be_at_least_a_month(term_months: int) -> None:
    with pytest.raises(ValueError, match="term_months"):
        estimated_value(lines(("1", "1")), term_months, Decimal("0.20"))


@pytest.mark.parametrize(
    ("opened_on", "light_touch", "expected"),
    [
        (date(2024, 6, 1), False, (Decimal("214904"), "sub-central")),
        (LAST_DAY_OF_2025, False, (Decimal("214904"), "sub-central")),
        (FIRST_DAY_OF_2026, False, (Decimal("207720"), "sub-central")),
        (date(2030, 1, 1), False, (Decimal("207720"), "sub-central")),
        (LAST_DAY_OF_2025, True, (Decimal("663540"), "light-touch")),
        (FIRST_DAY_OF_2026, True, (Decimal("663540"), "light-touch")),
    ],
)
def test_threshold_in_force_on_the_opening_date(
    opened_on: date, light_touch: bool, expected: tuple[Decimal, str]
) -> None:
    assert threshold_for(opened_on, light_touch) == expected


def route_of(inc_vat: str, opened_on: date, light_touch: bool = False) -> Route:
    # One line of one unit for a year at 0% VAT: the estimated value is the price itself.
    return decide_route(lines(("1", inc_vat)), 12, Decimal(0), light_touch, opened_on).route


@pytest.mark.parametrize(
    ("inc_vat", "opened_on", "light_touch", "expected"),
    [
        ("29999.99", MARCH_2026, False, Route.QUOTES),
        ("30000.00", MARCH_2026, False, Route.BELOW_THRESHOLD),
        ("29999.99", MARCH_2026, True, Route.QUOTES),
        ("207719.99", FIRST_DAY_OF_2026, False, Route.BELOW_THRESHOLD),
        ("207720.00", FIRST_DAY_OF_2026, False, Route.REGULATED),
        ("214903.99", LAST_DAY_OF_2025, False, Route.BELOW_THRESHOLD),
        ("214904.00", LAST_DAY_OF_2025, False, Route.REGULATED),
        # The same value either side of the change of threshold on 1 January 2026.
        ("210000.00", LAST_DAY_OF_2025, False, Route.BELOW_THRESHOLD),
        ("210000.00", FIRST_DAY_OF_2026, False, Route.REGULATED),
        ("663539.99", MARCH_2026, True, Route.BELOW_THRESHOLD),
        ("663540.00", MARCH_2026, True, Route.REGULATED),
        ("663539.99", LAST_DAY_OF_2025, True, Route.BELOW_THRESHOLD),
        ("663540.00", LAST_DAY_OF_2025, True, Route.REGULATED),
        # Light-touch services sit under their own, higher threshold.
        ("250000.00", MARCH_2026, True, Route.BELOW_THRESHOLD),
    ],
)
def test_route_either_side_of_each_threshold(
    inc_vat: str, opened_on: date, light_touch: bool, expected: Route
) -> None:
    assert route_of(inc_vat, opened_on, light_touch) == expected


@pytest.mark.parametrize(
    ("ex_vat", "expected"),
    [
        # 24,999.99 x 1.2 = 29,999.988 -> 29,999.99: quotes.
        ("24999.99", Route.QUOTES),
        # 25,000 x 1.2 = 30,000: below-threshold competition.
        ("25000.00", Route.BELOW_THRESHOLD),
        # 180,000 x 1.2 = 216,000 >= 214,904 although 180,000 ex VAT is below it.
        ("180000.00", Route.REGULATED),
    ],
)
def test_thresholds_are_tested_with_vat(ex_vat: str, expected: Route) -> None:
    decision = decide_route(lines(("1", ex_vat)), 12, Decimal("0.20"), False, LAST_DAY_OF_2025)
    assert decision.route == expected


@pytest.mark.parametrize(
    ("term_months", "expected"),
    [
        # 12,000 a year x 24 / 12 = 24,000: quotes.
        (24, Route.QUOTES),
        # 12,000 a year x 36 / 12 = 36,000: the whole term counts, so no longer quotes.
        (36, Route.BELOW_THRESHOLD),
    ],
)
def test_the_whole_term_counts(term_months: int, expected: Route) -> None:
    decision = decide_route(lines(("1000", "12")), term_months, Decimal(0), False, MARCH_2026)
    assert decision.route == expected


@pytest.mark.parametrize(
    ("given", "expected", "reason"),
    [
        # Water at 0% VAT: (50,000 + 30,000) m3 x 2.50 = 200,000 a year; x 15 / 12 = 250,000.
        (
            ([("50000", "2.50"), ("30000", "2.50")], 15, "0", False),
            (Route.REGULATED, "250000.00", "0.00", "250000.00", "207720", "sub-central"),
            "Estimated value 250,000.00 GBP inc. VAT is at or above the sub-central threshold of"
            " 207,720.00 GBP in force on 2026-03-01: regulated procurement under the Procurement"
            " Act 2023.",
        ),
        # Catering: 150,000 meals x 2.50 = 375,000 a year; VAT 75,000; inc VAT 450,000.
        (
            ([("150000", "2.50")], 12, "0.20", True),
            (Route.BELOW_THRESHOLD, "375000.00", "75000.00", "450000.00", "663540", "light-touch"),
            "Estimated value 450,000.00 GBP inc. VAT is below the light-touch threshold of"
            " 663,540.00 GBP in force on 2026-03-01: below-threshold competition under the"
            " trust's own rules.",
        ),
    ],
    ids=["regulated", "below-threshold"],
)
def test_a_threshold_decision_explains_itself(
    given: tuple[list[tuple[str, str]], int, str, bool],
    expected: tuple[Route, str, str, str, str, str],
    reason: str,
) -> None:
    """The decision carries the estimate, the threshold in force and a sentence saying why."""
    pairs, term_months, vat_rate, light_touch = given
    decision = decide_route(lines(*pairs), term_months, Decimal(vat_rate), light_touch, MARCH_2026)
    route, ex_vat, vat, inc_vat, threshold, threshold_name = expected
    assert decision == RouteDecision(
        route=route,
        value_ex_vat=Decimal(ex_vat),
        vat=Decimal(vat),
        value_inc_vat=Decimal(inc_vat),
        threshold=Decimal(threshold),
        threshold_name=threshold_name,
        reason=reason,
    )


def test_quotes_decision_explains_itself() -> None:
    # 1,000 x 10 = 10,000 a year; VAT 2,000; inc VAT 12,000.
    decision = decide_route(lines(("1000", "10")), 12, Decimal("0.20"), False, MARCH_2026)
    assert decision.route == Route.QUOTES
    assert decision.reason == (
        "Estimated value 12,000.00 GBP inc. VAT is below the quotes limit of 30,000.00 GBP: quotes."
    )
    # The threshold in force is still reported, for the record.
    assert (decision.threshold, decision.threshold_name) == (Decimal("207720"), "sub-central")


def test_routes_serialise_as_their_contract_names() -> None:
    assert [str(route) for route in Route] == ["quotes", "below_threshold", "regulated"]

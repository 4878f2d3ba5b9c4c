"""Figures as people read them: pounds and pence, percentages, and cost increases named."""

from datetime import UTC, datetime
from decimal import Decimal

from services.savings.presentation import (
    category_name,
    compact_pounds,
    compact_quantity,
    count,
    headlines,
    local_time,
    money,
    percent,
    quantity,
    saving_note,
    unit_price,
)
from services.savings.reports import TrustSavings


def summary(**figures: str | None) -> TrustSavings:
    values = {
        "annual_baseline_cost": "3800.00",
        "annual_contract_cost": "3320.00",
        "annual_saving": "480.00",
        "term_saving": "1080.00",
        "saving_pct": "12.63",
        "economy_of_scale": "380.00",
    } | figures
    return TrustSavings.model_validate(
        {"trust_id": "1", "trust_name": None, "schools": [], "categories": [], **values}
    )


def test_money_in_pounds_and_pence_with_a_real_minus_sign() -> None:
    assert money(Decimal("1234567.5")) == "£1,234,567.50"
    assert money(Decimal("0.00")) == "£0.00"
    assert money(Decimal("-200.00")) == "\u2212£200.00"


def test_percent_and_no_percentage_without_a_baseline() -> None:
    assert percent(Decimal("12.63")) == "12.63%"
    assert percent(Decimal("-2.17")) == "\u22122.17%"
    assert percent(None) == "n/a"


def test_quantities_and_unit_prices() -> None:
    # PostgreSQL can return 120000 as 1.2E+5.
    assert quantity(Decimal("1.2E+5"), "kWh") == "120,000 kWh"
    assert quantity(Decimal("12.50")) == "12.5"
    assert unit_price(Decimal("0.2350"), "kWh") == "£0.2350/kWh"


def test_compact_axis_labels() -> None:
    assert compact_pounds(Decimal(2500)) == "£2.5k"
    assert compact_pounds(Decimal(-1000)) == "\u2212£1k"
    assert compact_quantity(Decimal(1500000)) == "1.5m"
    assert compact_quantity(Decimal(250)) == "250"


def test_categories_by_their_names_and_a_trusts_own_by_its_code() -> None:
    assert category_name("gas") == "Natural gas"
    assert category_name("minibus_hire") == "Minibus hire"


def test_headlines_of_a_saving() -> None:
    assert [(h.key, h.label, h.value) for h in headlines(summary())] == [
        ("annual-saving", "Saving per year", "£480.00"),
        ("term-saving", "Saving over the contracts' terms", "£1,080.00"),
        ("saving-pct", "Saving on today's costs", "12.63%"),
        ("pooling-saving", "Pooling alone contributed, per year", "£380.00"),
    ]


def test_headlines_of_a_cost_increase_say_so() -> None:
    dearer = summary(annual_saving="-120.00", term_saving="-240.00", saving_pct="-3.16")
    assert [(h.label, h.value) for h in headlines(dearer)[:3]] == [
        ("Cost increase per year", "£120.00"),
        ("Cost increase over the contracts' terms", "£240.00"),
        ("Increase on today's costs", "3.16%"),
    ]
    assert saving_note(Decimal("-0.01")) == "cost increase"
    assert saving_note(Decimal("0.00")) == ""


def test_times_read_as_uk_clocks_do() -> None:
    assert local_time(datetime(2027, 1, 15, 14, 5, tzinfo=UTC)) == "15 January 2027 at 2:05pm (GMT)"
    # Summer: British Summer Time, an hour ahead of UTC.
    assert local_time(datetime(2027, 7, 1, 11, 0, tzinfo=UTC)) == "1 July 2027 at midday (BST)"
    assert local_time(datetime(2027, 7, 1, 23, 0, tzinfo=UTC)) == "2 July 2027 at midnight (BST)"
    assert local_time(datetime(2027, 3, 28, 0, 30, tzinfo=UTC)) == "28 March 2027 at 12:30am (GMT)"


def test_counts_take_the_plural_they_need() -> None:
    assert [count(n, "school") for n in (0, 1, 2)] == ["0 schools", "1 school", "2 schools"]
    assert count(1_200, "line") == "1,200 lines"
    assert count(2, "entry", "entries") == "2 entries"

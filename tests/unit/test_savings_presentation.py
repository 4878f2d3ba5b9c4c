"""Figures as people read them: pounds and pence, percentages, and cost increases named."""

from datetime import UTC, date, datetime
from decimal import Decimal

from services.savings.presentation import (
    compact_pounds,
    compact_quantity,
    count,
    headlines,
    percent,
    period,
    price_paid,
    realised_headlines,
    saving_note,
    unit_price,
)
from services.savings.realised import RealisedFigures
from services.savings.reports import TrustSavings
from shared.presentation import category_name, local_time, money, quantity


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


def test_an_invoices_period_as_govuk_writes_a_date_range() -> None:
    assert period(date(2027, 4, 1), date(2027, 4, 30)) == "1 to 30 April 2027"
    assert period(date(2027, 4, 1), date(2027, 6, 30)) == "1 April to 30 June 2027"
    assert period(date(2027, 12, 1), date(2028, 2, 29)) == "1 December 2027 to 29 February 2028"
    assert period(date(2027, 4, 1), date(2027, 4, 1)) == "1 April 2027"


def test_a_price_paid_keeps_its_digits_and_at_least_pence() -> None:
    assert price_paid(Decimal("0.287500"), "kWh") == "£0.2875/kWh"
    assert price_paid(Decimal("2.300000"), "m3") == "£2.30/m3"
    assert price_paid(Decimal("1250.000000"), "unit") == "£1,250.00/unit"


def realised(**figures: str) -> RealisedFigures:
    values = {
        "realised_saving": "130.00",
        "expected_saving": "180.00",
        "price_variance": "50.00",
        "off_contract_spend": "150.00",
        "leakage": "25.00",
    } | figures
    return RealisedFigures(**{k: Decimal(v) for k, v in values.items()})


def test_realised_headlines_name_increases_and_what_is_billed_above() -> None:
    shown = realised_headlines(realised(), Decimal("1050.00"))
    assert [(h.key, h.label, h.value, h.kind) for h in shown] == [
        ("realised-saving", "Realised saving", "£130.00", "saving"),
        ("expected-saving", "Promised on the volume bought", "£180.00", "pooling"),
        ("price-variance", "Billed above the contracts' prices", "£50.00", "increase"),
        ("off-contract-spend", "Bought off contract", "£150.00", "increase"),
    ]
    assert "less the £1,050.00 invoiced" in shown[0].note
    # A realised cost increase; billed below the prices; cheaper found elsewhere.
    worse = realised_headlines(
        realised(realised_saving="-20.00", price_variance="-5.00", leakage="-3.00"), Decimal(0)
    )
    assert (worse[0].label, worse[0].value, worse[0].kind) == (
        "Realised cost increase",
        "£20.00",
        "increase",
    )
    assert (worse[2].label, worse[2].value, worse[2].kind) == (
        "Billed below the contracts' prices",
        "£5.00",
        "saving",
    )
    assert worse[3].note.startswith("£3.00 less than the contracts' prices")

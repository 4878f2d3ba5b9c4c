"""What a manager types into the tender forms, read as tendering wants it
(services/web/domain/tender_forms.py): UK dates and times, months, weights and scores."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from services.web.domain import tender_forms


def test_a_uk_closing_time_is_read_in_utc_summer_and_winter() -> None:
    assert tender_forms.closing_time("1", "7", "2027", "17:00") == datetime(
        2027, 7, 1, 16, tzinfo=UTC
    )
    assert tender_forms.closing_time(" 15", "01", "2027", "09:30:15") == datetime(
        2027, 1, 15, 9, 30, 15, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("day", "month", "year", "clock", "message"),
    [
        ("", "", "", "17:00", "Enter the date bids close"),
        ("31", "2", "2027", "17:00", "must be a real date"),
        ("x", "2", "2027", "17:00", "must be a real date"),
        ("1", "2", "2027", "", "Enter the time bids close"),
        ("1", "2", "2027", "25:00", "24-hour clock"),
        ("1", "2", "2027", "5pm", "24-hour clock"),
    ],
)
def test_a_wrong_closing_date_or_time_says_what_is_wrong(
    day: str, month: str, year: str, clock: str, message: str
) -> None:
    read = tender_forms.closing_time(day, month, year, clock)
    assert isinstance(read, str) and message in read


def test_weights_are_percentages_that_add_up_to_100() -> None:
    assert tender_forms.weights("70", "30") == (Decimal("0.7"), Decimal("0.3"))
    assert tender_forms.weights("100", "0") == (Decimal(1), Decimal(0))
    assert tender_forms.weights("70", "20") == ("Price and quality weights must add up to 100", "")
    assert tender_forms.weights("NaN", "120") == (
        "Price weight must be a percentage from 0 to 100",
        "Quality weight must be a percentage from 0 to 100",
    )


def test_months_and_quality_scores() -> None:
    assert tender_forms.months(" 24 ") == 24
    assert tender_forms.months("two") == "Contract term must be a whole number of months, like 24"
    assert tender_forms.quality_score("72.5", "Volt Ltd") == Decimal("72.5")
    assert tender_forms.quality_score("", "Volt Ltd") == "Enter a quality score for Volt Ltd"
    assert tender_forms.quality_score("101", "Volt Ltd") == (
        "Quality score for Volt Ltd must be a number from 0 to 100"
    )
    assert tender_forms.quality_score("1e400", "Volt Ltd") == (
        "Quality score for Volt Ltd must be a number from 0 to 100"
    )

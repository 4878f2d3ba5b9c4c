"""What a manager types into the tender forms, read as tendering wants it
(services/web/domain/tender_forms.py): UK dates and times, months, weights and scores; and the
requests the forms become (services/web/tenders.py); who the tender's history names."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from services.web.domain import tender_forms
from services.web.tender_pages import Opening, person_of
from services.web.tenders import opening_request, score_request


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


POOL = {"pool_id": "4001-electricity-20270331", "category": "electricity"}


def test_the_open_tender_form_becomes_tendering_s_request() -> None:
    typed = Opening(
        procedure="competitive_flexible",
        day="1",
        month="7",
        year="2027",
        time="17:00",
        term_months="24",
        lots_by="phase",
        price="60",
        quality="40",
        planned="yes",
        urgency=" Boiler failed ",
    )
    body, errors = opening_request("4001", POOL, typed)
    assert errors == []
    assert body == {
        "trust_id": "4001",
        "category": "electricity",
        "pool_id": "4001-electricity-20270331",
        "closes_at": "2027-07-01T16:00:00+00:00",
        "term_months": 24,
        "procedure": "competitive_flexible",
        "weights": {"price": "0.6", "quality": "0.4"},
        "lots_by": "phase",
        "planned_procurement_notice": True,
        "urgency_reason": "Boiler failed",
    }
    _, errors = opening_request(
        "4001", POOL, Opening(procedure="x", lots_by="y", urgency="u" * 501)
    )
    assert [e.field for e in errors] == [
        "procedure",
        "closes-day",
        "urgency_reason",
        "term_months",
        "lots_by",
    ]


def test_the_scores_form_becomes_tendering_s_evaluation() -> None:
    bids = [
        {"bid_id": "b1", "supplier_id": "volt", "supplier_name": "Volt Ltd"},
        {"bid_id": "b2", "supplier_id": "watt", "supplier_name": None},
    ]
    body, errors = score_request(bids, {"b1": "80", "b2": "60.5"}, {"b1": " Strong references "})
    assert errors == []
    assert body == {
        "scores": [
            {"bid_id": "b1", "quality_score": "80", "comment": "Strong references"},
            {"bid_id": "b2", "quality_score": "60.5"},
        ]
    }
    _, errors = score_request(bids, {"b1": "", "b2": "7"}, {"b2": "x" * 2001})
    assert [(e.field, e.message) for e in errors] == [
        ("score-b1", "Enter a quality score for Volt Ltd"),
        ("comment-b2", "Why watt scored this must be 2,000 characters or fewer"),
    ]


def test_the_history_names_a_person_by_account_and_the_service_in_words() -> None:
    names = {"lee.hughes@birch-trust.example": "Lee Hughes"}
    assert person_of("Lee.Hughes@birch-trust.example", names) == (
        "Lee Hughes (Lee.Hughes@birch-trust.example)"
    )
    assert person_of("deadline", names) == "the deadline policy (automatic)"
    # No account of that address (a machine's token, or an account since removed): as recorded.
    assert person_of("supplier:alpha-energy", names) == "supplier:alpha-energy"

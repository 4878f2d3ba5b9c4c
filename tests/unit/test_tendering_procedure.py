"""Minimum tendering periods (services/tendering/domain/procedure.py; Procurement Act 2023,
s.54), worked by hand: a pure function of route, procedure, flags, opening and closing time."""

from datetime import UTC, datetime, timedelta

import pytest

from services.tendering.domain.errors import InvalidProcedure, TenderPeriodTooShort
from services.tendering.domain.procedure import (
    PeriodTerms,
    Procedure,
    ProcedureChoice,
    check_choice,
    check_tender_period,
    earliest_close,
)
from services.tendering.domain.route import Route

OPENED = datetime(2027, 1, 4, 9, tzinfo=UTC)
OPEN = ProcedureChoice()
FLEXIBLE = ProcedureChoice(Procedure.COMPETITIVE_FLEXIBLE)
NOTICE = ProcedureChoice(planned_procurement_notice=True)
URGENT = ProcedureChoice(Procedure.COMPETITIVE_FLEXIBLE, urgency_reason="boiler failed")
CALL_OFF = ProcedureChoice(Procedure.FRAMEWORK_CALL_OFF, framework="ESPO 191 Energy")


@pytest.mark.parametrize("choice", [OPEN, FLEXIBLE])
def test_open_and_competitive_flexible_take_25_days(choice: ProcedureChoice) -> None:
    check_tender_period(
        PeriodTerms(Route.REGULATED, False, choice), OPENED, OPENED + timedelta(days=25)
    )
    short = OPENED + timedelta(days=24, hours=23)
    with pytest.raises(TenderPeriodTooShort) as refused:
        check_tender_period(PeriodTerms(Route.REGULATED, False, choice), OPENED, short)
    assert refused.value.errors == [
        ("closes_at", "at least 25 days after opening (Procurement Act 2023, s.54)")
    ]
    assert refused.value.extra == {
        "minimum_days": 25,
        "legal_basis": "Procurement Act 2023, s.54",
        "earliest_closes_at": "2027-01-29T09:00:00+00:00",
    }


@pytest.mark.parametrize("choice", [NOTICE, URGENT])
def test_a_planned_procurement_notice_or_urgency_takes_10_days(choice: ProcedureChoice) -> None:
    check_tender_period(
        PeriodTerms(Route.REGULATED, False, choice), OPENED, OPENED + timedelta(days=10)
    )
    with pytest.raises(TenderPeriodTooShort, match="at least 10 days"):
        short = OPENED + timedelta(days=10) - timedelta(seconds=1)
        check_tender_period(PeriodTerms(Route.REGULATED, False, choice), OPENED, short)


def test_call_offs_light_touch_and_below_threshold_have_no_statutory_minimum() -> None:
    minute = OPENED + timedelta(minutes=1)
    check_tender_period(PeriodTerms(Route.REGULATED, False, CALL_OFF), OPENED, minute)
    check_tender_period(PeriodTerms(Route.REGULATED, True, OPEN), OPENED, minute)  # light touch
    check_tender_period(PeriodTerms(Route.BELOW_THRESHOLD, False, OPEN), OPENED, minute)
    check_tender_period(PeriodTerms(Route.QUOTES, False, OPEN), OPENED, minute)


def test_below_threshold_the_trusts_own_rule_applies() -> None:
    check_tender_period(
        PeriodTerms(Route.BELOW_THRESHOLD, False, OPEN, 7), OPENED, OPENED + timedelta(days=7)
    )
    with pytest.raises(TenderPeriodTooShort, match="the trust's own rule"):
        check_tender_period(
            PeriodTerms(Route.QUOTES, False, OPEN, 7), OPENED, OPENED + timedelta(days=6)
        )


def test_the_earliest_close_is_the_opening_plus_the_minimum() -> None:
    assert earliest_close(PeriodTerms(Route.REGULATED, False, OPEN), OPENED) == datetime(
        2027, 1, 29, 9, tzinfo=UTC
    )
    assert earliest_close(PeriodTerms(Route.REGULATED, False, NOTICE), OPENED) == datetime(
        2027, 1, 14, 9, tzinfo=UTC
    )
    assert earliest_close(PeriodTerms(Route.REGULATED, False, CALL_OFF), OPENED) == OPENED


def test_a_call_off_names_its_framework_and_nothing_else_does() -> None:
    check_choice(CALL_OFF)
    with pytest.raises(InvalidProcedure) as missing:
        check_choice(ProcedureChoice(Procedure.FRAMEWORK_CALL_OFF))
    assert missing.value.errors == [("framework", "required for a framework_call_off")]
    with pytest.raises(InvalidProcedure):
        check_choice(ProcedureChoice(Procedure.OPEN, framework="ESPO 191 Energy"))

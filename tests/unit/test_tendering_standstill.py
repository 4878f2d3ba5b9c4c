"""Working days and the standstill period: 8 working days beginning with the award day,
weekends and England and Wales bank holidays (from the data file) excluded."""

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.tendering.domain.standstill import (
    WorkingCalendar,
    last_day_of_period,
    parse_bank_holidays,
    standstill_end,
)
from services.tendering.holidays import DEFAULT_FILE

CALENDAR = parse_bank_holidays(DEFAULT_FILE.read_text(encoding="utf-8"))


def test_the_data_file_covers_2025_to_2028_with_eight_weekday_holidays_a_year() -> None:
    assert (CALENDAR.first_day, CALENDAR.last_day) == (date(2025, 1, 1), date(2028, 12, 31))
    for year in range(2025, 2029):
        days = [d for d in CALENDAR.holidays if d.year == year]
        assert len(days) == 8, year
        # Substitute days move holidays off weekends.
        assert all(d.weekday() < 5 for d in days), year


@pytest.mark.parametrize(
    "holiday",
    [
        # Easter: 20 Apr 2025, 5 Apr 2026, 28 Mar 2027, 16 Apr 2028 (Good Friday, Easter Monday).
        date(2025, 4, 18),
        date(2025, 4, 21),
        date(2026, 4, 3),
        date(2026, 4, 6),
        date(2027, 3, 26),
        date(2027, 3, 29),
        date(2028, 4, 14),
        date(2028, 4, 17),
        # Substitute days: 26 Dec 2026 is a Saturday; 25-26 Dec 2027 a weekend; 1 Jan 2028 a
        # Saturday.
        date(2026, 12, 28),
        date(2027, 12, 27),
        date(2027, 12, 28),
        date(2028, 1, 3),
        # Last Mondays of May and August 2026.
        date(2026, 5, 25),
        date(2026, 8, 31),
    ],
)
def test_known_bank_holidays_are_not_working_days(holiday: date) -> None:
    assert holiday in CALENDAR.holidays
    assert not CALENDAR.is_working_day(holiday)


@pytest.mark.parametrize(
    ("awarded_on", "expected"),
    [
        # Monday 2 Mar 2026 counts: 2, 3, 4, 5, 6, 9, 10, 11 -> Wednesday 11 Mar.
        (date(2026, 3, 2), date(2026, 3, 11)),
        # Friday 6 Mar: 6, 9, 10, 11, 12, 13, 16, 17 -> Tuesday 17 Mar.
        (date(2026, 3, 6), date(2026, 3, 17)),
        # Saturday 7 Mar does not count; Monday 9 is the first: 9 ... 13, 16, 17, 18.
        (date(2026, 3, 7), date(2026, 3, 18)),
        # Easter 2026: 1, 2 Apr; Good Friday 3 and Easter Monday 6 skipped; 7, 8, 9, 10, 13, 14.
        (date(2026, 4, 1), date(2026, 4, 14)),
        # Christmas 2026: 23, 24 Dec; 25 (Fri) and 28 (substitute Boxing Day) skipped; 29, 30,
        # 31; 1 Jan 2027 skipped; 4, 5, 6 Jan.
        (date(2026, 12, 23), date(2027, 1, 6)),
        # Awarded on a bank holiday (Spring, Mon 25 May 2026): 26, 27, 28, 29 May, 1 ... 4 Jun.
        (date(2026, 5, 25), date(2026, 6, 4)),
        # Christmas 2027: Thu 23, Fri 24; 27, 28 (substitutes) skipped; 29, 30, 31 Dec;
        # 3 Jan 2028 (substitute) skipped; 4, 5, 6 Jan.
        (date(2027, 12, 23), date(2028, 1, 6)),
    ],
)
def test_standstill_ends_on_the_eighth_working_day(awarded_on: date, expected: date) -> None:
    assert standstill_end(awarded_on, CALENDAR) == expected


def test_a_one_day_period_beginning_on_a_working_day_is_that_day() -> None:
    assert last_day_of_period(date(2026, 3, 2), 1, CALENDAR) == date(2026, 3, 2)


def test_a_period_needs_a_working_day() -> None:
    with pytest.raises(ValueError, match="working_days"):
        last_day_of_period(date(2026, 3, 2), 0, CALENDAR)


def test_a_period_running_past_the_data_is_refused_rather_than_guessed() -> None:
    # 20, 21, 22, 27, 28, 29 Dec 2028 (25, 26 holidays) then 2029, which the file does not cover.
    with pytest.raises(ValueError, match="outside the bank holiday data"):
        standstill_end(date(2028, 12, 20), CALENDAR)
    with pytest.raises(ValueError, match="outside the bank holiday data"):
        standstill_end(date(2024, 12, 31), CALENDAR)


def test_a_file_with_a_year_missing_is_refused() -> None:
    with pytest.raises(ValueError, match=r"no dates for \[2026\]"):
        parse_bank_holidays("date,name\n2025-12-25,Christmas Day\n2027-01-01,New Year's Day\n")
    with pytest.raises(ValueError, match="no dates"):
        parse_bank_holidays("date,name\n")


def test_the_calendar_is_only_as_good_as_its_data() -> None:
    # Without holidays only weekends are skipped: 24, 25, 28, 29, 30, 31 Dec 2026, 1, 4 Jan.
    bare = WorkingCalendar(frozenset(), date(2026, 1, 1), date(2027, 12, 31))
    assert standstill_end(date(2026, 12, 24), bare) == date(2027, 1, 4)


@settings(max_examples=300)
@given(st.dates(min_value=date(2025, 1, 1), max_value=date(2028, 11, 30)))
def test_the_period_holds_exactly_eight_working_days_and_ends_on_one(start: date) -> None:
    end = standstill_end(start, CALENDAR)
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    assert sum(CALENDAR.is_working_day(d) for d in days) == 8
    assert CALENDAR.is_working_day(end)
    # Eight working days never span more than 8 + two weekends + a four-day Easter or
    # Christmas run: 16 calendar days.
    assert (end - start).days <= 16

"""Working days and the mandatory standstill period after a regulated award.

Procurement Act 2023 s.51: a contract may not be entered into before the end of the standstill
period, eight working days beginning with the day the contract award notice is published. A
working day is not a Saturday, a Sunday or a bank holiday (England and Wales, from a data file).
"""

import csv
import io
from dataclasses import dataclass
from datetime import date, timedelta

STANDSTILL_WORKING_DAYS = 8


@dataclass(frozen=True)
class WorkingCalendar:
    """Bank holidays for whole years from `first_day` to `last_day`; other days are unknown."""

    holidays: frozenset[date]
    first_day: date
    last_day: date

    def is_working_day(self, day: date) -> bool:
        # Outside the data a holiday could be missed, which would end a standstill too early.
        if not self.first_day <= day <= self.last_day:
            raise ValueError(
                f"{day} is outside the bank holiday data ({self.first_day} to {self.last_day})"
            )
        return day.weekday() < 5 and day not in self.holidays


def parse_bank_holidays(text: str) -> WorkingCalendar:
    """A `date,name` CSV; it covers every whole year it has a date in."""
    days = frozenset(date.fromisoformat(row["date"]) for row in csv.DictReader(io.StringIO(text)))
    if not days:
        raise ValueError("the bank holiday data has no dates")
    years = sorted({day.year for day in days})
    missing = set(range(years[0], years[-1] + 1)) - set(years)
    if missing:
        raise ValueError(f"the bank holiday data has no dates for {sorted(missing)}")
    return WorkingCalendar(days, date(years[0], 1, 1), date(years[-1], 12, 31))


def last_day_of_period(start: date, working_days: int, calendar: WorkingCalendar) -> date:
    """The last day of a period of `working_days` working days beginning with `start` (which
    counts when it is itself a working day)."""
    if working_days < 1:
        raise ValueError("working_days: must be at least 1")
    day, counted = start, 0
    while True:
        if calendar.is_working_day(day):
            counted += 1
            if counted == working_days:
                return day
        day += timedelta(days=1)


def standstill_end(notice_day: date, calendar: WorkingCalendar) -> date:
    """The last day of the standstill period; the contract may be entered into the day after."""
    return last_day_of_period(notice_day, STANDSTILL_WORKING_DAYS, calendar)

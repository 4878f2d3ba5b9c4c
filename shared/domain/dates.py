"""Calendar arithmetic the domains share: the standard library only."""

import calendar
from datetime import date


def add_months(day: date, months: int) -> date:
    """The same day `months` calendar months later, clamped to the last day of a shorter month
    (31 January + 1 month = 28 February, or 29 in a leap year)."""
    year, month_index = divmod(day.year * 12 + day.month - 1 + months, 12)
    month = month_index + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))

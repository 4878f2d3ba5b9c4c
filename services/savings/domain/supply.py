"""When each school's supply under a joint contract runs (docs/domain-rules.md, "Supply start,
per school"): pure date arithmetic, the standard library only."""

from dataclasses import dataclass
from datetime import date, timedelta

from shared.domain.dates import add_months

DAY = timedelta(days=1)


@dataclass(frozen=True)
class Supply:
    """A school's supply window, both days included."""

    start: date
    end: date


def supply(
    contract_end: date, standstill_ends: date | None, awarded_on: date, term_months: int
) -> Supply:
    """A school's supply: from the day after its own contract ends, or the day after the
    standstill ends (after the award date when there is none) if that is later, for the term:
    supply_end = (supply_start + T months) - 1 day."""
    if term_months < 1:
        raise ValueError(f"term_months must be at least 1, not {term_months}")
    free_from = standstill_ends if standstill_ends is not None else awarded_on
    start = max(contract_end, free_from) + DAY
    return Supply(start, add_months(start, term_months) - DAY)

"""Each school's supply window under a joint contract (docs/domain-rules.md, "Supply start, per
school"), worked by hand."""

from datetime import date

import pytest

from services.savings.domain.supply import Supply, supply

AWARDED = date(2027, 1, 15)
STANDSTILL = date(2027, 1, 27)  # a regulated award's standstill, ending after the award


@pytest.mark.parametrize(
    ("contract_end", "standstill_ends", "term", "expected"),
    [
        # The school's contract ends after the standstill: the day after its own end, 24 months:
        # 1 April 2027 + 24 months = 1 April 2029, less a day.
        (date(2027, 3, 31), STANDSTILL, 24, Supply(date(2027, 4, 1), date(2029, 3, 31))),
        # Its contract ended before the standstill ends: the day after the standstill,
        # 28 January 2027 + 12 months = 28 January 2028, less a day.
        (date(2027, 1, 10), STANDSTILL, 12, Supply(date(2027, 1, 28), date(2028, 1, 27))),
        # Ending on the standstill's last day: still the day after it.
        (STANDSTILL, STANDSTILL, 1, Supply(date(2027, 1, 28), date(2027, 2, 27))),
        # No standstill (below threshold): the day after the award date, 16 January 2027,
        # + 6 months = 16 July 2027, less a day.
        (date(2026, 12, 31), None, 6, Supply(date(2027, 1, 16), date(2027, 7, 15))),
        # No standstill, the contract ending after the award: the day after its end.
        (date(2027, 2, 28), None, 12, Supply(date(2027, 3, 1), date(2028, 2, 29))),
        # Supply from the 31st: 31 January 2027 + 1 month is clamped to 28 February 2027 (2027
        # is not a leap year), so supply ends on 27 February.
        (date(2027, 1, 30), None, 1, Supply(date(2027, 1, 31), date(2027, 2, 27))),
        # 31 August 2027 + 6 months = 29 February 2028 (a leap year), less a day: 28 February.
        (date(2027, 8, 30), None, 6, Supply(date(2027, 8, 31), date(2028, 2, 28))),
        # 29 February 2028 + 12 months = 28 February 2029 (clamped), less a day.
        (date(2028, 2, 28), None, 12, Supply(date(2028, 2, 29), date(2029, 2, 27))),
    ],
)
def test_supply_window(
    contract_end: date, standstill_ends: date | None, term: int, expected: Supply
) -> None:
    assert supply(contract_end, standstill_ends, AWARDED, term) == expected

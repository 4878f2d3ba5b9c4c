"""Calendar months: the same day later, clamped to the end of a shorter month."""

from datetime import date

import pytest

from shared.domain.dates import add_months


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2025, 3, 15), 6, date(2025, 9, 15)),
        (date(2025, 5, 10), 0, date(2025, 5, 10)),
        (date(2025, 5, 10), 24, date(2027, 5, 10)),
        (date(2025, 12, 31), 1, date(2026, 1, 31)),
        (date(2025, 7, 31), 6, date(2026, 1, 31)),
        # Clamped to the end of a shorter month.
        (date(2025, 8, 31), 6, date(2026, 2, 28)),
        (date(2027, 8, 31), 6, date(2028, 2, 29)),
        (date(2025, 1, 31), 1, date(2025, 2, 28)),
        (date(2024, 1, 31), 1, date(2024, 2, 29)),
        (date(2025, 11, 30), 3, date(2026, 2, 28)),
        (date(2026, 3, 31), 6, date(2026, 9, 30)),
        (date(2027, 3, 31), 1, date(2027, 4, 30)),
        (date(2027, 11, 30), 3, date(2028, 2, 29)),
        (date(2027, 4, 1), 120, date(2037, 4, 1)),
    ],
)
def test_add_months(day: date, months: int, expected: date) -> None:
    assert add_months(day, months) == expected

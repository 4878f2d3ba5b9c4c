"""Splitting one requirement between tenders is refused; the opening policy's date."""

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.tendering.domain.pooling import (
    PoolLine,
    TenderedSpan,
    form_pools,
    opening_date,
    split_conflicts,
)


def line(demand_id: str, contract_end: date) -> PoolLine:
    return PoolLine(demand_id, "200001", Decimal(1000), Decimal("0.25"), contract_end, 24)


# An open tender whose lines end between 15 Jan and 1 Mar 2027.
JAN_TO_MAR = TenderedSpan("t-jan", date(2027, 1, 15), date(2027, 3, 1))


@pytest.mark.parametrize(
    ("contract_end", "splits"),
    [
        # Inside the tender's span.
        (date(2027, 2, 1), True),
        # 15 Jan + 6 months = 15 Jul: still one requirement ...
        (date(2027, 7, 15), True),
        # ... a day later, its own.
        (date(2027, 7, 16), False),
        # Before the tender: 1 Mar must be within 6 months of the line, 1 Sep 2026 ...
        (date(2026, 9, 1), True),
        # ... and 31 Aug 2026 + 6 months = 28 Feb 2027 < 1 Mar: its own.
        (date(2026, 8, 31), False),
    ],
)
def test_a_line_splits_the_requirement_it_would_have_pooled_with(
    contract_end: date, splits: bool
) -> None:
    conflicts = split_conflicts([line("late", contract_end)], [JAN_TO_MAR], 6)
    assert conflicts == (["t-jan"] if splits else [])


def test_any_line_of_a_pool_is_enough_and_every_conflicting_tender_is_named() -> None:
    later = TenderedSpan("t-sep", date(2027, 9, 1), date(2027, 9, 30))
    elsewhere = TenderedSpan("t-2029", date(2029, 1, 1), date(2029, 1, 1))
    lines = [line("a", date(2027, 6, 1)), line("b", date(2027, 8, 1))]
    # 6 Jun is within 6 months of 15 Jan; 1 Aug of 30 Sep; 2029 of neither.
    assert split_conflicts(lines, [JAN_TO_MAR, later, elsewhere], 6) == ["t-jan", "t-sep"]


def test_the_window_is_the_configured_one() -> None:
    # 15 Jan + 3 months = 15 Apr.
    assert split_conflicts([line("a", date(2027, 4, 15))], [JAN_TO_MAR], 3) == ["t-jan"]
    assert split_conflicts([line("a", date(2027, 4, 16))], [JAN_TO_MAR], 3) == []


def test_no_open_tender_no_conflict() -> None:
    assert split_conflicts([line("a", date(2027, 1, 15))], [], 6) == []


DATES = st.dates(min_value=date(2026, 1, 1), max_value=date(2028, 12, 31))


@settings(max_examples=300)
@given(st.lists(DATES, min_size=1, max_size=6), DATES, st.integers(1, 12))
def test_a_line_conflicts_exactly_when_it_would_have_pooled_with_the_tender(
    tendered_ends: list[date], late_end: date, window: int
) -> None:
    tendered = [line(f"t{i}", end) for i, end in enumerate(tendered_ends)]
    # Only a tender that was itself one pool can be open.
    if len(form_pools("T", "gas", tendered, window)) != 1:
        return
    span = TenderedSpan("t", min(tendered_ends), max(tendered_ends))
    together = form_pools("T", "gas", [*tendered, line("late", late_end)], window)
    assert (split_conflicts([line("late", late_end)], [span], window) == ["t"]) == (
        len(together) == 1
    )


@pytest.mark.parametrize(
    ("earliest_end", "days", "expected"),
    [
        # 31 Mar 2027 - 60 days: 31 days of March back to 28 Feb, 28 of February back to 31 Jan,
        # one more: 30 Jan.
        (date(2027, 3, 31), 60, date(2027, 1, 30)),
        (date(2027, 3, 31), 0, date(2027, 3, 31)),
        # Across a year end: 15 Jan 2027 - 30 days = 16 Dec 2026.
        (date(2027, 1, 15), 30, date(2026, 12, 16)),
    ],
)
def test_the_policy_opens_a_pool_days_before_its_earliest_end(
    earliest_end: date, days: int, expected: date
) -> None:
    assert opening_date(earliest_end, days) == expected

"""Pooling: the window between contract end dates, month-end clamping, the default term."""

from datetime import date
from decimal import Decimal
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.tendering.domain.pooling import Pool, PoolLine, default_term, form_pools
from shared.domain.dates import add_months


def line(
    demand_id: str, contract_end: date, school_urn: str = "100001", quantity: str = "1000"
) -> PoolLine:
    return PoolLine(
        demand_id=demand_id,
        school_urn=school_urn,
        quantity=Decimal(quantity),
        baseline_unit_price=Decimal("0.25"),
        contract_end=contract_end,
        term_months=12,
    )


def ids(pools: list[Pool]) -> list[list[str]]:
    return [[pooled.demand_id for pooled in pool.lines] for pool in pools]


def test_a_line_exactly_six_months_after_the_earliest_joins_the_pool() -> None:
    pools = form_pools(
        "T1", "electricity", [line("a", date(2026, 1, 15)), line("b", date(2026, 7, 15))]
    )
    assert ids(pools) == [["a", "b"]]
    assert pools[0].pool_id == "T1-electricity-20260115"


def test_a_line_one_day_more_than_six_months_after_starts_a_new_pool() -> None:
    pools = form_pools(
        "T1", "electricity", [line("a", date(2026, 1, 15)), line("c", date(2026, 7, 16))]
    )
    assert ids(pools) == [["a"], ["c"]]
    assert [pool.pool_id for pool in pools] == [
        "T1-electricity-20260115",
        "T1-electricity-20260716",
    ]


def test_window_from_a_month_end_is_clamped() -> None:
    # 31 August 2025 + 6 months = 28 February 2026 (no 31st, 2026 is not a leap year).
    start = line("a", date(2025, 8, 31))
    assert ids(form_pools("T1", "gas", [start, line("b", date(2026, 2, 28))])) == [["a", "b"]]
    assert ids(form_pools("T1", "gas", [start, line("c", date(2026, 3, 1))])) == [["a"], ["c"]]


def test_window_is_measured_from_the_pools_earliest_end() -> None:
    # May is within 6 months of January; September is within 6 months of May but not of
    # January, so it starts a new pool: every pair in a pool stays within the window.
    lines = [
        line("jan", date(2026, 1, 1)),
        line("may", date(2026, 5, 1)),
        line("sep", date(2026, 9, 1)),
    ]
    assert ids(form_pools("T1", "water", lines)) == [["jan", "may"], ["sep"]]


def test_window_is_configurable() -> None:
    lines = [
        line("a", date(2026, 1, 15)),
        line("b", date(2026, 4, 15)),
        line("c", date(2026, 4, 16)),
    ]
    assert ids(form_pools("T1", "water", lines, window_months=3)) == [["a", "b"], ["c"]]


def test_lines_are_ordered_by_end_date_then_demand_id() -> None:
    lines = [
        line("d3", date(2026, 5, 1)),
        line("d2", date(2026, 2, 1)),
        line("d1", date(2026, 2, 1)),
    ]
    assert ids(form_pools("T1", "water", lines)) == [["d1", "d2", "d3"]]


def test_no_lines_no_pools() -> None:
    assert form_pools("T1", "water", []) == []


def test_pool_summary() -> None:
    lines = [
        line("d3", date(2026, 8, 31), school_urn="100002", quantity="4000"),
        line("d1", date(2026, 3, 31), school_urn="100002", quantity="12000"),
        line("d2", date(2026, 6, 30), school_urn="100001", quantity="8000.5"),
    ]
    [pool] = form_pools("10058", "electricity", lines)
    assert pool.pool_id == "10058-electricity-20260331"
    assert (pool.trust_id, pool.category) == ("10058", "electricity")
    assert pool.earliest_end == date(2026, 3, 31)
    assert pool.latest_end == date(2026, 8, 31)
    # 12,000 + 8,000.5 + 4,000 = 24,000.5
    assert pool.total_quantity == Decimal("24000.5")
    assert pool.schools == ("100001", "100002")


DATES = st.dates(min_value=date(2025, 1, 1), max_value=date(2028, 12, 31))


@settings(max_examples=200)
@given(st.lists(DATES, max_size=20), st.integers(min_value=1, max_value=12))
def test_pools_partition_the_lines_within_the_window(ends: list[date], window: int) -> None:
    lines = [line(f"d{i:02}", end) for i, end in enumerate(ends)]
    pools = form_pools("T1", "gas", lines, window_months=window)
    assert sorted(pooled.demand_id for pool in pools for pooled in pool.lines) == sorted(
        pooled.demand_id for pooled in lines
    )
    for pool in pools:
        assert pool.latest_end <= add_months(pool.earliest_end, window)
    for earlier, later in pairwise(pools):
        assert later.earliest_end > add_months(earlier.earliest_end, window)
    assert len({pool.pool_id for pool in pools}) == len(pools)


@pytest.mark.parametrize(
    ("terms", "expected"),
    [
        ([36], 36),
        ([12, 24, 24, 36], 24),
        # Ties go to the shorter term.
        ([36, 24], 24),
        ([12, 24, 24, 12, 36], 12),
        ([60, 36, 60, 36], 36),
    ],
)
def test_default_term_is_the_most_common_the_shorter_on_a_tie(
    terms: list[int], expected: int
) -> None:
    lines = [
        PoolLine(f"d{i}", "100001", Decimal(1), Decimal(1), date(2026, 1, 1), term)
        for i, term in enumerate(terms)
    ]
    assert default_term(lines) == expected


def test_default_term_needs_lines() -> None:
    with pytest.raises(ValueError, match="lines"):
        default_term([])

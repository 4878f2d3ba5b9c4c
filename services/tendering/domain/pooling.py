"""Pooling: one trust's open demand in one category, grouped by when current contracts end."""

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from shared.domain.dates import add_months


@dataclass(frozen=True)
class PoolLine:
    demand_id: str
    school_urn: str
    quantity: Decimal
    baseline_unit_price: Decimal
    contract_end: date
    term_months: int


@dataclass(frozen=True)
class Pool:
    pool_id: str
    trust_id: str
    category: str
    lines: tuple[PoolLine, ...]

    @property
    def earliest_end(self) -> date:
        return min(line.contract_end for line in self.lines)

    @property
    def latest_end(self) -> date:
        return max(line.contract_end for line in self.lines)

    @property
    def total_quantity(self) -> Decimal:
        return sum((line.quantity for line in self.lines), Decimal(0))

    @property
    def schools(self) -> tuple[str, ...]:
        return tuple(sorted({line.school_urn for line in self.lines}))


def within_window(earliest: date, latest: date, window_months: int) -> bool:
    """True when contracts ending on these two dates pool together."""
    return latest <= add_months(earliest, window_months)


def form_pools(
    trust_id: str, category: str, lines: Sequence[PoolLine], window_months: int = 6
) -> list[Pool]:
    """Group lines whose contracts all end within the window of each other, earliest first."""
    groups: list[list[PoolLine]] = []
    for line in sorted(lines, key=lambda line: (line.contract_end, line.demand_id)):
        # Measured from the pool's earliest end, not the previous line's, so every pair in
        # a pool is within the window.
        if groups and within_window(groups[-1][0].contract_end, line.contract_end, window_months):
            groups[-1].append(line)
        else:
            groups.append([line])
    return [
        Pool(
            pool_id=f"{trust_id}-{category}-{group[0].contract_end:%Y%m%d}",
            trust_id=trust_id,
            category=category,
            lines=tuple(group),
        )
        for group in groups
    ]


def default_term(lines: Sequence[PoolLine]) -> int:
    """The most common wanted term in months; the shorter on a tie."""
    if not lines:
        raise ValueError("lines: at least one line is needed to choose a term")
    counts = Counter(line.term_months for line in lines)
    return max(counts, key=lambda term: (counts[term], -term))


@dataclass(frozen=True)
class TenderedSpan:
    """An open tender's lines, by their earliest and latest contract end."""

    tender_id: str
    earliest_end: date
    latest_end: date


def split_conflicts(
    lines: Sequence[PoolLine], tendered: Sequence[TenderedSpan], window_months: int
) -> list[str]:
    """The open tenders (same trust and category) whose requirement these lines belong to.

    A line belongs to an open tender's requirement when it and every line of that tender end
    within the pooling window of each other, i.e. they would have formed one pool. Tendering such
    a line separately would split one requirement, which the value rule forbids.
    """
    return [
        span.tender_id
        for span in tendered
        if any(
            within_window(
                min(span.earliest_end, line.contract_end),
                max(span.latest_end, line.contract_end),
                window_months,
            )
            for line in lines
        )
    ]


def opening_date(earliest_end: date, days_before: int) -> date:
    """When the opening policy opens a pool's tender: days before its earliest contract end."""
    return earliest_end - timedelta(days=days_before)

"""Pooling: one trust's open demand in one category, grouped by when current contracts end."""

import calendar
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal


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


def add_months(day: date, months: int) -> date:
    """The same day `months` calendar months later, clamped to the end of a shorter month."""
    year, month_index = divmod(day.year * 12 + day.month - 1 + months, 12)
    month = month_index + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def form_pools(
    trust_id: str, category: str, lines: Sequence[PoolLine], window_months: int = 6
) -> list[Pool]:
    """Group lines whose contracts all end within the window of each other, earliest first."""
    groups: list[list[PoolLine]] = []
    for line in sorted(lines, key=lambda line: (line.contract_end, line.demand_id)):
        # Measured from the pool's earliest end, not the previous line's, so every pair in
        # a pool is within the window.
        if groups and line.contract_end <= add_months(groups[-1][0].contract_end, window_months):
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

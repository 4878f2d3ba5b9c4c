"""Opening a tender: what a request must say, which pool it takes, when it is refused, its
route; and which pools the opening policy opens on a day (docs/domain-rules.md, "Pooling and
tenders" and "Procedures and tender periods")."""

from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime

from services.tendering.domain.errors import (
    InvalidClosingTime,
    InvalidWeights,
    NoOpenDemand,
    PoolNotFound,
    RegistryNotUpToDate,
    UnknownCategory,
    WouldSplitRequirement,
)
from services.tendering.domain.evaluation import Weights, check_weights
from services.tendering.domain.lots import LotsBy
from services.tendering.domain.pooling import Pool, TenderedSpan, opening_date, split_conflicts
from services.tendering.domain.route import RouteDecision, decide_route
from shared.domain.categories import categories


def check_request(category: str, closes_at: datetime, weights: Weights, now: datetime) -> None:
    """A known category, a deadline in the future, weights that add up."""
    if category not in categories():
        raise UnknownCategory()
    if closes_at <= now:
        raise InvalidClosingTime()
    try:
        check_weights(weights)
    except ValueError as exc:
        raise InvalidWeights(str(exc)) from exc


def choose_pool(trust_id: str, category: str, pools: Sequence[Pool], pool_id: str | None) -> Pool:
    """The pool asked for, or the earliest one."""
    if not pools:
        raise NoOpenDemand(trust_id, category)
    if pool_id is None:
        return pools[0]
    for pool in pools:
        if pool.pool_id == pool_id:
            return pool
    raise PoolNotFound()


def check_not_split(pool: Pool, tendered: Sequence[TenderedSpan], window_months: int) -> None:
    """A pool whose lines belong to an open tender's requirement is not tendered on its own."""
    conflicts = split_conflicts(pool.lines, tendered, window_months)
    if conflicts:
        raise WouldSplitRequirement(pool.pool_id, window_months, conflicts)


def check_registry_up_to_date(
    schools: Sequence[str], labels: Mapping[str, str | None], lots_by: LotsBy
) -> None:
    """Lots need each pooled school's registry entry. Registry and demand events travel on
    different topics with no order between them: a school whose entry has not arrived yet would
    land in the wrong lot for good, so the tender waits for it."""
    unknown = sorted(set(schools) - labels.keys())
    if unknown:
        raise RegistryNotUpToDate(unknown, str(lots_by))


def route_of(pool: Pool, term_months: int, opened_on: datetime) -> RouteDecision:
    """One route for the whole requirement, lots or not: lots never split the value test."""
    category = categories()[pool.category]
    return decide_route(
        [(line.quantity, line.baseline_unit_price) for line in pool.lines],
        term_months,
        category.vat_rate,
        category.light_touch,
        opened_on.date(),
    )


def due_pools(
    pools: Sequence[Pool],
    tendered: Sequence[TenderedSpan],
    today: date,
    days_before: int,
    window_months: int,
) -> Iterator[Pool]:
    """The pools (earliest first) the opening policy opens today: those whose earliest contract
    end is at most `days_before` days away, except those that belong to an open tender's
    requirement (the pools list shows why)."""
    for pool in pools:
        if opening_date(pool.earliest_end, days_before) > today:
            return  # pools come earliest first
        if not split_conflicts(pool.lines, tendered, window_months):
            yield pool

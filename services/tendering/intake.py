"""What tendering learns from other services' events: schools and demand lines."""

from collections.abc import Callable, Sequence
from uuid import UUID

import structlog

from shared.events import (
    DemandAmended,
    DemandRegistered,
    DemandWithdrawn,
    Envelope,
    EventData,
    SchoolJoined,
    SchoolLeft,
    read_data,
)
from shared.inbox import Handler, Together
from shared.unit_of_work import UnitOfWork

log = structlog.get_logger()


def _each_a_row(sql: str, row: Callable[[Envelope], tuple[object, ...]]) -> Together:
    """Registry loads and new demand come in bulk: a run of events is one pipelined statement,
    a row per event."""

    async def write(work: UnitOfWork, events: Sequence[Envelope]) -> None:
        await work.conn.executemany(sql, [row(event) for event in events])

    return Together(write)


def _row(model: type[EventData], *fields: str) -> Callable[[Envelope], tuple[object, ...]]:
    """The row of an event: its data's first field, the event's trust, then the other fields."""

    def row(event: Envelope) -> tuple[object, ...]:
        data = read_data(event, model)
        key, *rest = (getattr(data, name) for name in fields)
        return (key, event.trust_id, *rest)

    return row


school_joined = _each_a_row(
    "INSERT INTO schools (urn, trust_id, name, phase, local_authority, status)"
    " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (urn) DO UPDATE SET"
    " trust_id = EXCLUDED.trust_id, name = EXCLUDED.name, phase = EXCLUDED.phase,"
    " local_authority = EXCLUDED.local_authority, status = EXCLUDED.status",
    _row(SchoolJoined, "urn", "name", "phase", "local_authority", "status"),
)


async def school_left(work: UnitOfWork, event: Envelope) -> None:
    left = read_data(event, SchoolLeft)
    # A move is left-then-joined; the joined event sets the new trust.
    await work.conn.execute(
        "UPDATE schools SET trust_id = '' WHERE urn = $1 AND trust_id = $2",
        left.urn,
        event.trust_id,
    )


demand_registered = _each_a_row(
    "INSERT INTO demand_lines (demand_id, trust_id, school_urn, category, unit, quantity,"
    " baseline_unit_price, contract_end, term_months)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    " ON CONFLICT (demand_id) DO NOTHING",
    _row(
        DemandRegistered,
        "demand_id",
        "school_urn",
        "category",
        "unit",
        "quantity",
        "current_unit_price",
        "contract_end",
        "term_months",
    ),
)


async def _change_line(
    work: UnitOfWork, change: str, sql: str, demand_id: UUID, *args: object
) -> None:
    """Run `sql` on the line (`$1`, returning its status); a line already in a tender is
    logged: the demand service refuses such changes, so this is a race with it."""
    status = await work.conn.fetchval(sql, demand_id, *args)
    if status not in (None, "open"):
        log.warning(f"{change} of a line in a tender", demand_id=str(demand_id))


async def demand_amended(work: UnitOfWork, event: Envelope) -> None:
    line = read_data(event, DemandAmended)
    # Always the line's latest state; a tender keeps the figures it opened with (tender_lines),
    # so a line in a tender is locked, and comes back with these figures if the tender is
    # cancelled. The demand service refuses such amendments; this only covers a race with it.
    await _change_line(
        work,
        "amendment",
        "UPDATE demand_lines SET category = $2, unit = $3, quantity = $4,"
        " baseline_unit_price = $5, contract_end = $6, term_months = $7"
        " WHERE demand_id = $1 RETURNING status",
        line.demand_id,
        line.category,
        line.unit,
        line.quantity,
        line.current_unit_price,
        line.contract_end,
        line.term_months,
    )


async def demand_withdrawn(work: UnitOfWork, event: Envelope) -> None:
    line = read_data(event, DemandWithdrawn)
    await _change_line(
        work,
        "withdrawal",
        "UPDATE demand_lines SET withdrawn = true WHERE demand_id = $1 RETURNING status",
        line.demand_id,
    )


HANDLERS: dict[str, Handler] = {
    SchoolJoined.event_type: school_joined,
    SchoolLeft.event_type: school_left,
    DemandRegistered.event_type: demand_registered,
    DemandAmended.event_type: demand_amended,
    DemandWithdrawn.event_type: demand_withdrawn,
}

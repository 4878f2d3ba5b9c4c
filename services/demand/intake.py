"""What demand learns from tendering's events: which lines are locked in an open tender.

A line in an open tender can no longer be amended or withdrawn; it is released (open again)
if the tender is cancelled, and marked awarded when its tender (or its lot) is awarded."""

import structlog

from services.demand import store
from shared.events import (
    Envelope,
    TenderAwarded,
    TenderCancelled,
    TenderOpened,
    read_data,
)
from shared.inbox import Handler
from shared.unit_of_work import UnitOfWork

log = structlog.get_logger()


async def tender_opened(work: UnitOfWork, event: Envelope) -> None:
    opened = read_data(event, TenderOpened)
    locked = await store.put_in_tender(
        work.conn, event.trust_id, opened.tender_id, opened.demand_ids
    )
    if locked != len(opened.demand_ids):
        # A line withdrawn here before tendering heard of it: the withdrawal stands.
        log.warning(
            "tender names lines that are not open",
            tender_id=str(opened.tender_id),
            named=len(opened.demand_ids),
            locked=locked,
        )


async def tender_cancelled(work: UnitOfWork, event: Envelope) -> None:
    cancelled = read_data(event, TenderCancelled)
    await store.release_from_tender(work.conn, event.trust_id, cancelled.tender_id)


async def tender_awarded(work: UnitOfWork, event: Envelope) -> None:
    awarded = read_data(event, TenderAwarded)
    await store.mark_awarded(
        work.conn, event.trust_id, awarded.tender_id, [a.demand_id for a in awarded.allocations]
    )


HANDLERS: dict[str, Handler] = {
    TenderOpened.event_type: tender_opened,
    TenderCancelled.event_type: tender_cancelled,
    TenderAwarded.event_type: tender_awarded,
}

"""What savings learns from events: school names, awards to put in the ledger, and spend
(services/savings/spend_intake.py)."""

from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC

import structlog

from services.savings import spend_intake, store
from services.savings.domain.ledger import (
    RULE_VERSION,
    Allocation,
    entry_id,
    ledger_figures,
    recorded_event_id,
    totals,
)
from services.savings.domain.supply import Supply, supply
from shared.events import Allocation as AwardAllocation
from shared.events import (
    Envelope,
    SavingsRecorded,
    SchoolJoined,
    SpendRecorded,
    TenderAwarded,
    Topics,
    outgoing,
    read_data,
)
from shared.inbox import Handler, Together
from shared.unit_of_work import UnitOfWork

log = structlog.get_logger()


async def _join_schools(work: UnitOfWork, events: Sequence[Envelope]) -> None:
    schools = [(event.trust_id, read_data(event, SchoolJoined)) for event in events]
    await store.upsert_schools(
        work.conn, [(s.urn, trust, s.name, s.trust_name) for trust, s in schools]
    )


# Registry loads come in bulk: a run of joins is one pipelined statement.
school_joined = Together(_join_schools)


async def tender_awarded(work: UnitOfWork, event: Envelope) -> None:
    """One ledger entry per school's line in the award event, then `savings.recorded`. An award
    sent in parts is recorded part by part, each part on its own.

    Everything written is derived from the event alone (ids, figures, recorded_at), so replaying
    the topics into an empty database rebuilds an identical ledger.
    """
    award = read_data(event, TenderAwarded)
    # A tender split into lots sends one award per lot; each lot's lines are its own.
    if await store.award_recorded(
        work.conn, award.tender_id, [a.demand_id for a in award.allocations]
    ):
        # A second award event for the same lines (e.g. re-published with a new event_id).
        log.warning(
            "award already in the ledger; ignored",
            tender_id=str(award.tender_id),
            lot=award.lot,
            part=award.part,
        )
        return
    rows = ledger_rows(event, award)
    await store.insert_entries(work.conn, rows)
    # Spend that arrived before this award is classified again against it.
    await spend_intake.award_recorded(work.conn, event.trust_id, award, event.event_id)
    total = totals(rows)
    recorded = SavingsRecorded(
        tender_id=award.tender_id,
        category=award.category,
        schools=len(rows),
        annual_saving=total.annual_saving,
        term_saving=total.term_saving,
        rule_version=RULE_VERSION,
        part=award.part,
        parts=award.parts,
    )
    out = outgoing(
        recorded,
        trust_id=event.trust_id,
        correlation_id=event.correlation_id,
        causation_id=str(event.event_id),
        # A rebuild records it again with the same id, so consumers' inboxes skip the repeat.
        event_id=recorded_event_id(award.tender_id, award.lot, award.part),
    )
    work.emit(Topics.SAVINGS, [out])


def ledger_rows(event: Envelope, award: TenderAwarded) -> list[store.LedgerRow]:
    """The ledger entries of an award event (`award` is its data), one per school's line."""
    awarded_on = award.awarded_at.astimezone(UTC).date()

    def supply_of(a: AwardAllocation) -> Supply:
        # Events sent before allocations carried their own contract end: the lot's earliest.
        contract_end = a.contract_end if a.contract_end is not None else award.contract_start
        return supply(contract_end, award.standstill_ends, awarded_on, award.term_months)

    def row(a: AwardAllocation) -> store.LedgerRow:
        prices = Allocation(
            a.school_urn, a.quantity, a.baseline_unit_price, a.pooled_unit_price, a.solo_unit_price
        )
        window = supply_of(a)
        return store.LedgerRow(
            **asdict(ledger_figures(prices, award.term_months)),
            entry_id=entry_id(award.tender_id, a.demand_id),
            trust_id=event.trust_id,
            tender_id=award.tender_id,
            bid_id=award.bid_id,
            supplier_id=award.supplier_id,
            demand_id=a.demand_id,
            school_urn=a.school_urn,
            category=award.category,
            unit=award.unit,
            quantity=a.quantity,
            baseline_unit_price=a.baseline_unit_price,
            pooled_unit_price=a.pooled_unit_price,
            solo_unit_price=a.solo_unit_price,
            term_months=award.term_months,
            contract_start=award.contract_start,
            rule_version=RULE_VERSION,
            source_event_id=event.event_id,
            # When the award happened, not when this row was written.
            recorded_at=event.occurred_at,
            lot=award.lot,
            lot_name=award.lot_name,
            standstill_ends=award.standstill_ends,
            supply_start=window.start,
            supply_end=window.end,
            supplier_name=award.supplier_name,
        )

    return [row(a) for a in award.allocations]


HANDLERS: dict[str, Handler] = {
    SchoolJoined.event_type: school_joined,
    TenderAwarded.event_type: tender_awarded,
    SpendRecorded.event_type: spend_intake.spend_recorded,
}

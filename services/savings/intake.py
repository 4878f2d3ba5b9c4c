"""What savings learns from events: school names, and awards to put in the ledger."""

from uuid import uuid4

from services.savings.domain.ledger import RULE_VERSION, Allocation, ledger_figures, totals
from shared import outbox
from shared.db import Connection
from shared.events import (
    Envelope,
    SavingsRecorded,
    SchoolJoined,
    TenderAwarded,
    Topics,
    new_event,
    read_data,
)
from shared.inbox import Handler


async def school_joined(conn: Connection, event: Envelope) -> None:
    school = read_data(event, SchoolJoined)
    await conn.execute(
        "INSERT INTO schools (urn, trust_id, name) VALUES ($1, $2, $3)"
        " ON CONFLICT (urn) DO UPDATE SET trust_id = EXCLUDED.trust_id, name = EXCLUDED.name",
        school.urn,
        event.trust_id,
        school.name,
    )


async def tender_awarded(conn: Connection, event: Envelope) -> None:
    """One ledger entry per school's line in the award, then `savings.recorded`."""
    award = read_data(event, TenderAwarded)
    entries = []
    for a in award.allocations:
        figures = ledger_figures(
            Allocation(
                a.school_urn,
                a.quantity,
                a.baseline_unit_price,
                a.pooled_unit_price,
                a.solo_unit_price,
            ),
            award.term_months,
        )
        entries.append((a, figures))
    await conn.executemany(
        "INSERT INTO ledger_entries (entry_id, trust_id, tender_id, bid_id, supplier_id, demand_id,"
        " school_urn, category, unit, quantity, baseline_unit_price, pooled_unit_price,"
        " solo_unit_price, term_months, contract_start, annual_baseline_cost,"
        " annual_contract_cost, annual_saving, term_saving, saving_pct, economy_of_scale,"
        " rule_version, source_event_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11,"
        " $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)"
        " ON CONFLICT (tender_id, demand_id) DO NOTHING",
        [
            (
                uuid4(),
                event.trust_id,
                award.tender_id,
                award.bid_id,
                award.supplier_id,
                a.demand_id,
                a.school_urn,
                award.category,
                award.unit,
                a.quantity,
                a.baseline_unit_price,
                a.pooled_unit_price,
                a.solo_unit_price,
                award.term_months,
                award.contract_start,
                f.annual_baseline_cost,
                f.annual_contract_cost,
                f.annual_saving,
                f.term_saving,
                f.saving_pct,
                f.economy_of_scale,
                RULE_VERSION,
                event.event_id,
            )
            for a, f in entries
        ],
    )
    total = totals(f for _, f in entries)
    recorded = SavingsRecorded(
        tender_id=award.tender_id,
        category=award.category,
        schools=len(entries),
        annual_saving=total.annual_saving,
        term_saving=total.term_saving,
        rule_version=RULE_VERSION,
    )
    out = new_event(
        recorded,
        trust_id=event.trust_id,
        correlation_id=event.correlation_id,
        causation_id=str(event.event_id),
    )
    await outbox.record(conn, Topics.SAVINGS, [out])


HANDLERS: dict[str, Handler] = {
    SchoolJoined.event_type: school_joined,
    TenderAwarded.event_type: tender_awarded,
}

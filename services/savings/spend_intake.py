"""What savings learns from spend: each `spend.recorded` line classified against the school's
joint contracts and stored with its figures; and, when an award is recorded, the spend it now
covers classified again (docs/domain-rules.md, "Savings achieved").

Spend and awards come on different topics, in no guaranteed order: a line recorded before the
award that covers it is uncontracted until the award arrives, then on or off contract. Either
way a line ends up classified against every contract of its school and category, so replaying
the topics (`procure savings rebuild`) gives the same classification, whatever the order. Both
take the trust's lock of the category first (realised_store.lock), so with several instances of
the service a line and an award recorded at the same time still see each other.
"""

from collections.abc import Iterable, Sequence
from dataclasses import fields
from uuid import UUID

import asyncpg

from services.savings import realised_store
from services.savings.domain.realised import (
    RULE_VERSION,
    Classified,
    Contract,
    Spend,
    classify,
)
from services.savings.realised_store import Classification
from shared.db import Connection
from shared.events import Envelope, SpendRecorded, TenderAwarded, read_data
from shared.inbox import Together
from shared.unit_of_work import UnitOfWork

# A line's money figures, in the order of their columns (realised_store.Classification).
FIGURES = (
    "baseline_cost",
    "contract_cost",
    "realised_saving",
    "expected_saving",
    "price_variance",
    "off_contract_spend",
    "leakage",
)

# (trust, school URN, category): a school's contracts for one category.
Key = tuple[str, str, str]


def contract_of(row: asyncpg.Record) -> Contract:
    """A contract from a row of `realised_store.contracts` (its columns are its fields)."""
    return Contract(**{f.name: row[f.name] for f in fields(Contract)})


async def contracts_by_school(conn: Connection, keys: Iterable[Key]) -> dict[Key, list[Contract]]:
    """The contracts of each (trust, school, category), in one statement."""
    found: dict[Key, list[Contract]] = {}
    for row in await realised_store.contracts(conn, sorted(set(keys))):
        key = (row["trust_id"], row["school_urn"], row["category"])
        found.setdefault(key, []).append(contract_of(row))
    return found


def stored(classified: Classified) -> Classification:
    """A classification as its columns."""
    c = classified.contract
    terms = (
        (c.entry_id, c.tender_id, c.lot, c.supplier_id, c.baseline_unit_price, c.unit_price)
        if c is not None
        else (None,) * 6
    )
    figures = tuple(getattr(classified, name) for name in FIGURES)
    return Classification._make((classified.status.value, *terms, *figures, RULE_VERSION))


async def _record_spend(work: UnitOfWork, events: Sequence[Envelope]) -> None:
    """A run of spend lines, of any trusts: one statement for the locks, one for the contracts,
    one (pipelined) for the lines. A batch's events interleave many trusts: a statement per
    trust and run of its lines was three round trips for about every line."""
    lines = [(event, read_data(event, SpendRecorded)) for event in events]
    await realised_store.lock(work.conn, ((e.trust_id, s.category) for e, s in lines))
    contracts = await contracts_by_school(
        work.conn, ((e.trust_id, s.school_urn, s.category) for e, s in lines)
    )
    rows = [
        (
            # The event's fields in their order, then what the event says about them.
            *s.model_dump().values(),
            event.trust_id,
            event.event_id,
            # When the spend was recorded, not when this row was written.
            event.occurred_at,
            *stored(
                classify(
                    Spend(s.supplier, s.period_start, s.period_end, s.quantity, s.amount),
                    contracts.get((event.trust_id, s.school_urn, s.category), ()),
                )
            ),
        )
        for event, s in lines
    ]
    await realised_store.insert_lines(work.conn, rows)


# Finance systems post spend in bulk (CSV imports): a run of lines is one pipelined statement.
spend_recorded = Together(_record_spend)


async def award_recorded(
    conn: Connection, trust_id: str, award: TenderAwarded, event_id: UUID
) -> None:
    """After an award's ledger entries are written, in the same transaction: keep its tier
    minimum, and classify again the trust's spend of its schools in its category."""
    await realised_store.lock(conn, [(trust_id, award.category)])
    await realised_store.record_tier(
        conn, award.tender_id, award.lot, trust_id, award.tier_minimum, event_id
    )
    urns = sorted({a.school_urn for a in award.allocations})
    lines = await realised_store.lines_of(conn, trust_id, award.category, urns)
    if not lines:
        return
    contracts = await contracts_by_school(
        conn, ((trust_id, line["school_urn"], award.category) for line in lines)
    )
    await realised_store.reclassify(
        conn,
        [
            (
                line["spend_id"],
                *stored(
                    classify(
                        Spend(
                            line["supplier"],
                            line["period_start"],
                            line["period_end"],
                            line["quantity"],
                            line["amount"],
                        ),
                        contracts.get((trust_id, line["school_urn"], award.category), ()),
                    )
                ),
            )
            for line in lines
        ],
    )

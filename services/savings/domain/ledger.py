"""The per-school savings ledger: what an award saves each school, and totals over entries."""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, localcontext
from typing import Any, Protocol
from uuid import UUID, uuid5

from shared.domain.money import percentage, to_pence
from shared.domain.ranges import WIDE

# Recorded on every ledger entry so history can be replayed and audited under the rules that
# produced it; bump it whenever a formula or its rounding changes.
RULE_VERSION = "savings-2026.1"

# Ids are derived from what they identify, so replaying the topics into an empty database gives
# the same ids (a rebuilt ledger is identical row by row) and a re-recorded event is a duplicate
# that consumers' inboxes skip. Never change this namespace: it would re-key the whole ledger.
LEDGER_NAMESPACE = UUID("5b0f3f6e-2a4c-5d1e-9c2b-7e6a41d0c8f3")


@dataclass(frozen=True)
class Allocation:
    """One school's share of an award: its annual quantity and the prices to compare."""

    school_urn: str
    quantity: Decimal
    baseline_unit_price: Decimal
    pooled_unit_price: Decimal
    # The winning bid's price at this school's quantity alone.
    solo_unit_price: Decimal


# The money figures, summed over entries; saving_pct is never summed but worked out from the sums.
MONEY = (
    "annual_baseline_cost",
    "annual_contract_cost",
    "annual_saving",
    "term_saving",
    "economy_of_scale",
)


@dataclass(frozen=True)
class Figures:
    """The six savings figures of one ledger entry or of a group of entries (docs/domain-rules.md,
    "Savings, per school"). Money in pence; a negative saving is a cost increase; saving_pct is
    None on a zero baseline."""

    annual_baseline_cost: Decimal
    annual_contract_cost: Decimal
    annual_saving: Decimal
    term_saving: Decimal
    saving_pct: Decimal | None
    economy_of_scale: Decimal


# What one entry records, and what entries add up to: the same six figures.
LedgerFigures = Figures
Totals = Figures


class Sums(Protocol):
    """Money figures read by name: a database row of sums, or a dict."""

    def __getitem__(self, key: str, /) -> Any: ...


def is_increase(saving: Decimal) -> bool:
    """A negative saving is a cost increase: named as one, never netted away."""
    return saving < 0


def ledger_figures(allocation: Allocation, term_months: int) -> Figures:
    """The per-school formulas (docs/domain-rules.md, "Savings, per school"); each figure is
    rounded once, from unrounded inputs."""
    quantity = allocation.quantity
    pooled = allocation.pooled_unit_price
    # Exact: products of accepted values can have more digits than the default context's 28.
    with localcontext(WIDE):
        baseline_cost = quantity * allocation.baseline_unit_price
        contract_cost = quantity * pooled
        saving = baseline_cost - contract_cost
        term_saving = saving * term_months / 12
        economy_of_scale = quantity * (allocation.solo_unit_price - pooled)
    return Figures(
        annual_baseline_cost=to_pence(baseline_cost),
        annual_contract_cost=to_pence(contract_cost),
        annual_saving=to_pence(saving),
        term_saving=to_pence(term_saving),
        saving_pct=percentage(saving, baseline_cost),
        economy_of_scale=to_pence(economy_of_scale),
    )


def entry_id(tender_id: UUID, demand_id: UUID) -> UUID:
    """The ledger entry of one school's demand line in one award."""
    return uuid5(LEDGER_NAMESPACE, f"entry/{tender_id}/{demand_id}")


def recorded_event_id(tender_id: UUID, lot: int | None = None, part: int = 1) -> UUID:
    """The `savings.recorded` event of one award event (one per lot when a tender has lots, one
    per part when an award is sent in parts). Part 1 keeps the id it had before awards had parts."""
    suffix = "" if lot is None else f"/lot/{lot}"
    if part > 1:
        suffix += f"/part/{part}"
    return uuid5(LEDGER_NAMESPACE, f"savings.recorded/{tender_id}{suffix}")


def totals(entries: Iterable[Figures]) -> Figures:
    """Sums of the rounded entries, so totals match what each school was shown."""
    rows = list(entries)
    return of_sums({name: _sum(getattr(row, name) for row in rows) for name in MONEY})


def summed(rows: Iterable[Sums]) -> Figures:
    """The figures of a group of rows (ledger entries or sums of them): `totals` of rows read by
    name."""
    group = list(rows)
    return of_sums({name: _sum(row[name] for row in group) for name in MONEY})


def of_sums(sums: Sums) -> Figures:
    """A group's figures from its money sums; its saving as a percentage of its baseline is
    worked out from those sums (docs/domain-rules.md, "Savings, per school")."""
    return Figures(
        annual_baseline_cost=sums["annual_baseline_cost"],
        annual_contract_cost=sums["annual_contract_cost"],
        annual_saving=sums["annual_saving"],
        term_saving=sums["term_saving"],
        saving_pct=percentage(sums["annual_saving"], sums["annual_baseline_cost"]),
        economy_of_scale=sums["economy_of_scale"],
    )


def _sum(amounts: Iterable[Decimal]) -> Decimal:
    # Starting at 0.00 keeps an empty total in pence, like every other figure.
    return sum(amounts, Decimal("0.00"))

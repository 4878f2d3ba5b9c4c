"""The per-school savings ledger: what an award saves each school, and totals over entries."""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, localcontext
from uuid import UUID, uuid5

from shared.bounds import WIDE
from shared.money import percentage, to_pence

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


@dataclass(frozen=True)
class LedgerFigures:
    """Money in pence; a negative saving is a cost increase; saving_pct is None on a zero base."""

    annual_baseline_cost: Decimal
    annual_contract_cost: Decimal
    annual_saving: Decimal
    term_saving: Decimal
    saving_pct: Decimal | None
    economy_of_scale: Decimal


@dataclass(frozen=True)
class Totals:
    annual_baseline_cost: Decimal
    annual_contract_cost: Decimal
    annual_saving: Decimal
    term_saving: Decimal
    saving_pct: Decimal | None
    economy_of_scale: Decimal


def ledger_figures(allocation: Allocation, term_months: int) -> LedgerFigures:
    """DESIGN.md's ledger formulas; each figure is rounded once, from unrounded inputs."""
    quantity = allocation.quantity
    pooled = allocation.pooled_unit_price
    # Exact: products of accepted values can have more digits than the default context's 28.
    with localcontext(WIDE):
        baseline_cost = quantity * allocation.baseline_unit_price
        contract_cost = quantity * pooled
        saving = baseline_cost - contract_cost
        term_saving = saving * term_months / 12
        economy_of_scale = quantity * (allocation.solo_unit_price - pooled)
    return LedgerFigures(
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


def totals(figures: Iterable[LedgerFigures]) -> Totals:
    """Sums of the rounded entries, so totals match what each school was shown."""
    entries = list(figures)
    baseline_cost = _sum(entry.annual_baseline_cost for entry in entries)
    saving = _sum(entry.annual_saving for entry in entries)
    return Totals(
        annual_baseline_cost=baseline_cost,
        annual_contract_cost=_sum(entry.annual_contract_cost for entry in entries),
        annual_saving=saving,
        term_saving=_sum(entry.term_saving for entry in entries),
        saving_pct=percentage(saving, baseline_cost),
        economy_of_scale=_sum(entry.economy_of_scale for entry in entries),
    )


def _sum(amounts: Iterable[Decimal]) -> Decimal:
    # Starting at 0.00 keeps an empty total in pence, like every other figure.
    return sum(amounts, Decimal("0.00"))

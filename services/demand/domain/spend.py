"""Spend lines: what a school was actually invoiced (docs/domain-rules.md, "Spend line"), and
the demand line its uncontracted spend makes in one step ("Demand from uncontracted spend").

Rules that need no parser: the category and unit (converted exactly, as a demand line's are),
the invoice period, the implied unit price, the fingerprint that tells a retry from another
invoice under one `invoice_ref`, and the annualised demand of a run of invoices. The edge
(services/demand/spend_rules.py) reads JSON, CSV rows and Kafka records into these shapes."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Protocol

from services.demand.domain.lines import Refusal, in_category_unit
from services.demand.domain.submissions import latest_contract_end, request_hash
from shared.domain.categories import Category
from shared.domain.ranges import (
    EARLIEST_CONTRACT_END,
    PRICE_MAX,
    PRICE_PLACES,
    QUANTITY_MAX,
    QUANTITY_PLACES,
    WIDE,
    readable,
)
from shared.domain.units import tidy

# --- the ranges (docs/domain-rules.md, "Spend line") ------------------------------------------

SUPPLIER_MAX = 200
"""Characters of `supplier` (the supplier's id as the invoice names it), after trimming."""
INVOICE_REF_MAX = 100
"""Characters of `invoice_ref`, after trimming: unique per school, the idempotency key."""
AMOUNT_MAX = Decimal(10**12)
"""An invoice line's amount, GBP ex VAT, from 0 (a line invoiced at no charge) to a trillion."""
AMOUNT_PLACES = 2
MAX_PERIOD_DAYS = 366
"""An invoice covers at most a year: period_start to period_end, both days counted."""
EARLIEST_PERIOD = EARLIEST_CONTRACT_END
"""No period starts before this; none ends more than MAX_YEARS_AHEAD years after today."""
DAYS_A_YEAR = 365

WRONG_ORDER = "must not be before period_start"
TOO_LONG = f"an invoice period spans at most {MAX_PERIOD_DAYS} days (both ends counted)"


class SpendSubmission(Protocol):
    """One invoice line, as a finance system sends it (validated at the edge)."""

    @property
    def school_urn(self) -> str: ...
    @property
    def category(self) -> str: ...
    @property
    def supplier(self) -> str: ...
    @property
    def invoice_ref(self) -> str: ...
    @property
    def period_start(self) -> date: ...
    @property
    def period_end(self) -> date: ...
    @property
    def quantity(self) -> Decimal: ...
    @property
    def unit(self) -> str | None: ...
    @property
    def amount(self) -> Decimal: ...


@dataclass(frozen=True)
class SpendFields:
    """A spend line's content, its quantity in its category's canonical unit."""

    school_urn: str
    category: str
    unit: str
    supplier: str
    invoice_ref: str
    period_start: date
    period_end: date
    quantity: Decimal
    amount: Decimal


_FINGERPRINTED = (
    "amount",
    "category",
    "invoice_ref",
    "period_end",
    "period_start",
    "quantity",
    "school_urn",
    "supplier",
    "unit",
)
"""A spend line's fields, sorted: what its fingerprint covers."""
_PENNY = Decimal("0.01")


def fingerprint(line: SpendFields) -> str:
    """What an invoice line says, to tell a re-send (the same line) from another line under
    the same `invoice_ref`: the line as stored, decimals by value, so 1.5 MWh and 1500 kWh, or
    420 and 420.00, are the same. Stored with each line, so it must never change."""
    same = replace(line, quantity=tidy(line.quantity), amount=line.amount.quantize(_PENNY))
    return request_hash(same, _FINGERPRINTED)


def period_refusal(start: date, end: date, today: date) -> Refusal | None:
    """Why (start, end) is not an invoice period on `today` (UTC), or None. A period may lie in
    the future (advance invoices for licences), up to MAX_YEARS_AHEAD years."""
    if start < EARLIEST_PERIOD:
        return Refusal("period_start", f"must not be before {EARLIEST_PERIOD.isoformat()}")
    latest = latest_contract_end(today)
    if end > latest:
        return Refusal("period_end", f"must not be after {latest.isoformat()} (5 years ahead)")
    if end < start:
        return Refusal("period_end", WRONG_ORDER)
    if (end - start).days + 1 > MAX_PERIOD_DAYS:
        return Refusal("period_end", TOO_LONG)
    return None


def spend_line(
    submission: SpendSubmission, categories: Mapping[str, Category], today: date
) -> SpendFields | Refusal:
    """The invoice line with its quantity in its category's unit, or why not."""
    refused = period_refusal(submission.period_start, submission.period_end, today)
    if refused is not None:
        return refused
    canonical = in_category_unit(
        categories, submission.category, submission.unit, submission.quantity, None
    )
    if isinstance(canonical, Refusal):
        return canonical
    category, quantity, _ = canonical
    assert quantity is not None
    # amount / quantity is a unit price: no larger than any unit price accepted elsewhere, so
    # every figure savings derives from it stays in range (shared/domain/ranges.py).
    if submission.amount > WIDE.multiply(quantity, PRICE_MAX):
        reason = (
            f"is more than {readable(PRICE_MAX)} GBP per {category.unit} of the quantity;"
            " check the quantity and its unit"
        )
        return Refusal("amount", reason)
    return SpendFields(
        school_urn=submission.school_urn,
        category=category.code,
        unit=category.unit,
        supplier=submission.supplier,
        invoice_ref=submission.invoice_ref,
        period_start=submission.period_start,
        period_end=submission.period_end,
        quantity=quantity,
        amount=submission.amount,
    )


# --- demand from uncontracted spend -----------------------------------------------------------

_QUANTITY_STEP = Decimal(1).scaleb(-QUANTITY_PLACES)
_PRICE_STEP = Decimal(1).scaleb(-PRICE_PLACES)


@dataclass(frozen=True, slots=True)
class Invoiced:
    """A spend line as the one-step demand reads it (quantity in the category's unit)."""

    period_start: date
    period_end: date
    quantity: Decimal
    amount: Decimal
    supplier: str


@dataclass(frozen=True, slots=True)
class DemandFromSpend:
    """The demand line a school's spend makes: annual quantity, baseline unit price, supplier."""

    quantity: Decimal
    current_unit_price: Decimal
    current_supplier: str
    first_day: date
    last_day: date
    days: int
    invoices: int


def demand_from_spend(lines: Sequence[Invoiced]) -> DemandFromSpend | str:
    """A school's spend in one category as a year's demand, or why it makes none.

    - annual quantity: the sum of the quantities x 365 / days, days counted from the earliest
      period_start to the latest period_end, both included; half up to 6 places (a demand
      line's precision);
    - current unit price: total amount / total quantity, half up to 4 places;
    - current supplier: the supplier of the latest invoice (latest period_end, then latest
      period_start, then the later in `lines`)."""
    if not lines:
        return "no spend"
    first = min(line.period_start for line in lines)
    last = max(line.period_end for line in lines)
    days = (last - first).days + 1
    quantity = sum((line.quantity for line in lines), Decimal(0))
    amount = sum((line.amount for line in lines), Decimal(0))
    annual = WIDE.divide(WIDE.multiply(quantity, DAYS_A_YEAR), days).quantize(
        _QUANTITY_STEP, rounding=ROUND_HALF_UP, context=WIDE
    )
    if annual <= 0:
        return f"the annualised quantity rounds to 0 at {QUANTITY_PLACES} decimal places"
    if annual > QUANTITY_MAX:
        return f"the annualised quantity {annual} is more than {readable(QUANTITY_MAX)}"
    price = WIDE.divide(amount, quantity).quantize(
        _PRICE_STEP, rounding=ROUND_HALF_UP, context=WIDE
    )
    latest = max(range(len(lines)), key=lambda i: (lines[i].period_end, lines[i].period_start, i))
    return DemandFromSpend(
        quantity=tidy(annual),
        current_unit_price=tidy(price),
        current_supplier=lines[latest].supplier,
        first_day=first,
        last_day=last,
        days=days,
        invoices=len(lines),
    )

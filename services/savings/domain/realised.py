"""Savings achieved (realised): what schools were actually invoiced, against what their joint
contracts promised (docs/domain-rules.md, "Savings achieved"). Pure rules, the standard library
only.

A spend line belongs to the school's joint contract for its category whose supply window holds
its `period_start`: on contract (the contract's supplier), off contract (another supplier), or
uncontracted (no contract covers it). Every money figure is computed exactly and rounded to
pence, half up, once per line; every total adds rounded lines. Unit prices (A / x) are exact
fractions until they are shown, rounded half up to UNIT_PRICE_PLACES.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, localcontext
from enum import StrEnum
from fractions import Fraction
from uuid import UUID

from shared.domain.errors import Invalid
from shared.domain.money import to_pence
from shared.domain.ranges import WIDE

# Recorded on every spend line with its classification; bump it whenever a rule or its rounding
# changes.
RULE_VERSION = "realised-2026.1"

UNIT_PRICE_PLACES = 6
"""Unit prices paid (A / x) are shown rounded half up to 6 places (a ten-thousandth of a penny:
energy is priced to a thousandth of a penny per kWh); computed with, they stay exact."""
QUANTITY_PLACES = 2
"""An annualised quantity is shown rounded half up to 2 places; compared, it stays exact."""
DAYS_PER_YEAR = 365

ZERO = Decimal("0.00")


class InvalidSpend(Invalid):
    """A spend line no rule can classify (the demand service refuses these at the door)."""


class Status(StrEnum):
    """How a spend line stands: bought on a joint contract that covers it, from another
    supplier while one covers it, or with no joint contract covering it."""

    ON_CONTRACT = "on_contract"
    OFF_CONTRACT = "off_contract"
    UNCONTRACTED = "uncontracted"


@dataclass(frozen=True)
class Contract:
    """One school's line in a joint contract (its ledger entry): the window its supply runs in
    (both days included), the contract's supplier and prices."""

    entry_id: UUID
    tender_id: UUID
    lot: int | None
    supplier_id: str
    supply_start: date
    supply_end: date
    baseline_unit_price: Decimal
    unit_price: Decimal


@dataclass(frozen=True)
class Spend:
    """What a school was invoiced: quantity x in the category's unit, amount A in GBP ex VAT."""

    supplier: str
    period_start: date
    period_end: date
    quantity: Decimal
    amount: Decimal


@dataclass(frozen=True, kw_only=True)
class LineFigures:
    """A spend line's figures under its classification, in pence; None where the rule for its
    status has none. Named, never in order: they are the fields of a classification and of a
    stored line alike."""

    baseline_cost: Decimal | None = None
    contract_cost: Decimal | None = None
    realised_saving: Decimal | None = None
    expected_saving: Decimal | None = None
    price_variance: Decimal | None = None
    off_contract_spend: Decimal | None = None
    leakage: Decimal | None = None


@dataclass(frozen=True)
class Classified(LineFigures):
    """A spend line's classification and its figures."""

    status: Status
    contract: Contract | None


def same_supplier(a: str, b: str) -> bool:
    """Supplier ids compare without regard to case or surrounding spaces."""
    return a.strip().casefold() == b.strip().casefold()


def check(spend: Spend) -> None:
    """InvalidSpend unless the line can be classified: a quantity above 0, an amount to the
    penny and a period that ends on or after its start."""
    errors = []
    if spend.quantity <= 0:
        errors.append(("quantity", "must be above 0"))
    if spend.amount != spend.amount.quantize(Decimal("0.01"), context=WIDE):
        errors.append(("amount", "must have at most 2 decimal places"))
    if spend.period_end < spend.period_start:
        errors.append(("period_end", "must be on or after period_start"))
    if errors:
        raise InvalidSpend("the spend line cannot be classified", errors=errors)


def covering(spend: Spend, contracts: Iterable[Contract]) -> Contract | None:
    """The contract whose supply window holds the line's period_start, among the school's
    contracts for the line's category. Where several do (two lines of the school in one award,
    or overlapping contracts), one with the line's supplier first, then the one whose supply
    started last, then the lowest (tender, lot, entry), so the choice never depends on order."""
    candidates = [c for c in contracts if c.supply_start <= spend.period_start <= c.supply_end]
    if not candidates:
        return None
    return min(
        candidates,
        key=lambda c: (
            not same_supplier(c.supplier_id, spend.supplier),
            -c.supply_start.toordinal(),
            str(c.tender_id),
            -1 if c.lot is None else c.lot,
            str(c.entry_id),
        ),
    )


def classify(spend: Spend, contracts: Iterable[Contract]) -> Classified:
    """The line against the school's contracts for its category (docs/domain-rules.md, "Savings
    achieved"), each figure exact and then rounded to pence once."""
    check(spend)
    contract = covering(spend, contracts)
    if contract is None:
        return Classified(Status.UNCONTRACTED, None)
    x, amount = spend.quantity, spend.amount
    b, p = contract.baseline_unit_price, contract.unit_price
    with localcontext(WIDE):
        baseline_cost = x * b
        contract_cost = x * p
        if same_supplier(spend.supplier, contract.supplier_id):
            return Classified(
                Status.ON_CONTRACT,
                contract,
                baseline_cost=to_pence(baseline_cost),
                contract_cost=to_pence(contract_cost),
                realised_saving=to_pence(baseline_cost - amount),
                expected_saving=to_pence(x * (b - p)),
                price_variance=to_pence(amount - contract_cost),
            )
        return Classified(
            Status.OFF_CONTRACT,
            contract,
            baseline_cost=to_pence(baseline_cost),
            contract_cost=to_pence(contract_cost),
            off_contract_spend=to_pence(amount),
            leakage=to_pence(amount - contract_cost),
        )


# --- totals -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Line(LineFigures):
    """A classified spend line as stored, with its figures: what the totals are made of."""

    school_urn: str
    category: str
    status: Status
    tender_id: UUID | None
    lot: int | None
    period_start: date
    period_end: date
    quantity: Decimal
    amount: Decimal


# The money figures of a school's (and the trust's) realised savings, in the order shown.
FIGURES = (
    "contract_spend",
    "realised_saving",
    "expected_saving",
    "price_variance",
    "off_contract_spend",
    "leakage",
)


@dataclass(frozen=True)
class Totals:
    """Sums of rounded lines. contract_spend: the amount invoiced on contract."""

    contract_spend: Decimal = ZERO
    realised_saving: Decimal = ZERO
    expected_saving: Decimal = ZERO
    price_variance: Decimal = ZERO
    off_contract_spend: Decimal = ZERO
    leakage: Decimal = ZERO


def line_figures(line: Line) -> Totals:
    """One line's contribution to the totals: its rounded figures, 0 where it has none."""
    if line.status is Status.ON_CONTRACT:
        return Totals(
            contract_spend=line.amount,
            realised_saving=_given(line.realised_saving),
            expected_saving=_given(line.expected_saving),
            price_variance=_given(line.price_variance),
        )
    if line.status is Status.OFF_CONTRACT:
        return Totals(
            off_contract_spend=_given(line.off_contract_spend), leakage=_given(line.leakage)
        )
    return Totals()


def totals(lines: Iterable[Line]) -> Totals:
    """Each figure summed over the lines' rounded figures."""
    parts = [line_figures(line) for line in lines]
    return Totals(
        **{name: sum((getattr(p, name) for p in parts), ZERO) for name in FIGURES},
    )


def by_school(lines: Iterable[Line]) -> dict[str, Totals]:
    """Each school's totals, by URN in order; every school with a spend line is there."""
    schools: dict[str, list[Line]] = {}
    for line in lines:
        schools.setdefault(line.school_urn, []).append(line)
    return {urn: totals(schools[urn]) for urn in sorted(schools)}


def _given(figure: Decimal | None) -> Decimal:
    if figure is None:
        raise ValueError("a classified line lacks a figure its status has")
    return figure


# --- uncontracted spend -------------------------------------------------------------------------


def unit_price(line: Line) -> Fraction:
    """What the line paid per unit, A / x, exactly."""
    return Fraction(line.amount) / Fraction(line.quantity)


def rounded(value: Fraction, places: int) -> Decimal:
    """`value` rounded half up (away from zero on a tie) to `places` decimal places."""
    scaled = abs(value) * 10**places
    whole = int(scaled)
    if scaled - whole >= Fraction(1, 2):
        whole += 1
    return Decimal(-whole if value < 0 else whole).scaleb(-places, WIDE)


def median(values: Sequence[Fraction]) -> Fraction:
    """The middle value; with an even count, the mean of the middle two."""
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def opportunity(line: Line, lowest: Fraction) -> Decimal:
    """One uncontracted line's price-spread opportunity, A - x m (m: the lowest unit price paid
    in the category, exact), rounded to pence."""
    return rounded(Fraction(line.amount) - Fraction(line.quantity) * lowest, 2)


@dataclass(frozen=True)
class Uncontracted:
    """A category's uncontracted spend. Unit prices rounded for showing; the opportunity is the
    sum of each line's, rounded per line from the exact lowest price."""

    category: str
    schools: int
    quantity: Decimal
    amount: Decimal
    lowest_unit_price: Decimal
    median_unit_price: Decimal
    highest_unit_price: Decimal
    opportunity: Decimal


def lowest_prices(lines: Iterable[Line]) -> dict[str, Fraction]:
    """The lowest unit price paid in each category's uncontracted lines, exactly."""
    lowest: dict[str, Fraction] = {}
    for line in lines:
        if line.status is Status.UNCONTRACTED:
            price = unit_price(line)
            if line.category not in lowest or price < lowest[line.category]:
                lowest[line.category] = price
    return lowest


def uncontracted(lines: Iterable[Line]) -> list[Uncontracted]:
    """Per category (in order), the uncontracted lines' schools, quantity, amount, lowest,
    median and highest unit price, and the price-spread opportunity against the lowest."""
    categories: dict[str, list[Line]] = {}
    for line in lines:
        if line.status is Status.UNCONTRACTED:
            categories.setdefault(line.category, []).append(line)
    out = []
    for category in sorted(categories):
        group = categories[category]
        prices = [unit_price(line) for line in group]
        lowest = min(prices)
        out.append(
            Uncontracted(
                category=category,
                schools=len({line.school_urn for line in group}),
                quantity=sum((line.quantity for line in group), Decimal(0)),
                amount=sum((line.amount for line in group), ZERO),
                lowest_unit_price=rounded(lowest, UNIT_PRICE_PLACES),
                median_unit_price=rounded(median(prices), UNIT_PRICE_PLACES),
                highest_unit_price=rounded(max(prices), UNIT_PRICE_PLACES),
                opportunity=sum((opportunity(line, lowest) for line in group), ZERO),
            )
        )
    return out


# --- tier at risk -------------------------------------------------------------------------------


def annualised_quantity(lines: Iterable[Line]) -> Fraction | None:
    """The quantity bought on a contract per year: sum of x x 365 / days, days counting from the
    earliest period_start to the latest period_end, both included. None without lines."""
    group = list(lines)
    if not group:
        return None
    start = min(line.period_start for line in group)
    end = max(line.period_end for line in group)
    days = (end - start).days + 1
    quantity = sum((Fraction(line.quantity) for line in group), Fraction(0))
    return quantity * DAYS_PER_YEAR / days


def tier_at_risk(annualised: Fraction | None, tier_minimum: Decimal | None) -> bool:
    """Below the minimum of the price tier the award used: the supplier may re-price. Never
    flagged without on-contract spend or without a known tier minimum (older awards)."""
    if annualised is None or tier_minimum is None:
        return False
    return annualised < Fraction(tier_minimum)


@dataclass(frozen=True)
class ContractVolume:
    """A contract's annualised on-contract quantity (shown rounded) and its tier check."""

    annualised_quantity: Decimal | None
    tier_at_risk: bool


def contract_volume(lines: Iterable[Line], tier_minimum: Decimal | None) -> ContractVolume:
    """The contract's on-contract lines annualised, compared (exactly) with its tier minimum."""
    annualised = annualised_quantity(line for line in lines if line.status is Status.ON_CONTRACT)
    return ContractVolume(
        None if annualised is None else rounded(annualised, QUANTITY_PLACES),
        tier_at_risk(annualised, tier_minimum),
    )

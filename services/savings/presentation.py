"""How savings read to people: the same words and figures on the dashboard and in the CLI.

A negative saving is a cost increase; it is named as one, never hidden in a total.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

from services.savings.domain.ledger import is_increase
from services.savings.realised import RealisedFigures
from services.savings.reports import Figures

# The shared formatters, re-exported for the dashboard's pages (services/savings/pages.py and
# realised_pages.py import them from here); other modules import shared.presentation itself.
from shared.presentation import LOCAL as LOCAL
from shared.presentation import MINUS as MINUS
from shared.presentation import category_name as category_name
from shared.presentation import local_time as local_time
from shared.presentation import long_date as long_date
from shared.presentation import money as money
from shared.presentation import price as shared_price
from shared.presentation import quantity as quantity


def whole_pounds(amount: Decimal) -> str:
    """For chart axes: £12,000."""
    sign = MINUS if amount < 0 else ""
    return f"{sign}£{abs(amount):,.0f}"


def unit_price(price: Decimal, unit: str) -> str:
    """£0.2350/kWh: unit prices keep their own precision."""
    return f"£{price:f}/{unit}"


def _compact(amount: Decimal) -> str:
    size = abs(amount)
    for limit, suffix in ((Decimal(1_000_000), "m"), (Decimal(1_000), "k")):
        if size >= limit:
            return f"{(size / limit).normalize():f}{suffix}"
    return f"{size.normalize():f}"


def compact_pounds(amount: Decimal) -> str:
    """For small chart axes: £1.5k, £250."""
    return f"{MINUS if amount < 0 else ''}£{_compact(amount)}"


def compact_quantity(amount: Decimal) -> str:
    """For small chart axes: 600k, 1.5m."""
    return f"{MINUS if amount < 0 else ''}{_compact(amount)}"


def percent(pct: Decimal | None) -> str:
    """12.63%; n/a when there was no baseline cost to compare with."""
    if pct is None:
        return "n/a"
    sign = MINUS if pct < 0 else ""
    return f"{sign}{abs(pct)}%"


def period(start: date, end: date) -> str:
    """An invoice's period as GOV.UK writes a date range: 1 to 30 April 2027, 1 April to 30 June
    2027, 31 March 2027 to 29 April 2027; one day alone: 1 April 2027."""
    if start == end:
        return long_date(start)
    if start.year != end.year:
        return f"{long_date(start)} to {long_date(end)}"
    if start.month != end.month:
        return f"{start.day} {start:%B} to {long_date(end)}"
    return f"{start.day} to {long_date(end)}"


def price_paid(price: Decimal, unit: str) -> str:
    """A unit price paid (amount / quantity, to 6 places) without its trailing zeros, but to
    the penny at least: £0.2875/kWh, £2.30/m3."""
    return f"{shared_price(price)}/{unit}"


def count(number: int, noun: str, plural: str | None = None) -> str:
    """1 school, 2 schools; 1 joint contract; 0 lines. `plural` for nouns not made with -s."""
    return f"{number:,} {noun if number == 1 else plural or noun + 's'}"


def school_name(urn: str, name: str | None) -> str:
    return name or f"School {urn}"


Kind = Literal["saving", "increase", "pooling"]


def kind(saving: Decimal | None) -> Kind:
    """A saving or a cost increase (a percentage with no baseline counts as a saving)."""
    return "increase" if saving is not None and is_increase(saving) else "saving"


@dataclass(frozen=True)
class Headline:
    key: str
    label: str
    value: str
    note: str
    # What the figure is: a saving, a cost increase, or the part pooling alone contributed.
    kind: Kind


def headlines(summary: Figures, one_contract: bool = False) -> list[Headline]:
    """The headline figures of a trust (or of one contract), in the order trustees read them."""
    annual, term = summary.annual_saving, summary.term_saving
    pct = summary.saving_pct
    if one_contract:
        joint, terms = "contract", "the contract's term"
        over = "the yearly figure times the term"
    else:
        joint, terms = "contracts", "the contracts' terms"
        over = "each contract's yearly figure times its term"
    return [
        Headline(
            "annual-saving",
            "Cost increase per year" if is_increase(annual) else "Saving per year",
            money(abs(annual)),
            f"{money(summary.annual_baseline_cost)} a year at today's prices,"
            f" {money(summary.annual_contract_cost)} under the joint {joint}",
            kind(annual),
        ),
        Headline(
            "term-saving",
            f"Cost increase over {terms}" if is_increase(term) else f"Saving over {terms}",
            money(abs(term)),
            over,
            kind(term),
        ),
        Headline(
            "saving-pct",
            "Increase on today's costs" if kind(pct) == "increase" else "Saving on today's costs",
            percent(abs(pct) if pct is not None else None),
            "the yearly figure as a share of today's yearly cost",
            kind(pct),
        ),
        Headline(
            "pooling-saving",
            "Pooling alone contributed, per year",
            money(summary.economy_of_scale),
            "the joint price against each school buying the same contract alone"
            + (POOLING_ABOVE_SAVING if summary.economy_of_scale > annual else ""),
            "pooling",
        ),
    ]


# Why the part pooling made possible can be larger than the whole saving.
POOLING_ABOVE_SAVING = (
    "; more than the saving because it is measured against buying alone, not against today's"
    " prices: a school already paying less than the joint price still gains from pooling"
)


def saving_note(saving: Decimal) -> str:
    """What a table shows next to a figure that is a cost increase."""
    return "cost increase" if is_increase(saving) else ""


def realised_headlines(f: RealisedFigures, contract_spend: Decimal) -> list[Headline]:
    """The headline figures of savings achieved: realised against promised on the volume
    actually bought, what was billed above the contracts' prices, and what was bought off them."""
    realised, expected = f.realised_saving, f.expected_saving
    variance, leakage = f.price_variance, f.leakage
    if is_increase(leakage):
        leaked = f"{money(-leakage)} less than the contracts' prices: found cheaper elsewhere"
    else:
        leaked = f"leakage {money(leakage)}: what buying it on the contracts would have saved"
    return [
        Headline(
            "realised-saving",
            "Realised cost increase" if is_increase(realised) else "Realised saving",
            money(abs(realised)),
            "the schools' own prices before the contracts, on the quantities invoiced on"
            f" contract, less the {money(contract_spend)} invoiced",
            kind(realised),
        ),
        Headline(
            "expected-saving",
            "Promised cost increase on the volume bought"
            if is_increase(expected)
            else "Promised on the volume bought",
            money(abs(expected)),
            "the contracts' prices against the schools' own prices, on the same quantities",
            "pooling",
        ),
        Headline(
            "price-variance",
            "Billed below the contracts' prices"
            if is_increase(variance)
            else "Billed above the contracts' prices",
            money(abs(variance)),
            "invoiced on contract against the contracted prices, net; each invoice above them"
            " is listed to chase",
            "increase" if variance > 0 else "saving",
        ),
        Headline(
            "off-contract-spend",
            "Bought off contract",
            money(f.off_contract_spend),
            leaked,
            "increase" if leakage > 0 else "saving",
        ),
    ]

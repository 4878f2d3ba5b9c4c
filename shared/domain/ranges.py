"""The range of every money, quantity and date field a caller can send, in one place.

Every way in (HTTP JSON, CSV rows, the Kafka ingress, bids, the registry file) uses these, so a
value that is accepted at the edge always fits every column and computation downstream; an
out-of-range value is refused there, naming the field, and never reaches a consumer.

The arithmetic behind the ranges (q: a line's annual quantity, b: its baseline unit price,
p: a bid's unit price, T: term in months):

- One line, in the category's unit: 0 < q <= 100,000,000 and 0 <= b, p <= 1,000,000 GBP, so
  every annual figure of the ledger (q x b, q x p, their difference, q x (solo - pooled)) is at
  most 1e14 in size, and the term saving (x T / 12, T <= 120) at most 1e15: ten times inside
  the ledger's NUMERIC(18, 2) columns (below 1e16).
- Saving % = (1 - p / b) x 100. The smallest positive baseline is 0.0001 as sent; a unit
  conversion (1 GWh = 1,000,000 kWh) can make it 1e-10 per canonical unit, which is as far as
  CANONICAL_PRICE_PLACES lets it go, so |saving %| <= 100 x 1e6 / 1e-10 = 1e18: the savings
  column is NUMERIC(21, 2) (below 1e19). A zero baseline has no percentage (None).
- A pool sums lines: its estimated value is sum(q x b) x T / 12 plus VAT, at most about
  1.2e15 per line. Tendering keeps values in unconstrained NUMERIC columns and computes with
  the WIDE context (60 digits), so even ten million lines are exact; pooled quantities are
  compared with bid tiers whose minimum is at most TIER_QUANTITY_MAX (1e15: ten million lines
  at the maximum quantity).
- Products of these values have at most 9 + 9 + 7 + 10 = 35 significant digits (a quantity of
  up to 8 integer digits and 9 places once converted, a price of up to 7 integer digits and 10
  places), more than Python's default 28: figures are computed in WIDE and rounded once.
- Dates: a contract end from 2000-01-01 to 5 years ahead; a tender closes at most a year
  ahead. Supply starts after the contract end and runs at most 120 months, so every date a
  consumer derives stays far inside Python's and PostgreSQL's date range.
"""

import re
from datetime import date
from decimal import Context, Decimal

# --- the ranges -------------------------------------------------------------------------------

QUANTITY_MAX = Decimal(100_000_000)
"""A demand line's annual quantity, in the unit sent and in its category's unit: above 0."""
QUANTITY_PLACES = 6
CANONICAL_QUANTITY_PLACES = 9
"""Once converted (1 Wh = 0.001 kWh), a quantity may have up to three more places."""

PRICE_MAX = Decimal(1_000_000)
"""A unit price (GBP ex VAT), a school's baseline (0 allowed) or a bid's (above 0)."""
PRICE_PLACES = 4
CANONICAL_PRICE_PLACES = 10
"""Once converted (a price per GWh / 1,000,000 per kWh), a price may have up to 10 places."""

TERM_MONTHS_MIN, TERM_MONTHS_MAX = 1, 120

TIER_QUANTITY_MAX = Decimal(10**15)
"""A bid tier's minimum pooled annual quantity: from 0, up to ten million maximal lines."""
TIER_QUANTITY_PLACES = 6

WEIGHT_PLACES = 4
"""Evaluation weights: each from 0 to 1, with at most 4 places (they must add up to 1)."""
QUALITY_MAX = Decimal(100)
QUALITY_PLACES = 2

EARLIEST_CONTRACT_END = date(2000, 1, 1)
"""A current contract that ended before this is not a contract end: refused."""
MAX_YEARS_AHEAD = 5
"""A contract end at most this many years after today (UTC)."""
MAX_CLOSING_DAYS_AHEAD = 366
"""A tender's bidding period ends at most a year after it is opened."""

PUPILS_MAX = 100_000
"""GIAS NumberOfPupils: a whole number from 0 (the largest schools have a few thousand)."""

WIDE = Context(prec=60)
"""Wide enough that sums and products of accepted values are exact before rounding to pence."""


def readable(value: Decimal) -> str:
    """A decimal in words: 1,000,000 rather than 1E+6."""
    return f"{value:,f}"


def places(value: Decimal) -> int:
    """How many decimal places `value` needs (1.50 needs 1; 1E+3 needs 0)."""
    exponent = value.normalize(WIDE).as_tuple().exponent
    assert isinstance(exponent, int), "finite values only"
    return max(0, -exponent)


def canonical_refusal(
    quantity: Decimal | None, price: Decimal | None, unit: str, canonical: str
) -> tuple[str, str] | None:
    """(field, reason) when a quantity or price converted to its category's unit leaves its
    range, or None. `quantity` and `price` are the converted values."""
    if quantity is not None:
        if quantity > QUANTITY_MAX:
            return "quantity", (
                f"must be at most {readable(QUANTITY_MAX)} {canonical} once converted from {unit}"
            )
        if places(quantity) > CANONICAL_QUANTITY_PLACES:
            return "quantity", (
                f"has more than {CANONICAL_QUANTITY_PLACES} decimal places once converted to"
                f" {canonical}; send it in {canonical}"
            )
    if price is not None:
        if price > PRICE_MAX:
            return "current_unit_price", (
                f"must be at most {readable(PRICE_MAX)} GBP per {canonical} once converted from"
                f" {unit}"
            )
        if places(price) > CANONICAL_PRICE_PLACES:
            return "current_unit_price", (
                f"has more than {CANONICAL_PRICE_PLACES} decimal places once converted to a price"
                f" per {canonical}; send it per {canonical}"
            )
    return None


_WHOLE = re.compile(r"[0-9]+")


def pupils_refusal(text: str) -> str | None:
    """Why a NumberOfPupils value is refused, or None."""
    if not _WHOLE.fullmatch(text):
        return "not a whole number (ASCII digits 0-9)"
    # By length first: int() refuses strings of more than 4,300 digits.
    if len(text.lstrip("0")) > len(str(PUPILS_MAX)) or int(text) > PUPILS_MAX:
        return f"must be at most {PUPILS_MAX:,}"
    return None

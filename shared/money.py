"""Money and quantities are Decimal; rounding to pence happens once, at the end of each figure."""

from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer

from shared.bounds import WIDE

PENNY = Decimal("0.01")


def to_pence(amount: Decimal) -> Decimal:
    """Round a money figure to pence, half up (0.005 -> 0.01). In the WIDE context: the
    default one (28 digits) cannot hold a figure of 26 digits or more in pence."""
    return amount.quantize(PENNY, rounding=ROUND_HALF_UP, context=WIDE)


def percentage(part: Decimal, whole: Decimal) -> Decimal | None:
    """part / whole as a percentage to two places, half up; None when whole is zero."""
    if whole == 0:
        return None
    return WIDE.multiply(WIDE.divide(part, whole), 100).quantize(
        PENNY, rounding=ROUND_HALF_UP, context=WIDE
    )


def _refuse_float(value: object) -> object:
    # A JSON number with a fraction arrives as a binary float and may already be inexact.
    if isinstance(value, float):
        raise ValueError('send decimals as strings (for example "0.1450"), not JSON numbers')
    return value


# Money and quantities on the wire: a decimal string or an integer, never a float. NOT_FLOAT
# goes after a Decimal's own constraints (gt, max_digits), which pydantic-core then checks itself.
NOT_FLOAT = BeforeValidator(_refuse_float)
DecimalInput = Annotated[Decimal, NOT_FLOAT]


def plain(value: Decimal) -> str:
    """A decimal string without exponent: PostgreSQL's 120000 can come back as Decimal('1.2E+5')."""
    text = str(value)  # the same string, unless it has an exponent; str is the faster
    return format(value, "f") if "E" in text else text


# Money and quantities going out (events, HTTP responses): always a plain decimal string.
Amount = Annotated[Decimal, PlainSerializer(plain, return_type=str, when_used="json")]

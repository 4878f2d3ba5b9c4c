"""Money arithmetic: Decimal only; rounding to pence happens once, at the end of each figure."""

from decimal import ROUND_HALF_UP, Decimal

from shared.domain.ranges import WIDE

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


def plain(value: Decimal) -> str:
    """A decimal string without exponent: PostgreSQL's 120000 can come back as Decimal('1.2E+5')."""
    text = str(value)  # the same string, unless it has an exponent; str is the faster
    return format(value, "f") if "E" in text else text

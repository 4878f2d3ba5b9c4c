"""How money, quantities, dates and times read to people on every service's pages and in the
CLI, in GOV.UK style: £1,234.56, 420,000 kWh, 1 April 2027, 1 April 2027 at 2:05pm (BST)."""

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from shared.domain.categories import categories

MINUS = "\u2212"
# The trusts are in England: times are shown as the clocks there read (GMT or BST).
LOCAL = ZoneInfo("Europe/London")


def money(amount: Decimal) -> str:
    """£1,234.56; a negative amount with a minus sign (U+2212), as typeset: -£200.00."""
    sign = MINUS if amount < 0 else ""
    return f"{sign}£{abs(amount):,.2f}"


def price(amount: Decimal) -> str:
    """A unit price with its own digits but to the penny at least: £0.2875, £2.30."""
    pence = amount.quantize(Decimal("0.01"))
    return f"£{pence if pence == amount else amount.normalize():,f}"


def quantity(amount: Decimal, unit: str | None = None) -> str:
    """420,000 kWh: thousands separated, no trailing zeros."""
    text = f"{amount.normalize():,f}"
    return f"{text} {unit}" if unit else text


def long_date(day: date) -> str:
    """1 April 2027."""
    return f"{day.day} {day:%B %Y}"


def local_time(moment: datetime) -> str:
    """An instant as UK clocks read it, in GOV.UK style: 1 April 2027 at 2:05pm (BST); 12:00 is
    "midday" and 00:00 "midnight"."""
    local = moment.astimezone(LOCAL)
    if (local.hour, local.minute) == (12, 0):
        clock = "midday"
    elif (local.hour, local.minute) == (0, 0):
        clock = "midnight"
    else:
        clock = f"{local.hour % 12 or 12}:{local.minute:02d}{'am' if local.hour < 12 else 'pm'}"
    return f"{long_date(local.date())} at {clock} ({local.tzname()})"


def category_name(code: str) -> str:
    """The category's name from the categories file; a trust's own category by its code."""
    known = categories().get(code)
    return known.name if known else code.replace("_", " ").capitalize()

"""What a manager types into the tender forms, read as the tendering API wants it: the
closing date and time (UK time, GOV.UK date input), whole months, percentages, quality scores.
Each reader answers the value, or the message to show at the field (GOV.UK error wording)."""

from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

# The trusts are in England: people type times as the clocks there read them.
UK = ZoneInfo("Europe/London")
MAX_TEXT = 12


def _whole(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isdigit() and len(text) <= 4 else None


def closing_time(day: str, month: str, year: str, clock: str) -> datetime | str:
    """The instant bids close (UTC), from a UK date and a 24-hour time "17:00" (seconds
    allowed: "17:00:30"); or what is wrong with them."""
    if not (day.strip() or month.strip() or year.strip()):
        return "Enter the date bids close"
    parts = [_whole(day), _whole(month), _whole(year)]
    if None in parts:
        return "The date bids close must be a real date, for example 27 3 2027"
    d, m, y = (p for p in parts if p is not None)
    try:
        on = date(y, m, d)
    except ValueError:
        return "The date bids close must be a real date, for example 27 3 2027"
    pieces = clock.strip().split(":")
    if not clock.strip():
        return "Enter the time bids close"
    numbers = [n for n in (_whole(p) for p in pieces) if n is not None]
    if not 2 <= len(pieces) <= 3 or len(numbers) != len(pieces):
        return "Enter the time bids close using the 24-hour clock, for example 17:00"
    try:
        at = time(numbers[0], numbers[1], numbers[2] if len(numbers) == 3 else 0)
    except ValueError:
        return "Enter the time bids close using the 24-hour clock, for example 17:00"
    return datetime.combine(on, at, UK).astimezone(UTC)


def months(text: str) -> int | str:
    """Whole months, or what is wrong."""
    number = _whole(text)
    if number is None:
        return "Contract term must be a whole number of months, like 24"
    return number


def percent(text: str, what: str) -> Decimal | str:
    """A percentage as a fraction (70 is 0.7), or what is wrong."""
    try:
        value = Decimal(text.strip()) if len(text.strip()) <= MAX_TEXT else None
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite() or not 0 <= value <= 100:
        return f"{what} weight must be a percentage from 0 to 100"
    return (value / 100).normalize()


def weights(price: str, quality: str) -> tuple[Decimal, Decimal] | tuple[str, str]:
    """The price and quality weights as fractions; else the message for each field ('' where
    that field is right)."""
    p, q = percent(price, "Price"), percent(quality, "Quality")
    if isinstance(p, str) or isinstance(q, str):
        return (p if isinstance(p, str) else "", q if isinstance(q, str) else "")
    if p + q != 1:
        return ("Price and quality weights must add up to 100", "")
    return p, q


def quality_score(text: str, supplier: str) -> Decimal | str:
    """A quality score from 0 to 100, or what is wrong."""
    wrong = f"Quality score for {supplier} must be a number from 0 to 100"
    if not text.strip():
        return f"Enter a quality score for {supplier}"
    try:
        value = Decimal(text.strip()) if len(text.strip()) <= MAX_TEXT else None
    except InvalidOperation:
        return wrong
    if value is None or not value.is_finite() or not 0 <= value <= 100:
        return wrong
    return value

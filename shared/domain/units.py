"""Units a quantity may be sent in, and their exact conversion to a category's canonical unit.

Read from `units.csv` beside this module (`PROCURE_UNITS_FILE` points at another): each row says
one `unit` is `factor` of `canonical` (1 MWh = 1000 kWh). A canonical unit needs no row. A unit
price converts the other way (a price per MWh / 1000 = a price per kWh); a conversion that would
not be exact is refused rather than rounded, so no money is invented or lost.
"""

import csv
import os
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Context, Decimal, Inexact, InvalidOperation
from functools import cache
from pathlib import Path

DEFAULT_FILE = Path(__file__).with_name("units.csv")
# Wide enough that every product of a valid quantity and a factor is exact.
_EXACT = Context(prec=60, traps=[Inexact, InvalidOperation])


class ConversionError(ValueError):
    pass


@dataclass(frozen=True)
class Unit:
    symbol: str
    canonical: str
    factor: Decimal
    name: str


def parse_units(path: Path) -> dict[str, Unit]:
    units: dict[str, Unit] = {}
    with path.open(newline="", encoding="utf-8") as f:
        for line, row in enumerate(csv.DictReader(f), start=2):
            try:
                factor = Decimal(row["factor"])
            except InvalidOperation as exc:
                raise ValueError(f"{path}:{line}: factor is not a decimal") from exc
            if not factor.is_finite() or factor <= 0:
                raise ValueError(f"{path}:{line}: factor must be a positive decimal")
            if row["unit"] in units:
                raise ValueError(f"{path}:{line}: unit {row['unit']} appears twice")
            units[row["unit"]] = Unit(row["unit"], row["canonical"], factor, row["name"])
    return units


@cache
def units() -> dict[str, Unit]:
    return parse_units(Path(os.environ.get("PROCURE_UNITS_FILE", DEFAULT_FILE)))


def factor_to(unit: str, canonical: str) -> Decimal | None:
    """How many `canonical` units one `unit` is; None when the two are not compatible."""
    if unit == canonical:
        return Decimal(1)
    known = units().get(unit)
    if known is None or known.canonical != canonical:
        return None
    return known.factor


def accepted_units(canonical: str) -> list[str]:
    """The canonical unit first, then every unit that converts to it."""
    return [canonical, *(u.symbol for u in units().values() if u.canonical == canonical)]


def tidy(value: Decimal) -> Decimal:
    """The same number without trailing fractional zeros (1.50 -> 1.5, 1.0E+3 -> 1000)."""
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()


def convert_quantity(quantity: Decimal, factor: Decimal) -> Decimal:
    return _convert(_EXACT.multiply, quantity, factor, "quantity")


def convert_unit_price(price: Decimal, factor: Decimal) -> Decimal:
    return _convert(_EXACT.divide, price, factor, "unit price")


def _convert(
    operation: Callable[[Decimal, Decimal], Decimal], value: Decimal, factor: Decimal, what: str
) -> Decimal:
    if factor == 1:
        return value
    try:
        return tidy(operation(value, factor))
    except (Inexact, InvalidOperation) as exc:
        raise ConversionError(f"the {what} cannot be converted exactly") from exc

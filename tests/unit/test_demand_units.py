"""Units: exact conversion of quantities and unit prices to a category's canonical unit."""

from decimal import Decimal
from pathlib import Path

import pytest

from shared.domain.units import (
    ConversionError,
    accepted_units,
    convert_quantity,
    convert_unit_price,
    factor_to,
    parse_units,
    tidy,
)


def test_the_canonical_unit_converts_to_itself_by_one() -> None:
    assert factor_to("kWh", "kWh") == 1
    assert factor_to("seat-year", "seat-year") == 1  # no row needed for a canonical unit


@pytest.mark.parametrize(
    ("unit", "canonical", "factor"),
    [
        ("MWh", "kWh", Decimal(1000)),
        ("GWh", "kWh", Decimal(1000000)),
        ("Wh", "kWh", Decimal("0.001")),
        ("litre", "m3", Decimal("0.001")),
        ("l", "m3", Decimal("0.001")),
        ("Ml", "m3", Decimal(1000)),
        ("m³", "m3", Decimal(1)),
    ],
)
def test_compatible_units(unit: str, canonical: str, factor: Decimal) -> None:
    assert factor_to(unit, canonical) == factor


@pytest.mark.parametrize(
    ("unit", "canonical"),
    [("MWh", "m3"), ("litre", "kWh"), ("kwh", "kWh"), ("mWh", "kWh"), ("hour", "kWh")],
)
def test_incompatible_units(unit: str, canonical: str) -> None:
    # Units are case-sensitive: mWh (milliwatt-hour) is not MWh, and kwh is not a symbol.
    assert factor_to(unit, canonical) is None


def test_accepted_units_list_the_canonical_unit_first() -> None:
    assert accepted_units("kWh") == ["kWh", "Wh", "MWh", "GWh"]
    assert accepted_units("meal") == ["meal"]


def test_quantities_convert_exactly() -> None:
    # 145.5 MWh = 145.5 x 1000 = 145,500 kWh; 2,500 litres = 2,500 x 0.001 = 2.5 m3
    assert str(convert_quantity(Decimal("145.5"), Decimal(1000))) == "145500"
    assert str(convert_quantity(Decimal("2500"), Decimal("0.001"))) == "2.5"
    # 0.123456 GWh = 123,456 kWh, no rounding anywhere
    assert str(convert_quantity(Decimal("0.123456"), Decimal(1000000))) == "123456"


def test_unit_prices_convert_the_other_way() -> None:
    # 287.00 GBP per MWh = 287.00 / 1000 = 0.287 GBP per kWh
    assert str(convert_unit_price(Decimal("287.00"), Decimal(1000))) == "0.287"
    # 287.1234 GBP/MWh = 0.2871234 GBP/kWh: more places than sent, but exact
    assert str(convert_unit_price(Decimal("287.1234"), Decimal(1000))) == "0.2871234"
    # 0.0021 GBP per litre = 0.0021 x 1000 = 2.1 GBP per m3
    assert str(convert_unit_price(Decimal("0.0021"), Decimal("0.001"))) == "2.1"
    assert convert_unit_price(Decimal(0), Decimal(1000)) == 0


def test_a_conversion_that_would_round_is_refused() -> None:
    # A therm is 29.3071 kWh: 1 GBP per therm is 1 / 29.3071 GBP per kWh, a recurring decimal.
    with pytest.raises(ConversionError):
        convert_unit_price(Decimal(1), Decimal("29.3071"))
    # ... while its quantity converts exactly: 10 therms = 293.071 kWh
    assert str(convert_quantity(Decimal(10), Decimal("29.3071"))) == "293.071"


def test_the_canonical_unit_keeps_the_value_as_sent() -> None:
    assert str(convert_quantity(Decimal("100000"), Decimal(1))) == "100000"
    assert str(convert_unit_price(Decimal("0.2870"), Decimal(1))) == "0.2870"


def test_tidy() -> None:
    assert str(tidy(Decimal("1.50"))) == "1.5"
    assert str(tidy(Decimal("1.0E+3"))) == "1000"
    assert str(tidy(Decimal("0.0010"))) == "0.001"


def test_units_file_is_checked(tmp_path: Path) -> None:
    path = tmp_path / "units.csv"
    path.write_text("unit,canonical,factor,name\ntherm,kWh,29.3071,therm\n", encoding="utf-8")
    assert parse_units(path)["therm"].factor == Decimal("29.3071")
    for bad in ("x,kWh,0,zero", "x,kWh,-1,negative", "x,kWh,abc,word", "x,kWh,NaN,nan"):
        path.write_text(f"unit,canonical,factor,name\n{bad}\n", encoding="utf-8")
        with pytest.raises(ValueError, match="factor"):
            parse_units(path)
    path.write_text("unit,canonical,factor,name\nx,kWh,1,a\nx,kWh,2,b\n", encoding="utf-8")
    with pytest.raises(ValueError, match="twice"):
        parse_units(path)

"""Decimal fields on the wire: the ranges of shared/domain/ranges.py as pydantic-core schemas,
so that every way in (HTTP JSON, CSV rows, the Kafka ingress, bids) refuses an out-of-range value
naming the field, without a Python call per value."""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, core_schema

from shared.domain.ranges import (
    PRICE_MAX,
    PRICE_PLACES,
    QUALITY_MAX,
    QUALITY_PLACES,
    QUANTITY_MAX,
    QUANTITY_PLACES,
    TIER_QUANTITY_MAX,
    TIER_QUANTITY_PLACES,
    WEIGHT_PLACES,
    readable,
)

# --- decimal fields ---------------------------------------------------------------------------

# What a decimal string may look like: ASCII digits, an optional point, an optional exponent
# (a value in range, such as "1.45E+5", is the same exact number). No NaN, Infinity, digit
# separators or non-ASCII digits ("١٢" or "²"), which Python's Decimal would otherwise read.
DECIMAL_TEXT = r"^\s*[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?\s*$"
NOT_A_DECIMAL = (
    'must be a finite decimal such as "0.1450", in ASCII digits; NaN, Infinity and digit'
    " separators are refused"
)
# What the docs advertise: a plain decimal string (a JSON integer is fine too).
DECIMAL_JSON_SCHEMA: JsonSchemaValue = {
    "anyOf": [{"type": "string", "pattern": r"^\d+(\.\d+)?$"}, {"type": "integer"}]
}


def refusal(schema: CoreSchema, reason: str) -> CoreSchema:
    """`schema`, with any error it finds read as `reason`."""
    return core_schema.custom_error_schema(
        schema, custom_error_type="invalid_format", custom_error_message=reason
    )


@dataclass(frozen=True, eq=False)  # hashed by identity: Annotated hashes its metadata
class DecimalRange:
    """A Decimal field from `low` (or above it, when `low_exclusive`) to `high`, with at most
    `places` decimal places, checked in pydantic-core: no Python call per value.

    Put it first in `Annotated[Decimal, DecimalRange(...), NOT_FLOAT]`: NOT_FLOAT must see the
    raw input to refuse a JSON float with its own reason."""

    low: Decimal
    high: Decimal
    places: int
    low_exclusive: bool = False

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        form = refusal(
            core_schema.union_schema(
                [
                    core_schema.is_instance_schema(Decimal),
                    core_schema.int_schema(strict=True),
                    core_schema.str_schema(pattern=DECIMAL_TEXT),
                ]
            ),
            NOT_A_DECIMAL,
        )
        # pydantic's own messages for the lower bound ("Input should be greater than 0").
        low = (
            core_schema.decimal_schema(allow_inf_nan=False, gt=self.low)
            if self.low_exclusive
            else core_schema.decimal_schema(allow_inf_nan=False, ge=self.low)
        )
        high = refusal(
            core_schema.decimal_schema(le=self.high), f"must be at most {readable(self.high)}"
        )
        places = refusal(
            core_schema.decimal_schema(decimal_places=self.places),
            f"at most {self.places} decimal places",
        )
        return core_schema.chain_schema([form, low, high, places])

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return dict(DECIMAL_JSON_SCHEMA)

    @property
    def text(self) -> str:
        """The range in words, for descriptions and documentation."""
        above = "more than" if self.low_exclusive else "from"
        return (
            f"{above} {readable(self.low)} to {readable(self.high)},"
            f" at most {self.places} decimal places"
        )


QUANTITY = DecimalRange(Decimal(0), QUANTITY_MAX, QUANTITY_PLACES, low_exclusive=True)
BASELINE_PRICE = DecimalRange(Decimal(0), PRICE_MAX, PRICE_PLACES)
BID_PRICE = DecimalRange(Decimal(0), PRICE_MAX, PRICE_PLACES, low_exclusive=True)
TIER_QUANTITY = DecimalRange(Decimal(0), TIER_QUANTITY_MAX, TIER_QUANTITY_PLACES)
WEIGHT = DecimalRange(Decimal(0), Decimal(1), WEIGHT_PLACES)
QUALITY = DecimalRange(Decimal(0), QUALITY_MAX, QUALITY_PLACES)

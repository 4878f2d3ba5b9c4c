"""What a valid demand submission is, on every channel: JSON over HTTP, a CSV row, a record on
the Kafka ingress (docs/domain-rules.md, "Demand line"; docs/http-api.md; docs/events.md).

Edge parsing: pydantic models, checked in pydantic-core. The rules themselves (identifier
shapes, how far ahead a contract may end, the request fingerprint) are the domain's
(services/demand/domain/); the models read into the shapes it takes."""

import time
from collections.abc import Set
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, InitErrorDetails, PydanticCustomError, core_schema

from services.demand.domain.schools import TRUST_CODE_PATTERN, URN_PATTERN
from services.demand.domain.submissions import TOO_EARLY, TOO_FAR_AHEAD, latest_contract_end
from shared.bounds import BASELINE_PRICE, QUANTITY
from shared.domain.ranges import (
    EARLIEST_CONTRACT_END,
    MAX_YEARS_AHEAD,
    TERM_MONTHS_MAX,
    TERM_MONTHS_MIN,
    canonical_refusal,
)
from shared.domain.units import ConversionError, convert_quantity, convert_unit_price, units
from shared.money import NOT_FLOAT

# A genuine submission is well under 4 KB (notes are at most 2,000 characters).
MAX_SUBMISSION_BYTES = 64 * 1024

# Checked in pydantic-core (no Python call per field): these run for every line of the ingress.
_ONE_LINE = r"^[^\x00-\x1f\x7f]*$"
_NO_CONTROL = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"


def _refusal(schema: CoreSchema, reason: str) -> CoreSchema:
    """`schema`, with any error it finds read as `reason`."""
    return core_schema.custom_error_schema(
        schema, custom_error_type="invalid_format", custom_error_message=reason
    )


@dataclass(frozen=True, eq=False)  # hashed by identity: Annotated hashes its metadata
class _Check:
    """After the type's own validation, `schema` must also pass, else the field reads `reason`."""

    schema: CoreSchema
    reason: str

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        return core_schema.chain_schema([handler(source), _refusal(self.schema, self.reason)])

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        if pattern := self.schema.get("pattern"):
            json_schema["pattern"] = pattern
        return json_schema


def _matching(pattern: str, reason: str) -> _Check:
    return _Check(core_schema.str_schema(pattern=pattern), reason)


_ISO_DATE = _refusal(
    core_schema.union_schema(
        [
            core_schema.is_instance_schema(date),
            core_schema.str_schema(pattern=r"^\s*[0-9]{4}-[0-9]{2}-[0-9]{2}\s*$"),
        ]
    ),
    # Without this, pydantic reads "20270331" or 1700000000 as a Unix timestamp.
    "a date as YYYY-MM-DD",
)


class IsoDate:
    """Before the date is read: a date, or a string as YYYY-MM-DD."""

    @staticmethod
    def __get_pydantic_core_schema__(source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.chain_schema([_ISO_DATE, handler(source)])


_EPOCH = date(1970, 1, 1)


@lru_cache(maxsize=2)
def _latest_contract_end(utc_day: int) -> date:
    return latest_contract_end(_EPOCH + timedelta(days=utc_day))


def _within_5_years(value: date) -> date:
    # Today in UTC, as a day number: cheap enough for every line, and cached by it.
    if value > _latest_contract_end(int(time.time()) // 86_400):
        raise ValueError(TOO_FAR_AHEAD)
    return value


OneLine = _matching(_ONE_LINE, "must not contain control characters or line breaks")
Urn = Annotated[
    str,
    _matching(f"^{URN_PATTERN}$", "a URN is 6 digits"),
    Field(description="the school's 6-digit URN"),
]
TrustCode = Annotated[
    str,
    _matching(f"^{TRUST_CODE_PATTERN}$", "a trust code is digits (GIAS 'Trusts (code)')"),
    Field(description="the GIAS trust code"),
]
CategoryCode = Annotated[str, Field(min_length=1, max_length=64), OneLine]
UnitSymbol = Annotated[
    str,
    OneLine,
    Field(
        min_length=1,
        max_length=32,
        description="the unit of `quantity` and `current_unit_price`: the category's own unit"
        " or a compatible one (MWh for kWh), converted exactly",
    ),
]
# Ranges (shared/bounds.py) are checked in pydantic-core; the docs show a decimal string (a JSON
# integer is fine too), never a float.
Quantity = Annotated[
    Decimal,
    QUANTITY,
    NOT_FLOAT,
    Field(
        description=f"annual quantity, a decimal string: {QUANTITY.text}, in the unit sent"
        " and once converted to the category's unit"
    ),
]
Price = Annotated[
    Decimal,
    BASELINE_PRICE,
    NOT_FLOAT,
    Field(
        description="GBP ex VAT per `unit`, paid alone today; a decimal string:"
        f" {BASELINE_PRICE.text}, also once converted to a price per the category's unit"
    ),
]
Supplier = Annotated[str, Field(max_length=200), OneLine]
Notes = Annotated[
    str, Field(max_length=2000), _matching(_NO_CONTROL, "must not contain control characters")
]
ContractEnd = Annotated[
    date,
    IsoDate,
    _Check(
        core_schema.date_schema(ge=EARLIEST_CONTRACT_END),
        TOO_EARLY,
    ),
    AfterValidator(_within_5_years),
    Field(
        description="when the current contract ends (YYYY-MM-DD): from"
        f" {EARLIEST_CONTRACT_END.isoformat()} to {MAX_YEARS_AHEAD} years ahead"
    ),
]
TermMonths = Annotated[
    int,
    Field(
        ge=TERM_MONTHS_MIN,
        le=TERM_MONTHS_MAX,
        strict=True,
        description=f"wanted term, months: {TERM_MONTHS_MIN} to {TERM_MONTHS_MAX}",
    ),
]
SubmissionId = Annotated[
    str,
    Field(min_length=1, max_length=200, description="the sender's unique id of this submission"),
    OneLine,
]


def canonical_check(
    model: BaseModel, unit: str | None, quantity: Decimal | None, price: Decimal | None
) -> None:
    """Quantity and price sent in another unit (MWh for kWh) must also be in range once
    converted to the category's unit; raised as an error of that field. Units that need no
    conversion are a dictionary miss, so the ingress pays nearly nothing for this."""
    known = units().get(unit) if unit is not None else None
    if known is None:  # the canonical unit, or one the category check refuses later
        return
    try:
        q = None if quantity is None else convert_quantity(quantity, known.factor)
        p = None if price is None else convert_unit_price(price, known.factor)
    except ConversionError:
        return  # refused with its own reason when the line is made
    refused = canonical_refusal(q, p, known.symbol, known.canonical)
    if refused is not None:
        field, reason = refused
        error = PydanticCustomError("out_of_range", reason)
        value = quantity if field == "quantity" else price
        raise ValidationError.from_exception_data(
            type(model).__name__, [InitErrorDetails(type=error, loc=(field,), input=value)]
        )


class DemandSubmission(BaseModel):
    """A school's need in one category, as a finance system sends it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    school_urn: Urn
    category: CategoryCode
    quantity: Quantity
    unit: UnitSymbol
    current_unit_price: Price
    current_supplier: Supplier | None = None
    contract_end: ContractEnd
    term_months: TermMonths
    notes: Notes | None = None

    @model_validator(mode="after")
    def _in_range_once_converted(self) -> "DemandSubmission":
        canonical_check(self, self.unit, self.quantity, self.current_unit_price)
        return self


class KafkaSubmission(DemandSubmission):
    """A record on `demand.submissions`: a submission plus who sent it and its idempotency key."""

    submission_id: SubmissionId
    trust_id: TrustCode


class CsvSubmission(DemandSubmission):
    """A row of a demand CSV: a submission, optionally with its idempotency key."""

    submission_id: SubmissionId | None = None


_REQUIRED = ("school_urn", "category", "quantity", "unit", "current_unit_price")


class DemandAmendment(BaseModel):
    """A JSON merge patch of a demand line: fields left out keep their value; `null` clears an
    optional field. `unit` is the unit of the quantity and price sent in this patch."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    school_urn: Urn | None = Field(default=None, description="cannot change")
    category: CategoryCode | None = Field(default=None, description="cannot change")
    quantity: Quantity | None = None
    unit: UnitSymbol | None = None
    current_unit_price: Price | None = None
    current_supplier: Supplier | None = None
    contract_end: ContractEnd | None = None
    term_months: TermMonths | None = None
    notes: Notes | None = None

    @field_validator(*_REQUIRED, "contract_end", "term_months", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("cannot be null; leave the field out to keep its value")
        return value

    @model_validator(mode="after")
    def _in_range_once_converted(self) -> "DemandAmendment":
        canonical_check(self, self.unit, self.quantity, self.current_unit_price)
        return self

    @property
    def sent(self) -> Set[str]:
        """The fields this patch sets (the domain's Amendment)."""
        return self.model_fields_set


class WithdrawalRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: Annotated[str, Field(max_length=500), OneLine] | None = None


def error_reason(message: str) -> str:
    """A pydantic message without its "Value error, " prefix."""
    return message.removeprefix("Value error, ")

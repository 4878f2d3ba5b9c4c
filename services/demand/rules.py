"""What a valid demand submission is (DESIGN.md sections 5 and 6), on every channel: JSON over
HTTP, a CSV row, a record on the Kafka ingress."""

import hashlib
import json
import re
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    field_validator,
)

from shared.money import DecimalInput

MAX_YEARS_AHEAD = 5
# A genuine submission is well under 4 KB (notes are at most 2,000 characters).
MAX_SUBMISSION_BYTES = 64 * 1024

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_BUT_LINE_BREAKS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _at_most_4_places(value: Decimal) -> Decimal:
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -4:
        raise ValueError("at most 4 decimal places")
    return value


def _iso_date(value: object) -> object:
    # Without this, pydantic reads "20270331" or 1700000000 as a Unix timestamp.
    if isinstance(value, date) or (
        isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip())
    ):
        return value
    raise ValueError("a date as YYYY-MM-DD")


def _within_5_years(value: date) -> date:
    today = date.today()
    try:
        limit = today.replace(year=today.year + MAX_YEARS_AHEAD)
    except ValueError:  # 29 February
        limit = today.replace(year=today.year + MAX_YEARS_AHEAD, day=28)
    if value > limit:
        raise ValueError(f"must not be more than {MAX_YEARS_AHEAD} years ahead")
    return value


def _one_line(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters or line breaks")
    return value


def _text(value: str) -> str:
    if _CONTROL_BUT_LINE_BREAKS.search(value):
        raise ValueError("must not contain control characters")
    return value


def _urn(value: str) -> str:
    if not re.fullmatch(r"\d{6}", value):
        raise ValueError("a URN is 6 digits")
    return value


def _trust_code(value: str) -> str:
    if not re.fullmatch(r"\d{1,20}", value):
        raise ValueError("a trust code is digits (GIAS 'Trusts (code)')")
    return value


Urn = Annotated[str, AfterValidator(_urn), Field(description="the school's 6-digit URN")]
TrustCode = Annotated[str, AfterValidator(_trust_code), Field(description="the GIAS trust code")]
CategoryCode = Annotated[str, AfterValidator(_one_line), Field(min_length=1, max_length=64)]
UnitSymbol = Annotated[
    str,
    AfterValidator(_one_line),
    Field(
        min_length=1,
        max_length=32,
        description="the unit of `quantity` and `current_unit_price`: the category's own unit"
        " or a compatible one (MWh for kWh), converted exactly",
    ),
]
# What the docs should say: a decimal string (a JSON integer is fine too), never a float.
_DECIMAL = WithJsonSchema(
    {"anyOf": [{"type": "string", "pattern": r"^\d+(\.\d+)?$"}, {"type": "integer"}]}
)
Quantity = Annotated[
    DecimalInput,
    _DECIMAL,
    Field(gt=0, max_digits=18, decimal_places=6, description="annual quantity, a decimal string"),
]
Price = Annotated[
    DecimalInput,
    _DECIMAL,
    Field(ge=0, description="GBP ex VAT per `unit`, paid alone today; a decimal string"),
    AfterValidator(_at_most_4_places),
]
Supplier = Annotated[str, AfterValidator(_one_line), Field(max_length=200)]
Notes = Annotated[str, AfterValidator(_text), Field(max_length=2000)]
ContractEnd = Annotated[
    date,
    BeforeValidator(_iso_date),
    AfterValidator(_within_5_years),
    Field(description="when the current contract ends (YYYY-MM-DD); at most 5 years ahead"),
]
TermMonths = Annotated[int, Field(ge=1, le=120, strict=True, description="wanted term, months")]
SubmissionId = Annotated[
    str,
    AfterValidator(_one_line),
    Field(min_length=1, max_length=200, description="the sender's unique id of this submission"),
]


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


class WithdrawalRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: Annotated[str, AfterValidator(_one_line), Field(max_length=500)] | None = None


def error_reason(message: str) -> str:
    """A pydantic message without its "Value error, " prefix."""
    return message.removeprefix("Value error, ")


def request_hash(submission: DemandSubmission) -> str:
    """Fingerprint of what was asked for, to tell a retry from a different request under one key."""
    fields = submission.model_dump(mode="json", include=set(DemandSubmission.model_fields))
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()

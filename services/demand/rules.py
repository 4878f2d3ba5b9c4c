"""What a valid demand submission is (DESIGN.md sections 5 and 6)."""

from datetime import date
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from shared.money import DecimalInput

MAX_YEARS_AHEAD = 5


def _at_most_4_places(value: Decimal) -> Decimal:
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -4:
        raise ValueError("at most 4 decimal places")
    return value


def _within_5_years(value: date) -> date:
    today = date.today()
    if value > today.replace(year=today.year + MAX_YEARS_AHEAD):
        raise ValueError(f"must not be more than {MAX_YEARS_AHEAD} years ahead")
    return value


Price = Annotated[DecimalInput, Field(ge=0), AfterValidator(_at_most_4_places)]
Quantity = Annotated[DecimalInput, Field(gt=0, max_digits=18, decimal_places=6)]


class DemandSubmission(BaseModel):
    """A school's need in one category, as a finance system sends it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    school_urn: Annotated[str, Field(pattern=r"^\d{6}$", description="the school's 6-digit URN")]
    category: Annotated[str, Field(min_length=1, max_length=64)]
    quantity: Annotated[Quantity, Field(description="annual quantity, a decimal string")]
    unit: Annotated[str, Field(min_length=1, max_length=32)]
    current_unit_price: Annotated[
        Price, Field(description="what the school pays alone today, GBP ex VAT, decimal string")
    ]
    current_supplier: Annotated[str | None, Field(max_length=200)] = None
    contract_end: Annotated[date, AfterValidator(_within_5_years)]
    term_months: Annotated[int, Field(ge=1, le=120, strict=True)]
    notes: Annotated[str | None, Field(max_length=2000)] = None

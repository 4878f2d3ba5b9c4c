"""What a valid spend line is, on every channel: JSON over HTTP, a CSV row, a record on the
Kafka ingress `spend.submissions` (docs/domain-rules.md, "Spend line"; docs/http-api.md;
docs/events.md). Edge parsing, as services/demand/rules.py does it for demand: the shapes and
ranges here, the rules that need the registry, the categories or today's date in
services/demand/domain/spend.py."""

from datetime import date
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.demand.domain.spend import (
    AMOUNT_MAX,
    AMOUNT_PLACES,
    INVOICE_REF_MAX,
    MAX_PERIOD_DAYS,
    SUPPLIER_MAX,
)
from services.demand.rules import (
    CategoryCode,
    ContractEnd,
    IsoDate,
    OneLine,
    TermMonths,
    TrustCode,
    UnitSymbol,
    Urn,
    canonical_check,
)
from shared.bounds import QUANTITY, DecimalRange
from shared.money import NOT_FLOAT

AMOUNT = DecimalRange(Decimal(0), AMOUNT_MAX, AMOUNT_PLACES)

SpendQuantity = Annotated[
    Decimal,
    QUANTITY,
    NOT_FLOAT,
    Field(
        description=f"what was invoiced, a decimal string: {QUANTITY.text}, in `unit` and once"
        " converted to the category's unit"
    ),
]
SpendAmount = Annotated[
    Decimal,
    AMOUNT,
    NOT_FLOAT,
    Field(
        description=f"GBP ex VAT invoiced for the line, a decimal string: {AMOUNT.text};"
        " at most 1,000,000 GBP per unit of the category"
    ),
]
Supplier = Annotated[
    str,
    Field(
        min_length=1,
        max_length=SUPPLIER_MAX,
        description="the supplier's id as the invoice names it (compared without regard to"
        " case or surrounding spaces)",
    ),
    OneLine,
]
InvoiceRef = Annotated[
    str,
    Field(
        min_length=1,
        max_length=INVOICE_REF_MAX,
        description="the invoice's reference, unique per school: a re-send with the same body"
        " returns the original line, with another body it is a 409",
    ),
    OneLine,
]
PeriodDay = Annotated[date, IsoDate]
SpendUnit = Annotated[
    UnitSymbol,
    Field(description="the unit of `quantity` (default: the category's own unit)"),
]


class SpendSubmission(BaseModel):
    """One invoice line a school was billed, as a finance system sends it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    school_urn: Urn
    category: CategoryCode
    supplier: Supplier
    invoice_ref: InvoiceRef
    period_start: PeriodDay = Field(description="first day invoiced (YYYY-MM-DD)")
    period_end: PeriodDay = Field(
        description=f"last day invoiced (YYYY-MM-DD): not before period_start, at most"
        f" {MAX_PERIOD_DAYS} days in all; a future period (an advance invoice) is fine"
    )
    quantity: SpendQuantity
    unit: SpendUnit | None = None
    amount: SpendAmount

    @model_validator(mode="after")
    def _in_range_once_converted(self) -> "SpendSubmission":
        canonical_check(self, self.unit, self.quantity, None)
        return self


class KafkaSpend(SpendSubmission):
    """A record on `spend.submissions`: a spend line plus the trust that sends it."""

    trust_id: TrustCode


class SpendToDemand(BaseModel):
    """Turn a trust's uncontracted spend in one category into demand lines, in one step."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    category: CategoryCode
    contract_end: ContractEnd
    term_months: TermMonths
    school_urns: list[Urn] | None = Field(
        default=None,
        max_length=10_000,
        description="only these schools of the trust (default: every school of the trust)",
    )

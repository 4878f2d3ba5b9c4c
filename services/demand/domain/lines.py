"""Rules about one demand line: who may submit for which school, the category's canonical unit,
what an amendment makes of a line, and which statuses still allow a change."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal, TypeVar
from uuid import UUID

from services.demand.domain.schools import CLOSED
from services.demand.domain.submissions import Amendment, Submission
from shared.domain.categories import Category
from shared.domain.units import (
    ConversionError,
    accepted_units,
    convert_quantity,
    convert_unit_price,
)
from shared.domain.units import factor_to as unit_factor

Status = Literal["open", "in_tender", "awarded", "withdrawn"]
OPEN: Status = "open"
IN_TENDER: Status = "in_tender"
AWARDED: Status = "awarded"
WITHDRAWN: Status = "withdrawn"


@dataclass(frozen=True)
class Refusal:
    field: str
    reason: str
    # The caller may not act for this school (HTTP 403), as opposed to bad data (422).
    forbidden: bool = False


@dataclass(frozen=True)
class RegisteredSchool:
    urn: str
    trust_id: str | None  # None: the school has left its trust
    status: str


@dataclass(frozen=True)
class ActingFor:
    """Who submits: one school (a school token) or one trust (a manager token, a Kafka record)."""

    school_urn: str | None = None
    trust_id: str | None = None


@dataclass(frozen=True)
class LineFields:
    """A demand line's content, quantity and price in its category's canonical unit."""

    school_urn: str
    category: str
    unit: str
    quantity: Decimal
    current_unit_price: Decimal
    current_supplier: str | None
    contract_end: date
    term_months: int
    notes: str | None


def school_refusal(
    urn: str, school: RegisteredSchool | None, actor: ActingFor, *, closed_ok: bool = False
) -> Refusal | None:
    """Why `actor` may not submit demand (or, with `closed_ok`, spend: a closed school's last
    invoices still count) for school `urn`, or None if it may."""
    if actor.school_urn is not None and actor.school_urn != urn:
        reason = f"a token for school {actor.school_urn} submits only for that school, not {urn}"
        return Refusal("school_urn", reason, forbidden=True)
    if school is None:
        return Refusal("school_urn", f"URN {urn} is not in the registry")
    if actor.trust_id is not None and school.trust_id != actor.trust_id:
        return Refusal("school_urn", f"school {urn} is not in trust {actor.trust_id}", True)
    if school.trust_id is None:
        return Refusal("school_urn", f"school {urn} is not in a trust")
    if school.status == CLOSED and not closed_ok:
        return Refusal("school_urn", f"school {urn} is closed")
    return None


def _category(categories: Mapping[str, Category], code: str) -> Category | Refusal:
    category = categories.get(code)
    if category is None:
        known = ", ".join(sorted(categories))
        return Refusal("category", f"unknown category {code!r}; known categories: {known}")
    return category


def _factor(category: Category, unit: str) -> Decimal | Refusal:
    factor = unit_factor(unit, category.unit)
    if factor is None:
        units = ", ".join(accepted_units(category.unit))
        reason = f"{category.code} is measured in {category.unit}; send one of: {units}"
        return Refusal("unit", reason)
    return factor


def _converted(
    factor: Decimal, quantity: Decimal | None, price: Decimal | None
) -> tuple[Decimal | None, Decimal | None] | Refusal:
    try:
        q = None if quantity is None else convert_quantity(quantity, factor)
    except ConversionError as exc:
        return Refusal("quantity", str(exc))
    try:
        p = None if price is None else convert_unit_price(price, factor)
    except ConversionError as exc:
        return Refusal("current_unit_price", f"{exc}; send the price per canonical unit")
    return q, p


def in_category_unit(
    categories: Mapping[str, Category],
    code: str,
    unit: str | None,
    quantity: Decimal | None,
    price: Decimal | None,
) -> tuple[Category, Decimal | None, Decimal | None] | Refusal:
    """The category, and the quantity and price given in `unit` (None: the category's own)
    converted to the category's unit; or why not."""
    category = _category(categories, code)
    if isinstance(category, Refusal):
        return category
    factor = _factor(category, category.unit if unit is None else unit)
    if isinstance(factor, Refusal):
        return factor
    converted = _converted(factor, quantity, price)
    if isinstance(converted, Refusal):
        return converted
    return (category, *converted)


def canonical_line(
    submission: Submission, categories: Mapping[str, Category]
) -> LineFields | Refusal:
    """The submission with quantity and unit price in its category's unit, or why not."""
    canonical = in_category_unit(
        categories,
        submission.category,
        submission.unit,
        submission.quantity,
        submission.current_unit_price,
    )
    if isinstance(canonical, Refusal):
        return canonical
    category, quantity, price = canonical
    assert quantity is not None and price is not None
    return LineFields(
        school_urn=submission.school_urn,
        category=category.code,
        unit=category.unit,
        quantity=quantity,
        current_unit_price=price,
        current_supplier=submission.current_supplier,
        contract_end=submission.contract_end,
        term_months=submission.term_months,
        notes=submission.notes,
    )


def amended_line(
    line: LineFields, patch: Amendment, categories: Mapping[str, Category]
) -> LineFields | Refusal:
    """The line after a merge patch: fields sent replace the line's; `unit` applies to the
    quantity and price sent with it. School and category cannot change: that is a new line."""
    sent = patch.sent
    for field, current in (("school_urn", line.school_urn), ("category", line.category)):
        if field in sent and getattr(patch, field) != current:
            reason = "cannot be changed; withdraw this line and submit a new one"
            return Refusal(field, reason)
    canonical = in_category_unit(
        categories, line.category, patch.unit or None, patch.quantity, patch.current_unit_price
    )
    if isinstance(canonical, Refusal):
        return canonical
    category, quantity, price = canonical
    return LineFields(
        school_urn=line.school_urn,
        category=line.category,
        unit=category.unit,
        quantity=line.quantity if quantity is None else quantity,
        current_unit_price=line.current_unit_price if price is None else price,
        current_supplier=(
            patch.current_supplier if "current_supplier" in sent else line.current_supplier
        ),
        # Never null when sent (the patch refuses null for them), so `or` means "not sent".
        contract_end=patch.contract_end or line.contract_end,
        term_months=patch.term_months or line.term_months,
        notes=patch.notes if "notes" in sent else line.notes,
    )


def change_refusal(status: str, tender_id: UUID | None) -> str | None:
    """Why a line in `status` can no longer be amended or withdrawn, or None if it can."""
    if status == IN_TENDER:
        return f"the line is in open tender {tender_id}; it can change only if that is cancelled"
    if status == AWARDED:
        return f"the line was awarded in tender {tender_id}"
    if status == WITHDRAWN:
        return "the line has been withdrawn"
    return None


K = TypeVar("K")


def first_uses(keys: Sequence[K | None]) -> list[int | None]:
    """For each position, the earlier position holding the same key (None: first use or no key).

    A batch may carry one idempotency key twice; only the first use can create a line."""
    seen: dict[K, int] = {}
    earlier: list[int | None] = []
    for i, key in enumerate(keys):
        if key is None:
            earlier.append(None)
            continue
        earlier.append(seen.get(key))
        seen.setdefault(key, i)
    return earlier

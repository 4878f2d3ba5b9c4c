"""What a demand submission carries and the rules on it that need no parser (docs/domain-rules.md,
"Demand line"): how far ahead a contract may end, and the fingerprint that tells a retry from a
different request under one idempotency key. The edge (services/demand/rules.py) reads JSON,
CSV rows and Kafka records into objects of these shapes."""

import hashlib
from collections.abc import Sequence, Set
from datetime import date
from decimal import Decimal
from json.encoder import encode_basestring_ascii
from typing import Protocol

from shared.domain.ranges import EARLIEST_CONTRACT_END, MAX_YEARS_AHEAD


class Submission(Protocol):
    """A school's need in one category, as a finance system sends it (validated)."""

    @property
    def school_urn(self) -> str: ...
    @property
    def category(self) -> str: ...
    @property
    def quantity(self) -> Decimal: ...
    @property
    def unit(self) -> str: ...
    @property
    def current_unit_price(self) -> Decimal: ...
    @property
    def current_supplier(self) -> str | None: ...
    @property
    def contract_end(self) -> date: ...
    @property
    def term_months(self) -> int: ...
    @property
    def notes(self) -> str | None: ...


class Amendment(Protocol):
    """A merge patch of a line: the fields in `sent` were sent (None clears an optional one);
    `unit` is the unit of the quantity and price sent with it."""

    @property
    def sent(self) -> Set[str]: ...
    @property
    def school_urn(self) -> str | None: ...
    @property
    def category(self) -> str | None: ...
    @property
    def quantity(self) -> Decimal | None: ...
    @property
    def unit(self) -> str | None: ...
    @property
    def current_unit_price(self) -> Decimal | None: ...
    @property
    def current_supplier(self) -> str | None: ...
    @property
    def contract_end(self) -> date | None: ...
    @property
    def term_months(self) -> int | None: ...
    @property
    def notes(self) -> str | None: ...


# --- when the current contract ends -----------------------------------------------------------


def latest_contract_end(today: date) -> date:
    """The last contract end accepted on `today` (UTC): MAX_YEARS_AHEAD years on; from 29
    February, 28 February of that year."""
    try:
        return today.replace(year=today.year + MAX_YEARS_AHEAD)
    except ValueError:  # 29 February
        return today.replace(year=today.year + MAX_YEARS_AHEAD, day=28)


TOO_FAR_AHEAD = f"must not be more than {MAX_YEARS_AHEAD} years ahead"
TOO_EARLY = f"must not be before {EARLIEST_CONTRACT_END.isoformat()}"


def contract_end_refusal(value: date, today: date) -> str | None:
    """Why `value` is not a contract end on `today`, or None. A contract that has already ended
    (the school is out of contract) is still demand, back to EARLIEST_CONTRACT_END."""
    if value < EARLIEST_CONTRACT_END:
        return TOO_EARLY
    if value > latest_contract_end(today):
        return TOO_FAR_AHEAD
    return None


# --- the request fingerprint ------------------------------------------------------------------

HASHED_FIELDS = (
    "category",
    "contract_end",
    "current_supplier",
    "current_unit_price",
    "notes",
    "quantity",
    "school_urn",
    "term_months",
    "unit",
)
"""A submission's fields, sorted: the ones its fingerprint covers (not the Kafka ones)."""


def _json_value(value: str | Decimal | date | int | None) -> str:
    if value is None:
        return "null"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, date):
        return f'"{value.isoformat()}"'
    return encode_basestring_ascii(str(value))


def request_hash(submission: object, fields: Sequence[str] = HASHED_FIELDS) -> str:
    """Fingerprint of what was asked for, to tell a retry from a different request under one key.
    `fields`: the sorted names it covers (a demand submission's by default; a spend line's).

    The SHA-256 of the submission's fields as `json.dumps(..., sort_keys=True)` writes them, with
    decimals and dates as strings; stored with each key, so it must never change. Written out
    here because the ingress hashes every record: this is three times faster than dumping."""
    text = ", ".join(f'"{name}": {_json_value(getattr(submission, name))}' for name in fields)
    return hashlib.sha256(f"{{{text}}}".encode()).hexdigest()

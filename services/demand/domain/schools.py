"""A school as the registry holds it, and the shapes of its identifiers (docs/domain-rules.md,
"Identity"): a URN is 6 ASCII digits, a trust code is digits (GIAS "Trusts (code)")."""

from dataclasses import dataclass

# ASCII digits only: str.isdigit() and re's \d also take other digits, such as superscript two.
URN_PATTERN = r"[0-9]{6}"
TRUST_CODE_PATTERN = r"[0-9]{1,20}"

CLOSED = "Closed"
"""GIAS EstablishmentStatus of a school that has closed: it submits no demand."""


@dataclass(frozen=True)
class School:
    urn: str
    trust_id: str
    trust_name: str
    name: str
    phase: str | None
    postcode: str | None
    local_authority: str | None
    pupils: int | None
    status: str

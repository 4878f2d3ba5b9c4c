"""Named accounts: a person's email address (unique whatever its case), name, role and the
scope that role needs (shared/auth.py SCOPE_SHAPES: a trust, a school's URN or a supplier)."""

import re
from dataclasses import dataclass
from uuid import UUID

# One @, something either side, a dot in the domain, no spaces or control characters; RFC 5321
# caps an address at 254 characters. What is deliverable is for the mail server to say.
EMAIL = re.compile(r"[^@\s\x00-\x1f\x7f]{1,64}@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+")
MAX_EMAIL = 254
MAX_NAME = 200


@dataclass(frozen=True)
class Account:
    account_id: UUID
    email: str
    name: str
    role: str
    # The trust's id, the school's URN or the supplier's id; None for an operator.
    scope: str | None
    disabled: bool


def normal_email(email: str) -> str:
    """How an address is compared and kept unique: trimmed, in lower case."""
    return email.strip().lower()


def is_email(email: str) -> bool:
    return len(email) <= MAX_EMAIL and EMAIL.fullmatch(email) is not None

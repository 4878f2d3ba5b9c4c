"""What savings refuses, in the domain's words; the edge answers each kind once (shared/http.py:
a NotFound is a 404 problem titled "Not found")."""

from uuid import UUID

from shared.domain.errors import Invalid, NotFound


class SchoolNotFound(NotFound):
    """The school is neither registered in the trust nor in its ledger (another trust's school
    is not found through this one)."""

    def __init__(self, trust_id: str, urn: str) -> None:
        super().__init__(f"no school {urn} in trust {trust_id}")


class UnknownSchool(NotFound):
    """No school with this URN is registered or in the ledger."""

    def __init__(self, urn: str) -> None:
        super().__init__(f"no school {urn} is registered or has savings recorded")


class ContractNotFound(NotFound):
    """The trust's ledger has no award of this tender (another trust's included)."""

    def __init__(self, trust_id: str, tender_id: UUID) -> None:
        super().__init__(f"no joint contract {tender_id} in trust {trust_id}")


class UnknownCursor(Invalid):
    """A page cursor that names none of the trust's spend lines (not one this service issued)."""

    def __init__(self, cursor: str) -> None:
        super().__init__(
            f"the cursor {cursor[:64]!r} names no spend line of this trust",
            errors=[("query.cursor", "not a next_cursor from a previous page")],
        )

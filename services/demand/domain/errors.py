"""The demand service's refusals, in its own words. The edge answers each once (shared/http.py:
not found 404, conflict 409, invalid 422, not allowed 403); the field paths name what the
caller sent (`body.quantity`, `header.Idempotency-Key`, `query.school_urn`)."""

from uuid import UUID

from shared.domain.errors import Conflict, Invalid, NotAllowed, NotFound


class DemandLineNotFound(NotFound):
    """No such line, or not the caller's: the same answer, so other trusts' ids are not probed."""

    def __init__(self, demand_id: UUID) -> None:
        super().__init__(f"no demand line {demand_id} for this token")


class InvalidDemand(Invalid):
    """What was sent breaks a demand rule (unknown school or category, a unit that does not fit)."""

    title = "Invalid demand"

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason, errors=[(field, reason)])


class NotForThisSchool(NotAllowed):
    """The caller may not act for this school: a school for another, a manager outside its trust."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason, errors=[(field, reason)])


class LineCannotChange(Conflict):
    """The line is in a tender, awarded or withdrawn: it can no longer be amended or withdrawn."""

    title = "Demand line cannot change"

    def __init__(self, reason: str, line_status: str) -> None:
        super().__init__(reason, line_status=line_status)


class IdempotencyKeyReused(Conflict):
    """The key was used before, with a different request."""

    title = "Idempotency key reused"

    def __init__(self, field: str) -> None:
        reason = "this Idempotency-Key was used with a different request body"
        super().__init__(reason, errors=[(field, reason)])


class InvoiceRefReused(Conflict):
    """The school's invoice_ref was recorded before, with a different spend line."""

    title = "Invoice reference reused"

    def __init__(self, field: str, spend_id: UUID) -> None:
        reason = (
            "this invoice_ref was already recorded for the school with different content"
            f" (spend line {spend_id})"
        )
        super().__init__(reason, errors=[(field, reason)])


class SpendLineNotFound(NotFound):
    """No such spend line, or not the caller's: the same answer."""

    def __init__(self, spend_id: UUID) -> None:
        super().__init__(f"no spend line {spend_id} for this token")

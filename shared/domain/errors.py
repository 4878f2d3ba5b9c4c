"""The kinds of refusal a domain rule or a service's handler can raise. They say what is wrong in
the domain's words; the edge translates them once (HTTP: problem details, shared/http.py):
not found 404, conflict 409, invalid 422, not allowed 403. Each service names its own errors by
subclassing these (`services/*/domain/errors.py`)."""

from collections.abc import Sequence


class DomainError(Exception):
    title = "Refused"

    def __init__(
        self,
        detail: str,
        *,
        title: str | None = None,
        errors: Sequence[tuple[str, str]] = (),
        **extra: object,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        if title is not None:
            self.title = title
        self.errors = list(errors)  # (field path, reason)
        self.extra = extra


class NotFound(DomainError):
    title = "Not found"


class Conflict(DomainError):
    """The request is fine, but the state of things does not allow it (now)."""

    title = "Conflict"


class Invalid(DomainError):
    """What was sent breaks a rule; `errors` names each field and why."""

    title = "Invalid request"


class NotAllowed(DomainError):
    """The caller may not do this (a school acting for another, a supplier reading others)."""

    title = "Forbidden"

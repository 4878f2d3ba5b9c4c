"""HTTP conventions shared by the services: RFC 9457 problem details, auth, health and metrics."""

from collections.abc import Container, Sequence
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.auth import Principal, Role, TokenError, read_token
from shared.domain.errors import Conflict, DomainError, Invalid, NotAllowed, NotFound

PROBLEM_JSON = "application/problem+json"


class Problem(Exception):
    """An error the client can act on, rendered as problem details."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str | None = None,
        errors: Sequence[dict[str, str]] = (),
        **extra: Any,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail
        self.errors = list(errors)
        self.extra = extra


class BodyTooLarge(StarletteHTTPException):
    """A request body passed its limit while a route was reading it (shared/limits.py). An
    HTTPException, so that FastAPI's body parsing lets it through as it is."""

    def __init__(self, limit: int) -> None:
        self.problem = Problem(
            413,
            "Request body too large",
            f"the body of this request may be at most {limit:,} bytes",
            limit_bytes=limit,
        )
        super().__init__(413, self.problem.detail)


# How each kind of domain refusal is answered over HTTP; the one place that decides it.
STATUS_OF: dict[type[DomainError], int] = {
    NotFound: 404,
    Conflict: 409,
    Invalid: 422,
    NotAllowed: 403,
}


def problem_of(error: DomainError) -> Problem:
    status = next(s for kind, s in STATUS_OF.items() if isinstance(error, kind))
    errors = [field_error(field, reason) for field, reason in error.errors]
    return Problem(status, error.title, error.detail, errors, **error.extra)


def field_error(field: str, reason: str) -> dict[str, str]:
    return {"field": field, "reason": reason}


def problem_response(request: Request, problem: Problem) -> JSONResponse:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": problem.title,
        "status": problem.status,
        "instance": request.url.path,
    }
    if problem.detail:
        body["detail"] = problem.detail
    if problem.errors:
        body["errors"] = problem.errors
    body.update(problem.extra)
    headers = {"WWW-Authenticate": "Bearer"} if problem.status == 401 else None
    return JSONResponse(body, status_code=problem.status, media_type=PROBLEM_JSON, headers=headers)


def validation_errors(errors: Sequence[Any]) -> list[dict[str, str]]:
    """Pydantic/FastAPI errors as (field path, reason) pairs, e.g. body.price_tiers.0.unit_price."""
    return [
        field_error(".".join(str(p) for p in e.get("loc", ())), str(e.get("msg", "invalid")))
        for e in errors
    ]


def install_problem_handlers(app: FastAPI) -> None:
    async def on_problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Problem)
        return problem_response(request, exc)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = validation_errors(exc.errors())
        detail = "; ".join(f"{e['field']}: {e['reason']}" for e in errors)
        return problem_response(request, Problem(422, "Invalid request", detail, errors))

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        return problem_response(request, Problem(exc.status_code, str(exc.detail)))

    async def on_too_large(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, BodyTooLarge)
        return problem_response(request, exc.problem)

    async def on_domain_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, DomainError)
        return problem_response(request, problem_of(exc))

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(DomainError, on_domain_error)
    app.add_exception_handler(BodyTooLarge, on_too_large)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)


_bearer = HTTPBearer(auto_error=False)


def bearer_principal(authorization: str | None, secret: str, revoked: Container[str]) -> Principal:
    """Who sent a request, from its Authorization header; Problem 401 if no one valid."""
    scheme, _, credentials = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        raise Problem(401, "Authentication required", "send a bearer token")
    try:
        return read_token(secret, credentials.strip(), revoked)
    except TokenError as exc:
        raise Problem(401, "Invalid token", str(exc)) from exc


async def authenticated(
    request: Request,
    # Declared so that OpenAPI documents the bearer scheme; shared/limits.py has read it.
    _: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    # shared/limits.py authenticates every /v1 request before its body is read.
    known = request.scope.get("state", {}).get("principal")
    if isinstance(known, Principal):
        return known
    runtime = request.app.state.runtime
    secret = runtime.settings.procure_token_secret.get_secret_value()
    return bearer_principal(request.headers.get("authorization"), secret, runtime.revoked)


Caller = Annotated[Principal, Depends(authenticated)]


def require_role(principal: Principal, *roles: Role) -> None:
    if principal.role not in roles:
        allowed = ", ".join(str(r) for r in roles)
        raise Problem(
            403, "Forbidden", f"this needs the role {allowed}; the token is {principal.role}"
        )


def require_trust(principal: Principal, trust_id: str) -> None:
    """A manager acts only for their own trust."""
    _require_own(principal, Role.MANAGER, "trust", trust_id)


def require_school(principal: Principal, urn: str) -> None:
    """A school acts only for itself: its token's scope is its URN."""
    _require_own(principal, Role.SCHOOL, "school", urn)


def _require_own(principal: Principal, role: Role, kind: str, scope: str) -> None:
    require_role(principal, role)
    if principal.scope != scope:
        raise Problem(403, "Forbidden", f"this token is for {kind} {principal.scope}, not {scope}")

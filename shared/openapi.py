"""How the services document their problem-details answers (RFC 9457, shared.http.Problem) in
OpenAPI, so every route lists each 4xx it can give, with its media type and schema.

A route passes `responses=problems(...)` with the statuses it can answer beside the ones every
/v1 route can give (AUTHENTICATED: malformed request, no or bad token, wrong role or scope,
invalid parameters)."""

from typing import Any

from pydantic import BaseModel

from shared.http import PROBLEM_JSON


class FieldErrorOut(BaseModel):
    field: str
    reason: str


class ProblemOut(BaseModel):
    """RFC 9457 problem details, served as application/problem+json. A problem may carry more
    members than these (e.g. `conflicting_tenders`)."""

    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldErrorOut] = []


REASONS = {
    400: "Malformed request (e.g. control characters in the path or query string)",
    401: "No bearer token, or one that is invalid or expired",
    403: "The token's role or scope does not allow this",
    # Also where a path parameter holds an encoded "/": the path then names no route.
    404: "Not found, or not visible to this token",
    409: "Conflicts with the resource's current state",
    413: "Request body too large",
    422: "Invalid request: each offending field is named in `errors`",
}


def _inlined(schema: dict[str, Any]) -> dict[str, Any]:
    """The model's JSON schema with its nested models written in place of `$defs` references,
    so it stands alone inside an OpenAPI document."""
    defs = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return resolve(defs[ref.removeprefix("#/$defs/")])
            return {k: resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    inlined: dict[str, Any] = resolve(schema)
    return inlined


PROBLEM_SCHEMA = _inlined(ProblemOut.model_json_schema())
# What any authenticated route can answer.
AUTHENTICATED = (400, 401, 403, 422)


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these problem statuses, plus those every /v1 route can give."""
    return {
        status: {
            "description": REASONS[status],
            "content": {PROBLEM_JSON: {"schema": PROBLEM_SCHEMA}},
        }
        for status in sorted({*AUTHENTICATED, *statuses})
    }

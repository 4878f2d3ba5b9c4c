"""The business manager's dashboard: server-rendered HTML at /trusts/{trust_id}.

A manager signs in once with their token: a form POST sets it in an HttpOnly, SameSite=Strict
cookie, and every page then reads the cookie and shows that manager's own trust only (403 for any
other). The same checks as the JSON API apply (shared.http.require_trust).
"""

from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from services.savings import pages, reports
from services.savings.api import csv_response, pool, tendering_url
from shared.auth import Principal, Role, TokenError, read_token
from shared.http import Problem, require_trust
from shared.service import runtime_of

router = APIRouter(include_in_schema=False)

COOKIE = "procure_session"
HEADERS = {
    # Inline styles only; no scripts, frames or third parties.
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self';"
    " form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def _html(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(body, status_code=status, headers=HEADERS)


def _secret(request: Request) -> str:
    return runtime_of(request).settings.procure_token_secret.get_secret_value()


def _signed_in(request: Request) -> Principal | None:
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    try:
        return read_token(_secret(request), token)
    except TokenError:
        return None


def _refusal(request: Request, trust_id: str) -> Response | None:
    """None when the signed-in manager may see this trust; else where to send them instead."""
    principal = _signed_in(request)
    if principal is None:
        return RedirectResponse("/sign-in", status_code=303)
    try:
        require_trust(principal, trust_id)
    except Problem as problem:
        return _html(pages.error_page("Not your trust", problem.detail or problem.title), 403)
    return None


@router.get("/")
async def home() -> RedirectResponse:
    return RedirectResponse("/sign-in", status_code=303)


@router.get("/sign-in")
async def sign_in_form() -> HTMLResponse:
    return _html(pages.sign_in_page())


@router.post("/sign-in")
async def sign_in(request: Request, token: Annotated[str, Form()]) -> Response:
    token = token.strip()
    try:
        principal = read_token(_secret(request), token)
    except TokenError:
        return _html(pages.sign_in_page("That token is not valid or has expired."), 401)
    if principal.role is not Role.MANAGER or not principal.scope:
        message = "This dashboard is for trust business managers: sign in with a manager token."
        return _html(pages.sign_in_page(message), 403)
    response = RedirectResponse(f"/trusts/{quote(principal.scope)}", status_code=303)
    response.set_cookie(
        COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


@router.post("/sign-out")
async def sign_out() -> RedirectResponse:
    response = RedirectResponse("/sign-in", status_code=303)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return response


@router.get("/trusts/{trust_id}")
async def dashboard(trust_id: str, request: Request) -> Response:
    refusal = _refusal(request, trust_id)
    if refusal is not None:
        return refusal
    async with (
        pool(request).acquire() as conn,
        conn.transaction(isolation="repeatable_read", readonly=True),
    ):
        # One snapshot, so the headline, charts and tables agree with each other.
        data = pages.Dashboard(
            summary=await reports.trust_summary(conn, trust_id),
            categories=await reports.categories(conn, trust_id),
            contracts=await reports.contracts(conn, trust_id, tendering_url(request)),
            months=await reports.months(conn, trust_id),
            entries=await reports.ledger(conn, trust_id),
            generated_at=datetime.now(UTC),
        )
    return _html(pages.dashboard_page(data))


@router.get("/trusts/{trust_id}/ledger.csv")
async def ledger_csv(trust_id: str, request: Request) -> Response:
    refusal = _refusal(request, trust_id)
    if refusal is not None:
        return refusal
    async with pool(request).acquire() as conn:
        return csv_response(trust_id, await reports.ledger(conn, trust_id))

"""The business manager's dashboard: server-rendered HTML at /trusts/{trust_id}, and a page per
joint contract at /trusts/{trust_id}/contracts/{tender_id}; and each school's own page at
/schools/{urn}, with its own entries only.

A manager (or a school) signs in once with their token: the form POST checks it and opens a
server-side session (services/savings/sessions.py) that records the token's role and scope, and
whose random id goes in an HttpOnly, SameSite=Strict cookie (`__Host-` prefixed and Secure over
https). The token itself is not kept in the browser, and the session id is no API token. Every
page then resumes the session and shows a manager their own trust only (403 for any other), and
a school its own page only (403 on any trust's page or another school's); the same checks as the
JSON API apply (shared.http.require_trust, require_school). A session ends at sign-out (deleted
server-side), after DASHBOARD_SESSION_IDLE_MINUTES without a request,
DASHBOARD_SESSION_MAX_HOURS after sign-in, and when its token expires; each sign-in gets a new
session id.

The web workspace, where people sign in with named accounts, serves these same pages at its
own address: it asks for them server-side with a bearer token it mints for the signed-in person
(a manager's or a school's, valid minutes), and frames what it gets in its own header and
navigation. With a bearer token a page answers JSON, {"title", "main"}: its main content with
its links and no form (the workspace has its own sign-out); the CSVs are as they are. The role
and scope checks are the same; a refusal is then problem details (401, 403). A browser never
holds such a token, so the pages a browser reads here still need this dashboard's session.

Forms (sign in, sign out) carry a random CSRF token in a hidden field that must match the one in
the browser's CSRF cookie, and are refused when the browser says (Origin, else Referer) that they
were sent from another site. Without this another site could sign a manager in as someone else
(login CSRF) or sign them out.
"""

import hmac
import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, TypeVar
from urllib.parse import quote, urlsplit
from uuid import UUID

import jwt
from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

from services.savings import pages, realised, realised_pages, reports, sessions, store
from services.savings.api import (
    csv_response,
    download,
    pool,
    snapshot,
    tendering_url,
    trust_ledger_csv,
    trust_realised_csv,
)
from services.savings.domain.errors import ContractNotFound, UnknownSchool
from services.savings.settings import SavingsSettings
from shared.auth import Principal, Role, TokenError, read_token
from shared.db import Connection
from shared.http import Problem, bearer_principal, require_school, require_trust
from shared.page_security import EXPIRED, page_headers
from shared.service import runtime_of
from shared.sessions import RANDOM_ID
from shared.unit_of_work import unit_of_work

router = APIRouter(include_in_schema=False)
Read = TypeVar("Read")

COOKIE = "procure_session"
# Over https the session cookie is named so that browsers accept it only as Secure, host-only
# and for the whole site: no subdomain or plain-http page can set (fixate) it.
SECURE_COOKIE = f"__Host-{COOKIE}"
CSRF_COOKIE = "procure_csrf"
# Inline styles only.
HEADERS = page_headers("'unsafe-inline'")
CROSS_SITE = (
    "This form was sent from another website, so it was refused. Open the dashboard's own"
    " sign-in page and use the form there."
)


def _set_cookie(request: Request, response: Response, name: str, value: str) -> None:
    response.set_cookie(
        name,
        value,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )


def _bearer(request: Request) -> Principal | None:
    """Who the workspace asks for, from the request's bearer token; None without one. A token
    that is not valid is refused (Problem 401), not taken for no one."""
    authorization = request.headers.get("authorization")
    if authorization is None:
        return None
    runtime = runtime_of(request)
    return bearer_principal(authorization, _secret(request), runtime.revoked)


def _answer(request: Request, part: pages.Part, status: int = 200) -> Response:
    """The page: framed here for a browser, or its part as JSON for the workspace."""
    if "authorization" in request.headers:
        body = {"title": part.title, "main": pages.embedded(part)}
        return JSONResponse(body, status_code=status, headers={"Cache-Control": "no-store"})
    return _html(request, lambda csrf: pages.framed(part, csrf), status)


def _html(request: Request, render: Callable[[str], str], status: int = 200) -> HTMLResponse:
    """A page rendered with the browser's CSRF token for its forms (a new one if it has none)."""
    held = request.cookies.get(CSRF_COOKIE, "")
    csrf = held if RANDOM_ID.fullmatch(held) else secrets.token_urlsafe(32)
    response = HTMLResponse(render(csrf), status_code=status, headers=HEADERS)
    if csrf != held:
        _set_cookie(request, response, CSRF_COOKIE, csrf)
    return response


def _forgery(request: Request, submitted: str) -> str | None:
    """Why a form POST must be refused, or None when it came from our own page."""
    source = request.headers.get("origin") or request.headers.get("referer")
    # `Origin: null` (a sandboxed or privacy-hiding sender) has no host, so it is refused too.
    if source is not None and urlsplit(source).netloc != request.url.netloc:
        return CROSS_SITE
    held = request.cookies.get(CSRF_COOKIE, "")
    if not held or not hmac.compare_digest(held.encode(), submitted.encode()):
        return EXPIRED
    return None


def _secret(request: Request) -> str:
    return runtime_of(request).settings.procure_token_secret.get_secret_value()


def _settings(request: Request) -> SavingsSettings:
    settings: SavingsSettings = request.app.state.savings_settings
    return settings


def _limits(request: Request) -> sessions.Limits:
    settings = _settings(request)
    return sessions.Limits(
        idle=timedelta(minutes=settings.dashboard_session_idle_minutes),
        lifetime=timedelta(hours=settings.dashboard_session_max_hours),
    )


def _sign_in_page(request: Request, error: str | None = None) -> Callable[[str], str]:
    settings = _settings(request)
    idle, most = settings.dashboard_session_idle_minutes, settings.dashboard_session_max_hours
    return lambda csrf: pages.sign_in_page(csrf, error, idle_minutes=idle, max_hours=most)


def _session_cookie(request: Request) -> str:
    return SECURE_COOKIE if request.url.scheme == "https" else COOKIE


async def _signed_in(request: Request) -> Principal | None:
    session_id = request.cookies.get(_session_cookie(request))
    if not session_id:
        return None
    async with unit_of_work(pool(request)) as work:
        session = await sessions.resume(work.conn, session_id, datetime.now(UTC), _limits(request))
    if session is None or session.token_id in runtime_of(request).revoked:
        return None  # a revoked token's sessions end with it (shared/revocations.py)
    return Principal(Role(session.role), session.scope, session.subject, session.token_id or "")


def _claims(token: str) -> dict[str, Any]:
    """The claims of a token read_token has just verified: its expiry and id for the session."""
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def _home(principal: Principal) -> str:
    """Where a signed-in user's own pages start: the manager's trust, or the school's page."""
    if principal.role is Role.SCHOOL:
        return f"/schools/{quote(principal.scope or '')}"
    return f"/trusts/{quote(principal.scope or '')}"


async def _refusal(request: Request, trust_id: str) -> Response | None:
    """None when the signed-in manager may see this trust; else where to send them instead."""
    return await _refused(request, lambda p: require_trust(p, trust_id), "Not your trust")


async def _refused(
    request: Request, check: Callable[[Principal], None], title: str
) -> Response | None:
    """None when the signed-in user passes `check`; else the sign-in form (nobody signed in) or
    a refusal named `title` (403). With a bearer token (the workspace's), a refusal is raised
    as problem details."""
    asker = _bearer(request)
    if asker is not None:
        check(asker)
        return None
    principal = await _signed_in(request)
    if principal is None:
        return RedirectResponse("/sign-in", status_code=303)
    try:
        check(principal)
    except Problem as problem:
        detail = problem.detail or problem.title
        return _html(request, lambda csrf: pages.error_page(title, detail, csrf), 403)
    return None


@router.get("/assets/dashboard.css")
async def stylesheet() -> Response:
    """The pages' style, for the workspace's frame (the dashboard's own pages inline it)."""
    return Response(
        pages.CSS, media_type="text/css", headers={"Cache-Control": "public, max-age=3600"}
    )


@router.get("/")
async def home() -> RedirectResponse:
    return RedirectResponse("/sign-in", status_code=303)


@router.get("/sign-in")
async def sign_in_form(request: Request) -> HTMLResponse:
    return _html(request, _sign_in_page(request))


@router.post("/sign-in")
async def sign_in(
    request: Request,
    token: Annotated[str, Form()],
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    forgery = _forgery(request, csrf_token)
    if forgery is not None:
        return _html(request, _sign_in_page(request, forgery), 403)
    token = token.strip()
    try:
        principal = read_token(_secret(request), token, runtime_of(request).revoked)
    except TokenError:
        error = "That token is not valid or has expired."
        return _html(request, _sign_in_page(request, error), 401)
    if principal.role not in (Role.MANAGER, Role.SCHOOL) or not principal.scope:
        error = (
            "This dashboard is for trust business managers and schools: sign in with a manager"
            " or a school token."
        )
        return _html(request, _sign_in_page(request, error), 403)
    claims = _claims(token)
    jti = claims.get("jti")
    cookie = _session_cookie(request)
    async with unit_of_work(pool(request)) as work:
        # Always a new session id: one planted in the browser before sign-in is never used.
        session_id = await sessions.open_session(
            work.conn,
            role=str(principal.role),
            scope=principal.scope,
            subject=principal.subject,
            token_id=None if jti is None else str(jti),
            token_expires_at=datetime.fromtimestamp(float(claims["exp"]), UTC),
            now=datetime.now(UTC),
            limits=_limits(request),
            replaces=request.cookies.get(cookie),
        )
    response = RedirectResponse(_home(principal), status_code=303)
    _set_cookie(request, response, cookie, session_id)
    return response


@router.post("/sign-out")
async def sign_out(request: Request, csrf_token: Annotated[str, Form()] = "") -> Response:
    forgery = _forgery(request, csrf_token)
    if forgery is not None:
        return _html(request, lambda csrf: pages.error_page("Not signed out", forgery, csrf), 403)
    cookie = _session_cookie(request)
    session_id = request.cookies.get(cookie)
    if session_id:
        async with unit_of_work(pool(request)) as work:
            await sessions.end(work.conn, session_id)
    response = RedirectResponse("/sign-in", status_code=303)
    response.delete_cookie(
        cookie,
        path="/",
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )
    return response


@router.get("/trusts/{trust_id}")
async def dashboard(trust_id: str, request: Request) -> Response:
    refusal = await _refusal(request, trust_id)
    if refusal is not None:
        return refusal
    # One snapshot, so the headline, charts and tables agree with each other.
    async with snapshot(request) as work:
        conn = work.conn
        data = pages.Dashboard(
            summary=await reports.trust_summary(conn, trust_id),
            categories=await reports.categories(conn, trust_id),
            contracts=await reports.contracts(conn, trust_id, tendering_url(request)),
            months=await reports.months(conn, trust_id),
            entries=await reports.ledger(conn, trust_id),
            generated_at=datetime.now(UTC),
        )
    return _answer(request, pages.dashboard_part(data))


@router.get("/trusts/{trust_id}/contracts/{tender_id}")
async def contract(trust_id: str, tender_id: str, request: Request) -> Response:
    refusal = await _refusal(request, trust_id)
    if refusal is not None:
        return refusal
    page = await _contract_page(request, trust_id, tender_id)
    if page is None:
        missing = f"Trust {trust_id} has no joint contract {tender_id} in its savings ledger."
        back = f"/trusts/{quote(trust_id)}#contracts"
        return _answer(request, pages.missing_part("No such contract", missing, back), 404)
    return _answer(request, pages.contract_part(page))


async def _contract_page(
    request: Request, trust_id: str, tender_id: str
) -> pages.ContractPage | None:
    """None when the trust's ledger has no such contract (or the id is not a tender's)."""
    try:
        tender = UUID(tender_id)
    except ValueError:
        return None
    try:
        async with snapshot(request) as work:
            detail = await reports.contract(work.conn, trust_id, tender, tendering_url(request))
            trust_name = await store.trust_name(work.conn, trust_id)
    except ContractNotFound:
        return None
    return pages.ContractPage(trust_id, trust_name, detail, datetime.now(UTC))


async def _for_manager(
    request: Request,
    trust_id: str,
    read: Callable[[Connection], Awaitable[Read]],
    answer: Callable[[Read], Response],
) -> Response:
    """`answer` with what `read` reads in one snapshot, for the trust's own signed-in manager;
    the sign-in form or a refusal for anyone else."""
    refusal = await _refusal(request, trust_id)
    if refusal is not None:
        return refusal
    async with snapshot(request) as work:
        found = await read(work.conn)
    return answer(found)


@router.get("/trusts/{trust_id}/realised")
async def realised_page(trust_id: str, request: Request) -> Response:
    """Savings achieved: what the trust's schools were invoiced against what was promised."""

    async def read(conn: Connection) -> realised_pages.RealisedPage:
        # One snapshot, so the headline, months and tables agree with each other.
        view = await realised.trust_view(conn, trust_id)
        name = await store.trust_name(conn, trust_id)
        return realised_pages.RealisedPage(trust_id, name, view, datetime.now(UTC))

    def answer(page: realised_pages.RealisedPage) -> Response:
        return _answer(request, realised_pages.realised_part(page))

    return await _for_manager(request, trust_id, read, answer)


def _as_it_is(response: Response) -> Response:
    return response


@router.get("/trusts/{trust_id}/realised.csv")
async def realised_csv(trust_id: str, request: Request) -> Response:
    """The trust's spend lines, as the API's CSV."""
    return await _for_manager(
        request, trust_id, lambda conn: trust_realised_csv(conn, trust_id), _as_it_is
    )


@router.get("/trusts/{trust_id}/ledger.csv")
async def ledger_csv(trust_id: str, request: Request) -> Response:
    """The trust's ledger, as the API's CSV."""
    return await _for_manager(
        request, trust_id, lambda conn: trust_ledger_csv(conn, trust_id), _as_it_is
    )


def _own_school(urn: str) -> Callable[[Principal], None]:
    return lambda principal: require_school(principal, urn)


async def _own_savings(request: Request, urn: str) -> reports.SchoolDetail:
    """The school's own figures and entries; none yet when nothing is registered or recorded
    for its URN (it signed in with its own token all the same)."""
    async with snapshot(request) as work:
        return await _own_ledger(work.conn, urn)


async def _own_ledger(conn: Connection, urn: str) -> reports.SchoolDetail:
    try:
        return await reports.own_savings(conn, urn)
    except UnknownSchool:
        empty = {"urn": urn, "name": None, "entries": []} | reports.summed([])
        return reports.SchoolDetail.model_validate(empty)


async def _own_realised(conn: Connection, urn: str) -> realised.OwnRealised | None:
    """The school's own savings achieved; None while its URN is unknown."""
    try:
        return await realised.own_realised(conn, urn)
    except UnknownSchool:
        return None


@router.get("/schools/{urn}")
async def school_page(urn: str, request: Request) -> Response:
    """A school's own savings: its entries in every joint contract it is in, nothing of any
    other school's."""
    refusal = await _refused(request, _own_school(urn), "Not your school")
    if refusal is not None:
        return refusal
    # One snapshot: the promised and the realised figures agree with each other.
    async with snapshot(request) as work:
        ledger = await _own_ledger(work.conn, urn)
        achieved = await _own_realised(work.conn, urn)
    more = realised_pages.own_realised(achieved) if achieved is not None else ""
    page = pages.SchoolPage(ledger, datetime.now(UTC), more)
    return _answer(request, pages.school_part(page))


@router.get("/schools/{urn}/ledger.csv")
async def school_ledger_csv(urn: str, request: Request) -> Response:
    refusal = await _refused(request, _own_school(urn), "Not your school")
    if refusal is not None:
        return refusal
    return csv_response(f"school-{urn}", (await _own_savings(request, urn)).entries)


@router.get("/schools/{urn}/realised.csv")
async def school_realised_csv(urn: str, request: Request) -> Response:
    refusal = await _refused(request, _own_school(urn), "Not your school")
    if refusal is not None:
        return refusal
    async with snapshot(request) as work:
        achieved = await _own_realised(work.conn, urn)
    lines = achieved.lines if achieved is not None else []
    return download("savings-realised", f"school-{urn}", realised.lines_csv(lines))

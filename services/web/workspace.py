"""The workspace's pages for people (docs/http-api.md, "Web workspace"): sign in with an email
address and password (or, when it is set up, with the organisation's OpenID Connect account:
sign_on.py), set a password from a one-time link, sign out everywhere, and each
person's home page with the navigation of their role. The pages that show data ask the
services' APIs as the signed-in person (calls.py), so each service's own role and scope checks
apply to them as to any client.

Sign-in is throttled (domain/throttle.py); an unknown address costs as much time as a wrong
password (passwords.py) and gets the same answer. Sessions are server-side (store.py): the
cookie holds a random id, the database its SHA-256; they end after an idle period, at an
absolute lifetime, at sign-out (every session of the account), and when the account is
disabled or its password set again. Every form is protected against CSRF (forms.py).
"""

import asyncio
import hmac
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from services.web import forms, pages, passwords, store
from services.web.api import public_url, web_settings
from services.web.calls import ServiceError, Services
from services.web.domain.accounts import Account, is_email
from services.web.domain.passwords import password_problem
from services.web.domain.sessions import Limits
from services.web.domain.throttle import minutes
from services.web.pages import SIGN_ON, FieldError, Link, Person
from services.web.sign_on import STATE_MINUTES, SignOn, SignOnRefused
from shared.service import runtime_of
from shared.unit_of_work import unit_of_work

router = APIRouter(include_in_schema=False)

CSS = Path(__file__).with_name("web.css").read_text(encoding="utf-8")
WRONG = "Enter a correct email address and password"
# Form fields are bounded before anything is hashed or looked up.
MAX_FIELD = 256
# Where the organisation's provider sends people back (register it with the provider), and the
# cookie that holds the state of a single sign-on in progress.
CALLBACK = "/sign-in/callback"
SIGN_ON_COOKIE = "procure_web_sign_on"


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def _key(request: Request) -> bytes:
    key: bytes = request.app.state.csrf_key
    return key


def _limits(request: Request) -> Limits:
    return web_settings(request).limits()


def _sign_on(request: Request) -> SignOn | None:
    """The organisation's OpenID Connect provider, when single sign-on is set up."""
    sign_on: SignOn | None = request.app.state.sign_on
    return sign_on


def savings_home(account: Account) -> str:
    """Where the savings dashboard's pages, served here as the person (dashboard.py), start: a
    manager's trust, or a school's own page."""
    scope = quote(account.scope or "", safe="")
    return f"/schools/{scope}" if account.role == "school" else f"/trusts/{scope}"


def navigation(account: Account) -> list[Link]:
    """What each role's workspace holds; the pages not built yet say so and point at the API."""
    dashboard = "Promised and realised savings, and their CSV downloads."
    own_savings = "What buying together saves your school."
    return {
        "manager": [
            Link("Pools", "/pools", "Your schools' demand, pooled, with its route and value."),
            Link("Tenders", "/tenders", "Open, score and award joint tenders."),
            Link("Savings dashboard", savings_home(account), dashboard),
            Link("Demand", "/demand", "Your schools' demand lines and CSV uploads."),
            Link("Spend", "/spend", "What your schools spent, and spend uploads."),
        ],
        "supplier": [
            Link("Open tenders", "/open-tenders", "Tenders taking bids now."),
            Link("Your bids", "/bids", "Your bids and their assessment summaries."),
        ],
        "school": [
            Link("Your demand", "/demand", "Add, amend and withdraw your demand."),
            Link("Spend", "/spend", "Upload what your school spent."),
            Link("Your savings", savings_home(account), own_savings),
        ],
        "operator": [
            Link("Registry", "/registry", "Load the trusts' and schools' registry."),
            Link("Users", "/users", "People's accounts."),
        ],
    }[account.role]


def _person(request: Request, account: Account) -> Person:
    return Person(account.name, account.email, account.role, account.scope, navigation(account))


def _page(
    request: Request,
    render: Callable[[str], str],
    status: int = 200,
    session: str | None = None,
) -> HTMLResponse:
    """A page whose forms carry the CSRF token of this browser and `session`."""
    browser = forms.Browser(request, _key(request), session)
    response = HTMLResponse(render(browser.token), status_code=status, headers=forms.HEADERS)
    browser.keep(request, response)
    return response


async def _signed_in(request: Request) -> tuple[Account, str] | None:
    """The account of this browser's live session, and the session id."""
    session_id = forms.cookie(request, forms.SESSION_COOKIE)
    if not session_id:
        return None
    async with unit_of_work(runtime_of(request).pool) as work:
        account = await store.resume(work.conn, session_id, datetime.now(UTC), _limits(request))
    return None if account is None else (account, session_id)


def _to_sign_in() -> RedirectResponse:
    return RedirectResponse("/sign-in", status_code=303)


@router.get("/assets/web.css")
async def stylesheet() -> Response:
    return Response(CSS, media_type="text/css", headers={"Cache-Control": "public, max-age=3600"})


@router.get("/sign-in")
async def sign_in_form(request: Request) -> Response:
    if await _signed_in(request) is not None:
        return RedirectResponse("/", status_code=303)
    notice = {
        "out": "You have signed out on every device.",
        "password": "Your password is set. Sign in with it.",
    }.get(request.query_params.get("done", ""), "")
    sign_on = _sign_on(request) is not None
    return _page(request, lambda csrf: pages.sign_in_page(csrf, notice=notice, sign_on=sign_on))


@router.post("/sign-in")
async def sign_in(
    request: Request,
    email: Annotated[str, Form(max_length=MAX_FIELD)] = "",
    password: Annotated[str, Form(max_length=MAX_FIELD)] = "",
    csrf_token: Annotated[str, Form(max_length=MAX_FIELD)] = "",
) -> Response:
    email = email.strip()

    def again(errors: Sequence[FieldError], status: int) -> HTMLResponse:
        sign_on = _sign_on(request) is not None
        return _page(
            request, lambda csrf: pages.sign_in_page(csrf, errors, email, sign_on=sign_on), status
        )

    forgery = forms.forgery(request, _key(request), csrf_token, None)
    if forgery is not None:
        return again([FieldError("email", forgery)], 403)
    missing = [FieldError("email", "Enter your email address")] if not email else []
    missing += [FieldError("password", "Enter your password")] if not password else []
    if missing:
        return again(missing, 422)
    client = request.client.host if request.client else "unknown"
    throttle, now = web_settings(request).throttle(), datetime.now(UTC)
    pool = runtime_of(request).pool
    async with unit_of_work(pool) as work:
        by_email, by_client = await store.failures(work.conn, email, client, throttle.since(now))
        found = await store.credentials(work.conn, email) if is_email(email) else None
    wait = throttle.wait(by_email, by_client, now)
    if wait is not None:
        wait_text = f"{minutes(wait)} minute{'s' if minutes(wait) != 1 else ''}"
        return again([FieldError("email", f"Too many attempts: try again in {wait_text}")], 429)
    account, hashed = found if found is not None else (None, None)
    right = await asyncio.to_thread(passwords.verify, hashed, password)
    if account is None or account.disabled or not right:
        async with unit_of_work(pool) as work:
            await store.record_failure(work.conn, email, client, now, throttle.since(now))
        return again([FieldError("email", WRONG)], 401)
    assert hashed is not None
    rehashed = None
    if passwords.needs_rehash(hashed):
        rehashed = await asyncio.to_thread(passwords.hash_password, password)
    async with unit_of_work(pool) as work:
        await store.clear_failures(work.conn, email)
        if rehashed is not None:
            await store.rehash(work.conn, account.account_id, rehashed)
    return await _open_session(request, account, now)


async def _open_session(request: Request, account: Account, now: datetime) -> Response:
    """The person signed in (by password or single sign-on): a new session, its cookie, and
    on to their home page."""
    async with unit_of_work(runtime_of(request).pool) as work:
        previous = forms.cookie(request, forms.SESSION_COOKIE)
        if previous:
            await store.end_session(work.conn, previous)
        # Always a new session id: one planted in the browser before sign-in is never used.
        session_id = await store.open_session(work.conn, account.account_id, now, _limits(request))
    response = RedirectResponse("/", status_code=303)
    forms.set_cookie(request, response, forms.SESSION_COOKIE, session_id)
    return response


def _sign_on_refused(request: Request, message: str, status: int) -> HTMLResponse:
    sign_on = _sign_on(request) is not None
    errors = [FieldError(SIGN_ON, message)]
    response = _page(
        request, lambda csrf: pages.sign_in_page(csrf, errors, sign_on=sign_on), status
    )
    forms.delete_cookie(request, response, SIGN_ON_COOKIE)
    return response


@router.post("/sign-in/organisation")
async def start_sign_on(
    request: Request, csrf_token: Annotated[str, Form(max_length=MAX_FIELD)] = ""
) -> Response:
    """Single sign-on: off to the organisation's provider, with a new state that this browser
    keeps in a cookie for a few minutes (the provider sends it back to /sign-in/callback)."""
    sign_on = _sign_on(request)
    if sign_on is None:
        return _to_sign_in()
    forgery = forms.forgery(request, _key(request), csrf_token, None)
    if forgery is not None:
        return _sign_on_refused(request, forgery, 403)
    state = sign_on.new_state()
    try:
        url = await sign_on.start(f"{public_url(request)}{CALLBACK}", state)
    except SignOnRefused as refused:
        return _sign_on_refused(request, str(refused), 502)
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(
        forms.cookie_name(request, SIGN_ON_COOKIE),
        state,
        max_age=STATE_MINUTES * 60,
        httponly=True,
        # Lax: the browser sends it on the provider's redirect back, a top-level GET.
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


@router.get(CALLBACK)
async def finish_sign_on(
    request: Request,
    code: Annotated[str, Query(max_length=2048)] = "",
    state: Annotated[str, Query(max_length=MAX_FIELD)] = "",
    error: Annotated[str, Query(max_length=MAX_FIELD)] = "",
) -> Response:
    """The provider's answer: the person signed in if the state is this browser's, the code
    and ID token check out, and the verified email address is an enabled account's."""
    sign_on = _sign_on(request)
    if sign_on is None:
        return _to_sign_in()
    # A refusal signs no one in, so it is said whatever its state (some providers send none).
    if error:
        return _sign_on_refused(
            request,
            "Your organisation's account did not sign you in. Try again, or sign in with your"
            " password.",
            401,
        )
    expected = forms.cookie(request, SIGN_ON_COOKIE)
    # The state must be the one this browser was sent off with: else someone else's sign-in
    # (their code) could be planted in this browser.
    if not code or not expected or not hmac.compare_digest(expected.encode(), state.encode()):
        return _sign_on_refused(
            request,
            "Your sign-in with your organisation's account could not be checked, or took too"
            " long. Try again.",
            400,
        )
    try:
        email = await sign_on.finish(f"{public_url(request)}{CALLBACK}", state, code)
    except SignOnRefused as refused:
        return _sign_on_refused(request, str(refused), 401)
    async with unit_of_work(runtime_of(request).pool) as work:
        found = await store.credentials(work.conn, email) if is_email(email) else None
    if found is None:
        return _sign_on_refused(
            request,
            f"There is no account for {email} in this service. Ask your operator to add you.",
            403,
        )
    account, _ = found
    if account.disabled:
        return _sign_on_refused(
            request, f"The account for {email} is disabled. Ask your operator about it.", 403
        )
    response = await _open_session(request, account, datetime.now(UTC))
    forms.delete_cookie(request, response, SIGN_ON_COOKIE)
    return response


@router.post("/sign-out")
async def sign_out(
    request: Request, csrf_token: Annotated[str, Form(max_length=MAX_FIELD)] = ""
) -> Response:
    """Signs the person out everywhere: every session of their account ends."""
    signed_in = await _signed_in(request)
    if signed_in is None:
        return _to_sign_in()
    account, session_id = signed_in
    forgery = forms.forgery(request, _key(request), csrf_token, session_id)
    if forgery is not None:
        person = _person(request, account)
        return _page(
            request,
            lambda csrf: pages.message_page("You are still signed in", forgery, person, csrf),
            403,
            session_id,
        )
    async with unit_of_work(runtime_of(request).pool) as work:
        await store.end_sessions(work.conn, account.account_id)
    response = RedirectResponse("/sign-in?done=out", status_code=303)
    forms.delete_cookie(request, response, forms.SESSION_COOKIE)
    return response


def _dead_link(request: Request) -> HTMLResponse:
    return _page(
        request,
        lambda _: pages.message_page(
            "This link has expired or has been used",
            "A set-password link works once, for a limited time. Ask your operator for a new one.",
        ),
        404,
    )


@router.get("/set-password/{token}")
async def set_password_form(token: str, request: Request) -> Response:
    async with unit_of_work(runtime_of(request).pool) as work:
        account = await store.link_account(work.conn, token, datetime.now(UTC))
    if account is None:
        return _dead_link(request)
    return _page(request, lambda csrf: pages.set_password_page(csrf, account.email, token))


@router.post("/set-password")
async def set_password(
    request: Request,
    # In the body, not the path: a POST's path is logged (shared/logging.py), a live link's
    # token must not be.
    token: Annotated[str, Form(max_length=MAX_FIELD)] = "",
    password: Annotated[str, Form(max_length=MAX_FIELD)] = "",
    confirm: Annotated[str, Form(max_length=MAX_FIELD)] = "",
    csrf_token: Annotated[str, Form(max_length=MAX_FIELD)] = "",
) -> Response:
    pool = runtime_of(request).pool
    async with unit_of_work(pool) as work:
        account = await store.link_account(work.conn, token, datetime.now(UTC))
    if account is None:
        return _dead_link(request)
    forgery = forms.forgery(request, _key(request), csrf_token, None)
    refused = forgery or password_problem(password, confirm, account.email)
    if refused is not None:
        field = "confirm" if refused == "Passwords do not match" else "password"
        errors = [FieldError(field, refused)]
        return _page(
            request,
            lambda csrf: pages.set_password_page(csrf, account.email, token, errors),
            403 if forgery else 422,
        )
    hashed = await asyncio.to_thread(passwords.hash_password, password)
    now = datetime.now(UTC)
    async with unit_of_work(pool) as work:
        # Used up in the same transaction that sets the password: a link works once.
        if await store.use_link(work.conn, token, now) != account.account_id:
            return _dead_link(request)
        await store.set_password(work.conn, account.account_id, hashed, now)
    return RedirectResponse("/sign-in?done=password", status_code=303)


@router.get("/")
async def home(request: Request) -> Response:
    signed_in = await _signed_in(request)
    if signed_in is None:
        return _to_sign_in()
    account, session_id = signed_in
    person = _person(request, account)
    return _page(request, lambda csrf: pages.home_page(person, csrf), session=session_id)


@dataclass(frozen=True)
class Visit:
    """A signed-in person on a page their role may see."""

    account: Account
    person: Person
    session_id: str

    def page(
        self, request: Request, render: Callable[[Person, str], str], status: int = 200
    ) -> HTMLResponse:
        return _page(request, lambda csrf: render(self.person, csrf), status, self.session_id)


async def _visit(request: Request, roles: Collection[str]) -> Visit | Response:
    """The signed-in person, if their role may see the page; else the sign-in page (no one
    signed in) or a refusal (403)."""
    signed_in = await _signed_in(request)
    if signed_in is None:
        return _to_sign_in()
    account, session_id = signed_in
    visit = Visit(account, _person(request, account), session_id)
    if account.role not in roles:
        return visit.page(
            request,
            lambda person, csrf: pages.message_page(
                "You cannot see this page",
                "This page is not part of your work in this service.",
                person,
                csrf,
                '<p><a href="/">Go to your home page</a></p>',
            ),
            403,
        )
    return visit


def _service_problem(request: Request, visit: Visit, error: ServiceError) -> HTMLResponse:
    if error.status in (401, 403, 404):
        title, status = "You cannot see this page", 403
        text = f"The service refused: {error.detail}"
    else:
        title, status = "Sorry, there is a problem with the service", 502
        text = f"Try again later ({error.detail})."
    return visit.page(
        request, lambda person, csrf: pages.message_page(title, text, person, csrf), status
    )


@router.get("/open-tenders")
async def open_tenders(request: Request) -> Response:
    """The tenders a supplier may bid on, from tendering."""
    visit = await _visit(request, {"supplier"})
    if isinstance(visit, Response):
        return visit
    try:
        found = await _services(request).get(
            visit.account, "tendering", "/v1/tenders", {"status": "open"}
        )
    except ServiceError as error:
        return _service_problem(request, visit, error)
    return visit.page(request, lambda person, csrf: pages.open_tenders_page(person, csrf, found))

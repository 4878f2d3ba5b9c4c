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
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from services.web import forms, pages, passwords, routes, store
from services.web.api import public_url, web_settings
from services.web.domain.accounts import Account, is_email
from services.web.domain.passwords import password_problem
from services.web.domain.throttle import minutes
from services.web.pages import SIGN_ON, FieldError
from services.web.routes import MAX_FIELD, TextField, page, person_of, signed_in, to_sign_in
from services.web.sign_on import STATE_MINUTES, SignOn, SignOnRefused
from shared.service import runtime_of
from shared.unit_of_work import unit_of_work

router = APIRouter(include_in_schema=False)

CSS = Path(__file__).with_name("web.css").read_text(encoding="utf-8")
WRONG = "Enter a correct email address and password"
# Where the organisation's provider sends people back (register it with the provider), and the
# cookie that holds the state of a single sign-on in progress.
CALLBACK = "/sign-in/callback"
SIGN_ON_COOKIE = "procure_web_sign_on"


def _sign_on(request: Request) -> SignOn | None:
    """The organisation's OpenID Connect provider, when single sign-on is set up."""
    sign_on: SignOn | None = request.app.state.sign_on
    return sign_on


@router.get("/assets/web.css")
async def stylesheet() -> Response:
    return Response(CSS, media_type="text/css", headers={"Cache-Control": "public, max-age=3600"})


@router.get("/sign-in")
async def sign_in_form(request: Request) -> Response:
    if await signed_in(request) is not None:
        return RedirectResponse("/", status_code=303)
    notice = {
        "out": "You have signed out on every device.",
        "password": "Your password is set. Sign in with it.",
    }.get(request.query_params.get("done", ""), "")
    sign_on = _sign_on(request) is not None
    return page(request, lambda csrf: pages.sign_in_page(csrf, notice=notice, sign_on=sign_on))


@router.post("/sign-in")
async def sign_in(
    request: Request,
    email: TextField = "",
    password: TextField = "",
    csrf_token: TextField = "",
) -> Response:
    email = email.strip()

    def again(errors: Sequence[FieldError], status: int) -> HTMLResponse:
        sign_on = _sign_on(request) is not None
        return page(
            request, lambda csrf: pages.sign_in_page(csrf, errors, email, sign_on=sign_on), status
        )

    forgery = forms.forgery(request, routes.csrf_key(request), csrf_token, None)
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
        session_id = await store.open_session(
            work.conn, account.account_id, now, web_settings(request).limits()
        )
    response = RedirectResponse("/", status_code=303)
    forms.set_cookie(request, response, forms.SESSION_COOKIE, session_id)
    return response


def _sign_on_refused(request: Request, message: str, status: int) -> HTMLResponse:
    sign_on = _sign_on(request) is not None
    errors = [FieldError(SIGN_ON, message)]
    response = page(request, lambda csrf: pages.sign_in_page(csrf, errors, sign_on=sign_on), status)
    forms.delete_cookie(request, response, SIGN_ON_COOKIE)
    return response


@router.post("/sign-in/organisation")
async def start_sign_on(request: Request, csrf_token: TextField = "") -> Response:
    """Single sign-on: off to the organisation's provider, with a new state that this browser
    keeps in a cookie for a few minutes (the provider sends it back to /sign-in/callback)."""
    sign_on = _sign_on(request)
    if sign_on is None:
        return to_sign_in()
    forgery = forms.forgery(request, routes.csrf_key(request), csrf_token, None)
    if forgery is not None:
        return _sign_on_refused(request, forgery, 403)
    state = sign_on.new_state()
    try:
        url = await sign_on.start(f"{public_url(request)}{CALLBACK}", state)
    except SignOnRefused as refused:
        return _sign_on_refused(request, str(refused), 502)
    response = RedirectResponse(url, status_code=303)
    # Lax, as every cookie here: the browser sends it on the provider's redirect back.
    forms.set_cookie(request, response, SIGN_ON_COOKIE, state, max_age=STATE_MINUTES * 60)
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
        return to_sign_in()
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
async def sign_out(request: Request, csrf_token: TextField = "") -> Response:
    """Signs the person out everywhere: every session of their account ends."""
    found = await signed_in(request)
    if found is None:
        return to_sign_in()
    account, session_id = found
    forgery = forms.forgery(request, routes.csrf_key(request), csrf_token, session_id)
    if forgery is not None:
        person = person_of(account)
        return page(
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
    return page(
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
    return page(request, lambda csrf: pages.set_password_page(csrf, account.email, token))


@router.post("/set-password")
async def set_password(request: Request) -> Response:
    form = await request.form()
    # In the body, not the path: a POST's path is logged (shared/logging.py), a live link's
    # token must not be.
    token = routes.text(form, "token")
    # Passwords as typed, untrimmed; one past the longest, so that the rule says it is too long.
    password = routes.text(form, "password", MAX_FIELD + 1)
    confirm = routes.text(form, "confirm", MAX_FIELD + 1)
    pool = runtime_of(request).pool
    async with unit_of_work(pool) as work:
        account = await store.link_account(work.conn, token, datetime.now(UTC))
    if account is None:
        return _dead_link(request)
    csrf_token = routes.text(form, forms.CSRF_FIELD)
    forgery = forms.forgery(request, routes.csrf_key(request), csrf_token, None)
    refused = forgery or password_problem(password, confirm, account.email)
    if refused is not None:
        field = "confirm" if refused == "Passwords do not match" else "password"
        errors = [FieldError(field, refused)]
        return page(
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
    found = await signed_in(request)
    if found is None:
        return to_sign_in()
    account, session_id = found
    person = person_of(account)
    return page(request, lambda csrf: pages.home_page(person, csrf), session=session_id)


@router.get("/open-tenders")
async def open_tenders(request: Request) -> Response:
    """The tenders a supplier may bid on, from tendering."""
    return await routes.service_page(
        request,
        {"supplier"},
        "tendering",
        lambda _: "/v1/tenders",
        pages.open_tenders_page,
        {"status": "open"},
    )

"""The operators' pages (role operator): upload the trusts' schools registry (through demand's
POST /v1/registry, as the signed-in operator) and see its report; list people's accounts, add
a person, disable an account, issue a new set-password link (through the same functions as
the operators' API, api.py, with no HTTP call to this service itself).

Forms post, then redirect to a page that shows what was done (Post/Redirect/Get). What the
next page shows once (a banner, a registry report, a new set-password link) travels in a
short-lived HttpOnly cookie, not in the URL: a link in a URL would stay in logs and history.
"""

import base64
import json
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, Response, UploadFile
from fastapi.responses import RedirectResponse

from services.web import api, forms, routes, store
from services.web.calls import ServiceError
from services.web.domain.accounts import MAX_EMAIL, MAX_NAME, is_email
from services.web.operator_pages import (
    REGISTRY_FIELD,
    SCOPE_FIELDS,
    Notice,
    UserRow,
    add_user_page,
    registry_page,
    users_page,
)
from services.web.pages import FieldError
from services.web.routes import TextField, Visit
from services.web.store import EmailTaken
from shared.domain.errors import Invalid, NotFound
from shared.service import runtime_of
from shared.unit_of_work import unit_of_work

router = APIRouter(include_in_schema=False)

OPERATOR = {"operator"}
NOTICE_COOKIE = "procure_web_notice"
# Long enough to follow the redirect, short enough not to linger.
NOTICE_SECONDS = 300
# A national GIAS extract is tens of megabytes: its load takes longer than a page's calls.
REGISTRY_SECONDS = 120
Email = Annotated[str, Form(max_length=MAX_EMAIL)]


def _then(request: Request, path: str, notice: Notice) -> Response:
    """Redirect to `path`, which shows `notice` once."""
    response = RedirectResponse(path, status_code=303)
    value = json.dumps({"text": notice.text, "link": notice.link, "report": notice.report})
    held = base64.urlsafe_b64encode(value.encode()).decode()
    forms.set_cookie(request, response, NOTICE_COOKIE, held, max_age=NOTICE_SECONDS)
    return response


def _notice(request: Request) -> Notice | None:
    held = forms.cookie(request, NOTICE_COOKIE)
    if not held:
        return None
    try:
        found: dict[str, Any] = json.loads(base64.urlsafe_b64decode(held.encode()))
        report = found.get("report")
        return Notice(
            str(found["text"]),
            str(found.get("link") or ""),
            {str(k): int(v) for k, v in report.items()} if isinstance(report, dict) else None,
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def _shown(request: Request, response: Response, notice: Notice | None) -> Response:
    """The page, the notice it showed used up."""
    if notice is not None:
        forms.delete_cookie(request, response, NOTICE_COOKIE)
    return response


async def _operator_form(request: Request, csrf_token: str) -> Visit | Response:
    """The signed-in operator, if the form came from our own page; else the page that
    refuses, and says nothing was changed."""
    visit = await routes.visit(request, OPERATOR)
    if isinstance(visit, Response):
        return visit
    forgery = routes.forgery(request, visit, csrf_token)
    if forgery is None:
        return visit
    return visit.message(request, "Nothing was changed", forgery, 403, routes.HOME_LINK)


@router.get("/registry")
async def registry(request: Request) -> Response:
    visit = await routes.visit(request, OPERATOR)
    if isinstance(visit, Response):
        return visit
    notice = _notice(request)
    page = visit.page(request, lambda person, csrf: registry_page(person, csrf, notice=notice))
    return _shown(request, page, notice)


def registry_problem(field: str, reason: str) -> str:
    """Demand's name for what is wrong in a file, in words: "line 3.URN" is "Line 3, URN"."""
    where = {"header": "The header row", "body": "The file"}.get(field)
    if where is None:
        line, _, column = field.partition(".")
        where = line.capitalize() + (f", {column}" if column else "")
    return f"{where}: {reason}"


@router.post("/registry")
async def upload_registry(
    request: Request,
    registry: Annotated[UploadFile | None, File()] = None,
    csrf_token: TextField = "",
) -> Response:
    visit = await _operator_form(request, csrf_token)
    if isinstance(visit, Response):
        return visit

    def again(errors: list[FieldError]) -> Response:
        return visit.page(request, lambda person, csrf: registry_page(person, csrf, errors), 422)

    data = await registry.read() if registry is not None else b""
    if not data:
        return again([FieldError(REGISTRY_FIELD, "Select a registry file (a CSV file)")])
    try:
        report = await routes.services(request).send(
            visit.account,
            "POST",
            "demand",
            "/v1/registry",
            content=data,
            content_type="text/csv",
            wait_seconds=REGISTRY_SECONDS,
        )
    except ServiceError as error:
        if error.status not in (413, 422):
            return routes.service_problem(request, visit, error)
        problems = error.errors or [{"field": "body", "reason": error.detail}]
        return again(
            [
                FieldError(REGISTRY_FIELD, registry_problem(p["field"], p["reason"]))
                for p in problems
            ]
        )
    counts = {k: int(v) for k, v in report.items() if isinstance(v, int)}
    text = f"Registry loaded: {counts.get('schools', 0)} schools in trusts."
    return _then(request, "/registry", Notice(text, report=counts))


@router.get("/users")
async def users(request: Request) -> Response:
    visit = await routes.visit(request, OPERATOR)
    if isinstance(visit, Response):
        return visit
    async with unit_of_work(runtime_of(request).pool) as work:
        found = await store.accounts(work.conn)
    rows = [UserRow(a.email, a.name, a.role, a.scope, a.disabled, seen) for a, seen in found]
    notice = _notice(request)
    page = visit.page(request, lambda person, csrf: users_page(person, csrf, rows, notice))
    return _shown(request, page, notice)


@router.get("/users/add")
async def add_user_form(request: Request) -> Response:
    visit = await routes.visit(request, OPERATOR)
    if isinstance(visit, Response):
        return visit
    return visit.page(request, lambda person, csrf: add_user_page(person, csrf))


def person_problems(typed: Mapping[str, str]) -> list[FieldError]:
    """What is missing or wrong in the add-a-person form, field by field (the scope's shape
    is checked by the same rule as the API's, after these)."""
    errors = []
    email, name, role = typed["email"], typed["name"], typed["role"]
    if not email:
        errors.append(FieldError("email", "Enter an email address"))
    elif len(email) > MAX_EMAIL or not is_email(email):
        errors.append(
            FieldError(
                "email", "Enter an email address in the correct format, like name@example.com"
            )
        )
    if not name:
        errors.append(FieldError("name", "Enter the person's full name"))
    elif len(name) > MAX_NAME:
        errors.append(FieldError("name", f"Full name must be {MAX_NAME} characters or fewer"))
    elif any(ord(c) < 32 or ord(c) == 127 for c in name):
        errors.append(FieldError("name", "Full name must be on one line, in letters"))
    if role not in ("manager", "school", "supplier", "operator"):
        errors.append(FieldError("role", "Select the person's role"))
    elif role in SCOPE_FIELDS and not typed[SCOPE_FIELDS[role]]:
        missing = {
            "manager": "Enter the trust code of a trust business manager",
            "school": "Enter the URN of a school",
            "supplier": "Enter the supplier id of a supplier",
        }[role]
        errors.append(FieldError(SCOPE_FIELDS[role], missing))
    return errors


@router.post("/users/add")
async def add_user(request: Request) -> Response:
    visit = await routes.visit(request, OPERATOR)
    if isinstance(visit, Response):
        return visit
    form = await request.form()
    typed = routes.typed(form, ("email", "name", "role", "trust", "urn", "supplier"))
    role = typed["role"]

    def again(errors: list[FieldError], status: int = 422) -> Response:
        return visit.page(
            request, lambda person, csrf: add_user_page(person, csrf, typed, errors), status
        )

    forgery = routes.forgery(request, visit, routes.text(form, forms.CSRF_FIELD))
    if forgery is not None:
        return again([FieldError("email", forgery)], 403)
    errors = person_problems(typed)
    if errors:
        return again(errors)
    scope_field = SCOPE_FIELDS.get(role)
    body = api.UserIn(
        email=typed["email"],
        name=typed["name"],
        role=role,  # checked by person_problems
        scope=typed[scope_field] if scope_field else None,
        password=None,
    )
    try:
        added = await api.new_account(request, body)
    except EmailTaken:
        return again(
            [FieldError("email", "There is already an account with this email address")], 409
        )
    except Invalid as refused:
        reason = refused.errors[0][1] if refused.errors else refused.detail
        return again([FieldError(scope_field or "role", f"Enter a valid value: {reason}")])
    text = f"{added.name} ({added.email}) can now set their password and sign in."
    return _then(request, "/users", Notice(text, link=added.set_password_url or ""))


async def _account_action(request: Request, email: str, csrf_token: str, link: bool) -> Response:
    visit = await _operator_form(request, csrf_token)
    if isinstance(visit, Response):
        return visit
    try:
        if link:
            user = await api.new_link(request, email)
            notice = Notice(
                f"A new set-password link for {user.email}: older links no longer work.",
                link=user.set_password_url or "",
            )
        else:
            done = await api.disable_account(request, email)
            notice = Notice(f"{done.email} is disabled: {done.sessions_ended} session(s) ended.")
    except NotFound as missing:
        return visit.message(
            request,
            "No such account",
            f"Nothing was changed: {missing.detail}.",
            404,
            '<p><a href="/users">Back to users</a></p>',
        )
    return _then(request, "/users", notice)


@router.post("/users/link")
async def issue_link(request: Request, email: Email = "", csrf_token: TextField = "") -> Response:
    return await _account_action(request, email, csrf_token, link=True)


@router.post("/users/disable")
async def disable(request: Request, email: Email = "", csrf_token: TextField = "") -> Response:
    return await _account_action(request, email, csrf_token, link=False)

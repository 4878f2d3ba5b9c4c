"""The demand and spend pages (docs/http-api.md, "Web workspace"): managers list their trust's
demand and spend lines, upload CSV files and turn spend into demand; schools add, change and
withdraw their own demand lines and upload their own spend. Every page asks demand's API as
the signed-in person (calls.py), so demand's own role and scope checks decide what each sees.

Adding, changing and withdrawing a line redirect to the list with a banner (Post/Redirect/
Get). An upload and spend-to-demand answer with their report on the page itself: sending them
again adds nothing (a demand file carries an Idempotency-Key made from its bytes, spend lines
are keyed by invoice, and spend-to-demand skips schools that have a line).
"""

import hashlib
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Annotated, Any
from urllib.parse import quote
from uuid import UUID

from fastapi import APIRouter, File, Request, Response, UploadFile
from fastapi.responses import RedirectResponse
from starlette.datastructures import FormData

from services.web import demand_pages, forms, routes
from services.web.calls import ServiceError
from services.web.demand_pages import (
    DONE,
    FILE_FIELD,
    LINE_FIELDS,
    PAGE_SIZE,
    TO_DEMAND_FIELDS,
    Filters,
    Outcome,
    Page,
)
from services.web.pages import FieldError
from services.web.routes import TextField, Visit

router = APIRouter(include_in_schema=False)

ROLES = {"manager", "school"}
# Notes may be 2,000 characters and a reason 500 (demand's API says so when there are more).
MAX_NOTES = 8000
MAX_REASON = 2000

FILTER_FIELDS = {
    "category": ("category", "Category"),
    "school_urn": ("school_urn", "School URN"),
    "status": ("status", "Status"),
    "cursor": ("category", "Page"),
}
# A list page (demand or spend) with what a form's outcome adds to it, and its status.
View = Callable[[Request, Visit, Outcome, int], Awaitable[Response]]
# A call on a demand line: method, the action after the line's path, JSON body.
Call = tuple[str, str, dict[str, Any]]


def _filters(request: Request, visit: Visit) -> Filters:
    query = request.query_params
    return Filters(
        # A school sees only its own lines: it has no school to choose.
        school_urn=query.get("school_urn", "").strip() if visit.account.role == "manager" else "",
        category=query.get("category", ""),
        status=query.get("status", ""),
    )


async def _listing(
    request: Request, visit: Visit, path: str, filters: Filters
) -> tuple[Page, list[FieldError]] | Response:
    """A page of the lines demand's API lists at `path` for the filters and the page's cursor;
    filters it refuses come back as the filter form's errors."""
    problems = filters.problems()
    if problems:
        return Page(), problems
    cursor = request.query_params.get("cursor") or None
    params = filters.params() | {"limit": str(PAGE_SIZE)} | ({"cursor": cursor} if cursor else {})
    try:
        found = await routes.services(request).get(visit.account, "demand", path, params)
    except ServiceError as error:
        if error.status == 422:
            return Page(), demand_pages.field_errors(error.errors, error.detail, FILTER_FIELDS)
        return routes.service_problem(request, visit, error)
    return Page(found["items"], found.get("next_cursor"), cursor), []


async def _list_view(
    request: Request,
    visit: Visit,
    outcome: Outcome,
    status: int,
    path: str,
    render: Callable[..., str],
) -> Response:
    filters = _filters(request, visit)
    listed = await _listing(request, visit, path, filters)
    if isinstance(listed, Response):
        return listed
    page, problems = listed
    if problems:
        outcome, status = replace(outcome, errors=[*outcome.errors, *problems]), 422
    return visit.page(
        request, lambda person, csrf: render(person, csrf, filters, page, outcome), status
    )


async def _demand_view(request: Request, visit: Visit, outcome: Outcome, status: int) -> Response:
    return await _list_view(
        request, visit, outcome, status, "/v1/demands", demand_pages.demand_page
    )


async def _spend_view(request: Request, visit: Visit, outcome: Outcome, status: int) -> Response:
    return await _list_view(request, visit, outcome, status, "/v1/spend", demand_pages.spend_page)


def _forgery(request: Request, visit: Visit, form: FormData) -> str | None:
    return routes.forgery(request, visit, routes.text(form, forms.CSRF_FIELD))


def _done(what: str) -> RedirectResponse:
    return RedirectResponse(f"/demand?done={what}", status_code=303)


async def _list_page(request: Request, view: View, outcome: Outcome) -> Response:
    """A list page (demand or spend) as the signed-in person asks for it."""
    visit = await routes.visit(request, ROLES)
    if isinstance(visit, Response):
        return visit
    return await view(request, visit, outcome, 200)


@router.get("/demand")
async def demand(request: Request) -> Response:
    """A manager's trust's demand lines, or a school's own, filtered and paged."""
    notice = DONE.get(request.query_params.get("done", ""), "")
    return await _list_page(request, _demand_view, Outcome(notice=notice))


@router.get("/spend")
async def spend(request: Request) -> Response:
    """A manager's trust's spend lines, or a school's own invoices, filtered and paged."""
    return await _list_page(request, _spend_view, Outcome())


async def _upload(
    request: Request,
    csrf_token: str,
    file: UploadFile | None,
    api_path: str,
    view: View,
    keyed: bool,
) -> Response:
    """Sends the chosen CSV file to demand's import at `api_path` and shows its report on the
    list page `view`: each refused row in the error summary. `keyed`: the file's bytes make its
    Idempotency-Key, so the same file sent again (a refresh) replays instead of adding its lines
    twice."""
    visit = await routes.visit(request, ROLES)
    if isinstance(visit, Response):
        return visit

    async def refused(message: str, status: int) -> Response:
        return await view(request, visit, Outcome(errors=[FieldError(FILE_FIELD, message)]), status)

    forgery = routes.forgery(request, visit, csrf_token)
    if forgery is not None:
        return await refused(forgery, 403)
    if file is None or not file.filename:
        return await refused("Select a CSV file", 422)
    content = await file.read()
    if not content.strip():
        return await refused("The selected file is empty", 422)
    key = f"web-upload-{hashlib.sha256(content).hexdigest()}"
    try:
        report = await routes.services(request).send(
            visit.account,
            "POST",
            "demand",
            api_path,
            content=content,
            content_type="text/csv",
            headers={"Idempotency-Key": key} if keyed else None,
        )
    except ServiceError as error:
        if error.status in (413, 422):
            errors = demand_pages.file_refused(error.detail, error.errors)
            return await view(request, visit, Outcome(errors=errors), 422)
        return routes.service_problem(request, visit, error)
    result = demand_pages.import_report(report)
    return await view(request, visit, Outcome(report=result, errors=result.refused), 200)


Upload = Annotated[UploadFile | None, File()]


@router.post("/demand/upload")
async def upload_demand(
    request: Request, file: Upload = None, csrf_token: TextField = ""
) -> Response:
    return await _upload(request, csrf_token, file, "/v1/demands/import", _demand_view, True)


@router.post("/spend/upload")
async def upload_spend(
    request: Request, file: Upload = None, csrf_token: TextField = ""
) -> Response:
    return await _upload(request, csrf_token, file, "/v1/spend/import", _spend_view, False)


def _term(text: str) -> int | str:
    """Months as a number when they are one; else as typed, for the API to say why not."""
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 6 else text


def _line_body(category: str, typed: dict[str, str]) -> dict[str, Any]:
    """A demand line's fields as the API takes them: an empty optional field is none, an empty
    unit is the category's own."""
    return {
        "quantity": typed["quantity"],
        "unit": demand_pages.unit_or_default(category, typed["unit"]),
        "current_unit_price": typed["current_unit_price"],
        "current_supplier": typed["current_supplier"] or None,
        "contract_end": typed["contract_end"],
        "term_months": _term(typed["term_months"]),
        "notes": typed["notes"] or None,
    }


@router.get("/demand/add")
async def add_form(request: Request) -> Response:
    visit = await routes.visit(request, {"school"})
    if isinstance(visit, Response):
        return visit
    key = secrets.token_urlsafe(16)
    return visit.page(
        request, lambda person, csrf: demand_pages.add_line_page(person, csrf, key, {}, [])
    )


@router.post("/demand/add")
async def add_line(request: Request) -> Response:
    """A school adds a demand line; the form's key makes a second send of it add nothing."""
    visit = await routes.visit(request, {"school"})
    if isinstance(visit, Response):
        return visit
    form = await request.form()
    typed = routes.typed(form, LINE_FIELDS, {"notes": MAX_NOTES})
    key = routes.text(form, "key").strip() or secrets.token_urlsafe(16)

    def again(errors: list[FieldError], status: int) -> Response:
        return visit.page(
            request,
            lambda person, csrf: demand_pages.add_line_page(person, csrf, key, typed, errors),
            status,
        )

    forgery = _forgery(request, visit, form)
    if forgery is not None:
        return again([FieldError("category", forgery)], 403)
    missing = demand_pages.missing_line_fields(typed, with_category=True)
    if missing:
        return again(missing, 422)
    body = {"school_urn": visit.account.scope, "category": typed["category"]}
    body |= _line_body(typed["category"], typed)
    try:
        await routes.services(request).send(
            visit.account,
            "POST",
            "demand",
            "/v1/demands",
            json=body,
            headers={"Idempotency-Key": f"web-add-{key}"},
        )
    except ServiceError as error:
        if error.status in (409, 413, 422):
            return again(demand_pages.field_errors(error.errors, error.detail, LINE_FIELDS), 422)
        return routes.service_problem(request, visit, error)
    return _done("added")


async def _line(request: Request, visit: Visit, demand_id: str) -> dict[str, Any] | Response:
    """The line as demand's API shows it to this person (another school's: refused)."""
    try:
        UUID(demand_id)
    except ValueError:
        return routes.service_problem(request, visit, ServiceError(404, "there is no such line"))
    try:
        line: dict[str, Any] = await routes.services(request).get(
            visit.account, "demand", f"/v1/demands/{quote(demand_id, safe='')}"
        )
    except ServiceError as error:
        return routes.service_problem(request, visit, error)
    return line


@router.get("/demand/{demand_id}")
async def line_page(demand_id: str, request: Request) -> Response:
    """One demand line, with the forms that change or withdraw it while it is open."""

    async def find(visit: Visit) -> dict[str, Any] | Response:
        return await _line(request, visit, demand_id)

    return await routes.found_page(request, ROLES, find, demand_pages.line_page)


async def _change(
    request: Request,
    visit: Visit,
    demand_id: str,
    form: FormData,
    typed: dict[str, str],
    act: Callable[[dict[str, Any]], Call | list[FieldError]],
    done: str,
) -> Response:
    """Changes or withdraws a line: `act` makes the API call from the line (its method, the
    action after the line's path, the body), or the form's errors; the API's refusal (the line
    went into a tender meanwhile) is shown plainly."""
    line = await _line(request, visit, demand_id)
    if isinstance(line, Response):
        return line

    def again(shown: dict[str, Any], errors: list[FieldError], status: int) -> Response:
        return visit.page(
            request,
            lambda person, csrf: demand_pages.line_page(person, csrf, shown, typed, errors),
            status,
        )

    forgery = _forgery(request, visit, form)
    if forgery is not None:
        return again(line, [FieldError("status", forgery)], 403)
    call = act(line)
    if isinstance(call, list):
        return again(line, call, 422)
    method, action, body = call
    path = f"/v1/demands/{quote(demand_id, safe='')}{action}"
    try:
        await routes.services(request).send(visit.account, method, "demand", path, json=body)
    except ServiceError as error:
        if error.status == 409:
            fresh = await _line(request, visit, demand_id)
            if isinstance(fresh, Response):
                return fresh
            refusal = f"This line cannot change: {error.detail}"
            return again(fresh, [FieldError("status", refusal)], 409)
        if error.status in (413, 422):
            fields = LINE_FIELDS | {"reason": ("reason", "Reason for withdrawing")}
            return again(line, demand_pages.field_errors(error.errors, error.detail, fields), 422)
        return routes.service_problem(request, visit, error)
    return _done(done)


@router.post("/demand/{demand_id}")
async def change_line(demand_id: str, request: Request) -> Response:
    """Changes an open line: every field of the form is sent (unchanged ones change nothing)."""
    visit = await routes.visit(request, ROLES)
    if isinstance(visit, Response):
        return visit
    form = await request.form()
    typed = routes.typed(form, LINE_FIELDS.keys() - {"category"}, {"notes": MAX_NOTES})

    def act(line: dict[str, Any]) -> Call | list[FieldError]:
        missing = demand_pages.missing_line_fields(typed, with_category=False)
        return missing or ("PATCH", "", _line_body(line["category"], typed))

    return await _change(request, visit, demand_id, form, typed, act, "changed")


@router.post("/demand/{demand_id}/withdraw")
async def withdraw_line(demand_id: str, request: Request) -> Response:
    """Withdraws an open line, with the reason given (if any)."""
    visit = await routes.visit(request, ROLES)
    if isinstance(visit, Response):
        return visit
    form = await request.form()
    reason = routes.text(form, "reason", MAX_REASON).strip()

    def act(_: dict[str, Any]) -> Call:
        return "POST", "/withdraw", ({"reason": reason} if reason else {})

    return await _change(request, visit, demand_id, form, {"reason": reason}, act, "withdrawn")


@router.post("/spend/demand")
async def spend_to_demand(request: Request) -> Response:
    """A manager turns the trust's uncontracted spend in a category into demand lines; the page
    says how many were made and why each other school was skipped."""
    visit = await routes.visit(request, {"manager"})
    if isinstance(visit, Response):
        return visit
    form = await request.form()
    typed = routes.typed(form, ("spend_category", "spend_contract_end", "spend_term_months"))

    async def again(errors: list[FieldError], status: int) -> Response:
        return await _spend_view(request, visit, Outcome(errors=errors, typed=typed), status)

    forgery = _forgery(request, visit, form)
    if forgery is not None:
        return await again([FieldError("spend_category", forgery)], 403)
    missing = demand_pages.missing_to_demand_fields(typed)
    if missing:
        return await again(missing, 422)
    body = {
        "category": typed["spend_category"],
        "contract_end": typed["spend_contract_end"],
        "term_months": _term(typed["spend_term_months"]),
    }
    trust = quote(visit.account.scope or "", safe="")
    try:
        made = await routes.services(request).send(
            visit.account, "POST", "demand", f"/v1/trusts/{trust}/spend/demand", json=body
        )
    except ServiceError as error:
        if error.status in (413, 422):
            errors = demand_pages.field_errors(error.errors, error.detail, TO_DEMAND_FIELDS)
            return await again(errors, 422)
        return routes.service_problem(request, visit, error)
    skipped = [(s["school_urn"], s["reason"]) for s in made["skipped"]]
    notice = demand_pages.created_text(len(made["created"]), len(skipped))
    return await _spend_view(request, visit, Outcome(notice=notice, skipped=skipped), 200)

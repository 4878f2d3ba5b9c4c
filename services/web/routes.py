"""What every page route of the workspace needs (docs/http-api.md, "Web workspace"): who is
visiting (the signed-in person, if their role may see the page), the page rendered with this
browser's CSRF token, the check that a posted form came from our own page, the form's fields
read one way, and a service's API asked as the person, its refusal shown as a page.
"""

from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.datastructures import FormData

from services.web import forms, pages, store
from services.web.api import web_settings
from services.web.calls import ServiceError, Services
from services.web.domain.accounts import Account
from services.web.pages import Link, Person
from shared.service import runtime_of
from shared.unit_of_work import unit_of_work

# Form fields are bounded before anything is hashed, looked up or sent on.
MAX_FIELD = 256
# A form's text field, as a route's parameter.
TextField = Annotated[str, Form(max_length=MAX_FIELD)]
HOME_LINK = '<p><a href="/">Go to your home page</a></p>'


def services(request: Request) -> Services:
    """The other services' APIs, asked as the signed-in person (calls.py)."""
    found: Services = request.app.state.services
    return found


def csrf_key(request: Request) -> bytes:
    key: bytes = request.app.state.csrf_key
    return key


def savings_home(account: Account) -> str:
    """Where the savings dashboard's pages, served here as the person (dashboard.py), start: a
    manager's trust, or a school's own page."""
    scope = quote(account.scope or "", safe="")
    return f"/schools/{scope}" if account.role == "school" else f"/trusts/{scope}"


def navigation(account: Account) -> list[Link]:
    """What each role's workspace holds."""
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


def person_of(account: Account) -> Person:
    """The person as the header shows them, with their role's navigation."""
    return Person(account.name, account.email, account.role, account.scope, navigation(account))


def page(
    request: Request,
    render: Callable[[str], str],
    status: int = 200,
    session: str | None = None,
) -> HTMLResponse:
    """A page whose forms carry the CSRF token of this browser and `session`."""
    browser = forms.Browser(request, csrf_key(request), session)
    response = HTMLResponse(render(browser.token), status_code=status, headers=forms.HEADERS)
    browser.keep(request, response)
    return response


async def signed_in(request: Request) -> tuple[Account, str] | None:
    """The account of this browser's live session, and the session id."""
    session_id = forms.cookie(request, forms.SESSION_COOKIE)
    if not session_id:
        return None
    limits = web_settings(request).limits()
    async with unit_of_work(runtime_of(request).pool) as work:
        account = await store.resume(work.conn, session_id, datetime.now(UTC), limits)
    return None if account is None else (account, session_id)


def to_sign_in() -> RedirectResponse:
    return RedirectResponse("/sign-in", status_code=303)


@dataclass(frozen=True)
class Visit:
    """A signed-in person on a page their role may see."""

    account: Account
    person: Person
    session_id: str

    def page(
        self, request: Request, render: Callable[[Person, str], str], status: int = 200
    ) -> HTMLResponse:
        return page(request, lambda csrf: render(self.person, csrf), status, self.session_id)

    def message(
        self, request: Request, title: str, text: str, status: int, onward: str = ""
    ) -> HTMLResponse:
        """A page that says one thing to the person: a refusal, a problem, a missing thing."""
        return self.page(
            request,
            lambda person, csrf: pages.message_page(title, text, person, csrf, onward),
            status,
        )


async def visit(request: Request, roles: Collection[str]) -> Visit | Response:
    """The signed-in person, if their role may see the page; else the sign-in page (no one
    signed in) or a refusal (403)."""
    found = await signed_in(request)
    if found is None:
        return to_sign_in()
    account, session_id = found
    visiting = Visit(account, person_of(account), session_id)
    if account.role not in roles:
        return visiting.message(
            request,
            "You cannot see this page",
            "This page is not part of your work in this service.",
            403,
            HOME_LINK,
        )
    return visiting


def service_problem(request: Request, visit: Visit, error: ServiceError) -> HTMLResponse:
    """A service's refusal or failure, as a page: what it refused is the person's to see; a
    failure is a problem to try again later."""
    if error.status in (401, 403, 404):
        return visit.message(
            request, "You cannot see this page", f"The service refused: {error.detail}", 403
        )
    return visit.message(
        request,
        "Sorry, there is a problem with the service",
        f"Try again later ({error.detail}).",
        502,
    )


async def found_page(
    request: Request,
    roles: Collection[str],
    find: Callable[[Visit], Awaitable[Any]],
    render: Callable[[Person, str, Any], str],
) -> Response:
    """A page of what `find` finds for the signed-in person; or the page `find` answers
    instead (a refusal, a thing not found)."""
    visiting = await visit(request, roles)
    if isinstance(visiting, Response):
        return visiting
    found = await find(visiting)
    if isinstance(found, Response):
        return found
    return visiting.page(request, lambda person, csrf: render(person, csrf, found))


async def service_page(
    request: Request,
    roles: Collection[str],
    service: str,
    path: Callable[[Account], str],
    render: Callable[[Person, str, Any], str],
    params: Mapping[str, str] | None = None,
) -> Response:
    """A page of what a service's API answers at `path` (of the person's account), asked as
    the signed-in person; its refusal shown as a page."""

    async def ask(visiting: Visit) -> Any:
        try:
            return await services(request).get(
                visiting.account, service, path(visiting.account), params
            )
        except ServiceError as error:
            return service_problem(request, visiting, error)

    return await found_page(request, roles, ask, render)


def trust_path(account: Account, what: str) -> str:
    """The API's path of something of the manager's trust: /v1/trusts/{trust_id}/{what}."""
    return f"/v1/trusts/{quote(account.scope or '', safe='')}/{what}"


def forgery(request: Request, visit: Visit, token: str) -> str | None:
    """Why the person's form must be refused (it came from another site, or an old page), or
    None when it came from our own page."""
    return forms.forgery(request, csrf_key(request), token, visit.session_id)


def text(form: FormData, name: str, limit: int = MAX_FIELD) -> str:
    """A field's text, cut at `limit` (one more than a field may hold, so that the length check
    still sees it is too long); "" when it is missing or a file."""
    value = form.get(name)
    return value[:limit] if isinstance(value, str) else ""


def typed(
    form: FormData, names: Iterable[str], limits: Mapping[str, int] | None = None
) -> dict[str, str]:
    """What was typed into the form's fields `names`, trimmed; each cut one past the longest
    a field may hold (or its own limit in `limits`), so that the checks still see it is too
    long."""
    limits = limits or {}
    return {name: text(form, name, limits.get(name, MAX_FIELD + 1)).strip() for name in names}


def texts(form: FormData, name: str, limit: int = MAX_FIELD) -> list[str]:
    """Every value of a field sent many times (a row's field in each row), each cut at
    `limit`."""
    return [value[:limit] for value in form.getlist(name) if isinstance(value, str)]


async def checked_form(request: Request, visit: Visit, onward: str = "") -> FormData | Response:
    """The posted form, if it came from our own page (CSRF); else the refusal, which changed
    nothing."""
    form = await request.form()
    refused = forgery(request, visit, text(form, forms.CSRF_FIELD))
    if refused is None:
        return form
    return visit.message(request, "Your form was not sent", refused, 403, onward)

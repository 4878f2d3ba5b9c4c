"""The savings dashboard at the workspace's address (docs/http-api.md, "Web workspace"): a
manager's trust dashboard, its contracts and savings achieved, a school's own page, and their
CSV downloads, with the workspace's header, navigation and sign-out.

The savings service renders these pages: the workspace asks for each one server-side as the
signed-in person (calls.py: a bearer token of their role and scope, valid 5 minutes), gets its
title and main content, and frames them in its own layout with the dashboard's stylesheet.
Savings checks role and scope itself, as for any client: another trust's page, or another
school's, is refused there. The paths are the dashboard's own, so the links on its pages stay
on this address. Only GETs pass through: the dashboard's forms (its token sign-in and sign-out)
stay on the savings service, and the pages framed here carry none of them.
"""

from urllib.parse import quote

import httpx
from fastapi import APIRouter, Request, Response

from services.web import pages, routes
from services.web.calls import ServiceError
from services.web.pages import Person
from services.web.routes import Visit, savings_home

router = APIRouter(include_in_schema=False)

STYLESHEET = "/assets/dashboard.css"
# Who may ask for which pages here; savings then checks the trust or the school is theirs.
TRUST_PAGES = {"manager"}
SCHOOL_PAGES = {"school"}


def savings_page(person: Person, csrf: str, title: str, main: str, current: str) -> str:
    """A page the savings service rendered (`main`, its HTML), in the workspace's frame; the
    navigation marks `current`, the person's dashboard link."""
    return pages.layout(title, main, person=person, csrf=csrf, current=current, styles=[STYLESHEET])


async def _fetch(
    request: Request, path: str, roles: set[str], content_type: str
) -> tuple[Visit, httpx.Response] | Response:
    """The savings service's answer at `path` of `content_type`, asked as the signed-in person;
    else the page that says why not."""
    visit = await routes.visit(request, roles)
    if isinstance(visit, Response):
        return visit
    try:
        answer = await routes.services(request).fetch(visit.account, "savings", path)
    except ServiceError as error:
        return routes.service_problem(request, visit, error)
    if not _is(answer, content_type):
        return routes.service_problem(request, visit, _refusal(answer))
    return visit, answer


async def _page(request: Request, path: str, roles: set[str]) -> Response:
    """The savings service's page at `path`, asked as the signed-in person and framed here."""
    # A page is JSON, its title and main content; an unknown contract is a page too (404).
    # Any other refusal is problem details (application/problem+json).
    fetched = await _fetch(request, path, roles, "application/json")
    if isinstance(fetched, Response):
        return fetched
    visit, answer = fetched
    part = answer.json()
    current = savings_home(visit.account)
    return visit.page(
        request,
        lambda person, csrf: savings_page(person, csrf, part["title"], part["main"], current),
        answer.status_code,
    )


def _is(answer: httpx.Response, content_type: str) -> bool:
    kind: str = answer.headers.get("content-type", "")
    return kind.startswith(content_type)


def _refusal(answer: httpx.Response) -> ServiceError:
    """Why the savings service did not give what was asked, from its problem details."""
    try:
        problem = answer.json()
    except ValueError:
        problem = {}
    detail = problem.get("detail") or problem.get("title") or f"status {answer.status_code}"
    return ServiceError(answer.status_code, str(detail))


async def _download(request: Request, path: str, roles: set[str]) -> Response:
    """The savings service's CSV at `path`, asked as the signed-in person, passed on as it is."""
    fetched = await _fetch(request, path, roles, "text/csv")
    if isinstance(fetched, Response):
        return fetched
    visit, answer = fetched
    if answer.status_code != 200:
        return routes.service_problem(request, visit, _refusal(answer))
    return Response(
        answer.content,
        media_type=answer.headers["content-type"],
        headers={
            "Content-Disposition": answer.headers.get("content-disposition", "attachment"),
            # A person's figures: kept by no cache, and never taken for anything but a CSV.
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.get(STYLESHEET)
async def stylesheet(request: Request) -> Response:
    """The dashboard's style, as the savings service serves it."""
    try:
        answer = await routes.services(request).fetch(None, "savings", STYLESHEET)
    except ServiceError:
        return Response("/* the savings service did not answer */", 502, media_type="text/css")
    return Response(
        answer.content,
        answer.status_code,
        media_type="text/css",
        headers={"Cache-Control": answer.headers.get("cache-control", "no-store")},
    )


def _serve(template: str, roles: set[str], download: bool) -> None:
    """Serves the dashboard's page (or CSV download) at `template` here: the savings service's
    path is this request's own, each part quoted again."""

    async def endpoint(request: Request) -> Response:
        parts = {name: quote(value, safe="") for name, value in request.path_params.items()}
        path = template.format(**parts)
        return await (_download if download else _page)(request, path, roles)

    router.add_api_route(template, endpoint, methods=["GET"])


# The dashboard's pages and downloads, and who may ask for them here.
for template, roles in {
    "/trusts/{trust_id}": TRUST_PAGES,
    "/trusts/{trust_id}/contracts/{tender_id}": TRUST_PAGES,
    "/trusts/{trust_id}/realised": TRUST_PAGES,
    "/schools/{urn}": SCHOOL_PAGES,
}.items():
    _serve(template, roles, download=False)
for template, roles in {
    "/trusts/{trust_id}/ledger.csv": TRUST_PAGES,
    "/trusts/{trust_id}/realised.csv": TRUST_PAGES,
    "/schools/{urn}/ledger.csv": SCHOOL_PAGES,
    "/schools/{urn}/realised.csv": SCHOOL_PAGES,
}.items():
    _serve(template, roles, download=True)

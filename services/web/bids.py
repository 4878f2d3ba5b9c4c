"""A supplier's pages (docs/http-api.md, "Web workspace"): a tender's notice with the bid form,
and the supplier's own bids with their assessment summaries. Each asks tendering's API as the
signed-in person (calls.py), so tendering's own rules decide: the bid's checks are the API's,
and its refusals are shown at the form's fields.
"""

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from starlette.datastructures import FormData

from services.web import bid_pages, forms, routes
from services.web.calls import ServiceError
from services.web.domain import bids
from services.web.domain.bids import BidForm
from services.web.pages import FieldError, Person
from services.web.routes import Visit

router = APIRouter(include_in_schema=False)

SUPPLIER = {"supplier"}
# The assessment summaries a page asks for at most, newest bids first.
MAX_SUMMARIES = 20


def _shown(problems: Sequence[bids.Problem]) -> list[FieldError]:
    return [FieldError(p.field, p.message) for p in problems]


async def _notice(request: Request, visit: Visit, tender_id: UUID) -> Any:
    return await routes.services(request).get(
        visit.account, "tendering", f"/v1/tenders/{tender_id}/notice"
    )


def _typed(form: FormData) -> BidForm:
    return bids.typed(
        routes.text(form, "supplier_name"),
        routes.text(form, "lot"),
        routes.texts(form, "min_quantity"),
        routes.texts(form, "unit_price"),
    )


@router.get("/open-tenders/{tender_id}")
async def notice(tender_id: UUID, request: Request) -> Response:
    """The tender's notice and, while it takes bids, the bid form."""

    def render(person: Person, csrf: str, found: Any) -> str:
        return bid_pages.notice_page(person, csrf, found, datetime.now(UTC))

    return await routes.service_page(
        request, SUPPLIER, "tendering", lambda _: f"/v1/tenders/{tender_id}/notice", render
    )


@router.post("/open-tenders/{tender_id}")
async def bid(tender_id: UUID, request: Request) -> Response:
    """The bid form sent: a row added or removed (the form again, as typed), or the bid, sent to
    tendering; its refusals are shown at the fields, the form keeping what was typed."""
    visit = await routes.visit(request, SUPPLIER)
    if isinstance(visit, Response):
        return visit
    sent = await request.form()
    try:
        found = await _notice(request, visit, tender_id)
    except ServiceError as error:
        return routes.service_problem(request, visit, error)
    form, now = _typed(sent), datetime.now(UTC)

    def again(errors: Sequence[FieldError], status: int, shown: BidForm = form) -> Response:
        return visit.page(
            request,
            lambda p, csrf: bid_pages.notice_page(p, csrf, found, now, shown, errors),
            status,
        )

    forgery = routes.forgery(request, visit, routes.text(sent, forms.CSRF_FIELD))
    if forgery is not None:
        return again([FieldError(bids.tier_id(1, "min_quantity"), forgery)], 403)
    action = routes.text(sent, "action") or "submit"
    if action == "add":
        return again([], 200, bids.with_tier_added(form))
    if action.startswith("remove-") and action.removeprefix("remove-").isdigit():
        return again([], 200, bids.with_tier_removed(form, int(action.removeprefix("remove-"))))
    if not bid_pages.takes_bids(found, now):
        return visit.page(request, lambda p, csrf: bid_pages.notice_page(p, csrf, found, now), 409)
    blank = bids.blanks(form, len(found["lots"]))
    if blank:
        return again(_shown(blank), 422)
    path = f"/v1/tenders/{tender_id}/bids"
    try:
        await routes.services(request).send(
            visit.account, "POST", "tendering", path, json=bids.bid_body(form)
        )
    except ServiceError as error:
        if error.status == 422:
            return again(_shown(bids.refusals(error.errors, error.detail)), 422)
        if error.status == 409:
            # Bidding closed while the form was open.
            closed = [FieldError(bids.tier_id(1, "min_quantity"), error.detail)]
            return again(closed, 409)
        return routes.service_problem(request, visit, error)
    return RedirectResponse(f"{bid_pages.YOUR_BIDS}?done=bid", status_code=303)


@router.get("/bids")
async def your_bids(request: Request) -> Response:
    """The supplier's bids, and the assessment summaries of those whose lot is awarded."""
    visit = await routes.visit(request, SUPPLIER)
    if isinstance(visit, Response):
        return visit
    services = routes.services(request)
    try:
        found = await services.get(visit.account, "tendering", "/v1/bids")
        awarded = [b for b in found if b["lot_status"] == "awarded"][:MAX_SUMMARIES]
        summaries = await asyncio.gather(
            *(
                services.get(
                    visit.account,
                    "tendering",
                    f"/v1/tenders/{b['tender_id']}/bids/{b['bid_id']}/assessment",
                )
                for b in awarded
            )
        )
    except ServiceError as error:
        return routes.service_problem(request, visit, error)
    assessments = {str(b["bid_id"]): a for b, a in zip(awarded, summaries, strict=True)}
    done = "Your bid is submitted." if request.query_params.get("done") == "bid" else ""
    now = datetime.now(UTC)
    return visit.page(
        request, lambda p, csrf: bid_pages.bids_page(p, csrf, found, assessments, now, done)
    )

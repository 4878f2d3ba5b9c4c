"""The manager's pools and tenders in the workspace (docs/http-api.md, "Web workspace"): the
pools, a pool's page that opens a tender, the trust's tenders, and a tender's page where the
manager scores the bids' quality, awards and cancels. Every page asks tendering's API as the
signed-in person (calls.py), so tendering checks role and trust, and records the person (their
email address) as who opened, scored, awarded or cancelled. Each form is CSRF-checked and
answers with Post/Redirect/Get and a success banner; a refusal comes back as the form with an
error summary, the message at its field and what was typed.
"""

from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import replace
from typing import Any
from uuid import UUID

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import RedirectResponse
from starlette.datastructures import FormData

from services.web import pages, routes, store, tender_pages
from services.web.calls import ServiceError
from services.web.domain import tender_forms
from services.web.pages import FieldError, Person
from services.web.routes import Visit
from services.web.tender_pages import Opening, TenderView
from shared.service import runtime_of
from shared.unit_of_work import unit_of_work

router = APIRouter(include_in_schema=False)
MANAGERS = {"manager"}
MAX_REASON = 500
MAX_COMMENT = 2000
# What the tender's page says after each action (tender_pages.BANNERS).
DONE = {"evaluation": "scored", "award": "awarded", "cancel": "cancelled"}

# The API's field names (docs/http-api.md) as the form's inputs, and how a message names them.
OPENING_FIELDS = {
    "closes_at": ("closes-day", "Bids close"),
    "term_months": ("term_months", "Contract term"),
    "framework": ("framework", "Framework"),
    "procedure": ("procedure", "Procedure"),
    "planned_procurement_notice": ("planned_procurement_notice", "Planned procurement notice"),
    "urgency_reason": ("urgency_reason", "Urgency"),
    "lots_by": ("lots_by", "Lots"),
    "weights.price": ("weight-price", "Price weight"),
    "weights.quality": ("weight-quality", "Quality weight"),
    "weights": ("weight-price", "Weights"),
    "pool_id": ("procedure", "This pool"),
}


def refusals(
    error: ServiceError, fields: Mapping[str, tuple[str, str]], fallback: str
) -> list[FieldError]:
    """The API's refusal as messages at the form's fields: 'Bids close must be in the future'.
    A refusal without a field is shown at `fallback`."""
    found = []
    for problem in error.errors:
        name = problem.get("field", "").removeprefix("body.")
        reason = problem.get("reason", "is not valid")
        key = next((k for k in fields if name == k or name.startswith(f"{k}.")), None)
        if key is None:
            key = next((k for k in fields if name.startswith(k)), None)
        field_id, label = fields[key] if key is not None else (fallback, name or "This")
        found.append(FieldError(field_id, f"{label}: {reason}"))
    return found or [FieldError(fallback, error.detail[:1].upper() + error.detail[1:])]


# Pools


async def _trust_page(
    request: Request, what: str, render: Callable[[Person, str, Any], str]
) -> Response:
    """A page of what tendering lists of the manager's trust: its pools, its tenders."""
    return await routes.service_page(
        request, MANAGERS, "tendering", lambda account: routes.trust_path(account, what), render
    )


@router.get("/pools")
async def pools(request: Request) -> Response:
    """The manager's trust's pools, from tendering."""
    return await _trust_page(request, "pools", tender_pages.pools_page)


async def _pool(request: Request, visit: Visit, pool_id: str) -> dict[str, Any] | Response:
    """The trust's open pool, as tendering lists it; else the page that says it is gone, or
    that tendering refused."""
    path = routes.trust_path(visit.account, "pools")
    try:
        pools = await routes.services(request).get(visit.account, "tendering", path)
    except ServiceError as error:
        return routes.service_problem(request, visit, error)
    found: dict[str, Any] | None = next((p for p in pools if p["pool_id"] == pool_id), None)
    if found is not None:
        return found
    return visit.message(
        request,
        "Pool not found",
        "This pool is no longer open: a tender may have taken its demand, or its demand changed.",
        404,
        '<p><a href="/pools">Go to your pools</a></p>',
    )


@router.get("/pools/{pool_id}")
async def pool(pool_id: str, request: Request) -> Response:
    """A pool's page, with the form that opens a tender for it."""

    async def find(visit: Visit) -> dict[str, Any] | Response:
        return await _pool(request, visit, pool_id)

    def render(person: Person, csrf: str, found: dict[str, Any]) -> str:
        return tender_pages.pool_page(person, csrf, found, Opening())

    return await routes.found_page(request, MANAGERS, find, render)


def opening_request(
    trust_id: str, pool: Mapping[str, Any], typed: Opening
) -> tuple[dict[str, Any], list[FieldError]]:
    """The API's request to open a tender for the pool, from what was typed; or what is wrong
    with it, field by field."""
    errors = []
    if typed.procedure not in pages.PROCEDURES:
        errors.append(FieldError("procedure", "Select a procedure"))
    if typed.procedure == "framework_call_off" and not typed.framework.strip():
        errors.append(FieldError("framework", "Enter the framework a call-off calls off"))
    closes = tender_forms.closing_time(typed.day, typed.month, typed.year, typed.time)
    if isinstance(closes, str):
        errors.append(FieldError("closes-day", closes))
    if len(typed.urgency.strip()) > MAX_REASON:
        too_long = f"Why the matter is urgent must be {MAX_REASON} characters or fewer"
        errors.append(FieldError("urgency_reason", too_long))
    term = tender_forms.months(typed.term_months)
    if isinstance(term, str):
        errors.append(FieldError("term_months", term))
    if typed.lots_by not in tender_pages.LOTS:
        errors.append(FieldError("lots_by", "Select how to split the pool into lots"))
    weights = tender_forms.weights(typed.price, typed.quality)
    for field_id, message in zip(("weight-price", "weight-quality"), weights, strict=True):
        if isinstance(message, str) and message:
            errors.append(FieldError(field_id, message))
    if errors or isinstance(closes, str) or isinstance(term, str):
        return {}, errors
    price, quality = weights
    body: dict[str, Any] = {
        "trust_id": trust_id,
        "category": pool["category"],
        "pool_id": pool["pool_id"],
        "closes_at": closes.isoformat(),
        "term_months": term,
        "procedure": typed.procedure,
        "weights": {"price": str(price), "quality": str(quality)},
    }
    if typed.framework.strip():
        body["framework"] = typed.framework.strip()
    if typed.lots_by:
        body["lots_by"] = typed.lots_by
    if typed.planned == "yes":
        body["planned_procurement_notice"] = True
    if typed.urgency.strip():
        body["urgency_reason"] = typed.urgency.strip()
    return body, []


@router.post("/pools/{pool_id}")
async def open_tender(pool_id: str, request: Request) -> Response:
    """Opens a tender for the pool, as the signed-in manager."""
    visit = await routes.visit(request, MANAGERS)
    if isinstance(visit, Response):
        return visit
    form = await routes.checked_form(request, visit)
    if isinstance(form, Response):
        return form
    typed = Opening(
        **{
            name: routes.text(form, key, MAX_REASON + 1)
            for name, key in (
                ("procedure", "procedure"),
                ("framework", "framework"),
                ("day", "closes-day"),
                ("month", "closes-month"),
                ("year", "closes-year"),
                ("time", "closes-time"),
                ("term_months", "term_months"),
                ("lots_by", "lots_by"),
                ("price", "weight-price"),
                ("quality", "weight-quality"),
                ("planned", "planned_procurement_notice"),
                ("urgency", "urgency_reason"),
            )
        }
    )
    found = await _pool(request, visit, pool_id)
    if isinstance(found, Response):
        return found
    body, errors = opening_request(visit.account.scope or "", found, typed)
    if not errors:
        try:
            opened = await routes.services(request).send(
                visit.account, "POST", "tendering", "/v1/tenders", json=body
            )
            where = tender_pages.tender_href(opened["tender_id"])
            return RedirectResponse(f"{where}?done=opened", status_code=303)
        except ServiceError as error:
            # 404: the pool changed since it was read.
            if error.status not in (404, 409, 422):
                return routes.service_problem(request, visit, error)
            errors = refusals(error, OPENING_FIELDS, "procedure")
    return visit.page(
        request,
        lambda person, csrf: tender_pages.pool_page(person, csrf, found, typed, errors),
        422,
    )


# Tenders


@router.get("/tenders")
async def tenders(request: Request) -> Response:
    """The manager's trust's tenders, from tendering."""
    return await _trust_page(request, "tenders", tender_pages.tenders_page)


def _tender_id(text: str) -> str | None:
    try:
        return str(UUID(text))
    except ValueError:
        return None


async def _tender_view(
    request: Request, visit: Visit, tender_id: str, **shown: Any
) -> TenderView | Response:
    """The tender and its history as tendering gives them to the manager, with what the page
    shows besides; or the page that says tendering refused."""
    services = routes.services(request)
    try:
        tender = await services.get(visit.account, "tendering", f"/v1/tenders/{tender_id}")
        history = await services.get(visit.account, "tendering", f"/v1/tenders/{tender_id}/history")
    except ServiceError as error:
        return routes.service_problem(request, visit, error)
    async with unit_of_work(runtime_of(request).pool) as work:
        names = await store.names(work.conn, {entry["done_by"] for entry in history})
    return TenderView(tender, history, names, **shown)


def _show(request: Request, visit: Visit, view: TenderView, status: int = 200) -> Response:
    def render(person: Person, csrf: str) -> str:
        return tender_pages.tender_page(person, csrf, view)

    return visit.page(request, render, status)


async def _tender_visit(request: Request, tender_id: str) -> tuple[Visit, str] | Response:
    """The signed-in manager and the tender's id, or the page that refuses."""
    visit = await routes.visit(request, MANAGERS)
    if isinstance(visit, Response):
        return visit
    checked = _tender_id(tender_id)
    if checked is None:
        missing = ServiceError(404, f"no tender {tender_id[:40]}")
        return routes.service_problem(request, visit, missing)
    return visit, checked


@router.get("/tenders/{tender_id}")
async def tender(tender_id: str, request: Request) -> Response:
    found = await _tender_visit(request, tender_id)
    if isinstance(found, Response):
        return found
    visit, checked = found
    view = await _tender_view(request, visit, checked, done=request.query_params.get("done", ""))
    if isinstance(view, Response):
        return view
    return _show(request, visit, view)


async def _act(
    request: Request,
    visit: Visit,
    tender_id: str,
    action: str,
    refusable: Collection[int],
    body: Mapping[str, Any] | None = None,
) -> Response | ServiceError:
    """Sends the manager's `action` on the tender to tendering: then on to the tender's page,
    which says it is done (Post/Redirect/Get); or tendering's refusal (its status one of
    `refusable`), for the form to show; or the page that says tendering failed."""
    path = f"/v1/tenders/{tender_id}/{action}"
    try:
        await routes.services(request).send(visit.account, "POST", "tendering", path, json=body)
    except ServiceError as error:
        if error.status in refusable:
            return error
        return routes.service_problem(request, visit, error)
    done = DONE[action]
    return RedirectResponse(f"{tender_pages.tender_href(tender_id)}?done={done}", status_code=303)


def _score_fields(tender: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The bids the scoring form has a field for: those of undecided lots."""
    return [b for lot in tender["lots"] if lot["status"] == "open" for b in lot["bids"] or []]


def score_request(
    bids: Sequence[Mapping[str, Any]], typed: Mapping[str, str], comments: Mapping[str, str]
) -> tuple[dict[str, Any], list[FieldError]]:
    """The API's evaluation request from the typed scores and comments (by bid id), or what is
    wrong."""
    scores, errors = [], []
    for b in bids:
        bid_id, name = str(b["bid_id"]), tender_pages.supplier(b)
        read = tender_forms.quality_score(typed.get(bid_id, ""), name)
        comment = comments.get(bid_id, "").strip()
        if isinstance(read, str):
            errors.append(FieldError(f"score-{bid_id}", read))
        if len(comment) > MAX_COMMENT:
            too_long = f"Why {name} scored this must be {MAX_COMMENT:,} characters or fewer"
            errors.append(FieldError(f"comment-{bid_id}", too_long))
        if not isinstance(read, str):
            score = {"bid_id": bid_id, "quality_score": str(read)}
            scores.append(score | ({"comment": comment} if comment else {}))
    return {"scores": scores}, errors


async def _save_scores(request: Request, visit: Visit, checked: str, form: FormData) -> Response:
    """Saves the manager's quality scores of the bids."""
    view = await _tender_view(request, visit, checked)
    if isinstance(view, Response):
        return view
    bids = _score_fields(view.tender)
    typed = {str(b["bid_id"]): routes.text(form, f"score-{b['bid_id']}") for b in bids}
    comments = {
        str(b["bid_id"]): routes.text(form, f"comment-{b['bid_id']}", MAX_COMMENT + 1) for b in bids
    }
    body, errors = score_request(bids, typed, comments)
    if not bids:
        errors = [FieldError("main-content", "There are no bids to score")]
    if not errors:
        sent = await _act(request, visit, checked, "evaluation", (409, 422), body)
        if isinstance(sent, Response):
            return sent
        errors = refusals(sent, _score_names(bids), f"score-{bids[0]['bid_id']}")
    shown = replace(view, errors=errors, scores=typed, comments=comments)
    return _show(request, visit, shown, 422)


def _score_names(bids: Sequence[Mapping[str, Any]]) -> dict[str, tuple[str, str]]:
    """The API names scores by their place in the request (scores[0].quality_score, or
    scores.0.quality_score from validation): each as its field on the page."""
    names = {}
    for i, b in enumerate(bids):
        field = (f"score-{b['bid_id']}", f"Quality score for {tender_pages.supplier(b)}")
        names[f"scores[{i}]"] = names[f"scores.{i}"] = field
    return names


async def _award(request: Request, visit: Visit, checked: str, _: FormData) -> Response:
    """Awards each undecided lot to its first-ranked bid, as the signed-in manager."""
    refused = await _act(request, visit, checked, "award", (409,))
    if isinstance(refused, Response):
        return refused
    view = await _tender_view(request, visit, checked)
    if isinstance(view, Response):
        return view
    bids = _score_fields(view.tender)
    first = f"score-{bids[0]['bid_id']}" if bids else "main-content"
    errors = refusals(refused, {}, first)
    return _show(request, visit, replace(view, errors=errors), 409)


async def _cancel(request: Request, visit: Visit, checked: str, form: FormData) -> Response:
    """Cancels the tender with the manager's reason."""
    reason = routes.text(form, "reason", MAX_REASON + 1).strip()
    errors = []
    if not reason:
        errors = [FieldError("reason", "Enter a reason for cancelling")]
    elif len(reason) > MAX_REASON:
        errors = [FieldError("reason", f"Reason must be {MAX_REASON} characters or fewer")]
    if not errors:
        sent = await _act(request, visit, checked, "cancel", (409, 422), {"reason": reason})
        if isinstance(sent, Response):
            return sent
        errors = refusals(sent, {"reason": ("reason", "Reason")}, "reason")
    view = await _tender_view(request, visit, checked, errors=errors, reason=reason)
    if isinstance(view, Response):
        return view
    return _show(request, visit, view, 422)


# The forms of a tender's page, by the last part of the address each posts to.
TENDER_FORMS: dict[str, Callable[[Request, Visit, str, FormData], Awaitable[Response]]] = {
    "scores": _save_scores,
    "award": _award,
    "cancel": _cancel,
}


@router.post("/tenders/{tender_id}/{action}")
async def tender_form(tender_id: str, action: str, request: Request) -> Response:
    """A form of the tender's page sent (quality scores, the award, the cancellation), by the
    signed-in manager from our own page."""
    act = TENDER_FORMS.get(action)
    if act is None:
        raise HTTPException(status_code=404)
    found = await _tender_visit(request, tender_id)
    if isinstance(found, Response):
        return found
    visit, checked = found
    form = await routes.checked_form(request, visit)
    if isinstance(form, Response):
        return form
    return await act(request, visit, checked, form)

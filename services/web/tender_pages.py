"""The manager's pools and tenders pages, rendered as HTML from what tendering's API gives
(docs/http-api.md): the pools with their route and warnings, a pool's page with the form that
opens a tender, the trust's tenders, and a tender's page (its notice, the bids once bidding has
closed, quality scoring, the evaluation explained, award, cancellation and its history). Pure
functions of plain values, in the patterns of pages.py.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from html import escape
from typing import Any
from urllib.parse import quote

from services.web import pages
from services.web.domain.accounts import normal_email
from services.web.pages import FieldError, Person
from shared.presentation import category_name, local_time, long_date, money, quantity

LOTS = {
    "": "One lot for the whole pool",
    "local_authority": "A lot for each local authority",
    "phase": "A lot for each phase (primary, secondary)",
}
STATUSES = {
    "open": "Open",
    "awarded": "Awarded",
    "no_bids": "Closed without bids",
    "cancelled": "Cancelled",
}
ACTIONS = {
    "opened": "Opened the tender",
    "bid_received": "Bid received",
    "scores_saved": "Quality score saved",
    "awarded": "Contract awarded",
    "no_bids": "Closed without bids",
    "cancelled": "Cancelled the tender",
}
# Who the service itself is, when it acted on its own.
AUTOMATIC = {
    "policy": "the opening policy (automatic)",
    "deadline": "the deadline policy (automatic)",
}
BANNERS = {
    "opened": "Tender opened. Suppliers can bid until bids close.",
    "scored": "Quality scores saved.",
    "awarded": "Contract awarded.",
    "cancelled": "Tender cancelled. Its demand is back in the pool.",
}


def _when(text: str) -> str:
    return local_time(datetime.fromisoformat(text))


def pool_href(pool_id: str) -> str:
    return f"/pools/{quote(pool_id, safe='')}"


def tender_href(tender_id: str) -> str:
    return f"/tenders/{quote(tender_id, safe='')}"


def supplier(bid: Mapping[str, Any]) -> str:
    """A bidder as people know it: its trading name, else its supplier id."""
    name: str = bid.get("supplier_name") or bid["supplier_id"]
    return name


def person_of(done_by: str, names: Mapping[str, str]) -> str:
    """Who did something, as the history shows them: the service itself in words, a person by
    their account's name and address (`names`, by address as accounts compare them), anyone
    else as recorded."""
    if done_by in AUTOMATIC:
        return AUTOMATIC[done_by]
    name = names.get(normal_email(done_by))
    return f"{name} ({done_by})" if name else done_by


def table(
    caption: str, columns: Sequence[str], rows: Sequence[Sequence[str]], numeric: int = 0
) -> str:
    """A table of cells that are already HTML; the last `numeric` columns right-aligned; the
    caption shown, as a heading of the table."""
    first_numeric = len(columns) - numeric
    heads = [(name, i >= first_numeric) for i, name in enumerate(columns)]
    return pages.table(caption, heads, rows, caption_shown=True)


# Pools


def pools_page(person: Person, csrf: str, pools: Sequence[Mapping[str, Any]]) -> str:
    """The trust's pooled demand, as tendering's GET /v1/trusts/{trust_id}/pools gives it: each
    pool with its route, value, threshold and any warning, linked to its page."""
    rows = [
        (
            f'<a href="{escape(pool_href(p["pool_id"]))}">{escape(category_name(p["category"]))}'
            f'<span class="visually-hidden">, contracts ending'
            f" {escape(pages.between(p['earliest_end'], p['latest_end']))}</span></a>",
            escape(pages.between(p["earliest_end"], p["latest_end"])),
            escape(pages.route_name(p["route"]["route"])),
            escape(warning(p) or "None"),
            f"{len(p['schools'])}",
            escape(quantity(pages.amount(p["total_quantity"]), pages.unit_of(p["category"]))),
            escape(money(pages.amount(p["route"]["value_inc_vat"]))),
            escape(
                f"{money(pages.amount(p['route']['threshold']))} ({p['route']['threshold_name']})"
            ),
        )
        for p in pools
    ]
    listing = (
        table(
            "Pools",
            (
                "Category",
                "Contracts end",
                "Route",
                "Warnings",
                "Schools",
                "Quantity",
                "Value inc. VAT",
                "Threshold",
            ),
            rows,
            numeric=4,
        )
        if rows
        else "<p>No open demand is pooled yet: pools appear as schools submit demand.</p>"
    )
    main = (
        pages.heading(person, "Pools")
        + "<p>Your schools' open demand, pooled by category and contract end date, with the value"
        " of a joint contract over its term and the legal route it takes. Open a pool to start a"
        " tender for it.</p>"
        f"{listing}"
    )
    return pages.layout("Pools", main, person=person, csrf=csrf, current="/pools")


def warning(pool: Mapping[str, Any]) -> str:
    """Why the pool cannot be tendered on its own now, if it cannot."""
    conflicts = pool.get("conflicting_tenders") or []
    if not conflicts:
        return ""
    return (
        "Would split a requirement: an open tender already covers demand ending within the"
        " pooling window. Cancel or award it first."
    )


@dataclass(frozen=True)
class Opening:
    """What the manager typed into the form that opens a tender."""

    procedure: str = "open"
    framework: str = ""
    day: str = ""
    month: str = ""
    year: str = ""
    time: str = "12:00"
    term_months: str = ""
    lots_by: str = ""
    price: str = "70"
    quality: str = "30"
    # "yes" when a planned procurement notice was published.
    planned: str = ""
    urgency: str = ""


def _shorter_period(form: Opening, errors: Sequence[FieldError]) -> str:
    """What allows a 10-day minimum on the regulated route: a planned procurement notice, or
    urgency (Procurement Act 2023, s.54)."""
    checked = " checked" if form.planned == "yes" else ""
    return pages.fieldset(
        "Shorter minimum period",
        '<div class="checkbox"><input class="checkbox-input" id="planned_procurement_notice"'
        f' name="planned_procurement_notice" type="checkbox" value="yes"{checked}>'
        '<label class="checkbox-label" for="planned_procurement_notice">A qualifying planned'
        " procurement notice was published</label></div>"
        + pages.text_input(
            "urgency_reason", "Why the matter is urgent (optional)", errors, form.urgency
        ),
        hint="Above the threshold, an open or competitive flexible procedure may close 10 days"
        " after opening, not 25, if either applies.",
        hint_id="shorter-hint",
    )


def _date_input(form: Opening, errors: Sequence[FieldError]) -> str:
    """GOV.UK date input for when bids close, with the time beside it (UK time)."""
    error_class = " input-error" if any(e.field == "closes-day" for e in errors) else ""

    def part(id_: str, label: str, value: str, width: str, numeric: bool = True) -> str:
        # A time has a colon, which a phone's numeric keypad lacks.
        keypad = ' inputmode="numeric"' if numeric else ""
        return (
            f'<div class="date-item"><label class="label" for="{id_}">{label}</label>'
            f'<input class="input {width}{error_class}" id="{id_}" name="{id_}" type="text"'
            f'{keypad} value="{escape(value)}"></div>'
        )

    return pages.fieldset(
        "Bids close",
        '<div class="date-input">'
        + part("closes-day", "Day", form.day, "width-2")
        + part("closes-month", "Month", form.month, "width-2")
        + part("closes-year", "Year", form.year, "width-4")
        + part("closes-time", "Time", form.time, "width-5", numeric=False)
        + "</div>",
        errors,
        id_="closes-day",
        hint="UK time. For example, 27 3 2027 at 17:00. An open or competitive flexible"
        " procedure above the threshold needs 25 days or more; a call-off from a framework has"
        " no minimum.",
        hint_id="closes-hint",
        role="group",
    )


def pool_page(
    person: Person,
    csrf: str,
    pool: Mapping[str, Any],
    form: Opening,
    errors: Sequence[FieldError] = (),
) -> str:
    """A pool: its schools' lines, its route explained, and the form that opens a tender."""
    route = pool["route"]
    name = category_name(pool["category"])
    unit = pages.unit_of(pool["category"])
    lines = table(
        "Demand lines in this pool",
        ("School (URN)", "Contract ends", "Quantity", "Current unit price"),
        [
            (
                escape(line["school_urn"]),
                escape(long_date(date.fromisoformat(line["contract_end"]))),
                escape(quantity(pages.amount(line["quantity"]), unit)),
                escape(f"£{pages.amount(line['baseline_unit_price']):f}"),
            )
            for line in pool["lines"]
        ],
        numeric=2,
    )
    conflicts = pool.get("conflicting_tenders") or []
    warned = (
        '<div class="warning-text"><strong><span class="visually-hidden">Warning: </span>'
        f"{escape(warning(pool))}</strong> "
        + ", ".join(
            f'<a href="{escape(tender_href(t))}">the open tender {i}</a>'
            for i, t in enumerate(conflicts, start=1)
        )
        + "</div>"
        if conflicts
        else ""
    )
    facts = pages.summary_list(
        [
            ("Schools", f"{len(pool['schools'])}"),
            ("Quantity", quantity(pages.amount(pool["total_quantity"]), unit)),
            ("Contracts end", pages.between(pool["earliest_end"], pool["latest_end"])),
            ("Contract term", f"{pool['term_months']} months"),
            ("Value inc. VAT", money(pages.amount(route["value_inc_vat"]))),
            (
                "Threshold",
                f"{money(pages.amount(route['threshold']))} ({route['threshold_name']})",
            ),
            ("Route", pages.route_name(route["route"])),
            ("Why", route["reason"]),
        ]
    )
    term = form.term_months or str(pool["term_months"])
    # Each weight's field shows its own error.
    weights_form = pages.fieldset(
        "How bids are weighed",
        pages.text_input("weight-price", "Price (%)", errors, form.price)
        + pages.text_input("weight-quality", "Quality (%)", errors, form.quality),
        hint="The most economically advantageous tender: percentages that add up to 100.",
        hint_id="weights-hint",
    )
    opening = (
        '<h2 class="heading-m">Open a tender for this pool</h2>'
        f'<form method="post" action="{escape(pool_href(pool["pool_id"]))}" novalidate>'
        f"{pages.csrf_input(csrf)}"
        + pages.radios(
            "procedure", "Procedure", list(pages.PROCEDURES.items()), form.procedure, errors
        )
        + pages.text_input(
            "framework",
            "Framework",
            errors,
            form.framework,
            hint="Only for a call-off from a framework: the framework's name, for example"
            " ESPO 191 Energy.",
        )
        + _date_input(form, errors)
        + _shorter_period(form, errors)
        + pages.text_input(
            "term_months", "Contract term (months)", errors, term, inputmode="numeric"
        )
        + pages.radios("lots_by", "Lots", list(LOTS.items()), form.lots_by, errors)
        + weights_form
        + '<button type="submit" class="button">Open tender</button></form>'
    )
    title = f"{name} pool"
    main = (
        pages.error_summary(errors)
        + pages.heading(person, title)
        + f"{warned}{facts}{lines}{opening}"
        '<p><a href="/pools">Back to pools</a></p>'
    )
    return pages.layout(
        title, main, person=person, csrf=csrf, current="/pools", errors=bool(errors)
    )


# Tenders


def tenders_page(person: Person, csrf: str, tenders: Sequence[Mapping[str, Any]]) -> str:
    """The trust's tenders, newest first, as GET /v1/trusts/{trust_id}/tenders gives them."""
    rows = [
        (
            f'<a href="{escape(tender_href(t["tender_id"]))}">'
            f"{escape(category_name(t['category']))}"
            f'<span class="visually-hidden">, opened {escape(_when(t["opened_at"]))}</span></a>',
            escape(STATUSES.get(t["status"], t["status"])),
            escape(_when(t["closes_at"])),
            escape(pages.procedure_name(t["procedure"])),
            escape(_when(t["opened_at"])),
        )
        for t in tenders
    ]
    listing = (
        table(
            "Your trust's tenders", ("Tender", "Status", "Bids close", "Procedure", "Opened"), rows
        )
        if rows
        else '<p>No tenders yet. Open one from a <a href="/pools">pool</a>.</p>'
    )
    main = (
        pages.heading(person, "Tenders")
        + "<p>Your trust's joint tenders, newest first.</p>"
        + listing
    )
    return pages.layout("Tenders", main, person=person, csrf=csrf, current="/tenders")


@dataclass(frozen=True)
class TenderView:
    """What a tender's page shows: the tender and its history from tendering, what the manager
    typed (scores by bid id, a cancellation reason) and any banner or errors."""

    tender: Mapping[str, Any]
    history: Sequence[Mapping[str, Any]]
    # The workspace's names of the people in the history, by address as accounts compare them.
    names: Mapping[str, str] = field(default_factory=dict)
    done: str = ""
    errors: Sequence[FieldError] = ()
    scores: Mapping[str, str] = field(default_factory=dict)
    comments: Mapping[str, str] = field(default_factory=dict)
    reason: str = ""


def _lot_title(tender: Mapping[str, Any], lot: Mapping[str, Any]) -> str:
    if tender["lots_by"] is None:
        return "Bids"
    return f"Lot {lot['lot']}: {lot['name'] or 'unnamed'}"


def _evaluation(tender: Mapping[str, Any], lot: Mapping[str, Any]) -> str:
    """The lot's bids, ranked and scored row by row (or waiting for quality scores)."""
    bids = lot["bids"] or []
    if not bids:
        return "<p>No bids were received for this lot.</p>"
    unit = tender["unit"]
    price_w, quality_w = (
        pages.percent(tender["weights"]["price"]),
        pages.percent(tender["weights"]["quality"]),
    )

    def score(value: Any) -> str:
        return "Not yet" if value is None else escape(f"{pages.amount(value):f}")

    rows = [
        (
            escape(supplier(b)),
            escape(pages.bid_price(b["unit_price_at_pooled_volume"], unit)),
            score(b["price_score"])
            + (f" &times; {price_w}" if b["price_score"] is not None else ""),
            score(b["quality_score"])
            + (f" &times; {quality_w}" if b["quality_score"] is not None else ""),
            score(b["score"]),
            "Not yet" if b["rank"] is None else f"{b['rank']}",
        )
        for b in bids
    ]
    caption = (
        "How the bids were evaluated"
        if tender["lots_by"] is None
        else f"How the bids for lot {lot['lot']} were evaluated"
    )
    return table(
        caption,
        (
            "Supplier",
            "Unit price at pooled volume",
            "Price score",
            "Quality score",
            "Total",
            "Rank",
        ),
        rows,
        numeric=5,
    ) + (
        f"<p>The lowest price scores 100 and each other price scores in proportion to it. Each"
        f" total is the price score &times; {price_w} plus the quality score &times;"
        f" {quality_w}, out of 100. The highest total ranks first; a tie goes to the lower"
        " price, then the earlier bid.</p>"
    )


def _scoring_form(view: TenderView, csrf: str) -> str:
    """One field per bid of each undecided lot: 'Quality score for {supplier}'."""
    tender = view.tender
    groups = []
    for lot in tender["lots"]:
        if lot["status"] != "open" or not lot["bids"]:
            continue
        fields = "".join(
            pages.text_input(
                f"score-{b['bid_id']}",
                f"Quality score for {supplier(b)}",
                view.errors,
                view.scores.get(
                    str(b["bid_id"]),
                    "" if b["quality_score"] is None else f"{pages.amount(b['quality_score']):f}",
                ),
                hint="From 0 to 100, after moderation.",
                inputmode="decimal",
            )
            + pages.textarea(
                f"comment-{b['bid_id']}",
                f"Why {supplier(b)} scored this (optional)",
                view.errors,
                view.comments.get(str(b["bid_id"]), b.get("quality_comment") or ""),
                hint="The supplier sees this in its assessment summary once the lot is awarded.",
            )
            for b in lot["bids"]
        )
        legend = "Each bid" if tender["lots_by"] is None else _lot_title(tender, lot)
        groups.append(
            '<fieldset class="fieldset">'
            f'<legend class="legend">{escape(legend)}</legend>{fields}</fieldset>'
        )
    if not groups:
        return ""
    return (
        '<h2 class="heading-m">Quality scores</h2>'
        f'<form method="post" action="{escape(tender_href(tender["tender_id"]))}/scores"'
        f" novalidate>{pages.csrf_input(csrf)}{''.join(groups)}"
        '<button type="submit" class="button">Save scores</button></form>'
    )


def _award(tender: Mapping[str, Any], lot: Mapping[str, Any], names: Mapping[str, str]) -> str:
    award = lot.get("award")
    if not award:
        return ""
    ends = award.get("standstill_ends")
    standstill = (
        f" The standstill period ends on {escape(long_date(date.fromisoformat(ends)))}:"
        " the contract may be entered into from the day after."
        if ends
        else ""
    )
    price = f"£{pages.amount(award['pooled_unit_price']):f}"
    by = person_of(award["awarded_by"], names)
    return (
        f'<div class="inset"><p><strong>Awarded to {escape(supplier(award))}</strong> at'
        f" {escape(price)} per {escape(tender['unit'])},"
        f" {escape(_when(award['awarded_at']))}, by {escape(by)}."
        f"{standstill}</p><p>{escape(award['reason'])}</p></div>"
    )


def _history(
    history: Sequence[Mapping[str, Any]], with_lots: bool, names: Mapping[str, str]
) -> str:
    rows = []
    for entry in history:
        what = ACTIONS.get(entry["action"], entry["action"])
        about = []
        if with_lots and entry.get("lot") is not None:
            about.append(f"lot {entry['lot']}")
        if entry.get("supplier_id"):
            about.append(supplier(entry))
        if entry.get("detail"):
            about.append(entry["detail"])
        rows.append(
            (
                escape(_when(entry["at"])),
                escape(what + (f": {', '.join(about)}" if about else "")),
                escape(person_of(entry["done_by"], names)),
            )
        )
    return '<h2 class="heading-m">History</h2>' + table(
        "Who did what, and when", ("When", "What", "Who"), rows
    )


def tender_page(person: Person, csrf: str, view: TenderView) -> str:
    """A tender: its notice; the number of bids while they are sealed; after the deadline the
    bids, quality scoring, the evaluation explained and the award; cancellation; history."""
    t = view.tender
    name = category_name(t["category"])
    status = STATUSES.get(t["status"], t["status"])
    notice = pages.summary_list(
        [
            ("Status", status),
            ("Bids close", _when(t["closes_at"])),
            ("Procedure", pages.procedure_name(t["procedure"])),
            *([("Framework", t["framework"])] if t.get("framework") else []),
            ("Contract term", f"{t['term_months']} months"),
            ("Quantity", quantity(pages.amount(t["pooled_quantity"]), t["unit"])),
            ("Schools", f"{len({line['school_urn'] for line in t['lines']})}"),
            ("Value inc. VAT", money(pages.amount(t["route"]["value_inc_vat"]))),
            ("Route", pages.route_name(t["route"]["route"])),
            (
                "How bids are weighed",
                f"Price {pages.percent(t['weights']['price'])}, quality"
                f" {pages.percent(t['weights']['quality'])}",
            ),
            ("Opened", f"{_when(t['opened_at'])} by {person_of(t['opened_by'], view.names)}"),
            *(
                [
                    (
                        "Cancelled",
                        f"{_when(t['cancelled_at'])} by"
                        f" {person_of(t['cancelled_by'] or '', view.names)}: {t['cancel_reason']}",
                    )
                ]
                if t.get("cancelled_at")
                else []
            ),
        ]
    )
    sealed = all(lot["bids"] is None for lot in t["lots"])
    parts = []
    if sealed:
        received = sum(lot["bids_received"] for lot in t["lots"])
        parts.append(
            '<h2 class="heading-m">Bids</h2>'
            f"<p>{received} bid{'' if received == 1 else 's'} received so far. Bids stay sealed"
            f" until bidding closes on {escape(_when(t['closes_at']))}.</p>"
        )
    else:
        for lot in t["lots"]:
            parts.append(
                f'<h2 class="heading-m">{escape(_lot_title(t, lot))}</h2>'
                + _evaluation(t, lot)
                + _award(t, lot, view.names)
            )
        if t["status"] == "open":
            parts.append(_scoring_form(view, csrf))
            if t.get("awaiting"):
                parts.append(
                    "<p>The contract can be awarded once every bid has a quality score.</p>"
                )
            else:
                parts.append(
                    '<h2 class="heading-m">Award</h2>'
                    "<p>Each lot goes to its first-ranked bid; a lot without bids closes and its"
                    " demand goes back to the pool.</p>"
                    f'<form method="post" action="{escape(tender_href(t["tender_id"]))}/award">'
                    f"{pages.csrf_input(csrf)}"
                    '<button type="submit" class="button">Award contract</button></form>'
                )
    if t["status"] == "open":
        parts.append(
            '<h2 class="heading-m">Cancel tender</h2>'
            "<p>Its demand goes back to the pool and suppliers can no longer bid.</p>"
            f'<form method="post" action="{escape(tender_href(t["tender_id"]))}/cancel"'
            f" novalidate>{pages.csrf_input(csrf)}"
            + pages.text_input("reason", "Reason for cancelling", view.errors, view.reason)
            + '<button type="submit" class="button button-warning">Cancel tender</button></form>'
        )
    parts.append(_history(view.history, t["lots_by"] is not None, view.names))
    title = f"{name} tender"
    main = (
        (pages.banner(BANNERS[view.done]) if view.done in BANNERS else "")
        + pages.error_summary(view.errors)
        + pages.heading(person, title)
        + f"{notice}{''.join(parts)}"
        '<p><a href="/tenders">Back to tenders</a></p>'
    )
    return pages.layout(
        title, main, person=person, csrf=csrf, current="/tenders", errors=bool(view.errors)
    )

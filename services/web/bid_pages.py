"""A supplier's pages, rendered from plain values (pure, like pages.py): a tender's notice with
the bid form, and the supplier's bids with their assessment summaries. The bid form works
without JavaScript: "Add a price tier" and each row's "Remove" send the form, which comes back
with what was typed and one row more or less.
"""

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from html import escape
from typing import Any

from services.web import pages
from services.web.domain.bids import MAX_TIERS, BidForm, tier_id
from services.web.pages import Cell, FieldError, Html, Person
from shared.presentation import category_name, local_time, quantity

YOUR_BIDS = "/bids"


def _criteria(weights: Mapping[str, Any]) -> str:
    """Price 70%, quality 30%."""
    return f"Price {pages.percent(weights['price'])}, quality {pages.percent(weights['quality'])}"


def takes_bids(notice: Mapping[str, Any], now: datetime) -> bool:
    return bool(notice["status"] == "open" and datetime.fromisoformat(notice["closes_at"]) > now)


def _tier_field(
    number: int, part: str, label: str, value: str, errors: Sequence[FieldError]
) -> str:
    """A tier's field: its id numbers the row, its name is the column's (sent once a row)."""
    return pages.text_input(
        tier_id(number, part),
        label,
        errors,
        value,
        name=part,
        inputmode="decimal",
        spellcheck=False,
        described="tiers-hint",
        group_class=" tier-field",
    )


def _tier_rows(form: BidForm, errors: Sequence[FieldError]) -> str:
    rows = []
    for number, tier in enumerate(form.tiers, start=1):
        remove = (
            f'<button type="submit" name="action" value="remove-{number}"'
            ' class="button button-secondary">'
            f'Remove<span class="visually-hidden"> price tier {number}</span></button>'
            if len(form.tiers) > 1
            else ""
        )
        rows.append(
            f'<fieldset class="fieldset tier"><legend class="legend">Price tier {number}</legend>'
            '<div class="tier-fields">'
            + _tier_field(number, "min_quantity", "Minimum quantity", tier.min_quantity, errors)
            + _tier_field(number, "unit_price", "Unit price", tier.unit_price, errors)
            + f"</div>{remove}</fieldset>"
        )
    return "".join(rows)


def _lot_choice(
    lots: Sequence[Mapping[str, Any]], unit: str, form: BidForm, errors: Sequence[FieldError]
) -> str:
    """Radios, one a lot; the first radio's id is the field's, for the error summary's link."""
    if len(lots) < 2:
        return ""
    options = [
        (
            str(lot["lot"]),
            f"Lot {lot['lot']}: {lot['name'] or 'all schools'}, {lot['schools']}"
            f" school{'' if lot['schools'] == 1 else 's'},"
            f" {quantity(Decimal(str(lot['pooled_quantity'])), unit)}",
        )
        for lot in lots
    ]
    return pages.radios("lot", "Lot", options, form.lot, errors)


def _bid_form(
    notice: Mapping[str, Any], form: BidForm, errors: Sequence[FieldError], csrf: str
) -> str:
    unit = notice["unit"]
    add = (
        '<button type="submit" name="action" value="add" class="button button-secondary">'
        "Add a price tier</button>"
        if len(form.tiers) < MAX_TIERS
        else ""
    )
    return (
        '<h2 class="heading-m" id="bid">Your bid</h2>'
        "<p>A new bid for a lot replaces your earlier one. Bids stay sealed until bidding"
        " closes.</p>"
        f'<form method="post" action="/open-tenders/{escape(str(notice["tender_id"]))}"'
        " novalidate>"
        # Enter in a field sends the bid: a form's first submit button is the one Enter presses.
        '<input type="submit" name="action" value="submit" hidden tabindex="-1">'
        + pages.csrf_input(csrf)
        + pages.text_input(
            "supplier_name",
            "Trading name (optional)",
            errors,
            form.supplier_name,
            hint="How the trust sees your company on the award, for example Volt Energy Ltd.",
            autocomplete="organization",
        )
        + _lot_choice(notice["lots"], unit, form, errors)
        + '<h3 class="heading-s">Price tiers</h3>'
        f'<p class="hint" id="tiers-hint">Each unit price applies from its minimum quantity'
        f" (the pooled annual quantity, in {escape(unit)}) upwards; the first tier starts at 0."
        f" Unit prices are in pounds per {escape(unit)}, excluding VAT, up to 4 decimal"
        " places.</p>" + _tier_rows(form, errors) + f'<div class="button-group">{add}'
        '<button type="submit" name="action" value="submit" class="button">Submit bid</button>'
        "</div></form>"
    )


def notice_page(
    person: Person,
    csrf: str,
    notice: Mapping[str, Any],
    now: datetime,
    form: BidForm | None = None,
    errors: Sequence[FieldError] = (),
) -> str:
    """A tender's notice, as tendering's GET /v1/tenders/{tender_id}/notice gives it, with the
    bid form while it takes bids."""
    unit = notice["unit"]
    facts = [
        ("Bids close", local_time(datetime.fromisoformat(notice["closes_at"]))),
        ("Contract term", f"{notice['term_months']} months"),
        ("Route", pages.route_name(notice["route"])),
        ("Procedure", pages.procedure_name(notice["procedure"])),
        *([("Framework", notice["framework"])] if notice.get("framework") else []),
        ("Award criteria", _criteria(notice["weights"])),
        ("Quantities", f"Pooled annual quantities, in {unit}"),
    ]
    lots: list[Sequence[Cell]] = [
        (
            f"Lot {lot['lot']}",
            lot["name"] or "All schools",
            f"{lot['schools']}",
            quantity(Decimal(str(lot["pooled_quantity"])), unit),
        )
        for lot in notice["lots"]
    ]
    bidding = (
        _bid_form(notice, form or BidForm(), errors, csrf)
        if takes_bids(notice, now)
        else '<h2 class="heading-m">Bidding has closed</h2><p>This tender no longer takes bids.'
        f' Your bids and their assessment summaries are on <a href="{YOUR_BIDS}">your bids</a>.'
        "</p>"
    )
    title = f"{category_name(notice['category'])} tender"
    main = (
        pages.error_summary(errors)
        + pages.heading(person, title)
        + pages.summary_list(facts)
        + '<h2 class="heading-m">Lots</h2>'
        + pages.text_table(
            "Lots", ("Lot", "Name", "Schools", "Quantity"), {"Schools", "Quantity"}, lots
        )
        + bidding
    )
    return pages.layout(
        title, main, person=person, csrf=csrf, current="/open-tenders", errors=bool(errors)
    )


def _status(bid: Mapping[str, Any], now: datetime) -> str:
    if bid["lot_status"] == "awarded":
        return "Awarded to you" if bid["awarded"] else "Not awarded"
    if bid["lot_status"] == "cancelled" or bid["tender_status"] == "cancelled":
        return "Tender cancelled"
    if datetime.fromisoformat(bid["closes_at"]) > now:
        return "Sealed until bidding closes"
    return "Being evaluated"


def _tiers(bid: Mapping[str, Any]) -> Html:
    lines = "".join(
        f"<li>From {escape(quantity(Decimal(t['min_quantity']), bid['unit']))}:"
        f" {escape(pages.bid_price(t['unit_price'], bid['unit']))}</li>"
        for t in bid["price_tiers"]
    )
    return Html(f'<ul class="plain-list">{lines}</ul>')


def _assessment(bid: Mapping[str, Any], a: Mapping[str, Any]) -> str:
    unit = a["unit"]
    outcome = f"Your bid ranked {a['rank']} of {a['bidders']} and " + (
        "won the contract." if a["awarded"] else "did not win the contract."
    )
    own, winner = a["own"], a["winner"]
    rows: list[Sequence[Cell]] = [
        (
            "Unit price at the pooled volume",
            pages.bid_price(own["unit_price_at_pooled_volume"], unit),
            pages.bid_price(winner["unit_price_at_pooled_volume"], unit),
        ),
        ("Price score", str(own["price_score"]), str(winner["price_score"])),
        ("Quality score", str(own["quality_score"]), str(winner["quality_score"])),
        ("Total score", str(own["score"]), str(winner["score"])),
    ]
    title = f"{category_name(bid['category'])}, lot {a['lot']}"
    comment = (
        f"<p>The trust's comment on quality: {escape(a['quality_comment'])}</p>"
        if a.get("quality_comment")
        else ""
    )
    return (
        f'<h3 class="heading-s">{escape(title)}</h3>'
        f"<p>{escape(outcome)} Pooled annual quantity:"
        f" {escape(quantity(Decimal(str(a['pooled_quantity'])), unit))}. Award criteria:"
        f" {escape(_criteria(a['weights']))}.</p>"
        + pages.text_table(
            f"Scores: {title}",
            ("Score", "Your bid", "Winning bid"),
            {"Your bid", "Winning bid"},
            rows,
        )
        + comment
        + f"<p>{escape(a['reasons'])}</p>"
    )


def bids_page(
    person: Person,
    csrf: str,
    bids: Sequence[Mapping[str, Any]],
    assessments: Mapping[str, Mapping[str, Any]],
    now: datetime,
    notice: str = "",
) -> str:
    """The supplier's bids, as tendering's GET /v1/bids gives them, and the assessment summary
    (GET /v1/tenders/{tender_id}/bids/{bid_id}/assessment) of each bid whose lot is awarded."""
    rows: list[Sequence[Cell]] = [
        (
            Html(
                f'<a href="/open-tenders/{escape(str(b["tender_id"]))}">'
                f"{escape(category_name(b['category']))}</a>"
            ),
            f"{b['lot']}",
            local_time(datetime.fromisoformat(b["submitted_at"])),
            _tiers(b),
            _status(b, now),
        )
        for b in bids
    ]
    table = (
        pages.text_table(
            "Your bids", ("Tender", "Lot", "Submitted", "Price tiers", "Status"), {"Lot"}, rows
        )
        if rows
        else '<p>You have not bid yet. <a href="/open-tenders">See the open tenders</a>.</p>'
    )
    summaries = "".join(
        _assessment(b, assessments[str(b["bid_id"])])
        for b in bids
        if str(b["bid_id"]) in assessments
    )
    main = (
        (pages.banner(notice) if notice else "")
        + pages.heading(person, "Your bids")
        + "<p>Your bids on every tender, newest first. Once a lot is awarded, your bid's"
        " assessment summary shows its scores beside the winner's, and why.</p>"
        + table
        + '<h2 class="heading-m">Assessment summaries</h2>'
        + (
            summaries
            or "<p>None yet: a summary appears here once a lot you bid for is awarded.</p>"
        )
    )
    return pages.layout("Your bids", main, person=person, csrf=csrf, current=YOUR_BIDS)

"""A supplier's bid form as typed: its trading name, the lot and the rows of its price schedule,
kept as text so that a form sent back shows what was typed. Rows are added and removed by
buttons that send the form (no JavaScript needed); the bid's rules are the tendering API's, whose
refusals (problem details `errors`, e.g. `body.price_tiers.0.unit_price`) are mapped here to the
row's field."""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

# As many rows as the tendering API takes (docs/http-api.md, POST /v1/tenders/{tender_id}/bids).
MAX_TIERS = 50
LABELS = {"min_quantity": "Minimum quantity", "unit_price": "Unit price"}
# body.price_tiers.0.unit_price (the request's checks) or price_tiers[0].unit_price (the rules).
TIER_FIELD = re.compile(r"(?:body\.)?price_tiers(?:\.(\d+)|\[(\d+)\])\.(min_quantity|unit_price)")


@dataclass(frozen=True)
class Tier:
    min_quantity: str = ""
    unit_price: str = ""


@dataclass(frozen=True)
class BidForm:
    supplier_name: str = ""
    lot: str = ""
    # The first tier starts at 0, so a new form says so.
    tiers: tuple[Tier, ...] = (Tier("0"),)


@dataclass(frozen=True)
class Problem:
    field: str  # the input's id on the page
    message: str


def tier_id(number: int, part: str) -> str:
    """The id of a row's field: tier-1-min_quantity is price tier 1's minimum quantity."""
    return f"tier-{number}-{part}"


def typed(supplier_name: str, lot: str, minimums: list[str], prices: list[str]) -> BidForm:
    """The form as the browser sent it; a row missing a field gets it blank."""
    rows = max(len(minimums), len(prices), 1)
    minimums = minimums + [""] * (rows - len(minimums))
    prices = prices + [""] * (rows - len(prices))
    tiers = tuple(Tier(m.strip(), p.strip()) for m, p in zip(minimums, prices, strict=True))
    return BidForm(supplier_name.strip(), lot.strip(), tiers[:MAX_TIERS])


def with_tier_added(form: BidForm) -> BidForm:
    if len(form.tiers) >= MAX_TIERS:
        return form
    return replace(form, tiers=(*form.tiers, Tier()))


def with_tier_removed(form: BidForm, number: int) -> BidForm:
    """The form without price tier `number` (from 1); the last row stays, emptied."""
    kept = tuple(t for i, t in enumerate(form.tiers, start=1) if i != number)
    return replace(form, tiers=kept or (Tier(),))


def blanks(form: BidForm, lots: int) -> list[Problem]:
    """What must be typed before the bid is worth sending."""
    problems = []
    if lots > 1 and not form.lot:
        problems.append(Problem("lot", "Select the lot you are bidding for"))
    for number, tier in enumerate(form.tiers, start=1):
        if not tier.min_quantity:
            problems.append(
                Problem(
                    tier_id(number, "min_quantity"),
                    f"Enter the minimum quantity for price tier {number}",
                )
            )
        if not tier.unit_price:
            problems.append(
                Problem(
                    tier_id(number, "unit_price"), f"Enter the unit price for price tier {number}"
                )
            )
    return problems


def bid_body(form: BidForm) -> dict[str, object]:
    """The request body of POST /v1/tenders/{tender_id}/bids; the values as typed, for the API
    to check."""
    body: dict[str, object] = {
        "price_tiers": [
            {"min_quantity": t.min_quantity, "unit_price": t.unit_price} for t in form.tiers
        ]
    }
    if form.supplier_name:
        body["supplier_name"] = form.supplier_name
    if form.lot:
        body["lot"] = form.lot
    return body


def _said(label: str, reason: str) -> str:
    """'Unit price for price tier 1 must be greater than 0', from pydantic's or the rules'
    reason."""
    reason = reason.replace("Input should be", "must be").replace("String should", "must")
    return f"{label} {reason}" if reason.startswith("must") else f"{label}: {reason}"


def refusals(errors: Sequence[Mapping[str, str]], detail: str) -> list[Problem]:
    """The API's field errors, each at the field of the page it names."""
    problems = []
    for error in errors:
        field, reason = error.get("field", ""), error.get("reason", "is not valid")
        tier = TIER_FIELD.fullmatch(field)
        if tier is not None:
            number = int(tier.group(1) or tier.group(2)) + 1
            part = tier.group(3)
            label = f"{LABELS[part]} for price tier {number}"
            problems.append(Problem(tier_id(number, part), _said(label, reason)))
        elif field.removeprefix("body.") == "lot":
            problems.append(Problem("lot", _said("Lot", reason)))
        elif field.removeprefix("body.") == "supplier_name":
            problems.append(Problem("supplier_name", _said("Trading name", reason)))
        else:
            # The schedule as a whole (no tiers, too many): shown at its first row.
            problems.append(Problem(tier_id(1, "min_quantity"), _said("Price tiers", reason)))
    return problems or [Problem(tier_id(1, "min_quantity"), detail)]

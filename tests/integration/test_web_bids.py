"""A supplier's pages over HTTP, against the running services, as a signed-in supplier whose
forms carry the CSRF token read from the page: a tender's notice with the bid form, price tiers
added and removed without JavaScript, tendering's refusals shown at the row's fields, a good bid
recorded (read back from tendering's API), and Your bids with an assessment summary; never
another supplier's bids, and never for a manager."""

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from procure.launcher import RunningSystem
from shared.auth import Role
from tests.helpers import add_person, bearer, open_tender
from tests.integration.test_web_accounts import PASSWORD, browser, csrf_of, pool_demand, sign_in

pytestmark = pytest.mark.integration

SUPPLIER = "delta-power"
OTHER = "epsilon-energy"
CALL_OFF = {"procedure": "framework_call_off", "framework": "ESPO 191 Energy"}


@dataclass(frozen=True)
class Market:
    open_tender: str  # taking bids for two days
    awarded_tender: str  # closed and awarded to the other supplier
    our_bid: str  # on the awarded tender

    @property
    def notice(self) -> str:
        """The open tender's notice, the page of the bid form."""
        return f"/open-tenders/{self.open_tender}"


def tier(minimum: str, price: str) -> dict[str, str]:
    return {"min_quantity": minimum, "unit_price": price}


def add_account(system: RunningSystem, email: str, role: str, scope: str) -> str:
    return add_person(system, email, f"Kim {role}", role, scope, PASSWORD)


@pytest.fixture(scope="module")
def market(system: RunningSystem) -> Market:
    """Two trusts' tenders: one taking bids, which the other supplier has bid on; and one that
    both suppliers bid on and the trust scored and awarded to the other supplier."""
    pool_demand(system, "7581", ("758101", "758102"))
    pool_demand(system, "7582", ("758201",))
    tendering = system.urls["tendering"]
    ours = bearer(system.token(Role.SUPPLIER, SUPPLIER))
    theirs = bearer(system.token(Role.SUPPLIER, OTHER))
    with httpx.Client(base_url=tendering, timeout=30) as http:
        two_days = datetime.now(UTC) + timedelta(days=2)
        first_manager = bearer(system.token(Role.MANAGER, "7581"))
        first = open_tender(
            http, tendering, first_manager, "7581", "electricity", two_days, **CALL_OFF
        )
        other = {"supplier_name": "Epsilon Energy", "price_tiers": [tier("0", "0.1999")]}
        placed = http.post(f"/v1/tenders/{first}/bids", headers=theirs, json=other)
        assert placed.status_code == 201, placed.text

        manager = bearer(system.token(Role.MANAGER, "7582"))
        closes_at = datetime.now(UTC) + timedelta(seconds=6)
        second = open_tender(http, tendering, manager, "7582", "electricity", closes_at, **CALL_OFF)
        bids = {}
        for who, name, price in ((ours, "Delta Power", "0.2600"), (theirs, "Epsilon", "0.2400")):
            body = {"supplier_name": name, "price_tiers": [tier("0", price)]}
            placed = http.post(f"/v1/tenders/{second}/bids", headers=who, json=body)
            assert placed.status_code == 201, placed.text
            bids[name] = placed.json()["bid_id"]
        time.sleep(max(0.0, (closes_at - datetime.now(UTC)).total_seconds()) + 0.5)
        scores = [
            {"bid_id": bids["Delta Power"], "quality_score": "70", "comment": "Thin on service"},
            {"bid_id": bids["Epsilon"], "quality_score": "80"},
        ]
        path = f"/v1/tenders/{second}"
        scored = http.post(f"{path}/evaluation", headers=manager, json={"scores": scores})
        assert scored.status_code == 200, scored.text
        awarded = http.post(f"{path}/award", headers=manager)
        assert awarded.json()["status"] == "awarded", awarded.text
    return Market(first, second, bids["Delta Power"])


@pytest.fixture(scope="module")
def supplier(system: RunningSystem, market: Market) -> Iterator[httpx.Client]:
    """A browser signed in as the supplier's person."""
    email = add_account(system, "bids@delta-power.example", "supplier", SUPPLIER)
    with browser(system) as client:
        assert sign_in(client, email).status_code == 303
        yield client


def bids_on(system: RunningSystem, tender_id: str) -> list[dict[str, Any]]:
    """The supplier's bids on the tender, from tendering's API."""
    answer = httpx.get(
        f"{system.urls['tendering']}/v1/tenders/{tender_id}/bids",
        headers=bearer(system.token(Role.SUPPLIER, SUPPLIER)),
    )
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()
    return found


def sent(page: httpx.Response, **typed: Any) -> dict[str, Any]:
    """The bid form's fields as the browser sends them: the page's CSRF token and `typed`."""
    return {"csrf_token": csrf_of(page)} | typed


def sent_afresh(supplier: httpx.Client, url: str, status: int, **typed: Any) -> httpx.Response:
    """The bid form at `url` sent from a freshly loaded notice, with `typed`, and answered with
    `status`."""
    answer = supplier.post(url, data=sent(supplier.get(url), **typed))
    assert answer.status_code == status, answer.text
    return answer


def shown(page: str, row: int, part: str, value: str) -> bool:
    """Whether price tier `row`'s field shows `value`."""
    return (
        f'id="tier-{row}-{part}" name="{part}" type="text" inputmode="decimal"'
        f' autocomplete="off" value="{value}"' in page
    )


def test_the_notice_shows_the_tender_and_the_bid_form(
    supplier: httpx.Client, market: Market
) -> None:
    listed = supplier.get("/open-tenders").text
    assert f'<a href="/open-tenders/{market.open_tender}">Electricity</a>' in listed
    page = supplier.get(market.notice)
    assert page.status_code == 200, page.text
    text = page.text
    assert '<h1 class="heading-l">Electricity tender</h1>' in text
    for fact in ("Bids close", "24 months", "Call-off from a framework", "ESPO 191 Energy", "kWh"):
        assert fact in text
    assert "Price 70%, quality 30%" in text
    assert '<legend class="legend">Price tier 1</legend>' in text
    assert '<label class="label" for="tier-1-min_quantity">Minimum quantity</label>' in text
    assert '<label class="label" for="tier-1-unit_price">Unit price</label>' in text
    assert shown(text, 1, "min_quantity", "0") and shown(text, 1, "unit_price", "")
    assert ">Add a price tier</button>" in text and ">Submit bid</button>" in text
    assert "remove-1" not in text  # one row: nothing to remove
    assert "Epsilon" not in text and "0.1999" not in text  # bids are sealed


def test_rows_are_added_and_removed_without_javascript(
    system: RunningSystem, supplier: httpx.Client, market: Market
) -> None:
    two = {"min_quantity": ["0", "100000"], "unit_price": ["0.2500", "0.2400"]}
    added = sent_afresh(
        supplier, market.notice, 200, action="add", supplier_name="Delta Power", **two
    )
    rows = ((1, "0", "0.2500"), (2, "100000", "0.2400"), (3, "", ""))
    for row, minimum, price in rows:
        assert shown(added.text, row, "min_quantity", minimum), row
        assert shown(added.text, row, "unit_price", price), row
        assert f'value="remove-{row}"' in added.text
    assert 'value="Delta Power"' in added.text and "tier-4-" not in added.text
    # Removing the first row: the second becomes the first.
    three = {"min_quantity": ["0", "100000", ""], "unit_price": ["0.2500", "0.2400", ""]}
    removed = supplier.post(market.notice, data=sent(added, action="remove-1", **three))
    assert removed.status_code == 200, removed.text
    assert shown(removed.text, 1, "min_quantity", "100000")
    assert shown(removed.text, 1, "unit_price", "0.2400")
    assert shown(removed.text, 2, "unit_price", "")
    assert "0.2500" not in removed.text and "tier-3-" not in removed.text
    assert bids_on(system, market.open_tender) == []  # nothing was sent to tendering


def test_a_bad_unit_price_is_shown_at_its_field_and_nothing_is_recorded(
    system: RunningSystem, supplier: httpx.Client, market: Market
) -> None:
    bad = {"min_quantity": ["0", "5000"], "unit_price": ["0.2500", "0"]}
    refused = sent_afresh(supplier, market.notice, 422, action="submit", **bad)
    text = refused.text
    message = "Unit price for price tier 2 must be greater than 0"
    assert "<title>Error: Electricity tender" in text
    assert f'<a href="#tier-2-unit_price">{message}</a>' in text  # in the summary
    assert f'id="tier-2-unit_price-error"><span class="visually-hidden">Error:</span> {message}'
    assert 'aria-describedby="tiers-hint tier-2-unit_price-error"' in text
    assert shown(text, 2, "min_quantity", "5000") and shown(text, 2, "unit_price", "0")
    # A rule of the schedule, and blank fields, named at their field too.
    late_start = {"min_quantity": ["10"], "unit_price": ["0.25"]}
    ruled = supplier.post(market.notice, data=sent(refused, **late_start))
    assert ruled.status_code == 422
    assert "Minimum quantity for price tier 1: the first tier must start at 0" in ruled.text
    blank = supplier.post(market.notice, data=sent(refused, min_quantity=["0"], unit_price=[""]))
    assert '<a href="#tier-1-unit_price">Enter the unit price for price tier 1</a>' in blank.text
    # A form without the page's token is refused.
    forged = supplier.post(market.notice, data={"min_quantity": "0", "unit_price": "0.25"})
    assert forged.status_code == 403
    assert bids_on(system, market.open_tender) == []


def test_a_good_bid_is_recorded_and_listed_with_the_suppliers_own_bids_only(
    system: RunningSystem, supplier: httpx.Client, market: Market
) -> None:
    good = {"min_quantity": ["0", "250000"], "unit_price": ["0.2450", "0.2390"]}
    submitted = sent_afresh(supplier, market.notice, 303, supplier_name=" Delta Power Ltd ", **good)
    assert submitted.headers["location"] == "/bids?done=bid"
    [recorded] = bids_on(system, market.open_tender)
    assert recorded["supplier_name"] == "Delta Power Ltd"
    assert recorded["price_tiers"] == [tier("0", "0.2450"), tier("250000", "0.2390")]

    page = supplier.get(submitted.headers["location"])
    assert page.status_code == 200, page.text
    text = page.text
    assert "Your bid is submitted." in text
    assert f'<a href="/open-tenders/{market.open_tender}">Electricity</a>' in text
    assert "From 250,000 kWh: £0.2390 per kWh" in text
    assert "Sealed until bidding closes" in text
    assert "Epsilon Energy" not in text and "0.1999" not in text  # the other supplier's bid
    # Tendering's list of the supplier's bids is the supplier's only.
    listed = httpx.get(
        f"{system.urls['tendering']}/v1/bids", headers=bearer(system.token(Role.SUPPLIER, OTHER))
    ).json()
    assert {b["supplier_id"] for b in listed} == {OTHER}
    assert recorded["bid_id"] not in {b["bid_id"] for b in listed}
    manager = bearer(system.token(Role.MANAGER, "7581"))
    assert httpx.get(f"{system.urls['tendering']}/v1/bids", headers=manager).status_code == 403


def test_an_awarded_bid_shows_its_assessment_summary(
    supplier: httpx.Client, market: Market
) -> None:
    text = supplier.get("/bids").text
    assert "Not awarded" in text
    assert "Your bid ranked 2 of 2 and did not win the contract." in text
    assert '<th scope="row">Unit price at the pooled volume</th>' in text
    assert "£0.2600 per kWh" in text and "£0.2400 per kWh" in text  # ours and the winner's
    assert "The trust's comment on quality: Thin on service" in text
    assert "Epsilon (epsilon-energy) won with 0.2400 GBP per kWh" in text
    # A closed tender's notice takes no bid.
    closed = supplier.get(f"/open-tenders/{market.awarded_tender}").text
    assert "Bidding has closed" in closed and "Submit bid" not in closed


def test_a_manager_cannot_see_a_suppliers_pages(system: RunningSystem, market: Market) -> None:
    email = add_account(system, "buyer@trust-7581.example", "manager", "7581")
    with browser(system) as client:
        assert sign_in(client, email).status_code == 303
        token = csrf_of(client.get("/"))
        for answer in (
            client.get("/bids"),
            client.get(market.notice),
            client.post(
                market.notice,
                data={"csrf_token": token, "min_quantity": "0", "unit_price": "0.1"},
            ),
        ):
            assert answer.status_code == 403, answer.text
            assert "You cannot see this page" in answer.text

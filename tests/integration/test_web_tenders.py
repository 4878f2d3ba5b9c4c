"""The manager's tender pages over HTTP, against the running services: a signed-in manager opens
a tender from a pool's page (the form's refusals shown at its fields), cancels it, opens it
again, scores the bids once bidding has closed, awards it, and reads who did what in its
history; tendering records the person (their email address) and shows them in its API. Another
trust's tender and a supplier's session are refused."""

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from procure.launcher import RunningSystem
from shared.auth import Role
from shared.presentation import LOCAL
from tests.helpers import add_person, bearer, bid_body, open_tender
from tests.integration.test_web_accounts import browser, csrf_of, pool_demand, sign_in

pytestmark = pytest.mark.integration

TRUST, OTHER_TRUST = "7681", "7682"
PASSWORD = "amber lighthouse orchard"
MANAGER = "lee.hughes@birch-trust.example"
# How the tender's page names the manager: their account's name and address.
NAMED = f"Lee Hughes ({MANAGER})"
SUPPLIER = "bids@epsilon-power.example"
CALL_OFF = {"procedure": "framework_call_off", "framework": "ESPO 191 Energy"}
TENDER_LINK = re.compile(r'href="/tenders/([0-9a-f-]{36})"')


def add_account(system: RunningSystem, email: str, role: str, scope: str) -> None:
    add_person(system, email, "Lee Hughes", role, scope, PASSWORD)


@pytest.fixture(scope="module")
def pool(system: RunningSystem) -> dict[str, Any]:
    """The trust's one pool (two schools' electricity), and its manager's account."""
    [found] = pool_demand(system, TRUST, ("768101", "768102"))
    add_account(system, MANAGER, "manager", TRUST)
    return found


@pytest.fixture
def manager(system: RunningSystem, pool: dict[str, Any]) -> Iterator[httpx.Client]:
    """A browser signed in as the trust's manager."""
    with browser(system) as client:
        assert sign_in(client, MANAGER, PASSWORD).status_code == 303
        yield client


def closing_fields(at: datetime) -> dict[str, str]:
    """When bids close, as the form takes it: a UK date and a 24-hour time."""
    uk = at.astimezone(LOCAL)
    return {
        "closes-day": str(uk.day),
        "closes-month": str(uk.month),
        "closes-year": str(uk.year),
        "closes-time": uk.strftime("%H:%M:%S"),
    }


def opening_form(page: httpx.Response, closes_at: datetime, **changes: str) -> dict[str, str]:
    return (
        {
            "csrf_token": csrf_of(page),
            "procedure": "framework_call_off",
            "framework": "ESPO 191 Energy",
            "term_months": "24",
            "lots_by": "",
            "weight-price": "70",
            "weight-quality": "30",
        }
        | closing_fields(closes_at)
        | changes
    )


def field_error(page: str, field: str) -> str:
    """The message shown at a field (its id), which the error summary links to too."""
    found = re.search(
        rf'id="{re.escape(field)}-error"><span class="visually-hidden">Error:'
        r"</span> ([^<]*)</p>",
        page,
    )
    assert found, page
    assert f'href="#{field}"' in page
    return found.group(1)


def test_a_manager_opens_cancels_reopens_scores_and_awards_a_tender_named_in_its_history(
    system: RunningSystem, manager: httpx.Client, pool: dict[str, Any]
) -> None:
    tendering = system.urls["tendering"]
    pools = manager.get("/pools")
    assert pools.status_code == 200, pools.text
    href = f"/pools/{pool['pool_id']}"
    assert f'href="{href}"' in pools.text
    assert "Value inc. VAT" in pools.text and pool["route"]["threshold_name"] in pools.text

    page = manager.get(href)
    assert page.status_code == 200
    for label in ('for="framework">Framework</label>', 'for="term_months">Contract term (months)'):
        assert label in page.text
    assert "A qualifying planned procurement notice was published</label>" in page.text
    for legend in (
        "Procedure",
        "Bids close",
        "Shorter minimum period",
        "Lots",
        "How bids are weighed",
    ):
        assert f'<legend class="legend">{legend}</legend>' in page.text
    assert '<button type="submit" class="button">Open tender</button>' in page.text

    # Wrong values: each named at its field, what was typed kept.
    soon = datetime.now(UTC) + timedelta(days=2)
    wrong = opening_form(page, soon, **{"closes-day": "31", "closes-month": "2"})
    wrong |= {"term_months": "two years", "weight-quality": "20", "framework": ""}
    refused = manager.post(href, data=wrong)
    assert refused.status_code == 422
    assert "<title>Error: Electricity pool" in refused.text
    assert field_error(refused.text, "closes-day").startswith("The date bids close must be a real")
    assert field_error(refused.text, "term_months").startswith("Contract term must be a whole")
    assert (
        field_error(refused.text, "weight-price") == "Price and quality weights must add up to 100"
    )
    assert field_error(refused.text, "framework") == "Enter the framework a call-off calls off"
    assert 'value="two years"' in refused.text
    # Tendering's own refusal, mapped to the field: a closing time in the past.
    past = opening_form(page, datetime.now(UTC) - timedelta(hours=1))
    refused = manager.post(href, data=past)
    assert refused.status_code == 422
    assert field_error(refused.text, "closes-day") == "Bids close: must be in the future"

    # Opened, then cancelled: the pool is open again.
    opened = manager.post(href, data=opening_form(page, soon))
    assert opened.status_code == 303, opened.text
    first = opened.headers["location"].removesuffix("?done=opened")
    shown = manager.get(opened.headers["location"])
    assert "Tender opened." in shown.text and "0 bids received so far" in shown.text
    no_reason = manager.post(f"{first}/cancel", data={"csrf_token": csrf_of(shown), "reason": ""})
    assert no_reason.status_code == 422
    assert field_error(no_reason.text, "reason") == "Enter a reason for cancelling"
    cancelled = manager.post(
        f"{first}/cancel", data={"csrf_token": csrf_of(shown), "reason": "Wrong framework"}
    )
    assert cancelled.status_code == 303
    shown = manager.get(cancelled.headers["location"])
    assert "Tender cancelled." in shown.text
    assert "Cancelled the tender: Wrong framework" in shown.text
    assert f"by {NAMED}: Wrong framework" in shown.text

    # Opened again, closing in a few seconds; two suppliers bid.
    page = manager.get(href)
    assert page.status_code == 200, "the cancelled tender's lines are pooled again"
    closes_at = datetime.now(UTC) + timedelta(seconds=6)
    opened = manager.post(href, data=opening_form(page, closes_at))
    assert opened.status_code == 303, opened.text
    tender = opened.headers["location"].removesuffix("?done=opened")
    tender_id = tender.removeprefix("/tenders/")
    for supplier, name, price in (
        ("alpha-energy", "Alpha Energy Ltd", "0.25"),
        ("beta-power", "Beta Power plc", "0.245"),
    ):
        bid = bid_body(("0", price)) | {"supplier_name": name}
        placed = httpx.post(
            f"{tendering}/v1/tenders/{tender_id}/bids",
            json=bid,
            headers=bearer(system.token(Role.SUPPLIER, supplier)),
        )
        assert placed.status_code == 201, placed.text
    sealed = manager.get(tender).text
    assert "2 bids received so far" in sealed and "Alpha Energy Ltd" not in sealed
    time.sleep(max(0.0, (closes_at - datetime.now(UTC)).total_seconds()) + 0.5)

    page = manager.get(tender)
    assert "Quality score for Alpha Energy Ltd</label>" in page.text
    assert "Quality score for Beta Power plc</label>" in page.text
    assert "Award contract" not in page.text  # not before every bid has its quality score
    api = httpx.get(
        f"{tendering}/v1/tenders/{tender_id}", headers=bearer(system.token(Role.MANAGER, TRUST))
    ).json()
    ids = {b["supplier_id"]: b["bid_id"] for b in api["bids"]}
    # No award while a bid waits for its quality score: the refusal summarised at the top.
    early = manager.post(f"{tender}/award", data={"csrf_token": csrf_of(page)})
    assert early.status_code == 409
    assert "<title>Error: Electricity tender" in early.text
    assert "cannot be awarded before every bid has its quality score" in early.text
    scores = {f"score-{ids['alpha-energy']}": "80", f"score-{ids['beta-power']}": "150"}
    refused = manager.post(f"{tender}/scores", data=scores | {"csrf_token": csrf_of(page)})
    assert refused.status_code == 422
    assert field_error(refused.text, f"score-{ids['beta-power']}") == (
        "Quality score for Beta Power plc must be a number from 0 to 100"
    )
    assert 'value="150"' in refused.text
    scored = manager.post(
        f"{tender}/scores",
        data=scores
        | {f"score-{ids['beta-power']}": "60", f"comment-{ids['alpha-energy']}": "Good references"}
        | {"csrf_token": csrf_of(page)},
    )
    assert scored.status_code == 303
    page = manager.get(scored.headers["location"])
    assert "Quality scores saved." in page.text
    # The evaluation explained: alpha 0.7 x 98 + 0.3 x 80 = 92.60; beta 0.7 x 100 + 0.3 x 60.
    assert "98.00 &times; 70%" in page.text and "80 &times; 30%" in page.text
    assert "92.60" in page.text and "88.00" in page.text
    awarded = manager.post(f"{tender}/award", data={"csrf_token": csrf_of(page)})
    assert awarded.status_code == 303
    page = manager.get(awarded.headers["location"])
    assert "Contract awarded." in page.text
    # Quality counts, so the award is the buyer's: recorded as the person, never the deadline
    # policy's.
    manager_token = bearer(system.token(Role.MANAGER, TRUST))
    api = httpx.get(f"{tendering}/v1/tenders/{tender_id}", headers=manager_token).json()
    assert api["award"]["awarded_by"] == MANAGER
    assert "Awarded to Alpha Energy Ltd" in page.text and f"by {NAMED}." in page.text

    history = page.text.split('<h2 class="heading-m">History</h2>')[1]
    for what in (
        f"Opened the tender</td><td>{NAMED}",
        "Bid received: Alpha Energy Ltd</td><td>supplier:alpha-energy",
        f"Quality score saved: Beta Power plc, quality score 60</td><td>{NAMED}",
        f"Contract awarded: Alpha Energy Ltd</td><td>{NAMED}",
    ):
        assert what in history

    # Tendering names the person, in the tender and its history.
    assert api["opened_by"] == MANAGER
    assert {b["scored_by"] for b in api["bids"]} == {MANAGER}
    comments = {b["supplier_id"]: b["quality_comment"] for b in api["bids"]}
    assert comments == {"alpha-energy": "Good references", "beta-power": None}
    entries = httpx.get(f"{tendering}/v1/tenders/{tender_id}/history", headers=manager_token)
    assert [(e["action"], e["done_by"]) for e in entries.json()] == [
        ("opened", MANAGER),
        ("bid_received", "supplier:alpha-energy"),
        ("bid_received", "supplier:beta-power"),
        ("scores_saved", MANAGER),
        ("scores_saved", MANAGER),
        ("awarded", MANAGER),
    ]
    first_id = first.removeprefix("/tenders/")
    gone = httpx.get(f"{tendering}/v1/tenders/{first_id}", headers=manager_token).json()
    assert (gone["status"], gone["cancelled_by"]) == ("cancelled", MANAGER)

    listed = manager.get("/tenders").text
    assert set(TENDER_LINK.findall(listed)) >= {tender_id, first_id}
    assert "Awarded" in listed and "Cancelled" in listed


def test_another_trusts_tender_and_a_suppliers_session_are_refused(
    system: RunningSystem, manager: httpx.Client
) -> None:
    pool_demand(system, OTHER_TRUST, ("768201",))
    with httpx.Client(timeout=30) as http:
        theirs = open_tender(
            http,
            system.urls["tendering"],
            bearer(system.token(Role.MANAGER, OTHER_TRUST)),
            OTHER_TRUST,
            "electricity",
            datetime.now(UTC) + timedelta(days=3),
            **CALL_OFF,
        )
    refused = manager.get(f"/tenders/{theirs}")
    assert refused.status_code == 403 and "You cannot see this page" in refused.text
    home = manager.get("/")
    award = manager.post(f"/tenders/{theirs}/award", data={"csrf_token": csrf_of(home)})
    assert award.status_code == 403
    forged = manager.post(f"/tenders/{theirs}/cancel", data={"reason": "not ours"})
    assert forged.status_code == 403 and "Your form was not sent" in forged.text
    assert manager.get("/tenders/not-a-tender").status_code == 403
    assert manager.get("/pools/electricity-1999-01").status_code == 404

    add_account(system, SUPPLIER, "supplier", "epsilon-power")
    with browser(system) as client:
        assert sign_in(client, SUPPLIER, PASSWORD).status_code == 303
        for path in ("/tenders", f"/tenders/{theirs}", "/pools"):
            page = client.get(path)
            assert page.status_code == 403 and "You cannot see this page" in page.text
        posted = client.post(f"/tenders/{theirs}/award", data={"csrf_token": csrf_of(page)})
        assert posted.status_code == 403

"""The savings dashboard at the web workspace's address, against the running services: a
signed-in manager reads their trust's dashboard, a contract's page and savings achieved, and
downloads the CSVs, with the workspace's header, navigation and sign-out and no token pasted;
another trust's pages are refused by savings; a school reads its own page only; without a
session every page leads to the sign-in form. And the savings service's side of it: a page asked
for with a bearer token answers its title and main content as JSON."""

import csv
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from procure.infra.provision import Infrastructure
from procure.launcher import RunningSystem
from shared.auth import Role
from tests.helpers import add_person, bearer
from tests.integration.savings_scenario import Scenario, recorded
from tests.integration.test_web_accounts import csrf_of, sign_in

pytestmark = pytest.mark.integration

SCENARIO = Scenario("3031", 303101)
OTHER = Scenario("3032", 303201)
PASSWORD = "amber orchard lantern"
MANAGER = "lee.manager@fenland-trust.example"
SCHOOL = "office@alder-primary.example"
HEADLINE = re.compile(r'<dd class="value" id="annual-saving">([^<]+)</dd>')


@pytest.fixture(scope="module")
async def published(system: RunningSystem, infra: Infrastructure) -> None:
    await recorded(system, infra, SCENARIO, 5)
    await recorded(system, infra, OTHER, 5)


def account(system: RunningSystem, email: str, role: str, scope: str) -> str:
    return add_person(system, email, "Lee Ash", role, scope, PASSWORD)


@contextmanager
def signed_in_as(system: RunningSystem, email: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=system.urls["web"], timeout=30) as client:
        assert sign_in(client, email, PASSWORD).status_code == 303
        yield client


@pytest.fixture(scope="module")
def manager(system: RunningSystem, published: None) -> Iterator[httpx.Client]:
    with signed_in_as(system, account(system, MANAGER, "manager", SCENARIO.trust_id)) as client:
        yield client


@pytest.fixture(scope="module")
def school(system: RunningSystem, published: None) -> Iterator[httpx.Client]:
    urn = SCENARIO.urns[0]
    with signed_in_as(system, account(system, SCHOOL, "school", urn)) as client:
        yield client


def test_a_manager_reads_their_dashboard_at_the_workspace(manager: httpx.Client) -> None:
    home = manager.get("/")
    dashboard = f"/trusts/{SCENARIO.trust_id}"
    assert f'<a href="{dashboard}">Savings dashboard</a>' in home.text
    page = manager.get(dashboard)
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-store"
    assert "script-src" not in page.headers["content-security-policy"]
    text = page.text
    # The workspace's frame: its navigation with this page marked, its sign-out (the only form).
    assert f'<a href="{dashboard}" aria-current="page">Savings dashboard</a>' in text
    assert text.count("<form") == 1 and 'action="/sign-out"' in text
    # The dashboard's style first, so that the workspace's own rules win where they differ.
    styles = re.findall(r'<link rel="stylesheet" href="([^"]+)">', text)
    assert styles == ["/assets/dashboard.css", "/assets/web.css"]
    assert "<title>Savings: Fenland Learning Trust - Collective procurement</title>" in text
    # The dashboard's content, as savings renders it.
    assert HEADLINE.findall(text) == ["£9,615.84"]
    assert f'<a href="{dashboard}/ledger.csv" download>' in text
    assert f'<a href="{dashboard}/realised">Savings achieved</a>' in text
    style = manager.get("/assets/dashboard.css")
    assert style.status_code == 200 and style.headers["content-type"].startswith("text/css")
    assert ".savings-pages" in style.text


def test_a_contract_savings_achieved_and_the_csvs_through_the_workspace(
    manager: httpx.Client,
) -> None:
    trust = f"/trusts/{SCENARIO.trust_id}"
    contract = manager.get(f"{trust}/contracts/{SCENARIO.tender_id('electricity')}")
    assert contract.status_code == 200
    assert "<h1>Electricity contract</h1>" in contract.text
    assert f'<a href="{trust}#contracts">Back to the dashboard</a>' in contract.text
    # The page names the tender's JSON in tendering's API, and says a browser gets 401 there.
    assert "a browser gets 401" in contract.text
    tender = re.search(r'<span class="id">(http[^<]+)</span>', contract.text)
    assert tender is not None
    assert httpx.get(tender.group(1)).status_code == 401
    missing = manager.get(f"{trust}/contracts/{OTHER.tender_id('electricity')}")
    assert missing.status_code == 404 and "No such contract" in missing.text
    assert 'aria-label="Menu"' in missing.text
    achieved = manager.get(f"{trust}/realised")
    assert achieved.status_code == 200 and "No invoices recorded yet" in achieved.text
    ledger = manager.get(f"{trust}/ledger.csv")
    assert ledger.status_code == 200
    assert ledger.headers["content-type"] == "text/csv; charset=utf-8"
    assert ledger.headers["content-disposition"] == (
        f'attachment; filename="savings-ledger-trust-{SCENARIO.trust_id}.csv"'
    )
    assert ledger.headers["cache-control"] == "no-store"
    rows = list(csv.DictReader(io.StringIO(ledger.text)))
    assert len(rows) == 5 and {row["school_urn"] for row in rows} == set(SCENARIO.urns)
    spend = manager.get(f"{trust}/realised.csv")
    assert spend.status_code == 200 and spend.headers["content-type"].startswith("text/csv")


def test_another_trusts_pages_are_refused(manager: httpx.Client) -> None:
    other = f"/trusts/{OTHER.trust_id}"
    for path in (other, f"{other}/contracts/{OTHER.tender_id('gas')}", f"{other}/ledger.csv"):
        refused = manager.get(path)
        assert refused.status_code == 403, path
        assert "You cannot see this page" in refused.text
        assert f"not {OTHER.trust_id}" in refused.text  # savings' own reason
        assert "Alder Primary School" not in refused.text
    # A school's page is not a manager's, even their own trust's school.
    assert manager.get(f"/schools/{SCENARIO.urns[0]}").status_code == 403


def test_a_school_reads_its_own_page_only(school: httpx.Client) -> None:
    own = f"/schools/{SCENARIO.urns[0]}"
    assert f'<a href="{own}">Your savings</a>' in school.get("/").text
    page = school.get(own)
    assert page.status_code == 200
    assert "<h1>Alder Primary School</h1>" in page.text
    assert f'<a href="{own}" aria-current="page">Your savings</a>' in page.text
    assert "Birch Academy" not in page.text
    ledger = school.get(f"{own}/ledger.csv")
    assert ledger.status_code == 200
    assert {row["school_urn"] for row in csv.DictReader(io.StringIO(ledger.text))} == {
        SCENARIO.urns[0]
    }
    for path in (f"/schools/{SCENARIO.urns[1]}", f"/trusts/{SCENARIO.trust_id}"):
        assert school.get(path).status_code == 403, path


def test_without_a_session_the_pages_lead_to_sign_in(system: RunningSystem) -> None:
    trust, urn = f"/trusts/{SCENARIO.trust_id}", f"/schools/{SCENARIO.urns[0]}"
    with httpx.Client(base_url=system.urls["web"]) as nobody:
        for path in (trust, f"{trust}/realised", f"{trust}/ledger.csv", urn, f"{urn}/ledger.csv"):
            answer = nobody.get(path)
            assert answer.status_code == 303, path
            assert answer.headers["location"] == "/sign-in"


def test_signing_out_from_the_dashboard_ends_the_session(system: RunningSystem) -> None:
    dashboard = f"/trusts/{SCENARIO.trust_id}"
    # Another account: signing out ends every session of the account.
    leaving = account(system, "kim.manager@fenland-trust.example", "manager", SCENARIO.trust_id)
    with signed_in_as(system, leaving) as client:
        out = client.post("/sign-out", data={"csrf_token": csrf_of(client.get(dashboard))})
        assert out.status_code == 303 and out.headers["location"] == "/sign-in?done=out"
        assert client.get(dashboard).headers["location"] == "/sign-in"


def test_savings_answers_the_workspace_a_pages_part_as_json(
    system: RunningSystem, published: None
) -> None:
    url = f"{system.urls['savings']}/trusts/{SCENARIO.trust_id}"
    part = httpx.get(url, headers=bearer(system.token(Role.MANAGER, SCENARIO.trust_id)))
    assert part.status_code == 200
    assert part.headers["content-type"] == "application/json"
    assert part.json()["title"] == "Savings: Fenland Learning Trust"
    assert part.json()["main"].startswith('<div class="savings-pages"><nav class="page-links')
    assert "<form" not in part.json()["main"]
    other = httpx.get(url, headers=bearer(system.token(Role.MANAGER, OTHER.trust_id)))
    supplier = httpx.get(url, headers=bearer(system.token(Role.SUPPLIER, "volt-co")))
    for refused in (other, supplier):
        assert refused.status_code == 403
        assert refused.headers["content-type"] == "application/problem+json"
    assert httpx.get(url, headers=bearer("not-a-token")).status_code == 401

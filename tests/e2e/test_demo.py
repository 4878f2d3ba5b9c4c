"""The demo that `procure up --demo` (the README's first command) runs, against the same three
service processes, broker and PostgreSQL as the other end-to-end tests."""

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import httpx
import pytest

from procure.demo import (
    CATEGORIES,
    DEMO_MANAGER,
    DEMO_PASSWORD,
    KAFKA_SCHOOL,
    SUPPLIER_NAMES,
    TRUST_ID,
    UNCONTRACTED,
    DemoAccount,
    add_demo_accounts,
    demo_schools,
    demo_sign_in,
    realised_summary,
    run_demo,
)
from procure.launcher import RunningSystem
from shared.auth import Role
from tests.integration.test_web_accounts import csrf_of

pytestmark = pytest.mark.e2e

FIGURES = ("realised_saving", "expected_saving", "price_variance", "off_contract_spend", "leakage")
PENNY = Decimal("0.01")
# What each of the demo's people finds on their home page, by role.
HOME_LINKS = {
    Role.MANAGER: ("Pools", "Tenders", "Savings dashboard"),
    Role.SUPPLIER: ("Open tenders", "Your bids"),
    Role.SCHOOL: ("Your demand", "Your savings"),
}


def test_the_demo_pools_tenders_awards_and_reports_savings(system: RunningSystem) -> None:
    # Bids must all be in before the deadline, on a busy machine too.
    demo = run_demo(system)
    report = demo.savings

    assert {c["category"] for c in report["categories"]} == set(CATEGORIES)
    assert {s["urn"] for s in report["schools"]} == {s.urn for s in demo_schools()}
    manager = {"Authorization": f"Bearer {system.token(Role.MANAGER, TRUST_ID)}"}
    base = f"{system.urls['savings']}/v1/trusts/{TRUST_ID}/savings"
    contracts = httpx.get(f"{base}/contracts", headers=manager).json()
    # Every award names its supplier as the bid gave it.
    awarded = {(c["supplier_id"], c["supplier_name"]) for c in contracts}
    assert len(contracts) == len(CATEGORIES)
    assert all(SUPPLIER_NAMES[supplier] == name for supplier, name in awarded)
    # The demo's manager opened and awarded each tender (the history names her).
    for contract in contracts:
        tender = httpx.get(
            f"{system.urls['tendering']}/v1/tenders/{contract['tender_id']}", headers=manager
        ).json()
        assert tender["opened_by"] == DEMO_MANAGER, tender
        assert tender["award"]["awarded_by"] == DEMO_MANAGER, tender

    # A year of invoices, every one classified: on contract, some billed above the contract
    # price, some from other suppliers, and categories no contract covers.
    lines = _all_lines(base, manager)
    assert len(lines) == demo.invoices
    statuses = {line["status"] for line in lines}
    assert statuses == {"on_contract", "off_contract", "uncontracted"}
    assert any(Decimal(line["price_variance"] or 0) > 0 for line in lines)
    uncontracted = {line["category"] for line in lines if line["status"] == "uncontracted"}
    assert uncontracted == set(UNCONTRACTED)
    # Every school has a year of invoices, inside its supply window where a contract covers it.
    assert {line["school_urn"] for line in lines} == {s.urn for s in demo_schools()}
    # The school whose own system posts on the Kafka topic, in MWh and with its own spelling of
    # the suppliers: converted to kWh, its contract suppliers recognised.
    kafka_school = demo_schools()[KAFKA_SCHOOL].urn
    own = [line for line in lines if line["school_urn"] == kafka_school]
    energy = [line for line in own if line["category"] in ("electricity", "gas")]
    assert energy and all(line["unit"] == "kWh" for line in energy)
    assert all(line["supplier"].isupper() for line in own)
    assert all(line["status"] == "on_contract" for line in energy)
    # One variance worked by hand: amount - quantity x contract price, to pence half up.
    chased = next(line for line in lines if Decimal(line["price_variance"] or 0) > 0)
    by_hand = Decimal(chased["amount"]) - Decimal(chased["quantity"]) * Decimal(
        chased["contract_unit_price"]
    )
    assert Decimal(chased["price_variance"]) == by_hand.quantize(PENNY, ROUND_HALF_UP)

    realised = demo.realised
    # The trust's figures are the sums of its schools' and of its lines'.
    for figure in FIGURES:
        over_schools = sum(Decimal(s[figure]) for s in realised["schools"])
        over_lines = sum(Decimal(line[figure] or 0) for line in lines)
        assert Decimal(realised[figure]) == over_schools == over_lines, figure
    assert Decimal(realised["realised_saving"]) > 0
    assert Decimal(realised["price_variance"]) > 0
    assert Decimal(realised["off_contract_spend"]) > 0
    assert {c["category"] for c in realised["contracts"]} == set(CATEGORIES)
    # What no contract covers: every school in each category, a spread of prices, an opportunity.
    assert {u["category"] for u in realised["uncontracted"]} == set(UNCONTRACTED)
    for u in realised["uncontracted"]:
        assert u["schools"] == len(demo_schools())
        assert Decimal(u["lowest_unit_price"]) < Decimal(u["highest_unit_price"])
        assert Decimal(u["opportunity"]) > 0
        spent = [line for line in lines if line["category"] == u["category"]]
        assert Decimal(u["amount"]) == sum(Decimal(line["amount"]) for line in spent)
        assert Decimal(u["opportunity"]) == sum(Decimal(line["opportunity"]) for line in spent)

    summary = realised_summary(realised, demo.invoices, system.urls["savings"], system.urls["web"])
    for label in ("Realised saving", "Price variance", "Off-contract spend", "Uncontracted"):
        assert label in summary
    assert f"{base}/realised" in summary
    assert f"{system.urls['web']}/trusts/{TRUST_ID}/realised" in summary

    # The demo's people sign in to the web workspace with the printed password: the trust's
    # manager, two suppliers who bid and one of its schools.
    people = demo.people
    assert {(p.role, p.scope) for p in people} == {
        (Role.MANAGER, TRUST_ID),
        (Role.SUPPLIER, "brightgrid-energy"),
        (Role.SUPPLIER, "classware-uk"),
        (Role.SCHOOL, demo_schools()[0].urn),
    }
    printed = demo_sign_in(people, system.urls["web"])
    assert f"{system.urls['web']}/sign-in" in printed and DEMO_PASSWORD in printed
    for person in people:
        assert person.email in printed
        _signs_in_to_their_home_page(system, person)
    # Loading the demo's people again (a kept data folder) leaves them as they are.
    assert add_demo_accounts(system) == people
    _signs_in_to_their_home_page(system, people[0])


def _signs_in_to_their_home_page(system: RunningSystem, person: DemoAccount) -> None:
    """Signs in through the form, as a browser does (its CSRF token), and reads the home page."""
    with httpx.Client(base_url=system.urls["web"], timeout=30) as browser:
        token = csrf_of(browser.get("/sign-in"))
        credentials = {"email": person.email, "password": DEMO_PASSWORD, "csrf_token": token}
        answer = browser.post("/sign-in", data=credentials)
        assert (answer.status_code, answer.headers.get("location")) == (303, "/"), answer.text
        home = browser.get("/")
        assert home.status_code == 200, person
        assert f">{person.name}</h1>" in home.text
        assert person.scope in home.text
        for link in HOME_LINKS[person.role]:
            assert f">{link}</a>" in home.text, (person.email, link)


def _all_lines(base: str, manager: dict[str, str]) -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"limit": 500} | ({"cursor": cursor} if cursor else {})
        page = httpx.get(f"{base}/realised/lines", params=params, headers=manager).json()
        lines += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return lines

"""The whole job in a real browser, as named people signing in through the sign-in form: a manager
opens a tender from a pool's page; two suppliers bid through the bid form (one adds a price tier);
past the deadline the manager scores both bids and awards the contract, named in the history;
then a school of the trust finds its saving on Your savings. Last, the school's and a supplier's
home pages and the manager's savings dashboard, contract and savings achieved as the workspace
serves them.

Keeps each step in test-artifacts/ (loop-tender-opened, loop-bid-form, loop-your-bids,
loop-tender-evaluated, loop-tender-awarded, loop-school-savings, loop-home-school,
loop-home-supplier, loop-dashboard, loop-contract, loop-realised; the bid form and the school's
savings also at 390 px), each checked by axe-core.
"""

import time
from datetime import UTC, datetime, timedelta

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By

from procure.launcher import RunningSystem
from tests.browser.browsing import (
    awards,
    closing,
    fill,
    follow,
    keep,
    loaded_after,
    on_a_phone,
    press,
    signs_in,
    text,
)
from tests.helpers import add_person
from tests.integration.test_web_accounts import pool_demand

pytestmark = pytest.mark.e2e

TRUST = "7901"
URNS = ("790101", "790102")
PASSWORD = "heather lantern quarry"
MANAGER = "nia.hughes@moorland-trust.example"
ALPHA = "bids@alpha-grid.example"
BETA = "tenders@beta-current.example"
SCHOOL = "office@790101-school.example"
PEOPLE = (
    (MANAGER, "Nia Hughes", "manager", TRUST),
    (ALPHA, "Sam Reid", "supplier", "alpha-grid"),
    (BETA, "Lee Park", "supplier", "beta-current"),
    (SCHOOL, "Jo Bell", "school", URNS[0]),
)
# Bidding stays open long enough for both suppliers to sign in and bid on a slow machine.
BIDDING_SECONDS = 20


@pytest.fixture(scope="module")
def people(system: RunningSystem) -> None:
    """The trust's two schools with their demand pooled, and an account for each person."""
    pool_demand(system, TRUST, URNS)
    for email, name, role, scope in PEOPLE:
        add_person(system, email, name, role, scope, PASSWORD)


def sign_in(browser: webdriver.Chrome, web: str, email: str) -> None:
    signs_in(browser, web, email, PASSWORD)
    assert browser.current_url == f"{web}/"


def typed_into(browser: webdriver.Chrome, field_id: str, value: str) -> None:
    field = browser.find_element(By.ID, field_id)
    field.clear()
    field.send_keys(value)


def bid(browser: webdriver.Chrome, web: str, email: str, tender_id: str, name: str) -> None:
    """A supplier's person signs in and opens the tender's notice from Open tenders."""
    sign_in(browser, web, email)
    follow(browser, "Open tenders")
    notice = browser.find_element(By.CSS_SELECTOR, f'a[href="/open-tenders/{tender_id}"]')
    loaded_after(browser, notice.click)
    fill(browser, "Trading name (optional)", name)


def test_a_tender_from_pool_to_a_schools_saving_in_a_browser(
    system: RunningSystem, browser: webdriver.Chrome, people: None
) -> None:
    web = system.urls["web"]
    sign_in(browser, web, MANAGER)
    follow(browser, "Pools")
    pool_link = browser.find_element(By.CSS_SELECTOR, "main a[href^='/pools/']")
    loaded_after(browser, pool_link.click)
    assert text(browser, "h1") == "Electricity pool"
    browser.find_element(By.XPATH, "//label[text()='Call-off from a framework']").click()
    fill(browser, "Framework", "ESPO 191 Energy")
    fill(browser, "Contract term (months)", "24")
    closes_at = datetime.now(UTC) + timedelta(seconds=BIDDING_SECONDS)
    closing(browser, closes_at)
    press(browser, "Open tender")
    assert "Tender opened." in text(browser, ".notification")
    tender_id = browser.current_url.split("/tenders/")[1].split("?")[0]
    keep(browser, "loop-tender-opened")

    # One price for any volume; the other cheaper from 200,000 kWh (the pool is 290,000).
    bid(browser, web, ALPHA, tender_id, "Alpha Grid Ltd")
    fill(browser, "Unit price", "0.2550")
    press(browser, "Submit bid")
    assert browser.current_url == f"{web}/bids?done=bid"
    bid(browser, web, BETA, tender_id, "Beta Current plc")
    fill(browser, "Unit price", "0.2700")
    press(browser, "Add a price tier")
    typed_into(browser, "tier-2-min_quantity", "200000")
    typed_into(browser, "tier-2-unit_price", "0.2450")
    browser.execute_script("window.scrollTo(0, 0)")  # typing scrolled to the field
    keep(browser, "loop-bid-form")
    on_a_phone(browser, "loop-bid-form")
    press(browser, "Submit bid")
    assert "Your bid is submitted." in text(browser, ".notification")
    assert "From 200,000 kWh: £0.2450 per kWh" in text(browser, "table")
    keep(browser, "loop-your-bids")

    remaining = (closes_at - datetime.now(UTC)).total_seconds()
    assert remaining > 0, "both bids must arrive before the deadline"
    time.sleep(remaining + 0.5)
    sign_in(browser, web, MANAGER)
    follow(browser, "Tenders")
    tender_link = browser.find_element(By.CSS_SELECTOR, f"main a[href='/tenders/{tender_id}']")
    loaded_after(browser, tender_link.click)
    fill(browser, "Quality score for Alpha Grid Ltd", "70")
    fill(browser, "Quality score for Beta Current plc", "80")
    press(browser, "Save scores")
    assert "Quality scores saved." in text(browser, ".notification")
    # beta: 0.2450 at 290,000 kWh, price score 100: 0.7 x 100 + 0.3 x 80 = 94.00, first;
    # alpha: 0.2450 / 0.2550 x 100 = 96.08: 0.7 x 96.08 + 0.3 x 70 = 88.25.
    evaluation = browser.find_elements(By.CSS_SELECTOR, "table")[0].text
    assert evaluation.index("Beta Current plc") < evaluation.index("Alpha Grid Ltd")
    assert "94.00" in evaluation and "88.25" in evaluation
    keep(browser, "loop-tender-evaluated")
    # Quality counts: the award is the manager's, not the deadline policy's.
    history = awards(browser, "Beta Current plc")
    # The history names the manager by their account's name and address.
    assert f"Opened the tender Nia Hughes ({MANAGER})" in history
    assert f"Contract awarded: Beta Current plc Nia Hughes ({MANAGER})" in history
    keep(browser, "loop-tender-awarded")

    sign_in(browser, web, SCHOOL)
    follow(browser, "Your savings")
    assert browser.current_url == f"{web}/schools/{URNS[0]}"
    # The award reaches savings over the broker: a moment after the manager's press.
    for _ in range(60):
        if "No savings yet" not in text(browser, "main"):
            break
        time.sleep(0.5)
        loaded_after(browser, browser.refresh)
    # 145,000 kWh a year x (0.2870 - 0.2450) = 6,090.00; over the 24 months, 12,180.00.
    assert text(browser, "#annual-saving") == "£6,090.00"
    assert text(browser, "#term-saving") == "£12,180.00"
    assert "Beta Current plc" in text(browser, "main")
    keep(browser, "loop-school-savings")
    on_a_phone(browser, "loop-school-savings")

    # The pages each person starts from, and the manager's savings pages as the workspace
    # serves them (its navigation around what savings renders), checked by axe-core too.
    follow(browser, "Home")
    keep(browser, "loop-home-school")
    sign_in(browser, web, ALPHA)
    keep(browser, "loop-home-supplier")
    sign_in(browser, web, MANAGER)
    follow(browser, "Savings dashboard")
    assert browser.current_url == f"{web}/trusts/{TRUST}"
    keep(browser, "loop-dashboard")
    follow(browser, "Electricity contract")
    assert text(browser, "h1") == "Electricity contract"
    keep(browser, "loop-contract")
    browser.get(f"{web}/trusts/{TRUST}/realised")
    assert browser.title.startswith("Savings achieved")
    keep(browser, "loop-realised")

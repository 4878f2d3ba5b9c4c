"""A supplier bids in a real browser, without scripts: signs in, opens a tender's notice from
Open tenders, adds a price tier with the form's own button, sends a bad unit price with the Enter
key and sees it summarised at the top and shown at its field, submits the bid and finds it on
Your bids. Keeps screenshots in test-artifacts/ (web-notice.png, web-bid-error.png,
web-your-bids.png, their PDF prints and their -phone variants at 390 px).
"""

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from procure.launcher import RunningSystem
from shared.auth import Role
from tests.browser.browsing import fill, follow, kept, loaded_after, press, signs_in
from tests.helpers import add_person, bearer, open_tender
from tests.integration.test_web_accounts import pool_demand

pytestmark = pytest.mark.e2e

EMAIL = "tenders@zeta-power.example"
PASSWORD = "amber kestrel orchard"


@pytest.fixture(scope="module")
def tender(system: RunningSystem) -> str:
    """A trust's tender taking bids, and a supplier's person with an account."""
    pool_demand(system, "7591", ("759101", "759102"))
    manager = bearer(system.token(Role.MANAGER, "7591"))
    with httpx.Client(timeout=30) as http:
        tender_id = open_tender(
            http,
            system.urls["tendering"],
            manager,
            "7591",
            "electricity",
            datetime.now(UTC) + timedelta(days=3),
            procedure="framework_call_off",
            framework="CCS RM6011",
        )
    add_person(system, EMAIL, "Ade Mensah", "supplier", "zeta-power", PASSWORD)
    return tender_id


def typed_into(browser: webdriver.Chrome, field_id: str, value: str) -> None:
    field = browser.find_element(By.ID, field_id)
    field.clear()
    field.send_keys(value)


def test_a_supplier_bids_in_a_browser(
    system: RunningSystem, browser: webdriver.Chrome, tender: str
) -> None:
    web = system.urls["web"]
    signs_in(browser, web, EMAIL, PASSWORD)
    follow(browser, "Open tenders")
    notice = browser.find_element(By.CSS_SELECTOR, f'a[href="/open-tenders/{tender}"]')
    loaded_after(browser, notice.click)
    assert browser.find_element(By.TAG_NAME, "h1").text == "Electricity tender"
    assert "CCS RM6011" in browser.find_element(By.CLASS_NAME, "summary-list").text
    kept(browser, "web-notice")

    fill(browser, "Trading name (optional)", "Zeta Power Ltd")
    fill(browser, "Unit price", "0.2450")  # price tier 1's: the first so labelled
    press(browser, "Add a price tier")
    legends = [e.text for e in browser.find_elements(By.TAG_NAME, "legend")]
    assert legends == ["Price tier 1", "Price tier 2"]
    assert browser.find_element(By.ID, "tier-1-unit_price").get_attribute("value") == "0.2450"
    typed_into(browser, "tier-2-min_quantity", "200000")
    typed_into(browser, "tier-2-unit_price", "-1")
    # Enter in a field sends the bid, not the first row's "Remove" before it.
    price = browser.find_element(By.ID, "tier-2-unit_price")
    loaded_after(browser, lambda: price.send_keys(Keys.ENTER))
    assert browser.title.startswith("Error: ")
    summary = browser.find_element(By.CLASS_NAME, "error-summary")
    message = "Unit price for price tier 2 must be greater than 0"
    assert message in summary.text
    assert message in browser.find_element(By.ID, "tier-2-unit_price-error").text
    # The summary's link goes to the field.
    assert (
        summary.find_element(By.LINK_TEXT, message)
        .get_attribute("href")
        .endswith("#tier-2-unit_price")
    )
    assert browser.find_element(By.ID, "supplier_name").get_attribute("value") == "Zeta Power Ltd"
    kept(browser, "web-bid-error")

    typed_into(browser, "tier-2-unit_price", "0.2380")
    press(browser, "Submit bid")
    assert browser.current_url == f"{web}/bids?done=bid"
    assert browser.find_element(By.TAG_NAME, "h1").text == "Your bids"
    assert "Your bid is submitted." in browser.find_element(By.CLASS_NAME, "notification").text
    bids = browser.find_element(By.TAG_NAME, "table").text
    assert "Electricity" in bids and "From 200,000 kWh: £0.2380 per kWh" in bids
    kept(browser, "web-your-bids")

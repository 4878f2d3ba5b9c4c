"""A manager's tender in a real browser: from the pools to a pool's page, a tender opened through
its form (a missing framework summarised at the top first), two suppliers' bids sealed until the
deadline, then quality scores saved, the evaluation explained, the contract awarded and the
history naming the person. Keeps each page in test-artifacts/ (web-pool, web-open-tender-error,
web-tender-open, web-tender-scoring, web-tender-evaluated, web-tender-awarded, web-tenders) at
1280 px and on a 390 px phone.
"""

import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By

from procure.launcher import RunningSystem
from shared.auth import Role
from tests.browser.browsing import (
    awards,
    closing,
    fill,
    follow,
    loaded_after,
    press,
    signs_in,
    text,
)
from tests.browser.browsing import kept as keep
from tests.helpers import bearer, bid_body
from tests.integration.test_web_accounts import pooled_manager

pytestmark = pytest.mark.e2e

TRUST = "7691"
EMAIL = "ana.costa@rowan-trust.example"
PASSWORD = "marble canyon whistle"


@pytest.fixture(scope="module")
def manager(system: RunningSystem) -> str:
    return pooled_manager(system, TRUST, ("769101", "769102"), EMAIL, "Ana Costa", PASSWORD)


def test_a_manager_opens_scores_and_awards_a_tender_in_a_browser(
    system: RunningSystem, browser: webdriver.Chrome, manager: str
) -> None:
    web, tendering = system.urls["web"], system.urls["tendering"]
    signs_in(browser, web, manager, PASSWORD)

    follow(browser, "Pools")
    pool_link = browser.find_element(By.CSS_SELECTOR, "main a[href^='/pools/']")
    loaded_after(browser, pool_link.click)
    assert text(browser, "h1") == "Electricity pool"
    assert "Value inc. VAT" in text(browser, "main")
    keep(browser, "web-pool")

    # A call-off without its framework: summarised at the top, the form keeps what was typed.
    browser.find_element(By.XPATH, "//label[text()='Call-off from a framework']").click()
    closing(browser, datetime.now(UTC) + timedelta(days=2))
    fill(browser, "Contract term (months)", "24")
    press(browser, "Open tender")
    assert browser.title.startswith("Error: ")
    assert "Enter the framework a call-off calls off" in text(browser, ".error-summary")
    assert browser.find_element(By.ID, "term_months").get_attribute("value") == "24"
    keep(browser, "web-open-tender-error")

    fill(browser, "Framework", "ESPO 191 Energy")
    closes_at = datetime.now(UTC) + timedelta(seconds=12)
    closing(browser, closes_at)
    press(browser, "Open tender")
    assert "Tender opened." in text(browser, ".notification")
    assert text(browser, "h1") == "Electricity tender"
    tender_id = browser.current_url.split("/tenders/")[1].split("?")[0]
    for supplier, name, price in (
        ("alpha-energy", "Alpha Energy Ltd", "0.25"),
        ("beta-power", "Beta Power plc", "0.245"),
    ):
        placed = httpx.post(
            f"{tendering}/v1/tenders/{tender_id}/bids",
            json=bid_body(("0", price)) | {"supplier_name": name},
            headers=bearer(system.token(Role.SUPPLIER, supplier)),
        )
        assert placed.status_code == 201, placed.text
    browser.refresh()
    assert "2 bids received so far" in text(browser, "main")
    assert "Alpha Energy Ltd" not in text(browser, "main")
    keep(browser, "web-tender-open")

    time.sleep(max(0.0, (closes_at - datetime.now(UTC)).total_seconds()) + 0.5)
    browser.refresh()
    fill(browser, "Quality score for Alpha Energy Ltd", "80")
    fill(browser, "Quality score for Beta Power plc", "60")
    fill(browser, "Why Alpha Energy Ltd scored this (optional)", "Good references")
    keep(browser, "web-tender-scoring")
    press(browser, "Save scores")
    assert "Quality scores saved." in text(browser, ".notification")
    evaluation = text(browser, "table")
    # alpha: 0.7 x 98 + 0.3 x 80 = 92.60, first; beta: 0.7 x 100 + 0.3 x 60 = 88.00.
    assert "Alpha Energy Ltd" in evaluation and "92.60" in evaluation and "88.00" in evaluation

    # Quality counts, so the award is the buyer's: the deadline policy leaves it to this button.
    time.sleep(1.5)  # past a tick of the deadline policy (TENDER_SCHEDULER_INTERVAL_SECONDS 1)
    browser.refresh()
    keep(browser, "web-tender-evaluated")
    history = awards(browser, "Alpha Energy Ltd")
    named = f"Ana Costa ({manager})"
    assert f"Opened the tender {named}" in history
    assert f"Quality score saved: Beta Power plc, quality score 60 {named}" in history
    assert f"Contract awarded: Alpha Energy Ltd {named}" in history
    keep(browser, "web-tender-awarded")

    follow(browser, "Tenders")
    assert "Awarded" in text(browser, "table")
    keep(browser, "web-tenders")

"""A real browser on the running system: headless Chromium signs in to the savings dashboard,
reads the headline figures off the page, checks them against the API, clicks through to a
contract's page and checks its figures against the API too, and keeps screenshots (and prints of
the pages as PDF) in test-artifacts/. Signing in through the real form also shows that the
browser's own Origin passes the sign-in's cross-site check.
"""

import re
from decimal import Decimal
from typing import Any

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.wait import WebDriverWait

from procure.infra.provision import Infrastructure
from procure.launcher import RunningSystem
from shared.auth import Role
from tests.browser.browsing import keep, on_a_phone, sent_to_sign_in, shown_charts
from tests.helpers import bearer
from tests.integration.realised_scenario import Spending, spent
from tests.integration.savings_scenario import Scenario, recorded

pytestmark = pytest.mark.e2e

SCENARIO = Scenario("3101", 310101)
# A trust of its own with invoices before and after its award (realised_scenario.py).
SPENDING = Spending("3105", 310501)


@pytest.fixture(scope="module")
async def published(system: RunningSystem, infra: Infrastructure) -> None:
    await recorded(system, infra, SCENARIO, 5)


@pytest.fixture(scope="module")
async def invoiced(system: RunningSystem) -> None:
    await spent(system, SPENDING)


def pounds(text: str) -> Decimal:
    """£9,615.84 as shown on the page -> 9615.84; a minus sign (U+2212) -> a negative."""
    return Decimal(text.replace("\u2212", "-").replace("£", "").replace(",", "").replace("%", ""))


def signs_in_with(browser: webdriver.Chrome, url: str, token: str, lands_on: str) -> None:
    """Pastes `token` into the dashboard's sign-in form and waits for the page it leads to."""
    browser.get(f"{url}/sign-in")
    browser.find_element(By.ID, "token").send_keys(token)
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    WebDriverWait(browser, 10).until(expected_conditions.url_to_be(f"{url}{lands_on}"))


def sign_in(
    browser: webdriver.Chrome, system: RunningSystem, trust_id: str = SCENARIO.trust_id
) -> None:
    """Through the form, as a manager of the trust (the scenario's unless told), once."""
    token = system.token(Role.MANAGER, trust_id)
    signs_in_with(browser, system.urls["savings"], token, f"/trusts/{trust_id}")


def school_signs_in(browser: webdriver.Chrome, system: RunningSystem, urn: str) -> None:
    """Through the form, as the school, afresh."""
    browser.delete_all_cookies()
    signs_in_with(
        browser, system.urls["savings"], system.token(Role.SCHOOL, urn), f"/schools/{urn}"
    )


def refused(browser: webdriver.Chrome, address: str, heading: str, *hidden: str) -> None:
    """The page at `address` is refused under `heading`, and shows none of `hidden`."""
    browser.get(address)
    assert browser.find_element(By.TAG_NAME, "h1").text == heading
    for text in hidden:
        assert text not in browser.page_source


@pytest.fixture
def signed_in(system: RunningSystem, browser: webdriver.Chrome, published: None) -> None:
    """The scenario's savings recorded, and the browser signed in as its trust's manager."""
    sign_in(browser, system)


def headline_against_api(
    browser: webdriver.Chrome, system: RunningSystem, api_path: str
) -> tuple[dict[str, str], Any]:
    """The page's four headline figures as shown, checked against the trust's API at
    `/v1/trusts/{trust}/{api_path}`; returns them and the API's answer."""
    shown = {
        key: browser.find_element(By.ID, key).text
        for key in ("annual-saving", "term-saving", "saving-pct", "pooling-saving")
    }
    api = httpx.get(
        f"{system.urls['savings']}/v1/trusts/{SCENARIO.trust_id}/{api_path}",
        headers=bearer(system.token(Role.MANAGER, SCENARIO.trust_id)),
    ).json()
    assert pounds(shown["annual-saving"]) == Decimal(api["annual_saving"])
    assert pounds(shown["term-saving"]) == Decimal(api["term_saving"])
    assert pounds(shown["saving-pct"]) == Decimal(api["saving_pct"])
    assert pounds(shown["pooling-saving"]) == Decimal(api["economy_of_scale"])
    return shown, api


def test_a_manager_reads_the_headline_figures_in_a_browser(
    system: RunningSystem, browser: webdriver.Chrome, published: None
) -> None:
    url = system.urls["savings"]
    # Not signed in yet: the dashboard sends the browser to the sign-in form.
    sent_to_sign_in(browser, f"{url}/trusts/{SCENARIO.trust_id}", f"{url}/sign-in")
    sign_in(browser, system)

    shown, _ = headline_against_api(browser, system, "savings")
    # And both are the hand-worked figures of savings_scenario.py.
    assert shown == {
        "annual-saving": "£9,615.84",
        "term-saving": "£21,847.52",
        "saving-pct": "12.34%",
        "pooling-saving": "£6,830.48",
    }
    assert browser.find_element(By.TAG_NAME, "h1").text == "Fenland Learning Trust"
    assert len(shown_charts(browser)) == 5
    assert (
        "3 schools · 2 joint contracts · figures at"
        in browser.find_element(By.CSS_SELECTOR, ".masthead .meta").text
    )
    keep(browser, "savings-dashboard")
    on_a_phone(browser, "savings-dashboard")
    # GOV.UK patterns: the first Tab reaches the skip link, which leads to the main content.
    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
    skip = browser.switch_to.active_element
    assert skip.text == "Skip to main content" and skip.get_attribute("href").endswith(
        "#main-content"
    )

    # The session and CSRF cookies are out of reach of scripts and never sent cross-site.
    cookies = {(c["name"], c["httpOnly"], c["sameSite"]) for c in browser.get_cookies()}
    assert cookies == {("procure_session", True, "Strict"), ("procure_csrf", True, "Strict")}


def test_a_manager_clicks_through_to_a_contracts_page(
    system: RunningSystem, browser: webdriver.Chrome, signed_in: None
) -> None:
    url = system.urls["savings"]
    tender_id = SCENARIO.tender_id("electricity")
    browser.find_element(By.LINK_TEXT, "Electricity contract").click()
    WebDriverWait(browser, 10).until(
        expected_conditions.url_to_be(f"{url}/trusts/{SCENARIO.trust_id}/contracts/{tender_id}")
    )
    assert browser.find_element(By.TAG_NAME, "h1").text == "Electricity contract"
    shown, api = headline_against_api(browser, system, f"savings/contracts/{tender_id}")
    # The electricity contract's figures worked by hand in savings_scenario.py.
    assert shown == {
        "annual-saving": "£7,000.00",
        "term-saving": "£14,000.00",
        "saving-pct": "11.93%",
        "pooling-saving": "£5,000.00",
    }
    # Each school's saving as the browser shows it in the table, against the API's entries.
    (award,) = api["awards"]
    savings = {}
    # The award's first table is its schools' figures (the supply dates follow).
    figures = browser.find_elements(By.CSS_SELECTOR, "section.award > .table-wrap")[0]
    for row in figures.find_elements(By.CSS_SELECTOR, "tbody tr"):
        urn = row.find_element(By.CSS_SELECTOR, "th .small").text.removeprefix("URN ")
        # Volume, today, joint contract, then the saving.
        savings[urn] = row.find_elements(By.TAG_NAME, "td")[3].text
    assert {urn: pounds(text) for urn, text in savings.items()} == {
        e["school_urn"]: Decimal(e["annual_saving"]) for e in award["entries"]
    }
    # Cedar's line, a cost increase: in words as well as with a minus sign.
    assert savings[SCENARIO.urns[2]] == "\u2212£50.00"
    cedar = browser.find_element(By.XPATH, "//section[@class='card award']//tbody/tr[3]/th")
    assert cedar.text.startswith("Cedar Primary School") and "COST INCREASE" in cedar.text.upper()
    assert len(shown_charts(browser)) == 1
    facts = browser.find_element(By.CSS_SELECTOR, "section.award .facts").text
    # The scenario's awards are below the threshold: no standstill, said in words.
    assert "no standstill (below threshold)" in facts
    keep(browser, "savings-contract")
    on_a_phone(browser, "savings-contract")
    # And back to the dashboard by its link.
    browser.find_element(By.LINK_TEXT, "Back to the dashboard").click()
    WebDriverWait(browser, 10).until(
        expected_conditions.url_to_be(f"{url}/trusts/{SCENARIO.trust_id}#contracts")
    )


def test_another_trusts_dashboard_is_refused_in_the_browser(
    system: RunningSystem, browser: webdriver.Chrome, signed_in: None
) -> None:
    # Signed in as trust 3101's manager; trust 3001 is someone else's.
    refused(browser, f"{system.urls['savings']}/trusts/3001", "Not your trust", "Fenland")


def test_signing_out_in_the_browser_ends_the_session(
    system: RunningSystem, browser: webdriver.Chrome, signed_in: None
) -> None:
    url = system.urls["savings"]
    session = browser.get_cookie("procure_session")
    assert session is not None
    # The browser holds a random session id (256 bits), not the manager's token (a JWT).
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", session["value"])
    browser.find_element(By.CSS_SELECTOR, "form[action='/sign-out'] button[type=submit]").click()
    WebDriverWait(browser, 10).until(expected_conditions.url_to_be(f"{url}/sign-in"))
    assert browser.get_cookie("procure_session") is None
    # A copy of the cookie put back (as a thief who had copied it would) opens nothing.
    browser.add_cookie(
        {"name": "procure_session", "value": session["value"], "path": "/", "httpOnly": True}
    )
    browser.get(f"{url}/trusts/{SCENARIO.trust_id}")
    assert browser.current_url == f"{url}/sign-in"
    assert browser.find_element(By.TAG_NAME, "h1").text == "Savings dashboard"


def test_a_wrong_token_is_summarised_at_the_top_of_the_sign_in_form(
    system: RunningSystem, browser: webdriver.Chrome
) -> None:
    url = system.urls["savings"]
    browser.delete_all_cookies()
    browser.get(f"{url}/sign-in")
    browser.find_element(By.ID, "token").send_keys("not-a-token")
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    summary = WebDriverWait(browser, 10).until(
        expected_conditions.presence_of_element_located((By.CSS_SELECTOR, ".error-summary"))
    )
    assert summary.find_element(By.TAG_NAME, "h2").text == "There is a problem"
    assert browser.title.startswith("Error: ")
    # Its link leads to the field, which says the same again.
    summary.find_element(By.LINK_TEXT, "That token is not valid or has expired.").click()
    assert browser.switch_to.active_element.get_attribute("id") == "token"
    assert "That token is not valid" in browser.find_element(By.ID, "token-error").text
    keep(browser, "savings-sign-in-error")
    on_a_phone(browser, "savings-sign-in-error")


def test_a_school_reads_its_own_page_in_a_browser(
    system: RunningSystem, browser: webdriver.Chrome, published: None
) -> None:
    url = system.urls["savings"]
    alder = SCENARIO.urns[0]
    school_signs_in(browser, system, alder)
    assert browser.find_element(By.TAG_NAME, "h1").text == "Alder Primary School"
    shown = {
        key: browser.find_element(By.ID, key).text
        for key in ("annual-saving", "term-saving", "saving-pct", "pooling-saving")
    }
    api = httpx.get(
        f"{url}/v1/schools/{alder}/savings", headers=bearer(system.token(Role.SCHOOL, alder))
    ).json()
    # Alder's own figures (savings_scenario.py, SCHOOLS[0]), as the school's API gives them.
    assert shown == {
        "annual-saving": "£4,565.43",
        "term-saving": "£10,396.30",
        "saving-pct": "18.27%",
        "pooling-saving": "£3,180.25",
    }
    assert pounds(shown["annual-saving"]) == Decimal(api["annual_saving"])
    # One row per joint contract, with its supplier and the school's own supply window.
    rows = browser.find_elements(By.CSS_SELECTOR, "#lines tbody tr")
    assert [row.find_element(By.TAG_NAME, "th").text.splitlines()[:2] for row in rows] == [
        ["Electricity", "Volt Energy Ltd (volt-co)"],
        ["Natural gas", "moor-gas"],
    ]
    electricity = rows[0].text
    assert "Volt Energy Ltd (volt-co)" in electricity and "2 April 2027" in electricity
    assert "Birch" not in browser.page_source and "Cedar" not in browser.page_source
    assert len(shown_charts(browser)) == 1
    keep(browser, "savings-school")
    on_a_phone(browser, "savings-school")
    # Its own CSV is a link on the page; a trust's dashboard is not the school's to read.
    link = browser.find_element(By.PARTIAL_LINK_TEXT, "Download your ledger")
    assert link.get_attribute("href") == f"{url}/schools/{alder}/ledger.csv"
    refused(browser, f"{url}/trusts/{SCENARIO.trust_id}", "Not your trust")
    refused(browser, f"{url}/schools/{SCENARIO.urns[1]}", "Not your school", "Birch")


def test_a_manager_reads_savings_achieved_in_a_browser(
    system: RunningSystem, browser: webdriver.Chrome, invoiced: None
) -> None:
    url = system.urls["savings"]
    trust = SPENDING.trust_id
    browser.delete_all_cookies()
    sign_in(browser, system, trust)
    # From the dashboard's header to the page of savings achieved.
    browser.find_element(By.LINK_TEXT, "Savings achieved").click()
    WebDriverWait(browser, 10).until(
        expected_conditions.url_to_be(f"{url}/trusts/{trust}/realised")
    )
    keys = ("realised-saving", "expected-saving", "price-variance", "off-contract-spend")
    shown = {key: browser.find_element(By.ID, key).text for key in keys}
    api = httpx.get(
        f"{url}/v1/trusts/{trust}/savings/realised",
        headers=bearer(system.token(Role.MANAGER, trust)),
    ).json()
    fields = ("realised_saving", "expected_saving", "price_variance", "off_contract_spend")
    assert {k: pounds(v) for k, v in shown.items()} == {
        k: Decimal(api[f]) for k, f in zip(keys, fields, strict=True)
    }
    # The figures worked by hand in realised_scenario.py (TRUST).
    assert shown == {
        "realised-saving": "£575.00",
        "expected-saving": "£600.00",
        "price-variance": "£25.00",
        "off-contract-spend": "£3,000.00",
    }
    warning = browser.find_element(By.CSS_SELECTOR, "#tier-at-risk .warning-text").text
    assert "the price tier needs 200,000 kWh: the supplier may re-price" in warning
    chase = browser.find_element(By.CSS_SELECTOR, "#variances tbody tr").text
    assert "INV-elec-april-0" in chase and "£25.00" in chase
    # The cumulative chart: one drawn for this width.
    assert [c.get_attribute("id") for c in shown_charts(browser)] == ["chart-realised-months"]
    link = browser.find_element(By.PARTIAL_LINK_TEXT, "Download the invoice lines")
    assert link.get_attribute("href") == f"{url}/trusts/{trust}/realised.csv"
    keep(browser, "savings-realised")
    on_a_phone(browser, "savings-realised")
    # A school of the trust sees its own savings achieved on its page, and no other school's.
    first = SPENDING.urns[0]
    school_signs_in(browser, system, first)
    own = browser.find_element(By.ID, "realised").text
    assert "INV-elec-april-0" in own and "INV-elec-april-1" not in own

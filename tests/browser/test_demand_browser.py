"""A real browser on the demand and spend pages: a school adds a demand line with one mistake,
sees it summarised at the top and at the field with what it typed kept, fixes it, opens the
line and uploads its spend; then its trust's manager uploads a demand CSV with one bad row and
sees that row's field and reason. Each page is kept as screenshots in test-artifacts/
(web-demand-*.png, web-spend-*.png, their PDF prints and -phone variants at 390 px).
"""

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.select import Select

from procure.launcher import RunningSystem
from shared.auth import Role
from tests.browser.browsing import fill, follow, press, signs_in
from tests.browser.browsing import kept as keep
from tests.helpers import add_person, bearer, registry_csv

pytestmark = pytest.mark.e2e

TRUST, SCHOOL, NEIGHBOUR = "7391", "739101", "739102"
PASSWORD = "amber orchard lantern"
SCHOOL_EMAIL = "office@elm-primary.example"
MANAGER_EMAIL = "finance@elm-trust.example"
CONTRACT_END = (date.today() + timedelta(days=300)).isoformat()


@pytest.fixture(scope="module")
def accounts(system: RunningSystem) -> None:
    """A trust of two schools, a school's account and the trust manager's."""
    loaded = httpx.post(
        f"{system.urls['demand']}/v1/registry",
        content=registry_csv(TRUST, [(SCHOOL, "Elm Primary"), (NEIGHBOUR, "Ash Academy")]),
        headers=bearer(system.token(Role.OPERATOR)),
        timeout=30,
    )
    assert loaded.status_code == 200, loaded.text
    add_person(system, SCHOOL_EMAIL, "Jo Adeyemi", "school", SCHOOL, PASSWORD)
    add_person(system, MANAGER_EMAIL, "Kim Walsh", "manager", TRUST, PASSWORD)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """The CSV files the people upload: the school's spend, the manager's demand (its row 3
    is wrong: a quantity of 0)."""
    folder = tmp_path_factory.mktemp("uploads")
    start, end = date.today() - timedelta(days=120), date.today() - timedelta(days=30)
    spend = folder / "spend.csv"
    spend.write_text(
        "school_urn,category,supplier,invoice_ref,period_start,period_end,quantity,amount\n"
        f"{SCHOOL},electricity,volt-energy,EL-2031,{start},{end},36000,10332.00\n"
    )
    demand = folder / "demand.csv"
    demand.write_text(
        "school_urn,category,quantity,unit,current_unit_price,contract_end,term_months\n"
        f"{SCHOOL},gas,52000,kWh,0.071,{CONTRACT_END},36\n"
        f"{NEIGHBOUR},gas,0,kWh,0.071,{CONTRACT_END},36\n"
        f"{NEIGHBOUR},water,1800,m3,2.10,{CONTRACT_END},24\n"
    )
    yield {"spend": spend, "demand": demand}


def choose(browser: webdriver.Chrome, label: str, option: str) -> None:
    """Picks an option of the select a label names."""
    target = browser.find_element(By.XPATH, f"//label[text()='{label}']").get_attribute("for")
    Select(browser.find_element(By.ID, target or "")).select_by_visible_text(option)


def sign_in_as(browser: webdriver.Chrome, web: str, email: str) -> None:
    signs_in(browser, web, email, PASSWORD)
    assert browser.current_url == f"{web}/"


def heading(browser: webdriver.Chrome) -> str:
    text: str = browser.find_element(By.TAG_NAME, "h1").text
    return text


def test_a_school_adds_demand_and_uploads_spend_and_a_manager_uploads_demand(
    system: RunningSystem, browser: webdriver.Chrome, accounts: None, files: dict[str, Path]
) -> None:
    web = system.urls["web"]
    sign_in_as(browser, web, SCHOOL_EMAIL)
    follow(browser, "Your demand")
    assert heading(browser) == "Your demand"
    assert "There are no demand lines yet." in browser.page_source

    follow(browser, "Add a demand line")
    choose(browser, "Category", "Electricity")
    fill(browser, "Quantity a year", "145,000")  # the mistake: a thousands separator
    fill(browser, "Current price per unit", "0.2870")
    fill(browser, "Current supplier (optional)", "volt-energy")
    fill(browser, "Current contract end date", CONTRACT_END)
    fill(browser, "Contract term wanted (months)", "24")
    press(browser, "Add line")
    assert browser.title.startswith("Error: ")
    summary = browser.find_element(By.CLASS_NAME, "error-summary").text
    assert "Quantity a year:" in summary
    assert browser.find_element(By.ID, "quantity-error").is_displayed()
    assert browser.find_element(By.ID, "current_supplier").get_attribute("value") == "volt-energy"
    keep(browser, "web-demand-add-error")

    fill(browser, "Quantity a year", "145000")
    press(browser, "Add line")
    assert browser.current_url == f"{web}/demand?done=added"
    assert "Demand line added." in browser.find_element(By.CLASS_NAME, "notification").text
    table = browser.find_element(By.TAG_NAME, "table").text
    assert "Electricity" in table and "145,000 kWh" in table and "£0.287 per kWh" in table
    keep(browser, "web-demand-school")

    follow(browser, "Electricity")
    assert heading(browser) == "Electricity demand"
    assert browser.find_element(By.ID, "quantity").get_attribute("value") == "145000"
    keep(browser, "web-demand-line")

    follow(browser, "Spend")
    assert heading(browser) == "Spend"
    browser.find_element(By.ID, "file").send_keys(str(files["spend"]))
    press(browser, "Upload file")
    assert "Upload finished: 1 of 1 row accepted." in browser.page_source
    assert "EL-2031" in browser.find_element(By.TAG_NAME, "table").text
    keep(browser, "web-spend-school")

    sign_in_as(browser, web, MANAGER_EMAIL)
    follow(browser, "Demand")
    assert heading(browser) == "Demand"
    browser.find_element(By.ID, "file").send_keys(str(files["demand"]))
    press(browser, "Upload file")
    assert "Upload finished: 2 of 3 rows accepted, 1 row refused." in browser.page_source
    summary = browser.find_element(By.CLASS_NAME, "error-summary").text
    assert "Row 3: quantity: Input should be greater than 0" in summary
    rows = browser.find_element(By.TAG_NAME, "tbody").text
    assert "Natural gas" in rows and "Water supply" in rows and "Electricity" in rows
    keep(browser, "web-demand-manager-upload")

    choose(browser, "Category", "Natural gas")
    press(browser, "Apply filters")
    rows = browser.find_element(By.TAG_NAME, "tbody").text
    assert "Natural gas" in rows and "Electricity" not in rows

    follow(browser, "Spend")
    assert "EL-2031" in browser.find_element(By.TAG_NAME, "table").text
    keep(browser, "web-spend-manager")

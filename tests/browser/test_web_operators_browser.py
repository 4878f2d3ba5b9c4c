"""An operator in a real browser: signs in, uploads a registry file through the Registry page's
file input (a refused file first, its rows in the error summary), sees the report, then adds a
person on the Users pages (an empty form's errors first) and is shown their set-password link
once. Keeps screenshots in test-artifacts/ (web-registry*.png, web-users*.png,
web-add-person*.png, their PDF prints and -phone variants at 390 px)."""

from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.select import Select

from procure.launcher import RunningSystem
from tests.browser.browsing import fill, follow, kept, press, signs_in
from tests.helpers import add_person, registry_csv

pytestmark = pytest.mark.e2e

EMAIL = "jo.mensah@ops.example"
PASSWORD = "saffron ladder quay"


def upload(browser: webdriver.Chrome, path: Path) -> None:
    browser.find_element(By.ID, "registry").send_keys(str(path))
    press(browser, "Upload registry")


def test_an_operator_uploads_a_registry_and_adds_a_person(
    system: RunningSystem, browser: webdriver.Chrome, tmp_path: Path
) -> None:
    web = system.urls["web"]
    add_person(system, EMAIL, "Jo Mensah", "operator", password=PASSWORD)
    signs_in(browser, web, EMAIL, PASSWORD)
    assert browser.find_element(By.TAG_NAME, "h1").text == "Jo Mensah"

    follow(browser, "Registry")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Registry"
    good = registry_csv("7401", [("740101", "Elm Primary"), ("740102", "Elm Academy")])
    refused = tmp_path / "refused.csv"
    refused.write_text(good + "74010X,Elm Infants,7401,Trust 7401,Open\n")
    upload(browser, refused)
    assert browser.title.startswith("Error: ")
    summary = browser.find_element(By.CLASS_NAME, "error-summary").text
    assert "Line 4, URN: a URN is 6 digits" in summary
    kept(browser, "web-registry-error")
    accepted = tmp_path / "gias.csv"
    accepted.write_text(good)
    upload(browser, accepted)
    assert browser.current_url == f"{web}/registry"
    assert "Registry loaded: 2 schools in trusts." in browser.page_source
    report = browser.find_element(By.CLASS_NAME, "summary-list").text
    assert "Schools that joined a trust\n2" in report
    kept(browser, "web-registry")

    follow(browser, "Users")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Users"
    assert EMAIL in browser.find_element(By.TAG_NAME, "table").text
    follow(browser, "Add a person")
    press(browser, "Add person")
    summary = browser.find_element(By.CLASS_NAME, "error-summary").text
    assert "Enter an email address" in summary and "Select the person's role" in summary
    kept(browser, "web-add-person-error")
    fill(browser, "Email address", "lee.bursar@elm-primary.example")
    fill(browser, "Full name", "Lee Okoro")
    Select(browser.find_element(By.ID, "role")).select_by_visible_text("School")
    fill(browser, "School URN", "740101")
    kept(browser, "web-add-person")
    press(browser, "Add person")
    assert browser.current_url == f"{web}/users"
    banner = browser.find_element(By.CLASS_NAME, "notification").text
    assert "Lee Okoro (lee.bursar@elm-primary.example) can now set their password" in banner
    link = browser.find_element(By.CSS_SELECTOR, ".link-shown a").get_attribute("href") or ""
    assert "/set-password/" in link
    table = browser.find_element(By.TAG_NAME, "table").text
    assert "lee.bursar@elm-primary.example" in table and "740101" in table
    kept(browser, "web-users")
    # The link works: the person's own page to set a password.
    browser.delete_all_cookies()
    browser.get(link)
    assert browser.find_element(By.TAG_NAME, "h1").text == "Set your password"

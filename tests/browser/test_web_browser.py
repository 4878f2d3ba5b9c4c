"""A real browser on the web workspace: headless Chromium signs in with an email address and
password through the form (so the browser's own Origin, cookies and CSRF token pass the
checks), sees a wrong password summarised at the top, reaches the manager's home page, pools
and savings dashboard, signs out, and keeps screenshots in test-artifacts/ (web-sign-in.png,
web-home-manager.png, web-pools.png, web-savings-dashboard.png, their PDF prints and their
-phone variants at 390 px), each page checked by axe-core (WCAG 2.2 AA) at both widths; and the
pages of a refusal, of a dead set-password link and of sign-in with single sign-on, checked alike.
"""

from pathlib import Path

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By

from procure.launcher import RunningSystem
from services.web import pages
from services.web.pages import SIGN_ON, FieldError
from shared.auth import Role
from tests.browser.browsing import accessible, fill, follow, press, sent_to_sign_in, signs_in
from tests.browser.browsing import kept as keep
from tests.helpers import bearer
from tests.integration.test_web_accounts import pooled_manager

pytestmark = pytest.mark.e2e

EMAIL = "sam.okafor@oak-trust.example"
PASSWORD = "copper lantern meadow"


@pytest.fixture(scope="module")
def manager(system: RunningSystem) -> str:
    return pooled_manager(system, "7191", ("719101", "719102"), EMAIL, "Sam Okafor", PASSWORD)


def test_a_manager_signs_in_and_out_in_a_browser(
    system: RunningSystem, browser: webdriver.Chrome, manager: str
) -> None:
    web = system.urls["web"]
    sent_to_sign_in(browser, f"{web}/", f"{web}/sign-in")
    keep(browser, "web-sign-in")

    fill(browser, "Email address", manager)
    fill(browser, "Password", "not my password at all")
    press(browser, "Sign in")
    summary = browser.find_element(By.CLASS_NAME, "error-summary")
    assert "Enter a correct email address and password" in summary.text
    assert browser.title.startswith("Error: ")
    keep(browser, "web-sign-in-error")

    fill(browser, "Email address", manager)
    fill(browser, "Password", PASSWORD)
    press(browser, "Sign in")
    assert browser.current_url == f"{web}/"
    assert browser.find_element(By.TAG_NAME, "h1").text == "Sam Okafor"
    menu = browser.find_element(By.CSS_SELECTOR, "nav[aria-label=Menu]").text
    for item in ("Pools", "Tenders", "Savings dashboard", "Demand", "Spend"):
        assert item in menu
    keep(browser, "web-home-manager")

    follow(browser, "Pools")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Pools"
    assert "Electricity" in browser.find_element(By.TAG_NAME, "table").text
    keep(browser, "web-pools")

    # The savings dashboard at the same address, without a token to paste.
    follow(browser, "Savings dashboard")
    assert browser.current_url == f"{web}/trusts/7191"
    assert browser.find_element(By.ID, "annual-saving").text == "£0.00"
    keep(browser, "web-savings-dashboard")

    press(browser, "Sign out")
    assert browser.current_url == f"{web}/sign-in?done=out"
    assert "You have signed out on every device." in browser.page_source
    browser.get(f"{web}/pools")
    assert browser.current_url == f"{web}/sign-in"


def test_a_supplier_sets_a_password_from_the_link_and_signs_in(
    system: RunningSystem, browser: webdriver.Chrome
) -> None:
    web = system.urls["web"]
    added = httpx.post(
        f"{web}/v1/users",
        json={
            "email": "bids@gamma-gas.example",
            "name": "Ola Bello",
            "role": "supplier",
            "scope": "gamma-gas",
        },
        headers=bearer(system.token(Role.OPERATOR)),
    )
    assert added.status_code == 201, added.text
    browser.delete_all_cookies()
    browser.get(added.json()["set_password_url"])
    assert browser.find_element(By.TAG_NAME, "h1").text == "Set your password"
    fill(browser, "New password", "short")
    fill(browser, "Confirm new password", "short")
    press(browser, "Set password")
    assert (
        "Password must be 12 characters or more"
        in browser.find_element(By.CLASS_NAME, "error-summary").text
    )
    keep(browser, "web-set-password-error")
    fill(browser, "New password", PASSWORD)
    fill(browser, "Confirm new password", PASSWORD)
    press(browser, "Set password")
    assert browser.current_url == f"{web}/sign-in?done=password"
    fill(browser, "Email address", "bids@gamma-gas.example")
    fill(browser, "Password", PASSWORD)
    press(browser, "Sign in")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Ola Bello"
    follow(browser, "Open tenders")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Open tenders"
    keep(browser, "web-open-tenders")

    # The check fails a page that breaks a rule, and says which rule and where: a field that
    # no label names.
    browser.execute_script(
        "const field = document.createElement('input'); field.id = 'unnamed';"
        "document.querySelector('main').append(field)"
    )
    with pytest.raises(AssertionError, match=r"label \(critical\).*\n +#unnamed"):
        accessible(browser, "web-broken-on-purpose")


def test_refusals_and_the_single_sign_on_form_pass_axe(
    system: RunningSystem, browser: webdriver.Chrome, manager: str, tmp_path: Path
) -> None:
    """The pages a person meets when something is refused, and the sign-in form with its single
    sign-on button, are checked by axe-core as every other page is."""
    web = system.urls["web"]
    browser.delete_all_cookies()
    browser.get(f"{web}/set-password/no-such-link")
    assert browser.find_element(By.TAG_NAME, "h1").text == (
        "This link has expired or has been used"
    )
    keep(browser, "web-dead-link")

    signs_in(browser, web, manager, PASSWORD)
    browser.get(f"{web}/open-tenders")  # a supplier's page
    assert browser.find_element(By.TAG_NAME, "h1").text == "You cannot see this page"
    keep(browser, "web-refused")

    # The sign-in form as a workspace with single sign-on set up renders it, refusing an
    # address without an account, on the workspace's own stylesheet (tests/integration/
    # test_web_sign_on.py drives the sign-on itself against a real OpenID Connect provider).
    refused = [FieldError(SIGN_ON, "There is no account for pat@elsewhere.example in this service")]
    page = pages.sign_in_page("a-csrf-token", refused, sign_on=True)
    form = tmp_path / "sign-in-organisation.html"
    form.write_text(page.replace('href="/assets/web.css"', f'href="{web}/assets/web.css"'))
    browser.get(form.as_uri())
    assert "Sign in with your organisation's account" in browser.page_source
    keep(browser, "web-sign-in-organisation")

"""What the browser tests do with a page, as a person would: follow a link or press a button and
wait for the page it leads to, fill a field by its label, and keep the page as screenshots (at
1280 px and on a 390 px phone) and a PDF print in test-artifacts/, each kept page checked by
axe-core against WCAG 2.2 AA (its results kept beside the screenshots)."""

import base64
import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.print_page_options import PrintOptions
from selenium.webdriver.support.wait import WebDriverWait
from selenium_axe_python import Axe

from shared.presentation import LOCAL

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
# A phone's screen width in CSS pixels (iPhone 12 to 15).
PHONE = 390
# The rules of WCAG 2.0, 2.1 and 2.2 at levels A and AA that axe-core checks.
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def loaded_after(browser: webdriver.Chrome, act: Callable[[], None]) -> None:
    """Does `act` and waits until a new document has loaded in place of the old one.

    The old document is marked first; the wait ends when a page without the mark is complete.
    Waiting for an old element to go stale is not enough: while Chromium swaps documents its
    driver may answer "Node with given id does not belong to the document" instead of a stale
    element, and a later read can hit the old page."""
    browser.execute_script("window.procureLeaving = true")
    act()
    WebDriverWait(browser, 30, ignored_exceptions=(WebDriverException,)).until(
        lambda b: b.execute_script(
            "return window.procureLeaving !== true && document.readyState === 'complete'"
        )
    )


def press(browser: webdriver.Chrome, text: str) -> None:
    """Clicks the button that says `text` and waits for the page it leads to."""
    button = browser.find_element(By.XPATH, f"//button[normalize-space()='{text}']")
    loaded_after(browser, button.click)


def follow(browser: webdriver.Chrome, link_text: str) -> None:
    """Clicks the link that says `link_text` and waits for the page it leads to."""
    link = browser.find_element(By.LINK_TEXT, link_text)
    loaded_after(browser, link.click)


def fill(browser: webdriver.Chrome, label: str, value: str) -> None:
    """Types into the field a label names, as a person finds it."""
    target = browser.find_element(By.XPATH, f"//label[text()='{label}']").get_attribute("for")
    field = browser.find_element(By.ID, target or "")
    field.clear()
    field.send_keys(value)


def sent_to_sign_in(browser: webdriver.Chrome, address: str, sign_in_form: str) -> None:
    """A browser without cookies that asks for `address` is sent to the sign-in form."""
    browser.delete_all_cookies()
    browser.get(address)
    assert browser.current_url == sign_in_form


def shown_charts(browser: webdriver.Chrome) -> list[Any]:
    """The charts the page shows at its width (each bar chart is drawn wide and narrow)."""
    return [
        c for c in browser.find_elements(By.CSS_SELECTOR, "svg.chart[role=img]") if c.is_displayed()
    ]


def violations(found: list[dict[str, Any]]) -> str:
    """axe-core's violations as a list to read in a failed test: rule, impact, what it asks and
    where on the page."""
    lines = []
    for rule in found:
        lines.append(f"{rule['id']} ({rule['impact']}): {rule['help']}")
        lines.extend(f"    {' '.join(map(str, node['target']))}" for node in rule["nodes"])
    return "\n".join(lines)


def accessible(browser: webdriver.Chrome, name: str) -> None:
    """axe-core finds nothing against WCAG 2.2 AA on the page as it is now shown; its results
    are kept as `{name}-axe.json`."""
    axe = Axe(browser)
    axe.inject()
    results = axe.run(options={"runOnly": {"type": "tag", "values": WCAG_AA}})
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"{name}-axe.json").write_text(json.dumps(results, indent=2))
    found = results["violations"]
    assert not found, f"axe-core on {name} ({browser.current_url}):\n{violations(found)}"


def keep(browser: webdriver.Chrome, name: str) -> None:
    """A full-length screenshot and a print (PDF) of the page, as test artefacts, once axe-core
    has found nothing against WCAG 2.2 AA on it."""
    accessible(browser, name)
    ARTIFACTS.mkdir(exist_ok=True)
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1280, height)
    assert browser.save_screenshot(str(ARTIFACTS / f"{name}.png"))
    printed = browser.print_page(PrintOptions())
    (ARTIFACTS / f"{name}.pdf").write_bytes(base64.b64decode(printed))
    browser.set_window_size(1280, 900)


def on_a_phone(browser: webdriver.Chrome, name: str) -> None:
    """The page on a 390 px phone screen: nothing wider than the screen but the tables, which
    scroll inside their own box; the narrow charts shown, not the wide ones; nothing found by
    axe-core (the narrow layout shows other elements). Keeps a full-length screenshot as
    `{name}-phone.png`."""
    metrics = {"width": PHONE, "height": 844, "deviceScaleFactor": 1, "mobile": True}
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    try:
        assert browser.execute_script("return window.innerWidth") == PHONE
        assert browser.execute_script("return document.documentElement.scrollWidth") <= PHONE
        for chart in shown_charts(browser):
            assert "chart-wide" not in (chart.get_attribute("class") or "")
            assert chart.size["width"] <= PHONE
        # Every element shown outside the tables ends within the screen: asked of the page in
        # one script (an element at a time over WebDriver takes seconds on a long page).
        wider = browser.execute_script(
            "return [...document.querySelectorAll('main *:not(table *)')]"
            ".filter(e => e.tagName !== 'TABLE' && e.checkVisibility())"
            ".map(e => [e.tagName, e.getAttribute('class'), e.getBoundingClientRect().right])"
            ".filter(([, , right]) => right > arguments[0])",
            PHONE + 1,
        )
        assert wider == []
        accessible(browser, f"{name}-phone")
        height = browser.execute_script("return document.documentElement.scrollHeight")
        browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics | {"height": height})
        ARTIFACTS.mkdir(exist_ok=True)
        assert browser.save_screenshot(str(ARTIFACTS / f"{name}-phone.png"))
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def kept(browser: webdriver.Chrome, name: str) -> None:
    """The page at 1280 px (a screenshot and a PDF print) and on a 390 px phone, where nothing
    but a table may be wider than the screen."""
    keep(browser, name)
    on_a_phone(browser, name)


def signs_in(browser: webdriver.Chrome, web: str, email: str, password: str) -> None:
    """A person signs in to the web workspace through its form, afresh (no cookies kept)."""
    browser.delete_all_cookies()
    browser.get(f"{web}/sign-in")
    fill(browser, "Email address", email)
    fill(browser, "Password", password)
    press(browser, "Sign in")


def text(browser: webdriver.Chrome, css: str) -> str:
    """The text of the first element `css` selects."""
    found: str = browser.find_element(By.CSS_SELECTOR, css).text
    return found


def awards(browser: webdriver.Chrome, supplier: str) -> str:
    """The manager presses Award contract on the tender's page, which then says the contract is
    awarded to `supplier`; the tender's history, the page's last table, for the test to read."""
    press(browser, "Award contract")
    assert "Contract awarded." in text(browser, ".notification")
    assert f"Awarded to {supplier}" in text(browser, ".inset")
    history: str = browser.find_elements(By.CSS_SELECTOR, "table")[-1].text
    return history


def closing(browser: webdriver.Chrome, at: datetime) -> None:
    """Types when bids close, in UK time, into the open-tender form's date and time fields."""
    uk = at.astimezone(LOCAL)
    for label, value in (
        ("Day", str(uk.day)),
        ("Month", str(uk.month)),
        ("Year", str(uk.year)),
        ("Time", uk.strftime("%H:%M:%S")),
    ):
        fill(browser, label, value)

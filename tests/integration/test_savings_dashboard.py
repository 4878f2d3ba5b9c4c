"""The business manager's dashboard on the running system: server-rendered, no JavaScript, charts
as SVG with text alternatives, cost increases named, contracts linked to their tenders; and the
CLI report printing the same figures in the same words."""

import csv
import io
import re

import httpx
import pytest

from shared.auth import Role
from shared.cli import main as procure
from shared.infra.provision import Infrastructure
from shared.launcher import RunningSystem
from tests.helpers import bearer
from tests.integration.savings_scenario import Scenario, recorded

pytestmark = pytest.mark.integration

SCENARIO = Scenario("3021", 302101)
# The scenario's totals (savings_scenario.py): saving 9,615.84 a year, 21,847.52 over the terms,
# 12.34% of today's 77,896.09, of which pooling alone 6,830.48.
HEADLINES = {
    "annual-saving": ("Saving per year", "£9,615.84"),
    "term-saving": ("Saving over the contracts' terms", "£21,847.52"),
    "saving-pct": ("Saving on today's costs", "12.34%"),
    "pooling-saving": ("Pooling alone contributed, per year", "£6,830.48"),
}
HEADLINE = re.compile(r'<dt>([^<]+)</dt><dd class="value" id="([a-z-]+)">([^<]+)</dd>')


@pytest.fixture(scope="module")
async def published(system: RunningSystem, infra: Infrastructure) -> None:
    await recorded(system, infra, SCENARIO, 5)


@pytest.fixture(scope="module")
def page(system: RunningSystem, published: None) -> str:
    with httpx.Client(base_url=system.urls["savings"]) as browser:
        token = system.token(Role.MANAGER, SCENARIO.trust_id)
        assert browser.post("/sign-in", data={"token": token}).status_code == 303
        response = browser.get(f"/trusts/{SCENARIO.trust_id}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-store"
    assert "script-src" not in response.headers["content-security-policy"]
    return response.text.replace("&#x27;", "'")


def test_headline_annual_and_term_savings(page: str) -> None:
    found = {key: (label, value) for label, key, value in HEADLINE.findall(page)}
    assert found == HEADLINES
    assert "<h1>Fenland Learning Trust</h1>" in page


def test_readable_without_javascript_and_printable(page: str) -> None:
    assert "<script" not in page.lower()
    assert "@media print" in page
    assert '<html lang="en-GB">' in page


def test_charts_are_svg_with_text_alternatives(page: str) -> None:
    charts = re.findall(r'<svg class="chart" id="([^"]+)"[^>]*role="img"', page)
    # Per school, per category, pooling for each of the two categories, over time.
    assert charts == [
        "chart-schools",
        "chart-categories",
        "chart-pooling-electricity-kWh",
        "chart-pooling-gas-kWh",
        "chart-months",
    ]
    for chart in charts:
        assert f'<title id="{chart}-title">' in page
        assert f'<desc id="{chart}-desc">' in page
    # Every chart's figures are also in a table with a caption and scoped headers.
    assert page.count("<caption>") == 5
    assert '<th scope="col"' in page and '<th scope="row"' in page


def test_per_school_figures_with_the_cost_increase_named(page: str) -> None:
    schools = page[page.index('id="schools"') : page.index('id="categories"')]
    for name, saving in (
        ("Alder Primary School", "£4,565.43"),
        ("Birch Academy", "£5,100.41"),
        ("Cedar Primary School", "\u2212£50.00"),
    ):
        assert name in schools and saving in schools
    cedar_row = schools[schools.index('<tr><th scope="row">Cedar Primary School') :]
    cedar_row = cedar_row[: cedar_row.index("</tr>")]
    assert "cost increase" in cedar_row
    increases = page[page.index('id="increases-heading"') :]
    assert "Cedar Primary School" in increases[: increases.index("</section>")]
    assert "£50.00 a year more than today" in increases


def test_contracts_link_to_their_tenders(page: str, system: RunningSystem) -> None:
    # The launcher tells savings where this run's tendering service is.
    for name in ("electricity", "gas"):
        url = f"{system.urls['tendering']}/v1/tenders/{SCENARIO.tender_id(name)}"
        assert f'<a href="{url}">' in page


def test_the_cli_report_prints_the_dashboards_figures(
    system: RunningSystem,
    page: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("PROCURE_TOKEN_SECRET", system.token_secret)
    procure(["savings", "report", "--trust", SCENARIO.trust_id, "--url", system.urls["savings"]])
    report = capsys.readouterr().out
    lines = report.splitlines()
    for label, _, value in HEADLINE.findall(page):
        assert any(line.startswith(label) and value in line for line in lines), (label, value)
    cedar = next(line for line in lines if line.startswith("Cedar Primary School"))
    # B, C, S, %, term, E as on the dashboard's table (savings_scenario.py), named an increase.
    for figure in (
        "£2,300.00",
        "£2,350.00",
        "\u2212£50.00",
        "\u22122.17%",
        "\u2212£100.00",
        "£650.00",
    ):
        assert figure in cedar and figure in page
    assert cedar.endswith("cost increase")
    assert any(line.startswith("Electricity") and "£7,000.00" in line for line in lines)
    assert any(line.startswith("Natural gas") and "£2,615.84" in line for line in lines)
    assert str(SCENARIO.tender_id("gas")) in report


def test_the_dashboards_csv_is_the_apis(system: RunningSystem, page: str) -> None:
    url = system.urls["savings"]
    token = system.token(Role.MANAGER, SCENARIO.trust_id)
    with httpx.Client(base_url=url) as browser:
        browser.post("/sign-in", data={"token": token})
        download = browser.get(f"/trusts/{SCENARIO.trust_id}/ledger.csv")
    api = httpx.get(
        f"{url}/v1/trusts/{SCENARIO.trust_id}/savings/ledger.csv", headers=bearer(token)
    )
    assert download.status_code == api.status_code == 200
    assert download.text == api.text
    assert len(list(csv.DictReader(io.StringIO(download.text)))) == 5
    assert f'href="/trusts/{SCENARIO.trust_id}/ledger.csv"' in page

"""Realised savings against the running system: spend published straight onto procurement.spend
(real broker) before and after the award that covers it, figures checked to the penny against
the hand-worked scenario in realised_scenario.py."""

import csv
import io
import re
from decimal import Decimal
from typing import Any

import httpx
import pytest

from procure.launcher import RunningSystem
from shared.auth import Role
from tests.helpers import bearer
from tests.integration.realised_scenario import (
    CONTRACT,
    LINES,
    SCHOOLS,
    STATUS,
    TRUST,
    UNCONTRACTED,
    Spending,
    manager,
    spent,
    url,
)
from tests.integration.test_savings_access import sign_in, signed_in

pytestmark = pytest.mark.integration

SCENARIO = Spending("3005", 300501)
FIGURES = ("realised_saving", "expected_saving", "price_variance", "off_contract_spend", "leakage")


@pytest.fixture(scope="module")
async def spending(system: RunningSystem) -> Spending:
    # Spend first (all uncontracted), then the award (classified again), then more spend with
    # repeats: each step waits for the service (realised_scenario.py).
    await spent(system, SCENARIO)
    return SCENARIO


def get(system: RunningSystem, address: str, headers: dict[str, str]) -> httpx.Response:
    response = httpx.get(address, headers=headers)
    assert response.status_code == 200, response.text
    return response


def uncontracted(rows: list[dict[str, Any]]) -> dict[str, tuple[Any, ...]]:
    return {
        u["category"]: (
            u["schools"],
            u["quantity"],
            u["amount"],
            u["lowest_unit_price"],
            u["median_unit_price"],
            u["highest_unit_price"],
            u["opportunity"],
        )
        for u in rows
    }


def test_the_trusts_realised_savings_to_the_penny(
    system: RunningSystem, spending: Spending
) -> None:
    summary = get(system, url(system, spending), manager(system, spending)).json()
    assert summary["trust_id"] == spending.trust_id
    assert {f: summary[f] for f in FIGURES} == TRUST
    assert [
        (s["urn"], s["contract_spend"], *(s[f] for f in FIGURES)) for s in summary["schools"]
    ] == [(urn, *figures) for urn, figures in zip(spending.urns, SCHOOLS, strict=True)]
    [contract] = summary["contracts"]
    assert contract["tender_id"] == str(spending.award_id)
    assert contract["lot"] is None
    assert (
        contract["category"],
        contract["supplier_id"],
        contract["annualised_quantity"],
        contract["tier_minimum"],
        contract["tier_at_risk"],
    ) == CONTRACT
    assert uncontracted(summary["uncontracted"]) == UNCONTRACTED
    # The shape of docs/http-api.md, nothing more.
    assert set(summary) == {*FIGURES, "trust_id", "schools", "contracts", "uncontracted"}


def test_lines_classified_once_whatever_the_order_and_the_repeats(
    system: RunningSystem, spending: Spending
) -> None:
    page = get(system, url(system, spending, "/lines"), manager(system, spending)).json()
    # Eight lines: a repeated event, a line sent again and another line under a recorded
    # invoice_ref changed nothing (the other line's 9,999.00 is nowhere).
    assert page["total"] == 8 and page["next_cursor"] is None
    lines = {line["invoice_ref"]: line for line in page["items"]}
    assert {ref: line["status"] for ref, line in lines.items()} == {
        f"INV-{name}": status for name, status in STATUS.items()
    }
    assert all(line["amount"] != "9999.00" for line in lines.values())
    # Recorded before its award, classified again when it came.
    april = lines["INV-elec-april-0"]
    assert (
        april["tender_id"],
        april["contract_supplier_id"],
        april["baseline_unit_price"],
        april["contract_unit_price"],
        april["baseline_cost"],
        april["contract_cost"],
        april["realised_saving"],
        april["expected_saving"],
        april["price_variance"],
        april["unit_price"],
        april["leakage"],
        april["opportunity"],
    ) == (
        str(spending.award_id),
        "volt-co",
        "0.2900",
        "0.2350",
        "1450.00",
        "1175.00",
        "250.00",
        "275.00",
        "25.00",
        "0.240000",
        None,
        None,
    )
    off = lines["INV-elec-april-1"]
    assert (off["off_contract_spend"], off["leakage"], off["realised_saving"]) == (
        "3000.00",
        "180.00",
        None,
    )
    # Uncontracted: the opportunity against the trust's lowest price (2.30 a m3).
    assert lines["INV-water-2"]["opportunity"] == "20.00"  # 250 - 100 x 2.30
    assert lines["INV-elec-march-0"]["tender_id"] is None

    # Pages of 3: 3 + 3 + 2, in the same order, the cursor naming each page's last line.
    manager_headers = manager(system, spending)
    seen, cursor = [], None
    for size in (3, 3, 2):
        params: dict[str, Any] = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        part = httpx.get(url(system, spending, "/lines"), params=params, headers=manager_headers)
        assert part.status_code == 200, part.text
        body = part.json()
        assert len(body["items"]) == size
        seen += [line["spend_id"] for line in body["items"]]
        cursor = body["next_cursor"]
    assert cursor is None
    assert seen == [line["spend_id"] for line in page["items"]]
    unknown = httpx.get(
        url(system, spending, "/lines"),
        params={"cursor": str(spending.id("nothing"))},
        headers=manager_headers,
    )
    assert unknown.status_code == 422
    assert [e["field"] for e in unknown.json()["errors"]] == ["query.cursor"]


def test_realised_csv(system: RunningSystem, spending: Spending) -> None:
    response = get(system, url(system, spending, ".csv"), manager(system, spending))
    assert response.headers["content-type"].startswith("text/csv")
    assert (
        f'filename="savings-realised-trust-{spending.trust_id}.csv"'
        in response.headers["content-disposition"]
    )
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert {r["invoice_ref"]: r["status"] for r in rows} == {
        f"INV-{name}": status for name, status in STATUS.items()
    }
    # The trust's figures add up from the CSV's lines.
    realised = sum(Decimal(r["realised_saving"] or 0) for r in rows)
    assert realised == Decimal(TRUST["realised_saving"])
    assert {r["opportunity"] for r in rows if r["status"] == "on_contract"} == {""}
    assert len(rows) == len(LINES)


def test_a_school_reads_its_own_realised_savings_only(
    system: RunningSystem, spending: Spending
) -> None:
    first, second, third = spending.urns
    school = bearer(system.token(Role.SCHOOL, first))
    own = get(system, school_url(system, first), school).json()
    assert (own["urn"], own["contract_spend"], *(own[f] for f in FIGURES)) == (first, *SCHOOLS[0])
    assert {line["school_urn"] for line in own["lines"]} == {first}
    assert {line["invoice_ref"] for line in own["lines"]} == {
        "INV-elec-april-0",
        "INV-elec-march-0",
        "INV-water-0",
    }
    # Its own uncontracted lines only, against its own lowest price: 1,100 / 4,000 = 0.275 and
    # 460 / 200 = 2.30, one line each, no opportunity.
    assert uncontracted(own["uncontracted"]) == {
        "electricity": (1, "4000", "1100.00", "0.275000", "0.275000", "0.275000", "0.00"),
        "water": (1, "200", "460.00", "2.300000", "2.300000", "2.300000", "0.00"),
    }
    # School 2 paid 2.50 a m3: its lowest is its own, not school 0's 2.30.
    third_view = get(
        system, school_url(system, third), bearer(system.token(Role.SCHOOL, third))
    ).json()
    assert uncontracted(third_view["uncontracted"])["water"][3] == "2.500000"
    csv_rows = list(
        csv.DictReader(io.StringIO(get(system, school_url(system, first, ".csv"), school).text))
    )
    assert {r["school_urn"] for r in csv_rows} == {first}

    # Another school's, and the manager on the school's route: 403.
    for address, headers in [
        (school_url(system, second), school),
        (school_url(system, second, ".csv"), school),
        (school_url(system, first), manager(system, spending)),
        (url(system, spending), school),
        (url(system, spending), bearer(system.token(Role.MANAGER, "3999"))),
    ]:
        assert httpx.get(address, headers=headers).status_code == 403, address


def school_url(system: RunningSystem, urn: str, suffix: str = "") -> str:
    return f"{system.urls['savings']}/v1/schools/{urn}/savings/realised{suffix}"


# The lines on contract by the month their period starts (realised_scenario.py): April,
# elec-april-0: invoiced 1,200.00, expected 275.00, realised 250.00; May, elec-may-1: 3,055.00,
# 325.00 and 325.00; so far 600.00 and 575.00, the trust's expected and realised saving.
MONTHS = [
    ("2027-04", 1, "1200.00", "275.00", "250.00", "275.00", "250.00"),
    ("2027-05", 1, "3055.00", "325.00", "325.00", "600.00", "575.00"),
]
HEADLINE = re.compile(r'<dd class="value" id="([a-z-]+)">([^<]+)</dd>')


def pounds(text: str) -> Decimal:
    """£1,234.56 as shown; a minus sign (U+2212) -> a negative."""
    return Decimal(text.replace("\u2212", "-").replace("£", "").replace(",", ""))


def test_realised_months_with_running_totals(system: RunningSystem, spending: Spending) -> None:
    months = get(system, url(system, spending, "/months"), manager(system, spending)).json()
    assert [tuple(m.values()) for m in months] == MONTHS


def test_the_realised_page_shows_the_apis_figures(
    system: RunningSystem, spending: Spending
) -> None:
    summary = get(system, url(system, spending), manager(system, spending)).json()
    with signed_in(system, spending.trust_id) as browser:
        response = browser.get(f"/trusts/{spending.trust_id}/realised")
        assert response.status_code == 200
        page = response.text.replace("&#x27;", "'")
        dashboard = browser.get(f"/trusts/{spending.trust_id}").text
        exported = browser.get(f"/trusts/{spending.trust_id}/realised.csv")
    shown = dict(HEADLINE.findall(page))
    assert {key: pounds(value) for key, value in shown.items()} == {
        "realised-saving": Decimal(summary["realised_saving"]),
        "expected-saving": Decimal(summary["expected_saving"]),
        "price-variance": Decimal(summary["price_variance"]),
        "off-contract-spend": Decimal(summary["off_contract_spend"]),
    }
    # The trust's dashboard links to it.
    assert f'<a href="/trusts/{spending.trust_id}/realised">Savings achieved</a>' in dashboard
    # Each school's row: promised and realised as the API has them (SCHOOLS, by hand).
    for urn, (invoiced, realised, expected, *_) in zip(spending.urns, SCHOOLS, strict=True):
        row = page[page.index(f"URN {urn}") :]
        row = row[: row.index("</tr>")]
        cells = re.findall(r'<td class="num[^"]*">([^<]+)</td>', row)
        assert [pounds(c) for c in cells[:3]] == [
            Decimal(invoiced),
            Decimal(expected),
            Decimal(realised),
        ]
    # The one invoice billed above the price (25.00) and the one off contract (leakage 180.00).
    chase = page[page.index('id="variances"') : page.index('id="off-contract"')]
    assert "INV-elec-april-0" in chase and "£25.00" in chase
    off = page[page.index('id="off-contract"') :]
    off = off[: off.index("</section>")]
    assert "INV-elec-april-1" in off and "spark-energy" in off and "£180.00" in off
    # The contract bought below its tier (CONTRACT), warned of in words, its supplier named as
    # the award named it.
    assert summary["contracts"][0]["supplier_name"] == "Volt Co Ltd"
    assert (
        "The electricity contract with Volt Co Ltd (volt-co) is buying 107,704.92 kWh a year"
        " on contract; the price tier needs 200,000 kWh: the supplier may re-price." in page
    )
    # The month table's running totals are the API's.
    for month in MONTHS:
        assert all(f"£{Decimal(v):,}" in page for v in month[5:])
    # Opportunities: 25.00 (electricity) and 60.00 (water).
    opportunities = page[page.index('id="opportunities"') :]
    assert "£25.00" in opportunities and "£60.00" in opportunities
    # The dashboard's CSV is the API's.
    api_csv = get(system, url(system, spending, ".csv"), manager(system, spending)).text
    assert exported.status_code == 200 and exported.text == api_csv


def test_a_schools_page_shows_its_own_savings_achieved(
    system: RunningSystem, spending: Spending
) -> None:
    first = spending.urns[0]
    with httpx.Client(base_url=system.urls["savings"]) as browser:
        assert sign_in(browser, system.token(Role.SCHOOL, first)).status_code == 303
        page = browser.get(f"/schools/{first}").text.replace("&#x27;", "'")
        exported = browser.get(f"/schools/{first}/realised.csv")
    # Its own figures (SCHOOLS[0]): invoiced 1,200.00, promised 275.00, realised 250.00.
    for label, value in (
        ("Invoiced on contract", "£1,200.00"),
        ("Promised on that volume", "£275.00"),
        ("Realised", "£250.00"),
        ("Realised less promised", "\u2212£25.00"),
    ):
        assert f"<dt>{label}</dt><dd>{value}</dd>" in page
    assert "INV-elec-april-0" in page
    # Nothing of school 1's (its off-contract invoice).
    assert "INV-elec-april-1" not in page and "spark-energy" not in page
    assert exported.status_code == 200
    assert {r["school_urn"] for r in csv.DictReader(io.StringIO(exported.text))} == {first}

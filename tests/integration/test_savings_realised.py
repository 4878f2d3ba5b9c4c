"""Realised savings against the running system: spend published straight onto procurement.spend
(real broker) before and after the award that covers it, figures checked to the penny against
the hand-worked scenario in realised_scenario.py."""

import csv
import io
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

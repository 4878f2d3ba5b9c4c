"""The savings ledger and its read API against the running system: awards published straight onto
procurement.tenders (real broker), figures checked to the penny against the hand-worked scenario
in savings_scenario.py.
"""

import csv
import io
import json
from decimal import Decimal
from uuid import UUID, uuid5

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from procure.infra.provision import Infrastructure
from procure.launcher import RunningSystem
from shared.auth import Role
from shared.events import Topics
from tests.helpers import FIGURES, bearer
from tests.integration.savings_scenario import (
    CATEGORIES,
    LINES,
    SCHOOL_NAMES,
    SCHOOLS,
    SUPPLY,
    TRUST,
    TRUST_NAME,
    Scenario,
    recorded,
    savings_url,
)

pytestmark = pytest.mark.integration

SCENARIO = Scenario("3001", 300101)


def figures(row: dict[str, str]) -> tuple[str, ...]:
    return tuple(row[f] for f in FIGURES)


@pytest.fixture(scope="module")
async def ledger(system: RunningSystem, infra: Infrastructure) -> Scenario:
    await recorded(system, infra, SCENARIO, 5)
    return SCENARIO


def get(system: RunningSystem, scenario: Scenario, path: str = "") -> httpx.Response:
    response = httpx.get(
        savings_url(system, scenario, path),
        headers=bearer(system.token(Role.MANAGER, scenario.trust_id)),
    )
    assert response.status_code == 200, response.text
    return response


def test_trust_summary_to_the_penny(system: RunningSystem, ledger: Scenario) -> None:
    summary = get(system, ledger).json()
    assert summary["trust_id"] == "3001"
    assert summary["trust_name"] == TRUST_NAME
    assert figures(summary) == TRUST
    assert {s["urn"]: figures(s) for s in summary["schools"]} == dict(
        zip(ledger.urns, SCHOOLS, strict=True)
    )
    assert {s["urn"]: s["name"] for s in summary["schools"]} == dict(
        zip(ledger.urns, SCHOOL_NAMES, strict=True)
    )
    assert summary["categories"] == [
        {
            "category": category,
            "annual_baseline_cost": baseline,
            "annual_saving": saving,
            "term_saving": term,
            "saving_pct": pct,
        }
        for category, (_, _, baseline, _, saving, term, pct, _) in CATEGORIES.items()
    ]


def test_a_cheaper_baseline_shows_as_a_cost_increase(
    system: RunningSystem, ledger: Scenario
) -> None:
    cedar = ledger.urns[2]
    school = get(system, ledger, f"/schools/{cedar}").json()
    assert school["name"] == "Cedar Primary School"
    # Kept negative, not dropped and not floored at zero: B 2,300.00 < C 2,350.00.
    assert figures(school) == ("2300.00", "2350.00", "-50.00", "-100.00", "-2.17", "650.00")
    assert [(e["category"], e["annual_saving"]) for e in school["entries"]] == [
        ("electricity", "-50.00")
    ]
    # And the trust's total includes it: 4,565.43 + 5,100.41 - 50.00 = 9,615.84.
    assert get(system, ledger).json()["annual_saving"] == "9615.84"


def test_per_school_lines_and_totals(system: RunningSystem, ledger: Scenario) -> None:
    schools = get(system, ledger, "/schools").json()
    assert [(s["urn"], figures(s)) for s in schools] == list(zip(ledger.urns, SCHOOLS, strict=True))
    alder = get(system, ledger, f"/schools/{ledger.urns[0]}").json()
    assert {e["category"]: figures(e) for e in alder["entries"]} == {
        "electricity": LINES[("electricity", 0)],
        "gas": LINES[("gas", 0)],
    }
    assert figures(alder) == SCHOOLS[0]


def test_per_category(system: RunningSystem, ledger: Scenario) -> None:
    rows = get(system, ledger, "/categories").json()
    assert {
        r["category"]: (r["schools"], r["quantity"], *figures(r), r["unit"], r["contracts"])
        for r in rows
    } == {c: (*expected, "kWh", 1) for c, expected in CATEGORIES.items()}


def test_per_contract_with_links_to_tenders(system: RunningSystem, ledger: Scenario) -> None:
    rows = get(system, ledger, "/contracts").json()
    electricity, gas = rows  # ordered by their first supply start
    assert electricity["tender_id"] == str(ledger.tender_id("electricity"))
    assert electricity["tender_url"] == (
        f"{system.urls['tendering']}/v1/tenders/{ledger.tender_id('electricity')}"
    )
    assert (
        electricity["supplier_id"],
        electricity["supplier_name"],
        electricity["contract_start"],
        electricity["first_supply_start"],
        electricity["last_supply_start"],
        electricity["term_months"],
        electricity["schools"],
        electricity["pooled_quantity"],
        electricity["pooled_unit_price"],
        electricity["rule_version"],
    ) == (
        "volt-co",
        "Volt Energy Ltd",
        "2027-04-01",
        # Alder and Cedar are supplied from 2 April 2027, Birch from 1 September (SUPPLY).
        "2027-04-02",
        "2027-09-01",
        24,
        3,
        "220000",
        "0.2350",
        "savings-2026.1",
    )
    assert figures(electricity) == CATEGORIES["electricity"][2:]
    # The gas award's event carried no name (as events before names): its id alone.
    assert (gas["supplier_id"], gas["supplier_name"], gas["schools"], gas["pooled_quantity"]) == (
        "moor-gas",
        None,
        2,
        "323517",
    )
    assert (gas["first_supply_start"], gas["last_supply_start"]) == ("2027-09-02", "2027-09-02")
    assert figures(gas) == CATEGORIES["gas"][2:]


def test_savings_over_time_by_the_month_supply_starts(
    system: RunningSystem, ledger: Scenario
) -> None:
    months = get(system, ledger, "/months").json()
    assert [
        (
            m["month"],
            m["contracts"],
            m["annual_saving"],
            m["term_saving"],
            m["cumulative_annual_saving"],
        )
        for m in months
    ] == [
        # Each school's line in the month its own supply starts (savings_scenario.py, SUPPLY).
        # April 2027: electricity for Alder and Cedar (2 April): S = 3,300.00 - 50.00 =
        #   3,250.00, term 6,600.00 - 100.00 = 6,500.00; one contract.
        # September 2027: electricity for Birch (1 September), 3,750.00 (term 7,500.00), and gas
        #   for Alder and Birch (2 September), 2,615.84 (term 7,847.52): 6,365.84, term
        #   15,347.52; two contracts. Running total 3,250.00 + 6,365.84 = 9,615.84, the trust's.
        ("2027-04", 1, "3250.00", "6500.00", "3250.00"),
        ("2027-09", 2, "6365.84", "15347.52", "9615.84"),
    ]


def test_ledger_entries_record_award_bid_and_rule_version(
    system: RunningSystem, ledger: Scenario
) -> None:
    entries = get(system, ledger, "/ledger").json()
    assert len(entries) == 5
    namespace = UUID("5b0f3f6e-2a4c-5d1e-9c2b-7e6a41d0c8f3")
    for e in entries:
        name = e["category"]
        i = ledger.urns.index(e["school_urn"])
        assert figures(e) == LINES[(name, i)]
        assert e["tender_id"] == str(ledger.tender_id(name))
        assert e["bid_id"] == str(uuid5(ledger.tender_id(name), "bid"))
        assert e["demand_id"] == str(ledger.demand_id(name, e["school_urn"]))
        assert e["rule_version"] == "savings-2026.1"
        # The id is derived from the award and the line, so a rebuild gives the same id.
        assert e["entry_id"] == str(uuid5(namespace, f"entry/{e['tender_id']}/{e['demand_id']}"))


def test_ledger_csv_export(system: RunningSystem, ledger: Scenario) -> None:
    response = get(system, ledger, "/ledger.csv")
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 5
    assert {(r["category"], r["school_urn"]): figures(r) for r in rows} == {
        (c, ledger.urns[i]): line for (c, i), line in LINES.items()
    }
    assert {r["school_name"] for r in rows} == set(SCHOOL_NAMES)
    # Money as plain decimal strings: the trust's saving adds up from the CSV to the penny.
    assert sum(Decimal(r["annual_saving"]) for r in rows) == Decimal("9615.84")
    # Each school's own supply window, in the CSV as in the JSON ledger.
    csv_supply = {
        (r["category"], r["school_urn"]): (r["supply_start"], r["supply_end"]) for r in rows
    }
    entries = get(system, ledger, "/ledger").json()
    json_supply = {
        (e["category"], e["school_urn"]): (e["supply_start"], e["supply_end"]) for e in entries
    }
    expected = {(c, ledger.urns[i]): window for (c, i), window in SUPPLY.items()}
    assert csv_supply == json_supply == expected


async def test_savings_recorded_is_published_once_per_award(
    infra: Infrastructure, ledger: Scenario
) -> None:
    consumer = AIOKafkaConsumer(bootstrap_servers=infra.kafka_bootstrap_servers, group_id=None)
    await consumer.start()
    try:
        await consumer.topics()
        partitions = [
            TopicPartition(Topics.SAVINGS, p)
            for p in consumer.partitions_for_topic(Topics.SAVINGS) or ()
        ]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        mine: dict[str, dict[str, object]] = {}
        for _ in range(100):
            batch = await consumer.getmany(timeout_ms=200)
            for records in batch.values():
                for r in records:
                    event = json.loads(r.value or b"{}")
                    if event.get("trust_id") == ledger.trust_id:
                        assert r.key == ledger.trust_id.encode()
                        mine.setdefault(event["data"]["tender_id"], event)
            if len(mine) == 2:
                break
    finally:
        await consumer.stop()
    assert {t: (e["data"]["annual_saving"], e["data"]["term_saving"]) for t, e in mine.items()} == {
        str(ledger.tender_id("electricity")): ("7000.00", "14000.00"),
        str(ledger.tender_id("gas")): ("2615.84", "7847.52"),
    }
    assert {e["event_type"] for e in mine.values()} == {"savings.recorded"}


async def test_a_redelivered_award_is_not_counted_twice(
    system: RunningSystem, infra: Infrastructure
) -> None:
    again = Scenario("3003", 300301)
    await recorded(system, infra, again, 5)
    # The same awards again, as new events (new event ids): the ledger stays as it was.
    await recorded(system, infra, again, 5)
    # A later award on the same partition (same key) proves the repeats were consumed first:
    # once it is in, the ledger has 5 + 1 entries, not 5 + 5 + 1.
    sentinel = Scenario("3003", 300311)
    await recorded(system, infra, sentinel, 10)
    summary = get(system, again).json()
    # 9,615.84 twice over: two scenarios' worth of distinct awards, each recorded once.
    assert summary["annual_saving"] == "19231.68"

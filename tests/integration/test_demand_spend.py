"""Spend capture against the running demand service (real broker and PostgreSQL): POST with
its replay and 409, who may record and read, the CSV import's report, the Kafka ingress on
`spend.submissions` (a bad record dead-lettered between good ones), `spend.recorded` in the
category's unit, and uncontracted spend to demand in one step. Trust codes 1751-1759, URNs
1751xx-1759xx."""

import asyncio
import json
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from procure.launcher import RunningSystem
from shared.events import SpendRecorded, Topics, read_data
from tests.helpers import until
from tests.integration.test_demand_api import (
    as_manager,
    as_school,
    client,
    line,
    load_registry,
    post_line,
    published_events,
    registry_rows,
)
from tests.integration.test_demand_ingress import dead_letters

pytestmark = pytest.mark.integration

TODAY = date.today()
START = TODAY - timedelta(days=100)


def spend(urn: str, ref: str, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "school_urn": urn,
        "category": "electricity",
        "supplier": "Acme Energy",
        "invoice_ref": ref,
        "period_start": START.isoformat(),
        "period_end": (START + timedelta(days=29)).isoformat(),
        "quantity": "1.5",
        "unit": "MWh",
        "amount": "420.00",
    }
    return {k: v for k, v in (body | changes).items() if v is not ...}


def assert_field_error(response: httpx.Response, status: int, field: str, part: str) -> None:
    """Refused with `status`, naming one field, with `part` in its reason."""
    assert response.status_code == status, response.text
    [error] = response.json()["errors"]
    assert error["field"] == field and part in error["reason"], error


async def post(http: httpx.AsyncClient, headers: dict[str, str], body: Any) -> httpx.Response:
    return await http.post("/v1/spend", json=body, headers=headers)


async def test_record_replay_conflict_and_who_may(system: RunningSystem) -> None:
    async with client(system) as http:
        await load_registry(
            http,
            system,
            registry_rows("1751", ["175101", "175102"])
            + registry_rows("1751", ["175103"], status="Closed")
            + registry_rows("1752", ["175201"]),
        )
        school, manager = as_school(system, "175101"), as_manager(system, "1751")
        first = await post(http, school, spend("175101", "INV-1"))
        assert first.status_code == 201, first.text
        stored = first.json()
        assert stored["trust_id"] == "1751"
        assert (stored["unit"], stored["quantity"], stored["amount"]) == ("kWh", "1500", "420.00")
        assert first.headers["Location"] == f"/v1/spend/{stored['spend_id']}"

        again = await post(http, school, spend("175101", " INV-1 "))  # trimmed: the same
        assert again.status_code == 201 and again.json() == stored
        assert again.headers["Idempotent-Replayed"] == "true"
        # The manager re-sending the school's invoice, in kWh, is the same invoice too.
        resent = spend("175101", "INV-1", quantity="1500.0", unit="kWh", amount="420")
        assert (await post(http, manager, resent)).json() == stored
        other = await post(http, school, spend("175101", "INV-1", amount="420.01"))
        assert_field_error(other, 409, "body.invoice_ref", "already recorded")

        # A school records only for itself, a manager for its trust (closed schools too).
        refused = await post(http, school, spend("175102", "INV-2"))
        assert_field_error(refused, 403, "body.school_urn", "a token for school 175101")
        outside = await post(http, as_manager(system, "1752"), spend("175101", "INV-2"))
        assert_field_error(outside, 403, "body.school_urn", "not in trust 1752")
        # ...and a refused caller learns nothing of the invoice already recorded.
        probe = await post(http, as_manager(system, "1752"), spend("175101", "INV-1"))
        assert probe.status_code == 403
        for urn in ("175102", "175103"):
            assert (await post(http, manager, spend(urn, "INV-2"))).status_code == 201

        bad = await post(
            http,
            school,
            spend("175101", "INV-3", period_end=(START - timedelta(days=1)).isoformat()),
        )
        assert_field_error(bad, 422, "body.period_end", "must not be before period_start")
        bad = await post(http, school, spend("175101", "INV-3", amount="1.005"))
        assert_field_error(bad, 422, "body.amount", "at most 2 decimal places")

        # Reading: a school its own lines, a manager its trust's; another trust's is not found.
        mine = (await http.get("/v1/spend", headers=school)).json()
        assert [i["spend_id"] for i in mine["items"]] == [stored["spend_id"]]
        forbidden = await http.get("/v1/spend?school_urn=175102", headers=school)
        assert forbidden.status_code == 403
        page = (await http.get("/v1/spend?limit=2", headers=manager)).json()
        assert len(page["items"]) == 2 and page["next_cursor"]
        rest = await http.get(f"/v1/spend?limit=2&cursor={page['next_cursor']}", headers=manager)
        assert len(rest.json()["items"]) == 1 and rest.json()["next_cursor"] is None
        only = await http.get("/v1/spend?school_urn=175103&category=electricity", headers=manager)
        assert [i["school_urn"] for i in only.json()["items"]] == ["175103"]
        path = f"/v1/spend/{stored['spend_id']}"
        assert (await http.get(path, headers=manager)).json() == stored
        assert (await http.get(path, headers=as_manager(system, "1752"))).status_code == 404
        assert (await http.get(path, headers=as_school(system, "175102"))).status_code == 404

    events = await published_events(system, "1751", Topics.SPEND)
    recorded = [read_data(e, SpendRecorded) for e in events]
    assert [e.event_type for e in events] == ["spend.recorded"] * 3
    assert {(r.school_urn, r.invoice_ref) for r in recorded} == {
        ("175101", "INV-1"),
        ("175102", "INV-2"),
        ("175103", "INV-2"),
    }
    assert {(r.unit, str(r.quantity), str(r.amount)) for r in recorded} == {
        ("kWh", "1500", "420.00")
    }


async def test_import_reports_every_row(system: RunningSystem, tmp_path: Path) -> None:
    period = f"{START.isoformat()},{(START + timedelta(days=29)).isoformat()}"
    text = (
        "school_urn,category,supplier,invoice_ref,period_start,period_end,quantity,unit,amount\n"
        f"175301,electricity,Acme,R-1,{period},1.5,MWh,420.00\n"  # 2 accepted
        f"175301,water,Aqua,R-2,{period},12,,30.50\n"  # 3 accepted, unit left out: m3
        f"175301,rockets,Acme,R-3,{period},1,kWh,1.00\n"  # 4 unknown category
        f"175301,electricity,Acme,R-1,{period},1.5,MWh,420.00\n"  # 5 R-1 again: replayed
        f"175301,electricity,Acme,R-1,{period},2,MWh,420.00\n"  # 6 R-1, other content
        f"175301,gas,,R-4,{period},1,kWh,-1\n"  # 7 two bad cells
    )
    async with client(system) as http:
        await load_registry(http, system, registry_rows("1753", ["175301"]))
        response = await http.post(
            "/v1/spend/import",
            content=text.encode(),
            headers=as_school(system, "175301") | {"Content-Type": "text/csv"},
        )
        assert response.status_code == 200, response.text
        report = response.json()
        assert (report["rows"], report["accepted"], report["refused"]) == (6, 3, 3)
        accepted = report["accepted_rows"]
        assert [(r["line"], r["replayed"]) for r in accepted] == [(2, False), (3, False), (5, True)]
        assert accepted[0]["spend_id"] == accepted[2]["spend_id"]
        refused = [(r["line"], r["column"]) for r in report["refused_rows"]]
        assert refused == [(4, "category"), (6, "invoice_ref"), (7, "supplier"), (7, "amount")]
        water = await http.get(
            f"/v1/spend/{accepted[1]['spend_id']}", headers=as_manager(system, "1753")
        )
        assert (water.json()["unit"], water.json()["quantity"]) == ("m3", "12")

    # `procure spend import`: the first two rows again (replayed) and the unknown category.
    path = tmp_path / "spend.csv"
    path.write_text("".join(text.splitlines(keepends=True)[:4]), encoding="utf-8")
    command = [sys.executable, "-m", "procure.cli", "spend", "import", str(path)]
    command += ["--url", system.urls["demand"], "--urn", "175301"]
    env = os.environ | {"PROCURE_TOKEN_SECRET": system.token_secret}
    done = await asyncio.to_thread(
        subprocess.run, command, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2, done.stderr  # a row refused
    summary, refused_row = done.stdout.splitlines()
    assert summary == "3 rows: 2 accepted (2 already imported before), 1 refused"
    assert refused_row.startswith("line 4, category: unknown category 'rockets'")


async def test_the_kafka_ingress_dead_letters_a_bad_record_between_good_ones(
    system: RunningSystem,
) -> None:
    run = uuid4().hex
    records = [
        spend("175401", "K-1", trust_id="1754"),
        spend("175401", "K-2", trust_id="1754", category="rockets"),  # refused
        spend("175401", "K-3", trust_id="1754", quantity="2000", unit="kWh"),
        spend("175401", "K-1", trust_id="1754"),  # a producer's retry
    ]
    async with client(system) as http:
        await load_registry(http, system, registry_rows("1754", ["175401"]))
        producer = AIOKafkaProducer(bootstrap_servers=system.infra.kafka_bootstrap_servers)
        await producer.start()
        try:
            sent = [
                await producer.send(
                    Topics.SPEND_SUBMISSIONS,
                    json.dumps(r).encode(),
                    key=b"1754",
                    headers=[("run", run.encode())],
                )
                for r in records
            ]
            await asyncio.gather(*sent)
        finally:
            await producer.stop()
        manager = as_manager(system, "1754")

        async def listed() -> list[Any]:
            items: list[Any] = (await http.get("/v1/spend", headers=manager)).json()["items"]
            return items

        items = await until(listed, lambda items: len(items) == 2, seconds=60)
        assert sorted((i["invoice_ref"], i["quantity"]) for i in items) == [
            ("K-1", "1500"),
            ("K-3", "2000"),
        ]
    [letter] = await dead_letters(system, run, expected=1, topic=Topics.SPEND_SUBMISSIONS)
    assert letter["reason"].startswith("category: unknown category 'rockets'")
    assert letter["consumer"] == "spend-ingress"
    assert json.loads(letter["value"])["invoice_ref"] == "K-2"
    events = await published_events(system, "1754", Topics.SPEND)
    assert sorted(read_data(e, SpendRecorded).invoice_ref for e in events) == ["K-1", "K-3"]


async def test_uncontracted_spend_becomes_demand_in_one_step(system: RunningSystem) -> None:
    end = (TODAY + timedelta(days=200)).isoformat()
    request = {"category": "electricity", "contract_end": end, "term_months": 24}
    async with client(system) as http:
        await load_registry(
            http, system, registry_rows("1755", ["175501", "175502", "175503", "175504"])
        )
        manager = as_manager(system, "1755")
        # 175501: two invoices over 90 days, both ends counted; the second from NewCo.
        first = spend(
            "175501",
            "A-1",
            period_end=(START + timedelta(days=59)).isoformat(),
            quantity="6000",
            unit="kWh",
            amount="1500.00",
        )
        second = spend(
            "175501",
            "A-2",
            supplier="NewCo",
            period_start=(START + timedelta(days=60)).isoformat(),
            period_end=(START + timedelta(days=89)).isoformat(),
            quantity="3000",
            unit="kWh",
            amount="750.00",
        )
        older = spend("175503", "C-1", period_start="2020-01-01", period_end="2020-01-31")
        for body in (first, second, spend("175502", "B-1"), older):
            assert (await post(http, manager, body)).status_code == 201
        # 175502 already has an open demand line in electricity.
        assert (await post_line(http, manager, line("175502"))).status_code == 201

        path = "/v1/trusts/1755/spend/demand"
        assert (
            await http.post(path, json=request, headers=as_manager(system, "1756"))
        ).status_code == 403
        assert (
            await http.post(path, json=request, headers=as_school(system, "175501"))
        ).status_code == 403
        response = await http.post(path, json=request, headers=manager)
        assert response.status_code == 200, response.text
        answer = response.json()
        [made] = answer["created"]
        # 6,000 + 3,000 = 9,000 kWh over 90 days: 9,000 x 365 / 90 = 36,500 kWh a year;
        # (1,500.00 + 750.00) / 9,000 = 0.25 GBP per kWh; the latest invoice's supplier.
        expected = {
            "school_urn": "175501",
            "quantity": "36500",
            "current_unit_price": "0.25",
            "current_supplier": "NewCo",
            "status": "open",
            "term_months": 24,
        }
        assert {field: made[field] for field in expected} == expected
        reasons = {s["school_urn"]: s["reason"] for s in answer["skipped"]}
        assert reasons["175502"] == "has a demand line in electricity that is open"
        assert reasons["175503"].startswith("no spend in electricity from")
        assert reasons["175504"].startswith("no spend in electricity from")
        # Again: the line now exists, so nothing is added.
        again = (await http.post(path, json=request, headers=manager)).json()
        assert again["created"] == []
        assert {s["school_urn"] for s in again["skipped"]} == {
            "175501",
            "175502",
            "175503",
            "175504",
        }
        only = await http.post(path, json=request | {"school_urns": ["175201"]}, headers=manager)
        assert only.json()["skipped"] == [
            {"school_urn": "175201", "reason": "not a school of this trust"}
        ]
    registered = await published_events(system, "1755", Topics.DEMAND)
    assert [e.data["demand_id"] for e in registered if e.event_type == "demand.registered"][
        -1
    ] == made["demand_id"]

"""The demand HTTP API against the running service (real broker and PostgreSQL): submit with
idempotency (also under 50 concurrent posts), auth, validation as problem details, unit
conversion, list with filters and pages, amend and withdraw with their events, and the lock that
tendering's events put on lines. Trust codes 1001-1099, URNs 1001xx-1099xx.

The helpers here are shared by the other test_demand_* integration tests."""

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from procure.launcher import RunningSystem
from shared.auth import Role
from shared.events import (
    Allocation,
    Envelope,
    TenderAwarded,
    TenderCancelled,
    TenderOpened,
    Topics,
)
from shared.topics import unread
from tests.helpers import assert_field_error, bearer, demand_line, publish_events, until

pytestmark = pytest.mark.integration

END = date.today() + timedelta(days=200)


# --- helpers (used by the other test_demand_* files too) --------------------------------------


def client(system: RunningSystem) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=system.urls["demand"], timeout=60)


def as_school(system: RunningSystem, urn: str) -> dict[str, str]:
    return bearer(system.token(Role.SCHOOL, urn))


def as_manager(system: RunningSystem, trust: str) -> dict[str, str]:
    return bearer(system.token(Role.MANAGER, trust))


def registry_rows(trust: str | None, urns: list[str], status: str = "Open") -> list[str]:
    return [
        f"{urn},School {urn},{trust or ''},{'Trust ' + trust if trust else ''},{status}"
        for urn in urns
    ]


def registry_file(rows: list[str]) -> str:
    header = "URN,EstablishmentName,Trusts (code),Trusts (name),EstablishmentStatus (name)"
    return "\n".join([header, *rows]) + "\n"


async def load_registry(
    http: httpx.AsyncClient, system: RunningSystem, rows: list[str]
) -> dict[str, Any]:
    response = await http.post(
        "/v1/registry",
        content=registry_file(rows),
        headers=bearer(system.token(Role.OPERATOR)) | {"Content-Type": "text/csv"},
    )
    assert response.status_code == 200, response.text
    report: dict[str, Any] = response.json()
    return report


async def registered_school(
    http: httpx.AsyncClient, system: RunningSystem, trust: str, urn: str
) -> dict[str, str]:
    """The school registered, open, in the trust; its credentials."""
    await load_registry(http, system, registry_rows(trust, [urn]))
    return as_school(system, urn)


def line(urn: str, **changes: Any) -> dict[str, Any]:
    return demand_line(END.isoformat(), **({"school_urn": urn} | changes))


async def post_line(
    http: httpx.AsyncClient, headers: dict[str, str], body: dict[str, Any], key: str | None = None
) -> httpx.Response:
    extra = {"Idempotency-Key": key} if key else {}
    return await http.post("/v1/demands", json=body, headers=headers | extra)


async def status_of(http: httpx.AsyncClient, headers: dict[str, str], demand_id: str) -> str:
    response = await http.get(f"/v1/demands/{demand_id}", headers=headers)
    assert response.status_code == 200, response.text
    status: str = response.json()["status"]
    return status


@asynccontextmanager
async def demand_db(system: RunningSystem) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(system.infra.database_urls["demand"])
    try:
        yield conn
    finally:
        await conn.close()


async def all_partitions(consumer: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
    if not consumer.partitions_for_topic(topic):
        await consumer.force_metadata_update()
    return [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]


async def published_events(system: RunningSystem, trust: str, topic: str) -> list[Envelope]:
    """Every event the demand service has recorded for a trust on a topic, in order: once its
    outbox is empty, they are all on the topic (one trust, one key, one partition)."""
    async with demand_db(system) as conn:
        await until(lambda: conn.fetchval("SELECT count(*) FROM outbox"), lambda n: n == 0)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=system.infra.kafka_bootstrap_servers,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        partitions = await all_partitions(consumer, topic)
        consumer.assign(partitions)
        records = []
        async with asyncio.timeout(30):
            while await unread(consumer, partitions):
                for batch in (await consumer.getmany(timeout_ms=200)).values():
                    records += [r for r in batch if r.key == trust.encode()]
    finally:
        await consumer.stop()
    return [Envelope.model_validate_json(r.value) for r in records]


@asynccontextmanager
async def tail(system: RunningSystem, topic: str) -> AsyncIterator[Callable[..., Any]]:
    """Records appended to `topic` from now on; yields `read(check)` that waits for them."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=system.infra.kafka_bootstrap_servers,
        group_id=None,
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        partitions = await all_partitions(consumer, topic)
        consumer.assign(partitions)
        await consumer.seek_to_end(*partitions)
        for tp in partitions:
            await consumer.position(tp)  # fix the start before anything is produced
        seen: list[Any] = []

        async def read(check: Callable[[list[Any]], bool], seconds: float = 30) -> list[Any]:
            async with asyncio.timeout(seconds):
                while not check(seen):
                    for records in (await consumer.getmany(timeout_ms=200)).values():
                        seen.extend(records)
            return seen

        yield read
    finally:
        await consumer.stop()


def opened(tender_id: UUID, demand_ids: list[str]) -> TenderOpened:
    return TenderOpened(
        tender_id=tender_id,
        pool_id="test-pool",
        category="electricity",
        unit="kWh",
        term_months=24,
        closes_at=datetime.now(UTC) + timedelta(days=14),
        route="quotes",
        estimated_value="1000.00",
        demand_ids=[UUID(d) for d in demand_ids],
    )


# --- submit, read, idempotency ----------------------------------------------------------------


async def test_submit_read_and_replay(system: RunningSystem) -> None:
    async with client(system) as http:
        await load_registry(http, system, registry_rows("1001", ["100101", "100102"]))
        school = as_school(system, "100101")
        first = await post_line(http, school, line("100101", notes="main meter"), key="po-1")
        assert first.status_code == 201, first.text
        created = first.json()
        assert first.headers["Location"] == f"/v1/demands/{created['demand_id']}"
        assert "Idempotent-Replayed" not in first.headers
        assert {k: created[k] for k in ("trust_id", "school_urn", "quantity", "unit")} == {
            "trust_id": "1001",
            "school_urn": "100101",
            "quantity": "145000",
            "unit": "kWh",
        }
        assert (created["current_unit_price"], created["status"]) == ("0.2870", "open")

        again = await post_line(http, school, line("100101", notes="main meter"), key="po-1")
        assert again.status_code == 201
        assert again.headers["Idempotent-Replayed"] == "true"
        assert again.json()["demand_id"] == created["demand_id"]

        other = await post_line(http, school, line("100101", quantity="1"), key="po-1")
        assert other.status_code == 409
        assert other.headers["content-type"] == "application/problem+json"
        assert other.json()["errors"][0]["field"] == "header.Idempotency-Key"

        # Without a key, two posts are two lines.
        ids = {
            (await post_line(http, school, line("100101"))).json()["demand_id"] for _ in range(2)
        }
        assert len(ids) == 2

        url = f"/v1/demands/{created['demand_id']}"
        assert (await http.get(url, headers=school)).json()["notes"] == "main meter"
        assert (await http.get(url, headers=as_manager(system, "1001"))).status_code == 200
        for outsider in (as_school(system, "100102"), as_manager(system, "1002")):
            hidden = await http.get(url, headers=outsider)
            assert hidden.status_code == 404  # the same answer as for an id that does not exist
        assert (await http.get(f"/v1/demands/{uuid4()}", headers=school)).status_code == 404


async def test_fifty_simultaneous_posts_with_one_key_give_one_line(system: RunningSystem) -> None:
    async with client(system) as http:
        school = await registered_school(http, system, "1003", "100301")
        responses = await asyncio.gather(
            *(post_line(http, school, line("100301"), key="burst-1") for _ in range(50))
        )
        assert [r.status_code for r in responses] == [201] * 50
        assert len({r.json()["demand_id"] for r in responses}) == 1
        fresh = [r for r in responses if "Idempotent-Replayed" not in r.headers]
        assert len(fresh) == 1
        listed = (await http.get("/v1/demands", headers=school)).json()["items"]
        assert [item["demand_id"] for item in listed] == [responses[0].json()["demand_id"]]
    registered = await published_events(system, "1003", Topics.DEMAND)
    assert [e.event_type for e in registered] == ["demand.registered"]


async def test_a_compatible_unit_is_stored_in_the_categorys_unit(system: RunningSystem) -> None:
    async with client(system) as http:
        school = await registered_school(http, system, "1004", "100401")
        # 145.5 MWh at 287.1000 GBP/MWh = 145,500 kWh at 0.2871 GBP/kWh
        in_mwh = line("100401", quantity="145.5", unit="MWh", current_unit_price="287.1000")
        response = await post_line(http, school, in_mwh)
        assert response.status_code == 201, response.text
        body = response.json()
        assert (body["quantity"], body["unit"], body["current_unit_price"]) == (
            "145500",
            "kWh",
            "0.2871",
        )
        wrong = await post_line(http, school, line("100401", unit="m3"))
        reason = "electricity is measured in kWh; send one of: kWh, Wh, MWh, GWh"
        assert_field_error(wrong, 422, "body.unit", reason)
        unknown = await post_line(http, school, line("100401", category="rockets"))
        assert unknown.status_code == 422
        assert unknown.json()["errors"][0]["field"] == "body.category"


# --- auth -------------------------------------------------------------------------------------


async def test_who_may_submit_and_read(system: RunningSystem) -> None:
    async with client(system) as http:
        await load_registry(http, system, registry_rows("1005", ["100501", "100502"]))
        await load_registry(http, system, registry_rows("1006", ["100601"]))
        await load_registry(http, system, registry_rows("1005", ["100503"], status="Closed"))
        body = line("100501")

        anonymous = await http.post("/v1/demands", json=body)
        assert anonymous.status_code == 401
        assert anonymous.headers["content-type"] == "application/problem+json"
        assert anonymous.headers["WWW-Authenticate"] == "Bearer"
        forged = await http.post("/v1/demands", json=body, headers=bearer("not-a-token"))
        assert forged.status_code == 401
        for role, scope in ((Role.OPERATOR, None), (Role.SUPPLIER, "acme")):
            refused = await http.post(
                "/v1/demands", json=body, headers=bearer(system.token(role, scope))
            )
            assert refused.status_code == 403, refused.text
            assert refused.json()["title"] == "Forbidden"
            listed = await http.get("/v1/demands", headers=bearer(system.token(role, scope)))
            assert listed.status_code == 403

        other_school = await post_line(http, as_school(system, "100502"), body)
        reason = "a token for school 100502 submits only for that school, not 100501"
        assert_field_error(other_school, 403, "body.school_urn", reason)
        other_trust = await post_line(http, as_manager(system, "1005"), line("100601"))
        assert other_trust.status_code == 403
        assert other_trust.json()["detail"] == "school 100601 is not in trust 1005"
        assert (await post_line(http, as_manager(system, "1005"), body)).status_code == 201

        unknown = await post_line(http, as_manager(system, "1005"), line("100599"))
        assert unknown.status_code == 422
        assert unknown.json()["detail"] == "URN 100599 is not in the registry"
        closed = await post_line(http, as_school(system, "100503"), line("100503"))
        assert closed.status_code == 422
        assert closed.json()["detail"] == "school 100503 is closed"


async def test_validation_errors_name_every_field(system: RunningSystem) -> None:
    async with client(system) as http:
        school = await registered_school(http, system, "1007", "100701")
        response = await post_line(
            http,
            school,
            line(
                "100701",
                quantity="0",
                current_unit_price="0.12345",
                contract_end="2027-02-30",
                term_months=121,
                notes="x" * 2001,
                colour="red",
            ),
        )
        # A fraction as a JSON number is already a binary float: refused, never rounded.
        floats = await http.post(
            "/v1/demands",
            content=json.dumps(line("100701", quantity=145000.5)),
            headers=school | {"Content-Type": "application/json"},
        )
    assert response.status_code == 422
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert (problem["status"], problem["title"]) == (422, "Invalid request")
    assert {e["field"] for e in problem["errors"]} == {
        "body.quantity",
        "body.current_unit_price",
        "body.contract_end",
        "body.term_months",
        "body.notes",
        "body.colour",
    }
    assert floats.status_code == 422
    assert floats.json()["errors"][0]["field"] == "body.quantity"
    assert "not JSON numbers" in floats.json()["errors"][0]["reason"]


# --- list -------------------------------------------------------------------------------------


async def test_list_filters_and_pages(system: RunningSystem) -> None:
    async with client(system) as http:
        await load_registry(http, system, registry_rows("1008", ["100801", "100802"]))
        await load_registry(http, system, registry_rows("1009", ["100901"]))
        manager = as_manager(system, "1008")
        made = []
        for urn, category, unit in (
            ("100801", "electricity", "kWh"),
            ("100801", "gas", "kWh"),
            ("100802", "electricity", "kWh"),
            ("100801", "water", "m3"),
            ("100802", "gas", "kWh"),
        ):
            response = await post_line(http, manager, line(urn, category=category, unit=unit))
            assert response.status_code == 201, response.text
            made.append(response.json()["demand_id"])
        await post_line(http, as_manager(system, "1009"), line("100901"))  # another trust
        withdrawn = await http.post(f"/v1/demands/{made[3]}/withdraw", headers=manager)
        assert withdrawn.status_code == 200

        async def all_pages(params: dict[str, Any], headers: dict[str, str]) -> list[list[str]]:
            pages, cursor = [], None
            while True:
                page = await http.get(
                    "/v1/demands",
                    params=params | ({"cursor": cursor} if cursor else {}),
                    headers=headers,
                )
                assert page.status_code == 200, page.text
                pages.append([item["demand_id"] for item in page.json()["items"]])
                cursor = page.json()["next_cursor"]
                if cursor is None:
                    return pages

        # Oldest first, two at a time, nothing twice, nothing of trust 1009.
        assert await all_pages({"limit": 2}, manager) == [made[0:2], made[2:4], made[4:5]]
        assert await all_pages({"school_urn": "100802"}, manager) == [[made[2], made[4]]]
        assert await all_pages({"category": "gas"}, manager) == [[made[1], made[4]]]
        assert await all_pages({"status": "withdrawn"}, manager) == [[made[3]]]
        assert await all_pages({"status": "open", "school_urn": "100801"}, manager) == [
            [made[0], made[1]]
        ]
        school = as_school(system, "100801")
        assert await all_pages({}, school) == [[made[0], made[1], made[3]]]
        assert (await http.get("/v1/demands?school_urn=100802", headers=school)).status_code == 403
        bad_cursor = await http.get("/v1/demands?cursor=nonsense", headers=manager)
        assert bad_cursor.status_code == 422
        assert bad_cursor.json()["errors"][0]["field"] == "query.cursor"
        bad_status = await http.get("/v1/demands?status=lost", headers=manager)
        assert bad_status.status_code == 422
        assert (await http.get("/v1/demands?limit=501", headers=manager)).status_code == 422


# --- amend and withdraw -----------------------------------------------------------------------


async def test_amend_and_withdraw_emit_their_events(system: RunningSystem) -> None:
    async with client(system) as http, tail(system, Topics.DEMAND) as read:
        school = await registered_school(http, system, "1010", "101001")
        created = (await post_line(http, school, line("101001", current_supplier="Acme"))).json()
        url = f"/v1/demands/{created['demand_id']}"

        # 0.15 GWh = 150,000 kWh; the price was not sent and stays 0.2870 per kWh.
        amended = await http.patch(
            url, json={"quantity": "0.15", "unit": "GWh", "current_supplier": None}, headers=school
        )
        assert amended.status_code == 200, amended.text
        body = amended.json()
        assert (body["quantity"], body["current_unit_price"], body["current_supplier"]) == (
            "150000",
            "0.2870",
            None,
        )
        same = await http.patch(url, json={"quantity": "150000"}, headers=school)
        assert same.json()["updated_at"] == body["updated_at"]  # no change, no event

        for patch, field in (
            ({"school_urn": "101002"}, "body.school_urn"),
            ({"term_months": 0}, "body.term_months"),
        ):
            refused = await http.patch(url, json=patch, headers=school)
            assert refused.status_code == 422
            assert refused.json()["errors"][0]["field"] == field

        withdrawn = await http.post(
            url + "/withdraw", json={"reason": "moving to a framework"}, headers=school
        )
        assert withdrawn.status_code == 200
        assert (withdrawn.json()["status"], withdrawn.json()["status_reason"]) == (
            "withdrawn",
            "moving to a framework",
        )
        again = await http.post(url + "/withdraw", headers=as_manager(system, "1010"))
        assert again.status_code == 200  # already withdrawn: nothing changes
        assert again.json()["status_reason"] == "moving to a framework"
        late = await http.patch(url, json={"quantity": "1"}, headers=school)
        assert late.status_code == 409
        assert late.json()["detail"] == "the line has been withdrawn"

        def mine(records: list[Any]) -> list[Envelope]:
            return [
                e
                for e in (Envelope.model_validate_json(r.value) for r in records)
                if e.data.get("demand_id") == created["demand_id"]
            ]

        events = mine(await read(lambda seen: len(mine(seen)) >= 3))
    assert [e.event_type for e in events] == [
        "demand.registered",
        "demand.amended",
        "demand.withdrawn",
    ]
    assert all(e.trust_id == "1010" for e in events)
    assert events[1].data["quantity"] == "150000"
    assert events[1].data["current_supplier"] is None
    assert events[2].data["reason"] == "moving to a framework"
    assert len(await published_events(system, "1010", Topics.DEMAND)) == 3  # and no more


# --- tendering's events -----------------------------------------------------------------------


async def test_a_line_in_an_open_tender_cannot_change_until_released(system: RunningSystem) -> None:
    async with client(system) as http:
        await load_registry(http, system, registry_rows("1011", ["101101", "101102"]))
        manager = as_manager(system, "1011")
        a = (await post_line(http, manager, line("101101"))).json()["demand_id"]
        b = (await post_line(http, manager, line("101102"))).json()["demand_id"]
        first, second = uuid4(), uuid4()

        await publish_events(system, Topics.TENDERS, "1011", [opened(first, [a, b])])
        await until(lambda: status_of(http, manager, a), lambda s: s == "in_tender")
        assert (await http.get(f"/v1/demands/{a}", headers=manager)).json()["tender_id"] == str(
            first
        )
        for attempt in (
            http.patch(f"/v1/demands/{a}", json={"quantity": "1"}, headers=manager),
            http.post(f"/v1/demands/{b}/withdraw", headers=manager),
        ):
            refused = await attempt
            assert refused.status_code == 409
            assert str(first) in refused.json()["detail"]

        cancel = TenderCancelled(tender_id=first, demand_ids=[UUID(a), UUID(b)], reason="no bids")
        await publish_events(system, Topics.TENDERS, "1011", [cancel])
        await until(lambda: status_of(http, manager, b), lambda s: s == "open")
        assert (
            await http.patch(f"/v1/demands/{a}", json={"term_months": 36}, headers=manager)
        ).status_code == 200

        allocation = Allocation(
            demand_id=UUID(a),
            school_urn="101101",
            quantity="145000",
            baseline_unit_price="0.2870",
            pooled_unit_price="0.2500",
            solo_unit_price="0.2700",
        )
        award = TenderAwarded(
            tender_id=second,
            category="electricity",
            unit="kWh",
            term_months=24,
            bid_id=uuid4(),
            supplier_id="acme-energy",
            pooled_quantity="145000",
            pooled_unit_price="0.2500",
            contract_start=END,
            awarded_at=datetime.now(UTC),
            allocations=[allocation],
        )
        await publish_events(system, Topics.TENDERS, "1011", [opened(second, [a, b]), award])
        await until(lambda: status_of(http, manager, a), lambda s: s == "awarded")
        assert await status_of(http, manager, b) == "in_tender"  # not in this award (a lot)
        refused = await http.post(f"/v1/demands/{a}/withdraw", headers=manager)
        assert refused.status_code == 409
        assert refused.json()["detail"] == f"the line was awarded in tender {second}"


async def test_tendering_opening_a_tender_locks_its_lines(system: RunningSystem) -> None:
    async with client(system) as http:
        await load_registry(http, system, registry_rows("1012", ["101201", "101202"]))
        manager = as_manager(system, "1012")
        ids = [
            (await post_line(http, manager, line(urn))).json()["demand_id"]
            for urn in ("101201", "101202")
        ]
        tendering = system.urls["tendering"]

        async def pools() -> Any:
            return (await http.get(f"{tendering}/v1/trusts/1012/pools", headers=manager)).json()

        await until(pools, lambda p: sum(len(pool["lines"]) for pool in p) == 2)
        response = await http.post(
            f"{tendering}/v1/tenders",
            headers=manager,
            json={
                "trust_id": "1012",
                "category": "electricity",
                "closes_at": (datetime.now(UTC) + timedelta(days=7)).isoformat(),
            },
        )
        assert response.status_code == 201, response.text
        for demand_id in ids:
            await until(lambda d=demand_id: status_of(http, manager, d), lambda s: s == "in_tender")
        refused = await http.patch(f"/v1/demands/{ids[0]}", json={"quantity": "1"}, headers=manager)
        assert refused.status_code == 409

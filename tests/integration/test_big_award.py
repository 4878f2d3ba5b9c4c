"""A tender of 10,000 schools through the real broker and all three services: the award reaches
the savings ledger in full, sent as parts that each fit Kafka's default 1 MB message limit, and
the ledger's totals are right to the penny.

Before awards were sent in parts, this award was one 1.8 MB event: the producer refused it, and
tendering's outbox relay retried it for ever, holding up every tendering event behind it.
"""

import asyncio
import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from procure.infra.provision import Infrastructure
from procure.launcher import RunningSystem
from services.savings.domain.ledger import Allocation, ledger_figures, totals
from shared.auth import Role
from shared.events import ALLOCATIONS_PER_EVENT, DemandRegistered, Topics
from tests.helpers import bearer, bid_body, new_event

pytestmark = pytest.mark.integration

TRUST = "4701"
SCHOOLS = 10_000
KAFKA_DEFAULT_MAX_MESSAGE_BYTES = 1_048_576
TERM = 24
# One tier for a school alone, a cheaper one for the pooled volume (about 15 million kWh).
SOLO, POOLED = Decimal("0.3000"), Decimal("0.2400")


def lines() -> list[DemandRegistered]:
    return [
        DemandRegistered(
            demand_id=uuid4(),
            school_urn=str(470_000 + i),
            category="electricity",
            unit="kWh",
            quantity=Decimal(1000 + i % 997),
            current_unit_price=Decimal("0.2500") + Decimal(i % 101) / 10_000,
            contract_end=date(2027, 3, 31),
            term_months=TERM,
        )
        for i in range(SCHOOLS)
    ]


async def publish_demand(infra: Infrastructure, demand: list[DemandRegistered]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka_bootstrap_servers, linger_ms=5)
    await producer.start()
    try:
        sent = []
        for line in demand:
            event = new_event(line, trust_id=TRUST, correlation_id="test-big-award")
            sent.append(
                await producer.send(Topics.DEMAND, event.model_dump_json().encode(), key=event.key)
            )
        await asyncio.gather(*sent)
    finally:
        await producer.stop()


async def until(probe: Any, expected: object, seconds: float = 60) -> None:
    """Poll until `probe()` returns `expected`; a timeout fails the test."""
    async with asyncio.timeout(seconds):
        while True:
            if await probe() == expected:
                return
            await asyncio.sleep(0.2)


async def records_of(
    infra: Infrastructure, topic: str, tender_id: str, count: int
) -> list[tuple[int, dict[str, Any]]]:
    """(size in bytes, event) of the tender's events on a topic, read from the start."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=infra.kafka_bootstrap_servers,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    found: list[tuple[int, dict[str, Any]]] = []
    try:
        async with asyncio.timeout(30):
            while len(found) < count:
                for batch in (await consumer.getmany(timeout_ms=500)).values():
                    for record in batch:
                        event = json.loads(record.value or b"{}")
                        if event.get("data", {}).get("tender_id") == tender_id:
                            found.append((len(record.value or b""), event))
    finally:
        await consumer.stop()
    return found


async def test_an_award_to_ten_thousand_schools_reaches_the_ledger_in_full(
    system: RunningSystem, infra: Infrastructure
) -> None:
    demand = lines()
    await publish_demand(infra, demand)
    tendering = await asyncpg.connect(infra.database_urls["tendering"])
    savings = await asyncpg.connect(infra.database_urls["savings"])
    try:
        await until(
            lambda: tendering.fetchval(
                "SELECT count(*) FROM demand_lines WHERE trust_id = $1", TRUST
            ),
            SCHOOLS,
        )
        manager = bearer(system.token(Role.MANAGER, TRUST))
        supplier = bearer(system.token(Role.SUPPLIER, "big-volt"))
        url = system.urls["tendering"]
        closes = datetime.now(UTC) + timedelta(seconds=3)
        async with httpx.AsyncClient(timeout=60) as http:
            opened = await http.post(
                f"{url}/v1/tenders",
                headers=manager,
                json={
                    "trust_id": TRUST,
                    "category": "electricity",
                    "closes_at": closes.isoformat(),
                    # Regulated: a call-off from a framework may close this soon (no minimum
                    # tendering period under s.54 of the Procurement Act 2023).
                    "procedure": "framework_call_off",
                    "framework": "YPO Energy",
                    # One bidder: price alone decides, no quality scores to wait for.
                    "weights": {"price": "1", "quality": "0"},
                },
            )
            assert opened.status_code == 201, opened.text
            tender_id = opened.json()["tender_id"]
            bid = await http.post(
                f"{url}/v1/tenders/{tender_id}/bids",
                headers=supplier,
                json=bid_body(("0", str(SOLO)), ("1000000", str(POOLED))),
            )
            assert bid.status_code == 201, bid.text
            await asyncio.sleep(max(0.0, (closes - datetime.now(UTC)).total_seconds()) + 0.1)
            # The scheduler may award it first at the deadline; either way it is awarded once.
            awarded = await http.post(f"{url}/v1/tenders/{tender_id}/award", headers=manager)
            assert awarded.status_code == 200, awarded.text
            assert awarded.json()["status"] == "awarded"

        await until(
            lambda: savings.fetchval(
                "SELECT count(*) FROM ledger_entries WHERE tender_id = $1", UUID(tender_id)
            ),
            SCHOOLS,
        )

        # The award went out as parts, each far below the broker's default limit.
        parts = SCHOOLS // ALLOCATIONS_PER_EVENT
        awards = await records_of(infra, Topics.TENDERS, tender_id, count=1 + parts)
        sizes_and_parts = [
            (size, e["data"]["part"], e["data"]["parts"])
            for size, e in awards
            if e["event_type"] == "tender.awarded"
        ]
        assert [(p, n) for _, p, n in sizes_and_parts] == [(p, parts) for p in range(1, parts + 1)]
        assert all(size < KAFKA_DEFAULT_MAX_MESSAGE_BYTES / 2 for size, _, _ in sizes_and_parts)
        allocated = [
            a["demand_id"]
            for _, e in awards
            if e["event_type"] == "tender.awarded"
            for a in e["data"]["allocations"]
        ]
        assert sorted(allocated) == sorted(str(line.demand_id) for line in demand)

        # Every school's figures, worked out here from the pure ledger rules.
        expected = totals(
            ledger_figures(
                Allocation(line.school_urn, line.quantity, line.current_unit_price, POOLED, SOLO),
                TERM,
            )
            for line in demand
        )
        ledger = await savings.fetchrow(
            "SELECT sum(annual_baseline_cost) AS baseline, sum(annual_saving) AS saving,"
            " sum(term_saving) AS term, sum(economy_of_scale) AS pooling,"
            " count(DISTINCT demand_id) AS lines FROM ledger_entries WHERE tender_id = $1",
            UUID(tender_id),
        )
        assert ledger is not None
        assert dict(ledger) == {
            "baseline": expected.annual_baseline_cost,
            "saving": expected.annual_saving,
            "term": expected.term_saving,
            "pooling": expected.economy_of_scale,
            "lines": SCHOOLS,
        }

        # One savings.recorded per part, adding up to the ledger's total.
        recorded = await records_of(infra, Topics.SAVINGS, tender_id, count=parts)
        assert sorted(e["data"]["part"] for _, e in recorded) == list(range(1, parts + 1))
        assert sum(Decimal(e["data"]["annual_saving"]) for _, e in recorded) == (
            expected.annual_saving
        )
        assert sum(e["data"]["schools"] for _, e in recorded) == SCHOOLS
    finally:
        await tendering.close()
        await savings.close()

"""A tender split into lots is awarded lot by lot under one tender_id: every lot reaches the
ledger, and a repeated lot award is still counted once."""

from uuid import uuid4

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from procure.infra.provision import Infrastructure
from procure.launcher import RunningSystem
from shared.auth import Role
from shared.events import Topics
from tests.helpers import bearer, eventually, new_event
from tests.integration.savings_scenario import lot_award

pytestmark = pytest.mark.integration

TRUST = "3901"


async def test_each_lot_award_reaches_the_ledger(
    system: RunningSystem, infra: Infrastructure
) -> None:
    tender_id = uuid4()
    # Lot 1: 1,000 x (0.30 - 0.25) = 50.00 a year; lot 2: 2,000 x (0.20 - 0.18) = 40.00.
    lots = [
        lot_award(tender_id, 1, "390001", "1000", "0.30", "0.25", "0.28"),
        lot_award(tender_id, 2, "390002", "2000", "0.20", "0.18", "0.19"),
    ]
    producer = AIOKafkaProducer(
        bootstrap_servers=infra.kafka_bootstrap_servers,
        enable_idempotence=infra.kafka_enable_idempotence,
    )
    await producer.start()
    try:
        # Lot 2 is sent twice (as a relay re-publishing with a new event id would): counted once.
        for award in [*lots, lots[1]]:
            event = new_event(award, trust_id=TRUST, correlation_id="lots")
            await producer.send_and_wait(
                Topics.TENDERS, event.model_dump_json().encode(), key=event.key
            )
    finally:
        await producer.stop()
    manager = bearer(system.token(Role.MANAGER, TRUST))
    url = f"{system.urls['savings']}/v1/trusts/{TRUST}/savings"
    report = eventually(
        lambda: httpx.get(url, headers=manager).json(), lambda r: len(r.get("schools", [])) == 2
    )
    assert report["annual_saving"] == "90.00"
    assert sorted((s["urn"], s["annual_saving"]) for s in report["schools"]) == [
        ("390001", "50.00"),
        ("390002", "40.00"),
    ]
    async with httpx.AsyncClient() as http:
        ledger = (await http.get(f"{url}/ledger", headers=manager)).json()
    assert len(ledger) == 2

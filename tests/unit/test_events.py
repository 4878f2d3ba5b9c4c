"""Event contracts: every model round-trips through JSON, unknown fields are ignored, money is a
decimal string, and every event is keyed by its trust."""

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest
from pydantic import ValidationError

from shared.events import (
    BidReceived,
    BidScored,
    DemandAmended,
    DemandRegistered,
    DemandWithdrawn,
    Envelope,
    EventData,
    SavingsRecorded,
    SchoolJoined,
    SchoolLeft,
    SpendRecorded,
    TenderCancelled,
    TenderOpened,
    TokenRevoked,
    outgoing,
    read_data,
    upcast,
)
from tests.helpers import award_to, event_types

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
LINE: dict[str, Any] = {
    "demand_id": uuid4(),
    "school_urn": "100001",
    "category": "electricity",
    "unit": "kWh",
    "quantity": Decimal("120000"),
    "current_unit_price": Decimal("0.2875"),
    "contract_end": date(2027, 3, 31),
    "term_months": 24,
}
SAMPLES: list[EventData] = [
    SchoolJoined(
        urn="100001", name="A", trust_name="T", phase="Primary", pupils=210, status="Open"
    ),
    SchoolLeft(urn="100001", reason="moved"),
    DemandRegistered(**LINE),
    DemandAmended(**LINE | {"notes": "meters replaced"}),
    DemandWithdrawn(demand_id=uuid4(), school_urn="100001", category="gas"),
    TenderOpened(
        tender_id=uuid4(),
        pool_id="p",
        category="gas",
        unit="kWh",
        term_months=24,
        closes_at=NOW,
        route="quotes",
        estimated_value=Decimal("1.00"),
        demand_ids=[uuid4()],
    ),
    BidReceived(tender_id=uuid4(), bid_id=uuid4(), supplier_id="s", received_at=NOW),
    BidScored(tender_id=uuid4(), bid_id=uuid4(), quality_score=Decimal(70), scored_at=NOW),
    award_to(1),
    TenderCancelled(tender_id=uuid4(), demand_ids=[uuid4()], reason="no bids"),
    SpendRecorded(
        spend_id=uuid4(),
        school_urn="100001",
        category="gas",
        unit="kWh",
        supplier="s",
        invoice_ref="INV-1/3",
        period_start=date(2027, 4, 1),
        period_end=date(2027, 4, 30),
        quantity=Decimal("410"),
        amount=Decimal("20.50"),
    ),
    SavingsRecorded(
        tender_id=uuid4(),
        category="gas",
        schools=1,
        annual_saving=Decimal("0.05"),
        term_saving=Decimal("0.10"),
        rule_version="savings-2026.1",
    ),
    TokenRevoked(token_id="0123456789abcdef0123456789abcdef", reason="left the trust"),
]


def test_every_event_type_has_a_sample() -> None:
    assert {type(s).event_type for s in SAMPLES} == set(event_types())


def version_1(data: dict[str, Any], event_type: str) -> Envelope:
    return Envelope(
        event_id=uuid4(),
        event_type=event_type,
        event_version=1,
        occurred_at=NOW,
        trust_id="1001",
        correlation_id="c",
        data=data,
    )


@pytest.mark.parametrize("data", SAMPLES, ids=lambda d: d.event_type)
def test_round_trip(data: EventData) -> None:
    event = version_1(data.model_dump(mode="json"), data.event_type)
    wire = event.model_dump_json()
    back = Envelope.model_validate_json(wire)
    assert back == event
    assert read_data(back, type(data)) == data
    assert back.key == b"1001"


@pytest.mark.parametrize(
    "data", [s for s in SAMPLES if s.event_version == 2], ids=lambda d: d.event_type
)
def test_a_version_1_event_reads_as_one_whole_part(data: EventData) -> None:
    # As written before awards (and their savings.recorded) had parts: no `part`, no `parts`.
    old = data.model_dump(mode="json")
    del old["part"], old["parts"]
    event = version_1(old, data.event_type)
    assert upcast(event).event_version == data.event_version == 2
    assert read_data(event, type(data)) == data


@pytest.mark.parametrize("data", SAMPLES, ids=lambda d: d.event_type)
def test_an_outgoing_event_reads_back_as_its_envelope(data: EventData) -> None:
    # The outbox stores what `outgoing` writes; consumers read it as an Envelope.
    given = uuid4()
    written = outgoing(data, trust_id="1001", correlation_id="c", causation_id="e", event_id=given)
    back = Envelope.model_validate_json(written.payload)
    assert (written.event_id, written.key) == (back.event_id, back.key) == (given, b"1001")
    assert (back.event_type, back.event_version) == (data.event_type, data.event_version)
    assert (back.trust_id, back.correlation_id, back.causation_id) == ("1001", "c", "e")
    assert back.data == data.model_dump(mode="json")
    assert read_data(back, type(data)) == data
    assert back.occurred_at.tzinfo is not None
    fresh = {outgoing(data, trust_id="1001", correlation_id="c").event_id for _ in range(3)}
    assert len(fresh) == 3 and given not in fresh


def test_money_and_quantities_are_plain_decimal_strings() -> None:
    # PostgreSQL hands back 120000 as Decimal('1.2E+5'); the wire must still say "120000".
    data = DemandRegistered(**LINE | {"quantity": Decimal("1.2E+5")})
    wire = json.loads(data.model_dump_json())
    assert wire["quantity"] == "120000"
    assert wire["current_unit_price"] == "0.2875"


def test_unknown_fields_are_ignored() -> None:
    wire = {
        "event_id": str(uuid4()),
        "event_type": "registry.school_left",
        "event_version": 1,
        "occurred_at": "2026-11-23T09:30:00Z",
        "trust_id": "1001",
        "correlation_id": "c",
        "data": {"urn": "100001", "reason": "closed", "added_in_a_later_version": True},
        "also_new_in_the_envelope": {"x": 1},
    }
    event = Envelope.model_validate(wire)
    assert read_data(event, SchoolLeft) == SchoolLeft(urn="100001", reason="closed")


def test_naive_timestamps_are_refused() -> None:
    with pytest.raises(ValidationError, match="occurred_at"):
        Envelope(
            event_id=uuid4(),
            event_type="x",
            event_version=1,
            occurred_at=datetime(2026, 1, 1),
            trust_id="1",
            correlation_id="c",
            data={},
        )

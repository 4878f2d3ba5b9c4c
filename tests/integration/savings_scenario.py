"""A trust's awards, published straight onto the topics the savings service reads, with every
figure the ledger must show worked out by hand in the comments (docs/domain-rules.md,
"Savings, per school").

Three schools; an electricity contract for all three and a gas contract for two. One school pays
less than the joint price today, so its electricity line is a cost increase. Used by the savings
integration tests and the browser test (each with its own trust code and URNs).
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

import httpx
from aiokafka import AIOKafkaProducer

from procure.infra.provision import Infrastructure
from procure.launcher import RunningSystem
from shared.auth import Role
from shared.events import Allocation, EventData, SchoolJoined, TenderAwarded, Topics
from tests.helpers import bearer, eventually, new_event


@dataclass(frozen=True)
class Scenario:
    trust_id: str
    first_urn: int

    @property
    def urns(self) -> tuple[str, str, str]:
        return (str(self.first_urn), str(self.first_urn + 1), str(self.first_urn + 2))

    def tender_id(self, name: str) -> UUID:
        # Derived, not random: publishing the scenario twice records each award once.
        return uuid5(NAMESPACE_URL, f"test-savings/{self.trust_id}/{self.first_urn}/{name}")

    def demand_id(self, name: str, urn: str) -> UUID:
        return uuid5(NAMESPACE_URL, f"test-savings/{self.trust_id}/{self.first_urn}/{name}/{urn}")


TRUST_NAME = "Fenland Learning Trust"
SCHOOL_NAMES = ("Alder Primary School", "Birch Academy", "Cedar Primary School")

# Electricity, 24 months from 1 April 2027, pooled Q = 60,000 + 150,000 + 10,000 = 220,000 kWh,
# joint price p = 0.2350.  (urn index, q, baseline b, solo price s)
ELECTRICITY = [
    (0, "60000", "0.2900", "0.2700"),
    (1, "150000", "0.2600", "0.2500"),
    (2, "10000", "0.2300", "0.3000"),
]
# Gas, 36 months from 1 September 2027, Q = 123,457 + 200,060 = 323,517 kWh, p = 0.05125.
GAS = [(0, "123457", "0.0615", "0.0600"), (1, "200060", "0.0580", "0.0550")]

# Per line (B = q x b, C = q x p, S = B - C, term = S x T / 12, % = S / B, E = q x (s - p)):
# electricity, school 0: B = 17,400.00; C = 14,100.00; S = 3,300.00; term 6,600.00;
#   % = 0.055 / 0.29 = 18.97; E = 60,000 x 0.035 = 2,100.00
# electricity, school 1: B = 39,000.00; C = 35,250.00; S = 3,750.00; term 7,500.00;
#   % = 0.025 / 0.26 = 9.62; E = 150,000 x 0.015 = 2,250.00
# electricity, school 2 (pays 0.2300 today, less than the joint 0.2350): B = 2,300.00;
#   C = 2,350.00; S = -50.00, a cost increase; term -100.00; % = -0.005 / 0.23 = -2.17;
#   E = 10,000 x 0.065 = 650.00 (alone it would have paid 0.3000)
# gas, school 0: B = 123,457 x 0.0615 = 7,592.6055 -> 7,592.61; C = 6,327.17125 -> 6,327.17;
#   S = 123,457 x 0.01025 = 1,265.43425 -> 1,265.43 (the rounded B - C would be 1,265.44);
#   term = 1,265.43425 x 3 = 3,796.30275 -> 3,796.30 (from the rounded S: 3,796.29);
#   % = 0.01025 / 0.0615 = 16.67; E = 123,457 x 0.00875 = 1,080.24875 -> 1,080.25
# gas, school 1: B = 200,060 x 0.058 = 11,603.48; C = 10,253.075 -> 10,253.08 (half up);
#   S = 200,060 x 0.00675 = 1,350.405 -> 1,350.41 (half up; half even gives 1,350.40, and so
#   does the rounded B - C); term = 1,350.405 x 3 = 4,051.215 -> 4,051.22;
#   % = 0.00675 / 0.058 = 11.64; E = 200,060 x 0.00375 = 750.225 -> 750.23 (half even: 750.22)
LINES = {
    # (category, school index): (B, C, S, term, %, E)
    ("electricity", 0): ("17400.00", "14100.00", "3300.00", "6600.00", "18.97", "2100.00"),
    ("electricity", 1): ("39000.00", "35250.00", "3750.00", "7500.00", "9.62", "2250.00"),
    ("electricity", 2): ("2300.00", "2350.00", "-50.00", "-100.00", "-2.17", "650.00"),
    ("gas", 0): ("7592.61", "6327.17", "1265.43", "3796.30", "16.67", "1080.25"),
    ("gas", 1): ("11603.48", "10253.08", "1350.41", "4051.22", "11.64", "750.23"),
}
# Per school, sums of its lines; % from those sums.
# school 0: B = 17,400.00 + 7,592.61 = 24,992.61; C = 14,100.00 + 6,327.17 = 20,427.17;
#   S = 3,300.00 + 1,265.43 = 4,565.43; term = 6,600.00 + 3,796.30 = 10,396.30;
#   % = 4,565.43 / 24,992.61 = 18.267.. -> 18.27; E = 2,100.00 + 1,080.25 = 3,180.25
# school 1: B = 39,000.00 + 11,603.48 = 50,603.48; C = 35,250.00 + 10,253.08 = 45,503.08;
#   S = 3,750.00 + 1,350.41 = 5,100.41; term = 7,500.00 + 4,051.22 = 11,551.22;
#   % = 5,100.41 / 50,603.48 = 10.079.. -> 10.08; E = 2,250.00 + 750.23 = 3,000.23
# school 2: electricity only, a cost increase.
SCHOOLS = [
    # (B, C, S, term, %, E)
    ("24992.61", "20427.17", "4565.43", "10396.30", "18.27", "3180.25"),
    ("50603.48", "45503.08", "5100.41", "11551.22", "10.08", "3000.23"),
    ("2300.00", "2350.00", "-50.00", "-100.00", "-2.17", "650.00"),
]
# Trust: B = 24,992.61 + 50,603.48 + 2,300.00 = 77,896.09; C = 20,427.17 + 45,503.08 + 2,350.00
# = 68,280.25; S = 4,565.43 + 5,100.41 - 50.00 = 9,615.84; term = 10,396.30 + 11,551.22 - 100.00
# = 21,847.52; % = 9,615.84 / 77,896.09 = 12.344.. -> 12.34; E = 3,180.25 + 3,000.23 + 650.00
# = 6,830.48.
TRUST = ("77896.09", "68280.25", "9615.84", "21847.52", "12.34", "6830.48")
# Categories: electricity B = 17,400 + 39,000 + 2,300 = 58,700.00; C = 51,700.00;
#   S = 3,300 + 3,750 - 50 = 7,000.00; term 14,000.00; % = 7,000 / 58,700 = 11.925.. -> 11.93;
#   E = 2,100 + 2,250 + 650 = 5,000.00; 3 schools; Q = 220,000.
# gas: B = 7,592.61 + 11,603.48 = 19,196.09; C = 6,327.17 + 10,253.08 = 16,580.25;
#   S = 1,265.43 + 1,350.41 = 2,615.84; term = 3,796.30 + 4,051.22 = 7,847.52;
#   % = 2,615.84 / 19,196.09 = 13.627.. -> 13.63; E = 1,080.25 + 750.23 = 1,830.48; Q = 323,517.
CATEGORIES = {
    # category: (schools, quantity, B, C, S, term, %, E)
    "electricity": (3, "220000", "58700.00", "51700.00", "7000.00", "14000.00", "11.93", "5000.00"),
    "gas": (2, "323517", "19196.09", "16580.25", "2615.84", "7847.52", "13.63", "1830.48"),
}

# Each school's own contract end on its allocation (docs/domain-rules.md, "Supply start, per
# school"), awarded 15 January 2027 with no standstill. Electricity, 24 months: school 0 ends
# 1 April 2027 (the earliest): supply 2 April 2027 to 1 April 2029; school 1 ends 31 August 2027:
# 1 September 2027 to 31 August 2029; school 2's allocation carries none, as in events sent before
# the field, so the award's contract_start (1 April 2027) stands in: 2 April 2027 to 1 April 2029.
# Gas, 36 months, no allocation carries one: 2 September 2027 to 1 September 2030.
CONTRACT_ENDS = {("electricity", 0): date(2027, 4, 1), ("electricity", 1): date(2027, 8, 31)}
SUPPLY = {
    # (category, school index): (supply_start, supply_end)
    ("electricity", 0): ("2027-04-02", "2029-04-01"),
    ("electricity", 1): ("2027-09-01", "2029-08-31"),
    ("electricity", 2): ("2027-04-02", "2029-04-01"),
    ("gas", 0): ("2027-09-02", "2030-09-01"),
    ("gas", 1): ("2027-09-02", "2030-09-01"),
}

# The electricity bidder gave its trading name with its bid; the gas award is as an event sent
# before names were asked for: none.
SUPPLIER_NAMES = {"electricity": "Volt Energy Ltd"}

AWARDS = {
    # name: (category, term months, contract start, supplier, pooled Q, p, lines)
    "electricity": (
        "electricity",
        24,
        date(2027, 4, 1),
        "volt-co",
        "220000",
        "0.2350",
        ELECTRICITY,
    ),
    "gas": ("gas", 36, date(2027, 9, 1), "moor-gas", "323517", "0.05125", GAS),
}


def events(scenario: Scenario) -> list[tuple[str, EventData]]:
    """(topic, event data) in publishing order: the schools join, then the awards."""
    out: list[tuple[str, EventData]] = [
        (
            Topics.REGISTRY,
            SchoolJoined(urn=urn, name=name, trust_name=TRUST_NAME, status="Open"),
        )
        for urn, name in zip(scenario.urns, SCHOOL_NAMES, strict=True)
    ]
    for name, (category, term, start, supplier, pooled, price, lines) in AWARDS.items():
        allocations = [
            Allocation(
                demand_id=scenario.demand_id(name, scenario.urns[i]),
                school_urn=scenario.urns[i],
                quantity=Decimal(q),
                baseline_unit_price=Decimal(b),
                pooled_unit_price=Decimal(price),
                solo_unit_price=Decimal(s),
                contract_end=CONTRACT_ENDS.get((name, i)),
            )
            for i, q, b, s in lines
        ]
        award = TenderAwarded(
            tender_id=scenario.tender_id(name),
            category=category,
            unit="kWh",
            term_months=term,
            bid_id=uuid5(scenario.tender_id(name), "bid"),
            supplier_id=supplier,
            supplier_name=SUPPLIER_NAMES.get(name),
            pooled_quantity=Decimal(pooled),
            pooled_unit_price=Decimal(price),
            contract_start=start,
            awarded_at=datetime(2027, 1, 15, 12, 0, tzinfo=UTC),
            allocations=allocations,
        )
        out.append((Topics.TENDERS, award))
    return out


async def publish(infra: Infrastructure, scenario: Scenario) -> None:
    """Onto the real broker, keyed by trust_id like every event."""
    producer = AIOKafkaProducer(
        bootstrap_servers=infra.kafka_bootstrap_servers,
        enable_idempotence=infra.kafka_enable_idempotence,
        acks="all",
    )
    await producer.start()
    try:
        for topic, data in events(scenario):
            envelope = new_event(
                data, trust_id=scenario.trust_id, correlation_id=f"test-{scenario.trust_id}"
            )
            await producer.send_and_wait(
                topic, envelope.model_dump_json().encode(), key=envelope.key
            )
    finally:
        await producer.stop()


def savings_url(system: RunningSystem, scenario: Scenario, path: str = "") -> str:
    return f"{system.urls['savings']}/v1/trusts/{scenario.trust_id}/savings{path}"


async def recorded(
    system: RunningSystem, infra: Infrastructure, scenario: Scenario, entries: int
) -> None:
    """Publish the scenario and wait until its ledger has `entries` entries."""
    await publish(infra, scenario)
    manager = bearer(system.token(Role.MANAGER, scenario.trust_id))
    eventually(
        lambda: httpx.get(savings_url(system, scenario, "/ledger"), headers=manager).json(),
        lambda rows: isinstance(rows, list) and len(rows) == entries,
    )


def lot_award(
    tender_id: UUID,
    lot: int,
    urn: str,
    quantity: str,
    baseline: str,
    pooled: str,
    solo: str,
    *,
    lot_name: str | None = None,
    standstill_ends: date | None = None,
    bid_id: UUID | None = None,
    demand_id: UUID | None = None,
) -> TenderAwarded:
    """The award of one lot of a tender to one school's line (new ids unless given)."""
    return TenderAwarded(
        tender_id=tender_id,
        category="electricity",
        unit="kWh",
        term_months=12,
        bid_id=bid_id or uuid4(),
        supplier_id=f"supplier-{lot}",
        pooled_quantity=Decimal(quantity),
        pooled_unit_price=Decimal(pooled),
        contract_start=date(2027, 4, 1),
        awarded_at=datetime(2027, 1, 15, tzinfo=UTC),
        lot=lot,
        lot_name=f"Lot {lot}" if lot_name is None else lot_name,
        standstill_ends=standstill_ends,
        allocations=[
            Allocation(
                demand_id=demand_id or uuid4(),
                school_urn=urn,
                quantity=Decimal(quantity),
                baseline_unit_price=Decimal(baseline),
                pooled_unit_price=Decimal(pooled),
                solo_unit_price=Decimal(solo),
            )
        ],
    )

"""A trust's spend, published straight onto procurement.spend around an award on
procurement.tenders, with every realised figure worked out by hand in the comments
(docs/domain-rules.md, "Savings achieved"). Used by the realised savings tests and the rebuild
test (each with its own trust code and URNs).

Three schools. An electricity contract (volt-co, p = 0.2350, 12 months) for schools 0 and 1,
whose contracts end 31 March 2027: awarded 15 January 2027 without standstill, so both are
supplied from 1 April 2027 to 31 March 2028. School 2 has no contract.
"""

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import httpx

from procure.launcher import RunningSystem
from shared.auth import Role
from shared.events import (
    Allocation,
    Envelope,
    SchoolJoined,
    SpendRecorded,
    TenderAwarded,
    Topics,
)
from tests.helpers import bearer, eventually, new_event, publish_envelopes
from tests.integration.savings_scenario import Scenario


class Spending(Scenario):
    """The trust and its three schools (Scenario), with ids of this scenario's own."""

    def id(self, name: str) -> UUID:
        # Derived, not random: publishing the scenario twice records each line once.
        return self.tender_id(f"realised/{name}")

    @property
    def award_id(self) -> UUID:
        return self.id("tender")


APRIL = (date(2027, 4, 1), date(2027, 4, 30))
QUARTER = (date(2027, 4, 1), date(2027, 6, 30))

# name: (school index, category, unit, supplier, (period_start, period_end), x, A)
BEFORE_AWARD = {
    # School 0 from volt-co, starting on its supply_start: on contract once the award is in.
    # Baseline 5,000 x 0.29 = 1,450.00; realised 1,450 - 1,200 = 250.00; expected 5,000 x
    # (0.29 - 0.235) = 275.00; variance 1,200 - 5,000 x 0.235 = 1,200 - 1,175 = 25.00.
    "elec-april-0": (0, "electricity", "kWh", "volt-co", APRIL, "5000", "1200.00"),
    # Starting the day before supply_start: uncontracted, whatever the supplier. 0.275 a kWh.
    "elec-march-0": (
        0,
        "electricity",
        "kWh",
        " VOLT-CO",
        (date(2027, 3, 31), date(2027, 4, 29)),
        "4000",
        "1100.00",
    ),
    # School 1 from another supplier: off contract 3,000.00; leakage 3,000 - 12,000 x 0.235 =
    # 3,000 - 2,820 = 180.00.
    "elec-april-1": (1, "electricity", "kWh", "spark-energy", APRIL, "12000", "3000.00"),
    # School 2 has no contract: uncontracted, 300 / 1,000 = 0.30 a kWh.
    "elec-april-2": (2, "electricity", "kWh", "volt-co", APRIL, "1000", "300.00"),
    # Water: nobody's contract. 250 / 100 = 2.50 and 460 / 200 = 2.30 a m3.
    "water-2": (2, "water", "m3", "aqua", QUARTER, "100", "250.00"),
    "water-0": (0, "water", "m3", "aqua", QUARTER, "200", "460.00"),
}
AFTER_AWARD = {
    # School 1 from volt-co as " Volt-Co ": on contract (case and spaces do not count).
    # Realised 13,000 x 0.26 - 3,055 = 3,380 - 3,055 = 325.00; expected 13,000 x 0.025 =
    # 325.00; variance 3,055 - 13,000 x 0.235 = 3,055 - 3,055 = 0.00.
    "elec-may-1": (
        1,
        "electricity",
        "kWh",
        " Volt-Co ",
        (date(2027, 5, 1), date(2027, 5, 31)),
        "13000",
        "3055.00",
    ),
    # The last line published: 270 / 100 = 2.70 a m3.
    "water-1": (1, "water", "m3", "aqua", (date(2027, 7, 1), date(2027, 9, 30)), "100", "270.00"),
}
LINES = {**BEFORE_AWARD, **AFTER_AWARD}
STATUS = {
    "elec-april-0": "on_contract",
    "elec-march-0": "uncontracted",
    "elec-april-1": "off_contract",
    "elec-april-2": "uncontracted",
    "water-2": "uncontracted",
    "water-0": "uncontracted",
    "elec-may-1": "on_contract",
    "water-1": "uncontracted",
}

# Trust: realised 250.00 + 325.00 = 575.00; expected 275.00 + 325.00 = 600.00; variance
# 25.00 + 0.00 = 25.00; off contract 3,000.00; leakage 180.00.
TRUST = {
    "realised_saving": "575.00",
    "expected_saving": "600.00",
    "price_variance": "25.00",
    "off_contract_spend": "3000.00",
    "leakage": "180.00",
}
# Per school (contract_spend, realised, expected, variance, off contract, leakage); school 2 has
# only uncontracted spend: listed, with zeros.
SCHOOLS = [
    ("1200.00", "250.00", "275.00", "25.00", "0.00", "0.00"),
    ("3055.00", "325.00", "325.00", "0.00", "3000.00", "180.00"),
    ("0.00", "0.00", "0.00", "0.00", "0.00", "0.00"),
]
# The contract: on contract 5,000 (1-30 April) and 13,000 (1-31 May): 61 days, 18,000 x 365 /
# 61 = 107,704.918.. -> 107,704.92, below its tier's minimum of 200,000: tier at risk.
CONTRACT = ("electricity", "volt-co", "107704.92", "200000", True)
# Uncontracted, per category: (schools, quantity, amount, lowest, median, highest, opportunity).
# electricity: 0.275 (school 0) and 0.30 (school 2): median (0.275 + 0.30) / 2 = 0.2875;
#   m = 0.275: (1,100 - 4,000 x 0.275) + (300 - 1,000 x 0.275) = 0 + 25 = 25.00.
# water: 2.50, 2.30, 2.70 (schools 2, 0, 1): median 2.50; m = 2.30:
#   (250 - 230) + (460 - 460) + (270 - 230) = 60.00.
UNCONTRACTED = {
    "electricity": (2, "5000", "1400.00", "0.275000", "0.287500", "0.300000", "25.00"),
    "water": (3, "400", "980.00", "2.300000", "2.500000", "2.700000", "60.00"),
}


def spend(s: Spending, name: str, line: tuple[Any, ...], **changes: Any) -> SpendRecorded:
    i, category, unit, supplier, (start, end), x, amount = line
    fields = {
        "spend_id": s.id(name),
        "school_urn": s.urns[i],
        "category": category,
        "unit": unit,
        "supplier": supplier,
        "invoice_ref": f"INV-{name}",
        "period_start": start,
        "period_end": end,
        "quantity": Decimal(x),
        "amount": Decimal(amount),
    }
    return SpendRecorded(**(fields | changes))


def award(s: Spending) -> TenderAwarded:
    # (school index, q, b, s): pooled Q = 60,000 + 150,000 = 210,000; tier minimum 200,000.
    lines = [(0, "60000", "0.2900", "0.2700"), (1, "150000", "0.2600", "0.2500")]
    p = Decimal("0.2350")  # the winning bid's price at the pooled quantity
    return TenderAwarded(
        tender_id=s.award_id,
        category="electricity",
        unit="kWh",
        term_months=12,
        bid_id=s.id("bid"),
        supplier_id="volt-co",
        supplier_name="Volt Co Ltd",
        tier_minimum=Decimal("200000"),
        pooled_quantity=Decimal("210000"),
        pooled_unit_price=p,
        contract_start=date(2027, 3, 31),
        awarded_at=datetime(2027, 1, 15, 12, 0, tzinfo=UTC),
        allocations=[
            Allocation(
                demand_id=s.id(f"demand-{i}"),
                school_urn=s.urns[i],
                quantity=Decimal(q),
                baseline_unit_price=Decimal(b),
                pooled_unit_price=p,
                solo_unit_price=Decimal(solo),
                contract_end=date(2027, 3, 31),
            )
            for i, q, b, solo in lines
        ],
    )


def event(s: Spending, data: Any) -> Envelope:
    return new_event(data, trust_id=s.trust_id, correlation_id=f"test-{s.trust_id}")


def url(system: RunningSystem, s: Spending, path: str = "") -> str:
    return f"{system.urls['savings']}/v1/trusts/{s.trust_id}/savings/realised{path}"


def manager(system: RunningSystem, s: Spending) -> dict[str, str]:
    return bearer(system.token(Role.MANAGER, s.trust_id))


def statuses(system: RunningSystem, s: Spending) -> dict[str, str]:
    """spend_id -> status of every line of the trust (pages of 500)."""
    page = httpx.get(url(system, s, "/lines"), params={"limit": 500}, headers=manager(system, s))
    if page.status_code != 200:
        return {}
    return {line["spend_id"]: line["status"] for line in page.json()["items"]}


def until_statuses(system: RunningSystem, s: Spending, expected: dict[str, str]) -> None:
    want = {str(s.id(name)): status for name, status in expected.items()}
    eventually(lambda: statuses(system, s), lambda seen: seen == want)


async def before_award(system: RunningSystem, s: Spending) -> None:
    """The schools join and spend before any award: every line is uncontracted."""
    joins = [
        SchoolJoined(urn=urn, name=f"School {urn}", trust_name="Realised Trust", status="Open")
        for urn in s.urns
    ]
    await publish_envelopes(system, Topics.REGISTRY, [event(s, j) for j in joins])
    lines = [event(s, spend(s, name, line)) for name, line in BEFORE_AWARD.items()]
    await publish_envelopes(system, Topics.SPEND, lines)
    until_statuses(system, s, dict.fromkeys(BEFORE_AWARD, "uncontracted"))


async def the_award(system: RunningSystem, s: Spending) -> None:
    """The award arrives: the spend it covers is classified again."""
    await publish_envelopes(system, Topics.TENDERS, [event(s, award(s))])
    until_statuses(system, s, {name: STATUS[name] for name in BEFORE_AWARD})


async def after_award(system: RunningSystem, s: Spending) -> None:
    """More spend, with repeats: one event twice (same event_id), a line again as a new event,
    and another line under an invoice_ref already recorded; the last line published proves the
    repeats were consumed before it (one partition: the trust's key)."""
    may = event(s, spend(s, "elec-may-1", AFTER_AWARD["elec-may-1"]))
    again = event(s, spend(s, "elec-april-0", BEFORE_AWARD["elec-april-0"]))
    same_ref = spend(
        s,
        "elec-april-0",
        BEFORE_AWARD["elec-april-0"],
        spend_id=s.id("other"),
        amount=Decimal("9999.00"),
    )
    last = event(s, spend(s, "water-1", AFTER_AWARD["water-1"]))
    await publish_envelopes(system, Topics.SPEND, [may, may, again, event(s, same_ref), last])
    until_statuses(system, s, STATUS)


async def spent(system: RunningSystem, s: Spending) -> None:
    """The whole scenario, in order."""
    await before_award(system, s)
    await the_award(system, s)
    await after_award(system, s)

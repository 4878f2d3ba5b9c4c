"""Tendering in its own process, on the real broker: registry and demand events published straight
onto procurement.registry / procurement.demand, pools over HTTP, a tender in lots, suppliers'
bids, the manager's award once the bids are scored, and tender.awarded read back from
procurement.tenders.

Every expected figure is worked out by hand in the comments.
"""

import asyncio
import csv
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from operator import itemgetter
from typing import Any
from uuid import uuid4

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer

from procure.launcher import RunningSystem
from services.tendering.holidays import DEFAULT_FILE
from shared.auth import Role
from shared.events import (
    DemandAmended,
    DemandRegistered,
    DemandWithdrawn,
    Envelope,
    SchoolJoined,
    Topics,
)
from tests.helpers import (
    assert_field_error,
    bearer,
    bid_body,
    publish_events,
    scores_body,
    tender_body,
    until,
)

pytestmark = pytest.mark.integration


async def tender_events(
    system: RunningSystem,
    tender_id: str,
    done: Callable[[list[Envelope]], bool],
    seconds: float = 30,
) -> list[Envelope]:
    """The tender's events on procurement.tenders, read from the start until `done` holds."""
    consumer = AIOKafkaConsumer(
        Topics.TENDERS,
        bootstrap_servers=system.infra.kafka_bootstrap_servers,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    found: list[Envelope] = []
    try:
        async with asyncio.timeout(seconds):
            while not done(found):
                batches = await consumer.getmany(timeout_ms=500)
                for records in batches.values():
                    for record in records:
                        envelope = Envelope.model_validate_json(record.value or b"")
                        if envelope.data.get("tender_id") == tender_id:
                            assert record.key == envelope.trust_id.encode()
                            found.append(envelope)
    finally:
        await consumer.stop()
    return found


def allocations(lot: dict[str, Any]) -> list[tuple[str, ...]]:
    """A lot's allocations: school, quantity, baseline, pooled and solo prices, by school."""
    return sorted(
        (
            a["school_urn"],
            a["quantity"],
            a["baseline_unit_price"],
            a["pooled_unit_price"],
            a["solo_unit_price"],
        )
        for a in lot["allocations"]
    )


def line(
    urn: str, quantity: str, price: str, end: date, term: int = 24, model: type = DemandRegistered
) -> Any:
    return model(
        demand_id=uuid4(),
        school_urn=urn,
        category="electricity",
        unit="kWh",
        quantity=Decimal(quantity),
        current_unit_price=Decimal(price),
        contract_end=end,
        term_months=term,
    )


def eighth_working_day(start: date) -> date:
    """Worked independently of the service: weekdays that are not in the bank holiday file."""
    with DEFAULT_FILE.open(encoding="utf-8") as f:
        holidays = {date.fromisoformat(row["date"]) for row in csv.DictReader(f)}
    day, counted = start, 0
    while True:
        if day.weekday() < 5 and day not in holidays:
            counted += 1
            if counted == 8:
                return day
        day += timedelta(days=1)


TRUST = "2001"
# urn, local authority, phase
SCHOOLS = [
    ("200001", "Leeds", "Primary"),
    ("200002", "Leeds", "Secondary"),
    ("200003", "Bradford", "Primary"),
    ("200004", "Bradford", "Secondary"),
    ("200005", "Wakefield", "Primary"),
    ("200006", "Leeds", "Primary"),
]
# Lot 1 (Bradford, 80,000 + 250,000 = 330,000 kWh): volt-a 0.2500 (its 300,000 tier), watt-b
# 0.2900 (short of its 350,000 tier); lowest 0.2500.
#   volt-a: 0.7 x 100 + 0.3 x 70 = 91.00; watt-b: 0.7 x (0.25 / 0.29 x 100 = 86.2068...) + 0.3 x
#   90 = 60.3448... + 27 = 87.34: volt-a wins at 0.2500.
# Lot 2 (Leeds, 100,000 + 300,000 = 400,000 kWh): volt-a 0.2500, watt-b 0.2300; lowest 0.2300.
#   volt-a: 0.7 x (0.23 / 0.25 x 100 = 92) + 21 = 85.40; watt-b: 0.7 x 100 + 27 = 97.00.
# Lot 3 (Wakefield, 40,000 kWh): no bids.
VOLT_A = bid_body(("0", "0.3000"), ("100000", "0.2700"), ("300000", "0.2500"))
# watt-b gives its trading name with its bids; volt-a gives none (but did with its first bid).
WATT_B = bid_body(("0", "0.2900"), ("350000", "0.2300")) | {"supplier_name": " Watt Power Ltd "}


async def test_from_demand_events_to_awards_per_lot_on_the_broker(system: RunningSystem) -> None:
    tendering = system.urls["tendering"]
    manager = bearer(system.token(Role.MANAGER, TRUST))
    volt_a = bearer(system.token(Role.SUPPLIER, "volt-a"))
    watt_b = bearer(system.token(Role.SUPPLIER, "watt-b"))
    await publish_events(
        system,
        Topics.REGISTRY,
        TRUST,
        [
            SchoolJoined(
                urn=urn,
                name=f"School {urn}",
                trust_name="Trust 2001",
                local_authority=la,
                phase=phase,
                status="Open",
            )
            for urn, la, phase in SCHOOLS
        ],
    )
    lines = [
        line("200001", "100000", "0.3000", date(2027, 3, 31)),
        line("200002", "300000", "0.2800", date(2027, 4, 30)),
        line("200003", "80000", "0.3100", date(2027, 5, 31), term=36),
        line("200004", "200000", "0.2700", date(2027, 6, 30)),
        line("200005", "40000", "0.3200", date(2027, 7, 31)),
        line("200006", "50000", "0.3000", date(2027, 4, 15)),
    ]
    amended = line("200004", "250000", "0.2700", date(2027, 6, 30), model=DemandAmended)
    amended = amended.model_copy(update={"demand_id": lines[3].demand_id})
    withdrawn = DemandWithdrawn(
        demand_id=lines[5].demand_id, school_urn="200006", category="electricity"
    )
    await publish_events(system, Topics.DEMAND, TRUST, [*lines, amended, withdrawn])
    ids = [str(x.demand_id) for x in lines]

    async with httpx.AsyncClient(base_url=tendering, timeout=30) as http:

        async def pools() -> Any:
            return (await http.get(f"/v1/trusts/{TRUST}/pools", headers=manager)).json()

        # The amendment (200,000 -> 250,000) and the withdrawal (200006) reach the pool.
        [pool] = await until(
            pools,
            lambda p: (
                len(p) == 1
                and len(p[0]["lines"]) == 5
                and "250000" in [x["quantity"] for x in p[0]["lines"]]
            ),
        )
        assert pool["schools"] == ["200001", "200002", "200003", "200004", "200005"]
        # Registry and demand travel on different topics, unordered between them: lots by local
        # authority need every school's registry entry applied first.
        conn = await asyncpg.connect(system.infra.database_urls["tendering"])
        try:
            await until(
                lambda: conn.fetchval(
                    "SELECT count(*) FROM schools"
                    " WHERE trust_id = $1 AND local_authority IS NOT NULL",
                    TRUST,
                ),
                lambda known: known == 6,
            )
        finally:
            await conn.close()
        # 100,000 + 300,000 + 80,000 + 250,000 + 40,000 = 770,000 kWh; terms 24, 24, 36, 24, 24.
        assert (pool["total_quantity"], pool["term_months"]) == ("770000", 24)
        # A year: 30,000 + 84,000 + 24,800 + 67,500 + 12,800 = 219,100; x 24/12 = 438,200.00;
        # VAT 87,640.00; 525,840.00 >= 207,720 (in force from 1 Jan 2026): regulated.
        route = pool["route"]
        assert {name: value for name, value in route.items() if name != "reason"} == {
            "route": "regulated",
            "value_ex_vat": "438200.00",
            "vat": "87640.00",
            "value_inc_vat": "525840.00",
            "threshold": "207720",
            "threshold_name": "sub-central",
        }
        assert route["reason"].startswith(
            "Estimated value 525,840.00 GBP inc. VAT is at or above the sub-central threshold of"
            " 207,720.00 GBP in force on "
        )
        assert pool["conflicting_tenders"] == []

        # An open procedure on the regulated route bids for at least 25 days (s.54).
        ninety_seconds = (datetime.now(UTC) + timedelta(seconds=90)).isoformat()

        def opening(**more: Any) -> dict[str, Any]:
            return {"trust_id": TRUST, "category": "electricity"} | more

        too_short = await http.post(
            "/v1/tenders", headers=manager, json=opening(closes_at=ninety_seconds)
        )
        reason = "at least 25 days after opening (Procurement Act 2023, s.54)"
        assert_field_error(too_short, 422, "closes_at", reason)
        assert too_short.json()["legal_basis"] == "Procurement Act 2023, s.54"
        no_framework = await http.post(
            "/v1/tenders",
            headers=manager,
            json=opening(closes_at=ninety_seconds, procedure="framework_call_off"),
        )
        assert_field_error(no_framework, 422, "framework", "required for a framework_call_off")

        closes_at = datetime.now(UTC) + timedelta(seconds=6)
        # Regulated: a call-off from a framework may close this soon (no minimum tendering
        # period under s.54 of the Procurement Act 2023).
        call_off = opening(
            pool_id=pool["pool_id"],
            closes_at=closes_at.isoformat(),
            procedure="framework_call_off",
            framework="YPO Energy",
            lots_by="local_authority",
        )
        opened = await http.post("/v1/tenders", headers=manager, json=call_off)
        assert opened.status_code == 201, opened.text
        tender = opened.json()
        tender_id = tender["tender_id"]
        assert [
            (lot["lot"], lot["name"], lot["schools"], lot["pooled_quantity"])
            for lot in tender["lots"]
        ] == [
            (1, "Bradford", ["200003", "200004"], "330000"),
            (2, "Leeds", ["200001", "200002"], "400000"),
            (3, "Wakefield", ["200005"], "40000"),
        ]
        # One route for the whole requirement: lots never split the value.
        assert tender["route"]["value_inc_vat"] == "525840.00"
        assert (tender["bids"], tender["award"]) == (None, None)  # they live in the lots

        # Lines in an open tender are locked: they leave the pools.
        assert await pools() == []

        notice = (await http.get(f"/v1/tenders/{tender_id}/notice", headers=volt_a)).json()
        assert [(lot["lot"], lot["schools"], lot["pooled_quantity"]) for lot in notice["lots"]] == [
            (1, 2, "330000"),
            (2, 2, "400000"),
            (3, 1, "40000"),
        ]
        assert "lines" not in notice

        # Suppliers find the tenders they may bid on: the open notices, no buyer's prices.
        listed = await http.get("/v1/tenders", params={"status": "open"}, headers=volt_a)
        assert listed.status_code == 200, listed.text
        [listing] = [n for n in listed.json() if n["tender_id"] == tender_id]
        assert listing == notice
        assert (listing["procedure"], listing["framework"]) == ("framework_call_off", "YPO Energy")
        assert not {"lines", "baseline_unit_price", "annual_saving"} & listing.keys()
        other_trust = bearer(system.token(Role.MANAGER, "9999"))
        theirs = await http.get("/v1/tenders", headers=other_trust)
        assert tender_id not in {n["tender_id"] for n in theirs.json()}
        school = bearer(system.token(Role.SCHOOL, "200001"))
        assert (await http.get("/v1/tenders", headers=school)).status_code == 403

        async def bid(who: dict[str, str], body: dict[str, Any]) -> httpx.Response:
            return await http.post(f"/v1/tenders/{tender_id}/bids", headers=who, json=body)

        assert (await bid(manager, VOLT_A | {"lot": 1})).status_code == 403
        no_lot = await bid(volt_a, VOLT_A)
        assert_field_error(no_lot, 422, "lot", "this tender has lots 1 to 3")
        assert (await bid(volt_a, VOLT_A | {"lot": 4})).status_code == 422
        descending = WATT_B | {
            "lot": 1,
            "price_tiers": [
                {"min_quantity": "0", "unit_price": "0.29"},
                {"min_quantity": "0", "unit_price": "0.23"},
            ],
        }
        refused = await bid(watt_b, descending)
        reason = "must be greater than the previous tier's minimum"
        assert_field_error(refused, 422, "price_tiers[1].min_quantity", reason)
        nameless = await bid(watt_b, WATT_B | {"lot": 1, "supplier_name": "  "})
        assert_field_error(
            nameless, 422, "body.supplier_name", "String should have at least 1 character"
        )
        # volt-a first bids 0.35 flat for lot 1, with a name, then replaces it without one.
        first = await bid(
            volt_a,
            {"lot": 1, "supplier_name": "Volt A Ltd"} | bid_body(("0", "0.3500")),
        )
        assert first.status_code == 201, first.text
        assert first.json()["supplier_name"] == "Volt A Ltd"
        for who, body, lot in (
            (volt_a, VOLT_A, 1),
            (volt_a, VOLT_A, 2),
            (watt_b, WATT_B, 1),
            (watt_b, WATT_B, 2),
        ):
            placed = await bid(who, body | {"lot": lot})
            assert placed.status_code == 201, placed.text

        # Suppliers see only their own bids; the resubmission replaced the first.
        mine = (await http.get(f"/v1/tenders/{tender_id}/bids", headers=volt_a)).json()
        assert [
            (b["supplier_id"], b["lot"], "quality_score" in b, b["supplier_name"]) for b in mine
        ] == [
            ("volt-a", 1, False, None),
            ("volt-a", 2, False, None),
        ]
        assert first.json()["bid_id"] not in {b["bid_id"] for b in mine}
        theirs = (await http.get(f"/v1/tenders/{tender_id}/bids", headers=watt_b)).json()
        assert {(b["supplier_id"], b["supplier_name"]) for b in theirs} == {
            ("watt-b", "Watt Power Ltd")
        }

        # Before the deadline the trust sees how many bids came in, not the bids.
        sealed = (await http.get(f"/v1/tenders/{tender_id}", headers=manager)).json()
        assert [(lot["bids_received"], lot["bids"]) for lot in sealed["lots"]] == [
            (2, None),
            (2, None),
            (0, None),
        ]
        early = await http.post(f"/v1/tenders/{tender_id}/award", headers=manager)
        assert (early.status_code, early.json()["title"]) == (409, "Still open for bids")

        # Past the deadline the award waits for the trust's quality scores: the bids are
        # listed unranked and the award names the unscored bids.
        waiting = await until(
            lambda: http.get(f"/v1/tenders/{tender_id}", headers=manager),
            lambda r: r.json()["awaiting"] == "quality scores",
            seconds=20,
        )
        unranked = waiting.json()["lots"][0]["bids"]
        assert [(b["rank"], b["quality_score"], b["score"]) for b in unranked] == [
            (None, None, None),
            (None, None, None),
        ]
        refused_award = await http.post(f"/v1/tenders/{tender_id}/award", headers=manager)
        assert refused_award.status_code == 409, refused_award.text
        assert len(refused_award.json()["unscored_bids"]) == 4
        body = scores_body(waiting.json(), {"volt-a": "70", "watt-b": "90"})
        evaluation = f"/v1/tenders/{tender_id}/evaluation"
        not_theirs = await http.post(evaluation, headers=volt_a, json=body)
        assert not_theirs.status_code == 403
        scored = await http.post(evaluation, headers=manager, json=body)
        assert scored.status_code == 200, scored.text

        # Scored: quality counts, so the award is the buyer's (the deadline policy leaves it).
        still_open = (await http.get(f"/v1/tenders/{tender_id}", headers=manager)).json()
        assert (still_open["status"], still_open["awaiting"]) == ("open", None)
        awarded = await http.post(f"/v1/tenders/{tender_id}/award", headers=manager)
        assert awarded.status_code == 200, awarded.text
        tender = awarded.json()
        late = await bid(volt_a, VOLT_A | {"lot": 3})
        assert (late.status_code, late.json()["title"]) == (409, "Tender closed")
        # Wakefield's lot had no bids: its line is open to pool again.
        [again] = await pools()
        assert [x["demand_id"] for x in again["lines"]] == [ids[4]]

        # With the award each bidder reads its own assessment summary (s.50): in Leeds (lot 2)
        # volt-a lost to watt-b; never another supplier's bid.
        leeds_bid = next(b["bid_id"] for b in mine if b["lot"] == 2)
        summary_url = f"/v1/tenders/{tender_id}/bids/{leeds_bid}/assessment"
        summary = await http.get(summary_url, headers=volt_a)
        assert summary.status_code == 200, summary.text
        read = summary.json()
        assert (read["lot"], read["awarded"], read["rank"], read["bidders"]) == (2, False, 2, 2)
        assert (read["own"]["score"], read["winner"]["supplier_id"], read["winner"]["score"]) == (
            "85.40",
            "watt-b",
            "97.00",
        )
        assert (read["own"]["supplier_name"], read["winner"]["supplier_name"]) == (
            None,
            "Watt Power Ltd",
        )
        assert "Watt Power Ltd (watt-b) won" in read["reasons"]
        assert (await http.get(summary_url, headers=watt_b)).status_code == 404
        assert (await http.get(summary_url, headers=manager)).status_code == 200

    assert tender["status"] == "awarded"
    bradford, leeds, wakefield = tender["lots"]
    assert [
        (b["supplier_id"], b["unit_price_at_pooled_volume"], b["score"]) for b in bradford["bids"]
    ] == [
        ("volt-a", "0.2500", "91.00"),
        ("watt-b", "0.2900", "87.34"),
    ]
    assert [(b["supplier_id"], b["supplier_name"], b["score"]) for b in leeds["bids"]] == [
        ("watt-b", "Watt Power Ltd", "97.00"),
        ("volt-a", None, "85.40"),
    ]
    assert (leeds["award"]["supplier_name"], bradford["award"]["supplier_name"]) == (
        "Watt Power Ltd",
        None,
    )
    assert (wakefield["status"], wakefield["bids"], wakefield["award"]) == ("no_bids", [], None)
    award = bradford["award"]
    assert (award["supplier_id"], award["pooled_unit_price"], award["awarded_by"]) == (
        "volt-a",
        "0.2500",
        f"manager:{TRUST}",
    )
    assert award["reason"] == (
        "volt-a won with a score of 91.00 out of 100: at the pooled volume of 330,000 kWh it"
        " offered 0.2500 GBP per kWh, a price score of 100.00 (x 0.7 = 70.00), and a quality"
        " score of 70 (x 0.3 = 21.00); its lower price outweighed Watt Power Ltd (watt-b)'s higher"
        " quality (Watt Power Ltd (watt-b) scored 87.34 with 0.2900 GBP per kWh and quality 90)."
    )
    assert leeds["award"]["reason"].endswith(
        "; neither volt-a's price nor its quality was better (volt-a scored 85.40 with 0.2500 GBP"
        " per kWh and quality 70)."
    )
    awarded_on = datetime.fromisoformat(award["awarded_at"]).astimezone(UTC).date()
    standstill = eighth_working_day(awarded_on).isoformat()
    assert bradford["award"]["standstill_ends"] == leeds["award"]["standstill_ends"] == standstill

    events = await tender_events(
        system,
        tender_id,
        lambda found: (
            sum(e.event_type in ("tender.awarded", "tender.cancelled") for e in found) == 3
        ),
    )
    assert all(e.trust_id == TRUST for e in events)
    by_type = {
        t: [e.data for e in events if e.event_type == t] for t in {e.event_type for e in events}
    }
    [opened_event] = by_type["tender.opened"]
    assert sorted(opened_event["demand_ids"]) == sorted(ids[:5])
    assert len(by_type["tender.bid_received"]) == 5
    # Each bid's name as given, volt-a's first and none with its replacements.
    assert sorted(
        (d["supplier_id"], d["supplier_name"] or "") for d in by_type["tender.bid_received"]
    ) == [
        ("volt-a", ""),
        ("volt-a", ""),
        ("volt-a", "Volt A Ltd"),
        ("watt-b", "Watt Power Ltd"),
        ("watt-b", "Watt Power Ltd"),
    ]
    lot1, lot2 = sorted(by_type["tender.awarded"], key=lambda d: d["lot"])
    # Each allocation: quantity, baseline, the lot's pooled price, and the winner's price for
    # the school's volume alone (volt-a: 80,000 < 100,000 -> 0.3000; 250,000 -> 0.2700;
    # watt-b: 100,000 and 300,000 < 350,000 -> 0.2900).
    awarded = itemgetter(
        "lot", "lot_name", "supplier_id", "supplier_name", "pooled_quantity", "pooled_unit_price"
    )
    assert [awarded(lot1), awarded(lot2)] == [
        (1, "Bradford", "volt-a", None, "330000", "0.2500"),
        (2, "Leeds", "watt-b", "Watt Power Ltd", "400000", "0.2300"),
    ]
    assert allocations(lot1) == [
        ("200003", "80000", "0.3100", "0.2500", "0.3000"),
        ("200004", "250000", "0.2700", "0.2500", "0.2700"),
    ]
    assert allocations(lot2) == [
        ("200001", "100000", "0.3000", "0.2300", "0.2900"),
        ("200002", "300000", "0.2800", "0.2300", "0.2900"),
    ]
    assert lot1["standstill_ends"] == lot2["standstill_ends"] == standstill
    # The earliest contract end in each lot: Bradford 31 May, Leeds 31 Mar 2027.
    assert (lot1["contract_start"], lot2["contract_start"]) == ("2027-05-31", "2027-03-31")
    [released] = by_type["tender.cancelled"]
    assert released["demand_ids"] == [ids[4]]


async def test_one_requirement_is_not_split_and_cancelling_releases_its_lines(
    system: RunningSystem,
) -> None:
    trust = "2002"
    manager = bearer(system.token(Role.MANAGER, trust))
    first = line("200101", "100000", "0.3000", date(2027, 3, 31), term=12)
    second = line("200102", "50000", "0.3000", date(2027, 5, 31), term=12)
    await publish_events(system, Topics.DEMAND, trust, [first, second])
    async with httpx.AsyncClient(base_url=system.urls["tendering"], timeout=30) as http:

        async def pools() -> Any:
            return (await http.get(f"/v1/trusts/{trust}/pools", headers=manager)).json()

        await until(pools, lambda p: len(p) == 1 and len(p[0]["lines"]) == 2)

        async def open_tender() -> httpx.Response:
            body = tender_body(trust, "electricity", datetime.now(UTC) + timedelta(hours=1))
            return await http.post("/v1/tenders", headers=manager, json=body)

        opened = await open_tender()
        assert opened.status_code == 201, opened.text
        t1 = opened.json()["tender_id"]

        # An amendment of a line in the open tender does not reach the tender; a late line
        # ending 30 Jun 2027 (within 6 months of 31 Mar) belongs to the same requirement.
        bigger = line("200101", "120000", "0.3000", date(2027, 3, 31), term=12, model=DemandAmended)
        bigger = bigger.model_copy(update={"demand_id": first.demand_id})
        late = line("200103", "70000", "0.3000", date(2027, 6, 30), term=12)
        await publish_events(system, Topics.DEMAND, trust, [bigger, late])
        [pool] = await until(pools, lambda p: len(p) == 1)
        assert [x["demand_id"] for x in pool["lines"]] == [str(late.demand_id)]
        assert pool["conflicting_tenders"] == [t1]
        tender = (await http.get(f"/v1/tenders/{t1}", headers=manager)).json()
        assert {x["school_urn"]: x["quantity"] for x in tender["lines"]} == {
            "200101": "100000",
            "200102": "50000",
        }

        refused = await open_tender()
        assert refused.status_code == 409
        problem = refused.json()
        assert (problem["title"], problem["conflicting_tenders"]) == (
            "Would split a requirement",
            [t1],
        )
        assert problem["errors"] == [
            {"field": "pool_id", "reason": "would split a requirement already being tendered"}
        ]

        # Only the trust's own manager reads or cancels it.
        stranger = bearer(system.token(Role.MANAGER, "2003"))
        assert (await http.get(f"/v1/tenders/{t1}", headers=stranger)).status_code == 404
        assert (await http.post(f"/v1/tenders/{t1}/cancel", headers=stranger)).status_code == 404
        supplier = bearer(system.token(Role.SUPPLIER, "volt-a"))
        assert (await http.get(f"/v1/tenders/{t1}", headers=supplier)).status_code == 403

        cancelled = await http.post(
            f"/v1/tenders/{t1}/cancel", headers=manager, json={"reason": "late demand to include"}
        )
        assert cancelled.status_code == 200, cancelled.text
        body = cancelled.json()
        assert (body["status"], body["cancel_reason"]) == ("cancelled", "late demand to include")
        assert [lot["status"] for lot in body["lots"]] == ["cancelled"]
        again = await http.post(f"/v1/tenders/{t1}/cancel", headers=manager)
        assert again.status_code == 409
        assert (await http.post(f"/v1/tenders/{t1}/award", headers=manager)).status_code == 409

        # Released lines pool again, with the amendment that arrived while they were locked.
        [whole] = await pools()
        assert {x["school_urn"]: x["quantity"] for x in whole["lines"]} == {
            "200101": "120000",
            "200102": "50000",
            "200103": "70000",
        }
        assert whole["conflicting_tenders"] == []
        reopened = await open_tender()
        assert reopened.status_code == 201, reopened.text
        # 120,000 + 50,000 + 70,000 = 240,000 kWh in one tender.
        assert reopened.json()["pooled_quantity"] == "240000"
        listed = (await http.get(f"/v1/trusts/{trust}/tenders", headers=manager)).json()
        # Who opened them: the token's subject (a machine's token here).
        assert [(t["tender_id"], t["status"], t["opened_by"]) for t in listed] == [
            (reopened.json()["tender_id"], "open", f"manager:{trust}"),
            (t1, "cancelled", f"manager:{trust}"),
        ]

    events = await tender_events(
        system, t1, lambda found: any(e.event_type == "tender.cancelled" for e in found)
    )
    [released] = [e.data for e in events if e.event_type == "tender.cancelled"]
    assert sorted(released["demand_ids"]) == sorted([str(first.demand_id), str(second.demand_id)])
    assert released["reason"] == "late demand to include"


async def test_lots_wait_for_every_pooled_schools_registry_entry(system: RunningSystem) -> None:
    """Demand can reach tendering before the registry: a tender by lots is refused (409, naming
    the schools) rather than putting a school in the wrong lot for good."""
    trust = "2401"
    manager = bearer(system.token(Role.MANAGER, trust))
    lines = [
        line("240001", "100000", "0.3000", date(2027, 3, 31)),
        line("240002", "200000", "0.2800", date(2027, 4, 30)),
    ]
    joined = [
        SchoolJoined(
            urn=urn,
            name=f"School {urn}",
            trust_name="Trust 2401",
            local_authority=la,
            phase="Primary",
            status="Open",
        )
        for urn, la in [("240001", "York"), ("240002", "Hull")]
    ]
    await publish_events(system, Topics.REGISTRY, trust, joined[:1])
    await publish_events(system, Topics.DEMAND, trust, lines)
    in_a_week = datetime.now(UTC) + timedelta(days=7)
    body = tender_body(trust, "electricity", in_a_week, lots_by="local_authority")
    async with httpx.AsyncClient(base_url=system.urls["tendering"], timeout=30) as http:

        async def open_tender() -> httpx.Response:
            return await http.post("/v1/tenders", headers=manager, json=body)

        # 409 "No open demand" until the lines arrive; then refused while 240002 is unknown.
        refused = await until(
            open_tender,
            lambda r: r.status_code == 409 and r.json().get("unknown_schools") == ["240002"],
        )
        assert refused.json()["errors"] == [
            {"field": "lots_by", "reason": "some pooled schools are not in the registry yet"}
        ]
        await publish_events(system, Topics.REGISTRY, trust, joined[1:])
        opened = await until(open_tender, lambda r: r.status_code == 201)
        tender_id = opened.json()["tender_id"]
        tender = (await http.get(f"/v1/tenders/{tender_id}", headers=manager)).json()
    assert [(lot["name"], lot["schools"]) for lot in tender["lots"]] == [
        ("Hull", ["240002"]),
        ("York", ["240001"]),
    ]

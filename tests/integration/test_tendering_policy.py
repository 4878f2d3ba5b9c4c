"""Tendering's verbs and background policies on a real PostgreSQL database, with a fixed clock:
opening by policy before the earliest contract end, refusing a tender that splits a requirement,
cancelling, and evaluating lots at the deadline with a standstill period.

The tendering code runs in this process on a database of its own (the services' processes are
not involved), so the clock can be set; events are read back from the outbox.
"""

import asyncio
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import pytest
from fastapi import FastAPI

from services.tendering import handlers, intake, store
from services.tendering.domain.errors import (
    NoOpenDemand,
    PoolChanged,
    TenderNotOpen,
    WouldSplitRequirement,
)
from services.tendering.domain.evaluation import Weights
from services.tendering.domain.lots import LotsBy
from services.tendering.domain.pricing import PriceTier
from services.tendering.domain.scoring import QualityScore
from services.tendering.scheduler import Scheduler
from services.tendering.settings import PolicySettings
from shared.events import DemandRegistered, DemandWithdrawn, Envelope, SchoolJoined
from shared.http import problem_of
from shared.inbox import Handler
from shared.unit_of_work import UnitOfWork, unit_of_work
from tests.helpers import new_event

pytestmark = pytest.mark.integration

WINDOW = 6
PRICE_ONLY = Weights(Decimal(1), Decimal(0))


def at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


async def apply(pool: asyncpg.Pool, handler: Handler, event: Envelope) -> None:
    async with unit_of_work(pool) as work:
        await handler(work, event)


async def school(pool: asyncpg.Pool, trust: str, urn: str, local_authority: str) -> None:
    joined = SchoolJoined(
        urn=urn,
        name=f"School {urn}",
        trust_name=f"Trust {trust}",
        local_authority=local_authority,
        status="Open",
    )
    await apply(pool, intake.school_joined, new_event(joined, trust_id=trust, correlation_id="t"))


async def demand(
    pool: asyncpg.Pool,
    trust: str,
    urn: str,
    quantity: str,
    end: date,
    category: str = "electricity",
    price: str = "0.30",
    term: int = 12,
) -> UUID:
    line = DemandRegistered(
        demand_id=uuid4(),
        school_urn=urn,
        category=category,
        unit="kWh",
        quantity=Decimal(quantity),
        current_unit_price=Decimal(price),
        contract_end=end,
        term_months=term,
    )
    await apply(pool, intake.demand_registered, new_event(line, trust_id=trust, correlation_id="t"))
    return line.demand_id


async def tenders_of(pool: asyncpg.Pool, trust: str) -> list[asyncpg.Record]:
    async with pool.acquire() as conn:
        return await store.trust_tenders(conn, trust)


async def events_of(pool: asyncpg.Pool, tender_id: UUID) -> list[tuple[str, dict[str, Any]]]:
    rows = await pool.fetch("SELECT payload FROM outbox ORDER BY id")
    envelopes = [Envelope.model_validate_json(bytes(r["payload"])) for r in rows]
    return [(e.event_type, e.data) for e in envelopes if e.data.get("tender_id") == str(tender_id)]


async def line_ids(pool: asyncpg.Pool, tender_id: UUID) -> set[UUID]:
    async with pool.acquire() as conn:
        return {r["demand_id"] for r in await store.tender_lines(conn, tender_id)}


def scheduler(pool: asyncpg.Pool, now: datetime, **policy: Any) -> Scheduler:
    return Scheduler(lambda: pool, PolicySettings(**policy), WINDOW, clock=lambda: now)


async def test_the_policy_opens_a_pool_the_configured_days_before_its_earliest_end(
    tendering_db: asyncpg.Pool,
) -> None:
    due = await demand(tendering_db, "2101", "210001", "100000", date(2027, 3, 31))
    with_it = await demand(tendering_db, "2101", "210002", "50000", date(2027, 5, 31))
    await demand(tendering_db, "2101", "210001", "90000", date(2027, 9, 30), category="gas")
    await demand(tendering_db, "2102", "210101", "100000", date(2027, 4, 1))
    # 31 Mar 2027 - 60 days = 30 Jan 2027 (31 days of March, 28 of February, one more).
    now = at(date(2027, 1, 30), hour=8)
    policy = {"auto_open_days": 60, "auto_bidding_days": 14, "auto_award": False}

    await scheduler(tendering_db, now, **policy).tick()

    [opened] = await tenders_of(tendering_db, "2101")
    assert (opened["category"], opened["opened_by"], opened["status"]) == (
        "electricity",
        "policy",
        "open",
    )
    assert opened["closes_at"] == at(date(2027, 2, 13), hour=8)  # 14 days later
    assert await line_ids(tendering_db, opened["tender_id"]) == {due, with_it}
    [(event_type, data)] = await events_of(tendering_db, opened["tender_id"])
    assert event_type == "tender.opened"
    assert set(data["demand_ids"]) == {str(due), str(with_it)}
    # Gas ends 30 Sep 2027 (opens 1 Aug); trust 2102's 1 Apr 2027 opens on 31 Jan.
    assert await tenders_of(tendering_db, "2102") == []

    await scheduler(tendering_db, now + timedelta(days=1), **policy).tick()

    # Its lines are locked in the open tender.
    assert len(await tenders_of(tendering_db, "2101")) == 1
    [next_day] = await tenders_of(tendering_db, "2102")
    assert next_day["opened_by"] == "policy"


async def test_a_tender_that_would_split_an_open_tenders_requirement_is_refused(
    tendering_db: asyncpg.Pool,
) -> None:
    now = at(date(2027, 1, 4))
    first = await demand(tendering_db, "2103", "210201", "100000", date(2027, 3, 31))
    async with store.TenderingUnitOfWork.begin(tendering_db) as work:
        t1 = await handlers.open_tender(
            work, handlers.OpenRequest("2103", "electricity", now + timedelta(days=28)), WINDOW, now
        )
    # Registered after the tender opened; 30 Jun is within 6 months of 31 Mar: one requirement.
    late = await demand(tendering_db, "2103", "210202", "100000", date(2027, 6, 30))

    async with tendering_db.acquire() as conn:
        [pool] = await handlers.list_pools(
            store.PostgresTenderRepository(conn), "2103", WINDOW, now
        )
        assert [line.demand_id for line in pool.pool.lines] == [str(late)]
        assert pool.conflicting_tenders == [str(t1)]
    with pytest.raises(WouldSplitRequirement) as refused:
        async with store.TenderingUnitOfWork.begin(tendering_db) as work:
            request = handlers.OpenRequest("2103", "electricity", now + timedelta(days=28))
            await handlers.open_tender(work, request, WINDOW, now)
    problem = problem_of(refused.value)
    assert (problem.status, problem.title) == (409, "Would split a requirement")
    assert problem.errors == [
        {"field": "pool_id", "reason": "would split a requirement already being tendered"}
    ]
    assert problem.extra == {"conflicting_tenders": [str(t1)]}

    # The policy does not open it either (30 Jun - 180 days = 1 Jan: due).
    policy = {"auto_open_days": 180, "auto_award": False}
    await scheduler(tendering_db, now, **policy).tick()
    assert [t["tender_id"] for t in await tenders_of(tendering_db, "2103")] == [t1]

    async with store.TenderingUnitOfWork.begin(tendering_db) as work:
        await handlers.cancel_tender(work, "2103", t1, "requirement incomplete", now)
    events = await events_of(tendering_db, t1)
    assert [event_type for event_type, _ in events] == ["tender.opened", "tender.cancelled"]
    cancelled = events[1][1]
    assert cancelled["demand_ids"] == [str(first)]
    assert cancelled["reason"] == "requirement incomplete"

    # Released, the first line pools with the late one: one tender for the whole requirement.
    await scheduler(tendering_db, now + timedelta(minutes=1), **policy).tick()
    newest, old = await tenders_of(tendering_db, "2103")
    assert (old["tender_id"], old["status"]) == (t1, "cancelled")
    assert newest["opened_by"] == "policy"
    assert await line_ids(tendering_db, newest["tender_id"]) == {first, late}


async def test_lots_are_evaluated_each_on_its_own_when_the_buyer_awards(
    tendering_db: asyncpg.Pool,
) -> None:
    await school(tendering_db, "2104", "210301", "Leeds")
    await school(tendering_db, "2104", "210302", "York")
    leeds = await demand(tendering_db, "2104", "210301", "600000", date(2027, 3, 31))
    york = await demand(tendering_db, "2104", "210302", "100000", date(2027, 3, 31))
    # Regulated and open: at least 25 days of bidding (Procurement Act 2023, s.54).
    opened_at = at(date(2026, 11, 28))
    closes_at = at(date(2026, 12, 23), hour=12)
    request = handlers.OpenRequest("2104", "electricity", closes_at, lots_by=LotsBy.LOCAL_AUTHORITY)
    async with store.TenderingUnitOfWork.begin(tendering_db) as work:
        tender_id = await handlers.open_tender(work, request, WINDOW, opened_at)
    tiers = [PriceTier(Decimal(0), Decimal("0.28")), PriceTier(Decimal(500000), Decimal("0.25"))]
    async with store.TenderingUnitOfWork.begin(tendering_db) as work:
        _, bid = await handlers.submit_bid(work, "s1", tender_id, 1, tiers, opened_at)

    # Quality counts and a bid came in: the award is the buyer's, so the deadline policy leaves
    # the tender open, before and after the trust scores the bid's quality.
    async with store.TenderingUnitOfWork.begin(tendering_db) as work:
        scores = [QualityScore(bid.bid_id, Decimal(80))]
        await handlers.record_quality_scores(work, "2104", tender_id, scores, closes_at)
    await scheduler(tendering_db, closes_at + timedelta(hours=1), auto_award=True).tick()
    status = await tendering_db.fetchval(
        "SELECT status FROM tenders WHERE tender_id = $1", tender_id
    )
    assert status == "open"
    async with store.TenderingUnitOfWork.begin(tendering_db) as work:
        await handlers.award_tender(work, "2104", tender_id, closes_at, awarded_by="manager:2104")

    tender = await tendering_db.fetchrow("SELECT * FROM tenders WHERE tender_id = $1", tender_id)
    assert tender is not None
    # (600,000 + 100,000) x 0.30 x 12/12 = 210,000; + 20% VAT = 252,000 >= 207,720: regulated.
    assert (tender["route"], tender["value_inc_vat"]) == ("regulated", Decimal("252000.00"))
    assert tender["status"] == "awarded"
    lots = await tendering_db.fetch(
        "SELECT * FROM tender_lots WHERE tender_id = $1 ORDER BY lot_no", tender_id
    )
    assert [(lot["name"], lot["status"]) for lot in lots] == [
        ("Leeds", "awarded"),
        ("York", "no_bids"),
    ]
    # Awarded 23 Dec 2026: 23, 24 Dec; 25 and 28 (substitute Boxing Day) are holidays; 29, 30,
    # 31; 1 Jan 2027 is a holiday; 4, 5, 6 Jan: the eighth working day is 6 Jan 2027.
    assert lots[0]["standstill_ends"] == date(2027, 1, 6)
    assert lots[0]["awarded_by"] == "manager:2104"
    assert lots[0]["pooled_unit_price"] == Decimal("0.25")
    rows = await tendering_db.fetch(
        "SELECT demand_id, status FROM demand_lines WHERE demand_id = ANY($1::uuid[])",
        [leeds, york],
    )
    statuses = {r["demand_id"]: r["status"] for r in rows}
    assert statuses == {leeds: "awarded", york: "open"}

    events = await events_of(tendering_db, tender_id)
    assert [e[0] for e in events] == [
        "tender.opened",
        "tender.bid_received",
        "tender.bid_scored",
        "tender.awarded",
        "tender.cancelled",
    ]
    awarded, released = events[3][1], events[4][1]
    assert (awarded["lot"], awarded["lot_name"], awarded["standstill_ends"]) == (
        1,
        "Leeds",
        "2027-01-06",
    )
    # Lot 1 alone: 600,000 kWh reaches the 500,000 tier, 0.25; so does the school alone.
    assert awarded["pooled_quantity"] == "600000"
    assert [
        (a["demand_id"], a["quantity"], a["pooled_unit_price"], a["solo_unit_price"])
        for a in awarded["allocations"]
    ] == [(str(leeds), "600000", "0.25", "0.25")]
    assert released["demand_ids"] == [str(york)]
    assert (
        released["reason"]
        == "no bids were received by the deadline for lot 2; the lines are open again"
    )

    # A decided tender stays as it is: awarding again changes nothing; cancelling is refused.
    async with store.TenderingUnitOfWork.begin(tendering_db) as work:
        await handlers.award_tender(work, "2104", tender_id, closes_at + timedelta(hours=1))
    assert len(await events_of(tendering_db, tender_id)) == 5
    with pytest.raises(TenderNotOpen, match="nothing to cancel"):
        async with store.TenderingUnitOfWork.begin(tendering_db) as work:
            await handlers.cancel_tender(work, "2104", tender_id, "too late", closes_at)


async def test_the_deadline_policy_awards_on_price_alone_and_leaves_quality_to_the_buyer(
    tendering_db: asyncpg.Pool,
) -> None:
    """At the deadline the policy awards a price-only tender and closes a tender without bids;
    a tender where quality counts and bids came in, even scored, waits for the manager."""
    opened_at = at(date(2027, 1, 4))
    closes_at = opened_at + timedelta(days=28)
    tiers = [PriceTier(Decimal(0), Decimal("0.29"))]

    async def tender_of(trust: str, weights: Weights, bidder: str | None) -> UUID:
        await demand(tendering_db, trust, f"{trust}01", "10000", date(2027, 3, 31))
        async with store.TenderingUnitOfWork.begin(tendering_db) as work:
            request = handlers.OpenRequest(trust, "electricity", closes_at, weights=weights)
            tender_id = await handlers.open_tender(work, request, WINDOW, opened_at)
            if bidder is not None:
                _, bid = await handlers.submit_bid(work, bidder, tender_id, None, tiers, opened_at)
                if weights.quality > 0:
                    scores = [QualityScore(bid.bid_id, Decimal(75))]
                    await handlers.record_quality_scores(work, trust, tender_id, scores, closes_at)
        return tender_id

    price_only = await tender_of("2108", PRICE_ONLY, "s1")
    scored = await tender_of("2109", Weights(), "s1")
    unbid = await tender_of("2110", Weights(), None)
    assert Weights().quality > 0  # the default weights count quality

    async def decided() -> dict[UUID, tuple[str, str, str | None]]:
        rows = await tendering_db.fetch(
            "SELECT tender_id, t.status AS tender_status, l.status, l.awarded_by FROM tenders t"
            " JOIN tender_lots l USING (tender_id) WHERE tender_id = ANY($1::uuid[])",
            [price_only, scored, unbid],
        )
        return {r["tender_id"]: (r["tender_status"], r["status"], r["awarded_by"]) for r in rows}

    await scheduler(tendering_db, closes_at - timedelta(seconds=1), auto_award=True).tick()
    assert set((await decided()).values()) == {("open", "open", None)}
    await scheduler(tendering_db, closes_at, auto_award=True).tick()
    assert await decided() == {
        price_only: ("awarded", "awarded", "deadline"),
        scored: ("open", "open", None),
        unbid: ("no_bids", "no_bids", None),
    }
    history = await tendering_db.fetch(
        "SELECT action, done_by FROM tender_history WHERE tender_id = $1 ORDER BY at", unbid
    )
    assert [(h["action"], h["done_by"]) for h in history][-1] == ("no_bids", "deadline")


async def test_the_scheduler_runs_in_the_background_of_the_service(
    tendering_db: asyncpg.Pool,
) -> None:
    line = await demand(tendering_db, "2105", "210401", "1000", date(2027, 3, 31))
    now = datetime.now(UTC)
    async with store.TenderingUnitOfWork.begin(tendering_db) as work:
        # Price alone decides: nothing for the award to wait for.
        request = handlers.OpenRequest(
            "2105", "electricity", now + timedelta(seconds=0.5), weights=PRICE_ONLY
        )
        tender_id = await handlers.open_tender(work, request, WINDOW, now)
        tiers = [PriceTier(Decimal(0), Decimal("0.29"))]
        await handlers.submit_bid(work, "s1", tender_id, None, tiers, now)
    background = Scheduler(
        lambda: tendering_db, PolicySettings(scheduler_interval_seconds=0.05), WINDOW
    )

    async with background.lifespan(FastAPI()):
        for _ in range(100):
            status = await tendering_db.fetchval(
                "SELECT status FROM demand_lines WHERE demand_id = $1", line
            )
            if status == "awarded":
                break
            await asyncio.sleep(0.05)

    assert status == "awarded"
    [lot] = await tendering_db.fetch("SELECT * FROM tender_lots WHERE tender_id = $1", tender_id)
    assert (lot["status"], lot["awarded_by"]) == ("awarded", "deadline")
    # 1,000 x 0.30 x 12/12 = 300 inc. VAT 360: quotes, so no standstill.
    assert lot["standstill_ends"] is None


async def test_a_line_withdrawn_while_its_pool_is_being_opened_is_a_conflict_not_a_crash(
    tendering_db: asyncpg.Pool,
) -> None:
    """A withdrawal is applied without the per-trust opening lock: when it commits between the
    opening reading the pool and taking its lines, the opening is refused as a conflict (409,
    "Pool changed"), not left to escape as the driver's SerializationError (a 500)."""
    now = at(date(2027, 1, 4))
    kept = await demand(tendering_db, "2106", "210501", "100000", date(2027, 3, 31))
    withdrawn = await demand(tendering_db, "2106", "210502", "100000", date(2027, 4, 30))
    event = new_event(
        DemandWithdrawn(demand_id=withdrawn, school_urn="210502", category="electricity"),
        trust_id="2106",
        correlation_id="t",
    )
    async with tendering_db.acquire() as intake_conn:
        racing = intake_conn.transaction()
        await racing.start()
        # The withdrawal holds the line's row until it commits; the opening reads the pool
        # (both lines still open for it) and then waits on that row to take the lines.
        await intake.demand_withdrawn(UnitOfWork(intake_conn), event)

        async def open_it() -> UUID:
            async with store.TenderingUnitOfWork.begin(tendering_db) as work:
                request = handlers.OpenRequest("2106", "electricity", now + timedelta(days=28))
                return await handlers.open_tender(work, request, WINDOW, now)

        opening = asyncio.create_task(open_it())
        for _ in range(200):
            waiting = await tendering_db.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock'"
            )
            if waiting or opening.done():
                break
            await asyncio.sleep(0.01)
        assert waiting == 1
        await racing.commit()

    with pytest.raises(PoolChanged) as refused:
        await opening
    problem = problem_of(refused.value)
    assert (problem.status, problem.title) == (409, "Pool changed")
    # Nothing of the opening remains: no tender, no event, the kept line still poolable.
    assert await tenders_of(tendering_db, "2106") == []
    statuses = await tendering_db.fetch(
        "SELECT demand_id, status, withdrawn FROM demand_lines WHERE demand_id = ANY($1::uuid[])",
        [kept, withdrawn],
    )
    assert {(r["demand_id"], r["status"], r["withdrawn"]) for r in statuses} == {
        (kept, "open", False),
        (withdrawn, "open", True),
    }
    # Retried, it opens the pool as it now is.
    async with store.TenderingUnitOfWork.begin(tendering_db) as work:
        request = handlers.OpenRequest("2106", "electricity", now + timedelta(days=28))
        tender_id = await handlers.open_tender(work, request, WINDOW, now)
    assert await line_ids(tendering_db, tender_id) == {kept}


async def test_racing_openings_and_awards_of_one_pool_give_one_tender_and_one_award(
    tendering_db: asyncpg.Pool,
) -> None:
    """Openings are serialised per trust and awards lock the tender: of two openings of one
    pool, one opens it and the other is refused as a conflict (no open demand left); of two
    awards, one decides and the other finds the tender decided."""
    now = at(date(2027, 1, 4))
    await demand(tendering_db, "2107", "210601", "100000", date(2027, 3, 31))
    closes_at = now + timedelta(days=28)

    async def open_it() -> UUID:
        async with store.TenderingUnitOfWork.begin(tendering_db) as work:
            request = handlers.OpenRequest("2107", "electricity", closes_at, weights=PRICE_ONLY)
            return await handlers.open_tender(work, request, WINDOW, now)

    first, second = await asyncio.gather(open_it(), open_it(), return_exceptions=True)
    [tender_id] = [r for r in (first, second) if isinstance(r, UUID)]
    [refused] = [r for r in (first, second) if isinstance(r, BaseException)]
    assert isinstance(refused, NoOpenDemand)
    assert (problem_of(refused).status, problem_of(refused).title) == (409, "No open demand")

    async with store.TenderingUnitOfWork.begin(tendering_db) as work:
        tiers = [PriceTier(Decimal(0), Decimal("0.29"))]
        await handlers.submit_bid(work, "s1", tender_id, None, tiers, now)

    async def award_it() -> None:
        async with store.TenderingUnitOfWork.begin(tendering_db) as work:
            await handlers.award_tender(work, "2107", tender_id, closes_at)

    await asyncio.gather(award_it(), award_it())
    events = [event_type for event_type, _ in await events_of(tendering_db, tender_id)]
    assert events == ["tender.opened", "tender.bid_received", "tender.awarded"]

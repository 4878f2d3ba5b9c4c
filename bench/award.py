"""Award of a tender with 10,000 schools: one trust of 10,000 schools, one electricity line each
(sent through the Kafka ingress), one open tender over all of them, one bid; the clock runs from
the manager's `POST /v1/tenders/{id}/award` to the commit of the last of the 10,000 savings
ledger entries (the commit timestamp of its row in savings).

The check: exactly the tender's 10,000 lines in the ledger, once each, and the ledger's totals
equal to the penny what the pure domain functions give for the lines and bid sent here
(tendering's `price_at` for the pooled and solo prices, savings' `ledger_figures` and `totals`).
"""

import asyncio
import secrets
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID

import httpx

from bench import kafka
from bench.results import Figure, Report
from bench.system import Bench, progress, until
from bench.workload import Submission, one_each, schools
from services.savings.domain.ledger import Allocation, Totals, ledger_figures, totals
from services.tendering.domain.pricing import PriceTier, price_at
from shared.auth import Role
from shared.events import Topics

TRUST = schools(first_trust=7300, trusts=1, per_trust=10_000, first_urn=730000)
TERM_MONTHS = 24
TIERS = [
    PriceTier(Decimal("0"), Decimal("0.3000")),
    PriceTier(Decimal("1000000"), Decimal("0.2600")),
    PriceTier(Decimal("100000000"), Decimal("0.2300")),
]
BIDDING_SECONDS = 10
TARGET_SECONDS = 2.0
FIGURES = (
    "annual_baseline_cost",
    "annual_contract_cost",
    "annual_saving",
    "term_saving",
    "economy_of_scale",
)


async def run(bench: Bench) -> Report:
    report = Report(f"Award of one tender to {len(TRUST):,} schools")
    trust = TRUST[0].trust_id
    await bench.load_registry(TRUST)
    await bench.single_demand()
    run_id = f"award-{secrets.token_hex(3)}"
    lines = one_each(run_id, TRUST, seed=10)
    await kafka.produce(bench.bootstrap, Topics.SUBMISSIONS, [s.record() for s in lines])
    await progress(
        lambda: bench.lines("tendering", [trust]), len(lines), "lines pooled in tendering"
    )

    manager = {"Authorization": f"Bearer {bench.system.token(Role.MANAGER, trust)}"}
    supplier = {"Authorization": f"Bearer {bench.system.token(Role.SUPPLIER, 'bench-supplier')}"}
    tendering = bench.system.urls["tendering"]
    closes_at = datetime.now(UTC) + timedelta(seconds=BIDDING_SECONDS)
    async with httpx.AsyncClient(base_url=tendering, timeout=60) as http:
        opened = await http.post(
            "/v1/tenders",
            headers=manager,
            json={
                "trust_id": trust,
                "category": "electricity",
                "closes_at": closes_at.isoformat(),
                "term_months": TERM_MONTHS,
                # One bidder: price alone decides, no quality scores to wait for.
                "weights": {"price": "1", "quality": "0"},
                # A call-off from a framework: no minimum tendering period (Procurement Act
                # 2023, s.54), so the bench's bidding window can be seconds.
                "procedure": "framework_call_off",
                "framework": "ESPO 191 Energy",
            },
        )
        opened.raise_for_status()
        tender_id = UUID(opened.json()["tender_id"])
        bid = await http.post(
            f"/v1/tenders/{tender_id}/bids",
            headers=supplier,
            json={
                "price_tiers": [
                    {"min_quantity": str(t.min_quantity), "unit_price": str(t.unit_price)}
                    for t in TIERS
                ],
            },
        )
        bid.raise_for_status()
        await asyncio.sleep((closes_at - datetime.now(UTC)).total_seconds() + 0.2)
        started = time.time()
        awarded = await http.post(f"/v1/tenders/{tender_id}/award", headers=manager)
        answered = time.time()
    report.check("the award request succeeded", awarded.status_code == 200)

    async with bench.db("savings") as conn:

        async def recorded() -> int:
            return int(
                await conn.fetchval(
                    "SELECT count(*) FROM ledger_entries WHERE tender_id = $1", tender_id
                )
            )

        await progress(recorded, len(lines), "ledger entries", stall=30)
        ledger = await conn.fetchrow(
            "SELECT count(*) AS entries, count(DISTINCT demand_id) AS lines,"
            " max(extract(epoch FROM pg_xact_commit_timestamp(xmin)))::float8 AS committed,"
            " sum(annual_baseline_cost) AS annual_baseline_cost,"
            " sum(annual_contract_cost) AS annual_contract_cost,"
            " sum(annual_saving) AS annual_saving, sum(term_saving) AS term_saving,"
            " sum(economy_of_scale) AS economy_of_scale"
            " FROM ledger_entries WHERE tender_id = $1",
            tender_id,
        )
        ledger_ids = {
            r[0]
            for r in await conn.fetch(
                "SELECT demand_id FROM ledger_entries WHERE tender_id = $1", tender_id
            )
        }
    async with bench.db("tendering") as conn:
        tender_ids = {
            r[0]
            for r in await conn.fetch(
                "SELECT demand_id FROM tender_lines WHERE tender_id = $1", tender_id
            )
        }
        award_committed = await until(
            lambda: conn.fetchval(
                "SELECT max(extract(epoch FROM pg_xact_commit_timestamp(xmin)))::float8"
                " FROM tender_lots WHERE tender_id = $1 AND status = 'awarded'",
                tender_id,
            ),
            lambda at: at is not None,
            within=10,
            what="the award in tendering",
        )

    assert ledger is not None  # an aggregate always returns a row
    expected = _expected(lines)
    count = len(lines)
    report.check(f"the tender covers all {count:,} lines", len(tender_ids) == count)
    report.check(
        f"{count:,} ledger entries, one per line of the tender",
        ledger["entries"] == count and ledger["lines"] == count and ledger_ids == tender_ids,
    )
    for field in FIGURES:
        report.check(
            f"ledger {field} = {getattr(expected, field)} (domain functions) to the penny",
            ledger[field] == getattr(expected, field),
        )
    seconds = ledger["committed"] - started
    bench.measured["award_seconds"] = seconds
    report.figures.append(
        Figure(
            f"award of {count:,} schools -> ledger committed",
            f"{seconds:.2f} s",
            f"< {TARGET_SECONDS:.0f} s",
            seconds < TARGET_SECONDS,
        )
    )
    report.notes.append(
        f"POST award answered after {answered - started:.2f} s; tendering committed the award"
        f" {award_committed - started:.2f} s after the request, the last ledger entry"
        f" {seconds:.2f} s after it"
    )
    return report


def _expected(lines: list[Submission]) -> Totals:
    """The ledger's totals, worked out from what was sent with the pure domain functions."""
    pooled = price_at(TIERS, sum((s.quantity for s in lines), Decimal(0)))
    return totals(
        ledger_figures(
            Allocation(
                school_urn=s.school.urn,
                quantity=s.quantity,
                baseline_unit_price=s.unit_price,
                pooled_unit_price=pooled,
                solo_unit_price=price_at(TIERS, s.quantity),
            ),
            TERM_MONTHS,
        )
        for s in lines
    )

"""Trust savings summary (`GET /v1/trusts/{id}/savings`) over a large ledger: 1,000,000 ledger
entries across 2,500 trusts (10 schools each, 40 awards each) are bulk-loaded straight into the
savings database with COPY, so this figure measures the read path only, not the writing of the
ledger. Then the summary of randomly chosen trusts is requested one after another; p95 of the
answer time.

Each entry's figures come from the domain's `ledger_figures` (997 allocations in turn, so the
load is quick). The check: every answer is 200 and its totals and school count equal, to the
penny, the sums of the entries loaded for that trust.
"""

import json
import random
import time
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from urllib.parse import urlsplit
from uuid import uuid4

from bench.http_client import Connection, request
from bench.results import Figure, Report, percentile
from bench.system import Bench
from services.savings.domain.ledger import (
    RULE_VERSION,
    Allocation,
    LedgerFigures,
    entry_id,
    ledger_figures,
)
from services.savings.domain.supply import supply as supply_window
from services.savings.store import LEDGER_COLUMNS, LedgerRow, as_record
from shared.auth import Role
from shared.domain.categories import categories

TRUSTS = [str(8001 + t) for t in range(2500)]
SCHOOLS_PER_TRUST = 10
AWARDS_PER_TRUST = 40
REQUESTS = 1000
WARM_UP = 50
TARGET_P95_MS = 100
TOTALS = ("annual_baseline_cost", "annual_contract_cost", "annual_saving", "term_saving")


def _allocations() -> list[tuple[Allocation, LedgerFigures]]:
    rng = random.Random(3)
    result = []
    for _ in range(997):
        solo = Decimal(rng.randint(2600, 3200)) / 10_000
        allocation = Allocation(
            school_urn="",
            quantity=Decimal(rng.randint(1_000_000, 150_000_000)) / 1000,
            baseline_unit_price=Decimal(rng.randint(2500, 3200)) / 10_000,
            pooled_unit_price=solo - Decimal(rng.randint(0, 400)) / 10_000,
            solo_unit_price=solo,
        )
        result.append((allocation, ledger_figures(allocation, 24)))
    return result


def _ledger() -> tuple[list[LedgerRow], dict[str, dict[str, Decimal]]]:
    """The entries to load, and each trust's expected totals."""
    recorded_at = datetime.now(UTC)
    allocations = _allocations()
    codes = sorted(categories())
    expected: dict[str, dict[str, Decimal]] = defaultdict(
        lambda: dict.fromkeys(TOTALS, Decimal("0.00"))
    )
    rows = []
    n = 0
    for t, trust in enumerate(TRUSTS):
        sums = expected[trust]
        for award in range(AWARDS_PER_TRUST):
            tender_id, bid_id, event_id = uuid4(), uuid4(), uuid4()
            category = codes[award % len(codes)]
            start = date(2026, 4, 1) + timedelta(days=30 * award)
            supply = supply_window(start, None, recorded_at.date(), 24)
            for s in range(SCHOOLS_PER_TRUST):
                allocation, f = allocations[n % len(allocations)]
                n += 1
                demand_id = uuid4()
                rows.append(
                    LedgerRow(
                        f.annual_baseline_cost,
                        f.annual_contract_cost,
                        f.annual_saving,
                        f.term_saving,
                        f.saving_pct,
                        f.economy_of_scale,
                        entry_id(tender_id, demand_id),
                        trust,
                        tender_id,
                        bid_id,
                        f"supplier-{award % 7}",
                        demand_id,
                        f"{800000 + t * SCHOOLS_PER_TRUST + s:06d}",
                        category,
                        categories()[category].unit,
                        allocation.quantity,
                        allocation.baseline_unit_price,
                        allocation.pooled_unit_price,
                        allocation.solo_unit_price,
                        24,
                        start,
                        RULE_VERSION,
                        event_id,
                        recorded_at,
                        lot=None,
                        lot_name=None,
                        standstill_ends=None,
                        supply_start=supply.start,
                        supply_end=supply.end,
                    )
                )
                for name in TOTALS:
                    sums[name] += getattr(f, name)
    return rows, expected


async def run(bench: Bench) -> Report:
    report = Report("Trust savings summary over 1,000,000 ledger entries")
    started = time.monotonic()
    rows, expected = _ledger()
    schools = [
        (f"{800000 + t * SCHOOLS_PER_TRUST + s:06d}", trust, f"School {t}-{s}", f"Trust {trust}")
        for t, trust in enumerate(TRUSTS)
        for s in range(SCHOOLS_PER_TRUST)
    ]
    async with bench.db("savings") as conn:
        await conn.copy_records_to_table(
            "schools", records=schools, columns=["urn", "trust_id", "name", "trust_name"]
        )
        await conn.copy_records_to_table(
            "ledger_entries", records=map(as_record, rows), columns=LEDGER_COLUMNS
        )
        await conn.execute("ANALYZE schools")
        await conn.execute("ANALYZE ledger_entries")
        loaded = await conn.fetchval(
            "SELECT count(*) FROM ledger_entries WHERE trust_id = ANY($1)", TRUSTS
        )
    report.check(f"{len(rows):,} entries loaded", loaded == len(rows) == 1_000_000)
    report.notes.append(
        f"ledger bulk-loaded with COPY ({len(rows):,} entries, {len(TRUSTS):,} trusts,"
        f" {len(schools):,} schools) in {time.monotonic() - started:.0f} s: the figure measures"
        " the read path, not the ledger's writing"
    )

    rng = random.Random(5)
    chosen = [rng.choice(TRUSTS) for _ in range(WARM_UP + REQUESTS)]
    tokens = {t: bench.system.token(Role.MANAGER, t) for t in set(chosen)}
    url = urlsplit(bench.system.urls["savings"])
    host = url.hostname or "127.0.0.1"
    connection = await Connection.open(host, url.port or 80)
    latencies, wrong = [], 0
    try:
        for n, trust in enumerate(chosen):
            headers = {"Authorization": f"Bearer {tokens[trust]}"}
            sent = time.perf_counter()
            status, body = await connection.exchange(
                request("GET", host, f"/v1/trusts/{trust}/savings", headers)
            )
            if n >= WARM_UP:
                latencies.append(time.perf_counter() - sent)
            wrong += not _matches(status, body, expected[trust])
    finally:
        connection.close()
    report.check(
        f"all {len(chosen):,} answers 200 with the trust's totals to the penny", wrong == 0
    )
    latencies.sort()
    p50, p95, top = (percentile(latencies, q) for q in (0.5, 0.95, 1))
    report.figures.append(
        Figure(
            "trust savings summary p95 (1M entries, 2,500 trusts)",
            f"{p95 * 1000:.1f} ms (p50 {p50 * 1000:.1f} ms)",
            f"< {TARGET_P95_MS} ms",
            p95 * 1000 < TARGET_P95_MS,
        )
    )
    report.notes.append(
        f"{REQUESTS:,} requests one after another over random trusts (after {WARM_UP} to warm"
        f" up), one keep-alive connection; max {top * 1000:.1f} ms"
    )
    return report


def _matches(status: int, body: bytes, expected: dict[str, Decimal]) -> bool:
    if status != 200:
        return False
    summary = json.loads(body)
    return len(summary["schools"]) == SCHOOLS_PER_TRUST and all(
        Decimal(summary[name]) == expected[name] for name in TOTALS
    )

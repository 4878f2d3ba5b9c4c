"""Spend at scale (issue 17): 1,000,000 spend lines over 2,500 trusts on the Kafka ingress
`spend.submissions`, recorded by demand as `spend.recorded` on `procurement.spend`, applied by
savings, then read as a trust's realised savings.

Set-up: the trusts' 25,050 schools registered through demand's registry; one electricity
contract per trust (a ledger entry for each of its schools, supplier `supplier-a`, supply from
2026-01-01 for two years, and its award's tier minimum) bulk-loaded into savings with COPY
before any spend: not awarded through tendering (the award benchmark measures that), so that
a fifth of the lines (electricity) are on or off contract and the rest uncontracted. One
trust is large (60 schools and 12,000 lines, a large trust's year of invoices); the other 2,499
have 10 schools and about 395 lines each: monthly invoices of 2026 in five categories.

Each stage on its own, as the demand ingress is measured:
- ingest: the lines pre-produced, then consumed by a freshly started demand service while
  savings is stopped; N over the time from the first line committed (its transaction's commit
  timestamp) to the last `spend.recorded` published (its record's timestamp), against the raw
  producer rate the baseline measured in the same run;
- savings' apply: savings then started on the backlog of N `spend.recorded`; N over its first
  line committed to its last;
- realised summary: `GET /v1/trusts/{id}/savings/realised` one request after another on a
  keep-alive connection, for a typical trust (200 requests) and for the large one (60); p50 and
  p95, and the CPU savings used per request (from /proc: the figure a busy host moves least).

Targets: ingest >= 25% of raw produce, the demand ingress's (the same door and machinery, with
records of about the same size); realised p95 < 100 ms for a typical trust (the savings
summary's: a page a finance director opens should feel immediate) and < 1 s for the large one
(a big trust's year of invoices, worked out on every request: within a second a wait does not
break the reader's train of thought). Savings' apply rate is information (no target in the
issue), reported as a ratio too.

The checks: N lines in demand, each one's `spend.recorded` on the topic exactly once, nothing
dead-lettered, N lines in savings, and every answer 200 with totals equal to the penny to the
sums of the trust's stored lines.
"""

import json
import os
import random
import secrets
import time
from collections import Counter
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit
from uuid import uuid4

from bench import kafka
from bench.http_client import Connection, request
from bench.ingress import TARGET_RATIO
from bench.results import Figure, Report, percentile
from bench.system import Bench, progress, settled
from bench.workload import School, schools
from services.savings.domain.ledger import RULE_VERSION, Allocation, entry_id, ledger_figures
from services.savings.store import LEDGER_COLUMNS, LedgerRow, as_record
from shared.auth import Role
from shared.events import Topics
from shared.service import KafkaRecord

COUNT = 1_000_000
LARGE = schools(first_trust=30000, trusts=1, per_trust=60, first_urn=300000)
OTHERS = schools(first_trust=30001, trusts=2499, per_trust=10, first_urn=300100)
# A large trust's year of invoices (60 schools, 10 categories, monthly, some split in lines).
LARGE_LINES = 12_000
# (category, unit, lowest and highest price in ten-thousandths of a pound, quantity range)
CATEGORIES = (
    ("electricity", "kWh", 2200, 3200, (500, 20_000)),
    ("gas", "kWh", 600, 900, (1_000, 40_000)),
    ("water", "m3", 20_000, 30_000, (20, 800)),
    ("cleaning", "hour", 150_000, 220_000, (20, 400)),
    ("catering", "meal", 22_000, 31_000, (500, 9_000)),
)
# Electricity bought from the contract's supplier (also as the invoice spells it, in another
# case) or not.
SUPPLIERS = ("supplier-a", "supplier-a", "supplier-a", "SUPPLIER-A", "supplier-b")
SUPPLY_START = date(2026, 1, 1)
# Requests (after a few to warm up) for the typical trust and for the large one, whose answers
# take long enough that 200 would add minutes to the run.
REQUESTS = {"typical": 200, "large": 60}
WARM_UP = 10
# A page a finance director waits for: the typical trust as fast as the savings summary's
# target; the largest within a second, the limit for a wait that does not break the flow.
TARGET_TYPICAL_MS = 100
TARGET_LARGE_MS = 1000
FIGURES = ("realised_saving", "expected_saving", "price_variance", "off_contract_spend", "leakage")


async def run(bench: Bench) -> Report:
    count = bench.spend_count or COUNT
    report = Report(f"Spend: {count:,} lines over {len(_by_trust(LARGE + OTHERS)):,} trusts")
    started, load = time.monotonic(), _load()
    await bench.load_registry(LARGE + OTHERS)
    await _contracts(bench)
    report.notes.append(
        f"set-up: {len(LARGE + OTHERS):,} schools registered through demand and one electricity"
        f" contract per trust COPYed into savings in {time.monotonic() - started:.0f} s"
    )
    run_id = f"spend-{secrets.token_hex(3)}"
    produce_rate = bench.measured["produce_rate"]
    ingest = await _ingest(bench, report, run_id, count)
    applied = await _applied(bench, report, run_id, count)
    report.figures += [
        Figure(
            f"spend ingest ({count:,} lines, 1 demand instance)",
            f"{ingest:,.0f} lines/s = {ingest / produce_rate:.1%} of raw produce",
            f">= {TARGET_RATIO:.0%} of raw produce",
            ingest / produce_rate >= TARGET_RATIO,
        ),
        Figure(
            "spend applied by savings (backlog)",
            f"{applied:,.0f} lines/s = {applied / produce_rate:.1%} of raw produce",
            "(info)",
            None,
        ),
    ]
    typical, large = OTHERS[0].trust_id, LARGE[0].trust_id
    report.figures += [
        await _realised(bench, report, typical, "typical", TARGET_TYPICAL_MS),
        await _realised(bench, report, large, "large", TARGET_LARGE_MS),
    ]
    report.notes.append(
        f"the machine's load average (1, 5, 15 min) at the end: {_load()}; at the start: {load}"
    )
    return report


def _cpu_seconds(pid: int) -> float:
    """CPU time a process has used (user and system), from /proc."""
    stat = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")


def _load() -> str:
    """The host's run-queue length: other work on a shared machine slows every figure."""
    return ", ".join(f"{n:.1f}" for n in os.getloadavg())


def _lines(run_id: str, count: int) -> list[tuple[bytes, bytes]]:
    """The spend records, keyed by trust as a finance system sends them."""
    rng = random.Random(17)
    large = min(LARGE_LINES, count // 2)
    records = []
    for n in range(count):
        # The large trust's lines spread evenly among the others'.
        among = LARGE if (n + 1) * large // count > n * large // count else OTHERS
        records.append(_record(f"{run_id}-{n}", rng.choice(among), rng))
    return records


def _record(invoice_ref: str, school: School, rng: random.Random) -> tuple[bytes, bytes]:
    category, unit, low, high, (least, most) = rng.choice(CATEGORIES)
    month = rng.randint(1, 11)
    start = date(2026, month, 1)
    # Quantities to 3 places and prices to 4, so that every figure needs rounding.
    quantity = Decimal(rng.randint(least * 1000, most * 1000)) / 1000
    amount = (quantity * rng.randint(low, high) / 10_000).quantize(Decimal("0.01"))
    body = {
        "trust_id": school.trust_id,
        "school_urn": school.urn,
        "category": category,
        "supplier": rng.choice(SUPPLIERS) if category == "electricity" else f"{category}-co",
        "invoice_ref": invoice_ref,
        "period_start": start.isoformat(),
        "period_end": (date(2026, month + 1, 1) - timedelta(days=1)).isoformat(),
        "quantity": str(quantity),
        "unit": unit,
        "amount": str(amount),
    }
    return school.trust_id.encode(), json.dumps(body).encode()


async def _contracts(bench: Bench) -> None:
    """One electricity contract per trust, a ledger entry per school, and its tier minimum."""
    allocation = Allocation(
        "", Decimal("60000"), Decimal("0.3000"), Decimal("0.2500"), Decimal("0.2700")
    )
    terms = asdict(allocation)
    del terms["school_urn"]
    # What every entry has in common: the contract's terms, its figures and its supply window.
    common = {
        "supplier_id": "supplier-a",
        "category": "electricity",
        "unit": "kWh",
        **terms,
        "term_months": 24,
        "contract_start": SUPPLY_START,
        **asdict(ledger_figures(allocation, 24)),
        "rule_version": RULE_VERSION,
        "recorded_at": datetime(2025, 12, 1, tzinfo=UTC),
        "lot": None,
        "lot_name": None,
        "standstill_ends": None,
        "supply_start": SUPPLY_START,
        "supply_end": date(2027, 12, 31),
    }
    entries, tiers = [], []
    for trust, members in _by_trust(LARGE + OTHERS).items():
        tender_id, bid_id, event_id = uuid4(), uuid4(), uuid4()
        tiers.append((tender_id, trust, Decimal(60000 * len(members)), event_id))
        for school in members:
            demand_id = uuid4()
            ids = {"tender_id": tender_id, "bid_id": bid_id, "source_event_id": event_id}
            entries.append(
                LedgerRow(
                    **common | ids,
                    entry_id=entry_id(tender_id, demand_id),
                    trust_id=trust,
                    demand_id=demand_id,
                    school_urn=school.urn,
                )
            )
    async with bench.db("savings") as conn:
        await conn.copy_records_to_table(
            "ledger_entries", records=map(as_record, entries), columns=LEDGER_COLUMNS
        )
        await conn.copy_records_to_table(
            "award_tiers",
            records=tiers,
            columns=["tender_id", "trust_id", "tier_minimum", "source_event_id"],
        )
        await conn.execute("ANALYZE ledger_entries")


def _by_trust(members: list[School]) -> dict[str, list[School]]:
    grouped: dict[str, list[School]] = {}
    for school in members:
        grouped.setdefault(school.trust_id, []).append(school)
    return grouped


class _Recorded(kafka.Tail):
    """Follows `procurement.spend` keeping only each record's spend_id and the last timestamp
    (a million whole records would cost the bench process memory and CPU while demand runs)."""

    def __init__(self, bootstrap: str) -> None:
        super().__init__(bootstrap, Topics.SPEND)
        self.published: Counter[bytes] = Counter()
        self.seen = 0
        self.last = 0.0

    def keep(self, batch: list[KafkaRecord]) -> None:
        for record in batch:
            at = record.value.find(b'"spend_id":"') + 12
            self.published[record.value[at : at + 36]] += 1
            self.last = max(self.last, record.timestamp / 1000)
        self.seen += len(batch)

    async def count(self) -> int:
        return self.seen


async def _ingest(bench: Bench, report: Report, run_id: str, count: int) -> float:
    """The lines through demand, savings stopped; lines/s."""
    for name in [n for n in bench.system.processes if n.startswith("demand")]:
        bench.stop(name)
    built = time.monotonic()
    records = _lines(run_id, count)
    built = time.monotonic() - built
    async with (
        bench.stopped("savings"),
        _Recorded(bench.bootstrap) as recorded,
        kafka.Tail(bench.bootstrap, Topics.dead_letters(Topics.SPEND_SUBMISSIONS)) as refused,
    ):
        seconds = await kafka.produce(bench.bootstrap, Topics.SPEND_SUBMISSIONS, records)
        del records
        await bench.start(["demand"])
        await progress(recorded.count, count, "spend.recorded published", stall=60)
        await settled(recorded.count)
    async with bench.db("demand") as conn:
        [(stored, first, low, high)] = await conn.fetch(
            "SELECT count(*), min(t), percentile_disc(0.1) WITHIN GROUP (ORDER BY t),"
            " percentile_disc(0.9) WITHIN GROUP (ORDER BY t) FROM (SELECT"
            " extract(epoch FROM pg_xact_commit_timestamp(xmin))::float8 AS t"
            " FROM spend_lines WHERE invoice_ref LIKE $1) AS lines",
            f"{run_id}-%",
        )
    once = sum(1 for n in recorded.published.values() if n == 1)
    report.check(f"{count:,} spend lines committed in demand", stored == count)
    report.check(
        "each line's spend.recorded on the topic exactly once",
        once == len(recorded.published) == count,
    )
    report.check("nothing dead-lettered", not refused.records)
    elapsed = recorded.last - first
    report.notes += [
        f"{count:,} records built in {built:.0f} s, produced in {seconds:.1f} s"
        f" ({count / seconds:,.0f} msg/s: a raw producer on these records; the ratio is to the"
        " baseline's)",
        f"ingest: {count / elapsed:,.0f} lines/s over {elapsed:.1f} s (first line committed ->"
        f" last spend.recorded published); middle 80% of commits:"
        f" {count * 0.8 / (high - low):,.0f} lines/s",
    ]
    return float(count / elapsed)


async def _applied(bench: Bench, report: Report, run_id: str, count: int) -> float:
    """Savings (started again) applying the backlog of spend.recorded; lines/s."""
    async with bench.db("savings") as conn:
        # Rows inserted by savings since now, as PostgreSQL's statistics count them (a count
        # of the lines every half second would take CPU from savings).
        async def inserted_so_far() -> int:
            return int(
                await conn.fetchval(
                    "SELECT coalesce(sum(n_tup_ins), 0) FROM pg_stat_user_tables"
                    " WHERE relname = 'spend_lines'"
                )
            )

        before = await inserted_so_far()

        async def inserted() -> int:
            return await inserted_so_far() - before

        await progress(inserted, count, "spend lines in savings", stall=60)
        [(stored, first, last)] = await conn.fetch(
            "SELECT count(*), min(t), max(t) FROM (SELECT"
            " extract(epoch FROM pg_xact_commit_timestamp(xmin))::float8 AS t"
            " FROM spend_lines WHERE invoice_ref LIKE $1) AS lines",
            f"{run_id}-%",
        )
        statuses = {
            status: n
            for status, n in await conn.fetch(
                "SELECT status, count(*) FROM spend_lines WHERE invoice_ref LIKE $1"
                " GROUP BY status ORDER BY status",
                f"{run_id}-%",
            )
        }
    report.check(f"{count:,} spend lines in savings", stored == count)
    report.notes.append(
        f"savings: {count / (last - first):,.0f} lines/s over {last - first:.1f} s (first line"
        f" committed -> last); {', '.join(f'{s} {n:,}' for s, n in statuses.items())}"
    )
    return float(count / (last - first))


async def _realised(bench: Bench, report: Report, trust: str, kind: str, target: int) -> Figure:
    async with bench.db("savings") as conn:
        [row] = await conn.fetch(
            "SELECT count(*) AS lines, coalesce(sum(realised_saving), 0) AS realised_saving,"
            " coalesce(sum(expected_saving), 0) AS expected_saving,"
            " coalesce(sum(price_variance), 0) AS price_variance,"
            " coalesce(sum(off_contract_spend), 0) AS off_contract_spend,"
            " coalesce(sum(leakage), 0) AS leakage FROM spend_lines WHERE trust_id = $1",
            trust,
        )
    requests = REQUESTS[kind]
    print(f"   realised, {kind} trust {trust}: {WARM_UP + requests} requests", flush=True)
    headers = {"Authorization": f"Bearer {bench.system.token(Role.MANAGER, trust)}"}
    url = urlsplit(bench.system.urls["savings"])
    host = url.hostname or "127.0.0.1"
    connection = await Connection.open(host, url.port or 80)
    latencies, wrong = [], 0
    savings = bench.system.processes["savings"].pid
    cpu = _cpu_seconds(savings)
    try:
        for n in range(WARM_UP + requests):
            if n == WARM_UP:
                cpu = _cpu_seconds(savings)
            sent = time.perf_counter()
            status, body = await connection.exchange(
                request("GET", host, f"/v1/trusts/{trust}/savings/realised", headers)
            )
            if n >= WARM_UP:
                latencies.append(time.perf_counter() - sent)
            answer = json.loads(body) if status == 200 else {}
            wrong += not all(Decimal(answer.get(f, "NaN")) == row[f] for f in FIGURES)
        cpu = _cpu_seconds(savings) - cpu
    finally:
        connection.close()
    report.check(
        f"{kind} trust {trust}: all {WARM_UP + requests} answers 200 with the totals of its"
        f" {row['lines']:,} lines to the penny",
        wrong == 0,
    )
    latencies.sort()
    p50, p95, top = (percentile(latencies, q) for q in (0.5, 0.95, 1))
    report.notes.append(
        f"realised, {kind} trust: {requests} requests one after another (after {WARM_UP} to"
        f" warm up), one keep-alive connection; max {top * 1000:.1f} ms; savings used"
        f" {cpu / requests * 1000:.0f} ms of CPU per request (its process, /proc)"
    )
    return Figure(
        f"realised summary p95, {kind} trust ({row['lines']:,} lines)",
        f"{p95 * 1000:.1f} ms (p50 {p50 * 1000:.1f} ms, CPU {cpu / requests * 1000:.0f} ms)",
        f"< {target:,} ms",
        p95 * 1000 < target,
    )

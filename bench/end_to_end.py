"""End to end at a steady rate: an open-loop producer sends submissions to `demand.submissions`
at 1,000/s on a fixed schedule; each one's latency runs from its intended send time to the
commit of its line in tendering's pools (the commit timestamp of tendering's `demand_lines` row),
through the demand service, its outbox relay, the broker and tendering's inbox consumer.

Resident memory of the three services is sampled during the run (the steady-load figure).

The check: every submission pooled exactly once, its `demand.registered` on the topic exactly
once, nothing dead-lettered.
"""

import asyncio
import secrets
import time
from collections import Counter
from uuid import UUID

from bench import kafka, memory, observe
from bench.results import Figure, Report, percentile
from bench.system import Bench, progress, settled
from bench.workload import Submission, schools, submissions
from shared.events import Topics

TRUSTS = schools(first_trust=7101, trusts=50, per_trust=20, first_urn=701000)
RATE = 1000
SECONDS = 25
TARGET_P99_MS = 250


async def run(bench: Bench) -> Report:
    report = Report(f"End to end at {RATE:,} submissions/s for {SECONDS} s")
    await bench.load_registry(TRUSTS)
    await bench.single_demand()
    run_id = f"e2e-{secrets.token_hex(3)}"
    sent = submissions(run_id, TRUSTS, RATE * SECONDS, seed=7)
    trusts = [s.trust_id for s in TRUSTS]
    pooled_before = await bench.lines("tendering", trusts)
    async with (
        kafka.Tail(bench.bootstrap, Topics.DEMAND) as events,
        kafka.Tail(bench.bootstrap, Topics.dead_letters(Topics.SUBMISSIONS)) as refused,
        kafka.Tail(bench.bootstrap, Topics.dead_letters(Topics.DEMAND)) as not_applied,
        memory.Sampler(bench) as rss,
    ):
        intended, late = await _send_steadily(bench.bootstrap, sent)
        await progress(
            lambda: bench.lines("tendering", trusts), pooled_before + len(sent), "lines pooled"
        )
        await settled(events.count)
    demand_ids = await observe.kafka_lines(bench, run_id, (s.school.trust_id for s in sent))
    async with bench.db("tendering") as conn:
        rows = await conn.fetch(
            "SELECT demand_id, extract(epoch FROM pg_xact_commit_timestamp(xmin))::float8 AS at"
            " FROM demand_lines WHERE demand_id = ANY($1)",
            list(demand_ids.values()),
        )
    pooled: dict[UUID, float] = {r["demand_id"]: r["at"] for r in rows}
    latencies = sorted(
        pooled[demand_ids[s.submission_id]] - at
        for s, at in zip(sent, intended, strict=True)
        if demand_ids.get(s.submission_id) in pooled
    )
    registered = Counter(demand_id for demand_id, _ in observe.registered(events.records))
    count = len(sent)
    report.check(f"{count:,} submissions -> {count:,} demand lines", len(demand_ids) == count)
    report.check(f"{count:,} lines pooled in tendering", len(latencies) == count)
    report.check(
        "each line's demand.registered on the topic exactly once",
        all(registered[i] == 1 for i in demand_ids.values()),
    )
    report.check("nothing dead-lettered", not refused.records and not not_applied.records)

    def at(q: float) -> float:
        return percentile(latencies, q) * 1000

    report.figures.append(
        Figure(
            f"end to end p99 at {RATE:,}/s (submission -> pooled)",
            f"{at(0.99):,.0f} ms (p50 {at(0.5):,.0f} ms)",
            f"< {TARGET_P99_MS} ms",
            at(0.99) < TARGET_P99_MS,
        )
    )
    report.figures += [
        Figure(
            f"RSS {service} at steady load (max)",
            f"{mb:.0f} MB",
            f"< {memory.TARGET_MB} MB",
            mb < memory.TARGET_MB,
        )
        for service, mb in rss.peak.items()
    ]
    report.notes += [
        f"latency from the intended send time: p50 {at(0.5):,.0f} ms, p90 {at(0.9):,.0f} ms,"
        f" p99 {at(0.99):,.0f} ms, max {at(1):,.0f} ms",
        f"{count:,} submissions over {intended[-1] - intended[0]:.1f} s; the producer fell more"
        f" than 5 ms behind schedule for {late:,} of them",
        "RSS: VmRSS of each service's process, sampled every 0.25 s during the run",
    ]
    return report


async def _send_steadily(bootstrap: str, sent: list[Submission]) -> tuple[list[float], int]:
    """Send each submission at its scheduled time; (intended epoch seconds, sends > 5 ms late)."""
    records = [s.record() for s in sent]
    client = kafka.producer(bootstrap)
    await client.start()
    try:
        start = time.time() + 0.1
        intended = [start + n / RATE for n in range(len(records))]
        late = 0
        acks = []
        for at, (key, value) in zip(intended, records, strict=True):
            delay = at - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -0.005:
                late += 1
            acks.append(await client.send(Topics.SUBMISSIONS, value, key=key))
        await asyncio.gather(*acks)
        return intended, late
    finally:
        await client.stop()

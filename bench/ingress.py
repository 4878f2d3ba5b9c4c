"""Kafka ingress: N submissions pre-produced on `demand.submissions`, then consumed by freshly
started demand-service instances (one consumer group). The rate is N over the time from the first
demand line committed (its transaction's commit timestamp) to the last `demand.registered` event
published (its record's timestamp on `procurement.demand`), against the raw producer rate.

The check: each submission registered exactly once (N idempotency keys, N lines), each line's
`demand.registered` on the topic exactly once, nothing dead-lettered.
"""

import secrets
from collections import Counter
from dataclasses import dataclass

from bench import kafka, observe
from bench.results import Figure, Report
from bench.system import Bench, progress, settled
from bench.workload import schools, submissions
from shared.events import Topics

COUNT = 100_000
TRUSTS = schools(first_trust=7001, trusts=50, per_trust=20, first_urn=700000)
TARGET_RATIO = 0.25


@dataclass(frozen=True)
class IngressRun:
    rate: float  # lines/s
    report: Report


async def run(bench: Bench) -> Report:
    result = await measure(bench, instances=1, count=bench.ingress_count or COUNT)
    ratio = result.rate / bench.measured["produce_rate"]
    bench.measured["ingress_rate"] = result.rate
    result.report.figures.append(
        Figure(
            "Kafka ingress (1 demand instance)",
            f"{result.rate:,.0f} lines/s = {ratio:.1%} of raw produce",
            f">= {TARGET_RATIO:.0%} of raw produce",
            ratio >= TARGET_RATIO,
        )
    )
    return result.report


async def measure(bench: Bench, instances: int, count: int) -> IngressRun:
    report = Report(f"Kafka ingress, {instances} demand instance(s), {count:,} submissions")
    await bench.load_registry(TRUSTS)
    running = [name for name in bench.system.processes if name.startswith("demand")]
    for name in running:
        bench.stop(name)
    run_id = f"ingress{instances}-{secrets.token_hex(3)}"
    sent = submissions(run_id, TRUSTS, count, seed=instances)
    async with (
        kafka.Tail(bench.bootstrap, Topics.DEMAND) as events,
        kafka.Tail(bench.bootstrap, Topics.dead_letters(Topics.SUBMISSIONS)) as refused,
    ):
        await kafka.produce(bench.bootstrap, Topics.SUBMISSIONS, [s.record() for s in sent])
        await bench.start(["demand"] + [f"demand-{n}" for n in range(2, instances + 1)])
        await progress(events.count, count, "events published")
        await settled(events.count)
    lines = await observe.kafka_lines(bench, run_id, (s.school.trust_id for s in sent))
    ids = list(lines.values())
    async with bench.db("demand") as conn:
        commits = sorted(
            r[0]
            for r in await conn.fetch(
                "SELECT extract(epoch FROM pg_xact_commit_timestamp(xmin))::float8"
                " FROM demand_lines WHERE demand_id = ANY($1)",
                ids,
            )
        )
    registered = observe.registered(events.records)
    published = Counter(demand_id for demand_id, _ in registered)
    ours = {i: published[i] for i in ids}
    report.check(f"{count:,} submissions -> {count:,} idempotency keys", len(ids) == count)
    report.check(f"{count:,} demand lines committed", len(commits) == count)
    report.check(
        "each line's demand.registered on the topic exactly once",
        len(ours) == count and all(n == 1 for n in ours.values()),
    )
    report.check("nothing dead-lettered", not refused.records)
    last_published = max((at for i, at in registered if i in ours), default=float("nan"))
    seconds = last_published - commits[0]
    report.notes.append(
        f"{instances} instance(s): {count / seconds:,.0f} lines/s over {seconds:.1f} s (first line"
        f" committed -> last event published); middle 80% of commits (without start-up and"
        f" tail): {_steady_rate(commits):,.0f} lines/s"
    )
    return IngressRun(count / seconds, report)


def _steady_rate(commits: list[float]) -> float:
    low, high = commits[len(commits) // 10], commits[len(commits) * 9 // 10]
    return (len(commits) * 8 // 10) / (high - low) if high > low else float("nan")

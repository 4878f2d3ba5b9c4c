"""Kafka ingress: N submissions pre-produced on `demand.submissions`, then consumed by freshly
started demand-service instances (one consumer group). The rate is N over the time from the first
demand line committed (its transaction's commit timestamp) to the last `demand.registered` event
published (its record's timestamp on `procurement.demand`), against the raw producer rate.

The figure is the demand service's stage, as the target defines it: tendering, which consumes
`procurement.demand`, is stopped while it runs (on two cores it would take a third of the CPU
for its own, later stage), then started again and waited for until it has caught up. The same
run with tendering consuming alongside is reported too, as information.

The headline is the better of two runs, as the baseline is the best of its rounds: other work
on the machine can only slow a run down (runs of one commit differed by up to 3 points of the
ratio on a busy host).

The check: each submission registered exactly once (N idempotency keys, N lines), each line's
`demand.registered` on the topic exactly once, nothing dead-lettered.
"""

import secrets
from collections import Counter
from contextlib import nullcontext
from dataclasses import dataclass

from bench import kafka, observe
from bench.results import Figure, Report
from bench.system import Bench, progress, settled, until
from bench.workload import schools, submissions
from shared.events import Topics

COUNT = 100_000
TRUSTS = schools(first_trust=7001, trusts=50, per_trust=20, first_urn=700000)
TARGET_RATIO = 0.25
ROUNDS = 2


@dataclass(frozen=True)
class IngressRun:
    rate: float  # lines/s
    report: Report


async def run(bench: Bench) -> Report:
    count = bench.ingress_count or COUNT
    rounds = [await measure(bench, instances=1, count=count) for _ in range(ROUNDS)]
    result = max(rounds, key=lambda r: r.rate)
    for n, other in enumerate(rounds, 1):
        if other is not result:
            checks = other.report.checks.items()
            result.report.checks |= {f"round {n}: {c}": ok for c, ok in checks}
            result.report.notes += [f"round {n} (not the best): {t}" for t in other.report.notes]
    alongside = await measure(bench, instances=1, count=count, tendering_alongside=True)
    produce_rate = bench.measured["produce_rate"]
    ratio = result.rate / produce_rate
    bench.measured["ingress_rate"] = result.rate
    result.report.figures += [
        Figure(
            "Kafka ingress (1 demand instance)",
            f"{result.rate:,.0f} lines/s = {ratio:.1%} of raw produce",
            f">= {TARGET_RATIO:.0%} of raw produce",
            ratio >= TARGET_RATIO,
        ),
        Figure(
            "Kafka ingress, tendering consuming alongside",
            f"{alongside.rate:,.0f} lines/s = {alongside.rate / produce_rate:.1%} of raw produce",
            "(info)",
            None,
        ),
    ]
    result.report.checks |= {f"alongside: {c}": held for c, held in alongside.report.checks.items()}
    result.report.notes += alongside.report.notes
    return result.report


async def measure(
    bench: Bench, instances: int, count: int, tendering_alongside: bool = False
) -> IngressRun:
    title = f"Kafka ingress, {instances} demand instance(s), {count:,} submissions"
    report = Report(title + (", tendering consuming alongside" if tendering_alongside else ""))
    await bench.load_registry(TRUSTS)
    running = [name for name in bench.system.processes if name.startswith("demand")]
    for name in running:
        bench.stop(name)
    run_id = f"ingress{instances}-{secrets.token_hex(3)}"
    sent = submissions(run_id, TRUSTS, count, seed=instances + 10 * tendering_alongside)
    async with (
        kafka.Tail(bench.bootstrap, Topics.DEMAND) as events,
        kafka.Tail(bench.bootstrap, Topics.dead_letters(Topics.SUBMISSIONS)) as refused,
        nullcontext() if tendering_alongside else bench.stopped("tendering"),
    ):
        await kafka.produce(bench.bootstrap, Topics.SUBMISSIONS, [s.record() for s in sent])
        await bench.start(["demand"] + [f"demand-{n}" for n in range(2, instances + 1)])
        await progress(events.count, count, "events published")
        await settled(events.count)
    await _tendering_caught_up(bench)
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


async def _tendering_caught_up(bench: Bench) -> None:
    """Tendering has pooled every line demand registered for the ingress's trusts, so the next
    figure does not wait behind its backlog."""
    trusts = [s.trust_id for s in TRUSTS]
    registered = await bench.lines("demand", trusts)
    await until(
        lambda: bench.lines("tendering", trusts),
        lambda n: n == registered,
        300,
        "tendering to catch up",
    )


def _steady_rate(commits: list[float]) -> float:
    low, high = commits[len(commits) // 10], commits[len(commits) * 9 // 10]
    return (len(commits) * 8 // 10) / (high - low) if high > low else float("nan")

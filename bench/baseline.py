"""The ceiling, measured in the same run: one process with plain aiokafka producing the ingress's
own submission records (same size, same keys, acks=all and linger 5 ms as our services), then
consuming them back, on a topic with as many partitions as ours.

Best of three rounds: other work on the machine can only slow a round down, so the fastest is
the closest to the ceiling (and the strictest base for the ratios)."""

from time import perf_counter

from aiokafka import AIOKafkaConsumer

from bench import kafka
from bench.results import Figure, Report
from bench.system import PARTITIONS, Bench
from bench.workload import schools, submissions
from shared.topics import ensure_topics

COUNT = 200_000
ROUNDS = 3


async def run(bench: Bench) -> Report:
    report = Report(f"Baseline: raw aiokafka, one process, best of {ROUNDS} rounds")
    among = schools(first_trust=6001, trusts=50, per_trust=20, first_urn=600000)
    records = [s.record() for s in submissions("baseline", among, COUNT, seed=1)]
    size = sum(len(v) for _, v in records) / len(records)
    produced, consumed = [], []
    for round_ in range(1, ROUNDS + 1):
        topic = f"bench.baseline.{round_}"
        await ensure_topics(bench.bootstrap, PARTITIONS, [topic])
        produced.append(COUNT / await kafka.produce(bench.bootstrap, topic, records))
        seconds, exact = await _consume(bench.bootstrap, topic, COUNT)
        consumed.append(COUNT / seconds)
        report.check(f"round {round_}: all {COUNT:,} records consumed back, none twice", exact)
    bench.measured["produce_rate"] = max(produced)
    bench.measured["consume_rate"] = max(consumed)
    report.figures += [
        Figure("raw aiokafka produce", f"{max(produced):,.0f} msg/s", "(baseline)", None),
        Figure("raw aiokafka consume", f"{max(consumed):,.0f} msg/s", "(baseline)", None),
    ]
    report.notes += [
        f"{COUNT:,} records of {size:.0f} bytes (the ingress's submissions) per round,"
        f" {PARTITIONS} partitions, acks=all, linger 5 ms",
        "rounds: produce "
        + ", ".join(f"{r:,.0f}" for r in produced)
        + " msg/s; consume "
        + ", ".join(f"{r:,.0f}" for r in consumed)
        + " msg/s",
    ]
    return report


async def _consume(bootstrap: str, topic: str, count: int) -> tuple[float, bool]:
    """Seconds to read `count` records from the start of the topic, and whether they were each
    record exactly once (per partition, offsets 0..n-1 and n records)."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    try:
        started = perf_counter()
        read: dict[int, int] = {}
        last: dict[int, int] = {}
        total = 0
        while total < count:
            batches = await consumer.getmany(timeout_ms=5000, max_records=10_000)
            if not batches:
                break
            for tp, batch in batches.items():
                total += len(batch)
                read[tp.partition] = read.get(tp.partition, 0) + len(batch)
                last[tp.partition] = batch[-1].offset
        elapsed = perf_counter() - started
        exact = total == count and all(read[p] == last[p] + 1 for p in read)
        return elapsed, exact
    finally:
        await consumer.stop()

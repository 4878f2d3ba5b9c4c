"""Scaling: the Kafka ingress with 1, 2 and 3 demand-service instances in one consumer group
(right after the one-instance ingress figure, on the same database), and the arithmetic of a
national deployment from the rates measured in this run."""

from bench import ingress
from bench.results import Figure, Report
from bench.system import Bench

INSTANCES = (1, 2, 3)
# England: about 22,000 state-funded schools; 50 demand lines each a year; the spring peak
# (budget setting, contract renewals) at 10 times the daily average.
SCHOOLS = 22_000
LINES_PER_SCHOOL = 50
PEAK_FACTOR = 10
# The peak day's submissions arriving within working hours only.
WORKING_HOURS = 8

GROWTH = " ".join(
    [
        "How the figures grow: Kafka ingress and end-to-end consumption scale with consumer",
        "instances up to the partition count (6 here; a trust's events stay on one partition,",
        "so order per trust holds at any scale), as long as there are cores and database",
        "capacity for them. On this 2-core machine extra instances share the same two cores",
        "with the broker, PostgreSQL and the other services, so what they gain here comes from",
        "overlapping waits (database round trips, broker acknowledgements), not from more CPU;",
        "and only one outbox relay per database publishes at a time (it keeps each trust's",
        "events in order). HTTP submit scales with demand instances behind a load balancer",
        "(stateless; idempotency is in the database). The award time grows with the number of",
        "allocations (the award reaches savings as events of bounded size). The summary's time",
        "grows with the entries of the one trust asked about (indexed by trust), not with the",
        "ledger's total size.",
    ]
)


async def run(bench: Bench) -> Report:
    report = Report("Scaling: Kafka ingress with more demand instances")
    count = bench.ingress_count or ingress.COUNT
    rates: dict[int, float] = {}
    for instances in INSTANCES:
        if instances == 1 and "ingress_rate" in bench.measured:
            rates[1] = bench.measured["ingress_rate"]  # measured by the ingress figure
            continue
        result = await ingress.measure(bench, instances, count)
        for description, held in result.report.checks.items():
            report.check(f"{instances} instance(s): {description}", held)
        report.notes += result.report.notes
        rates[instances] = result.rate
    bench.measured.setdefault("ingress_rate", rates[1])
    await bench.single_demand()
    report.figures += [
        Figure(
            f"Kafka ingress, {n} demand instance(s)",
            f"{rate:,.0f} lines/s ({rate / rates[1]:.2f} x one)",
            "(scaling)",
            None,
        )
        for n, rate in rates.items()
    ]
    report.notes.append(GROWTH)
    return report


def national(bench: Bench) -> Report:
    """What all of England's schools need, from this run's measured rates."""
    report = Report("A national deployment, from the rates measured in this run")
    ingress_rate = bench.measured["ingress_rate"]
    yearly = SCHOOLS * LINES_PER_SCHOOL
    daily = yearly / 365
    peak_day = daily * PEAK_FACTOR
    peak_rate = peak_day / (WORKING_HOURS * 3600)
    lines = [
        f"National: {SCHOOLS:,} schools x {LINES_PER_SCHOOL} lines = {yearly:,} lines a year;"
        f" daily average {yearly:,} / 365 = {daily:,.0f}; spring peak day {PEAK_FACTOR} x"
        f" {daily:,.0f} = {peak_day:,.0f} lines; within {WORKING_HOURS} working hours that is"
        f" {peak_day:,.0f} / {WORKING_HOURS * 3600:,} s = {peak_rate:.2f} lines/s.",
        f"Kafka ingress at the measured {ingress_rate:,.0f} lines/s (one instance) takes the"
        f" peak day in {peak_day / ingress_rate:,.0f} s and the whole year's lines, sent at once,"
        f" in {yearly / ingress_rate / 60:,.1f} min: {ingress_rate / peak_rate:,.0f} x the peak"
        " rate. One instance carries it; run two for availability, not for load.",
    ]
    if http := bench.measured.get("http_rate"):
        lines.append(
            f"Over HTTP only, the measured {http:,.0f} requests/s is {http / peak_rate:,.0f} x"
            " the peak rate."
        )
    if award := bench.measured.get("award_seconds"):
        lines.append(
            f"A national award of all {SCHOOLS:,} schools in one tender would take about"
            f" {award * SCHOOLS / 10_000:.1f} s to reach the ledger (the 10,000-school award's"
            f" {award:.2f} s scaled linearly by allocations: an assumption, not measured)."
        )
    lines.append(
        f"The savings ledger grows by {yearly:,} entries a year: the summary figure measured"
        " 1,000,000 entries, about one national year."
    )
    report.notes += lines
    return report

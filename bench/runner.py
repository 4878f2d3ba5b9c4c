"""Runs the chosen figures on the durable system (PostgreSQL with fsync on, as `procure up`) and
prints (and, for a full run, writes) the table; a full run then measures the figures a commit's
flush can move again on the throwaway configuration (fsync off), for comparison."""

import signal
import sys
import time
import traceback
from collections.abc import Awaitable, Callable, Sequence

import uvloop

from bench import (
    award,
    baseline,
    csv_import,
    end_to_end,
    http_submit,
    ingress,
    memory,
    results,
    scaling,
    spend,
    summary,
)
from bench.results import Report
from bench.system import Bench, running_bench

Benchmark = Callable[[Bench], Awaitable[Report]]

# In run order; the baseline always runs first (the Kafka figures are ratios to it).
FIGURES: dict[str, Benchmark] = {
    "ingress": ingress.run,
    "scaling": scaling.run,
    "e2e": end_to_end.run,
    "http": http_submit.run,
    "award": award.run,
    "summary": summary.run,
    "import": csv_import.run,
    # Last: it leaves a million spend lines in demand's and savings' tables.
    "spend": spend.run,
}
# Measured on both configurations in a full run: the figures that wait for commits.
COMPARED = ("ingress", "e2e", "http")


def main(
    names: Sequence[str],
    ingress_count: int | None = None,
    spend_count: int | None = None,
    write: bool = False,
) -> int:
    chosen = list(names) or list(FIGURES)
    started = time.monotonic()
    # SIGTERM (a timeout, a CI cancel) unwinds like Ctrl-C, so the broker, database and services
    # this run started are stopped, not orphaned.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with running_bench(durable=True) as bench:
        bench.ingress_count = ingress_count
        bench.spend_count = spend_count
        reports = uvloop.run(_run(bench, [n for n in FIGURES if n in chosen]))
    throwaway: list[Report] = []
    if not names:
        print("-- the same on the throwaway configuration (fsync off), for comparison", flush=True)
        with running_bench(durable=False) as bench:
            throwaway = uvloop.run(_run(bench, list(COMPARED)))
    print(results.table(reports))
    print()
    if throwaway:
        print(results.comparison(reports, throwaway))
        print()
    print(results.details(reports))
    if not names:
        results.write(reports, throwaway)
        print(f"written to {results.RESULTS.name}")
    elif write:
        results.write_alone(list(names), reports)
        print(f"its section written to {results.RESULTS.name}")
    print(f"bench took {time.monotonic() - started:.0f} s")
    return 0 if all(r.correct for r in reports + throwaway) else 1


async def _run(bench: Bench, names: list[str]) -> list[Report]:
    reports = [await _timed("baseline", baseline.run, bench)]
    async with memory.Sampler(bench) as rss:
        for name in names:
            reports.append(await _timed(name, FIGURES[name], bench))
    reports.append(memory.whole_run(rss))
    if "ingress_rate" in bench.measured:
        reports.append(scaling.national(bench))
    return reports


async def _timed(name: str, benchmark: Benchmark, bench: Bench) -> Report:
    """Run one benchmark; one that fails is reported as failed and the others still run."""
    print(f"-- {name} ...", flush=True)
    started = time.monotonic()
    try:
        report = await benchmark(bench)
    except Exception as exc:
        traceback.print_exc()
        report = Report(name)
        report.check(f"ran to the end (it raised {type(exc).__name__}: {exc})", False)
    print(f"-- {name} done in {time.monotonic() - started:.0f} s", flush=True)
    return report

"""Resident memory of each service process, read from /proc while a benchmark runs."""

import asyncio
import contextlib
from pathlib import Path

from bench.results import Figure, Report
from bench.system import Bench

SERVICES = ("demand", "tendering", "savings")
TARGET_MB = 150


def rss_mb(pid: int) -> float | None:
    """VmRSS of a live process in MB (None once it has gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024  # kB
    return None


class Sampler:
    """Samples each service's main instance every `every` seconds; keeps the maximum."""

    def __init__(self, bench: Bench, every: float = 0.25) -> None:
        self.peak: dict[str, float] = dict.fromkeys(SERVICES, 0.0)
        self._bench = bench
        self._every = every
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> "Sampler":
        self._task = asyncio.create_task(self._sample())
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _sample(self) -> None:
        while True:
            for service in SERVICES:
                process = self._bench.system.processes.get(service)
                mb = rss_mb(process.pid) if process is not None else None
                if mb is not None:
                    self.peak[service] = max(self.peak[service], mb)
            await asyncio.sleep(self._every)


def whole_run(sampler: Sampler) -> Report:
    """Peaks over every figure, bursts included (the award, the bulk load): for information."""
    report = Report("Resident memory over the whole run")
    report.figures += [
        Figure(f"RSS {service}, peak over the whole run", f"{mb:.0f} MB", "(info)", None)
        for service, mb in sampler.peak.items()
    ]
    report.notes.append(
        "VmRSS of each service's main process, sampled every 0.25 s across all the figures run"
    )
    return report

"""What a benchmark reports: figures against their targets, the correctness checks behind them,
and the table printed at the end and written to bench/RESULTS.md."""

import os
import platform
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

from procure.infra.embedded import tansu_binary

RESULTS = Path(__file__).with_name("RESULTS.md")


@dataclass(frozen=True)
class Figure:
    """One measured figure of a benchmark, as its table prints it, against its target."""

    name: str
    measured: str
    target: str
    # None: reported for information, no target.
    met: bool | None


@dataclass
class Report:
    """One benchmark's figures, its correctness checks (description -> held), and notes."""

    title: str
    figures: list[Figure] = field(default_factory=list)
    checks: dict[str, bool] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def check(self, description: str, held: bool) -> bool:
        self.checks[description] = held
        return held

    @property
    def correct(self) -> bool:
        return all(self.checks.values())


def percentile(ordered: list[float], q: float) -> float:
    """The value below which a fraction q of the (sorted) values lie; q=1 is the maximum."""
    return ordered[min(int(len(ordered) * q), len(ordered) - 1)]


def verdict(figure: Figure, report: Report) -> str:
    if not report.correct:
        return "FAIL (check)"
    if figure.met is None:
        return "info"
    return "pass" if figure.met else "FAIL"


def table(reports: list[Report]) -> str:
    lines = ["| figure | measured | target | result |", "|---|---|---|---|"]
    for report in reports:
        for figure in report.figures:
            lines.append(
                f"| {figure.name} | {figure.measured} | {figure.target} "
                f"| {verdict(figure, report)} |"
            )
    return "\n".join(lines)


def comparison(durable: list[Report], throwaway: list[Report]) -> str:
    """The figures measured on both configurations, side by side."""
    before = {f.name: f.measured for r in throwaway for f in r.figures}
    lines = [
        "| figure | durable: fsync on (headline) | throwaway: fsync off |",
        "|---|---|---|",
    ]
    for report in durable:
        for figure in report.figures:
            if figure.name in before:
                lines.append(f"| {figure.name} | {figure.measured} | {before[figure.name]} |")
    return "\n".join(lines)


def details(reports: list[Report]) -> str:
    parts = []
    for report in reports:
        parts.append(f"### {report.title}\n")
        parts += [f"- check: {d}: {'held' if ok else 'FAILED'}" for d, ok in report.checks.items()]
        parts += [f"- {note}" for note in report.notes]
        parts.append("")
    return "\n".join(parts)


def machine() -> str:
    commit = _git("rev-parse", "--short", "HEAD") or "unknown"
    if _git("status", "--porcelain", "--untracked-files=no"):
        commit += " with uncommitted changes"
    tansu = subprocess.run(
        [str(tansu_binary()), "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    return (
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n"
        f"- commit: {commit}\n"
        f"- machine: {os.cpu_count()} cores, {platform.machine()}, {platform.system()}\n"
        f"- Python {sys.version.split()[0]}, aiokafka {version('aiokafka')},"
        f" FastStream {version('faststream')}, asyncpg {version('asyncpg')}; broker: {tansu}"
        " (memory storage); database: embedded PostgreSQL 16 (fsync on, as `procure up` keeps"
        " its data; commit timestamps on), and for comparison the throwaway configuration"
        " (fsync off, as the tests run)\n"
        "- broker, database, the three services and the load generators all share this machine"
    )


def _git(*args: str) -> str:
    """Read-only git, for the commit the numbers belong to."""
    done = subprocess.run(["git", *args], capture_output=True, text=True, check=False)
    return done.stdout.strip()


def write(reports: list[Report], throwaway: list[Report]) -> None:
    RESULTS.write_text(
        "# Benchmark results\n\n"
        "Written by `make bench` (`python -m bench`); do not edit by hand.\n\n"
        f"{machine()}\n\n{table(reports)}\n\n"
        "## Durable against throwaway\n\n"
        f"{comparison(reports, throwaway)}\n\n"
        f"## Details\n\n{details(reports)}\n"
        f"## Details, throwaway configuration\n\n{details(throwaway)}",
        encoding="utf-8",
    )


ALONE = "## Run on its own: "


def write_alone(names: list[str], reports: list[Report]) -> None:
    """Figures run on their own (`python -m bench spend --write`): their section at the end of
    bench/RESULTS.md, replacing the one of an earlier run of the same figures, with the machine
    and commit they were measured on. A full run writes the whole file again."""
    heading = ALONE + ", ".join(names)
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else ""
    if heading in text:
        before, _, after = text.partition(heading)
        rest = after.find("\n" + ALONE)
        text = before.rstrip("\n") + ("" if rest < 0 else "\n" + after[rest:])
    section = f"{heading}\n\n{machine()}\n\n{table(reports)}\n\n{details(reports)}"
    RESULTS.write_text(text.rstrip("\n") + "\n\n" + section, encoding="utf-8")

"""CSV import (`POST /v1/demands/import` on the demand service): one 50,000-row file over HTTP,
as a trust's finance office would send it, with an Idempotency-Key and a few refused rows.

Demand is restarted first, and warmed with a 100-row import, so the figure is the import's own
effect on its memory: VmRSS before, the peak while the request runs (sampled every 20 ms), and
after it settles: once the outbox relay has published every line's `demand.registered` and the
RSS has stopped moving. The rate is rows over the request's wall time.

The check: the report counts every row, accepts the good ones and refuses exactly the bad ones by
line; the database holds each accepted line once; each line's event is on the topic once.
"""

import asyncio
import contextlib
import secrets
import time
from collections import Counter

import httpx

from bench import kafka, observe
from bench.memory import rss_mb
from bench.results import Figure, Report
from bench.system import Bench, progress, settled, until
from bench.workload import contract_end, schools
from shared.auth import Role
from shared.events import Topics

TRUST = schools(first_trust=7700, trusts=1, per_trust=100, first_urn=770000)
ROWS = 50_000
BAD_EVERY = 10_000  # every 10,000th row has a zero quantity: refused
TARGET_MB = 150
HEADER = (
    "school_urn,category,quantity,unit,current_unit_price,current_supplier,contract_end,"
    "term_months,notes\r\n"
)


def csv_file(rows: int, days_ahead: int = 120) -> bytes:
    """A CSV as spreadsheets write it: a BOM, CRLF, quoted notes with commas and line breaks."""
    end = contract_end(days_ahead)
    lines = ["\ufeff" + HEADER]
    for n in range(1, rows + 1):
        urn = TRUST[n % len(TRUST)].urn
        quantity = 0 if n % BAD_EVERY == 0 else 10_000 + n
        category = ("electricity", "gas")[n % 2]
        notes = f'"meter {n}, main site\r\nread monthly"' if n % 7 == 0 else ""
        lines.append(
            f"{urn},{category},{quantity},kWh,0.{2000 + n % 1000:04d},Acme Energy,{end},24,"
            f"{notes}\r\n"
        )
    return "".join(lines).encode()


def _refused_lines(rows: int) -> list[int]:
    """File lines of the bad rows: line 1 is the header, a row with notes takes two lines."""
    refused, line = [], 2
    for n in range(1, rows + 1):
        if n % BAD_EVERY == 0:
            refused.append(line)
        line += 2 if n % 7 == 0 else 1
    return refused


async def _settled_rss(pid: int, quiet_mb: float = 1.0, within: float = 30.0) -> float:
    """VmRSS once three samples 1 s apart are within `quiet_mb` of each other."""
    samples: list[float] = []
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        samples.append(rss_mb(pid) or 0.0)
        recent = samples[-3:]
        if len(recent) == 3 and max(recent) - min(recent) <= quiet_mb:
            return recent[-1]
        await asyncio.sleep(1.0)
    return samples[-1]


async def _sample_peak(pid: int, peak: list[float]) -> None:
    while True:
        peak[0] = max(peak[0], rss_mb(pid) or 0.0)
        await asyncio.sleep(0.02)


async def _outbox_empty(bench: Bench) -> None:
    async with bench.db("demand") as conn:

        async def waiting() -> int:
            return int(await conn.fetchval("SELECT count(*) FROM outbox"))

        await until(waiting, lambda n: n == 0, within=300, what="demand's outbox to drain")


async def run(bench: Bench) -> Report:
    report = Report(f"CSV import: POST /v1/demands/import, {ROWS:,} rows")
    await bench.load_registry(TRUST)
    for name in [n for n in bench.system.processes if n.startswith("demand")]:
        bench.stop(name)
    await bench.start(["demand"])
    pid = bench.system.processes["demand"].pid
    url = f"{bench.system.urls['demand']}/v1/demands/import"
    token = bench.system.token(Role.MANAGER, TRUST[0].trust_id)
    run_id = f"import-{secrets.token_hex(3)}"
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "text/csv"}
    body = csv_file(ROWS)
    async with httpx.AsyncClient(timeout=600) as http:
        warm = await http.post(url, content=csv_file(100, days_ahead=110), headers=headers)
        warm.raise_for_status()
        await _outbox_empty(bench)
        before = await _settled_rss(pid)
        async with kafka.Tail(bench.bootstrap, Topics.DEMAND) as events:
            peak = [before]
            sampler = asyncio.create_task(_sample_peak(pid, peak))
            started = time.perf_counter()
            response = await http.post(
                url, content=body, headers=headers | {"Idempotency-Key": run_id}
            )
            seconds = time.perf_counter() - started
            peak_request = peak[0]
            await _outbox_empty(bench)
            answer = response.json() if response.status_code == 200 else {}
            accepted = [r["demand_id"] for r in answer.get("accepted_rows", [])]
            await progress(events.count, len(accepted), "events published")
            await settled(events.count)
            after = await _settled_rss(pid)
            sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sampler
            peak_total = peak[0]
    registered = Counter(str(i) for i, _ in observe.registered(events.records))
    bad = _refused_lines(ROWS)
    good = ROWS - len(bad)

    report.check(f"the import answered 200 (got {response.status_code})", response.is_success)
    report.check(
        f"report: {ROWS:,} rows, {good:,} accepted, {len(bad)} refused",
        (answer.get("rows"), answer.get("accepted"), answer.get("refused"))
        == (ROWS, good, len(bad)),
    )
    report.check(
        "the refused rows are the bad ones, by line and column",
        [(e["line"], e["column"]) for e in answer.get("refused_rows", [])]
        == [(line, "quantity") for line in bad],
    )
    rows = await bench.keyed_lines(f"{Role.MANAGER}:{TRUST[0].trust_id}", f"{run_id}#%")
    stored = len({row["demand_id"] for row in rows})
    report.check(f"{good:,} lines stored, one per accepted row", stored == good == len(accepted))
    report.check(
        "each line's demand.registered on the topic exactly once",
        all(registered[i] == 1 for i in accepted),
    )

    rate = ROWS / seconds
    bench.measured["import_rate"] = rate
    report.figures += [
        Figure(
            f"CSV import of {ROWS:,} rows over HTTP",
            f"{rate:,.0f} rows/s ({seconds:.1f} s)",
            "(info)",
            None,
        ),
        Figure(
            f"demand RSS: {ROWS:,}-row CSV import, peak / after",
            f"{peak_total:.0f} / {after:.0f} MB (before {before:.0f} MB)",
            f"after < {TARGET_MB} MB",
            after < TARGET_MB,
        ),
    ]
    report.notes += [
        f"file: {len(body) / 1e6:.1f} MB, BOM, CRLF, quoted notes with a line break in every"
        " seventh row; demand restarted and warmed with a 100-row import before it",
        f"demand VmRSS: {before:.0f} MB before; peak {peak_request:.0f} MB during the request,"
        f" {peak_total:.0f} MB including the relay publishing its events; {after:.0f} MB once"
        " they were published and the RSS settled",
    ]
    return report

"""`procure savings rebuild`: replaying the topics from the beginning into an empty database gives
the same ledger, row by row, and the same totals to the penny."""

import os
import secrets
import subprocess
import sys
from decimal import Decimal

import asyncpg
import pytest

from procure.infra.provision import Infrastructure, create_databases, database_url
from procure.launcher import RunningSystem
from services.savings.realised import TrustRealised, trust_realised
from tests.integration.realised_scenario import Spending, spent
from tests.integration.savings_scenario import Scenario, recorded

pytestmark = pytest.mark.integration

SCENARIO = Scenario("3002", 300201)
# Spend before and after its award, with repeats (realised_scenario.py).
SPENDING = Spending("3006", 300601)


async def fetch(url: str, sql: str, *args: object) -> list[dict[str, object]]:
    conn = await asyncpg.connect(url)
    try:
        return [dict(r) for r in await conn.fetch(sql, *args)]
    finally:
        await conn.close()


async def realised(url: str, trust_id: str) -> TrustRealised:
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            return await trust_realised(conn, trust_id)
    finally:
        await conn.close()


def rebuild(infra: Infrastructure, url: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "procure.cli", "savings", "rebuild", "--database-url", url]
    command += ["--bootstrap-servers", infra.kafka_bootstrap_servers]
    env = os.environ | {"CONSUMER_RETRY_BACKOFF_MS": "10"}
    return subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)


async def test_rebuild_gives_an_identical_ledger(
    system: RunningSystem, infra: Infrastructure
) -> None:
    await recorded(system, infra, SCENARIO, 5)
    await spent(system, SPENDING)
    live = infra.database_urls["savings"]
    fresh = database_url(live, f"savings_rebuild_{secrets.token_hex(4)}")
    await create_databases(database_url(live, "postgres"), (fresh.rsplit("/", 1)[1],))

    done = rebuild(infra, fresh)
    assert done.returncode == 0, done.stderr
    assert "the ledger has" in done.stdout

    # Every ledger column, ids and recorded_at included.
    everything = "SELECT * FROM ledger_entries ORDER BY entry_id"
    rebuilt_rows = await fetch(fresh, everything)
    live_rows = await fetch(live, everything)
    mine = [r for r in rebuilt_rows if r["trust_id"] == SCENARIO.trust_id]
    assert len(mine) == 5
    assert mine == [r for r in live_rows if r["trust_id"] == SCENARIO.trust_id]
    # Other tests' trusts too: every entry both databases hold is the same in both (the running
    # service may since have taken in awards published after the rebuild read the topics).
    rebuilt_by_id = {r["entry_id"]: r for r in rebuilt_rows}
    common = [r for r in live_rows if r["entry_id"] in rebuilt_by_id]
    assert len(common) >= len(mine)
    assert all(rebuilt_by_id[r["entry_id"]] == r for r in common)

    totals = (
        "SELECT trust_id, sum(annual_baseline_cost)::text AS baseline,"
        " sum(annual_saving)::text AS saving, sum(term_saving)::text AS term,"
        " sum(economy_of_scale)::text AS pooling FROM ledger_entries"
        " WHERE trust_id = $1 GROUP BY trust_id"
    )
    # The scenario's totals (savings_scenario.py): to the penny, in both databases.
    expected = [
        {
            "trust_id": "3002",
            "baseline": "77896.09",
            "saving": "9615.84",
            "term": "21847.52",
            "pooling": "6830.48",
        }
    ]
    assert await fetch(fresh, totals, SCENARIO.trust_id) == expected
    assert await fetch(live, totals, SCENARIO.trust_id) == expected
    names = "SELECT urn, trust_id, name, trust_name FROM schools WHERE trust_id = $1 ORDER BY urn"
    assert await fetch(fresh, names, SCENARIO.trust_id) == await fetch(
        live, names, SCENARIO.trust_id
    )

    # Realised savings: every spend line, its classification and figures, column for column, and
    # the summary the API shows (the scenario's figures), the same from both databases.
    spend = "SELECT * FROM spend_lines WHERE trust_id = $1 ORDER BY spend_id"
    rebuilt_spend = await fetch(fresh, spend, SPENDING.trust_id)
    assert len(rebuilt_spend) == 8
    assert rebuilt_spend == await fetch(live, spend, SPENDING.trust_id)
    tiers = "SELECT * FROM award_tiers WHERE trust_id = $1 ORDER BY tender_id"
    assert await fetch(fresh, tiers, SPENDING.trust_id) == await fetch(
        live, tiers, SPENDING.trust_id
    )
    rebuilt_summary = await realised(fresh, SPENDING.trust_id)
    assert rebuilt_summary.realised_saving == Decimal("575.00")
    assert rebuilt_summary.model_dump() == (await realised(live, SPENDING.trust_id)).model_dump()

    # Only into an empty database: a second run refuses and changes nothing.
    again = rebuild(infra, fresh)
    assert again.returncode != 0
    assert "empty" in again.stderr
    assert await fetch(fresh, everything) == rebuilt_rows

"""A savings answer reads the ledger in one snapshot: an award recorded while the trust summary is
being read (between its statements) shows in none of its figures, so the totals, the schools and
the categories always agree.

The race is made certain rather than waited for: the summary's second statement (the categories)
first records another entry for the trust and commits it, from another connection. Read without
one snapshot, the categories would count that entry and the totals would not. The API runs in
this process, on its own schema of the savings database (dropped afterwards), so the service's
ledger is not touched.
"""

import secrets
from collections.abc import AsyncIterator
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from procure.infra.provision import Infrastructure
from services.savings import api, intake, store
from services.savings.main import MIGRATIONS
from shared.auth import Role, issue_token
from shared.db import Connection, migrate
from shared.http import install_problem_handlers
from tests.helpers import award_to, bearer, new_event

pytestmark = pytest.mark.integration

TRUST = "3091"
SECRET = secrets.token_urlsafe(48)


def entry(trust_id: str, urn: str, category: str, quantity: str) -> store.LedgerRow:
    """The ledger entry of an award of one school's line, as the service records it."""
    award = award_to(1)
    [line] = award.allocations
    one = line.model_copy(update={"school_urn": urn, "quantity": Decimal(quantity)})
    award = award.model_copy(update={"category": category, "allocations": [one]})
    [row] = intake.ledger_rows(new_event(award, trust_id=trust_id, correlation_id="test"), award)
    return row


@pytest.fixture
async def pool(infra: Infrastructure) -> AsyncIterator[asyncpg.Pool]:
    """A pool on a schema of its own in the savings database, migrated like the service's."""
    url = infra.database_urls["savings"]
    schema = f"snapshot_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(url)
    await admin.execute(f"CREATE SCHEMA {schema}")
    own = await asyncpg.create_pool(url, min_size=1, server_settings={"search_path": schema})
    assert own is not None
    try:
        await migrate(own, MIGRATIONS)
        yield own
    finally:
        await own.close()
        await admin.execute(f"DROP SCHEMA {schema} CASCADE")
        await admin.close()


def app_on(pool: asyncpg.Pool) -> FastAPI:
    """The savings API routes, on `pool`."""
    app = FastAPI()
    install_problem_handlers(app)
    app.include_router(api.router)
    app.state.runtime = SimpleNamespace(
        pool=pool, settings=SimpleNamespace(procure_token_secret=SecretStr(SECRET)), revoked=set()
    )
    app.state.savings_settings = SimpleNamespace(tendering_public_url="http://tendering.test")
    return app


async def test_the_summary_reads_one_snapshot_while_an_award_is_recorded(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with pool.acquire() as conn:
        await store.insert_entries(
            conn,
            [entry(TRUST, "309101", "electricity", "1000"), entry(TRUST, "309102", "gas", "2000")],
        )
    read_categories = store.category_totals
    late = entry(TRUST, "309103", "electricity", "5000")

    async def award_recorded_meanwhile(conn: Connection, trust_id: str) -> Any:
        async with pool.acquire() as other:
            await store.insert_entries(other, [late])  # committed before the categories are read
        return await read_categories(conn, trust_id)

    monkeypatch.setattr(store, "category_totals", award_recorded_meanwhile)
    token = issue_token(SECRET, Role.MANAGER, TRUST)
    transport = httpx.ASGITransport(app=app_on(pool))
    async with httpx.AsyncClient(transport=transport, base_url="http://savings.test") as client:
        during = await client.get(f"/v1/trusts/{TRUST}/savings", headers=bearer(token))
        monkeypatch.setattr(store, "category_totals", read_categories)
        after = await client.get(f"/v1/trusts/{TRUST}/savings", headers=bearer(token))
    assert during.status_code == 200 and after.status_code == 200

    def saving(rows: list[dict[str, str]]) -> Decimal:
        return sum((Decimal(r["annual_saving"]) for r in rows), Decimal(0))

    summary = during.json()
    # The late entry was committed in the middle of the read...
    assert len(after.json()["schools"]) == 3
    assert Decimal(after.json()["annual_saving"]) > Decimal(summary["annual_saving"])
    # ...and shows in none of its figures: totals, schools and categories agree.
    assert [s["urn"] for s in summary["schools"]] == ["309101", "309102"]
    assert saving(summary["categories"]) == saving(summary["schools"])
    assert saving(summary["categories"]) == Decimal(summary["annual_saving"])

"""Fixtures of the integration tests that run a service's code in this process."""

import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from procure.infra.provision import Infrastructure, create_databases, database_url
from shared.db import create_pool, migrate

TENDERING_MIGRATIONS = Path(__file__).resolve().parents[2] / "services/tendering/migrations"


@pytest.fixture(scope="module")
async def tendering_db(infra: Infrastructure) -> AsyncIterator[asyncpg.Pool]:
    """A migrated tendering database of the test module's own, dropped after it."""
    server = infra.database_urls["tendering"]
    name = f"tendering_{secrets.token_hex(4)}"
    await create_databases(server, (name,))
    pool = await create_pool(database_url(server, name))
    await migrate(pool, TENDERING_MIGRATIONS)
    yield pool
    await pool.close()
    conn = await asyncpg.connect(server)
    try:
        # DROP DATABASE takes no bound parameters; the name is ours, made of [a-z0-9_].
        await conn.execute(f'DROP DATABASE "{name}"')
    finally:
        await conn.close()

"""The asyncpg pool and versioned SQL migrations, recorded in `schema_migrations`.

Migrations are plain `NNNN_name.sql` files applied in order, each in its own transaction. The
shared delivery tables (outbox, inbox) come first, then the service's own folder.
"""

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, TypeAlias

import asyncpg
import structlog
from asyncpg.pool import PoolConnectionProxy

log = structlog.get_logger()

# What handlers receive: a connection of their own or one lent by the pool.
Connection: TypeAlias = "asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]"

SHARED_MIGRATIONS = Path(__file__).with_name("migrations")
# Any constant works; it only has to be the same in every process migrating one database.
MIGRATION_LOCK = 7_311_001


async def row_by_id(
    conn: Connection, table: str, id_column: str, row_id: object, *, for_update: bool = False
) -> asyncpg.Record | None:
    """The row of `table` whose `id_column` is `row_id`, locked until the transaction ends if
    `for_update`. `table` and `id_column` are the caller's constants, never input."""
    lock = " FOR UPDATE" if for_update else ""
    sql = f"SELECT * FROM {table} WHERE {id_column} = $1{lock}"  # noqa: S608 (constants)
    row: asyncpg.Record | None = await conn.fetchrow(sql, row_id)
    return row


def as_columns(rows: Iterable[Sequence[Any]], width: int) -> list[list[Any]]:
    """Rows of `width` values as one list per column: the arrays `unnest($1::text[], ...)`
    takes, one parameter each (`width` empty lists when there are no rows)."""
    columns = [list(column) for column in zip(*rows, strict=True)]
    return columns or [[] for _ in range(width)]


async def create_pool(database_url: str, *, max_size: int = 10) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=max_size)
    assert pool is not None
    return pool


def migration_files(*folders: Path) -> list[tuple[str, Path]]:
    """(name, path) pairs in apply order; the name is `<folder>/<file>`, unique per database."""
    return [
        (f"{folder.parent.name}/{path.name}", path)
        for folder in folders
        for path in sorted(folder.glob("[0-9][0-9][0-9][0-9]_*.sql"))
    ]


async def migrate(pool: asyncpg.Pool, service_migrations: Path) -> list[str]:
    """Apply what is not yet applied; returns the names applied now."""
    applied_now: list[str] = []
    async with pool.acquire() as conn:
        # Two instances of one service starting together must not both migrate.
        await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
        try:
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
            )
            done = {r["name"] for r in await conn.fetch("SELECT name FROM schema_migrations")}
            for name, path in migration_files(SHARED_MIGRATIONS, service_migrations):
                if name in done:
                    continue
                async with conn.transaction():
                    await conn.execute(path.read_text(encoding="utf-8"))
                    await conn.execute("INSERT INTO schema_migrations (name) VALUES ($1)", name)
                applied_now.append(name)
                log.info("migration applied", migration=name)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)
    return applied_now

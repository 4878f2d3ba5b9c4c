"""Server-side browser sessions, as the dashboard and the web workspace keep them: the database
holds a digest of each session id, never the id, and a session found past a limit is deleted."""

import hashlib
import re
import secrets
from typing import Literal

import asyncpg

from shared.db import Connection

# The tables that hold sessions (a table name cannot be a bound parameter).
Table = Literal["dashboard_sessions", "sessions"]
# What secrets.token_urlsafe(32) makes: a session id, link token or CSRF token of any other shape
# is none of ours, never looked up or echoed.
RANDOM_ID = re.compile(r"[A-Za-z0-9_-]{43}")


def digest(value: str) -> bytes:
    """What the database keeps of a session id (or a link token)."""
    return hashlib.sha256(value.encode("ascii")).digest()


async def open_session(conn: Connection, sql: str, *values: object) -> str:
    """A new session (a new id at every sign-in), written by `sql` (`$1` its digest, then
    `values`); returns its id for the cookie."""
    session_id = secrets.token_urlsafe(32)
    await conn.execute(sql, digest(session_id), *values)
    return session_id


async def resume(
    conn: Connection, table: Table, session_id: str, sql: str, *limits: object
) -> asyncpg.Record | None:
    """The row `sql` returns for the session (`$1` its digest, then `limits`), having restarted
    its idle clock; None when there is none, and a session it did not return is deleted from
    `table`."""
    if not RANDOM_ID.fullmatch(session_id):
        return None
    key = digest(session_id)
    row: asyncpg.Record | None = await conn.fetchrow(sql, key, *limits)
    if row is None:
        await conn.execute(f"DELETE FROM {table} WHERE session_hash = $1", key)  # noqa: S608 (constants)
    return row


async def end(conn: Connection, table: Table, session_id: str) -> None:
    """The one session with this id ends."""
    if RANDOM_ID.fullmatch(session_id):
        sql = f"DELETE FROM {table} WHERE session_hash = $1"  # noqa: S608 (constants)
        await conn.execute(sql, digest(session_id))

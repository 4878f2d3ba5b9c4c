"""The web database (migrations/0001_accounts.sql): accounts, set-password links, sessions and
failed sign-ins. Each function takes the connection of a unit of work the caller opens, so what
one does in several statements commits together or not at all.

Link tokens and session ids are 256 random bits from the OS's CSPRNG (secrets.token_urlsafe(32));
the database keeps only their SHA-256, so reading it gives no one a live link or session.
"""

import secrets
from collections.abc import Collection
from datetime import datetime, timedelta
from uuid import UUID

import asyncpg

from services.web.domain.accounts import Account, normal_email
from services.web.domain.sessions import Limits
from shared import sessions
from shared.db import Connection
from shared.domain.errors import Conflict
from shared.ids import new_id
from shared.sessions import RANDOM_ID, digest


class EmailTaken(Conflict):
    def __init__(self, email: str) -> None:
        super().__init__(
            f"there is already an account for {email}",
            title="Account exists",
            errors=[("email", "an account with this address exists")],
        )


def _account(row: asyncpg.Record) -> Account:
    return Account(
        row["account_id"], row["email"], row["name"], row["role"], row["scope"], row["disabled"]
    )


async def add_account(
    conn: Connection,
    *,
    email: str,
    name: str,
    role: str,
    scope: str | None,
    password_hash: str | None,
    now: datetime,
) -> Account:
    try:
        row = await conn.fetchrow(
            "INSERT INTO accounts (account_id, email, name, role, scope, password_hash,"
            " created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)"
            " RETURNING account_id, email, name, role, scope, disabled",
            new_id(),
            email.strip(),
            name,
            role,
            scope,
            password_hash,
            now,
        )
    except asyncpg.UniqueViolationError as exc:
        raise EmailTaken(email.strip()) from exc
    assert row is not None
    return _account(row)


async def credentials(conn: Connection, email: str) -> tuple[Account, str | None] | None:
    """The account with this address (any case) and its password hash, if there is one."""
    row = await conn.fetchrow(
        "SELECT account_id, email, name, role, scope, disabled, password_hash FROM accounts"
        " WHERE lower(email) = $1",
        normal_email(email),
    )
    return None if row is None else (_account(row), row["password_hash"])


async def accounts(conn: Connection) -> list[tuple[Account, datetime | None]]:
    """Every account, by address, with when it last signed in (None: never)."""
    rows = await conn.fetch(
        "SELECT account_id, email, name, role, scope, disabled, last_signed_in_at FROM accounts"
        " ORDER BY lower(email)"
    )
    return [(_account(r), r["last_signed_in_at"]) for r in rows]


async def names(conn: Connection, emails: Collection[str]) -> dict[str, str]:
    """The names of the accounts with these addresses, by address as accounts compare them."""
    rows = await conn.fetch(
        "SELECT lower(email) AS email, name FROM accounts WHERE lower(email) = ANY($1::text[])",
        [normal_email(e) for e in emails],
    )
    return {r["email"]: r["name"] for r in rows}


async def account(conn: Connection, email: str) -> Account | None:
    """The account with this address (any case)."""
    row = await conn.fetchrow(
        "SELECT account_id, email, name, role, scope, disabled FROM accounts"
        " WHERE lower(email) = $1",
        normal_email(email),
    )
    return None if row is None else _account(row)


async def add_link(conn: Connection, account_id: UUID, now: datetime, ttl: timedelta) -> str:
    """A one-time set-password link's token, valid for `ttl`."""
    token = secrets.token_urlsafe(32)
    await conn.execute(
        "INSERT INTO password_links (token_hash, account_id, created_at, expires_at)"
        " VALUES ($1, $2, $3, $4)",
        digest(token),
        account_id,
        now,
        now + ttl,
    )
    return token


async def reissue_link(
    conn: Connection, email: str, now: datetime, ttl: timedelta
) -> tuple[Account, str] | None:
    """A new set-password link for the enabled account with this address, every older link of
    it used up (a link sent to a wrong address stops working); None when there is no such
    enabled account."""
    found = await account(conn, email)
    if found is None or found.disabled:
        return None
    await conn.execute("DELETE FROM password_links WHERE account_id = $1", found.account_id)
    return found, await add_link(conn, found.account_id, now, ttl)


async def link_account(conn: Connection, token: str, now: datetime) -> Account | None:
    """The enabled account a live link is for; None for a used, expired or unknown link."""
    if not RANDOM_ID.fullmatch(token):
        return None
    row = await conn.fetchrow(
        "SELECT a.account_id, a.email, a.name, a.role, a.scope, a.disabled FROM password_links l"
        " JOIN accounts a USING (account_id)"
        " WHERE l.token_hash = $1 AND l.expires_at > $2 AND NOT a.disabled",
        digest(token),
        now,
    )
    return None if row is None else _account(row)


async def use_link(conn: Connection, token: str, now: datetime) -> UUID | None:
    """The account a live link is for, the link used up in the same statement: of two uses at
    once, one finds it and the other does not."""
    if not RANDOM_ID.fullmatch(token):
        return None
    used: UUID | None = await conn.fetchval(
        "DELETE FROM password_links l USING accounts a"
        " WHERE l.token_hash = $1 AND l.expires_at > $2 AND a.account_id = l.account_id"
        " AND NOT a.disabled RETURNING l.account_id",
        digest(token),
        now,
    )
    return used


async def set_password(
    conn: Connection, account_id: UUID, password_hash: str, now: datetime
) -> int:
    """The new hash; every link of the account is used up and every session ends (whoever knew
    the old password is signed out). Returns how many sessions ended."""
    await conn.execute(
        "UPDATE accounts SET password_hash = $2, updated_at = $3 WHERE account_id = $1",
        account_id,
        password_hash,
        now,
    )
    await conn.execute("DELETE FROM password_links WHERE account_id = $1", account_id)
    return await end_sessions(conn, account_id)


async def rehash(conn: Connection, account_id: UUID, password_hash: str) -> None:
    """The same password under stronger hashing parameters (no session ends)."""
    await conn.execute(
        "UPDATE accounts SET password_hash = $2 WHERE account_id = $1", account_id, password_hash
    )


async def disable(conn: Connection, email: str, now: datetime) -> tuple[Account, int] | None:
    """The account disabled, its links and sessions gone; None when there is no such account."""
    row = await conn.fetchrow(
        "UPDATE accounts SET disabled = true, updated_at = $2 WHERE lower(email) = $1"
        " RETURNING account_id, email, name, role, scope, disabled",
        normal_email(email),
        now,
    )
    if row is None:
        return None
    account = _account(row)
    await conn.execute("DELETE FROM password_links WHERE account_id = $1", account.account_id)
    return account, await end_sessions(conn, account.account_id)


async def open_session(conn: Connection, account_id: UUID, now: datetime, limits: Limits) -> str:
    """A new session (a new id at every sign-in); returns its id for the cookie. Sessions past
    their limits, anyone's, are deleted on the way."""
    await conn.execute(
        "UPDATE accounts SET last_signed_in_at = $2 WHERE account_id = $1", account_id, now
    )
    await conn.execute(
        "DELETE FROM sessions WHERE last_seen_at <= $1 OR created_at <= $2",
        limits.idle_since(now),
        limits.created_since(now),
    )
    return await sessions.open_session(
        conn,
        "INSERT INTO sessions (session_hash, account_id, created_at, last_seen_at)"
        " VALUES ($1, $2, $3, $3)",
        account_id,
        now,
    )


async def resume(
    conn: Connection, session_id: str, now: datetime, limits: Limits
) -> Account | None:
    """The enabled account of a live session, its idle clock restarted; None when the session
    has ended (one found past a limit is deleted)."""
    row = await sessions.resume(
        conn,
        "sessions",
        session_id,
        "WITH seen AS (UPDATE sessions SET last_seen_at = greatest(last_seen_at, $2)"
        " WHERE session_hash = $1 AND last_seen_at > $3 AND created_at > $4"
        " RETURNING account_id)"
        " SELECT a.account_id, a.email, a.name, a.role, a.scope, a.disabled"
        " FROM seen JOIN accounts a USING (account_id) WHERE NOT a.disabled",
        now,
        limits.idle_since(now),
        limits.created_since(now),
    )
    return None if row is None else _account(row)


async def end_session(conn: Connection, session_id: str) -> None:
    """The one session with this id ends (the one a browser had before it signed in again)."""
    await sessions.end(conn, "sessions", session_id)


async def end_sessions(conn: Connection, account_id: UUID) -> int:
    """Sign-out everywhere: every session of the account ends. Returns how many."""
    status: str = await conn.execute("DELETE FROM sessions WHERE account_id = $1", account_id)
    return int(status.rsplit(" ", 1)[1])


async def failures(
    conn: Connection, email: str, client: str, since: datetime
) -> tuple[list[datetime], list[datetime]]:
    """When sign-in failed since `since` for this address, and from this client."""
    rows = await conn.fetch(
        "SELECT failed_at, lower(email) = $1 AS same_email, client = $2 AS same_client"
        " FROM sign_in_failures WHERE (lower(email) = $1 OR client = $2) AND failed_at > $3",
        normal_email(email),
        client,
        since,
    )
    return (
        [r["failed_at"] for r in rows if r["same_email"]],
        [r["failed_at"] for r in rows if r["same_client"]],
    )


async def record_failure(
    conn: Connection, email: str, client: str, now: datetime, since: datetime
) -> None:
    """One more failed sign-in; those older than `since` are forgotten on the way."""
    await conn.execute("DELETE FROM sign_in_failures WHERE failed_at <= $1", since)
    await conn.execute(
        "INSERT INTO sign_in_failures (email, client, failed_at) VALUES ($1, $2, $3)",
        normal_email(email)[:254],
        client,
        now,
    )


async def clear_failures(conn: Connection, email: str) -> None:
    await conn.execute("DELETE FROM sign_in_failures WHERE lower(email) = $1", normal_email(email))

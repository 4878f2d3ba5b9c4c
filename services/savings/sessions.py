"""Dashboard sessions, kept in the savings database (migrations 0004_dashboard_sessions.sql and
0007_supplier_names.sql).

A session is a trust's business manager's (scope: the trust) or a school's (scope: its URN),
as the token it was opened with said. The browser holds a random session id (256 bits from the
OS's CSPRNG) in its cookie; the database holds only the id's SHA-256, so reading the table does
not give anyone a live session. The id is not a bearer token: the API never accepts it, and the
token itself never leaves the sign-in request.

A session ends when its user signs out (its row is deleted), after `idle` without a request,
`lifetime` after sign-in however busy it is, and when the token it was opened with expires.
The token's id (its `jti`, when it has one) is kept so that revoking a token can end its
sessions. Rows past any limit are deleted when the next session opens, or when they are shown.

Each function takes the connection of a unit of work (shared/unit_of_work.py) that the caller
opens (dashboard.py), so what one does, in several statements, commits together or not at all.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from shared import sessions
from shared.db import Connection


@dataclass(frozen=True)
class Limits:
    idle: timedelta
    lifetime: timedelta


# The roles that may open a dashboard session, as shared.auth.Role names them.
MANAGER = "manager"
SCHOOL = "school"


@dataclass(frozen=True)
class Session:
    """Who a live session is for: the manager of one trust, or one school (`role`), and that
    role's scope (the trust's id, or the school's URN)."""

    role: str
    scope: str
    subject: str
    # The id (`jti`) of the token the session was opened with, if it had one.
    token_id: str | None


async def purge(conn: Connection, now: datetime, limits: Limits) -> int:
    """Delete every session past one of its limits; returns how many."""
    status: str = await conn.execute(
        "DELETE FROM dashboard_sessions"
        " WHERE last_seen_at <= $1 OR created_at <= $2 OR token_expires_at <= $3",
        now - limits.idle,
        now - limits.lifetime,
        now,
    )
    return int(status.rsplit(" ", 1)[1])


async def open_session(
    conn: Connection,
    *,
    role: str,
    scope: str,
    subject: str,
    token_id: str | None,
    token_expires_at: datetime,
    now: datetime,
    limits: Limits,
    replaces: str | None = None,
) -> str:
    """A new session (a new id at every sign-in); returns its id for the cookie. The session
    the browser had before (`replaces`), if any, ends; so do all sessions past their limits.
    `role` is MANAGER (`scope`: the trust) or SCHOOL (`scope`: the URN)."""
    if role not in (MANAGER, SCHOOL):
        raise ValueError(f"role: no dashboard session for {role!r}")
    await purge(conn, now, limits)
    if replaces is not None and sessions.RANDOM_ID.fullmatch(replaces):
        await end(conn, replaces)
    return await sessions.open_session(
        conn,
        "INSERT INTO dashboard_sessions (session_hash, role, trust_id, school_urn, subject,"
        " token_id, token_expires_at, created_at, last_seen_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
        role,
        scope if role == MANAGER else None,
        scope if role == SCHOOL else None,
        subject,
        token_id,
        token_expires_at,
        now,
    )


async def resume(
    conn: Connection, session_id: str, now: datetime, limits: Limits
) -> Session | None:
    """The live session with this id, its idle clock restarted; None when there is none (a
    session found past a limit is deleted)."""
    row = await sessions.resume(
        conn,
        "dashboard_sessions",
        session_id,
        "UPDATE dashboard_sessions SET last_seen_at = greatest(last_seen_at, $2)"
        " WHERE session_hash = $1 AND last_seen_at > $3 AND created_at > $4"
        " AND token_expires_at > $2"
        " RETURNING role, coalesce(trust_id, school_urn) AS scope, subject, token_id",
        now,
        now - limits.idle,
        now - limits.lifetime,
    )
    if row is None:
        return None
    return Session(row["role"], row["scope"], row["subject"], row["token_id"])


async def end(conn: Connection, session_id: str) -> None:
    """Sign-out: the session is gone, whatever its cookie says later."""
    await sessions.end(conn, "dashboard_sessions", session_id)

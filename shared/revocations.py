"""Revoking a leaked bearer token before it expires.

An operator revokes a token by its id (`procure token revoke`, which calls demand's
`POST /v1/tokens/revocations`). Demand writes a `token.revoked` event to its outbox; every
service, demand included, applies it through its inbox into its own `revoked_tokens` table, and
each process reloads that table every `REVOCATION_REFRESH_SECONDS` (default 1 s) into the set
its authentication checks. So a revoked token is refused everywhere within seconds, and still
after a restart.
"""

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Annotated

import asyncpg
import structlog
from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from shared.auth import Role
from shared.background import in_background
from shared.db import Connection
from shared.events import Envelope, TokenRevoked, Topics, outgoing, read_data
from shared.http import Caller, require_role
from shared.openapi import problems
from shared.unit_of_work import UnitOfWork, unit_of_work

log = structlog.get_logger()


async def apply_revocation(work: UnitOfWork, event: Envelope) -> None:
    revoked = read_data(event, TokenRevoked)
    await work.conn.execute(
        "INSERT INTO revoked_tokens (token_id, reason, revoked_at) VALUES ($1, $2, $3)"
        " ON CONFLICT (token_id) DO NOTHING",
        revoked.token_id,
        revoked.reason,
        event.occurred_at,
    )


HANDLERS = {TokenRevoked.event_type: apply_revocation}


async def revoked_ids(conn: Connection) -> frozenset[str]:
    return frozenset(r["token_id"] for r in await conn.fetch("SELECT token_id FROM revoked_tokens"))


@asynccontextmanager
async def refreshing(
    pool: asyncpg.Pool, interval_seconds: float, update: Callable[[frozenset[str]], None]
) -> AsyncIterator[None]:
    """Load the revoked ids now, then every `interval_seconds` while the block runs."""
    async with pool.acquire() as conn:
        update(await revoked_ids(conn))

    async def refresh() -> None:
        while True:
            await asyncio.sleep(interval_seconds)
            try:
                async with pool.acquire() as conn:
                    update(await revoked_ids(conn))
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                # The last set stays in force; readiness reports the database.
                log.warning("revoked tokens not reloaded", error=str(exc))

    async with in_background(refresh()):
        yield


class RevocationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token_id: Annotated[
        str, Field(pattern=r"^[0-9a-f]{32}$", description="the token's `jti` claim")
    ]
    reason: Annotated[str, Field(max_length=500, pattern=r"^[^\x00-\x1f\x7f]*$")] | None = None


class RevocationOut(BaseModel):
    token_id: str
    status: str = Field(description="`revoked`: every service refuses it within seconds")


router = APIRouter(tags=["access"])


@router.post("/v1/tokens/revocations", status_code=202, responses=problems(413))
async def revoke_token(body: RevocationIn, caller: Caller, request: Request) -> RevocationOut:
    """Revoke a bearer token by its id (operator). Idempotent: revoking twice changes nothing."""
    require_role(caller, Role.OPERATOR)
    event = outgoing(
        TokenRevoked(token_id=body.token_id, reason=body.reason),
        trust_id="",
        correlation_id=f"revocation:{body.token_id}",
    )
    async with unit_of_work(request.app.state.runtime.pool) as work:
        work.emit(Topics.ACCESS, [event])
    log.info("token revoked", token_id=body.token_id, by=caller.subject)
    return RevocationOut(token_id=body.token_id, status="revoked")

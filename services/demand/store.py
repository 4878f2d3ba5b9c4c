"""SQL of the demand service, with bound parameters only."""

from typing import Any
from uuid import UUID

import asyncpg

from services.demand.registry import School
from shared.db import Connection


async def get_school(conn: Connection, urn: str) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM schools WHERE urn = $1", urn)


async def schools_by_urn(conn: Connection, urns: list[str]) -> dict[str, asyncpg.Record]:
    rows = await conn.fetch("SELECT * FROM schools WHERE urn = ANY($1::text[])", urns)
    return {r["urn"]: r for r in rows}


async def upsert_schools(conn: Connection, schools: list[School]) -> None:
    await conn.executemany(
        "INSERT INTO schools (urn, trust_id, trust_name, name, phase, postcode, local_authority,"
        " pupils, status) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        " ON CONFLICT (urn) DO UPDATE SET trust_id = EXCLUDED.trust_id,"
        " trust_name = EXCLUDED.trust_name, name = EXCLUDED.name, phase = EXCLUDED.phase,"
        " postcode = EXCLUDED.postcode, local_authority = EXCLUDED.local_authority,"
        " pupils = EXCLUDED.pupils, status = EXCLUDED.status, updated_at = now()",
        [
            (
                s.urn,
                s.trust_id,
                s.trust_name,
                s.name,
                s.phase,
                s.postcode,
                s.local_authority,
                s.pupils,
                s.status,
            )
            for s in schools
        ],
    )


async def insert_demand(conn: Connection, line: dict[str, Any]) -> asyncpg.Record:
    row = await conn.fetchrow(
        "INSERT INTO demand_lines (demand_id, trust_id, school_urn, category, unit, quantity,"
        " current_unit_price, current_supplier, contract_end, term_months, notes)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        " RETURNING *",
        line["demand_id"],
        line["trust_id"],
        line["school_urn"],
        line["category"],
        line["unit"],
        line["quantity"],
        line["current_unit_price"],
        line["current_supplier"],
        line["contract_end"],
        line["term_months"],
        line["notes"],
    )
    assert row is not None
    return row


async def get_demand(conn: Connection, demand_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM demand_lines WHERE demand_id = $1", demand_id)


async def lock_idempotency_key(conn: Connection, owner: str, key: str) -> None:
    """Serialise concurrent requests that carry one key, until the transaction ends."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", f"{owner}\n{key}")


async def find_idempotency_key(conn: Connection, owner: str, key: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT request_hash, demand_id FROM idempotency_keys WHERE owner = $1 AND key = $2",
        owner,
        key,
    )


async def save_idempotency_key(
    conn: Connection, owner: str, key: str, request_hash: str, demand_id: UUID
) -> None:
    await conn.execute(
        "INSERT INTO idempotency_keys (owner, key, request_hash, demand_id)"
        " VALUES ($1, $2, $3, $4)",
        owner,
        key,
        request_hash,
        demand_id,
    )

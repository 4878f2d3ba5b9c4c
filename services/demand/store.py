"""SQL of the demand service, with bound parameters only. Bulk writes are set-based (one
statement over arrays), never one round trip per row."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from uuid import UUID

import asyncpg

from services.demand.domain.lines import AWARDED, IN_TENDER, OPEN, WITHDRAWN, LineFields
from services.demand.domain.schools import School
from shared.db import Connection, as_columns, row_by_id

Key = tuple[str, str]  # (owner, idempotency key)

# The lines' tables and the columns a page filters on: constants, never a caller's text, are
# all that is written into SQL (values are bound parameters).
Table = Literal["demand_lines", "spend_lines"]
IdColumn = Literal["demand_id", "spend_id"]
FilterColumn = Literal["trust_id", "school_urn", "category", "status"]
Used = tuple[UUID, str]  # (the line a key created, the request hash it was created with)
KeyColumn = Literal["key_owner", "idempotency_key", "school_urn", "invoice_ref"]


async def schools_by_urn(conn: Connection, urns: Sequence[str]) -> dict[str, asyncpg.Record]:
    rows = await conn.fetch("SELECT * FROM schools WHERE urn = ANY($1::text[])", list(set(urns)))
    return {r["urn"]: r for r in rows}


async def upsert_schools(conn: Connection, schools: Sequence[School]) -> None:
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


async def leave_trusts(conn: Connection, urns: Sequence[str]) -> None:
    await conn.execute(
        "UPDATE schools SET trust_id = NULL, updated_at = now() WHERE urn = ANY($1::text[])",
        list(urns),
    )


async def withdraw_open_lines_of_schools(
    conn: Connection, schools: Sequence[tuple[str, str]]
) -> list[asyncpg.Record]:
    """Withdraw the open lines of each (urn, reason); returns the lines withdrawn."""
    return await conn.fetch(
        "UPDATE demand_lines d SET status = $3, status_reason = w.reason, updated_at = now()"
        " FROM unnest($1::text[], $2::text[]) AS w(urn, reason)"
        " WHERE d.school_urn = w.urn AND d.status = $4"
        " RETURNING d.*",
        *as_columns(schools, 2),
        WITHDRAWN,
        OPEN,
    )


@dataclass(slots=True)  # one per line stored; frozen would cost a call per field
class NewLine:
    demand_id: UUID
    trust_id: str
    line: LineFields
    key: Key | None  # (owner, idempotency key)
    request_hash: str | None  # with a key: what was asked for, to tell a retry from a reuse


def column_types(spec: str) -> tuple[tuple[str, str], ...]:
    """`"demand_id uuid, trust_id text"` as ((name, SQL type), ...): a table's columns in order."""
    return tuple((name, kind) for name, kind in (c.split() for c in spec.split(",")))


async def insert_new(
    conn: Connection,
    table: Table,
    columns: Sequence[tuple[str, str]],
    key_columns: tuple[KeyColumn, KeyColumn],
    rows: Iterable[Sequence[object]],
) -> list[asyncpg.Record]:
    """Insert the rows (values in the order of `columns`) in one statement over arrays, except
    those whose key is already used (by a line committed, or being inserted by another
    transaction: this waits for it to end); returns the keys inserted. Sorted by key, so two
    batches cannot deadlock."""
    names = ", ".join(name for name, _ in columns)
    arrays = ", ".join(f"${i}::{kind}[]" for i, (_, kind) in enumerate(columns, 1))
    key = ", ".join(key_columns)
    by_column = as_columns(rows, len(columns))
    return await conn.fetch(
        f"INSERT INTO {table} ({names}) SELECT * FROM unnest({arrays}) AS new({names})"  # noqa: S608 (constants)
        f" ORDER BY {key} ON CONFLICT ({key}) DO NOTHING RETURNING {key}",
        *by_column,
    )


_DEMAND_COLUMNS = column_types(
    "demand_id uuid, trust_id text, school_urn text, category text, unit text, quantity numeric,"
    " current_unit_price numeric, current_supplier text, contract_end date, term_months int,"
    " notes text, key_owner text, idempotency_key text, request_hash text"
)
# The line's own columns, between the ids and the key.
_LINE_COLUMNS = tuple(name for name, _ in _DEMAND_COLUMNS[2:-3])


async def insert_demands(conn: Connection, lines: Sequence[NewLine]) -> set[Key]:
    """Insert the lines in one statement, except those whose key is already used; returns the
    keys of the lines inserted (insert_new)."""
    rows = await insert_new(
        conn,
        "demand_lines",
        _DEMAND_COLUMNS,
        ("key_owner", "idempotency_key"),
        (
            (
                n.demand_id,
                n.trust_id,
                *(getattr(n.line, name) for name in _LINE_COLUMNS),
                *(n.key or (None, None)),
                n.request_hash,
            )
            for n in lines
        ),
    )
    return {(r["key_owner"], r["idempotency_key"]) for r in rows if r["key_owner"] is not None}


async def find_keys(conn: Connection, keys: Sequence[Key]) -> dict[Key, Used]:
    """The keys already used, each with the demand line it created and its request hash."""
    return await used_keys(
        conn, "demand_lines", "demand_id", ("key_owner", "idempotency_key"), keys
    )


async def used_keys(
    conn: Connection,
    table: Table,
    id_column: IdColumn,
    key_columns: tuple[KeyColumn, KeyColumn],
    keys: Sequence[tuple[str, str]],
) -> dict[tuple[str, str], Used]:
    """Of these two-part keys, those a line of `table` holds, with that line's id and hash."""
    if not keys:
        return {}
    first, second = key_columns
    rows = await conn.fetch(
        f"SELECT l.{first}, l.{second}, l.request_hash, l.{id_column} FROM {table} l"  # noqa: S608 (constants)
        " JOIN unnest($1::text[], $2::text[]) AS k(a, b)"
        f" ON l.{first} = k.a AND l.{second} = k.b",
        *as_columns(keys, 2),
    )
    return {(r[first], r[second]): (r[id_column], r["request_hash"]) for r in rows}


async def get_demand(
    conn: Connection, demand_id: UUID, *, for_update: bool = False
) -> asyncpg.Record | None:
    return await row_by_id(conn, "demand_lines", "demand_id", demand_id, for_update=for_update)


async def demands_by_id(conn: Connection, demand_ids: Sequence[UUID]) -> dict[UUID, asyncpg.Record]:
    return await rows_by_id(conn, "demand_lines", "demand_id", demand_ids)


async def rows_by_id(
    conn: Connection, table: Table, id_column: IdColumn, ids: Sequence[UUID]
) -> dict[UUID, asyncpg.Record]:
    """The rows of `table` with these ids."""
    if not ids:
        return {}
    rows = await conn.fetch(
        f"SELECT * FROM {table} WHERE {id_column} = ANY($1::uuid[])",  # noqa: S608 (constants)
        list(set(ids)),
    )
    return {r[id_column]: r for r in rows}


async def page(
    conn: Connection,
    table: Table,
    id_column: IdColumn,
    filters: dict[FilterColumn, str | None],
    after: tuple[datetime, UUID] | None,
    limit: int,
) -> list[asyncpg.Record]:
    """Rows of `table` whose columns equal every filter given (None: any), in creation order,
    after a position."""
    where = [f"(${i}::text IS NULL OR {column} = ${i})" for i, column in enumerate(filters, 1)]
    n = len(filters)
    where.append(
        f"(${n + 1}::timestamptz IS NULL OR (created_at, {id_column}) > (${n + 1}, ${n + 2}::uuid))"
    )
    return await conn.fetch(
        f"SELECT * FROM {table} WHERE {' AND '.join(where)}"  # noqa: S608 (constants)
        f" ORDER BY created_at, {id_column} LIMIT ${n + 3}",
        *filters.values(),
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )


async def update_demand(conn: Connection, demand_id: UUID, line: LineFields) -> asyncpg.Record:
    row = await conn.fetchrow(
        "UPDATE demand_lines SET unit = $2, quantity = $3, current_unit_price = $4,"
        " current_supplier = $5, contract_end = $6, term_months = $7, notes = $8,"
        " updated_at = now() WHERE demand_id = $1 RETURNING *",
        demand_id,
        line.unit,
        line.quantity,
        line.current_unit_price,
        line.current_supplier,
        line.contract_end,
        line.term_months,
        line.notes,
    )
    assert row is not None
    return row


async def withdraw_demand(conn: Connection, demand_id: UUID, reason: str) -> asyncpg.Record:
    row = await conn.fetchrow(
        "UPDATE demand_lines SET status = $2, status_reason = $3, updated_at = now()"
        " WHERE demand_id = $1 RETURNING *",
        demand_id,
        WITHDRAWN,
        reason,
    )
    assert row is not None
    return row


async def put_in_tender(
    conn: Connection, trust_id: str, tender_id: UUID, demand_ids: Sequence[UUID]
) -> int:
    """Open lines of the tender become in_tender; returns how many did."""
    status = await conn.execute(
        "UPDATE demand_lines SET status = $1, tender_id = $2, updated_at = now()"
        " WHERE demand_id = ANY($3::uuid[]) AND trust_id = $4 AND status = $5",
        IN_TENDER,
        tender_id,
        list(demand_ids),
        trust_id,
        OPEN,
    )
    return int(status.split()[-1])


async def release_from_tender(conn: Connection, trust_id: str, tender_id: UUID) -> int:
    status = await conn.execute(
        "UPDATE demand_lines SET status = $1, tender_id = NULL, updated_at = now()"
        " WHERE tender_id = $2 AND trust_id = $3 AND status = $4",
        OPEN,
        tender_id,
        trust_id,
        IN_TENDER,
    )
    return int(status.split()[-1])


async def mark_awarded(
    conn: Connection, trust_id: str, tender_id: UUID, demand_ids: Sequence[UUID]
) -> int:
    status = await conn.execute(
        "UPDATE demand_lines SET status = $1, updated_at = now()"
        " WHERE demand_id = ANY($2::uuid[]) AND tender_id = $3 AND trust_id = $4"
        " AND status = $5",
        AWARDED,
        list(demand_ids),
        tender_id,
        trust_id,
        IN_TENDER,
    )
    return int(status.split()[-1])

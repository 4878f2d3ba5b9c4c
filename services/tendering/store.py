"""SQL of the tendering service, with bound parameters only."""

import json
from datetime import datetime
from decimal import Decimal
from uuid import UUID

import asyncpg

from services.tendering.domain.evaluation import Bid, ScoredBid
from services.tendering.domain.pooling import Pool, PoolLine
from services.tendering.domain.pricing import PriceTier
from services.tendering.domain.route import RouteDecision
from shared.db import Connection


async def open_lines(conn: Connection, trust_id: str) -> dict[str, list[PoolLine]]:
    """The trust's open demand lines, by category."""
    rows = await conn.fetch(
        "SELECT demand_id, school_urn, category, quantity, baseline_unit_price, contract_end,"
        " term_months FROM demand_lines WHERE trust_id = $1 AND status = 'open'"
        " ORDER BY category, contract_end, demand_id",
        trust_id,
    )
    lines: dict[str, list[PoolLine]] = {}
    for r in rows:
        lines.setdefault(r["category"], []).append(
            PoolLine(
                demand_id=str(r["demand_id"]),
                school_urn=r["school_urn"],
                quantity=r["quantity"],
                baseline_unit_price=r["baseline_unit_price"],
                contract_end=r["contract_end"],
                term_months=r["term_months"],
            )
        )
    return lines


async def insert_tender(
    conn: Connection,
    tender_id: UUID,
    pool: Pool,
    unit: str,
    opened_at: datetime,
    closes_at: datetime,
    term_months: int,
    weights: tuple[Decimal, Decimal],
    route: RouteDecision,
) -> None:
    await conn.execute(
        "INSERT INTO tenders (tender_id, trust_id, category, unit, pool_id, opened_at, closes_at,"
        " term_months, weight_price, weight_quality, route, value_ex_vat, vat, value_inc_vat,"
        " threshold, threshold_name, route_reason) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9,"
        " $10, $11, $12, $13, $14, $15, $16, $17)",
        tender_id,
        pool.trust_id,
        pool.category,
        unit,
        pool.pool_id,
        opened_at,
        closes_at,
        term_months,
        weights[0],
        weights[1],
        str(route.route),
        route.value_ex_vat,
        route.vat,
        route.value_inc_vat,
        route.threshold,
        route.threshold_name,
        route.reason,
    )
    await conn.executemany(
        "INSERT INTO tender_lines (tender_id, demand_id, school_urn, quantity,"
        " baseline_unit_price, contract_end) VALUES ($1, $2, $3, $4, $5, $6)",
        [
            (
                tender_id,
                UUID(line.demand_id),
                line.school_urn,
                line.quantity,
                line.baseline_unit_price,
                line.contract_end,
            )
            for line in pool.lines
        ],
    )
    status = await conn.execute(
        "UPDATE demand_lines SET status = 'tendered', tender_id = $1"
        " WHERE demand_id = ANY($2::uuid[]) AND status = 'open'",
        tender_id,
        [UUID(line.demand_id) for line in pool.lines],
    )
    if status != f"UPDATE {len(pool.lines)}":
        raise asyncpg.exceptions.SerializationError("pool changed while the tender was opened")


async def get_tender(
    conn: Connection, tender_id: UUID, *, for_update: bool = False
) -> asyncpg.Record | None:
    if for_update:
        return await conn.fetchrow(
            "SELECT * FROM tenders WHERE tender_id = $1 FOR UPDATE", tender_id
        )
    return await conn.fetchrow("SELECT * FROM tenders WHERE tender_id = $1", tender_id)


async def tender_lines(conn: Connection, tender_id: UUID) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT * FROM tender_lines WHERE tender_id = $1 ORDER BY school_urn, demand_id", tender_id
    )


async def upsert_bid(
    conn: Connection,
    bid_id: UUID,
    tender_id: UUID,
    supplier_id: str,
    quality_score: Decimal,
    tiers: tuple[PriceTier, ...],
    submitted_at: datetime,
) -> asyncpg.Record:
    tiers_json = json.dumps(
        [{"min_quantity": str(t.min_quantity), "unit_price": str(t.unit_price)} for t in tiers]
    )
    row = await conn.fetchrow(
        "INSERT INTO bids (bid_id, tender_id, supplier_id, quality_score, price_tiers,"
        " submitted_at) VALUES ($1, $2, $3, $4, $5::jsonb, $6)"
        " ON CONFLICT (tender_id, supplier_id) DO UPDATE SET bid_id = EXCLUDED.bid_id,"
        " quality_score = EXCLUDED.quality_score, price_tiers = EXCLUDED.price_tiers,"
        " submitted_at = EXCLUDED.submitted_at RETURNING *",
        bid_id,
        tender_id,
        supplier_id,
        quality_score,
        tiers_json,
        submitted_at,
    )
    assert row is not None
    return row


def bid_of(row: asyncpg.Record) -> Bid:
    tiers = json.loads(row["price_tiers"])
    return Bid(
        bid_id=str(row["bid_id"]),
        supplier_id=row["supplier_id"],
        quality_score=row["quality_score"],
        tiers=tuple(PriceTier(Decimal(t["min_quantity"]), Decimal(t["unit_price"])) for t in tiers),
        submitted_at=row["submitted_at"],
    )


async def bids(conn: Connection, tender_id: UUID) -> list[Bid]:
    rows = await conn.fetch("SELECT * FROM bids WHERE tender_id = $1", tender_id)
    return [bid_of(r) for r in rows]


async def record_award(
    conn: Connection,
    tender_id: UUID,
    winner: ScoredBid,
    pooled_quantity: Decimal,
    awarded_at: datetime,
) -> None:
    await conn.execute(
        "UPDATE tenders SET status = 'awarded', awarded_bid_id = $2, awarded_at = $3,"
        " pooled_quantity = $4, pooled_unit_price = $5 WHERE tender_id = $1",
        tender_id,
        UUID(winner.bid.bid_id),
        awarded_at,
        pooled_quantity,
        winner.unit_price,
    )
    await conn.execute("UPDATE demand_lines SET status = 'awarded' WHERE tender_id = $1", tender_id)

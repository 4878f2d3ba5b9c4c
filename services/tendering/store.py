"""SQL of the tendering service, with bound parameters only. A write that finds the state
changed under it says so in the domain's words (domain/errors.py), not the driver's.

The handlers read and change tenders through `PostgresTenderRepository` (repository.py says
what it must do); the API's views and the scheduler read with the functions beside it."""

import json
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

import asyncpg

from services.tendering.domain.errors import PoolChanged
from services.tendering.domain.evaluation import Bid
from services.tendering.domain.lots import LotsBy, Status
from services.tendering.domain.pooling import PoolLine, TenderedSpan
from services.tendering.domain.pricing import PriceTier
from services.tendering.domain.scoring import QualityScore
from services.tendering.repository import HistoryEntry, LotAward, NewTender, TenderRepository
from shared.db import Connection, row_by_id
from shared.unit_of_work import UnitOfWork


async def open_lines(
    conn: Connection, trust_id: str, category: str | None = None
) -> dict[str, list[PoolLine]]:
    """The trust's poolable demand lines (not in a tender, not withdrawn), by category."""
    rows = await conn.fetch(
        "SELECT demand_id, school_urn, category, quantity, baseline_unit_price, contract_end,"
        " term_months FROM demand_lines WHERE trust_id = $1 AND status = 'open' AND NOT withdrawn"
        " AND ($2::text IS NULL OR category = $2) ORDER BY category, contract_end, demand_id",
        trust_id,
        category,
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


async def open_tender_spans(conn: Connection, trust_id: str) -> dict[str, list[TenderedSpan]]:
    """The trust's open tenders by category, with the span of their lines' contract ends."""
    rows = await conn.fetch(
        "SELECT t.tender_id, t.category, min(l.contract_end) AS earliest,"
        " max(l.contract_end) AS latest FROM tenders t JOIN tender_lines l USING (tender_id)"
        " WHERE t.trust_id = $1 AND t.status = 'open' GROUP BY t.tender_id, t.category"
        " ORDER BY t.tender_id",
        trust_id,
    )
    spans: dict[str, list[TenderedSpan]] = {}
    for r in rows:
        spans.setdefault(r["category"], []).append(
            TenderedSpan(str(r["tender_id"]), r["earliest"], r["latest"])
        )
    return spans


async def get_tender(
    conn: Connection, tender_id: UUID, *, for_update: bool = False
) -> asyncpg.Record | None:
    return await row_by_id(conn, "tenders", "tender_id", tender_id, for_update=for_update)


async def trust_tenders(conn: Connection, trust_id: str) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT * FROM tenders WHERE trust_id = $1 ORDER BY opened_at DESC, tender_id", trust_id
    )


async def open_notices(
    conn: Connection, now: datetime, trust_id: str | None, limit: int
) -> list[asyncpg.Record]:
    """Tenders still taking bids (open, before their deadline), soonest deadline first; one
    trust's, or every trust's (None)."""
    return await conn.fetch(
        "SELECT * FROM tenders WHERE status = 'open' AND closes_at > $1"
        " AND ($2::text IS NULL OR trust_id = $2) ORDER BY closes_at, tender_id LIMIT $3",
        now,
        trust_id,
        limit,
    )


async def notice_lots(conn: Connection, tender_ids: Sequence[UUID]) -> list[asyncpg.Record]:
    """These tenders' lots, each with how many schools it has."""
    return await conn.fetch(
        "SELECT l.tender_id, l.lot_no, l.name, l.pooled_quantity,"
        " (SELECT count(DISTINCT t.school_urn) FROM tender_lines t WHERE t.tender_id = l.tender_id"
        " AND t.lot_no = l.lot_no) AS schools FROM tender_lots l"
        " WHERE l.tender_id = ANY($1::uuid[]) ORDER BY l.tender_id, l.lot_no",
        list(tender_ids),
    )


async def tender_lots(conn: Connection, tender_id: UUID) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT * FROM tender_lots WHERE tender_id = $1 ORDER BY lot_no", tender_id
    )


async def tender_lines(conn: Connection, tender_id: UUID) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT * FROM tender_lines WHERE tender_id = $1 ORDER BY lot_no, school_urn, demand_id",
        tender_id,
    )


def bid_of(row: asyncpg.Record) -> Bid:
    tiers = json.loads(row["price_tiers"])
    return Bid(
        bid_id=str(row["bid_id"]),
        supplier_id=row["supplier_id"],
        quality_score=row["quality_score"],
        tiers=tuple(PriceTier(Decimal(t["min_quantity"]), Decimal(t["unit_price"])) for t in tiers),
        submitted_at=row["submitted_at"],
        quality_comment=row["quality_comment"],
        supplier_name=row["supplier_name"],
    )


async def bid_rows(
    conn: Connection, tender_id: UUID, supplier_id: str | None = None
) -> list[asyncpg.Record]:
    """Every bid of the tender, or only one supplier's."""
    return await conn.fetch(
        "SELECT * FROM bids WHERE tender_id = $1 AND ($2::text IS NULL OR supplier_id = $2)"
        " ORDER BY lot_no, submitted_at, bid_id",
        tender_id,
        supplier_id,
    )


async def supplier_bid_rows(conn: Connection, supplier_id: str, limit: int) -> list[asyncpg.Record]:
    """One supplier's bids on every tender, newest first, with their tender's and lot's state."""
    return await conn.fetch(
        "SELECT b.*, t.category, t.unit, t.closes_at, t.status AS tender_status,"
        " l.status AS lot_status, l.awarded_bid_id IS NOT DISTINCT FROM b.bid_id AS awarded"
        " FROM bids b JOIN tenders t USING (tender_id) JOIN tender_lots l USING (tender_id, lot_no)"
        " WHERE b.supplier_id = $1 ORDER BY b.submitted_at DESC, b.bid_id LIMIT $2",
        supplier_id,
        limit,
    )


async def tender_history(conn: Connection, tender_id: UUID) -> list[HistoryEntry]:
    rows = await conn.fetch(
        "SELECT at, action, done_by, lot_no, supplier_id, supplier_name, detail"
        " FROM tender_history WHERE tender_id = $1 ORDER BY at, entry_id",
        tender_id,
    )
    return [HistoryEntry(**dict(r)) for r in rows]


async def due_tenders(conn: Connection, now: datetime) -> list[asyncpg.Record]:
    """Open tenders whose deadline has passed, oldest deadline first, for the deadline policy to
    award: those where price alone decides, and those without bids on an undecided lot (closed
    as without bids). Where quality counts and bids came in, the award is the buyer's: the
    manager scores the bids, reviews the evaluation and awards (docs/domain-rules.md)."""
    return await conn.fetch(
        "SELECT tender_id, trust_id FROM tenders t WHERE status = 'open' AND closes_at <= $1"
        " AND NOT (weight_quality > 0 AND EXISTS (SELECT 1 FROM bids b JOIN tender_lots l"
        " USING (tender_id, lot_no) WHERE b.tender_id = t.tender_id AND l.status = 'open'))"
        " ORDER BY closes_at, tender_id LIMIT 100",
        now,
    )


async def pooling_due(conn: Connection, horizon: date) -> list[asyncpg.Record]:
    """(trust, category) pairs with a poolable line whose contract ends by `horizon`."""
    return await conn.fetch(
        "SELECT DISTINCT trust_id, category FROM demand_lines WHERE status = 'open'"
        " AND NOT withdrawn AND contract_end <= $1 ORDER BY trust_id, category",
        horizon,
    )


class PostgresTenderRepository:
    """What tendering's handlers read and change (repository.py), in the service's database on
    the unit of work's connection."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def lock_openings(self, trust_id: str) -> None:
        await self._conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 1))", trust_id)

    async def open_lines(
        self, trust_id: str, category: str | None = None
    ) -> dict[str, list[PoolLine]]:
        return await open_lines(self._conn, trust_id, category)

    async def open_tender_spans(self, trust_id: str) -> dict[str, list[TenderedSpan]]:
        return await open_tender_spans(self._conn, trust_id)

    async def school_labels(self, urns: Sequence[str], lots_by: LotsBy) -> dict[str, str | None]:
        rows = await self._conn.fetch(
            "SELECT urn, local_authority, phase FROM schools WHERE urn = ANY($1::text[])",
            list(urns),
        )
        column = "local_authority" if lots_by is LotsBy.LOCAL_AUTHORITY else "phase"
        return {r["urn"]: r[column] for r in rows}

    async def add(self, t: NewTender) -> None:
        await self._conn.execute(
            "INSERT INTO tenders (tender_id, trust_id, category, unit, pool_id, opened_at,"
            " closes_at, term_months, weight_price, weight_quality, route, value_ex_vat, vat,"
            " value_inc_vat, threshold, threshold_name, route_reason, lots_by, opened_by,"
            " procedure, framework, planned_procurement_notice, urgency_reason) VALUES"
            " ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,"
            " $19, $20, $21, $22, $23)",
            t.tender_id,
            t.pool.trust_id,
            t.pool.category,
            t.unit,
            t.pool.pool_id,
            t.opened_at,
            t.closes_at,
            t.term_months,
            t.weights.price,
            t.weights.quality,
            str(t.route.route),
            t.route.value_ex_vat,
            t.route.vat,
            t.route.value_inc_vat,
            t.route.threshold,
            t.route.threshold_name,
            t.route.reason,
            None if t.lots_by is None else str(t.lots_by),
            t.opened_by,
            str(t.procedure.procedure),
            t.procedure.framework,
            t.procedure.planned_procurement_notice,
            t.procedure.urgency_reason,
        )
        await self._conn.executemany(
            "INSERT INTO tender_lots (tender_id, lot_no, name, pooled_quantity)"
            " VALUES ($1, $2, $3, $4)",
            [(t.tender_id, lot.number, lot.name, lot.total_quantity) for lot in t.lots],
        )
        await self._conn.executemany(
            "INSERT INTO tender_lines (tender_id, lot_no, demand_id, school_urn, quantity,"
            " baseline_unit_price, contract_end) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            [
                (
                    t.tender_id,
                    lot.number,
                    UUID(line.demand_id),
                    line.school_urn,
                    line.quantity,
                    line.baseline_unit_price,
                    line.contract_end,
                )
                for lot in t.lots
                for line in lot.lines
            ],
        )
        status = await self._conn.execute(
            "UPDATE demand_lines SET status = 'tendered', tender_id = $1"
            " WHERE demand_id = ANY($2::uuid[]) AND status = 'open' AND NOT withdrawn",
            t.tender_id,
            [UUID(line.demand_id) for line in t.pool.lines],
        )
        if status != f"UPDATE {len(t.pool.lines)}":
            # A line was withdrawn (or tendered) after the pool was read: the tender would cover
            # lines it does not hold. The caller's unit of work rolls back; the client may retry.
            raise PoolChanged(t.pool.pool_id)

    async def get(self, tender_id: UUID) -> asyncpg.Record | None:
        return await get_tender(self._conn, tender_id, for_update=True)

    async def lots(self, tender_id: UUID) -> list[asyncpg.Record]:
        return await tender_lots(self._conn, tender_id)

    async def lines(self, tender_id: UUID) -> list[asyncpg.Record]:
        return await tender_lines(self._conn, tender_id)

    async def bids(self, tender_id: UUID) -> dict[int, list[Bid]]:
        by_lot: dict[int, list[Bid]] = {}
        for row in await bid_rows(self._conn, tender_id):
            by_lot.setdefault(row["lot_no"], []).append(bid_of(row))
        return by_lot

    async def save_bid(self, tender_id: UUID, lot_no: int, bid: Bid) -> None:
        tiers_json = json.dumps(
            [
                {"min_quantity": str(t.min_quantity), "unit_price": str(t.unit_price)}
                for t in bid.tiers
            ]
        )
        await self._conn.execute(
            "INSERT INTO bids (bid_id, tender_id, lot_no, supplier_id, quality_score,"
            " price_tiers, submitted_at, quality_comment, supplier_name) VALUES ($1, $2, $3, $4,"
            " $5, $6::jsonb, $7, $8, $9) ON CONFLICT (tender_id, lot_no, supplier_id) DO UPDATE"
            " SET bid_id = EXCLUDED.bid_id, quality_score = EXCLUDED.quality_score,"
            " price_tiers = EXCLUDED.price_tiers, submitted_at = EXCLUDED.submitted_at,"
            " quality_comment = EXCLUDED.quality_comment, supplier_name = EXCLUDED.supplier_name,"
            " scored_by = NULL, scored_at = NULL",
            UUID(bid.bid_id),
            tender_id,
            lot_no,
            bid.supplier_id,
            bid.quality_score,
            tiers_json,
            bid.submitted_at,
            bid.quality_comment,
            bid.supplier_name,
        )

    async def record_scores(
        self, tender_id: UUID, scores: Sequence[QualityScore], scored_by: str, at: datetime
    ) -> None:
        await self._conn.executemany(
            "UPDATE bids SET quality_score = $3, quality_comment = $4, scored_by = $5,"
            " scored_at = $6 WHERE tender_id = $1 AND bid_id = $2",
            [(tender_id, UUID(s.bid_id), s.score, s.comment, scored_by, at) for s in scores],
        )

    async def record_lot_award(self, tender_id: UUID, award: LotAward) -> None:
        await self._conn.execute(
            "UPDATE tender_lots SET status = 'awarded', awarded_bid_id = $3, awarded_at = $4,"
            " awarded_by = $5, pooled_unit_price = $6, standstill_ends = $7"
            " WHERE tender_id = $1 AND lot_no = $2",
            tender_id,
            award.lot_no,
            UUID(award.winner.bid.bid_id),
            award.awarded_at,
            award.awarded_by,
            award.winner.unit_price,
            award.standstill_ends,
        )
        await self._conn.execute(
            "UPDATE demand_lines SET status = 'awarded' WHERE tender_id = $1 AND demand_id IN"
            " (SELECT demand_id FROM tender_lines WHERE tender_id = $1 AND lot_no = $2)",
            tender_id,
            award.lot_no,
        )

    async def close_lots(
        self, tender_id: UUID, lot_numbers: Sequence[int], status: Status
    ) -> list[UUID]:
        await self._conn.execute(
            "UPDATE tender_lots SET status = $3 WHERE tender_id = $1 AND lot_no = ANY($2::int[])"
            " AND status = 'open'",
            tender_id,
            list(lot_numbers),
            str(status),
        )
        rows = await self._conn.fetch(
            "UPDATE demand_lines SET status = 'open', tender_id = NULL WHERE tender_id = $1"
            " AND demand_id IN (SELECT demand_id FROM tender_lines WHERE tender_id = $1"
            " AND lot_no = ANY($2::int[])) RETURNING demand_id",
            tender_id,
            list(lot_numbers),
        )
        return sorted(r["demand_id"] for r in rows)

    async def set_status(self, tender_id: UUID, status: Status) -> None:
        await self._conn.execute(
            "UPDATE tenders SET status = $2 WHERE tender_id = $1", tender_id, str(status)
        )

    async def record_cancellation(
        self, tender_id: UUID, cancelled_at: datetime, reason: str, cancelled_by: str
    ) -> None:
        await self._conn.execute(
            "UPDATE tenders SET cancelled_at = $2, cancel_reason = $3, cancelled_by = $4"
            " WHERE tender_id = $1",
            tender_id,
            cancelled_at,
            reason,
            cancelled_by,
        )

    async def record_history(self, tender_id: UUID, entries: Sequence[HistoryEntry]) -> None:
        await self._conn.executemany(
            "INSERT INTO tender_history (tender_id, at, action, done_by, lot_no, supplier_id,"
            " supplier_name, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            [
                (
                    tender_id,
                    e.at,
                    e.action,
                    e.done_by,
                    e.lot_no,
                    e.supplier_id,
                    e.supplier_name,
                    e.detail,
                )
                for e in entries
            ],
        )

    async def history(self, tender_id: UUID) -> list[HistoryEntry]:
        return await tender_history(self._conn, tender_id)


class TenderingUnitOfWork(UnitOfWork):
    """Tendering's unit of work (repository.py's `TenderingWork`): its tenders on the unit of
    work's connection."""

    def __init__(self, conn: Connection) -> None:
        super().__init__(conn)
        self.tenders: TenderRepository = PostgresTenderRepository(conn)

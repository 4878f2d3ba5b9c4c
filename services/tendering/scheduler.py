"""The tendering process's background policies: open due pools, award tenders at their deadline
(where price alone decides or no bids came in; otherwise the award is the buyer's).

Every tick is idempotent and safe with several instances: openings are serialised per trust and
re-check the pool; awards lock the tender and leave a decided tender as it is.
"""

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import asyncpg
import structlog
from fastapi import FastAPI

from services.tendering import handlers, store
from services.tendering.domain.opening import due_pools
from services.tendering.domain.pooling import form_pools
from services.tendering.settings import PolicySettings
from shared.background import in_background
from shared.domain.errors import DomainError

log = structlog.get_logger()


def utc_now() -> datetime:
    return datetime.now(UTC)


class Scheduler:
    def __init__(
        self,
        pool: Callable[[], asyncpg.Pool],
        policy: PolicySettings,
        window_months: int,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._pool = pool
        self._policy = policy
        self._window_months = window_months
        self._clock = clock

    async def tick(self) -> None:
        now = self._clock()
        if self._policy.auto_award:
            await self.award_due(now)
        if self._policy.auto_open_days is not None:
            await self.open_due(now, self._policy.auto_open_days)

    async def award_due(self, now: datetime) -> None:
        async with self._pool().acquire() as conn:
            due = await store.due_tenders(conn, now)
        for tender in due:
            tender_id = str(tender["tender_id"])
            try:
                async with store.TenderingUnitOfWork.begin(self._pool()) as work:
                    await handlers.award_tender(
                        work, tender["trust_id"], tender["tender_id"], now, awarded_by="deadline"
                    )
                log.info("tender evaluated at its deadline", tender_id=tender_id)
            except DomainError as exc:
                # Decided or cancelled meanwhile, by a manager or another instance.
                log.warning(
                    "tender not evaluated at its deadline", tender_id=tender_id, error=str(exc)
                )
            except Exception:
                # One tender that cannot be awarded must not hold up the others.
                log.exception("tender not evaluated at its deadline", tender_id=tender_id)

    async def open_due(self, now: datetime, days_before: int) -> None:
        """Open a tender for every pool whose earliest contract ends within `days_before` days."""
        today = now.date()
        async with self._pool().acquire() as conn:
            candidates = await store.pooling_due(conn, today + timedelta(days=days_before))
        for candidate in candidates:
            trust_id, category = candidate["trust_id"], candidate["category"]
            async with self._pool().acquire() as conn:
                lines = (await store.open_lines(conn, trust_id, category)).get(category, [])
                tendered = (await store.open_tender_spans(conn, trust_id)).get(category, [])
            pools = form_pools(trust_id, category, lines, self._window_months)
            for pool in due_pools(pools, tendered, today, days_before, self._window_months):
                request = handlers.OpenRequest(
                    trust_id=trust_id,
                    category=category,
                    pool_id=pool.pool_id,
                    closes_at=now + timedelta(days=self._policy.auto_bidding_days),
                    # The procedure's minimum period (Procurement Act 2023, s.54) when longer.
                    at_least_minimum=True,
                )
                try:
                    async with store.TenderingUnitOfWork.begin(self._pool()) as work:
                        tender_id = await handlers.open_tender(
                            work,
                            request,
                            self._window_months,
                            now,
                            opened_by="policy",
                            below_threshold_days=self._policy.below_threshold_min_days,
                        )
                    log.info(
                        "tender opened by policy", pool_id=pool.pool_id, tender_id=str(tender_id)
                    )
                except DomainError as exc:
                    log.warning("due pool not opened", pool_id=pool.pool_id, error=str(exc))

    async def run(self) -> None:
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("scheduler tick failed; retrying")
            await asyncio.sleep(self._policy.scheduler_interval_seconds)

    @asynccontextmanager
    async def lifespan(self, _: FastAPI) -> AsyncIterator[None]:
        """Runs inside the service's lifespan, so the database pool is open throughout."""
        async with in_background(self.run(), name="tender-scheduler"):
            yield

"""Group commit: concurrent requests share one database transaction.

On its own, each HTTP submission pays for a transaction of its own: about ten round trips and
a commit. Here the requests that arrive while a transaction runs wait for it to end and then go
together in the next one, so under load one transaction carries many requests, and an idle
service makes a lone request wait for nothing. Each request still gets its own answer, and the
work (lines and their outbox events) commits or rolls back as one. If a shared transaction
fails, its requests are tried again one by one, so one bad request cannot fail the others.

A request is committed even if its client hangs up while it waits; its Idempotency-Key makes
the client's retry a replay."""

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

import asyncpg
import structlog

from shared.db import Connection

log = structlog.get_logger()

Item = TypeVar("Item")
Answer = TypeVar("Answer")


class GroupCommit(Generic[Item, Answer]):
    """Runs `work` over the items waiting, in one transaction at a time, at most `max_batch`
    items per transaction; `work` returns one answer per item, in order."""

    def __init__(
        self,
        pool: Callable[[], asyncpg.Pool],
        work: Callable[[Connection, Sequence[Item]], Awaitable[Sequence[Answer]]],
        max_batch: int = 200,
    ) -> None:
        self._pool = pool
        self._work = work
        self._max_batch = max_batch
        self._waiting: list[tuple[Item, asyncio.Future[Answer]]] = []
        self._runner: asyncio.Task[None] | None = None

    async def run(self, item: Item) -> Answer:
        """The item's answer once its transaction has committed (or its exception)."""
        answer: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, answer))
        if self._runner is None:
            # A task of its own: a caller that goes away must not cancel the others' transaction.
            self._runner = asyncio.create_task(self._run_batches(), name="group-commit")
        return await answer

    async def _run_batches(self) -> None:
        batch: list[tuple[Item, asyncio.Future[Answer]]] = []
        try:
            while self._waiting:
                batch = self._waiting[: self._max_batch]
                del self._waiting[: self._max_batch]
                await self._commit(batch)
        finally:
            self._runner = None
            # Left unanswered only if this task was cancelled (the loop is closing).
            for _, answer in [*batch, *self._waiting]:
                answer.cancel()
            self._waiting.clear()

    async def _commit(self, batch: Sequence[tuple[Item, asyncio.Future[Answer]]]) -> None:
        try:
            async with self._pool().acquire() as conn, conn.transaction():
                answers = await self._work(conn, [item for item, _ in batch])
        except Exception as exc:
            if len(batch) > 1:
                log.warning(
                    "shared transaction failed; trying its requests one by one", error=str(exc)
                )
                for one in batch:
                    await self._commit([one])
                return
            _, answer = batch[0]
            if not answer.done():
                answer.set_exception(exc)
            return
        for (_, answer), result in zip(batch, answers, strict=True):
            if not answer.done():  # its caller may have been cancelled
                answer.set_result(result)

"""Group commit: concurrent requests share one unit of work (one database transaction).

On its own, each HTTP submission pays for a transaction of its own: about ten round trips and
a commit. Here the requests that arrive while a transaction runs wait for it to end and then go
together in the next one, so under load one transaction carries many requests, and an idle
service makes a lone request wait for nothing. Each request still gets its own answer, and the
work (lines and their outbox events) commits or rolls back as one. If a shared transaction
fails, its requests are tried again one by one (`each_alone_if_together_fails`), so one bad
request cannot fail the others.

A request is committed even if its client hangs up while it waits; its Idempotency-Key makes
the client's retry a replay."""

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import asyncpg

from shared.unit_of_work import UnitOfWork, each_alone_if_together_fails, unit_of_work

Item = TypeVar("Item")
Answer = TypeVar("Answer")


@dataclass(frozen=True)
class _Failed:
    """A request whose unit of work failed on its own: its caller gets the exception."""

    error: Exception


class GroupCommit(Generic[Item, Answer]):
    """Runs `work` over the items waiting, in one unit of work at a time, at most `max_batch`
    items per transaction; `work` returns one answer per item, in order."""

    def __init__(
        self,
        pool: Callable[[], asyncpg.Pool],
        work: Callable[[UnitOfWork, Sequence[Item]], Awaitable[Sequence[Answer]]],
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
        settled = await each_alone_if_together_fails(batch, self._together, self._alone)
        for (_, answer), result in zip(batch, settled, strict=True):
            if answer.done():  # its caller may have been cancelled
                continue
            if isinstance(result, _Failed):
                answer.set_exception(result.error)
            else:
                answer.set_result(result)

    async def _together(
        self, batch: Sequence[tuple[Item, asyncio.Future[Answer]]]
    ) -> list[Answer | _Failed]:
        async with unit_of_work(self._pool()) as work:
            answers: list[Answer | _Failed] = [*await self._work(work, [item for item, _ in batch])]
            if len(answers) != len(batch):  # rolled back: a mistake of `work`, not of a request
                raise ValueError(f"{len(answers)} answers to {len(batch)} requests")
        return answers

    async def _alone(self, one: tuple[Item, asyncio.Future[Answer]]) -> Answer | _Failed:
        try:
            [answer] = await self._together([one])
        except Exception as exc:
            return _Failed(exc)
        return answer

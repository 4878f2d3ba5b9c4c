"""Group commit of HTTP submissions: concurrent requests share a transaction, each gets its own
answer, and a failing shared transaction is retried request by request. A stand-in pool counts
transactions; the real one is exercised by tests/integration/test_demand_api.py."""

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any, cast

import asyncpg
import pytest

from services.demand.group_commit import GroupCommit


class Transactions:
    """What GroupCommit needs of a pool: acquire() and conn.transaction(), counted."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.rolled_back = 0

    @asynccontextmanager
    async def acquire(self) -> AsyncIterator["Transactions"]:
        yield self

    @asynccontextmanager
    async def transaction(self, **_: Any) -> AsyncIterator[None]:
        try:
            yield
        except Exception:
            self.rolled_back += 1
            raise


def group_commit(pool: Transactions, gate: asyncio.Event | None = None) -> GroupCommit[int, str]:
    async def work(_: Any, items: Sequence[int]) -> list[str]:
        pool.batches.append(list(items))
        if gate is not None:
            await gate.wait()
        if 13 in items:
            raise ValueError("13 cannot be stored")
        return [f"line {i}" for i in items]

    return GroupCommit(lambda: cast(asyncpg.Pool, pool), work, max_batch=5)


async def test_requests_arriving_during_a_transaction_share_the_next() -> None:
    pool, gate = Transactions(), asyncio.Event()
    commits = group_commit(pool, gate)
    first = asyncio.create_task(commits.run(0))
    await asyncio.sleep(0)  # the first transaction starts and waits at the gate
    rest = [asyncio.create_task(commits.run(i)) for i in range(1, 8)]
    await asyncio.sleep(0)
    gate.set()
    answers = await asyncio.gather(first, *rest)
    assert answers == [f"line {i}" for i in range(8)]
    # One alone, then the seven that waited, at most five per transaction.
    assert pool.batches == [[0], [1, 2, 3, 4, 5], [6, 7]]


async def test_a_failing_request_does_not_fail_the_others() -> None:
    pool, gate = Transactions(), asyncio.Event()
    commits = group_commit(pool, gate)
    blocker = asyncio.create_task(commits.run(0))
    await asyncio.sleep(0)
    tasks = [asyncio.create_task(commits.run(i)) for i in (12, 13, 14)]
    await asyncio.sleep(0)
    gate.set()
    assert await blocker == "line 0"
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert results[0] == "line 12" and results[2] == "line 14"
    assert isinstance(results[1], ValueError)
    # The shared transaction rolled back, then each was tried alone.
    assert pool.batches == [[0], [12, 13, 14], [12], [13], [14]]
    assert pool.rolled_back == 2


async def test_a_caller_that_goes_away_leaves_the_others_answered() -> None:
    pool, gate = Transactions(), asyncio.Event()
    commits = group_commit(pool, gate)
    blocker = asyncio.create_task(commits.run(0))
    await asyncio.sleep(0)
    leaving, staying = (asyncio.create_task(commits.run(i)) for i in (1, 2))
    await asyncio.sleep(0)
    leaving.cancel()
    gate.set()
    assert await blocker == "line 0"
    assert await staying == "line 2"
    with pytest.raises(asyncio.CancelledError):
        await leaving
    # Its request was committed all the same (a retry with its key replays it).
    assert pool.batches == [[0], [1, 2]]


async def test_an_idle_service_commits_a_lone_request_at_once() -> None:
    pool = Transactions()
    commits = group_commit(pool)
    assert await commits.run(7) == "line 7"
    assert await commits.run(8) == "line 8"
    assert pool.batches == [[7], [8]]

"""Plain aiokafka clients for the benchmarks: a producer configured as our services' (acks=all,
linger 5 ms), and a consumer that follows what is published to a topic during a run."""

import asyncio
import contextlib
from collections.abc import Sequence
from time import perf_counter
from typing import Self

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from shared.service import KafkaRecord
from shared.topics import unread


def producer(bootstrap: str) -> AIOKafkaProducer:
    # As shared/service.create_broker configures the services' producer (Tansu: no idempotence).
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", linger_ms=5, enable_idempotence=False
    )


async def produce(bootstrap: str, topic: str, records: Sequence[tuple[bytes, bytes]]) -> float:
    """Send (key, value) records as fast as the client goes; seconds until every ack is in."""
    client = producer(bootstrap)
    await client.start()
    try:
        started = perf_counter()
        futures = [await client.send(topic, value, key=key) for key, value in records]
        await asyncio.gather(*futures)
        return perf_counter() - started
    finally:
        await client.stop()


class Tail:
    """Reads a topic in the background from where it ends when entered: what is published while
    a benchmark runs, with each record's timestamp (where it ends: `shared.topics.unread`)."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.topic = topic
        self.records: list[KafkaRecord] = []
        self._consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Self:
        await self._consumer.start()
        await self._consumer.topics()  # fetches the metadata partitions_for_topic reads
        numbers = self._consumer.partitions_for_topic(self.topic) or set()
        partitions = [TopicPartition(self.topic, p) for p in numbers]
        self._consumer.assign(partitions)
        await self._consumer.seek_to_beginning(*partitions)
        while await unread(self._consumer, partitions):
            await self._consumer.getmany(timeout_ms=200, max_records=50_000)
        self._task = asyncio.create_task(self._follow())
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._consumer.stop()

    async def _follow(self) -> None:
        while True:
            batches = await self._consumer.getmany(timeout_ms=500, max_records=10_000)
            for batch in batches.values():
                self.keep(batch)

    def keep(self, batch: list[KafkaRecord]) -> None:
        """What is kept of each batch read: every record (a subclass may keep less)."""
        self.records += batch

    async def count(self) -> int:
        return len(self.records)

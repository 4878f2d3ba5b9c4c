"""Topics are created explicitly: auto-created topics get the broker's default partition count."""

import asyncio
from collections.abc import Iterable, Sequence

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from shared.events import Topics

log = structlog.get_logger()


async def ensure_topics(
    bootstrap_servers: str,
    partitions: int,
    topics: Sequence[str] | None = None,
    attempts: int = 20,
) -> None:
    """Create the topics (by default every topic of the system) that do not exist yet; safe to
    call concurrently."""
    for attempt in range(1, attempts + 1):
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
        try:
            await admin.start()
            existing = set(await admin.list_topics())
            missing = [t for t in topics or Topics.all() if t not in existing]
            if missing:
                try:
                    await admin.create_topics([NewTopic(t, partitions, 1) for t in missing])
                except TopicAlreadyExistsError:
                    pass  # another process created it between list and create
                log.info("topics created", topics=missing, partitions=partitions)
            return
        except KafkaError as exc:
            if attempt == attempts:
                raise
            log.warning("broker not ready for topic creation", error=str(exc), attempt=attempt)
            await asyncio.sleep(0.5)
        finally:
            await admin.close()


async def unread(
    consumer: AIOKafkaConsumer, partitions: Iterable[TopicPartition]
) -> set[TopicPartition]:
    """The partitions not yet read up to the high watermark of their latest fetch (all of them
    before the first fetch).

    Where a partition ends is learnt from fetch responses, not from ListOffsets (`end_offsets`):
    Tansu 0.6 answers ListOffsets with offsets below records it has already acknowledged."""
    behind = set()
    for tp in partitions:
        highwater = consumer.highwater(tp)
        if highwater is None or await consumer.position(tp) < highwater:
            behind.add(tp)
    return behind

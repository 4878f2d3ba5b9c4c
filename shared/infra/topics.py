"""Topics are created explicitly: auto-created topics get the broker's default partition count."""

import asyncio

import structlog
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from shared.events import Topics

log = structlog.get_logger()


async def ensure_topics(bootstrap_servers: str, partitions: int, attempts: int = 20) -> None:
    """Create every topic of the system that does not exist yet; safe to call concurrently."""
    for attempt in range(1, attempts + 1):
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
        try:
            await admin.start()
            existing = set(await admin.list_topics())
            missing = [t for t in Topics.all() if t not in existing]
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

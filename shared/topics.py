"""Topics are created explicitly: auto-created topics get the broker's default partition count,
replication and retention.

Retention (set when a topic is created; an existing topic keeps what it has):
- the topics that are the system's history (registry, demand, spend, tenders, savings, access)
  are kept forever: Apache Kafka's default of 7 days would make `procure savings rebuild` and a
  new consumer group silently miss older events. The services also keep this history in their
  own databases and publish it again when the broker has lost it (shared/outbox.py);
- dead-letter topics keep a letter for 30 days: time to look at it and replay it (`procure dlq`);
- `demand.submissions`, `spend.submissions` (ingress, kept by demand once consumed): the
  broker's default.
"""

import asyncio
from collections.abc import Iterable, Sequence

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError, for_code

from shared.events import Topics
from shared.settings import KafkaSettings

log = structlog.get_logger()

HISTORY = frozenset(
    {Topics.REGISTRY, Topics.DEMAND, Topics.SPEND, Topics.TENDERS, Topics.SAVINGS, Topics.ACCESS}
)
DEAD_LETTER_RETENTION_MS = 30 * 24 * 60 * 60 * 1000


def topic_configs(topic: str, min_insync_replicas: int = 1) -> dict[str, str]:
    """The configuration a topic is created with."""
    configs = {"min.insync.replicas": str(min_insync_replicas)}
    if topic in HISTORY:
        configs |= {"retention.ms": "-1", "retention.bytes": "-1"}
    elif topic.endswith(Topics.dead_letters("")):
        configs["retention.ms"] = str(DEAD_LETTER_RETENTION_MS)
    return configs


def _raise_errors(response: object) -> None:
    """create_topics answers each topic's error instead of raising it."""
    for topic, code, message in getattr(response, "topic_errors", []):
        if code and for_code(code) is not TopicAlreadyExistsError:
            raise for_code(code)(f"creating {topic}: {message}")


async def ensure_topics(
    bootstrap_servers: str,
    partitions: int,
    topics: Sequence[str] | None = None,
    attempts: int = 20,
    *,
    replication_factor: int = 1,
    min_insync_replicas: int = 1,
) -> None:
    """Create the topics (by default every topic of the system) that do not exist yet; safe to
    call concurrently. A cluster of three brokers: replication factor 3, min.insync.replicas 2
    (the producers write with acks=all)."""
    isr = min_insync_replicas
    for attempt in range(1, attempts + 1):
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
        try:
            await admin.start()
            existing = set(await admin.list_topics())
            missing = [t for t in topics or Topics.all() if t not in existing]
            if missing:
                new = [
                    NewTopic(t, partitions, replication_factor, topic_configs=topic_configs(t, isr))
                    for t in missing
                ]
                # Another process may create one between list and create: that is no error.
                _raise_errors(await admin.create_topics(new))
                log.info(
                    "topics created",
                    topics=missing,
                    partitions=partitions,
                    replication_factor=replication_factor,
                    min_insync_replicas=isr,
                )
            return
        except KafkaError as exc:
            if attempt == attempts:
                raise
            log.warning("broker not ready for topic creation", error=str(exc), attempt=attempt)
            await asyncio.sleep(0.5)
        finally:
            await admin.close()


async def ensure_configured_topics(kafka: KafkaSettings) -> None:
    """Every topic of the system, with the partitions and replication of the settings."""
    await ensure_topics(
        kafka.bootstrap_servers,
        kafka.partitions,
        replication_factor=kafka.replication_factor,
        min_insync_replicas=kafka.min_insync_replicas,
    )


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

"""Dead letters: list what a topic's `.dlq` holds, and replay it onto the topic after a fix.

Replay reads `<topic>.dlq` with its own consumer group and commits after each republished batch,
so running it twice does not replay a record twice. Consumers' inboxes absorb any record that was
already applied.
"""

from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from shared.events import Topics
from shared.topics import unread

REPLAY_GROUP = "procure-dlq-replay"


@dataclass(frozen=True)
class DeadLetter:
    partition: int
    offset: int
    key: str | None
    reason: str
    consumer: str
    attempts: str
    value: bytes


def _header(headers: list[tuple[str, bytes]], name: str) -> str:
    return next((v.decode(errors="replace") for k, v in headers if k == name), "")


async def _read_to_end(consumer: AIOKafkaConsumer, limit: int) -> list[DeadLetter]:
    """Everything up to where the topic ends (a live topic has no natural end: up to the first
    moment every partition is read to its high watermark)."""
    partitions = consumer.assignment()
    found: list[DeadLetter] = []
    while len(found) < limit and await unread(consumer, partitions):
        batch = await consumer.getmany(timeout_ms=1000, max_records=min(500, limit - len(found)))
        for records in batch.values():
            for r in records:
                headers = list(r.headers or [])
                found.append(
                    DeadLetter(
                        partition=r.partition,
                        offset=r.offset,
                        key=r.key.decode(errors="replace") if r.key else None,
                        reason=_header(headers, "reason"),
                        consumer=_header(headers, "consumer"),
                        attempts=_header(headers, "attempts"),
                        value=r.value or b"",
                    )
                )
    return found


async def _assigned_consumer(bootstrap: str, topic: str, group: str | None) -> AIOKafkaConsumer:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
    if not partitions:
        await consumer.stop()
        raise SystemExit(f"procure: no topic {topic}")
    consumer.assign(partitions)
    for tp in partitions:
        committed = await consumer.committed(tp) if group else None
        if committed is None:
            await consumer.seek_to_beginning(tp)
        else:
            consumer.seek(tp, committed)
    return consumer


async def list_dead_letters(bootstrap: str, topic: str, limit: int = 1000) -> list[DeadLetter]:
    consumer = await _assigned_consumer(bootstrap, Topics.dead_letters(topic), group=None)
    try:
        return await _read_to_end(consumer, limit)
    finally:
        await consumer.stop()


async def replay(bootstrap: str, topic: str, enable_idempotence: bool) -> int:
    """Republish every dead letter not replayed before onto `topic`; returns how many."""
    consumer = await _assigned_consumer(bootstrap, Topics.dead_letters(topic), REPLAY_GROUP)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=enable_idempotence)
    await producer.start()
    try:
        letters = await _read_to_end(consumer, limit=1_000_000)
        for letter in letters:
            await producer.send(
                topic, key=letter.key.encode() if letter.key else None, value=letter.value
            )
        await producer.flush()
        # Committed only once the broker has every republished record.
        offsets: dict[TopicPartition, int] = {}
        for letter in letters:
            tp = TopicPartition(Topics.dead_letters(topic), letter.partition)
            offsets[tp] = max(offsets.get(tp, 0), letter.offset + 1)
        if offsets:
            await consumer.commit(offsets)
        return len(letters)
    finally:
        await producer.stop()
        await consumer.stop()

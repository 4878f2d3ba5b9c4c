"""Writing the outbox's events to the broker's partition logs, and checking that those logs still
hold what was written (README "Delivery": the broker's loss is harmless).

`publish_batch` reports where each partition's log stood after the write; the relay keeps that.
`BrokerLogs.shortened` later finds the topics whose logs now end sooner, or are gone: the broker
lost them (the embedded broker keeps its topics in memory only; a topic can be deleted on any
cluster), and the relay publishes them again from its history.
"""

import asyncio
import time
from collections.abc import Mapping, Sequence

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import OffsetOutOfRangeError
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.producer.message_accumulator import BatchBuilder
from aiokafka.structs import RecordMetadata

# aiokafka's default (murmur2 of the key, as the Java client): a key's partition never changes.
_PARTITIONER = DefaultPartitioner()

# (topic, partition) -> (offset of the first record written, offset after the last one).
Written = dict[tuple[str, int], tuple[int, int]]


async def publish_batch(
    producer: AIOKafkaProducer, batch: Sequence[tuple[str, bytes, bytes]]
) -> Written:
    """Send (topic, key, value) records in order and wait for every acknowledgement.

    The rows are bytes already, so they go straight into aiokafka record batches, one per
    topic partition, filled in order: a send per message costs several times the rest of the
    relay. The partition is the one aiokafka's own send would pick, so each key's events stay
    on one partition, in order."""
    partitions: dict[str, list[int]] = {}
    # A batch has few keys (trusts) and many events each: hash each key once.
    partition_of: dict[tuple[str, bytes], int] = {}
    filling: dict[tuple[str, int], BatchBuilder] = {}
    sending: list[tuple[BatchBuilder, asyncio.Future[RecordMetadata]]] = []
    for topic, key, value in batch:
        partition = partition_of.get((topic, key))
        if partition is None:
            if topic not in partitions:
                partitions[topic] = list(await producer.partitions_for(topic))
            partition = _PARTITIONER(key, partitions[topic], partitions[topic])
            partition_of[(topic, key)] = partition
        builder = filling.get((topic, partition))
        if builder is None or builder.append(key=key, value=value, timestamp=None) is None:
            if builder is not None:  # full: send it; a new batch takes any record
                sent = await producer.send_batch(builder, topic, partition=partition)
                sending.append((builder, sent))
            builder = filling[(topic, partition)] = producer.create_batch()
            builder.append(key=key, value=value, timestamp=None)
    for (topic, partition), builder in filling.items():
        sending.append((builder, await producer.send_batch(builder, topic, partition=partition)))
    written: Written = {}
    for builder, sent in sending:
        meta = await sent
        first, after = meta.offset, meta.offset + builder.record_count()
        earlier = written.get((meta.topic, meta.partition))
        if earlier is not None:
            first, after = min(first, earlier[0]), max(after, earlier[1])
        written[(meta.topic, meta.partition)] = (first, after)
    return written


# How long a check waits for the broker to say where the logs end.
CHECK_TIMEOUT_SECONDS = 5.0


class BrokerLogs:
    """Reads where partition logs end, by fetching their last record written (offset lookups
    are not used: Tansu 0.6 answers them with offsets below records it has acknowledged)."""

    def __init__(self, bootstrap_servers: str, client_id: str) -> None:
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap_servers,
            client_id=f"{client_id}-log-check",
            enable_auto_commit=False,
            # A fetch beyond the end must fail, not move somewhere else.
            auto_offset_reset="none",
            fetch_max_wait_ms=100,
        )

    async def start(self) -> None:
        await self._consumer.start()

    async def stop(self) -> None:
        await self._consumer.stop()

    async def shortened(self, written: Mapping[tuple[str, int], int]) -> set[str]:
        """The topics whose logs are gone, or end before the offset `written` gives for one of
        their partitions (the offset after the last record written there)."""
        consumer = self._consumer
        existing = await consumer.topics()
        lost = {topic for topic, _ in written if topic not in existing}
        wanted = {
            TopicPartition(topic, partition): after
            for (topic, partition), after in written.items()
            if topic not in lost and after > 0
        }
        deadline = time.monotonic() + CHECK_TIMEOUT_SECONDS
        while wanted and time.monotonic() < deadline:
            # A new assignment forgets the high watermarks of earlier fetches.
            consumer.assign(list(wanted))
            for tp, after in wanted.items():
                consumer.seek(tp, after - 1)
            try:
                while time.monotonic() < deadline and any(
                    consumer.highwater(tp) is None for tp in wanted
                ):
                    await consumer.getmany(timeout_ms=100)
            except OffsetOutOfRangeError as exc:
                gone = {tp.topic for tp in exc.args[0]}
                lost |= gone
                wanted = {tp: after for tp, after in wanted.items() if tp.topic not in gone}
                continue
            for tp, after in wanted.items():
                highwater = consumer.highwater(tp)
                if highwater is not None and highwater < after:
                    lost.add(tp.topic)
            break
        return lost

"""Prometheus metrics shared by the services; served at /metrics.

Most are updated as things happen; the outbox backlog and the consumer lag are read when
/metrics is scraped (`scrape`), so they are current whenever an operator looks."""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from aiokafka.errors import IllegalStateError
from prometheus_client import Counter, Gauge, Histogram, generate_latest

EVENTS_APPLIED = Counter(
    "procure_events_applied_total", "Events applied by a consumer", ["consumer", "event_type"]
)
EVENTS_DUPLICATE = Counter(
    "procure_events_duplicate_total", "Redelivered events the inbox skipped", ["consumer"]
)
DEAD_LETTERS = Counter(
    "procure_dead_letters_total",
    "Records published to a dead-letter topic, by that topic",
    ["topic"],
)
EVENTS_PUBLISHED = Counter("procure_events_published_total", "Events the outbox relay published")
TOPICS_REPUBLISHED = Counter(
    "procure_topics_republished_total",
    "Times the broker was found to have lost a topic's events and the relay published them again",
    ["topic"],
)
OUTBOX_BACKLOG = Gauge(
    "procure_outbox_backlog",
    "Events in the service's outbox still to be published (read at scrape time)",
    ["service"],
)
CONSUMER_LAG = Gauge(
    "procure_consumer_lag",
    "Records on a partition the service's consumer group has not read yet: the partition's"
    " high watermark from the consumer's last fetch minus the consumer's position",
    ["group", "topic", "partition"],
)
HTTP_LATENCY = Histogram(
    "procure_http_request_seconds", "HTTP request latency", ["method", "route", "status"]
)

# How long a scrape waits for a figure before leaving it as it was.
SCRAPE_TIMEOUT_SECONDS = 2.0


async def consumer_lags(group: str, consumer: Any) -> list[tuple[str, str, str, int]]:
    """(group, topic, partition, lag) of each partition an aiokafka consumer has, as far as its
    fetches know: no request to the broker."""
    lags = []
    for tp in sorted(consumer.assignment(), key=lambda tp: (tp.topic, tp.partition)):
        try:
            highwater = consumer.highwater(tp)
            if highwater is None:  # nothing fetched from it yet
                continue
            async with asyncio.timeout(SCRAPE_TIMEOUT_SECONDS / 4):
                position = await consumer.position(tp)
        except (AssertionError, IllegalStateError, TimeoutError):  # unassigned meanwhile
            continue
        lags.append((group, tp.topic, str(tp.partition), max(0, int(highwater) - int(position))))
    return lags


async def scrape(
    service: str,
    backlog: Callable[[], Awaitable[int]],
    consumers: Iterable[tuple[str, Any]],
) -> bytes:
    """The metrics in Prometheus' text format, with the scrape-time figures brought up to date:
    `backlog` counts the outbox, `consumers` are (group, aiokafka consumer) pairs."""
    with contextlib.suppress(Exception):
        async with asyncio.timeout(SCRAPE_TIMEOUT_SECONDS):
            OUTBOX_BACKLOG.labels(service).set(await backlog())
    lags = [lag for group, consumer in consumers for lag in await consumer_lags(group, consumer)]
    CONSUMER_LAG.clear()  # partitions the service no longer has go
    for group, topic, partition, lag in lags:
        CONSUMER_LAG.labels(group, topic, partition).set(lag)
    return generate_latest()

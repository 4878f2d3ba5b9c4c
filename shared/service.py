"""What every service process is made of: a FastStream KafkaBroker, an asyncpg pool on its own
database, migrations, the outbox relay, inbox consumers, and a FastAPI app with health, readiness
and metrics. A service module supplies its name, migrations, routes and event handlers.
"""

import asyncio
import gc
import logging
import os
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import cache, partial
from pathlib import Path
from types import FrameType
from typing import Any, TypeAlias

import asyncpg
import structlog
import uvicorn
from aiokafka import AIOKafkaProducer, ConsumerRecord
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi_offline import FastAPIOffline
from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaMessage
from faststream.message import StreamMessage
from prometheus_client import CONTENT_TYPE_LATEST

from shared import outbox, restored, revocations
from shared.asyncapi import Channel
from shared.asyncapi import document as asyncapi_document
from shared.auth import WeakSecretError, check_secret
from shared.broker_log import BrokerLogs, Written, publish_batch
from shared.db import create_pool, migrate
from shared.events import Topics
from shared.http import install_problem_handlers
from shared.inbox import Consumer, Handler
from shared.limits import RequestLimits
from shared.logging import ObserveRequests, configure_logging, install_exception_hooks
from shared.metrics import DEAD_LETTERS, EVENTS_PUBLISHED, scrape
from shared.settings import ServiceSettings
from shared.topics import ensure_configured_topics

log = structlog.get_logger()


@dataclass
class Subscription:
    topics: Sequence[str]
    handlers: Mapping[str, Handler]


@dataclass
class Runtime:
    """The live resources of one service process; routes reach it as request.app.state.runtime."""

    name: str
    settings: ServiceSettings
    broker: KafkaBroker
    _pool: asyncpg.Pool | None = None
    ready: bool = False
    relay: outbox.Relay | None = field(default=None, repr=False)
    producer: AIOKafkaProducer | None = field(default=None, repr=False)
    broker_logs: BrokerLogs | None = field(default=None, repr=False)
    # Ids of revoked bearer tokens, reloaded from the database (shared/revocations.py).
    revoked: frozenset[str] = frozenset()
    # The event types its inbox consumers apply, and its consumer groups' FastStream
    # subscribers: for the AsyncAPI document and the consumer lag metric.
    handled: set[str] = field(default_factory=set)
    groups: dict[str, Any] = field(default_factory=dict)
    # The topics each consumer group reads: rewound after a restore (shared/restored.py).
    consumed: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("the database pool is not open yet")
        return self._pool

    def set_revoked(self, token_ids: frozenset[str]) -> None:
        self.revoked = token_ids

    async def publish(self, batch: Sequence[tuple[str, bytes, bytes]]) -> Written:
        """The relay's way out: the batch sent, every acknowledgement awaited."""
        if self.producer is None:
            raise RuntimeError("the outbox producer is not started yet")
        written = await publish_batch(self.producer, batch)
        EVENTS_PUBLISHED.inc(len(batch))
        return written

    async def shortened(self, written: Mapping[tuple[str, int], int]) -> set[str]:
        """The topics the broker has lost (shared/broker_log.py), created again."""
        if self.broker_logs is None:
            raise RuntimeError("the broker log check is not started yet")
        lost = await self.broker_logs.shortened(written)
        if lost:
            await ensure_configured_topics(self.settings.kafka)
        return lost

    async def dead_letter(
        self, topic: str, key: bytes | None, value: bytes, headers: dict[str, str]
    ) -> None:
        await self.broker.publish(value, topic, key=key, headers=headers)
        DEAD_LETTERS.labels(topic).inc()


def runtime_of(request: Request) -> Runtime:
    """The running service's resources, for a route."""
    runtime: Runtime = request.app.state.runtime
    return runtime


def create_broker(settings: ServiceSettings, client_id: str) -> KafkaBroker:
    return KafkaBroker(
        settings.kafka.bootstrap_servers,
        client_id=client_id,
        enable_idempotence=settings.kafka.enable_idempotence,
        acks="all",
        linger_ms=5,
        # Through the standard library to the JSON lines of shared/logging.py (FastStream's own
        # logger writes coloured text); its line per message received and processed is DEBUG.
        logger=logging.getLogger("faststream.kafka"),
        log_level=logging.DEBUG,
    )


def create_outbox_producer(settings: ServiceSettings, client_id: str) -> AIOKafkaProducer:
    """The relay's producer: as the broker's, with batches large enough for a busy outbox."""
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka.bootstrap_servers,
        client_id=f"{client_id}-outbox",
        enable_idempotence=settings.kafka.enable_idempotence,
        acks="all",
        linger_ms=5,
        max_batch_size=256 * 1024,
    )


# Records per batch: one inbox transaction each. A batch holds whatever has arrived, so under
# light load it is small and nothing waits for it to fill.
MAX_BATCH = 100
# What one failed attempt at an event may take, for the poll interval below.
ATTEMPT_ALLOWANCE_MS = 1_000
# How long a poll waits for records when none have arrived; FastStream then pauses as long again
# before the next poll, so this bounds the latency an idle consumer adds.
POLL_TIMEOUT_MS = 20
# How long the broker may hold a fetch. The embedded broker (Tansu) holds it this long even when
# records arrive sooner: at aiokafka's default of 500 ms a record waited 138 ms (median) to be
# fetched, at 20 ms 6 ms. Apache Kafka answers as soon as records arrive; there a short wait only
# means more empty fetches while idle. Those cost an idle `procure up` half a core (the broker
# 28%, each service 4-9%); 100 ms here and for the poll made it a fifth, but in one of four runs
# of the fault suite spend.submissions was left unconsumed after the broker connection was cut
# (488 of 1,200 lines), so 20 ms stays until that is understood (README, "Performance").
FETCH_MAX_WAIT_MS = 20


def max_poll_interval_ms(settings: ServiceSettings) -> int:
    """Time enough for the slowest batch: every event failing every attempt, with the backoffs
    in between, before it is dead-lettered. A consumer that does not poll within this interval
    is put out of its group, its batch is read again elsewhere and would go the same way: no
    progress at all. Kafka's default (300 s) is the floor."""
    attempts = settings.consumer_max_attempts
    # The inbox waits backoff, 2 x backoff, 4 x backoff ... between attempts.
    backoffs_ms = int(settings.consumer_retry_backoff_ms * (2 ** (attempts - 1) - 1))
    slowest_event_ms = backoffs_ms + attempts * ATTEMPT_ALLOWANCE_MS
    return max(300_000, MAX_BATCH * slowest_event_ms)


# A consumed record as aiokafka gives it.
KafkaRecord: TypeAlias = "ConsumerRecord[Any, Any]"


async def _undecoded(message: StreamMessage[Any]) -> Any:
    # Handlers read each record's bytes themselves; FastStream would JSON-decode every one first.
    return message.body


def subscribe_batches(
    runtime: Runtime,
    topics: Sequence[str],
    group: str,
    max_records: int,
    handle: Callable[[tuple[KafkaRecord, ...]], Awaitable[None]],
    **options: Any,
) -> None:
    """Feed `handle` the records of `topics` in batches, as consumer group `group`. A new group
    starts from the earliest offset; offsets commit only after `handle` returns, and a batch it
    fails is nacked (FastStream rewinds every partition of it to its first record)."""
    kafka = runtime.settings.kafka

    async def on_batch(message: KafkaMessage) -> None:
        records = message.raw_message
        await handle(records if isinstance(records, tuple) else (records,))

    subscriber = runtime.broker.subscriber(
        *topics,
        batch=True,
        max_records=max_records,
        batch_timeout_ms=POLL_TIMEOUT_MS,
        fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
        group_id=group,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        session_timeout_ms=kafka.session_timeout_ms,
        heartbeat_interval_ms=kafka.heartbeat_interval_ms,
        decoder=_undecoded,
        **options,
    )
    subscriber(on_batch)
    runtime.groups[group] = subscriber
    runtime.consumed[group] = tuple(topics)
    for topic in topics:  # a series per dead-letter topic from the start, at zero
        DEAD_LETTERS.labels(Topics.dead_letters(topic))


def subscribe(runtime: Runtime, subscription: Subscription) -> None:
    """One consumer group per service, its events applied through the inbox: offsets commit only
    after the inbox transaction commits."""
    settings = runtime.settings
    consumer = Consumer(
        name=runtime.name,
        pool=lambda: runtime.pool,
        # Every service keeps its own copy of the revoked tokens.
        handlers={**subscription.handlers, **revocations.HANDLERS},
        dead_letter=runtime.dead_letter,
        max_attempts=settings.consumer_max_attempts,
        backoff_seconds=settings.consumer_retry_backoff_ms / 1000,
    )

    runtime.handled.update(subscription.handlers, revocations.HANDLERS)

    async def apply(records: tuple[KafkaRecord, ...]) -> None:
        await consumer.handle_batch([(r.topic, r.key, r.value or b"") for r in records])

    subscribe_batches(
        runtime,
        [*subscription.topics, Topics.ACCESS],
        runtime.name,
        MAX_BATCH,
        apply,
        max_poll_interval_ms=max_poll_interval_ms(settings),
    )


async def start_consuming(runtime: Runtime) -> None:
    """Start the consumer groups; on a database just restored from a backup, from the first
    offsets of their topics (shared/restored.py)."""
    await restored.recover(runtime.pool, runtime.settings.kafka.bootstrap_servers, runtime.consumed)
    await runtime.broker.start()


def create_app(
    runtime: Runtime,
    migrations: Path,
    routers: Sequence[APIRouter],
    title: str,
    description: str,
    writes: Sequence[Channel] = (),
    reads: Sequence[Channel] = (),
) -> FastAPI:
    """The service's app. `writes` names the topics it publishes to, `reads` may describe those
    it reads better than shared/asyncapi.py does: for its AsyncAPI document."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        settings = runtime.settings
        configure_logging(runtime.name, settings.log_level)
        runtime._pool = await create_pool(settings.database_url)
        await migrate(runtime.pool, migrations)
        await ensure_configured_topics(settings.kafka)
        await start_consuming(runtime)
        runtime.producer = create_outbox_producer(settings, runtime.name)
        await runtime.producer.start()
        runtime.broker_logs = BrokerLogs(settings.kafka.bootstrap_servers, runtime.name)
        await runtime.broker_logs.start()
        runtime.relay = outbox.Relay(runtime.pool, runtime.publish, shortened=runtime.shortened)
        await runtime.relay.start()
        revoked = revocations.refreshing(
            runtime.pool, settings.revocation_refresh_seconds, runtime.set_revoked
        )
        try:
            async with revoked:
                runtime.ready = True
                log.info("service started", port=settings.http_port)
                yield
        finally:
            # Not ready first, so a load balancer stops sending work before we drain.
            runtime.ready = False
            await runtime.broker.stop()
            await runtime.relay.stop()
            await runtime.broker_logs.stop()
            await runtime.producer.stop()
            await runtime.pool.close()
            log.info("service stopped")

    # /docs and /redoc with their own assets, served under /docs/assets (FastAPI's own pages load
    # them from a CDN): they work on a machine without internet access.
    app = FastAPIOffline(
        title=title,
        description=description,
        version="1.0.0",
        lifespan=lifespan,
        static_url="/docs/assets",
        # No badge from the public validator service: it would call out to the internet.
        swagger_ui_parameters={"validatorUrl": None},
    )
    app.state.runtime = runtime
    install_problem_handlers(app)
    app.include_router(health_router())
    app.state.asyncapi = cache(
        partial(
            asyncapi_document,
            runtime.broker,
            runtime.handled,
            title=title,
            description=f"The topics the {runtime.name} service reads and writes. Money and"
            " quantities are decimal strings, never JSON numbers with a fraction.",
            reads=reads,
            writes=writes,
        )
    )
    app.include_router(operations_router(runtime, app.state.asyncapi))
    for router in routers:
        app.include_router(router)

    app.add_middleware(RequestLimits, runtime=runtime)
    app.add_middleware(ObserveRequests)
    return app


def operations_router(runtime: Runtime, document: Callable[[], dict[str, Any]]) -> APIRouter:
    """/metrics (Prometheus) and /asyncapi.json (the topics the service reads and writes)."""
    router = APIRouter(tags=["operations"])

    async def backlog() -> int:
        return await outbox.backlog(runtime.pool)

    @router.get("/metrics", include_in_schema=False)
    @router.get("/metrics/", include_in_schema=False)  # where it used to be
    async def metrics() -> Response:
        consumers = [
            (group, subscriber.consumer)
            for group, subscriber in runtime.groups.items()
            if getattr(subscriber, "consumer", None) is not None
        ]
        body = await scrape(runtime.name, backlog, consumers)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    @router.get("/asyncapi.json")
    async def asyncapi() -> dict[str, Any]:
        """AsyncAPI 3.0: the topics this service reads and writes, and their messages."""
        return document()

    return router


def health_router() -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/health")
    async def health() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @router.get("/ready")
    async def ready(request: Request, response: Response) -> dict[str, object]:
        """Readiness: started, database answers, broker reachable."""
        runtime = runtime_of(request)
        checks = {"started": runtime.ready, "database": False, "broker": False}
        if runtime.ready:
            try:
                async with asyncio.timeout(2):
                    checks["database"] = await runtime.pool.fetchval("SELECT true") is True
            except (OSError, asyncpg.PostgresError, TimeoutError):
                pass
            try:
                async with asyncio.timeout(2):
                    checks["broker"] = await runtime.broker.ping(timeout=2)
            except (OSError, TimeoutError):
                pass
        ok = all(checks.values())
        response.status_code = 200 if ok else 503
        return {"status": "ready" if ok else "not ready", "checks": checks}

    return router


class _Server(uvicorn.Server):
    """SIGTERM turns /ready false at once and stops the server only after the drain period, so
    a load balancer stops sending work first. Then in-flight requests finish, the broker stops
    consuming (a message half applied rolls back uncommitted and is read again), and the relay
    and pool close."""

    def __init__(self, config: uvicorn.Config, runtime: Runtime, drain_seconds: float) -> None:
        super().__init__(config)
        self._runtime = runtime
        self._drain_seconds = drain_seconds

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self._runtime.ready and self._drain_seconds > 0:
            self._runtime.ready = False
            log.info("draining before shutdown", seconds=self._drain_seconds)
            threading.Timer(self._drain_seconds, super().handle_exit, (sig, frame)).start()
            return
        super().handle_exit(sig, frame)


def serve(app: FastAPI, settings: ServiceSettings) -> None:
    config = uvicorn.Config(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_level="warning",
        # Its records go to the JSON lines of shared/logging.py, not to handlers of its own.
        log_config=None,
        # Named rather than left to "auto", which falls back silently to the slower pure-Python
        # loop and parser; access lines would cost more than the requests they describe.
        loop="uvloop",
        http="httptools",
        access_log=False,
        # Longer than a load balancer's usual 60 s idle timeout, so the balancer closes an idle
        # connection first and never sends a request on one the server is closing.
        timeout_keep_alive=65,
        timeout_graceful_shutdown=settings.shutdown_timeout_seconds,
    )
    # What is built by now (modules, the app) lives as long as the process: frozen, it is left
    # out of the collector's full passes, which otherwise walk all of it every few seconds.
    gc.freeze()
    _Server(config, app.state.runtime, settings.shutdown_drain_seconds).run()


def run_service(build: Callable[[ServiceSettings], FastAPI], default_port: int) -> None:
    """Entry point of `python -m services.<name>`: settings from the environment, then serve."""
    os.environ.setdefault("HTTP_PORT", str(default_port))
    settings = ServiceSettings()
    # JSON lines from here on: `services.<name>.main` names the service until its app does.
    configure_logging(build.__module__.removeprefix("services.").split(".")[0], settings.log_level)
    install_exception_hooks()
    try:
        check_secret(settings.procure_token_secret.get_secret_value())
    except WeakSecretError as exc:
        log.critical("refusing to start", module=build.__module__, reason=str(exc))
        raise SystemExit(1) from exc
    app = build(settings)
    configure_logging(app.state.runtime.name, settings.log_level)
    serve(app, settings)

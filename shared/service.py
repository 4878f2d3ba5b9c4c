"""What every service process is made of: a FastStream KafkaBroker, an asyncpg pool on its own
database, migrations, the outbox relay, inbox consumers, and a FastAPI app with health, readiness
and metrics. A service module supplies its name, migrations, routes and event handlers.
"""

import asyncio
import os
import threading
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import asyncpg
import structlog
import uvicorn
from fastapi import APIRouter, FastAPI, Request, Response
from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaMessage
from prometheus_client import make_asgi_app

from shared import outbox
from shared.db import create_pool, migrate
from shared.http import install_problem_handlers
from shared.inbox import Consumer, Handler
from shared.infra.topics import ensure_topics
from shared.logging import configure_logging
from shared.metrics import EVENTS_PUBLISHED, HTTP_LATENCY
from shared.settings import ServiceSettings

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

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("the database pool is not open yet")
        return self._pool

    async def publish(self, batch: Sequence[tuple[str, bytes, bytes]]) -> None:
        """Send a batch and wait for every acknowledgement (the outbox marks rows after this)."""
        futures = [
            await self.broker.publish(value, topic, key=key, no_confirm=True)
            for topic, key, value in batch
        ]
        await asyncio.gather(*futures)
        EVENTS_PUBLISHED.inc(len(batch))

    async def dead_letter(
        self, topic: str, key: bytes | None, value: bytes, headers: dict[str, str]
    ) -> None:
        await self.broker.publish(value, topic, key=key, headers=headers)


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
    )


def subscribe(runtime: Runtime, subscription: Subscription) -> None:
    """One consumer group per service; offsets commit only after the inbox transaction commits."""
    settings = runtime.settings
    consumer = Consumer(
        name=runtime.name,
        pool=lambda: runtime.pool,
        handlers=subscription.handlers,
        dead_letter=runtime.dead_letter,
        max_attempts=settings.consumer_max_attempts,
        backoff_seconds=settings.consumer_retry_backoff_ms / 1000,
    )

    @runtime.broker.subscriber(
        *subscription.topics,
        group_id=runtime.name,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        session_timeout_ms=settings.kafka.session_timeout_ms,
        heartbeat_interval_ms=settings.kafka.heartbeat_interval_ms,
    )
    async def on_event(message: KafkaMessage) -> None:
        record = message.raw_message
        assert not isinstance(record, tuple)
        await consumer.handle(record.topic, record.key, record.value or b"")


def create_app(
    runtime: Runtime,
    migrations: Path,
    routers: Sequence[APIRouter],
    title: str,
    description: str,
) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        settings = runtime.settings
        configure_logging(runtime.name, settings.log_level)
        runtime._pool = await create_pool(settings.database_url)
        await migrate(runtime.pool, migrations)
        await ensure_topics(settings.kafka.bootstrap_servers, settings.kafka.partitions)
        await runtime.broker.start()
        runtime.relay = outbox.Relay(runtime.pool, runtime.publish)
        await runtime.relay.start()
        runtime.ready = True
        log.info("service started", port=settings.http_port)
        try:
            yield
        finally:
            # Not ready first, so a load balancer stops sending work before we drain.
            runtime.ready = False
            await runtime.broker.stop()
            await runtime.relay.stop()
            await runtime.pool.close()
            log.info("service stopped")

    app = FastAPI(title=title, description=description, version="1.0.0", lifespan=lifespan)
    app.state.runtime = runtime
    install_problem_handlers(app)
    app.include_router(health_router())
    for router in routers:
        app.include_router(router)
    app.mount("/metrics", make_asgi_app())

    @app.middleware("http")
    async def measure(request: Request, call_next):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        response = await call_next(request)
        # The route's template, not the raw path: ids in paths would explode label cardinality.
        route = getattr(request.scope.get("route"), "path", "unmatched")
        HTTP_LATENCY.labels(request.method, route, str(response.status_code)).observe(
            time.perf_counter() - started
        )
        return response

    return app


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
        timeout_graceful_shutdown=settings.shutdown_timeout_seconds,
    )
    _Server(config, app.state.runtime, settings.shutdown_drain_seconds).run()


def run_service(build: Callable[[ServiceSettings], FastAPI], default_port: int) -> None:
    """Entry point of `python -m services.<name>`: settings from the environment, then serve."""
    os.environ.setdefault("HTTP_PORT", str(default_port))
    settings = ServiceSettings()
    serve(build(settings), settings)

"""Structured logs: every line a service writes is one JSON object.

structlog's own lines and the standard library's (FastStream, aiokafka, uvicorn, asyncio,
warnings) go through the same processors to stdout, so they all carry `service`, a level, a UTC
timestamp and whatever is bound in structlog's context: `correlation_id` for an HTTP request
(`ObserveRequests` below), `event_id` and `correlation_id` for a consumed event (shared/inbox.py).
Uncaught exceptions, in any thread, are logged as JSON too. No colours, ever.
"""

import logging
import re
import sys
import threading
import time
from types import TracebackType
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from structlog.typing import EventDict, Processor, WrappedLogger

from shared.ids import new_id
from shared.metrics import HTTP_LATENCY

log = structlog.get_logger()

# Loggers that chatter at INFO about their own housekeeping (group joins, fetches, access lines):
# they speak when they warn.
QUIET = ("aiokafka", "uvicorn.access")
# Standard-library record attributes worth keeping: FastStream names the topic, group and message.
EXTRA = ("topic", "group_id", "message_id")


class _Service:
    """Adds the service's name to every line, whatever task or thread writes it."""

    def __init__(self, service: str) -> None:
        self.service = service

    def __call__(self, _: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
        event_dict.setdefault("service", self.service)
        return event_dict


def _drop_empty_extras(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    for key in EXTRA:
        if event_dict.get(key) == "":
            del event_dict[key]
    return event_dict


def configure_logging(service: str, level: str = "INFO") -> None:
    """JSON lines on stdout for structlog and the standard library alike; idempotent."""
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        numeric = logging.INFO
    shared: list[Processor] = [
        _Service(service),
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[
            *shared,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        # One write per line (message and newline together), to the same stream as the rest.
        logger_factory=structlog.WriteLoggerFactory(sys.stdout),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[
                *shared,
                structlog.stdlib.add_logger_name,
                structlog.stdlib.ExtraAdder(EXTRA),
                _drop_empty_extras,
            ],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                structlog.processors.JSONRenderer(),
            ],
        )
    )
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(numeric)
    # Libraries that install their own (coloured, plain-text) handlers at import, FastStream's
    # among them: their records go to the root handler instead.
    for logger in list(logging.Logger.manager.loggerDict.values()):
        if isinstance(logger, logging.Logger):
            for old in logger.handlers[:]:
                logger.removeHandler(old)
            logger.propagate = True
    for name in QUIET:
        logging.getLogger(name).setLevel(max(numeric, logging.WARNING))
    logging.captureWarnings(True)


def install_exception_hooks() -> None:
    """Uncaught exceptions (main thread, other threads, unraisable ones) as JSON lines."""

    def on_uncaught(
        kind: type[BaseException], exc: BaseException, tb: TracebackType | None
    ) -> None:
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, exc, tb)
            return
        log.critical("uncaught exception", exc_info=(kind, exc, tb))

    def on_thread(args: threading.ExceptHookArgs) -> None:
        if args.exc_value is None or isinstance(args.exc_value, SystemExit):
            return
        thread = args.thread.name if args.thread is not None else None
        exc_info = (args.exc_type, args.exc_value, args.exc_traceback)
        log.error("uncaught exception in thread", thread=thread, exc_info=exc_info)

    def on_unraisable(unraisable: Any) -> None:
        exc = unraisable.exc_value
        exc_info = (type(exc), exc, unraisable.exc_traceback) if exc is not None else None
        log.error(
            "exception ignored",
            message=unraisable.err_msg or "exception ignored in",
            object=repr(unraisable.object),
            exc_info=exc_info,
        )

    sys.excepthook = on_uncaught
    threading.excepthook = on_thread
    sys.unraisablehook = on_unraisable


# A correlation id a client may choose: a short token, nothing that could forge a log line.
_SANE = re.compile(rb"[A-Za-z0-9][A-Za-z0-9._:/+=-]{0,127}")
_INCOMING = (b"x-correlation-id", b"x-request-id")
HEADER = b"x-correlation-id"
# Methods that change state: their requests get an INFO line each (reads would flood the log).
_CHANGES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def correlation_id_of(headers: list[tuple[bytes, bytes]]) -> str:
    """The client's X-Correlation-ID (else X-Request-ID) if it is a sane token, else a new id."""
    found: dict[bytes, bytes] = {}
    for name, value in headers:
        lowered = name.lower()
        if lowered in _INCOMING and lowered not in found:
            found[lowered] = value
    for name in _INCOMING:
        given = found.get(name)
        if given is not None and _SANE.fullmatch(given):
            return given.decode("ascii")
    return new_id().hex


def current_correlation_id() -> str | None:
    """The correlation id bound for this request or event, if any: for the events it causes."""
    value = structlog.contextvars.get_contextvars().get("correlation_id")
    return value if isinstance(value, str) else None


class ObserveRequests:
    """Each HTTP request's correlation id: the client's (if sane) or a new one. Bound for every
    line logged while the request is handled and returned as `X-Correlation-ID`. A request that
    changes state gets an INFO line; one that fails (5xx, or raises) an ERROR line. Its latency
    is observed by method, route template and status (`HTTP_LATENCY`). A plain ASGI
    middleware: `@app.middleware("http")` would run every request in an extra task group."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        correlation = correlation_id_of(scope["headers"])
        header = (HEADER, correlation.encode("ascii"))
        status = 500

        async def send_with_header(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        method: str = scope["method"]
        with structlog.contextvars.bound_contextvars(correlation_id=correlation):
            try:
                await self.app(scope, receive, send_with_header)
            except Exception:
                log.exception("request failed", method=method, path=scope["path"])
                raise
            finally:
                # The route's template, not the raw path: ids would explode label cardinality.
                route = getattr(scope.get("route"), "path", "unmatched")
                HTTP_LATENCY.labels(method, route, str(status)).observe(
                    time.perf_counter() - started
                )
            if status >= 500:
                log.error("request failed", method=method, path=scope["path"], status=status)
            elif method in _CHANGES:
                log.info("request", method=method, path=scope["path"], status=status)

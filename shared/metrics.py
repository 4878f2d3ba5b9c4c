"""Prometheus metrics shared by the services; served at /metrics."""

from prometheus_client import Counter, Histogram

EVENTS_APPLIED = Counter(
    "procure_events_applied_total", "Events applied by a consumer", ["consumer", "event_type"]
)
EVENTS_DUPLICATE = Counter(
    "procure_events_duplicate_total", "Redelivered events the inbox skipped", ["consumer"]
)
EVENTS_DEAD_LETTERED = Counter(
    "procure_events_dead_lettered_total", "Records sent to a dead-letter topic", ["consumer"]
)
EVENTS_PUBLISHED = Counter("procure_events_published_total", "Events the outbox relay published")
HTTP_LATENCY = Histogram(
    "procure_http_request_seconds", "HTTP request latency", ["method", "route", "status"]
)

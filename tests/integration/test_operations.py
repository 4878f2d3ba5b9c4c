"""What operators rely on, against the three running services: /metrics (outbox backlog, consumer
lag, dead letters), /docs with no asset from another origin, /asyncapi.json of every service,
and logs that are JSON lines carrying the request's or the event's correlation id.
Trust code 9801, URN 980101."""

import asyncio
import json
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit
from uuid import uuid4

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from prometheus_client.parser import text_string_to_metric_families

from procure.launcher import RunningSystem
from shared.auth import Role
from shared.events import Envelope, Topics
from tests.helpers import until
from tests.integration.test_demand_api import line, load_registry, registry_rows

pytestmark = pytest.mark.integration

SERVICES = ("demand", "tendering", "savings", "web")
TRUST, URN = "9801", "980101"

# What each service reads and writes (README, "Architecture" and "Topics and events"): every
# service also reads the revoked tokens, and writes the dead-letter topic of each topic it reads.
READS = {
    "demand": {Topics.SUBMISSIONS, Topics.SPEND_SUBMISSIONS, Topics.TENDERS, Topics.ACCESS},
    "tendering": {Topics.REGISTRY, Topics.DEMAND, Topics.ACCESS},
    "savings": {Topics.REGISTRY, Topics.TENDERS, Topics.SPEND, Topics.ACCESS},
    "web": {Topics.ACCESS},
}
WRITES = {
    "demand": {Topics.REGISTRY, Topics.DEMAND, Topics.SPEND, Topics.ACCESS},
    "tendering": {Topics.TENDERS},
    "savings": {Topics.SAVINGS},
    "web": set(),
}
# The ingress topics carry plain JSON records, not envelopes: the model each is read as.
INGRESS = {Topics.SUBMISSIONS: "KafkaSubmission", Topics.SPEND_SUBMISSIONS: "KafkaSpend"}
GROUPS = {
    "demand": {"demand", "demand-ingress", "spend-ingress"},
    "tendering": {"tendering"},
    "savings": {"savings"},
    "web": {"web"},
}


def samples(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Prometheus text: sample name -> [(labels, value)]."""
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append((sample.labels, sample.value))
    return found


async def scrape(
    system: RunningSystem, service: str
) -> dict[str, list[tuple[dict[str, str], float]]]:
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.get(f"{system.urls[service]}/metrics", follow_redirects=False)
    assert response.status_code == 200, (response.status_code, response.headers)
    assert response.headers["content-type"].startswith("text/plain")
    return samples(response.text)


@pytest.mark.parametrize("service", SERVICES)
async def test_metrics_show_outbox_backlog_consumer_lag_and_dead_letters(
    system: RunningSystem, service: str
) -> None:
    def has_every_group(metrics: dict[str, list[tuple[dict[str, str], float]]]) -> bool:
        groups = {labels["group"] for labels, _ in metrics.get("procure_consumer_lag", [])}
        return groups >= GROUPS[service]

    # A consumer knows a partition's lag once it has fetched from it: soon after start-up.
    metrics = await until(lambda: scrape(system, service), has_every_group)

    [(labels, backlog)] = metrics["procure_outbox_backlog"]
    assert labels == {"service": service}
    assert backlog >= 0 and backlog == int(backlog)

    lags = metrics["procure_consumer_lag"]
    for labels, lag in lags:
        assert labels["topic"] in READS[service]
        assert int(labels["partition"]) >= 0
        assert lag >= 0 and lag == int(lag)
    # Every partition of every topic it reads is someone's in the group: all of them are here.
    partitions = {(labels["topic"], labels["partition"]) for labels, _ in lags}
    assert {topic for topic, _ in partitions} == READS[service]

    dead_letters = {
        labels["topic"]: value for labels, value in metrics["procure_dead_letters_total"]
    }
    assert set(dead_letters) >= {Topics.dead_letters(t) for t in READS[service]}
    assert all(value >= 0 for value in dead_letters.values())
    assert "procure_http_request_seconds_count" in metrics


async def test_lag_reaches_zero_and_backlog_empties_after_work(system: RunningSystem) -> None:
    async with httpx.AsyncClient(base_url=system.urls["demand"], timeout=30) as http:
        await load_registry(http, system, registry_rows(TRUST, [URN]))

    async def settled(service: str) -> bool:
        metrics = await scrape(system, service)
        [(_, backlog)] = metrics["procure_outbox_backlog"]
        lags = [lag for _, lag in metrics.get("procure_consumer_lag", [])]
        return backlog == 0 and bool(lags) and max(lags) == 0

    async def all_settled() -> bool:
        return all([await settled(service) for service in SERVICES])

    await until(all_settled, bool)


HTML_REFERENCE = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']|url\s*:\s*'([^']+)'""")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
@pytest.mark.parametrize("service", SERVICES)
def test_api_docs_load_nothing_from_another_origin(
    system: RunningSystem, service: str, page: str
) -> None:
    base = system.urls[service]
    response = httpx.get(f"{base}{page}", timeout=10)
    assert response.status_code == 200
    html = response.text
    references = [a or b for a, b in HTML_REFERENCE.findall(html)]
    assert any(r.endswith(".js") for r in references), references
    assert "openapi.json" in html
    assert "cdn." not in html and "googleapis" not in html
    for reference in references:
        url = urljoin(f"{base}{page}", reference)
        assert urlsplit(url).netloc == urlsplit(base).netloc, reference
        assert httpx.get(url, timeout=10).status_code == 200, reference
    if page == "/docs":
        # Swagger UI 5 renders the OpenAPI 3.1 that FastAPI writes; no outside validator badge.
        assert "swagger-ui-bundle.js" in html and '"validatorUrl": null' in html


@pytest.mark.parametrize("service", SERVICES)
def test_asyncapi_lists_every_topic_read_and_written_with_its_messages(
    system: RunningSystem, service: str
) -> None:
    response = httpx.get(f"{system.urls[service]}/asyncapi.json", timeout=10)
    assert response.status_code == 200
    doc = response.json()
    assert doc["asyncapi"] == "3.0.0"
    actions: dict[str, set[str]] = {}
    for operation in doc["operations"].values():
        channel = doc["channels"][operation["channel"]["$ref"].split("/")[-1]]
        actions.setdefault(operation["action"], set()).add(channel["address"])
    dead_letters = {Topics.dead_letters(t) for t in READS[service]}
    assert actions == {"receive": READS[service], "send": WRITES[service] | dead_letters}
    schemas = doc["components"]["schemas"]
    for channel in doc["channels"].values():
        channel_name = channel["address"]
        assert channel["description"]
        for ref in channel["messages"].values():
            message = doc["components"]["messages"][ref["$ref"].split("/")[-1]]
            payload = message["payload"]
            assert payload, channel_name
            if channel_name.endswith(".dlq"):
                continue  # the refused record's own bytes
            # Every event on a topic is an envelope with its data spelled out.
            refs = re.findall(r"#/components/schemas/([^\"']+)", json.dumps(payload))
            if channel_name in INGRESS:
                model = INGRESS[channel_name]
                assert refs == [model] or payload.get("title") == model
                continue
            assert refs, channel_name
            for name in envelopes(schemas, refs):
                schema = schemas[name]
                assert {"event_id", "correlation_id", "data"} <= set(schema["properties"])
                assert schema["properties"]["data"]["$ref"].startswith("#/components/schemas/")


def envelopes(schemas: dict[str, Any], refs: list[str]) -> list[str]:
    """The schemas named, a union (oneOf / anyOf of references) replaced by its members."""
    found = []
    for name in refs:
        schema = schemas[name]
        members = schema.get("oneOf") or schema.get("anyOf")
        if members:
            found += envelopes(schemas, [m["$ref"].split("/")[-1] for m in members])
        else:
            found.append(name)
    return found


def log_lines(system: RunningSystem, service: str) -> list[dict[str, Any]]:
    lines = []
    for number, text in enumerate(system.log(service).splitlines(), 1):
        if not text.strip():
            continue
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError:
            raise AssertionError(f"{service}.log line {number} is not JSON: {text!r}") from None
        assert isinstance(parsed, dict), f"{service}.log line {number}: {text!r}"
        lines.append(parsed)
    return lines


async def test_a_requests_lines_carry_its_correlation_id(system: RunningSystem) -> None:
    async with httpx.AsyncClient(base_url=system.urls["demand"], timeout=30) as http:
        await load_registry(http, system, registry_rows(TRUST, [URN]))
        response = await http.post(
            "/v1/demands",
            json=line(URN),
            headers={
                "Authorization": f"Bearer {system.token(Role.SCHOOL, URN)}",
                "X-Correlation-ID": "test-corr-123",
            },
        )
        assert response.status_code == 201, response.text
        assert response.headers["x-correlation-id"] == "test-corr-123"
        # Not a sane token: the service makes its own.
        made = await http.get("/health", headers={"X-Correlation-ID": "no spaces\tplease"})
        assert re.fullmatch(r"[0-9a-f]{32}", made.headers["x-correlation-id"])
        # X-Request-ID is taken too.
        taken = await http.get("/health", headers={"X-Request-ID": "req-42"})
        assert taken.headers["x-correlation-id"] == "req-42"

    def carried() -> list[dict[str, Any]]:
        return [
            e for e in log_lines(system, "demand") if e.get("correlation_id") == "test-corr-123"
        ]

    lines = await until(lambda: asyncio.to_thread(carried), bool)
    assert any(e.get("method") == "POST" and e.get("status") == 201 for e in lines), lines
    assert all(e["service"] == "demand" and "timestamp" in e and "level" in e for e in lines)


async def test_an_events_lines_carry_its_event_id_and_correlation_id(
    system: RunningSystem,
) -> None:
    # An event demand cannot apply (tender.opened without its data): it is retried, then
    # dead-lettered, and every line about it names it.
    correlation = f"test-event-{uuid4().hex[:8]}"
    event_id = uuid4()
    poison = Envelope(
        event_id=event_id,
        event_type="tender.opened",
        event_version=1,
        occurred_at=datetime.now(UTC),
        trust_id=TRUST,
        correlation_id=correlation,
        data={"not": "a tender"},
    )
    before = await scrape(system, "demand")
    dead_before = {
        labels["topic"]: value for labels, value in before["procure_dead_letters_total"]
    }.get(Topics.dead_letters(Topics.TENDERS), 0.0)
    producer = AIOKafkaProducer(bootstrap_servers=system.infra.kafka_bootstrap_servers)
    await producer.start()
    try:
        await producer.send_and_wait(
            Topics.TENDERS, poison.model_dump_json().encode(), key=TRUST.encode()
        )
    finally:
        await producer.stop()

    def about_it() -> list[dict[str, Any]]:
        return [e for e in log_lines(system, "demand") if e.get("event_id") == str(event_id)]

    lines = await until(
        lambda: asyncio.to_thread(about_it),
        lambda found: any(e["event"] == "record dead-lettered" for e in found),
    )
    assert all(e["correlation_id"] == correlation for e in lines), lines
    assert any(e["level"] == "warning" and "retrying" in e["event"] for e in lines)

    after = await scrape(system, "demand")
    dead_after = {labels["topic"]: value for labels, value in after["procure_dead_letters_total"]}[
        Topics.dead_letters(Topics.TENDERS)
    ]
    assert dead_after >= dead_before + 1


@pytest.mark.parametrize("service", SERVICES)
def test_every_line_a_service_writes_is_a_json_object(system: RunningSystem, service: str) -> None:
    lines = log_lines(system, service)
    assert any(e.get("event") == "service started" for e in lines)
    for entry in lines:
        assert entry["service"] == service
        assert {"event", "level", "timestamp"} <= set(entry), entry
    # FastStream's own lines come as JSON too, not as coloured text.
    assert "\x1b[" not in system.log(service)

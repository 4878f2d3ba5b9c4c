"""The Kafka ingress on `demand.submissions` against the running demand service: 1,000 good
records (plus 200 re-sent), 50 bad ones of every kind, all registered exactly once or
dead-lettered with their original bytes and reason, and the consumer still live after them.
Trust codes 1300-1399, URNs 1300xx-1399xx."""

import asyncio
import json
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any
from uuid import uuid4

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from procure.launcher import RunningSystem
from shared.events import Topics
from tests.helpers import all_demand_lines, until
from tests.integration.test_demand_api import (
    as_manager,
    client,
    load_registry,
    published_events,
    registry_rows,
)

pytestmark = pytest.mark.integration

TRUSTS = ("1301", "1302")
END = (date.today() + timedelta(days=120)).isoformat()


def urns(trust: str) -> list[str]:
    return [f"{trust}{i:02d}" for i in range(1, 11)]


def submission(trust: str, i: int, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "submission_id": f"{trust}-{i}",
        "trust_id": trust,
        "school_urn": urns(trust)[i % 10],
        "category": ("electricity", "gas")[i % 2],
        "quantity": str(1000 + i),
        "unit": "kWh",
        "current_unit_price": "0.2500",
        "contract_end": END,
        "term_months": 24,
    }
    return {k: v for k, v in (body | changes).items() if v is not ...}


def encoded(body: dict[str, Any]) -> bytes:
    return json.dumps(body).encode()


# Each kind of bad record: how to make it from (trust, n), and how its reason must begin.
BAD: dict[str, tuple[Callable[[str, int], bytes], str]] = {
    "malformed": (lambda t, n: b'{"submission_id": "x", ', "malformed JSON"),
    "not-utf8": (lambda t, n: b"\xff\xfe{}", "malformed JSON"),
    "not-object": (lambda t, n: b"[1, 2, 3]", "invalid submission: record: Input should be an"),
    "empty": (lambda t, n: b"", "empty record"),
    "float-money": (
        lambda t, n: encoded(submission(t, 9000 + n, quantity=1234.5)),
        "invalid submission: quantity: send decimals as strings",
    ),
    "string-term": (
        lambda t, n: encoded(submission(t, 9000 + n, term_months="24")),
        "invalid submission: term_months: Input should be a valid integer",
    ),
    "unknown-field": (
        lambda t, n: encoded(submission(t, 9000 + n, colour="red")),
        "invalid submission: colour: unknown field",
    ),
    "no-submission-id": (
        lambda t, n: encoded(submission(t, 9000 + n, submission_id=...)),
        "invalid submission: submission_id: Field required",
    ),
    "nul-in-notes": (
        lambda t, n: encoded(submission(t, 9000 + n, notes="a\u0000b")),
        "invalid submission: notes: must not contain control characters",
    ),
    "oversized": (
        lambda t, n: encoded(submission(t, 9000 + n, notes="x" * 100_000)),
        "oversized payload: 100",
    ),
    "unknown-category": (
        lambda t, n: encoded(submission(t, 9000 + n, category="rockets")),
        "category: unknown category 'rockets'",
    ),
    "wrong-unit": (
        lambda t, n: encoded(submission(t, 9000 + n, category="electricity", unit="litre")),
        "unit: electricity is measured in kWh",
    ),
    "outside-trust": (
        lambda t, n: encoded(submission(t, 9000 + n, school_urn=urns(other(t))[0])),
        "school_urn: school 13",
    ),
    "unknown-school": (
        lambda t, n: encoded(submission(t, 9000 + n, school_urn=f"{t}99")),
        "school_urn: URN 13",
    ),
    # An id of a good record sent earlier, with different content.
    "reused-id": (
        lambda t, n: encoded(submission(t, n, quantity="7")),
        "submission_id: 13",
    ),
}


def other(trust: str) -> str:
    return TRUSTS[1 - TRUSTS.index(trust)]


async def test_a_thousand_good_and_fifty_bad_records(system: RunningSystem) -> None:
    run = uuid4().hex
    sent_bad: dict[tuple[str, str], bytes] = {}
    records: list[tuple[str, bytes, list[tuple[str, bytes]]]] = []
    kinds = list(BAD)
    for trust in TRUSTS:
        for i in range(500):
            records.append((trust, encoded(submission(trust, i)), []))
            if i % 5 == 4:  # a producer retry: the same record again, 100 per trust
                records.append((trust, encoded(submission(trust, i - 2)), []))
            if i % 20 == 19:  # 25 bad records per trust, 50 in all
                n = i // 20
                kind = kinds[(n + TRUSTS.index(trust) * 7) % len(kinds)]
                value = BAD[kind][0](trust, i - 10)
                case = f"{trust}-{n}-{kind}"
                sent_bad[(trust, case)] = value
                records.append((trust, value, [("case", case.encode()), ("x-binary", b"\xff")]))
        # Last, a line of its own kind: once it is in, everything before it on the partition is.
        marker = submission(trust, 99_999, category="water", quantity="10", unit="m3")
        records.append((trust, encoded(marker), []))
    assert len(sent_bad) == 50
    assert sum(1 for _, _, h in records if not h) == 2 * (500 + 100 + 1)

    async with client(system) as http:
        for trust in TRUSTS:
            await load_registry(http, system, registry_rows(trust, urns(trust)))
        producer = AIOKafkaProducer(
            bootstrap_servers=system.infra.kafka_bootstrap_servers,
            max_request_size=1024 * 1024,
        )
        await producer.start()
        try:
            sent = [
                await producer.send(
                    Topics.SUBMISSIONS,
                    value,
                    key=trust.encode(),
                    headers=[("run", run.encode()), *headers],
                )
                for trust, value, headers in records
            ]
            await asyncio.gather(*sent)
        finally:
            await producer.stop()

        for trust in TRUSTS:
            manager = as_manager(system, trust)

            async def water(headers: dict[str, str] = manager) -> list[Any]:
                page = await http.get("/v1/demands?category=water", headers=headers)
                items: list[Any] = page.json()["items"]
                return items

            await until(water, lambda items: len(items) == 1, seconds=60)
            assert len(await all_demand_lines(http, manager)) == 501  # 500 + the marker, once each
            assert (await http.get("/ready")).status_code == 200
        metrics = (await http.get("/metrics/")).text
    values = {
        name: float(value)
        for name, _, value in (line.rpartition(" ") for line in metrics.splitlines())
        if not name.startswith("#")
    }
    # Only this test feeds the ingress: 1,002 lines created, 200 re-sent records replayed,
    # and the 50 bad records dead-lettered.
    assert values['procure_demand_submissions_total{channel="kafka",outcome="created"}'] == 1002
    assert values['procure_demand_submissions_total{channel="kafka",outcome="replayed"}'] == 200
    assert values['procure_dead_letters_total{topic="demand.submissions.dlq"}'] == 50

    for trust in TRUSTS:
        registered = await published_events(system, trust, Topics.DEMAND)
        assert len(registered) == 501
        assert {e.event_type for e in registered} == {"demand.registered"}
        assert len({e.correlation_id for e in registered}) == 501  # the submission ids

    dead = await dead_letters(system, run, expected=50)
    assert {(d["key"], d["case"]) for d in dead} == set(sent_bad)
    for letter in dead:
        kind = letter["case"].split("-", 2)[2]
        assert letter["value"] == sent_bad[(letter["key"], letter["case"])]
        assert letter["reason"].startswith(BAD[kind][1]), (kind, letter["reason"])
        assert letter["consumer"] == "demand-ingress"
        assert letter["run"] == run  # the original headers travel with the record


async def dead_letters(
    system: RunningSystem, run: str, expected: int, topic: str = Topics.SUBMISSIONS
) -> list[dict[str, Any]]:
    """The records dead-lettered from `topic` with header `run`: their headers, key and value."""
    consumer = AIOKafkaConsumer(
        Topics.dead_letters(topic),
        bootstrap_servers=system.infra.kafka_bootstrap_servers,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    found: list[dict[str, Any]] = []
    try:
        async with asyncio.timeout(30):
            while len(found) < expected:
                for batch in (await consumer.getmany(timeout_ms=500)).values():
                    for r in batch:
                        headers = {k: v.decode(errors="replace") for k, v in r.headers}
                        if headers.get("run") == run:
                            found.append(headers | {"key": r.key.decode(), "value": r.value or b""})
        await asyncio.sleep(0.5)  # and nothing more arrives
        for batch in (await consumer.getmany(timeout_ms=500)).values():
            assert not [r for r in batch if (b"run", run.encode()) in r.headers]
    finally:
        await consumer.stop()
    return found

"""The fault tests' workload: 5,000 schools in 20 trusts, one electricity line each, pushed
through all three services, pooled, tendered and awarded; and the figures the ledger must end
with, worked out here with plain Decimal arithmetic from the ledger formulas of
docs/domain-rules.md, "Savings, per school" (not with the project's code).

Demand arrives on both of its channels at once, as from many finance systems: most lines as
records on the Kafka ingress (`demand.submissions`), every twentieth over HTTP with an
Idempotency-Key and retries through outages."""

import asyncio
import json
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from procure.launcher import RunningSystem
from shared.auth import Role
from shared.events import Topics

TRUSTS = [str(5001 + t) for t in range(20)]
SCHOOLS_PER_TRUST = 250
HTTP_EVERY = 20
# The Kafka stream is paced (chunks of lines, a pause between them) so that it lasts about as
# long as the services take to register and pool it: a fault then lands with lines in flight.
KAFKA_CHUNK = 100
KAFKA_PAUSE_SECONDS = 0.02
PENNY = Decimal("0.01")
# Pooled volume per trust is at least 250 x 10,000 = 2,500,000 kWh, so both bids' top tiers apply:
# A 0.2400 (lowest) scores 0.7 x 100 + 0.3 x 70 = 91.00;
# B 0.2450 scores 0.7 x (0.2400 / 0.2450 x 100) + 0.3 x 90 = 95.57, so B wins at p = 0.2450.
# The quality scores are the trust's, recorded after the deadline.
QUALITY = {"supplier-a": "70", "supplier-b": "90"}
BIDS = {
    "supplier-a": {
        "price_tiers": [
            {"min_quantity": "0", "unit_price": "0.3000"},
            {"min_quantity": "1000000", "unit_price": "0.2400"},
        ],
    },
    "supplier-b": {
        "price_tiers": [
            {"min_quantity": "0", "unit_price": "0.2950"},
            {"min_quantity": "2000000", "unit_price": "0.2450"},
        ],
    },
}
POOLED_PRICE = Decimal("0.2450")
TERM_MONTHS = 24


@dataclass(frozen=True)
class Line:
    trust: str
    urn: str
    quantity: Decimal
    price: Decimal
    contract_end: date

    def submission(self) -> dict[str, Any]:
        return {
            "school_urn": self.urn,
            "category": "electricity",
            "unit": "kWh",
            "quantity": str(self.quantity),
            "current_unit_price": str(self.price),
            "contract_end": str(self.contract_end),
            "term_months": TERM_MONTHS,
        }


@dataclass
class Progress:
    """How far the workload has gone; a fault strikes when it reaches the fault's point."""

    sent: int = 0
    awarded: int = 0


Checkpoint = Callable[[], Awaitable[None]]


def lines() -> list[Line]:
    """All lines, the trusts interleaved so that every partition carries some of the stream."""
    rng = random.Random(6)
    by_trust = [
        [
            Line(
                trust=trust,
                urn=str(500001 + t * SCHOOLS_PER_TRUST + s),
                quantity=Decimal(rng.randint(10_000, 15_000)),
                price=Decimal("0.2500") + Decimal(rng.randint(0, 49)) / 10_000,
                contract_end=date(2027, 4, 30) + timedelta(days=rng.randint(0, 120)),
            )
            for s in range(SCHOOLS_PER_TRUST)
        ]
        for t, trust in enumerate(TRUSTS)
    ]
    return [line for schools in zip(*by_trust, strict=True) for line in schools]


def expected_totals(all_lines: list[Line]) -> dict[str, Decimal]:
    """Sums of per-entry figures, each rounded to pence half up once."""
    annual = sum(
        (
            (line.quantity * line.price - line.quantity * POOLED_PRICE).quantize(
                PENNY, ROUND_HALF_UP
            )
            for line in all_lines
        ),
        Decimal("0.00"),
    )
    term = sum(
        (
            (
                (line.quantity * line.price - line.quantity * POOLED_PRICE) * TERM_MONTHS / 12
            ).quantize(PENNY, ROUND_HALF_UP)
            for line in all_lines
        ),
        Decimal("0.00"),
    )
    return {"annual_saving": annual, "term_saving": term}


def registry_csv(all_lines: list[Line]) -> str:
    rows = ["URN,EstablishmentName,Trusts (code),Trusts (name),EstablishmentStatus (name)"]
    rows += [
        f"{line.urn},School {line.urn},{line.trust},Trust {line.trust},Open" for line in all_lines
    ]
    return "\n".join(rows) + "\n"


async def until_ok(call: Any, what: str, within: float = 180) -> httpx.Response:
    """Retry a request through outages, like a finance system with an Idempotency-Key would."""
    deadline = asyncio.get_running_loop().time() + within
    delay = 0.05
    while True:
        try:
            response: httpx.Response = await call()
            if response.status_code < 500:
                return response
        except httpx.HTTPError:
            pass
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"{what} did not succeed within {within} s")
        await asyncio.sleep(delay)
        delay = min(delay * 2, 1.0)


async def load_registry(system: RunningSystem, all_lines: list[Line]) -> None:
    token = system.token(Role.OPERATOR)
    async with httpx.AsyncClient(timeout=60) as http:
        response = await until_ok(
            lambda: http.post(
                f"{system.urls['demand']}/v1/registry",
                content=registry_csv(all_lines),
                headers={"Authorization": f"Bearer {token}", "Content-Type": "text/csv"},
            ),
            "registry load",
        )
    assert response.status_code == 200, response.text


async def submit_demand(
    system: RunningSystem,
    all_lines: list[Line],
    progress: Progress,
    checkpoint: Checkpoint,
    concurrency: int = 16,
) -> None:
    """Send every line, over HTTP and Kafka at once; `checkpoint` runs after each step."""
    over_http = all_lines[::HTTP_EVERY]
    over_kafka = [line for i, line in enumerate(all_lines) if i % HTTP_EVERY]
    await asyncio.gather(
        _over_http(system, over_http, progress, checkpoint, concurrency),
        _over_kafka(system.infra.kafka_bootstrap_servers, over_kafka, progress, checkpoint),
    )


async def _over_http(
    system: RunningSystem,
    http_lines: list[Line],
    progress: Progress,
    checkpoint: Checkpoint,
    concurrency: int,
) -> None:
    queue = list(reversed(http_lines))

    async def post(http: httpx.AsyncClient, line: Line) -> None:
        headers = {
            "Authorization": f"Bearer {system.token(Role.SCHOOL, line.urn)}",
            "Idempotency-Key": f"fault-{line.urn}",
        }
        response = await until_ok(
            lambda: http.post(
                f"{system.urls['demand']}/v1/demands", json=line.submission(), headers=headers
            ),
            f"demand for {line.urn}",
        )
        assert response.status_code in (200, 201), response.text

    async def worker(http: httpx.AsyncClient) -> None:
        while queue:
            await post(http, queue.pop())
            progress.sent += 1
            await checkpoint()

    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(timeout=10, limits=limits) as http:
        await asyncio.gather(*(worker(http) for _ in range(concurrency)))


async def _over_kafka(
    bootstrap: str, kafka_lines: list[Line], progress: Progress, checkpoint: Checkpoint
) -> None:
    """Records as a finance system puts them on the ingress: keyed by trust, acknowledged by all
    replicas, a chunk sent again when the broker fails it; the producer's own retries may send
    one twice, which the ingress absorbs."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    try:
        for start in range(0, len(kafka_lines), KAFKA_CHUNK):
            await _send_chunk(producer, kafka_lines[start : start + KAFKA_CHUNK])
            progress.sent += len(kafka_lines[start : start + KAFKA_CHUNK])
            await checkpoint()
            await asyncio.sleep(KAFKA_PAUSE_SECONDS)
    finally:
        await producer.stop()


async def resend_over_kafka(system: RunningSystem, all_lines: list[Line]) -> None:
    """Every line sent on the Kafka ingress, sent again: what a finance system does after the
    embedded broker lost records it had acknowledged (the ingress skips those it has)."""
    producer = AIOKafkaProducer(
        bootstrap_servers=system.infra.kafka_bootstrap_servers, acks="all", linger_ms=5
    )
    await producer.start()
    try:
        over_kafka = [line for i, line in enumerate(all_lines) if i % HTTP_EVERY]
        for start in range(0, len(over_kafka), KAFKA_CHUNK):
            await _send_chunk(producer, over_kafka[start : start + KAFKA_CHUNK])
    finally:
        await producer.stop()


async def _send_chunk(producer: AIOKafkaProducer, chunk: list[Line], within: float = 180) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        try:
            sending = [
                await producer.send(
                    Topics.SUBMISSIONS,
                    json.dumps(
                        line.submission()
                        | {"submission_id": f"fault-{line.urn}", "trust_id": line.trust}
                    ).encode(),
                    key=line.trust.encode(),
                )
                for line in chunk
            ]
            await asyncio.gather(*sending)
            return
        except KafkaError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.5)


async def tender_and_award(
    system: RunningSystem, progress: Progress, checkpoint: Checkpoint, bidding_seconds: float
) -> None:
    """One tender per trust, two bids each; awarded after the deadline in two waves, so a fault
    can strike while allocations flow."""
    tendering = system.urls["tendering"]
    # One deadline for every tender: the bids must all be in by then, however slowly the
    # machine opens the tenders, and the awards wait only for what is left of it.
    deadline = datetime.now(UTC) + timedelta(seconds=bidding_seconds)

    def closes_at() -> str:
        return deadline.isoformat()

    async def open_tender(http: httpx.AsyncClient, trust: str, manager: dict[str, str]) -> str:
        opened = await until_ok(
            lambda: http.post(
                f"{tendering}/v1/tenders",
                headers=manager,
                json={
                    "trust_id": trust,
                    "category": "electricity",
                    "closes_at": closes_at(),
                    # Regulated: a call-off from a framework may close within seconds (no
                    # minimum tendering period under s.54 of the Procurement Act 2023).
                    "procedure": "framework_call_off",
                    "framework": "ESPO 191 Energy",
                },
            ),
            f"tender for {trust}",
        )
        if opened.status_code != 409:
            assert opened.status_code == 201, opened.text
            return str(opened.json()["tender_id"])
        # Opened by an attempt whose answer was lost when tendering died: that tender is ours.
        listed = await until_ok(
            lambda: http.get(f"{tendering}/v1/trusts/{trust}/tenders", headers=manager),
            f"tenders of {trust}",
        )
        found = [t["tender_id"] for t in listed.json() if t["status"] == "open"]
        assert len(found) == 1, opened.text
        return str(found[0])

    async def open_and_bid(http: httpx.AsyncClient, trust: str) -> tuple[str, str]:
        manager = {"Authorization": f"Bearer {system.token(Role.MANAGER, trust)}"}
        tender_id = await open_tender(http, trust, manager)
        for supplier, bid in BIDS.items():
            token = {"Authorization": f"Bearer {system.token(Role.SUPPLIER, supplier)}"}
            placed = await until_ok(
                lambda b=bid, k=token: http.post(
                    f"{tendering}/v1/tenders/{tender_id}/bids", headers=k, json=b
                ),
                "bid",
            )
            assert placed.status_code == 201, placed.text
        return manager["Authorization"], tender_id

    async def award(http: httpx.AsyncClient, authorization: str, tender_id: str) -> None:
        manager = {"Authorization": authorization}
        read = await until_ok(
            lambda: http.get(f"{tendering}/v1/tenders/{tender_id}", headers=manager), "tender"
        )
        scores = [
            {"bid_id": b["bid_id"], "quality_score": QUALITY[b["supplier_id"]]}
            for lot in read.json()["lots"]
            for b in lot["bids"] or []
        ]
        scored = await until_ok(
            lambda: http.post(
                f"{tendering}/v1/tenders/{tender_id}/evaluation",
                headers=manager,
                json={"scores": scores},
            ),
            "quality scores",
        )
        # 409: decided at its deadline by tendering once an earlier attempt (whose answer was
        # lost) had recorded the scores.
        assert scored.status_code in (200, 409), scored.text
        awarded = await until_ok(
            lambda: http.post(
                f"{tendering}/v1/tenders/{tender_id}/award",
                headers={"Authorization": authorization},
            ),
            "award",
        )
        assert awarded.status_code == 200, awarded.text
        progress.awarded += 1
        await checkpoint()

    async with httpx.AsyncClient(timeout=30) as http:
        tenders = await asyncio.gather(*(open_and_bid(http, trust) for trust in TRUSTS))
        await asyncio.sleep(max(0.0, (deadline - datetime.now(UTC)).total_seconds()) + 0.2)
        half = len(tenders) // 2
        for wave in (tenders[:half], tenders[half:]):
            await asyncio.gather(*(award(http, a, t) for a, t in wave))

"""The fault tests' workload: 5,000 schools in 20 trusts, one electricity line each, pushed
through all three services, pooled, tendered and awarded; and the figures the ledger must end
with, worked out here with plain Decimal arithmetic from the ledger formulas of
docs/domain-rules.md, "Savings, per school" (not with the project's code).

Demand arrives on both of its channels at once, as from many finance systems: most lines as
records on the Kafka ingress (`demand.submissions`), every twentieth over HTTP with an
Idempotency-Key and retries through outages.

Spend arrives with it, the same way: 1,200 invoice lines (electricity after the school's supply
starts, on contract, some above the contract price, some from another supplier; water, which no
contract covers), most on `spend.submissions`, every fortieth over `POST /v1/spend`, every tenth
sent twice. Most reach savings before the award that covers them, which classifies them again.
Their figures are worked out here from docs/domain-rules.md, "Savings achieved"."""

import asyncio
import json
import math
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
WINNER = "supplier-b"
# Spend: every 5th school is invoiced a month of electricity (1,000 lines: every 5th from
# another supplier, every 7th of the rest billed 0.0100 above the contract price), every 25th
# a month of water (200 lines, uncontracted). Every 40th invoice goes over HTTP, the rest on
# the Kafka ingress (cheaper per line: the suite's time is what limits it); every 10th is sent
# twice, its repeat on Kafka a little later.
SPEND_EVERY = 5
WATER_EVERY = 25
HTTP_SPEND_EVERY = 40
REPEAT_EVERY = 10
REPEAT_LAG = 200
OTHER_SUPPLIER = "supplier-c"
OTHER_PRICE = Decimal("0.2600")
OVERCHARGE = Decimal("0.0100")


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


@dataclass(frozen=True)
class Invoice:
    """One spend line of a school; its demand line's price is the school's baseline."""

    line: Line
    category: str
    supplier: str
    period_start: date
    quantity: Decimal
    amount: Decimal

    @property
    def invoice_ref(self) -> str:
        return f"INV-{self.category[:4]}-{self.line.urn}"

    def submission(self) -> dict[str, Any]:
        return {
            "school_urn": self.line.urn,
            "category": self.category,
            "supplier": self.supplier,
            "invoice_ref": self.invoice_ref,
            "period_start": str(self.period_start),
            "period_end": str(self.period_start + timedelta(days=29)),
            "quantity": str(self.quantity),
            "amount": str(self.amount),
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


def invoices(all_lines: list[Line]) -> list[Invoice]:
    """The spend lines, their periods inside each school's supply window (from the day after its
    contract_end, for TERM_MONTHS: the award and its standstill end months before)."""
    rng = random.Random(17)
    out = []
    for i, line in enumerate(all_lines):
        if i % SPEND_EVERY == 0:
            n = i // SPEND_EVERY
            quantity = Decimal(rng.randint(800, 1_300))
            supplier, price = WINNER, POOLED_PRICE + (OVERCHARGE if n % 7 == 3 else 0)
            if n % 5 == 4:
                supplier, price = OTHER_SUPPLIER, OTHER_PRICE
            elif n % 9 == 0:
                supplier = " Supplier-B"  # the same supplier, as another finance system names it
            start = line.contract_end + timedelta(days=rng.randint(1, 60))
            out.append(_invoice(line, "electricity", supplier, start, quantity, price))
        if i % WATER_EVERY == 1:
            quantity = Decimal(rng.randint(50, 400))
            price = Decimal("2.00") + Decimal(rng.randint(0, 150)) / 100
            start = date(2027, 1, 1) + timedelta(days=rng.randint(0, 90))
            out.append(_invoice(line, "water", "aqua-utilities", start, quantity, price))
    return out


def _invoice(
    line: Line, category: str, supplier: str, start: date, quantity: Decimal, price: Decimal
) -> Invoice:
    return Invoice(
        line=line,
        category=category,
        supplier=supplier,
        period_start=start,
        quantity=quantity,
        amount=(quantity * price).quantize(PENNY, ROUND_HALF_UP),
    )


def expected_spend(all_invoices: list[Invoice]) -> dict[str, Decimal | int]:
    """Per status its lines, and the realised figures: each line's rounded to pence half up once
    (b the school's baseline price, p the contract's, x the quantity, A the amount)."""

    def pence(value: Decimal) -> Decimal:
        return value.quantize(PENNY, ROUND_HALF_UP)

    def on_contract(i: Invoice) -> bool:  # supplier ids compare without case or spaces
        return i.supplier.strip().lower() == WINNER

    on = [i for i in all_invoices if i.category == "electricity" and on_contract(i)]
    off = [i for i in all_invoices if i.category == "electricity" and not on_contract(i)]
    water = [i for i in all_invoices if i.category == "water"]
    p = POOLED_PRICE
    zero = Decimal("0.00")
    return {
        "on_contract": len(on),
        "off_contract": len(off),
        "uncontracted": len(water),
        "realised_saving": sum((pence(i.quantity * i.line.price - i.amount) for i in on), zero),
        "expected_saving": sum((pence(i.quantity * (i.line.price - p)) for i in on), zero),
        "price_variance": sum((pence(i.amount - i.quantity * p) for i in on), zero),
        "off_contract_spend": sum((i.amount for i in off), zero),
        "leakage": sum((pence(i.amount - i.quantity * p) for i in off), zero),
        "uncontracted_amount": sum((i.amount for i in water), zero),
    }


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


@dataclass(frozen=True)
class Post:
    """One request of a finance system over HTTP, retried through outages."""

    path: str
    body: dict[str, Any]
    urn: str
    idempotency_key: str | None  # spend needs none: (school_urn, invoice_ref) is its key
    demand_lines: int  # what it adds to Progress.sent


Record = tuple[str, bytes, bytes]  # topic, key, value


def demand_record(line: Line) -> Record:
    submission = line.submission() | {"submission_id": f"fault-{line.urn}", "trust_id": line.trust}
    return Topics.SUBMISSIONS, line.trust.encode(), json.dumps(submission).encode()


def spend_record(invoice: Invoice) -> Record:
    submission = invoice.submission() | {"trust_id": invoice.line.trust}
    return Topics.SPEND_SUBMISSIONS, invoice.line.trust.encode(), json.dumps(submission).encode()


def spend_over_kafka(all_invoices: list[Invoice]) -> list[Record]:
    """The spend records of the Kafka ingress, each repeat REPEAT_LAG records after its first
    sending (the first sending of an HTTP invoice is its POST)."""
    ordered = [
        (n + (REPEAT_LAG if sent_twice else 0), spend_record(invoice))
        for n, invoice in enumerate(all_invoices)
        for sent_twice in (False, True)
        if (n % HTTP_SPEND_EVERY and not sent_twice) or (sent_twice and n % REPEAT_EVERY == 0)
    ]
    return [record for _, record in sorted(ordered, key=lambda pair: pair[0])]


def kafka_chunks(all_lines: list[Line], all_invoices: list[Invoice]) -> list[list[Record]]:
    """Demand's Kafka lines in chunks of KAFKA_CHUNK, each followed by its share of spend."""
    over_kafka = [line for i, line in enumerate(all_lines) if i % HTTP_EVERY]
    spend = spend_over_kafka(all_invoices)
    chunks = math.ceil(len(over_kafka) / KAFKA_CHUNK)
    per_chunk = math.ceil(len(spend) / chunks)
    return [
        [demand_record(line) for line in over_kafka[c * KAFKA_CHUNK : (c + 1) * KAFKA_CHUNK]]
        + spend[c * per_chunk : (c + 1) * per_chunk]
        for c in range(chunks)
    ]


def http_posts(all_lines: list[Line], all_invoices: list[Invoice]) -> list[Post]:
    """Demand's HTTP lines, and every HTTP_SPEND_EVERY-th invoice among them, evenly."""
    demand = [
        Post("/v1/demands", line.submission(), line.urn, f"fault-{line.urn}", 1)
        for line in all_lines[::HTTP_EVERY]
    ]
    spend = [
        Post("/v1/spend", i.submission(), i.line.urn, None, 0)
        for i in all_invoices[::HTTP_SPEND_EVERY]
    ]
    placed = [(n / len(demand), post) for n, post in enumerate(demand)]
    placed += [(n / len(spend), post) for n, post in enumerate(spend)]
    return [post for _, post in sorted(placed, key=lambda pair: pair[0])]


async def submit_demand(
    system: RunningSystem,
    all_lines: list[Line],
    all_invoices: list[Invoice],
    progress: Progress,
    checkpoint: Checkpoint,
    concurrency: int = 16,
) -> None:
    """Send every line and invoice, over HTTP and Kafka at once; `checkpoint` runs after each
    step."""
    await asyncio.gather(
        _over_http(system, http_posts(all_lines, all_invoices), progress, checkpoint, concurrency),
        _over_kafka(
            system.infra.kafka_bootstrap_servers,
            kafka_chunks(all_lines, all_invoices),
            progress,
            checkpoint,
        ),
    )


async def _over_http(
    system: RunningSystem,
    posts: list[Post],
    progress: Progress,
    checkpoint: Checkpoint,
    concurrency: int,
) -> None:
    queue = list(reversed(posts))

    async def send(http: httpx.AsyncClient, post: Post) -> None:
        headers = {"Authorization": f"Bearer {system.token(Role.SCHOOL, post.urn)}"}
        if post.idempotency_key is not None:
            headers["Idempotency-Key"] = post.idempotency_key
        response = await until_ok(
            lambda: http.post(
                f"{system.urls['demand']}{post.path}", json=post.body, headers=headers
            ),
            f"{post.path} for {post.urn}",
        )
        assert response.status_code in (200, 201), response.text

    async def worker(http: httpx.AsyncClient) -> None:
        while queue:
            post = queue.pop()
            await send(http, post)
            progress.sent += post.demand_lines
            await checkpoint()

    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(timeout=10, limits=limits) as http:
        await asyncio.gather(*(worker(http) for _ in range(concurrency)))


async def _over_kafka(
    bootstrap: str, chunks: list[list[Record]], progress: Progress, checkpoint: Checkpoint
) -> None:
    """Records as a finance system puts them on the ingress: keyed by trust, acknowledged by all
    replicas, a chunk sent again when the broker fails it; the producer's own retries may send
    one twice, which the ingress absorbs."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    try:
        for chunk in chunks:
            await _send_chunk(producer, chunk)
            demand = sum(1 for topic, _, _ in chunk if topic == Topics.SUBMISSIONS)
            progress.sent += demand
            await checkpoint()
            await asyncio.sleep(KAFKA_PAUSE_SECONDS)
    finally:
        await producer.stop()


async def resend_over_kafka(
    system: RunningSystem, all_lines: list[Line], all_invoices: list[Invoice]
) -> None:
    """Every record sent on the Kafka ingresses, sent again: what a finance system does after
    the embedded broker lost records it had acknowledged (the ingress skips those it has)."""
    producer = AIOKafkaProducer(
        bootstrap_servers=system.infra.kafka_bootstrap_servers, acks="all", linger_ms=5
    )
    await producer.start()
    try:
        for chunk in kafka_chunks(all_lines, all_invoices):
            await _send_chunk(producer, chunk)
    finally:
        await producer.stop()


async def _send_chunk(producer: AIOKafkaProducer, chunk: list[Record], within: float = 180) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        try:
            sending = [await producer.send(topic, value, key=key) for topic, key, value in chunk]
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

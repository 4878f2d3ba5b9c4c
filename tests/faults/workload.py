"""The fault tests' workload: 5,000 schools in 20 trusts, one electricity line each, pushed
through all three services (demand over HTTP with retries, as a finance system would), pooled,
tendered and awarded; and the figures the ledger must end with, worked out here with plain
Decimal arithmetic from DESIGN.md's formulas (not with the project's code)."""

import asyncio
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import httpx

from shared.auth import Role
from shared.launcher import RunningSystem

TRUSTS = [str(5001 + t) for t in range(20)]
SCHOOLS_PER_TRUST = 250
PENNY = Decimal("0.01")
# Pooled volume per trust is at least 250 x 10,000 = 2,500,000 kWh, so both bids' top tiers apply:
# A 0.2400 (lowest) scores 0.7 x 100 + 0.3 x 70 = 91.00;
# B 0.2450 scores 0.7 x (0.2400 / 0.2450 x 100) + 0.3 x 90 = 95.57, so B wins at p = 0.2450.
BIDS = {
    "supplier-a": {
        "quality_score": "70",
        "price_tiers": [
            {"min_quantity": "0", "unit_price": "0.3000"},
            {"min_quantity": "1000000", "unit_price": "0.2400"},
        ],
    },
    "supplier-b": {
        "quality_score": "90",
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


def lines() -> list[Line]:
    rng = random.Random(6)
    result = []
    for t, trust in enumerate(TRUSTS):
        for s in range(SCHOOLS_PER_TRUST):
            result.append(
                Line(
                    trust=trust,
                    urn=str(500001 + t * SCHOOLS_PER_TRUST + s),
                    quantity=Decimal(rng.randint(10_000, 15_000)),
                    price=Decimal("0.2500") + Decimal(rng.randint(0, 49)) / 10_000,
                    contract_end=date(2027, 4, 30) + timedelta(days=rng.randint(0, 120)),
                )
            )
    return result


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
    system: RunningSystem, all_lines: list[Line], on_progress: Any, concurrency: int = 24
) -> None:
    """Post every line; `on_progress(done)` runs after each success (faults hook in there)."""
    done = 0
    gate = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency)

    async def one(http: httpx.AsyncClient, line: Line) -> None:
        nonlocal done
        headers = {
            "Authorization": f"Bearer {system.token(Role.SCHOOL, line.urn)}",
            "Idempotency-Key": f"fault-{line.urn}",
        }
        body = {
            "school_urn": line.urn,
            "category": "electricity",
            "unit": "kWh",
            "quantity": str(line.quantity),
            "current_unit_price": str(line.price),
            "contract_end": str(line.contract_end),
            "term_months": TERM_MONTHS,
        }
        async with gate:
            response = await until_ok(
                lambda: http.post(
                    f"{system.urls['demand']}/v1/demands", json=body, headers=headers
                ),
                f"demand for {line.urn}",
            )
        assert response.status_code in (200, 201), response.text
        done += 1
        await on_progress(done)

    async with httpx.AsyncClient(timeout=10, limits=limits) as http:
        await asyncio.gather(*(one(http, line) for line in all_lines))


async def tender_and_award(system: RunningSystem) -> None:
    """One tender per trust, two bids each, awarded after the deadline."""
    closes_at = datetime.now(UTC) + timedelta(seconds=5)
    tendering = system.urls["tendering"]

    async def open_and_bid(http: httpx.AsyncClient, trust: str) -> tuple[str, str]:
        manager = {"Authorization": f"Bearer {system.token(Role.MANAGER, trust)}"}
        opened = await until_ok(
            lambda: http.post(
                f"{tendering}/v1/tenders",
                headers=manager,
                json={
                    "trust_id": trust,
                    "category": "electricity",
                    "closes_at": closes_at.isoformat(),
                },
            ),
            f"tender for {trust}",
        )
        assert opened.status_code == 201, opened.text
        tender_id = opened.json()["tender_id"]
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

    async with httpx.AsyncClient(timeout=30) as http:
        tenders = await asyncio.gather(*(open_and_bid(http, trust) for trust in TRUSTS))
        await asyncio.sleep(max(0.0, (closes_at - datetime.now(UTC)).total_seconds()) + 0.2)
        for authorization, tender_id in tenders:
            awarded = await until_ok(
                lambda i=tender_id, a=authorization: http.post(
                    f"{tendering}/v1/tenders/{i}/award", headers={"Authorization": a}
                ),
                "award",
            )
            assert awarded.status_code == 200, awarded.text

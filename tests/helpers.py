"""Small helpers for tests that talk to the running system."""

import asyncio
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import uuid4

import httpx
from aiokafka import AIOKafkaProducer

from shared.auth import Role
from shared.events import Allocation, Envelope, EventData, TenderAwarded, outgoing

if TYPE_CHECKING:
    from procure.launcher import RunningSystem

T = TypeVar("T")

# The `procure` command, as an operator runs it (from the checkout).
PROCURE = [sys.executable, "-m", "procure.cli"]

# The six savings figures of a ledger entry or a total, by the names the API answers with.
FIGURES = (
    "annual_baseline_cost",
    "annual_contract_cost",
    "annual_saving",
    "term_saving",
    "saving_pct",
    "economy_of_scale",
)


def figures(*values: str | None) -> dict[str, Any]:
    """The six savings figures by name, from their values in the order of FIGURES (None: a
    percentage of a zero baseline)."""
    return {
        name: None if value is None else Decimal(value)
        for name, value in zip(FIGURES, values, strict=True)
    }


def eventually(probe: Callable[[], T], check: Callable[[T], bool], timeout: float = 30) -> T:
    """Poll `probe` until `check` accepts its value; fail with the last value seen."""
    deadline = time.monotonic() + timeout
    value = probe()
    while not check(value):
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s; last value: {value!r}")
        time.sleep(0.1)
        value = probe()
    return value


async def until(
    probe: Callable[[], Awaitable[Any]], check: Callable[[Any], bool], seconds: float = 30
) -> Any:
    """Await `probe()` until `check` accepts its value."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        value = await probe()
        if check(value):
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {seconds} s; last value: {value!r}")
        await asyncio.sleep(0.1)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def add_person(
    system: "RunningSystem",
    email: str,
    name: str,
    role: str,
    scope: str | None = None,
    password: str | None = None,
    *,
    new: bool = False,
) -> str:
    """Adds a person's account in the web workspace as an operator does; the email address.

    One already there is accepted (a module's fixture may meet its own account again) unless
    `new` asks for a fresh one."""
    body: dict[str, str | None] = {"email": email, "name": name, "role": role, "scope": scope}
    if password:
        body["password"] = password
    added = httpx.post(
        f"{system.urls['web']}/v1/users", json=body, headers=bearer(system.token(Role.OPERATOR))
    )
    assert added.status_code in ((201,) if new else (201, 409)), added.text
    return email


def assert_field_error(response: httpx.Response, status: int, field: str, reason: str) -> None:
    """The request was refused with `status`, naming one field and why."""
    assert response.status_code == status, response.text
    assert response.json()["errors"] == [{"field": field, "reason": reason}]


def registry_csv(trust_id: str, schools: list[tuple[str, str]], **columns: Any) -> str:
    header = "URN,EstablishmentName,Trusts (code),Trusts (name),EstablishmentStatus (name)"
    rows = [f"{urn},{name},{trust_id},Trust {trust_id},Open" for urn, name in schools]
    return "\n".join([header, *rows]) + "\n"


def award_to(schools: int) -> TenderAwarded:
    """A lot's award to this many schools, with long values everywhere: the largest an
    allocation gets in practice."""
    return TenderAwarded(
        tender_id=uuid4(),
        category="electricity",
        unit="kWh",
        term_months=24,
        bid_id=uuid4(),
        supplier_id="a-supplier-with-a-rather-long-identifier",
        pooled_quantity=Decimal("123456789012.123456"),
        pooled_unit_price=Decimal("0.123456"),
        contract_start=date(2027, 4, 1),
        awarded_at=datetime(2027, 1, 15, 12, 0, tzinfo=UTC),
        allocations=[
            Allocation(
                demand_id=uuid4(),
                school_urn=str(100000 + i),
                quantity=Decimal("9876543.123456"),
                baseline_unit_price=Decimal("0.287654"),
                pooled_unit_price=Decimal("0.123456"),
                solo_unit_price=Decimal("0.234567"),
            )
            for i in range(schools)
        ],
        lot=3,
        lot_name="Cambridgeshire",
        standstill_ends=date(2027, 1, 27),
    )


def new_event(
    data: EventData,
    *,
    trust_id: str,
    correlation_id: str,
    causation_id: str | None = None,
) -> Envelope:
    """A new event as its consumers read it."""
    written = outgoing(
        data, trust_id=trust_id, correlation_id=correlation_id, causation_id=causation_id
    )
    return Envelope.model_validate_json(written.payload)


async def publish_events(
    system: "RunningSystem", topic: str, trust: str, events: list[EventData]
) -> None:
    """Publish new events for a trust, as another service would."""
    envelopes = [new_event(data, trust_id=trust, correlation_id=f"test-{trust}") for data in events]
    await publish_envelopes(system, topic, envelopes)


async def publish_envelopes(system: "RunningSystem", topic: str, events: list[Envelope]) -> None:
    """Publish these events as they are (a repeat keeps its event_id), keyed by trust."""
    producer = AIOKafkaProducer(bootstrap_servers=system.infra.kafka_bootstrap_servers)
    await producer.start()
    try:
        for envelope in events:
            await producer.send_and_wait(
                topic, envelope.model_dump_json().encode(), key=envelope.trust_id.encode()
            )
    finally:
        await producer.stop()


def bid_body(*tiers: tuple[str, str]) -> dict[str, Any]:
    """A bid as a supplier sends it: its (min_quantity, unit_price) tiers (quality is the
    buyer's score)."""
    return {"price_tiers": [{"min_quantity": m, "unit_price": p} for m, p in tiers]}


def scores_body(tender: dict[str, Any], by_supplier: Mapping[str, str]) -> dict[str, Any]:
    """The trust's quality scores of every bid of a closed tender (as its manager reads it),
    each supplier's bids scored `by_supplier[supplier]`."""
    return {
        "scores": [
            {"bid_id": b["bid_id"], "quality_score": by_supplier[b["supplier_id"]]}
            for lot in tender["lots"]
            for b in lot["bids"] or []
        ]
    }


def score_bids(
    http: httpx.Client,
    tendering: str,
    manager: dict[str, str],
    tender_id: str,
    by_supplier: Mapping[str, str],
) -> dict[str, Any]:
    """The manager records the quality scores of every bid of a closed tender; the tender."""
    tender = http.get(f"{tendering}/v1/tenders/{tender_id}", headers=manager).json()
    scored = http.post(
        f"{tendering}/v1/tenders/{tender_id}/evaluation",
        headers=manager,
        json=scores_body(tender, by_supplier),
    )
    assert scored.status_code == 200, scored.text
    result: dict[str, Any] = scored.json()
    return result


def demand_line(contract_end: str, /, **changes: Any) -> dict[str, Any]:
    """A valid electricity demand line as a school submits it; a change to `...` leaves the
    field out."""
    base: dict[str, Any] = {
        "school_urn": "100001",
        "category": "electricity",
        "quantity": "145000",
        "unit": "kWh",
        "current_unit_price": "0.2870",
        "contract_end": contract_end,
        "term_months": 24,
    }
    return {k: v for k, v in (base | changes).items() if v is not ...}


async def all_demand_lines(
    http: httpx.AsyncClient, headers: dict[str, str]
) -> list[dict[str, Any]]:
    """Every demand line the caller may see, page after page."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 500} | ({"cursor": cursor} if cursor else {})
        page = (await http.get("/v1/demands", params=params, headers=headers)).json()
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


def event_types() -> dict[str, type[EventData]]:
    """Every event type the contract defines (shared/events.py), by its name."""
    found: dict[str, type[EventData]] = {}
    waiting = list(EventData.__subclasses__())
    while waiting:
        model = waiting.pop()
        waiting += model.__subclasses__()
        if "event_type" in vars(model):
            found[model.event_type] = model
    return found


def free_base_port() -> int:
    """A free port with the one before it (the web workspace's) and the two after it free too:
    for `procure up --base-port`."""
    from procure.infra.processes import free_port, port_in_use

    for _ in range(100):
        base = free_port()
        if not any(port_in_use("127.0.0.1", base + i) for i in (-1, 1, 2)):
            return base
    raise RuntimeError("no four free ports in a row")


def tender_body(trust_id: str, category: str, closes_at: datetime, **more: Any) -> dict[str, Any]:
    """The request that opens a tender of the trust's pooled demand in a category (`more`: its
    other fields)."""
    return {"trust_id": trust_id, "category": category, "closes_at": closes_at.isoformat()} | more


def open_tender(
    http: httpx.Client,
    tendering: str,
    manager: dict[str, str],
    trust_id: str,
    category: str,
    closes_at: datetime,
    **more: Any,
) -> str:
    """Open a tender of the trust's pooled demand in a category, as its manager does (`more`:
    other fields of the request); its id."""
    body = tender_body(trust_id, category, closes_at, **more)
    opened = http.post(f"{tendering}/v1/tenders", headers=manager, json=body)
    assert opened.status_code == 201, opened.text
    tender_id: str = opened.json()["tender_id"]
    return tender_id


def start_procure_up(
    data_dir: Path, base_port: int, output: Path, env: Mapping[str, str], cwd: Path | None = None
) -> subprocess.Popen[bytes]:
    """`procure up` on a data folder, what it prints (stdout and stderr) in `output`, emptied
    first."""
    output.write_bytes(b"")
    with output.open("ab") as out:
        up = ["up", "--data-dir", str(data_dir), "--base-port", str(base_port)]
        return subprocess.Popen(
            [*PROCURE, *up], stdout=out, stderr=subprocess.STDOUT, cwd=cwd, env=env
        )


def wait_until_running(process: subprocess.Popen[bytes], output: Path) -> None:
    """Until `procure up` says it is running; fail with what it printed if it exits first or
    takes more than two minutes (it took 55 s to start on a busy machine)."""
    deadline = time.monotonic() + 120
    while "running; press Ctrl-C" not in output.read_text(errors="replace"):
        assert process.poll() is None, output.read_text(errors="replace")
        assert time.monotonic() < deadline, output.read_text(errors="replace")
        time.sleep(0.2)


def stop_procure_up(process: subprocess.Popen[bytes] | None) -> None:
    """Stop a `procure up` that still runs as Ctrl-C would (SIGTERM), and wait until it has."""
    if process is not None and process.poll() is None:
        process.send_signal(signal.SIGTERM)
        process.wait(60)

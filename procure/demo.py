"""A demo trust: 14 schools buy electricity, gas and software licences together.

Drives the running system like any client: loads the registry, posts demand, opens tenders,
bids as suppliers and awards, over HTTP; then posts a year of the schools' invoices as their
finance systems would (a CSV import for the trust's central finance system, one school's own
system on the Kafka topic `spend.submissions`), and returns the trust's savings report, what the
awards promise and what the invoices achieved.
"""

import asyncio
import csv
import io
import json
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer

from procure.launcher import RunningSystem
from shared.auth import Role
from shared.domain.dates import add_months
from shared.events import Topics
from shared.presentation import category_name, money

TRUST_ID = "9001"
TRUST_NAME = "Northern Lights Academy Trust"
TOWNS = ("Leeds", "Bradford", "Wakefield")
# Long enough for every demo bid to arrive on a busy machine (two seconds were once too few:
# a bid came after the close and the demo stopped with 409 "Tender closed").
BIDDING_WINDOW = timedelta(seconds=8)


@dataclass(frozen=True)
class DemoSchool:
    urn: str
    name: str
    phase: str
    local_authority: str
    pupils: int


def demo_schools() -> list[DemoSchool]:
    schools = []
    for i in range(14):
        phase = "Secondary" if i % 4 == 0 else "Primary"
        pupils = 900 + 40 * i if phase == "Secondary" else 180 + 25 * i
        town = TOWNS[i % 3]
        kind = "Academy" if phase == "Secondary" else "Primary Academy"
        schools.append(
            DemoSchool(f"{990001 + i}", f"{town} {chr(65 + i)} {kind}", phase, town, pupils)
        )
    return schools


def registry_csv(schools: list[DemoSchool]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "URN",
            "EstablishmentName",
            "Trusts (code)",
            "Trusts (name)",
            "PhaseOfEducation (name)",
            "Postcode",
            "LA (name)",
            "NumberOfPupils",
            "EstablishmentStatus (name)",
        ]
    )
    for s in schools:
        writer.writerow(
            [
                s.urn,
                s.name,
                TRUST_ID,
                TRUST_NAME,
                s.phase,
                "LS1 1AA",
                s.local_authority,
                s.pupils,
                "Open",
            ]
        )
    return out.getvalue()


# Per category: unit, annual quantity per pupil, baseline price range, the framework the trust
# calls off, and two suppliers' tiers.
CATEGORIES: dict[str, dict[str, Any]] = {
    "electricity": {
        "unit": "kWh",
        "per_pupil": 160,
        "baseline": ("0.2650", "0.3100"),
        "framework": "ESPO 191 Energy",
        "bids": {
            "brightgrid-energy": (
                "80",
                [("0", "0.3000"), ("200000", "0.2700"), ("1000000", "0.2350")],
            ),
            "northpower-supply": (
                "70",
                [("0", "0.2950"), ("500000", "0.2600"), ("1500000", "0.2400")],
            ),
        },
    },
    "gas": {
        "unit": "kWh",
        "per_pupil": 420,
        "baseline": ("0.0610", "0.0720"),
        "framework": "ESPO 191 Energy",
        "bids": {
            "brightgrid-energy": (
                "75",
                [("0", "0.0700"), ("1000000", "0.0590"), ("3000000", "0.0540")],
            ),
            "moorland-gas": ("85", [("0", "0.0690"), ("2000000", "0.0575")]),
        },
    },
    "software_licences": {
        "unit": "seat-year",
        "per_pupil": Decimal("0.05"),
        "baseline": ("42.00", "55.00"),
        "framework": "CCS RM6068 Technology Products",
        "bids": {
            "classware-uk": ("90", [("0", "50.00"), ("100", "44.00"), ("400", "38.50")]),
            "edusoft-direct": ("65", [("0", "47.00"), ("300", "41.00")]),
        },
    },
}

# The names the demo's bidders trade under (a bid carries its supplier's name).
SUPPLIER_NAMES = {
    "brightgrid-energy": "BrightGrid Energy Ltd",
    "northpower-supply": "Northpower Supply plc",
    "moorland-gas": "Moorland Gas Ltd",
    "classware-uk": "Classware UK Ltd",
    "edusoft-direct": "EduSoft Direct Ltd",
}


# --- the demo's people ---------------------------------------------------------------------

# One password for every demo account, printed by `procure up --demo`: for a demo only, never
# for a system that keeps real data (people there set their own through a one-time link).
DEMO_PASSWORD = "demo only pooled purchase"  # noqa: S105 (printed on purpose: a demo's)
# The trust's business manager, who runs the demo's tenders.
DEMO_MANAGER = "manager@northern-lights.example"


@dataclass(frozen=True)
class DemoAccount:
    """A person of the demo with an account on the web workspace (POST /v1/users)."""

    email: str
    name: str
    role: Role
    scope: str


def demo_accounts() -> list[DemoAccount]:
    """The trust's business manager, the two suppliers who bid on energy and on licences, and
    the trust's first school."""
    school = demo_schools()[0]
    return [
        DemoAccount(DEMO_MANAGER, "Alex Morgan", Role.MANAGER, TRUST_ID),
        DemoAccount("bids@brightgrid.example", "Priya Shah", Role.SUPPLIER, "brightgrid-energy"),
        DemoAccount("tenders@classware.example", "Tom Reid", Role.SUPPLIER, "classware-uk"),
        DemoAccount("office@leeds-a.example", "Jo Walker", Role.SCHOOL, school.urn),
    ]


def add_demo_accounts(system: RunningSystem) -> list[DemoAccount]:
    """Adds the demo's people with DEMO_PASSWORD, as an operator would; an account already
    there (a demo loaded again into a kept data folder) is left as it is."""
    people = demo_accounts()
    operator = _bearer(system.token(Role.OPERATOR))
    with httpx.Client(timeout=60) as http:
        for person in people:
            added = http.post(
                f"{system.urls['web']}/v1/users",
                json={
                    "email": person.email,
                    "name": person.name,
                    "role": str(person.role),
                    "scope": person.scope,
                    "password": DEMO_PASSWORD,
                },
                headers=operator,
            )
            if added.status_code != 409:
                _ok(added)
    return people


def demo_sign_in(people: list[DemoAccount], web_url: str) -> str:
    """Where and as whom to sign in to the demo, in a few lines."""
    width = max(len(p.email) for p in people)
    lines = [f"sign in to the web workspace at {web_url}/sign-in as one of the demo's people,"]
    lines.append(f'each with the demo-only password "{DEMO_PASSWORD}":')
    lines += [f"  {p.email.ljust(width)}  {p.name} ({p.role}, {p.scope})" for p in people]
    return "\n".join(lines)


# --- a year of invoices ------------------------------------------------------------------------

PENNY = Decimal("0.01")
DAY = timedelta(days=1)
WHOLE = Decimal(1)
# Relative use by calendar month, January first: heating in winter, the summer holidays.
SEASONS = {
    "electricity": (11, 10, 10, 8, 8, 7, 5, 4, 8, 9, 10, 10),
    "gas": (16, 14, 12, 8, 5, 3, 2, 2, 4, 8, 12, 14),
    "cleaning": (9, 9, 9, 8, 9, 8, 7, 3, 9, 9, 9, 7),
}
# Spend no joint contract covers (yet): each school buys from its own supplier at its own price.
# Per category: unit, annual quantity (a fixed part and a part per pupil), the range of unit
# prices the schools pay, the suppliers they use, and how many months an invoice covers.
UNCONTRACTED: dict[str, dict[str, Any]] = {
    "water": {
        "unit": "m3",
        "quantity": (150, "3.2"),
        "price": ("2.05", "3.45"),
        "suppliers": ("yorkshire-water",),
        "months": 3,
    },
    "cleaning": {
        "unit": "hour",
        "quantity": (600, "1.4"),
        "price": ("15.80", "21.60"),
        "suppliers": ("spotless-facilities", "acorn-cleaning", "brightclean-yorkshire"),
        "months": 1,
    },
    "waste": {
        "unit": "lift",
        "quantity": (104, "0.1"),
        "price": ("9.50", "16.80"),
        "suppliers": ("dales-waste", "northern-recycling"),
        "months": 3,
    },
}
# Off contract: one school's old electricity supplier billed its first two months (the switch
# ran late) at its out-of-contract rate; two schools topped up their licences elsewhere.
LATE_SWITCH = 5
OLD_SUPPLIER = "yorkshire-power"
OUT_OF_CONTRACT_UPLIFT = Decimal("1.12")
EXTRA_SEATS = {3: 8, 10: 12}
EXTRA_SEATS_SUPPLIER = "appstore-edu"
EXTRA_SEAT_PRICE = Decimal("54.00")
# Price variances: an energy invoice in 36, at random, billed 3-9% above the contract price;
# a licence invoice in five at last year's list price.
VARIANCE_ODDS = 36
LICENCE_LIST_UPLIFT = Decimal("2.50")
# The school whose own finance system posts on the Kafka topic (the others' invoices come in
# the trust's central finance export): it names suppliers its own way and bills energy in MWh.
KAFKA_SCHOOL = 13


def year_of_invoices(
    entries: list[dict[str, Any]], schools: list[DemoSchool]
) -> list[dict[str, str]]:
    """A year of every school's invoices, from its supply start (its ledger entries: `GET
    .../savings/ledger`): monthly for energy, one in advance for licences, quarterly or monthly
    for what no contract covers. Spend lines as `POST /v1/spend` takes them."""
    rng = random.Random(2027)
    contracts = {(e["school_urn"], e["category"]): e for e in entries}
    invoices: list[dict[str, str]] = []
    for index, school in enumerate(schools):
        year_from = date.fromisoformat(contracts[school.urn, "electricity"]["supply_start"])
        for category in CATEGORIES:
            if (school.urn, category) in contracts:
                invoices += _contract_invoices(rng, index, contracts[school.urn, category])
        for category, spec in UNCONTRACTED.items():
            invoices += _own_invoices(rng, index, school, category, spec, year_from)
    return invoices


def _contract_invoices(
    rng: random.Random, index: int, entry: dict[str, Any]
) -> Iterator[dict[str, str]]:
    urn, category, supplier = entry["school_urn"], entry["category"], entry["supplier_id"]
    start = date.fromisoformat(entry["supply_start"])
    annual, price = Decimal(entry["quantity"]), Decimal(entry["pooled_unit_price"])
    if category not in SEASONS:  # licences: one invoice, in advance, for the year
        listed = rng.randrange(5) == 0
        rate = price + LICENCE_LIST_UPLIFT if listed else price
        yield _invoice(urn, category, supplier, start, 12, annual, rate)
        if index in EXTRA_SEATS:
            top_up = add_months(start, 6)
            seats = Decimal(EXTRA_SEATS[index])
            yield _invoice(urn, category, EXTRA_SEATS_SUPPLIER, top_up, 6, seats, EXTRA_SEAT_PRICE)
        return
    use = Decimal(rng.randint(90, 105)) / 100  # this year's use against the forecast
    for month, begins, share in _months(start, 12, 1, SEASONS[category]):
        quantity = (annual * use * share).quantize(WHOLE)
        if category == "electricity" and index == LATE_SWITCH and month < 2:
            old_rate = Decimal(entry["baseline_unit_price"]) * OUT_OF_CONTRACT_UPLIFT
            yield _invoice(urn, category, OLD_SUPPLIER, begins, 1, quantity, old_rate)
            continue
        rate = price
        if rng.randrange(VARIANCE_ODDS) == 0:
            rate = price * (1 + Decimal(rng.randint(3, 9)) / 100)
        yield _invoice(urn, category, supplier, begins, 1, quantity, rate)


def _own_invoices(
    rng: random.Random,
    index: int,
    school: DemoSchool,
    category: str,
    spec: dict[str, Any],
    start: date,
) -> Iterator[dict[str, str]]:
    suppliers = spec["suppliers"]
    low, high = (Decimal(p) for p in spec["price"])
    price = (low + (high - low) * Decimal(rng.randint(0, 100)) / 100).quantize(PENNY)
    fixed, per_pupil = spec["quantity"]
    annual = fixed + Decimal(per_pupil) * school.pupils
    months = spec["months"]
    for _, begins, share in _months(start, 12, months, SEASONS.get(category)):
        quantity = (annual * share).quantize(WHOLE)
        supplier = suppliers[index % len(suppliers)]
        yield _invoice(school.urn, category, supplier, begins, months, quantity, price)


def _months(
    start: date, months: int, step: int, weights: tuple[int, ...] | None
) -> Iterator[tuple[int, date, Decimal]]:
    """Each invoice period of `step` months from `start`: its number, first day, and share of
    the year (by `weights` per calendar month, else even)."""
    every = weights or (1,) * 12
    for k in range(0, months, step):
        covered = [every[add_months(start, k + j).month - 1] for j in range(step)]
        yield k, add_months(start, k), Decimal(sum(covered)) / sum(every)


def _invoice(
    urn: str,
    category: str,
    supplier: str,
    begins: date,
    months: int,
    quantity: Decimal,
    rate: Decimal,
) -> dict[str, str]:
    initials = "".join(word[0] for word in supplier.split("-")).upper()
    return {
        "school_urn": urn,
        "category": category,
        "supplier": supplier,
        "invoice_ref": f"{initials}-{urn}-{category[:4].upper()}-{begins:%Y%m}",
        "period_start": str(begins),
        "period_end": str(add_months(begins, months) - DAY),
        "quantity": str(quantity),
        "amount": str((quantity * rate).quantize(PENNY, ROUND_HALF_UP)),
    }


def as_its_own_system(invoice: dict[str, str]) -> dict[str, str]:
    """An invoice as the Kafka school's finance system sends it: supplier ids in capitals (ids
    compare without regard to case), energy in MWh (converted exactly to kWh)."""
    sent = invoice | {"supplier": invoice["supplier"].upper()}
    if invoice["category"] in ("electricity", "gas"):
        sent |= {"quantity": str(Decimal(invoice["quantity"]) / 1000), "unit": "MWh"}
    return sent


def spend_csv(invoices: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(invoices[0]))
    writer.writeheader()
    writer.writerows(invoices)
    return out.getvalue()


async def _send_spend(system: RunningSystem, invoices: list[dict[str, str]]) -> None:
    """Records on `spend.submissions`, keyed by trust, as a finance system puts them."""
    producer = AIOKafkaProducer(
        bootstrap_servers=system.infra.kafka_bootstrap_servers,
        enable_idempotence=system.infra.kafka_enable_idempotence,
        acks="all",
    )
    await producer.start()
    try:
        for invoice in invoices:
            record = json.dumps(invoice | {"trust_id": TRUST_ID}).encode()
            await producer.send(Topics.SPEND_SUBMISSIONS, record, key=TRUST_ID.encode())
        await producer.flush()
    finally:
        await producer.stop()


def _ok(response: httpx.Response) -> Any:
    if response.status_code >= 400:
        raise RuntimeError(
            f"{response.request.method} {response.request.url}: "
            f"{response.status_code} {response.text}"
        )
    return response.json() if response.content else {}


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass(frozen=True)
class DemoReport:
    """What the demo leaves: the trust's savings report (what the awards promise), its realised
    report (what a year of invoices achieved), how many invoice lines were posted, and the
    people who can sign in to the web workspace."""

    savings: dict[str, Any]
    realised: dict[str, Any]
    invoices: int
    people: list[DemoAccount]


def run_demo(system: RunningSystem) -> DemoReport:
    """Runs the demo scenario: its people's accounts, demand, tenders and awards, then a year
    of invoices."""
    rng = random.Random(2026)
    people = add_demo_accounts(system)
    schools = demo_schools()
    demand, tendering, savings = (system.urls[s] for s in ("demand", "tendering", "savings"))
    # The demo's business manager runs its tenders: their histories name her, as they would had
    # she opened, scored and awarded them in the workspace.
    manager = _bearer(system.token(Role.MANAGER, TRUST_ID, subject=DEMO_MANAGER))
    with httpx.Client(timeout=30) as http:
        _ok(
            http.post(
                f"{demand}/v1/registry",
                content=registry_csv(schools),
                headers=_bearer(system.token(Role.OPERATOR)) | {"Content-Type": "text/csv"},
            )
        )
        expected_lines = 0
        for category, spec in CATEGORIES.items():
            low, high = (Decimal(p) for p in spec["baseline"])
            for i, school in enumerate(schools):
                if category == "gas" and i % 5 == 4:
                    continue  # some schools are all-electric
                price = low + (high - low) * Decimal(rng.randint(0, 100)) / 100
                body = {
                    "school_urn": school.urn,
                    "category": category,
                    "unit": spec["unit"],
                    "quantity": str(
                        (Decimal(spec["per_pupil"]) * school.pupils).quantize(Decimal(1))
                    ),
                    "current_unit_price": str(price.quantize(Decimal("0.0001"))),
                    "contract_end": str(date(2027, 3, 31) + timedelta(days=7 * (i % 6))),
                    "term_months": 24 if i % 3 else 36,
                }
                school_token = _bearer(system.token(Role.SCHOOL, school.urn))
                _ok(
                    http.post(
                        f"{demand}/v1/demands",
                        json=body,
                        headers=school_token | {"Idempotency-Key": f"demo-{category}-{i}"},
                    )
                )
                expected_lines += 1
        _wait(
            lambda: (
                sum(len(p["lines"]) for p in _pools(http, tendering, manager)) == expected_lines
            ),
            "tendering to pool the demand",
        )
        tenders = []
        scores: list[list[dict[str, str]]] = []
        closes_at = datetime.now(UTC) + BIDDING_WINDOW
        for category, spec in CATEGORIES.items():
            tender = _ok(
                http.post(
                    f"{tendering}/v1/tenders",
                    headers=manager,
                    json={
                        "trust_id": TRUST_ID,
                        "category": category,
                        "closes_at": closes_at.isoformat(),
                        # Schools mostly buy these as call-offs from approved frameworks: no
                        # statutory minimum tendering period (Procurement Act 2023, s.54), so
                        # the demo's bidding window can be seconds.
                        "procedure": "framework_call_off",
                        "framework": spec["framework"],
                    },
                )
            )
            tenders.append(tender["tender_id"])
            qualities = {}
            for supplier, (quality, tiers) in spec["bids"].items():
                bid = _ok(
                    http.post(
                        f"{tendering}/v1/tenders/{tender['tender_id']}/bids",
                        headers=_bearer(system.token(Role.SUPPLIER, supplier)),
                        json={
                            "price_tiers": [{"min_quantity": q, "unit_price": p} for q, p in tiers],
                            "supplier_name": SUPPLIER_NAMES[supplier],
                        },
                    )
                )
                qualities[bid["bid_id"]] = quality
            scores.append([{"bid_id": b, "quality_score": q} for b, q in qualities.items()])
        time.sleep(max(0.0, (closes_at - datetime.now(UTC)).total_seconds()) + 0.1)
        for tender_id, tender_scores in zip(tenders, scores, strict=True):
            # Quality is the trust's score, recorded once bidding has closed.
            evaluation = f"{tendering}/v1/tenders/{tender_id}/evaluation"
            _ok(http.post(evaluation, headers=manager, json={"scores": tender_scores}))
            _ok(http.post(f"{tendering}/v1/tenders/{tender_id}/award", headers=manager))
        report_url = f"{savings}/v1/trusts/{TRUST_ID}/savings"
        _wait(
            lambda: len(_ok(http.get(f"{report_url}/ledger", headers=manager))) == expected_lines,
            "savings to record every award",
        )
        report: dict[str, Any] = _ok(http.get(report_url, headers=manager))
        entries = _ok(http.get(f"{report_url}/ledger", headers=manager))
        invoices = year_of_invoices(entries, schools)
        _post_invoices(system, http, invoices, manager)
        _wait(
            lambda: (
                _ok(http.get(f"{report_url}/realised/lines?limit=1", headers=manager))["total"]
                == len(invoices)
            ),
            "savings to classify every invoice",
        )
        realised = _ok(http.get(f"{report_url}/realised", headers=manager))
        return DemoReport(report, realised, len(invoices), people)


def _post_invoices(
    system: RunningSystem,
    http: httpx.Client,
    invoices: list[dict[str, str]],
    manager: dict[str, str],
) -> None:
    """The trust's central finance export as one CSV import; the Kafka school's own system on
    the topic."""
    own_system = demo_schools()[KAFKA_SCHOOL].urn
    central = [i for i in invoices if i["school_urn"] != own_system]
    imported = _ok(
        http.post(
            f"{system.urls['demand']}/v1/spend/import",
            content=spend_csv(central),
            headers=manager | {"Content-Type": "text/csv"},
        )
    )
    if imported["refused"]:
        raise RuntimeError(f"spend import refused rows: {imported['refused_rows'][:5]}")
    own = [as_its_own_system(i) for i in invoices if i["school_urn"] == own_system]
    asyncio.run(_send_spend(system, own))


WORTH_CHASING = Decimal("1.00")


def realised_summary(
    realised: dict[str, Any], invoices: int, savings_url: str, web_url: str
) -> str:
    """The realised report in a few lines: what the invoices achieved, what to chase, what the
    trust could still save, and where to see the detail."""
    schools = realised["schools"]

    def at(figure: str, least: Decimal = PENNY) -> str:
        n = sum(1 for s in schools if Decimal(s[figure]) >= least)
        return f"{n} school{'s' if n != 1 else ''}"

    opportunity = sum((Decimal(u["opportunity"]) for u in realised["uncontracted"]), Decimal(0))
    expected, leakage = Decimal(realised["expected_saving"]), Decimal(realised["leakage"])
    uncontracted = ", ".join(category_name(u["category"]) for u in realised["uncontracted"])
    rows = [
        (
            "Realised saving",
            realised["realised_saving"],
            f"on contract, against the old prices (expected: {money(expected)})",
        ),
        (
            "Price variance to chase",
            realised["price_variance"],
            # Pence of rounding on an invoice are not worth a call: a pound or more is.
            f"billed above the contract price, at {at('price_variance', WORTH_CHASING)}"
            f" by {money(WORTH_CHASING)} or more",
        ),
        (
            "Off-contract spend",
            realised["off_contract_spend"],
            f"other suppliers, at {at('off_contract_spend')} (leakage {money(leakage)})",
        ),
        (
            "Uncontracted opportunity",
            opportunity,
            f"at the trust's lowest prices: {uncontracted}",
        ),
    ]
    width = max(len(label) for label, _, _ in rows)
    out = [
        f"Savings achieved for trust {TRUST_ID}, from a year of invoices ({invoices} lines):",
        "",
    ]
    out += [f"{label.ljust(width)}  {money(Decimal(v)):>12}   {note}" for label, v, note in rows]
    at_risk = [category_name(c["category"]) for c in realised["contracts"] if c["tier_at_risk"]]
    if at_risk:
        out.append(
            f"{'Tier at risk'.ljust(width)}  {', '.join(at_risk)}: annualised volume below the"
            " price tier's minimum"
        )
    base = f"{savings_url}/v1/trusts/{TRUST_ID}/savings"
    out += [
        "",
        f"see it at {web_url}/trusts/{TRUST_ID}/realised, signed in as the demo's manager (below),",
        f"or GET {base}/realised with a manager token; every invoice line: {base}/realised.csv",
    ]
    return "\n".join(out)


def _pools(http: httpx.Client, tendering: str, manager: dict[str, str]) -> list[dict[str, Any]]:
    pools: list[dict[str, Any]] = _ok(
        http.get(f"{tendering}/v1/trusts/{TRUST_ID}/pools", headers=manager)
    )
    return pools


def _wait(condition: Any, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise TimeoutError(f"timed out waiting for {what}")

"""A demo trust: 14 schools buy electricity, gas and software licences together.

Drives the running system over HTTP only, like any client: loads the registry, posts demand,
opens tenders, bids as suppliers, awards, and returns the trust's savings report.
"""

import csv
import io
import random
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from procure.launcher import RunningSystem
from shared.auth import Role

TRUST_ID = "9001"
TRUST_NAME = "Northern Lights Academy Trust"
TOWNS = ("Leeds", "Bradford", "Wakefield")


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


# Per category: unit, annual quantity per pupil, baseline price range, and two suppliers' tiers.
CATEGORIES: dict[str, dict[str, Any]] = {
    "electricity": {
        "unit": "kWh",
        "per_pupil": 160,
        "baseline": ("0.2650", "0.3100"),
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


def _ok(response: httpx.Response) -> Any:
    if response.status_code >= 400:
        raise RuntimeError(
            f"{response.request.method} {response.request.url}: "
            f"{response.status_code} {response.text}"
        )
    return response.json() if response.content else {}


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def run_demo(system: RunningSystem, bidding_seconds: float = 2.0) -> dict[str, Any]:
    """Runs the demo scenario and returns the trust's savings report."""
    rng = random.Random(2026)
    schools = demo_schools()
    demand, tendering, savings = (system.urls[s] for s in ("demand", "tendering", "savings"))
    manager = _bearer(system.token(Role.MANAGER, TRUST_ID))
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
        closes_at = datetime.now(UTC) + timedelta(seconds=bidding_seconds)
        for category, spec in CATEGORIES.items():
            tender = _ok(
                http.post(
                    f"{tendering}/v1/tenders",
                    headers=manager,
                    json={
                        "trust_id": TRUST_ID,
                        "category": category,
                        "closes_at": closes_at.isoformat(),
                        # Most schools buy energy as a call-off from an approved framework: no
                        # statutory minimum tendering period (Procurement Act 2023, s.54), so
                        # the demo's bidding window can be seconds.
                        "procedure": "framework_call_off",
                        "framework": "ESPO 191 Energy",
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
            lambda: (
                len(_ok(http.get(report_url, headers=manager))["categories"]) == len(CATEGORIES)
            ),
            "savings to record every award",
        )
        report: dict[str, Any] = _ok(http.get(report_url, headers=manager))
        return report


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

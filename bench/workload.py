"""The benchmarks' schools and demand: trusts of schools with 6-digit URNs, their registry CSV,
and Kafka submissions (plain JSON records on `demand.submissions`, keyed by trust).

Each benchmark has its own trusts and URN range, so figures can run in any order on one system.
"""

import json
import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class School:
    urn: str
    trust_id: str


def schools(first_trust: int, trusts: int, per_trust: int, first_urn: int) -> list[School]:
    return [
        School(urn=f"{first_urn + t * per_trust + s:06d}", trust_id=str(first_trust + t))
        for t in range(trusts)
        for s in range(per_trust)
    ]


def registry_csv(all_schools: Iterable[School]) -> str:
    rows = ["URN,EstablishmentName,Trusts (code),Trusts (name),EstablishmentStatus (name)"]
    rows += [f"{s.urn},School {s.urn},{s.trust_id},Trust {s.trust_id},Open" for s in all_schools]
    return "\n".join(rows) + "\n"


def contract_end(days_ahead: int) -> str:
    """Contracts ending within one pooling window of each other pool together."""
    return (date.today() + timedelta(days=days_ahead)).isoformat()


@dataclass(frozen=True)
class Submission:
    submission_id: str
    school: School
    quantity: Decimal  # kWh a year
    unit_price: Decimal  # GBP per kWh today
    days_ahead: int

    def body(self) -> dict[str, Any]:
        return {
            "submission_id": self.submission_id,
            "trust_id": self.school.trust_id,
            "school_urn": self.school.urn,
            "category": "electricity",
            "quantity": str(self.quantity),
            "unit": "kWh",
            "current_unit_price": str(self.unit_price),
            "contract_end": contract_end(self.days_ahead),
            "term_months": 24,
        }

    def record(self) -> tuple[bytes, bytes]:
        """(key, value) as a finance system sends it: keyed by trust."""
        return self.school.trust_id.encode(), json.dumps(self.body()).encode()


def _submission(submission_id: str, school: School, rng: random.Random) -> Submission:
    # Quantities to the Wh and prices to 4 places, so that every figure needs rounding.
    return Submission(
        submission_id=submission_id,
        school=school,
        quantity=Decimal(rng.randint(10_000_000, 150_000_000)) / 1000,
        unit_price=Decimal(rng.randint(2500, 2999)) / 10_000,
        days_ahead=rng.randint(100, 130),
    )


def submissions(run: str, among: list[School], count: int, seed: int) -> list[Submission]:
    """`count` submissions for schools drawn at random; ids `<run>-<n>` are unique per run."""
    rng = random.Random(seed)
    return [_submission(f"{run}-{n}", rng.choice(among), rng) for n in range(count)]


def one_each(run: str, among: list[School], seed: int) -> list[Submission]:
    """One submission per school."""
    rng = random.Random(seed)
    return [_submission(f"{run}-{n}", school, rng) for n, school in enumerate(among)]

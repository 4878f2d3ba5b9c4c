"""The demo that `procure up --demo` (the README's first command) runs, against the same three
service processes, broker and PostgreSQL as the other end-to-end tests."""

import httpx
import pytest

from procure.demo import CATEGORIES, SUPPLIER_NAMES, TRUST_ID, demo_schools, run_demo
from procure.launcher import RunningSystem
from shared.auth import Role

pytestmark = pytest.mark.e2e


def test_the_demo_pools_tenders_awards_and_reports_savings(system: RunningSystem) -> None:
    report = run_demo(system, bidding_seconds=1.0)

    assert {c["category"] for c in report["categories"]} == set(CATEGORIES)
    assert {s["urn"] for s in report["schools"]} == {s.urn for s in demo_schools()}
    manager = {"Authorization": f"Bearer {system.token(Role.MANAGER, TRUST_ID)}"}
    contracts = httpx.get(
        f"{system.urls['savings']}/v1/trusts/{TRUST_ID}/savings/contracts", headers=manager
    ).json()
    # Every award names its supplier as the bid gave it.
    awarded = {(c["supplier_id"], c["supplier_name"]) for c in contracts}
    assert len(contracts) == len(CATEGORIES)
    assert all(SUPPLIER_NAMES[supplier] == name for supplier, name in awarded)

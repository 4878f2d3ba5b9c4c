"""The extremes each field accepts, through demand, tendering and savings on the running system
(issue 12): every school reaches the ledger with exact figures, and a value just outside a range
is a 422 naming the field.

Lines at the largest quantity and price, a zero and the smallest baseline, the longest term, the
earliest and latest contract end, a quantity sent in MWh, two pools of several maximal lines,
bids at the highest price and at the lowest. The expected figures are worked out below with
Decimal arithmetic (the ledger formulas of docs/domain-rules.md, "Savings, per school"), not
with the services' code.
"""

from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any

import httpx
import pytest

from procure.launcher import RunningSystem
from shared.auth import Role
from tests.helpers import FIGURES, bearer, bid_body, until

pytestmark = pytest.mark.integration

TRUST = "7301"
URNS = [f"7301{i:02d}" for i in range(1, 7)]
Q_MAX = "100000000"
P_MAX = "1000000"
TODAY = datetime.now(UTC).date()


def _five_years_on(day: date) -> date:
    """The latest contract end accepted: five years from today (the 28th for 29 February)."""
    try:
        return day.replace(year=day.year + 5)
    except ValueError:
        return day.replace(year=day.year + 5, day=28)


LATEST = _five_years_on(TODAY)
EARLIEST = date(2000, 1, 1)

# (urn index, quantity, unit, baseline price, contract end); every line wants 120 months.
POOL_A = [
    (0, Q_MAX, "kWh", P_MAX, EARLIEST),  # the largest baseline cost
    (1, Q_MAX, "kWh", "0", EARLIEST),  # a zero baseline: no percentage
    (2, Q_MAX, "kWh", "0.0001", EARLIEST),  # the smallest positive baseline
    (3, "0.000001", "kWh", "0.0001", date(2000, 6, 30)),  # the smallest line
]
POOL_B = [
    (0, Q_MAX, "kWh", "0.0001", LATEST),  # against the highest price: the largest increase
    (1, Q_MAX, "kWh", P_MAX, LATEST),
    (4, "100000", "MWh", P_MAX, LATEST),  # = 100,000,000 kWh at 1,000 GBP per kWh
    (5, "0.000001", "kWh", "0", LATEST),
]
# Pool A's winning bid: 1,000,000 below 200,000,000 kWh, 0.0001 from there, up to the largest
# tier minimum; pool B's only bid: 1,000,000 flat (the highest price).
LOW_BID = [("0", P_MAX), ("200000000", "0.0001"), ("1000000000000000", "0.0001")]
HIGH_BID = [("0", P_MAX)]


def canonical(quantity: str, unit: str, price: str) -> tuple[Decimal, Decimal]:
    factor = Decimal(1000) if unit == "MWh" else Decimal(1)
    return Decimal(quantity) * factor, Decimal(price) / factor


def tier_price(tiers: list[tuple[str, str]], volume: Decimal) -> Decimal:
    return Decimal([p for m, p in tiers if Decimal(m) <= volume][-1])


def expected(
    lines: list[tuple[int, str, str, str, date]], tiers: list[tuple[str, str]]
) -> dict[str, tuple[str | None, ...]]:
    """urn -> (B, C, S, term, %, E), each worked exactly and rounded once, half up."""
    with localcontext() as ctx:
        ctx.prec = 80
        volume = sum((canonical(q, u, b)[0] for _, q, u, b, _ in lines), Decimal(0))
        pooled = tier_price(tiers, volume)
        out: dict[str, tuple[str | None, ...]] = {}
        for i, q, u, b, _ in lines:
            quantity, baseline = canonical(q, u, b)
            solo = tier_price(tiers, quantity)
            base_cost = quantity * baseline
            contract_cost = quantity * pooled
            saving = base_cost - contract_cost
            pct = None if base_cost == 0 else pence(saving / base_cost * 100)
            out[URNS[i]] = (
                pence(base_cost),
                pence(contract_cost),
                pence(saving),
                pence(saving * 120 / 12),
                pct,
                pence(quantity * (solo - pooled)),
            )
        return out


def pence(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def demand_body(urn: str, quantity: str, unit: str, price: str, end: date) -> dict[str, Any]:
    return {
        "school_urn": urn,
        "category": "electricity",
        "quantity": quantity,
        "unit": unit,
        "current_unit_price": price,
        "contract_end": end.isoformat(),
        "term_months": 120,
    }


def refused(response: httpx.Response) -> list[str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return [e["field"] for e in response.json()["errors"]]


async def test_the_extremes_reach_the_ledger_exactly(system: RunningSystem) -> None:
    manager = bearer(system.token(Role.MANAGER, TRUST))
    operator = bearer(system.token(Role.OPERATOR)) | {"Content-Type": "text/csv"}
    low_supplier = bearer(system.token(Role.SUPPLIER, "extreme-low"))
    high_supplier = bearer(system.token(Role.SUPPLIER, "extreme-high"))
    header = (
        "URN,EstablishmentName,Trusts (code),Trusts (name),EstablishmentStatus (name),"
        "NumberOfPupils\n"
    )

    def registry(pupils: list[str]) -> str:
        rows = [
            f"{u},School {u},{TRUST},Trust {TRUST},Open,{n}"
            for u, n in zip(URNS, pupils, strict=True)
        ]
        return header + "\n".join(rows) + "\n"

    async with (
        httpx.AsyncClient(base_url=system.urls["demand"], timeout=30) as demand,
        httpx.AsyncClient(base_url=system.urls["tendering"], timeout=30) as tendering,
        httpx.AsyncClient(base_url=system.urls["savings"], timeout=30) as savings,
    ):
        # The registry: pupils out of range are refused by line and column, never a 500.
        for bad, reason in (
            ("99999999999", "must be at most 100,000"),
            ("²", "not a whole number (ASCII digits 0-9)"),
        ):
            response = await demand.post(
                "/v1/registry", content=registry([bad, "1", "1", "1", "1", "1"]), headers=operator
            )
            assert response.status_code == 422, response.text
            assert response.json()["errors"] == [
                {"field": "line 2.NumberOfPupils", "reason": reason}
            ]
        loaded = await demand.post(
            "/v1/registry",
            content=registry(["0", "100000", "", "1", "1", "1"]),
            headers=operator,
        )
        assert loaded.status_code == 200, loaded.text

        # Just outside each range: a 422 naming the field.
        base = demand_body(URNS[0], Q_MAX, "kWh", P_MAX, LATEST)
        for changes, field in (
            ({"quantity": "100000000.000001"}, "body.quantity"),
            ({"quantity": "0"}, "body.quantity"),
            ({"quantity": "1E+131072"}, "body.quantity"),
            ({"quantity": "NaN"}, "body.quantity"),
            ({"quantity": "100001", "unit": "MWh"}, "body.quantity"),
            ({"current_unit_price": "1000000.0001"}, "body.current_unit_price"),
            ({"current_unit_price": "1000000000000000"}, "body.current_unit_price"),
            ({"current_unit_price": "1e30"}, "body.current_unit_price"),
            ({"current_unit_price": "-0.0001"}, "body.current_unit_price"),
            ({"current_unit_price": "Infinity"}, "body.current_unit_price"),
            ({"contract_end": "1999-12-31"}, "body.contract_end"),
            ({"contract_end": "0001-01-01"}, "body.contract_end"),
            ({"contract_end": (LATEST + timedelta(days=1)).isoformat()}, "body.contract_end"),
            ({"term_months": 121}, "body.term_months"),
            ({"term_months": 0}, "body.term_months"),
        ):
            response = await demand.post("/v1/demands", json=base | changes, headers=manager)
            assert refused(response) == [field], changes

        # The extremes themselves are accepted.
        demand_ids: dict[tuple[str, date], str] = {}
        for i, q, unit, price, end in POOL_A + POOL_B:
            response = await demand.post(
                "/v1/demands", json=demand_body(URNS[i], q, unit, price, end), headers=manager
            )
            assert response.status_code == 201, response.text
            demand_ids[(URNS[i], end)] = response.json()["demand_id"]

        # Tendering pools them: the earliest contract ends together, the latest together.
        async def pools() -> Any:
            return (await tendering.get(f"/v1/trusts/{TRUST}/pools", headers=manager)).json()

        pool_a, pool_b = await until(
            pools, lambda p: isinstance(p, list) and [len(x["lines"]) for x in p] == [4, 4]
        )
        # Pool A: 3 x 100,000,000 + 0.000001 kWh; a year: 1e14 + 0 + 10,000 + 0.0000000001;
        # x 120 / 12 = 1,000,000,000,100,000.000000001 ex VAT; VAT at 20%.
        assert pool_a["total_quantity"] == "300000000.000001"
        assert (
            pool_a["route"]["value_ex_vat"],
            pool_a["route"]["vat"],
            pool_a["route"]["value_inc_vat"],
        ) == ("1000000000100000.00", "200000000020000.00", "1200000000120000.00")
        # Pool B: 1e8 x 0.0001 + 1e8 x 1e6 + 1e8 x 1,000 + 0 = 100,100,000,010,000 a year.
        assert pool_b["total_quantity"] == "300000000.000001"
        assert pool_b["route"]["value_ex_vat"] == "1001000000100000.00"

        # Opening: weights and closing time have ranges too.
        async def open_tender(pool: dict[str, Any], **changes: Any) -> httpx.Response:
            body = {
                "trust_id": TRUST,
                "category": "electricity",
                "pool_id": pool["pool_id"],
                "closes_at": (datetime.now(UTC) + timedelta(seconds=4)).isoformat(),
                "weights": {"price": "1", "quality": "0"},
                # Regulated: a call-off from a framework may close this soon (no minimum
                # tendering period under s.54 of the Procurement Act 2023).
                "procedure": "framework_call_off",
                "framework": "YPO Energy",
            } | changes
            return await tendering.post("/v1/tenders", json=body, headers=manager)

        far = (datetime.now(UTC) + timedelta(days=400)).isoformat()
        assert refused(await open_tender(pool_a, closes_at=far)) == ["body.closes_at"]
        too_heavy = {"price": "1E+1000000", "quality": "0"}
        assert refused(await open_tender(pool_a, weights=too_heavy)) == ["body.weights.price"]
        assert refused(await open_tender(pool_a, term_months=121)) == ["body.term_months"]
        opened_a = await open_tender(pool_a)
        assert opened_a.status_code == 201, opened_a.text
        opened_b = await open_tender(pool_b)
        assert opened_b.status_code == 201, opened_b.text
        tender_a, tender_b = opened_a.json()["tender_id"], opened_b.json()["tender_id"]
        assert opened_a.json()["term_months"] == 120

        async def bid(tender_id: str, who: dict[str, str], body: dict[str, Any]) -> Any:
            return await tendering.post(f"/v1/tenders/{tender_id}/bids", json=body, headers=who)

        for tiers, field in (
            ([("0", "1E+999999")], "body.price_tiers.0.unit_price"),
            ([("0", "1000000.0001")], "body.price_tiers.0.unit_price"),
            ([("0", "0")], "body.price_tiers.0.unit_price"),
            ([("0", "NaN")], "body.price_tiers.0.unit_price"),
            ([("0", "1"), ("1000000000000001", "1")], "body.price_tiers.1.min_quantity"),
        ):
            assert refused(await bid(tender_a, low_supplier, bid_body(*tiers))) == [field]
        for tender_id, who, tiers in (
            (tender_a, low_supplier, LOW_BID),
            (tender_a, high_supplier, HIGH_BID),
            (tender_b, high_supplier, HIGH_BID),
        ):
            placed = await bid(tender_id, who, bid_body(*tiers))
            assert placed.status_code == 201, placed.text

        # Awarded at the deadline by tendering itself.
        async def tenders() -> list[Any]:
            return [
                (await tendering.get(f"/v1/tenders/{t}", headers=manager)).json()
                for t in (tender_a, tender_b)
            ]

        awarded = await until(tenders, lambda ts: all(t["status"] != "open" for t in ts))
        assert [t["status"] for t in awarded] == ["awarded", "awarded"], awarded
        # Pool A at 300,000,000.000001 kWh reached the 0.0001 tier; pool B pays 1,000,000.
        assert [(t["award"]["supplier_id"], t["award"]["pooled_unit_price"]) for t in awarded] == [
            ("extreme-low", "0.0001"),
            ("extreme-high", "1000000"),
        ]

        # Savings: every school of both contracts, to the penny.
        async def ledger() -> Any:
            url = f"/v1/trusts/{TRUST}/savings/ledger"
            return (await savings.get(url, headers=manager)).json()

        entries = await until(ledger, lambda rows: isinstance(rows, list) and len(rows) == 8)

    want_a = expected(POOL_A, LOW_BID)
    want_b = expected(POOL_B, HIGH_BID)
    got: dict[str, dict[str, tuple[Any, ...]]] = {tender_a: {}, tender_b: {}}
    for entry in entries:
        got[entry["tender_id"]][entry["school_urn"]] = tuple(entry[f] for f in FIGURES)
        assert entry["term_months"] == 120
    assert got[tender_a] == want_a
    assert got[tender_b] == want_b
    # What those figures are, in words: the largest saving and the largest cost increase fit.
    assert want_a[URNS[0]] == (
        "100000000000000.00",
        "10000.00",
        "99999999990000.00",
        "999999999900000.00",
        "100.00",
        "99999999990000.00",
    )
    assert want_b[URNS[0]][3:5] == ("-999999999900000.00", "-999999999900.00")
    assert want_a[URNS[1]][4] is None and want_b[URNS[5]][4] is None
    assert sorted(e["demand_id"] for e in entries) == sorted(demand_ids.values())


def test_a_registry_upload_that_is_not_utf8_is_a_422_naming_the_byte(
    system: RunningSystem,
) -> None:
    body = b"URN,EstablishmentName,Trusts (code),Trusts (name)\n100001,Sch" + b"\xff\n"
    response = httpx.post(
        f"{system.urls['demand']}/v1/registry",
        content=body,
        headers=bearer(system.token(Role.OPERATOR)) | {"Content-Type": "text/csv"},
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"] == [
        {"field": "body", "reason": f"not UTF-8 text (byte {len(body) - 2})"}
    ]

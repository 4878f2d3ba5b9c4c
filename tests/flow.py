"""The whole flow over HTTP only: registry -> demand -> pool -> tender -> bids -> award ->
per-school savings, against any running system (the services as processes, or the compose stack).

Every expected figure is worked out by hand in the comments below, from the formulas of
docs/domain-rules.md ("Pooling and tenders", "Bids, evaluation and award", "Savings, per school").
A trust other than 7001 runs the same flow on its own schools (`urns`), with the same figures.
"""

import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from shared.auth import Role
from tests.helpers import bearer, bid_body, eventually, open_tender, registry_csv, score_bids

# Signs a token for a role and its scope (a URN, a trust, a supplier, or None).
Token = Callable[[Role, str | None], str]

TRUST = "7001"
# urn, annual kWh, baseline GBP/kWh, contract end, term months
LINES = [
    ("700001", "100000", "0.3000", "2027-03-31", 24),
    ("700002", "250000", "0.2800", "2027-04-30", 24),
    ("700003", "50000", "0.3200", "2027-06-30", 36),
    ("700004", "20000", "0.2400", "2027-08-31", 24),
]
# Pooled volume Q = 100,000 + 250,000 + 50,000 + 20,000 = 420,000 kWh.
# Tender term: most common among the lines = 24 months.
# Estimated value ex VAT = (30,000 + 70,000 + 16,000 + 4,800) x 24/12 = 241,600.00;
# VAT 20% = 48,320.00; inc VAT 289,920.00 >= 207,720 (opened after 1 Jan 2026): regulated.
ALPHA = bid_body(("0", "0.3100"), ("150000", "0.2800"), ("300000", "0.2500"))
BETA = bid_body(("0", "0.3000"), ("300000", "0.2450"))
# The trust's moderated quality scores, recorded once bidding has closed.
QUALITY = {"alpha-energy": "80", "beta-power": "60"}
# At Q: alpha 0.2500, beta 0.2450 (lowest).
# alpha: price score 0.2450 / 0.2500 x 100 = 98; score 0.7 x 98 + 0.3 x 80 = 92.60
# beta:  price score 100;                     score 0.7 x 100 + 0.3 x 60 = 88.00  -> alpha wins.
# Per school, p = 0.2500; solo price s = alpha's price at the school's own volume:
# 700001: B = 100,000 x 0.30 = 30,000.00; C = 25,000.00; S = 5,000.00; term 10,000.00;
#         % = 5,000 / 30,000 = 16.67; s = 0.3100 -> E = 100,000 x 0.06 = 6,000.00
# 700002: B = 70,000.00; C = 62,500.00; S = 7,500.00; term 15,000.00; % = 10.71;
#         s = 0.2800 (>= 150,000) -> E = 250,000 x 0.03 = 7,500.00
# 700003: B = 16,000.00; C = 12,500.00; S = 3,500.00; term (24 months) 7,000.00; % = 21.875
#         -> 21.88 (half up); s = 0.3100 -> E = 3,000.00
# 700004: B = 4,800.00; C = 5,000.00; S = -200.00 (a cost increase); term -400.00;
#         % = -4.1666.. -> -4.17; s = 0.3100 -> E = 1,200.00
EXPECTED_SCHOOLS = {
    "700001": ("30000.00", "25000.00", "5000.00", "16.67", "6000.00"),
    "700002": ("70000.00", "62500.00", "7500.00", "10.71", "7500.00"),
    "700003": ("16000.00", "12500.00", "3500.00", "21.88", "3000.00"),
    "700004": ("4800.00", "5000.00", "-200.00", "-4.17", "1200.00"),
}
# Totals: saving 15,800.00 a year; over 24 months 31,600.00; 15,800 / 120,800 = 13.08%.


def urns(trust: str) -> dict[str, str]:
    """Trust 7001's URNs of LINES, as another trust's schools: 700001 -> 710001 for 7002."""
    shift = (int(trust) - int(TRUST)) * 10_000
    return {urn: str(int(urn) + shift) for urn, *_ in LINES}


def registry(trust: str = TRUST) -> str:
    """The trust's four schools, as a GIAS registry extract."""
    return registry_csv(trust, [(urn, f"School {urn}") for urn in urns(trust).values()])


def run_flow(
    urls: Mapping[str, str], token: Token, trust: str = TRUST, *, registry_loaded: bool = False
) -> dict[str, Any]:
    """Registry (unless loaded already), demand, tender, bids and award; the trust's savings
    report, checked to the penny."""
    demand, tendering, savings = (urls[s] for s in ("demand", "tendering", "savings"))
    manager = bearer(token(Role.MANAGER, trust))
    school = urns(trust)
    with httpx.Client(timeout=30) as http:
        if not registry_loaded:
            loaded = http.post(
                f"{demand}/v1/registry",
                content=registry(trust),
                headers=bearer(token(Role.OPERATOR, None)),
            )
            assert loaded.status_code == 200, loaded.text
            assert loaded.json()["joined"] == 4

        for urn, quantity, price, end, term in LINES:
            response = http.post(
                f"{demand}/v1/demands",
                headers=bearer(token(Role.SCHOOL, school[urn]))
                | {"Idempotency-Key": f"e2e-{school[urn]}"},
                json={
                    "school_urn": school[urn],
                    "category": "electricity",
                    "quantity": quantity,
                    "unit": "kWh",
                    "current_unit_price": price,
                    "contract_end": end,
                    "term_months": term,
                },
            )
            assert response.status_code == 201, response.text

        pools = eventually(
            lambda: http.get(f"{tendering}/v1/trusts/{trust}/pools", headers=manager).json(),
            lambda p: len(p) == 1 and len(p[0]["lines"]) == 4,
        )
        pool = pools[0]
        assert pool["total_quantity"] == "420000"
        assert pool["term_months"] == 24
        assert pool["route"]["route"] == "regulated"
        assert pool["route"]["value_ex_vat"] == "241600.00"
        assert pool["route"]["value_inc_vat"] == "289920.00"

        # The suppliers' tokens first: bidding closes 2 s after the tender opens.
        bids = [
            (bearer(token(Role.SUPPLIER, s)), bid)
            for s, bid in (("alpha-energy", ALPHA), ("beta-power", BETA))
        ]
        closes_at = datetime.now(UTC) + timedelta(seconds=2)
        # Regulated: a call-off from a framework may close this soon (no minimum tendering
        # period under s.54 of the Procurement Act 2023).
        call_off = {"procedure": "framework_call_off", "framework": "ESPO 191 Energy"}
        tender_id = open_tender(
            http, tendering, manager, trust, "electricity", closes_at, **call_off
        )
        for supplier, bid in bids:
            placed = http.post(
                f"{tendering}/v1/tenders/{tender_id}/bids", json=bid, headers=supplier
            )
            assert placed.status_code == 201, placed.text

        tender = award_after_close(http, tendering, manager, tender_id, closes_at, QUALITY)
        assert tender["award"]["supplier_id"] == "alpha-energy"
        assert tender["award"]["pooled_unit_price"] == "0.2500"
        assert [(b["supplier_id"], b["score"]) for b in tender["bids"]] == [
            ("alpha-energy", "92.60"),
            ("beta-power", "88.00"),
        ]

        report = eventually(
            lambda: http.get(f"{savings}/v1/trusts/{trust}/savings", headers=manager).json(),
            lambda r: len(r.get("schools", [])) == 4,
        )
    check_report(report, trust)
    return report


def award_after_close(
    http: httpx.Client,
    tendering: str,
    manager: dict[str, str],
    tender_id: str,
    closes_at: datetime,
    quality: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Once bidding has closed, the manager records the quality scores (`quality`, by supplier;
    none where quality does not count) and awards the tender (unless tendering's automatic award
    came first: 409); the tender as it is then."""
    time.sleep(max(0.0, (closes_at - datetime.now(UTC)).total_seconds()) + 0.2)
    if quality is not None:
        score_bids(http, tendering, manager, tender_id, quality)
    awarded = http.post(f"{tendering}/v1/tenders/{tender_id}/award", headers=manager)
    assert awarded.status_code in (200, 409), awarded.text
    tender = http.get(f"{tendering}/v1/tenders/{tender_id}", headers=manager)
    assert tender.status_code == 200, tender.text
    result: dict[str, Any] = tender.json()
    return result


def check_report(report: dict[str, Any], trust: str = TRUST) -> None:
    """The trust's savings report holds the figures worked out above, to the penny."""
    school = urns(trust)
    got = {
        s["urn"]: (
            s["annual_baseline_cost"],
            s["annual_contract_cost"],
            s["annual_saving"],
            s["saving_pct"],
            s["economy_of_scale"],
        )
        for s in report["schools"]
    }
    assert got == {school[urn]: figures for urn, figures in EXPECTED_SCHOOLS.items()}
    assert report["trust_id"] == trust
    assert report["annual_saving"] == "15800.00"
    assert report["term_saving"] == "31600.00"
    assert report["saving_pct"] == "13.08"
    assert report["categories"] == [
        {
            "category": "electricity",
            "annual_baseline_cost": "120800.00",
            "annual_saving": "15800.00",
            "term_saving": "31600.00",
            "saving_pct": "13.08",
        }
    ]

"""HTTP API of the savings service, under /v1: a trust's savings, per school and per category."""

from decimal import Decimal

from fastapi import APIRouter, Request
from pydantic import BaseModel

from shared.http import Caller, require_trust
from shared.money import Amount, percentage
from shared.service import Runtime

router = APIRouter(prefix="/v1", tags=["savings"])


class SchoolSavings(BaseModel):
    urn: str
    name: str | None
    annual_baseline_cost: Amount
    annual_contract_cost: Amount
    annual_saving: Amount
    term_saving: Amount
    saving_pct: Amount | None
    economy_of_scale: Amount


class CategorySavings(BaseModel):
    category: str
    annual_baseline_cost: Amount
    annual_saving: Amount
    term_saving: Amount
    saving_pct: Amount | None


class TrustSavings(BaseModel):
    trust_id: str
    annual_baseline_cost: Amount
    annual_contract_cost: Amount
    annual_saving: Amount
    term_saving: Amount
    saving_pct: Amount | None
    economy_of_scale: Amount
    schools: list[SchoolSavings]
    categories: list[CategorySavings]


@router.get("/trusts/{trust_id}/savings", response_model=TrustSavings)
async def trust_savings(trust_id: str, request: Request, caller: Caller) -> TrustSavings:
    """Totals are sums of ledger entries, each rounded to pence when it was recorded."""
    require_trust(caller, trust_id)
    runtime: Runtime = request.app.state.runtime
    async with runtime.pool.acquire() as conn:
        schools = await conn.fetch(
            "SELECT l.school_urn AS urn, s.name,"
            " sum(annual_baseline_cost) AS annual_baseline_cost,"
            " sum(annual_contract_cost) AS annual_contract_cost,"
            " sum(annual_saving) AS annual_saving, sum(term_saving) AS term_saving,"
            " sum(economy_of_scale) AS economy_of_scale FROM ledger_entries l"
            " LEFT JOIN schools s ON s.urn = l.school_urn WHERE l.trust_id = $1"
            " GROUP BY l.school_urn, s.name ORDER BY l.school_urn",
            trust_id,
        )
        categories = await conn.fetch(
            "SELECT category, sum(annual_baseline_cost) AS annual_baseline_cost,"
            " sum(annual_saving) AS annual_saving, sum(term_saving) AS term_saving"
            " FROM ledger_entries WHERE trust_id = $1"
            " GROUP BY category ORDER BY category",
            trust_id,
        )
    school_rows = [
        SchoolSavings(
            **dict(r), saving_pct=percentage(r["annual_saving"], r["annual_baseline_cost"])
        )
        for r in schools
    ]
    category_rows = [
        CategorySavings(
            category=r["category"],
            annual_baseline_cost=r["annual_baseline_cost"],
            annual_saving=r["annual_saving"],
            term_saving=r["term_saving"],
            saving_pct=percentage(r["annual_saving"], r["annual_baseline_cost"]),
        )
        for r in categories
    ]

    def total(field: str) -> Decimal:
        return sum((getattr(s, field) for s in school_rows), Decimal("0.00"))

    return TrustSavings(
        trust_id=trust_id,
        annual_baseline_cost=total("annual_baseline_cost"),
        annual_contract_cost=total("annual_contract_cost"),
        annual_saving=total("annual_saving"),
        term_saving=total("term_saving"),
        saving_pct=percentage(total("annual_saving"), total("annual_baseline_cost")),
        economy_of_scale=total("economy_of_scale"),
        schools=school_rows,
        categories=category_rows,
    )

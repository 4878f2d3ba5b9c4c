"""Uncontracted spend to demand, in one step (docs/domain-rules.md, "Demand from uncontracted
spend"): each school of a trust that was invoiced in a category over the last 12 months and has
no live demand line there gets one, made from its spend (services/demand/domain/spend.py) and
registered as any submission is (services/demand/submitting.py), with its events."""

from dataclasses import dataclass
from datetime import date
from uuid import UUID, uuid4

import asyncpg
from pydantic import ValidationError

from services.demand import spend_store, store
from services.demand.domain.errors import InvalidDemand
from services.demand.domain.lines import ActingFor, Refusal, in_category_unit
from services.demand.domain.spend import Invoiced, demand_from_spend
from services.demand.metrics import SUBMISSIONS
from services.demand.rules import DemandSubmission, error_reason
from services.demand.spend_rules import SpendToDemand
from services.demand.submitting import Outcome, Request, Result, count, submit_many
from shared.domain.categories import categories
from shared.domain.dates import add_months
from shared.unit_of_work import UnitOfWork

LOOK_BACK_MONTHS = 12


@dataclass(frozen=True)
class Skipped:
    school_urn: str
    reason: str


@dataclass(frozen=True)
class SpendDemandReport:
    since: date
    until: date
    created: list[asyncpg.Record]  # the demand lines registered
    skipped: list[Skipped]


async def demand_from_trust_spend(
    work: UnitOfWork, trust_id: str, request: SpendToDemand, today: date
) -> SpendDemandReport:
    """Register a demand line for each school of `trust_id` (or of `request.school_urns`) with
    spend in the category whose period overlaps the 12 months up to `today` and no demand line
    there that is open, in a tender or awarded; say why every other school was skipped."""
    conn = work.conn
    category = request.category
    known = in_category_unit(categories(), category, None, None, None)
    if isinstance(known, Refusal):
        raise InvalidDemand(f"body.{known.field}", known.reason)
    # One run per trust and category at a time: two at once would both see no live line.
    await spend_store.lock_trust_category(conn, trust_id, category)
    since = add_months(today, -LOOK_BACK_MONTHS)
    members = {r["urn"] for r in await spend_store.trust_schools(conn, trust_id)}
    wanted = sorted(members if request.school_urns is None else set(request.school_urns))
    live = await spend_store.schools_with_live_demand(conn, trust_id, category)
    spent: dict[str, list[Invoiced]] = {}
    for row in await spend_store.spend_since(conn, trust_id, category, since, today):
        spent.setdefault(row["school_urn"], []).append(
            Invoiced(
                row["period_start"],
                row["period_end"],
                row["quantity"],
                row["amount"],
                row["supplier"],
            )
        )
    skipped: list[Skipped] = []
    requests: list[Request] = []
    batch = f"spend-demand-{uuid4()}"
    actor = ActingFor(trust_id=trust_id)
    for urn in wanted:
        reason = _skip_reason(urn, members, live, spent, category, since, today)
        made = demand_from_spend(spent.get(urn, [])) if reason is None else reason
        if isinstance(made, str):
            skipped.append(Skipped(urn, made))
            continue
        try:
            submission = DemandSubmission.model_validate(
                {
                    "school_urn": urn,
                    "category": category,
                    "quantity": made.quantity,
                    "unit": known[0].unit,
                    "current_unit_price": made.current_unit_price,
                    "current_supplier": made.current_supplier,
                    "contract_end": request.contract_end,
                    "term_months": request.term_months,
                    "notes": f"from {made.invoices} spend lines,"
                    f" {made.first_day.isoformat()} to {made.last_day.isoformat()}",
                }
            )
        except ValidationError as exc:
            error = exc.errors()[0]
            skipped.append(Skipped(urn, f"{error['loc'][0]}: {error_reason(error['msg'])}"))
            continue
        requests.append(Request(submission, actor, None, f"{batch}#{urn}"))
    results = await submit_many(work, requests)
    count("spend", results, SUBMISSIONS)
    created: list[UUID] = []
    for request_, result in zip(requests, results, strict=True):
        urn = request_.submission.school_urn
        if isinstance(result, Refusal):
            skipped.append(Skipped(urn, f"{result.field}: {result.reason}"))
        else:
            assert isinstance(result, Outcome) and result.result is Result.CREATED
            created.append(result.line_id)
    lines = await store.demands_by_id(conn, created)
    skipped.sort(key=lambda s: s.school_urn)
    return SpendDemandReport(since, today, [lines[i] for i in created], skipped)


def _skip_reason(
    urn: str,
    members: set[str],
    live: dict[str, str],
    spent: dict[str, list[Invoiced]],
    category: str,
    since: date,
    today: date,
) -> str | None:
    if urn not in members:
        return "not a school of this trust"
    if urn in live:
        return f"has a demand line in {category} that is {live[urn]}"
    if urn not in spent:
        return f"no spend in {category} from {since.isoformat()} to {today.isoformat()}"
    return None

"""When a tender may be awarded or cancelled, and what an award decides beyond the ranking
(docs/domain-rules.md, "Bids, evaluation and award" and "Supply start, per school")."""

from collections.abc import Sequence
from datetime import date, datetime
from uuid import UUID

from services.tendering.domain.errors import BidsSealed, TenderNotOpen, TenderWasCancelled
from services.tendering.domain.lots import Status
from services.tendering.domain.route import Route
from services.tendering.domain.standstill import WorkingCalendar, standstill_end


def to_be_evaluated(tender_id: UUID, status: str, closes_at: datetime, now: datetime) -> bool:
    """Whether an award evaluates the tender now: an open tender at or after its deadline is;
    a decided one is left as it is (False); a cancelled one, or one still taking bids, is
    refused (bids are sealed until the deadline)."""
    if status == Status.CANCELLED:
        raise TenderWasCancelled(tender_id)
    if status != Status.OPEN:
        return False
    if now < closes_at:
        raise BidsSealed(tender_id, closes_at)
    return True


def standstill_for(route: str, awarded_on: date, calendar: WorkingCalendar) -> date | None:
    """Regulated awards wait 8 working days before the contract may be entered into; others
    have no standstill."""
    if route == Route.REGULATED:
        return standstill_end(awarded_on, calendar)
    return None


def no_bids_reason(unbid_lots: Sequence[int], with_lots: bool) -> str:
    """Why lines were released at the deadline (the tender.cancelled event's reason)."""
    which = f" for lot {', '.join(map(str, unbid_lots))}" if with_lots else ""
    return f"no bids were received by the deadline{which}; the lines are open again"


def check_cancellable(tender_id: UUID, status: str) -> None:
    """Only an open tender may be cancelled."""
    if status != Status.OPEN:
        raise TenderNotOpen(tender_id, status)

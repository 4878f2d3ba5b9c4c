"""Procedures and minimum tendering periods (Procurement Act 2023, s.54; docs/domain-rules.md,
"Procedures and tender periods").

On the regulated route the manager chooses the procedure; the period from opening to
`closes_at` must be at least the minimum the Act sets for it. The figures are the Act's
s.54(4) table for tendering periods (tenders submitted electronically, tender documents
provided with the tender notice, as here):

- open procedure and the first round of a competitive flexible procedure: 25 days;
- 10 days where a qualifying planned procurement notice was published, or where the authority
  considers the period impractical because of urgency;
- a light-touch contract: no minimum.

A call-off from a framework is not a competitive tendering procedure under s.54, so it has no
statutory minimum; nor do the below-threshold routes, where the trust's own rule applies (a
setting, default none).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from services.tendering.domain.errors import InvalidProcedure, TenderPeriodTooShort
from services.tendering.domain.route import Route

ACT = "Procurement Act 2023, s.54"
TRUST_RULE = "the trust's own rule for below-threshold procurement"
STANDARD_DAYS = 25  # s.54(4): tenders submitted electronically, documents with the notice
SHORTENED_DAYS = 10  # s.54(4): qualifying planned procurement notice, or urgency


class Procedure(StrEnum):
    """How the contract is procured (docs/domain-rules.md, "Procedures and tender periods")."""

    OPEN = "open"
    COMPETITIVE_FLEXIBLE = "competitive_flexible"
    FRAMEWORK_CALL_OFF = "framework_call_off"


@dataclass(frozen=True)
class ProcedureChoice:
    """What the manager says about the procedure when opening a tender; kept on the tender."""

    procedure: Procedure = Procedure.OPEN
    framework: str | None = None
    planned_procurement_notice: bool = False
    urgency_reason: str | None = None


@dataclass(frozen=True)
class MinimumPeriod:
    days: int
    basis: str


def check_choice(choice: ProcedureChoice) -> None:
    """A call-off names its framework; no other procedure names one."""
    if choice.procedure is Procedure.FRAMEWORK_CALL_OFF and not choice.framework:
        raise InvalidProcedure("framework", "required for a framework_call_off")
    if choice.procedure is not Procedure.FRAMEWORK_CALL_OFF and choice.framework:
        raise InvalidProcedure("framework", "only for a framework_call_off")


@dataclass(frozen=True)
class PeriodTerms:
    """What sets a tender's minimum period: its route, whether its category is light touch, the
    procedure chosen, and the trust's own minimum off the regulated route (None: none)."""

    route: Route
    light_touch: bool
    choice: ProcedureChoice
    below_threshold_days: int | None = None

    def minimum(self) -> MinimumPeriod | None:
        """The shortest tendering period allowed, and its basis; None: no minimum."""
        if self.route is not Route.REGULATED:
            days = self.below_threshold_days
            return None if days is None else MinimumPeriod(days, TRUST_RULE)
        if self.light_touch or self.choice.procedure is Procedure.FRAMEWORK_CALL_OFF:
            return None
        if self.choice.planned_procurement_notice or self.choice.urgency_reason:
            return MinimumPeriod(SHORTENED_DAYS, ACT)
        return MinimumPeriod(STANDARD_DAYS, ACT)


def earliest_close(terms: PeriodTerms, opened_at: datetime) -> datetime:
    """The earliest `closes_at` the minimum period allows (`opened_at` itself where none)."""
    minimum = terms.minimum()
    return opened_at if minimum is None else opened_at + timedelta(days=minimum.days)


def check_tender_period(terms: PeriodTerms, opened_at: datetime, closes_at: datetime) -> None:
    """Refuse a tender whose bidding period is shorter than its minimum."""
    minimum = terms.minimum()
    earliest = earliest_close(terms, opened_at)
    if minimum is not None and closes_at < earliest:
        raise TenderPeriodTooShort(minimum.days, minimum.basis, earliest)

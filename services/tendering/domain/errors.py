"""Tendering's refusals, in the domain's words. Each is one of the shared kinds (not found,
conflict, invalid), which the edge translates once into problem details (shared/http.py); the
titles, details and extra fields below are what a client reads (docs/http-api.md)."""

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from shared.domain.errors import Conflict, Invalid, NotFound


class TenderNotFound(NotFound):
    """No such tender, or not one the caller's trust may see (the two are not told apart)."""

    def __init__(self, tender_id: UUID, trust_id: str | None = None, *, token: bool = False):
        if token:
            detail = f"no tender {tender_id} for this token"
        elif trust_id is None:
            detail = f"no tender {tender_id}"
        else:
            detail = f"no tender {tender_id} in trust {trust_id}"
        super().__init__(detail)


class _FieldInvalid(Invalid):
    """One field sent breaks a rule: which, and why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__("", errors=[(field, reason)])


class PoolNotFound(NotFound):
    title = "Unknown pool"

    def __init__(self) -> None:
        super().__init__("", errors=[("pool_id", "no such open pool")])


class UnknownCategory(Invalid):
    title = "Unknown category"

    def __init__(self) -> None:
        super().__init__("", errors=[("category", "not a category")])


class InvalidClosingTime(Invalid):
    title = "Invalid closing time"

    def __init__(self) -> None:
        super().__init__("", errors=[("closes_at", "must be in the future")])


class InvalidWeights(Invalid):
    title = "Invalid weights"

    def __init__(self, reason: str) -> None:
        super().__init__("", errors=[("weights", reason)])


class NoOpenDemand(Conflict):
    title = "No open demand"

    def __init__(self, trust_id: str, category: str) -> None:
        super().__init__(f"trust {trust_id} has no open {category} demand")


class WouldSplitRequirement(Conflict):
    """docs/domain-rules.md, "Pooling and tenders": lines within the pooling window of an open
    tender's lines are one requirement with them, whose value is the trust-wide sum."""

    title = "Would split a requirement"

    def __init__(self, pool_id: str, window_months: int, conflicts: Sequence[str]) -> None:
        super().__init__(
            f"lines of pool {pool_id} end within {window_months} months of the lines of open"
            f" tender {', '.join(conflicts)}: they are one requirement, whose value must be the"
            " trust-wide sum. Cancel that tender and open one for the whole pool, or wait until"
            " it is awarded.",
            errors=[("pool_id", "would split a requirement already being tendered")],
            conflicting_tenders=list(conflicts),
        )


class RegistryNotUpToDate(Conflict):
    """Lots need every pooled school's registry entry; registry and demand events travel on
    different topics, so demand can arrive first (docs/domain-rules.md, "Pooling and tenders")."""

    title = "Registry not up to date"

    def __init__(self, unknown_schools: Sequence[str], lots_by: str) -> None:
        super().__init__(
            f"the registry entries of school(s) {', '.join(unknown_schools)} have not reached"
            f" tendering yet, so their {lots_by} is unknown; try again shortly",
            errors=[("lots_by", "some pooled schools are not in the registry yet")],
            unknown_schools=list(unknown_schools),
        )


class PoolChanged(Conflict):
    """A line of the pool was withdrawn or taken while the tender was being opened."""

    title = "Pool changed"

    def __init__(self, pool_id: str) -> None:
        super().__init__(
            f"the lines of pool {pool_id} changed while the tender was being opened (a line was"
            " withdrawn or tendered meanwhile); list the pools again and retry"
        )


class BiddingClosed(Conflict):
    """Bids are taken until the deadline, and only while the tender is open."""

    title = "Tender closed"

    def __init__(self, tender_id: UUID) -> None:
        super().__init__(f"tender {tender_id} no longer takes bids")


class LotRequired(Invalid):
    title = "Lot required"

    def __init__(self, lots: int) -> None:
        super().__init__("", errors=[("lot", f"this tender has lots 1 to {lots}")])


class UnknownLot(Invalid):
    title = "Unknown lot"

    def __init__(self, lots: int) -> None:
        super().__init__("", errors=[("lot", f"this tender has lots 1 to {lots}")])


class InvalidPriceTiers(_FieldInvalid):
    """The bid's price tiers break a rule of domain/pricing.py."""

    title = "Invalid price tiers"


class BidsSealed(Conflict):
    """Bids are sealed until the deadline: a tender is not evaluated while it still takes bids."""

    title = "Still open for bids"

    def __init__(self, tender_id: UUID, closes_at: datetime) -> None:
        super().__init__(f"tender {tender_id} closes at {closes_at}")


class TenderWasCancelled(Conflict):
    title = "Cancelled"

    def __init__(self, tender_id: UUID) -> None:
        super().__init__(f"tender {tender_id} was cancelled")


class TenderNotOpen(Conflict):
    title = "Not open"

    def __init__(self, tender_id: UUID, status: str) -> None:
        super().__init__(f"tender {tender_id} is {status}: there is nothing to cancel")


class InvalidQualityScores(Invalid):
    title = "Invalid quality scores"

    def __init__(self, errors: Sequence[tuple[str, str]]) -> None:
        super().__init__("", errors=errors)


class LotDecided(Conflict):
    """Quality scores may be revised until the award, not after."""

    title = "Already decided"

    def __init__(self, tender_id: UUID, bid_ids: Sequence[str]) -> None:
        super().__init__(
            f"the lot of bid(s) {', '.join(bid_ids)} of tender {tender_id} is already decided:"
            " its quality scores can no longer change",
            bids=list(bid_ids),
        )


class QualityScoresMissing(Conflict):
    """Quality is the buyer's score: the award waits for every bid's (docs/domain-rules.md,
    "Bids, evaluation and award")."""

    title = "Quality scores missing"

    def __init__(self, tender_id: UUID, bid_ids: Sequence[str]) -> None:
        super().__init__(
            f"tender {tender_id} cannot be awarded before every bid has its quality score;"
            f" record them (POST /v1/tenders/{tender_id}/evaluation) for bid(s)"
            f" {', '.join(bid_ids)}",
            unscored_bids=list(bid_ids),
        )


class InvalidProcedure(_FieldInvalid):
    title = "Invalid procedure"


class TenderPeriodTooShort(Invalid):
    """docs/domain-rules.md, "Procedures and tender periods" (Procurement Act 2023, s.54)."""

    title = "Tendering period too short"

    def __init__(self, days: int, basis: str, earliest: datetime) -> None:
        super().__init__(
            f"the tendering period must be at least {days} days ({basis}): close at"
            f" {earliest.isoformat()} or later",
            errors=[("closes_at", f"at least {days} days after opening ({basis})")],
            minimum_days=days,
            legal_basis=basis,
            earliest_closes_at=earliest.isoformat(),
        )


class BidNotFound(NotFound):
    """No such bid on the tender, or not one the caller may see (the two are not told apart)."""

    def __init__(self, tender_id: UUID, bid_id: UUID) -> None:
        super().__init__(f"no bid {bid_id} on tender {tender_id} for this token")


class NotYetAwarded(Conflict):
    """Assessment summaries are given with the award (Procurement Act 2023, s.50)."""

    title = "Not yet awarded"

    def __init__(self) -> None:
        super().__init__("the bid's lot has not been awarded: its assessment comes with the award")

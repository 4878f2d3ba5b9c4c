"""Event contracts: the envelope of DESIGN.md section 4 and one data model per event type.

Every event is JSON, keyed by trust_id. Consumers ignore unknown fields; a breaking change bumps
`event_version` and `upcast` brings older versions up to date before a handler sees them.
"""

from datetime import UTC, date, datetime
from typing import Any, ClassVar, TypeVar
from uuid import UUID, uuid4

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared.money import Amount


class Topics:
    SUBMISSIONS = "demand.submissions"
    REGISTRY = "procurement.registry"
    DEMAND = "procurement.demand"
    TENDERS = "procurement.tenders"
    SAVINGS = "procurement.savings"

    @staticmethod
    def dead_letters(topic: str) -> str:
        return f"{topic}.dlq"

    @classmethod
    def all(cls) -> list[str]:
        main = [cls.SUBMISSIONS, cls.REGISTRY, cls.DEMAND, cls.TENDERS, cls.SAVINGS]
        return main + [cls.dead_letters(t) for t in main]


class Envelope(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    event_id: UUID
    event_type: str
    event_version: int = Field(ge=1)
    occurred_at: AwareDatetime
    trust_id: str
    correlation_id: str
    causation_id: str | None = None
    data: dict[str, Any]

    @property
    def key(self) -> bytes:
        return self.trust_id.encode()


class EventData(BaseModel):
    """Base of every event's `data`: the type and version it is published as."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    event_type: ClassVar[str]
    event_version: ClassVar[int] = 1


Data = TypeVar("Data", bound=EventData)


def new_event(
    data: EventData,
    *,
    trust_id: str,
    correlation_id: str,
    causation_id: str | None = None,
) -> Envelope:
    return Envelope(
        event_id=uuid4(),
        event_type=data.event_type,
        event_version=data.event_version,
        occurred_at=datetime.now(UTC),
        trust_id=trust_id,
        correlation_id=correlation_id,
        causation_id=causation_id,
        data=data.model_dump(mode="json"),
    )


def read_data(envelope: Envelope, model: type[Data]) -> Data:
    """The envelope's data as `model`, upcast first if it was written by an older version."""
    return model.model_validate(upcast(envelope).data)


def upcast(envelope: Envelope) -> Envelope:
    # No event type has had a breaking change yet; each one adds a step here keyed by
    # (event_type, old_version) that rewrites `data` and bumps `event_version`.
    return envelope


# --- registry ---------------------------------------------------------------------------------


class SchoolJoined(EventData):
    event_type: ClassVar[str] = "registry.school_joined"
    urn: str
    name: str
    trust_name: str
    phase: str | None = None
    postcode: str | None = None
    local_authority: str | None = None
    pupils: int | None = None
    status: str


class SchoolLeft(EventData):
    event_type: ClassVar[str] = "registry.school_left"
    urn: str
    reason: str


# --- demand -----------------------------------------------------------------------------------


class DemandLine(EventData):
    """The full state of a demand line: carried by registered and amended alike."""

    demand_id: UUID
    school_urn: str
    category: str
    unit: str
    quantity: Amount
    current_unit_price: Amount
    current_supplier: str | None = None
    contract_end: date
    term_months: int
    notes: str | None = None


class DemandRegistered(DemandLine):
    event_type: ClassVar[str] = "demand.registered"


class DemandAmended(DemandLine):
    event_type: ClassVar[str] = "demand.amended"


class DemandWithdrawn(EventData):
    event_type: ClassVar[str] = "demand.withdrawn"
    demand_id: UUID
    school_urn: str
    category: str
    # Why: given by the school or trust, or "school moved to trust ...", "school closed".
    reason: str | None = None


# --- tenders ----------------------------------------------------------------------------------


class TenderOpened(EventData):
    event_type: ClassVar[str] = "tender.opened"
    tender_id: UUID
    pool_id: str
    category: str
    unit: str
    term_months: int
    closes_at: AwareDatetime
    route: str
    estimated_value: Amount
    demand_ids: list[UUID]


class BidReceived(EventData):
    event_type: ClassVar[str] = "tender.bid_received"
    tender_id: UUID
    bid_id: UUID
    supplier_id: str
    received_at: AwareDatetime


class Allocation(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    demand_id: UUID
    school_urn: str
    quantity: Amount
    baseline_unit_price: Amount
    pooled_unit_price: Amount
    solo_unit_price: Amount


class TenderAwarded(EventData):
    event_type: ClassVar[str] = "tender.awarded"
    tender_id: UUID
    category: str
    unit: str
    term_months: int
    bid_id: UUID
    supplier_id: str
    pooled_quantity: Amount
    pooled_unit_price: Amount
    contract_start: date
    awarded_at: AwareDatetime
    allocations: list[Allocation]
    # A tender split into lots is awarded lot by lot, one event each; None: no lots.
    lot: int | None = None
    lot_name: str | None = None
    # Regulated awards: the last day of the mandatory standstill period.
    standstill_ends: date | None = None


class TenderCancelled(EventData):
    event_type: ClassVar[str] = "tender.cancelled"
    tender_id: UUID
    demand_ids: list[UUID]
    reason: str


# --- savings ----------------------------------------------------------------------------------


class SavingsRecorded(EventData):
    event_type: ClassVar[str] = "savings.recorded"
    tender_id: UUID
    category: str
    schools: int
    annual_saving: Amount
    term_saving: Amount
    rule_version: str


EVENT_TYPES: dict[str, type[EventData]] = {
    model.event_type: model
    for model in (
        SchoolJoined,
        SchoolLeft,
        DemandRegistered,
        DemandAmended,
        DemandWithdrawn,
        TenderOpened,
        BidReceived,
        TenderAwarded,
        TenderCancelled,
        SavingsRecorded,
    )
}

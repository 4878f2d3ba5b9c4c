"""Event contracts: the envelope and one data model per event type (docs/events.md).

Every event is JSON, keyed by trust_id. Consumers ignore unknown fields; a breaking change bumps
`event_version` and `upcast` brings older versions up to date before a handler sees them.
"""

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any, ClassVar, NamedTuple, TypeVar
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, SerializeAsAny

from shared.ids import new_id
from shared.money import Amount


class Topics:
    SUBMISSIONS = "demand.submissions"
    REGISTRY = "procurement.registry"
    DEMAND = "procurement.demand"
    TENDERS = "procurement.tenders"
    SAVINGS = "procurement.savings"
    # What schools were actually invoiced: finance systems' records in, demand's events out.
    SPEND_SUBMISSIONS = "spend.submissions"
    SPEND = "procurement.spend"
    # Revoked bearer tokens: every service reads it (shared/revocations.py).
    ACCESS = "procurement.access"

    @staticmethod
    def dead_letters(topic: str) -> str:
        return f"{topic}.dlq"

    @classmethod
    def all(cls) -> list[str]:
        main = [
            cls.SUBMISSIONS,
            cls.SPEND_SUBMISSIONS,
            cls.REGISTRY,
            cls.DEMAND,
            cls.SPEND,
            cls.TENDERS,
            cls.SAVINGS,
            cls.ACCESS,
        ]
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


class Outgoing(NamedTuple):
    """An event as the outbox stores it: its id, its key (the trust) and its JSON."""

    event_id: UUID
    key: bytes
    payload: bytes

    @classmethod
    def of(cls, envelope: Envelope) -> "Outgoing":
        return cls(envelope.event_id, envelope.key, envelope.model_dump_json().encode())


class _Written(Envelope):
    # Serialised from the data model itself, in one pass: no dict of its fields in between.
    data: SerializeAsAny[EventData]  # type: ignore[assignment]


def outgoing(
    data: EventData,
    *,
    trust_id: str,
    correlation_id: str,
    causation_id: str | None = None,
    event_id: UUID | None = None,
) -> Outgoing:
    """A new event for the outbox (a fresh id unless given). The ingress makes one per line."""
    event = _Written.model_validate(
        {
            "event_id": event_id or new_id(),
            "event_type": data.event_type,
            "event_version": data.event_version,
            "occurred_at": datetime.now(UTC),
            "trust_id": trust_id,
            "correlation_id": correlation_id,
            "causation_id": causation_id,
            "data": data,
        }
    )
    return Outgoing(event.event_id, event.key, event.model_dump_json().encode())


def read_data(envelope: Envelope, model: type[Data]) -> Data:
    """The envelope's data as `model`, upcast first if it was written by an older version."""
    return model.model_validate(upcast(envelope).data)


def _whole(data: dict[str, Any]) -> dict[str, Any]:
    # Before version 2 an award (and its savings.recorded) was always one event.
    return {"part": 1, "parts": 1} | data


# (event_type, version) -> the step that rewrites `data` as the next version has it.
UPCASTS: dict[tuple[str, int], Callable[[dict[str, Any]], dict[str, Any]]] = {
    ("tender.awarded", 1): _whole,
    ("savings.recorded", 1): _whole,
}


def upcast(envelope: Envelope) -> Envelope:
    """The envelope as the current version of its event type, one step per breaking change."""
    while step := UPCASTS.get((envelope.event_type, envelope.event_version)):
        envelope = envelope.model_copy(
            update={"data": step(envelope.data), "event_version": envelope.event_version + 1}
        )
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
    # The procedure (docs/domain-rules.md, "Procedures and tender periods"); absent from
    # events written before procedures were recorded, which were open procedures.
    procedure: str | None = None
    framework: str | None = None


class BidReceived(EventData):
    event_type: ClassVar[str] = "tender.bid_received"
    tender_id: UUID
    bid_id: UUID
    supplier_id: str
    received_at: AwareDatetime
    # The bidder's name as it gave it with the bid; None in events written before names.
    supplier_name: str | None = None


class BidScored(EventData):
    """The buyer's quality score of a bid (0 to 100), recorded after the deadline and revisable
    until the bid's lot is decided: the last one for a bid counts."""

    event_type: ClassVar[str] = "tender.bid_scored"
    tender_id: UUID
    bid_id: UUID
    quality_score: Amount
    comment: str | None = None
    scored_at: AwareDatetime


class Allocation(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    demand_id: UUID
    school_urn: str
    quantity: Amount
    baseline_unit_price: Amount
    pooled_unit_price: Amount
    solo_unit_price: Amount
    # The school's own current contract end; None in events sent before it was added (savings
    # then takes the award's contract_start, the lot's earliest contract end).
    contract_end: date | None = None


class TenderAwarded(EventData):
    """One lot's award. A lot with more lines than ALLOCATIONS_PER_EVENT is sent as `parts`
    events (version 2), each with the same award fields and its own slice of allocations, so no
    event outgrows Kafka's default 1 MB message limit however many schools a tender has."""

    event_type: ClassVar[str] = "tender.awarded"
    event_version: ClassVar[int] = 2
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
    # The winning bidder's name, and the minimum quantity of the price tier that set the pooled
    # price (realised savings flag the contract "tier at risk" below it); None in older events.
    supplier_name: str | None = None
    tier_minimum: Amount | None = None
    # This event's place among the award's events (1-based) and how many there are.
    part: int = Field(default=1, ge=1)
    parts: int = Field(default=1, ge=1)


# An allocation is about 180 bytes of JSON: a part stays near 180 KB.
ALLOCATIONS_PER_EVENT = 1_000


def award_parts(award: TenderAwarded) -> list[TenderAwarded]:
    """The award as the events it is sent as: slices of at most ALLOCATIONS_PER_EVENT allocations
    in order, numbered from 1 (most awards are one event, part 1 of 1)."""
    allocations = award.allocations
    starts = range(0, max(len(allocations), 1), ALLOCATIONS_PER_EVENT)
    return [
        award.model_copy(
            update={
                "allocations": allocations[start : start + ALLOCATIONS_PER_EVENT],
                "part": part,
                "parts": len(starts),
            }
        )
        for part, start in enumerate(starts, start=1)
    ]


class TenderCancelled(EventData):
    event_type: ClassVar[str] = "tender.cancelled"
    tender_id: UUID
    demand_ids: list[UUID]
    reason: str


# --- spend -----------------------------------------------------------------------------------


class SpendRecorded(EventData):
    """One invoice line a school was billed (docs/domain-rules.md, "Savings achieved"): the
    quantity in the category's canonical unit, the amount in pounds ex VAT to the penny."""

    event_type: ClassVar[str] = "spend.recorded"
    spend_id: UUID
    school_urn: str
    category: str
    unit: str
    supplier: str
    invoice_ref: str
    period_start: date
    period_end: date
    quantity: Amount
    amount: Amount


# --- savings ----------------------------------------------------------------------------------


class SavingsRecorded(EventData):
    """The ledger entries of one `tender.awarded` event: an award sent in parts is recorded,
    and announced, part by part (version 2); its figures are that part's."""

    event_type: ClassVar[str] = "savings.recorded"
    event_version: ClassVar[int] = 2
    tender_id: UUID
    category: str
    schools: int
    annual_saving: Amount
    term_saving: Amount
    rule_version: str
    part: int = Field(default=1, ge=1)
    parts: int = Field(default=1, ge=1)


# --- access -----------------------------------------------------------------------------------


class TokenRevoked(EventData):
    """An operator revoked a bearer token: every service refuses it from now on. Not a trust's
    event: its envelope's `trust_id` is empty."""

    event_type: ClassVar[str] = "token.revoked"
    token_id: str = Field(pattern=r"^[0-9a-f]{32}$")
    reason: str | None = None


# --- topics and their events ------------------------------------------------------------------

# The event types each topic carries (docs/events.md); shared/asyncapi.py documents them.
TOPIC_EVENTS: dict[str, tuple[type[EventData], ...]] = {
    Topics.REGISTRY: (SchoolJoined, SchoolLeft),
    Topics.DEMAND: (DemandRegistered, DemandAmended, DemandWithdrawn),
    Topics.TENDERS: (TenderOpened, BidReceived, TenderAwarded, TenderCancelled),
    Topics.SPEND: (SpendRecorded,),
    Topics.SAVINGS: (SavingsRecorded,),
    Topics.ACCESS: (TokenRevoked,),
}

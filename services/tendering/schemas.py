"""The tendering API's request and response bodies (docs/http-api.md): what a client sends is
checked here, field by field, before any handler runs; what it reads back is described here."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints
from pydantic_core import PydanticCustomError

from services.tendering.domain.lots import LotsBy
from services.tendering.domain.procedure import Procedure, ProcedureChoice
from services.tendering.domain.route import RouteDecision
from shared.bounds import BID_PRICE, QUALITY, TIER_QUANTITY, WEIGHT
from shared.domain.ranges import MAX_CLOSING_DAYS_AHEAD, TERM_MONTHS_MAX, TERM_MONTHS_MIN
from shared.money import NOT_FLOAT, Amount


class RouteOut(BaseModel):
    route: str
    value_ex_vat: Amount
    vat: Amount
    value_inc_vat: Amount
    threshold: Amount
    threshold_name: str
    reason: str

    @classmethod
    def of(cls, decision: RouteDecision) -> "RouteOut":
        return cls(
            route=str(decision.route),
            value_ex_vat=decision.value_ex_vat,
            vat=decision.vat,
            value_inc_vat=decision.value_inc_vat,
            threshold=decision.threshold,
            threshold_name=decision.threshold_name,
            reason=decision.reason,
        )


class PoolLineOut(BaseModel):
    demand_id: UUID
    school_urn: str
    quantity: Amount
    baseline_unit_price: Amount
    contract_end: date


class PoolOut(BaseModel):
    pool_id: str
    trust_id: str
    category: str
    schools: list[str]
    total_quantity: Amount
    earliest_end: date
    latest_end: date
    term_months: int
    route: RouteOut = Field(description="estimated value over the term and the legal route")
    conflicting_tenders: list[UUID] = Field(
        description="open tenders whose requirement these lines belong to: opening this pool"
        " would split it, so it is refused until they are awarded or cancelled"
    )
    lines: list[PoolLineOut]


class WeightsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    price: Annotated[Decimal, WEIGHT, NOT_FLOAT, Field(description=f"price weight: {WEIGHT.text}")]
    quality: Annotated[
        Decimal, WEIGHT, NOT_FLOAT, Field(description=f"quality weight: {WEIGHT.text}")
    ]


_TEXT = r"^[^\x00-\x1f\x7f]*$"


def _not_too_far(closes_at: datetime) -> datetime:
    if closes_at > datetime.now(UTC) + timedelta(days=MAX_CLOSING_DAYS_AHEAD):
        reason = f"must be at most {MAX_CLOSING_DAYS_AHEAD} days ahead"
        raise PydanticCustomError("out_of_range", reason)
    return closes_at


class OpenTenderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    trust_id: str
    category: str
    pool_id: str | None = None
    closes_at: Annotated[
        AwareDatetime,
        AfterValidator(_not_too_far),
        Field(description=f"end of bidding: in the future, at most {MAX_CLOSING_DAYS_AHEAD} days"),
    ]
    term_months: Annotated[int | None, Field(ge=TERM_MONTHS_MIN, le=TERM_MONTHS_MAX)] = None
    lots_by: LotsBy | None = Field(
        default=None, description="split into lots by the schools' local authority or phase"
    )
    weights: WeightsIn | None = None
    procedure: Procedure = Field(
        default=Procedure.OPEN,
        description="on the regulated route: open, competitive_flexible or framework_call_off;"
        " the minimum tendering period depends on it (Procurement Act 2023, s.54)",
    )
    framework: Annotated[str | None, Field(min_length=1, max_length=200, pattern=_TEXT)] = Field(
        default=None, description="the framework a framework_call_off calls off"
    )
    planned_procurement_notice: bool = Field(
        default=False,
        description="a qualifying planned procurement notice was published: the minimum"
        " period is 10 days, not 25",
    )
    urgency_reason: Annotated[str | None, Field(min_length=1, max_length=500, pattern=_TEXT)] = (
        Field(default=None, description="why the matter is urgent: the minimum is 10 days")
    )

    def procedure_choice(self) -> ProcedureChoice:
        return ProcedureChoice(
            self.procedure, self.framework, self.planned_procurement_notice, self.urgency_reason
        )


class TierIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    min_quantity: Annotated[
        Decimal,
        TIER_QUANTITY,
        NOT_FLOAT,
        Field(description=f"minimum pooled annual quantity: {TIER_QUANTITY.text}"),
    ]
    unit_price: Annotated[
        Decimal,
        BID_PRICE,
        NOT_FLOAT,
        Field(description=f"GBP ex VAT per the category's unit: {BID_PRICE.text}"),
    ]


SUPPLIER_NAME_MAX = 200
# Trimmed first, then checked: "  Volt Energy Ltd " is "Volt Energy Ltd"; blank is refused.
SupplierName = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=SUPPLIER_NAME_MAX, pattern=_TEXT
    ),
]


class BidIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lot: Annotated[int | None, Field(ge=1)] = Field(
        default=None, description="the lot bid for; required when the tender has several lots"
    )
    quality_score: Any = Field(
        default=None,
        deprecated=True,
        description="ignored: quality is the buyer's score, recorded after the deadline"
        " (POST /v1/tenders/{tender_id}/evaluation); accepted from older clients and dropped",
    )
    price_tiers: Annotated[list[TierIn], Field(min_length=1, max_length=50)]
    supplier_name: SupplierName | None = Field(
        default=None,
        description="the bidder's trading name, shown with its supplier id to the trust and on"
        f" the award: {SUPPLIER_NAME_MAX} characters at most once trimmed, no control characters;"
        " a later bid for the lot replaces it (or, without one, clears it)",
    )


class ScoreIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    bid_id: UUID
    quality_score: Annotated[
        Decimal, QUALITY, NOT_FLOAT, Field(description=f"the buyer's quality score: {QUALITY.text}")
    ]
    comment: Annotated[
        str | None, Field(max_length=2000, description="the moderation's reasons, optional")
    ] = None


class EvaluationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    scores: Annotated[list[ScoreIn], Field(min_length=1, max_length=1000)]


class CancelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Annotated[str, Field(min_length=1, max_length=500, pattern=r"^[^\x00-\x1f\x7f]*$")] = (
        "cancelled by the trust"
    )


_NAME = "the bidder's trading name as given with its bid; null when it gave none"


class BidOut(BaseModel):
    bid_id: UUID
    tender_id: UUID
    lot: int
    supplier_id: str
    supplier_name: str | None = Field(default=None, description=_NAME)
    price_tiers: list[dict[str, str]]
    submitted_at: datetime


class SupplierBidOut(BidOut):
    """One of the caller's bids, with where its tender and lot stand."""

    category: str
    unit: str
    closes_at: datetime
    tender_status: str = Field(description="open, awarded, no_bids or cancelled")
    lot_status: str = Field(description="open, awarded, no_bids or cancelled")
    awarded: bool = Field(description="whether this bid won its lot")


class RankedBidOut(BaseModel):
    rank: int | None = Field(description="None while a bid of the lot waits for its quality score")
    bid_id: UUID
    supplier_id: str
    supplier_name: str | None = Field(default=None, description=_NAME)
    unit_price_at_pooled_volume: Amount
    price_score: Amount | None
    quality_score: Amount | None = Field(description="the buyer's; None until recorded")
    quality_comment: str | None = None
    scored_by: str | None = Field(
        default=None, description="who saved the quality score (the token's subject); None until"
    )
    scored_at: datetime | None = None
    score: Amount | None
    submitted_at: datetime


class AwardOut(BaseModel):
    bid_id: UUID
    supplier_id: str
    supplier_name: str | None = Field(default=None, description="the winner's; " + _NAME)
    pooled_quantity: Amount
    pooled_unit_price: Amount
    awarded_at: datetime
    awarded_by: str = Field(
        description="who awarded it: the token's subject (a person's email address, or"
        " role:scope for a machine's token), or deadline when awarded automatically"
    )
    standstill_ends: date | None = Field(
        description="regulated awards: last day of the 8-working-day standstill period; the"
        " contract may not be entered into before the day after"
    )
    reason: str = Field(description="why the winner won")


class LotOut(BaseModel):
    lot: int
    name: str | None
    status: str
    schools: list[str]
    pooled_quantity: Amount
    bids_received: int
    bids: list[RankedBidOut] | None = Field(
        default=None, description="ranked with scores; shown to the trust once bidding has closed"
    )
    award: AwardOut | None = None


class TenderLineOut(PoolLineOut):
    lot: int


class TenderOut(BaseModel):
    tender_id: UUID
    trust_id: str
    category: str
    unit: str
    pool_id: str
    status: str
    opened_at: datetime
    opened_by: str = Field(
        description="who opened it: the token's subject (a person's email address, or"
        " role:scope for a machine's token), or policy"
    )
    closes_at: datetime
    term_months: int
    weights: dict[str, Amount]
    lots_by: str | None
    route: RouteOut
    pooled_quantity: Amount
    lines: list[TenderLineOut]
    lots: list[LotOut]
    bids: list[RankedBidOut] | None = Field(
        default=None, description="without lots: the bids ranked, as in lots[0]"
    )
    award: AwardOut | None = Field(default=None, description="without lots: lots[0]'s award")
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None
    cancelled_by: str | None = Field(default=None, description="who cancelled it")
    procedure: str
    framework: str | None
    planned_procurement_notice: bool
    urgency_reason: str | None
    awaiting: str | None = Field(
        default=None,
        description="what an open tender past its deadline waits for before its award:"
        ' "quality scores" while a bid has none (and quality counts)',
    )


class TenderSummaryOut(BaseModel):
    tender_id: UUID
    category: str
    pool_id: str
    status: str
    opened_at: datetime
    opened_by: str
    closes_at: datetime
    route: str
    lots_by: str | None
    procedure: str


class LotNoticeOut(BaseModel):
    lot: int
    name: str | None
    schools: int
    pooled_quantity: Amount


class NoticeOut(BaseModel):
    """What a supplier needs to bid: the requirement, its lots and the evaluation weights."""

    tender_id: UUID
    category: str
    unit: str
    status: str
    closes_at: datetime
    term_months: int
    route: str
    procedure: str
    framework: str | None
    weights: dict[str, Amount]
    lots: list[LotNoticeOut]


class ScoresOut(BaseModel):
    supplier_id: str
    supplier_name: str | None = Field(default=None, description=_NAME)
    unit_price_at_pooled_volume: Amount
    price_score: Amount
    quality_score: Amount
    score: Amount


class AssessmentOut(BaseModel):
    """A bidder's assessment summary (Procurement Act 2023, s.50): its own scores and the
    winner's, and why; never another losing bidder's figures."""

    tender_id: UUID
    lot: int
    bid_id: UUID
    awarded: bool = Field(description="whether this bid won the lot")
    rank: int
    bidders: int = Field(description="how many bids the lot had")
    weights: dict[str, Amount]
    pooled_quantity: Amount
    unit: str
    own: ScoresOut
    winner: ScoresOut
    quality_comment: str | None = Field(description="the trust's comment on this bid's quality")
    reasons: str


class HistoryEntryOut(BaseModel):
    """One thing done to a tender: what, when and by whom."""

    at: datetime
    action: str = Field(
        description="opened, bid_received, scores_saved (one entry per bid scored), awarded or"
        " no_bids (one per lot), cancelled"
    )
    done_by: str = Field(
        description="the token's subject (a person's email address, or role:scope for a"
        " machine's token), or policy/deadline for the service's own actions"
    )
    lot: int | None = Field(default=None, validation_alias="lot_no")
    supplier_id: str | None = None
    supplier_name: str | None = None
    detail: str | None = Field(
        default=None, description="the quality score saved, or the reason for a cancellation"
    )

"""Tendering's verbs (services/tendering/handlers.py) on the in-memory unit of work: what each
stores and the events it emits, and that a refused one emits nothing. No I/O; the fake storage
is held to PostgreSQL's behaviour by tender_repository_contract.py."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest

from services.tendering import handlers
from services.tendering.domain.errors import (
    BiddingClosed,
    BidsSealed,
    InvalidClosingTime,
    InvalidPriceTiers,
    InvalidQualityScores,
    InvalidWeights,
    LotDecided,
    LotRequired,
    NoOpenDemand,
    QualityScoresMissing,
    RegistryNotUpToDate,
    TenderNotFound,
    TenderNotOpen,
    TenderPeriodTooShort,
    TenderWasCancelled,
    UnknownCategory,
    UnknownLot,
    WouldSplitRequirement,
)
from services.tendering.domain.evaluation import Weights
from services.tendering.domain.lots import LotsBy
from services.tendering.domain.pooling import PoolLine
from services.tendering.domain.pricing import PriceTier
from services.tendering.domain.procedure import Procedure, ProcedureChoice
from services.tendering.domain.scoring import QualityScore
from shared.domain.errors import DomainError
from shared.events import Topics
from tests.service_layer.fakes import FakeUnitOfWork
from tests.service_layer.tender_repository_contract import pool_line

TRUST = "8001"
NOW = datetime(2027, 1, 4, 9, tzinfo=UTC)  # a Monday
CLOSES = NOW + timedelta(days=28)
WINDOW = 6
MARCH, JUNE = date(2027, 3, 31), date(2027, 6, 30)


@pytest.fixture
def work() -> FakeUnitOfWork:
    return FakeUnitOfWork()


async def demand(
    work: FakeUnitOfWork, urn: str, quantity: str, end: date = MARCH, category: str = "electricity"
) -> PoolLine:
    line = pool_line(urn, quantity, end)
    await work.tenders.demand(TRUST, category, line)
    return line


def request(**changes: Any) -> handlers.OpenRequest:
    return handlers.OpenRequest(**({"trust_id": TRUST, "category": "electricity"} | changes))


async def open_tender(work: FakeUnitOfWork, **changes: Any) -> UUID:
    async with work:
        return await handlers.open_tender(work, request(closes_at=CLOSES, **changes), WINDOW, NOW)


async def one_line_tender(work: FakeUnitOfWork, **changes: Any) -> UUID:
    """A tender of one school's line: 1000 units of electricity to the end of March."""
    await demand(work, "800001", "1000")
    return await open_tender(work, **changes)


def tiers(*prices: tuple[str, str]) -> list[PriceTier]:
    return [PriceTier(Decimal(quantity), Decimal(price)) for quantity, price in prices]


async def submit_bid(
    work: FakeUnitOfWork,
    tender_id: UUID,
    supplier_id: str,
    price_tiers: list[PriceTier],
    lot: int | None = None,
    at: datetime = NOW,
    name: str | None = None,
) -> UUID:
    async with work:
        _, bid = await handlers.submit_bid(work, supplier_id, tender_id, lot, price_tiers, at, name)
    return UUID(bid.bid_id)


async def score(
    work: FakeUnitOfWork, tender_id: UUID, *scores: tuple[UUID, str], at: datetime = CLOSES
) -> None:
    """The trust's quality scores of these bids."""
    given = [QualityScore(str(bid_id), Decimal(s)) for bid_id, s in scores]
    async with work:
        await handlers.record_quality_scores(work, TRUST, tender_id, given, at)


async def award(
    work: FakeUnitOfWork, tender_id: UUID, at: datetime = CLOSES, quality: str | None = "50"
) -> None:
    """Award the tender; first, unless `quality` is None, the trust scores every unscored bid
    of an undecided lot `quality`."""
    if quality is not None:
        lots = {
            lot["lot_no"] for lot in await work.tenders.lots(tender_id) if lot["status"] == "open"
        }
        bids = await work.tenders.bids(tender_id)
        unscored = [
            UUID(b.bid_id) for n in lots for b in bids.get(n, []) if b.quality_score is None
        ]
        if unscored and at >= CLOSES:
            await score(work, tender_id, *((b, quality) for b in unscored), at=at)
    async with work:
        await handlers.award_tender(work, TRUST, tender_id, at)


async def status_of(work: FakeUnitOfWork, tender_id: UUID) -> str:
    """The stored tender's status."""
    tender = await work.tenders.get(tender_id)
    assert tender is not None
    return str(tender["status"])


def events(work: FakeUnitOfWork) -> list[tuple[str, dict[str, Any]]]:
    """What was published: each event's type and data, every one on the tenders' topic, keyed
    by the trust and correlated by its tender."""
    for topic, envelope in work.published:
        assert (topic, envelope.trust_id) == (Topics.TENDERS, TRUST)
        assert envelope.correlation_id == envelope.data["tender_id"]
    return [(envelope.event_type, envelope.data) for _, envelope in work.published]


async def refused(work: FakeUnitOfWork, error: type[DomainError], verb: Any) -> None:
    """The verb raises `error` and its unit of work publishes nothing."""
    before = len(work.published)
    with pytest.raises(error):
        async with work:
            await verb
    assert len(work.published) == before


# Opening


async def test_a_tender_takes_the_whole_pool_and_announces_it(work: FakeUnitOfWork) -> None:
    march = await demand(work, "800001", "1000", MARCH)
    june = await demand(work, "800002", "500", JUNE)
    gas = await demand(work, "800001", "700", MARCH, category="gas")

    tender_id = await open_tender(work)

    [(event_type, opened)] = events(work)
    assert event_type == "tender.opened"
    assert opened["tender_id"] == str(tender_id)
    assert opened["demand_ids"] == [march.demand_id, june.demand_id]
    assert (opened["category"], opened["unit"], opened["term_months"]) == ("electricity", "kWh", 12)
    assert await work.tenders.open_lines(TRUST) == {"gas": [gas]}
    tender = await work.tenders.get(tender_id)
    assert tender is not None and tender["opened_by"] == "manager"


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"category": "coal", "closes_at": CLOSES}, UnknownCategory),
        ({"closes_at": NOW}, InvalidClosingTime),
        ({"closes_at": CLOSES, "weights": Weights(Decimal("0.5"), Decimal("0.6"))}, InvalidWeights),
    ],
)
async def test_an_opening_with_a_bad_request_is_refused_and_takes_no_lines(
    work: FakeUnitOfWork, changes: dict[str, Any], error: type[DomainError]
) -> None:
    line = await demand(work, "800001", "1000")

    await refused(work, error, handlers.open_tender(work, request(**changes), WINDOW, NOW))

    assert await work.tenders.open_lines(TRUST) == {"electricity": [line]}
    assert await work.tenders.open_tender_spans(TRUST) == {}


async def test_a_regulated_tender_takes_at_least_its_procedures_minimum_period(
    work: FakeUnitOfWork,
) -> None:
    await demand(work, "800001", "5000000")  # 1.8 million GBP a year inc. VAT: regulated
    quick = request(closes_at=NOW + timedelta(days=24, hours=23))
    await refused(work, TenderPeriodTooShort, handlers.open_tender(work, quick, WINDOW, NOW))
    assert await work.tenders.open_tender_spans(TRUST) == {}

    call_off = ProcedureChoice(Procedure.FRAMEWORK_CALL_OFF, framework="ESPO 191 Energy")
    async with work:
        minutes = request(closes_at=NOW + timedelta(minutes=5), procedure=call_off)
        tender_id = await handlers.open_tender(work, minutes, WINDOW, NOW)

    tender = await work.tenders.get(tender_id)
    assert tender is not None
    assert (tender["procedure"], tender["framework"]) == ("framework_call_off", "ESPO 191 Energy")
    [(_, opened)] = events(work)
    assert (opened["procedure"], opened["framework"]) == ("framework_call_off", "ESPO 191 Energy")


async def test_the_opening_policy_extends_a_short_period_to_the_minimum(
    work: FakeUnitOfWork,
) -> None:
    await demand(work, "800001", "5000000")  # regulated
    async with work:
        policy = request(closes_at=NOW + timedelta(days=14), at_least_minimum=True)
        tender_id = await handlers.open_tender(work, policy, WINDOW, NOW, opened_by="policy")
    tender = await work.tenders.get(tender_id)
    assert tender is not None and tender["closes_at"] == NOW + timedelta(days=25)


async def test_an_opening_without_open_demand_is_refused(work: FakeUnitOfWork) -> None:
    await demand(work, "800001", "1000", category="gas")

    opening = handlers.open_tender(work, request(closes_at=CLOSES), WINDOW, NOW)
    await refused(work, NoOpenDemand, opening)


async def test_a_pool_that_would_split_an_open_tenders_requirement_is_refused(
    work: FakeUnitOfWork,
) -> None:
    await demand(work, "800001", "1000", MARCH)
    first = await open_tender(work)
    # Within the window of the open tender's lines: the same requirement, arriving late.
    late = await demand(work, "800002", "500", JUNE)

    [pool] = await handlers.list_pools(work.tenders, TRUST, WINDOW, NOW)
    assert pool.conflicting_tenders == [str(first)]
    opening = handlers.open_tender(work, request(closes_at=CLOSES), WINDOW, NOW)
    await refused(work, WouldSplitRequirement, opening)
    assert await work.tenders.open_lines(TRUST) == {"electricity": [late]}


async def test_lots_wait_for_every_pooled_schools_registry_entry(work: FakeUnitOfWork) -> None:
    leeds = await demand(work, "800001", "1000")
    york = await demand(work, "800002", "500")
    await work.tenders.school("800001", "Leeds", "Primary")

    by_authority = request(closes_at=CLOSES, lots_by=LotsBy.LOCAL_AUTHORITY)
    await refused(work, RegistryNotUpToDate, handlers.open_tender(work, by_authority, WINDOW, NOW))
    await work.tenders.school("800002", "York", "Primary")
    tender_id = await open_tender(work, lots_by=LotsBy.LOCAL_AUTHORITY)

    lots = await work.tenders.lots(tender_id)
    assert [(lot["lot_no"], lot["name"], lot["pooled_quantity"]) for lot in lots] == [
        (1, "Leeds", leeds.quantity),
        (2, "York", york.quantity),
    ]


# Bidding


async def test_a_bid_before_the_deadline_is_stored_and_announced(work: FakeUnitOfWork) -> None:
    tender_id = await one_line_tender(work)

    bid_id = await submit_bid(work, tender_id, "s1", tiers(("0", "0.28")))

    [_, (event_type, received)] = events(work)
    assert event_type == "tender.bid_received"
    assert (received["bid_id"], received["supplier_id"]) == (str(bid_id), "s1")
    [[bid]] = (await work.tenders.bids(tender_id)).values()
    assert (bid.bid_id, bid.tiers) == (str(bid_id), tuple(tiers(("0", "0.28"))))


async def test_a_resubmitted_bid_replaces_the_suppliers_earlier_one(work: FakeUnitOfWork) -> None:
    tender_id = await one_line_tender(work)

    await submit_bid(work, tender_id, "s1", tiers(("0", "0.28")))
    other = await submit_bid(work, tender_id, "s2", tiers(("0", "0.29")))
    again = await submit_bid(work, tender_id, "s1", tiers(("0", "0.27")), at=NOW.replace(hour=10))

    bids = await work.tenders.bids(tender_id)
    assert [bid.bid_id for bid in bids[1]] == [str(other), str(again)]
    assert [event_type for event_type, _ in events(work)].count("tender.bid_received") == 3


async def test_the_bidders_name_goes_with_its_bid_and_the_winners_with_the_award(
    work: FakeUnitOfWork,
) -> None:
    tender_id = await one_line_tender(work)
    await submit_bid(work, tender_id, "s1", tiers(("0", "0.28")), name="Old Name Ltd")
    unnamed = await submit_bid(work, tender_id, "s2", tiers(("0", "0.29")))
    # A later bid replaces the earlier one, its name with it.
    again = await submit_bid(
        work, tender_id, "s1", tiers(("0", "0.27")), at=NOW.replace(hour=10), name="Volt Ltd"
    )

    received = [e for event_type, e in events(work) if event_type == "tender.bid_received"]
    assert [(e["supplier_id"], e["supplier_name"]) for e in received] == [
        ("s1", "Old Name Ltd"),
        ("s2", None),
        ("s1", "Volt Ltd"),
    ]
    bids = (await work.tenders.bids(tender_id))[1]
    assert [(b.bid_id, b.supplier_name) for b in bids] == [
        (str(unnamed), None),
        (str(again), "Volt Ltd"),
    ]
    await award(work, tender_id)
    [(event_type, awarded)] = events(work)[-1:]
    assert event_type == "tender.awarded"
    assert (awarded["supplier_id"], awarded["supplier_name"]) == ("s1", "Volt Ltd")


async def test_a_bid_at_the_deadline_is_refused(work: FakeUnitOfWork) -> None:
    tender_id = await one_line_tender(work)

    late = handlers.submit_bid(work, "s1", tender_id, None, tiers(("0", "1")), CLOSES)
    await refused(work, BiddingClosed, late)

    assert await work.tenders.bids(tender_id) == {}


async def test_a_bid_for_a_tender_in_lots_names_one_of_its_lots(work: FakeUnitOfWork) -> None:
    for urn, authority in (("800001", "Leeds"), ("800002", "York")):
        await demand(work, urn, "1000")
        await work.tenders.school(urn, authority, None)
    tender_id = await open_tender(work, lots_by=LotsBy.LOCAL_AUTHORITY)
    price = tiers(("0", "0.28"))

    for lot, error in ((None, LotRequired), (3, UnknownLot)):
        bid = handlers.submit_bid(work, "s1", tender_id, lot, price, NOW)
        await refused(work, error, bid)
    await submit_bid(work, tender_id, "s1", price, lot=2)

    assert list(await work.tenders.bids(tender_id)) == [2]


async def test_a_bid_with_invalid_tiers_or_for_no_tender_is_refused(work: FakeUnitOfWork) -> None:
    tender_id = await one_line_tender(work)

    from_ten = tiers(("10", "0.28"))
    bid = handlers.submit_bid(work, "s1", tender_id, None, from_ten, NOW)
    await refused(work, InvalidPriceTiers, bid)
    nowhere = handlers.submit_bid(work, "s1", uuid4(), None, tiers(("0", "1")), NOW)
    await refused(work, TenderNotFound, nowhere)


# Award


async def test_bids_are_sealed_until_the_deadline(work: FakeUnitOfWork) -> None:
    tender_id = await one_line_tender(work)
    await submit_bid(work, tender_id, "s1", tiers(("0", "0.28")))

    early = handlers.award_tender(work, TRUST, tender_id, CLOSES - timedelta(seconds=1))
    await refused(work, BidsSealed, early)

    assert await status_of(work, tender_id) == "open"


async def test_the_best_bid_at_the_pooled_volume_wins_and_each_school_gets_its_prices(
    work: FakeUnitOfWork,
) -> None:
    big = await demand(work, "800001", "1000")
    # Its current contract ends a month later: its own end goes with its allocation.
    small = await demand(work, "800002", "500", MARCH + timedelta(days=30))
    tender_id = await open_tender(work)
    await submit_bid(work, tender_id, "flat", tiers(("0", "0.27")))
    # Dearer for either school alone, cheaper for the pooled 1,500 kWh.
    tiered = await submit_bid(work, tender_id, "tiered", tiers(("0", "0.29"), ("1500", "0.25")))

    await award(work, tender_id)

    [(event_type, awarded)] = events(work)[-1:]
    assert event_type == "tender.awarded"
    assert (awarded["supplier_id"], awarded["bid_id"]) == ("tiered", str(tiered))
    assert Decimal(awarded["pooled_quantity"]) == Decimal(1500)
    assert Decimal(awarded["pooled_unit_price"]) == Decimal("0.25")
    assert awarded["lot"] is None
    assert [
        (a["demand_id"], Decimal(a["pooled_unit_price"]), Decimal(a["solo_unit_price"]))
        for a in awarded["allocations"]
    ] == [
        (big.demand_id, Decimal("0.25"), Decimal("0.29")),
        (small.demand_id, Decimal("0.25"), Decimal("0.29")),
    ]
    assert awarded["contract_start"] == MARCH.isoformat()
    assert [a["contract_end"] for a in awarded["allocations"]] == [
        MARCH.isoformat(),
        (MARCH + timedelta(days=30)).isoformat(),
    ]
    [lot] = await work.tenders.lots(tender_id)
    assert (lot["status"], lot["awarded_bid_id"], lot["awarded_by"]) == (
        "awarded",
        tiered,
        "manager",
    )
    assert await status_of(work, tender_id) == "awarded"


# Quality: the buyer's score


async def test_the_award_waits_for_the_buyers_quality_score_of_every_bid(
    work: FakeUnitOfWork,
) -> None:
    tender_id = await one_line_tender(work)
    cheap = await submit_bid(work, tender_id, "cheap", tiers(("0", "0.25")))
    good = await submit_bid(work, tender_id, "good", tiers(("0", "0.29")))
    stored = (await work.tenders.bids(tender_id))[1]
    assert [b.quality_score for b in stored] == [None, None]

    await score(work, tender_id, (cheap, "40"))
    with pytest.raises(QualityScoresMissing) as refusal:
        await award(work, tender_id, quality=None)
    assert refusal.value.extra == {"unscored_bids": [str(good)]}

    # cheap: 100 x 0.7 + 40 x 0.3 = 82.00; good: 0.25 / 0.29 x 100 x 0.7 = 60.34 + 95 x 0.3 =
    # 28.50, 88.84: the buyer's quality decides.
    await score(work, tender_id, (good, "95"), (cheap, "40"))
    await award(work, tender_id, quality=None)
    scored = [data for kind, data in events(work) if kind == "tender.bid_scored"]
    assert [(d["bid_id"], d["quality_score"]) for d in scored] == [
        (str(cheap), "40"),
        (str(good), "95"),
        (str(cheap), "40"),
    ]
    [(_, awarded)] = events(work)[-1:]
    assert awarded["supplier_id"] == "good"


async def test_without_weight_on_quality_the_award_needs_no_scores(work: FakeUnitOfWork) -> None:
    tender_id = await one_line_tender(work, weights=Weights(Decimal(1), Decimal(0)))
    await submit_bid(work, tender_id, "cheap", tiers(("0", "0.25")))

    await award(work, tender_id, quality=None)

    assert await status_of(work, tender_id) == "awarded"


async def test_quality_scores_are_recorded_after_the_deadline_until_the_award(
    work: FakeUnitOfWork,
) -> None:
    tender_id = await one_line_tender(work)
    bid = await submit_bid(work, tender_id, "s1", tiers(("0", "0.25")))

    def scoring(at: datetime, *scores: tuple[str, str]) -> Any:
        given = [QualityScore(b, Decimal(q)) for b, q in scores]
        return handlers.record_quality_scores(work, TRUST, tender_id, given, at)

    await refused(work, BidsSealed, scoring(CLOSES - timedelta(seconds=1), (str(bid), "50")))
    await refused(work, InvalidQualityScores, scoring(CLOSES, (str(uuid4()), "50")))
    await refused(work, InvalidQualityScores, scoring(CLOSES, (str(bid), "50"), (str(bid), "60")))
    await refused(work, InvalidQualityScores, scoring(CLOSES, (str(bid), "100.01")))
    async with work:
        await scoring(CLOSES, (str(bid), "50"))
    async with work:
        await handlers.record_quality_scores(
            work, TRUST, tender_id, [QualityScore(str(bid), Decimal(70), "moderated")], CLOSES
        )
    [stored] = (await work.tenders.bids(tender_id))[1]
    assert (stored.quality_score, stored.quality_comment) == (Decimal(70), "moderated")

    await award(work, tender_id, quality=None)
    await refused(work, LotDecided, scoring(CLOSES, (str(bid), "90")))
    other = handlers.record_quality_scores(work, "9999", tender_id, [], CLOSES)
    await refused(work, TenderNotFound, other)


async def test_a_regulated_award_has_a_standstill_of_eight_working_days(
    work: FakeUnitOfWork,
) -> None:
    await demand(work, "800001", "5000000")  # 1.8 million GBP a year inc. VAT: regulated
    tender_id = await open_tender(work)
    await submit_bid(work, tender_id, "s1", tiers(("0", "0.28")))

    await award(work, tender_id)

    [(_, awarded)] = events(work)[-1:]
    # Awarded on Monday 1 February 2027, the first of the 8 working days: Wednesday 10 February.
    assert awarded["standstill_ends"] == "2027-02-10"


async def test_a_lot_without_bids_closes_and_its_lines_are_open_again(
    work: FakeUnitOfWork,
) -> None:
    for urn, authority in (("800001", "Leeds"), ("800002", "York")):
        await work.tenders.school(urn, authority, None)
    await demand(work, "800001", "1000")
    york = await demand(work, "800002", "500")
    tender_id = await open_tender(work, lots_by=LotsBy.LOCAL_AUTHORITY)
    await submit_bid(work, tender_id, "s1", tiers(("0", "0.28")), lot=1)

    await award(work, tender_id)

    awarded, cancelled = events(work)[-2:]
    assert awarded[0] == "tender.awarded"
    assert (awarded[1]["lot"], awarded[1]["lot_name"]) == (1, "Leeds")
    assert cancelled[0] == "tender.cancelled"
    assert cancelled[1]["demand_ids"] == [york.demand_id]
    assert "for lot 2" in cancelled[1]["reason"]
    assert await work.tenders.open_lines(TRUST) == {"electricity": [york]}
    lots = await work.tenders.lots(tender_id)
    assert [lot["status"] for lot in lots] == ["awarded", "no_bids"]


async def test_a_tender_without_any_bid_closes_with_no_bids(work: FakeUnitOfWork) -> None:
    line = await demand(work, "800001", "1000")
    tender_id = await open_tender(work)

    await award(work, tender_id)

    [(event_type, cancelled)] = events(work)[-1:]
    assert (event_type, cancelled["demand_ids"]) == ("tender.cancelled", [line.demand_id])
    assert await status_of(work, tender_id) == "no_bids"


async def test_awarding_a_decided_tender_again_changes_nothing(work: FakeUnitOfWork) -> None:
    tender_id = await one_line_tender(work)
    await submit_bid(work, tender_id, "s1", tiers(("0", "0.28")))
    await award(work, tender_id)
    published = len(work.published)

    await award(work, tender_id, at=CLOSES + timedelta(days=1))

    assert len(work.published) == published
    [lot] = await work.tenders.lots(tender_id)
    assert lot["awarded_by"] == "manager"


async def test_another_trusts_tender_is_not_found(work: FakeUnitOfWork) -> None:
    tender_id = await one_line_tender(work)

    await refused(work, TenderNotFound, handlers.award_tender(work, "9999", tender_id, CLOSES))
    cancelling = handlers.cancel_tender(work, "9999", tender_id, "not ours", NOW)
    await refused(work, TenderNotFound, cancelling)


# Cancelling


async def test_a_cancelled_tender_releases_its_lines_and_takes_nothing_more(
    work: FakeUnitOfWork,
) -> None:
    lines = [await demand(work, urn, "1000") for urn in ("800001", "800002")]
    tender_id = await open_tender(work)

    async with work:
        await handlers.cancel_tender(work, TRUST, tender_id, "requirement changed", NOW)

    [(event_type, cancelled)] = events(work)[-1:]
    assert event_type == "tender.cancelled"
    assert cancelled["demand_ids"] == sorted(line.demand_id for line in lines)
    assert cancelled["reason"] == "requirement changed"
    tender = await work.tenders.get(tender_id)
    assert tender is not None
    assert (tender["status"], tender["cancel_reason"]) == ("cancelled", "requirement changed")
    by_id = sorted(lines, key=lambda line: line.demand_id)
    assert await work.tenders.open_lines(TRUST) == {"electricity": by_id}

    again = handlers.cancel_tender(work, TRUST, tender_id, "twice", NOW)
    await refused(work, TenderNotOpen, again)
    await refused(work, TenderWasCancelled, handlers.award_tender(work, TRUST, tender_id, CLOSES))
    bid = handlers.submit_bid(work, "s1", tender_id, None, tiers(("0", "1")), NOW)
    await refused(work, BiddingClosed, bid)


# Who did it


async def test_each_action_records_who_did_it_in_the_tenders_history(
    work: FakeUnitOfWork,
) -> None:
    await demand(work, "800001", "1000")
    async with work:
        opening = request(closes_at=CLOSES)
        tender_id = await handlers.open_tender(
            work, opening, WINDOW, NOW, opened_by="ann@trust.example"
        )
    async with work:
        _, bid = await handlers.submit_bid(
            work, "s1", tender_id, None, tiers(("0", "0.28")), NOW, "S One Ltd", "bo@s1.example"
        )
    scores = [QualityScore(bid.bid_id, Decimal(70))]
    async with work:
        await handlers.record_quality_scores(
            work, TRUST, tender_id, scores, CLOSES, "cy@trust.example"
        )
    async with work:
        await handlers.award_tender(work, TRUST, tender_id, CLOSES, "ann@trust.example")

    history = await work.tenders.history(tender_id)
    assert [(e.action, e.done_by, e.at) for e in history] == [
        ("opened", "ann@trust.example", NOW),
        ("bid_received", "bo@s1.example", NOW),
        ("scores_saved", "cy@trust.example", CLOSES),
        ("awarded", "ann@trust.example", CLOSES),
    ]
    assert [(e.lot_no, e.supplier_id, e.supplier_name) for e in history[1:]] == [
        (1, "s1", "S One Ltd")
    ] * 3
    assert history[2].detail == "quality score 70"
    assert work.tenders.scored[bid.bid_id] == ("cy@trust.example", CLOSES)
    tender = await work.tenders.get(tender_id)
    [lot] = await work.tenders.lots(tender_id)
    assert tender is not None
    assert (tender["opened_by"], lot["awarded_by"]) == ("ann@trust.example", "ann@trust.example")


async def test_a_cancellation_records_who_cancelled_and_why(work: FakeUnitOfWork) -> None:
    tender_id = await one_line_tender(work)
    async with work:
        await handlers.cancel_tender(work, TRUST, tender_id, "budget cut", NOW, "ann@trust.example")

    tender = await work.tenders.get(tender_id)
    assert tender is not None and tender["cancelled_by"] == "ann@trust.example"
    [*_, cancelled] = await work.tenders.history(tender_id)
    assert (cancelled.action, cancelled.done_by, cancelled.detail) == (
        "cancelled",
        "ann@trust.example",
        "budget cut",
    )


async def test_a_lot_without_bids_is_recorded_as_closed_by_the_deadline(
    work: FakeUnitOfWork,
) -> None:
    tender_id = await one_line_tender(work)
    async with work:
        await handlers.award_tender(work, TRUST, tender_id, CLOSES, "deadline")

    [*_, closed] = await work.tenders.history(tender_id)
    assert (closed.action, closed.done_by, closed.lot_no) == ("no_bids", "deadline", 1)

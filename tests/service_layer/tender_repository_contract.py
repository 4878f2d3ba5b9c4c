"""One contract for tendering's repository (services/tendering/repository.py), run against the
in-memory fake (test_fake_tender_repository.py) and PostgreSQL
(tests/integration/test_postgres_tender_repository.py): what the handler tests rely on of the
fake is what the service gets from its database.

A subclass provides two fixtures: `tenders`, the repository under test, and `given`, how demand
lines and schools reach it (in the service, by the events intake.py applies).
"""

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Protocol
from uuid import UUID, uuid4

import pytest

from services.tendering.domain.errors import PoolChanged
from services.tendering.domain.evaluation import Bid, ScoredBid, Weights
from services.tendering.domain.lots import LotsBy, Status, form_lots
from services.tendering.domain.opening import route_of
from services.tendering.domain.pooling import Pool, PoolLine, TenderedSpan
from services.tendering.domain.pricing import PriceTier
from services.tendering.domain.procedure import Procedure, ProcedureChoice
from services.tendering.domain.scoring import QualityScore
from services.tendering.repository import HistoryEntry, LotAward, NewTender, TenderRepository

TRUST = "7001"
OPENED = datetime(2027, 1, 4, 9, tzinfo=UTC)
CLOSES = datetime(2027, 2, 1, 12, tzinfo=UTC)


class Given(Protocol):
    async def demand(self, trust_id: str, category: str, line: PoolLine) -> None: ...

    async def withdrawal(self, trust_id: str, category: str, line: PoolLine) -> None: ...

    async def school(self, urn: str, local_authority: str | None, phase: str | None) -> None: ...


def pool_line(urn: str, quantity: str, end: date) -> PoolLine:
    return PoolLine(str(uuid4()), urn, Decimal(quantity), Decimal("0.30"), end, 12)


def new_tender(lines: list[PoolLine], labels: dict[str, str | None] | None = None) -> NewTender:
    """A tender of these electricity lines, in lots by these local authorities if given."""
    pool = Pool("electricity-2027-03", TRUST, "electricity", tuple(lines))
    return NewTender(
        tender_id=uuid4(),
        pool=pool,
        lots=form_lots(pool.lines, labels),
        lots_by=None if labels is None else LotsBy.LOCAL_AUTHORITY,
        unit="kWh",
        opened_at=OPENED,
        opened_by="manager",
        closes_at=CLOSES,
        term_months=12,
        weights=Weights(),
        route=route_of(pool, 12, OPENED),
    )


def bid(supplier_id: str, price: str, minute: int) -> Bid:
    tiers = (PriceTier(Decimal(0), Decimal(price)), PriceTier(Decimal(1000), Decimal("0.20")))
    return Bid(str(uuid4()), supplier_id, Decimal("75.5"), tiers, OPENED.replace(minute=minute))


async def added_in_two_lots(
    tenders: TenderRepository, given: Given
) -> tuple[NewTender, PoolLine, PoolLine]:
    """A tender in lots by local authority: Leeds (lot 1) and York (lot 2), a line each."""
    leeds = pool_line("700001", "100", date(2027, 3, 31))
    york = pool_line("700002", "200", date(2027, 3, 31))
    for line in (leeds, york):
        await given.demand(TRUST, "electricity", line)
    tender = new_tender([leeds, york], {"700001": "Leeds", "700002": "York"})
    await tenders.add(tender)
    return tender, leeds, york


class TenderRepositoryContract:
    async def test_open_lines_are_a_trusts_poolable_lines_by_category_and_contract_end(
        self, tenders: TenderRepository, given: Given
    ) -> None:
        # The later contract has the lower id: lines come by contract end, then id.
        low, high = sorted(str(uuid4()) for _ in range(2))
        late = replace(pool_line("700001", "500", date(2027, 6, 30)), demand_id=low)
        early = replace(pool_line("700002", "1000", date(2027, 3, 31)), demand_id=high)
        gas = pool_line("700001", "800", date(2027, 4, 30))
        withdrawn = pool_line("700003", "100", date(2027, 3, 31))
        for category, line in (("electricity", late), ("electricity", early), ("gas", gas)):
            await given.demand(TRUST, category, line)
        await given.demand(TRUST, "electricity", withdrawn)
        await given.withdrawal(TRUST, "electricity", withdrawn)
        await given.demand("7002", "electricity", pool_line("700101", "100", date(2027, 3, 31)))

        assert await tenders.open_lines(TRUST) == {"electricity": [early, late], "gas": [gas]}
        assert await tenders.open_lines(TRUST, "gas") == {"gas": [gas]}
        assert await tenders.open_lines(TRUST, "water") == {}

    async def test_a_new_tender_holds_its_lines_and_spans_their_contract_ends(
        self, tenders: TenderRepository, given: Given
    ) -> None:
        lines = [
            pool_line("700002", "1000", date(2027, 3, 31)),
            pool_line("700001", "500", date(2027, 6, 30)),
        ]
        for line in lines:
            await given.demand(TRUST, "electricity", line)
        urgent = ProcedureChoice(Procedure.COMPETITIVE_FLEXIBLE, urgency_reason="supplier failed")
        tender = replace(new_tender(lines), procedure=urgent)

        await tenders.add(tender)

        assert await tenders.open_lines(TRUST) == {}
        spans = [TenderedSpan(str(tender.tender_id), date(2027, 3, 31), date(2027, 6, 30))]
        assert await tenders.open_tender_spans(TRUST) == {"electricity": spans}
        assert await tenders.open_tender_spans("7002") == {}
        stored = await tenders.get(tender.tender_id)
        assert stored is not None
        assert [stored[column] for column in ("tender_id", "trust_id", "category", "unit")] == [
            tender.tender_id,
            TRUST,
            "electricity",
            "kWh",
        ]
        assert (stored["status"], stored["closes_at"], stored["term_months"]) == (
            "open",
            CLOSES,
            12,
        )
        assert (stored["weight_price"], stored["weight_quality"]) == (
            Decimal("0.7"),
            Decimal("0.3"),
        )
        assert (stored["route"], stored["lots_by"]) == (str(tender.route.route), None)
        procedure = ("procedure", "framework", "planned_procurement_notice", "urgency_reason")
        assert [stored[column] for column in procedure] == [
            "competitive_flexible",
            None,
            False,
            "supplier failed",
        ]
        [lot] = await tenders.lots(tender.tender_id)
        assert (lot["lot_no"], lot["name"], lot["status"]) == (1, None, "open")
        assert lot["pooled_quantity"] == Decimal(1500)
        assert [
            (line["lot_no"], line["school_urn"], line["quantity"], line["contract_end"])
            for line in await tenders.lines(tender.tender_id)
        ] == [
            (1, "700001", Decimal(500), date(2027, 6, 30)),
            (1, "700002", Decimal(1000), date(2027, 3, 31)),
        ]

    async def test_a_tender_in_lots_keeps_each_lots_lines(
        self, tenders: TenderRepository, given: Given
    ) -> None:
        tender, leeds, york = await added_in_two_lots(tenders, given)

        lots = await tenders.lots(tender.tender_id)
        assert [(lot["lot_no"], lot["name"], lot["pooled_quantity"]) for lot in lots] == [
            (1, "Leeds", Decimal(100)),
            (2, "York", Decimal(200)),
        ]
        assert [
            (line["lot_no"], line["demand_id"]) for line in await tenders.lines(tender.tender_id)
        ] == [(1, UUID(leeds.demand_id)), (2, UUID(york.demand_id))]
        stored = await tenders.get(tender.tender_id)
        assert stored is not None and stored["lots_by"] == "local_authority"

    async def test_a_tender_whose_line_left_the_open_pool_is_refused(
        self, tenders: TenderRepository, given: Given
    ) -> None:
        kept = pool_line("700001", "100", date(2027, 3, 31))
        withdrawn = pool_line("700002", "200", date(2027, 3, 31))
        for line in (kept, withdrawn):
            await given.demand(TRUST, "electricity", line)
        tender = new_tender([kept, withdrawn])
        await given.withdrawal(TRUST, "electricity", withdrawn)

        with pytest.raises(PoolChanged):
            await tenders.add(tender)

    async def test_school_labels_are_the_known_schools_local_authority_or_phase(
        self, tenders: TenderRepository, given: Given
    ) -> None:
        await given.school("700001", "Leeds", "Primary")
        await given.school("700002", None, "Secondary")
        urns = ["700001", "700002", "799999"]

        by_authority = await tenders.school_labels(urns, LotsBy.LOCAL_AUTHORITY)
        by_phase = await tenders.school_labels(urns, LotsBy.PHASE)

        assert by_authority == {"700001": "Leeds", "700002": None}
        assert by_phase == {"700001": "Primary", "700002": "Secondary"}

    async def test_a_suppliers_bid_for_a_lot_replaces_its_earlier_one(
        self, tenders: TenderRepository, given: Given
    ) -> None:
        tender, _, _ = await added_in_two_lots(tenders, given)
        assert await tenders.bids(tender.tender_id) == {}

        first, other, york_bid = bid("s1", "0.28", 10), bid("s2", "0.27", 11), bid("s1", "0.25", 12)
        first = replace(first, supplier_name="S One Ltd")
        for lot_no, each in ((1, first), (1, other), (2, york_bid)):
            await tenders.save_bid(tender.tender_id, lot_no, each)
        # The bidder's name is the latest bid's: here it changed.
        again = replace(bid("s1", "0.26", 13), supplier_name="S One Energy Ltd")
        await tenders.save_bid(tender.tender_id, 1, again)

        assert await tenders.bids(tender.tender_id) == {1: [other, again], 2: [york_bid]}

    async def test_the_buyers_quality_scores_are_kept_with_their_bids(
        self, tenders: TenderRepository, given: Given
    ) -> None:
        tender, _, _ = await added_in_two_lots(tenders, given)
        unscored = replace(bid("s1", "0.28", 10), quality_score=None)
        york = replace(bid("s2", "0.27", 11), quality_score=None)
        await tenders.save_bid(tender.tender_id, 1, unscored)
        await tenders.save_bid(tender.tender_id, 2, york)

        first = [QualityScore(unscored.bid_id, Decimal(60))]
        await tenders.record_scores(tender.tender_id, first, "ann@trust.example", CLOSES)
        revised = QualityScore(unscored.bid_id, Decimal("72.5"), "moderated: strong references")
        await tenders.record_scores(tender.tender_id, [revised], "bo@trust.example", CLOSES)

        scored = replace(unscored, quality_score=Decimal("72.5"), quality_comment=revised.comment)
        assert await tenders.bids(tender.tender_id) == {1: [scored], 2: [york]}

    async def test_an_awarded_lot_records_its_winner_and_keeps_its_lines(
        self, tenders: TenderRepository, given: Given
    ) -> None:
        tender, _, york = await added_in_two_lots(tenders, given)
        winning = bid("s1", "0.28", 10)
        await tenders.save_bid(tender.tender_id, 1, winning)
        winner = ScoredBid(winning, 1, Decimal("0.28"), Decimal(100), Decimal(90))

        await tenders.record_lot_award(
            tender.tender_id, LotAward(1, winner, CLOSES, "deadline", date(2027, 2, 11))
        )
        released = await tenders.close_lots(tender.tender_id, [2], Status.NO_BIDS)

        awarded, closed = await tenders.lots(tender.tender_id)
        assert (awarded["status"], awarded["awarded_bid_id"]) == ("awarded", UUID(winning.bid_id))
        assert (awarded["pooled_unit_price"], awarded["awarded_by"]) == (
            Decimal("0.28"),
            "deadline",
        )
        assert awarded["standstill_ends"] == date(2027, 2, 11)
        assert closed["status"] == "no_bids"
        # Only the closed lot's line is released; the awarded one stays out of the pool.
        assert released == [UUID(york.demand_id)]
        assert await tenders.open_lines(TRUST) == {"electricity": [york]}

    async def test_a_cancelled_tender_releases_its_lines_and_says_when_and_why(
        self, tenders: TenderRepository, given: Given
    ) -> None:
        lines = [pool_line(urn, "100", date(2027, 3, 31)) for urn in ("700002", "700001")]
        for line in lines:
            await given.demand(TRUST, "electricity", line)
        tender = new_tender(lines)
        await tenders.add(tender)

        released = await tenders.close_lots(tender.tender_id, [1], Status.CANCELLED)
        await tenders.record_cancellation(
            tender.tender_id, CLOSES, "requirement changed", "ann@trust.example"
        )
        await tenders.set_status(tender.tender_id, Status.CANCELLED)

        assert released == sorted(UUID(line.demand_id) for line in lines)
        stored = await tenders.get(tender.tender_id)
        assert stored is not None
        assert (stored["status"], stored["cancelled_at"], stored["cancel_reason"]) == (
            "cancelled",
            CLOSES,
            "requirement changed",
        )
        assert stored["cancelled_by"] == "ann@trust.example"
        [lot] = await tenders.lots(tender.tender_id)
        assert lot["status"] == "cancelled"
        assert await tenders.open_tender_spans(TRUST) == {}
        open_lines = await tenders.open_lines(TRUST)
        assert sorted(line.demand_id for line in open_lines["electricity"]) == sorted(
            line.demand_id for line in lines
        )

    async def test_an_unknown_tender_has_nothing(self, tenders: TenderRepository) -> None:
        unknown = uuid4()

        assert await tenders.get(unknown) is None
        assert await tenders.lots(unknown) == []
        assert await tenders.lines(unknown) == []
        assert await tenders.bids(unknown) == {}

    async def test_a_tenders_history_is_kept_in_the_order_things_were_done(
        self, tenders: TenderRepository, given: Given
    ) -> None:
        tender, _, _ = await added_in_two_lots(tenders, given)
        opened = HistoryEntry(OPENED, "opened", "ann@trust.example")
        received = HistoryEntry(
            OPENED.replace(minute=5), "bid_received", "bids@s1.example", 1, "s1", "S One Ltd"
        )
        awarded = HistoryEntry(CLOSES, "awarded", "deadline", 1, "s1", "S One Ltd")
        no_bids = HistoryEntry(CLOSES, "no_bids", "deadline", 2)
        await tenders.record_history(tender.tender_id, [opened])
        await tenders.record_history(tender.tender_id, [received])
        await tenders.record_history(tender.tender_id, [awarded, no_bids])

        assert await tenders.history(tender.tender_id) == [opened, received, awarded, no_bids]
        assert await tenders.history(uuid4()) == []

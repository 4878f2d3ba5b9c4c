"""Tendering's rules as pure functions: the bid deadline, sealed bids, the lot a bid is for,
when a tender is evaluated or may be cancelled, and which pools the opening policy opens."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from uuid import uuid4

import pytest

from services.tendering.domain.award import check_cancellable, no_bids_reason, to_be_evaluated
from services.tendering.domain.bidding import check_takes_bids, lot_bid_for, sealed, valid_tiers
from services.tendering.domain.errors import (
    BiddingClosed,
    BidsSealed,
    InvalidPriceTiers,
    LotRequired,
    RegistryNotUpToDate,
    TenderNotOpen,
    TenderWasCancelled,
    UnknownLot,
)
from services.tendering.domain.lots import LotsBy
from services.tendering.domain.opening import check_registry_up_to_date, due_pools
from services.tendering.domain.pooling import PoolLine, TenderedSpan, form_pools
from services.tendering.domain.pricing import PriceTier

CLOSES = datetime(2027, 1, 29, 12, tzinfo=UTC)
BEFORE, AT = CLOSES - timedelta(seconds=1), CLOSES


def test_bids_are_taken_and_sealed_until_the_deadline_while_the_tender_is_open() -> None:
    assert sealed("open", CLOSES, BEFORE)
    assert not sealed("open", CLOSES, AT)
    assert not sealed("cancelled", CLOSES, BEFORE)
    check_takes_bids(uuid4(), "open", CLOSES, BEFORE)
    for status, now in (("open", AT), ("awarded", BEFORE), ("cancelled", BEFORE)):
        with pytest.raises(BiddingClosed, match="no longer takes bids"):
            check_takes_bids(uuid4(), status, CLOSES, now)


def test_a_bid_names_its_lot_when_there_are_several() -> None:
    assert lot_bid_for(None, 1) == 1
    assert lot_bid_for(2, 3) == 2
    with pytest.raises(LotRequired) as required:
        lot_bid_for(None, 3)
    assert required.value.errors == [("lot", "this tender has lots 1 to 3")]
    with pytest.raises(UnknownLot):
        lot_bid_for(4, 3)
    with pytest.raises(InvalidPriceTiers) as tiers:
        valid_tiers([PriceTier(Decimal(5), Decimal("0.3"))])
    assert tiers.value.errors == [("price_tiers[0].min_quantity", "the first tier must start at 0")]


def test_a_tender_is_evaluated_once_at_or_after_its_deadline() -> None:
    assert to_be_evaluated(uuid4(), "open", CLOSES, AT)
    assert not to_be_evaluated(uuid4(), "awarded", CLOSES, AT)  # decided: left as it is
    with pytest.raises(BidsSealed) as early:
        to_be_evaluated(uuid4(), "open", CLOSES, BEFORE)
    assert early.value.title == "Still open for bids"
    with pytest.raises(TenderWasCancelled):
        to_be_evaluated(uuid4(), "cancelled", CLOSES, AT)
    check_cancellable(uuid4(), "open")
    with pytest.raises(TenderNotOpen, match="is no_bids: there is nothing to cancel"):
        check_cancellable(uuid4(), "no_bids")
    assert no_bids_reason([2, 3], with_lots=True) == (
        "no bids were received by the deadline for lot 2, 3; the lines are open again"
    )


def line(urn: str, end: date) -> PoolLine:
    return PoolLine(str(uuid4()), urn, Decimal(100), Decimal("0.3"), end, 12)


def test_lots_wait_for_the_registry_and_the_policy_opens_due_pools_only() -> None:
    with pytest.raises(RegistryNotUpToDate) as unknown:
        check_registry_up_to_date(["1", "2", "3"], {"2": "Leeds"}, LotsBy.LOCAL_AUTHORITY)
    assert unknown.value.extra == {"unknown_schools": ["1", "3"]}
    check_registry_up_to_date(["2"], {"2": None}, LotsBy.PHASE)

    march, december = line("1", date(2027, 3, 31)), line("2", date(2027, 12, 31))
    pools = form_pools("t", "electricity", [march, december], 6)
    today = date(2027, 1, 30)  # 60 days before 31 Mar
    assert [p.lines for p in due_pools(pools, [], today, 60, 6)] == [(march,)]
    assert list(due_pools(pools, [], today - timedelta(days=1), 60, 6)) == []
    tendered = [TenderedSpan("t1", date(2027, 2, 28), date(2027, 2, 28))]
    assert list(due_pools(pools, tendered, today, 60, 6)) == []

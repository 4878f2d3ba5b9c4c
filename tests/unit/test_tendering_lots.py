"""Lots by local authority or phase, and a tender's status from its lots'."""

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.tendering.domain.lots import NOT_RECORDED, Status, form_lots, tender_status
from services.tendering.domain.pooling import PoolLine


def line(demand_id: str, urn: str, quantity: str) -> PoolLine:
    return PoolLine(demand_id, urn, Decimal(quantity), Decimal("0.25"), date(2027, 3, 31), 24)


LINES = [
    line("d1", "200001", "1000"),
    line("d2", "200002", "2500.5"),
    line("d3", "200003", "400"),
    line("d4", "200001", "100"),  # a second line of one school stays in its school's lot
    line("d5", "200004", "7"),
]


def test_without_lots_there_is_one_lot_of_every_line() -> None:
    [lot] = form_lots(LINES, None)
    assert (lot.number, lot.name) == (1, None)
    assert [pooled.demand_id for pooled in lot.lines] == ["d1", "d2", "d3", "d4", "d5"]
    # 1,000 + 2,500.5 + 400 + 100 + 7 = 4,007.5
    assert lot.total_quantity == Decimal("4007.5")


def test_lots_by_label_are_numbered_in_name_order() -> None:
    labels = {"200001": "Wakefield", "200002": "Leeds", "200003": "Wakefield", "200004": None}
    lots = form_lots(LINES, labels)
    assert [(lot.number, lot.name) for lot in lots] == [
        (1, "Leeds"),
        (2, "Wakefield"),
        (3, NOT_RECORDED),
    ]
    assert [[pooled.demand_id for pooled in lot.lines] for lot in lots] == [
        ["d2"],
        ["d1", "d3", "d4"],
        ["d5"],
    ]
    # Wakefield: 1,000 + 400 + 100 = 1,500.
    assert [lot.total_quantity for lot in lots] == [
        Decimal("2500.5"),
        Decimal("1500"),
        Decimal("7"),
    ]


def test_a_school_missing_from_the_registry_or_with_a_blank_label_is_not_recorded() -> None:
    lots = form_lots(LINES[:3], {"200001": "  ", "200002": "Primary"})
    assert [(lot.name, [p.demand_id for p in lot.lines]) for lot in lots] == [
        ("Primary", ["d2"]),
        (NOT_RECORDED, ["d1", "d3"]),
    ]


def test_labels_are_trimmed() -> None:
    lots = form_lots(LINES[:2], {"200001": "Leeds ", "200002": " Leeds"})
    assert [(lot.name, len(lot.lines)) for lot in lots] == [("Leeds", 2)]


LABELS = st.sampled_from(["Leeds", "Bradford", "Primary", "Secondary", None])


@settings(max_examples=200)
@given(st.lists(st.tuples(st.integers(200001, 200010), LABELS), min_size=1, max_size=30))
def test_lots_partition_the_lines(rows: list[tuple[int, str | None]]) -> None:
    lines = [line(f"d{i:02}", str(urn), "1") for i, (urn, _) in enumerate(rows)]
    # The last label given for a URN is that school's.
    labels = {str(urn): label for urn, label in rows}
    lots = form_lots(lines, labels)
    assert sorted(p.demand_id for lot in lots for p in lot.lines) == [p.demand_id for p in lines]
    assert [lot.number for lot in lots] == list(range(1, len(lots) + 1))
    assert len({lot.name for lot in lots}) == len(lots)
    for lot in lots:
        assert {labels[p.school_urn] or NOT_RECORDED for p in lot.lines} == {lot.name}


OPEN, A, N, C = Status.OPEN, Status.AWARDED, Status.NO_BIDS, Status.CANCELLED


@pytest.mark.parametrize(
    ("lots", "expected"),
    [
        ([OPEN], OPEN),
        ([A], A),
        ([N], N),
        ([C], C),
        ([OPEN, A], OPEN),
        ([A, N], A),
        ([N, A, N], A),
        ([N, N], N),
        ([C, C], C),
        ([N, C], C),
    ],
)
def test_tender_status_from_its_lots(lots: list[Status], expected: Status) -> None:
    assert tender_status(lots) == expected


def test_a_tender_has_a_lot() -> None:
    with pytest.raises(ValueError, match="lots"):
        tender_status([])


def test_statuses_serialise_as_their_contract_names() -> None:
    assert [str(s) for s in Status] == ["open", "awarded", "no_bids", "cancelled"]

"""The savings ledger: the per-school formulas, rounding at the end, and totals
(docs/domain-rules.md, "Savings, per school")."""

from decimal import Decimal
from uuid import UUID, uuid4, uuid5

import pytest

from services.savings.domain.ledger import (
    RULE_VERSION,
    Allocation,
    LedgerFigures,
    Totals,
    entry_id,
    ledger_figures,
    recorded_event_id,
    totals,
)
from tests.helpers import figures


def allocation(quantity: str, baseline: str, pooled: str, solo: str) -> Allocation:
    return Allocation(
        school_urn="100001",
        quantity=Decimal(quantity),
        baseline_unit_price=Decimal(baseline),
        pooled_unit_price=Decimal(pooled),
        solo_unit_price=Decimal(solo),
    )


# q = 10,000 kWh, b = 0.30, p = 0.24, s = 0.27, T = 24 months.
SAVING = LedgerFigures(
    annual_baseline_cost=Decimal("3000.00"),  # 10,000 x 0.30
    annual_contract_cost=Decimal("2400.00"),  # 10,000 x 0.24
    annual_saving=Decimal("600.00"),  # 3,000 - 2,400
    term_saving=Decimal("1200.00"),  # 600 x 24 / 12
    saving_pct=Decimal("20.00"),  # 600 / 3,000
    economy_of_scale=Decimal("300.00"),  # 10,000 x (0.27 - 0.24)
)

# q = 4,000, b = 0.20, p = 0.23, s = 0.25, T = 12: the pooled price is dearer than today's.
COST_INCREASE = LedgerFigures(
    annual_baseline_cost=Decimal("800.00"),  # 4,000 x 0.20
    annual_contract_cost=Decimal("920.00"),  # 4,000 x 0.23
    annual_saving=Decimal("-120.00"),  # 800 - 920
    term_saving=Decimal("-120.00"),  # -120 x 12 / 12
    saving_pct=Decimal("-15.00"),  # -120 / 800
    economy_of_scale=Decimal("80.00"),  # 4,000 x (0.25 - 0.23): pooling still beat going alone
)

# q = 100, b = 0, p = 0.10, s = 0.10, T = 12: nothing is paid today.
ZERO_BASELINE = LedgerFigures(
    annual_baseline_cost=Decimal("0.00"),  # 100 x 0
    annual_contract_cost=Decimal("10.00"),  # 100 x 0.10
    annual_saving=Decimal("-10.00"),  # 0 - 10
    term_saving=Decimal("-10.00"),  # -10 x 12 / 12
    saving_pct=None,  # -10 / 0: undefined
    economy_of_scale=Decimal("0.00"),  # 100 x (0.10 - 0.10)
)


@pytest.mark.parametrize(
    ("line", "term_months", "expected"),
    [
        pytest.param(allocation("10000", "0.30", "0.24", "0.27"), 24, SAVING, id="worked example"),
        pytest.param(
            allocation("4000", "0.20", "0.23", "0.25"),
            12,
            COST_INCREASE,
            id="a cost increase is reported as a negative saving",
        ),
        pytest.param(
            allocation("100", "0", "0.10", "0.10"),
            12,
            ZERO_BASELINE,
            id="zero baseline has no saving percentage",
        ),
    ],
)
def test_ledger_figures(line: Allocation, term_months: int, expected: LedgerFigures) -> None:
    assert ledger_figures(line, term_months) == expected


def test_each_figure_is_rounded_once_at_the_end_half_up() -> None:
    # q = 250, b = 0.2000, p = 0.1995, s = 0.2000, T = 18.
    figures = ledger_figures(allocation("250", "0.2000", "0.1995", "0.2000"), 18)
    # B = 250 x 0.2000 = 50.00
    assert figures.annual_baseline_cost == Decimal("50.00")
    # C = 250 x 0.1995 = 49.875 -> 49.88 (half up)
    assert figures.annual_contract_cost == Decimal("49.88")
    # S = 50 - 49.875 = 0.125 -> 0.13 (half up; half even would give 0.12).
    # Rounded B - rounded C would give 50.00 - 49.88 = 0.12.
    assert figures.annual_saving == Decimal("0.13")
    # S x T / 12 = 0.125 x 18 / 12 = 0.1875 -> 0.19.
    # From the rounded saving it would be 0.13 x 1.5 = 0.195 -> 0.20.
    assert figures.term_saving == Decimal("0.19")
    # S / B = 0.125 / 50 = 0.25%. From the rounded saving: 0.13 / 50 = 0.26%.
    assert figures.saving_pct == Decimal("0.25")
    # E = 250 x (0.2000 - 0.1995) = 0.125 -> 0.13
    assert figures.economy_of_scale == Decimal("0.13")


def test_term_saving_for_a_term_that_is_not_whole_years() -> None:
    # S = 1,000 x (0.30 - 0.20) = 100; x 7 / 12 = 58.3333... -> 58.33
    figures = ledger_figures(allocation("1000", "0.30", "0.20", "0.20"), 7)
    assert figures.term_saving == Decimal("58.33")


def test_economy_of_scale_is_the_part_only_pooling_made_possible() -> None:
    # A small school: alone it would pay 0.31; pooled 0.24. E = 1,500 x (0.31 - 0.24) = 105.
    # Its saving against today's 0.28 is smaller: S = 1,500 x (0.28 - 0.24) = 60.
    small = ledger_figures(allocation("1500", "0.28", "0.24", "0.31"), 12)
    assert (small.annual_saving, small.economy_of_scale) == (Decimal("60.00"), Decimal("105.00"))
    # A school big enough to reach the pooled tier alone gains nothing from pooling: E = 0.
    big = ledger_figures(allocation("80000", "0.28", "0.24", "0.24"), 12)
    assert big.economy_of_scale == Decimal("0.00")


def test_totals_are_sums_of_the_rounded_entries() -> None:
    # B 3,000 + 800 = 3,800; C 2,400 + 920 = 3,320; S 600 - 120 = 480; T 1,200 - 120 = 1,080;
    # % 480 / 3,800 = 12.6315...% -> 12.63%; E 300 + 80 = 380.
    assert totals([SAVING, COST_INCREASE]) == Totals(
        **figures("3800.00", "3320.00", "480.00", "1080.00", "12.63", "380.00")
    )


def test_totals_add_what_each_school_was_shown() -> None:
    # Two entries each showing a saving of 0.13 (exactly 0.125): the total is 0.26, not 0.25.
    entry = ledger_figures(allocation("250", "0.2000", "0.1995", "0.2000"), 18)
    assert totals(iter([entry, entry])).annual_saving == Decimal("0.26")


def test_totals_of_nothing_are_zero_pence() -> None:
    nothing = totals([])
    assert nothing == Totals(**figures("0.00", "0.00", "0.00", "0.00", None, "0.00"))
    assert str(nothing.annual_saving) == "0.00"


def test_rule_version_is_recorded_for_audit() -> None:
    assert RULE_VERSION == "savings-2026.1"


def test_entry_ids_are_derived_from_the_award_and_the_line() -> None:
    tender = UUID("0d5f3a5e-8a3b-4c1d-9e2f-1a2b3c4d5e6f")
    line, other_line = uuid4(), uuid4()
    # uuid5 of the ledger's fixed namespace and "entry/<tender>/<demand>": replaying the same
    # award gives the same id; another line or another award gives another.
    namespace = UUID("5b0f3f6e-2a4c-5d1e-9c2b-7e6a41d0c8f3")
    assert entry_id(tender, line) == uuid5(namespace, f"entry/{tender}/{line}")
    assert entry_id(tender, line) == entry_id(tender, line)
    assert entry_id(tender, other_line) != entry_id(tender, line)
    assert entry_id(uuid4(), line) != entry_id(tender, line)


def test_savings_recorded_has_one_id_per_award() -> None:
    tender = UUID("0d5f3a5e-8a3b-4c1d-9e2f-1a2b3c4d5e6f")
    namespace = UUID("5b0f3f6e-2a4c-5d1e-9c2b-7e6a41d0c8f3")
    assert recorded_event_id(tender) == uuid5(namespace, f"savings.recorded/{tender}")
    assert recorded_event_id(tender) != entry_id(tender, tender)
    # Each lot's award is recorded on its own.
    assert recorded_event_id(tender, 2) == uuid5(namespace, f"savings.recorded/{tender}/lot/2")
    assert recorded_event_id(tender, 1) != recorded_event_id(tender, 2)


def test_each_part_of_an_award_has_its_own_savings_recorded_id() -> None:
    tender = UUID("0d5f3a5e-8a3b-4c1d-9e2f-1a2b3c4d5e6f")
    namespace = UUID("5b0f3f6e-2a4c-5d1e-9c2b-7e6a41d0c8f3")
    # Part 1 keeps the id an award had before awards were sent in parts, so a rebuild from
    # older events records the same ids.
    assert recorded_event_id(tender, None, 1) == recorded_event_id(tender)
    assert recorded_event_id(tender, 2, 1) == recorded_event_id(tender, 2)
    assert recorded_event_id(tender, 2, 3) == uuid5(
        namespace, f"savings.recorded/{tender}/lot/2/part/3"
    )
    ids = {recorded_event_id(tender, lot, part) for lot in (None, 1, 2) for part in (1, 2, 3)}
    assert len(ids) == 9

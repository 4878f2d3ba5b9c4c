"""Savings achieved (realised): classifying spend lines, their figures rounded once per line,
uncontracted spend per category, and the tier-at-risk check (docs/domain-rules.md, "Savings
achieved"). Every expected figure is worked out by hand in the comments."""

from dataclasses import replace
from datetime import date
from decimal import Decimal
from fractions import Fraction
from uuid import UUID, uuid5

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.savings.domain.realised import (
    Classified,
    Contract,
    InvalidSpend,
    Line,
    Spend,
    Status,
    Totals,
    annualised_quantity,
    by_school,
    classify,
    contract_volume,
    line_figures,
    lowest_prices,
    opportunity,
    rounded,
    totals,
    uncontracted,
)

NS = UUID("7d5a3b0e-1f7c-4a38-9a41-0c6f2b1d9e10")
TENDER = uuid5(NS, "electricity")
# The school's electricity contract: supply 2 April 2027 to 1 April 2029 (both included), its
# baseline b = 0.2900, the joint price p = 0.2350, from volt-co.
CONTRACT = Contract(
    entry_id=uuid5(NS, "entry"),
    tender_id=TENDER,
    lot=None,
    supplier_id="volt-co",
    supply_start=date(2027, 4, 2),
    supply_end=date(2029, 4, 1),
    baseline_unit_price=Decimal("0.2900"),
    unit_price=Decimal("0.2350"),
)
MAY = (date(2027, 5, 1), date(2027, 5, 31))


def spend(supplier: str, quantity: str, amount: str, period: tuple[date, date] = MAY) -> Spend:
    return Spend(supplier, period[0], period[1], Decimal(quantity), Decimal(amount))


def d(text: str) -> Decimal:
    return Decimal(text)


def test_on_contract_with_a_price_variance() -> None:
    # x = 1,000 kWh billed A = 250.00 (0.25 a kWh, above the contract's 0.235).
    line = classify(spend("volt-co", "1000", "250.00"), [CONTRACT])
    assert line == Classified(
        Status.ON_CONTRACT,
        CONTRACT,
        baseline_cost=d("290.00"),  # 1,000 x 0.29
        contract_cost=d("235.00"),  # 1,000 x 0.235
        realised_saving=d("40.00"),  # 290 - 250
        expected_saving=d("55.00"),  # 1,000 x (0.29 - 0.235)
        price_variance=d("15.00"),  # 250 - 235: billed above the contract price
    )


@pytest.mark.parametrize("supplier", ["VOLT-CO", "  Volt-Co ", "volt-co\t"])
def test_a_supplier_differing_only_in_case_or_spaces_is_on_contract(supplier: str) -> None:
    line = classify(spend(supplier, "1000", "235.00"), [CONTRACT])
    assert line.status is Status.ON_CONTRACT
    # 1,000 x 0.235 = 235.00 billed: no variance; 290 - 235 = 55.00 realised, as expected.
    assert (line.realised_saving, line.expected_saving, line.price_variance) == (
        d("55.00"),
        d("55.00"),
        d("0.00"),
    )


def test_another_supplier_is_off_contract_with_leakage() -> None:
    # x = 2,000 kWh from another supplier; on the contract it would have cost 2,000 x 0.235 = 470.
    dearer = classify(spend("spark-energy", "2000", "500.00"), [CONTRACT])
    assert dearer == Classified(
        Status.OFF_CONTRACT,
        CONTRACT,
        baseline_cost=d("580.00"),  # 2,000 x 0.29
        contract_cost=d("470.00"),
        off_contract_spend=d("500.00"),
        leakage=d("30.00"),  # 500 - 470
    )
    # A lower price found elsewhere: negative leakage, kept negative. 440 - 470 = -30.00.
    cheaper = classify(spend("volt-co-2", "2000", "440.00"), [CONTRACT])
    assert (cheaper.status, cheaper.off_contract_spend, cheaper.leakage) == (
        Status.OFF_CONTRACT,
        d("440.00"),
        d("-30.00"),
    )
    assert cheaper.realised_saving is None and cheaper.price_variance is None


@pytest.mark.parametrize(
    ("start", "status"),
    [
        (date(2027, 4, 1), Status.UNCONTRACTED),  # the day before supply_start
        (date(2027, 4, 2), Status.ON_CONTRACT),  # supply_start itself
        (date(2029, 4, 1), Status.ON_CONTRACT),  # supply_end itself
        (date(2029, 4, 2), Status.UNCONTRACTED),  # the day after supply_end
    ],
)
def test_the_supply_window_holds_period_start_both_days_included(
    start: date, status: Status
) -> None:
    # The period's end does not matter: a period starting the day before runs into the window.
    line = classify(spend("volt-co", "100", "23.50", (start, date(2029, 6, 30))), [CONTRACT])
    assert line.status is status
    assert (line.contract is None) == (status is Status.UNCONTRACTED)


def test_no_contract_for_the_category_is_uncontracted() -> None:
    assert classify(spend("volt-co", "100", "23.50"), []) == Classified(Status.UNCONTRACTED, None)


def test_each_figure_is_rounded_once_half_up() -> None:
    # x = 100, p = 0.23515, A = 30.00: contract cost 23.515 -> 23.52; variance = 30 - 23.515 =
    # 6.485 -> 6.49 (half even gives 6.48, and so does 30.00 - the rounded 23.52); expected =
    # 100 x (0.29 - 0.23515) = 5.485 -> 5.49 (half even 5.48); realised = 29.00 - 30.00 = -1.00.
    contract = replace(CONTRACT, unit_price=d("0.23515"))
    line = classify(spend("volt-co", "100", "30.00"), [contract])
    assert (
        line.contract_cost,
        line.price_variance,
        line.expected_saving,
        line.realised_saving,
    ) == (d("23.52"), d("6.49"), d("5.49"), d("-1.00"))


def test_of_overlapping_contracts_the_suppliers_then_the_latest() -> None:
    newer = replace(
        CONTRACT,
        entry_id=uuid5(NS, "newer"),
        tender_id=uuid5(NS, "newer"),
        supplier_id="spark-energy",
        supply_start=date(2027, 5, 1),
        unit_price=d("0.2200"),
    )
    # volt-co's invoice belongs to volt-co's contract, whichever started last.
    assert classify(spend("volt-co", "100", "23.50"), [newer, CONTRACT]).contract == CONTRACT
    # A third supplier's: off the contract that started last (1 May 2027), in either order.
    for contracts in ([newer, CONTRACT], [CONTRACT, newer]):
        line = classify(spend("third", "100", "25.00"), contracts)
        assert (line.status, line.contract) == (Status.OFF_CONTRACT, newer)
        assert line.leakage == d("3.00")  # 25.00 - 100 x 0.22


@pytest.mark.parametrize(
    ("quantity", "amount", "period", "field"),
    [
        ("0", "1.00", MAY, "quantity"),
        ("10", "1.001", MAY, "amount"),
        ("10", "1.00", (date(2027, 5, 2), date(2027, 5, 1)), "period_end"),
    ],
)
def test_a_line_no_rule_can_classify_is_refused(
    quantity: str, amount: str, period: tuple[date, date], field: str
) -> None:
    with pytest.raises(InvalidSpend) as refused:
        classify(spend("volt-co", quantity, amount, period), [CONTRACT])
    assert [f for f, _ in refused.value.errors] == [field]


def line(
    urn: str,
    category: str,
    quantity: str,
    amount: str,
    status: Status = Status.UNCONTRACTED,
    period: tuple[date, date] = MAY,
    **figures: str,
) -> Line:
    return Line(
        school_urn=urn,
        category=category,
        status=status,
        tender_id=None if status is Status.UNCONTRACTED else TENDER,
        lot=None,
        period_start=period[0],
        period_end=period[1],
        quantity=d(quantity),
        amount=d(amount),
        **{name: d(value) for name, value in figures.items()},
    )


def test_uncontracted_per_category_with_medians_of_odd_and_even_counts() -> None:
    lines = [
        # water: unit prices 250/100 = 2.50, 460/200 = 2.30, 140/50 = 2.80 (odd: median 2.50);
        # m = 2.30: opportunity = (250 - 230) + (460 - 460) + (140 - 115) = 45.00.
        line("100001", "water", "100", "250.00"),
        line("100002", "water", "200", "460.00"),
        line("100001", "water", "50", "140.00"),
        # gas: 0.05, 0.06, 0.07, 0.10 (even: median (0.06 + 0.07) / 2 = 0.065); m = 0.05:
        # opportunity = 0 + 10 + 20 + (50 - 25) = 55.00.
        line("100001", "gas", "1000", "50.00"),
        line("100002", "gas", "1000", "60.00"),
        line("100003", "gas", "1000", "70.00"),
        line("100003", "gas", "500", "50.00"),
        # On and off contract lines are not uncontracted spend.
        line("100001", "gas", "1", "1000.00", Status.OFF_CONTRACT, leakage="1.00"),
    ]
    gas, water = uncontracted(lines)
    assert (
        gas.category,
        gas.schools,
        gas.quantity,
        gas.amount,
        gas.lowest_unit_price,
        gas.median_unit_price,
        gas.highest_unit_price,
        gas.opportunity,
    ) == ("gas", 3, d("3500"), d("230.00"), d("0.05"), d("0.065"), d("0.10"), d("55.00"))
    # Unit prices are shown to 6 places: 0.050000, 0.065000, 0.100000.
    assert str(gas.median_unit_price) == "0.065000"
    assert (
        water.schools,
        water.quantity,
        water.amount,
        water.lowest_unit_price,
        water.median_unit_price,
        water.highest_unit_price,
        water.opportunity,
    ) == (2, d("350"), d("850.00"), d("2.30"), d("2.50"), d("2.80"), d("45.00"))


def test_unit_prices_are_shown_rounded_but_the_opportunity_uses_the_exact_lowest() -> None:
    # Both lines paid exactly 1/3 a unit: 1.00 / 3 and 10,000.00 / 30,000. Shown: 0.333333.
    # Opportunity 0.00 + 0.00; with the shown 0.333333 the second would be 10,000.00 - 9,999.99.
    # A third line at 2.00 / 3 = 0.6666.. shows 0.666667 (half up); its opportunity is
    # 2.00 - 3 x 1/3 = 1.00.
    lines = [
        line("100001", "cleaning", "3", "1.00"),
        line("100002", "cleaning", "30000", "10000.00"),
        line("100002", "cleaning", "3", "2.00"),
    ]
    [cleaning] = uncontracted(lines)
    assert str(cleaning.lowest_unit_price) == "0.333333"
    assert str(cleaning.highest_unit_price) == "0.666667"
    assert cleaning.opportunity == d("1.00")
    lowest = lowest_prices(lines)["cleaning"]
    assert lowest == Fraction(1, 3)
    assert [opportunity(x, lowest) for x in lines] == [d("0.00"), d("0.00"), d("1.00")]


def test_rounded_is_half_up_away_from_zero() -> None:
    assert rounded(Fraction(1, 200), 2) == d("0.01")  # 0.005
    assert rounded(Fraction(-1, 200), 2) == d("-0.01")
    assert rounded(Fraction(1, 3), 2) == d("0.33")
    assert str(rounded(Fraction(0), 2)) == "0.00"


ON = Status.ON_CONTRACT
YEAR_2027 = (date(2027, 1, 1), date(2027, 12, 31))  # 365 days


@pytest.mark.parametrize(
    ("quantity", "minimum", "at_risk"),
    [
        ("73000", "73000", False),  # 73,000 x 365 / 365 = 73,000: at the minimum, not below
        ("72999.999", "73000", True),  # just below
        ("73000", None, False),  # an award that did not say its tier: never flagged
    ],
)
def test_tier_at_risk_below_the_minimum_only(
    quantity: str, minimum: str | None, at_risk: bool
) -> None:
    lines = [line("100001", "electricity", quantity, "1.00", ON, YEAR_2027)]
    volume = contract_volume(lines, None if minimum is None else d(minimum))
    assert volume.tier_at_risk is at_risk
    assert volume.annualised_quantity == rounded(Fraction(d(quantity)), 2)


def test_annualised_over_the_span_of_the_contracts_lines() -> None:
    # May (1-31) and June (1-30) 2027: 61 days, 10,000 + 8,000 = 18,000 kWh on contract:
    # 18,000 x 365 / 61 = 107,704.918.. -> 107,704.92 shown. Off contract lines do not count.
    lines = [
        line("100001", "electricity", "10000", "1.00", ON, MAY),
        line("100002", "electricity", "8000", "1.00", ON, (date(2027, 6, 1), date(2027, 6, 30))),
        line("100002", "electricity", "99999", "1.00", Status.OFF_CONTRACT, YEAR_2027),
    ]
    volume = contract_volume(lines, d("107705"))
    assert volume.annualised_quantity == d("107704.92")
    assert volume.tier_at_risk is True
    assert contract_volume(lines, d("107704.91")).tier_at_risk is False
    # A leap year: 2028 has 366 days, so 36,600 bought over it is 36,600 x 365 / 366 = 36,500.
    leap = [
        line("100001", "electricity", "36600", "1.00", ON, (date(2028, 1, 1), date(2028, 12, 31)))
    ]
    assert annualised_quantity(leap) == 36500
    # Nothing bought on contract yet: nothing to annualise, nothing flagged.
    assert contract_volume(lines[2:], d("1")) == contract_volume([], d("1"))
    assert contract_volume([], d("1")).annualised_quantity is None
    assert contract_volume([], d("1")).tier_at_risk is False


def test_totals_per_school_add_the_rounded_lines() -> None:
    lines = [
        # school 1: on contract 235.00 (realised 55.00, expected 55.00, variance 0.00) and
        # 250.00 (40.00, 55.00, 15.00); off contract 500.00 (leakage 30.00).
        line("100001", "e", "1000", "235.00", ON, realised_saving="55.00",
             expected_saving="55.00", price_variance="0.00"),
        line("100001", "e", "1000", "250.00", ON, realised_saving="40.00",
             expected_saving="55.00", price_variance="15.00"),
        line("100001", "e", "2000", "500.00", Status.OFF_CONTRACT, off_contract_spend="500.00",
             leakage="30.00"),
        # school 2: off contract 440.00 (leakage -30.00) and uncontracted spend only otherwise.
        line("100002", "e", "2000", "440.00", Status.OFF_CONTRACT, off_contract_spend="440.00",
             leakage="-30.00"),
        line("100002", "water", "10", "25.00"),
        # school 3: uncontracted only: it is listed, with zeros.
        line("100003", "water", "10", "20.00"),
    ]  # fmt: skip
    schools = by_school(lines)
    assert schools == {
        # contract spend 235 + 250 = 485.00; realised 55 + 40 = 95.00; expected 110.00;
        # variance 15.00; off contract 500.00; leakage 30.00.
        "100001": Totals(d("485.00"), d("95.00"), d("110.00"), d("15.00"), d("500.00"), d("30.00")),
        "100002": Totals(off_contract_spend=d("440.00"), leakage=d("-30.00")),
        "100003": Totals(),
    }
    # The trust: 485.00; 95.00; 110.00; 15.00; 500 + 440 = 940.00; 30 - 30 = 0.00.
    assert totals(lines) == Totals(
        d("485.00"), d("95.00"), d("110.00"), d("15.00"), d("940.00"), d("0.00")
    )


# --- properties ---------------------------------------------------------------------------------

quantities = st.decimals(min_value=Decimal("0.001"), max_value=Decimal(100_000), places=3)
amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal(100_000), places=2)
prices = st.decimals(min_value=Decimal(0), max_value=Decimal(2), places=5)
suppliers = st.sampled_from(["volt-co", " VOLT-CO ", "spark-energy"])
starts = st.dates(min_value=date(2027, 1, 1), max_value=date(2029, 12, 31))
spends = st.tuples(
    st.sampled_from(["100001", "100002", "100003"]), suppliers, starts, quantities, amounts
)


@settings(max_examples=100)
@given(st.lists(spends, max_size=25), prices, prices)
def test_totals_are_the_sums_of_the_rounded_lines(
    raw: list[tuple[str, str, date, Decimal, Decimal]], baseline: Decimal, price: Decimal
) -> None:
    contract = replace(CONTRACT, baseline_unit_price=baseline, unit_price=price)
    lines = []
    for urn, supplier, start, x, amount in raw:
        c = classify(Spend(supplier, start, start, x, amount), [contract])
        figures = [c.realised_saving, c.expected_saving, c.price_variance, c.off_contract_spend]
        figures += [c.leakage, c.baseline_cost, c.contract_cost]
        # Every figure a line has is in pence.
        assert all(f.as_tuple().exponent == -2 for f in figures if f is not None)
        if c.status is ON:
            # realised - expected = x p - A = -variance, exactly before rounding: within 1p.
            assert c.realised_saving is not None and c.expected_saving is not None
            assert c.price_variance is not None
            assert abs(c.realised_saving - c.expected_saving + c.price_variance) <= d("0.01")
        lines.append(
            Line(
                urn, "electricity", c.status, c.contract and c.contract.tender_id, None, start,
                start, x, amount, realised_saving=c.realised_saving,
                expected_saving=c.expected_saving, price_variance=c.price_variance,
                off_contract_spend=c.off_contract_spend, leakage=c.leakage,
            )
        )  # fmt: skip
    trust = totals(lines)
    for name in vars(trust):
        by_line = sum((getattr(line_figures(x), name) for x in lines), d("0.00"))
        by_schools = sum((getattr(t, name) for t in by_school(lines).values()), d("0.00"))
        assert getattr(trust, name) == by_line == by_schools
    assert trust.contract_spend == sum((x.amount for x in lines if x.status is ON), d("0.00"))
    for category in uncontracted(lines):
        mine = [x for x in lines if x.status is Status.UNCONTRACTED]
        lowest = lowest_prices(mine)[category.category]
        assert category.opportunity == sum((opportunity(x, lowest) for x in mine), d("0.00"))
        assert category.amount == sum((x.amount for x in mine), d("0.00"))
        assert category.opportunity >= 0
        assert category.lowest_unit_price <= category.median_unit_price
        assert category.median_unit_price <= category.highest_unit_price

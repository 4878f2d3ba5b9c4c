"""Savings achieved on the dashboard, rendered from read models without a server: promised
against realised per school and month by month, the invoices to chase and those bought off
contract (largest first), the tier-at-risk warning, the opportunities, a school's own section and
the empty state. Every figure is worked out by hand in the comments."""

import re
from dataclasses import fields
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from services.savings.domain.realised import FIGURES, Line, Status
from services.savings.realised import (
    ContractRealised,
    OwnRealised,
    SchoolRealised,
    SpendLine,
    TrustRealised,
    TrustView,
    UncontractedSpend,
    months,
)
from services.savings.realised_pages import (
    RealisedPage,
    off_contract,
    own_realised,
    realised_page,
    to_chase,
)
from tests.unit.test_savings_pages import CSRF, TENDER

AT = datetime(2027, 7, 15, 12, 0, tzinfo=UTC)
ALDER, BIRCH, CEDAR = "100001", "100002", "100003"
NAMES = {ALDER: "Alder Primary", BIRCH: "Birch Academy", CEDAR: "Cedar Primary"}
APRIL = (date(2027, 4, 1), date(2027, 4, 30))
MAY = (date(2027, 5, 1), date(2027, 5, 31))
JUNE = (date(2027, 6, 1), date(2027, 6, 30))
QUARTER = (date(2027, 4, 1), date(2027, 6, 30))

# The electricity contract: volt-co at p = 0.25; Alder's own price before it b = 0.30, Birch's
# b = 0.28. name: (school, supplier, period, x, A, status, figures) where the figures of a line
# on contract are (realised, expected, variance) and off contract (off-contract spend, leakage):
# - A1 Alder, 1,000 kWh for 260.00: realised 300 - 260 = 40.00; expected 1,000 x 0.05 = 50.00;
#   variance 260 - 250 = 10.00.
# - A2 Alder, 2,000 kWh for 500.00: realised 600 - 500 = 100.00; expected 100.00; variance 0.00.
# - B1 Birch, 1,000 kWh for 290.00: realised 280 - 290 = -10.00 (a cost increase); expected
#   1,000 x 0.03 = 30.00; variance 290 - 250 = 40.00.
# - B2 Birch from spark-energy, 500 kWh for 150.00: off contract 150.00; leakage 150 - 125 = 25.00.
# - C1 Cedar's water, 100 m3 for 250.00 (2.50 a m3), and A3 Alder's, 200 m3 for 460.00 (2.30):
#   uncontracted; opportunity against 2.30: (250 - 230) + (460 - 460) = 20.00.
LINES: dict[str, tuple[Any, ...]] = {
    "A1": (ALDER, "volt-co", APRIL, "1000", "260.00", "on_contract", ("40.00", "50.00", "10.00")),
    "B2": (BIRCH, "spark-energy", APRIL, "500", "150.00", "off_contract", ("150.00", "25.00")),
    "A3": (ALDER, "aqua", QUARTER, "200", "460.00", "uncontracted", ()),
    "C1": (CEDAR, "aqua", QUARTER, "100", "250.00", "uncontracted", ()),
    "B1": (BIRCH, "volt-co", MAY, "1000", "290.00", "on_contract", ("-10.00", "30.00", "40.00")),
    "A2": (ALDER, "volt-co", JUNE, "2000", "500.00", "on_contract", ("100.00", "100.00", "0.00")),
}
BASELINE = {ALDER: Decimal("0.30"), BIRCH: Decimal("0.28")}


def spend_line(name: str) -> SpendLine:
    urn, supplier, (start, end), x, amount, status, figures = LINES[name]
    water = status == "uncontracted"
    x, amount = Decimal(x), Decimal(amount)
    contracted = None if water else Decimal("0.25")
    made: dict[str, Any] = dict.fromkeys(
        ("realised_saving", "expected_saving", "price_variance", "off_contract_spend", "leakage")
    )
    if status == "on_contract":
        on = ("realised_saving", "expected_saving", "price_variance")
        made |= dict(zip(on, map(Decimal, figures), strict=True))
    elif status == "off_contract":
        made |= dict(zip(("off_contract_spend", "leakage"), map(Decimal, figures), strict=True))
    return SpendLine(
        spend_id=UUID(int=list(LINES).index(name) + 1),
        school_urn=urn,
        school_name=NAMES[urn],
        category="water" if water else "electricity",
        unit="m3" if water else "kWh",
        supplier=supplier,
        invoice_ref=f"INV-{name}",
        period_start=start,
        period_end=end,
        quantity=x,
        amount=amount,
        unit_price=(amount / x).quantize(Decimal("0.000001")),
        status=Status(status),
        tender_id=None if water else TENDER,
        lot=None,
        contract_supplier_id=None if water else "volt-co",
        baseline_unit_price=None if water else BASELINE[urn],
        contract_unit_price=contracted,
        baseline_cost=None if water else (x * BASELINE[urn]).quantize(Decimal("0.01")),
        contract_cost=None if contracted is None else (x * contracted).quantize(Decimal("0.01")),
        opportunity=Decimal("20.00" if name == "C1" else "0.00") if water else None,
        rule_version="realised-2026.1",
        source_event_id=UUID(int=99),
        recorded_at=AT,
        **made,
    )


SPEND = [spend_line(name) for name in LINES]


def rule_line(s: SpendLine) -> Line:
    """The line as the rules read it: its fields of Line (`line_of` reads the same columns)."""
    return Line(**{f.name: getattr(s, f.name) for f in fields(Line)})


def school(urn: str, *figures: str) -> SchoolRealised:
    return SchoolRealised(urn=urn, **dict(zip(FIGURES, map(Decimal, figures), strict=True)))


# Alder: on contract 260 + 500 = 760.00; realised 40 + 100 = 140.00; expected 150.00; variance
# 10.00. Birch: on contract 290.00, realised -10.00, expected 30.00, variance 40.00; off
# contract 150.00, leakage 25.00. Cedar: only uncontracted spend.
# Trust: realised 130.00, expected 180.00, variance 50.00, off contract 150.00, leakage 25.00.
SUMMARY = TrustRealised(
    trust_id="3101",
    realised_saving=Decimal("130.00"),
    expected_saving=Decimal("180.00"),
    price_variance=Decimal("50.00"),
    off_contract_spend=Decimal("150.00"),
    leakage=Decimal("25.00"),
    schools=[
        school(ALDER, "760.00", "140.00", "150.00", "10.00", "0.00", "0.00"),
        school(BIRCH, "290.00", "-10.00", "30.00", "40.00", "150.00", "25.00"),
        school(CEDAR, "0.00", "0.00", "0.00", "0.00", "0.00", "0.00"),
    ],
    # Bought on contract 1,000 + 1,000 + 2,000 = 4,000 kWh over 1 April to 30 June (91 days):
    # 4,000 x 365 / 91 = 16,043.96 a year, below the tier's 20,000.
    contracts=[
        ContractRealised(
            tender_id=TENDER,
            lot=None,
            category="electricity",
            supplier_id="volt-co",
            supplier_name="Volt Co Ltd",
            annualised_quantity=Decimal("16043.96"),
            tier_minimum=Decimal("20000"),
            tier_at_risk=True,
        )
    ],
    uncontracted=[
        UncontractedSpend(
            category="water",
            schools=2,
            quantity=Decimal("300"),
            amount=Decimal("710.00"),
            lowest_unit_price=Decimal("2.300000"),
            # The middle of 2.30 and 2.50.
            median_unit_price=Decimal("2.400000"),
            highest_unit_price=Decimal("2.500000"),
            opportunity=Decimal("20.00"),
        )
    ],
)


def page(lines: list[SpendLine] = SPEND, summary: TrustRealised = SUMMARY) -> str:
    view = TrustView(summary=summary, months=months(rule_line(s) for s in lines), lines=lines)
    html = realised_page(RealisedPage("3101", "Fenland <Trust>", view, AT), CSRF)
    return html.replace("&#x27;", "'")


def section(html: str, anchor: str) -> str:
    start = html.index(f'id="{anchor}"')
    return html[start : html.index("</section>", start)]


def rows(html: str) -> list[list[str]]:
    """The body rows of the section's first table, each cell's text (tags dropped)."""
    body = html[html.index("<tbody>") : html.index("</tbody>")]
    return [
        [" ".join(re.sub(r"<[^>]+>", " ", cell).split()) for cell in re.findall(CELL, row)]
        for row in re.findall(r"<tr>(.*?)</tr>", body)
    ]


CELL = r"<t[hd][^>]*>(.*?)</t[hd]>"


def test_months_add_up_the_lines_on_contract_with_running_totals() -> None:
    # April: A1 (B2 is off contract): 1 line, 260.00, expected 50.00, realised 40.00. May: B1:
    # 290.00, expected 30.00, realised -10.00; so far 80.00 and 30.00. June: A2: 500.00, 100.00
    # and 100.00; so far 180.00 and 130.00, the trust's totals.
    got = [
        (
            m.month,
            m.lines,
            str(m.contract_spend),
            str(m.expected_saving),
            str(m.realised_saving),
            str(m.cumulative_expected_saving),
            str(m.cumulative_realised_saving),
        )
        for m in months(rule_line(s) for s in SPEND)
    ]
    assert got == [
        ("2027-04", 1, "260.00", "50.00", "40.00", "50.00", "40.00"),
        ("2027-05", 1, "290.00", "30.00", "-10.00", "80.00", "30.00"),
        ("2027-06", 1, "500.00", "100.00", "100.00", "180.00", "130.00"),
    ]


def test_a_month_without_lines_on_contract_is_there_with_nothing_added() -> None:
    # Without B1 (May): May adds 0.00; the running totals carry on from April.
    got = months(rule_line(s) for s in SPEND if s.invoice_ref != "INV-B1")
    assert [
        (m.month, m.lines, str(m.expected_saving), str(m.cumulative_expected_saving)) for m in got
    ] == [
        ("2027-04", 1, "50.00", "50.00"),
        ("2027-05", 0, "0.00", "50.00"),
        ("2027-06", 1, "100.00", "150.00"),
    ]
    # December to February crosses a year.
    dec = rule_line(SPEND[0])
    winter = [
        Line(**{**vars(dec), "period_start": date(2027, 12, 3)}),
        Line(**{**vars(dec), "period_start": date(2028, 2, 1)}),
    ]
    assert [m.month for m in months(winter)] == ["2027-12", "2028-01", "2028-02"]
    assert months([]) == []


def test_headline_figures_say_what_is_compared() -> None:
    html = page()
    found = dict(re.findall(r'<dd class="value" id="([a-z-]+)">([^<]+)</dd>', html))
    assert found == {
        "realised-saving": "£130.00",
        "expected-saving": "£180.00",
        "price-variance": "£50.00",
        "off-contract-spend": "£150.00",
    }
    assert "<dt>Promised on the volume bought</dt>" in html
    assert "<dt>Billed above the contracts' prices</dt>" in html
    # Invoiced on contract: 760 + 290 = 1,050.00.
    assert "less the £1,050.00 invoiced" in html
    assert "leakage £25.00" in html
    assert "<h1>Fenland &lt;Trust&gt;</h1>" in html
    assert "3 schools invoiced &middot; 6 invoice lines" in html


def test_promised_against_realised_per_school_with_the_cost_increase_coloured() -> None:
    promised = section(page(), "promised")
    assert rows(promised) == [
        # Invoiced, promised, realised, realised less promised, above, off contract, leakage.
        [
            "Alder Primary URN 100001",
            "£760.00",
            "£150.00",
            "£140.00",
            "\u2212£10.00",
            "£10.00",
            "£0.00",
            "£0.00",
        ],
        [
            "Birch Academy cost increase URN 100002",
            "£290.00",
            "£30.00",
            "\u2212£10.00",
            "\u2212£40.00",
            "£40.00",
            "£150.00",
            "£25.00",
        ],
        ["Cedar Primary URN 100003", "£0.00", "£0.00", "£0.00", "£0.00", "£0.00", "£0.00", "£0.00"],
    ]
    assert '<td class="num increase">\u2212£10.00</td>' in promised
    # All schools: 130 - 180 = -50.00.
    assert "realised £50.00 less than promised" in promised
    tfoot = promised[promised.index("<tfoot>") :]
    assert "£1,050.00" in tfoot and "\u2212£50.00" in tfoot


def test_the_cumulative_chart_and_its_table() -> None:
    months_html = section(page(), "months")
    assert 'id="chart-realised-months"' in months_html
    assert 'id="chart-realised-months-narrow"' in months_html
    # Each point's title gives its series, month and value; the last are the totals.
    assert "<title>Promised, Jun\u00a02027: £180.00</title>" in months_html
    assert "<title>Realised, Jun\u00a02027: £130.00</title>" in months_html
    assert 'stroke-dasharray="7 5"' in months_html
    # (The cells' text with their spaces made plain.)
    # May realised a cost increase: named in its row.
    assert rows(months_html)[1] == [
        "May 2027 cost increase",
        "1",
        "£290.00",
        "£30.00",
        "\u2212£10.00",
        "£80.00",
        "£30.00",
    ]


def test_variances_to_chase_are_named_largest_first() -> None:
    # B1 billed 40.00 above, then A1 10.00; A2 billed at the price is not listed.
    assert [line.invoice_ref for line in to_chase(SPEND)] == ["INV-B1", "INV-A1"]
    variances = section(page(), "variances")
    assert "2 invoices on contract billed above the contracted price, £50.00 in all" in variances
    assert rows(variances)[0] == [
        "Birch Academy URN 100002",
        "INV-B1",
        "Electricity",
        "volt-co",
        "1 to 31 May 2027",
        "£290.00 £0.29/kWh",
        "£250.00 £0.25/kWh",
        "£40.00",
    ]


def test_off_contract_spend_is_named_with_its_leakage() -> None:
    assert [line.invoice_ref for line in off_contract(SPEND)] == ["INV-B2"]
    off = section(page(), "off-contract")
    assert "1 invoice from another supplier" in off
    assert rows(off) == [
        [
            "Birch Academy URN 100002",
            "INV-B2",
            "Electricity",
            "spark-energy contract: volt-co",
            "1 to 30 April 2027",
            "£150.00 £0.30/kWh",
            "£125.00 £0.25/kWh",
            "£25.00",
        ]
    ]


def test_a_contract_below_its_price_tier_is_warned_of() -> None:
    warning = section(page(), "tier-at-risk")
    assert '<span class="warning-icon" aria-hidden="true">!</span>' in warning
    assert (
        "The electricity contract with Volt Co Ltd (volt-co) is buying 16,043.96 kWh a year on"
        " contract; the price tier needs 20,000 kWh: the supplier may re-price." in warning
    )
    # None when every contract buys enough.
    fine = SUMMARY.model_copy(
        update={"contracts": [SUMMARY.contracts[0].model_copy(update={"tier_at_risk": False})]}
    )
    assert 'id="tier-at-risk"' not in page(summary=fine)


def test_opportunities_per_category_explained() -> None:
    opportunities = section(page(), "opportunities")
    assert rows(opportunities) == [
        ["Water supply", "2", "300 m3", "£710.00", "£2.30/m3", "£2.40/m3", "£2.50/m3", "£20.00"]
    ]
    assert "the lowest unit price any of the trust's schools paid" in opportunities
    assert "/v1/trusts/3101/spend/demand" in opportunities
    assert '"category": "water"' in opportunities


def test_the_csv_link_and_the_way_back_are_in_the_header() -> None:
    html = page()
    assert '<a href="/trusts/3101/realised.csv" download>' in html
    assert '<a href="/trusts/3101">Back to the dashboard</a>' in html
    assert f'value="{CSRF}"' in html
    assert "<script" not in html


def test_no_invoices_yet_is_said() -> None:
    empty = SUMMARY.model_copy(
        update={
            "realised_saving": Decimal("0.00"),
            "schools": [],
            "contracts": [],
            "uncontracted": [],
        }
    )
    html = page([], empty)
    assert "<h2>No invoices recorded yet</h2>" in html
    assert 'id="realised-saving"' not in html
    assert "0 invoice lines" in html


def test_a_schools_own_section_names_only_its_own_invoices() -> None:
    birch = [s for s in SPEND if s.school_urn == BIRCH]
    own = OwnRealised(
        **school(BIRCH, "290.00", "-10.00", "30.00", "40.00", "150.00", "25.00").model_dump(),
        name=NAMES[BIRCH],
        uncontracted=[],
        lines=birch,
    )
    html = own_realised(own).replace("&#x27;", "'")
    assert "<dt>Realised</dt><dd>\u2212£10.00</dd>" in html
    assert "<dt>Realised less promised</dt><dd>\u2212£40.00</dd>" in html
    assert '<a href="/schools/100002/realised.csv" download>' in html
    assert "INV-B1" in html and "INV-B2" in html
    assert "Alder" not in html and "INV-A1" not in html
    # Its own invoice is the row's heading; no school column.
    assert '<th scope="row">INV-B1</th>' in html
    assert "<h3 " in html
    none = own.model_copy(update={"lines": []})
    assert "No invoices recorded yet" in own_realised(none)

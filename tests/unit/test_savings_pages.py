"""The dashboard's HTML, rendered from read models without a server: no scripts, figures in
words as well as colours, cost increases listed, an empty trust told so; and the CSV export."""

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import UUID

from services.savings.pages import Dashboard, dashboard_page, sign_in_page
from services.savings.reports import (
    CategoryBreakdown,
    ContractSavings,
    LedgerEntry,
    MonthSavings,
    SchoolSavings,
    TrustSavings,
    ledger_csv,
)

TENDER = UUID("11111111-1111-4111-8111-111111111111")
AT = datetime(2027, 1, 15, 12, 0, tzinfo=UTC)
MONEY = ("annual_baseline_cost", "annual_contract_cost", "annual_saving", "term_saving")


def entry(urn: str, name: str, q: str, b: str, figures: tuple[str, ...], pct: str) -> LedgerEntry:
    return LedgerEntry(
        entry_id=UUID(int=int(urn)),
        tender_id=TENDER,
        bid_id=UUID(int=2),
        supplier_id="volt-co",
        demand_id=UUID(int=int(urn) + 1),
        school_urn=urn,
        school_name=name,
        category="electricity",
        unit="kWh",
        quantity=Decimal(q),
        baseline_unit_price=Decimal(b),
        pooled_unit_price=Decimal("0.2500"),
        solo_unit_price=Decimal("0.3000"),
        term_months=12,
        contract_start=date(2027, 4, 1),
        saving_pct=Decimal(pct),
        economy_of_scale=Decimal(figures[4]),
        rule_version="savings-2026.1",
        source_event_id=UUID(int=3),
        recorded_at=AT,
        **dict(zip(MONEY, (Decimal(f) for f in figures[:4]), strict=True)),
    )


# Alder: 10,000 kWh at 0.30 today, 0.25 joint: B 3,000, C 2,500, S 500, E 10,000 x 0.05 = 500.
# Cedar: 4,000 kWh at 0.20 today: B 800, C 1,000, S -200 (a cost increase), E 200.
ALDER = entry(
    "100001",
    "Alder <Primary>",
    "10000",
    "0.3000",
    ("3000.00", "2500.00", "500.00", "500.00", "500.00"),
    "16.67",
)
CEDAR = entry(
    "100002",
    "Cedar Primary",
    "4000",
    "0.2000",
    ("800.00", "1000.00", "-200.00", "-200.00", "200.00"),
    "-25.00",
)


def school(e: LedgerEntry) -> SchoolSavings:
    return SchoolSavings(
        urn=e.school_urn,
        name=e.school_name,
        annual_baseline_cost=e.annual_baseline_cost,
        annual_contract_cost=e.annual_contract_cost,
        annual_saving=e.annual_saving,
        term_saving=e.term_saving,
        saving_pct=e.saving_pct,
        economy_of_scale=e.economy_of_scale,
    )


# Trust: B 3,800, C 3,500, S 300, 300 / 3,800 = 7.89%, E 700.
TOTALS = {
    "annual_baseline_cost": Decimal("3800.00"),
    "annual_contract_cost": Decimal("3500.00"),
    "annual_saving": Decimal("300.00"),
    "term_saving": Decimal("300.00"),
    "saving_pct": Decimal("7.89"),
    "economy_of_scale": Decimal("700.00"),
}


def dashboard(entries: list[LedgerEntry]) -> str:
    summary = TrustSavings(
        trust_id="4242",
        trust_name="Example & Co Trust",
        schools=[school(e) for e in entries],
        categories=[],
        **TOTALS,
    )
    categories = [
        CategoryBreakdown(
            category="electricity",
            unit="kWh",
            schools=2,
            contracts=1,
            quantity=Decimal(14000),
            **TOTALS,
        )
    ]
    contracts = [
        ContractSavings(
            tender_id=TENDER,
            tender_url=f"http://tendering.example/v1/tenders/{TENDER}",
            category="electricity",
            unit="kWh",
            supplier_id="volt-co",
            bid_id=UUID(int=2),
            contract_start=date(2027, 4, 1),
            term_months=12,
            schools=2,
            pooled_quantity=Decimal(14000),
            pooled_unit_price=Decimal("0.2500"),
            rule_version="savings-2026.1",
            **TOTALS,
        )
    ]
    months = [
        MonthSavings(month="2027-04", contracts=1, cumulative_annual_saving=Decimal(300), **TOTALS)
    ]
    return dashboard_page(
        Dashboard(
            summary,
            categories if entries else [],
            contracts if entries else [],
            months if entries else [],
            entries,
            AT,
        )
    )


def test_the_page_has_no_scripts_and_escapes_what_it_shows() -> None:
    page = dashboard([ALDER, CEDAR])
    assert "<script" not in page
    assert "<h1>Example &amp; Co Trust</h1>" in page
    assert "Alder &lt;Primary&gt;" in page and "Alder <Primary>" not in page
    assert '<dd class="value" id="annual-saving">£300.00</dd>' in page
    assert '<dd class="value" id="saving-pct">7.89%</dd>' in page
    assert f'<a href="http://tendering.example/v1/tenders/{TENDER}">' in page


def test_a_cost_increase_is_listed_and_named_in_its_row() -> None:
    page = dashboard([ALDER, CEDAR])
    callout = page[page.index('id="increases-heading"') :]
    callout = callout[: callout.index("</section>")]
    assert "Cedar Primary" in callout and "Alder" not in callout
    assert "£200.00 a year more than today" in callout
    assert '<tr><th scope="row">Cedar Primary<span class="tag">cost increase</span></th>' in page
    assert '<td class="num increase">\u2212£200.00</td>' in page


def test_no_callout_and_no_increase_key_without_cost_increases() -> None:
    page = dashboard([ALDER])
    assert "increases-heading" not in page
    assert "Cost increase (left of zero)" not in page


def test_a_trust_without_awards_is_told_so() -> None:
    page = dashboard([])
    assert "No savings yet" in page
    assert "<svg" not in page


def test_the_sign_in_form_labels_its_field_and_announces_errors() -> None:
    form = sign_in_page("That <token> is not valid.")
    assert '<label for="token">Manager token</label>' in form
    assert 'method="post" action="/sign-in"' in form
    assert 'role="alert"' in form and "That &lt;token&gt; is not valid." in form
    assert 'aria-describedby="token-help token-error"' in form


def test_the_csv_has_one_row_per_entry_and_defuses_formulas() -> None:
    risky = ALDER.model_copy(update={"school_name": '=HYPERLINK("http://x")'})
    rows = list(csv.DictReader(io.StringIO(ledger_csv([risky, CEDAR]))))
    assert [r["school_urn"] for r in rows] == ["100001", "100002"]
    assert rows[0]["school_name"] == '\'=HYPERLINK("http://x")'
    # Negative money stays a plain number, not text.
    assert rows[1]["annual_saving"] == "-200.00"
    assert rows[1]["recorded_at"] == "2027-01-15T12:00:00Z"
    assert list(rows[0]) == list(LedgerEntry.model_fields)

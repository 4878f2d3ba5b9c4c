"""The dashboard's HTML, rendered from read models without a server: no scripts, figures in
words as well as colours, cost increases listed, an empty trust told so, every form with its CSRF
token; a contract's page with each award school by school; and the CSV export."""

import csv
import io
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import UUID

from services.savings.pages import (
    ContractPage,
    Dashboard,
    Part,
    SchoolPage,
    contract_page,
    dashboard_page,
    embedded,
    error_page,
    framed,
    school_page,
    sign_in_page,
)
from services.savings.reports import (
    CategoryBreakdown,
    ContractAward,
    ContractDetail,
    ContractSavings,
    LedgerEntry,
    MonthSavings,
    SchoolDetail,
    SchoolSavings,
    TrustSavings,
    ledger_csv,
)

TENDER = UUID("11111111-1111-4111-8111-111111111111")
CSRF = "c" * 43
AT = datetime(2027, 1, 15, 12, 0, tzinfo=UTC)
MONEY = ("annual_baseline_cost", "annual_contract_cost", "annual_saving", "term_saving")
SIX = (*MONEY, "saving_pct", "economy_of_scale")


def six(*values: str) -> dict[str, Decimal]:
    """The six savings figures by name, in the order of SIX: B, C, S, T, S % and E."""
    return dict(zip(SIX, map(Decimal, values), strict=True))


def entry(urn: str, name: str, q: str, b: str, figures: dict[str, Decimal]) -> LedgerEntry:
    """An entry of TENDER (0.2500 joint, 0.3000 alone) with its six figures, from `six`."""
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
        supply_start=date(2027, 4, 2),
        supply_end=date(2028, 4, 1),
        rule_version="savings-2026.1",
        source_event_id=UUID(int=3),
        recorded_at=AT,
        **figures,
    )


# Alder: 10,000 kWh at 0.30 today, 0.25 joint: B 3,000, C 2,500, S 500, E 10,000 x 0.05 = 500.
# Cedar: 4,000 kWh at 0.20 today: B 800, C 1,000, S -200 (a cost increase), E 200.
ALDER = entry(
    "100001",
    "Alder <Primary>",
    "10000",
    "0.3000",
    six("3000.00", "2500.00", "500.00", "500.00", "16.67", "500.00"),
)
CEDAR = entry(
    "100002",
    "Cedar Primary",
    "4000",
    "0.2000",
    six("800.00", "1000.00", "-200.00", "-200.00", "-25.00", "200.00"),
).model_copy(
    # Its current contract ends on 31 August 2027: supplied for 12 months from 1 September.
    update={"supply_start": date(2027, 9, 1), "supply_end": date(2028, 8, 31)}
)


def school(e: LedgerEntry) -> SchoolSavings:
    """The school of a single entry: its figures are the entry's."""
    return SchoolSavings(
        urn=e.school_urn,
        name=e.school_name,
        **e.model_dump(include=set(SchoolSavings.model_fields)),
    )


# Trust: B 3,800, C 3,500, S 300, 300 / 3,800 = 7.89%, E 700.
TOTALS = six("3800.00", "3500.00", "300.00", "300.00", "7.89", "700.00")


# The trust's one contract, as the dashboard lists it (the contract of ALDER and CEDAR).
VOLT = ContractSavings(
    tender_id=TENDER,
    tender_url=f"http://tendering.example/v1/tenders/{TENDER}",
    category="electricity",
    unit="kWh",
    supplier_id="volt-co",
    bid_id=UUID(int=2),
    contract_start=date(2027, 4, 1),
    # Alder's supply starts on 2 April 2027, Cedar's on 1 September.
    first_supply_start=date(2027, 4, 2),
    last_supply_start=date(2027, 9, 1),
    term_months=12,
    schools=2,
    pooled_quantity=Decimal(14000),
    pooled_unit_price=Decimal("0.2500"),
    rule_version="savings-2026.1",
    **TOTALS,
)


def dashboard(entries: list[LedgerEntry], contracts: list[ContractSavings] | None = None) -> str:
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
    months = [
        MonthSavings(month="2027-04", contracts=1, cumulative_annual_saving=Decimal(300), **TOTALS)
    ]
    return dashboard_page(
        Dashboard(
            summary,
            categories if entries else [],
            (contracts or [VOLT]) if entries else [],
            months if entries else [],
            entries,
            AT,
        ),
        CSRF,
    )


def test_the_page_has_no_scripts_and_escapes_what_it_shows() -> None:
    page = dashboard([ALDER, CEDAR])
    assert "<script" not in page
    assert "<h1>Example &amp; Co Trust</h1>" in page
    assert "Alder &lt;Primary&gt;" in page and "Alder <Primary>" not in page
    assert '<dd class="value" id="annual-saving">£300.00</dd>' in page
    assert '<dd class="value" id="saving-pct">7.89%</dd>' in page
    # The contract leads to its own page on this dashboard, not to the token-only tender API.
    assert f'<a href="/trusts/4242/contracts/{TENDER}">Electricity contract</a>' in page
    assert "tendering.example" not in page


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
    form = sign_in_page(CSRF, "That <token> is not valid.")
    assert '<label for="token">Manager or school token</label>' in form
    assert (
        f'method="post" action="/sign-in"><input type="hidden" name="csrf_token" value="{CSRF}">'
        in form
    )
    assert 'role="alert"' in form and "That &lt;token&gt; is not valid." in form
    assert 'aria-describedby="token-help token-error"' in form


def test_the_sign_in_form_says_when_a_session_ends() -> None:
    assert (
        "until you sign out or close it, for at most 12 hours; after 30 minutes without use you"
        " sign in again." in sign_in_page(CSRF)
    )
    short = sign_in_page(CSRF, idle_minutes=1, max_hours=0.5)
    assert "for at most 0.5 hours; after 1 minute without use" in short


def test_the_csv_has_one_row_per_entry_and_defuses_formulas() -> None:
    risky = ALDER.model_copy(update={"school_name": '=HYPERLINK("http://x")'})
    rows = list(csv.DictReader(io.StringIO(ledger_csv([risky, CEDAR]))))
    assert [r["school_urn"] for r in rows] == ["100001", "100002"]
    assert rows[0]["school_name"] == '\'=HYPERLINK("http://x")'
    # Negative money stays a plain number, not text.
    assert rows[1]["annual_saving"] == "-200.00"
    assert rows[1]["recorded_at"] == "2027-01-15T12:00:00Z"
    assert list(rows[0]) == list(LedgerEntry.model_fields)
    # Each school's own supply window, as ISO dates.
    assert [(r["supply_start"], r["supply_end"]) for r in rows] == [
        ("2027-04-02", "2028-04-01"),
        ("2027-09-01", "2028-08-31"),
    ]


def test_every_form_carries_the_csrf_token_escaped() -> None:
    hidden = f'<input type="hidden" name="csrf_token" value="{CSRF}">'
    signed_in = dashboard([ALDER])
    assert f'<form method="post" action="/sign-out">{hidden}' in signed_in
    refused = error_page("Not your trust", "this token is for trust 1, not 2", CSRF)
    assert f'<form method="post" action="/sign-out">{hidden}' in refused
    assert "Sign in as someone else" in refused
    odd = sign_in_page('"><b>')
    assert 'value="&quot;&gt;&lt;b&gt;"' in odd and "<b>" not in odd


def test_a_missing_contract_leads_back_to_the_dashboard() -> None:
    page = error_page(
        "No such contract", "Trust 4242 has no joint contract x.", CSRF, "/trusts/4242"
    )
    assert '<a href="/trusts/4242">Back to the dashboard</a>' in page
    assert "sign-out" not in page


# A second lot of the same tender, awarded to another bid. Birch: 5,000 kWh at 0.3000 today,
# 0.2600 joint, 0.2800 alone: B 1,500, C 1,300, S 200 (12 months: 200), 200 / 1,500 = 13.33%,
# E 5,000 x 0.02 = 100.
BIRCH = entry(
    "100003",
    "Birch Academy",
    "5000",
    "0.3000",
    six("1500.00", "1300.00", "200.00", "200.00", "13.33", "100.00"),
).model_copy(
    update={
        "bid_id": UUID(int=5),
        "supplier_id": "spark-ltd",
        "pooled_unit_price": Decimal("0.2600"),
        "solo_unit_price": Decimal("0.2800"),
        "source_event_id": UUID(int=6),
    }
)
SPARK = VOLT.model_copy(
    update={
        "bid_id": UUID(int=5),
        "supplier_id": "spark-ltd",
        "schools": 1,
        "pooled_quantity": Decimal(5000),
        "pooled_unit_price": Decimal("0.2600"),
    }
    | six("1500.00", "1300.00", "200.00", "200.00", "13.33", "100.00")
)


def award(
    c: ContractSavings, entries: list[LedgerEntry], lot: int | None = None, lot_name: str = ""
) -> ContractAward:
    """The award of contract `c`: its terms and figures (the fields they share) are the
    contract's."""
    return ContractAward(
        lot=lot,
        lot_name=lot_name or None,
        standstill_ends=date(2027, 1, 27) if lot == 1 else None,
        award_event_ids=list(dict.fromkeys(e.source_event_id for e in entries)),
        recorded_at=AT,
        entries=entries,
        **c.model_dump(include=set(ContractAward.model_fields)),
    )


def contract(awards: list[ContractAward], **totals: Decimal) -> str:
    detail = ContractDetail(
        tender_id=TENDER,
        tender_url=f"http://tendering.example/v1/tenders/{TENDER}",
        category="electricity",
        unit="kWh",
        schools=sum(a.schools for a in awards),
        pooled_quantity=sum((a.pooled_quantity for a in awards), Decimal(0)),
        awards=awards,
        **(TOTALS | totals),
    )
    return contract_page(ContractPage("4242", "Example & Co Trust", detail, AT), CSRF)


def test_a_contract_page_shows_its_terms_and_every_schools_figures() -> None:
    page = contract([award(VOLT, [ALDER, CEDAR])])
    assert "<script" not in page
    assert "<h1>Electricity contract</h1>" in page
    assert "Joint contract of Example &amp; Co Trust" in page
    assert (
        '<dt>Saving over the contract\'s term</dt><dd class="value" id="term-saving">£300.00'
        in (page.replace("&#x27;", "'"))
    )
    assert '<dd class="value" id="annual-saving">£300.00</dd>' in page
    assert '<dd class="value" id="saving-pct">7.89%</dd>' in page
    assert '<dd class="value" id="pooling-saving">£700.00</dd>' in page
    for fact in (
        "<dt>First supply starts</dt><dd>2 April 2027</dd>",
        "<dt>Term</dt><dd>12 months</dd>",
        "<dt>Pooled volume a year</dt><dd>14,000 kWh</dd>",
        "<dt>Joint price</dt><dd>£0.2500/kWh</dd>",
        "<dt>Supplier</dt><dd>volt-co</dd>",
        f'<dt>Winning bid</dt><dd><span class="id">{UUID(int=2)}</span></dd>',
        f'<span class="id">{UUID(int=3)}</span>',
        "<dt>Rule version</dt><dd>savings-2026.1</dd>",
    ):
        assert fact in page, fact
    # Alder's row: 10,000 kWh; B, C, S, %, term, E.
    alder = page[page.index('<tr><th scope="row">Alder &lt;Primary&gt;') :]
    alder = alder[: alder.index("</tr>")]
    assert '<br><span class="small">URN 100001</span></th>' in alder
    assert alder.count("<td") == 7
    assert re.findall(r'<td class="num">([^<]+)</td>', alder) == [
        "10,000",
        "£3,000.00",
        "£2,500.00",
        "£500.00",
        "16.67%",
        "£500.00",
        "£500.00",
    ]
    # Cedar pays less today: its line is a cost increase, said in words and listed up top.
    assert '<th scope="row">Cedar Primary<span class="tag">cost increase</span><br>' in page
    assert (
        '<td class="num increase">\u2212£200.00</td><td class="num increase">\u221225.00%</td>'
        in page
    )
    assert "£200.00 a year more than today" in page
    # The totals row adds the lines.
    assert '<tfoot><tr><th scope="row">All schools</th><td class="num">14,000</td>' in page
    # Accessible: one described SVG chart (drawn wide, and narrow for phones), the table
    # captioned with scoped headers.
    assert page.count('<svg class="chart chart-wide"') == 1
    assert page.count('<svg class="chart chart-narrow"') == 1
    assert page.count("<caption>") == 3
    # Each school's own supply window.
    assert "<caption>When each school is supplied: from the day after its current contract" in page
    for supplied in (
        '<tr><th scope="row">Alder &lt;Primary&gt;</th><td>2 April 2027</td><td>1 April 2028</td>',
        '<tr><th scope="row">Cedar Primary</th><td>1 September 2027</td><td>31 August 2028</td>',
    ):
        assert supplied in page, supplied
    assert f'id="chart-award-{UUID(int=2)}-desc"' in page
    assert "<caption>Savings per school under this award" in page
    assert '<th scope="col" class="num">Pooling alone</th>' in page
    # The prices behind E = q x (s - p): Cedar pays £0.2000 today, £0.3000 alone, £0.2500 joint.
    assert (
        '<tr><th scope="row">Cedar Primary</th><td class="num">£0.2000/kWh</td>'
        '<td class="num">£0.3000/kWh</td><td class="num">£200.00</td></tr>'
    ) in page
    assert "against the joint price of £0.2500/kWh</caption>" in page
    # The tender API needs a token: named as such, and not a link a browser would get 401 from.
    assert f"http://tendering.example/v1/tenders/{TENDER}" in page
    assert 'href="http://tendering.example' not in page
    assert '<a href="/trusts/4242#contracts">Back to the dashboard</a>' in page
    assert f'<input type="hidden" name="csrf_token" value="{CSRF}">' in page


def test_a_contract_in_lots_shows_each_award_and_the_dashboard_links_to_each() -> None:
    # Both lots: B 3,800 + 1,500 = 5,300; C 3,500 + 1,300 = 4,800; S 500; 500 / 5,300 = 9.43%;
    # E 700 + 100 = 800.
    page = contract(
        [award(VOLT, [ALDER, CEDAR], 1, "Fenland"), award(SPARK, [BIRCH], 2, "Breckland")],
        **six("5300.00", "4800.00", "500.00", "500.00", "9.43", "800.00"),
    )
    assert "3 schools &middot; 2 lots, each awarded on its own" in page
    assert '<dd class="value" id="annual-saving">£500.00</dd>' in page
    assert '<dd class="value" id="saving-pct">9.43%</dd>' in page
    first = f'id="award-{UUID(int=2)}"'
    second = f'id="award-{UUID(int=5)}"'
    assert page.index(first) < page.index(second)
    assert ">Lot 1, Fenland: volt-co</h2>" in page and ">Lot 2, Breckland: spark-ltd</h2>" in page
    # Lot 1 was regulated: its standstill ended 27 January 2027; lot 2 had none recorded.
    assert "<dt>Standstill ends</dt><dd>27 January 2027</dd>" in page[: page.index(second)]
    birch = page[page.index(second) :]
    assert "<dt>Standstill ends</dt><dd>no standstill (below threshold)</dd>" in birch
    assert "<dt>Joint price</dt><dd>£0.2600/kWh</dd>" in birch
    assert '<td class="num">£200.00</td><td class="num">13.33%</td>' in birch
    assert "Alder" not in birch
    listing = dashboard([ALDER, CEDAR, BIRCH], [VOLT, SPARK])
    for bid in (UUID(int=2), UUID(int=5)):
        assert f'<a href="/trusts/4242/contracts/{TENDER}#award-{bid}">' in listing


def test_an_award_sent_in_parts_names_each_event_for_audit() -> None:
    # A large award arrives as several `tender.awarded` events: Cedar's line came in the second.
    second_part = CEDAR.model_copy(update={"source_event_id": UUID(int=7)})
    page = contract([award(VOLT, [ALDER, second_part])])
    assert (
        "<dt>Award events (tender.awarded, 2 parts)</dt>"
        f'<dd><span class="id">{UUID(int=3)}</span><br><span class="id">{UUID(int=7)}</span></dd>'
    ) in page
    assert ">Award: volt-co</h2>" in page


def test_pages_follow_the_gov_uk_patterns() -> None:
    for page in (dashboard([ALDER]), sign_in_page(CSRF), error_page("Not your trust", "x", CSRF)):
        body = page[page.index("<body>") :]
        # The skip link comes first and leads to the main content; one header, one footer.
        assert body.startswith('<body><a href="#main-content" class="skip-link">')
        assert page.count('<main id="main-content"') == 1
        assert page.count('<header class="service-header">') == 1
        assert page.count('<footer class="site-footer">') == 1
        assert page.index("</main>") < page.index('<footer class="site-footer">')


def test_a_sign_in_error_is_summarised_at_the_top_and_shown_at_its_field() -> None:
    form = sign_in_page(CSRF, "That token is not valid or has expired.")
    assert "<title>Error: Sign in: savings dashboard</title>" in form
    summary = form[form.index('<div class="error-summary"') :]
    assert summary.index("There is a problem") < summary.index('<a href="#token">That token')
    assert form.index('class="error-summary"') < form.index("<h1>")
    assert '<span class="visually-hidden">Error:</span> That token is not valid' in form
    assert 'class="error-summary"' not in sign_in_page(CSRF)


def test_counts_are_pluralised_and_times_are_uk_local() -> None:
    one = dashboard([ALDER])
    # 15 January 2027, 12:00 UTC is midday GMT.
    assert "1 school &middot; 1 joint contract &middot; figures at 15 January 2027 at midday" in one
    assert "1 schools" not in one and "(1 lines)" not in one
    assert "<strong>Electricity</strong>: 1 school," in one
    two = dashboard([ALDER, CEDAR])
    assert "2 schools &middot; 1 joint contract" in two
    assert "1 contract line costs more" in two
    assert '<span class="small">12 months</span>' in two


def test_the_dashboard_says_why_pooling_alone_can_exceed_the_saving() -> None:
    # The trust's pooling alone (700) is more than its saving (300): the headline says why.
    page = dashboard([ALDER, CEDAR])
    note = page[page.index('id="pooling-saving"') :]
    note = note[: note.index("</div>")]
    assert "more than the saving because it is measured against buying alone" in note
    assert "Pooling alone can be more than the saving." in page


def test_suppliers_are_named_where_their_bid_gave_a_name() -> None:
    named = VOLT.model_copy(update={"supplier_name": "Volt Energy <Ltd>"})
    listing = dashboard([ALDER, CEDAR], [named, SPARK])
    contracts = listing[listing.index('id="contracts"') :]
    # "Name (id)", escaped; an award from before names were asked for shows its id alone.
    assert "<td>Volt Energy &lt;Ltd&gt; (volt-co)</td>" in contracts
    assert "<td>spark-ltd</td>" in contracts
    page = contract(
        [award(named, [ALDER.model_copy(update={"supplier_name": "Volt Energy <Ltd>"})])]
    )
    assert ">Award: Volt Energy &lt;Ltd&gt; (volt-co)</h2>" in page
    assert "<dt>Supplier</dt><dd>Volt Energy &lt;Ltd&gt; (volt-co)</dd>" in page


def test_the_contract_list_gives_the_schools_supply_starts() -> None:
    # VOLT supplies Alder from 2 April 2027 and Cedar from 1 September (their own contract ends).
    listing = dashboard([ALDER, CEDAR])
    contracts = listing[listing.index('id="contracts"') :]
    assert '<th scope="col">Supply starts, term</th>' in contracts
    assert '<td class="nowrap">from 2 Apr 2027<br>to 1 Sep 2027<br>' in contracts
    # One day for every school: that day alone.
    alone = VOLT.model_copy(update={"last_supply_start": date(2027, 4, 2)})
    single = dashboard([ALDER], [alone])
    assert '<td class="nowrap">2 Apr 2027<br><span class="small">12 months' in single
    assert "Savings by the month supply starts" in listing
    assert '<th scope="col">Supply starts</th>' in listing


def own(entries: list[LedgerEntry]) -> SchoolDetail:
    """Alder's own page: its figures are its one entry's (or none)."""
    figures = {name: getattr(ALDER, name) for name in SIX}
    if not entries:
        figures = dict.fromkeys(MONEY, Decimal("0.00")) | {
            "saving_pct": None,
            "economy_of_scale": Decimal("0.00"),
        }
    return SchoolDetail(urn="100001", name="Alder <Primary>", entries=entries, **figures)


def test_a_schools_own_page_shows_its_lines_and_nothing_of_other_schools() -> None:
    named = ALDER.model_copy(update={"supplier_name": "Volt Energy Ltd"})
    page = school_page(SchoolPage(own([named]), AT), CSRF)
    assert "<script" not in page
    assert "<h1>Alder &lt;Primary&gt;</h1>" in page
    assert "URN 100001 &middot; 1 joint contract &middot; figures at 15 January 2027" in page
    # Alder's line (B 3,000, C 2,500, S 500, 16.67%, E 500), its supplier and supply window.
    assert '<dd class="value" id="annual-saving">£500.00</dd>' in page
    row = page[page.index('<tr><th scope="row">Electricity') :]
    row = row[: row.index("</tr>")]
    assert '<span class="small">Volt Energy Ltd (volt-co)<br>10,000 kWh a year</span></th>' in row
    assert '<td class="nowrap">2 April 2027<br><span class="small">to 1 April 2028</span>' in row
    for cell in ("£3,000.00", "£2,500.00", "£500.00", "16.67%"):
        assert f'<td class="num">{cell}</td>' in row
    # Its own CSV, through its own session; no link to any trust's pages.
    assert '<a href="/schools/100001/ledger.csv" download>' in page
    assert "/trusts/" not in page
    assert "Cedar" not in page and "4242" not in page
    assert f'<input type="hidden" name="csrf_token" value="{CSRF}">' in page


def test_a_school_without_awards_is_told_so() -> None:
    page = school_page(SchoolPage(own([]), AT), CSRF)
    assert "No savings yet" in page
    assert "<svg" not in page


def test_the_workspace_gets_a_pages_links_and_main_content_without_a_form() -> None:
    part = Part(
        "Savings: Oak", "<h1>Oak</h1>", '<a href="/trusts/4242/realised">Savings achieved</a>'
    )
    inside = embedded(part)
    assert inside == (
        '<div class="savings-pages"><nav class="page-links no-print" aria-label="This page">'
        '<a href="/trusts/4242/realised">Savings achieved</a></nav><h1>Oak</h1></div>'
    )
    # Framed here, the same page has the dashboard's header, its links and its sign-out form.
    whole = framed(part, CSRF)
    assert whole.startswith("<!doctype html>") and "<title>Savings: Oak</title>" in whole
    header = whole[whole.index("<header") : whole.index("</header>")]
    assert "Savings achieved</a>" in header and 'action="/sign-out"' in header

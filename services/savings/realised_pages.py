"""Savings achieved on the dashboard: the trust's page at /trusts/{trust_id}/realised and the
section of a school's own page, rendered from the realised read models (services/savings/
realised.py; the rules: docs/domain-rules.md, "Savings achieved"). Pure: no I/O.

"Promised" here is always the saving the contracts' prices promise on the quantity actually
invoiced (`expected_saving`), never the ledger's yearly figure on the forecast volume: the two
are compared on the same invoices.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from html import escape
from urllib.parse import quote

from services.savings import charts
from services.savings.domain.ledger import is_increase
from services.savings.pages import (
    Part,
    _at,
    _card,
    _facts,
    _headline,
    _masthead,
    _num,
    _row,
    _table,
    framed,
    month_name,
    page_links,
)
from services.savings.presentation import (
    category_name,
    compact_pounds,
    count,
    money,
    period,
    price_paid,
    quantity,
    realised_headlines,
    school_name,
    whole_pounds,
)
from services.savings.realised import (
    ContractRealised,
    MonthRealised,
    OwnRealised,
    RealisedFigures,
    SchoolRealised,
    SpendLine,
    TrustRealised,
    TrustView,
    UncontractedSpend,
)
from shared.domain.categories import categories
from shared.domain.suppliers import supplier_label

PROMISED_COLOUR = charts.POINT_COLOUR


@dataclass(frozen=True)
class RealisedPage:
    """The trust's savings achieved, read in one snapshot."""

    trust_id: str
    trust_name: str | None
    view: TrustView
    generated_at: datetime


def unit_of(category: str, lines: Sequence[SpendLine] = ()) -> str:
    """The category's unit: from the categories file, else from its lines as recorded."""
    known = categories().get(category)
    if known:
        return known.unit
    return next((line.unit for line in lines if line.category == category), "")


def to_chase(lines: Sequence[SpendLine]) -> list[SpendLine]:
    """Lines on contract billed above the contracted price, the largest variance first."""
    above = [line for line in lines if line.price_variance is not None and line.price_variance > 0]
    return sorted(above, key=lambda line: (-(line.price_variance or 0), *_order(line)))


def off_contract(lines: Sequence[SpendLine]) -> list[SpendLine]:
    """Lines bought from another supplier under a joint contract, the largest leakage first."""
    off = [line for line in lines if line.off_contract_spend is not None]
    return sorted(off, key=lambda line: (-(line.leakage or 0), *_order(line)))


def _order(line: SpendLine) -> tuple[object, ...]:
    return (line.period_start, line.school_urn, line.invoice_ref)


def contract_spend(schools: Sequence[SchoolRealised]) -> Decimal:
    return sum((s.contract_spend for s in schools), Decimal("0.00"))


def realised_page(p: RealisedPage, csrf: str) -> str:
    return framed(realised_part(p), csrf)


def realised_part(p: RealisedPage) -> Part:
    """Savings achieved: headline, warnings, promised against realised, months, invoices."""
    s, months, lines = p.view.summary, p.view.months, p.view.lines
    title = p.trust_name or f"Trust {p.trust_id}"
    names = {line.school_urn: line.school_name for line in lines}
    body = [
        _masthead(
            "Savings achieved: what schools were invoiced",
            title,
            f"Trust {escape(p.trust_id)} &middot; {count(len(s.schools), 'school')} invoiced"
            f" &middot; {count(len(lines), 'invoice line')} &middot; figures at"
            f" {escape(_at(p.generated_at))}",
        ),
        '<div class="wrap">',
    ]
    if not lines:
        body.append(
            '<section class="card"><h2>No invoices recorded yet</h2><p>Savings achieved appear'
            " here once finance systems post what the trust's schools were invoiced (to the"
            " demand service: <code>POST /v1/spend</code> or a CSV import).</p></section>"
        )
    else:
        body += [
            _headline(realised_headlines(s, contract_spend(s.schools))),
            _tier_warnings(s.contracts),
            _promised_by_school(s, names),
            _by_month(months),
            _variances(to_chase(lines)),
            _off_contract(off_contract(lines)),
            _contracts(s.contracts, lines),
            _opportunities(p.trust_id, s.uncontracted, lines),
        ]
    body += [_method(), "</div>"]
    trust = f"/trusts/{quote(p.trust_id)}"
    links = page_links(
        (trust, "Back to the dashboard"),
        (f"{trust}/realised.csv", "Download the invoice lines (CSV)"),
    )
    return Part(f"Savings achieved: {title}", "".join(body), links)


def _contract_name(c: ContractRealised, in_a_sentence: bool = False) -> str:
    """Electricity contract, lot 2, with volt-co ("electricity contract" in a sentence)."""
    lot = "" if c.lot is None else f", lot {c.lot}"
    name = category_name(c.category)
    name = name.lower() if in_a_sentence else name
    return f"{name} contract{lot} with {supplier_label(c.supplier_id, c.supplier_name)}"


def _tier_warnings(contracts: Sequence[ContractRealised]) -> str:
    """A GOV.UK warning text per contract bought below its price tier."""
    warnings = []
    for c in contracts:
        if not c.tier_at_risk or c.annualised_quantity is None or c.tier_minimum is None:
            continue
        unit = unit_of(c.category)
        warnings.append(
            '<div class="warning-text"><span class="warning-icon" aria-hidden="true">!</span>'
            '<strong class="warning-words"><span class="visually-hidden">Warning</span>'
            f" The {escape(_contract_name(c, in_a_sentence=True))} is buying"
            f" {escape(quantity(c.annualised_quantity, unit))} a year on contract; the price"
            f" tier needs {escape(quantity(c.tier_minimum, unit))}: the supplier may re-price."
            "</strong></div>"
        )
    if not warnings:
        return ""
    return (
        '<section class="card warnings" id="tier-at-risk" aria-labelledby="tier-heading">'
        f'<h2 id="tier-heading">{"Price tier" if len(warnings) == 1 else "Price tiers"}'
        " at risk</h2>" + "".join(warnings) + "</section>"
    )


def _difference(figures: RealisedFigures) -> Decimal:
    return figures.realised_saving - figures.expected_saving


def _figures(f: RealisedFigures, spent: Decimal) -> str:
    """Invoiced on contract, promised, realised, realised less promised, billed above the
    contracts' prices, off contract and leakage: a row's money."""
    return (
        _num(money(spent))
        + _num(money(f.expected_saving), f.expected_saving)
        + _num(money(f.realised_saving), f.realised_saving)
        + _num(money(_difference(f)), _difference(f))
        + _num(money(f.price_variance), -f.price_variance)
        + _num(money(f.off_contract_spend))
        + _num(money(f.leakage), -f.leakage)
    )


_FIGURE_COLUMNS = (
    ">Invoiced on contract",
    ">Promised on that volume",
    ">Realised",
    ">Realised less promised",
    ">Billed above contract prices",
    ">Bought off contract",
    ">Leakage",
)


def _school_cell(urn: str, name: str | None, realised: Decimal | None = None) -> str:
    """The school heading a row; a realised cost increase is said in words there too."""
    tag = (
        '<span class="tag">cost increase</span>'
        if realised is not None and is_increase(realised)
        else ""
    )
    return (
        f'<th scope="row">{escape(school_name(urn, name))}{tag}'
        f'<br><span class="small">URN {escape(urn)}</span></th>'
    )


def _promised_by_school(s: TrustRealised, names: dict[str, str | None]) -> str:
    rows = "".join(
        f"<tr>{_school_cell(x.urn, names.get(x.urn), x.realised_saving)}"
        f"{_figures(x, x.contract_spend)}</tr>"
        for x in s.schools
    )
    total = (
        '<tfoot><tr><th scope="row">All schools</th>'
        f"{_figures(s, contract_spend(s.schools))}</tr></tfoot>"
    )
    short = -_difference(s)
    gap = (
        f"Together the schools realised {money(short)} less than promised."
        if short > 0
        else f"Together the schools realised {money(-short)} more than promised."
        if short < 0
        else "Together the schools realised exactly what was promised."
    )
    return _card(
        "promised",
        "Promised against realised, per school",
        '<p class="lede">For the invoices on contract: <strong>promised</strong> is what the'
        " contract's price saves against the school's own price before it, on the quantity"
        " actually invoiced; <strong>realised</strong> is that quantity at the school's own"
        " price less what it was invoiced. They differ by what was billed above (or below) the"
        f" contract's price. {escape(gap)} The yearly figures on the dashboard are on the"
        " volume forecast, not on these invoices.</p>"
        + _table(
            "Promised against realised, per school, for the invoices recorded",
            ("School", *_FIGURE_COLUMNS),
            rows,
            total,
        ),
    )


def _by_month(months: Sequence[MonthRealised]) -> str:
    if not months:
        return _card(
            "months",
            "Promised against realised, month by month",
            "<p>Nothing has been invoiced on a joint contract yet.</p>",
        )
    labels = [month_name(m.month) for m in months]
    series = [
        charts.Series(
            "Promised", [m.cumulative_expected_saving for m in months], PROMISED_COLOUR, True
        ),
        charts.Series(
            "Realised", [m.cumulative_realised_saving for m in months], charts.SAVING_COLOUR
        ),
    ]
    description = (
        "Two lines over the months of the invoices' periods: the running total promised"
        " (dashed) and the running total realised (solid). The table below gives the same"
        " figures."
    )
    title = "Promised and realised saving, running totals by month"
    chart = charts.line_chart(
        "chart-realised-months",
        title,
        description,
        labels,
        series,
        whole_pounds,
        money,
        kind="chart-wide",
    ) + charts.line_chart(
        "chart-realised-months-narrow",
        title,
        description,
        labels,
        series,
        compact_pounds,
        money,
        width=340,
        height=240,
        kind="chart-narrow",
    )
    rows = "".join(
        "<tr>"
        + _row(month_name(m.month), m.realised_saving)
        + _num(str(m.lines))
        + _num(money(m.contract_spend))
        + _num(money(m.expected_saving), m.expected_saving)
        + _num(money(m.realised_saving), m.realised_saving)
        + _num(money(m.cumulative_expected_saving), m.cumulative_expected_saving)
        + _num(money(m.cumulative_realised_saving), m.cumulative_realised_saving)
        + "</tr>"
        for m in months
    )
    key = (
        '<ul class="key" aria-hidden="true"><li><span class="swatch line promised"></span>'
        'Promised (dashed)</li><li><span class="swatch line saving"></span>Realised</li></ul>'
    )
    return _card(
        "months",
        "Promised against realised, month by month",
        '<p class="lede">Invoices on contract by the month their period starts: what the'
        " contracts promised on the quantities invoiced and what was realised, added up month"
        " after month.</p>"
        f"{key}<figure>{chart}</figure>"
        + _table(
            "Promised against realised, by the month the invoice's period starts",
            (
                "Month",
                ">Invoice lines on contract",
                ">Invoiced",
                ">Promised",
                ">Realised",
                ">Promised so far",
                ">Realised so far",
            ),
            rows,
        ),
    )


def _invoice_cells(line: SpendLine, with_school: bool, contract_supplier: bool = False) -> str:
    """The school (unless the page is the school's own: then the invoice heads the row), the
    invoice, category, supplier (with the contract's, for a line off contract) and period."""
    if with_school:
        named = (
            _school_cell(line.school_urn, line.school_name)
            + f'<td class="nowrap">{escape(line.invoice_ref)}</td>'
        )
    else:
        named = f'<th scope="row">{escape(line.invoice_ref)}</th>'
    contract = (
        f'<br><span class="small">contract: {escape(line.contract_supplier_id or "")}</span>'
        if contract_supplier
        else ""
    )
    return (
        named
        + f"<td>{escape(category_name(line.category))}</td>"
        + f"<td>{escape(line.supplier.strip())}{contract}</td>"
        + f'<td class="nowrap">{escape(period(line.period_start, line.period_end))}</td>'
    )


def _largest(lines: Sequence[SpendLine]) -> str:
    return ", the largest first" if len(lines) > 1 else ""


def _money_and_price(amount: Decimal | None, price: Decimal | None, unit: str) -> str:
    """A money cell with the unit price beneath it."""
    shown = money(amount) if amount is not None else ""
    each = f'<br><span class="small">{escape(price_paid(price, unit))}</span>' if price else ""
    return f'<td class="num">{escape(shown)}{each}</td>'


def _invoice_columns(with_school: bool) -> tuple[str, ...]:
    return ("School", "Invoice") if with_school else ("Invoice",)


@dataclass(frozen=True)
class _Invoices:
    """A table of named invoices: its section, words, and the figure each row ends with."""

    anchor: str
    heading: str
    none: str
    figure: str
    columns: tuple[str, ...]
    caption: str


_VARIANCES = _Invoices(
    "variances",
    "Price variances to chase",
    "No invoice on contract was billed above its contract's price.",
    "price_variance",
    ("Supplier", "Period", ">Billed", ">At the contract price", ">Billed above"),
    "Invoices billed above the contract's price",
)
_OFF_CONTRACT = _Invoices(
    "off-contract",
    "Bought off contract",
    "Nothing was bought from another supplier while a joint contract covered it.",
    "leakage",
    ("Invoiced by", "Period", ">Amount", ">At the contract price", ">Leakage"),
    "Invoices from another supplier than the joint contract's",
)


def _invoices(kind: _Invoices, lines: Sequence[SpendLine], lede: str, with_school: bool) -> str:
    """The invoices, each named (school, invoice, category, supplier, period) with what it was
    billed and would have cost at the contract's price, and `kind.figure` (in the increase
    colour above zero)."""
    if not lines:
        return _card(kind.anchor, kind.heading, f"<p>{escape(kind.none)}</p>")

    def figure(line: SpendLine) -> Decimal:
        value: Decimal | None = getattr(line, kind.figure)
        return value if value is not None else Decimal(0)

    rows = "".join(
        "<tr>"
        + _invoice_cells(line, with_school, contract_supplier=kind is _OFF_CONTRACT)
        + _money_and_price(line.amount, line.unit_price, line.unit)
        + _money_and_price(line.contract_cost, line.contract_unit_price, line.unit)
        + _num(money(figure(line)), -figure(line))
        + "</tr>"
        for line in lines
    )
    columns = (*_invoice_columns(with_school), "Category", *kind.columns)
    return _card(
        kind.anchor,
        kind.heading,
        f'<p class="lede">{escape(lede)}</p>' + _table(kind.caption, columns, rows),
    )


def _variances(lines: Sequence[SpendLine], with_school: bool = True) -> str:
    total = sum((line.price_variance or Decimal(0) for line in lines), Decimal("0.00"))
    lede = (
        f"{count(len(lines), 'invoice')} on contract billed above the contracted price,"
        f" {money(total)} in all{_largest(lines)}: ask the supplier for a credit note."
    )
    return _invoices(_VARIANCES, lines, lede, with_school)


def _off_contract(lines: Sequence[SpendLine], with_school: bool = True) -> str:
    spent = sum((line.amount for line in lines), Decimal("0.00"))
    leaked = sum((line.leakage or Decimal(0) for line in lines), Decimal("0.00"))
    lede = (
        f"{count(len(lines), 'invoice')} from another supplier while a joint contract covered"
        f" the school, {money(spent)} in all{_largest(lines)}. Leakage is what buying on the"
        f" contract would have saved ({money(leaked)} in all; below zero where the school found"
        " a lower price)."
    )
    return _invoices(_OFF_CONTRACT, lines, lede, with_school)


def _contracts(contracts: Sequence[ContractRealised], lines: Sequence[SpendLine]) -> str:
    def status(c: ContractRealised) -> str:
        if c.annualised_quantity is None:
            return "nothing bought on it yet"
        if c.tier_minimum is None:
            return "tier not known"
        return '<span class="tag">at risk</span>' if c.tier_at_risk else "at or above the tier"

    rows = "".join(
        f'<tr><th scope="row">{escape(_contract_name(c))}</th>'
        + _num(
            "none yet"
            if c.annualised_quantity is None
            else quantity(c.annualised_quantity, unit_of(c.category, lines))
        )
        + _num(
            "not known"
            if c.tier_minimum is None
            else quantity(c.tier_minimum, unit_of(c.category, lines))
        )
        + f"<td>{status(c)}</td></tr>"
        for c in contracts
    )
    return _card(
        "contracts",
        "Volume bought against each contract's price tier",
        '<p class="lede">The quantity bought on each joint contract, annualised over the span'
        " of its invoices, against the minimum quantity of the price tier that set its price."
        " Below it the supplier may re-price.</p>"
        + _table(
            "Each joint contract's volume bought a year, against its price tier",
            ("Contract", ">Bought a year", ">Price tier minimum", "Tier"),
            rows,
        ),
    )


def _opportunities(
    trust_id: str, spend: Sequence[UncontractedSpend], lines: Sequence[SpendLine]
) -> str:
    if not spend:
        return _card(
            "opportunities",
            "Spend outside the joint contracts",
            "<p>Every invoice recorded is covered by a joint contract.</p>",
        )

    def unit(u: UncontractedSpend) -> str:
        return unit_of(u.category, lines)

    rows = "".join(
        f'<tr><th scope="row">{escape(category_name(u.category))}</th>'
        + _num(str(u.schools))
        + _num(quantity(u.quantity, unit(u)))
        + _num(money(u.amount))
        + _num(price_paid(u.lowest_unit_price, unit(u)))
        + _num(price_paid(u.median_unit_price, unit(u)))
        + _num(price_paid(u.highest_unit_price, unit(u)))
        + _num(money(u.opportunity))
        + "</tr>"
        for u in spend
    )
    example = escape(spend[0].category)
    return _card(
        "opportunities",
        "Spend outside the joint contracts: opportunities",
        '<p class="lede">What the schools bought where no joint contract covers them, per'
        " category. The <strong>opportunity</strong> is how much less that spend would have"
        " cost had every invoice been at the lowest unit price any of the trust's schools paid"
        " for the category: a first measure of what buying it together could save, not a"
        " promise.</p>"
        + _table(
            "Uncontracted spend per category, with the spread of unit prices paid",
            (
                "Category",
                ">Schools",
                ">Quantity",
                ">Spend",
                ">Lowest price",
                ">Median price",
                ">Highest price",
                ">Opportunity",
            ),
            rows,
        )
        + "<p>To pool a category, turn its spend into demand: the trust's manager asks the"
        " demand service (not this dashboard) to register a demand line for each school that"
        " bought it, for example:</p>"
        '<pre class="hint-code"><code>curl -X POST "$DEMAND_URL/v1/trusts/'
        f'{escape(quote(trust_id))}/spend/demand" \\\n  -H "Authorization: Bearer $TOKEN"'
        ' -H "Content-Type: application/json" \\\n'
        f'  -d \'{{"category": "{example}", "contract_end": "2027-08-31",'
        ' "term_months": 24}\'</code></pre>',
    )


def _method() -> str:
    return (
        '<section class="card" id="method" aria-labelledby="method-heading">'
        '<h2 id="method-heading">How the figures are worked out</h2>'
        "<p>Each invoice line (quantity x, amount A) belongs to the school's joint contract for"
        " its category whose supply covers the day its period starts. With the school's own"
        " price before the contract b and the contract's price p:</p><ul>"
        "<li>on contract (the contract's supplier): promised = x &times; (b &minus; p);"
        " realised = x &times; b &minus; A; billed above the contract's price = A &minus;"
        " x &times; p;</li>"
        "<li>off contract (another supplier): leakage = A &minus; x &times; p;</li>"
        "<li>uncontracted (no contract covers it): opportunity = A &minus; x &times; m, m the"
        " lowest unit price paid for the category.</li></ul>"
        "<p>Each figure is rounded to the penny (half up) once per line; totals add the rounded"
        " lines. A negative saving is a cost increase and is counted as one.</p></section>"
    )


def own_realised(r: OwnRealised) -> str:
    """The school's own savings achieved: promised against realised, and its own invoices to
    chase and bought off contract; nothing of any other school."""
    title = "Savings achieved"
    if not r.lines:
        return _card(
            "realised",
            title,
            "<p>No invoices recorded yet. Once your finance system posts what the school was"
            " invoiced, what it saved is shown here.</p>",
        )
    csv_url = f"/schools/{quote(r.urn)}/realised.csv"
    gap = _difference(r)
    return _card(
        "realised",
        title,
        '<p class="lede">From your invoices on contract: <strong>promised</strong> is what the'
        " contract's price saves against your own price before it, on the quantity invoiced;"
        " <strong>realised</strong> is that quantity at your own price less what you were"
        " invoiced.</p>"
        + _facts(
            ("Invoiced on contract", escape(money(r.contract_spend))),
            ("Promised on that volume", escape(money(r.expected_saving))),
            ("Realised", escape(money(r.realised_saving))),
            ("Realised less promised", escape(money(gap))),
            ("Billed above contract prices", escape(money(r.price_variance))),
            ("Bought off contract", escape(money(r.off_contract_spend))),
            ("Leakage", escape(money(r.leakage))),
        )
        + f'<p><a href="{escape(csv_url)}" download>Download your invoice lines (CSV)</a></p>'
        + _sub(_variances(to_chase(r.lines), with_school=False))
        + _sub(_off_contract(off_contract(r.lines), with_school=False)),
        kind="card realised",
    )


def _sub(section: str) -> str:
    """A section drawn inside another: its heading one level down, no card of its own."""
    return (
        section.replace('class="card"', 'class="subsection"', 1)
        .replace("<h2 ", "<h3 ", 1)
        .replace("</h2>", "</h3>", 1)
    )

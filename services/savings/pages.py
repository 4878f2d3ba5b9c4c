"""The dashboard's HTML, rendered from the read models (pure: no I/O, easy to test).

Every chart comes with a table of the same figures, so nothing depends on seeing a colour or a
shape; the page needs no JavaScript and prints on A4.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from html import escape
from pathlib import Path
from urllib.parse import quote

from services.savings import charts
from services.savings.presentation import (
    category_name,
    compact_pounds,
    compact_quantity,
    headlines,
    is_increase,
    money,
    percent,
    quantity,
    school_name,
    unit_price,
    whole_pounds,
)
from services.savings.reports import (
    CategoryBreakdown,
    ContractSavings,
    LedgerEntry,
    MonthSavings,
    TrustSavings,
)

CSS = Path(__file__).with_name("dashboard.css").read_text(encoding="utf-8")


@dataclass(frozen=True)
class Dashboard:
    summary: TrustSavings
    categories: list[CategoryBreakdown]
    contracts: list[ContractSavings]
    months: list[MonthSavings]
    entries: list[LedgerEntry]
    generated_at: datetime


def layout(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="en-GB"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>{body}</body></html>"
    )


def sign_in_page(error: str | None = None) -> str:
    alert = f'<p class="error" role="alert" id="token-error">{escape(error)}</p>' if error else ""
    described = "token-help token-error" if error else "token-help"
    return layout(
        "Sign in: savings dashboard",
        '<main class="narrow card"><p class="eyebrow">Collective procurement</p>'
        "<h1>Savings dashboard</h1>"
        "<p>For trust business managers. Sign in with the manager token for your trust; you"
        " will see that trust's savings only.</p>"
        f'{alert}<form method="post" action="/sign-in">'
        '<label for="token">Manager token</label>'
        f'<input id="token" name="token" type="password" autocomplete="off" required'
        f' aria-describedby="{described}">'
        '<p class="hint" id="token-help">Paste it once: this browser keeps you signed in until'
        " you sign out or close it.</p>"
        '<button type="submit">Sign in</button></form></main>',
    )


def error_page(title: str, detail: str) -> str:
    return layout(
        title,
        f'<main class="narrow card"><h1>{escape(title)}</h1><p>{escape(detail)}</p>'
        '<form method="post" action="/sign-out"><button type="submit">Sign in as someone else'
        "</button></form></main>",
    )


def month_name(month: str) -> str:
    return datetime.strptime(month, "%Y-%m").strftime("%b %Y")


def _num(text: str, saving: Decimal | None = None) -> str:
    """A right-aligned number cell, in the cost-increase colour when `saving` is negative."""
    if saving is not None and is_increase(saving):
        return f'<td class="num increase">{escape(text)}</td>'
    return f'<td class="num">{escape(text)}</td>'


def _row(name: str, saving: Decimal, extra: str = "") -> str:
    """A row's heading cell; a cost increase is said in words there, not only in colour."""
    tag = '<span class="tag">cost increase</span>' if is_increase(saving) else ""
    return f'<th scope="row">{escape(name)}{tag}{extra}</th>'


def _head(*columns: str) -> str:
    cells = "".join(
        f'<th scope="col" class="num">{escape(c[1:])}</th>'
        if c.startswith(">")
        else f'<th scope="col">{escape(c)}</th>'
        for c in columns
    )
    return f"<thead><tr>{cells}</tr></thead>"


def dashboard_page(d: Dashboard) -> str:
    s = d.summary
    title = s.trust_name or f"Trust {s.trust_id}"
    csv_url = f"/trusts/{quote(s.trust_id)}/ledger.csv"
    body = [
        '<header class="masthead"><div class="wrap"><div>'
        '<p class="eyebrow">Savings from buying together</p>'
        f"<h1>{escape(title)}</h1>"
        f'<p class="meta">Trust {escape(s.trust_id)} &middot; {len(s.schools)} schools &middot;'
        f" {len(d.contracts)} joint contracts &middot; figures at"
        f" {d.generated_at.strftime('%d %B %Y, %H:%M %Z')}</p></div>"
        '<nav class="no-print" aria-label="Dashboard">'
        f'<a href="{escape(csv_url)}" download>Download the ledger (CSV)</a>'
        '<form method="post" action="/sign-out"><button type="submit">Sign out</button></form>'
        '</nav></div></header><main class="wrap">'
    ]
    body.append(_headline(s))
    if not d.entries:
        body.append(
            '<section class="card"><h2>No savings yet</h2><p>No joint contract has been awarded'
            " for this trust yet. Savings appear here as soon as one is.</p></section>"
        )
    else:
        body += [
            _cost_increases(d.entries),
            _schools(s),
            _categories(d.categories),
            _pooling(d.entries, d.categories),
            _months(d.months),
            _contracts(d.contracts),
        ]
    body.append(_method(d.entries))
    body.append("</main>")
    return layout(f"Savings: {title}", "".join(body))


def _headline(s: TrustSavings) -> str:
    items = []
    for h in headlines(s):
        kind = "pooling" if h.key == "pooling-saving" else ""
        if h.label.startswith(("Cost increase", "Increase")):
            kind = "increase"
        items.append(
            f'<div class="figure {kind}"><dt>{escape(h.label)}</dt>'
            f'<dd class="value" id="{h.key}">{escape(h.value)}</dd>'
            f'<dd class="note">{escape(h.note)}</dd></div>'
        )
    return (
        '<section aria-labelledby="headline-heading">'
        '<h2 id="headline-heading" class="visually-hidden">Headline figures</h2>'
        f'<dl class="headline">{"".join(items)}</dl></section>'
    )


def _cost_increases(entries: Sequence[LedgerEntry]) -> str:
    dearer = [e for e in entries if is_increase(e.annual_saving)]
    if not dearer:
        return ""
    items = "".join(
        f"<li><strong>{escape(school_name(e.school_urn, e.school_name))}</strong>"
        f" (URN {escape(e.school_urn)}), {escape(category_name(e.category).lower())}:"
        f" {escape(money(-e.annual_saving))} a year more than today"
        f" ({escape(money(e.annual_baseline_cost))} now, {escape(money(e.annual_contract_cost))}"
        f" under the joint contract: it pays {escape(unit_price(e.baseline_unit_price, e.unit))}"
        f" today against the joint {escape(unit_price(e.pooled_unit_price, e.unit))})</li>"
        for e in dearer
    )
    lines = "line costs" if len(dearer) == 1 else "lines cost"
    return (
        '<section class="card callout" aria-labelledby="increases-heading">'
        '<h2 id="increases-heading">Cost increases</h2>'
        f"<p>{len(dearer)} contract {lines} more under the joint contracts than the school"
        " pays today. They are counted in every total above, not netted away.</p>"
        f"<ul>{items}</ul></section>"
    )


def _key(values: Sequence[Decimal]) -> str:
    increase = (
        '<li><span class="swatch increase"></span>Cost increase (left of zero)</li>'
        if any(is_increase(v) for v in values)
        else ""
    )
    return (
        '<ul class="key" aria-hidden="true"><li><span class="swatch saving"></span>Saving</li>'
        f"{increase}</ul>"
    )


def _schools(s: TrustSavings) -> str:
    ranked = sorted(s.schools, key=lambda x: (-x.annual_saving, x.urn))
    chart = charts.bar_chart(
        "chart-schools",
        "Saving per year, by school",
        "Horizontal bars, one per school, largest saving first; a bar left of zero is a cost"
        " increase. The table below gives the same figures.",
        [
            charts.Bar(school_name(x.urn, x.name), x.annual_saving, money(x.annual_saving))
            for x in ranked
        ],
        whole_pounds,
    )
    rows = "".join(
        "<tr>"
        + _row(school_name(x.urn, x.name), x.annual_saving)
        + f"<td>{escape(x.urn)}</td>"
        + _num(money(x.annual_baseline_cost))
        + _num(money(x.annual_contract_cost))
        + _num(money(x.annual_saving), x.annual_saving)
        + _num(percent(x.saving_pct), x.annual_saving)
        + _num(money(x.term_saving), x.term_saving)
        + _num(money(x.economy_of_scale))
        + "</tr>"
        for x in ranked
    )
    total = (
        "<tfoot><tr>"
        + _row("All schools", s.annual_saving)
        + "<td></td>"
        + _num(money(s.annual_baseline_cost))
        + _num(money(s.annual_contract_cost))
        + _num(money(s.annual_saving), s.annual_saving)
        + _num(percent(s.saving_pct), s.annual_saving)
        + _num(money(s.term_saving), s.term_saving)
        + _num(money(s.economy_of_scale))
        + "</tr></tfoot>"
    )
    return (
        '<section class="card" id="schools" aria-labelledby="schools-heading">'
        '<h2 id="schools-heading">Savings per school</h2>'
        '<p class="lede">What each school saves a year under the joint contracts, against what'
        " it pays today on its own.</p>"
        f"{_key([x.annual_saving for x in ranked])}<figure>{chart}</figure>"
        '<div class="table-wrap"><table><caption>Savings per school, per year unless'
        " stated</caption>"
        + _head(
            "School",
            "URN",
            ">Today",
            ">Joint contracts",
            ">Saving",
            ">Saving %",
            ">Over the terms",
            ">Pooling alone",
        )
        + f"<tbody>{rows}</tbody>{total}</table></div></section>"
    )


def _categories(rows: Sequence[CategoryBreakdown]) -> str:
    chart = charts.bar_chart(
        "chart-categories",
        "Saving per year, by category",
        "Horizontal bars, one per category; a bar left of zero is a cost increase. The table"
        " beside gives the same figures.",
        [
            charts.Bar(category_name(c.category), c.annual_saving, money(c.annual_saving))
            for c in rows
        ],
        whole_pounds,
    )
    body = "".join(
        "<tr>"
        + _row(category_name(c.category), c.annual_saving)
        + _num(str(c.schools))
        + _num(quantity(c.quantity, c.unit))
        + _num(money(c.annual_baseline_cost))
        + _num(money(c.annual_saving), c.annual_saving)
        + _num(percent(c.saving_pct), c.annual_saving)
        + _num(money(c.term_saving), c.term_saving)
        + "</tr>"
        for c in rows
    )
    return (
        '<section class="card" id="categories" aria-labelledby="categories-heading">'
        '<h2 id="categories-heading">Savings per category</h2>'
        f"{_key([c.annual_saving for c in rows])}<figure>{chart}</figure>"
        '<div class="table-wrap"><table><caption>Savings per category, per year unless'
        " stated</caption>"
        + _head(
            "Category", ">Schools", ">Volume", ">Today", ">Saving", ">Saving %", ">Over the terms"
        )
        + f"<tbody>{body}</tbody></table></div></section>"
    )


def _pooling(entries: Sequence[LedgerEntry], categories: Sequence[CategoryBreakdown]) -> str:
    figures = []
    for c in categories:
        points = [
            charts.Point(
                school_name(e.school_urn, e.school_name),
                e.quantity,
                e.economy_of_scale,
                f"{quantity(e.quantity, e.unit)} a year; pooling alone {money(e.economy_of_scale)}",
            )
            for e in entries
            if e.category == c.category and e.unit == c.unit
        ]
        name = category_name(c.category)
        chart = charts.scatter_chart(
            f"chart-pooling-{c.category}-{c.unit}",
            f"{name}: pooling alone against the school's own volume",
            f"One dot per school: across, the school's own yearly volume in {c.unit}; up, what"
            " pooling alone saves it a year. The table below gives the same figures.",
            points,
            f"School's own volume a year ({c.unit})",
            "Pooling alone a year",
            compact_quantity,
            compact_pounds,
        )
        figures.append(
            f"<figure><figcaption><strong>{escape(name)}</strong>: {len(points)} schools,"
            f" pooling alone {escape(money(c.economy_of_scale))} a year</figcaption>"
            f"{chart}</figure>"
        )
    ordered = sorted(entries, key=lambda e: (category_name(e.category), e.quantity, e.school_urn))
    rows = "".join(
        f"<tr><td>{escape(category_name(e.category))}</td>"
        f'<th scope="row">{escape(school_name(e.school_urn, e.school_name))}</th>'
        + _num(quantity(e.quantity, e.unit))
        + _num(unit_price(e.solo_unit_price, e.unit))
        + _num(unit_price(e.pooled_unit_price, e.unit))
        + _num(money(e.economy_of_scale))
        + "</tr>"
        for e in ordered
    )
    return (
        '<section class="card" id="pooling" aria-labelledby="pooling-heading">'
        '<h2 id="pooling-heading">What pooling alone contributed</h2>'
        '<p class="lede">The part of the saving only buying together made possible: what the'
        " winning supplier would charge a school for its own volume alone, minus the joint price,"
        " times its volume. Each dot is one school; smaller buyers usually gain most.</p>"
        f'<div class="charts">{"".join(figures)}</div>'
        f"<details><summary>The figures behind these charts ({len(ordered)} lines)</summary>"
        '<div class="table-wrap"><table><caption>Pooling alone, per school and category,'
        " smallest volume first</caption>"
        + _head(
            "Category",
            "School",
            ">Own volume a year",
            ">Price alone",
            ">Joint price",
            ">Pooling alone a year",
        )
        + f"<tbody>{rows}</tbody></table></div></details></section>"
    )


def _months(months: Sequence[MonthSavings]) -> str:
    chart = charts.bar_chart(
        "chart-months",
        "Saving per year of the contracts starting each month",
        "Horizontal bars, one per month in which joint contracts start. The table below gives"
        " the same figures and the running total.",
        [charts.Bar(month_name(m.month), m.annual_saving, money(m.annual_saving)) for m in months],
        whole_pounds,
    )
    rows = "".join(
        "<tr>"
        + _row(month_name(m.month), m.annual_saving)
        + _num(str(m.contracts))
        + _num(money(m.annual_saving), m.annual_saving)
        + _num(money(m.term_saving), m.term_saving)
        + _num(money(m.cumulative_annual_saving), m.cumulative_annual_saving)
        + "</tr>"
        for m in months
    )
    return (
        '<section class="card" id="months" aria-labelledby="months-heading">'
        '<h2 id="months-heading">Savings over time</h2>'
        '<p class="lede">By the month the joint contracts start: the yearly saving each month'
        " adds, and the yearly saving in place from then on.</p>"
        f"<figure>{chart}</figure>"
        '<div class="table-wrap"><table><caption>Savings by contract start month</caption>'
        + _head(
            "Contracts start",
            ">Contracts",
            ">Saving a year",
            ">Over the terms",
            ">Running total a year",
        )
        + f"<tbody>{rows}</tbody></table></div></section>"
    )


def _contracts(contracts: Sequence[ContractSavings]) -> str:
    rows = "".join(
        f'<tr><th scope="row"><a href="{escape(c.tender_url)}">'
        f"{escape(category_name(c.category))} tender</a>"
        + ('<span class="tag">cost increase</span>' if is_increase(c.annual_saving) else "")
        + f'<br><span class="id" title="{c.tender_id}">{str(c.tender_id)[:8]}</span></th>'
        f'<td class="nowrap">{escape(c.supplier_id)}</td>'
        f'<td class="nowrap">{c.contract_start.strftime("%d %b %Y")}'
        f'<br><span class="small">{c.term_months} months</span></td>'
        + _num(str(c.schools))
        + _num(quantity(c.pooled_quantity, c.unit))
        + _num(unit_price(c.pooled_unit_price, c.unit))
        + _num(money(c.annual_saving), c.annual_saving)
        + _num(money(c.term_saving), c.term_saving)
        + "</tr>"
        for c in contracts
    )
    return (
        '<section class="card" id="contracts" aria-labelledby="contracts-heading">'
        '<h2 id="contracts-heading">Joint contracts</h2>'
        '<div class="table-wrap"><table><caption>The trust\'s awarded joint contracts, with'
        " links to their tenders</caption>"
        + _head(
            "Contract",
            "Supplier",
            "Starts, term",
            ">Schools",
            ">Volume a year",
            ">Joint price",
            ">Saving a year",
            ">Over the term",
        )
        + f"<tbody>{rows}</tbody></table></div></section>"
    )


def _method(entries: Sequence[LedgerEntry]) -> str:
    versions = ", ".join(sorted({e.rule_version for e in entries})) or "none yet"
    return (
        '<footer class="card" aria-labelledby="method-heading">'
        '<h2 id="method-heading">How the figures are worked out</h2>'
        "<p>For each school's line in a joint contract, with its yearly volume q, today's unit"
        " price b, the joint price p, the winning bid's price s for the school's volume alone,"
        " and the contract's term T months:</p><ul>"
        "<li>today per year = q &times; b; joint contracts per year = q &times; p;</li>"
        "<li>saving per year = today &minus; joint; over the term = saving &times; T / 12;"
        " saving % = saving / today;</li>"
        "<li>pooling alone per year = q &times; (s &minus; p).</li></ul>"
        "<p>Each figure is rounded to the penny (half up) once, at the end; totals add the"
        " rounded lines, so they match what each school is shown. A negative saving is a cost"
        f" increase and is counted as one. Rule version: {escape(versions)}.</p></footer>"
    )

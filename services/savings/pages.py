"""The dashboard's HTML and each joint contract's page, rendered from the read models (pure: no
I/O, easy to test).

Every chart comes with a table of the same figures, so nothing depends on seeing a colour or a
shape; the pages need no JavaScript and print on A4. Every form carries the CSRF token it is
given (see dashboard.py).
"""

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from html import escape
from pathlib import Path
from urllib.parse import quote
from uuid import UUID

from services.savings import charts
from services.savings.domain.ledger import is_increase
from services.savings.presentation import (
    Headline,
    category_name,
    compact_pounds,
    compact_quantity,
    count,
    headlines,
    local_time,
    long_date,
    money,
    percent,
    quantity,
    school_name,
    unit_price,
    whole_pounds,
)
from services.savings.reports import (
    CategoryBreakdown,
    ContractAward,
    ContractDetail,
    ContractSavings,
    Figures,
    LedgerEntry,
    MonthSavings,
    SchoolDetail,
    TrustSavings,
)
from shared.domain.suppliers import supplier_label

CSS = Path(__file__).with_name("dashboard.css").read_text(encoding="utf-8")
# The hidden field of every form: it must match the browser's CSRF cookie (dashboard.py).
CSRF_FIELD = "csrf_token"


@dataclass(frozen=True)
class Dashboard:
    summary: TrustSavings
    categories: list[CategoryBreakdown]
    contracts: list[ContractSavings]
    months: list[MonthSavings]
    entries: list[LedgerEntry]
    generated_at: datetime


@dataclass(frozen=True)
class ContractPage:
    trust_id: str
    trust_name: str | None
    contract: ContractDetail
    generated_at: datetime


@dataclass(frozen=True)
class SchoolPage:
    """A school's own page: its figures and entries, nothing of any other school's."""

    school: SchoolDetail
    generated_at: datetime
    # More of its own sections, HTML: its savings achieved (realised_pages.own_realised).
    more: str = ""


@dataclass(frozen=True)
class Part:
    """A page without its frame: its title, the links its header carries (HTML) and its main
    content (HTML). The dashboard frames it in its own header (`framed`); the web workspace, which
    asks for it with a person's bearer token, in its header and navigation (`embedded`)."""

    title: str
    main: str
    links: str = ""
    narrow: bool = False


def framed(part: Part, csrf: str) -> str:
    """The whole page as the dashboard serves it: its links, then the sign-out form."""
    nav = part.links + _sign_out(csrf) if part.links else ""
    return layout(part.title, part.main, nav=nav, narrow=part.narrow)


def embedded(part: Part) -> str:
    """The page's main content for the workspace's frame: its links at the top (the workspace
    has its own sign-out), and no form, so no CSRF token is needed."""
    links = (
        f'<nav class="page-links no-print" aria-label="This page">{part.links}</nav>'
        if part.links
        else ""
    )
    return f'<div class="savings-pages">{links}{part.main}</div>'


def contract_path(trust_id: str, tender_id: UUID) -> str:
    return f"/trusts/{quote(trust_id)}/contracts/{tender_id}"


def layout(title: str, main: str, *, nav: str = "", narrow: bool = False) -> str:
    """A page in the GOV.UK pattern: a skip link, the service's header (with `nav`, HTML: the
    page's links and the sign-out form), the page's own `main` (HTML) and the footer."""
    header = (
        '<header class="service-header"><div class="wrap">'
        '<p class="service-name">Collective procurement<span> savings</span></p>'
        + (f'<nav class="no-print" aria-label="Account and downloads">{nav}</nav>' if nav else "")
        + "</div></header>"
    )
    footer = (
        '<footer class="site-footer"><div class="wrap"><p>Collective procurement: what buying'
        " together saves each school. Times are UK time (Europe/London); money is in pounds."
        "</p></div></footer>"
    )
    main_class = ' class="narrow card"' if narrow else ""
    return (
        '<!doctype html><html lang="en-GB"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>"
        '<a href="#main-content" class="skip-link">Skip to main content</a>'
        f'{header}<main id="main-content" tabindex="-1"{main_class}>{main}</main>{footer}'
        "</body></html>"
    )


def _csrf_field(csrf: str) -> str:
    return f'<input type="hidden" name="{CSRF_FIELD}" value="{escape(csrf)}">'


def _sign_out(csrf: str, label: str = "Sign out") -> str:
    return (
        f'<form method="post" action="/sign-out">{_csrf_field(csrf)}'
        f'<button type="submit">{escape(label)}</button></form>'
    )


def _duration(amount: float, unit: str) -> str:
    """12 hours, 1 minute, 0.5 minutes."""
    return f"{amount:g} {unit}" if amount == 1 else f"{amount:g} {unit}s"


def sign_in_page(
    csrf: str, error: str | None = None, *, idle_minutes: float = 30, max_hours: float = 12
) -> str:
    """The sign-in form; the hint says when a session ends (dashboard.py's settings). An error
    is shown as GOV.UK does: a summary at the top linking to the field, and again at the field."""
    summary = (
        '<div class="error-summary" role="alert" aria-labelledby="error-summary-title">'
        '<h2 id="error-summary-title">There is a problem</h2>'
        f'<ul><li><a href="#token">{escape(error)}</a></li></ul></div>'
        if error
        else ""
    )
    message = (
        f'<p class="error-message" id="token-error"><span class="visually-hidden">Error:</span>'
        f" {escape(error)}</p>"
        if error
        else ""
    )
    described = "token-help token-error" if error else "token-help"
    return layout(
        ("Error: " if error else "") + "Sign in: savings dashboard",
        f'{summary}<p class="eyebrow">Collective procurement</p><h1>Savings dashboard</h1>'
        "<p>For trust business managers and schools. Sign in with the token for your trust"
        " (a manager token) or for your school; you will see that trust's savings, or your"
        " school's own, only.</p>"
        f'<form method="post" action="/sign-in">{_csrf_field(csrf)}'
        f'<div class="field{" field-error" if error else ""}">'
        '<label for="token">Manager or school token</label>'
        '<p class="hint" id="token-help">Paste it once: this browser keeps you signed in until'
        f" you sign out or close it, for at most {_duration(max_hours, 'hour')}; after"
        f" {_duration(idle_minutes, 'minute')} without use you sign in again.</p>{message}"
        f'<input id="token" name="token" type="password" autocomplete="off" required'
        f' aria-describedby="{described}"></div>'
        '<button type="submit">Sign in</button></form>',
        narrow=True,
    )


def error_page(title: str, detail: str, csrf: str, back: str | None = None) -> str:
    """A refusal, with a way on: back to the dashboard if given, else sign in as someone else."""
    if back:
        return framed(missing_part(title, detail, back), csrf)
    onward = _sign_out(csrf, "Sign in as someone else")
    return layout(title, f"<h1>{escape(title)}</h1><p>{escape(detail)}</p>{onward}", narrow=True)


def missing_part(title: str, detail: str, back: str) -> Part:
    """Something not found (`detail`), with a way back to the dashboard."""
    onward = f'<p><a href="{escape(back)}">Back to the dashboard</a></p>'
    main = f"<h1>{escape(title)}</h1><p>{escape(detail)}</p>{onward}"
    return Part(title, main, narrow=True)


def month_name(month: str) -> str:
    """Apr 2027, kept on one line (a no-break space) in a phone's narrow table."""
    return datetime.strptime(month, "%Y-%m").strftime("%b\u00a0%Y")


def _num(text: str, saving: Decimal | None = None) -> str:
    """A right-aligned number cell, in the cost-increase colour when `saving` is negative."""
    if saving is not None and is_increase(saving):
        return f'<td class="num increase">{escape(text)}</td>'
    return f'<td class="num">{escape(text)}</td>'


def _row(name: str, saving: Decimal, extra: str = "") -> str:
    """A row's heading cell; a cost increase is said in words there, not only in colour."""
    tag = '<span class="tag">cost increase</span>' if is_increase(saving) else ""
    return f'<th scope="row">{escape(name)}{tag}{extra}</th>'


def _figure_cells(f: Figures) -> str:
    """Today, joint contract, saving, saving %, over the term, pooling alone: a row's money."""
    return (
        _num(money(f.annual_baseline_cost))
        + _num(money(f.annual_contract_cost))
        + _num(money(f.annual_saving), f.annual_saving)
        + _num(percent(f.saving_pct), f.annual_saving)
        + _num(money(f.term_saving), f.term_saving)
        + _num(money(f.economy_of_scale))
    )


# The headings of _figure_cells' columns, for one contract's lines.
_ONE_CONTRACTS_FIGURES = (
    ">Today",
    ">Joint contract",
    ">Saving",
    ">Saving %",
    ">Over the term",
    ">Pooling alone",
)


def _figures_row(name: str, f: Figures, before: str, extra: str = "") -> str:
    """A row: its heading (`extra` HTML after the name), `before` (HTML cells), its figures."""
    return "<tr>" + _row(name, f.annual_saving, extra) + before + _figure_cells(f) + "</tr>"


def _table(caption: str, columns: Sequence[str], body: str, foot: str = "") -> str:
    """A table that scrolls on a narrow screen; `caption`, `body` and `foot` are HTML. Its box
    is a region named by the caption that takes keyboard focus, so that it can be scrolled
    without a mouse (WCAG 2.1.1)."""
    name = re.sub(r"<[^>]*>", "", caption)  # the caption's words, still escaped
    return (
        f'<div class="table-wrap" role="region" aria-label="{name}" tabindex="0">'
        f"<table><caption>{caption}</caption>{_head(*columns)}"
        f"<tbody>{body}</tbody>{foot}</table></div>"
    )


_BARS_BY_SCHOOL = (
    "Horizontal bars, one per school, largest saving first; a bar left of zero is a cost"
    " increase. The table below gives the same figures."
)


def _card(anchor: str, heading: str, content: str, kind: str = "card") -> str:
    """A section of the page, found at #`anchor` and named by its heading; `content` is HTML."""
    return (
        f'<section class="{kind}" id="{anchor}" aria-labelledby="{anchor}-heading">'
        f'<h2 id="{anchor}-heading">{escape(heading)}</h2>{content}</section>'
    )


def _saving_figure(
    chart_id: str,
    title: str,
    description: str,
    bars: Iterable[tuple[str, Decimal]],
    *,
    with_key: bool = True,
) -> str:
    """Horizontal bars of a yearly saving, one per (label, saving), in a figure: drawn wide for a
    desktop and narrow for a phone (the page's style shows one of them), after their key (which
    names a cost increase when a bar is one) unless `with_key` is False."""
    drawn = [charts.Bar(label, saving, money(saving)) for label, saving in bars]
    wide = charts.bar_chart(chart_id, title, description, drawn, whole_pounds, kind="chart-wide")
    narrow = charts.bar_chart(
        f"{chart_id}-narrow",
        title,
        description,
        drawn,
        compact_pounds,
        width=340,
        kind="chart-narrow",
        narrow=True,
    )
    key = _key([bar.value for bar in drawn]) if with_key else ""
    return f"{key}<figure>{wide}{narrow}</figure>"


def _head(*columns: str) -> str:
    cells = "".join(
        f'<th scope="col" class="num">{escape(c[1:])}</th>'
        if c.startswith(">")
        else f'<th scope="col">{escape(c)}</th>'
        for c in columns
    )
    return f"<thead><tr>{cells}</tr></thead>"


def _masthead(eyebrow: str, title: str, meta: str) -> str:
    """The page's heading band, at the top of its main content; `meta` is HTML."""
    return (
        '<div class="masthead"><div class="wrap">'
        f'<p class="eyebrow">{escape(eyebrow)}</p><h1>{escape(title)}</h1>'
        f'<p class="meta">{meta}</p></div></div>'
    )


def page_links(page: tuple[str, str], csv: tuple[str, str]) -> str:
    """The links of a signed-in page: one to another page and one to a CSV download, each
    (address, words)."""
    return (
        f'<a href="{escape(page[0])}">{escape(page[1])}</a>'
        f'<a href="{escape(csv[0])}" download>{escape(csv[1])}</a>'
    )


def _at(moment: datetime) -> str:
    return local_time(moment)


def dashboard_page(d: Dashboard, csrf: str) -> str:
    return framed(dashboard_part(d), csrf)


def dashboard_part(d: Dashboard) -> Part:
    s = d.summary
    title = s.trust_name or f"Trust {s.trust_id}"
    csv_url = f"/trusts/{quote(s.trust_id)}/ledger.csv"
    body = [
        _masthead(
            "Savings from buying together",
            title,
            f"Trust {escape(s.trust_id)} &middot; {count(len(s.schools), 'school')} &middot;"
            f" {count(len(d.contracts), 'joint contract')} &middot; figures at"
            f" {escape(_at(d.generated_at))}",
        ),
        '<div class="wrap">',
    ]
    body.append(_headline(headlines(s)))
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
            _contracts(s.trust_id, d.contracts),
        ]
    body.append(_method(d.entries))
    body.append("</div>")
    links = page_links(
        (f"/trusts/{quote(s.trust_id)}/realised", "Savings achieved"),
        (csv_url, "Download the ledger (CSV)"),
    )
    return Part(f"Savings: {title}", "".join(body), links)


def _headline(figures: Sequence[Headline]) -> str:
    items = []
    for h in figures:
        items.append(
            f'<div class="figure {h.kind}"><dt>{escape(h.label)}</dt>'
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
    lines = count(len(dearer), "contract line") + (" costs" if len(dearer) == 1 else " cost")
    return (
        '<section class="card callout" aria-labelledby="increases-heading">'
        '<h2 id="increases-heading">Cost increases</h2>'
        f"<p>{lines} more under the joint contracts than the school"
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
    figure = _saving_figure(
        "chart-schools",
        "Saving per year, by school",
        _BARS_BY_SCHOOL,
        ((school_name(x.urn, x.name), x.annual_saving) for x in ranked),
    )
    rows = "".join(
        _figures_row(school_name(x.urn, x.name), x, f"<td>{escape(x.urn)}</td>") for x in ranked
    )
    total = "<tfoot>" + _figures_row("All schools", s, "<td></td>") + "</tfoot>"
    return _card(
        "schools",
        "Savings per school",
        '<p class="lede">What each school saves a year under the joint contracts, against what'
        " it pays today on its own.</p>"
        + figure
        + _table(
            "Savings per school, per year unless stated",
            (
                "School",
                "URN",
                ">Today",
                ">Joint contracts",
                ">Saving",
                ">Saving %",
                ">Over the terms",
                ">Pooling alone",
            ),
            rows,
            total,
        ),
    )


def _categories(rows: Sequence[CategoryBreakdown]) -> str:
    figure = _saving_figure(
        "chart-categories",
        "Saving per year, by category",
        "Horizontal bars, one per category; a bar left of zero is a cost increase. The table"
        " beside gives the same figures.",
        ((category_name(c.category), c.annual_saving) for c in rows),
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
    return _card(
        "categories",
        "Savings per category",
        figure
        + _table(
            "Savings per category, per year unless stated",
            (
                "Category",
                ">Schools",
                ">Volume",
                ">Today",
                ">Saving",
                ">Saving %",
                ">Over the terms",
            ),
            body,
        ),
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
            f"<figure><figcaption><strong>{escape(name)}</strong>:"
            f" {count(len(points), 'school')},"
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
    return _card(
        "pooling",
        "What pooling alone contributed",
        '<p class="lede">The part of the saving only buying together made possible: what the'
        " winning supplier would charge a school for its own volume alone, minus the joint price,"
        " times its volume. Each dot is one school; smaller buyers usually gain most.</p>"
        '<p class="lede">Pooling alone can be more than the saving. The saving compares the'
        " joint price with what each school pays today; pooling alone compares it with what the"
        " school would pay buying on its own. A school already paying less today than the joint"
        " price gains from pooling but still pays more than now.</p>"
        f'<div class="charts">{"".join(figures)}</div>'
        f"<details><summary>The figures behind these charts ({count(len(ordered), 'line')})"
        "</summary>"
        + _table(
            "Pooling alone, per school and category, smallest volume first",
            (
                "Category",
                "School",
                ">Own volume a year",
                ">Price alone",
                ">Joint price",
                ">Pooling alone a year",
            ),
            rows,
        )
        + "</details>",
    )


def _months(months: Sequence[MonthSavings]) -> str:
    figure = _saving_figure(
        "chart-months",
        "Saving per year of the supplies starting each month",
        "Horizontal bars, one per month in which a school's supply under a joint contract"
        " starts. The table below gives the same figures and the running total.",
        ((month_name(m.month), m.annual_saving) for m in months),
        with_key=False,
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
    return _card(
        "months",
        "Savings over time",
        '<p class="lede">By the month each school\'s supply under a joint contract starts (the'
        " day after its own current contract ends, or after the standstill): the yearly saving"
        " each month adds, and the yearly saving in place from then on.</p>"
        + figure
        + _table(
            "Savings by the month supply starts",
            (
                "Supply starts",
                ">Contracts",
                ">Saving a year",
                ">Over the terms",
                ">Running total a year",
            ),
            rows,
        ),
    )


def _contracts(trust_id: str, contracts: Sequence[ContractSavings]) -> str:
    tenders = [c.tender_id for c in contracts]

    def link(c: ContractSavings) -> str:
        # A tender in lots has a row per lot's award: each row leads to its own award.
        award = f"#award-{c.bid_id}" if tenders.count(c.tender_id) > 1 else ""
        return contract_path(trust_id, c.tender_id) + award

    rows = "".join(
        f'<tr><th scope="row"><a href="{escape(link(c))}">'
        f"{escape(category_name(c.category))} contract</a>"
        + ('<span class="tag">cost increase</span>' if is_increase(c.annual_saving) else "")
        + f'<br><span class="id" title="{c.tender_id}">{str(c.tender_id)[:8]}</span></th>'
        f"<td>{escape(supplier_label(c.supplier_id, c.supplier_name))}</td>"
        f'<td class="nowrap">{_supply_starts(c)}'
        f'<br><span class="small">{count(c.term_months, "month")}</span></td>'
        + _num(str(c.schools))
        + _num(quantity(c.pooled_quantity, c.unit))
        + _num(unit_price(c.pooled_unit_price, c.unit))
        + _num(money(c.annual_saving), c.annual_saving)
        + _num(money(c.term_saving), c.term_saving)
        + "</tr>"
        for c in contracts
    )
    return _card(
        "contracts",
        "Joint contracts",
        _table(
            "The trust's awarded joint contracts; each links to its page with every school's"
            " figures",
            (
                "Contract",
                "Supplier",
                "Supply starts, term",
                ">Schools",
                ">Volume a year",
                ">Joint price",
                ">Saving a year",
                ">Over the term",
            ),
            rows,
        ),
    )


def _supply_starts(c: ContractSavings) -> str:
    """The day the award's first school is supplied; "from … to …" where schools differ."""
    first, last = c.first_supply_start, c.last_supply_start
    if first == last:
        return _short_date(first)
    return f"from {_short_date(first)}<br>to {_short_date(last)}"


def _short_date(day: date) -> str:
    """2 Apr 2027, as GOV.UK writes a date in a table."""
    return f"{day.day} {day:%b %Y}"


def _method(entries: Sequence[LedgerEntry]) -> str:
    versions = ", ".join(sorted({e.rule_version for e in entries})) or "none yet"
    return (
        '<section class="card" id="method" aria-labelledby="method-heading">'
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
        f" increase and is counted as one. Rule version: {escape(versions)}.</p></section>"
    )


def contract_page(p: ContractPage, csrf: str) -> str:
    return framed(contract_part(p), csrf)


def contract_part(p: ContractPage) -> Part:
    """One joint contract: its headline figures, its terms, and each award school by school."""
    c = p.contract
    name = f"{category_name(c.category)} contract"
    trust = p.trust_name or f"Trust {p.trust_id}"
    awards = len(c.awards)
    entries = [e for a in c.awards for e in a.entries]
    dashboard = f"/trusts/{quote(p.trust_id)}"
    body = [
        _masthead(
            f"Joint contract of {trust}",
            name,
            f"Trust {escape(p.trust_id)} &middot; {count(c.schools, 'school')} &middot;"
            f" {'one award' if awards == 1 else f'{awards} lots, each awarded on its own'}"
            f" &middot; figures at {escape(_at(p.generated_at))}",
        ),
        '<div class="wrap">',
        _headline(headlines(c, one_contract=True)),
        _cost_increases(entries),
        _contract_terms(c),
        *(_award(a, c.unit) for a in c.awards),
        _method(entries),
        "</div>",
    ]
    links = f'<a href="{escape(dashboard)}#contracts">Back to the dashboard</a>'
    return Part(f"{name}: {trust}", "".join(body), links)


def _facts(*pairs: tuple[str, str]) -> str:
    """Label and value pairs; values are HTML."""
    items = "".join(
        f"<div><dt>{escape(label)}</dt><dd>{value}</dd></div>" for label, value in pairs
    )
    return f'<dl class="facts">{items}</dl>'


def _contract_terms(c: ContractDetail) -> str:
    return _card(
        "contract",
        "The contract",
        _facts(
            ("Category", escape(f"{category_name(c.category)} ({c.unit})")),
            ("Tender", f'<span class="id">{c.tender_id}</span>'),
            ("Schools", str(c.schools)),
            ("Volume a year", escape(quantity(c.pooled_quantity, c.unit))),
            ("Awards", "one" if len(c.awards) == 1 else f"{len(c.awards)}, one per lot"),
        )
        + '<p class="small">The tender\'s own record (bids, lots, standstill) is JSON in the'
        " tendering service's API, for API clients with a manager token (a browser gets 401"
        f' there): <span class="id">{escape(c.tender_url)}</span></p>',
    )


def _award(a: ContractAward, unit: str) -> str:
    anchor = f"award-{a.bid_id}"
    heading = "Award: " if a.lot is None else f"Lot {a.lot}, {a.lot_name or 'unnamed'}: "
    supplier = supplier_label(a.supplier_id, a.supplier_name)
    figure = _saving_figure(
        f"chart-{anchor}",
        f"Saving per year, by school, under the award to {supplier}",
        _BARS_BY_SCHOOL,
        ((school_name(e.school_urn, e.school_name), e.annual_saving) for e in a.entries),
    )
    rows = "".join(
        _figures_row(
            school_name(e.school_urn, e.school_name),
            e,
            _num(quantity(e.quantity)),
            f'<br><span class="small">URN {escape(e.school_urn)}</span>',
        )
        for e in a.entries
    )
    total = (
        "<tfoot>" + _figures_row("All schools", a, _num(quantity(a.pooled_quantity))) + "</tfoot>"
    )
    prices = "".join(
        f'<tr><th scope="row">{escape(school_name(e.school_urn, e.school_name))}</th>'
        + _num(unit_price(e.baseline_unit_price, unit))
        + _num(unit_price(e.solo_unit_price, unit))
        + _num(money(e.economy_of_scale))
        + "</tr>"
        for e in a.entries
    )
    supply = "".join(
        f'<tr><th scope="row">{escape(school_name(e.school_urn, e.school_name))}</th>'
        f"<td>{escape(long_date(e.supply_start))}</td><td>{escape(long_date(e.supply_end))}</td>"
        "</tr>"
        for e in a.entries
    )
    return _card(
        anchor,
        heading + supplier,
        _facts(
            ("Supplier", escape(supplier)),
            # Each school's supply starts on its own day (the table below): the first of them.
            ("First supply starts", escape(long_date(min(e.supply_start for e in a.entries)))),
            ("Term", count(a.term_months, "month")),
            ("Schools", str(a.schools)),
            ("Pooled volume a year", escape(quantity(a.pooled_quantity, unit))),
            ("Joint price", escape(unit_price(a.pooled_unit_price, unit))),
            (
                "Standstill ends",
                escape(long_date(a.standstill_ends))
                if a.standstill_ends
                else "no standstill (below threshold)",
            ),
        )
        + figure
        + _table(
            "Savings per school under this award, per year unless stated",
            (
                "School",
                f">Volume a year ({unit})",
                *_ONE_CONTRACTS_FIGURES,
            ),
            rows,
            total,
        )
        + _table(
            "When each school is supplied: from the day after its current contract or the"
            f" standstill ends, whichever is later, for {count(a.term_months, 'month')}",
            ("School", "Supply starts", "Supply ends"),
            supply,
        )
        + "<details><summary>The prices behind these figures</summary>"
        + _table(
            "Each school's price today, and the winning bid's price for its volume alone,"
            f" against the joint price of {escape(unit_price(a.pooled_unit_price, unit))}",
            ("School", ">Price today", ">Price alone", ">Pooling alone a year"),
            prices,
        )
        + "</details>"
        f'<h3 id="{anchor}-audit">For audit</h3>'
        + _facts(
            (
                "Award event (tender.awarded)"
                if len(a.award_event_ids) == 1
                else f"Award events (tender.awarded, {len(a.award_event_ids)} parts)",
                "<br>".join(f'<span class="id">{event}</span>' for event in a.award_event_ids),
            ),
            ("Winning bid", f'<span class="id">{a.bid_id}</span>'),
            ("Rule version", escape(a.rule_version)),
            ("Awarded", escape(_at(a.recorded_at))),
        ),
        kind="card award",
    )


def school_page(p: SchoolPage, csrf: str) -> str:
    return framed(school_part(p), csrf)


def school_part(p: SchoolPage) -> Part:
    """A school's own page: its headline figures, each of its lines in the joint contracts
    (category, supplier, supply window, figures) and its own CSV; nothing of any other school."""
    d = p.school
    title = school_name(d.urn, d.name)
    contracts = len({e.tender_id for e in d.entries})
    body = [
        _masthead(
            "Your school's savings from buying together",
            title,
            f"URN {escape(d.urn)} &middot; {count(contracts, 'joint contract')} &middot;"
            f" figures at {escape(_at(p.generated_at))}",
        ),
        '<div class="wrap">',
        _headline(headlines(d)),
    ]
    if not d.entries:
        body.append(
            '<section class="card"><h2>No savings yet</h2><p>No joint contract your school is in'
            " has been awarded yet. Its savings appear here as soon as one is.</p></section>"
        )
    else:
        body += [_cost_increases(d.entries), _own_lines(d)]
    body.append(p.more)
    body += [_method(d.entries), "</div>"]
    csv_url = f"/schools/{quote(d.urn)}/ledger.csv"
    links = f'<a href="{escape(csv_url)}" download>Download your ledger (CSV)</a>'
    return Part(f"Savings: {title}", "".join(body), links)


def _line_name(e: LedgerEntry) -> str:
    """A school's line in a joint contract: its category and the month its supply starts."""
    return f"{category_name(e.category)}, from {e.supply_start.strftime('%b %Y')}"


def _own_lines(d: SchoolDetail) -> str:
    figure = _saving_figure(
        "chart-lines",
        "Saving per year, by joint contract",
        "Horizontal bars, one per joint contract the school is in; a bar left of zero is a cost"
        " increase. The table below gives the same figures.",
        ((_line_name(e), e.annual_saving) for e in d.entries),
    )
    rows = "".join(
        _figures_row(
            category_name(e.category),
            e,
            f'<td class="nowrap">{escape(long_date(e.supply_start))}<br>'
            f'<span class="small">to {escape(long_date(e.supply_end))}</span></td>',
            f'<br><span class="small">{escape(supplier_label(e.supplier_id, e.supplier_name))}'
            f"<br>{escape(quantity(e.quantity, e.unit))} a year</span>",
        )
        for e in d.entries
    )
    total = "<tfoot>" + _figures_row("All contracts", d, "<td></td>") + "</tfoot>"
    return _card(
        "lines",
        "Your joint contracts",
        '<p class="lede">What your school saves a year under each joint contract it is in,'
        " against what it pays today on its own. Each contract supplies your school from the day"
        " after its own current contract ends (or after the standstill), for the contract's"
        " term.</p>"
        + figure
        + _table(
            "Your school's savings per joint contract, per year unless stated",
            (
                "Contract, supplier, volume",
                "Supplied",
                *_ONE_CONTRACTS_FIGURES,
            ),
            rows,
            total,
        ),
    )

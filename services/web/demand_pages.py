"""The demand and spend pages of the workspace (docs/http-api.md, "Web workspace"), rendered
from what demand's API answers (pure: no I/O). A manager lists the trust's demand and spend
lines with filters, uploads CSV files and turns spend into demand; a school adds, changes and
withdraws its own demand lines and uploads its own spend. A CSV upload's per-row report is
shown as an error summary, one entry per refused row, so nothing refused goes unsaid.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from html import escape
from typing import Any
from urllib.parse import urlencode

from services.web import pages
from services.web.pages import FieldError, Person
from shared.domain.categories import categories
from shared.presentation import category_name, long_date, money, price, quantity

# Lines per page: the API's pages go up to 500; 50 keeps a page readable on a phone.
PAGE_SIZE = 50
STATUS_NAMES = {
    "open": "Open",
    "in_tender": "In a tender",
    "awarded": "Awarded",
    "withdrawn": "Withdrawn",
}
# Why a line that is not open can no longer change, in plain words.
CANNOT_CHANGE = {
    "in_tender": "It is in an open tender, so it can change only if that tender is cancelled.",
    "awarded": "It was awarded in a tender.",
    "withdrawn": "It has been withdrawn.",
}
# The banners after an action (Post/Redirect/Get): `?done=` names one, never free text.
DONE = {
    "added": "Demand line added.",
    "changed": "Demand line changed.",
    "withdrawn": "Demand line withdrawn.",
}
FILE_FIELD = "file"


@dataclass(frozen=True)
class Filters:
    """What a list is narrowed to, as the filter form and the page's address carry it."""

    school_urn: str = ""
    category: str = ""
    status: str = ""

    def params(self) -> dict[str, str]:
        """The API's query for these filters (empty ones left out)."""
        found = {"school_urn": self.school_urn, "category": self.category, "status": self.status}
        return {name: value for name, value in found.items() if value}

    def problems(self) -> list[FieldError]:
        """A URN that cannot be one is refused here, in words, before the API is asked."""
        urn = self.school_urn
        if urn and not (len(urn) == 6 and urn.isascii() and urn.isdigit()):
            return [FieldError("school_urn", "Enter a school URN of 6 digits, like 100001")]
        return []


@dataclass(frozen=True)
class Page:
    """One page of a list from the API, and where the next one starts."""

    items: Sequence[Mapping[str, Any]] = ()
    next_cursor: str | None = None
    # This page's own cursor (None: the first page).
    cursor: str | None = None


@dataclass(frozen=True)
class Report:
    """A CSV upload's outcome, from the API's import report."""

    rows: int
    accepted: int
    refused: Sequence[FieldError]

    def text(self) -> str:
        return f"Upload finished: {self.accepted} of {_count(self.rows, 'row')} accepted" + (
            f", {_count(len(self.refused), 'row')} refused." if self.refused else "."
        )


@dataclass(frozen=True)
class Outcome:
    """What the page says after a form: a banner, the errors, what the form keeps, a report."""

    notice: str = ""
    errors: Sequence[FieldError] = ()
    typed: Mapping[str, str] = field(default_factory=dict)
    report: Report | None = None
    # The schools spend-to-demand skipped, each (URN, reason).
    skipped: Sequence[tuple[str, str]] = ()


def _count(n: int, thing: str) -> str:
    return f"{n} {thing}{'' if n == 1 else 's'}"


def import_report(report: Mapping[str, Any]) -> Report:
    """The API's import report: each refused row as "Row 7: quantity: must be ...", pointing
    at the file field; `line` is the row's line number in the file, as a spreadsheet numbers
    it (the header is row 1)."""
    refused = [
        FieldError(
            FILE_FIELD,
            f"Row {row['line']}: {row['column']}: {row['reason']}"
            if row.get("column")
            else f"Row {row['line']}: {row['reason']}",
        )
        for row in report["refused_rows"]
    ]
    return Report(int(report["rows"]), int(report["accepted"]), refused)


def file_refused(detail: str, errors: Sequence[Mapping[str, str]]) -> list[FieldError]:
    """A file the API refused whole (unreadable, wrong columns, too big), at the file field."""
    reasons = [e["reason"] for e in errors] or [detail]
    return [FieldError(FILE_FIELD, f"The file cannot be used: {reason}") for reason in reasons]


def field_errors(
    errors: Sequence[Mapping[str, str]], detail: str, labels: Mapping[str, tuple[str, str]]
) -> list[FieldError]:
    """The API's field errors at the form's fields: `labels` maps an API field (`quantity`) to
    the form field's id and label; an error of no field of the form goes to the first one."""
    first_id = next(iter(labels.values()))[0]
    found = []
    for error in errors or [{"field": "body", "reason": detail}]:
        name = error["field"].removeprefix("body.").removeprefix("query.")
        field_id, label = labels.get(name, (first_id, ""))
        message = f"{label}: {error['reason']}" if label else error["reason"]
        found.append(FieldError(field_id, message))
    return found


def category_options(first: str | None = None) -> list[tuple[str, str]]:
    """The categories as choices, by name; `first` is an "any" or "choose" choice."""
    known = sorted(((c.code, c.name) for c in categories().values()), key=lambda c: c[1])
    return ([("", first)] if first is not None else []) + known


def upload_form(
    action: str, csrf: str, errors: Sequence[FieldError], label: str, columns: str
) -> str:
    """A CSV file upload (multipart), its refusals at the file field."""
    hint = (
        f"A CSV file with a header row naming its columns: {columns}. Every row is accepted or"
        " refused on its own."
    )
    return (
        f'<form method="post" action="{action}" enctype="multipart/form-data" novalidate>'
        f"{pages.csrf_input(csrf)}{pages.file_upload(FILE_FIELD, label, errors, hint)}"
        '<button type="submit" class="button">Upload file</button></form>'
    )


def unit_price(value: Any) -> str:
    """£0.2870 is shown as £0.287: a unit price keeps its fractions of a penny."""
    return price(pages.amount(value))


def _day(value: str) -> str:
    return long_date(date.fromisoformat(value))


def pagination(path: str, filters: Filters, page: Page) -> str:
    """Links to the first page (when not on it) and the next one (when there is one)."""
    links = []
    if page.cursor:
        links.append(f'<a href="{escape(_address(path, filters))}">First page</a>')
    if page.next_cursor:
        address = _address(path, filters, page.next_cursor)
        links.append(f'<a href="{escape(address)}" rel="next">Next page</a>')
    if not links:
        return ""
    return f'<nav class="pagination" aria-label="Pages">{" ".join(links)}</nav>'


def _address(path: str, filters: Filters, cursor: str | None = None) -> str:
    query = filters.params() | ({"cursor": cursor} if cursor else {})
    return f"{path}?{urlencode(query)}" if query else path


def filter_form(path: str, filters: Filters, errors: Sequence[FieldError], manager: bool) -> str:
    """Narrow a list (GET: the filters are in the page's address, so it can be shared)."""
    school = (
        pages.text_input(
            "school_urn",
            "School URN",
            errors,
            filters.school_urn,
            width="short",
            inputmode="numeric",
            spellcheck=False,
        )
        if manager
        else ""
    )
    status = ""
    if path == "/demand":
        options = [("", "All statuses"), *STATUS_NAMES.items()]
        status = pages.select("status", "Status", options, errors, filters.status)
    category = pages.select(
        "category", "Category", category_options("All categories"), errors, filters.category
    )
    return (
        f'<form method="get" action="{path}" class="filters" novalidate>'
        f'<div class="filter-fields">{school}{category}{status}</div>'
        '<button type="submit" class="button button-secondary">Apply filters</button></form>'
    )


def _page(
    person: Person,
    csrf: str,
    title: str,
    outcome: Outcome,
    content: str,
    current: str = "/demand",
) -> str:
    """A demand or spend page: the success banner and the error summary above the heading,
    then `content`."""
    notice = outcome.notice or (outcome.report.text() if outcome.report else "")
    main = (
        (pages.banner(notice) if notice else "")
        + pages.error_summary(outcome.errors)
        + pages.heading(person, title)
        + content
    )
    return pages.layout(
        title, main, person=person, csrf=csrf, current=current, errors=bool(outcome.errors)
    )


DEMAND_COLUMNS_CSV = (
    "school_urn, category, quantity, unit, current_unit_price, contract_end, term_months,"
    " and optionally current_supplier, notes, submission_id"
)
SPEND_COLUMNS_CSV = (
    "school_urn, category, supplier, invoice_ref, period_start, period_end, quantity, amount,"
    " and optionally unit"
)


def demand_page(
    person: Person,
    csrf: str,
    filters: Filters,
    page: Page,
    outcome: Outcome = Outcome(),
) -> str:
    """The trust's demand lines (a manager) or the school's own (a school), filtered and paged,
    with the CSV upload; a school also adds lines here."""
    manager = person.role == "manager"
    title = "Demand" if manager else "Your demand"
    intro = (
        "Your schools' demand lines: what each school needs in a category, and when its current"
        " contract ends."
        if manager
        else "What your school needs to buy, by category. You can change or withdraw a line"
        " until it goes into a tender."
    )
    add = "" if manager else '<p><a href="/demand/add">Add a demand line</a></p>'
    rows = [
        (
            f'<a href="/demand/{escape(str(line["demand_id"]))}">'
            f"{escape(category_name(line['category']))}</a>",
            escape(line["school_urn"]),
            escape(quantity(pages.amount(line["quantity"]), line["unit"])),
            escape(unit_price(line["current_unit_price"])) + f" per {escape(line['unit'])}",
            escape(_day(line["contract_end"])),
            escape(str(line["term_months"])),
            escape(STATUS_NAMES.get(line["status"], line["status"])),
        )
        for line in page.items
    ]
    columns = [
        ("Category", False),
        ("School URN", False),
        ("Quantity a year", True),
        ("Current price", True),
        ("Contract ends", False),
        ("Term wanted (months)", True),
        ("Status", False),
    ]
    listing = (
        pages.table(f"{title}: demand lines", columns, rows)
        if rows
        else "<p>No demand lines match.</p>"
        if filters.params()
        else "<p>There are no demand lines yet.</p>"
    )
    content = (
        f"<p>{escape(intro)}</p>{add}"
        + '<h2 class="heading-m">Demand lines</h2>'
        + filter_form("/demand", filters, outcome.errors, manager)
        + listing
        + pagination("/demand", filters, page)
        + '<h2 class="heading-m">Upload demand from a CSV file</h2>'
        + upload_form("/demand/upload", csrf, outcome.errors, "Demand CSV file", DEMAND_COLUMNS_CSV)
    )
    return _page(person, csrf, title, outcome, content)


# The demand line form's fields: the API's field name to the form field's id and label.
LINE_FIELDS = {
    "category": ("category", "Category"),
    "quantity": ("quantity", "Quantity a year"),
    "unit": ("unit", "Unit"),
    "current_unit_price": ("current_unit_price", "Current price per unit"),
    "current_supplier": ("current_supplier", "Current supplier (optional)"),
    "contract_end": ("contract_end", "Current contract end date"),
    "term_months": ("term_months", "Contract term wanted (months)"),
    "notes": ("notes", "Notes (optional)"),
}


# What each required field of a demand line says when it is left empty.
MISSING = {
    "category": "Choose a category",
    "quantity": "Enter the quantity a year",
    "current_unit_price": "Enter the current price per unit",
    "contract_end": "Enter the current contract end date",
    "term_months": "Enter the contract term wanted, in months",
}


def missing_line_fields(typed: Mapping[str, str], with_category: bool) -> list[FieldError]:
    """The required fields left empty, in the form's order."""
    names = [n for n in MISSING if with_category or n != "category"]
    return [FieldError(n, MISSING[n]) for n in names if not typed.get(n)]


def missing_to_demand_fields(typed: Mapping[str, str]) -> list[FieldError]:
    """The spend-to-demand form's fields left empty."""
    messages = {
        "spend_category": "Choose a category of spend",
        "spend_contract_end": "Enter when the current contracts end",
        "spend_term_months": "Enter the contract term wanted, in months",
    }
    return [FieldError(n, m) for n, m in messages.items() if not typed.get(n)]


# The text fields of a demand line a school sets: each one's hint, width and phone keypad.
LINE_INPUTS = (
    (
        "quantity",
        "How much your school uses or needs in a year, in the unit below.",
        "short",
        "decimal",
    ),
    (
        "unit",
        "Leave empty for the category's own unit (kWh for electricity), or use a compatible one"
        " (MWh).",
        "short",
        "",
    ),
    (
        "current_unit_price",
        "In pounds, excluding VAT, per unit, as your school pays today. For example, 0.2870.",
        "short",
        "decimal",
    ),
    ("current_supplier", "", "", ""),
    (
        "contract_end",
        "The day your current contract ends, as year-month-day. For example, 2027-03-31.",
        "short",
        "",
    ),
    ("term_months", "How long the new contract should last: 1 to 120 months.", "short", "numeric"),
)


def _line_fields(typed: Mapping[str, str], errors: Sequence[FieldError]) -> str:
    """The fields of a demand line a school sets, with what it typed."""
    inputs = "".join(
        pages.text_input(
            name,
            LINE_FIELDS[name][1],
            errors,
            typed.get(name, ""),
            hint,
            width=width,
            inputmode=keypad,
            spellcheck=False,
        )
        for name, hint, width, keypad in LINE_INPUTS
    )
    return inputs + pages.textarea("notes", LINE_FIELDS["notes"][1], errors, typed.get("notes", ""))


def add_line_page(
    person: Person, csrf: str, key: str, typed: Mapping[str, str], errors: Sequence[FieldError]
) -> str:
    """A school adds a demand line. `key` is the form's idempotency key: sending it twice (a
    double click, a retry) adds one line."""
    category = pages.select(
        "category",
        "Category",
        category_options("Choose a category"),
        errors,
        typed.get("category", ""),
    )
    content = (
        f'<form method="post" action="/demand/add" novalidate>{pages.csrf_input(csrf)}'
        f'<input type="hidden" name="key" value="{escape(key)}">'
        + category
        + _line_fields(typed, errors)
        + '<button type="submit" class="button">Add line</button></form>'
        '<p><a href="/demand">Back to your demand</a></p>'
    )
    return _page(person, csrf, "Add a demand line", Outcome(errors=errors), content)


def typed_of(line: Mapping[str, Any]) -> dict[str, str]:
    """A stored line as its change form shows it."""
    return {
        "quantity": f"{pages.amount(line['quantity']).normalize():f}",
        "unit": str(line["unit"]),
        "current_unit_price": f"{pages.amount(line['current_unit_price']).normalize():f}",
        "current_supplier": line.get("current_supplier") or "",
        "contract_end": str(line["contract_end"]),
        "term_months": str(line["term_months"]),
        "notes": line.get("notes") or "",
    }


def line_page(
    person: Person,
    csrf: str,
    line: Mapping[str, Any],
    typed: Mapping[str, str] | None = None,
    errors: Sequence[FieldError] = (),
) -> str:
    """One demand line: what it holds and, while it is open, the forms that change or withdraw
    it. A refusal of the API (the line went into a tender meanwhile) is in `errors`."""
    demand_id = escape(str(line["demand_id"]))
    title = f"{category_name(line['category'])} demand"
    status = line["status"]
    facts = pages.summary_list(
        [
            ("School URN", line["school_urn"]),
            ("Category", category_name(line["category"])),
            ("Quantity a year", quantity(pages.amount(line["quantity"]), line["unit"])),
            (
                "Current price",
                f"{unit_price(line['current_unit_price'])} per {line['unit']}",
            ),
            ("Current supplier", line.get("current_supplier") or "Not given"),
            ("Current contract ends", _day(line["contract_end"])),
            ("Contract term wanted", f"{line['term_months']} months"),
            ("Status", STATUS_NAMES.get(status, status)),
        ]
        + ([("Reason", line["status_reason"])] if line.get("status_reason") else []),
        # Where a refusal to change the line points.
        ids={"Status": "status"},
    )
    if status == "open":
        forms = (
            '<h2 class="heading-m">Change this line</h2>'
            f'<form method="post" action="/demand/{demand_id}" novalidate>{pages.csrf_input(csrf)}'
            + _line_fields(typed_of(line) | dict(typed or {}), errors)
            + '<button type="submit" class="button">Save changes</button></form>'
            '<h2 class="heading-m">Withdraw this line</h2>'
            "<p>A withdrawn line is no longer bought for. You cannot undo this.</p>"
            f'<form method="post" action="/demand/{demand_id}/withdraw" novalidate>'
            + pages.csrf_input(csrf)
            + pages.text_input(
                "reason",
                "Reason for withdrawing (optional)",
                errors,
                (typed or {}).get("reason", ""),
                spellcheck=False,
            )
            + '<button type="submit" class="button button-warning">Withdraw line</button></form>'
        )
    else:
        forms = (
            "<p>This line can no longer be changed or withdrawn. "
            f"{escape(CANNOT_CHANGE.get(status, ''))}</p>"
        )
    content = facts + forms + '<p><a href="/demand">Back to demand</a></p>'
    return _page(person, csrf, title, Outcome(errors=errors), content)


# The spend-to-demand form's fields: the API's field name to the form field's id and label.
TO_DEMAND_FIELDS = {
    "category": ("spend_category", "Category of spend"),
    "contract_end": ("spend_contract_end", "Current contracts end"),
    "term_months": ("spend_term_months", "Contract term wanted (months)"),
}


def _to_demand_form(csrf: str, outcome: Outcome) -> str:
    typed, errors = outcome.typed, outcome.errors
    skipped = (
        pages.table(
            "Schools skipped",
            [("School URN", False), ("Why it was skipped", False)],
            [(escape(urn), escape(reason)) for urn, reason in outcome.skipped],
        )
        if outcome.skipped
        else ""
    )
    return (
        '<h2 class="heading-m">Turn spend into demand</h2>'
        "<p>Each school of your trust that spent in the category in the last 12 months, and has"
        " no demand line for it, gets one made from its spend. Running it again adds nothing"
        " for schools that have a line.</p>"
        + skipped
        + f'<form method="post" action="/spend/demand" novalidate>{pages.csrf_input(csrf)}'
        + pages.select(
            "spend_category",
            "Category of spend",
            category_options("Choose a category"),
            errors,
            typed.get("spend_category", ""),
        )
        + pages.text_input(
            "spend_contract_end",
            "Current contracts end",
            errors,
            typed.get("spend_contract_end", ""),
            "When the schools' current contracts end, as year-month-day. For example, 2027-03-31.",
            width="short",
            spellcheck=False,
        )
        + pages.text_input(
            "spend_term_months",
            "Contract term wanted (months)",
            errors,
            typed.get("spend_term_months", ""),
            "1 to 120 months.",
            width="short",
            inputmode="numeric",
            spellcheck=False,
        )
        + '<button type="submit" class="button">Create demand lines</button></form>'
    )


def spend_page(
    person: Person, csrf: str, filters: Filters, page: Page, outcome: Outcome = Outcome()
) -> str:
    """The trust's spend lines (a manager) or the school's own invoices (a school), with the
    spend CSV upload; a manager also turns spend into demand here."""
    manager = person.role == "manager"
    intro = (
        "What your schools were invoiced, line by line: the baseline that savings are measured"
        " against."
        if manager
        else "What your school was invoiced, line by line. Upload your invoices as a CSV file."
    )
    rows = [
        (
            escape(category_name(line["category"])),
            escape(line["school_urn"]),
            escape(line["supplier"]),
            escape(line["invoice_ref"]),
            escape(pages.between(line["period_start"], line["period_end"])),
            escape(quantity(pages.amount(line["quantity"]), line["unit"])),
            escape(money(pages.amount(line["amount"]))),
        )
        for line in page.items
    ]
    columns = [
        ("Category", False),
        ("School URN", False),
        ("Supplier", False),
        ("Invoice", False),
        ("Period", False),
        ("Quantity", True),
        ("Amount ex VAT", True),
    ]
    listing = (
        pages.table("Spend lines", columns, rows)
        if rows
        else "<p>No spend lines match.</p>"
        if filters.params()
        else "<p>There are no spend lines yet.</p>"
    )
    content = (
        f"<p>{escape(intro)}</p>"
        + '<h2 class="heading-m">Upload spend from a CSV file</h2>'
        + upload_form("/spend/upload", csrf, outcome.errors, "Spend CSV file", SPEND_COLUMNS_CSV)
        + '<h2 class="heading-m">Spend lines</h2>'
        + filter_form("/spend", filters, outcome.errors, manager)
        + listing
        + pagination("/spend", filters, page)
        + (_to_demand_form(csrf, outcome) if manager else "")
    )
    return _page(person, csrf, "Spend", outcome, content, current="/spend")


def created_text(created: int, skipped: int) -> str:
    return f"{_count(created, 'demand line')} created from spend" + (
        f"; {_count(skipped, 'school')} skipped." if skipped else "."
    )


def unit_or_default(category: str, unit: str) -> str:
    """The unit typed, else the category's own."""
    return unit.strip() or (pages.unit_of(category) or "")

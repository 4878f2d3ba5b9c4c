"""The workspace's pages, rendered as HTML from plain values (pure: no I/O, easy to test), in
GOV.UK patterns: a skip link, the service header with the person's navigation, an error summary
above a form whose fields say what is wrong, and the footer. No JavaScript; usable at 390 px.
Every form carries the CSRF token it is given (forms.py).
"""

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from html import escape
from typing import Any

from services.web.forms import CSRF_FIELD
from shared.domain.categories import categories
from shared.presentation import category_name, local_time, long_date, quantity

SERVICE = "Collective procurement"
# How the header and captions say who someone is, by role: "Trust business manager, trust 4001".
ROLE_NAMES = {
    "manager": "Trust business manager, trust {}",
    "school": "School, URN {}",
    "supplier": "Supplier {}",
    "operator": "Operator",
}
NO_SPELLCHECK = ' spellcheck="false"'
ZERO = Decimal(0)


# How the legal route and the procedure of a tender read on a page (docs/domain-rules.md,
# "Pooling and tenders" and "Procedures and tender periods").
ROUTES = {
    "quotes": "Quotes",
    "below_threshold": "Below threshold",
    "regulated": "Regulated (Procurement Act 2023)",
}
PROCEDURES = {
    "open": "Open procedure",
    "competitive_flexible": "Competitive flexible procedure",
    "framework_call_off": "Call-off from a framework",
}


def route_name(code: str) -> str:
    return ROUTES.get(code, code)


def procedure_name(code: str) -> str:
    return PROCEDURES.get(code, code)


def bid_price(value: Any, unit: str) -> str:
    """£0.2450 per kWh: a unit price as the bid gave it, to the penny's fraction."""
    return f"£{amount(value):,f} per {unit}"


@dataclass(frozen=True)
class Link:
    """One entry of a role's navigation, also listed on its home page."""

    label: str
    href: str
    # What the home page says the link is for.
    about: str


@dataclass(frozen=True)
class Person:
    """Who is signed in, as the header shows them."""

    name: str
    email: str
    role: str
    scope: str | None
    navigation: Sequence[Link]


@dataclass(frozen=True)
class FieldError:
    field: str  # the input's id
    message: str


def csrf_input(token: str) -> str:
    """The hidden field that carries a form's CSRF token (forms.py)."""
    return f'<input type="hidden" name="{CSRF_FIELD}" value="{escape(token)}">'


def who(person: Person) -> str:
    """Trust business manager, trust 4001; Supplier gamma-gas."""
    return ROLE_NAMES.get(person.role, person.role).format(person.scope)


def heading(person: Person, title: str) -> str:
    """A page's heading, with who the person is above it."""
    return (
        f'<span class="caption">{escape(who(person))}</span>'
        f'<h1 class="heading-l">{escape(title)}</h1>'
    )


def layout(
    title: str,
    main: str,
    *,
    person: Person | None = None,
    csrf: str = "",
    current: str = "",
    errors: bool = False,
    styles: Sequence[str] = (),
) -> str:
    """A whole page. With `person`, the header carries their navigation (`current`: the href of
        the page shown) and the sign-out button. `styles`: more stylesheets' addresses, loaded first
    so that the workspace's own rules win where they differ."""
    account = ""
    navigation = ""
    if person is not None:
        account = (
            '<div class="account"><span class="account-name">'
            f"{escape(person.name)}</span>"
            f'<form method="post" action="/sign-out">{csrf_input(csrf)}'
            '<button type="submit" class="link-button">Sign out</button></form></div>'
        )
        items = "".join(
            f'<li><a href="{escape(link.href)}"'
            + (' aria-current="page"' if link.href == current else "")
            + f">{escape(link.label)}</a></li>"
            for link in person.navigation
        )
        home = ' aria-current="page"' if current == "/" else ""
        navigation = (
            '<nav class="service-navigation" aria-label="Menu"><div class="width">'
            f'<ul><li><a href="/"{home}>Home</a></li>{items}</ul></div></nav>'
        )
    return (
        '<!doctype html><html lang="en-GB"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{'Error: ' if errors else ''}{escape(title)} - {SERVICE}</title>"
        + "".join(f'<link rel="stylesheet" href="{escape(style)}">' for style in styles)
        + '<link rel="stylesheet" href="/assets/web.css"></head><body>'
        '<a href="#main-content" class="skip-link">Skip to main content</a>'
        '<header class="header"><div class="width header-row">'
        f'<a href="/" class="service-name">{SERVICE}</a>{account}</div></header>'
        f"{navigation}"
        f'<div class="width"><main id="main-content" tabindex="-1">{main}</main></div>'
        '<footer class="footer"><div class="width"><p>Collective procurement: schools in a'
        " multi-academy trust buying together. Times are UK time; money is in pounds.</p>"
        "</div></footer></body></html>"
    )


def error_summary(errors: Sequence[FieldError]) -> str:
    if not errors:
        return ""
    items = "".join(
        f'<li><a href="#{escape(e.field)}">{escape(e.message)}</a></li>' for e in errors
    )
    return (
        '<div class="error-summary" role="alert" aria-labelledby="error-summary-title"'
        ' tabindex="-1"><h2 class="error-summary-title" id="error-summary-title">'
        f'There is a problem</h2><ul class="error-summary-list">{items}</ul></div>'
    )


def error_message(id_: str, errors: Sequence[FieldError]) -> str:
    """The first of `errors` at the field `id_`, as GOV.UK shows it above the field; or ""."""
    mine = next((e for e in errors if e.field == id_), None)
    if mine is None:
        return ""
    return (
        f'<p class="error-message" id="{id_}-error"><span class="visually-hidden">Error:'
        f"</span> {escape(mine.message)}</p>"
    )


def _described(*ids: str) -> str:
    """The aria-describedby attribute of the ids given (the empty ones left out)."""
    shown = " ".join(i for i in ids if i)
    return f' aria-describedby="{shown}"' if shown else ""


def form_group(
    id_: str,
    label: str,
    control: Callable[[str, str], str],
    errors: Sequence[FieldError],
    hint: str = "",
    *,
    described: str = "",
    group_class: str = "",
) -> str:
    """A GOV.UK form group: the label, the hint, the field's error, then the field `control`
    makes of its aria-describedby attribute and its error class. `described`: the id of a hint
    outside the group that the field is described by too."""
    message = error_message(id_, errors)
    aria = _described(f"{id_}-hint" if hint else "", described, f"{id_}-error" if message else "")
    return (
        f'<div class="form-group{group_class}{" form-group-error" if message else ""}">'
        f'<label class="label" for="{id_}">{escape(label)}</label>'
        + (f'<div class="hint" id="{id_}-hint">{escape(hint)}</div>' if hint else "")
        + message
        + control(aria, " input-error" if message else "")
        + "</div>"
    )


def text_input(
    id_: str,
    label: str,
    errors: Sequence[FieldError],
    value: str = "",
    hint: str = "",
    *,
    kind: str = "text",
    autocomplete: str = "off",
    width: str = "",
    inputmode: str = "",
    spellcheck: bool = True,
    name: str = "",
    described: str = "",
    group_class: str = "",
) -> str:
    """A GOV.UK text input (`kind`: text, email or password). `width`: a class suffix
    (`short`); `name`: the name it is sent as, when not its id (rows of one form)."""
    size = f" input-{width}" if width else ""
    mode = f' inputmode="{inputmode}"' if inputmode else ""
    spelling = "" if spellcheck else NO_SPELLCHECK

    def control(aria: str, error: str) -> str:
        return (
            f'<input class="input{size}{error}" id="{id_}" name="{name or id_}" type="{kind}"'
            f'{mode} autocomplete="{autocomplete}" value="{escape(value)}"{aria}{spelling}>'
        )

    return form_group(
        id_, label, control, errors, hint, described=described, group_class=group_class
    )


def textarea(
    id_: str, label: str, errors: Sequence[FieldError], value: str = "", hint: str = ""
) -> str:
    """A GOV.UK textarea of three rows."""

    def control(aria: str, error: str) -> str:
        return (
            f'<textarea class="textarea{error}" id="{id_}" name="{id_}" rows="3"{aria}>'
            f"{escape(value)}</textarea>"
        )

    return form_group(id_, label, control, errors, hint)


def select(
    id_: str,
    label: str,
    options: Sequence[tuple[str, str]],
    errors: Sequence[FieldError],
    value: str = "",
    hint: str = "",
) -> str:
    """A GOV.UK select; `options` are (value, text), the one of `value` selected."""
    choices = "".join(
        f'<option value="{escape(code)}"{" selected" if code == value else ""}>'
        f"{escape(text)}</option>"
        for code, text in options
    )

    def control(aria: str, error: str) -> str:
        return f'<select class="select{error}" id="{id_}" name="{id_}"{aria}>{choices}</select>'

    return form_group(id_, label, control, errors, hint)


def file_upload(id_: str, label: str, errors: Sequence[FieldError], hint: str) -> str:
    """A GOV.UK file upload of a CSV file (its form must be multipart)."""

    def control(aria: str, error: str) -> str:
        return (
            f'<input class="file-upload{error}" id="{id_}" name="{id_}" type="file"'
            f' accept=".csv,text/csv"{aria}>'
        )

    return form_group(id_, label, control, errors, hint)


def fieldset(
    legend: str,
    content: str,
    errors: Sequence[FieldError] = (),
    *,
    id_: str = "",
    hint: str = "",
    hint_id: str = "",
    role: str = "",
) -> str:
    """A GOV.UK fieldset in its form group: the legend, a hint, the error at `id_` (the id of
    its first field, where the error summary links), then `content`, its fields."""
    message = error_message(id_, errors) if id_ else ""
    hint_id = hint_id or (f"{id_}-hint" if hint else "")
    aria = _described(hint_id if hint else "", f"{id_}-error" if message else "")
    role_attribute = f' role="{role}"' if role else ""
    return (
        f'<div class="form-group{" form-group-error" if message else ""}">'
        f'<fieldset class="fieldset"{role_attribute}{aria}>'
        f'<legend class="legend">{escape(legend)}</legend>'
        + (f'<div class="hint" id="{hint_id}">{escape(hint)}</div>' if hint else "")
        + f"{message}{content}</fieldset></div>"
    )


def radios(
    id_: str,
    legend: str,
    options: Sequence[tuple[str, str]],
    chosen: str,
    errors: Sequence[FieldError],
    *,
    name: str = "",
) -> str:
    """A fieldset of GOV.UK radios, (value, text) each; the first radio's id is `id_`, where
    the error summary links."""
    items = "".join(
        '<div class="radio">'
        f'<input class="radio-input" id="{id_ if i == 0 else f"{id_}-{i}"}" name="{name or id_}"'
        f' type="radio" value="{escape(value)}"{" checked" if value == chosen else ""}>'
        f'<label class="radio-label" for="{id_ if i == 0 else f"{id_}-{i}"}">'
        f"{escape(text)}</label></div>"
        for i, (value, text) in enumerate(options)
    )
    return fieldset(legend, items, errors, id_=id_)


def banner(text: str) -> str:
    """A GOV.UK success notification."""
    return (
        '<div class="notification" role="region" aria-labelledby="notification-title">'
        '<h2 class="notification-title" id="notification-title">Success</h2>'
        f"<p>{escape(text)}</p></div>"
    )


# The id of the single sign-on button, where the error summary points when it failed.
SIGN_ON = "sign-on"


def _sign_on(csrf: str, errors: Sequence[FieldError]) -> str:
    """The form that starts single sign-on, with the reason it last failed, if it did."""
    message = error_message(SIGN_ON, errors)
    return (
        f'<div class="form-group{" form-group-error" if message else ""}">'
        '<h2 class="heading-m">Or use your organisation\'s account</h2>'
        "<p>If your trust or company has set this up, sign in with the account you use at work."
        "</p>"
        f'{message}<form method="post" action="/sign-in/organisation">{csrf_input(csrf)}'
        f'<button type="submit" class="button button-secondary" id="{SIGN_ON}">'
        "Sign in with your organisation's account</button></form></div>"
    )


def sign_in_page(
    csrf: str,
    errors: Sequence[FieldError] = (),
    email: str = "",
    notice: str = "",
    sign_on: bool = False,
) -> str:
    """The sign-in form; with `sign_on`, the button that signs in through the organisation's
    OpenID Connect provider too."""
    main = (
        (banner(notice) if notice else "")
        + error_summary(errors)
        + '<h1 class="heading-l">Sign in</h1>'
        "<p>For trust business managers, schools, suppliers and operators with an account."
        " Ask your trust's operator if you do not have one.</p>"
        f'<form method="post" action="/sign-in" novalidate>{csrf_input(csrf)}'
        + text_input(
            "email",
            "Email address",
            errors,
            email,
            kind="email",
            autocomplete="username",
            spellcheck=False,
        )
        + text_input(
            "password", "Password", errors, kind="password", autocomplete="current-password"
        )
        + '<button type="submit" class="button">Sign in</button></form>'
        "<p>Forgotten your password? Ask your operator for a new set-password link.</p>"
        + (_sign_on(csrf, errors) if sign_on else "")
    )
    return layout("Sign in", main, errors=bool(errors))


def set_password_page(csrf: str, email: str, token: str, errors: Sequence[FieldError] = ()) -> str:
    main = (
        error_summary(errors) + '<h1 class="heading-l">Set your password</h1>'
        f"<p>For {escape(email)}. This link works once.</p>"
        f'<form method="post" action="/set-password" novalidate>{csrf_input(csrf)}'
        f'<input type="hidden" name="token" value="{escape(token)}">'
        + text_input(
            "password",
            "New password",
            errors,
            hint="Use 12 characters or more. Three random words together make a strong"
            " password that is easy to remember.",
            kind="password",
            autocomplete="new-password",
        )
        + text_input(
            "confirm", "Confirm new password", errors, kind="password", autocomplete="new-password"
        )
        + '<button type="submit" class="button">Set password</button></form>'
    )
    return layout("Set your password", main, errors=bool(errors))


def message_page(
    title: str, text: str, person: Person | None = None, csrf: str = "", onward: str = ""
) -> str:
    """A page that says one thing: a refusal, a dead link, a problem."""
    main = f'<h1 class="heading-l">{escape(title)}</h1><p>{escape(text)}</p>{onward}'
    return layout(title, main, person=person, csrf=csrf)


def home_page(person: Person, csrf: str) -> str:
    cards = "".join(
        '<li class="card"><h2 class="heading-s">'
        f'<a href="{escape(link.href)}">{escape(link.label)}</a></h2>'
        f"<p>{escape(link.about)}</p></li>"
        for link in person.navigation
    )
    main = heading(person, person.name) + f'<ul class="cards">{cards}</ul>'
    return layout("Home", main, person=person, csrf=csrf, current="/")


def amount(value: Any) -> Decimal:
    """A number as the JSON of an API gives it (a string or a number), exactly."""
    return Decimal(str(value))


def percent(weight: Any) -> str:
    """A weight as a percentage: 0.7 is 70%."""
    return f"{(amount(weight) * 100).normalize():f}%"


@dataclass(frozen=True)
class Html:
    """A table cell that is markup already (a link), not text to escape."""

    markup: str


Cell = str | Html


def table(
    caption: str,
    columns: Sequence[tuple[str, bool]],
    rows: Sequence[Sequence[str]],
    caption_shown: bool = False,
) -> str:
    """A table of cells already in HTML; `columns` are (heading, numeric), the numeric ones
    right-aligned; each row's first cell heads it. Its box is a region named by the caption
    that takes keyboard focus, so that it can be scrolled without a mouse on a phone (WCAG
    2.1.1). The caption is for screen readers unless `caption_shown`, when it heads the table."""
    caption_class = "table-caption" if caption_shown else "visually-hidden"
    classes = [' class="num"' if numeric else "" for _, numeric in columns]
    ths = "".join(
        f'<th scope="col"{cls}>{escape(name)}</th>'
        for (name, _), cls in zip(columns, classes, strict=True)
    )
    body = "".join(
        "<tr>"
        + "".join(
            (f'<th scope="row"{cls}>{cell}</th>' if i == 0 else f"<td{cls}>{cell}</td>")
            for i, (cell, cls) in enumerate(zip(row, classes, strict=True))
        )
        + "</tr>"
        for row in rows
    )
    return (
        f'<div class="table-wrap" role="region" aria-label="{escape(caption)}" tabindex="0">'
        f'<table class="table"><caption class="{caption_class}">'
        f"{escape(caption)}</caption><thead><tr>{ths}</tr></thead><tbody>{body}</tbody>"
        "</table></div>"
    )


def text_table(
    caption: str, columns: Sequence[str], numeric: Collection[str], rows: Sequence[Sequence[Cell]]
) -> str:
    """A table of text cells (escaped) and `Html` ones."""
    return table(
        caption,
        [(name, name in numeric) for name in columns],
        [[_cell(cell) for cell in row] for row in rows],
    )


def _cell(cell: Cell) -> str:
    return cell.markup if isinstance(cell, Html) else escape(cell)


def summary_list(rows: Sequence[tuple[str, Cell]], ids: Mapping[str, str] | None = None) -> str:
    """GOV.UK summary list: each key and its value (text, or `Html`); `ids` gives a value an id
    by its key (where an error summary links)."""
    ids = ids or {}
    items = "".join(
        f'<div class="summary-row"><dt>{escape(key)}</dt>'
        + (f'<dd id="{ids[key]}">' if key in ids else "<dd>")
        + f"{_cell(value)}</dd></div>"
        for key, value in rows
    )
    return f'<dl class="summary-list">{items}</dl>'


@dataclass(frozen=True)
class Listing:
    """A page that lists what a service's API gave: a table, or a sentence when it is empty."""

    href: str
    title: str
    intro: str
    columns: Sequence[str]
    numeric: Collection[str]
    empty: str

    def render(self, person: Person, csrf: str, rows: Sequence[Sequence[Cell]]) -> str:
        table = (
            text_table(self.title, self.columns, self.numeric, rows)
            if rows
            else f"<p>{escape(self.empty)}</p>"
        )
        main = heading(person, self.title) + f"<p>{escape(self.intro)}</p>{table}"
        return layout(self.title, main, person=person, csrf=csrf, current=self.href)


OPEN_TENDERS = Listing(
    "/open-tenders",
    "Open tenders",
    "Joint tenders taking bids now, soonest deadline first.",
    ("Category", "Bids close", "Lots", "Contract term (months)", "Procedure", "Quantity"),
    {"Lots", "Contract term (months)", "Quantity"},
    "No tenders are taking bids at the moment.",
)


def unit_of(category: str) -> str | None:
    known = categories().get(category)
    return known.unit if known else None


def between(first: str, last: str) -> str:
    """Two ISO dates as a period: 30 April 2027, or 31 March 2027 to 30 April 2027."""
    one, two = date.fromisoformat(first), date.fromisoformat(last)
    return long_date(one) if one == two else f"{long_date(one)} to {long_date(two)}"


def open_tenders_page(person: Person, csrf: str, notices: Sequence[dict[str, Any]]) -> str:
    """The tenders taking bids, as tendering's GET /v1/tenders?status=open gives them."""
    rows: list[tuple[Cell, ...]] = [
        (
            # Each tender's notice page holds its bid form.
            Html(
                f'<a href="/open-tenders/{escape(str(n["tender_id"]))}">'
                f"{escape(category_name(n['category']))}</a>"
            ),
            local_time(datetime.fromisoformat(n["closes_at"])),
            str(len(n["lots"])),
            f"{n['term_months']}",
            procedure_name(n["procedure"]),
            quantity(sum((amount(lot["pooled_quantity"]) for lot in n["lots"]), ZERO), n["unit"]),
        )
        for n in notices
    ]
    return OPEN_TENDERS.render(person, csrf, rows)

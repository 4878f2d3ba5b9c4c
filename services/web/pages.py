"""The workspace's pages, rendered as HTML from plain values (pure: no I/O, easy to test), in
GOV.UK patterns: a skip link, the service header with the person's navigation, an error summary
above a form whose fields say what is wrong, and the footer. No JavaScript; usable at 390 px.
Every form carries the CSRF token it is given (forms.py).
"""

from collections.abc import Collection, Sequence
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


@dataclass(frozen=True)
class Link:
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


def _csrf(token: str) -> str:
    return f'<input type="hidden" name="{CSRF_FIELD}" value="{escape(token)}">'


def who(person: Person) -> str:
    """Trust business manager, trust 4001; Supplier gamma-gas."""
    return ROLE_NAMES.get(person.role, person.role).format(person.scope)


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
            f'<form method="post" action="/sign-out">{_csrf(csrf)}'
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


def _field(
    id_: str,
    label: str,
    kind: str,
    autocomplete: str,
    errors: Sequence[FieldError],
    value: str = "",
    hint: str = "",
    extra: str = "",
) -> str:
    mine = [e for e in errors if e.field == id_]
    described = [f"{id_}-hint"] if hint else []
    message = ""
    if mine:
        described.append(f"{id_}-error")
        message = (
            f'<p class="error-message" id="{id_}-error"><span class="visually-hidden">Error:'
            f"</span> {escape(mine[0].message)}</p>"
        )
    aria = f' aria-describedby="{" ".join(described)}"' if described else ""
    return (
        f'<div class="form-group{" form-group-error" if mine else ""}">'
        f'<label class="label" for="{id_}">{escape(label)}</label>'
        + (f'<div class="hint" id="{id_}-hint">{escape(hint)}</div>' if hint else "")
        + message
        + f'<input class="input{" input-error" if mine else ""}" id="{id_}" name="{id_}"'
        f' type="{kind}" autocomplete="{autocomplete}" value="{escape(value)}"{aria}{extra}>'
        "</div>"
    )


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
    mine = [e for e in errors if e.field == SIGN_ON]
    message = (
        f'<p class="error-message" id="{SIGN_ON}-error"><span class="visually-hidden">Error:'
        f"</span> {escape(mine[0].message)}</p>"
        if mine
        else ""
    )
    return (
        f'<div class="form-group{" form-group-error" if mine else ""}">'
        '<h2 class="heading-m">Or use your organisation\'s account</h2>'
        "<p>If your trust or company has set this up, sign in with the account you use at work."
        "</p>"
        f'{message}<form method="post" action="/sign-in/organisation">{_csrf(csrf)}'
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
        f'<form method="post" action="/sign-in" novalidate>{_csrf(csrf)}'
        + _field("email", "Email address", "email", "username", errors, email, extra=NO_SPELLCHECK)
        + _field("password", "Password", "password", "current-password", errors)
        + '<button type="submit" class="button">Sign in</button></form>'
        "<p>Forgotten your password? Ask your operator for a new set-password link.</p>"
        + (_sign_on(csrf, errors) if sign_on else "")
    )
    return layout("Sign in", main, errors=bool(errors))


def set_password_page(csrf: str, email: str, token: str, errors: Sequence[FieldError] = ()) -> str:
    main = (
        error_summary(errors) + '<h1 class="heading-l">Set your password</h1>'
        f"<p>For {escape(email)}. This link works once.</p>"
        f'<form method="post" action="/set-password" novalidate>{_csrf(csrf)}'
        f'<input type="hidden" name="token" value="{escape(token)}">'
        + _field(
            "password",
            "New password",
            "password",
            "new-password",
            errors,
            hint="Use 12 characters or more. Three random words together make a strong"
            " password that is easy to remember.",
        )
        + _field("confirm", "Confirm new password", "password", "new-password", errors)
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
    main = (
        f'<span class="caption">{escape(who(person))}</span>'
        f'<h1 class="heading-l">{escape(person.name)}</h1>'
        f'<ul class="cards">{cards}</ul>'
    )
    return layout("Home", main, person=person, csrf=csrf, current="/")


def _amount(value: Any) -> Decimal:
    return Decimal(str(value))


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


def _table(
    caption: str, columns: Sequence[str], numeric: Collection[str], rows: Sequence[Sequence[Cell]]
) -> str:
    """A table of text cells (escaped) and `Html` ones."""
    return table(
        caption,
        [(name, name in numeric) for name in columns],
        [[cell.markup if isinstance(cell, Html) else escape(cell) for cell in row] for row in rows],
    )


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
            _table(self.title, self.columns, self.numeric, rows)
            if rows
            else f"<p>{escape(self.empty)}</p>"
        )
        main = (
            f'<span class="caption">{escape(who(person))}</span>'
            f'<h1 class="heading-l">{escape(self.title)}</h1><p>{escape(self.intro)}</p>{table}'
        )
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


def _between(first: date, last: date) -> str:
    """30 April 2027, or 31 March 2027 to 30 April 2027."""
    return long_date(first) if first == last else f"{long_date(first)} to {long_date(last)}"


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
            n["procedure"].replace("_", " "),
            quantity(sum((_amount(lot["pooled_quantity"]) for lot in n["lots"]), ZERO), n["unit"]),
        )
        for n in notices
    ]
    return OPEN_TENDERS.render(person, csrf, rows)

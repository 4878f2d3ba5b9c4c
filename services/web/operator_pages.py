"""The operators' pages, rendered as HTML from plain values (pure, like pages.py): the registry
upload with its report, and the people's accounts with the forms to add a person, disable an
account and issue a new set-password link."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape

from services.web import pages
from services.web.pages import FieldError, Person
from shared.presentation import local_time

ROLES = {
    "manager": "Trust business manager",
    "school": "School",
    "supplier": "Supplier",
    "operator": "Operator",
}
# The form's field for each role's scope, and what the field is called.
SCOPE_FIELDS = {"manager": "trust", "school": "urn", "supplier": "supplier"}
# The registry report's counts, in the order shown, as demand's POST /v1/registry names them.
REPORT = (
    ("schools", "Schools in trusts in the file"),
    ("joined", "Schools that joined a trust"),
    ("left", "Schools that left a trust"),
    ("unchanged", "Schools unchanged"),
    ("skipped_without_trust", "Rows skipped (no trust)"),
    ("demand_withdrawn", "Demand lines withdrawn (school left)"),
)
REGISTRY_FIELD = "registry"
# The scope fields of the add-a-person form: each one's label, hint and phone keypad.
SCOPE_INPUTS = (
    ("trust", "Trust code", "For a trust business manager: the trust's code in the registry.", ""),
    ("urn", "School URN", "For a school: its 6-digit unique reference number.", "numeric"),
    ("supplier", "Supplier id", "For a supplier: its id, like gamma-gas.", ""),
)


@dataclass(frozen=True)
class Notice:
    """What the last action did, shown once at the top of the next page: a sentence, and a
    new set-password link or a registry report when there is one."""

    text: str
    link: str = ""
    report: Mapping[str, int] | None = None


def _notice(notice: Notice | None) -> str:
    if notice is None:
        return ""
    shown = pages.banner(notice.text)
    if notice.link:
        shown += (
            '<div class="inset"><h2 class="heading-m">Set-password link</h2>'
            "<p>Give this link to the person: it works once, and it is shown only now.</p>"
            f'<p class="link-shown"><a href="{escape(notice.link)}">{escape(notice.link)}</a>'
            "</p></div>"
        )
    return shown


def _report(report: Mapping[str, int]) -> str:
    rows = [(label, str(report.get(key, 0))) for key, label in REPORT]
    return '<h2 class="heading-m">Report of the upload</h2>' + pages.summary_list(rows)


def registry_page(
    person: Person, csrf: str, errors: Sequence[FieldError] = (), notice: Notice | None = None
) -> str:
    # Every problem of a refused file is listed in the summary; the field says the file was
    # refused, as a file input cannot keep what was chosen.
    field_errors = [FieldError(REGISTRY_FIELD, errors[0].message)] if errors else []
    if len(errors) > 1:
        field_errors = [FieldError(REGISTRY_FIELD, f"The file has {len(errors)} problems")]
    main = (
        _notice(notice)
        + pages.error_summary(errors)
        + '<span class="caption">Operator</span><h1 class="heading-l">Registry</h1>'
        "<p>The trusts' schools, from a Get Information about Schools (GIAS) establishments"
        " extract. Schools that are new to a trust join it; schools no longer in a trust leave it"
        " and their open demand is withdrawn.</p>"
        + (_report(notice.report) if notice is not None and notice.report is not None else "")
        + '<form method="post" action="/registry" enctype="multipart/form-data" novalidate>'
        + pages.csrf_input(csrf)
        + pages.file_upload(
            REGISTRY_FIELD,
            "Registry file (CSV)",
            field_errors,
            "A CSV file with the columns URN, EstablishmentName, Trusts (code), Trusts (name)"
            " and EstablishmentStatus (name); other columns are ignored.",
        )
        + '<button type="submit" class="button">Upload registry</button></form>'
    )
    return pages.layout(
        "Registry", main, person=person, csrf=csrf, current="/registry", errors=bool(errors)
    )


@dataclass(frozen=True)
class UserRow:
    email: str
    name: str
    role: str
    scope: str | None
    disabled: bool
    last_signed_in_at: datetime | None


def _hidden_email(email: str) -> str:
    return f'<input type="hidden" name="email" value="{escape(email)}">'


def _actions(user: UserRow, csrf: str) -> str:
    """Buttons that act on one account; each names the account for screen readers."""
    if user.disabled:
        return ""
    who = f'<span class="visually-hidden"> for {escape(user.email)}</span>'
    return (
        f'<form method="post" action="/users/link" class="inline-form">{pages.csrf_input(csrf)}'
        f'{_hidden_email(user.email)}<button type="submit" class="link-button">'
        f"Issue a set-password link{who}</button></form>"
        f'<form method="post" action="/users/disable" class="inline-form">{pages.csrf_input(csrf)}'
        f'{_hidden_email(user.email)}<button type="submit" class="link-button">'
        f"Disable{who}</button></form>"
    )


def users_page(
    person: Person, csrf: str, users: Sequence[UserRow], notice: Notice | None = None
) -> str:
    heads = ("Email address", "Name", "Role", "Scope", "Status", "Last sign-in", "Actions")
    rows = [
        [
            escape(u.email),
            escape(u.name),
            escape(ROLES.get(u.role, u.role)),
            escape(u.scope or ""),
            "Disabled" if u.disabled else "Enabled",
            escape(local_time(u.last_signed_in_at)) if u.last_signed_in_at else "Never",
            _actions(u, csrf),
        ]
        for u in users
    ]
    listing = (
        pages.table("People's accounts", [(h, False) for h in heads], rows)
        if users
        else "<p>There are no accounts yet.</p>"
    )
    main = (
        _notice(notice) + '<span class="caption">Operator</span><h1 class="heading-l">Users</h1>'
        "<p>People's accounts in the web workspace. A disabled account cannot sign in, and its"
        " sessions and set-password links have ended.</p>"
        '<p><a href="/users/add" class="button" role="button" draggable="false">Add a person</a>'
        f"</p>{listing}"
    )
    return pages.layout("Users", main, person=person, csrf=csrf, current="/users")


def add_user_page(
    person: Person,
    csrf: str,
    typed: Mapping[str, str] | None = None,
    errors: Sequence[FieldError] = (),
) -> str:
    """The form to add a person; `typed` is what was sent, kept when it is refused."""
    typed = typed or {}
    main = (
        pages.error_summary(errors)
        + '<span class="caption">Operator</span><h1 class="heading-l">Add a person</h1>'
        "<p>They get a set-password link, shown once on the next page, to choose their own"
        " password (or they sign in with their organisation's account, if it is set up).</p>"
        f'<form method="post" action="/users/add" novalidate>{pages.csrf_input(csrf)}'
        + pages.text_input(
            "email", "Email address", errors, typed.get("email", ""), kind="email", spellcheck=False
        )
        + pages.text_input("name", "Full name", errors, typed.get("name", ""))
        + pages.select(
            "role", "Role", [("", "Choose a role"), *ROLES.items()], errors, typed.get("role", "")
        )
        + "".join(
            pages.text_input(name, label, errors, typed.get(name, ""), hint, inputmode=keypad)
            for name, label, hint, keypad in SCOPE_INPUTS
        )
        + '<button type="submit" class="button">Add person</button></form>'
        '<p><a href="/users">Back to users</a></p>'
    )
    return pages.layout(
        "Add a person", main, person=person, csrf=csrf, current="/users", errors=bool(errors)
    )

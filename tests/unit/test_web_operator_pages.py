"""The operators' pages and single sign-on, in their pure parts: what a refused registry row is
called, the add-a-person form's problems by field, what the pages render, the sign-on button
shown only when it is set up, and the checks an ID token must pass."""

import time
from datetime import UTC, datetime

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from services.web.operator import person_problems, registry_problem
from services.web.operator_pages import Notice, UserRow, add_user_page, registry_page, users_page
from services.web.pages import FieldError, Link, Person, sign_in_page
from services.web.sign_on import Provider, SignOn, SignOnRefused

OPERATOR = Person(
    "Jo Mensah", "jo@ops.example", "operator", None, [Link("Users", "/users", "Accounts.")]
)
BLANK = {"email": "", "name": "", "role": "", "trust": "", "urn": "", "supplier": ""}


def test_a_registry_problem_names_its_line_and_column() -> None:
    assert registry_problem("line 3.URN", "a URN is 6 digits") == "Line 3, URN: a URN is 6 digits"
    assert registry_problem("line 9", "not readable CSV") == "Line 9: not readable CSV"
    assert registry_problem("header", "missing columns: URN").startswith("The header row: ")
    assert (
        registry_problem("body", "not UTF-8 text (byte 4)") == "The file: not UTF-8 text (byte 4)"
    )


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        (
            {},
            [
                ("email", "Enter an email address"),
                ("name", "Enter the person's full name"),
                ("role", "Select the person's role"),
            ],
        ),
        (
            {"email": "kit@ash.example", "name": "Kit", "role": "manager", "urn": "730101"},
            [("trust", "Enter the trust code of a trust business manager")],
        ),
        (
            {"email": "kit@ash.example", "name": "Kit", "role": "school"},
            [("urn", "Enter the URN of a school")],
        ),
        (
            {"email": "kit at ash", "name": "K" * 201, "role": "operator"},
            [
                ("email", "Enter an email address in the correct format, like name@example.com"),
                ("name", "Full name must be 200 characters or fewer"),
            ],
        ),
        ({"email": "kit@ash.example", "name": "Kit", "role": "operator"}, []),
        ({"email": "kit@ash.example", "name": "Kit", "role": "supplier", "supplier": "g"}, []),
    ],
)
def test_the_add_a_person_form_names_each_problem_at_its_field(
    typed: dict[str, str], expected: list[tuple[str, str]]
) -> None:
    problems = person_problems(BLANK | typed)
    assert [(p.field, p.message) for p in problems] == expected


def test_the_users_page_lists_accounts_and_acts_only_on_enabled_ones() -> None:
    seen = datetime(2027, 4, 1, 13, 5, tzinfo=UTC)
    rows = [
        UserRow("jo@ops.example", "Jo", "operator", None, False, seen),
        UserRow("kit@ash.example", "Kit <b>", "school", "730101", True, None),
    ]
    page = users_page(OPERATOR, "tok", rows, Notice("Done.", link="http://w/set-password/abc"))
    assert "1 April 2027 at 2:05pm (BST)" in page
    assert "Kit &lt;b&gt;" in page and "<td>Disabled</td><td>Never</td>" in page
    assert page.count('action="/users/disable"') == 1
    assert page.count('action="/users/link"') == 1
    assert '<a href="http://w/set-password/abc">' in page
    assert 'aria-current="page">Users' in page


def test_the_forms_keep_what_was_typed_and_show_errors_at_the_top() -> None:
    typed = BLANK | {"email": "kit@ash.example", "role": "school", "urn": "12"}
    page = add_user_page(OPERATOR, "tok", typed, [FieldError("urn", "Enter a valid value")])
    assert page.startswith("<!doctype html>") and "<title>Error: Add a person" in page
    assert 'value="kit@ash.example"' in page and '<option value="school" selected>' in page
    assert '<a href="#urn">Enter a valid value</a>' in page and 'id="urn-error"' in page
    errors = [FieldError("registry", "Line 2, URN: x"), FieldError("registry", "Line 3, URN: y")]
    registry = registry_page(OPERATOR, "tok", errors)
    assert "The file has 2 problems" in registry and 'enctype="multipart/form-data"' in registry
    report = registry_page(OPERATOR, "tok", notice=Notice("Loaded.", report={"joined": 4}))
    assert "<dt>Schools that joined a trust</dt><dd>4</dd>" in report


def test_the_sign_on_button_shows_only_when_it_is_set_up() -> None:
    button = "Sign in with your organisation's account"
    assert button not in sign_in_page("tok")
    assert button in sign_in_page("tok", sign_on=True)
    refused = sign_in_page("tok", [FieldError("sign-on", "No account")], sign_on=True)
    assert '<a href="#sign-on">No account</a>' in refused and 'id="sign-on-error"' in refused


def test_single_sign_on_needs_https_but_on_this_machine() -> None:
    with pytest.raises(ValueError, match="https"):
        SignOn("http://login.example", "id", "secret", "s" * 48)
    SignOn("https://login.example/tenant/v2.0", "id", "secret", "s" * 48)
    SignOn("http://localhost:9000", "id", "secret", "s" * 48)


def test_an_id_token_is_accepted_only_with_its_signature_issuer_audience_time_and_nonce() -> None:
    sign_on = SignOn("https://login.example", "procure-web", "secret", "s" * 48)
    provider = Provider("https://login.example", "https://a", "https://t", "https://k", ("RS256",))
    key = RSAKey.generate_key(2048, parameters={"kid": "k1"})
    stranger = RSAKey.generate_key(2048, parameters={"kid": "k1"})
    keys = KeySet([key]).as_dict(private=False)
    now = int(time.time())
    good = {
        "iss": "https://login.example",
        "aud": "procure-web",
        "sub": "s-1",
        "exp": now + 300,
        "iat": now,
        "nonce": sign_on.nonce("state-1"),
        "email": "kit@ash.example",
    }

    def token(claims: dict[str, object], signer: RSAKey = key) -> str:
        return jwt.encode({"alg": "RS256", "kid": "k1"}, claims, signer)

    assert sign_on.checked(token(good), keys, "state-1", provider)["email"] == "kit@ash.example"
    for wrong in (
        token(good, stranger),
        token(good | {"iss": "https://other.example"}),
        token(good | {"aud": "another-client"}),
        token(good | {"exp": now - 120}),
        token({k: v for k, v in good.items() if k != "nonce"}),
    ):
        with pytest.raises(SignOnRefused):
            sign_on.checked(wrong, keys, "state-1", provider)
    # The nonce belongs to its state: another sign-in's token is refused.
    with pytest.raises(SignOnRefused):
        sign_on.checked(token(good), keys, "state-2", provider)

"""The operators' side of the web workspace over HTTP: a new set-password link through the API
and `procure user link` (older links stop working); the Registry page (a CSV uploaded to
demand as the operator, its report after the redirect, a refused file's rows in the error
summary); the Users page (accounts with their last sign-in, adding a person with errors at
the fields, a new link shown once, disabling); and a manager's session refused on all of it."""

import re
import secrets
from collections.abc import Iterator

import httpx
import pytest

from procure.cli import main as procure
from procure.launcher import RunningSystem
from shared.auth import Role
from tests.helpers import add_person, bearer, registry_csv
from tests.integration.test_web_accounts import PASSWORD, browser, csrf_of, sign_in

pytestmark = pytest.mark.integration

LINK = re.compile(r'<a href="(http://[^"]+/set-password/([^"]+))">')


def add(system: RunningSystem, role: str, scope: str | None, password: str | None) -> str:
    email = f"{role}-{secrets.token_hex(4)}@ash-trust.example"
    return add_person(system, email, f"Kit {role.title()}", role, scope, password, new=True)


@pytest.fixture(scope="module")
def operator(system: RunningSystem) -> Iterator[httpx.Client]:
    """An operator signed in."""
    email = add(system, "operator", None, PASSWORD)
    with browser(system) as client:
        assert sign_in(client, email).status_code == 303
        yield client


def alive(system: RunningSystem, link: str) -> bool:
    """Whether a set-password link still opens its form."""
    return httpx.get(link).status_code == 200


def test_a_new_link_through_the_api_and_the_cli_ends_the_older_ones(
    system: RunningSystem, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    web = system.urls["web"]
    operator = bearer(system.token(Role.OPERATOR))
    added = httpx.post(
        f"{web}/v1/users",
        json={"email": f"s-{secrets.token_hex(4)}@ash.example", "name": "S", "role": "operator"},
        headers=operator,
    ).json()
    first = added["set_password_url"]
    email = added["email"]
    assert httpx.post(f"{web}/v1/users/{email}/link").status_code == 401
    manager = bearer(system.token(Role.MANAGER, "7801"))
    assert httpx.post(f"{web}/v1/users/{email}/link", headers=manager).status_code == 403
    unknown = httpx.post(f"{web}/v1/users/nobody@ash.example/link", headers=operator)
    assert unknown.status_code == 404
    second = httpx.post(f"{web}/v1/users/{email.upper()}/link", headers=operator)
    assert second.status_code == 200, second.text
    assert second.json()["email"] == email and second.json()["set_password_expires_at"]
    assert not alive(system, first)
    assert alive(system, second.json()["set_password_url"])

    monkeypatch.setenv("PROCURE_TOKEN_SECRET", system.token_secret)
    capsys.readouterr()
    procure(["user", "link", "--email", email, "--url", web])
    printed = capsys.readouterr().out
    assert f"new set-password link for {email}" in printed
    third = re.search(r"(http://\S+/set-password/\S+)", printed)
    assert third, printed
    assert not alive(system, second.json()["set_password_url"])
    assert alive(system, third.group(1))
    # A disabled account gets no link.
    assert httpx.post(f"{web}/v1/users/{email}/disable", headers=operator).status_code == 200
    assert httpx.post(f"{web}/v1/users/{email}/link", headers=operator).status_code == 404
    assert not alive(system, third.group(1))


def test_a_managers_session_is_refused_on_the_operators_pages(system: RunningSystem) -> None:
    email = add(system, "manager", "7801", PASSWORD)
    with browser(system) as client:
        assert sign_in(client, email).status_code == 303
        token = csrf_of(client.get("/"))
        for path in ("/registry", "/users", "/users/add"):
            page = client.get(path)
            assert page.status_code == 403, path
            assert "You cannot see this page" in page.text
        for path, data in (
            ("/users/add", {"email": "x@ash.example", "name": "X", "role": "operator"}),
            ("/users/disable", {"email": email}),
            ("/users/link", {"email": email}),
        ):
            assert client.post(path, data=data | {"csrf_token": token}).status_code == 403
        files = {"registry": ("r.csv", registry_csv("7801", [("780101", "A")]), "text/csv")}
        refused = client.post("/registry", data={"csrf_token": token}, files=files)
        assert refused.status_code == 403
        assert client.get("/").status_code == 200  # still the manager, nothing else changed
    with browser(system) as anonymous:
        assert anonymous.get("/users").headers["location"] == "/sign-in"


def test_the_operator_uploads_a_registry_and_sees_its_report(
    system: RunningSystem, operator: httpx.Client
) -> None:
    page = operator.get("/registry")
    assert page.status_code == 200
    assert 'enctype="multipart/form-data"' in page.text
    assert '<label class="label" for="registry">Registry file (CSV)</label>' in page.text
    token = csrf_of(page)
    csv = registry_csv("7302", [("730201", "Ash Primary"), ("730202", "Ash Academy")])
    files = {"registry": ("gias.csv", csv.encode(), "text/csv")}
    loaded = operator.post("/registry", data={"csrf_token": token}, files=files)
    assert loaded.status_code == 303 and loaded.headers["location"] == "/registry"
    report = operator.get("/registry").text
    assert "Registry loaded: 2 schools in trusts." in report
    assert "<dt>Schools that joined a trust</dt><dd>2</dd>" in report
    assert "<dt>Schools unchanged</dt><dd>0</dd>" in report
    # Shown once.
    assert "Registry loaded" not in operator.get("/registry").text
    # Demand holds them now: the same file again changes nothing.
    files = {"registry": ("gias.csv", csv.encode(), "text/csv")}
    assert operator.post("/registry", data={"csrf_token": token}, files=files).status_code == 303
    report = operator.get("/registry").text
    assert "<dt>Schools that joined a trust</dt><dd>0</dd>" in report
    assert "<dt>Schools unchanged</dt><dd>2</dd>" in report

    bad = csv + "73020X,Bad School,7302,Trust 7302,Open\n12345,Short,7302,Trust 7302,Open\n"
    files = {"registry": ("gias.csv", bad.encode(), "text/csv")}
    refused = operator.post("/registry", data={"csrf_token": token}, files=files)
    assert refused.status_code == 422
    assert "<title>Error: Registry" in refused.text
    assert '<a href="#registry">Line 4, URN: a URN is 6 digits</a>' in refused.text
    assert '<a href="#registry">Line 5, URN: a URN is 6 digits</a>' in refused.text
    assert "The file has 2 problems" in refused.text
    empty = operator.post("/registry", data={"csrf_token": token}, files={})
    assert empty.status_code == 422 and "Select a registry file" in empty.text
    forged = operator.post("/registry", data={"csrf_token": "x" * 43}, files=files)
    assert forged.status_code == 403


def test_the_operator_adds_a_person_issues_a_link_and_disables_them(
    system: RunningSystem, operator: httpx.Client
) -> None:
    form = operator.get("/users/add")
    assert form.status_code == 200
    for label in ("Email address", "Full name", "Role", "Trust code", "School URN", "Supplier id"):
        assert f">{label}</label>" in form.text
    token = csrf_of(form)

    def post(**fields: str) -> httpx.Response:
        return operator.post("/users/add", data=fields | {"csrf_token": token})

    empty = post()
    assert empty.status_code == 422 and "<title>Error: Add a person" in empty.text
    for field, message in (
        ("email", "Enter an email address"),
        ("name", "Enter the person&#x27;s full name"),
        ("role", "Select the person&#x27;s role"),
    ):
        assert f'<a href="#{field}">{message}</a>' in empty.text
        assert f'id="{field}-error"' in empty.text
    email = f"Robin-{secrets.token_hex(4)}@Ash-Trust.example"
    no_trust = post(email=email, name="Robin Ash", role="manager", urn="730201")
    assert '<a href="#trust">Enter the trust code of a trust business manager</a>' in no_trust.text
    # What was typed is kept.
    assert f'value="{email}"' in no_trust.text and 'value="Robin Ash"' in no_trust.text
    assert '<option value="manager" selected>' in no_trust.text
    bad_urn = post(email=email, name="Robin Ash", role="school", urn="12")
    assert bad_urn.status_code == 422 and '<a href="#urn">Enter a valid value' in bad_urn.text
    bad_email = post(email="robin at ash", name="Robin Ash", role="operator")
    assert "Enter an email address in the correct format" in bad_email.text

    added = post(email=email, name="Robin Ash", role="school", urn="730201")
    assert added.status_code == 303 and added.headers["location"] == "/users"
    users = operator.get("/users").text
    assert f"Robin Ash ({email}) can now set their password and sign in." in users
    link = LINK.search(users)
    assert link, users
    assert httpx.get(link.group(1)).status_code == 200
    row = users[users.index(f'<th scope="row">{email}</th>') :].split("</tr>")[0]
    assert "<td>School</td><td>730201</td><td>Enabled</td><td>Never</td>" in row
    # The operator's own row shows their sign-in.
    assert users.count("<td>Never</td>") < users.count("<tr>") - 1
    again = operator.get("/users").text
    assert "can now set their password" not in again and not LINK.search(again)
    taken = post(email=email.lower(), name="Robin Again", role="operator")
    assert taken.status_code == 409
    assert '<a href="#email">There is already an account with this email address</a>' in taken.text

    token = csrf_of(operator.get("/users"))
    issued = operator.post("/users/link", data={"email": email, "csrf_token": token})
    assert issued.status_code == 303
    page = operator.get("/users").text
    assert f"A new set-password link for {email}: older links no longer work." in page
    second = LINK.search(page)
    assert second and second.group(1) != link.group(1)
    assert httpx.get(link.group(1)).status_code == 404
    assert httpx.get(second.group(1)).status_code == 200

    disabled = operator.post("/users/disable", data={"email": email, "csrf_token": token})
    assert disabled.status_code == 303
    page = operator.get("/users").text
    assert f"{email} is disabled: 0 session(s) ended." in page
    row = page[page.index(f'<th scope="row">{email}</th>') :].split("</tr>")[0]
    assert "<td>Disabled</td>" in row and "Disable" not in row.split("Disabled")[1]
    assert httpx.get(second.group(1)).status_code == 404
    forged = operator.post("/users/disable", data={"email": email, "csrf_token": "x" * 43})
    assert forged.status_code == 403

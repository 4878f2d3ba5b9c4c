"""The web workspace over HTTP, against the running services: accounts added with `procure user
add` (through web's operators' API), sign-in with an email address and password, sessions that
end at sign-out everywhere and when an account is disabled, sign-in throttling, CSRF on every
form, one-time set-password links, and the first pages that show data through the services'
APIs as the signed-in person (the manager's pools, the supplier's open tenders)."""

import io
import re
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from procure.cli import main as procure
from procure.infra.provision import Infrastructure
from procure.launcher import RunningSystem
from shared.auth import Role
from tests.helpers import add_person, bearer, demand_line, eventually, open_tender, registry_csv

pytestmark = pytest.mark.integration

TRUST = "7181"
URNS = ("718101", "718102")
SUPPLIER = "gamma-gas"
PASSWORD = "violet kettle harbour"
WRONG = "Enter a correct email address and password"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def cli(system: RunningSystem, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """`procure` as an operator on this machine: the system's secret, web's address."""
    monkeypatch.setenv("PROCURE_TOKEN_SECRET", system.token_secret)
    yield


def add_user(
    system: RunningSystem,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    role: str,
    *scope: str,
    password: str | None = PASSWORD,
) -> tuple[str, str]:
    """A new account through `procure user add`; its email and what the command printed."""
    email = f"{role}-{secrets.token_hex(4)}@Example-Trust.org.uk"
    args = ["user", "add", "--email", email, "--name", f"Pat {role.title()}", "--role", role]
    args += [*scope, "--url", system.urls["web"]]
    if password is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))
        args.append("--password-stdin")
    capsys.readouterr()
    procure(args)
    return email, capsys.readouterr().out


def csrf_of(page: httpx.Response) -> str:
    found = CSRF.search(page.text)
    assert found, page.text
    return found.group(1)


def browser(system: RunningSystem) -> httpx.Client:
    return httpx.Client(base_url=system.urls["web"], timeout=30)


def sign_in(client: httpx.Client, email: str, password: str = PASSWORD) -> httpx.Response:
    token = csrf_of(client.get("/sign-in"))
    return client.post("/sign-in", data={"email": email, "password": password, "csrf_token": token})


def signed_in(client: httpx.Client) -> bool:
    return client.get("/").status_code == 200


@pytest.fixture
def manager(
    system: RunningSystem,
    cli: None,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> str:
    return add_user(system, capsys, monkeypatch, "manager", "--trust", TRUST)[0]


def test_sign_in_sets_an_httponly_session_cookie_and_shows_the_home_page(
    system: RunningSystem, manager: str
) -> None:
    with browser(system) as client:
        # Any case of the address: it is the same account.
        answer = sign_in(client, manager.upper())
        assert answer.status_code == 303, answer.text
        assert answer.headers["location"] == "/"
        cookie = next(
            c for c in answer.headers.get_list("set-cookie") if c.startswith("procure_web_session=")
        )
        flags = {part.strip().lower() for part in cookie.split(";")[1:]}
        assert {"httponly", "samesite=lax", "path=/"} <= flags
        value = cookie.split(";")[0].split("=", 1)[1]
        assert len(value) == 43  # 256 random bits
        home = client.get("/")
        assert home.status_code == 200
        assert "Pat Manager" in home.text and "Trust business manager, trust 7181" in home.text
        for link in ("Pools", "Tenders", "Savings dashboard", "Demand", "Spend"):
            assert f">{link}</a>" in home.text
        assert home.headers["cache-control"] == "no-store"
        assert "frame-ancestors 'none'" in home.headers["content-security-policy"]


def test_the_sign_in_page_has_the_contract_labels(system: RunningSystem) -> None:
    with browser(system) as client:
        page = client.get("/sign-in").text
    assert '<label class="label" for="email">Email address</label>' in page
    assert '<label class="label" for="password">Password</label>' in page
    assert '<button type="submit" class="button">Sign in</button>' in page
    assert 'autocomplete="current-password"' in page


def test_a_wrong_password_and_an_unknown_email_get_the_same_answer(
    system: RunningSystem, manager: str
) -> None:
    with browser(system) as client:
        wrong = sign_in(client, manager, "not the password at all")
        unknown = sign_in(client, "nobody-here@example-trust.org.uk")
        assert not signed_in(client)
    for answer in (wrong, unknown):
        assert answer.status_code == 401
        assert "There is a problem" in answer.text
        assert f'<a href="#email">{WRONG}</a>' in answer.text
        assert answer.text.startswith("<!doctype html>")
    # Nothing in the answer tells the two apart but the address typed back.
    assert wrong.text.replace(manager, "X").count(WRONG) == unknown.text.count(WRONG)


def test_an_empty_form_names_each_missing_field(system: RunningSystem) -> None:
    with browser(system) as client:
        token = csrf_of(client.get("/sign-in"))
        answer = client.post("/sign-in", data={"csrf_token": token})
    assert answer.status_code == 422
    assert '<a href="#email">Enter your email address</a>' in answer.text
    assert '<a href="#password">Enter your password</a>' in answer.text


def test_too_many_failures_for_one_email_are_refused_for_a_while(
    system: RunningSystem, manager: str
) -> None:
    with browser(system) as client:
        for _ in range(5):
            assert sign_in(client, manager, "guess guess guess").status_code == 401
        # Now even the right password is refused, without being checked.
        refused = sign_in(client, manager)
        assert refused.status_code == 429
        assert "Too many attempts: try again in 15 minutes" in refused.text
        assert not signed_in(client)


def test_disabling_an_account_ends_its_sessions_and_refuses_sign_in(
    system: RunningSystem, manager: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with browser(system) as client:
        assert sign_in(client, manager).status_code == 303
        assert signed_in(client)
        capsys.readouterr()
        procure(["user", "disable", manager, "--url", system.urls["web"]])
        assert "1 session(s) ended" in capsys.readouterr().out
        assert client.get("/").headers["location"] == "/sign-in"
        again = sign_in(client, manager)
        assert again.status_code == 401 and WRONG in again.text


def test_sign_out_ends_every_session_of_the_account(system: RunningSystem, manager: str) -> None:
    with browser(system) as laptop, browser(system) as phone:
        assert sign_in(laptop, manager).status_code == 303
        assert sign_in(phone, manager).status_code == 303
        token = csrf_of(laptop.get("/"))
        out = laptop.post("/sign-out", data={"csrf_token": token})
        assert out.status_code == 303 and out.headers["location"] == "/sign-in?done=out"
        assert "You have signed out on every device." in laptop.get(out.headers["location"]).text
        assert not signed_in(laptop)
        assert not signed_in(phone)


def test_forms_without_the_right_csrf_token_are_refused(
    system: RunningSystem, manager: str
) -> None:
    with browser(system) as client:
        client.get("/sign-in")  # the browser's CSRF cookie
        credentials = {"email": manager, "password": PASSWORD}
        missing = client.post("/sign-in", data=credentials)
        wrong = client.post("/sign-in", data=credentials | {"csrf_token": "x" * 43})
        for answer in (missing, wrong):
            assert answer.status_code == 403
            assert "security check" in answer.text
        token = csrf_of(client.get("/sign-in"))
        cross_site = client.post(
            "/sign-in",
            data=credentials | {"csrf_token": token},
            headers={"Origin": "https://evil.example"},
        )
        assert cross_site.status_code == 403 and "another website" in cross_site.text
        # The token of the page before sign-in is no good after it: it is bound to the session.
        assert sign_in(client, manager).status_code == 303
        stale = client.post("/sign-out", data={"csrf_token": token})
        assert stale.status_code == 403
        assert signed_in(client)


async def test_a_set_password_link_works_once_and_expires(
    system: RunningSystem,
    infra: Infrastructure,
    cli: None,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    email, printed = add_user(
        system, capsys, monkeypatch, "supplier", "--supplier", SUPPLIER, password=None
    )
    link = re.search(r"(http://\S+/set-password/(\S+))", printed)
    assert link, printed
    path = link.group(1).removeprefix(system.urls["web"])
    with browser(system) as client:
        form = client.get(path)
        assert form.status_code == 200 and email in form.text
        token = csrf_of(form)

        def post(password: str, confirm: str) -> httpx.Response:
            fields = {"password": password, "confirm": confirm, "csrf_token": token}
            return client.post("/set-password", data=fields | {"token": link.group(2)})

        short = post("short", "short")
        assert short.status_code == 422
        assert "Password must be 12 characters or more" in short.text
        easy = post("password1234", "password1234")
        assert easy.status_code == 422 and "too easy to guess" in easy.text
        differ = post(PASSWORD, PASSWORD + "!")
        assert differ.status_code == 422 and "Passwords do not match" in differ.text
        done = post(PASSWORD, PASSWORD)
        assert done.status_code == 303 and done.headers["location"] == "/sign-in?done=password"
        used = client.get(path)
        assert used.status_code == 404 and "has expired or has been used" in used.text
        assert post(PASSWORD, PASSWORD).status_code == 404
        assert sign_in(client, email).status_code == 303

    _, printed = add_user(system, capsys, monkeypatch, "school", "--urn", URNS[0], password=None)
    link = re.search(r"http://\S+(/set-password/(\S+))", printed)
    assert link
    conn = await asyncpg.connect(infra.database_urls["web"])
    try:
        await conn.execute(
            "UPDATE password_links SET expires_at = $1", datetime.now(UTC) - timedelta(seconds=1)
        )
    finally:
        await conn.close()
    with browser(system) as client:
        assert client.get(link.group(1)).status_code == 404


def test_the_users_api_is_for_operators_only(system: RunningSystem) -> None:
    body = {"email": "x@example-trust.org.uk", "name": "X", "role": "operator"}
    url = f"{system.urls['web']}/v1/users"
    assert httpx.post(url, json=body).status_code == 401
    as_manager = httpx.post(url, json=body, headers=bearer(system.token(Role.MANAGER, TRUST)))
    assert as_manager.status_code == 403
    operator = bearer(system.token(Role.OPERATOR))
    no_scope = httpx.post(url, json=body | {"role": "manager"}, headers=operator)
    assert no_scope.status_code == 422
    weak = httpx.post(url, json=body | {"password": "short"}, headers=operator)
    assert weak.status_code == 422 and weak.json()["errors"][0]["field"] == "password"
    assert httpx.post(url, json=body, headers=operator).status_code == 201
    again = httpx.post(url, json=body | {"email": "X@Example-Trust.org.uk"}, headers=operator)
    assert again.status_code == 409


def pool_demand(system: RunningSystem, trust: str, urns: tuple[str, ...]) -> list[dict[str, Any]]:
    """The trust's schools and their electricity demand, through demand's API; the pools
    tendering makes of it."""
    with httpx.Client(timeout=30) as http:
        loaded = http.post(
            f"{system.urls['demand']}/v1/registry",
            content=registry_csv(trust, [(urn, f"School {urn}") for urn in urns]),
            headers=bearer(system.token(Role.OPERATOR)),
        )
        assert loaded.status_code == 200, loaded.text
        for urn in urns:
            line = demand_line("2027-04-30") | {"school_urn": urn}
            submitted = http.post(
                f"{system.urls['demand']}/v1/demands",
                json=line,
                headers=bearer(system.token(Role.SCHOOL, urn)) | {"Idempotency-Key": f"w{urn}"},
            )
            assert submitted.status_code == 201, submitted.text
        manager = bearer(system.token(Role.MANAGER, trust))
        pools: list[dict[str, Any]] = eventually(
            lambda: http.get(
                f"{system.urls['tendering']}/v1/trusts/{trust}/pools", headers=manager
            ).json(),
            lambda found: len(found) == 1 and len(found[0]["lines"]) == len(urns),
        )
    return pools


def pooled_manager(
    system: RunningSystem, trust: str, urns: tuple[str, ...], email: str, name: str, password: str
) -> str:
    """A manager of a trust whose schools' demand is pooled, with an account; their email."""
    pool_demand(system, trust, urns)
    return add_person(system, email, name, "manager", trust, password)


@pytest.fixture(scope="module")
def pooled(system: RunningSystem) -> str:
    """The pool's value inc. VAT, as tendering's API gives it."""
    value: str = pool_demand(system, TRUST, URNS)[0]["route"]["value_inc_vat"]
    return value


def test_the_managers_pools_page_shows_the_trusts_pools_from_tendering(
    system: RunningSystem, manager: str, pooled: str
) -> None:
    with browser(system) as client:
        sign_in(client, manager)
        page = client.get("/pools")
    assert page.status_code == 200, page.text
    assert '<h1 class="heading-l">Pools</h1>' in page.text
    assert "Electricity" in page.text
    assert f"£{float(pooled):,.2f}" in page.text  # value inc. VAT
    assert 'aria-current="page">Pools' in page.text


def test_a_supplier_sees_open_tenders_and_not_the_managers_pages(
    system: RunningSystem,
    cli: None,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    pooled: str,
) -> None:
    with httpx.Client(timeout=30) as http:
        closes_at = datetime.now(UTC) + timedelta(days=2)
        call_off = {"procedure": "framework_call_off", "framework": "ESPO 191 Energy"}
        manager = bearer(system.token(Role.MANAGER, TRUST))
        open_tender(
            http, system.urls["tendering"], manager, TRUST, "electricity", closes_at, **call_off
        )
    supplier, _ = add_user(system, capsys, monkeypatch, "supplier", "--supplier", SUPPLIER)
    with browser(system) as client:
        assert sign_in(client, supplier).status_code == 303
        home = client.get("/").text
        assert ">Open tenders</a>" in home and ">Your bids</a>" in home
        assert ">Pools</a>" not in home
        tenders = client.get("/open-tenders")
        assert tenders.status_code == 200
        assert "Electricity" in tenders.text and "Call-off from a framework" in tenders.text
        refused = client.get("/pools")
        assert refused.status_code == 403 and "You cannot see this page" in refused.text

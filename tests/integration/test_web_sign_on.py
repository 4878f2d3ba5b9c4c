"""Single sign-on over HTTP against a real OpenID Connect provider: oidc-provider-mock runs in a
thread here (its authorize page lets a test choose who signs in), with this workspace
registered as a client (its redirect URI, its own secret, nonces required), and a second web
instance on the same database with single sign-on set up. The whole redirect dance: the
sign-in page's button, the provider's authorize page, the callback, a session for the account
the verified email address maps to; and the refusals (unknown, disabled, unverified, a state
that is not this browser's, a callback used twice)."""

import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from oidc_provider_mock import run_server_in_thread

from procure.infra.processes import free_port
from procure.launcher import RunningSystem
from shared.auth import Role
from tests.helpers import add_person, bearer
from tests.integration.test_web_accounts import csrf_of

pytestmark = pytest.mark.integration

BUTTON = "Sign in with your organisation's account"


@dataclass(frozen=True)
class SignOnRig:
    issuer: str
    web: str


@pytest.fixture(scope="module")
def rig(system: RunningSystem) -> Iterator[SignOnRig]:
    """The provider (plain http on this machine, which authlib allows only when told) and a web
    instance that uses it, with the client id and secret the provider registered it under."""
    before = os.environ.get("AUTHLIB_INSECURE_TRANSPORT")
    os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"
    try:
        with run_server_in_thread(require_client_registration=True, require_nonce=True) as server:
            issuer = f"http://localhost:{server.server_port}"
            port = free_port()
            web = f"http://127.0.0.1:{port}"
            client = httpx.post(
                f"{issuer}/oauth2/clients",
                json={
                    "redirect_uris": [f"{web}/sign-in/callback"],
                    "token_endpoint_auth_method": "client_secret_basic",
                },
            ).json()
            system.start(
                "web",
                instance="web-sign-on",
                port=port,
                env={
                    "WEB_OIDC_ISSUER": issuer,
                    "WEB_OIDC_CLIENT_ID": client["client_id"],
                    "WEB_OIDC_CLIENT_SECRET": client["client_secret"],
                },
            )
            try:
                yield SignOnRig(issuer, web)
            finally:
                system.remove("web-sign-on")
    finally:
        if before is None:
            os.environ.pop("AUTHLIB_INSECURE_TRANSPORT", None)
        else:
            os.environ["AUTHLIB_INSECURE_TRANSPORT"] = before


def person(system: RunningSystem, rig: SignOnRig, verified: bool = True) -> tuple[str, str]:
    """An account (no password: it signs in only through its organisation) and the subject at
    the provider whose email address is the account's, in another case."""
    address = f"pat-{secrets.token_hex(4)}@oak-trust.example"
    email = add_person(system, address, "Pat Sign-On", "manager", "7291", new=True)
    subject = f"subject-{secrets.token_hex(4)}"
    claims = {"email": email.upper(), "email_verified": verified, "name": "Pat"}
    assert httpx.put(f"{rig.issuer}/users/{subject}", json=claims).status_code == 204
    return email, subject


def to_provider(browser: httpx.Client) -> str:
    """Presses the sign-on button; the provider's authorize URL it was sent to."""
    token = csrf_of(browser.get("/sign-in"))
    start = browser.post("/sign-in/organisation", data={"csrf_token": token})
    assert start.status_code == 303, start.text
    return start.headers["location"]


def authorize(authorize_url: str, subject: str) -> str:
    """The provider's page, as a person: they choose who they are; the callback URL (with
    the code and state) it sends the browser back to."""
    with httpx.Client(timeout=30) as provider:
        page = provider.get(authorize_url)
        assert page.status_code == 200 and "Authorize" in page.text, page.text
        back = provider.post(authorize_url, data={"sub": subject})
    assert back.status_code == 302, back.text
    return back.headers["location"]


def sign_on(browser: httpx.Client, subject: str) -> httpx.Response:
    return browser.get(authorize(to_provider(browser), subject))


def test_the_sign_in_page_offers_single_sign_on_only_when_it_is_set_up(
    system: RunningSystem, rig: SignOnRig
) -> None:
    with httpx.Client(base_url=rig.web) as browser:
        page = browser.get("/sign-in").text
    assert f'id="sign-on">{BUTTON}</button>' in page
    assert 'action="/sign-in/organisation"' in page
    plain = httpx.get(f"{system.urls['web']}/sign-in").text
    assert BUTTON not in plain
    assert "Sign in" in plain


def test_a_verified_email_signs_in_to_its_account_with_pkce_state_and_nonce(
    system: RunningSystem, rig: SignOnRig
) -> None:
    email, subject = person(system, rig)
    with httpx.Client(base_url=rig.web, timeout=30) as browser:
        authorize_url = to_provider(browser)
        asked = parse_qs(urlsplit(authorize_url).query)
        assert authorize_url.startswith(f"{rig.issuer}/oauth2/authorize?")
        assert asked["code_challenge_method"] == ["S256"]
        assert len(asked["code_challenge"][0]) == 43
        assert asked["redirect_uri"] == [f"{rig.web}/sign-in/callback"]
        assert asked["scope"] == ["openid email profile"]
        assert asked["nonce"][0] and asked["state"][0]
        assert "code_verifier" not in asked
        callback = authorize(authorize_url, subject)
        assert callback.startswith(f"{rig.web}/sign-in/callback?")
        signed_on = browser.get(callback)
        assert signed_on.status_code == 303, signed_on.text
        assert signed_on.headers["location"] == "/"
        cookies = " ".join(signed_on.headers.get_list("set-cookie"))
        assert "procure_web_session=" in cookies
        home = browser.get("/")
        assert home.status_code == 200
        assert "Pat Sign-On" in home.text and "Trust business manager, trust 7291" in home.text
        # The session is the workspace's own, as after a password: the other instance knows it.
        session = browser.cookies["procure_web_session"]
        other = httpx.get(f"{system.urls['web']}/", cookies={"procure_web_session": session})
        assert other.status_code == 200 and "Pat Sign-On" in other.text
        # The callback works once: its state cookie is gone and its code is used.
        again = browser.get(callback)
        assert again.status_code == 400
    assert email


def test_an_email_without_an_account_is_refused(system: RunningSystem, rig: SignOnRig) -> None:
    subject = f"stranger-{secrets.token_hex(4)}"
    stranger = "nobody@elsewhere.example"
    claims = {"email": stranger, "email_verified": True}
    assert httpx.put(f"{rig.issuer}/users/{subject}", json=claims).status_code == 204
    with httpx.Client(base_url=rig.web, timeout=30) as browser:
        refused = sign_on(browser, subject)
        assert refused.status_code == 403
        assert "There is a problem" in refused.text
        assert f"There is no account for {stranger} in this service." in refused.text
        assert '<a href="#sign-on">' in refused.text
        assert "<title>Error: Sign in" in refused.text
        assert browser.get("/").status_code == 303
        # The person presses the provider's "Deny": it says so with an error, no code.
        authorize_url = to_provider(browser)
        denied = httpx.post(authorize_url, data={"action": "deny"})
        assert denied.status_code == 302 and "error=access_denied" in denied.headers["location"]
        answer = browser.get(denied.headers["location"])
        assert answer.status_code == 401
        assert "Your organisation&#x27;s account did not sign you in." in answer.text


def test_a_disabled_account_and_an_unverified_email_are_refused(
    system: RunningSystem, rig: SignOnRig
) -> None:
    email, subject = person(system, rig)
    operator = bearer(system.token(Role.OPERATOR))
    disabled = httpx.post(f"{system.urls['web']}/v1/users/{email}/disable", headers=operator)
    assert disabled.status_code == 200
    _, unverified = person(system, rig, verified=False)
    with httpx.Client(base_url=rig.web, timeout=30) as browser:
        refused = sign_on(browser, subject)
        assert refused.status_code == 403
        assert f"The account for {email.upper()} is disabled." in refused.text
        unchecked = sign_on(browser, unverified)
        assert unchecked.status_code == 401
        assert "did not give a verified email address" in unchecked.text
        assert browser.get("/").status_code == 303


def test_a_state_that_is_not_this_browsers_is_refused(
    system: RunningSystem, rig: SignOnRig
) -> None:
    _, subject = person(system, rig)
    with httpx.Client(base_url=rig.web, timeout=30) as browser:
        callback = authorize(to_provider(browser), subject)
        query = parse_qs(urlsplit(callback).query)
        forged = f"{rig.web}/sign-in/callback?code={query['code'][0]}&state=not-the-state"
        refused = browser.get(forged)
        assert refused.status_code == 400
        assert "could not be checked" in refused.text
        assert browser.get("/").status_code == 303
    # Another browser (an attacker's callback planted in a victim's) has no state cookie at all.
    with httpx.Client(base_url=rig.web, timeout=30) as victim:
        assert victim.get(callback).status_code == 400
        assert victim.get("/").status_code == 303

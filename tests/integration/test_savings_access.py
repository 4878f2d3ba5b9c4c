"""A manager sees their own trust's savings only: every savings endpoint, JSON or dashboard,
refuses anyone else. The JSON endpoints are read from the service's own OpenAPI document, so an
endpoint added later is covered without touching this test."""

from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from shared.auth import Role
from shared.infra.provision import Infrastructure
from shared.launcher import RunningSystem
from tests.helpers import bearer
from tests.integration.savings_scenario import Scenario, recorded

pytestmark = pytest.mark.integration

MINE = Scenario("3011", 301101)
THEIRS = Scenario("3012", 301201)
COOKIE = "procure_session"


@pytest.fixture(scope="module")
async def trusts(system: RunningSystem, infra: Infrastructure) -> RunningSystem:
    await recorded(system, infra, MINE, 5)
    await recorded(system, infra, THEIRS, 5)
    return system


def trust_endpoints(system: RunningSystem, trust: Scenario) -> list[str]:
    """Every GET path of the savings API that names a trust, filled in for `trust`."""
    spec = httpx.get(f"{system.urls['savings']}/openapi.json").json()
    paths = [p for p, ops in spec["paths"].items() if "{trust_id}" in p and "get" in ops]
    assert len(paths) >= 8, paths  # summary, schools, school, categories, contracts, ...
    return [p.replace("{trust_id}", trust.trust_id).replace("{urn}", trust.urns[0]) for p in paths]


def test_every_endpoint_refuses_another_trusts_manager(trusts: RunningSystem) -> None:
    url = trusts.urls["savings"]
    other_manager = bearer(trusts.token(Role.MANAGER, THEIRS.trust_id))
    own_manager = bearer(trusts.token(Role.MANAGER, MINE.trust_id))
    for path in trust_endpoints(trusts, MINE):
        assert httpx.get(url + path, headers=own_manager).status_code == 200, path
        refused = httpx.get(url + path, headers=other_manager)
        assert refused.status_code == 403, path
        assert refused.headers["content-type"] == "application/problem+json"
        assert MINE.trust_id in refused.json()["detail"]
        # Nothing of the trust's figures leaks into the refusal.
        assert "9615.84" not in refused.text


def test_every_endpoint_refuses_other_roles_and_strangers(trusts: RunningSystem) -> None:
    url = trusts.urls["savings"]
    others = [
        bearer(trusts.token(Role.SCHOOL, MINE.urns[0])),
        bearer(trusts.token(Role.SUPPLIER, "volt-co")),
        bearer(trusts.token(Role.OPERATOR)),
    ]
    for path in trust_endpoints(trusts, MINE):
        for headers in others:
            assert httpx.get(url + path, headers=headers).status_code == 403, path
        assert httpx.get(url + path).status_code == 401, path
        assert httpx.get(url + path, headers=bearer("not-a-token")).status_code == 401, path


def test_another_trusts_school_is_not_found_through_your_own_trust(
    trusts: RunningSystem,
) -> None:
    own_manager = bearer(trusts.token(Role.MANAGER, MINE.trust_id))
    theirs = THEIRS.urns[0]
    response = httpx.get(
        f"{trusts.urls['savings']}/v1/trusts/{MINE.trust_id}/savings/schools/{theirs}",
        headers=own_manager,
    )
    assert response.status_code == 404
    assert response.json()["title"] == "Not found"


@contextmanager
def signed_in(system: RunningSystem, trust_id: str) -> Iterator[httpx.Client]:
    """A browser-like client that signed in through the form and keeps the cookie."""
    with httpx.Client(base_url=system.urls["savings"]) as client:
        response = client.post("/sign-in", data={"token": system.token(Role.MANAGER, trust_id)})
        assert response.status_code == 303
        assert response.headers["location"] == f"/trusts/{trust_id}"
        yield client


def test_sign_in_sets_an_http_only_strict_cookie(trusts: RunningSystem) -> None:
    response = httpx.post(
        f"{trusts.urls['savings']}/sign-in",
        data={"token": trusts.token(Role.MANAGER, MINE.trust_id)},
    )
    assert response.status_code == 303
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie or "SameSite=Strict" in cookie
    assert "Path=/" in cookie


def test_the_dashboard_refuses_another_trusts_manager(trusts: RunningSystem) -> None:
    with signed_in(trusts, THEIRS.trust_id) as theirs, signed_in(trusts, MINE.trust_id) as mine:
        for path in (f"/trusts/{MINE.trust_id}", f"/trusts/{MINE.trust_id}/ledger.csv"):
            assert mine.get(path).status_code == 200, path
            refused = theirs.get(path)
            assert refused.status_code == 403, path
            assert "Alder Primary School" not in refused.text
        # Their own dashboard works, and shows their trust only.
        own = theirs.get(f"/trusts/{THEIRS.trust_id}")
        assert own.status_code == 200
        assert str(THEIRS.urns[0]) in own.text and str(MINE.urns[0]) not in own.text


def test_the_dashboard_needs_a_signed_in_manager(trusts: RunningSystem) -> None:
    url = trusts.urls["savings"]
    for path in (f"/trusts/{MINE.trust_id}", f"/trusts/{MINE.trust_id}/ledger.csv"):
        response = httpx.get(url + path)
        assert response.status_code == 303
        assert response.headers["location"] == "/sign-in"
        # A bearer token is not a session: the dashboard reads only its own cookie.
        manager = bearer(trusts.token(Role.MANAGER, MINE.trust_id))
        assert httpx.get(url + path, headers=manager).status_code == 303
        # A forged or foreign cookie is no better.
        school = trusts.token(Role.SCHOOL, MINE.urns[0])
        assert httpx.get(url + path, cookies={COOKIE: school}).status_code == 403
        assert httpx.get(url + path, cookies={COOKIE: "forged"}).status_code == 303
    refused = httpx.post(f"{url}/sign-in", data={"token": trusts.token(Role.SCHOOL, MINE.urns[0])})
    assert refused.status_code == 403
    assert "set-cookie" not in refused.headers
    invalid = httpx.post(f"{url}/sign-in", data={"token": "not-a-token"})
    assert invalid.status_code == 401
    assert "set-cookie" not in invalid.headers


def test_signing_out_ends_the_session(trusts: RunningSystem) -> None:
    with signed_in(trusts, MINE.trust_id) as client:
        assert client.get(f"/trusts/{MINE.trust_id}").status_code == 200
        assert client.post("/sign-out").status_code == 303
        assert client.get(f"/trusts/{MINE.trust_id}").status_code == 303

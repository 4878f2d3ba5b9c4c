"""A manager sees their own trust's savings only, and a school its own: every savings endpoint,
JSON or dashboard, refuses anyone else. The JSON endpoints are read from the service's own
OpenAPI document, so an endpoint added later is covered without touching this test. The
dashboard's forms (sign in, sign out) are refused without their CSRF token or when sent from
another site."""

import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from csv import DictReader

import httpx
import pytest

from procure.infra.provision import Infrastructure
from procure.launcher import RunningSystem
from services.savings.dashboard import COOKIE, CSRF_COOKIE
from shared.auth import Role
from tests.helpers import bearer
from tests.integration.savings_scenario import Scenario, recorded

pytestmark = pytest.mark.integration

MINE = Scenario("3011", 301101)
THEIRS = Scenario("3012", 301201)
CSRF_FIELD = re.compile(r'<input type="hidden" name="csrf_token" value="([^"]+)">')


@pytest.fixture(scope="module")
async def trusts(system: RunningSystem, infra: Infrastructure) -> RunningSystem:
    await recorded(system, infra, MINE, 5)
    await recorded(system, infra, THEIRS, 5)
    return system


def trust_endpoints(system: RunningSystem, trust: Scenario) -> list[str]:
    """Every GET path of the savings API that names a trust, filled in for `trust`."""
    spec = httpx.get(f"{system.urls['savings']}/openapi.json").json()
    paths = [p for p, ops in spec["paths"].items() if "{trust_id}" in p and "get" in ops]
    assert len(paths) >= 9, paths  # summary, schools, school, categories, contracts, contract...
    return [
        p.replace("{trust_id}", trust.trust_id)
        .replace("{urn}", trust.urns[0])
        .replace("{tender_id}", str(trust.tender_id("electricity")))
        for p in paths
    ]


def dashboard_paths(trust: Scenario) -> list[str]:
    """Every dashboard page of the trust: its dashboard, ledger download and contract pages."""
    contracts = [
        f"/trusts/{trust.trust_id}/contracts/{trust.tender_id(n)}" for n in ("electricity", "gas")
    ]
    return [f"/trusts/{trust.trust_id}", f"/trusts/{trust.trust_id}/ledger.csv", *contracts]


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
    others = [bearer(trusts.token(Role.SUPPLIER, "volt-co")), bearer(trusts.token(Role.OPERATOR))]
    school = bearer(trusts.token(Role.SCHOOL, MINE.urns[0]))
    manager = bearer(trusts.token(Role.MANAGER, MINE.trust_id))
    # A trust's figures are its manager's, a school's own figures the school's.
    for paths, wrong_role in (
        (trust_endpoints(trusts, MINE), school),
        (school_endpoints(trusts, MINE.urns[0]), manager),
    ):
        for path in paths:
            for headers in [wrong_role, *others]:
                assert httpx.get(url + path, headers=headers).status_code == 403, path
            assert httpx.get(url + path).status_code == 401, path
            assert httpx.get(url + path, headers=bearer("not-a-token")).status_code == 401, path


def test_another_trusts_school_or_contract_is_not_found_through_your_own_trust(
    trusts: RunningSystem,
) -> None:
    own_manager = bearer(trusts.token(Role.MANAGER, MINE.trust_id))
    base = f"{trusts.urls['savings']}/v1/trusts/{MINE.trust_id}/savings"
    for path in (f"/schools/{THEIRS.urns[0]}", f"/contracts/{THEIRS.tender_id('electricity')}"):
        response = httpx.get(base + path, headers=own_manager)
        assert response.status_code == 404, path
        assert response.json()["title"] == "Not found"
        assert "9615.84" not in response.text


def school_endpoints(system: RunningSystem, urn: str) -> list[str]:
    """Every GET path of the savings API that names a school and no trust, filled in for `urn`."""
    spec = httpx.get(f"{system.urls['savings']}/openapi.json").json()
    paths = [
        p for p, ops in spec["paths"].items() if p.startswith("/v1/schools/{urn}") and "get" in ops
    ]
    assert len(paths) >= 2, paths  # the school's savings and its CSV
    return [p.replace("{urn}", urn) for p in paths]


def test_a_school_reads_its_own_savings_and_nobody_elses(trusts: RunningSystem) -> None:
    url = trusts.urls["savings"]
    alder, birch = MINE.urns[0], MINE.urns[1]
    school = bearer(trusts.token(Role.SCHOOL, alder))
    own = httpx.get(f"{url}/v1/schools/{alder}/savings", headers=school)
    assert own.status_code == 200
    body = own.json()
    assert (body["urn"], body["name"]) == (alder, "Alder Primary School")
    # Alder's electricity and gas lines, worked by hand in savings_scenario.py.
    assert sorted(e["category"] for e in body["entries"]) == ["electricity", "gas"]
    assert {e["school_urn"] for e in body["entries"]} == {alder}
    assert (body["annual_saving"], body["annual_baseline_cost"]) == ("4565.43", "24992.61")
    # The same figures as the trust's manager reads for the school.
    manager = bearer(trusts.token(Role.MANAGER, MINE.trust_id))
    as_manager = httpx.get(
        f"{url}/v1/trusts/{MINE.trust_id}/savings/schools/{alder}", headers=manager
    )
    assert as_manager.json() == body
    csv = httpx.get(f"{url}/v1/schools/{alder}/savings/ledger.csv", headers=school)
    assert csv.status_code == 200
    assert csv.headers["content-type"] == "text/csv; charset=utf-8"
    assert f'filename="savings-ledger-school-{alder}.csv"' in csv.headers["content-disposition"]
    rows = list(DictReader(io.StringIO(csv.text)))
    assert [row["school_urn"] for row in rows] == [alder, alder]
    assert "Birch" not in csv.text and "Birch" not in own.text

    # Another school's figures, of the same trust or another, are refused, and say nothing.
    for path in school_endpoints(trusts, birch) + school_endpoints(trusts, THEIRS.urns[0]):
        refused = httpx.get(url + path, headers=school)
        assert refused.status_code == 403, path
        assert refused.headers["content-type"] == "application/problem+json"
        assert "Birch" not in refused.text and "3750.00" not in refused.text
    # The manager still reads the whole trust, every school in it.
    trust = httpx.get(f"{url}/v1/trusts/{MINE.trust_id}/savings", headers=manager).json()
    assert sorted(s["urn"] for s in trust["schools"]) == sorted(MINE.urns)
    # A URN nobody registered is not found, even by its own token.
    nobody = bearer(trusts.token(Role.SCHOOL, "399999"))
    missing = httpx.get(f"{url}/v1/schools/399999/savings", headers=nobody)
    assert missing.status_code == 404
    assert missing.json()["title"] == "Not found"


def sign_in(client: httpx.Client, token: str, **headers: str) -> httpx.Response:
    """Through the form as a browser does: fetch it (and its CSRF cookie), then post it."""
    form = client.get("/sign-in")
    assert form.status_code == 200
    (csrf,) = CSRF_FIELD.findall(form.text)
    assert client.cookies[CSRF_COOKIE] == csrf
    return client.post("/sign-in", data={"token": token, "csrf_token": csrf}, headers=headers)


@contextmanager
def signed_in(system: RunningSystem, trust_id: str) -> Iterator[httpx.Client]:
    """A browser-like client that signed in through the form and keeps the cookie."""
    with httpx.Client(base_url=system.urls["savings"]) as client:
        response = sign_in(client, system.token(Role.MANAGER, trust_id))
        assert response.status_code == 303
        assert response.headers["location"] == f"/trusts/{trust_id}"
        yield client


def test_sign_in_sets_an_http_only_strict_cookie(trusts: RunningSystem) -> None:
    with httpx.Client(base_url=trusts.urls["savings"]) as client:
        form = client.get("/sign-in")
        response = sign_in(client, trusts.token(Role.MANAGER, MINE.trust_id))
    assert response.status_code == 303
    for cookie, name in (
        (response.headers["set-cookie"], COOKIE),
        (form.headers["set-cookie"], CSRF_COOKIE),
    ):
        assert cookie.startswith(f"{name}=")
        assert "HttpOnly" in cookie
        assert "SameSite=strict" in cookie or "SameSite=Strict" in cookie
        assert "Path=/" in cookie


def test_the_dashboard_refuses_another_trusts_manager(trusts: RunningSystem) -> None:
    with signed_in(trusts, THEIRS.trust_id) as theirs, signed_in(trusts, MINE.trust_id) as mine:
        for path in dashboard_paths(MINE):
            assert mine.get(path).status_code == 200, path
            refused = theirs.get(path)
            assert refused.status_code == 403, path
            assert "Not your trust" in refused.text
            assert "Alder Primary School" not in refused.text
        # Their own dashboard works, and shows their trust only.
        own = theirs.get(f"/trusts/{THEIRS.trust_id}")
        assert own.status_code == 200
        assert str(THEIRS.urns[0]) in own.text and str(MINE.urns[0]) not in own.text
        # Another trust's contract is not found through your own trust's pages.
        for tender in (str(MINE.tender_id("gas")), "not-a-tender"):
            missing = theirs.get(f"/trusts/{THEIRS.trust_id}/contracts/{tender}")
            assert missing.status_code == 404, tender
            assert "No such contract" in missing.text
            assert "Alder Primary School" not in missing.text


def test_the_dashboard_needs_a_signed_in_manager(trusts: RunningSystem) -> None:
    url = trusts.urls["savings"]
    for path in dashboard_paths(MINE):
        response = httpx.get(url + path)
        assert response.status_code == 303
        assert response.headers["location"] == "/sign-in"
        # A bearer token opens no session: it gets what the web workspace asks for (a page's
        # title and main content as JSON, or the CSV), never an HTML page or a cookie.
        manager = bearer(trusts.token(Role.MANAGER, MINE.trust_id))
        part = httpx.get(url + path, headers=manager)
        assert part.status_code == 200, path
        assert "set-cookie" not in part.headers
        assert not part.headers["content-type"].startswith("text/html")
        # A forged or foreign cookie is no better.
        school = trusts.token(Role.SCHOOL, MINE.urns[0])
        assert httpx.get(url + path, cookies={COOKIE: school}).status_code == 303
        assert httpx.get(url + path, cookies={COOKIE: "forged"}).status_code == 303
    for path in (f"/schools/{MINE.urns[0]}", f"/schools/{MINE.urns[0]}/ledger.csv"):
        assert httpx.get(url + path).status_code == 303, path
        school = bearer(trusts.token(Role.SCHOOL, MINE.urns[0]))
        assert httpx.get(url + path, headers=school).status_code == 200, path
    with httpx.Client(base_url=url) as client:
        refused = sign_in(client, trusts.token(Role.SUPPLIER, "volt-co"))
        assert refused.status_code == 403
        assert "for trust business managers and schools" in refused.text
        invalid = sign_in(client, "not-a-token")
        assert invalid.status_code == 401
        for response in (refused, invalid):
            assert "set-cookie" not in response.headers
            assert COOKIE not in client.cookies


def test_a_school_signs_in_to_its_own_page_and_sees_nothing_else(trusts: RunningSystem) -> None:
    alder, birch = MINE.urns[0], MINE.urns[1]
    with httpx.Client(base_url=trusts.urls["savings"]) as school:
        signed = sign_in(school, trusts.token(Role.SCHOOL, alder))
        assert signed.status_code == 303
        assert signed.headers["location"] == f"/schools/{alder}"
        page = school.get(f"/schools/{alder}")
        assert page.status_code == 200
        text = page.text.replace("&#x27;", "'")
        assert "<h1>Alder Primary School</h1>" in text
        # Alder's two lines (savings_scenario.py): electricity from Volt Energy Ltd, supplied
        # 2 April 2027 to 1 April 2029, saving 3,300.00 (18.97%); gas from moor-gas (no name in
        # its award), 2 September 2027 to 1 September 2030, 1,265.43 (16.67%). Its total
        # 4,565.43 a year, 18.27% of 24,992.61.
        for row_start, cells in (
            (
                '<tr><th scope="row">Electricity',
                (
                    "Volt Energy Ltd (volt-co)",
                    "2 April 2027",
                    "1 April 2029",
                    "£3,300.00",
                    "18.97%",
                ),
            ),
            (
                '<tr><th scope="row">Natural gas',
                (
                    '<span class="small">moor-gas<br>',
                    "2 September 2027",
                    "1 September 2030",
                    "£1,265.43",
                ),
            ),
        ):
            row = text[text.index(row_start) :]
            row = row[: row.index("</tr>")]
            for cell in cells:
                assert cell in row, (row_start, cell)
        assert '<dd class="value" id="annual-saving">£4,565.43</dd>' in text
        assert '<dd class="value" id="saving-pct">18.27%</dd>' in text
        # Nothing of the other schools, of this trust or another.
        for other in ("Birch", "Cedar", birch, MINE.urns[2], "£3,750.00", "9,615.84"):
            assert other not in text, other
        # Its own CSV, the same as the API gives the school's token.
        download = school.get(f"/schools/{alder}/ledger.csv")
        api = httpx.get(
            f"{trusts.urls['savings']}/v1/schools/{alder}/savings/ledger.csv",
            headers=bearer(trusts.token(Role.SCHOOL, alder)),
        )
        assert download.status_code == 200 and download.text == api.text
        assert f'href="/schools/{alder}/ledger.csv"' in text
        # Refused on every trust page, its own trust's included, and on another school's.
        for path in dashboard_paths(MINE) + dashboard_paths(THEIRS):
            refused = school.get(path)
            assert refused.status_code == 403, path
            assert "Not your trust" in refused.text and "Birch" not in refused.text
        for path in (f"/schools/{birch}", f"/schools/{THEIRS.urns[0]}/ledger.csv"):
            refused = school.get(path)
            assert refused.status_code == 403, path
            assert "Not your school" in refused.text
            assert "Birch" not in refused.text and "3750.00" not in refused.text
    # A manager's session reads the school on the trust's dashboard, not on the school's page.
    with signed_in(trusts, MINE.trust_id) as manager:
        assert manager.get(f"/schools/{alder}").status_code == 403


def test_sign_in_refuses_a_form_without_its_csrf_token(trusts: RunningSystem) -> None:
    """Login CSRF: another site cannot post its own token into a manager's browser."""
    token = trusts.token(Role.MANAGER, MINE.trust_id)
    with httpx.Client(base_url=trusts.urls["savings"]) as client:
        csrf = CSRF_FIELD.findall(client.get("/sign-in").text)[0]
        attempts = [
            {"token": token},  # no field
            {"token": token, "csrf_token": ""},
            {"token": token, "csrf_token": "x" * 43},  # not the cookie's
        ]
        for data in attempts:
            refused = client.post("/sign-in", data=data)
            assert refused.status_code == 403, data
            assert "This form has expired" in refused.text
            assert COOKIE not in client.cookies
        # The cookie alone is not enough either: a request without it is refused.
        bare = httpx.post(
            f"{trusts.urls['savings']}/sign-in", data={"token": token, "csrf_token": csrf}
        )
        assert bare.status_code == 403
        assert COOKIE not in bare.cookies
        # The refusal's form still works: the same token, now sent with it, signs in.
        assert client.post("/sign-in", data={"token": token, "csrf_token": csrf}).status_code == 303


def test_sign_in_refuses_a_form_sent_from_another_site(trusts: RunningSystem) -> None:
    token = trusts.token(Role.MANAGER, MINE.trust_id)
    url = trusts.urls["savings"]
    foreign = [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Referer": "https://evil.example/login-you-in"},
        # Another service on this host is another origin too.
        {"Origin": trusts.urls["tendering"]},
    ]
    with httpx.Client(base_url=url) as client:
        for headers in foreign:
            refused = sign_in(client, token, **headers)
            assert refused.status_code == 403, headers
            assert "sent from another website" in refused.text
            assert COOKIE not in client.cookies
        # The dashboard's own origin (as a browser sends it with our form) is accepted.
        assert sign_in(client, token, Origin=url, Referer=f"{url}/sign-in").status_code == 303
        assert COOKIE in client.cookies


def test_signing_out_ends_the_session_and_needs_the_csrf_token(trusts: RunningSystem) -> None:
    with signed_in(trusts, MINE.trust_id) as client:
        page = client.get(f"/trusts/{MINE.trust_id}")
        assert page.status_code == 200
        (csrf,) = set(CSRF_FIELD.findall(page.text))
        # Another site's sign-out button (no token, or a foreign origin) does nothing.
        assert client.post("/sign-out").status_code == 403
        foreign = client.post(
            "/sign-out", data={"csrf_token": csrf}, headers={"Origin": "https://evil.example"}
        )
        assert foreign.status_code == 403
        assert "Not signed out" in foreign.text
        assert client.get(f"/trusts/{MINE.trust_id}").status_code == 200
        # Only a GET is not a way to sign out.
        assert client.get("/sign-out").status_code == 405
        signed_out = client.post("/sign-out", data={"csrf_token": csrf})
        assert signed_out.status_code == 303
        assert signed_out.headers["location"] == "/sign-in"
        assert client.get(f"/trusts/{MINE.trust_id}").status_code == 303

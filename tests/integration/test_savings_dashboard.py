"""The business manager's dashboard on the running system: server-rendered, no JavaScript, charts
as SVG with text alternatives, cost increases named, each contract linked to its own page (and
that page's JSON twin) with every school's figures; and the CLI report printing the same figures
in the same words."""

import csv
import io
import re
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from hashlib import sha256
from uuid import NAMESPACE_URL, uuid5

import asyncpg
import httpx
import jwt
import pytest
from aiokafka import AIOKafkaProducer

from procure.cli import main as procure
from procure.infra.provision import Infrastructure
from procure.launcher import RunningSystem
from shared.auth import Role
from shared.events import EventData, SchoolJoined, Topics
from tests.helpers import bearer, eventually, new_event
from tests.integration.savings_scenario import LINES, Scenario, lot_award, recorded
from tests.integration.test_savings_access import CSRF_FIELD, sign_in

pytestmark = pytest.mark.integration

SCENARIO = Scenario("3021", 302101)
# The scenario's totals (savings_scenario.py): saving 9,615.84 a year, 21,847.52 over the terms,
# 12.34% of today's 77,896.09, of which pooling alone 6,830.48.
HEADLINES = {
    "annual-saving": ("Saving per year", "£9,615.84"),
    "term-saving": ("Saving over the contracts' terms", "£21,847.52"),
    "saving-pct": ("Saving on today's costs", "12.34%"),
    "pooling-saving": ("Pooling alone contributed, per year", "£6,830.48"),
}
HEADLINE = re.compile(r'<dt>([^<]+)</dt><dd class="value" id="([a-z-]+)">([^<]+)</dd>')


@pytest.fixture(scope="module")
async def published(system: RunningSystem, infra: Infrastructure) -> None:
    await recorded(system, infra, SCENARIO, 5)


@pytest.fixture(scope="module")
def page(system: RunningSystem, published: None) -> str:
    with httpx.Client(base_url=system.urls["savings"]) as browser:
        assert sign_in(browser, system.token(Role.MANAGER, SCENARIO.trust_id)).status_code == 303
        response = browser.get(f"/trusts/{SCENARIO.trust_id}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-store"
    assert "script-src" not in response.headers["content-security-policy"]
    return response.text.replace("&#x27;", "'")


def test_headline_annual_and_term_savings(page: str) -> None:
    found = {key: (label, value) for label, key, value in HEADLINE.findall(page)}
    assert found == HEADLINES
    assert "<h1>Fenland Learning Trust</h1>" in page


def test_readable_without_javascript_and_printable(page: str) -> None:
    assert "<script" not in page.lower()
    assert "@media print" in page
    assert '<html lang="en-GB">' in page


def test_charts_are_svg_with_text_alternatives(page: str) -> None:
    charts = re.findall(r'<svg class="chart(?: chart-wide)?" id="([^"]+)"[^>]*role="img"', page)
    # Per school, per category, pooling for each of the two categories, over time.
    assert charts == [
        "chart-schools",
        "chart-categories",
        "chart-pooling-electricity-kWh",
        "chart-pooling-gas-kWh",
        "chart-months",
    ]
    # The bar charts are drawn narrow for phones too, and the style shows one or the other.
    narrow = re.findall(r'<svg class="chart chart-narrow" id="([^"]+)"[^>]*role="img"', page)
    assert narrow == ["chart-schools-narrow", "chart-categories-narrow", "chart-months-narrow"]
    for chart in charts + narrow:
        assert f'<title id="{chart}-title">' in page
        assert f'<desc id="{chart}-desc">' in page
    # Every chart's figures are also in a table with a caption and scoped headers.
    assert page.count("<caption>") == 5
    assert '<th scope="col"' in page and '<th scope="row"' in page


def test_per_school_figures_with_the_cost_increase_named(page: str) -> None:
    schools = page[page.index('id="schools"') : page.index('id="categories"')]
    for name, saving in (
        ("Alder Primary School", "£4,565.43"),
        ("Birch Academy", "£5,100.41"),
        ("Cedar Primary School", "\u2212£50.00"),
    ):
        assert name in schools and saving in schools
    cedar_row = schools[schools.index('<tr><th scope="row">Cedar Primary School') :]
    cedar_row = cedar_row[: cedar_row.index("</tr>")]
    assert "cost increase" in cedar_row
    increases = page[page.index('id="increases-heading"') :]
    assert "Cedar Primary School" in increases[: increases.index("</section>")]
    assert "£50.00 a year more than today" in increases


def test_contracts_link_to_their_own_pages(page: str, system: RunningSystem) -> None:
    contracts = page[page.index('id="contracts"') :]
    links = re.findall(r'<a href="([^"]+)">', contracts)
    assert links == [
        f"/trusts/{SCENARIO.trust_id}/contracts/{SCENARIO.tender_id(name)}"
        for name in ("electricity", "gas")  # by contract start: April, then September 2027
    ]
    # Not to the tendering API, which needs a bearer token a browser does not send.
    assert system.urls["tendering"] not in page


def test_the_cli_report_prints_the_dashboards_figures(
    system: RunningSystem,
    page: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("PROCURE_TOKEN_SECRET", system.token_secret)
    procure(["savings", "report", "--trust", SCENARIO.trust_id, "--url", system.urls["savings"]])
    report = capsys.readouterr().out
    lines = report.splitlines()
    for label, _, value in HEADLINE.findall(page):
        assert any(line.startswith(label) and value in line for line in lines), (label, value)
    cedar = next(line for line in lines if line.startswith("Cedar Primary School"))
    # B, C, S, %, term, E as on the dashboard's table (savings_scenario.py), named an increase.
    for figure in (
        "£2,300.00",
        "£2,350.00",
        "\u2212£50.00",
        "\u22122.17%",
        "\u2212£100.00",
        "£650.00",
    ):
        assert figure in cedar and figure in page
    assert cedar.endswith("cost increase")
    assert any(line.startswith("Electricity") and "£7,000.00" in line for line in lines)
    assert any(line.startswith("Natural gas") and "£2,615.84" in line for line in lines)
    assert str(SCENARIO.tender_id("gas")) in report


def test_the_dashboards_csv_is_the_apis(system: RunningSystem, page: str) -> None:
    url = system.urls["savings"]
    token = system.token(Role.MANAGER, SCENARIO.trust_id)
    with httpx.Client(base_url=url) as browser:
        sign_in(browser, token)
        download = browser.get(f"/trusts/{SCENARIO.trust_id}/ledger.csv")
    api = httpx.get(
        f"{url}/v1/trusts/{SCENARIO.trust_id}/savings/ledger.csv", headers=bearer(token)
    )
    assert download.status_code == api.status_code == 200
    assert download.text == api.text
    assert len(list(csv.DictReader(io.StringIO(download.text)))) == 5
    assert f'href="/trusts/{SCENARIO.trust_id}/ledger.csv"' in page


# Each contract of the scenario (savings_scenario.py), the sums of its lines:
# electricity: S = 3,300 + 3,750 - 50 = 7,000.00; term 14,000.00; 7,000 / 58,700 = 11.93%;
#   E = 2,100 + 2,250 + 650 = 5,000.00. Gas: S = 1,265.43 + 1,350.41 = 2,615.84; term
#   3,796.30 + 4,051.22 = 7,847.52; 2,615.84 / 19,196.09 = 13.63%; E = 1,080.25 + 750.23.
CONTRACT_HEADLINES = {
    "electricity": ("£7,000.00", "£14,000.00", "11.93%", "£5,000.00"),
    "gas": ("£2,615.84", "£7,847.52", "13.63%", "£1,830.48"),
}
LABELS = (
    "Saving per year",
    "Saving over the contract's term",
    "Saving on today's costs",
    "Pooling alone contributed, per year",
)
CONTRACT_TERMS = {
    # supplier, first supply start (the day after the earliest contract end), term, schools,
    # pooled volume, joint price
    "electricity": (
        "Volt Energy Ltd (volt-co)",
        "2 April 2027",
        "24 months",
        "3",
        "220,000 kWh",
        "£0.2350/kWh",
    ),
    "gas": ("moor-gas", "2 September 2027", "36 months", "2", "323,517 kWh", "£0.05125/kWh"),
}
SCHOOL_NAMES = ("Alder Primary School", "Birch Academy", "Cedar Primary School")


def shown(amount: str, suffix: str = "") -> str:
    """A figure as the page prints it: -50.00 as £50.00 after a minus sign (U+2212)."""
    value = Decimal(amount)
    sign = "\u2212" if value < 0 else ""
    return f"{sign}{abs(value)}{suffix}" if suffix else f"{sign}£{abs(value):,.2f}"


@pytest.fixture(scope="module")
def contract_pages(system: RunningSystem, published: None) -> dict[str, str]:
    with httpx.Client(base_url=system.urls["savings"]) as browser:
        sign_in(browser, system.token(Role.MANAGER, SCENARIO.trust_id))
        pages = {
            name: browser.get(f"/trusts/{SCENARIO.trust_id}/contracts/{SCENARIO.tender_id(name)}")
            for name in CONTRACT_HEADLINES
        }
    for response in pages.values():
        assert response.status_code == 200
        assert response.headers["cache-control"] == "no-store"
    return {name: r.text.replace("&#x27;", "'") for name, r in pages.items()}


def test_a_contract_page_shows_its_headline_figures_and_terms(
    contract_pages: dict[str, str],
) -> None:
    for name, page in contract_pages.items():
        found = [(label, value) for label, _, value in HEADLINE.findall(page)]
        assert found == list(zip(LABELS, CONTRACT_HEADLINES[name], strict=True)), name
        supplier, start, term, schools, volume, price = CONTRACT_TERMS[name]
        for label, value in (
            ("Supplier", supplier),
            ("First supply starts", start),
            ("Term", term),
            ("Schools", schools),
            ("Pooled volume a year", volume),
            ("Joint price", price),
            ("Rule version", "savings-2026.1"),
        ):
            assert f"<dt>{label}</dt><dd>{value}</dd>" in page, (name, label)
        # The award and bid behind the figures, for audit.
        bid = uuid5(SCENARIO.tender_id(name), "bid")
        assert f'<dt>Winning bid</dt><dd><span class="id">{bid}</span></dd>' in page
        assert "<script" not in page.lower() and "@media print" in page
        # One chart (wide, and narrow for phones), its figures in a table, each school's
        # supply in another, and the prices behind the figures in a third.
        assert page.count('<svg class="chart chart-wide"') == 1
        assert page.count('<svg class="chart chart-narrow"') == 1
        assert page.count("<caption>") == 3
    # Birch's electricity contract ends 31 August 2027: its supply starts the day after.
    assert (
        f'<tr><th scope="row">{SCHOOL_NAMES[1]}</th><td>1 September 2027</td>'
        "<td>31 August 2029</td></tr>"
    ) in contract_pages["electricity"]


def test_a_contract_page_shows_every_schools_line(contract_pages: dict[str, str]) -> None:
    for (name, school), (b, c, s, term, pct, e) in LINES.items():
        page = contract_pages[name]
        start = page.index(f'<tr><th scope="row">{SCHOOL_NAMES[school]}')
        row = page[start : page.index("</tr>", start)]
        figures = [shown(b), shown(c), shown(s), shown(pct, "%"), shown(term), shown(e)]
        cells = re.findall(r'<td class="num[^"]*">([^<]+)</td>', row)
        assert cells[-6:] == figures, (name, school)
        assert SCENARIO.urns[school] in row
        # Cedar pays less than the joint price today: its line is named a cost increase.
        assert ("cost increase" in row) == (Decimal(s) < 0), (name, school)
    assert "Cedar Primary School" not in contract_pages["gas"]


def test_the_contract_pages_json_twin_has_the_same_figures(
    system: RunningSystem, contract_pages: dict[str, str]
) -> None:
    manager = bearer(system.token(Role.MANAGER, SCENARIO.trust_id))
    for name, page in contract_pages.items():
        tender_id = SCENARIO.tender_id(name)
        detail = httpx.get(
            f"{system.urls['savings']}/v1/trusts/{SCENARIO.trust_id}/savings/contracts/{tender_id}",
            headers=manager,
        ).json()
        shown_on_page = [value for _, _, value in HEADLINE.findall(page)]
        api = [
            detail[f] for f in ("annual_saving", "term_saving", "saving_pct", "economy_of_scale")
        ]
        assert [v.replace("£", "").replace(",", "").rstrip("%") for v in shown_on_page] == api
        (award,) = detail["awards"]
        assert award["bid_id"] == str(uuid5(tender_id, "bid"))
        assert award["rule_version"] == "savings-2026.1"
        assert award["annual_saving"] == detail["annual_saving"]
        lines = {
            SCENARIO.urns[school]: figures for (n, school), figures in LINES.items() if n == name
        }
        assert {
            e["school_urn"]: (
                e["annual_baseline_cost"],
                e["annual_contract_cost"],
                e["annual_saving"],
                e["term_saving"],
                e["saving_pct"],
                e["economy_of_scale"],
            )
            for e in award["entries"]
        } == lines
        # The tendering API's record of the tender is named on the page, for API clients.
        assert detail["tender_url"] in page
        assert f'href="{detail["tender_url"]}"' not in page


# A tender in two lots, each awarded to its own bid (one school each, 12 months):
# lot 1: 1,000 kWh at 0.30 today, 0.25 joint, 0.28 alone: B 300.00, C 250.00, S 50.00,
#   50 / 300 = 16.67%, E 1,000 x 0.03 = 30.00;
# lot 2: 2,000 kWh at 0.20 today, 0.18 joint, 0.19 alone: B 400.00, C 360.00, S 40.00,
#   10.00%, E 2,000 x 0.01 = 20.00.
# The contract: B 700.00, C 610.00, S 90.00, 90 / 700 = 12.857.. -> 12.86%, E 50.00.
LOTS_TRUST = "3022"
LOTS_TENDER = uuid5(NAMESPACE_URL, "test-savings-dashboard/lots")
LOTS = [
    # lot, lot name, standstill end, urn, school, q, b, p, s
    (1, "Fenland", date(2027, 1, 27), "302201", "Elm Primary", "1000", "0.30", "0.25", "0.28"),
    (2, "Breckland", None, "302202", "Fir Academy", "2000", "0.20", "0.18", "0.19"),
]


def lot_events() -> list[tuple[str, EventData]]:
    joined: list[tuple[str, EventData]] = [
        (Topics.REGISTRY, SchoolJoined(urn=urn, name=name, trust_name="Lots Trust", status="Open"))
        for *_, urn, name, _q, _b, _p, _s in LOTS
    ]
    awards: list[tuple[str, EventData]] = [
        (
            Topics.TENDERS,
            lot_award(
                LOTS_TENDER,
                lot,
                urn,
                q,
                b,
                p,
                s,
                lot_name=lot_name,
                standstill_ends=standstill,
                bid_id=uuid5(LOTS_TENDER, f"bid/{lot}"),
                demand_id=uuid5(LOTS_TENDER, f"line/{lot}"),
            ),
        )
        for lot, lot_name, standstill, urn, _, q, b, p, s in LOTS
    ]
    return joined + awards


@pytest.fixture(scope="module")
async def lots(system: RunningSystem, infra: Infrastructure) -> AsyncIterator[httpx.Client]:
    """The lots published, and a browser-like client signed in as the trust's manager."""
    producer = AIOKafkaProducer(
        bootstrap_servers=infra.kafka_bootstrap_servers,
        enable_idempotence=infra.kafka_enable_idempotence,
    )
    await producer.start()
    try:
        for topic, data in lot_events():
            event = new_event(data, trust_id=LOTS_TRUST, correlation_id="dashboard-lots")
            await producer.send_and_wait(topic, event.model_dump_json().encode(), key=event.key)
    finally:
        await producer.stop()
    with httpx.Client(base_url=system.urls["savings"]) as client:
        sign_in(client, system.token(Role.MANAGER, LOTS_TRUST))
        manager = bearer(system.token(Role.MANAGER, LOTS_TRUST))
        eventually(
            lambda: client.get(f"/v1/trusts/{LOTS_TRUST}/savings/ledger", headers=manager).json(),
            lambda rows: len(rows) == 2,
        )
        yield client


def test_a_contract_in_lots_shows_each_lots_award(
    system: RunningSystem, lots: httpx.Client
) -> None:
    manager = bearer(system.token(Role.MANAGER, LOTS_TRUST))
    detail = lots.get(
        f"/v1/trusts/{LOTS_TRUST}/savings/contracts/{LOTS_TENDER}", headers=manager
    ).json()
    assert (detail["annual_baseline_cost"], detail["annual_saving"], detail["saving_pct"]) == (
        "700.00",
        "90.00",
        "12.86",
    )
    assert (detail["economy_of_scale"], detail["schools"], detail["pooled_quantity"]) == (
        "50.00",
        2,
        "3000",
    )
    bids = [str(uuid5(LOTS_TENDER, f"bid/{lot}")) for lot in (1, 2)]
    assert [
        (a["lot"], a["lot_name"], a["standstill_ends"], a["bid_id"], a["supplier_id"])
        for a in detail["awards"]
    ] == [
        (1, "Fenland", "2027-01-27", bids[0], "supplier-1"),
        (2, "Breckland", None, bids[1], "supplier-2"),
    ]
    assert [
        (a["annual_saving"], a["saving_pct"], a["economy_of_scale"]) for a in detail["awards"]
    ] == [("50.00", "16.67", "30.00"), ("40.00", "10.00", "20.00")]
    page = lots.get(f"/trusts/{LOTS_TRUST}/contracts/{LOTS_TENDER}").text
    assert '<dd class="value" id="annual-saving">£90.00</dd>' in page
    assert '<dd class="value" id="saving-pct">12.86%</dd>' in page
    assert ">Lot 1, Fenland: supplier-1</h2>" in page
    assert ">Lot 2, Breckland: supplier-2</h2>" in page
    second = page[page.index(f'id="award-{bids[1]}"') :]
    assert "<dt>Standstill ends</dt><dd>27 January 2027</dd>" in page.replace(second, "")
    assert "<dt>Standstill ends</dt><dd>no standstill (below threshold)</dd>" in second
    assert "Fir Academy" in second and "Elm Primary" not in second
    assert "<dt>Joint price</dt><dd>£0.18/kWh</dd>" in second
    # The dashboard lists the contract once per lot, each row leading to its own award.
    dashboard = lots.get(f"/trusts/{LOTS_TRUST}").text
    for bid in bids:
        assert f'href="/trusts/{LOTS_TRUST}/contracts/{LOTS_TENDER}#award-{bid}"' in dashboard


# Dashboard sessions. A trust with no ledger yet: its dashboard opens (showing "No savings yet")
# whenever its manager has a live session, and sends the browser to sign in otherwise.
SESSION_TRUST = "3023"
SESSION_COOKIE = "procure_session"


async def signed_in_as_manager(client: httpx.AsyncClient, token: str) -> str:
    """Sign in through the form as a browser does; returns the session cookie it got."""
    form = await client.get("/sign-in")
    (csrf,) = CSRF_FIELD.findall(form.text)
    response = await client.post("/sign-in", data={"token": token, "csrf_token": csrf})
    assert response.status_code == 303
    assert response.headers["location"] == f"/trusts/{SESSION_TRUST}"
    return client.cookies[SESSION_COOKIE]


async def new_session(system: RunningSystem) -> tuple[str, str]:
    """A session of the trust's manager, signed in in a browser closed since; its cookie and
    the token it was opened with."""
    token = system.token(Role.MANAGER, SESSION_TRUST)
    async with httpx.AsyncClient(base_url=system.urls["savings"]) as client:
        return await signed_in_as_manager(client, token), token


async def opens(system: RunningSystem, cookie: str) -> bool:
    """Whether this cookie value, copied into a fresh browser, opens the trust's dashboard."""
    browser = httpx.AsyncClient(base_url=system.urls["savings"], cookies={SESSION_COOKIE: cookie})
    async with browser:
        response = await browser.get(f"/trusts/{SESSION_TRUST}")
    if response.status_code == 303:
        assert response.headers["location"] == "/sign-in"
        return False
    assert response.status_code == 200, response.text
    return True


def stored(session_id: str) -> bytes:
    """What the savings database may keep of a session id: its SHA-256."""
    return sha256(session_id.encode()).digest()


@pytest.fixture
async def sessions_db(infra: Infrastructure) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(infra.database_urls["savings"])
    try:
        yield conn
    finally:
        await conn.close()


async def test_signing_out_ends_the_session_on_the_server(system: RunningSystem) -> None:
    token = system.token(Role.MANAGER, SESSION_TRUST)
    async with httpx.AsyncClient(base_url=system.urls["savings"]) as client:
        session_id = await signed_in_as_manager(client, token)
        assert await opens(system, session_id)
        page = await client.get(f"/trusts/{SESSION_TRUST}")
        (csrf,) = set(CSRF_FIELD.findall(page.text))
        signed_out = await client.post("/sign-out", data={"csrf_token": csrf})
        assert signed_out.status_code == 303
        assert SESSION_COOKIE not in client.cookies
    # A copy of the cookie taken before sign-out opens nothing any more.
    assert not await opens(system, session_id)


async def test_a_schools_session_records_its_role_and_urn(
    system: RunningSystem, sessions_db: asyncpg.Connection
) -> None:
    # A school with no ledger entries yet: its own page opens and says so.
    urn = "302399"
    async with httpx.AsyncClient(base_url=system.urls["savings"]) as client:
        form = await client.get("/sign-in")
        (csrf,) = CSRF_FIELD.findall(form.text)
        token = system.token(Role.SCHOOL, urn)
        response = await client.post("/sign-in", data={"token": token, "csrf_token": csrf})
        assert response.headers["location"] == f"/schools/{urn}"
        page = await client.get(f"/schools/{urn}")
        assert page.status_code == 200 and "No savings yet" in page.text
        row = await sessions_db.fetchrow(
            "SELECT * FROM dashboard_sessions WHERE session_hash = $1",
            stored(client.cookies[SESSION_COOKIE]),
        )
    assert row is not None
    assert (row["role"], row["school_urn"], row["trust_id"]) == ("school", urn, None)


async def test_the_session_cookie_is_not_the_token_nor_an_api_token(
    system: RunningSystem,
) -> None:
    session_id, token = await new_session(system)
    assert session_id != token and token not in session_id
    # 256 random bits, URL-safe base64: no JWT, nothing of the token in it.
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", session_id)
    api = f"/v1/trusts/{SESSION_TRUST}/savings"
    async with httpx.AsyncClient(base_url=system.urls["savings"]) as client:
        assert (await client.get(api, headers=bearer(token))).status_code == 200
        refused = await client.get(api, headers=bearer(session_id))
    assert refused.status_code == 401
    assert refused.headers["content-type"] == "application/problem+json"
    # Nor is a token a session: the raw token in the cookie opens no dashboard.
    assert await opens(system, session_id)
    assert not await opens(system, token)


async def test_each_sign_in_gets_a_new_session_id(system: RunningSystem) -> None:
    planted = "p" * 43  # what another site might have set in the browser before sign-in
    token = system.token(Role.MANAGER, SESSION_TRUST)
    async with httpx.AsyncClient(base_url=system.urls["savings"]) as client:
        client.cookies.set(SESSION_COOKIE, planted, domain="127.0.0.1", path="/")
        ids = [await signed_in_as_manager(client, token) for _ in range(3)]
    assert len(set(ids)) == 3 and planted not in ids
    assert not await opens(system, planted)
    # Signing in again in the same browser ends the session it had.
    assert [await opens(system, session_id) for session_id in ids] == [False, False, True]


async def test_the_database_keeps_a_hash_of_the_session_id_only(
    system: RunningSystem, sessions_db: asyncpg.Connection
) -> None:
    session_id, token = await new_session(system)
    row = await sessions_db.fetchrow(
        "SELECT * FROM dashboard_sessions WHERE session_hash = $1", stored(session_id)
    )
    assert row is not None
    assert (row["role"], row["trust_id"], row["school_urn"]) == ("manager", SESSION_TRUST, None)
    # The session ends with its token, and names it for revocation.
    claims = jwt.decode(token, options={"verify_signature": False})
    assert row["token_expires_at"] == datetime.fromtimestamp(claims["exp"], UTC)
    assert row["token_id"] == claims.get("jti")
    # Nothing stored is the cookie's value or the token.
    for kept in await sessions_db.fetch("SELECT * FROM dashboard_sessions"):
        for value in kept.values():
            text = value.hex() if isinstance(value, bytes) else str(value)
            assert session_id not in text and token not in text
            assert value != session_id.encode()


# Moving one of a session's clocks back, as if that much time had passed.
AGE = {
    "last_seen_at": "UPDATE dashboard_sessions SET last_seen_at = last_seen_at - $2::interval"
    " WHERE session_hash = $1",
    "created_at": "UPDATE dashboard_sessions SET created_at = created_at - $2::interval"
    " WHERE session_hash = $1",
    "token_expires_at": "UPDATE dashboard_sessions"
    " SET token_expires_at = token_expires_at - $2::interval WHERE session_hash = $1",
}


async def age(conn: asyncpg.Connection, session_id: str, column: str, by: timedelta) -> None:
    assert await conn.execute(AGE[column], stored(session_id), by) == "UPDATE 1"


async def test_an_idle_session_ends(system: RunningSystem, sessions_db: asyncpg.Connection) -> None:
    token = system.token(Role.MANAGER, SESSION_TRUST)
    async with httpx.AsyncClient(base_url=system.urls["savings"]) as client:
        session_id = await signed_in_as_manager(client, token)
        # 29 minutes idle: still signed in, and the request restarts the idle clock.
        for _ in range(2):
            await age(sessions_db, session_id, "last_seen_at", timedelta(minutes=29))
            assert (await client.get(f"/trusts/{SESSION_TRUST}")).status_code == 200
        # 31 minutes (the default limit is 30): signed out, and the row is gone.
        await age(sessions_db, session_id, "last_seen_at", timedelta(minutes=31))
        expired = await client.get(f"/trusts/{SESSION_TRUST}")
        assert expired.status_code == 303 and expired.headers["location"] == "/sign-in"
        assert not await sessions_db.fetchval(
            "SELECT count(*) FROM dashboard_sessions WHERE session_hash = $1", stored(session_id)
        )
        # The sign-in form says when a session ends.
        form = (await client.get("/sign-in")).text
    assert "for at most 12 hours; after 30 minutes without use" in form


async def test_a_busy_session_ends_after_its_lifetime_or_with_its_token(
    system: RunningSystem, sessions_db: asyncpg.Connection
) -> None:
    old, _ = await new_session(system)
    await age(sessions_db, old, "created_at", timedelta(hours=12, seconds=1))
    assert not await opens(system, old)
    expiring, _ = await new_session(system)
    assert await opens(system, expiring)
    # Its token expires now (tokens last 30 days: the session's record of it is moved instead).
    token_expires_at = await sessions_db.fetchval(
        "SELECT token_expires_at FROM dashboard_sessions WHERE session_hash = $1",
        stored(expiring),
    )
    await age(sessions_db, expiring, "token_expires_at", token_expires_at - datetime.now(UTC))
    assert not await opens(system, expiring)


async def test_sessions_past_their_limits_are_purged_at_sign_in(
    system: RunningSystem, sessions_db: asyncpg.Connection
) -> None:
    abandoned, _ = await new_session(system)
    await age(sessions_db, abandoned, "last_seen_at", timedelta(minutes=31))
    count = "SELECT count(*) FROM dashboard_sessions WHERE session_hash = $1"
    assert await sessions_db.fetchval(count, stored(abandoned)) == 1
    # Nobody comes back with it; the next sign-in (anyone's) deletes it.
    await new_session(system)
    assert await sessions_db.fetchval(count, stored(abandoned)) == 0

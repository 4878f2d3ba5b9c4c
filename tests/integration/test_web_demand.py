"""The workspace's demand and spend pages over HTTP, against the running services, as a person
uses them (the CSRF token read from each form): a manager lists and filters the trust's demand,
pages through it and uploads CSV files whose refused rows are reported row by row; a school
adds, changes and withdraws its own lines and uploads its spend; a manager turns spend into
demand. What the pages did is checked through demand's API, and what they must refuse (another
school's line, a supplier, a form without its token) is refused."""

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from procure.launcher import RunningSystem
from shared.auth import Role
from tests.helpers import add_person, bearer, eventually, open_tender, registry_csv
from tests.integration.test_web_accounts import PASSWORD, csrf_of, sign_in

pytestmark = pytest.mark.integration

TRUST, OTHER_TRUST = "7281", "7282"
SCHOOL_A, SCHOOL_B, SCHOOL_C = "728101", "728102", "728201"
KEY = re.compile(r'name="key" value="([^"]+)"')
TODAY = date.today()
CONTRACT_END = (TODAY + timedelta(days=300)).isoformat()
DEMAND_HEADER = "school_urn,category,quantity,unit,current_unit_price,contract_end,term_months"
SPEND_HEADER = "school_urn,category,supplier,invoice_ref,period_start,period_end,quantity,amount"


@pytest.fixture(scope="module")
def people(system: RunningSystem) -> dict[str, str]:
    """Two trusts' schools in the registry, and the accounts of the people who use the pages:
    their email addresses by who they are."""
    operator = bearer(system.token(Role.OPERATOR))
    with httpx.Client(timeout=30, headers=operator) as http:
        for trust, urns in ((TRUST, (SCHOOL_A, SCHOOL_B)), (OTHER_TRUST, (SCHOOL_C,))):
            loaded = http.post(
                f"{system.urls['demand']}/v1/registry",
                content=registry_csv(trust, [(urn, f"School {urn}") for urn in urns]),
            )
            assert loaded.status_code == 200, loaded.text
    accounts = {
        "manager": ("manager", TRUST),
        "other manager": ("manager", OTHER_TRUST),
        "school a": ("school", SCHOOL_A),
        "school b": ("school", SCHOOL_B),
        "supplier": ("supplier", "delta-dairy"),
    }
    return {
        who: add_person(
            system,
            f"{who.replace(' ', '-')}@web-demand.example",
            who.title(),
            role,
            scope,
            PASSWORD,
            new=True,
        )
        for who, (role, scope) in accounts.items()
    }


@pytest.fixture
def signed_in(system: RunningSystem, people: dict[str, str]) -> Iterator[Any]:
    """Signs a person in, in a browser of their own (an httpx client keeping cookies)."""
    clients: list[httpx.Client] = []

    def as_(who: str) -> httpx.Client:
        client = httpx.Client(base_url=system.urls["web"], timeout=30)
        clients.append(client)
        assert sign_in(client, people[who]).status_code == 303
        return client

    yield as_
    for client in clients:
        client.close()


def lines(system: RunningSystem, role: Role, scope: str, **query: str) -> list[dict[str, Any]]:
    """Demand lines as demand's API lists them to a token of `role` and `scope`."""
    answer = httpx.get(
        f"{system.urls['demand']}/v1/demands",
        params=query | {"limit": "500"},
        headers=bearer(system.token(role, scope)),
    )
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()["items"]
    return found


def upload(client: httpx.Client, page: str, action: str, csv: str) -> httpx.Response:
    token = csrf_of(client.get(page))
    files = {"file": ("upload.csv", csv.encode(), "text/csv")}
    return client.post(action, data={"csrf_token": token}, files=files)


def line_form(**changes: str) -> dict[str, str]:
    base = {
        "category": "electricity",
        "quantity": "145000",
        "unit": "",
        "current_unit_price": "0.2870",
        "current_supplier": "Volt Ltd",
        "contract_end": CONTRACT_END,
        "term_months": "24",
        "notes": "",
    }
    return base | changes


def test_a_school_adds_changes_and_withdraws_its_demand_line(
    system: RunningSystem, signed_in: Any
) -> None:
    school = signed_in("school a")
    empty = client_get_ok(school, "/demand")
    assert '<h1 class="heading-l">Your demand</h1>' in empty
    assert "There are no demand lines yet." in empty
    assert 'enctype="multipart/form-data"' in empty and '<label class="label" for="file">' in empty

    form = school.get("/demand/add")
    assert form.status_code == 200
    token, key = csrf_of(form), KEY.search(form.text)
    assert key
    fields = {"csrf_token": token, "key": key.group(1)}

    # One field left empty, one the API refuses: both named, what was typed kept.
    wrong = school.post("/demand/add", data=fields | line_form(quantity="-5", contract_end=""))
    assert wrong.status_code == 422
    assert "<title>Error: Add a demand line" in wrong.text
    assert '<a href="#contract_end">Enter the current contract end date</a>' in wrong.text
    assert 'value="-5"' in wrong.text and 'value="Volt Ltd"' in wrong.text
    refused = school.post("/demand/add", data=fields | line_form(quantity="-5"))
    assert refused.status_code == 422
    summary = re.search(r'<a href="#quantity">(Quantity a year: [^<]+)</a>', refused.text)
    assert summary, refused.text
    assert 'id="quantity-error"' in refused.text
    assert lines(system, Role.SCHOOL, SCHOOL_A) == []

    added = school.post("/demand/add", data=fields | line_form())
    assert added.status_code == 303 and added.headers["location"] == "/demand?done=added"
    # The same form sent again (a double click): still one line.
    assert school.post("/demand/add", data=fields | line_form()).status_code == 303
    [line] = lines(system, Role.SCHOOL, SCHOOL_A)
    assert float(line["quantity"]) == 145000 and line["unit"] == "kWh"
    assert line["current_supplier"] == "Volt Ltd"
    listed = client_get_ok(school, "/demand?done=added")
    assert "Demand line added." in listed
    assert f'href="/demand/{line["demand_id"]}">Electricity</a>' in listed

    page = school.get(f"/demand/{line['demand_id']}")
    assert page.status_code == 200 and "Change this line" in page.text
    change = {"csrf_token": csrf_of(page)} | line_form(quantity="150", unit="MWh")
    del change["category"]
    changed = school.post(f"/demand/{line['demand_id']}", data=change)
    assert changed.status_code == 303 and changed.headers["location"] == "/demand?done=changed"
    [line] = lines(system, Role.SCHOOL, SCHOOL_A)
    assert float(line["quantity"]) == 150000 and line["unit"] == "kWh"
    assert "Demand line changed." in client_get_ok(school, "/demand?done=changed")

    withdraw = {"csrf_token": csrf_of(page), "reason": "Moving to a new site"}
    withdrawn = school.post(f"/demand/{line['demand_id']}/withdraw", data=withdraw)
    assert withdrawn.status_code == 303
    [line] = lines(system, Role.SCHOOL, SCHOOL_A)
    assert (line["status"], line["status_reason"]) == ("withdrawn", "Moving to a new site")

    # Once withdrawn the line can no longer change: the page says so, and the API's reason is
    # shown if a form sent before still arrives.
    page = school.get(f"/demand/{line['demand_id']}")
    assert "This line can no longer be changed or withdrawn." in page.text
    assert "Save changes" not in page.text
    late = school.post(f"/demand/{line['demand_id']}", data=change)
    assert late.status_code == 409
    assert '<a href="#status">This line cannot change: the line has been withdrawn</a>' in late.text


def client_get_ok(client: httpx.Client, path: str) -> str:
    page = client.get(path)
    assert page.status_code == 200, page.text
    return page.text


def test_a_manager_uploads_demand_and_filters_and_pages_the_list(
    system: RunningSystem, signed_in: Any
) -> None:
    manager = signed_in("manager")
    good = f"{SCHOOL_A},gas,52000,kWh,0.071,{CONTRACT_END},36"
    rows = [
        good,
        f"{SCHOOL_B},gas,0,kWh,0.071,{CONTRACT_END},36",
        f"{SCHOOL_B},gas,48000,kWh,0.071,{CONTRACT_END},36",
    ]
    csv = "\n".join([DEMAND_HEADER, *rows]) + "\n"
    report = upload(manager, "/demand", "/demand/upload", csv)
    assert report.status_code == 200, report.text
    assert "Upload finished: 2 of 3 rows accepted, 1 row refused." in report.text
    bad = re.search(r'<a href="#file">(Row 3: quantity: [^<]+)</a>', report.text)
    assert bad, report.text
    gas = lines(system, Role.MANAGER, TRUST, category="gas")
    assert sorted((g["school_urn"], float(g["quantity"])) for g in gas) == [
        (SCHOOL_A, 52000),
        (SCHOOL_B, 48000),
    ]
    # The same file again (a refresh of the report): replayed, not added twice.
    assert upload(manager, "/demand", "/demand/upload", csv).status_code == 200
    assert len(lines(system, Role.MANAGER, TRUST, category="gas")) == 2

    unreadable = upload(manager, "/demand", "/demand/upload", "urn,what\n1,2\n")
    assert unreadable.status_code == 422
    assert "The file cannot be used: " in unreadable.text
    token = csrf_of(manager.get("/demand"))
    nothing = manager.post("/demand/upload", data={"csrf_token": token})
    assert nothing.status_code == 422
    assert '<a href="#file">Select a CSV file</a>' in nothing.text

    mine = client_get_ok(manager, f"/demand?school_urn={SCHOOL_B}&category=gas&status=open")
    assert '<h1 class="heading-l">Demand</h1>' in mine
    assert mine.count("<tr>") == 2  # the heading row and school B's gas line
    assert f"<td>{SCHOOL_B}</td>" in mine and f"<td>{SCHOOL_A}</td>" not in mine
    assert 'value="728102"' in mine and '<option value="gas" selected>' in mine
    none = client_get_ok(manager, "/demand?category=gas&status=awarded")
    assert "No demand lines match." in none
    typo = manager.get("/demand?school_urn=12")
    assert typo.status_code == 422
    assert '<a href="#school_urn">Enter a school URN of 6 digits, like 100001</a>' in typo.text

    # 55 lines: a page of 50 and a next page of 5.
    many = [f"{SCHOOL_A},water,{100 + n},m3,2.10,{CONTRACT_END},12" for n in range(55)]
    bulk = upload(manager, "/demand", "/demand/upload", "\n".join([DEMAND_HEADER, *many]))
    assert "Upload finished: 55 of 55 rows accepted." in bulk.text
    first = client_get_ok(manager, "/demand?category=water")
    assert first.count("<tr>") == 51 and "First page" not in first
    following = re.search(r'<a href="([^"]+)" rel="next">Next page</a>', first)
    assert following
    second = client_get_ok(manager, following.group(1).replace("&amp;", "&"))
    assert second.count("<tr>") == 6 and "Next page" not in second and "First page" in second


def test_other_schools_lines_and_other_roles_are_refused(
    system: RunningSystem, signed_in: Any
) -> None:
    school_b = signed_in("school b")
    headers = bearer(system.token(Role.SCHOOL, SCHOOL_A)) | {"Idempotency-Key": "web-demand-x"}
    body = {
        "school_urn": SCHOOL_A,
        "category": "print",
        "quantity": "20000",
        "unit": "page",
        "current_unit_price": "0.03",
        "contract_end": CONTRACT_END,
        "term_months": 24,
    }
    made = httpx.post(f"{system.urls['demand']}/v1/demands", json=body, headers=headers)
    assert made.status_code == 201, made.text
    theirs = made.json()["demand_id"]

    seen = school_b.get(f"/demand/{theirs}")
    assert seen.status_code == 403 and "You cannot see this page" in seen.text
    token = csrf_of(school_b.get("/demand"))
    change = {"csrf_token": token} | line_form(quantity="1")
    assert school_b.post(f"/demand/{theirs}", data=change).status_code == 403
    gone = school_b.post(f"/demand/{theirs}/withdraw", data={"csrf_token": token})
    assert gone.status_code == 403
    [line] = lines(system, Role.SCHOOL, SCHOOL_A, category="print")
    assert line["status"] == "open" and float(line["quantity"]) == 20000
    assert theirs not in client_get_ok(school_b, "/demand")
    # A school's list is its own, whatever the address asks for.
    assert theirs not in client_get_ok(school_b, f"/demand?school_urn={SCHOOL_A}")

    other_manager = signed_in("other manager")
    assert other_manager.get(f"/demand/{theirs}").status_code == 403
    assert theirs not in client_get_ok(other_manager, "/demand")
    assert school_b.get("/demand/add").status_code == 200
    assert other_manager.get("/demand/add").status_code == 403

    supplier = signed_in("supplier")
    for path in ("/demand", "/spend", f"/demand/{theirs}"):
        refused = supplier.get(path)
        assert refused.status_code == 403 and "You cannot see this page" in refused.text
    token = csrf_of(supplier.get("/"))
    files = {"file": ("a.csv", b"x\n", "text/csv")}
    assert (
        supplier.post("/demand/upload", data={"csrf_token": token}, files=files).status_code == 403
    )

    # Without the form's token nothing is sent; without a session, sign in first.
    forged = school_b.post("/demand/add", data=line_form())
    assert forged.status_code == 403 and "security check" in forged.text
    assert lines(system, Role.SCHOOL, SCHOOL_B, category="electricity") == []
    with httpx.Client(base_url=system.urls["web"]) as stranger:
        for path in ("/demand", "/spend", "/demand/add"):
            assert stranger.get(path).headers["location"] == "/sign-in"


def test_spend_is_uploaded_listed_and_turned_into_demand(
    system: RunningSystem, signed_in: Any
) -> None:
    school = signed_in("school a")
    start, end = TODAY - timedelta(days=200), TODAY - timedelta(days=110)
    rows = [
        f"{SCHOOL_A},cleaning,Shine Co,INV-1,{start},{end},600,9000.00",
        f"{SCHOOL_A},cleaning,Shine Co,INV-2,{end},{start},600,9000.00",
        f"{SCHOOL_B},cleaning,Shine Co,INV-3,{start},{end},600,9000.00",
    ]
    report = upload(school, "/spend", "/spend/upload", "\n".join([SPEND_HEADER, *rows]) + "\n")
    assert report.status_code == 200, report.text
    assert "Upload finished: 1 of 3 rows accepted, 2 rows refused." in report.text
    assert re.search(r'<a href="#file">Row 3: period_end: [^<]+</a>', report.text), report.text
    assert re.search(r'<a href="#file">Row 4: school_urn: [^<]+</a>', report.text), report.text
    assert "<td>INV-1</td>" in report.text  # the list under the report shows the new line
    spent = httpx.get(
        f"{system.urls['demand']}/v1/spend", headers=bearer(system.token(Role.SCHOOL, SCHOOL_A))
    ).json()["items"]
    assert [s["invoice_ref"] for s in spent] == ["INV-1"]
    mine = client_get_ok(school, "/spend")
    assert "<td>INV-1</td>" in mine and "£9,000.00" in mine
    assert "Turn spend into demand" not in mine

    manager = signed_in("manager")
    listed = client_get_ok(manager, f"/spend?school_urn={SCHOOL_A}&category=cleaning")
    assert "<td>INV-1</td>" in listed and "Turn spend into demand" in listed
    assert "No spend lines match." in client_get_ok(manager, f"/spend?school_urn={SCHOOL_B}")

    token = csrf_of(manager.get("/spend"))
    empty = manager.post("/spend/demand", data={"csrf_token": token, "spend_category": "cleaning"})
    assert empty.status_code == 422
    assert '<a href="#spend_contract_end">Enter when the current contracts end</a>' in empty.text
    assert '<option value="cleaning" selected>' in empty.text
    form = {
        "csrf_token": token,
        "spend_category": "cleaning",
        "spend_contract_end": CONTRACT_END,
        "spend_term_months": "24",
    }
    made = manager.post("/spend/demand", data=form)
    assert made.status_code == 200, made.text
    assert "1 demand line created from spend; 1 school skipped." in made.text
    assert f'<th scope="row">{SCHOOL_B}</th>' in made.text  # skipped, with its reason
    [line] = lines(system, Role.MANAGER, TRUST, category="cleaning")
    assert line["school_urn"] == SCHOOL_A and line["status"] == "open"
    school_b = signed_in("school b")
    assert school_b.post("/spend/demand", data=form).status_code == 403


def test_a_line_in_a_tender_cannot_change_and_the_page_says_why(
    system: RunningSystem, signed_in: Any
) -> None:
    school = bearer(system.token(Role.SCHOOL, SCHOOL_B))
    manager = bearer(system.token(Role.MANAGER, TRUST))
    body = {
        "school_urn": SCHOOL_B,
        "category": "waste",
        "quantity": "300",
        "unit": "lift",
        "current_unit_price": "18.50",
        "contract_end": CONTRACT_END,
        "term_months": 24,
    }
    with httpx.Client(timeout=30) as http:
        made = http.post(
            f"{system.urls['demand']}/v1/demands",
            json=body,
            headers=school | {"Idempotency-Key": "web-demand-waste"},
        )
        assert made.status_code == 201, made.text
        demand_id = made.json()["demand_id"]
        eventually(
            lambda: http.get(
                f"{system.urls['tendering']}/v1/trusts/{TRUST}/pools", headers=manager
            ).json(),
            lambda pools: any(p["category"] == "waste" for p in pools),
        )
        closes_at = datetime.now(UTC) + timedelta(days=2)
        call_off = {"procedure": "framework_call_off", "framework": "YPO Waste"}
        tender_id = open_tender(
            http, system.urls["tendering"], manager, TRUST, "waste", closes_at, **call_off
        )
    eventually(
        lambda: lines(system, Role.SCHOOL, SCHOOL_B, category="waste"),
        lambda found: found[0]["status"] == "in_tender",
    )

    page = signed_in("school b").get(f"/demand/{demand_id}")
    assert page.status_code == 200
    assert (
        "It is in an open tender, so it can change only if that tender is cancelled." in page.text
    )
    assert "Save changes" not in page.text and "Withdraw line" not in page.text
    client = signed_in("manager")
    token = csrf_of(client.get("/demand"))
    late = client.post(f"/demand/{demand_id}/withdraw", data={"csrf_token": token})
    assert late.status_code == 409
    assert f"This line cannot change: the line is in open tender {tender_id}" in late.text
    [line] = lines(system, Role.SCHOOL, SCHOOL_B, category="waste")
    assert line["status"] == "in_tender"

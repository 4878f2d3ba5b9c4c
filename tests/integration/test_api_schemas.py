"""Property-based tests of each service's HTTP API, driven by the service's own OpenAPI document
(schemathesis): whatever a client sends, valid or odd (wrong types, out-of-range numbers, odd
characters, bodies that break the schema), the answer is never a 5xx, its status is one the
document lists for the operation, and its content type and body match what it documents.

Each pass runs the operations one role may use with a valid token of that role. A trust with
two schools, demand lines, an awarded tender, an open one and a savings ledger is set up first
through the APIs; path parameters such as `trust_id` and `tender_id` are drawn half the time
from those real values, so that the tests reach past the scope checks to real data.

Each operation gets valid input (by its documented schema) and, where it has something to
break (a body, a query parameter, a typed path parameter), invalid input. Bounded: at most
MAX_EXAMPLES requests per operation, pass and kind of input, no shrinking; the whole file
takes well under a minute once the services run.
"""

import base64
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from uuid import UUID

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import APIOperation, Case, GenerationMode, checks
from schemathesis.core.result import Err
from schemathesis.errors import FailureGroup

from procure.launcher import RunningSystem
from shared.auth import Role
from tests.helpers import bearer, bid_body, eventually, registry_csv, score_bids

pytestmark = pytest.mark.integration

MAX_EXAMPLES = 25
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]

Operation = APIOperation[Any, Any, Any, Any]
# Generation is slow for some operations' bodies; that is no reason to fail.
SLOW_IS_FINE = [
    HealthCheck.too_slow,
    HealthCheck.filter_too_much,
    HealthCheck.data_too_large,
    HealthCheck.large_base_example,
]

TRUST = "3091"
URNS = ("309101", "309102")
SUPPLIER = "schema-supplier"
LINES = (("electricity", "80000", "0.2800"), ("gas", "90000", "0.0600"))


@dataclass(frozen=True)
class Seeded:
    """Real values of the trust set up for the run, by the path parameter they fill."""

    system: RunningSystem
    values: dict[str, list[str]]


@dataclass(frozen=True)
class Pass:
    """One role's run over one service: the operations it may use (path regex)."""

    service: str
    role: Role
    paths: str

    def __str__(self) -> str:
        return f"{self.service}-{self.role}"


PASSES = [
    Pass("demand", Role.SCHOOL, r"^/v1/demands"),
    Pass("demand", Role.MANAGER, r"^/v1/demands"),
    Pass("demand", Role.OPERATOR, r"^/v1/(registry|tokens/)"),
    Pass("tendering", Role.MANAGER, r"^/v1/"),
    Pass(
        "tendering",
        Role.SUPPLIER,
        r"^/v1/tenders(/\{tender_id\}/(notice|bids|bids/\{bid_id\}/assessment))?$",
    ),
    Pass("savings", Role.MANAGER, r"^/v1/"),
]
# Operations left out until a fix owned elsewhere lands; remove each entry with its fix.
# Operations left out of the property runs, with why; none today.
EXCLUDED: dict[str, str] = {}
SCOPES = {Role.SCHOOL: URNS[0], Role.MANAGER: TRUST, Role.SUPPLIER: SUPPLIER, Role.OPERATOR: None}


def _line(urn: str, category: str, quantity: str, price: str) -> dict[str, Any]:
    return {
        "school_urn": urn,
        "category": category,
        "quantity": quantity,
        "unit": "kWh",
        "current_unit_price": price,
        "contract_end": "2027-08-31",
        "term_months": 24,
    }


@pytest.fixture(scope="module")
def seeded(system: RunningSystem) -> Seeded:
    """The trust's schools, four demand lines, an awarded electricity tender with a supplier's
    bid (so savings has a ledger) and an open gas tender."""
    urls = system.urls
    operator = bearer(system.token(Role.OPERATOR))
    manager = bearer(system.token(Role.MANAGER, TRUST))
    supplier = bearer(system.token(Role.SUPPLIER, SUPPLIER))
    schools = [(urn, f"Schema School {urn}") for urn in URNS]
    answer = httpx.post(
        f"{urls['demand']}/v1/registry",
        content=registry_csv(TRUST, schools),
        headers=operator | {"Content-Type": "text/csv"},
    )
    assert answer.status_code == 200, answer.text
    demand_ids = []
    for urn in URNS:
        for category, quantity, price in LINES:
            answer = httpx.post(
                f"{urls['demand']}/v1/demands",
                json=_line(urn, category, quantity, price),
                headers=manager | {"Idempotency-Key": f"schema-{urn}-{category}"},
            )
            assert answer.status_code == 201, answer.text
            demand_ids.append(answer.json()["demand_id"])
    pools_url = f"{urls['tendering']}/v1/trusts/{TRUST}/pools"
    eventually(
        lambda: httpx.get(pools_url, headers=manager).json(),
        lambda pools: sum(len(p["lines"]) for p in pools) == len(demand_ids),
    )
    closes = datetime.now(UTC) + timedelta(seconds=5)
    awarded = _open_tender(system, manager, "electricity", closes)
    answer = httpx.post(
        f"{urls['tendering']}/v1/tenders/{awarded}/bids",
        json=bid_body(("0", "0.2500"), ("100000", "0.2400")),
        headers=supplier,
    )
    assert answer.status_code == 201, answer.text
    time.sleep(max(0.0, (closes - datetime.now(UTC)).total_seconds()) + 0.1)
    with httpx.Client() as http:
        score_bids(http, urls["tendering"], manager, awarded, {SUPPLIER: "70"})
    answer = httpx.post(f"{urls['tendering']}/v1/tenders/{awarded}/award", headers=manager)
    assert answer.status_code == 200, answer.text
    still_open = _open_tender(system, manager, "gas", datetime.now(UTC) + timedelta(days=30))
    eventually(
        lambda: httpx.get(
            f"{urls['savings']}/v1/trusts/{TRUST}/savings/ledger", headers=manager
        ).json(),
        lambda rows: isinstance(rows, list) and len(rows) == len(URNS),
    )
    return Seeded(
        system,
        {
            "trust_id": [TRUST],
            "urn": list(URNS),
            "school_urn": list(URNS),
            "tender_id": [awarded, still_open],
            "demand_id": demand_ids,
            "category": ["electricity", "gas"],
            "unit": ["kWh", "MWh"],
            "contract_end": ["2027-08-31", "2028-03-31"],
        },
    )


def _open_tender(
    system: RunningSystem, manager: dict[str, str], category: str, closes: datetime
) -> str:
    answer = httpx.post(
        f"{system.urls['tendering']}/v1/tenders",
        json={"trust_id": TRUST, "category": category, "closes_at": closes.isoformat()},
        headers=manager,
    )
    assert answer.status_code == 201, answer.text
    tender_id: str = answer.json()["tender_id"]
    return tender_id


def negatable(spec: dict[str, Any]) -> set[str]:
    """The operations (as "METHOD /path") that can be sent invalid input: those with a body, a
    query or header parameter, or a path parameter that is more than any string (a path
    segment is always some string, so there is nothing to break)."""
    found = set()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            constrained = [
                p
                for p in operation.get("parameters", [])
                if p["in"] != "path" or set(p["schema"]) - {"type", "title"}
            ]
            if "requestBody" in operation or constrained:
                found.add(f"{method.upper()} {path}")
    return found


def aim(case: Case[Operation], values: dict[str, list[str]], data: st.DataObject) -> None:
    """Half the time, the trust's real values in the path parameters and body fields that name
    them: generated ones alone would rarely get past the scope checks to real data."""
    if not data.draw(st.booleans(), label="real values"):
        return
    targets = [case.path_parameters] if case.path_parameters else []
    if isinstance(case.body, dict):
        targets.append(case.body)
    for target in targets:
        for name in target:
            if name in values:
                target[name] = data.draw(st.sampled_from(values[name]), label=name)


def load(url: str, paths: str = r"^/v1/") -> tuple[dict[str, Any], list[Operation]]:
    """The service's own OpenAPI document, and its operations under `paths` as schemathesis
    reads them."""
    spec: dict[str, Any] = httpx.get(f"{url}/openapi.json").json()
    config = schemathesis.Config.from_dict({"generation": {"with-security-parameters": False}})
    schema = schemathesis.openapi.from_dict(spec, config=config).include(path_regex=paths)
    operations: list[Operation] = []
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            raise result.err()
        operations.append(result.ok())
    return spec, operations


def check_operation(
    operation: Operation,
    mode: GenerationMode,
    url: str,
    session: requests.Session,
    headers: dict[str, str],
    values: dict[str, list[str]],
) -> None:
    """Send up to MAX_EXAMPLES requests generated for the operation; raise on the first answer
    that is a 5xx or not as documented."""

    @given(case=operation.as_strategy(generation_mode=mode), data=st.data())
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=SLOW_IS_FINE,
    )
    def answers_as_documented(case: Case[Operation], data: st.DataObject) -> None:
        if mode is GenerationMode.POSITIVE:
            aim(case, values, data)
        case.call_and_validate(
            base_url=url, session=session, headers=headers, checks=CHECKS, timeout=10
        )

    answers_as_documented()


@pytest.mark.parametrize("run", PASSES, ids=str)
def test_no_server_error_and_answers_as_documented(run: Pass, seeded: Seeded) -> None:
    url = seeded.system.urls[run.service]
    spec, operations = load(url, run.paths)
    assert operations, f"no operation matches {run.paths}"
    invalid_input = negatable(spec)
    headers = bearer(seeded.system.token(run.role, SCOPES[run.role]))
    failures: list[str] = []
    with requests.Session() as session:
        for operation in operations:
            if operation.label in EXCLUDED:
                continue
            for mode in GenerationMode:
                if mode is GenerationMode.NEGATIVE and operation.label not in invalid_input:
                    continue
                try:
                    check_operation(operation, mode, url, session, headers, seeded.values)
                # Every operation runs; all failures are reported. (A FailureGroup, the checks'
                # report, is a BaseExceptionGroup.)
                except (Exception, FailureGroup) as exc:
                    failures.append(f"{operation.label} ({mode}):\n{exc}")
    assert not failures, "\n\n".join(failures)


class _Failing(BaseHTTPRequestHandler):
    """Answers every request as a crashed route would."""

    def do_GET(self) -> None:
        self.send_response(500)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", "21")
        self.end_headers()
        self.wfile.write(b"Internal Server Error")

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def failing_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Failing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def test_the_checks_fail_on_a_server_error(system: RunningSystem, failing_server: str) -> None:
    """The harness itself: an operation whose server answers 500 fails the checks."""
    _, operations = load(system.urls["savings"], r"^/v1/trusts/\{trust_id\}/savings$")
    headers = bearer(system.token(Role.MANAGER, TRUST))
    with requests.Session() as session, pytest.raises(FailureGroup) as caught:
        check_operation(
            operations[0], GenerationMode.POSITIVE, failing_server, session, headers, {}
        )
    assert "Server error" in caught.value.message


def test_every_v1_operation_documents_its_problems(system: RunningSystem) -> None:
    """Problem details (401, 403, 422 ...) are documented as application/problem+json with
    their schema, so clients and the checks above know them."""
    for service, url in system.urls.items():
        spec, _ = load(url)
        for path, operations in spec["paths"].items():
            if not path.startswith("/v1/"):
                continue
            for method, operation in operations.items():
                if f"{method.upper()} {path}" in EXCLUDED:
                    continue
                responses = operation["responses"]
                for status in ("400", "401", "403", "422"):
                    content = responses.get(status, {}).get("content", {})
                    label = f"{service} {method.upper()} {path} {status}"
                    assert list(content) == ["application/problem+json"], label
                    schema = content["application/problem+json"]["schema"]
                    assert set(schema["required"]) == {"type", "title", "status"}, label


# Cursors that decode to a time and an id, but a time that leaves datetime's range once in
# UTC: the database driver failed on them (a 500).
CRAFTED = [
    f"0001-01-01T00:00:00+14:00|{UUID(int=0)}",
    f"9999-12-31T23:59:59-14:00|{UUID(int=0)}",
]


@pytest.mark.parametrize("text", CRAFTED)
def test_a_crafted_cursor_is_a_problem_naming_the_cursor(system: RunningSystem, text: str) -> None:
    cursor = base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")
    answer = httpx.get(
        f"{system.urls['demand']}/v1/demands",
        params={"cursor": cursor},
        headers=bearer(system.token(Role.MANAGER, TRUST)),
    )
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in answer.json()["errors"]] == ["query.cursor"]


def test_odd_text_in_a_cancel_reason_or_registry_header_is_a_4xx(seeded: Seeded) -> None:
    system = seeded.system
    still_open = seeded.values["tender_id"][1]
    manager = {"Authorization": f"Bearer {system.token(Role.MANAGER, TRUST)}"}
    cancel = httpx.post(
        f"{system.urls['tendering']}/v1/tenders/{still_open}/cancel",
        json={"reason": "a\u0000b"},
        headers=manager,
    )
    assert cancel.status_code == 422, cancel.text
    assert cancel.json()["errors"][0]["field"] == "body.reason"
    operator = {"Authorization": f"Bearer {system.token(Role.OPERATOR)}"}
    registry = httpx.post(
        f"{system.urls['demand']}/v1/registry",
        content=b"a\rb",
        headers=operator | {"Content-Type": "text/csv"},
    )
    assert registry.status_code == 422, registry.text

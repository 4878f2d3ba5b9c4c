"""Hardening against a hostile client, on the real services: weak secrets stop every process,
no body is read before authentication, bodies and nesting are bounded, odd bytes in paths are a
4xx, hand-made scopes are refused, and a revoked token is refused everywhere within seconds."""

import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import pytest

from procure.infra.processes import free_port
from procure.launcher import RunningSystem
from shared.auth import ISSUER, Role, token_id
from tests.helpers import bearer, eventually
from tests.integration.test_savings_access import sign_in

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
TRUST = "6101"


def _exchange(url: str, head: str, body: bytes = b"", timeout: float = 10) -> tuple[int, bytes]:
    """Send raw request bytes (headers, then what body there is) and read the answer's status
    and body, whatever the server did with the rest of the upload."""

    async def run() -> tuple[int, bytes]:
        host, port = url.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(head.replace("\n", "\r\n").encode() + b"\r\n")
        try:
            writer.write(body)
            await writer.drain()
        except ConnectionError:
            pass  # the server answered and closed before taking it all
        answer = await asyncio.wait_for(reader.read(1 << 20), timeout)
        while b"\r\n\r\n" not in answer or not answer.endswith(b"}"):
            more = await asyncio.wait_for(reader.read(1 << 20), timeout)
            if not more:
                break
            answer += more
        writer.close()
        status = int(answer.split(b" ", 2)[1])
        return status, answer.partition(b"\r\n\r\n")[2]

    return asyncio.run(run())


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_an_anonymous_body_is_refused_before_it_is_read(system: RunningSystem) -> None:
    url = system.urls["demand"]
    head = (
        "POST /v1/demands HTTP/1.1\nHost: x\nContent-Type: application/json\n"
        "Content-Length: 15000000\n"
    )
    started = time.monotonic()
    status, body = _exchange(url, head)  # headers only: the body never comes
    assert status == 401, body
    assert time.monotonic() - started < 5  # answered without waiting for 15 MB
    assert json.loads(body)["title"] == "Authentication required"

    before = _rss_kb(system.processes["demand"].pid)
    big = b'{"notes": "' + b"x" * 15_000_000 + b'"}'
    for _ in range(4):
        assert _exchange(url, head, big)[0] == 401
    grown_mb = (_rss_kb(system.processes["demand"].pid) - before) / 1024
    assert grown_mb < 20, f"demand grew {grown_mb:.0f} MB on bodies it should not read"


def test_bodies_over_the_limit_are_413_declared_or_streamed(system: RunningSystem) -> None:
    token = system.token(Role.MANAGER, TRUST)
    for service, path in (("demand", "/v1/demands"), ("tendering", "/v1/tenders")):
        head = (
            f"POST {path} HTTP/1.1\nHost: x\nAuthorization: Bearer {token}\n"
            "Content-Type: application/json\nContent-Length: 15000000\n"
        )
        status, body = _exchange(system.urls[service], head)
        assert status == 413, (service, body)
        problem = json.loads(body)
        assert problem["limit_bytes"] == 256 * 1024
        assert "256" in problem["detail"] or "262,144" in problem["detail"]

    # Chunked: no length declared, so the limit is counted as the body arrives.
    chunk = b"[" * 4096
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(80)) + b"0\r\n\r\n"
    head = (
        f"POST /v1/demands HTTP/1.1\nHost: x\nAuthorization: Bearer {token}\n"
        "Content-Type: application/json\nTransfer-Encoding: chunked\n"
    )
    assert _exchange(system.urls["demand"], head, chunks)[0] == 413


@pytest.fixture(scope="module")
def small_limits(system: RunningSystem) -> Iterator[str]:
    """A second demand instance with tiny limits, to show they are the configured ones."""
    env = {"HTTP_MAX_JSON_BYTES": "2048", "HTTP_MAX_CSV_BYTES": "4096", "HTTP_MAX_JSON_DEPTH": "4"}
    url = system.start("demand", instance="demand-small-limits", port=free_port(), env=env)
    yield url
    system.remove("demand-small-limits")


def test_the_limits_are_configurable_and_csv_has_its_own(
    system: RunningSystem, small_limits: str
) -> None:
    operator = bearer(system.token(Role.OPERATOR))
    csv = "URN,EstablishmentName,Trusts (code),Trusts (name)\n" + "100001,A,1,T\n" * 400
    with httpx.Client(base_url=small_limits, timeout=30) as http:
        refused = http.post(
            "/v1/registry", content=csv, headers=operator | {"Content-Type": "text/csv"}
        )
        assert refused.status_code == 413, refused.text
        assert refused.json()["limit_bytes"] == 4096
        assert refused.headers["content-type"] == "application/problem+json"
        school = bearer(system.token(Role.SCHOOL, "100001"))
        deep = http.post("/v1/demands", content=b"[[[[[]]]]]", headers=school)
        assert deep.status_code == 422, deep.text
        assert deep.json()["errors"] == [{"field": "body", "reason": "nests deeper than 4 levels"}]
        big = http.post("/v1/demands", json={"notes": "x" * 3000}, headers=school)
        assert big.status_code == 413


def test_deeply_nested_json_is_refused_naming_the_body(system: RunningSystem) -> None:
    school = bearer(system.token(Role.SCHOOL, "100001"))
    body = b'{"notes": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    response = httpx.post(f"{system.urls['demand']}/v1/demands", content=body, headers=school)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "body"


@pytest.mark.parametrize(
    ("service", "path"),
    [
        ("demand", "/v1/demands?school_urn=%00"),
        ("demand", "/v1/demands/%00"),
        ("demand", "/v1/demands?category=gas%0D%0AX-Injected:%201"),
        ("tendering", "/v1/tenders/%00"),
        ("tendering", "/v1/trusts/%FF/pools"),
        ("savings", f"/v1/trusts/{TRUST}/savings/schools/%00"),
        ("savings", "/trusts/%00"),
    ],
)
def test_control_bytes_in_paths_and_queries_are_400(
    system: RunningSystem, service: str, path: str
) -> None:
    token = bearer(system.token(Role.MANAGER, TRUST))
    response = httpx.get(f"{system.urls[service]}{path}", headers=token)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"


def _hand_signed(system: RunningSystem, **claims: object) -> dict[str, str]:
    now = int(time.time())
    base = {"iss": ISSUER, "sub": "x", "role": "manager", "iat": now, "exp": now + 600}
    return bearer(jwt.encode(base | {"jti": "f" * 32} | claims, system.token_secret, "HS256"))


@pytest.mark.parametrize("scope", [None, ["6101"], {"trust": "6101"}, "*", "", 6101])
def test_a_manager_token_without_a_trust_code_scope_sees_nothing(
    system: RunningSystem, scope: object
) -> None:
    claims: dict[str, object] = {} if scope is None else {"scope": scope}
    headers = _hand_signed(system, **claims)
    for url in (
        f"{system.urls['demand']}/v1/demands",
        f"{system.urls['tendering']}/v1/trusts/{TRUST}/pools",
        f"{system.urls['savings']}/v1/trusts/{TRUST}/savings",
    ):
        response = httpx.get(url, headers=headers)
        assert response.status_code == 401, (url, response.text)


def _procure(system: RunningSystem, *args: str, secret: str | None = None) -> subprocess.Popen[str]:
    env = os.environ | {"PROCURE_TOKEN_SECRET": secret or system.token_secret}
    return subprocess.Popen(
        [sys.executable, "-m", "procure.cli", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_revoked_token_is_refused_by_every_service_within_seconds(
    system: RunningSystem,
) -> None:
    created = _procure(system, "token", "create", "--role", "manager", "--trust", TRUST)
    out, err = created.communicate(timeout=120)
    assert created.returncode == 0, err
    leaked = out.strip()
    assert f"token id: {token_id(system.token_secret, leaked)}" in err
    kept = system.token(Role.MANAGER, TRUST)
    urls = (
        f"{system.urls['demand']}/v1/demands",
        f"{system.urls['tendering']}/v1/trusts/{TRUST}/pools",
        f"{system.urls['savings']}/v1/trusts/{TRUST}/savings",
    )
    for url in urls:
        assert httpx.get(url, headers=bearer(leaked)).status_code == 200, url
    dashboard = httpx.Client(base_url=system.urls["savings"])
    assert sign_in(dashboard, leaked).status_code == 303
    assert dashboard.get(f"/trusts/{TRUST}").status_code == 200

    revoke = _procure(system, "token", "revoke", leaked, "--url", system.urls["demand"])
    out, err = revoke.communicate(timeout=120)
    assert revoke.returncode == 0, err
    revoked_at = time.monotonic()
    for url in urls:
        eventually(
            lambda u=url: httpx.get(u, headers=bearer(leaked)), lambda r: r.status_code == 401, 15
        )
        answer = httpx.get(url, headers=bearer(leaked)).json()
        assert "revoked" in answer["detail"], answer
        assert httpx.get(url, headers=bearer(kept)).status_code == 200, url
    assert time.monotonic() - revoked_at < 15
    # The dashboard session opened with it ends too, and it cannot open another.
    assert dashboard.get(f"/trusts/{TRUST}").status_code == 303
    assert sign_in(dashboard, leaked).status_code == 401
    dashboard.close()


def test_only_an_operator_may_revoke(system: RunningSystem) -> None:
    manager = bearer(system.token(Role.MANAGER, TRUST))
    response = httpx.post(
        f"{system.urls['demand']}/v1/tokens/revocations",
        json={"token_id": "a" * 32},
        headers=manager,
    )
    assert response.status_code == 403, response.text


def test_every_process_refuses_a_weak_secret_naming_the_variable() -> None:
    # One kind of weak secret per process: each process start costs seconds.
    weak = {
        ("services.demand",): "change-me",
        ("services.tendering",): "too-short",
        ("services.savings",): "x" * 40,
        ("procure.cli", "token", "create", "--role", "operator"): "CHANGE-ME",
        ("procure.cli", "up", "--data-dir", tempfile.mkdtemp()): "0123" * 10,
    }
    for command, secret in weak.items():
        env = os.environ | {"PROCURE_TOKEN_SECRET": secret, "HTTP_PORT": str(free_port())}
        refused = subprocess.run(
            [sys.executable, "-m", *command],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert refused.returncode != 0, command
        # A service says so in its JSON log (stdout), as it says everything; the CLI on stderr.
        said = refused.stdout + refused.stderr
        assert "PROCURE_TOKEN_SECRET" in said, (command, said)


def test_procure_up_refuses_ports_that_are_taken() -> None:
    # What a second `procure up` meets while the first one runs.
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        port = listening.getsockname()[1]
        refused = subprocess.run(
            [
                *(sys.executable, "-m", "procure.cli", "up", "--base-port", str(port)),
                *("--data-dir", tempfile.mkdtemp()),
            ],
            cwd=ROOT,
            env=os.environ | {"PROCURE_TOKEN_SECRET": "an-ok-secret-" + "0123456789abcdef" * 3},
            capture_output=True,
            text=True,
            timeout=180,
        )
    assert refused.returncode != 0
    assert f"demand ({port})" in refused.stderr, refused.stderr
    assert "another `procure up`" in refused.stderr

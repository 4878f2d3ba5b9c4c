"""Static checks of the docker-compose deployment (no container engine needed)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"
APP_SERVICES = {"demand": 8001, "tendering": 8002, "savings": 8003, "web": 8000}
SUBSTITUTION = re.compile(r"^\$\{[A-Z_][A-Z0-9_]*(?::?[-?][^}]*)?\}$")


def _load_yaml(path: Path) -> Any:
    text = path.read_text(encoding="utf-8")
    try:
        import yaml  # type: ignore[import-untyped]
    except ImportError:
        from ruamel.yaml import YAML

        return YAML(typ="safe", pure=True).load(text)
    return yaml.safe_load(text)


def _check_jsonschema() -> str:
    candidate = Path(sys.executable).parent / "check-jsonschema"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("check-jsonschema")
    if found is None:
        pytest.skip("check-jsonschema is not installed")
    return found


def _env(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        pairs = (item.split("=", 1) for item in env)
        return {key: value for key, value in pairs}
    return {str(key): str(value) for key, value in env.items()}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = _load_yaml(COMPOSE_FILE)
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    return compose["services"]


def test_compose_file_matches_compose_spec() -> None:
    result = subprocess.run(
        [_check_jsonschema(), "--builtin-schema", "vendor.compose-spec", str(COMPOSE_FILE)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_obsolete_version_key(compose: dict[str, Any]) -> None:
    assert "version" not in compose


def test_all_services_present(services: dict[str, Any]) -> None:
    assert {"kafka", "postgres", *APP_SERVICES} <= set(services)


def test_kafka_runs_in_kraft_mode(services: dict[str, Any]) -> None:
    kafka = services["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    env = _env(kafka)
    roles = {role.strip() for role in env["KAFKA_PROCESS_ROLES"].split(",")}
    assert roles == {"broker", "controller"}
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"]
    assert "CONTROLLER" in env["KAFKA_CONTROLLER_LISTENER_NAMES"]
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "1"
    assert env["KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR"] == "1"
    assert env["KAFKA_TRANSACTION_STATE_LOG_MIN_ISR"] == "1"
    assert not any("zookeeper" in name.lower() for name in services)
    assert not any("ZOOKEEPER" in key for key in env)
    assert "healthcheck" in kafka


def test_postgres_password_is_substituted(services: dict[str, Any]) -> None:
    postgres = services["postgres"]
    env = _env(postgres)
    assert env["POSTGRES_USER"] == "procure"
    assert SUBSTITUTION.match(env["POSTGRES_PASSWORD"]), env["POSTGRES_PASSWORD"]
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    init_mounts = [
        str(volume).split(":")[0]
        for volume in postgres.get("volumes", [])
        if "/docker-entrypoint-initdb.d" in str(volume)
    ]
    assert init_mounts, "database creation script is not mounted"
    for source in init_mounts:
        assert (ROOT / source).is_file(), source


@pytest.mark.parametrize("name", sorted(APP_SERVICES))
def test_app_service(services: dict[str, Any], name: str) -> None:
    service = services[name]
    port = APP_SERVICES[name]

    assert service["command"][-1] == f"services.{name}"
    assert service.get("restart") == "unless-stopped"

    health = service["healthcheck"]["test"]
    assert "/ready" in " ".join(health)

    depends = service["depends_on"]
    for dependency in ("kafka", "postgres"):
        assert depends[dependency]["condition"] == "service_healthy"

    env = _env(service)
    assert env["KAFKA_BOOTSTRAP_SERVERS"] == "${KAFKA_BOOTSTRAP_SERVERS:-kafka:9092}"
    assert env["KAFKA_REPLICATION_FACTOR"] == "${KAFKA_REPLICATION_FACTOR:-1}"
    assert env["KAFKA_MIN_INSYNC_REPLICAS"] == "${KAFKA_MIN_INSYNC_REPLICAS:-1}"
    assert env["HTTP_PORT"] == str(port)
    url = env["DATABASE_URL"]
    assert url.startswith("postgresql://")
    assert url.endswith(f"/{name}"), url
    # The password inside the URL must come from a substitution, never a literal.
    credentials = url.removeprefix("postgresql://").rsplit("@", 1)[0]
    user, _, password = credentials.partition(":")
    assert user == "procure"
    assert SUBSTITUTION.match(password), password
    assert SUBSTITUTION.match(env["PROCURE_TOKEN_SECRET"]), env["PROCURE_TOKEN_SECRET"]

    # Loopback only; the host port is a variable (set empty: a free port for each instance).
    host_port = "${" + f"{name.upper()}_HOST_PORT-{port}" + "}"
    assert service["ports"] == [f"127.0.0.1:{host_port}:{port}"]
    assert "container_name" not in service

    build = service["build"]
    context = ROOT / build["context"]
    assert (context / build.get("dockerfile", "Dockerfile")).is_file()


def test_env_example_holds_no_secret() -> None:
    values = {}
    for line in (ROOT / ".env.example").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    assert set(values) >= {"POSTGRES_PASSWORD", "PROCURE_TOKEN_SECRET"}
    # Empty, so that nobody deploys a value everyone can read here (compose refuses empty ones).
    assert all(value == "" for value in values.values()), values

"""The layers a newcomer finds from the folder names, kept by a test:

- `services/*/domain/` is pure: importing it loads no web framework, validation library,
  database driver, broker client or HTTP client (so its rules run anywhere, fast);
- `shared/` is the services' library: it never imports a service or the composition root;
- `services/` never import the composition root (`procure/`), nor each other.
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("demand", "tendering", "savings", "web")
FRAMEWORKS = (
    "fastapi",
    "starlette",
    "pydantic",
    "asyncpg",
    "aiokafka",
    "faststream",
    "httpx",
    "uvicorn",
    "structlog",
)


@pytest.mark.parametrize("service", SERVICES)
def test_a_domain_package_loads_no_framework_driver_or_client(service: str) -> None:
    package = ROOT / "services" / service / "domain"
    modules = [f"services.{service}.domain.{p.stem}" for p in package.glob("*.py")]
    probe = (
        f"import sys; import {', '.join(modules)}; "
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & {set(FRAMEWORKS)!r}))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert loaded.stdout.strip() == "[]", f"{service}'s domain loads {loaded.stdout.strip()}"


def _imports(folder: Path) -> list[tuple[Path, str]]:
    found = []
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found += [(path, alias.name) for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.append((path, node.module))
    return found


def test_shared_imports_no_service_and_not_the_composition_root() -> None:
    wrong = [
        (str(path.relative_to(ROOT)), name)
        for path, name in _imports(ROOT / "shared")
        if name.split(".")[0] in {"services", "procure"}
    ]
    assert wrong == []


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_imports_neither_another_service_nor_the_composition_root(
    service: str,
) -> None:
    others = {f"services.{s}" for s in SERVICES if s != service}
    wrong = [
        (str(path.relative_to(ROOT)), name)
        for path, name in _imports(ROOT / "services" / service)
        if name.split(".")[0] == "procure" or ".".join(name.split(".")[:2]) in others
    ]
    assert wrong == []

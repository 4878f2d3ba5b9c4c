"""The documentation in docs/ keeps up with the code, and the repository cites only itself.

- docs/events.md names every topic, event type and data field of shared/events.py;
- docs/http-api.md names every path of every service's OpenAPI document;
- docs/domain-rules.md keeps the section headings other files cite;
- every module path the docs name exists;
- no file of the repository cites the product design kept outside it.
"""

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from shared.events import Envelope, Topics
from tests.helpers import event_types

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
SERVICES = ("demand", "tendering", "savings", "web")
DOMAIN_SECTIONS = (
    "Identity",
    "Categories",
    "Demand line",
    "Ranges",
    "Pooling and tenders",
    "Procedures and tender periods",
    "Bids, evaluation and award",
    "Supply start, per school",
    "Savings, per school",
    "Savings achieved",
)
# Spelt in two parts so that this file does not cite it either.
OUTSIDE_DESIGN = "DESIGN" + ".md"


def _text(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def _named(text: str, name: str) -> bool:
    """Whether `name` appears in `text` as code (in backticks, alone or with more around it)."""
    code = r"`[^`\n]*(?<![\w.])" + re.escape(name) + r"(?!\w)[^`\n]*`"
    return re.search(code, text) is not None


def _field_names(model: type[BaseModel]) -> set[str]:
    """A model's field names and those of the models inside it (an award's allocations)."""
    names = set(model.model_fields)
    for field in model.model_fields.values():
        for inner in _models_in(field.annotation):
            names |= _field_names(inner)
    return names


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in getattr(annotation, "__args__", ()) for m in _models_in(arg)]


def test_every_topic_is_documented() -> None:
    events = _text("events.md")
    missing = [topic for topic in Topics.all() if not _named(events, topic)]
    assert not missing, f"docs/events.md does not name these topics: {missing}"


def test_the_envelope_is_documented() -> None:
    events = _text("events.md")
    missing = [name for name in Envelope.model_fields if not _named(events, name)]
    assert not missing, f"docs/events.md does not name these envelope fields: {missing}"


@pytest.mark.parametrize("event_type", sorted(event_types()))
def test_every_event_type_and_data_field_is_documented(event_type: str) -> None:
    events = _text("events.md")
    assert re.search(r"^#+ .*`" + re.escape(event_type) + "`", events, re.MULTILINE), (
        f"docs/events.md has no heading for {event_type}"
    )
    model = event_types()[event_type]
    missing = sorted(name for name in _field_names(model) if not _named(events, name))
    assert not missing, f"docs/events.md does not name these fields of {event_type}: {missing}"


def _openapi(service: str) -> dict[str, Any]:
    from importlib import import_module

    from shared.settings import ServiceSettings

    build = import_module(f"services.{service}.main").build
    document: dict[str, Any] = build(ServiceSettings()).openapi()
    return document


@pytest.mark.parametrize("service", SERVICES)
def test_every_path_of_every_service_is_documented(service: str) -> None:
    http = _text("http-api.md")
    missing = [
        path
        for path in _openapi(service)["paths"]
        if not re.search(r"(?<![\w/}])" + re.escape(path) + r"(?![\w/{.])", http)
    ]
    assert not missing, f"docs/http-api.md does not name these {service} paths: {missing}"


def test_the_domain_rules_keep_the_sections_others_cite() -> None:
    headings = re.findall(r"^## (.+)$", _text("domain-rules.md"), re.MULTILINE)
    missing = [section for section in DOMAIN_SECTIONS if section not in headings]
    assert not missing, f"docs/domain-rules.md has no section {missing}"


# A repository path in backticks: `services/demand/rules.py`, `shared/domain/`, `tests/unit/`.
_PATH = re.compile(r"`((?:services|shared|procure|tests|bench|deploy)/[A-Za-z0-9_./*-]*)`")


@pytest.mark.parametrize("name", ["domain-rules.md", "events.md", "http-api.md"])
def test_every_path_the_docs_name_exists(name: str) -> None:
    missing = [
        path
        for path in sorted(set(_PATH.findall(_text(name))))
        if not any(ROOT.glob(path.rstrip("/")))
    ]
    assert not missing, f"docs/{name} names paths that do not exist: {missing}"


def _repository_files() -> list[Path]:
    """Every file git tracks or would track (new files not ignored), that exists now."""
    git = shutil.which("git")
    if git is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    listed = subprocess.run(
        [git, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout
    paths = {ROOT / name for name in listed.decode("utf-8", "surrogateescape").split("\0") if name}
    return sorted(path for path in paths if path.is_file())


def test_no_file_cites_the_design_kept_outside_the_repository() -> None:
    needle = OUTSIDE_DESIGN.encode()
    citing = [
        str(path.relative_to(ROOT)) for path in _repository_files() if needle in path.read_bytes()
    ]
    assert not citing, (
        f"these files cite {OUTSIDE_DESIGN}, which is not in the repository; cite docs/ instead:"
        f" {citing}"
    )

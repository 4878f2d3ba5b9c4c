"""Small helpers for tests that talk to the running system."""

import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def eventually(probe: Callable[[], T], check: Callable[[T], bool], timeout: float = 30) -> T:
    """Poll `probe` until `check` accepts its value; fail with the last value seen."""
    deadline = time.monotonic() + timeout
    value = probe()
    while not check(value):
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s; last value: {value!r}")
        time.sleep(0.1)
        value = probe()
    return value


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def registry_csv(trust_id: str, schools: list[tuple[str, str]], **columns: Any) -> str:
    header = "URN,EstablishmentName,Trusts (code),Trusts (name),EstablishmentStatus (name)"
    rows = [f"{urn},{name},{trust_id},Trust {trust_id},Open" for urn, name in schools]
    return "\n".join([header, *rows]) + "\n"

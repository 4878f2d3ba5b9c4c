"""`procure backup` and `procure restore`: back up a running system, wipe its data folder,
restore, start it again, and the ledger is the same to the last figure. Real `procure`
processes, as an operator runs them."""

import os
import secrets
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.auth import Role, issue_token
from tests.flow import award_after_close
from tests.helpers import (
    PROCURE,
    bearer,
    bid_body,
    demand_line,
    eventually,
    free_base_port,
    open_tender,
    registry_csv,
    start_procure_up,
    stop_procure_up,
    wait_until_running,
)

pytestmark = pytest.mark.e2e

TRUST = "4501"
SCHOOLS = [("450001", "100000", "0.3000"), ("450002", "50000", "0.2800")]


class System:
    """`procure up` on a data folder, and the other commands run against it."""

    def __init__(self, data_dir: Path, secret: str) -> None:
        self.data_dir = data_dir
        self.secret = secret
        self.base_port = free_base_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.output = Path(tempfile.mkstemp(suffix=".out")[1])

    def env(self) -> dict[str, str]:
        return os.environ | {
            "PROCURE_DATA_DIR": str(self.data_dir),
            "PROCURE_TOKEN_SECRET": self.secret,
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": str(Path.cwd()),
        }

    def start(self) -> None:
        self.base_port = free_base_port()
        self.process = start_procure_up(self.data_dir, self.base_port, self.output, self.env())
        wait_until_running(self.process, self.output)

    def stop(self) -> None:
        stop_procure_up(self.process)
        self.process = None

    def procure(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*PROCURE, *args], env=self.env(), capture_output=True, text=True, timeout=90
        )

    def url(self, service: str) -> str:
        offset = {"demand": 0, "tendering": 1, "savings": 2}[service]
        return f"http://127.0.0.1:{self.base_port + offset}"

    def token(self, role: Role, scope: str | None = None) -> dict[str, str]:
        return bearer(issue_token(self.secret, role, scope))


@pytest.fixture
def root() -> Iterator[Path]:
    # A folder the unprivileged PostgreSQL user can reach (pytest's own sit under a private one).
    folder = Path(tempfile.mkdtemp())
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _fill(system: System, http: httpx.Client) -> None:
    """A registry, demand lines, a tender with a bid, its award, the ledger entries."""
    demand, tendering = system.url("demand"), system.url("tendering")
    manager = system.token(Role.MANAGER, TRUST)
    loaded = http.post(
        f"{demand}/v1/registry",
        content=registry_csv(TRUST, [(urn, f"School {urn}") for urn, *_ in SCHOOLS]),
        headers=system.token(Role.OPERATOR),
    )
    assert loaded.status_code == 200, loaded.text
    end = (date.today() + timedelta(days=200)).isoformat()
    for urn, quantity, price in SCHOOLS:
        line = demand_line(end, school_urn=urn, quantity=quantity, current_unit_price=price)
        posted = http.post(
            f"{demand}/v1/demands",
            json=line,
            headers=system.token(Role.SCHOOL, urn) | {"Idempotency-Key": f"backup-{urn}"},
        )
        assert posted.status_code == 201, posted.text
    eventually(
        lambda: http.get(f"{tendering}/v1/trusts/{TRUST}/pools", headers=manager).json(),
        lambda p: len(p) == 1 and len(p[0]["lines"]) == len(SCHOOLS),
    )
    closes_at = datetime.now(UTC) + timedelta(seconds=2)
    # One bidder: price alone decides, no quality scores to wait for.
    price_only = {"price": "1", "quality": "0"}
    tender_id = open_tender(
        http, tendering, manager, TRUST, "electricity", closes_at, weights=price_only
    )
    placed = http.post(
        f"{tendering}/v1/tenders/{tender_id}/bids",
        json=bid_body(("0", "0.2")),
        headers=system.token(Role.SUPPLIER, "backup-energy"),
    )
    assert placed.status_code == 201, placed.text
    award_after_close(http, tendering, manager, tender_id, closes_at)


def _state(system: System, http: httpx.Client) -> dict[str, Any]:
    manager = system.token(Role.MANAGER, TRUST)
    ledger = http.get(f"{system.url('savings')}/v1/trusts/{TRUST}/savings/ledger", headers=manager)
    assert ledger.status_code == 200, ledger.text
    demands = http.get(f"{system.url('demand')}/v1/demands", headers=manager)
    assert demands.status_code == 200, demands.text
    entries = ledger.json()
    tenders = {
        e["tender_id"]: http.get(
            f"{system.url('tendering')}/v1/tenders/{e['tender_id']}", headers=manager
        ).json()
        for e in entries
    }
    return {"ledger": entries, "demands": demands.json()["items"], "tenders": tenders}


def test_backup_wipe_restore_gives_the_same_ledger(root: Path) -> None:
    data = root / "data"
    archive = root / "procure.backup"
    system = System(data, secrets.token_urlsafe(48))
    try:
        system.start()
        with httpx.Client(timeout=30) as http:
            _fill(system, http)
            manager = system.token(Role.MANAGER, TRUST)
            eventually(
                lambda: http.get(
                    f"{system.url('savings')}/v1/trusts/{TRUST}/savings/ledger", headers=manager
                ).json(),
                lambda entries: len(entries) == len(SCHOOLS),
            )
            before = _state(system, http)
        assert len(before["tenders"]) == 1

        saved = system.procure("backup", str(archive))
        assert saved.returncode == 0, saved.stdout + saved.stderr
        assert str(archive) in saved.stdout
        assert archive.stat().st_mode & 0o777 == 0o600
        with tarfile.open(archive) as held:
            names = set(held.getnames())
        # The web workspace's accounts too.
        dumps = {"demand.dump", "tendering.dump", "savings.dump", "web.dump"}
        assert names == {"manifest.json", *dumps}

        # A restore while the system runs on the folder is refused.
        refused = system.procure("restore", str(archive), "--data-dir", str(data))
        assert refused.returncode != 0
        assert "procure.lock" in refused.stderr, refused.stderr

        system.stop()
        shutil.rmtree(data)
        gone = system.procure("backup", str(root / "other.backup"))
        assert gone.returncode != 0
        assert "no running `procure up`" in gone.stderr, gone.stderr

        restored = system.procure("restore", str(archive), "--data-dir", str(data))
        assert restored.returncode == 0, restored.stdout + restored.stderr
        assert "restored demand, tendering, savings" in restored.stdout

        system.start()
        with httpx.Client(timeout=30) as http:
            after = _state(system, http)
        assert after == before
    finally:
        system.stop()
        system.output.unlink(missing_ok=True)


def test_a_file_that_is_not_a_backup_is_refused(root: Path) -> None:
    system = System(root / "data", secrets.token_urlsafe(48))
    not_a_backup = root / "notes.txt"
    not_a_backup.write_text("hello\n")
    refused = system.procure("restore", str(not_a_backup))
    assert refused.returncode != 0
    assert "is not a procure backup" in refused.stderr, refused.stderr

    partial = root / "partial.tar"
    with tarfile.open(partial, "w") as archive:
        archive.add(not_a_backup, arcname="manifest.json")
    refused = system.procure("restore", str(partial))
    assert refused.returncode != 0
    assert "is not a procure backup" in refused.stderr, refused.stderr
    assert not (root / "data").exists()  # nothing made before the archive checked out
    system.output.unlink(missing_ok=True)

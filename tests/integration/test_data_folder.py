"""`procure up` keeps everything in one data folder: a stop and a start lose nothing, a second
`procure up` on the same folder is refused, and the other commands find the running system
through the folder from any working directory. Real `procure` processes, as an operator runs
them."""

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest

from tests.helpers import (
    PROCURE,
    bearer,
    demand_line,
    free_base_port,
    registry_csv,
    start_procure_up,
    stop_procure_up,
    wait_until_running,
)

pytestmark = pytest.mark.e2e

TRUST = "4401"
URN = "440001"


def _env(data_dir: Path) -> dict[str, str]:
    """No secret given: `procure up` makes its own in the data folder."""
    env = {k: v for k, v in os.environ.items() if k != "PROCURE_TOKEN_SECRET"}
    return env | {"PROCURE_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1"}


@dataclass
class Up:
    """One `procure up` on a data folder, its output in a file."""

    data_dir: Path
    base_port: int
    elsewhere: Path  # a working directory that is not the checkout's
    process: subprocess.Popen[bytes] | None = None
    output: Path = field(default_factory=lambda: Path(tempfile.mkstemp(suffix=".out")[1]))

    def start(self) -> None:
        env = _env(self.data_dir) | {"PYTHONPATH": str(Path.cwd())}
        self.process = start_procure_up(
            self.data_dir, self.base_port, self.output, env, cwd=self.elsewhere
        )
        wait_until_running(self.process, self.output)

    def stop(self) -> None:
        stop_procure_up(self.process)
        self.process = None

    def text(self) -> str:
        return self.output.read_text(errors="replace")

    def procure(self, *args: str) -> subprocess.CompletedProcess[str]:
        """A `procure` command run from another folder, finding the system by the data folder."""
        return subprocess.run(
            [*PROCURE, *args],
            cwd=self.elsewhere,
            env=_env(self.data_dir) | {"PYTHONPATH": str(Path.cwd())},
            capture_output=True,
            text=True,
            timeout=60,
        )

    def token(self, *args: str) -> str:
        made = self.procure("token", "create", *args)
        assert made.returncode == 0, made.stderr
        return made.stdout.strip()

    @property
    def demand(self) -> str:
        return f"http://127.0.0.1:{self.base_port}"


@pytest.fixture(scope="module")
def up() -> Iterator[Up]:
    # Folders the unprivileged PostgreSQL user can reach (pytest's own sit under a private one).
    root = Path(tempfile.mkdtemp())
    root.chmod(0o755)
    elsewhere = root / "elsewhere"
    elsewhere.mkdir()
    running = Up(root / "data", free_base_port(), elsewhere)
    running.start()
    try:
        yield running
    finally:
        running.stop()
        running.output.unlink(missing_ok=True)
        shutil.rmtree(root)


def test_the_data_folder_is_private_and_named(up: Up) -> None:
    assert f"data      {up.data_dir}" in up.text()
    assert (up.data_dir / "token-secret").stat().st_mode & 0o777 == 0o600
    assert (up.data_dir / "runtime.json").stat().st_mode & 0o777 == 0o600
    assert up.data_dir.stat().st_mode & 0o077 in (0, 0o011)  # as root: passable, not listable
    assert not (up.elsewhere / ".procure").exists()


def test_a_second_up_on_the_same_folder_is_refused(up: Up) -> None:
    second = up.procure("up", "--base-port", str(free_base_port()))
    assert second.returncode != 0
    assert str(up.data_dir / "procure.lock") in second.stderr, second.stderr
    assert "another `procure up`" in second.stderr


def test_commands_find_the_system_from_another_folder(up: Up) -> None:
    # No --url: the registry goes to the running system's demand service on its own port.
    csv = up.elsewhere / "registry.csv"
    csv.write_text(registry_csv(TRUST, [(URN, "Data Folder School")]))
    loaded = up.procure("registry", "load", str(csv))
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr

    school = up.token("--role", "school", "--urn", URN)
    line = demand_line((date.today() + timedelta(days=200)).isoformat(), school_urn=URN)
    posted = httpx.post(
        f"{up.demand}/v1/demands",
        json=line,
        headers=bearer(school) | {"Idempotency-Key": "data-folder-1"},
        timeout=30,
    )
    assert posted.status_code == 201, posted.text

    # A folder with no system in it: the command says which folder it looked in.
    elsewhere = subprocess.run(
        [*PROCURE, "token", "create", "--role", "operator"],
        cwd=up.elsewhere,
        env=_env(up.data_dir.parent / "not-a-data-folder") | {"PYTHONPATH": str(Path.cwd())},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert elsewhere.returncode != 0
    assert "not-a-data-folder" in elsewhere.stderr


def test_a_stop_and_a_start_lose_nothing(up: Up) -> None:
    manager = bearer(up.token("--role", "manager", "--trust", TRUST))
    before = httpx.get(f"{up.demand}/v1/demands", headers=manager, timeout=30).json()["items"]
    assert [d["school_urn"] for d in before] == [URN]

    up.stop()
    assert not (up.data_dir / "runtime.json").exists()
    up.start()
    assert f"data      {up.data_dir}" in up.text()

    after = httpx.get(f"{up.demand}/v1/demands", headers=manager, timeout=30)
    assert after.status_code == 200, after.text
    assert after.json()["items"] == before
    # The manager token made before the stop still works: the same secret, from the folder.

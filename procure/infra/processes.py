"""Child processes the project starts itself, and waiting for a port to accept connections.

Every child dies with us: on Linux it asks the kernel (`PR_SET_PDEATHSIG`) for a signal when its
parent goes, even by kill -9. The kernel sends it when the *thread* that forked the child ends,
so every child is forked by one thread that lives as long as the process (`_Spawner`), whichever
thread asks (the fault suite starts services from short-lived pool threads, a supervisor from its
own). The request is made in the child after `subprocess` has switched to `user=` (CPython
applies `preexec_fn` after setregid/setreuid, and a change of credentials would clear it), so
PostgreSQL run as another user is covered too.
"""

import ctypes
import os
import queue
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from pathlib import Path

# Ports for our own listeners (embedded broker and database, test services) lie below Linux's
# ephemeral range (32768-60999), from which every outgoing connection takes its local port: a
# port chosen there can be taken by some client between choosing it and binding it.
LISTENING_PORTS = range(20000, 32000)


def free_port() -> int:
    """A port nothing listens on, chosen at random so that two runs side by side seldom meet."""
    for _ in range(100):
        port = random.choice(LISTENING_PORTS)
        if not port_in_use("127.0.0.1", port):
            return port
    raise RuntimeError(f"no free port in {LISTENING_PORTS.start}-{LISTENING_PORTS.stop - 1}")


def port_in_use(host: str, port: int) -> bool:
    """Whether something already listens on host:port (another `procure up`, say)."""
    with socket.socket() as s:
        # Connections closed a moment ago (TIME_WAIT, after a kill) do not count.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


def wait_for_port(host: str, port: int, timeout: float, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before listening")
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"{host}:{port} did not accept connections within {timeout} s")


PR_SET_PDEATHSIG = 1


def _prctl() -> Callable[..., int] | None:
    """libc's prctl, looked up here, before any fork: the child only calls it."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl: Callable[..., int] = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return prctl


_PRCTL = _prctl()


def _die_with(parent: int, sig: int) -> Callable[[], None]:
    """What the child runs between fork and exec: ask for `sig` when its parent dies, and go at
    once if the parent died before it asked."""

    def preexec() -> None:
        assert _PRCTL is not None
        if _PRCTL(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:
            os._exit(127)  # a child we could not tie to us is one we could not stop
        if os.getppid() != parent:
            os._exit(128 + int(sig))

    return preexec


class _Spawner:
    """One daemon thread, started on first use, that forks every child: it lives until the
    process exits, so a parent-death signal fires only when the process itself dies."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._requests: queue.SimpleQueue[
            tuple[Callable[[], subprocess.Popen[bytes]], Future[subprocess.Popen[bytes]]]
        ] = queue.SimpleQueue()

    def run(self, fork: Callable[[], subprocess.Popen[bytes]]) -> subprocess.Popen[bytes]:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._serve, name="procure-spawner", daemon=True
                )
                self._thread.start()
        if threading.current_thread() is self._thread:
            return fork()
        done: Future[subprocess.Popen[bytes]] = Future()
        self._requests.put((fork, done))
        return done.result()

    def _serve(self) -> None:
        while True:
            fork, done = self._requests.get()
            try:
                done.set_result(fork())
            except BaseException as exc:  # handed to the thread that asked
                done.set_exception(exc)


_SPAWNER = _Spawner()


def start(
    args: Sequence[str],
    log_file: Path,
    env: Mapping[str, str] | None = None,
    user: str | None = None,
    parent_death_signal: int = signal.SIGTERM,
) -> subprocess.Popen[bytes]:
    """Start a child writing to `log_file`; it gets `parent_death_signal` if we die (Linux)."""
    preexec = _die_with(os.getpid(), parent_death_signal) if _PRCTL is not None else None
    with log_file.open("ab") as log:

        def fork() -> subprocess.Popen[bytes]:
            return subprocess.Popen(
                list(args),
                stdout=log,
                stderr=subprocess.STDOUT,
                env=dict(env) if env is not None else None,
                user=user,
                # Its own process group, so Ctrl-C in a terminal reaches only our launcher,
                # which then stops children in order.
                start_new_session=True,
                preexec_fn=preexec,  # only a call into libc, looked up before the fork
            )

        return _SPAWNER.run(fork)


def stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout: float = 15) -> None:
    """Stop a child and wait for it; kill it if it does not stop in time."""
    if process.poll() is not None:
        return
    os.kill(process.pid, sig)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()

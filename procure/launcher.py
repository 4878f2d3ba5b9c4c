"""Starts the services (demand, tendering, savings and the web workspace) as separate OS
processes on given infrastructure, and stops them.

`procure up` and the end-to-end and fault tests all use `run_system`. With `supervise=True`
(`procure up`), a supervisor restarts an instance that exits, with backoff, and says so on stdout
(procure/supervisor.py); without it the caller has full control (the tests, whose fault suite
restarts instances itself).
"""

import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from subprocess import Popen

import httpx

from procure.infra import processes
from procure.infra.provision import SERVICES, Infrastructure
from procure.supervisor import Supervisor, Watched
from shared.auth import Role, issue_token

DEFAULT_PORTS = {"demand": 8001, "tendering": 8002, "savings": 8003, "web": 8000}
# How much of an instance's log an instance that failed to start shows.
LOG_LINES_SHOWN = 20
# Where the services listen unless the operator sets HTTP_HOST.
DEFAULT_HOST = "127.0.0.1"
# Addresses that mean "every interface": a client reaches them on the loopback address.
_ANY = {"0.0.0.0", "::", "[::]", "*"}  # noqa: S104


def url_of(host: str, port: int) -> str:
    """The URL a client on this machine uses for a service listening on host:port."""
    if host in _ANY:
        host = DEFAULT_HOST
    elif ":" in host and not host.startswith("["):  # an IPv6 address
        host = f"[{host}]"
    return f"http://{host}:{port}"


@dataclass
class RunningSystem:
    infra: Infrastructure
    token_secret: str
    urls: dict[str, str]
    extra_env: Mapping[str, str] = field(default_factory=dict)
    # Instance name -> process; an instance is a service name, or e.g. "tendering-2".
    processes: dict[str, Popen[bytes]] = field(default_factory=dict)
    supervisor: Supervisor | None = None
    # Held while the instances restart with the broker: the supervisor then sees them running
    # and does not start them a second time.
    _with_broker: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def token(self, role: Role, scope: str | None = None, subject: str | None = None) -> str:
        """A token for the role and scope; `subject`, a person's email address, names who acts."""
        return issue_token(self.token_secret, role, scope, subject=subject)

    def log(self, instance: str) -> str:
        return (self.infra.workdir / f"{instance}.log").read_text(errors="replace")

    def start(
        self,
        service: str,
        instance: str | None = None,
        port: int | None = None,
        env: Mapping[str, str] | None = None,
    ) -> str:
        """Start one instance of a service and wait until it is ready; returns its URL."""
        instance = instance or service
        environ = dict(os.environ) | self.infra.service_env(service) | dict(self.extra_env)
        host = (env or {}).get("HTTP_HOST") or environ.get("HTTP_HOST") or DEFAULT_HOST
        url = self.urls[instance] if port is None else url_of(host, port)
        environ |= {
            "PROCURE_TOKEN_SECRET": self.token_secret,
            "HTTP_HOST": host,
            "HTTP_PORT": url.rsplit(":", 1)[1],
        }
        if "tendering" in self.urls:
            # The savings dashboard links each contract to its tender.
            environ.setdefault("TENDERING_PUBLIC_URL", self.urls["tendering"])
        if service == "web":
            # The web workspace calls the others' APIs as the signed-in person.
            environ |= {f"{s.upper()}_URL": self.urls[s] for s in SERVICES if s in self.urls}
        process = processes.start(
            [sys.executable, "-m", f"services.{service}"],
            self.infra.workdir / f"{instance}.log",
            env=environ | dict(env or {}),
        )
        self.processes[instance] = process
        self.urls[instance] = url
        try:
            wait_ready(url, process)
        except RuntimeError as exc:
            last = self.log(instance).splitlines()[-LOG_LINES_SHOWN:]
            raise RuntimeError(f"{instance}: {exc}; its log ends:\n" + "\n".join(last)) from exc
        return url

    def kill(self, instance: str) -> None:
        """kill -9: no shutdown code runs. The instance stays part of the system, to be started
        again on its port."""
        processes.stop(self.processes[instance], sig=signal.SIGKILL)

    def remove(self, instance: str) -> None:
        """Stops an instance started for a while and forgets it: whatever reaches every instance
        of the system (its URLs, a restart with the broker) no longer finds it."""
        processes.stop(self.processes.pop(instance))
        del self.urls[instance]

    def restart_with_broker(self, restart_broker: Callable[[], None]) -> None:
        """The embedded broker restarted, and every instance with it. It comes back empty: its
        consumer groups' offsets are gone and its logs are refilled by the services' relays
        (shared/outbox.py), at offsets that need not be the old ones, so a consumer that went on
        from its position in the old log could pass over records it never read. Each instance
        is killed first (a consumer stopping gently would commit that position to the new
        broker), then started again once the broker is: its groups then read from the earliest
        offset and the inboxes absorb what was applied before."""
        with self._with_broker:
            for process in self.processes.values():
                processes.stop(process, sig=signal.SIGKILL)
            restart_broker()
            # Side by side: each waits seconds to be ready, and a busy machine made one after
            # another take more than 30 s.
            with ThreadPoolExecutor() as starting:
                started = [
                    starting.submit(
                        self.start, instance.split("-")[0], instance, int(url.rsplit(":", 1)[1])
                    )
                    for instance, url in list(self.urls.items())
                    if instance in self.processes
                ]
            for start in started:
                start.result()  # a failed start is raised here, as it was one at a time

    def supervise(self, supervisor: Supervisor, also: Sequence[Watched] = ()) -> None:
        """Have `supervisor` restart every instance started so far, and the embedded broker
        among `also` (when its provider can restart it) with every instance."""
        self.supervisor = supervisor
        for instance in self.processes:
            supervisor.watch(self._watched(instance))
        for watched in also:
            supervisor.watch(self._with_instances(watched))

    def _with_instances(self, broker: Watched) -> Watched:
        def restart() -> None:
            self.restart_with_broker(broker.restart)

        return Watched(broker.name, broker.exit_code, restart)

    def _watched(self, instance: str) -> Watched:
        service = instance.split("-")[0]
        port = int(self.urls[instance].rsplit(":", 1)[1])

        def restart() -> None:
            try:
                self.start(service, instance, port)
            except TimeoutError:
                self.kill(instance)  # running but never ready: stopped, so it is tried again
                raise

        def exit_code() -> int | None:
            return None if self._with_broker.locked() else self.processes[instance].poll()

        return Watched(instance, exit_code, restart)

    def stop_all(self) -> None:
        if self.supervisor is not None:
            self.supervisor.stop()
        for process in list(self.processes.values()):
            processes.stop(process)
        if self.supervisor is not None:
            # A restart under way ends when its process is stopped; then stop what it started.
            self.supervisor.join()
            for process in list(self.processes.values()):
                processes.stop(process)


def wait_ready(url: str, process: Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited with {process.returncode} before it was ready")
        try:
            if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{url} was not ready within {timeout} s")


@contextmanager
def run_system(
    infra: Infrastructure,
    token_secret: str,
    ports: Mapping[str, int] = DEFAULT_PORTS,
    extra_env: Mapping[str, str] | None = None,
    supervise: bool = False,
    also_supervise: Sequence[Watched] = (),
) -> Iterator[RunningSystem]:
    """The services, ready. With `supervise`, each one that exits is restarted (as is each
    of `also_supervise`) until the context ends."""
    host = (extra_env or {}).get("HTTP_HOST") or os.environ.get("HTTP_HOST") or DEFAULT_HOST
    system = RunningSystem(
        infra,
        token_secret,
        {s: url_of(host, ports[s]) for s in SERVICES},
        dict(extra_env or {}),
    )
    try:
        for service in SERVICES:
            system.start(service)
        if supervise:
            system.supervise(Supervisor(), also_supervise)
        yield system
    finally:
        system.stop_all()

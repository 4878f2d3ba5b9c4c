"""Keeps `procure up`'s children running: one that exits is reaped, restarted after a backoff
that doubles with each failure in a row (1 s, 2 s, 4 s ... 30 s at most, back to 1 s once it
has stayed up a while), and every event is one line on stdout.

A watched child is a name, how to tell whether it exited, and how to start it again (which
returns once it is ready, or raises): a service instance of a `RunningSystem`, or anything else
the launcher is given (the broker, say).
"""

import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO


@dataclass(frozen=True)
class Watched:
    name: str
    # None while it runs, else its exit status (as `Popen.poll`, which also reaps it).
    exit_code: Callable[[], int | None]
    # Starts it again and returns once it is ready; raises if it did not come up.
    restart: Callable[[], None]


@dataclass(frozen=True)
class Backoff:
    first: float = 1.0
    cap: float = 30.0
    # Up this long after a restart, and the next failure waits `first` again.
    stable_after: float = 60.0

    def delay(self, failures: int) -> float:
        """The wait before the restart that follows `failures` failures in a row (1 or more)."""
        return float(min(self.first * 2 ** min(failures - 1, 30), self.cap))


def describe(code: int) -> str:
    """An exit status as `Popen` reports it, with the signal's name when one killed it."""
    if code < 0:
        try:
            return f"{code} ({signal.Signals(-code).name})"
        except ValueError:
            return str(code)
    return str(code)


class Supervisor:
    """One thread per watched child, so a child waiting out its backoff delays no other."""

    def __init__(
        self,
        backoff: Backoff | None = None,
        out: TextIO | None = None,
        poll_interval: float = 0.2,
    ) -> None:
        self.backoff = backoff or Backoff()
        self._out = out
        self._poll_interval = poll_interval
        self._stopping = threading.Event()
        self._print_lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def say(self, line: str) -> None:
        with self._print_lock:
            print(line, file=self._out or sys.stdout, flush=True)

    def watch(self, watched: Watched) -> None:
        thread = threading.Thread(
            target=self._keep_running, args=(watched,), name=f"supervise-{watched.name}"
        )
        thread.daemon = True  # never keeps the process alive; `stop` ends it in order
        self._threads.append(thread)
        thread.start()

    def stop(self) -> None:
        """No more restarts from now on (a restart under way finishes or fails)."""
        self._stopping.set()

    def join(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def _keep_running(self, watched: Watched) -> None:
        failures = 0
        up_since = time.monotonic()
        while not self._stopping.wait(self._poll_interval):
            code = watched.exit_code()
            if code is None:
                if failures and time.monotonic() - up_since >= self.backoff.stable_after:
                    failures = 0
                continue
            failures += 1
            delay = self.backoff.delay(failures)
            again = f" (failure {failures} in a row)" if failures > 1 else ""
            self.say(
                f"{watched.name} exited with {describe(code)}; restarting in {delay:g} s{again}"
            )
            if self._stopping.wait(delay):
                return
            started = time.monotonic()
            try:
                watched.restart()
            except Exception as exc:  # whatever went wrong, the next round tries again
                if not self._stopping.is_set():
                    self.say(f"{watched.name} did not come back: {exc}")
                continue
            if self._stopping.is_set():
                return
            up_since = time.monotonic()
            self.say(f"{watched.name} is back (ready after {up_since - started:.1f} s)")

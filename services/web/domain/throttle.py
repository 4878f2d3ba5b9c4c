"""Sign-in throttling (OWASP ASVS V2.2.1): too many failed attempts for one email address, or
from one client address, within a window, and sign-in is refused for a while without checking
the password at all, so guessing stops paying. Successful sign-in clears the address's count.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Throttle:
    window: timedelta = timedelta(minutes=15)
    # Failures within the window after which one more attempt is refused ...
    per_email: int = 5
    # ... and from one client address (many emails tried from one place).
    per_client: int = 20

    def since(self, now: datetime) -> datetime:
        """The oldest failure that still counts."""
        return now - self.window

    def wait(
        self, email_failures: Sequence[datetime], client_failures: Sequence[datetime], now: datetime
    ) -> timedelta | None:
        """How long until the next attempt may be made, given the failures within the window
        (any order); None when it may be made now."""
        waits = [
            self._until_below(email_failures, self.per_email, now),
            self._until_below(client_failures, self.per_client, now),
        ]
        return max((w for w in waits if w is not None), default=None)

    def _until_below(
        self, failures: Sequence[datetime], limit: int, now: datetime
    ) -> timedelta | None:
        recent = sorted(f for f in failures if f > self.since(now))
        if len(recent) < limit:
            return None
        # Once the oldest failures leave the window, fewer than `limit` remain.
        freed_at = recent[len(recent) - limit] + self.window
        return max(freed_at - now, timedelta(seconds=1))


def minutes(wait: timedelta) -> int:
    """A wait in whole minutes, rounded up: "try again in 1 minute", never "in 0"."""
    return max(1, math.ceil(wait.total_seconds() / 60))

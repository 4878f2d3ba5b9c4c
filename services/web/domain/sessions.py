"""When a signed-in session ends: after `idle` without a request, `lifetime` after sign-in
however busy it is, at sign-out (every session of the account, "everywhere"), and when the
account is disabled or its password set again."""

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Limits:
    idle: timedelta = timedelta(minutes=30)
    lifetime: timedelta = timedelta(hours=12)

    def live(self, created_at: datetime, last_seen_at: datetime, now: datetime) -> bool:
        return last_seen_at > now - self.idle and created_at > now - self.lifetime

    def idle_since(self, now: datetime) -> datetime:
        """A session last seen at or before this has ended."""
        return now - self.idle

    def created_since(self, now: datetime) -> datetime:
        """A session created at or before this has ended."""
        return now - self.lifetime

"""Keyset pagination of demand lines: an opaque cursor names the last line of a page, so pages
stay stable while lines are added (unlike an offset)."""

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID


@dataclass(frozen=True)
class Position:
    created_at: datetime
    demand_id: UUID


def encode_cursor(position: Position) -> str:
    text = f"{position.created_at.isoformat()}|{position.demand_id}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> Position:
    """The position a cursor names; ValueError if it is not one this service issued."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        created_at, demand_id = text.split("|")
        position = Position(datetime.fromisoformat(created_at), UUID(demand_id))
        if position.created_at.tzinfo is None:
            raise ValueError("no time zone")
        # In UTC, as issued: an offset that moves the time out of datetime's range (year 1 at
        # +14:00) fails here rather than in the database driver.
        return Position(position.created_at.astimezone(UTC), position.demand_id)
    except (binascii.Error, UnicodeDecodeError, ValueError, OverflowError) as exc:
        raise ValueError("not a cursor from a previous page") from exc

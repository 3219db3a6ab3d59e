"""Feed cursors: an opaque position (xid, id) and the time of the event there.

`xid` is the writing transaction's id on PostgreSQL (0 on SQLite); `id` the
event's id. The feed serves events strictly after the position, in (xid, id)
order. The time lets the feed tell a cursor that has fallen out of the
retention window (410) from one that merely had nothing new for a while.
"""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass

from service.errors import FieldError, Unprocessable

_PREFIX = "f1"
_LIMIT = 2**63
_AT_LIMIT = 2**33  # seconds: the year 2242, well inside datetime's range


@dataclass(frozen=True, slots=True)
class FeedPosition:
    xid: int
    event_id: int
    # Seconds since the epoch of the event at the position (or of when a head
    # cursor was taken).
    at: int

    @property
    def time(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.at, dt.UTC)


def encode(position: FeedPosition) -> str:
    raw = f"{_PREFIX}:{position.xid}:{position.event_id}:{position.at}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode(cursor: str) -> FeedPosition:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, xid, event_id, at = raw.split(":")
        values = [int(v) for v in (xid, event_id, at) if v.isdigit()]
        if prefix != _PREFIX or len(values) != 3 or any(v >= _LIMIT for v in values):
            raise ValueError(cursor)
        if values[2] >= _AT_LIMIT:
            raise ValueError(cursor)
        return FeedPosition(*values)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Unprocessable(
            "Bad cursor.",
            errors=[FieldError(field="cursor", message="not a feed cursor we issued")],
        ) from exc


def etag(cursor: str) -> str:
    return f'"{cursor}"'

"""The ticket event stream's positions: what the feed (service/feed) calls
cursors, and the head of the stream as of a statement's snapshot. They belong
to the events' own room: the ticket list hands providers a head cursor with its
page, and the feed reads from one.

A cursor is an opaque position (xid, id) and the time of the event there.
`xid` is the writing transaction's id on PostgreSQL (0 on SQLite); `id` the
event's id. The feed serves events strictly after the position, in (xid, id)
order. The time lets the feed tell a cursor that has fallen out of the
retention window (410) from one that merely had nothing new for a while.
"""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, literal_column, select
from sqlalchemy.orm import Session

from service.db import utcnow
from service.errors import Invalid, Unprocessable
from service.tickets.models import TicketEvent

# session.info key: organisations whose events this transaction wrote (the
# feed's commit hook wakes what waits on them).
FEED_ORGANIZATIONS = "linli_feed_organizations"

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
        raise Unprocessable("cursor.bad", errors=[Invalid("cursor", "cursor.not_feed")]) from exc


def etag(cursor: str) -> str:
    return f'"{cursor}"'


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def head_cursor(session: Session, now: dt.datetime | None = None) -> str:
    """A cursor after every event already committed as of this statement's snapshot.

    Read it BEFORE a list: on PostgreSQL (READ COMMITTED) every statement has a
    snapshot of its own, and each event below this horizon committed before the
    list's later snapshot, so the list reflects it; any other event is after
    the cursor. That is what makes list-then-follow gap-free."""
    at = int((now or utcnow()).timestamp())
    if is_postgres(session):
        horizon = session.scalar(
            select(literal_column("pg_snapshot_xmin(pg_current_snapshot())::text::bigint"))
        )
        assert horizon is not None
        return encode(FeedPosition(int(horizon), 0, at))
    last = session.scalar(select(func.coalesce(func.max(TicketEvent.id), 0)))
    return encode(FeedPosition(0, int(last or 0), at))

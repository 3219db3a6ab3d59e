"""Fan-out: many pollers of one organisation cost memory, not queries.

A company runs several dispatch consoles and instances of its system, each
polling the feed with a cursor of its own. Each process keeps, per polled
organisation, a window of its most recent events: every event after the
window's `start` position up to what the last refresh could see, in feed order,
each serialised once. A poller whose cursor is at or after `start` gets its page
cut from the window; a commit notification makes the next poller refresh it
(one query for everyone, single flight), reading only what is after its end.
A cursor before the window (a poller catching up) is read from the database as
before (`service.feed.service.read_page`).

Why the cut is exact: the window holds every event of the organisation after
`start` below the horizon of its last refresh (`read_page` serves nothing at or
above the horizon, and the first load takes the newest events below it), so
"events after the cursor" are the window's events after the cursor, unless
more committed since the refresh; those come with a notification, which makes
the hub's version move past the window's, and the window is refreshed before
it is cut. A refresh that was left pending (an older transaction still open)
is retried like a pending read.

The ticket inside each event is as the organisation saw it when the window
read it, where a database read shows it as it is now; every later change of
the ticket is itself a later event with the newer ticket, so a poller that
follows the feed ends with the same state either way.
"""

from __future__ import annotations

import asyncio
import bisect
import datetime as dt
import time
from dataclasses import dataclass, field
from typing import Any

import pydantic_core
from sqlalchemy.orm import Session

from service.db import in_thread, utcnow
from service.feed.service import (
    FeedCursorExpired,
    FeedPage,
    event_dict,
    events_query,
    horizon_column,
    read_rows,
)
from service.tickets import stream as cursors
from service.tickets.models import TicketEvent
from service.tickets.stream import FeedPosition

# Events kept per organisation (~1-2 KB each once serialised): enough for every
# poller that keeps up; one that falls further behind reads the database.
WINDOW_EVENTS = 100
# A refresh reads at most this many at once (a burst of commits), then again.
REFRESH_BATCH = 200
# Windows of organisations nobody polled for this long are dropped.
IDLE_SECONDS = 600.0

Key = tuple[int, int]  # (xid, event id): the feed's order
Entry = tuple[Key, int, bytes]  # position, the event's time (epoch s), its JSON


@dataclass
class _Window:
    start: Key
    version: int
    keys: list[Key] = field(default_factory=list)
    times: list[int] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)
    # The last refresh saw events it could not serve yet (an older
    # transaction still open): refresh again before trusting the end.
    pending: bool = False
    used_at: float = field(default_factory=time.monotonic)

    def end_cursor(self) -> str:
        if self.keys:
            xid, event_id = self.keys[-1]
            return cursors.encode(FeedPosition(xid, event_id, self.times[-1]))
        at = int(utcnow().timestamp())
        return cursors.encode(FeedPosition(self.start[0], self.start[1], at))

    def append(self, entries: list[Entry]) -> None:
        """Entries (`_entry`), in order, after the window's end. On the event
        loop only: pollers are cut from the window there, so they never see it
        half appended."""
        for key, at, body in entries:
            self.keys.append(key)
            self.times.append(at)
            self.bodies.append(body)
        excess = len(self.keys) - WINDOW_EVENTS
        if excess > 0:
            self.start = self.keys[excess - 1]
            del self.keys[:excess], self.times[:excess], self.bodies[:excess]

    def cut(self, position: FeedPosition, cursor: str, limit: int) -> FeedPage:
        first = bisect.bisect_right(self.keys, (position.xid, position.event_id))
        last = min(first + limit, len(self.keys))
        if last > first:
            xid, event_id = self.keys[last - 1]
            next_cursor = cursors.encode(FeedPosition(xid, event_id, self.times[last - 1]))
        else:
            next_cursor = cursor
        return FeedPage(
            events=self.bodies[first:last],
            next_cursor=next_cursor,
            has_more=len(self.keys) > last,
            pending=self.pending and last == first,
        )


def _entry(row: Any, organization_id: int) -> Entry:
    return (
        (row.xid, row.id),
        int(row.created_at.timestamp()),
        pydantic_core.to_json(event_dict(row, organization_id)),
    )


def _tail(session: Session, organization_id: int) -> tuple[Key, list[Entry]]:
    """The organisation's newest WINDOW_EVENTS servable events, and the position
    before them (the window's start): the event just older, or the very start."""
    query = (
        events_query(organization_id)
        .where(TicketEvent.xid < horizon_column(session))
        .order_by(TicketEvent.xid.desc(), TicketEvent.id.desc())
        .limit(WINDOW_EVENTS + 1)
    )
    rows = list(reversed(session.execute(query).all()))
    start: Key = (0, 0)
    if len(rows) > WINDOW_EVENTS:
        start = (rows[0].xid, rows[0].id)
        rows = rows[1:]
    return start, [_entry(row, organization_id) for row in rows]


def _after(
    session: Session, organization_id: int, cursor: str, retention: dt.timedelta
) -> tuple[list[Entry], bool]:
    """What committed after `cursor` as far as it is servable, serialised (in a
    worker thread), and whether more waits behind an open transaction."""
    entries: list[Entry] = []
    while True:
        page = read_rows(session, organization_id, cursor, limit=REFRESH_BATCH, retention=retention)
        entries += [_entry(row, organization_id) for row in page.rows]
        if not page.has_more:
            return entries, page.pending
        cursor = page.next_cursor


class FeedWindows:
    """The windows of one process (one event loop), by organisation."""

    def __init__(self) -> None:
        self._windows: dict[int, _Window] = {}
        self._refreshing: dict[int, asyncio.Future[None]] = {}

    def __len__(self) -> int:
        return len(self._windows)

    async def page(
        self,
        session: Session,
        organization_id: int,
        cursor: str,
        limit: int,
        seen: int,
        retention: dt.timedelta,
    ) -> FeedPage | None:
        """The page after `cursor` cut from the window, current as of hub version
        `seen`; None when the cursor is before the window (read the database)."""
        position = cursors.decode(cursor)
        if position.time < utcnow() - retention:
            return None  # the database decides whether it has expired (410)
        while True:
            window = self._windows.get(organization_id)
            if window is not None and window.version >= seen and not window.pending:
                break
            running = self._refreshing.get(organization_id)
            if running is not None:
                await asyncio.shield(running)
                window = self._windows.get(organization_id)
                if window is not None and window.version >= seen:
                    break  # pending or not, as fresh as one query makes it
                continue
            await self._refresh(session, organization_id, seen, retention)
            window = self._windows.get(organization_id)
            break
        if window is None or (position.xid, position.event_id) < window.start:
            return None
        window.used_at = time.monotonic()
        return window.cut(position, cursor, limit)

    async def _refresh(
        self, session: Session, organization_id: int, seen: int, retention: dt.timedelta
    ) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._refreshing[organization_id] = future
        try:
            window = self._windows.get(organization_id)
            if window is None:
                self._drop_idle()
                start, entries = await in_thread(session, _tail, session, organization_id)
                window = _Window(start=start, version=seen)
                window.append(entries)
            else:
                entries, window.pending = await in_thread(
                    session, _after, session, organization_id, window.end_cursor(), retention
                )
                window.append(entries)
                window.version = seen
            self._windows[organization_id] = window
        except FeedCursorExpired:
            self._windows.pop(organization_id, None)  # nobody polled for the whole retention
        finally:
            future.set_result(None)
            del self._refreshing[organization_id]

    def _drop_idle(self) -> None:
        cutoff = time.monotonic() - IDLE_SECONDS
        for organization_id in [o for o, w in self._windows.items() if w.used_at < cutoff]:
            del self._windows[organization_id]

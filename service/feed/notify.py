"""Waking long-polls when an organisation's events commit.

Each process has one `FeedHub`: long-polls wait on it for their organisation,
holding no database connection and no worker thread. It is woken

- in-process, after a session commits events (`record_event` notes the
  organisations in `session.info`; the `after_commit` hook below hands them to
  every hub of the process from whatever thread committed);
- across processes on PostgreSQL, by `PgListener`: one LISTEN connection per
  process on the `linli_feed` channel, fed by the `ticket_event_published`
  trigger's pg_notify, which PostgreSQL delivers at commit and drops on rollback.

A wake-up only means "query again": the feed itself decides what is new, so a
lost or spurious notification costs latency, never an event.

Long-polls park in groups (`wait_read`): those of one organisation that asked
the same question (service.feed.router: cursor and limit). A wake-up starts
one read per group at once, on the loop, and hands its answer to every request
of the group; 5,000 parked requests are resumed with their answer instead of
each resuming to ask for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import Awaitable, Callable, Hashable, Iterable
from typing import Any, TypeVar

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from service.db import libpq_conninfo
from service.tickets.stream import FEED_ORGANIZATIONS

log = logging.getLogger("linli.feed")

T = TypeVar("T")

CHANNEL = "linli_feed"
# SQLite has no NOTIFY: a process without the commit hook of the one that
# commits (a `worker` beside `serve`) polls this, which moves whenever an event
# commits (SQLite's single writer hands out ids in commit order).
NEWEST_EVENT_SQL = "SELECT max(id) FROM ticket_event"


class FeedHub:
    """Per-organisation wake-ups for the long-polls of one process (event loop)."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._versions: dict[int, int] = {}
        self._events: dict[int, asyncio.Event] = {}
        # Long-polls parked by `wait_read`: by organisation, then by what they
        # asked (the group), the parked requests' futures.
        self._groups: dict[int, dict[Hashable, _Group]] = {}
        self._reads: set[asyncio.Task[None]] = set()
        # Shutting down: long-polls answer what they have at once.
        self.closing = False
        # Called (on the loop) at every wake-up, whichever organisation: the job
        # runner's, so that a webhook delivery starts when its event commits.
        self._listeners: list[Callable[[], None]] = []
        _HUBS.add(self)

    def on_notify(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        if loop is not self._loop:
            self.closing = False  # closing was the previous loop's (tests serve apps again)
        self._loop = loop

    @property
    def waiting(self) -> int:
        """Organisations with long-polls waiting."""
        return len(self._events.keys() | self._groups.keys())

    def version(self, organization_id: int) -> int:
        """Take before querying; `wait` returns at once if a wake-up came since."""
        return self._versions.get(organization_id, 0)

    async def wait(self, organization_id: int, seen: int, timeout: float) -> bool:
        """Until a wake-up for the organisation after `seen`, or the timeout."""
        if self._versions.get(organization_id, 0) != seen or self.closing:
            return True
        waker = self._events.get(organization_id)
        if waker is None:
            waker = self._events[organization_id] = asyncio.Event()
        try:
            # Not wait_for: that wraps each of thousands of waits in a task of its own.
            async with asyncio.timeout(timeout):
                await waker.wait()
            return True
        except TimeoutError:
            return False

    async def wait_read(
        self,
        organization_id: int,
        group: Hashable,
        seen: int,
        timeout: float,
        read: Callable[[int], Awaitable[T]],
        pending: Callable[[T], bool] = lambda _result: False,
        retry: tuple[float, float] = (0.02, 1.0),
    ) -> tuple[int, T] | None:
        """Park until the organisation's next wake-up after `seen`, then get
        what `read(version)` returned for the whole group: one read per group
        per wake-up, started as the wake-up comes, before any of its requests
        is resumed; `read` is the first parked request's and must give every
        request of the group the same answer. While `pending(result)` (nothing
        servable yet: an older transaction still open) the group stays parked
        and is read again, after `retry[0]` seconds doubling up to `retry[1]`.
        None: the timeout, a wake-up since `seen`, shutdown, or the read failed
        (read again yourself)."""
        if self._versions.get(organization_id, 0) != seen or self.closing:
            return None
        groups = self._groups.setdefault(organization_id, {})
        parked = groups.get(group)
        if parked is None:
            parked = groups[group] = _Group(read, pending, retry)
        waiter: asyncio.Future[tuple[int, Any] | None] = asyncio.get_running_loop().create_future()
        parked.waiters.add(waiter)
        try:
            async with asyncio.timeout(timeout):
                return await waiter
        except TimeoutError:
            return None
        finally:
            if waiter.cancelled() or not waiter.done():  # timed out or cancelled: leave
                parked.waiters.discard(waiter)
                if not parked.waiters and groups.get(group) is parked:
                    del groups[group]
                    if not groups and self._groups.get(organization_id) is groups:
                        del self._groups[organization_id]

    def notify(self, organization_ids: Iterable[int]) -> None:
        """Wake the organisations' waiters (call on the hub's event loop)."""
        for organization_id in organization_ids:
            version = self._versions[organization_id] = self._versions.get(organization_id, 0) + 1
            waker = self._events.pop(organization_id, None)
            if waker is not None:
                waker.set()
            groups = self._groups.pop(organization_id, None)
            for parked in (groups or {}).values():
                if self.closing:
                    parked.answer(None)  # they answer what they have
                    continue
                task = asyncio.get_running_loop().create_task(
                    parked.run(self, organization_id, version)
                )
                self._reads.add(task)
                task.add_done_callback(self._reads.discard)
        for listener in self._listeners:
            listener()

    def close(self) -> None:
        """The process is stopping: every long-poll answers now (an empty page
        with its cursor), so that the server stops within its timeout."""
        self.closing = True
        self.notify_all()

    def notify_all(self) -> None:
        """After a lost LISTEN connection: everyone queries again."""
        self.notify(self._events.keys() | self._versions.keys() | self._groups.keys())

    def notify_threadsafe(self, organization_ids: Iterable[int]) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        # RuntimeError: the loop closed in between, so nobody is waiting any more.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(self.notify, tuple(organization_ids))


class _Group:
    """Long-polls parked on the same question, and how to answer it."""

    __slots__ = ("pending", "read", "retry", "waiters")

    def __init__(
        self,
        read: Callable[[int], Awaitable[Any]],
        pending: Callable[[Any], bool],
        retry: tuple[float, float],
    ) -> None:
        self.read = read
        self.pending = pending
        self.retry = retry
        self.waiters: set[asyncio.Future[tuple[int, Any] | None]] = set()

    async def run(self, hub: FeedHub, organization_id: int, version: int) -> None:
        delay = self.retry[0]
        try:
            result = await self.read(version)
            while self.pending(result) and self.waiters and not hub.closing:
                # Parked still: one read for all of them each time, no wake-up each.
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.retry[1])
                version = hub.version(organization_id)
                result = await self.read(version)
        except asyncio.CancelledError:
            self.answer(None)
            raise
        except Exception:
            # Each request reads again on its own and answers its own error.
            log.warning("feed: a woken group's read failed", exc_info=True)
            self.answer(None)
        else:
            self.answer((version, result))

    def answer(self, result: tuple[int, Any] | None) -> None:
        for waiter in self.waiters:
            if not waiter.done():
                waiter.set_result(result)


_HUBS: weakref.WeakSet[FeedHub] = weakref.WeakSet()
_installed = False


def _after_commit(session: Session) -> None:
    organizations = session.info.pop(FEED_ORGANIZATIONS, None)
    if organizations:
        for hub in list(_HUBS):
            hub.notify_threadsafe(organizations)


def _after_rollback(session: Session) -> None:
    session.info.pop(FEED_ORGANIZATIONS, None)


def announce(session: Session, organization_id: int) -> None:
    """After this transaction commits, wake what waits on the organisation (its
    long-polls, and through the hubs' listeners the job runner) without an event:
    in this process by the commit hook, elsewhere by a NOTIFY (sent at commit)."""
    session.info.setdefault(FEED_ORGANIZATIONS, set()).add(organization_id)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_notify(CHANNEL, str(organization_id))))


def install_commit_hook() -> None:
    """Wake this process's hubs after commits that wrote events (idempotent)."""
    global _installed
    if not _installed:
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_soft_rollback", lambda s, _t: _after_rollback(s))
        _installed = True


# Seen in pg_stat_activity: one per process, outside any pooler's count.
APPLICATION_NAME = "linli-feed-listen"


class PgListener:
    """One LISTEN connection per process, fanning notifications out to the hub.

    `database_url` must reach PostgreSQL itself (service.db.direct_url): LISTEN
    belongs to the server session, and a PgBouncer in transaction mode hands that
    session to other clients after each statement, so notifications would go to
    whichever client holds it then, or nowhere. The NOTIFYs themselves are sent
    by the writers' transactions, through the pooler or not."""

    def __init__(self, database_url: Any, hub: FeedHub) -> None:
        self.conninfo = libpq_conninfo(database_url)
        self.hub = hub
        self.connected = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="linli-feed-listen")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    async def _run(self) -> None:
        import psycopg

        backoff = 0.2
        while True:
            try:
                connection = await psycopg.AsyncConnection.connect(
                    self.conninfo, autocommit=True, application_name=APPLICATION_NAME
                )
                async with connection:
                    await connection.execute(f"LISTEN {CHANNEL}")
                    self.connected.set()
                    # Anything committed while we were not listening: query again.
                    self.hub.notify_all()
                    backoff = 0.2
                    async for notification in connection.notifies():
                        try:
                            organization_id = int(notification.payload)
                        except ValueError:
                            continue
                        self.hub.notify((organization_id,))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database restarted, the network blinked
                self.connected.clear()
                log.warning("feed LISTEN connection lost (%s); retrying in %.1fs", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)

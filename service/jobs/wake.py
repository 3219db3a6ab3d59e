"""Waking the runner early: work was committed that a job should take now.

The runner sleeps until its next due turn. Whoever knows that work was just
committed calls `Wakeup.wake` (on the runner's event loop) or `wake_threadsafe`;
the composition root connects the sources: the feed's hub, which hears this
process's commits of events and, on PostgreSQL, every instance's NOTIFY. A
wake-up remembers when it came (`at`): a turn of the job that began after it
has seen the work, so the instances that hear the same NOTIFY need not each
run it (service.jobs.runner).

SQLite has no NOTIFY. `SqliteWatermark` lets a process that does not commit
the events itself (`python -m service worker` beside `serve`) notice other
processes' commits: a cheap read once a second (the newest event's id) that
changes when one commits.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import sqlite3

from sqlalchemy.engine import Engine

from service.db import utcnow


class Wakeup:
    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._event: asyncio.Event | None = None
        # When the latest wake-up not yet served came; None: none pending.
        self.at: dt.datetime | None = None
        # Bumped by every wake-up: a sleep returns at once if it moved since
        # the caller looked (a wake-up during the turn).
        self.generation = 0

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._event = asyncio.Event()

    def wake(self) -> None:
        """On the runner's event loop."""
        self.at = utcnow()
        self.generation += 1
        if self._event is not None:
            self._event.set()

    def poke(self) -> None:
        """On the runner's event loop: look at the schedule again (a turn ended and
        set its next one), without waking the `on_wake` jobs."""
        self.generation += 1
        if self._event is not None:
            self._event.set()

    def wake_threadsafe(self) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed in between
                loop.call_soon_threadsafe(self.wake)

    def served(self, at: dt.datetime | None) -> None:
        """A turn that began after the wake-up of `at` ran; a later one stays pending."""
        if at is not None and self.at == at:
            self.at = None

    async def sleep(self, stop: asyncio.Event, seconds: float, generation: int) -> bool:
        """Until `seconds` pass, `stop` is set or a wake-up after `generation`;
        whether woken."""
        if self.generation != generation:
            return True
        if self._event is None:
            self.bind(asyncio.get_running_loop())
        assert self._event is not None
        self._event.clear()
        waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._event.wait())]
        try:
            await asyncio.wait(
                waits, timeout=max(seconds, 0.0), return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for waiting in waits:
                waiting.cancel()
            await asyncio.gather(*waits, return_exceptions=True)
        return self.generation != generation


class SqliteWatermark:
    """Whether another process committed work, on SQLite: a scalar read (say, the
    newest event's id) on a connection of its own, compared with the last one.

    Not `PRAGMA data_version`, which moves on every commit of every connection,
    the runner's own claims included: a woken turn would wake the next one."""

    def __init__(self, engine: Engine, sql: str) -> None:
        database = engine.url.database
        if not database or database == ":memory:":
            raise ValueError("SQLite commits are watched on a database file")
        # timeout=0: never wait for a writer, just look again later.
        self._connection = sqlite3.connect(database, timeout=0, check_same_thread=False)
        self._sql = sql
        self._seen = self._read()

    def _read(self) -> object:
        try:
            return self._connection.execute(self._sql).fetchone()
        except sqlite3.Error:
            return None

    def changed(self) -> bool:
        value = self._read()
        if value is None or value == self._seen:
            return False
        self._seen = value
        return True

    def close(self) -> None:
        self._connection.close()

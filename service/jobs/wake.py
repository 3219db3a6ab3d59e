"""Waking the runner early: work was committed that a job should take now.

The runner sleeps until its next due turn. Whoever knows that work was just
committed calls `Wakeup.wake` (on the runner's event loop) or `wake_threadsafe`;
the composition root connects the sources: the feed's hub, which hears this
process's commits of events and, on PostgreSQL, every instance's NOTIFY. A
wake-up remembers when it came (`at`): a turn of the job that began after it
has seen the work, so the instances that hear the same NOTIFY need not each
run it (service.jobs.runner).

SQLite has no NOTIFY. `SqliteCommits` lets a process that does not commit the
events itself (`python -m service worker` beside `serve`) notice other
processes' commits: `PRAGMA data_version` on a connection of its own changes
whenever any other connection commits.
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


class SqliteCommits:
    """Whether anyone committed to an SQLite database since `rebase`."""

    def __init__(self, engine: Engine) -> None:
        database = engine.url.database
        if not database or database == ":memory:":
            raise ValueError("SQLite commits are watched on a database file")
        # timeout=0: never wait for a writer, just look again later.
        self._connection = sqlite3.connect(database, timeout=0, check_same_thread=False)
        self._seen = self._version()

    def _version(self) -> int | None:
        try:
            return int(self._connection.execute("PRAGMA data_version").fetchone()[0])
        except sqlite3.Error:
            return None

    def rebase(self) -> None:
        """Forget commits so far (the runner's own turn just made some)."""
        self._seen = self._version()

    def changed(self) -> bool:
        version = self._version()
        if version is None or version == self._seen:
            return False
        self._seen = version
        return True

    def close(self) -> None:
        self._connection.close()

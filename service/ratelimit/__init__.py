"""A per-principal rate limiter shared by every instance: fixed windows counted
in the database, so that a resident's hourly quota of new tickets is one quota
however many instances serve them, with no new server to run.

Each hit is one UPSERT on (key, window end) that answers the window's count
(`INSERT ... ON CONFLICT DO UPDATE SET count = count + 1 RETURNING count`, on
SQLite and PostgreSQL alike). Concurrent hits on one key queue on its row
until the first commits, so the count never passes the limit unseen; a
request refused by it rolls back and its hit with it, so refusals do not use
up the quota. Windows are aligned on the epoch (a fixed window: a caller may
spend one window's quota at its end and the next at its start); the job in
`ratelimit.jobs` deletes ended windows.

`hit` is for a hot path inside db.pipelined: the UPSERT travels with the
request's other writes, and the check runs once they came back. `limit` is the
plain form (uploads, any other write): count, and refuse at once.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable

from sqlalchemy.orm import Session

from service.db import driver_execute, utcnow
from service.errors import TooManyRequests

_UPSERT = {
    "postgresql": (
        "INSERT INTO rate_limit_window (key, window_end, count) VALUES (%(key)s, %(end)s, 1) "
        "ON CONFLICT (key, window_end) DO UPDATE SET count = rate_limit_window.count + 1 "
        "RETURNING count"
    ),
    "sqlite": (
        "INSERT INTO rate_limit_window (key, window_end, count) VALUES (:key, :end, 1) "
        "ON CONFLICT (key, window_end) DO UPDATE SET count = rate_limit_window.count + 1 "
        "RETURNING count"
    ),
}
MAX_KEY_LENGTH = 96


def window_end(now: dt.datetime, window: dt.timedelta) -> dt.datetime:
    """The end of the fixed window holding `now` (windows are aligned on the epoch)."""
    seconds = window.total_seconds()
    if seconds <= 0:
        raise ValueError("a window lasts some time")
    return dt.datetime.fromtimestamp((math.floor(now.timestamp() / seconds) + 1) * seconds, dt.UTC)


def _passes() -> None:
    return None


def hit(
    session: Session, key: str, per: int, window: dt.timedelta, *, code: str = "ratelimit.requests"
) -> Callable[[], None]:
    """Count one hit of `key` in the current window, in the session's transaction.
    Returns the check: it raises TooManyRequests (429, Retry-After the seconds
    until the window ends) when this hit was over `per`. Inside db.pipelined,
    call it after the block. `per` 0 or less: no limit, nothing counted."""
    if per <= 0:
        return _passes
    if len(key) > MAX_KEY_LENGTH:
        raise ValueError(f"rate-limit key over {MAX_KEY_LENGTH} characters: {key!r}")
    end = window_end(utcnow(), window)
    cursor = driver_execute(session, _UPSERT, {"key": key, "end": end})
    if session.get_bind().dialect.name == "sqlite":
        # Read at once: a RETURNING statement left unread stays open in SQLite.
        count = cursor.fetchone()[0]
        return lambda: _check(count, per, window, end, code)
    return lambda: _check(cursor.fetchone()[0], per, window, end, code)


def _check(count: int, per: int, window: dt.timedelta, end: dt.datetime, code: str) -> None:
    if count <= per:
        return
    retry_after = max(1, math.ceil((end - utcnow()).total_seconds()))
    minutes = max(1, int(window.total_seconds() // 60))
    raise TooManyRequests(
        code, retry_after=retry_after, limit=per, minutes=minutes, seconds=retry_after
    )


def limit(
    session: Session, key: str, per: int, window: dt.timedelta, *, code: str = "ratelimit.requests"
) -> None:
    """Count one hit of `key` and refuse it (429) if it is over `per` in `window`.
    The refusal is raised here: roll the transaction back (the route does), and
    the hit is not counted."""
    hit(session, key, per, window, code=code)()

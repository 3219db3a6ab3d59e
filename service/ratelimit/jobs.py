"""Ended rate-limit windows are deleted in the background: their counts no longer matter."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete

from service.jobs import JobContext, job
from service.ratelimit.models import RateLimitWindow


@job("ratelimit.purge", every=dt.timedelta(minutes=10))
def purge(context: JobContext) -> int:
    with context.session() as session:
        result = session.execute(
            delete(RateLimitWindow).where(RateLimitWindow.window_end <= context.now)
        )
        session.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]

"""Periodic ticket work: closing resolved tickets nobody confirmed."""

from __future__ import annotations

import datetime as dt

from service.errors import Conflict
from service.jobs import JobContext, job
from service.tickets.actions import auto_close_resolved


@job("tickets.auto_close", every=dt.timedelta(minutes=10))
def auto_close(context: JobContext) -> int:
    older_than = dt.timedelta(days=context.settings.auto_close_days)
    total = 0
    while True:
        with context.session() as session:
            try:
                closed = auto_close_resolved(session, older_than=older_than, now=context.now)
                session.commit()
            except Conflict:
                # A resident confirmed one of the batch meanwhile: the next turn retries.
                session.rollback()
                return total
        total += closed
        if closed == 0 or not context.more_time():
            return total

"""The follow-up reminder job."""

from __future__ import annotations

import datetime as dt

from service.followups.service import remind_overdue
from service.jobs import JobContext, job


@job("followups.remind", every=dt.timedelta(minutes=10))
def remind(context: JobContext) -> int:
    total = 0
    while True:
        with context.session() as session:
            made = remind_overdue(session, now=context.now, days=context.settings.follow_up_days)
            session.commit()
        total += made
        if made == 0 or not context.more_time():
            return total

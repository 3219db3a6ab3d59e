"""Expired Idempotency-Keys are deleted in the background, not only when a key returns."""

from __future__ import annotations

import datetime as dt

from service.idempotency.service import purge_expired
from service.jobs import JobContext, job


@job("idempotency.purge", every=dt.timedelta(hours=1))
def purge(context: JobContext) -> int:
    with context.session() as session:
        purged = purge_expired(session, now=context.now)
        session.commit()
    return purged

"""The partition job: next months' partitions ahead, old months dropped."""

from __future__ import annotations

import datetime as dt
import logging

from service.jobs import JobContext, job
from service.partitions import months, retention

log = logging.getLogger("linli.partitions")


@job("partitions.months", every=dt.timedelta(hours=6))
def monthly(context: JobContext) -> int:
    """Partitions made ahead (PostgreSQL) plus partitions dropped or rows deleted."""
    with context.engine.connect() as connection:
        made = []
        if connection.dialect.name == "postgresql":
            made = months.make_ahead(connection, context.now)
        dropped = retention.drop_old(connection, context.settings, context.now)
    if made or dropped:
        log.info("partitions made %s, dropped or deleted %d", made, dropped)
    return len(made) + dropped

"""Uploads that no ticket, comment or resolution claimed in time are deleted."""

from __future__ import annotations

import contextlib
import datetime as dt

from service.attachments.service import THUMBNAIL_SUFFIX, expire_unlinked
from service.attachments.storage import storage_for
from service.jobs import JobContext, job


@job("attachments.expire", every=dt.timedelta(minutes=30))
def expire(context: JobContext) -> int:
    ttl = dt.timedelta(hours=context.settings.attachment_unlinked_ttl_hours)
    storage = storage_for(context.settings)
    total = 0
    while True:
        with context.session() as session:
            keys = expire_unlinked(session, before=context.now - ttl)
            session.commit()
        # After the commit: a crash here leaves objects no row names, never the reverse.
        for key in keys:
            for name in (key, key + THUMBNAIL_SUFFIX):
                with contextlib.suppress(Exception):
                    storage.delete(name)
        total += len(keys)
        if not keys or not context.more_time():
            return total

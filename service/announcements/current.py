"""What a community is being told now: its current announcements, for the answer
to a ticket filed there (a resident who reports no water during a planned
outage sees the outage first).

Filing is the hot write path, and almost always there is nothing to show: the
filing context's one SELECT carries `announced` (an EXISTS on one range of
announcement_community's index, no round trip of its own), and only when it is
true does a second query read the announcements. Read in the request's
transaction, never cached: every instance sees a new or withdrawn announcement
at once.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from sqlalchemy import bindparam, exists, select
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from service.announcements.models import Announcement, AnnouncementCommunity
from service.db import DriverQuery, driver_all, driver_query


def announced(community_id: Any, now: Any) -> Any:
    """SQL: whether the community (a column or a value) has an announcement
    shown at `now` (a bind parameter or a value)."""
    return exists().where(
        AnnouncementCommunity.community_id == community_id,
        AnnouncementCommunity.shown_until > now,
        AnnouncementCommunity.shown_from <= now,
    )


@functools.lru_cache(maxsize=8)
def _current_query(dialect: Dialect) -> DriverQuery:
    """Compiled once for the driver (db.driver_query): through the ORM session it
    cost ~0.4 ms, a tenth of a creation, and during an outage every creation in
    the community asks it (bench/announcements.py)."""
    now: Any = bindparam("now")
    statement = (
        select(
            Announcement.id,
            Announcement.kind,
            Announcement.title,
            Announcement.starts_at,
            Announcement.ends_at,
        )
        .join(AnnouncementCommunity, AnnouncementCommunity.announcement_id == Announcement.id)
        .where(
            AnnouncementCommunity.community_id == bindparam("community_id"),
            AnnouncementCommunity.shown_until > now,
            AnnouncementCommunity.shown_from <= now,
        )
        .order_by(Announcement.ends_at, Announcement.id)
    )
    return driver_query(dialect, statement, ("community_id", "now"))


def current_in(session: Session, community_id: int, now: dt.datetime) -> list[dict[str, Any]]:
    """The announcements shown in the community at `now`, soonest to end first,
    as the ticket's answer lists them (AnnouncementBrief: id, kind, title,
    starts_at, ends_at)."""
    query = _current_query(session.get_bind().dialect)
    rows = driver_all(session, query, {"community_id": community_id, "now": now})
    return [dict(zip(query.names, row, strict=True)) for row in rows]

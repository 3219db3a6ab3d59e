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
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from service.announcements.models import Announcement, AnnouncementCommunity


def announced(community_id: Any, now: Any) -> Any:
    """SQL: whether the community (a column or a value) has an announcement
    shown at `now` (a bind parameter or a value)."""
    return exists().where(
        AnnouncementCommunity.community_id == community_id,
        AnnouncementCommunity.shown_until > now,
        AnnouncementCommunity.shown_from <= now,
    )


def current_in(session: Session, community_id: int, now: dt.datetime) -> list[dict[str, Any]]:
    """The announcements shown in the community at `now`, soonest to end first,
    as the ticket's answer lists them (AnnouncementBrief)."""
    rows = session.execute(
        select(
            Announcement.id,
            Announcement.kind,
            Announcement.title,
            Announcement.starts_at,
            Announcement.ends_at,
        )
        .join(AnnouncementCommunity, AnnouncementCommunity.announcement_id == Announcement.id)
        .where(
            AnnouncementCommunity.community_id == community_id,
            AnnouncementCommunity.shown_until > now,
            AnnouncementCommunity.shown_from <= now,
        )
        .order_by(Announcement.ends_at, Announcement.id)
    )
    return [
        {
            "id": row.id,
            "kind": row.kind,
            "title": row.title,
            "starts_at": row.starts_at,
            "ends_at": row.ends_at,
        }
        for row in rows
    ]

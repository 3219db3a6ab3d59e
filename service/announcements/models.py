"""Announcements (停水停电通知) to the residents of some communities, and which
communities each one is shown in, until when."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, UTCDateTime, utcnow
from service.enums import AnnouncementKind, str_enum

TITLE_LENGTH = 100
BODY_LENGTH = 2000


class Announcement(Base):
    """What an admin or a community's property company tells its residents."""

    __tablename__ = "announcement"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[AnnouncementKind] = mapped_column(str_enum(AnnouncementKind, 16))
    title: Mapped[str] = mapped_column(String(TITLE_LENGTH))
    body: Mapped[str] = mapped_column(String(BODY_LENGTH))
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    # Who speaks: the property company that posted it; NULL: the housing department.
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organization.id"), index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Taken back: residents see it no more, and its messages not yet sent are dropped.
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    withdrawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))


class AnnouncementCommunity(Base):
    """An announcement in one of its communities, shown there from `shown_from`
    until `shown_until` (its end, or the moment it was withdrawn).

    The times are the announcement's, copied here so that "what is current in
    this community" is one range scan of the index below, however many past
    announcements the community has had: filing a ticket asks it every time
    (service/announcements/current.py)."""

    __tablename__ = "announcement_community"
    __table_args__ = (
        Index("ix_announcement_community_community_id_shown_until", "community_id", "shown_until"),
    )

    announcement_id: Mapped[int] = mapped_column(ForeignKey("announcement.id"), primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"), primary_key=True)
    shown_from: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    shown_until: Mapped[dt.datetime] = mapped_column(UTCDateTime())

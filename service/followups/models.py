"""Reminders that a resolved ticket's follow-up visit (回访) is overdue, one per resolution."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, BigId, UTCDateTime, utcnow


class FollowUpReminder(Base):
    __tablename__ = "follow_up_reminder"
    __table_args__ = (UniqueConstraint("ticket_id", "cycle"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"))
    # The ticket's reopen_count: a reopened and again resolved ticket is due again.
    cycle: Mapped[int] = mapped_column(Integer)
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organization.id"), index=True)
    region_path: Mapped[str] = mapped_column(String(255))
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    reminded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

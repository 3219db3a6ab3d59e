"""The inbox, the notification outbox and its log, preferences, and the WeChat
access token shared by every instance."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, foreign, mapped_column, relationship

# The table an announcement's notifications point at (service/announcements).
from service.announcements import models as _announcements  # noqa: F401
from service.db import Base, BigId, UTCDateTime, utcnow
from service.outbox.models import AttemptColumns, OutboxColumns
from service.tickets.models import TicketEvent


class Notification(Base):
    """One thing someone is told about a ticket (an event of it), or an
    announcement to their community: an inbox item (when the person has an
    account) and the messages sent for it (NotificationDelivery)."""

    __tablename__ = "notification"
    __table_args__ = (
        Index("ix_notification_user_id_id", "user_id", "id"),
        # About a ticket's event or about an announcement: one of them, always.
        CheckConstraint(
            "(ticket_id IS NULL) <> (announcement_id IS NULL)", name="ticket_or_announcement"
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # Whose inbox; NULL: someone filed for who has no account (told by SMS only).
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id"), index=True)
    # No foreign key: ticket_event is partitioned on PostgreSQL (service/partitions).
    event_id: Mapped[int | None] = mapped_column(BigId)
    # Written with its event, in one flush (the event has no id yet).
    event: Mapped[TicketEvent | None] = relationship(
        primaryjoin=lambda: foreign(Notification.event_id) == TicketEvent.id
    )
    # Written for every resident of its communities at once (service/notifications/
    # announced.py); the index finds them again when it is withdrawn.
    announcement_id: Mapped[int | None] = mapped_column(ForeignKey("announcement.id"), index=True)
    # The event's type ("ticket.resolved", ...), or "announcement.<kind>": which
    # text the catalogue has for it.
    type: Mapped[str] = mapped_column(String(40))
    # What the texts say besides the ticket's number and category, or besides the
    # announcement's own words: the local times it runs (compose.py).
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class NotificationDelivery(OutboxColumns, Base):
    """A message to send for a notification on one channel: the outbox."""

    __tablename__ = "notification_delivery"
    __table_args__ = (
        # With the partition key: a message is written with its notification's instant.
        UniqueConstraint("notification_id", "channel", "created_at"),
        Index("ix_notification_delivery_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("notification.id"))
    notification: Mapped[Notification] = relationship()
    channel: Mapped[str] = mapped_column(String(16))  # wechat | sms
    # The WeChat openid or the phone number: used to send, never served.
    address: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8))  # what the message is written in


class NotificationAttempt(AttemptColumns, Base):
    """One attempt to send a notification message: the delivery log."""

    __tablename__ = "notification_attempt"
    __table_args__ = (Index("ix_notification_attempt_delivery_id_id", "delivery_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # No foreign key: notification_delivery is partitioned (service/partitions).
    delivery_id: Mapped[int] = mapped_column(BigId)


class NotificationPreference(Base):
    """What a person wants sent beyond the inbox (the inbox always has everything)."""

    __tablename__ = "notification_preference"

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), primary_key=True)
    # The messages' language; NULL: the language the ticket was filed in.
    language: Mapped[str | None] = mapped_column(String(8))
    wechat: Mapped[bool] = mapped_column(Boolean, default=True)
    sms: Mapped[bool] = mapped_column(Boolean, default=False)
    # Event types not to send by WeChat or SMS.
    muted: Mapped[list[str]] = mapped_column(JSON, default=list)
    # WeChat answered 43101 (the person has no subscription left, or refused):
    # nothing more is sent there until they turn WeChat on again.
    wechat_refused_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class WechatToken(Base):
    """The mini program's access token, one for every instance: WeChat's
    /cgi-bin/token makes the previous token stale minutes after it hands out a
    new one, so instances that each fetched their own would spoil each other's."""

    __tablename__ = "wechat_token"

    app_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    access_token: Mapped[str] = mapped_column(String(512))
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    refreshed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

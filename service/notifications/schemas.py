"""Bodies of /v1/me/notifications and /v1/me/notification-preferences."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field

from service.notifications.compose import ALERTED, ANNOUNCED, NOTIFIED
from service.validation import ReadModel, StrictModel

# What a person may choose not to be sent: what they are told of, alerts and
# announcements.
MUTABLE: tuple[str, ...] = NOTIFIED + ALERTED + ANNOUNCED
NotifiedType = Literal[MUTABLE]  # type: ignore[valid-type]
Language = Literal["zh-Hans", "ug", "en"]


class ChannelState(ReadModel):
    channel: Literal["wechat", "sms"]
    # pending: not sent yet (or being retried); delivered; dead: given up.
    status: Literal["pending", "delivered", "dead"]


class NotificationRead(ReadModel):
    id: int
    # The event type ("ticket.resolved", ...), or "announcement.<kind>".
    type: str
    ticket_id: int | None = Field(description="The ticket it is about; null: an announcement.")
    ticket_number: str | None
    announcement_id: int | None = Field(
        description="The announcement it is (GET /v1/announcements/{id}); null: a ticket's."
    )
    title: str
    body: str
    created_at: dt.datetime
    read_at: dt.datetime | None
    # Where it was also sent beyond the inbox (never to what address).
    channels: list[ChannelState]


class NotificationPage(ReadModel):
    items: list[NotificationRead]
    next_cursor: str | None
    # The caller's unread notifications, counted up to 100 (a badge shows "99+").
    unread_count: int


class PreferencesWrite(StrictModel):
    """The whole of a person's preferences (PUT): what is left out takes its default."""

    # The messages' language; null: the language each ticket was filed in.
    language: Language | None = None
    wechat: bool = True
    sms: bool = False
    # Notification types not to send by WeChat or SMS (the inbox keeps them all).
    muted: list[NotifiedType] = Field(default_factory=list, max_length=len(MUTABLE))


class PreferencesRead(ReadModel):
    language: Language | None
    wechat: bool
    sms: bool
    muted: list[str]
    # WeChat said the person refused (or used up) their subscription: nothing is
    # sent there until they set `wechat` again after subscribing in the mini program.
    wechat_refused: bool
    # Which channels this deployment has and this person can be reached on.
    wechat_available: bool
    sms_available: bool

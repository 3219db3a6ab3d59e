"""Announcements told to the people of their communities, in the transaction
that posts them (service/announcements calls `told` through `on_change`).

Everyone with an account in the announcement's communities — residents and
grid workers, not deactivated — gets a notification in their inbox, of type
`announcement.<kind>`, and a WeChat or SMS message by the rules of compose.py:
WeChat to those whose token carried an openid unless they turned it off, were
refused, or muted the type (and only with the type's template configured); SMS
to the phone their token carried when they turned `sms` on and did not mute
the type (and only with a gateway configured). A community's people may be
thousands: each of these is one INSERT ... SELECT, not a row at a time.

The texts quote the announcement's own title and body, read when the inbox is
read or the message sent (never copied into each notification); the local
times it runs are made here, in the zone of each community's region. A
withdrawn announcement's messages not yet sent are dropped (dead, "withdrawn"),
and its inbox items then say that it was withdrawn.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    JSON,
    ColumnElement,
    and_,
    cast,
    exists,
    func,
    insert,
    literal,
    not_,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from service.announcements.models import Announcement
from service.announcements.service import Change, on_change
from service.config import Settings
from service.db import SETTINGS_INFO, UTCDateTime
from service.directory.models import Community
from service.enums import AnnouncementKind, Role
from service.i18n import DEFAULT
from service.notifications.compose import (
    SMS,
    WECHAT,
    local_time,
    sms_configured,
    wechat_configured,
    wechat_template,
)
from service.notifications.models import (
    Notification,
    NotificationDelivery,
    NotificationPreference,
)
from service.outbox.models import DeliveryStatus
from service.sla.policy import load_config
from service.users.models import User

DEFAULT_ZONE = "Asia/Shanghai"
# Who of a community hears its announcements.
AUDIENCE = (Role.resident, Role.grid_worker)
WITHDRAWN = "withdrawn"


def _zones(
    session: Session, community_ids: list[int], settings: Settings | None
) -> dict[str, list[int]]:
    """zone -> the communities whose region keeps that local time."""
    config = load_config(session, settings.timezone if settings else DEFAULT_ZONE)
    rows = session.execute(
        select(Community.id, Community.region_path).where(Community.id.in_(community_ids))
    )
    zones: dict[str, list[int]] = defaultdict(list)
    for community_id, region_path in rows:
        zones[config.zone_for(region_path)].append(community_id)
    return zones


def _muted(session: Session, type_: str) -> ColumnElement[bool]:
    """SQL: the person's preferences mute `type_` (their `muted` JSON list holds it)."""
    muted = NotificationPreference.muted
    if session.get_bind().dialect.name == "postgresql":
        return cast(muted, JSONB).has_key(type_)
    each = func.json_each(muted).table_valued("value")
    return exists(select(each.c.value).where(each.c.value == type_))


def _queue(
    session: Session,
    announcement_id: int,
    channel: str,
    address: Any,
    wanted: ColumnElement[bool],
    now: dt.datetime,
) -> None:
    """One message on `channel` to each notified person with an `address` who
    `wanted` it."""
    pref = NotificationPreference
    people = (
        select(
            Notification.id,
            literal(channel),
            address,
            func.coalesce(pref.language, DEFAULT),
            literal(DeliveryStatus.pending.value),
            literal(0),
            literal(now, UTCDateTime()),
            literal(now, UTCDateTime()),
        )
        .join(User, User.id == Notification.user_id)
        .outerjoin(pref, pref.user_id == User.id)
        .where(
            Notification.announcement_id == announcement_id,
            address.is_not(None),
            address != "",
            wanted,
        )
    )
    columns = [
        "notification_id",
        "channel",
        "address",
        "language",
        "status",
        "attempts",
        "next_attempt_at",
        "created_at",
    ]
    session.execute(insert(NotificationDelivery).from_select(columns, people))


def tell(session: Session, announcement: Announcement, community_ids: list[int]) -> None:
    """The notifications of a new announcement, and their messages."""
    settings: Settings | None = session.info.get(SETTINGS_INFO)
    type_ = f"announcement.{AnnouncementKind(announcement.kind).value}"
    now = announcement.created_at
    for zone, ids in _zones(session, community_ids, settings).items():
        local = ZoneInfo(zone)
        params = {
            "starts": local_time(announcement.starts_at, local),
            "ends": local_time(announcement.ends_at, local),
        }
        people = select(
            User.id,
            literal(announcement.id),
            literal(type_),
            literal(params, JSON()),
            literal(now, UTCDateTime()),
        ).where(User.community_id.in_(ids), User.role.in_(AUDIENCE), User.active.is_(True))
        session.execute(
            insert(Notification).from_select(
                ["user_id", "announcement_id", "type", "params", "created_at"], people
            )
        )
    pref = NotificationPreference
    muted = _muted(session, type_)
    if wechat_configured(settings) and settings is not None and wechat_template(settings, type_):
        # The defaults (no preferences saved) want WeChat.
        wants_wechat = or_(
            pref.user_id.is_(None),
            and_(pref.wechat.is_(True), pref.wechat_refused_at.is_(None), not_(muted)),
        )
        _queue(session, announcement.id, WECHAT, User.wechat_openid, wants_wechat, now)
    if sms_configured(settings):
        wants_sms = and_(pref.sms.is_(True), not_(muted))
        _queue(session, announcement.id, SMS, User.phone, wants_sms, now)


def drop_unsent(session: Session, announcement: Announcement) -> None:
    """A withdrawn announcement's messages still waiting are not sent."""
    session.execute(
        update(NotificationDelivery)
        .where(
            NotificationDelivery.status == DeliveryStatus.pending,
            NotificationDelivery.notification_id.in_(
                select(Notification.id).where(Notification.announcement_id == announcement.id)
            ),
        )
        .values(status=DeliveryStatus.dead, last_error=WITHDRAWN)
    )


def told(
    session: Session, announcement: Announcement, community_ids: list[int], change: Change
) -> None:
    """The announcements' listener (service.announcements.service.on_change)."""
    if change == "posted":
        tell(session, announcement, community_ids)
    else:
        drop_unsent(session, announcement)


on_change(told)

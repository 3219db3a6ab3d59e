"""A person's inbox and preferences: their own notifications only (a
notification is its recipient's, whoever else may see the ticket)."""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from service.announcements.models import Announcement
from service.auth import Principal
from service.care.models import Elder
from service.categories.models import Category
from service.config import Settings
from service.db import utcnow
from service.errors import NotFound
from service.notifications.compose import (
    render,
    render_announcement,
    sms_configured,
    wechat_configured,
)
from service.notifications.models import (
    Notification,
    NotificationDelivery,
    NotificationPreference,
)
from service.notifications.schemas import (
    NotificationRead,
    PreferencesRead,
    PreferencesWrite,
)
from service.tickets.models import Ticket
from service.users.models import User

# Unread notifications are counted up to this many (a badge shows "99+"): a
# person's count costs at most this many index entries, whatever their history.
UNREAD_COUNTED = 100


def _mine(principal: Principal) -> Any:
    return Notification.user_id == principal.user_id


_COLUMNS = (
    Notification.id,
    Notification.type,
    Notification.ticket_id,
    Notification.announcement_id,
    Notification.params,
    Notification.created_at,
    Notification.read_at,
    Ticket.number,
    Category.name_zh,
    Category.name_ug,
    Category.name_en,
)
_CHANNELS = (
    select(
        NotificationDelivery.notification_id,
        NotificationDelivery.channel,
        NotificationDelivery.status,
    )
    .where(NotificationDelivery.notification_id.in_(bindparam("ids", expanding=True)))
    .order_by(NotificationDelivery.id)
)
_UNREAD = select(func.count()).select_from(
    select(Notification.id)
    .where(Notification.user_id == bindparam("user_id"), Notification.read_at.is_(None))
    .limit(UNREAD_COUNTED)
    .subquery()
)


def _query() -> Any:
    # About a ticket, or an announcement (then the ticket's side is NULL: its
    # words are read by `_announcements`, only for a page that has some).
    return (
        select(*_COLUMNS)
        .outerjoin(Ticket, Ticket.id == Notification.ticket_id)
        .outerjoin(Category, Category.id == Ticket.category_id)
    )


@functools.cache
def _page_query(unread: bool, after: bool) -> Any:
    """Built once per shape (SQLAlchemy then finds its compiled form by the
    statement's cached key): building it per request was a third of a page's CPU."""
    query = _query().where(Notification.user_id == bindparam("user_id"))
    if unread:
        query = query.where(Notification.read_at.is_(None))
    if after:
        query = query.where(Notification.id < bindparam("before"))
    return query.order_by(Notification.id.desc()).limit(bindparam("limit"))


def _elders_named(session: Session, ticket_ids: list[int]) -> dict[int, str | None]:
    """ticket id -> the name of the elder it serves, for the texts of alerts to
    the elder's family (only those read it; an erased elder has none)."""
    if not ticket_ids:
        return {}
    rows = session.execute(
        select(Ticket.id, Elder.name)
        .join(Elder, Elder.id == Ticket.elder_id)
        .where(Ticket.id.in_(set(ticket_ids)))
    )
    return {ticket_id: name for ticket_id, name in rows}


def _announcements(session: Session, ids: set[int]) -> dict[int, Any]:
    """announcement id -> its kind, title, body and withdrawal, for the texts of
    the page's announcements (a query only when there are some)."""
    if not ids:
        return {}
    rows = session.execute(
        select(
            Announcement.id,
            Announcement.kind,
            Announcement.title,
            Announcement.body,
            Announcement.withdrawn_at,
        ).where(Announcement.id.in_(ids))
    )
    return {row.id: row for row in rows}


def _reads(session: Session, rows: list[Any], language: str) -> list[dict[str, Any]]:
    """NotificationRead dicts of `rows`, their texts in `language`."""
    channels: dict[int, list[dict[str, str]]] = {}
    if rows:
        ids = [r.id for r in rows]
        for notification_id, channel, status in session.execute(_CHANNELS, {"ids": ids}):
            channels.setdefault(notification_id, []).append(
                {"channel": channel, "status": str(status)}
            )
    elders = _elders_named(session, [r.ticket_id for r in rows if (r.params or {}).get("family")])
    announced = _announcements(
        session, {r.announcement_id for r in rows if r.announcement_id is not None}
    )
    items = []
    for row in rows:
        if row.announcement_id is not None:
            said = announced[row.announcement_id]
            texts = render_announcement(
                said.kind,
                said.title,
                said.body,
                row.params or {},
                language,
                withdrawn=said.withdrawn_at is not None,
            )
        else:
            names = {"zh-Hans": row.name_zh, "ug": row.name_ug, "en": row.name_en}
            texts = render(row.type, row.params or {}, names, language, elders.get(row.ticket_id))
        items.append(
            {
                "id": row.id,
                "type": row.type,
                "ticket_id": row.ticket_id,
                "ticket_number": row.number,
                "announcement_id": row.announcement_id,
                "title": texts.title,
                "body": texts.body,
                "created_at": row.created_at,
                "read_at": row.read_at,
                "channels": channels.get(row.id, []),
            }
        )
    return items


def page(
    session: Session,
    principal: Principal,
    *,
    language: str,
    unread: bool,
    before: int | None,
    limit: int,
) -> tuple[list[dict[str, Any]], int | None, int]:
    """Newest first, keyset on id (NotificationRead dicts); and how many are
    unread, up to UNREAD_COUNTED."""
    params: dict[str, Any] = {"user_id": principal.user_id, "limit": limit + 1}
    if before is not None:
        params["before"] = before
    rows = list(session.execute(_page_query(unread, before is not None), params))
    more = len(rows) > limit
    rows = rows[:limit]
    unread_count = session.scalar(_UNREAD, {"user_id": principal.user_id})
    return _reads(session, rows, language), (rows[-1].id if more else None), unread_count or 0


def mark_read(
    session: Session, principal: Principal, notification_id: int, *, language: str
) -> NotificationRead:
    """Idempotent: reading it again keeps the first read_at."""
    session.execute(
        update(Notification)
        .where(Notification.id == notification_id, _mine(principal), Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )
    row = session.execute(
        _query().where(Notification.id == notification_id, _mine(principal))
    ).first()
    if row is None:
        raise NotFound("notification.not_found", id=notification_id)
    return NotificationRead.model_validate(_reads(session, [row], language)[0])


def preferences(session: Session, principal: Principal, settings: Settings) -> PreferencesRead:
    row = session.get(NotificationPreference, principal.user_id)
    openid = session.scalar(select(User.wechat_openid).where(User.id == principal.user_id))
    return PreferencesRead(
        language=row.language if row else None,  # type: ignore[arg-type]
        wechat=row.wechat if row else True,
        sms=row.sms if row else False,
        muted=list(row.muted or []) if row else [],
        wechat_refused=bool(row and row.wechat_refused_at),
        wechat_available=wechat_configured(settings) and bool(openid),
        sms_available=sms_configured(settings),
    )


def set_preferences(
    session: Session, principal: Principal, data: PreferencesWrite, settings: Settings
) -> PreferencesRead:
    """Replace them. Setting `wechat` (again) clears WeChat's refusal: the person
    has subscribed again in the mini program."""
    values: dict[str, Any] = {
        "language": data.language,
        "wechat": data.wechat,
        "sms": data.sms,
        "muted": sorted(set(data.muted)),
        "updated_at": utcnow(),
    }
    if data.wechat:
        values["wechat_refused_at"] = None
    # One statement, so that two saves at once cannot both insert.
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(
        dialect.insert(NotificationPreference)
        .values(user_id=principal.user_id, **values)
        .on_conflict_do_update(index_elements=["user_id"], set_=values)
    )
    session.expire_all()
    return preferences(session, principal, settings)

"""Who is told what, written in the ticket's transaction.

The resident a ticket belongs to (or the person it was filed for, who may have
no account) hears when it is accepted, started, put on hold, resolved (asked to
confirm and rate), closed without their confirmation, rejected or cancelled by
someone else, and when someone on the staff side comments publicly. Nobody is
told of their own action: not the reporter, not the grid worker who filed it.

Each such event writes, beside itself: a `Notification` (the inbox item of a
person with an account) and a `NotificationDelivery` per channel that is
configured on this deployment, wanted by the person (their preferences) and
has an address (the WeChat openid their token carried; the ticket's contact
phone). `tell` writes them for one person; alerts.py tells others through it.
Texts are made when read or sent (`render`), in the reader's language for the
inbox and in the person's for a message.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.config import Settings
from service.db import SETTINGS_INFO, utcnow
from service.enums import AnnouncementKind
from service.i18n import DEFAULT, LANGUAGES, text
from service.i18n.vocabulary import LABELS
from service.notifications.models import (
    Notification,
    NotificationDelivery,
    NotificationPreference,
)
from service.outbox.models import DeliveryStatus
from service.tickets.events import on_event
from service.tickets.models import Ticket, TicketEvent
from service.users.models import User

# The events a resident hears of.
NOTIFIED: tuple[str, ...] = (
    "ticket.accepted",
    "ticket.started",
    "ticket.held",
    "ticket.resolved",
    "ticket.closed",
    "ticket.rejected",
    "ticket.cancelled",
    "ticket.commented",
)
# The events written with `alert` (alerts.py): told to staff and families.
ALERTED: tuple[str, ...] = ("ticket.escalated", "visit.missed", "visit.not_home_twice")
# Announcements to the people of a community (announced.py), one type per kind.
ANNOUNCED: tuple[str, ...] = tuple(f"announcement.{kind.value}" for kind in AnnouncementKind)
WECHAT, SMS = "wechat", "sms"
CHANNELS: tuple[str, ...] = (WECHAT, SMS)
# How much of a comment a notification quotes.
EXCERPT = 60


@dataclass(frozen=True)
class Wants:
    """A person's preferences, or the defaults for someone who set none."""

    language: str | None = None
    wechat: bool = True
    sms: bool = False
    muted: tuple[str, ...] = ()
    wechat_refused: bool = False


def wechat_configured(settings: Settings | None) -> bool:
    return bool(settings and settings.wechat_app_id and settings.wechat_app_secret)


def wechat_template(settings: Settings, type_: str) -> str | None:
    """The subscribe-message template for a notification type ("*": any other)."""
    templates = settings.wechat_templates
    return templates.get(type_) or templates.get("*")


def sms_configured(settings: Settings | None) -> bool:
    return bool(settings and settings.sms_url)


def _said(event: TicketEvent) -> str | None:
    """The words of a person that the notification quotes: a comment's opening,
    the reason for a rejection or a cancellation."""
    data = event.data or {}
    if event.type == "ticket.commented":
        body = str(data.get("body") or "").strip()
        return body[:EXCERPT] + ("…" if len(body) > EXCERPT else "") if body else None
    if event.type in ("ticket.rejected", "ticket.cancelled"):
        reason = str(data.get("reason") or "").strip()
        return reason[:EXCERPT] or None
    return None


def params_of(ticket: Ticket, event: TicketEvent) -> dict[str, Any]:
    params: dict[str, Any] = {"number": ticket.number, "category_id": ticket.category_id}
    if event.type == "ticket.held":
        params["hold_reason"] = (event.data or {}).get("reason")
    said = _said(event)
    if said:
        params["said"] = said
    return params


def wants_of(pref: NotificationPreference | None) -> Wants:
    """A person's preferences as they stand (the defaults when they set none)."""
    if pref is None:
        return Wants()
    return Wants(
        pref.language,
        pref.wechat,
        pref.sms,
        tuple(pref.muted or ()),
        pref.wechat_refused_at is not None,
    )


@dataclass(frozen=True)
class Recipient:
    """Someone to tell: an account holder (`user_id`: the inbox, and the channels
    they want), or a person without an account (a text message, or nothing)."""

    user_id: int | None
    wants: Wants
    openid: str | None = None
    phone: str | None = None


def addresses_of(recipient: Recipient, type_: str, settings: Settings | None) -> dict[str, str]:
    """channel -> address: the channels configured here, wanted by the person for
    this type, that they can be reached on."""
    wants = recipient.wants
    addresses: dict[str, str] = {}
    if type_ in wants.muted:
        return addresses
    if (
        recipient.openid
        and wants.wechat
        and not wants.wechat_refused
        and wechat_configured(settings)
        and settings is not None
        and wechat_template(settings, type_)
    ):
        addresses[WECHAT] = recipient.openid
    if recipient.phone and wants.sms and sms_configured(settings):
        addresses[SMS] = recipient.phone
    return addresses


def tell(
    session: Session,
    recipient: Recipient,
    ticket: Ticket,
    event: TicketEvent,
    params: dict[str, Any],
    settings: Settings | None,
) -> Notification | None:
    """Write the notification of `event` to `recipient` (their inbox item, if
    they have an account) and a message per channel; nothing for someone
    without an account who cannot be reached."""
    addresses = addresses_of(recipient, event.type, settings)
    if recipient.user_id is None and not addresses:
        return None  # no inbox and nothing to send
    now = event.created_at or utcnow()
    language = ticket.language if ticket.language in LANGUAGES else DEFAULT
    wanted = recipient.wants.language
    notification = Notification(
        user_id=recipient.user_id,
        ticket_id=ticket.id,
        event=event,
        type=event.type,
        params=params,
        created_at=now,
    )
    session.add(notification)
    for channel, address in addresses.items():
        session.add(
            NotificationDelivery(
                notification=notification,
                channel=channel,
                address=address,
                language=wanted if wanted in LANGUAGES else language,
                status=DeliveryStatus.pending,
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )
    return notification


def notify(session: Session, ticket: Ticket, event: TicketEvent) -> None:
    """The `record_event` listener: the notification and its messages, if any."""
    if event.type not in NOTIFIED or event.internal:
        return
    if event.actor_id is not None and event.actor_id in (ticket.reporter_id, ticket.filed_by_id):
        return
    phone = ticket.on_behalf_of_phone or ticket.contact_phone
    if ticket.reporter_id is not None:
        row = session.execute(
            select(User.wechat_openid, User.phone, NotificationPreference)
            .outerjoin(NotificationPreference, NotificationPreference.user_id == User.id)
            .where(User.id == ticket.reporter_id)
        ).one()
        recipient = Recipient(
            ticket.reporter_id,
            wants_of(row.NotificationPreference),
            row.wechat_openid,
            ticket.contact_phone or row.phone,
        )
    else:
        # Filed for someone without an account: a text message is all they can get.
        recipient = Recipient(None, Wants(sms=True), phone=phone)
    tell(
        session, recipient, ticket, event, params_of(ticket, event), session.info.get(SETTINGS_INFO)
    )


on_event(notify)


@dataclass(frozen=True)
class Texts:
    title: str
    body: str
    status: str  # a short label of what happened (WeChat's `phrase` field)
    short: str  # the gist in a few words: what was said, else the title


def render(
    type_: str,
    params: dict[str, Any],
    category_names: dict[str, str],
    language: str,
    elder: str | None = None,
) -> Texts:
    """The notification's texts in `language` (the catalogue's `notice.*`).

    A notification to an elder's family (`params["family"]`, alerts.py) has
    texts of its own (`notice.<type>.family.*`) that name the elder: `elder`,
    their name as it is now (read when the texts are made, so that an erased
    elder is no longer named), else "your family member"."""
    category = category_names.get(language) or category_names.get(DEFAULT) or ""
    number = params.get("number") or ""
    key = f"notice.{type_}.family" if params.get("family") else f"notice.{type_}"
    fill = {
        "number": number,
        "category": category,
        "time": params.get("time") or "",
        "elder": elder or text("notice.elder_unnamed", language),
    }
    title = text(f"{key}.title", language, **fill)
    body = text(f"{key}.body", language, **fill)
    said = params.get("said")
    hold_reason = params.get("hold_reason")
    if hold_reason in LABELS["hold_reasons"]:
        said = LABELS["hold_reasons"][hold_reason][LANGUAGES.index(language)]
    if said:
        body = text("notice.quoting", language, body=body, said=said)
    status = LABELS["event_types"].get(type_, (type_,) * 3)[LANGUAGES.index(language)]
    return Texts(title=title, body=body, status=status, short=said or title)


def render_announcement(
    kind: str, title: str, body: str, params: dict[str, Any], language: str, withdrawn: bool
) -> Texts:
    """An announcement's texts in `language`: the author's own title and body
    (in whatever language they wrote), framed by its kind and the local times
    it runs (`params`, made when it was told: announced.py); once withdrawn,
    only that it was, and its title."""
    label = LABELS["announcement_kinds"][kind][LANGUAGES.index(language)]
    if withdrawn:
        return Texts(
            title=text("notice.announcement.withdrawn.title", language, title=title),
            body=text("notice.announcement.withdrawn.body", language),
            status=label,
            short=title,
        )
    window = text(
        "notice.announcement.window",
        language,
        starts=params.get("starts") or "",
        ends=params.get("ends") or "",
    )
    return Texts(
        title=text("notice.announcement.title", language, kind=label, title=title),
        body=text("notice.announcement.body", language, body=body, window=window),
        status=label,
        short=title,
    )


def local_time(at: dt.datetime, zone: Any) -> str:
    return at.astimezone(zone).strftime("%Y-%m-%d %H:%M")

"""Sending notification messages: the notification queue of the outbox machinery
(service/outbox/delivery.py: leases, fair claims, backoff, the attempt log),
fair between channels, so that a slow SMS gateway does not hold WeChat's slots.

**WeChat** subscribe messages (订阅消息): the access token comes from
`/cgi-bin/token` and is kept in the database for every instance (a fetch makes
the previous token stale within minutes) and in memory, fetched by one attempt
at a time in a process; the message goes to `/cgi-bin/message/subscribe/send`.
Its answers: `0` sent; `40001`/`40014`/`42001` (the token is stale: another
instance or WeChat renewed it) refresh the token once and send again; `43101`
(the person refused, or has no subscription left) stops WeChat for that person
until they turn it on again, and drops their other WeChat messages; errors in
what we sent (`40003`, `40037`, `47003`, `41030`) are final; anything else
(`-1` busy, `45009` over quota, a timeout) is tried again with backoff.

**SMS** through an HTTP gateway: POST `LINLI_SMS_URL` {phone, text, language,
reference} with `Authorization: Bearer LINLI_SMS_KEY` and an
`Idempotency-Key` per message, so a gateway that keeps them sends a message
retried after a lost answer once. 2xx sent; 4xx other than 408 and 429 final;
the rest again with backoff.

A message is sent at least once: a deliverer that dies between sending and
recording leaves it to be sent again when its lease lapses (the SMS gateway's
Idempotency-Key covers that; WeChat has none).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
import weakref
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from service.announcements.models import Announcement
from service.care.models import Elder
from service.categories.models import Category
from service.config import Settings
from service.db import utcnow
from service.jobs import JobContext, job
from service.notifications.compose import (
    SMS,
    WECHAT,
    Texts,
    local_time,
    render,
    render_announcement,
    wechat_template,
)
from service.notifications.models import (
    Notification,
    NotificationAttempt,
    NotificationDelivery,
    NotificationPreference,
    WechatToken,
)
from service.outbox import delivery as outbox
from service.outbox.delivery import Outcome, Policy
from service.outbox.models import DeliveryStatus
from service.sla.policy import load_config
from service.tickets.models import Ticket

log = logging.getLogger("linli.notifications")
USER_AGENT = "Linli-Notifications/1"

STALE_TOKEN = frozenset({40001, 40014, 42001})
REFUSED = 43101
# What we sent is wrong (the openid, the template, its data, the page): again is no better.
OUR_MISTAKE = frozenset({40003, 40037, 47003, 41030})
# A token is renewed this long before WeChat says it expires.
TOKEN_MARGIN = dt.timedelta(minutes=5)
# WeChat's `thing` fields hold at most 20 characters, `phrase` 5.
THING, PHRASE = 20, 5


@dataclass(frozen=True)
class Message:
    delivery_id: int
    attempt: int
    channel: str
    address: str  # openid or phone
    language: str
    user_id: int | None
    ticket_id: int | None
    type: str
    number: str  # the ticket's number; an announcement's id
    category: str  # the ticket's category; an announcement's kind
    texts: Texts
    at: str  # the event's local time, "2026-12-03 14:05"; when an announcement begins
    announcement_id: int | None = None

    @property
    def partition(self) -> str:
        return self.channel


def policy(settings: Settings) -> Policy:
    return Policy(
        concurrency=settings.notification_concurrency,
        share=max(1, settings.notification_concurrency // 2),
        max_attempts=settings.notification_max_attempts,
        timeout=settings.notification_timeout_seconds,
        backoff_base=settings.notification_backoff_base_seconds,
        backoff_max=settings.notification_backoff_max_seconds,
    )


def _load(session: Session, ids: list[int], settings: Settings) -> list[Message]:
    rows = session.execute(
        select(
            NotificationDelivery.id,
            NotificationDelivery.attempts,
            NotificationDelivery.channel,
            NotificationDelivery.address,
            NotificationDelivery.language,
            Notification.user_id,
            Notification.ticket_id,
            Notification.announcement_id,
            Notification.type,
            Notification.params,
            Notification.created_at,
            Ticket.region_path,
            Category.name_zh,
            Category.name_ug,
            Category.name_en,
            Elder.name.label("elder_name"),
            Announcement.kind,
            Announcement.title,
            Announcement.body,
            Announcement.withdrawn_at,
        )
        .join(Notification, Notification.id == NotificationDelivery.notification_id)
        # A ticket's notification, or an announcement's (the other side NULL).
        .outerjoin(Ticket, Ticket.id == Notification.ticket_id)
        .outerjoin(Category, Category.id == Ticket.category_id)
        # The elder's name, as it is now, for the texts to their family (alerts.py).
        .outerjoin(Elder, Elder.id == Ticket.elder_id)
        .outerjoin(Announcement, Announcement.id == Notification.announcement_id)
        .where(NotificationDelivery.id.in_(ids))
    ).all()
    config = load_config(session, settings.timezone)
    messages = []
    for row in rows:
        if row.announcement_id is not None:
            messages.append(_announcement_message(row))
            continue
        names = {"zh-Hans": row.name_zh, "ug": row.name_ug, "en": row.name_en}
        texts = render(row.type, row.params or {}, names, row.language, row.elder_name)
        messages.append(
            Message(
                delivery_id=row.id,
                attempt=row.attempts,
                channel=row.channel,
                address=row.address,
                language=row.language,
                user_id=row.user_id,
                ticket_id=row.ticket_id,
                type=row.type,
                number=str((row.params or {}).get("number") or ""),
                category=names[row.language],
                texts=texts,
                at=local_time(row.created_at, ZoneInfo(config.zone_for(row.region_path))),
            )
        )
    return messages


def _announcement_message(row: Any) -> Message:
    """An announcement's message: its id, kind, when it begins (local to the
    recipient's community, made when it was told) and its words."""
    texts = render_announcement(
        row.kind,
        row.title,
        row.body,
        row.params or {},
        row.language,
        withdrawn=row.withdrawn_at is not None,
    )
    return Message(
        delivery_id=row.id,
        attempt=row.attempts,
        channel=row.channel,
        address=row.address,
        language=row.language,
        user_id=row.user_id,
        ticket_id=None,
        type=row.type,
        number=str(row.announcement_id),
        category=texts.status,
        texts=texts,
        at=str((row.params or {}).get("starts") or ""),
        announcement_id=row.announcement_id,
    )


# --- the WeChat access token ------------------------------------------------


class _Token:
    """This process's copy of the shared token."""

    def __init__(self) -> None:
        self.value: str | None = None
        self.expires_at = dt.datetime.min.replace(tzinfo=dt.UTC)


_TOKENS: dict[str, _Token] = {}
# One fetch at a time per app and event loop (each turn of the job runs its own loop).
_FETCHING: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)


def _stored_token(engine: Engine, app_id: str) -> tuple[str, dt.datetime] | None:
    with engine.connect() as connection:
        row = connection.execute(
            select(WechatToken.access_token, WechatToken.expires_at).where(
                WechatToken.app_id == app_id
            )
        ).first()
        connection.rollback()
    return (row.access_token, row.expires_at) if row else None


def _store_token(engine: Engine, app_id: str, value: str, expires_at: dt.datetime) -> None:
    """One statement: instances that fetched at once both store, the last wins
    (WeChat keeps the previous token valid for minutes after a new one)."""
    dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
    now = utcnow()
    row = {"access_token": value, "expires_at": expires_at, "refreshed_at": now}
    with engine.begin() as connection:
        connection.execute(
            dialect.insert(WechatToken)
            .values(app_id=app_id, **row)
            .on_conflict_do_update(index_elements=["app_id"], set_=row)
        )


class WechatError(Exception):
    def __init__(self, errcode: int | None, message: str) -> None:
        super().__init__(message)
        self.errcode = errcode


async def _fetch_token(client: httpx.AsyncClient, settings: Settings) -> tuple[str, dt.datetime]:
    response = await client.get(
        settings.wechat_api_base.rstrip("/") + "/cgi-bin/token",
        params={
            "grant_type": "client_credential",
            "appid": settings.wechat_app_id,
            "secret": settings.wechat_app_secret,
        },
    )
    answer = _json(response)
    token = answer.get("access_token")
    if not token:
        raise WechatError(answer.get("errcode"), f"token: {_said(response, answer)}")
    expires_in = int(answer.get("expires_in") or 7200)
    return str(token), utcnow() + dt.timedelta(seconds=expires_in) - TOKEN_MARGIN


async def access_token(
    client: httpx.AsyncClient, engine: Engine, settings: Settings, *, stale: str | None = None
) -> str:
    """The current token: this process's, else the database's, else a new one
    from WeChat (one fetch at a time). `stale`: WeChat refused that one, so any
    other is newer; if it is still ours, fetch."""
    app_id = settings.wechat_app_id
    mine = _TOKENS.setdefault(app_id, _Token())
    if mine.value and mine.value != stale and mine.expires_at > utcnow():
        return mine.value
    locks = _FETCHING.setdefault(asyncio.get_running_loop(), {})
    async with locks.setdefault(app_id, asyncio.Lock()):
        if mine.value and mine.value != stale and mine.expires_at > utcnow():
            return mine.value  # fetched while we waited
        stored = await asyncio.to_thread(_stored_token, engine, app_id)
        if stored is not None and stored[0] != stale and stored[1] > utcnow():
            mine.value, mine.expires_at = stored
            return stored[0]
        value, expires_at = await _fetch_token(client, settings)
        await asyncio.to_thread(_store_token, engine, app_id, value, expires_at)
        mine.value, mine.expires_at = value, expires_at
        log.info("fetched a WeChat access token for %s", app_id)
        return value


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        answer = response.json()
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}


def _said(response: httpx.Response, answer: dict[str, Any]) -> str:
    if "errcode" in answer:
        return f"errcode {answer.get('errcode')}: {answer.get('errmsg', '')}"[:300]
    return f"HTTP {response.status_code}"


def template_data(message: Message) -> dict[str, dict[str, str]]:
    """The subscribe message's fields, in the keyword layout the templates are
    chosen with (docs/notifications.md): the ticket's number, its category, what
    happened, when, and the message."""
    return {
        "character_string1": {"value": message.number[:32]},
        "thing2": {"value": message.category[:THING]},
        "phrase3": {"value": message.texts.status[:PHRASE]},
        "time4": {"value": message.at},
        "thing5": {"value": message.texts.short[:THING]},
    }


def subscribe_payload(message: Message, settings: Settings) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "touser": message.address,
        "template_id": wechat_template(settings, message.type),
        "data": template_data(message),
        "miniprogram_state": settings.wechat_state,
        "lang": "en_US" if message.language == "en" else "zh_CN",
    }
    if message.announcement_id is not None:
        if settings.wechat_announcement_page:
            payload["page"] = settings.wechat_announcement_page.replace(
                "{announcement_id}", str(message.announcement_id)
            )
    elif settings.wechat_page:
        payload["page"] = settings.wechat_page.replace("{ticket_id}", str(message.ticket_id))
    return payload


async def _send_wechat(
    client: httpx.AsyncClient, engine: Engine, settings: Settings, message: Message
) -> tuple[int | None, str | None, bool, bool]:
    """(HTTP status, error, sent, final)."""
    payload = subscribe_payload(message, settings)
    url = settings.wechat_api_base.rstrip("/") + "/cgi-bin/message/subscribe/send"
    stale = None
    for _try in range(2):
        token = await access_token(client, engine, settings, stale=stale)
        response = await client.post(url, params={"access_token": token}, json=payload)
        answer = _json(response)
        errcode = answer.get("errcode")
        if response.status_code == 200 and errcode == 0:
            return response.status_code, None, True, False
        if errcode in STALE_TOKEN and stale is None:
            stale = token  # renew once, then send again
            continue
        final = errcode == REFUSED or errcode in OUR_MISTAKE
        return response.status_code, _said(response, answer), False, final
    return None, "stale access token twice", False, False


async def _send_sms(
    client: httpx.AsyncClient, settings: Settings, message: Message
) -> tuple[int | None, str | None, bool, bool]:
    headers = {
        "User-Agent": USER_AGENT,
        "Idempotency-Key": f"linli-notification-{message.delivery_id}",
    }
    if settings.sms_key:
        headers["Authorization"] = f"Bearer {settings.sms_key}"
    response = await client.post(
        settings.sms_url,
        json={
            "phone": message.address,
            "text": f"{message.texts.title}: {message.texts.body}",
            "language": message.language,
            "reference": str(message.delivery_id),
        },
        headers=headers,
    )
    status = response.status_code
    if 200 <= status < 300:
        return status, None, True, False
    final = 400 <= status < 500 and status not in (408, 429)
    return status, f"HTTP {status}", False, final


@dataclass
class Sender:
    client: httpx.AsyncClient
    engine: Engine
    settings: Settings


class NotificationQueue:
    name = "notification"
    row = NotificationDelivery
    log = NotificationAttempt

    @property
    def partition(self) -> Any:  # a column (a descriptor: not a class attribute here)
        return NotificationDelivery.channel

    def policy(self, settings: Settings) -> Policy:
        return policy(settings)

    def load(self, session: Session, ids: list[int], settings: Settings) -> list[Message]:
        return _load(session, ids, settings)

    @contextlib.asynccontextmanager
    async def opened(self, engine: Engine, settings: Settings) -> AsyncIterator[Sender]:
        timeout = settings.notification_timeout_seconds
        async with httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 3.0)),
            follow_redirects=False,
            headers={"User-Agent": USER_AGENT},
        ) as client:
            yield Sender(client, engine, settings)

    async def send(self, sender: Sender, message: Message) -> Outcome[Message]:
        settings = sender.settings
        started_at = utcnow()
        started = time.monotonic()
        status: int | None = None
        error: str | None = None
        sent = final = False
        try:
            async with asyncio.timeout(settings.notification_timeout_seconds):
                if message.channel == WECHAT and settings.wechat_app_id:
                    status, error, sent, final = await _send_wechat(
                        sender.client, sender.engine, settings, message
                    )
                elif message.channel == SMS and settings.sms_url:
                    status, error, sent, final = await _send_sms(sender.client, settings, message)
                else:  # the channel was configured when it was queued, and is no more
                    error, final = f"{message.channel} is not configured", True
        except (TimeoutError, httpx.TimeoutException):
            error = "timed out"
        except WechatError as exc:
            error = str(exc)
        except SQLAlchemyError as exc:  # the shared token could not be read or kept
            error = f"database: {type(exc).__name__}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        return Outcome(message, started_at, outbox.timed(started), status, error, sent, final)

    def recorded(self, session: Session, outcomes: Sequence[Outcome[Message]]) -> None:
        """WeChat said the person refused: no more WeChat for them until they
        turn it on again, and their other WeChat messages are dropped."""
        refused = {
            o.claimed
            for o in outcomes
            if o.claimed.channel == WECHAT
            and o.final
            and (o.error or "").startswith(f"errcode {REFUSED}")
        }
        now = utcnow()
        users = {m.user_id for m in refused if m.user_id is not None}
        if users:
            dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
            insert = dialect.insert(NotificationPreference).values(
                [{"user_id": u, "wechat_refused_at": now, "updated_at": now} for u in users]
            )
            session.execute(
                insert.on_conflict_do_update(
                    index_elements=["user_id"], set_={"wechat_refused_at": now}
                )
            )
        for message in refused:
            session.execute(
                update(NotificationDelivery)
                .where(
                    NotificationDelivery.channel == WECHAT,
                    NotificationDelivery.address == message.address,
                    NotificationDelivery.status == DeliveryStatus.pending,
                    NotificationDelivery.id != message.delivery_id,
                )
                .values(status=DeliveryStatus.dead, last_error=f"errcode {REFUSED}: refused")
            )


QUEUE = NotificationQueue()


def deliver_due(
    engine: Engine, settings: Settings, now: dt.datetime | None = None, **kwargs: Any
) -> int:
    return outbox.deliver_due(engine, QUEUE, settings, now, **kwargs)


# Most notifications come with an event of an organisation, whose commit wakes
# the runner (as webhooks do); the interval catches the others (a cancellation
# before any organisation had the ticket) and a wake-up that never came.
@job("notifications.deliver", every=dt.timedelta(seconds=30), on_wake=True)
def deliver(context: JobContext) -> int:
    return outbox.turn(context, QUEUE)

"""Announcements told to the people of their communities (issue 19): an inbox
item for each, in the reader's language; WeChat and SMS messages queued in the
outbox only for those whose preferences and addresses allow; what the messages
say; a withdrawal that drops the messages not yet sent."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from service.db import clock_override
from service.notifications import channels
from service.notifications.models import Notification, NotificationDelivery
from service.outbox.models import DeliveryStatus
from tests.announcements.helpers import posted
from tests.conftest import Actor, token_for

WECHAT_TEMPLATES = {"*": "TPL-STATUS"}
MORNING = dt.datetime(2026, 12, 3, 2, 0, tzinfo=dt.UTC)


def _inbox(client: Any, actor: Any, language: str = "zh-Hans") -> list[dict[str, Any]]:
    response = client.get(
        "/v1/me/notifications", headers={**actor.headers, "Accept-Language": language}
    )
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def _person(client: Any, settings: Any, sub: str, community_id: int, **claims: Any) -> Actor:
    scope = {"community_id": community_id, **claims}
    actor = Actor(sub, token_for(settings, sub, "resident", **scope), {"role": "resident", **scope})
    me = client.get("/v1/me", headers=actor.headers)
    assert me.status_code == 200, me.text
    actor.user_id = me.json()["user_id"]
    return actor


@pytest.fixture
def channels_on(app: Any, settings: Any) -> Any:
    """WeChat and SMS configured on this deployment (nothing is sent: the queue is
    only written here; tests/notifications/test_channels.py sends)."""
    app.state.settings = settings.model_copy(
        update={
            "wechat_app_id": "wx-test-app",
            "wechat_app_secret": "wechat-test-secret",
            "wechat_templates": WECHAT_TEMPLATES,
            "wechat_announcement_page": "pages/notice/detail?id={announcement_id}",
            "sms_url": "http://127.0.0.1:9/send",
        }
    )
    return app.state.settings


def test_everyone_of_the_community_finds_it_in_their_inbox_and_nobody_else(client, world):
    announcement = posted(client, world.dispatcher, [world.community_a])

    for reader in (world.reporter, world.neighbour, world.grid_worker):
        newest = _inbox(client, reader)[0]
        assert newest["type"] == "announcement.planned_outage", reader.name
        assert newest["announcement_id"] == announcement["id"]
        assert newest["ticket_id"] is None and newest["ticket_number"] is None
        assert newest["title"] == "【停水停电】今日停水通知"
        assert newest["body"].startswith("因主管道维修，今日停水，请提前储水。（")
        assert " 至 " in newest["body"] and newest["channels"] == []
    for stranger in (world.far_resident, world.dispatcher, world.admin):
        assert all(n["announcement_id"] is None for n in _inbox(client, stranger)), stranger.name


def test_the_inbox_frames_it_in_the_readers_language_and_local_time(client, world):
    with clock_override(lambda: MORNING):
        posted(
            client,
            world.admin,
            [world.community_a],
            kind="emergency",
            starts_at="2026-12-03T06:00:00Z",
            ends_at="2026-12-04T15:30:00Z",
        )
    english = _inbox(client, world.reporter, "en")[0]
    assert english["title"] == "[Emergency] 今日停水通知"
    # Asia/Shanghai, the deployment's time zone (regions may set their own).
    assert english["body"].endswith("(2026-12-03 14:00 to 2026-12-04 23:30)")
    uyghur = _inbox(client, world.reporter, "ug")[0]
    assert uyghur["title"].startswith("【جىددىي ئۇقتۇرۇش】")


def test_messages_are_queued_for_those_who_want_them_and_can_be_reached(
    client, world, settings, db, channels_on
):
    a = world.community_a
    wechat = _person(client, settings, "an-wechat", a, wechat_openid="o-an-1", phone="13900000021")
    texted = _person(client, settings, "an-sms", a, wechat_openid="o-an-2", phone="13900000022")
    muted = _person(client, settings, "an-muted", a, wechat_openid="o-an-3", phone="13900000023")
    refused = _person(client, settings, "an-no", a, wechat_openid="o-an-4", phone="13900000024")
    for actor, preferences in (
        (texted, {"sms": True, "language": "ug"}),
        (muted, {"sms": True, "muted": ["announcement.planned_outage"]}),
        (refused, {"wechat": False}),
    ):
        response = client.put(
            "/v1/me/notification-preferences", json=preferences, headers=actor.headers
        )
        assert response.status_code == 200, response.text

    announcement = posted(client, world.dispatcher, [a])

    rows = db.execute(
        select(
            Notification.user_id,
            NotificationDelivery.channel,
            NotificationDelivery.address,
            NotificationDelivery.language,
            NotificationDelivery.status,
        )
        .join(Notification, Notification.id == NotificationDelivery.notification_id)
        .where(Notification.announcement_id == announcement["id"])
    ).all()
    queued = {(r.user_id, r.channel): (r.address, r.language, r.status) for r in rows}
    pending = DeliveryStatus.pending
    assert queued == {
        # Defaults: WeChat on (their token carried an openid), SMS off.
        (wechat.user_id, "wechat"): ("o-an-1", "zh-Hans", pending),
        (texted.user_id, "wechat"): ("o-an-2", "ug", pending),
        (texted.user_id, "sms"): ("13900000022", "ug", pending),
        # Muted this kind: neither channel; WeChat off: nothing (SMS was never on).
    }
    # The world's residents have no openid and never turned SMS on: inbox only.
    notified = db.scalars(
        select(Notification.user_id).where(Notification.announcement_id == announcement["id"])
    ).all()
    assert {world.reporter.user_id, muted.user_id, refused.user_id} <= set(notified)


def test_the_messages_say_what_and_when_and_open_the_announcement(
    client, world, settings, db, channels_on
):
    person = _person(
        client,
        settings,
        "an-reader",
        world.community_a,
        wechat_openid="o-an-9",
        phone="13900000029",
    )
    client.put("/v1/me/notification-preferences", json={"sms": True}, headers=person.headers)
    with clock_override(lambda: MORNING):
        announcement = posted(
            client,
            world.admin,
            [world.community_a],
            starts_at="2026-12-05T00:00:00Z",
            ends_at="2026-12-05T10:00:00Z",
        )
    ids = db.scalars(
        select(NotificationDelivery.id)
        .join(Notification, Notification.id == NotificationDelivery.notification_id)
        .where(Notification.user_id == person.user_id)
    ).all()

    messages = {m.channel: m for m in channels.QUEUE.load(db, list(ids), channels_on)}

    wechat = channels.subscribe_payload(messages["wechat"], channels_on)
    assert wechat["touser"] == "o-an-9" and wechat["template_id"] == "TPL-STATUS"
    assert wechat["page"] == f"pages/notice/detail?id={announcement['id']}"
    assert wechat["data"] == {
        "character_string1": {"value": str(announcement["id"])},
        "thing2": {"value": "停水停电"},
        "phrase3": {"value": "停水停电"},
        "time4": {"value": "2026-12-05 08:00"},
        "thing5": {"value": "今日停水通知"},
    }
    sms = messages["sms"]
    assert sms.address == "13900000029"
    assert sms.texts.title == "【停水停电】今日停水通知"
    assert "2026-12-05 08:00 至 2026-12-05 18:00" in sms.texts.body


def test_a_withdrawal_drops_the_messages_not_yet_sent_and_says_so(
    client, world, settings, db, channels_on
):
    person = _person(client, settings, "an-late", world.community_a, wechat_openid="o-an-5")
    announcement = posted(client, world.dispatcher, [world.community_a])
    sent = db.scalar(
        select(NotificationDelivery.id)
        .join(Notification, Notification.id == NotificationDelivery.notification_id)
        .where(Notification.user_id == person.user_id)
    )
    assert sent is not None

    response = client.delete(
        f"/v1/announcements/{announcement['id']}", headers=world.dispatcher.headers
    )

    assert response.status_code == 200, response.text
    db.expire_all()
    delivery = db.get(NotificationDelivery, sent)
    assert delivery is not None
    assert delivery.status == DeliveryStatus.dead and delivery.last_error == "withdrawn"
    item = _inbox(client, person)[0]
    assert item["announcement_id"] == announcement["id"]
    assert item["title"] == "已撤回：今日停水通知" and item["body"] == "此通知已撤回。"
    assert item["channels"] == [{"channel": "wechat", "status": "dead"}]


def test_a_person_may_mute_an_announcement_kind(client, world):
    response = client.put(
        "/v1/me/notification-preferences",
        json={"muted": ["announcement.notice", "ticket.commented"]},
        headers=world.reporter.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["muted"] == ["announcement.notice", "ticket.commented"]

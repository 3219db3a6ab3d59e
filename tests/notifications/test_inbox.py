"""The inbox (issue 17): a resident hears of what happens to their ticket, in
their language, and only of what others did; preferences; nobody reads another
person's notifications."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from service.notifications.models import Notification, NotificationDelivery
from service.notifications.schemas import NotificationPage
from tests.conftest import file_ticket

PROBLEM_JSON = "application/problem+json"


def _act(client: Any, actor: Any, tid: int, action: str, body: Any = None) -> Any:
    response = client.post(f"/v1/tickets/{tid}/{action}", json=body, headers=actor.headers)
    assert response.status_code in (200, 201), (action, response.text)
    return response.json()


def _inbox(client: Any, actor: Any, **params: Any) -> Any:
    language = params.pop("language", "zh-Hans")
    response = client.get(
        "/v1/me/notifications",
        params=params,
        headers={**actor.headers, "Accept-Language": language},
    )
    assert response.status_code == 200, response.text
    return response


def _worked_through(client: Any, world: Any) -> dict[str, Any]:
    ticket = file_ticket(client, world.reporter, world.community_a)
    tid = ticket["id"]
    _act(client, world.technician, tid, "accept")
    _act(client, world.technician, tid, "start")
    _act(client, world.technician, tid, "hold", {"reason": "awaiting_parts"})
    _act(client, world.technician, tid, "resume")
    _act(client, world.technician, tid, "comments", {"body": "配件明天到", "internal": False})
    _act(client, world.technician, tid, "comments", {"body": "内部：找老王", "internal": True})
    _act(client, world.reporter, tid, "comments", {"body": "好的，谢谢"})
    _act(client, world.technician, tid, "resolve", {"note": "换了阀门"})
    return ticket


def test_a_resident_hears_of_each_step_others_take_newest_first(client, world):
    ticket = _worked_through(client, world)

    page = _inbox(client, world.reporter).json()

    # The route writes its JSON itself: it must be the documented shape, exactly.
    assert NotificationPage.model_validate(page).model_dump(mode="json") == page
    types = [n["type"] for n in page["items"] if n["ticket_id"] == ticket["id"]]
    # Not the resume (not in the contract's list), not the internal note, not
    # the resident's own comment.
    assert types == [
        "ticket.resolved",
        "ticket.commented",
        "ticket.held",
        "ticket.started",
        "ticket.accepted",
    ]
    resolved, commented, held = page["items"][0], page["items"][1], page["items"][2]
    assert resolved["ticket_number"] == ticket["number"]
    assert ticket["number"] in resolved["body"] and "请确认并评价" in resolved["body"]
    assert resolved["title"] == "工单已办结，请确认"
    assert "配件明天到" in commented["body"]
    assert "等待配件" in held["body"]
    assert page["unread_count"] >= 5
    assert all(n["read_at"] is None and n["channels"] == [] for n in page["items"][:5])


@pytest.mark.parametrize(
    ("language", "title"),
    [
        ("ug", "ھەل قىلىندى، جەزملەڭ"),
        ("en", "Resolved: please confirm"),
        ("zh-CN", "工单已办结，请确认"),
    ],
)
def test_the_inbox_speaks_the_readers_language(client, world, language, title):
    _worked_through(client, world)

    response = _inbox(client, world.reporter, language=language, limit=1)

    assert response.json()["items"][0]["title"] == title
    assert response.headers["Content-Language"] == {"zh-CN": "zh-Hans"}.get(language, language)
    assert "Accept-Language" in response.headers["Vary"]


def test_pages_and_unread_and_reading(client, world):
    _worked_through(client, world)
    first = _inbox(client, world.reporter, limit=2).json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    second = _inbox(client, world.reporter, limit=2, cursor=first["next_cursor"]).json()
    assert {n["id"] for n in first["items"]}.isdisjoint(n["id"] for n in second["items"])
    assert second["items"][0]["id"] < first["items"][-1]["id"]

    newest = first["items"][0]
    read = client.post(f"/v1/me/notifications/{newest['id']}/read", headers=world.reporter.headers)
    assert read.status_code == 200, read.text
    assert read.json()["read_at"] is not None
    again = client.post(f"/v1/me/notifications/{newest['id']}/read", headers=world.reporter.headers)
    assert again.json()["read_at"] == read.json()["read_at"]  # the first reading stays

    after = _inbox(client, world.reporter, unread="true").json()
    assert newest["id"] not in {n["id"] for n in after["items"]}
    assert after["unread_count"] == first["unread_count"] - 1


def test_nobody_reads_or_marks_another_persons_notifications(client, world, db):
    _worked_through(client, world)
    mine = _inbox(client, world.reporter).json()["items"][0]
    for other in (world.neighbour, world.technician, world.admin, world.grid_worker):
        assert mine["id"] not in {n["id"] for n in _inbox(client, other).json()["items"]}
        response = client.post(f"/v1/me/notifications/{mine['id']}/read", headers=other.headers)
        assert response.status_code == 404
        assert response.headers["content-type"].startswith(PROBLEM_JSON)
        assert response.json()["code"] == "notification.not_found"
    assert db.get(Notification, mine["id"]).read_at is None


def test_the_reporters_own_actions_and_unnotified_events_write_nothing(client, world, db):
    ticket = file_ticket(client, world.reporter, world.community_a)
    _act(client, world.reporter, ticket["id"], "urge")
    _act(client, world.reporter, ticket["id"], "cancel", {"reason": "自己修好了"})

    count = db.scalar(
        select(func.count()).select_from(Notification).where(Notification.ticket_id == ticket["id"])
    )
    assert count == 0


def test_a_cancellation_by_an_admin_is_told_with_its_reason(client, world):
    ticket = file_ticket(client, world.reporter, world.community_a)
    _act(client, world.admin, ticket["id"], "cancel", {"reason": "重复报修"})

    newest = _inbox(client, world.reporter, language="en").json()["items"][0]

    assert newest["type"] == "ticket.cancelled" and newest["ticket_id"] == ticket["id"]
    assert newest["body"].endswith(": 重复报修")


def test_filed_for_someone_without_an_account_and_no_sms_writes_nothing(client, world, db):
    ticket = file_ticket(
        client,
        world.grid_worker,
        world.community_a,
        on_behalf_of={"name": "买买提", "phone": "13811112222"},
    )
    _act(client, world.technician, ticket["id"], "accept")

    assert not db.scalar(
        select(func.count()).select_from(Notification).where(Notification.ticket_id == ticket["id"])
    )


def test_messages_are_queued_for_configured_channels_only(client, world, db):
    settings = client.app.state.settings
    saved = settings.model_copy()
    try:
        settings.sms_url = "http://127.0.0.1:9/sms"
        # Filed for someone without an account: an SMS to the phone given.
        ticket = file_ticket(
            client,
            world.grid_worker,
            world.community_a,
            on_behalf_of={"name": "买买提", "phone": "13811112222"},
        )
        _act(client, world.technician, ticket["id"], "accept")
        rows = db.execute(
            select(Notification.user_id, NotificationDelivery.channel, NotificationDelivery.address)
            .join(NotificationDelivery, NotificationDelivery.notification_id == Notification.id)
            .where(Notification.ticket_id == ticket["id"])
        ).all()
        assert [tuple(r) for r in rows] == [(None, "sms", "13811112222")]
        # A resident who set no preferences: the inbox; SMS is opt-in; no WeChat
        # without an app id, an openid and a template.
        own = file_ticket(client, world.reporter, world.community_a)
        _act(client, world.technician, own["id"], "accept")
        assert not db.scalar(
            select(func.count())
            .select_from(NotificationDelivery)
            .join(Notification, Notification.id == NotificationDelivery.notification_id)
            .where(Notification.ticket_id == own["id"])
        )
    finally:
        for name in ("sms_url",):
            setattr(settings, name, getattr(saved, name))


def test_preferences_default_replace_and_refuse_bad_input(client, world):
    url = "/v1/me/notification-preferences"
    defaults = client.get(url, headers=world.reporter.headers).json()
    assert defaults == {
        "language": None,
        "wechat": True,
        "sms": False,
        "muted": [],
        "wechat_refused": False,
        "wechat_available": False,
        "sms_available": False,
    }

    saved = client.put(
        url,
        json={"language": "ug", "sms": True, "muted": ["ticket.commented", "ticket.commented"]},
        headers=world.reporter.headers,
    )
    assert saved.status_code == 200, saved.text
    assert saved.json()["language"] == "ug" and saved.json()["sms"] is True
    assert saved.json()["muted"] == ["ticket.commented"]
    assert client.get(url, headers=world.reporter.headers).json() == saved.json()
    # Someone else's are their own.
    assert client.get(url, headers=world.neighbour.headers).json() == defaults

    for bad in (
        {"language": "fr"},
        {"muted": ["ticket.created"]},
        {"sms": "perhaps"},
        {"colour": "blue"},
    ):
        response = client.put(url, json=bad, headers=world.reporter.headers)
        assert response.status_code == 422, bad
        assert response.headers["content-type"].startswith(PROBLEM_JSON)
    assert client.get(url, headers=world.reporter.headers).json() == saved.json()


def test_muted_types_and_language_shape_the_messages_queued(client, world, db):
    settings = client.app.state.settings
    saved = settings.sms_url
    settings.sms_url = "http://127.0.0.1:9/sms"
    try:
        client.put(
            "/v1/me/notification-preferences",
            json={"language": "ug", "sms": True, "muted": ["ticket.started"]},
            headers=world.reporter.headers,
        ).raise_for_status()
        ticket = file_ticket(client, world.reporter, world.community_a, contact_phone="13700001111")
        _act(client, world.technician, ticket["id"], "accept")
        _act(client, world.technician, ticket["id"], "start")
        rows = db.execute(
            select(Notification.type, NotificationDelivery.address, NotificationDelivery.language)
            .join(NotificationDelivery, NotificationDelivery.notification_id == Notification.id)
            .where(Notification.ticket_id == ticket["id"])
        ).all()
        # The start is in the inbox but not sent; the phone is the ticket's contact phone.
        assert [tuple(r) for r in rows] == [("ticket.accepted", "13700001111", "ug")]
        assert {n["type"] for n in _inbox(client, world.reporter).json()["items"][:2]} == {
            "ticket.accepted",
            "ticket.started",
        }
    finally:
        settings.sms_url = saved

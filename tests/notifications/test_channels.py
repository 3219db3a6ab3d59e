"""WeChat subscribe messages and SMS end to end (issue 17), against a fake
WeChat API and a fake SMS gateway on loopback and a live Linli: the right
template data for every notification type, the access token fetched once and
renewed once when stale, a refusal (43101) that stops WeChat for that person,
retries through failures and a restart of the service with nothing sent twice,
and channels that are not configured skipped."""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import func, select, update

from service.categories.models import Category
from service.config import Settings
from service.db import utcnow
from service.jobs import JobContext
from service.notifications import channels
from service.notifications.models import (
    NotificationAttempt,
    NotificationDelivery,
    WechatToken,
)
from service.outbox.models import DeliveryStatus
from service.tickets import jobs as ticket_jobs
from service.tickets.models import Ticket
from tests.conftest import TEST_SECRET, Actor, World, build_world, token_for
from tests.feed.helpers import act, comment, file
from tests.feed.live import live_database, serve
from tests.notifications.fakes import FakeSms, FakeWechat, serving

TEMPLATES = {"*": "TPL-STATUS", "ticket.commented": "TPL-REPLY"}
OPENID = "o-resident-wechat-1"


class Deployment:
    def __init__(self, url: str, engine: Any, wechat: FakeWechat, sms: FakeSms) -> None:
        self.engine = engine
        self.wechat, self.sms = wechat, sms
        self.settings = Settings(
            database_url=url,
            jwt_secret=TEST_SECRET,
            env="dev",
            tickets_per_hour=0,
            duplicate_window_minutes=0,
            wechat_app_id=wechat.app_id,
            wechat_app_secret=wechat.secret,
            wechat_api_base=wechat.url,
            wechat_templates=TEMPLATES,
            wechat_page="pages/ticket/detail?id={ticket_id}",
            sms_url=sms.url + "/send",
            sms_key=sms.key,
            notification_timeout_seconds=2.0,
            notification_backoff_base_seconds=0.05,
            notification_backoff_max_seconds=0.2,
            notification_max_attempts=5,
        )
        self._server: Any = None
        self.http: httpx.Client | None = None
        self.world: World | None = None
        self.resident: Actor | None = None

    def start(self) -> None:
        self._server = serve(self.settings, self.engine)
        self.http = httpx.Client(base_url=self._server.__enter__(), timeout=30)
        if self.world is None:
            self.world = build_world(self.http, self.settings)
            self.resident = self.person("wechat-resident", OPENID, "13900000011")

    def person(self, sub: str, openid: str | None, phone: str) -> Actor:
        assert self.world is not None and self.http is not None
        claims = {"community_id": self.world.community_a, "phone": phone}
        if openid:
            claims["wechat_openid"] = openid
        actor = Actor(
            sub, token_for(self.settings, sub, "resident", **claims), {"role": "resident", **claims}
        )
        self.http.get("/v1/me", headers=actor.headers).raise_for_status()
        return actor

    def stop(self) -> None:
        assert self.http is not None
        self.http.close()
        self._server.__exit__(None, None, None)

    def deliver_until_idle(self, deadline: float = 30) -> None:
        end = time.monotonic() + deadline
        while self.pending():
            if time.monotonic() > end:
                raise AssertionError("notifications did not finish in time")
            if not channels.deliver_due(self.engine, self.settings):
                time.sleep(0.05)

    def pending(self) -> int:
        with self.engine.connect() as connection:
            return int(
                connection.scalar(
                    select(func.count())
                    .select_from(NotificationDelivery)
                    .where(NotificationDelivery.status == DeliveryStatus.pending)
                )
            )

    def category_name(self, code: str = "repair.plumbing") -> str:
        with self.engine.connect() as connection:
            return str(connection.scalar(select(Category.name_zh).where(Category.code == code)))


@pytest.fixture(scope="module")
def deployment() -> Iterator[Deployment]:
    with (
        serving(FakeWechat()) as wechat,
        serving(FakeSms()) as sms,
        live_database("linli_notify") as (url, engine),
    ):
        deployment = Deployment(url, engine, wechat, sms)
        deployment.start()
        try:
            yield deployment
        finally:
            deployment.stop()


@pytest.fixture(autouse=True)
def _clean_slate(deployment: Deployment) -> Iterator[None]:
    deployment.deliver_until_idle()
    deployment.wechat.plan = lambda payload, seen: 0
    deployment.sms.plan = lambda body, seen: 200
    with deployment.wechat.lock:
        deployment.wechat.attempts.clear()
        deployment.wechat.sent.clear()
    with deployment.sms.lock:
        deployment.sms.attempts.clear()
        deployment.sms.sent.clear()
    yield


def _every_type(d: Deployment) -> dict[str, dict[str, Any]]:
    """One ticket per path, so that every notification type happens once."""
    assert d.world is not None and d.http is not None and d.resident is not None
    w, http, me = d.world, d.http, d.resident
    worked = file(http, me, w.community_a)
    act(http, w.technician, worked["id"], "accept")
    act(http, w.technician, worked["id"], "start")
    act(http, w.technician, worked["id"], "hold", {"reason": "awaiting_parts"})
    act(http, w.technician, worked["id"], "resume")
    comment(http, w.technician, worked["id"], "师傅下午两点到")
    act(http, w.technician, worked["id"], "resolve", {"note": "换了阀门"})
    rejected = file(http, me, w.community_a)
    act(http, w.admin, rejected["id"], "reject", {"reason": "不属于物业范围"})
    cancelled = file(http, me, w.community_a)
    act(http, w.admin, cancelled["id"], "cancel", {"reason": "重复报修"})
    # Resolved long ago and never confirmed: the auto-close job closes it.
    closing = file(http, me, w.community_a)
    for action in ("accept", "start", "resolve"):
        act(http, w.technician, closing["id"], action, {} if action == "resolve" else None)
    with d.engine.begin() as connection:
        connection.execute(
            update(Ticket)
            .where(Ticket.id == closing["id"])
            .values(resolved_at=utcnow() - dt.timedelta(days=30))
        )
    ticket_jobs.auto_close(JobContext(d.engine, d.settings, utcnow()))
    return {"worked": worked, "rejected": rejected, "cancelled": cancelled, "closing": closing}


def test_every_notification_type_reaches_wechat_with_its_template_data(deployment):
    d = deployment
    tickets = _every_type(d)
    d.deliver_until_idle()

    by_key = {
        (p["data"]["character_string1"]["value"], p["data"]["phrase3"]["value"]): p
        for p in d.wechat.sent
    }
    category = d.category_name()
    zone = ZoneInfo(d.settings.timezone)
    expected = [
        ("worked", "已受理", "TPL-STATUS", "工单已受理"),
        ("worked", "开始处理", "TPL-STATUS", "工单开始处理"),
        ("worked", "已挂起", "TPL-STATUS", "等待配件"),
        ("worked", "新留言", "TPL-REPLY", "师傅下午两点到"),
        ("worked", "已办结", "TPL-STATUS", "工单已办结，请确认"),
        ("rejected", "已驳回", "TPL-STATUS", "不属于物业范围"),
        ("cancelled", "已撤销", "TPL-STATUS", "重复报修"),
        ("closing", "已关闭", "TPL-STATUS", "工单已关闭"),
    ]
    for name, phrase, template, thing5 in expected:
        ticket = tickets[name]
        payload = by_key[(ticket["number"], phrase)]
        assert payload["touser"] == OPENID
        assert payload["template_id"] == template
        assert payload["page"] == f"pages/ticket/detail?id={ticket['id']}"
        assert payload["miniprogram_state"] == "formal" and payload["lang"] == "zh_CN"
        data = payload["data"]
        assert data["thing2"]["value"] == category[:20]
        assert data["thing5"]["value"] == thing5[:20]
        when = dt.datetime.strptime(data["time4"]["value"], "%Y-%m-%d %H:%M").replace(tzinfo=zone)
        assert abs(when - utcnow()) < dt.timedelta(minutes=5)
        assert all(len(v["value"]) <= 20 for k, v in data.items() if k.startswith("thing"))
        assert len(data["phrase3"]["value"]) <= 5
    # Each once, and nothing else (the resume and the reporter's own filings are not told).
    per_ticket = Counter(p["data"]["character_string1"]["value"] for p in d.wechat.sent)
    assert per_ticket == {
        tickets["worked"]["number"]: 5,
        tickets["rejected"]["number"]: 1,
        tickets["cancelled"]["number"]: 1,
        tickets["closing"]["number"]: 4,  # accepted, started, resolved, closed
    }
    assert len(d.wechat.sent) == len(d.wechat.attempts)
    # One token for all of them, shared through the database.
    assert d.wechat.tokens_issued == 1
    with d.engine.connect() as connection:
        assert connection.scalar(select(WechatToken.access_token)) == "token-1"


def test_a_stale_token_is_renewed_once_and_the_message_sent_again(deployment):
    d = deployment
    assert d.world is not None and d.http is not None and d.resident is not None
    issued = d.wechat.tokens_issued
    ticket = file(d.http, d.resident, d.world.community_a)
    d.deliver_until_idle()  # nothing yet: filing is not told
    d.wechat.expire_tokens()  # another client renewed it: ours answers 40001
    act(d.http, d.world.technician, ticket["id"], "accept")

    d.deliver_until_idle()

    assert [p["data"]["character_string1"]["value"] for p in d.wechat.sent] == [ticket["number"]]
    assert d.wechat.tokens_issued == issued + 1
    with d.engine.connect() as connection:
        assert connection.scalar(select(WechatToken.access_token)) == f"token-{issued + 1}"


def test_retries_survive_a_restart_and_nothing_is_sent_twice(deployment):
    d = deployment
    assert d.world is not None and d.http is not None and d.resident is not None
    # WeChat is busy (-1) for each message's first two tries; the gateway fails once.
    d.wechat.plan = lambda payload, seen: -1 if seen < 2 else 0
    d.sms.plan = lambda body, seen: 503 if seen == 0 else 200
    d.http.put(
        "/v1/me/notification-preferences",
        json={"sms": True},
        headers=d.resident.headers,
    ).raise_for_status()
    tickets = [file(d.http, d.resident, d.world.community_a) for _ in range(3)]
    for ticket in tickets:
        act(d.http, d.world.technician, ticket["id"], "accept")
    assert channels.deliver_due(d.engine, d.settings) >= 6  # all failed once

    d.stop()  # a deploy: the service and its deliverer go away mid-backoff
    d.start()
    d.deliver_until_idle()

    numbers = sorted(t["number"] for t in tickets)
    sent = Counter(p["data"]["character_string1"]["value"] for p in d.wechat.sent)
    assert sorted(sent) == numbers and set(sent.values()) == {1}
    texts = Counter(b["reference"] for b in d.sms.sent)
    assert len(texts) == 3 and set(texts.values()) == {1}
    headers, body = d.sms.attempts[-1]
    assert body["phone"] == "13900000011" and body["language"] == "zh-Hans"
    assert headers["idempotency-key"] == f"linli-notification-{body['reference']}"
    assert any(t["number"] in body["text"] for t in tickets)
    with d.engine.connect() as connection:
        attempts = connection.scalar(select(func.count()).select_from(NotificationAttempt))
    assert attempts >= 3 * 3 + 3 * 2  # every try logged
    d.http.put(
        "/v1/me/notification-preferences", json={}, headers=d.resident.headers
    ).raise_for_status()


def test_a_refusal_stops_wechat_for_that_person_until_they_turn_it_on_again(deployment):
    d = deployment
    assert d.world is not None and d.http is not None
    person = d.person("refusing-resident", "o-refuses", "13900000012")
    first, second = (file(d.http, person, d.world.community_a) for _ in range(2))
    # The first message is refused; the second meets a busy WeChat and waits to retry.
    d.wechat.plan = lambda payload, seen: (
        43101 if payload["data"]["character_string1"]["value"] == first["number"] else -1
    )
    act(d.http, d.world.technician, first["id"], "accept")
    act(d.http, d.world.technician, second["id"], "accept")

    d.deliver_until_idle()

    tried = Counter(p["data"]["character_string1"]["value"] for p in d.wechat.attempts)
    # The waiting one was dropped with the refusal, not sent into it again.
    assert tried == {first["number"]: 1, second["number"]: 1}
    with d.engine.connect() as connection:
        statuses = connection.execute(
            select(NotificationDelivery.status, NotificationDelivery.last_error).where(
                NotificationDelivery.address == "o-refuses"
            )
        ).all()
        assert len(statuses) == 2 and {s for s, _ in statuses} == {"dead"}
        assert all("43101" in (e or "") for _, e in statuses)
    preferences = d.http.get("/v1/me/notification-preferences", headers=person.headers).json()
    assert preferences["wechat_refused"] is True and preferences["wechat_available"] is True
    act(d.http, d.world.technician, first["id"], "start")
    assert d.pending() == 0  # nothing queued for WeChat while refused

    d.http.put(
        "/v1/me/notification-preferences", json={"wechat": True}, headers=person.headers
    ).raise_for_status()
    d.wechat.plan = lambda payload, seen: 0
    act(d.http, d.world.technician, second["id"], "start")
    d.deliver_until_idle()
    assert [p["touser"] for p in d.wechat.sent] == ["o-refuses"]


def test_channels_not_configured_are_skipped(deployment):
    d = deployment
    assert d.world is not None and d.http is not None and d.resident is not None
    d.settings.wechat_app_id = ""
    d.settings.sms_url = ""
    d.stop()
    d.start()
    try:
        ticket = file(d.http, d.resident, d.world.community_a)
        act(d.http, d.world.technician, ticket["id"], "accept")
        assert d.pending() == 0
        inbox = d.http.get("/v1/me/notifications", headers=d.resident.headers).json()
        assert inbox["items"][0]["ticket_id"] == ticket["id"]
        assert inbox["items"][0]["channels"] == []
    finally:
        d.settings.wechat_app_id = d.wechat.app_id
        d.settings.sms_url = d.sms.url + "/send"
        d.stop()
        d.start()

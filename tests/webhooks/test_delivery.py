"""Webhooks end to end: a loopback receiver gets every event exactly once (by
event id) through 500s, timeouts, a deliverer dying mid-batch and a restart of
the service; dead letters and redelivery; subscriptions' scope."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from service.config import Settings
from service.tickets.models import TicketEvent
from service.webhooks import delivery
from service.webhooks.models import DeliveryStatus, WebhookAttempt, WebhookDelivery
from service.webhooks.targets import AllowList
from tests.conftest import TEST_SECRET, Actor, World, build_world
from tests.feed.helpers import act, comment, file
from tests.feed.live import live_database, serve
from tests.webhooks.receiver import Receiver, running

FAST = {
    "webhook_allow_targets": "127.0.0.0/8,localhost",
    "webhook_timeout_seconds": 0.5,
    "webhook_backoff_base_seconds": 0.05,
    "webhook_backoff_max_seconds": 0.4,
    "webhook_max_attempts": 12,
}


class Deployment:
    """A database, a Linli serving it (restartable), and a world in it."""

    def __init__(self, url: str, engine: Any) -> None:
        self.engine = engine
        self.settings = Settings(database_url=url, jwt_secret=TEST_SECRET, env="dev", **FAST)
        self._server: Any = None
        self.http: httpx.Client | None = None
        self.world: World | None = None

    def start(self) -> None:
        self._server = serve(self.settings, self.engine)
        base_url = self._server.__enter__()
        self.http = httpx.Client(base_url=base_url, timeout=30)
        if self.world is None:
            self.world = build_world(self.http, self.settings)

    def stop(self) -> None:
        assert self.http is not None
        self.http.close()
        self._server.__exit__(None, None, None)

    def deliver_until(self, done: Any, deadline: float = 60) -> None:
        end = time.monotonic() + deadline
        while not done():
            if time.monotonic() > end:
                raise AssertionError("deliveries did not finish in time")
            if not delivery.deliver_due(self.engine, self.settings):
                time.sleep(0.05)

    def subscribe(self, actor: Actor, url: str, **body: Any) -> dict[str, Any]:
        assert self.http is not None
        response = self.http.post("/v1/webhooks", json={"url": url, **body}, headers=actor.headers)
        assert response.status_code == 201, response.text
        return response.json()

    def pending(self) -> int:
        with self.engine.connect() as connection:
            return int(
                connection.scalar(
                    select(func.count())
                    .select_from(WebhookDelivery)
                    .where(WebhookDelivery.status == DeliveryStatus.pending)
                )
            )

    def org_events(self, organization_id: int, since: int = 0) -> set[int]:
        with self.engine.connect() as connection:
            return set(
                connection.scalars(
                    select(TicketEvent.id).where(
                        TicketEvent.organization_id == organization_id, TicketEvent.id > since
                    )
                )
            )


@pytest.fixture(scope="module")
def deployment() -> Iterator[Deployment]:
    with live_database("linli_hooks") as (url, engine):
        deployment = Deployment(url, engine)
        deployment.start()
        try:
            yield deployment
        finally:
            deployment.stop()


async def _post(settings: Settings, claimed: list[delivery.Claimed]) -> None:
    """Make the attempts, record nothing (a deliverer that dies right after)."""
    allow = AllowList.parse(settings.webhook_allow_targets)
    async with delivery.http_client(settings) as client:
        for one in claimed:
            await delivery.attempt(client, one, allow, settings.webhook_timeout_seconds)


def _last_event_id(deployment: Deployment) -> int:
    with deployment.engine.connect() as connection:
        return int(connection.scalar(select(func.coalesce(func.max(TicketEvent.id), 0))))


def test_every_event_once_through_failures_a_dying_deliverer_and_a_restart(
    deployment: Deployment,
) -> None:
    w = deployment.world
    assert w is not None and deployment.http is not None
    since = _last_event_id(deployment)

    def plan(event_id: int, seen: int) -> str:
        if seen == 0 and event_id % 3 == 0:
            return "500"
        if seen == 0 and event_id % 3 == 1:
            return "timeout"
        if seen == 1 and event_id % 5 == 0:
            return "500"
        return "ok"

    with running(Receiver(plan=plan, hang_seconds=1.0)) as receiver:
        hook = deployment.subscribe(w.dispatcher, receiver.url)
        receiver.secret = hook["secret"]
        stop = threading.Event()
        errors: list[BaseException] = []

        def deliverer() -> None:
            try:
                while not stop.is_set():
                    if not delivery.deliver_due(deployment.engine, deployment.settings):
                        time.sleep(0.05)
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        def work(rounds: int) -> None:
            http = deployment.http
            assert http is not None
            for _ in range(rounds):
                ticket = file(http, w.reporter, w.community_a)
                act(http, w.technician, ticket["id"], "accept")
                comment(http, w.technician, ticket["id"], "内部备注", internal=True)
                act(http, w.technician, ticket["id"], "start")

        background = threading.Thread(target=deliverer)
        background.start()
        work(4)
        # The service restarts (a deploy) while deliveries are in flight.
        deployment.stop()
        deployment.start()
        work(4)
        stop.set()
        background.join(timeout=60)
        assert not errors, errors

        # A deliverer claims a batch and dies before posting anything: the lease lapses.
        work(2)
        abandoned = delivery.claim(deployment.engine, deployment.settings, delivery.utcnow())
        assert abandoned
        # Another dies after posting but before recording: the receiver saw those once already.
        posted = delivery.claim(deployment.engine, deployment.settings, delivery.utcnow())
        asyncio.run(_post(deployment.settings, posted))
        with deployment.engine.begin() as connection:  # time passes: the leases lapse
            connection.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.lease_until.is_not(None))
                .values(lease_until=delivery.utcnow() - delivery.dt.timedelta(seconds=1))
            )
        deployment.deliver_until(lambda: deployment.pending() == 0)
        deployment.http.delete(f"/v1/webhooks/{hook['id']}", headers=w.dispatcher.headers)

    expected = deployment.org_events(w.company, since)
    assert len(expected) == 10 * 4
    assert receiver.bad_signatures == 0
    assert receiver.events == expected  # every event of the organisation, by event id
    # Acknowledged more than once only where a deliverer died between POST and record.
    twice = {event_id for event_id, n in receiver.acknowledged.items() if n > 1}
    assert twice <= {c.event_id for c in posted}
    assert all(n <= 2 for n in receiver.acknowledged.values())
    # The failures really happened, and were retried.
    assert any(n >= 2 for n in receiver.received.values())
    with deployment.engine.connect() as connection:
        statuses = set(
            connection.scalars(
                select(WebhookDelivery.status).where(WebhookDelivery.subscription_id == hook["id"])
            )
        )
        failed_attempts = connection.scalar(
            select(func.count())
            .select_from(WebhookAttempt)
            .where(WebhookAttempt.delivered.is_(False))
        )
    assert statuses == {DeliveryStatus.delivered}
    assert failed_attempts > 0
    # Bodies are the feed's events, with the ticket as the organisation sees it.
    sample = httpx.Response(200, content=next(iter(receiver.bodies.values()))).json()
    assert {"id", "type", "ticket_id", "created_at", "ticket", "data"} <= set(sample)


def test_dead_letter_after_max_attempts_then_manual_redelivery(deployment: Deployment) -> None:
    w, http = deployment.world, deployment.http
    assert w is not None and http is not None
    broken = True
    with running(Receiver(plan=lambda e, s: "500" if broken else "ok")) as receiver:
        hook = deployment.subscribe(w.care_dispatcher, receiver.url)
        receiver.secret = hook["secret"]
        settings = deployment.settings.model_copy(update={"webhook_max_attempts": 3})
        file(http, w.reporter, w.community_a, category="elderly.meal")
        deliveries = f"/v1/webhooks/{hook['id']}/deliveries"
        end = time.monotonic() + 30
        while not http.get(
            deliveries, params={"status": "dead"}, headers=w.care_dispatcher.headers
        ).json()["items"]:
            assert time.monotonic() < end
            if not delivery.deliver_due(deployment.engine, settings):
                time.sleep(0.05)
        dead = http.get(deliveries, params={"status": "dead"}, headers=w.care_dispatcher.headers)
        [letter] = dead.json()["items"]
        assert letter["attempts"] == 3 and letter["last_status_code"] == 500
        detail = http.get(f"{deliveries}/{letter['id']}", headers=w.care_dispatcher.headers).json()
        assert [a["attempt"] for a in detail["log"]] == [1, 2, 3]
        assert not any(a["delivered"] for a in detail["log"])
        assert receiver.acknowledged == {}

        broken = False
        redeliver = f"{deliveries}/{letter['id']}/redeliver"
        again = http.post(redeliver, headers=w.care_dispatcher.headers)
        assert again.status_code == 202 and again.json()["status"] == "pending"
        assert http.post(redeliver, headers=w.care_dispatcher.headers).status_code == 409
        deployment.deliver_until(lambda: deployment.pending() == 0)
        assert receiver.events == {letter["event_id"]}
        final = http.get(f"{deliveries}/{letter['id']}", headers=w.care_dispatcher.headers).json()
        assert final["status"] == "delivered" and final["log"][-1]["delivered"] is True
        # Not the other organisation's, and not a technician's to manage.
        assert http.post(redeliver, headers=w.dispatcher.headers).status_code == 404
        assert http.get(deliveries, headers=w.technician.headers).status_code == 403
        http.delete(f"/v1/webhooks/{hook['id']}", headers=w.care_dispatcher.headers)


def test_a_reassigned_ticket_reaches_each_organisation_only_while_it_is_theirs(
    deployment: Deployment,
) -> None:
    w, http = deployment.world, deployment.http
    assert w is not None and http is not None
    with running(Receiver()) as company_side, running(Receiver()) as other_side:
        company_hook = deployment.subscribe(w.dispatcher, company_side.url)
        company_side.secret = company_hook["secret"]
        other_hook = deployment.subscribe(w.other_dispatcher, other_side.url)
        other_side.secret = other_hook["secret"]
        ticket = file(http, w.reporter, w.community_a)
        comment(http, w.technician, ticket["id"], "公司内部备注", internal=True)
        act(http, w.province_admin, ticket["id"], "assign", {"organization_id": w.other_company})
        comment(http, w.other_dispatcher, ticket["id"], "对方内部备注", internal=True)
        act(http, w.other_dispatcher, ticket["id"], "accept")
        deployment.deliver_until(lambda: deployment.pending() == 0)

    def types(receiver: Receiver) -> list[tuple[str, Any]]:
        bodies = [httpx.Response(200, content=b).json() for _, b in sorted(receiver.bodies.items())]
        return [
            (b["type"], b["data"].get("body")) for b in bodies if b["ticket_id"] == ticket["id"]
        ]

    assert types(company_side) == [
        ("ticket.created", None),
        ("ticket.commented", "公司内部备注"),
        ("ticket.unassigned", None),
    ]
    # Each body names its actor as the organisation may see it (issue 14).
    roles = {
        side: [
            (b["type"], b["actor"]["role"], b["actor"]["name"])
            for b in (httpx.Response(200, content=x).json() for _, x in sorted(r.bodies.items()))
            if b["ticket_id"] == ticket["id"]
        ]
        for side, r in (("company", company_side), ("other", other_side))
    }
    names = {
        a.name: http.get("/v1/me", headers=a.headers).json()["name"]
        for a in (w.reporter, w.technician, w.province_admin, w.other_dispatcher)
    }
    assert roles["company"] == [
        ("ticket.created", "resident", names[w.reporter.name]),
        ("ticket.commented", "provider_staff", names[w.technician.name]),
        ("ticket.unassigned", "admin", names[w.province_admin.name]),
    ]
    assert roles["other"] == [
        ("ticket.assigned", "admin", names[w.province_admin.name]),
        ("ticket.commented", "provider_staff", names[w.other_dispatcher.name]),
        ("ticket.accepted", "provider_staff", names[w.other_dispatcher.name]),
    ]
    assert types(other_side) == [
        ("ticket.assigned", None),
        ("ticket.commented", "对方内部备注"),
        ("ticket.accepted", None),
    ]
    for hook, actor in ((company_hook, w.dispatcher), (other_hook, w.other_dispatcher)):
        assert http.delete(f"/v1/webhooks/{hook['id']}", headers=actor.headers).status_code == 204


def test_event_types_filter_and_a_deleted_webhook_gets_nothing_more(deployment: Deployment) -> None:
    w, http = deployment.world, deployment.http
    assert w is not None and http is not None
    with running(Receiver()) as receiver:
        hook = deployment.subscribe(w.dispatcher, receiver.url, event_types=["ticket.accepted"])
        receiver.secret = hook["secret"]
        ticket = file(http, w.reporter, w.community_a)
        act(http, w.technician, ticket["id"], "accept")
        deployment.deliver_until(lambda: deployment.pending() == 0)
        [(event_id, body)] = receiver.bodies.items()
        assert httpx.Response(200, content=body).json()["type"] == "ticket.accepted"

        assert (
            http.delete(f"/v1/webhooks/{hook['id']}", headers=w.dispatcher.headers).status_code
            == 204
        )
        act(http, w.technician, ticket["id"], "start")
        other = file(http, w.reporter, w.community_a)
        act(http, w.technician, other["id"], "accept")
        deployment.deliver_until(lambda: deployment.pending() == 0)
        assert set(receiver.bodies) == {event_id}
        listed = http.get("/v1/webhooks", headers=w.dispatcher.headers).json()["items"]
        assert hook["id"] not in {h["id"] for h in listed}

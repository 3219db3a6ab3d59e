"""催单 (issue 17): the reporter urges an open ticket, at most once per
LINLI_URGE_INTERVAL_MINUTES; the provider sees a `ticket.urged` event in its
feed and webhooks. (Who may urge from which status: test_lifecycle's table.)"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select, update

from service.tickets.models import Ticket, TicketEvent
from service.webhooks.models import WebhookDelivery
from tests.conftest import BACKEND, file_ticket

PROBLEM_JSON = "application/problem+json"


def _urge(client, actor, tid, **headers):
    return client.post(f"/v1/tickets/{tid}/urge", headers={**actor.headers, **headers})


def _events(db, tid, type_="ticket.urged"):
    return db.scalars(
        select(TicketEvent)
        .where(TicketEvent.ticket_id == tid, TicketEvent.type == type_)
        .order_by(TicketEvent.id)
    ).all()


def test_urging_counts_and_writes_an_event_for_the_provider(client, world, db):
    ticket = file_ticket(client, world.reporter, world.community_a)
    assert ticket["urge_count"] == 0 and ticket["last_urged_at"] is None

    response = _urge(client, world.reporter, ticket["id"])

    assert response.status_code == 200, response.text
    urged = response.json()
    assert urged["urge_count"] == 1 and urged["last_urged_at"] is not None
    assert urged["status"] == ticket["status"]
    assert urged["version"] == ticket["version"] + 1
    assert response.headers["ETag"] == f'"{ticket["id"]}.{urged["version"]}"'
    (event,) = _events(db, ticket["id"])
    assert event.organization_id == world.company and not event.internal
    assert event.data == {"urge_count": 1}
    assert event.actor_id == world.reporter.user_id
    # GET shows the same as the answer (the database-built JSON agrees).
    again = client.get(f"/v1/tickets/{ticket['id']}", headers=world.reporter.headers).json()
    assert again == urged


@pytest.mark.skipif(
    BACKEND == "postgres",
    reason="PostgreSQL's feed serves committed transactions only, and this test's "
    "never commits; the event's organization_id, which the feed selects by, is "
    "checked on both databases above",
)
def test_the_provider_sees_the_urging_in_its_feed(client, world):
    ticket = file_ticket(client, world.reporter, world.community_a)
    start = client.get("/v1/tickets?limit=1", headers=world.dispatcher.headers).json()
    assert _urge(client, world.reporter, ticket["id"]).status_code == 200

    feed = client.get(
        "/v1/feed", params={"cursor": start["feed_cursor"]}, headers=world.dispatcher.headers
    )

    assert feed.status_code == 200, feed.text
    urged = [e for e in feed.json()["events"] if e["type"] == "ticket.urged"]
    assert [e["ticket_id"] for e in urged] == [ticket["id"]]
    assert urged[0]["data"] == {"urge_count": 1}


def test_the_urging_goes_to_the_providers_webhooks(client, world, db):
    hook = client.post(
        "/v1/webhooks",
        json={"url": "https://hooks.example.com/linli", "event_types": ["ticket.urged"]},
        headers=world.dispatcher.headers,
    )
    assert hook.status_code == 201, hook.text
    ticket = file_ticket(client, world.reporter, world.community_a)
    assert _urge(client, world.reporter, ticket["id"]).status_code == 200

    deliveries = db.scalar(
        select(func.count())
        .select_from(WebhookDelivery)
        .where(WebhookDelivery.subscription_id == hook.json()["id"])
    )
    assert deliveries == 1


def test_urging_again_within_the_interval_is_429_and_changes_nothing(client, world, db, settings):
    ticket = file_ticket(client, world.reporter, world.community_a)
    first = _urge(client, world.reporter, ticket["id"]).json()

    again = _urge(client, world.reporter, ticket["id"])

    assert again.status_code == 429, again.text
    assert again.headers["content-type"].startswith(PROBLEM_JSON)
    retry_after = int(again.headers["Retry-After"])
    assert 0 < retry_after <= settings.urge_interval_minutes * 60
    after = client.get(f"/v1/tickets/{ticket['id']}", headers=world.reporter.headers).json()
    assert after == first
    assert len(_events(db, ticket["id"])) == 1


def test_after_the_interval_the_reporter_may_urge_again(client, world, db, settings):
    ticket = file_ticket(client, world.reporter, world.community_a)
    assert _urge(client, world.reporter, ticket["id"]).status_code == 200
    earlier = dt.datetime.now(dt.UTC) - dt.timedelta(
        minutes=settings.urge_interval_minutes, seconds=1
    )
    db.execute(update(Ticket).where(Ticket.id == ticket["id"]).values(last_urged_at=earlier))
    db.flush()

    response = _urge(client, world.reporter, ticket["id"])

    assert response.status_code == 200, response.text
    assert response.json()["urge_count"] == 2
    assert [e.data["urge_count"] for e in _events(db, ticket["id"])] == [1, 2]


def test_the_grid_worker_who_filed_it_may_urge_and_others_may_not(client, world):
    ticket = file_ticket(client, world.grid_worker, world.community_a)
    # Staff of the provider see it but are not its reporter: 409. Strangers: 404.
    assert _urge(client, world.dispatcher, ticket["id"]).status_code == 409
    assert _urge(client, world.admin, ticket["id"]).status_code == 409
    assert _urge(client, world.neighbour, ticket["id"]).status_code == 404
    assert _urge(client, world.other_grid_worker, ticket["id"]).status_code == 404

    response = _urge(client, world.grid_worker, ticket["id"])

    assert response.status_code == 200, response.text
    assert response.json()["urge_count"] == 1


def test_a_stale_if_match_is_412(client, world):
    ticket = file_ticket(client, world.reporter, world.community_a)
    stale = f'"{ticket["id"]}.{ticket["version"] - 1}"'
    assert _urge(client, world.reporter, ticket["id"], **{"If-Match": stale}).status_code == 412


def test_urging_a_closed_ticket_is_409(client, world):
    ticket = file_ticket(client, world.reporter, world.community_a)
    cancel = client.post(f"/v1/tickets/{ticket['id']}/cancel", headers=world.reporter.headers)
    assert cancel.status_code == 200
    response = _urge(client, world.reporter, ticket["id"])
    assert response.status_code == 409
    assert response.headers["content-type"].startswith(PROBLEM_JSON)


def test_a_body_other_than_empty_is_422(client, world):
    ticket = file_ticket(client, world.reporter, world.community_a)
    response = client.post(
        f"/v1/tickets/{ticket['id']}/urge", json={"reason": "快点"}, headers=world.reporter.headers
    )
    assert response.status_code == 422, response.text
    after = client.get(f"/v1/tickets/{ticket['id']}", headers=world.reporter.headers).json()
    assert after["urge_count"] == 0

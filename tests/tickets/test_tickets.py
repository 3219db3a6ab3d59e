"""Tickets beyond the state machine: filing for others, listing, caching, comments, follow-ups."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from service.db import utcnow
from service.tickets.actions import auto_close_resolved
from service.tickets.models import Ticket, TicketEvent
from tests.conftest import file_ticket

PROBLEM = "application/problem+json"


def _walk(client, world, ticket_id: int, *steps: str) -> dict:
    bodies = {"resolve": {"note": "ok"}, "hold": {"reason": "awaiting_resident"}}
    response = None
    for action in steps:
        response = client.post(
            f"/v1/tickets/{ticket_id}/{action}",
            json=bodies.get(action),
            headers=world.technician.headers,
        )
        assert response.status_code == 200, (action, response.text)
    return response.json()


def test_grid_worker_files_for_an_elderly_resident_who_then_confirms(client, world):
    # The reporter's phone (13900000001, from their token) identifies them.
    ticket = file_ticket(
        client,
        world.grid_worker,
        world.community_a,
        category="elderly.bathing",
        on_behalf_of={"name": "阿依古丽", "phone": "13900000001"},
        channel="walk_in",
    )
    assert ticket["reporter"]["id"] == world.reporter.user_id
    assert ticket["filed_by"]["id"] == world.grid_worker.user_id
    assert ticket["on_behalf_of"] == {"name": "阿依古丽", "phone": "13900000001"}
    assert ticket["organization_id"] == world.care
    # The resident filed for sees it; the grid worker who filed sees it.
    assert (
        client.get(f"/v1/tickets/{ticket['id']}", headers=world.reporter.headers).status_code == 200
    )
    assert (
        client.get(f"/v1/tickets/{ticket['id']}", headers=world.grid_worker.headers).status_code
        == 200
    )

    for action in ("accept", "start", "resolve"):
        assert (
            client.post(
                f"/v1/tickets/{ticket['id']}/{action}", headers=world.care_dispatcher.headers
            ).status_code
            == 200
        )
    confirmed = client.post(
        f"/v1/tickets/{ticket['id']}/confirm", json={"rating": 4}, headers=world.reporter.headers
    )
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "closed"


def test_grid_workers_and_staff_must_say_whom_they_file_for(client, world):
    for actor in (world.grid_worker, world.dispatcher, world.admin):
        response = client.post(
            "/v1/tickets",
            json={
                "category": "repair.plumbing",
                "community_id": world.community_a,
                "description": "x",
            },
            headers=actor.headers,
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "on_behalf_of"


def test_phone_in_by_company_staff(client, world):
    ticket = file_ticket(
        client,
        world.dispatcher,
        world.community_b,
        channel="phone",
        on_behalf_of={"name": "王大爷", "phone": "0991-4567890"},
    )
    assert ticket["channel"] == "phone"
    assert ticket["on_behalf_of"]["phone"] == "09914567890"
    assert ticket["reporter"]["id"] is None
    # Staff file only for communities their organisation serves.
    response = client.post(
        "/v1/tickets",
        json={
            "category": "repair.plumbing",
            "community_id": world.community_k,
            "description": "x",
            "on_behalf_of": {"name": "王", "phone": "13900000000"},
        },
        headers=world.dispatcher.headers,
    )
    assert response.status_code == 404


def test_numbers_are_unique_and_readable(client, world):
    numbers = {file_ticket(client, world.reporter, world.community_a)["number"] for _ in range(5)}
    assert len(numbers) == 5
    for number in numbers:
        assert number.startswith("LL") and "-" in number


def test_list_filters_and_keyset_pagination(client, world):
    ids = [file_ticket(client, world.reporter, world.community_a)["id"] for _ in range(5)]
    elevator = file_ticket(
        client, world.reporter, world.community_a, category="repair.elevator", priority="emergency"
    )
    _walk(client, world, ids[0], "accept")

    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get("/v1/tickets", params=params, headers=world.reporter.headers).json()
        seen += [t["id"] for t in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted([*ids, elevator["id"]], reverse=True)

    def ids_for(**params):
        response = client.get("/v1/tickets", params=params, headers=world.dispatcher.headers)
        assert response.status_code == 200, response.text
        return {t["id"] for t in response.json()["items"]}

    assert ids_for(status="accepted") == {ids[0]}
    assert ids_for(status=["accepted", "assigned"], limit=200) >= set(ids)
    assert ids_for(priority="emergency") == {elevator["id"]}
    assert ids_for(category="repair.elevator") == {elevator["id"]}
    assert ids_for(category="repair") >= {*ids, elevator["id"]}
    assert ids_for(kind="elderly_care") == set()
    assert ids_for(community_id=world.community_b) == set()
    assert ids_for(organization_id=world.company, limit=200) >= set(ids)
    assert ids_for(assignee_id=world.technician.user_id) == {ids[0]}
    assert ids_for(breached="true") == set()
    future = (utcnow() + dt.timedelta(days=1)).isoformat()
    assert ids_for(created_from=future) == set()
    assert ids_for(created_to=future, limit=200) >= set(ids)


def test_etag_and_conditional_requests(client, world, db):
    ticket = file_ticket(client, world.reporter, world.community_a)
    url = f"/v1/tickets/{ticket['id']}"
    first = client.get(url, headers=world.dispatcher.headers)
    etag = first.headers["ETag"]
    assert (
        client.get(url, headers={**world.dispatcher.headers, "If-None-Match": etag}).status_code
        == 304
    )

    accepted = client.post(f"{url}/accept", headers={**world.dispatcher.headers, "If-Match": etag})
    assert accepted.status_code == 200
    assert accepted.headers["ETag"] != etag

    stale = client.post(f"{url}/start", headers={**world.dispatcher.headers, "If-Match": etag})
    assert stale.status_code == 412
    assert stale.headers["content-type"] == PROBLEM
    assert client.get(url, headers=world.dispatcher.headers).json()["status"] == "accepted"
    stale_comment = client.post(
        f"{url}/comments",
        json={"body": "x"},
        headers={**world.dispatcher.headers, "If-Match": etag},
    )
    assert stale_comment.status_code == 412
    assert (
        client.post(
            f"{url}/start",
            headers={**world.dispatcher.headers, "If-Match": accepted.headers["ETag"]},
        ).status_code
        == 200
    )


def test_internal_comments_never_reach_residents(client, world):
    ticket = file_ticket(client, world.reporter, world.community_a)
    url = f"/v1/tickets/{ticket['id']}"
    assert (
        client.post(
            f"{url}/comments", json={"body": "师傅下午到"}, headers=world.dispatcher.headers
        ).status_code
        == 201
    )
    assert (
        client.post(
            f"{url}/comments",
            json={"body": "住户难沟通", "internal": True},
            headers=world.dispatcher.headers,
        ).status_code
        == 201
    )
    assert (
        client.post(
            f"{url}/comments",
            json={"body": "我也要内部", "internal": True},
            headers=world.reporter.headers,
        ).status_code
        == 403
    )

    def bodies(actor, what):
        items = client.get(f"{url}/{what}", headers=actor.headers).json()["items"]
        return [
            i.get("body") or i["data"].get("body")
            for i in items
            if i.get("body") or i.get("data", {}).get("body")
        ]

    assert bodies(world.reporter, "comments") == ["师傅下午到"]
    assert "住户难沟通" not in bodies(world.reporter, "events")
    assert bodies(world.technician, "comments") == ["师傅下午到", "住户难沟通"]
    assert "住户难沟通" in bodies(world.admin, "events")


def test_follow_ups_come_after_resolution(client, world):
    ticket = file_ticket(client, world.reporter, world.community_a)
    url = f"/v1/tickets/{ticket['id']}/follow-ups"
    body = {"method": "phone", "satisfied": True, "note": "住户表示满意"}
    assert client.post(url, json=body, headers=world.dispatcher.headers).status_code == 409
    _walk(client, world, ticket["id"], "accept", "start", "resolve")
    assert client.post(url, json=body, headers=world.reporter.headers).status_code == 409
    created = client.post(url, json=body, headers=world.dispatcher.headers)
    assert created.status_code == 201 and created.json()["satisfied"] is True
    assert (
        client.post(url, json={**body, "method": "visit"}, headers=world.admin.headers).status_code
        == 201
    )
    events = client.get(
        f"/v1/tickets/{ticket['id']}/events", headers=world.reporter.headers
    ).json()["items"]
    assert [e["type"] for e in events].count("ticket.followed_up") == 2


def test_auto_close_of_unconfirmed_resolutions(client, world, db):
    ticket = file_ticket(client, world.reporter, world.community_a)
    fresh = file_ticket(client, world.reporter, world.community_a)
    for t in (ticket, fresh):
        _walk(client, world, t["id"], "accept", "start", "resolve")
    db.execute(
        update(Ticket)
        .where(Ticket.id == ticket["id"])
        .values(resolved_at=utcnow() - dt.timedelta(days=8))
    )
    db.flush()
    assert auto_close_resolved(db, older_than=dt.timedelta(days=7), now=utcnow()) == 1
    db.flush()
    closed = db.get(Ticket, ticket["id"])
    db.refresh(closed)
    assert closed.status == "closed" and closed.rating is None
    assert db.get(Ticket, fresh["id"]).status == "resolved"
    last = db.scalars(
        select(TicketEvent)
        .where(TicketEvent.ticket_id == ticket["id"])
        .order_by(TicketEvent.id.desc())
    ).first()
    assert last.type == "ticket.closed" and last.actor_id is None


def test_health_and_readiness(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"


def test_late_response_and_resolution_are_marked_breached(client, world, db):
    late = file_ticket(client, world.reporter, world.community_a)
    on_time = file_ticket(client, world.reporter, world.community_a)
    past = utcnow() - dt.timedelta(minutes=1)
    db.execute(
        update(Ticket).where(Ticket.id == late["id"]).values(respond_by=past, resolve_by=past)
    )
    db.flush()
    for ticket in (late, on_time):
        _walk(client, world, ticket["id"], "accept", "start", "resolve")
    sla = client.get(f"/v1/tickets/{late['id']}", headers=world.reporter.headers).json()["sla"]
    assert sla["response_breached"] and sla["resolution_breached"]
    breached = client.get(
        "/v1/tickets", params={"breached": "true"}, headers=world.dispatcher.headers
    )
    assert [t["id"] for t in breached.json()["items"]] == [late["id"]]
    not_breached = client.get(
        "/v1/tickets", params={"breached": "false"}, headers=world.dispatcher.headers
    )
    assert on_time["id"] in {t["id"] for t in not_breached.json()["items"]}


def test_comments_have_an_hourly_quota_per_author_and_ticket(client, world):
    """200 comments in 2 s, each an event in the provider's feed, were measured
    from outside: an author gets comments_per_hour on one ticket, then 429."""
    from tests.conftest import file_ticket

    settings = client.app.state.settings
    quota, settings.comments_per_hour = settings.comments_per_hour, 3
    try:
        ticket = file_ticket(client, world.reporter, world.community_a)
        url = f"/v1/tickets/{ticket['id']}/comments"
        for n in range(3):
            posted = client.post(url, json={"body": f"第{n}次"}, headers=world.reporter.headers)
            assert posted.status_code == 201, posted.text
        refused = client.post(url, json={"body": "再说一次"}, headers=world.reporter.headers)
        assert refused.status_code == 429, refused.text
        assert int(refused.headers["Retry-After"]) > 0
        # Someone else on the same ticket still may.
        staff = client.post(url, json={"body": "已安排"}, headers=world.dispatcher.headers)
        assert staff.status_code == 201, staff.text
        comments = client.get(url, headers=world.reporter.headers).json()["items"]
        assert [c["body"] for c in comments] == ["第0次", "第1次", "第2次", "已安排"]
    finally:
        settings.comments_per_hour = quota


def test_events_and_comments_come_a_page_at_a_time(client, world):
    from tests.conftest import file_ticket

    ticket = file_ticket(client, world.reporter, world.community_a)
    url = f"/v1/tickets/{ticket['id']}"
    for n in range(5):
        posted = client.post(
            f"{url}/comments", json={"body": f"备注{n}"}, headers=world.dispatcher.headers
        )
        assert posted.status_code == 201, posted.text
    for what, total in (("comments", 5), ("events", 6)):
        seen, cursor = [], None
        while True:
            params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
            page = client.get(f"{url}/{what}", params=params, headers=world.dispatcher.headers)
            assert page.status_code == 200, page.text
            body = page.json()
            assert len(body["items"]) <= 2
            seen += [item["id"] for item in body["items"]]
            cursor = body["next_cursor"]
            if cursor is None:
                break
        assert len(seen) == total and seen == sorted(seen), (what, seen)
    one = client.get(f"{url}/events", params={"limit": 201}, headers=world.dispatcher.headers)
    assert one.status_code == 422
    bad = client.get(
        f"{url}/events", params={"cursor": "nonsense"}, headers=world.dispatcher.headers
    )
    assert bad.status_code == 422

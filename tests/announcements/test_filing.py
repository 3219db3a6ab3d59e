"""A resident who files a ticket during a planned outage in their community sees
the outage first: the answer to POST /v1/tickets carries the announcements
shown there now, and nothing else (issue 19). What it costs: tests/tickets/
test_filing_cost.py."""

from __future__ import annotations

import datetime as dt

from service.db import clock_override, utcnow
from service.tickets.schemas import TicketCreated, TicketDuplicate
from tests.announcements.helpers import iso, posted
from tests.conftest import file_ticket


def test_the_answer_lists_what_the_community_is_told_now_and_only_that(client, world):
    now = utcnow()
    current = posted(client, world.dispatcher, [world.community_a])
    notice = posted(
        client,
        world.admin,
        [world.community_a, world.community_b],
        kind="notice",
        title="电梯年检",
        starts_at=iso(now - dt.timedelta(days=1)),
        ends_at=iso(now + dt.timedelta(days=1)),
    )
    posted(
        client,
        world.admin,
        [world.community_a],
        starts_at=iso(now + dt.timedelta(hours=2)),  # still to come
        ends_at=iso(now + dt.timedelta(hours=6)),
    )
    with clock_override(lambda: now - dt.timedelta(days=2)):
        posted(client, world.admin, [world.community_a])  # over since yesterday
    posted(client, world.other_dispatcher, [world.community_k])  # another community
    withdrawn = posted(client, world.dispatcher, [world.community_a])
    client.delete(f"/v1/announcements/{withdrawn['id']}", headers=world.dispatcher.headers)

    response = client.post(
        "/v1/tickets",
        json={
            "category": "repair.plumbing",
            "community_id": world.community_a,
            "description": "家里没有水了",
        },
        headers=world.reporter.headers,
    )

    assert response.status_code == 201, response.text
    ticket = response.json()
    assert TicketCreated.model_validate(ticket).model_dump(mode="json") == ticket
    assert [(a["id"], a["kind"], a["title"]) for a in ticket["announcements"]] == [
        (current["id"], "planned_outage", "今日停水通知"),  # ends first
        (notice["id"], "notice", "电梯年检"),
    ]
    assert set(ticket["announcements"][0]) == {"id", "kind", "title", "starts_at", "ends_at"}
    # Not part of the ticket itself: reading it again shows none.
    read = client.get(f"/v1/tickets/{ticket['id']}", headers=world.reporter.headers).json()
    assert "announcements" not in read
    # In another community of the same company: only what is told there.
    elsewhere = file_ticket(client, world.far_resident, world.community_k)
    assert [a["kind"] for a in elsewhere["announcements"]] == ["planned_outage"]


def test_usually_the_list_is_empty(client, world):
    assert file_ticket(client, world.reporter, world.community_a)["announcements"] == []


def test_a_duplicate_filing_carries_them_too(client, world):
    announcement = posted(client, world.dispatcher, [world.community_a])
    first = file_ticket(client, world.reporter, world.community_a, description="楼道灯不亮")
    again = client.post(
        "/v1/tickets",
        json={
            "category": "repair.plumbing",
            "community_id": world.community_a,
            "description": "楼道灯不亮",
            "location": {"building": "3", "unit": "2", "room": "501", "area": "private"},
            "contact_phone": "13900000001",
        },
        headers=world.reporter.headers,
    )
    assert again.status_code == 200, again.text
    duplicate = again.json()
    assert duplicate["duplicate_of"] == first["id"]
    assert TicketDuplicate.model_validate(duplicate).model_dump(mode="json") == duplicate
    assert [a["id"] for a in duplicate["announcements"]] == [announcement["id"]]

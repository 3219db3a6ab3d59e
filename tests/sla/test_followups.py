"""Follow-up visits (回访) due and overdue, and the reminder job: once per resolution."""

from __future__ import annotations

from service.followups.service import remind_overdue
from tests.conftest import file_ticket
from tests.sla.conftest import at


def _resolve(client, world, tid: int) -> None:
    for action in ("accept", "start", "resolve"):
        response = client.post(f"/v1/tickets/{tid}/{action}", headers=world.technician.headers)
        assert response.status_code == 200, response.text


def _due(client, actor, state: str = "overdue") -> list[int]:
    response = client.get(f"/v1/follow-ups/due?state={state}", headers=actor.headers)
    assert response.status_code == 200, response.text
    return [item["ticket_id"] for item in response.json()["items"]]


def test_due_then_overdue_then_settled_by_a_visit(client, world, clock):
    clock.set("2026-03-02T09:00")
    tid = file_ticket(client, world.reporter, world.community_a)["id"]
    _resolve(client, world, tid)

    clock.set("2026-03-04T09:00")
    assert tid in _due(client, world.dispatcher, "due")
    assert tid not in _due(client, world.dispatcher, "overdue")
    clock.set("2026-03-05T09:01")  # three days after the resolution
    assert tid in _due(client, world.dispatcher, "overdue")
    item = next(
        i
        for i in client.get("/v1/follow-ups/due", headers=world.admin.headers).json()["items"]
        if i["ticket_id"] == tid
    )
    assert item["overdue"] is True and item["due_at"].startswith("2026-03-05T01:00")

    visit = client.post(
        f"/v1/tickets/{tid}/follow-ups",
        json={"method": "phone", "satisfied": True},
        headers=world.dispatcher.headers,
    )
    assert visit.status_code == 201, visit.text
    assert tid not in _due(client, world.dispatcher, "overdue")


def test_a_reopened_ticket_owes_a_new_visit(client, world, clock):
    clock.set("2026-03-02T09:00")
    tid = file_ticket(client, world.reporter, world.community_a)["id"]
    _resolve(client, world, tid)
    client.post(
        f"/v1/tickets/{tid}/follow-ups",
        json={"method": "visit", "satisfied": False},
        headers=world.dispatcher.headers,
    ).raise_for_status()
    clock.set("2026-03-03T09:00")
    client.post(
        f"/v1/tickets/{tid}/reopen", json={"reason": "还是漏"}, headers=world.reporter.headers
    ).raise_for_status()
    client.post(f"/v1/tickets/{tid}/resolve", headers=world.technician.headers).raise_for_status()
    clock.set("2026-03-07T09:00")
    assert tid in _due(client, world.dispatcher, "overdue")


def test_only_those_in_scope_see_the_list(client, world, clock):
    clock.set("2026-03-02T09:00")
    tid = file_ticket(client, world.reporter, world.community_a)["id"]
    _resolve(client, world, tid)
    clock.set("2026-03-09T09:00")
    assert tid in _due(client, world.admin)
    assert tid in _due(client, world.province_admin)
    assert tid not in _due(client, world.other_admin)
    assert tid not in _due(client, world.other_dispatcher)
    assert tid not in _due(client, world.care_dispatcher)
    assert client.get("/v1/follow-ups/due", headers=world.reporter.headers).status_code == 403


def test_the_reminder_is_written_once_per_resolution(client, world, db, clock):
    clock.set("2026-03-02T09:00")
    tid = file_ticket(client, world.reporter, world.community_a)["id"]
    _resolve(client, world, tid)
    assert remind_overdue(db, now=at("2026-03-04T09:00"), days=3) == 0
    assert remind_overdue(db, now=at("2026-03-05T09:01"), days=3) == 1
    assert remind_overdue(db, now=at("2026-03-05T09:02"), days=3) == 0
    staff = client.get(f"/v1/tickets/{tid}/events", headers=world.dispatcher.headers).json()
    assert [e["type"] for e in staff["items"]].count("ticket.follow_up_overdue") == 1
    own = client.get(f"/v1/tickets/{tid}/events", headers=world.reporter.headers).json()
    assert "ticket.follow_up_overdue" not in [e["type"] for e in own["items"]]

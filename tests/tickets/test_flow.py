"""A ticket's life through the API, as the README walks it."""

from __future__ import annotations

from tests.conftest import file_ticket


def test_resident_files_company_resolves_resident_confirms(client, world):
    ticket = file_ticket(client, world.reporter, world.community_a)
    assert ticket["status"] == "assigned"
    assert ticket["organization_id"] == world.company
    assert ticket["number"].startswith("LL")
    assert ticket["kind"] == "property"
    assert ticket["priority"] == "urgent"  # repair.plumbing's default

    tid = ticket["id"]
    for action, actor, body, status in (
        ("assign", world.dispatcher, {"assignee_id": world.technician.user_id}, "assigned"),
        ("accept", world.technician, None, "accepted"),
        ("start", world.technician, None, "in_progress"),
        ("hold", world.technician, {"reason": "awaiting_parts", "note": "阀门缺货"}, "on_hold"),
        ("resume", world.technician, None, "in_progress"),
        ("resolve", world.technician, {"note": "更换阀门"}, "resolved"),
        ("confirm", world.reporter, {"rating": 5, "comment": "很快"}, "closed"),
    ):
        response = client.post(f"/v1/tickets/{tid}/{action}", json=body, headers=actor.headers)
        assert response.status_code == 200, (action, response.text)
        assert response.json()["status"] == status

    final = client.get(f"/v1/tickets/{tid}", headers=world.reporter.headers).json()
    assert final["rating"]["score"] == 5
    assert final["sla"]["responded_at"] is not None
    assert final["assignee_id"] == world.technician.user_id

    events = client.get(f"/v1/tickets/{tid}/events", headers=world.admin.headers).json()["items"]
    assert [e["type"] for e in events] == [
        "ticket.created",
        "ticket.dispatched",
        "ticket.accepted",
        "ticket.started",
        "ticket.held",
        "ticket.resumed",
        "ticket.resolved",
        "ticket.confirmed",
    ]

"""Each event's `actor` as its reader may see it (service/tickets/actors.py):
residents see a company's staff as the company and nobody else's name, staff
and admins see names, a job is the system, and nobody sees a phone."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import event

from service.db import utcnow
from service.tickets.actions import auto_close_resolved
from tests.conftest import file_ticket

COMPANY = "天山物业服务有限公司"
SYSTEM = {"id": None, "name": None, "role": "system", "organization_id": None}


def _actors(client, actor, tid) -> list[tuple[str, dict[str, Any]]]:
    response = client.get(f"/v1/tickets/{tid}/events", headers=actor.headers)
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    # No phone of anyone's rides on an actor.
    assert "139" not in json.dumps([item["actor"] for item in items])
    return [(item["type"], item["actor"]) for item in items]


def _person(client, actor, role, organization_id=None) -> dict[str, Any]:
    me = client.get("/v1/me", headers=actor.headers).json()
    assert me["name"]
    return {
        "id": me["user_id"],
        "name": me["name"],
        "role": role,
        "organization_id": organization_id,
    }


def _ticket_through_its_life(client, world, db) -> int:
    """Filed by the grid worker for the resident; dispatched, done by the company's
    technician; an admin's public comment; the resident reopens it; the
    technician resolves again and the auto-close job closes it."""
    ticket = file_ticket(
        client,
        world.grid_worker,
        world.community_a,
        on_behalf_of={"name": "阿依古丽", "phone": "13900000001"},
    )
    assert ticket["reporter"]["id"] == world.reporter.user_id
    tid = ticket["id"]
    for action, actor, body in (
        ("assign", world.dispatcher, {"assignee_id": world.technician.user_id}),
        ("accept", world.technician, None),
        ("start", world.technician, None),
        ("resolve", world.technician, {"note": "更换阀门"}),
        ("reopen", world.reporter, {"reason": "又漏了"}),
        ("resolve", world.technician, {"note": "再次更换"}),
    ):
        response = client.post(f"/v1/tickets/{tid}/{action}", json=body, headers=actor.headers)
        assert response.status_code == 200, (action, response.text)
    response = client.post(
        f"/v1/tickets/{tid}/comments", json={"body": "已督办"}, headers=world.admin.headers
    )
    assert response.status_code == 201, response.text
    assert auto_close_resolved(db, older_than=dt.timedelta(0), now=utcnow()) >= 1
    db.commit()
    return tid


def test_each_reader_sees_the_actors_it_may(client, world, db):
    tid = _ticket_through_its_life(client, world, db)
    company = {
        "id": None,
        "name": COMPANY,
        "role": "provider_staff",
        "organization_id": world.company,
    }
    technician = _person(client, world.technician, "provider_staff", world.company)
    dispatcher = _person(client, world.dispatcher, "provider_staff", world.company)
    reporter = _person(client, world.reporter, "resident")
    grid_worker = _person(client, world.grid_worker, "grid_worker")
    admin = _person(client, world.admin, "admin")
    types = [
        "ticket.created",
        "ticket.dispatched",
        "ticket.accepted",
        "ticket.started",
        "ticket.resolved",
        "ticket.reopened",
        "ticket.resolved",
        "ticket.commented",
        "ticket.closed",
    ]

    # The resident: the company, not its people; the grid worker and the admin by
    # role only; themselves in full; the job as the system.
    assert _actors(client, world.reporter, tid) == list(
        zip(
            types,
            [
                {"id": None, "name": None, "role": "grid_worker", "organization_id": None},
                company,
                company,
                company,
                company,
                reporter,
                company,
                {"id": None, "name": None, "role": "admin", "organization_id": None},
                SYSTEM,
            ],
            strict=True,
        )
    )
    # The grid worker who filed it: themselves in full, the resident by role only.
    seen = dict(enumerate(a for _, a in _actors(client, world.grid_worker, tid)))
    assert seen[0] == grid_worker
    assert seen[5] == {"id": None, "name": None, "role": "resident", "organization_id": None}
    assert seen[2] == company and seen[8] == SYSTEM
    # The company's staff and the department see names.
    staff_view = [None, dispatcher, technician, technician, technician, reporter, technician]
    for reader in (world.dispatcher, world.technician, world.admin, world.province_admin):
        actors = [a for _, a in _actors(client, reader, tid)]
        assert actors[0] == grid_worker
        assert actors[1:7] == staff_view[1:]
        assert actors[7] == admin and actors[8] == SYSTEM


def test_another_company_sees_the_first_company_not_its_people(client, world):
    tid = file_ticket(client, world.reporter, world.community_a)["id"]
    for action, actor, body in (
        ("accept", world.technician, None),
        ("assign", world.province_admin, {"organization_id": world.other_company}),
        ("accept", world.other_dispatcher, None),
    ):
        response = client.post(f"/v1/tickets/{tid}/{action}", json=body, headers=actor.headers)
        assert response.status_code == 200, (action, response.text)
    actors = dict(_actors(client, world.other_dispatcher, tid))
    assert actors["ticket.accepted"] == _person(
        client, world.other_dispatcher, "provider_staff", world.other_company
    )
    first = [a for t, a in _actors(client, world.other_dispatcher, tid) if t == "ticket.accepted"]
    assert first[0] == {
        "id": None,
        "name": COMPANY,
        "role": "provider_staff",
        "organization_id": world.company,
    }
    assert actors["ticket.created"] == _person(client, world.reporter, "resident")
    # The department's name, for the company's work with it.
    assigned = [
        a for t, a in _actors(client, world.other_dispatcher, tid) if t == "ticket.assigned"
    ]
    assert assigned == [_person(client, world.province_admin, "admin")]
    # The resident sees both companies as companies.
    own = [a for t, a in _actors(client, world.reporter, tid) if t == "ticket.accepted"]
    assert [a["name"] for a in own] == [COMPANY, "喀什城市物业有限公司"]
    assert all(a["id"] is None for a in own)


def test_a_long_timeline_costs_the_same_queries_as_a_short_one(client, world, engine):
    short = file_ticket(client, world.reporter, world.community_a)["id"]
    long = file_ticket(client, world.reporter, world.community_a)["id"]
    for actor in (world.technician, world.dispatcher, world.admin, world.reporter) * 3:
        response = client.post(
            f"/v1/tickets/{long}/comments", json={"body": "进展如何"}, headers=actor.headers
        )
        assert response.status_code == 201, response.text

    def queries(tid: int) -> int:
        statements: list[str] = []

        def count(_conn, _cursor, statement, *_args) -> None:
            statements.append(statement)

        event.listen(engine, "before_cursor_execute", count)
        try:
            response = client.get(f"/v1/tickets/{tid}/events", headers=world.reporter.headers)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert response.status_code == 200 and statements
        return len(statements)

    queries(short)  # warm the principal cache
    assert queries(long) == queries(short)

"""The lifecycle table of PRODUCT.md, walked exhaustively through the API.

Every (status, action, actor) combination: the allowed ones succeed and write the
right event; every other one answers 409 (visible but not allowed) or 404 (not
visible) and changes nothing.

The expectations below are written from the table in PRODUCT.md ("Ticket
lifecycle") and the visibility rules, *not* from service/tickets/lifecycle.py,
so that a mistake in the service's table shows up here.

Speed: walking nine tickets into their statuses takes a few dozen requests, too
many to repeat for a thousand tests. The matrix walks them once per module, on
one connection shared by the whole module (over conftest's committed
`base_world`); every test of this module runs inside a savepoint of that
connection that is rolled back afterwards (conftest's `connection` fixture is
overridden here to do that, so `client`, `world` and `db` work as usual), and
each matrix test starts from the same nine tickets and costs two or three
requests.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import sessionmaker

from service.config import Settings
from service.main import create_app
from service.tickets.models import Ticket, TicketEvent
from tests.conftest import World, file_ticket

PROBLEM_JSON = "application/problem+json"

# --- the expectation table, from PRODUCT.md ----------------------------------

STATUSES = (
    "submitted",
    "assigned",
    "accepted",
    "in_progress",
    "on_hold",
    "resolved",
    "closed",
    "cancelled",
    "rejected",
)
ACTIONS = (
    "assign",
    "accept",
    "start",
    "hold",
    "resume",
    "resolve",
    "confirm",
    "reopen",
    "cancel",
    "return",
    "reject",
    "urge",
)
ACTORS = (
    "reporter",
    "neighbour",
    "far_resident",
    "grid_worker",
    "dispatcher",
    "technician",
    "other_dispatcher",
    "admin",
    "other_admin",
    "province_admin",
)
ADMINS = {"admin", "other_admin", "province_admin"}


@dataclass(frozen=True)
class Rule:
    sources: frozenset[str]
    who: frozenset[str]  # relations: reporter, staff, dispatcher, admin


def _rule(sources: set[str], who: set[str]) -> Rule:
    return Rule(frozenset(sources), frozenset(who))


# One row per line of the PRODUCT.md table ("who": provider_staff -> staff).
RULES: dict[str, Rule] = {
    "assign": _rule({"submitted", "assigned", "accepted"}, {"admin", "dispatcher"}),
    "accept": _rule({"assigned"}, {"staff"}),
    "start": _rule({"accepted"}, {"staff"}),
    "hold": _rule({"accepted", "in_progress"}, {"staff"}),
    "resume": _rule({"on_hold"}, {"staff"}),
    "resolve": _rule({"in_progress"}, {"staff"}),
    "confirm": _rule({"resolved"}, {"reporter"}),
    "reopen": _rule({"resolved", "closed"}, {"reporter"}),  # closed: within the window
    "cancel": _rule({"submitted", "assigned", "accepted"}, {"reporter", "admin"}),
    "return": _rule({"assigned", "accepted"}, {"staff"}),
    "reject": _rule({"submitted", "assigned"}, {"admin"}),
    # 催单 (issue 17): the reporter, on a ticket someone still has to act on.
    "urge": _rule({"submitted", "assigned", "accepted", "in_progress", "on_hold"}, {"reporter"}),
}
TARGET: dict[str, str] = {
    "assign": "assigned",  # by an admin; a dispatcher keeps the status
    "accept": "accepted",
    "start": "in_progress",
    "hold": "on_hold",
    "resume": "in_progress",
    "resolve": "resolved",
    "confirm": "closed",
    "reopen": "in_progress",
    "cancel": "cancelled",
    "return": "submitted",
    "reject": "rejected",
    "urge": "",  # the status stays
}
EVENT: dict[str, str] = {
    "assign": "ticket.assigned",  # by an admin; by a dispatcher: ticket.dispatched
    "accept": "ticket.accepted",
    "start": "ticket.started",
    "hold": "ticket.held",
    "resume": "ticket.resumed",
    "resolve": "ticket.resolved",
    "confirm": "ticket.confirmed",
    "reopen": "ticket.reopened",
    "cancel": "ticket.cancelled",
    "return": "ticket.returned",
    "reject": "ticket.rejected",
    "urge": "ticket.urged",
}

# How each actor of the world relates to the matrix tickets: all of them are filed
# by `reporter` in community_a (county tianshan), which `company` serves.
RELATIONS: dict[str, frozenset[str]] = {
    "reporter": frozenset({"reporter"}),
    "dispatcher": frozenset({"staff", "dispatcher"}),
    "technician": frozenset({"staff"}),
    "admin": frozenset({"admin"}),
    "province_admin": frozenset({"admin"}),
}
# Residents see what they reported or filed, grid workers what they filed,
# provider staff what is assigned to their organisation, admins their region.
# The `submitted` ticket was returned by the company, so it has no organisation.
ALL = frozenset(STATUSES)
VISIBLE: dict[str, frozenset[str]] = {
    "reporter": ALL,
    "dispatcher": ALL - {"submitted"},
    "technician": ALL - {"submitted"},
    "admin": ALL,
    "province_admin": ALL,
}


def expected(status: str, action: str, actor: str) -> int:
    if status not in VISIBLE.get(actor, frozenset()):
        return 404
    rule = RULES[action]
    if status in rule.sources and rule.who & RELATIONS.get(actor, frozenset()):
        return 200
    return 409


MATRIX = [
    pytest.param(status, action, actor, id=f"{status}-{action}-{actor}")
    for status in STATUSES
    for action in ACTIONS
    for actor in ACTORS
]


# --- fixtures: one world and nine tickets per module ------------------------


@pytest.fixture(scope="module")
def shared_connection(engine: Engine, base_world: World) -> Iterator[Connection]:
    """One connection and transaction for the whole module, rolled back at its end."""
    with engine.connect() as connection:
        outer = connection.begin()
        yield connection
        outer.rollback()


@pytest.fixture
def connection(shared_connection: Connection, matrix: Matrix) -> Iterator[Connection]:
    """Overrides conftest's (and so `db`'s): a savepoint of the module's connection per
    test, opened after the module's tickets exist so that they outlive it."""
    savepoint = shared_connection.begin_nested()
    yield shared_connection
    if savepoint.is_active:
        savepoint.rollback()


def _post(client: TestClient, tid: int, action: str, actor: Any, body: Any) -> Any:
    return client.post(f"/v1/tickets/{tid}/{action}", json=body, headers=actor.headers)


def body_for(world: World, action: str, actor: str) -> dict[str, Any] | None:
    if action == "assign":
        if actor in ADMINS:
            return {"organization_id": world.company}
        return {"assignee_id": world.technician.user_id}
    return {
        "hold": {"reason": "awaiting_parts", "note": "阀门缺货"},
        "resolve": {"note": "更换阀门"},
        "confirm": {"rating": 4},
        "reopen": {"reason": "又漏水了"},
        "cancel": {"reason": "已自行修好"},
        "return": {"reason": "不属于本公司服务范围"},
        "reject": {"reason": "重复报修"},
    }.get(action)


# (action, actor) steps that bring a freshly filed (assigned) ticket into a status.
_IN_PROGRESS = [("accept", "technician"), ("start", "technician")]
_RESOLVED = [*_IN_PROGRESS, ("resolve", "technician")]
WALKS: dict[str, list[tuple[str, str]]] = {
    "submitted": [("return", "dispatcher")],
    "assigned": [],
    "accepted": [("accept", "technician")],
    "in_progress": _IN_PROGRESS,
    "on_hold": [*_IN_PROGRESS, ("hold", "technician")],
    "resolved": _RESOLVED,
    "closed": [*_RESOLVED, ("confirm", "reporter")],
    "cancelled": [("cancel", "reporter")],
    "rejected": [("reject", "admin")],
}


def bring_to(client: TestClient, world: World, status: str) -> int:
    ticket = file_ticket(client, world.reporter, world.community_a)
    assert ticket["status"] == "assigned" and ticket["organization_id"] == world.company
    final = ticket["status"]
    for action, actor in WALKS[status]:
        response = _post(
            client, ticket["id"], action, world.actors[actor], body_for(world, action, actor)
        )
        assert response.status_code == 200, (status, action, response.text)
        final = response.json()["status"]
    assert final == status
    return ticket["id"]


def snapshot(client: TestClient, world: World, tid: int) -> tuple[dict, list[dict]]:
    headers = world.province_admin.headers
    ticket = client.get(f"/v1/tickets/{tid}", headers=headers)
    assert ticket.status_code == 200, ticket.text
    events = client.get(f"/v1/tickets/{tid}/events", headers=headers)
    assert events.status_code == 200, events.text
    return ticket.json(), events.json()["items"]


@dataclass
class Matrix:
    client: TestClient
    world: World
    user_ids: dict[str, int | None]
    tickets: dict[str, int]
    baseline: dict[str, tuple[dict, list[dict]]]
    connection: Connection

    def count_events(self, tid: int) -> int:
        query = select(func.count()).select_from(TicketEvent).where(TicketEvent.ticket_id == tid)
        return self.connection.scalar(query)


@pytest.fixture(scope="module")
def matrix(
    settings: Settings, engine: Engine, shared_connection: Connection, base_world: World
) -> Iterator[Matrix]:
    app = create_app(settings, engine)
    factory = sessionmaker(
        bind=shared_connection,
        expire_on_commit=False,
        autoflush=False,
        join_transaction_mode="create_savepoint",
    )
    app.state.sessionmaker = factory
    app.state.write_sessionmaker = factory
    with TestClient(app, raise_server_exceptions=False) as client:
        world = base_world
        root = world.province_admin.headers  # conftest leaves its user id unknown
        user_ids = {name: actor.user_id for name, actor in world.actors.items()}
        user_ids["province_admin"] = client.get("/v1/me", headers=root).json()["user_id"]
        tickets = {status: bring_to(client, world, status) for status in STATUSES}
        baseline = {s: snapshot(client, world, tid) for s, tid in tickets.items()}
        matrix = Matrix(client, world, user_ids, tickets, baseline, shared_connection)
        for status, tid in tickets.items():  # admins see every event of a ticket
            assert matrix.count_events(tid) == len(baseline[status][1])
        yield matrix


@pytest.fixture
def lc(matrix: Matrix, connection: Connection) -> Matrix:
    """The module's tickets, inside this test's savepoint."""
    return matrix


# --- the matrix ---------------------------------------------------------------


def test_expectation_table_is_not_vacuous():
    allowed = [p.values for p in MATRIX if expected(*p.values) == 200]
    assert len(allowed) == 45
    for action in ACTIONS:  # every action is possible from somewhere
        assert any(a == action for _, a, _ in allowed), action


@pytest.mark.parametrize(("status", "action", "actor"), MATRIX)
def test_lifecycle(lc: Matrix, status: str, action: str, actor: str):
    client, world = lc.client, lc.world
    tid = lc.tickets[status]
    before, events_before = lc.baseline[status]
    who = world.actors[actor]
    want = expected(status, action, actor)

    response = _post(client, tid, action, who, body_for(world, action, actor))

    assert response.status_code == want, response.text
    if want != 200:
        assert response.headers["content-type"].startswith(PROBLEM_JSON)
        assert response.json()["status"] == want
        # Nothing changed. (Events are counted in the database: cheaper than a GET.)
        after = client.get(f"/v1/tickets/{tid}", headers=world.province_admin.headers)
        assert after.status_code == 200
        assert after.json() == before
        assert lc.count_events(tid) == len(events_before)
        return

    after, events_after = snapshot(client, world, tid)

    by_dispatcher = action == "assign" and actor not in ADMINS
    target = TARGET[action] or status
    if by_dispatcher:
        target = status
    assert response.json()["status"] == target
    assert after["status"] == target
    assert after["version"] > before["version"]
    assert len(events_after) == len(events_before) + 1
    event = events_after[-1]
    assert event["type"] == ("ticket.dispatched" if by_dispatcher else EVENT[action])
    assert event["ticket_id"] == tid
    assert event["from_status"] == status
    assert event["to_status"] == target
    assert lc.user_ids[actor] is not None
    assert event["actor_id"] == lc.user_ids[actor]
    _check_effects(world, action, actor, before, after)


def _check_effects(world: World, action: str, actor: str, before: dict, after: dict) -> None:
    if action == "assign":
        assert after["organization_id"] == world.company
        if actor not in ADMINS:
            assert after["assignee_id"] == world.technician.user_id
    elif action == "accept":
        assert after["sla"]["responded_at"] is not None
    elif action == "hold":
        assert after["hold_reason"] == "awaiting_parts"
    elif action == "resume":
        assert after["hold_reason"] is None
    elif action == "resolve":
        assert after["sla"]["resolved_at"] is not None
    elif action == "confirm":
        assert after["rating"]["score"] == 4
        assert after["closed_at"] is not None
    elif action == "reopen":
        assert after["reopen_count"] == before["reopen_count"] + 1
        assert after["rating"] is None
        assert after["closed_at"] is None
        assert after["sla"]["resolved_at"] is None
    elif action == "return":
        assert after["organization_id"] is None
        assert after["assignee_id"] is None
    elif action == "urge":
        assert after["urge_count"] == before["urge_count"] + 1 == 1
        assert after["last_urged_at"] is not None


# --- targeted tests -------------------------------------------------------------


def _act(client: TestClient, world: World, tid: int, action: str, actor: str, body: Any = None):
    response = _post(client, tid, action, world.actors[actor], body)
    assert response.status_code == 200, (action, response.text)
    return response.json()


def _events(client: TestClient, world: World, tid: int) -> list[dict]:
    response = client.get(f"/v1/tickets/{tid}/events", headers=world.province_admin.headers)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def _closed_ticket(client: TestClient, world: World) -> int:
    tid = file_ticket(client, world.reporter, world.community_a)["id"]
    _act(client, world, tid, "accept", "technician")
    _act(client, world, tid, "start", "technician")
    _act(client, world, tid, "resolve", "technician")
    _act(client, world, tid, "confirm", "reporter", {"rating": 2})
    return tid


def _close_days_ago(db: Any, tid: int, days: float) -> None:
    closed_at = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
    db.execute(update(Ticket).where(Ticket.id == tid).values(closed_at=closed_at))
    db.flush()


def test_reopen_outside_the_window_is_refused(client, world, db, settings):
    tid = _closed_ticket(client, world)
    _close_days_ago(db, tid, settings.reopen_window_days + 1)
    before, events_before = snapshot(client, world, tid)

    response = _post(client, tid, "reopen", world.reporter, {"reason": "又漏水了"})

    assert response.status_code == 409, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    assert snapshot(client, world, tid) == (before, events_before)
    assert before["status"] == "closed"


def test_reopen_just_inside_the_window_succeeds(client, world, db, settings):
    tid = _closed_ticket(client, world)
    _close_days_ago(db, tid, settings.reopen_window_days - 0.5)

    reopened = _act(client, world, tid, "reopen", "reporter", {"reason": "又漏水了"})

    assert reopened["status"] == "in_progress"
    assert reopened["reopen_count"] == 1
    assert reopened["rating"] is None
    event = _events(client, world, tid)[-1]
    assert (event["type"], event["from_status"], event["to_status"]) == (
        "ticket.reopened",
        "closed",
        "in_progress",
    )


def test_hold_then_resume_accumulates_paused_seconds(client, world, db):
    tid = file_ticket(client, world.reporter, world.community_a)["id"]
    _act(client, world, tid, "accept", "technician")
    _act(client, world, tid, "start", "technician")

    def pause(seconds: int) -> dict:
        held = _act(client, world, tid, "hold", "technician", {"reason": "awaiting_resident"})
        assert held["status"] == "on_hold"
        assert held["hold_reason"] == "awaiting_resident"
        since = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=seconds)
        db.execute(
            update(Ticket).where(Ticket.id == tid).values(on_hold_since=since, sla_paused_at=since)
        )
        db.flush()
        resumed = _act(client, world, tid, "resume", "technician")
        assert resumed["status"] == "in_progress"
        assert resumed["hold_reason"] is None
        return resumed

    first = pause(3600)["sla"]["paused_seconds"]
    assert 3600 <= first < 3660
    second = pause(600)["sla"]["paused_seconds"]
    assert 4200 <= second < 4320
    assert second - first >= 600
    types = [e["type"] for e in _events(client, world, tid)]
    assert types.count("ticket.held") == 2 and types.count("ticket.resumed") == 2


def test_return_clears_the_organisation_and_hides_the_ticket_from_it(client, world):
    tid = file_ticket(client, world.reporter, world.community_a)["id"]
    _act(client, world, tid, "assign", "dispatcher", {"assignee_id": world.technician.user_id})
    accepted = _act(client, world, tid, "accept", "technician")
    assert accepted["sla"]["responded_at"] is not None

    returned = _act(client, world, tid, "return", "dispatcher", {"reason": "非本公司服务范围"})

    assert returned["status"] == "submitted"
    assert returned["organization_id"] is None
    assert returned["assignee_id"] is None
    assert returned["sla"]["responded_at"] is None
    for staff in (world.dispatcher, world.technician):
        assert client.get(f"/v1/tickets/{tid}", headers=staff.headers).status_code == 404
        response = _post(client, tid, "accept", staff, None)
        assert response.status_code == 404
        assert response.headers["content-type"].startswith(PROBLEM_JSON)
    listed = client.get("/v1/tickets", headers=world.dispatcher.headers).json()["items"]
    assert tid not in [t["id"] for t in listed]
    # The reporter and the admin still see it, waiting for re-dispatch.
    assert client.get(f"/v1/tickets/{tid}", headers=world.reporter.headers).json()["status"] == (
        "submitted"
    )
    event = _events(client, world, tid)[-1]
    assert event["type"] == "ticket.returned"
    assert (event["from_status"], event["to_status"]) == ("accepted", "submitted")
    assert event["organization_id"] == world.company
    assert event["actor_id"] == world.dispatcher.user_id

    # An admin sends it back out.
    again = _act(client, world, tid, "assign", "admin", {"organization_id": world.company})
    assert (again["status"], again["organization_id"]) == ("assigned", world.company)
    assert client.get(f"/v1/tickets/{tid}", headers=world.technician.headers).status_code == 200


def test_admin_reassigning_to_another_organisation_writes_unassigned(client, world):
    second = client.post(
        "/v1/organizations",
        json={
            "name": "红山物业管理有限公司",
            "kind": "property_company",
            "credit_code": "91650102MA77XKQ99A",
            "region_id": world.tianshan,
        },
        headers=world.province_admin.headers,
    )
    assert second.status_code == 201, second.text
    second_id = second.json()["id"]
    tid = file_ticket(client, world.reporter, world.community_a)["id"]
    _act(client, world, tid, "accept", "technician")
    count = len(_events(client, world, tid))

    moved = _act(client, world, tid, "assign", "admin", {"organization_id": second_id})

    assert moved["status"] == "assigned"
    assert moved["organization_id"] == second_id
    assert moved["assignee_id"] is None
    assert moved["sla"]["responded_at"] is None  # the new organisation has yet to respond
    events = _events(client, world, tid)
    assert len(events) == count + 2
    unassigned, assigned = events[-2:]
    assert unassigned["type"] == "ticket.unassigned"
    assert unassigned["organization_id"] == world.company
    assert unassigned["data"]["organization_id"] == world.company
    assert unassigned["data"]["to_organization_id"] == second_id
    assert unassigned["actor_id"] == world.admin.user_id
    assert unassigned["from_status"] == "accepted"
    assert assigned["type"] == "ticket.assigned"
    assert (assigned["from_status"], assigned["to_status"]) == ("accepted", "assigned")
    assert assigned["actor_id"] == world.admin.user_id
    assert client.get(f"/v1/tickets/{tid}", headers=world.technician.headers).status_code == 404

    # Re-assigning to the same organisation writes no unassigned event.
    _act(client, world, tid, "assign", "admin", {"organization_id": second_id})
    types = [e["type"] for e in _events(client, world, tid)]
    assert types[count:] == ["ticket.unassigned", "ticket.assigned", "ticket.assigned"]


def test_submitted_ticket_without_provider_is_assigned_by_admin(client, world):
    # No care provider serves community_b: the ticket waits for the department.
    ticket = file_ticket(client, world.admin, world.community_b, category="elderly.meal")
    assert (ticket["status"], ticket["organization_id"]) == ("submitted", None)
    tid = ticket["id"]
    assert _post(client, tid, "accept", world.care_dispatcher, None).status_code == 404

    assigned = _act(client, world, tid, "assign", "admin", {"organization_id": world.care})

    assert (assigned["status"], assigned["organization_id"]) == ("assigned", world.care)
    assert _act(client, world, tid, "accept", "care_dispatcher")["status"] == "accepted"
    # A property company is the wrong kind of organisation for an elderly-care ticket.
    wrong = _post(client, tid, "assign", world.admin, {"organization_id": world.company})
    assert wrong.status_code == 422, wrong.text


def test_resident_filed_for_confirms_a_ticket_a_grid_worker_filed(client, world, db):
    tid = file_ticket(client, world.grid_worker, world.community_a)["id"]  # for 13900000001
    reporter_id = db.scalar(select(Ticket.reporter_id).where(Ticket.id == tid))
    assert reporter_id == world.reporter.user_id
    for action in ("accept", "start", "resolve"):
        _act(client, world, tid, action, "technician")
    assert _post(client, tid, "confirm", world.neighbour, {"rating": 5}).status_code == 404

    closed = _act(client, world, tid, "confirm", "reporter", {"rating": 5})

    assert closed["status"] == "closed"
    event = _events(client, world, tid)[-1]
    assert (event["type"], event["actor_id"]) == ("ticket.confirmed", world.reporter.user_id)
